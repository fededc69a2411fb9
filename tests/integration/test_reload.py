"""Reload (README "Delivery guarantees"): SIGHUP re-reads the config. A broken config
is rejected with its errors logged and the running schedule kept; a valid
one takes effect without re-sending anything already delivered, and the
feeds are rewritten with SEQUENCE raised for the changed meeting only."""

import os
import re
import signal

import harness
from harness import instant

START = instant("2026-03-02T10:00:00Z")


def config(sink, state_dir, m1_title="Weekly sync", extra="", broken=""):
    return harness.ini("""
        [tandem]
        timezone = UTC
        domain = reload.example
        state_dir = %s
        listen = off
        """ % state_dir, """
        [department:a]
        name = Alpha
        chat = slack
        webhook = %s
        """ % sink.hook("/ok/a"), """
        [department:b]
        name = Beta
        chat = generic
        webhook = %s
        """ % sink.hook("/ok/b"), """
        [meeting:m1]
        title = %s
        departments = a, b
        day = monday
        time = 10:00
        start = 2026-03-02
        remind = 3m, 1m
        """ % m1_title, broken, """
        [meeting:m3]
        title = Unchanged
        departments = a, b
        day = friday
        time = 11:00
        start = 2026-03-06
        remind = 1d
        """, extra)


NEW_MEETING = """
    [meeting:m2]
    title = New meeting
    departments = b, a
    day = monday
    time = 10:01
    start = 2026-03-02
    remind = 1m
    """


class Reload(harness.TestCase):
    def feeds(self):
        d = self.feed_dir()
        out = {}
        for f in sorted(os.listdir(d)):
            with open(os.path.join(d, f), encoding="utf-8") as fh:
                out[f] = fh.read()
        return out

    def generic_keys(self):
        return [(b["meeting"], b["before"], b["title"]) for b in (r.json() for r in self.sink.requests("/ok/b"))]

    def test_broken_config_keeps_the_schedule(self):
        harness.write(self.config, config(self.sink, self.state))
        daemon = self.daemon(START - 190)
        daemon.advance(START - 120)
        self.assertEqual(len(self.sink.requests()), 2, daemon.stderr())  # the 3m reminders
        feeds_before = self.feeds()

        # A new title, and two mistakes: an unknown key, an unknown department.
        harness.write(self.config, config(self.sink, self.state, m1_title="Renamed sync",
                                          broken="titel = typo\nhost = nobody"))
        daemon.reload()
        self.assertRegex(daemon.stderr(), r"(?m)^<3>.*reload refused")
        errors = daemon.log_errors()
        path = re.escape(self.config)
        self.assertTrue(any(re.search(path + r":\d+: .*titel", l) for l in errors), errors)
        self.assertTrue(any(re.search(path + r":\d+: .*nobody", l) for l in errors), errors)

        # The old schedule runs on: the 1m reminders come, with the old title.
        daemon.advance(START - 30)
        self.assertEqual(len(self.sink.requests()), 4, daemon.stderr())
        self.assertIsNone(daemon.proc.poll(), "tandem exited on a broken reload")
        daemon.stop()
        self.assertEqual(self.generic_keys(), [("m1", "3m", "Weekly sync"), ("m1", "1m", "Weekly sync")])
        texts = [r.json()["text"] for r in self.sink.requests("/ok/a")]
        self.assertEqual(len(texts), 2)
        self.assertTrue(all("Weekly sync" in t and "Renamed" not in t for t in texts), texts)
        self.assertEqual(self.feeds(), feeds_before, "feeds changed by a refused reload")
        rows = harness.Ledger(self.state).rows()
        self.assertEqual(sorted((r["offset_s"], r["status"]) for r in rows),
                         [(60, "sent"), (60, "sent"), (180, "sent"), (180, "sent")])

    def test_valid_reload(self):
        harness.write(self.config, config(self.sink, self.state))
        daemon = self.daemon(START - 190)
        daemon.advance(START - 120)
        self.assertEqual(len(self.sink.requests()), 2, daemon.stderr())  # the 3m reminders
        before = harness.parse_ics(self.feeds()["all.ics"])
        self.assertEqual(before["m1@reload.example"]["SEQUENCE"], "0")
        self.assertEqual(before["m3@reload.example"]["SEQUENCE"], "0")
        self.assertNotIn("m2@reload.example", before)

        # Rename m1 and add m2, whose 1m reminder is due at 10:00.
        harness.write(self.config, config(self.sink, self.state, m1_title="Renamed sync", extra=NEW_MEETING))
        daemon.reload()
        self.assertRegex(daemon.stderr(), r"(?m)^<6>reloaded")
        self.assertEqual(daemon.log_errors(), [])

        ledger = harness.Ledger(self.state)
        daemon.advance(START + 30)  # and time for a wrong re-send
        self.assertEqual(len(ledger.with_status("sent")), 6, "%r\n%s" % (ledger.rows(), daemon.stderr()))

        # Nothing delivered before the reload went out again; the rest came
        # from the new config.
        self.assertEqual(self.generic_keys(), [("m1", "3m", "Weekly sync"), ("m1", "1m", "Renamed sync"),
                                               ("m2", "1m", "New meeting")])
        texts = [r.json()["text"] for r in self.sink.requests("/ok/a")]
        self.assertEqual(len(texts), 3, texts)
        self.assertIn("Weekly sync", texts[0])
        self.assertIn("Renamed sync", texts[1])
        self.assertIn("New meeting", texts[2])
        self.assertIn("Beta", texts[2])  # m2 lists the other department
        self.assertTrue(all(r["attempts"] == 1 for r in ledger.rows()), ledger.rows())

        # The feeds were rewritten: m1 changed (SEQUENCE rises), m2 is new,
        # m3 is untouched; the department feeds carry m2 too.
        feeds = self.feeds()
        after = harness.parse_ics(feeds["all.ics"])
        self.assertEqual(after["m1@reload.example"]["SUMMARY"], "Renamed sync")
        self.assertGreater(int(after["m1@reload.example"]["SEQUENCE"]), 0)
        self.assertGreater(after["m1@reload.example"]["LAST-MODIFIED"], before["m1@reload.example"]["LAST-MODIFIED"])
        self.assertEqual(after["m3@reload.example"]["SEQUENCE"], "0")
        self.assertEqual(after["m3@reload.example"]["LAST-MODIFIED"], before["m3@reload.example"]["LAST-MODIFIED"])
        self.assertIn("m2@reload.example", after)
        for dept in ("a.ics", "b.ics"):
            self.assertIn("m2@reload.example", harness.parse_ics(feeds[dept]), dept)

        # Reloading the same config again changes nothing: byte-identical
        # feeds, no phantom SEQUENCE bump.
        daemon.reload()
        self.assertEqual(self.feeds(), feeds)
        daemon.stop()
        self.assertEqual(len(self.sink.requests()), 6)


if __name__ == "__main__":
    harness.main()
