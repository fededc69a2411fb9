"""A simulated month (March 2026, across the US and EU daylight-saving
changes) of a realistic config on the fast clock: the reminders delivered
are exactly those `tandem preview --json` predicts, each once, never early
and before its meeting starts.

The clock rate and the offsets go together. A reminder costs tandem about
5 ms of real time (most of it working out zone abbreviations), which at
60000 times real time is 300 s of clock time, and a meeting's reminders to
its departments go out one after the other. So the shortest offset here is
1h (60 ms real) and the widest meetings get 2h; 15m and shorter offsets are
tested at gentler rates in test_formats, test_delivery and test_downtime.
At 60000 the month takes about 45 s."""

import collections
import os

import harness
from harness import instant

RATE = 60000
FROM = instant("2026-03-01T00:00:00Z")
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
        remind = 1d, 1h

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
        remind = 1h
        """)
    return harness.ini(*parts)


class Month(harness.TestCase):

    def test_month(self):
        harness.write(self.config, config(self.sink, self.state))
        # What should happen: every reminder of an occurrence that starts
        # after the daemon's start and falls due by the end of the window
        # (reminders overdue at start-up go out then: SPEC "Downtime").
        wide = harness.predicted_reminders(harness.preview(self.config, FROM - 2 * 86400, DAYS + 6))
        end = self.quiet_end(wide)
        expected = {k: v for k, v in wide.items() if k[1] > FROM and v[0] <= end}
        self.assertGreater(len(expected), 60, "the config should make a busy month")
        # Across the DST changes, both offsets are seen in the predictions.
        starts = {k[1] for k in expected}
        self.assertTrue(any(s < instant("2026-03-08T00:00:00Z") for s in starts))
        self.assertTrue(any(s > instant("2026-03-29T12:00:00Z") for s in starts))

        daemon = self.daemon(FROM, RATE)
        ledger = harness.Ledger(self.state)
        window = (end - FROM) / RATE

        def all_in():
            got = {(r["meeting"], r["start"], r["offset_s"], r["department"]) for r in ledger.rows()
                   if r["status"] != "sending"}
            return set(expected) <= got
        ok = harness.wait_until(all_in, window * 1.5 + 20, interval=0.25)
        daemon.stop()
        rows = ledger.rows()
        self.assertTrue(ok, "missing: %r\n%s" % (
            sorted(set(expected) - {(r["meeting"], r["start"], r["offset_s"], r["department"]) for r in rows}),
            daemon.stderr()[-3000:]))

        # The ledger: exactly the prediction up to the end of the window,
        # every one sent, once; anything after it predicted too.
        by_key = {(r["meeting"], r["start"], r["offset_s"], r["department"]): r for r in rows}
        in_window = {k for k in by_key if k[1] - k[2] <= end}
        self.assertEqual(sorted(in_window - set(expected)), [], "sent but not predicted")
        self.assertEqual(sorted(set(expected) - in_window), [], "predicted but not sent")
        self.assertEqual(sorted(set(by_key) - set(wide)), [], "after the window, not predicted")
        for k, r in by_key.items():
            self.assertEqual(r["status"], "sent", r)
            self.assertEqual(r["attempts"], 1, r)
            due = wide[k][0]
            # Never early; before the meeting starts.
            self.assertGreaterEqual(r["updated"], max(due, FROM), r)
            self.assertLess(r["updated"], k[1], "%r delivered after its meeting started" % (r,))

        # The sink: one request per webhook reminder, matching the ledger.
        webhook = collections.Counter()
        for req in self.sink.requests():
            dept = os.path.basename(req.path)
            if dept == "sales":  # slack: no key in the payload; count only
                webhook[("sales",)] += 1
                continue
            b = req.json()
            self.assertEqual(b["department"], dept)
            self.assertEqual(b["type"], "reminder")
            webhook[(b["meeting"], instant(b["start"]), harness.offset_seconds(b["before"]), dept)] += 1
            self.assertEqual(b["before"], wide[(b["meeting"], instant(b["start"]),
                                                harness.offset_seconds(b["before"]), dept)][1])
        self.assertEqual([k for k, n in webhook.items() if n > 1 and k != ("sales",)], [], "sent twice")
        sent_generic = {k for k in by_key if k[3] not in ("sales", "legal")}
        self.assertEqual(set(k for k in webhook if k != ("sales",)), sent_generic)
        self.assertEqual(webhook[("sales",)], sum(1 for k in by_key if k[3] == "sales"))
        legal = [l for l in daemon.stdout().splitlines() if l.startswith("[legal] ")]
        self.assertEqual(len(legal), sum(1 for k in by_key if k[3] == "legal"))
        self.assertEqual(len(daemon.stdout().splitlines()), len(legal))

    def quiet_end(self, predicted):
        """An instant near the end of the month with no reminder due in the
        8 hours either side, so that the daemon's stop, a little late on a
        clock this fast, changes nothing."""
        dues = sorted({v[0] for v in predicted.values()})
        t = FROM + DAYS * 86400
        while any(abs(d - t) < 8 * 3600 for d in dues):
            t += 1800
        self.assertLess(t, FROM + (DAYS + 3) * 86400, "no quiet time found")
        return t


if __name__ == "__main__":
    harness.main()
