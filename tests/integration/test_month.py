"""A simulated month (March 2026, across the US and EU daylight-saving
changes) of a realistic config on the step clock: the reminders delivered
are exactly those `tandem preview --json` predicts, each once, when due (or
at start-up, for the catch-ups the README's rule keeps), and before its
meeting starts. On the step clock the month takes a few seconds and every
instant is exact, whatever the machine's load."""

import collections
import os

import harness
from harness import instant

# Ten minutes before the first Sales + Marketing sync of the month, whose
# 1d and 15m reminders are then overdue: a catch-up at start-up.
FROM = instant("2026-03-03T14:50:00Z")
DAYS = 31


def config(sink, state_dir):
    depts = [
        ("sales", "Sales", "Europe/Berlin", "slack", "<!here>"),
        ("marketing", "Marketing", "America/New_York", "generic", None),
        ("support", "Support", "Asia/Kolkata", "generic", None),
        ("product", "Product", "Australia/Sydney", "generic", None),
        ("engineering", "Engineering", "America/Los_Angeles", "generic", None),
        ("finance", "Finance", "Europe/London", "generic", None),
        ("legal", "Legal", "UTC", "console", None),
    ]
    parts = ["""
        [tandem]
        timezone = Europe/Berlin
        calendar_name = Month test
        domain = month.example
        state_dir = %s
        listen = off
        """ % state_dir]
    for id_, name, zone, chat, mention in depts:
        s = "[department:%s]\nname = %s\ntimezone = %s\nchat = %s\nmanager = Boss of %s <%s@month.example>\n" % (
            id_, name, zone, chat, name, id_)
        if chat != "console":
            # generic everywhere else: the payload names the reminder.
            s += "webhook = %s\n" % sink.hook("/ok/" + id_)
        if mention:
            s += "mention = %s\n" % mention
        parts.append(s)
    parts.append("""
        [meeting:sales-marketing]
        title = Sales + Marketing weekly sync
        departments = sales, marketing
        day = tuesday
        time = 16:00
        duration = 45m
        timezone = Europe/Berlin
        start = 2026-01-06
        host = sales
        remind = 1d, 15m

        [meeting:support-product]
        title = Support + Product triage
        departments = support, product
        cadence = biweekly
        day = monday, thursday
        time = 09:00
        timezone = Asia/Kolkata
        start = 2026-01-05
        remind = 1h

        [meeting:joint-lunch]
        title = Monthly joint lunch
        departments = sales, marketing, support, product, engineering
        cadence = monthly
        day = last friday
        time = 12:30
        duration = 1h30m
        start = 2026-01-01
        remind = 1d, 2h

        [meeting:managers]
        title = Managers' sit-down
        departments = sales, marketing, product, finance
        cadence = rrule:FREQ=MONTHLY;BYDAY=2WE
        time = 15:00
        timezone = UTC
        start = 2026-01-01
        remind = 2h

        [meeting:eng-product]
        title = Engineering + Product roadmap
        departments = engineering, product
        cadence = every 3 weeks
        day = wednesday
        time = 17:00
        timezone = America/Los_Angeles
        start = 2026-01-07
        remind = 1d, 1h

        [meeting:finance-legal]
        title = Month-end close
        departments = finance, legal
        cadence = monthly
        day = 31
        time = 10:00
        timezone = Europe/London
        start = 2026-01-01
        remind = 1d2h, 1h

        [meeting:standup]
        title = Eng + Marketing launch stand-up
        departments = engineering, marketing
        day = monday, wednesday, friday
        time = 08:30
        duration = 15m
        timezone = America/New_York
        start = 2026-03-02
        end = 2026-04-30
        skip = 2026-03-13
        remind = 10m
        """)
    return harness.ini(*parts)


class Month(harness.TestCase):

    def test_month(self):
        harness.write(self.config, config(self.sink, self.state))
        # What should happen: every reminder of an occurrence that starts
        # after the daemon's start and falls due by the end of the window;
        # of those overdue at start-up, what the catch-up rule keeps.
        wide = harness.predicted_reminders(harness.preview(self.config, FROM - 2 * 86400, DAYS + 6))
        end = FROM + DAYS * 86400
        fate = harness.catch_up(wide, FROM)
        expected = {k: v for k, v in wide.items() if k[1] > FROM and v[0] <= end}
        self.assertGreater(len(expected), 60, "the config should make a busy month")
        self.assertIn("superseded", {fate[k] for k in expected}, "the month should start with a catch-up")
        # Across the DST changes, both offsets are seen in the predictions.
        starts = {k[1] for k in expected}
        self.assertTrue(any(s < instant("2026-03-08T00:00:00Z") for s in starts))
        self.assertTrue(any(s > instant("2026-03-29T12:00:00Z") for s in starts))

        daemon = self.daemon(FROM)
        ledger = harness.Ledger(self.state)
        # A week at a time, as an operator's month would pass.
        for t in range(FROM + 7 * 86400, end, 7 * 86400):
            daemon.advance(t)
        daemon.advance(end)
        daemon.stop()
        rows = ledger.rows()

        # The ledger: exactly the prediction up to the end of the window,
        # each sent once or superseded as the rule says.
        by_key = {(r["meeting"], r["start"], r["offset_s"], r["department"]): r for r in rows}
        self.assertEqual(sorted(set(by_key) - set(expected)), [], "recorded but not predicted")
        self.assertEqual(sorted(set(expected) - set(by_key)), [], "predicted but not recorded")
        for k, r in by_key.items():
            self.assertEqual(r["status"], fate[k], r)
            due = wide[k][0]
            if r["status"] == "superseded":
                self.assertEqual((r["attempts"], r["updated"]), (0, FROM), r)
                continue
            self.assertEqual(r["attempts"], 1, r)
            # When due, or at start-up for a catch-up; one a second per URL.
            self.assertWithin(r["updated"], max(due, FROM), max(due, FROM) + 5, "sent at %r" % (r,))
            self.assertLess(r["updated"], k[1], "%r delivered after its meeting started" % (r,))

        # The sink: one request per webhook reminder, matching the ledger,
        # each leaving when the ledger says it was sent.
        webhook = collections.Counter()
        for req in self.sink.requests():
            dept = os.path.basename(req.path)
            if dept == "sales":  # slack: no key in the payload; count only
                webhook[("sales",)] += 1
                continue
            b = req.json()
            self.assertEqual(b["department"], dept)
            self.assertEqual(b["type"], "reminder")
            k = (b["meeting"], instant(b["start"]), harness.offset_seconds(b["before"]), dept)
            webhook[k] += 1
            self.assertEqual(b["before"], wide[k][1])
            self.assertEqual(int(req.vtime), by_key[k]["updated"])
        self.assertEqual([k for k, n in webhook.items() if n > 1 and k != ("sales",)], [], "sent twice")
        sent = {k for k, r in by_key.items() if r["status"] == "sent"}
        self.assertEqual(set(k for k in webhook if k != ("sales",)), {k for k in sent if k[3] not in ("sales", "legal")})
        self.assertEqual(webhook[("sales",)], sum(1 for k in sent if k[3] == "sales"))
        legal = [l for l in daemon.stdout().splitlines() if l.startswith("[legal] ")]
        self.assertEqual(len(legal), sum(1 for k in sent if k[3] == "legal"))
        self.assertEqual(len(daemon.stdout().splitlines()), len(legal))


if __name__ == "__main__":
    harness.main()
