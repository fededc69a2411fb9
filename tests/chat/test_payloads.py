"""Hostile config text, posted by the real tandem (reminders on the virtual
clock and notify-test) to a loopback sink, then checked with the services'
own client libraries (validate.cjs): Teams cards with Microsoft's
adaptivecards SDK, Discord messages with discord.js and a Discord markdown
parser. README "Chats" says what each kind does with text from the config.

Needs node and `npm ci --prefix tests/chat` (scripts/install-deps --test);
a missing piece fails the test, it is never skipped."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402

TITLE = "@everyone <@1> *teams* _x_ [x](http://evil.example) <script> &<> \U0001F44D\U0001F3FD"
LOCATION = "<Team> <5> @here https://meet.example.com/room_1"
DESCRIPTION_LINES = [
    "> not a quote ~strike~ `code` ||spoiler||",
    "- not a list <users/all> <!channel> @all",
    "1. not a list either <@&987654321098765432> <#1> <t:1700000000:R>",
    "\U0001F468\u200D\U0001F469\u200D\U0001F467 \U0001F1E9\U0001F1EA e\u0301 &amp; \\*",
]
NAME = "Sales @everyone <@&1> *x*"
# About 40,000 characters of emoji with modifiers, flags and combining
# marks, in config lines of a few thousand bytes.
LONG_LINE = ("Agenda \U0001F4C8 \U0001F44D\U0001F3FD \U0001F1EB\U0001F1F7 e\u0301 <@1> *x* " * 80).strip()
# 18 lines: over every service's limit, under the 64 KiB a config value may hold.
LONG_LINES = [LONG_LINE] * 18
ROLE = "987000000000000001"


def config(sink, state):
    desc = "\n    ".join(DESCRIPTION_LINES)
    long_desc = "\n    ".join(LONG_LINES)
    return harness.ini("""
        [tandem]
        timezone = UTC
        state_dir = %s
        listen = off
        """ % state, """
        [department:discord]
        name = %s
        chat = discord
        mention = <@&%s>
        webhook = %s
        """ % (NAME, ROLE, sink.hook("/ok/discord")), """
        [department:teams]
        name = Teams %s
        chat = teams
        webhook = %s
        """ % (NAME, sink.hook("/teams/teams")),
        # Not dedented: the continuation lines are indented on purpose.
        "[meeting:hostile]\ntitle = %s\ndepartments = discord, teams\nday = monday\ntime = 10:00\n"
        "start = 2026-03-02\nlocation = %s\ndescription = %s\nremind = 15m\n" % (TITLE, LOCATION, desc),
        "[meeting:long]\ntitle = Long agenda\ndepartments = discord, teams\nday = monday\ntime = 10:00\n"
        "start = 2026-03-02\ndescription = %s\nremind = 15m\n" % long_desc)


class Payloads(harness.TestCase):

    def validate(self, cases):
        path = os.path.join(self.dir, "cases.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(cases, f, ensure_ascii=False)
        if not os.path.isdir(os.path.join(HERE, "node_modules", "adaptivecards")):
            self.fail("run `npm ci --prefix tests/chat` (scripts/install-deps --test) first")
        p = subprocess.run(["node", os.path.join(HERE, "validate.cjs"), path], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"\d+ passed, 0 failed")

    def case(self, kind, name, req, literals, cut=None, bold=1):
        """What validate.cjs checks of one payload: the literals shown as
        written, the config text that was cut, the number of bold spans
        (tandem's title) and Discord's mentions."""
        return {"kind": kind, "name": name, "body": req.body.decode("utf-8"), "literals": literals, "cut": cut,
                "bold": bold, "allowed_mentions": {"parse": [], "roles": [ROLE]}, "mention_nodes": ["role"]}

    def test_reminders(self):
        harness.write(self.config, config(self.sink, self.state))
        daemon = self.daemon("2026-03-02T09:44:50Z")
        daemon.advance("2026-03-02T10:00:00Z")
        self.assertTrue(len(self.sink.requests("/ok/discord")) == 2 and len(self.sink.requests("/teams/teams")) == 2,
                        daemon.stderr())
        daemon.stop()
        literals = [TITLE, LOCATION] + DESCRIPTION_LINES
        cases = []
        for kind, path, other in (("discord", "/ok/discord", "Teams " + NAME), ("teams", "/teams/teams", NAME)):
            reqs = self.sink.requests(path)
            long = [r for r in reqs if "Long agenda" in r.text()][0]
            hostile = [r for r in reqs if r is not long][0]
            cases.append(self.case(kind, "hostile", hostile, literals + [other]))
            cases.append(self.case(kind, "40k", long, ["Long agenda", other], cut="\n".join(LONG_LINES)))
        self.validate(cases)

    def test_notify(self):
        harness.write(self.config, config(self.sink, self.state))
        cases = []
        for dept, path in (("discord", "/ok/discord"), ("teams", "/teams/teams")):
            p = harness.run_tandem("-c", self.config, "notify-test", dept)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            req = self.sink.requests(path)[-1]
            name = NAME if dept == "discord" else "Teams " + NAME
            cases.append(self.case(dept, "notify-test", req, [name], bold=0))
        self.validate(cases)

    def test_check_warns_teams_mention(self):
        text = config(self.sink, self.state).replace(
            "[department:teams]\n", "[department:teams]\nmention = @General\n")
        harness.write(self.config, text)
        p = harness.run_tandem("-c", self.config, "check")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stderr, r"tandem\.ini:\d+: .*\[department:teams\] mention: has no effect with chat = teams")


if __name__ == "__main__":
    harness.main()
