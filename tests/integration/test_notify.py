"""`tandem notify-test DEPARTMENT` (README "Command reference", "Delivery guarantees"): posts one
test message in the department's chat shape and reports the HTTP outcome;
exit 0 on success, 1 when the chat refused it."""

import harness


def config(sink, state_dir):
    return harness.ini("""
        [tandem]
        timezone = UTC
        state_dir = %s
        listen = off
        """ % state_dir, """
        [department:slack]
        name = Sales
        chat = slack
        mention = <!here>
        webhook = %s
        """ % sink.hook("/ok/slack"), """
        [department:generic]
        chat = generic
        webhook = %s
        """ % sink.hook("/ok/generic"), """
        [department:ntfy]
        chat = ntfy
        webhook = %s
        """ % sink.hook("/ok/ntfy"), """
        [department:teams]
        chat = teams
        webhook = %s
        """ % sink.hook("/teams/teams"), """
        [department:discord]
        chat = discord
        webhook = %s
        """ % sink.hook("/ok/discord"), """
        [department:gone]
        chat = slack
        webhook = %s
        """ % sink.hook("/notfound/gone"), """
        [department:broken]
        chat = slack
        webhook = %s
        """ % sink.hook("/fail/1000/broken"), """
        [department:console]
        chat = console

        [meeting:m]
        title = Weekly
        departments = slack, generic, ntfy, teams, discord, gone, broken, console
        day = monday
        time = 10:00
        start = 2026-03-02
        """)


class NotifyTest(harness.TestCase):

    def setUp(self):
        super().setUp()
        harness.write(self.config, config(self.sink, self.state))

    def notify(self, dept):
        return harness.run_tandem("-c", self.config, "notify-test", dept)

    def test_slack(self):
        p = self.notify("slack")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("200", p.stdout)
        reqs = self.sink.requests()
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0].path, "/ok/slack")
        body = reqs[0].json()
        self.assertEqual(set(body), {"text"})
        self.assertTrue(body["text"].startswith("<!here>"), body)
        self.assertIn("test", body["text"].lower())
        self.assertNotIn(self.sink.url + "/ok/slack", p.stdout + p.stderr, "the webhook URL is a secret")

    def test_generic(self):
        p = self.notify("generic")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        reqs = self.sink.requests("/ok/generic")
        self.assertEqual(len(reqs), 1)
        body = reqs[0].json()
        self.assertEqual(body["type"], "test")
        self.assertEqual(body["department"], "generic")
        self.assertIsInstance(body["text"], str)
        self.assertTrue(reqs[0].header("Content-Type").startswith("application/json"))

    def test_other_shapes(self):
        for dept in ("ntfy", "teams", "discord"):
            p = self.notify(dept)
            self.assertEqual(p.returncode, 0, "%s: %s" % (dept, p.stdout + p.stderr))
        ntfy = self.sink.requests("/ok/ntfy")
        self.assertEqual(len(ntfy), 1)
        self.assertTrue(ntfy[0].header("Title"))
        self.assertIn("test", ntfy[0].text().lower())
        teams = self.sink.requests("/teams/teams")
        self.assertEqual(len(teams), 1)
        card = teams[0].json()
        self.assertEqual(card["type"], "message")
        self.assertEqual(card["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive")
        self.assertEqual(card["attachments"][0]["content"]["type"], "AdaptiveCard")
        discord = self.sink.requests("/ok/discord")
        self.assertEqual(len(discord), 1)
        # Nothing may ping but the configured mention (none here).
        self.assertEqual(discord[0].json()["allowed_mentions"], {"parse": []})
        self.assertEqual(set(discord[0].json()), {"content", "allowed_mentions"})

    def test_console(self):
        p = self.notify("console")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(p.stdout.startswith("[console] "), p.stdout)
        self.assertEqual(self.sink.requests(), [])

    def test_not_found(self):
        p = self.notify("gone")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("404", p.stdout + p.stderr)
        self.assertEqual(len(self.sink.requests("/notfound/gone")), 1, "a 404 is not retried")

    def test_server_error(self):
        p = self.notify("broken")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        # Said once, on standard output, and about a test message, not a
        # meeting (there is none). ("HTTP 500", not "500": the sink's port,
        # which the message names, may hold those digits.)
        self.assertEqual((p.stdout + p.stderr).count("HTTP 500"), 1, p.stdout + p.stderr)
        self.assertIn("HTTP 500", p.stdout)
        self.assertIn("test message was not delivered", p.stdout)
        self.assertNotIn("meeting", p.stdout + p.stderr)

    def test_unreachable(self):
        # A port nobody listens on: the sink's, after it stopped.
        url = self.sink.url
        self.sink.stop()
        p = self.notify("slack")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(url.split("//")[1].split(":")[0], p.stdout + p.stderr)

    def test_unknown_department(self):
        p = self.notify("nosuch")
        self.assertEqual(p.returncode, 2)
        self.assertIn("nosuch", p.stderr)
        p = self.notify("slak")
        self.assertEqual(p.returncode, 2)
        self.assertIn('no department "slak"', p.stderr)
        self.assertIn('(did you mean "slack"?)', p.stderr)
        self.assertEqual(self.sink.requests(), [])


if __name__ == "__main__":
    harness.main()
