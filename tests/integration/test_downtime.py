"""Downtime (README "Delivery guarantees"): reminders that fell due while
tandem was down are sent once at start-up if their meeting has not begun,
saying the real time left, but only the latest of an occurrence, and not
even that one when a later reminder of it follows soon (the others are
recorded as superseded); reminders of meetings that began meanwhile are
recorded as missed and not sent."""

import signal

import harness
from harness import instant

DOWN_AT = instant("2026-03-02T08:00:00Z")
UP_AT = instant("2026-03-02T10:00:00Z")
AHEAD = instant("2026-03-02T10:05:00Z")    # starts 5 minutes after the restart
STARTED = instant("2026-03-02T09:30:00Z")  # started (and runs) at the restart
LATER = instant("2026-03-09T10:05:00Z")


def config(sink, state_dir):
    return harness.ini("""
        [tandem]
        timezone = UTC
        state_dir = %s
        listen = off
        """ % state_dir, """
        [department:a]
        chat = slack
        webhook = %s
        """ % sink.hook("/ok/a"), """
        [department:b]
        chat = generic
        timezone = Europe/Berlin
        webhook = %s
        """ % sink.hook("/ok/b"), """
        [department:c]
        chat = slack
        webhook = %s
        """ % sink.hook("/ok/c"), """
        [department:d]
        chat = generic
        webhook = %s
        """ % sink.hook("/ok/d"), """
        [meeting:ahead]
        title = Ahead
        departments = a, b
        day = monday
        time = 10:05
        start = 2026-03-02
        remind = 30m, 15m, 2m

        [meeting:started]
        title = Started
        departments = c, d
        day = monday
        time = 09:30
        duration = 1h
        start = 2026-03-02
        remind = 1d, 15m
        """)


class Downtime(harness.TestCase):

    def run_down_and_up(self, stop):
        harness.write(self.config, config(self.sink, self.state))
        first = self.daemon(DOWN_AT, name="first")
        first.advance(DOWN_AT + 5)
        stop(first)
        ledger = harness.Ledger(self.state)
        self.check_first_run(ledger)

        second = self.daemon(UP_AT, name="second")
        # 30m and 15m before 10:05 fell due in the downtime; 2m is at 10:03.
        second.advance(AHEAD - 60)
        second.stop()

        rows = ledger.by_key()
        # The meeting still ahead: of the two late reminders only the later
        # (15m) is sent, once, at start-up, saying the real time left; the
        # 2m one comes when due; the 30m one is superseded.
        for dept, path in (("a", "/ok/a"), ("b", "/ok/b")):
            reqs = self.sink.requests(path)
            self.assertEqual(len(reqs), 2, "%s: %r" % (dept, reqs))
            self.assertEqual([r.vtime for r in reqs], [UP_AT, AHEAD - 120])
            texts = [r.json()["text"] for r in reqs]
            self.assertIn("in 5 minutes", texts[0])
            self.assertIn("in 2 minutes", texts[1])
            r = rows[("ahead", AHEAD, 900, dept)]
            self.assertEqual((r["status"], r["attempts"], r["updated"]), ("sent", 1, UP_AT), r)
            r = rows[("ahead", AHEAD, 1800, dept)]
            self.assertEqual((r["status"], r["attempts"], r["updated"]), ("superseded", 0, UP_AT), r)
            r = rows[("ahead", AHEAD, 120, dept)]
            self.assertEqual((r["status"], r["updated"]), ("sent", AHEAD - 120), r)
        generic = [r.json() for r in self.sink.requests("/ok/b")]
        self.assertEqual([g["before"] for g in generic], ["15m", "2m"])
        self.assertRegex(second.stderr(), r"reminder ahead/a 30m before 2026-03-02T10:05:00Z: superseded")

        # The meeting that had started: missed, recorded, not sent. Its 1d
        # reminder fell due before the first run, so it is not the
        # downtime's and nothing is recorded for it.
        self.assertEqual(len(self.sink.requests("/ok/c")), 1, "only the first run's 1d reminder")
        self.assertEqual(len(self.sink.requests("/ok/d")), 1, "only the first run's 1d reminder")
        for dept in ("c", "d"):
            r = rows.get(("started", STARTED, 900, dept))
            self.assertIsNotNone(r, "no ledger row for the missed reminder of %s: %r" % (dept, rows))
            self.assertEqual(r["status"], "missed", r)
            self.assertEqual(r["attempts"], 0, r)
            self.assertEqual(rows[("started", STARTED, 86400, dept)]["status"], "sent")
        self.assertEqual(len(rows), 6 + 2 + 2, rows)

    def check_first_run(self, ledger):
        """The first start, at 08:00, on a new ledger: the 1d reminder of
        the 09:30 meeting is overdue and its meeting ahead, so it goes out
        at once saying the real time left; nothing else was due."""
        self.assertEqual(len(ledger.with_status("sent")), 2, ledger.rows())
        self.assertEqual(sorted(r.path for r in self.sink.requests()), ["/ok/c", "/ok/d"])
        self.assertIn("in 1 hour 30 minutes", self.sink.requests("/ok/c")[0].json()["text"])
        self.assertEqual(self.sink.requests("/ok/d")[0].json()["before"], "1d")
        self.assertEqual({(r["meeting"], r["start"], r["offset_s"]) for r in ledger.rows()},
                         {("started", STARTED, 86400)})

    def test_down_after_sigterm(self):
        self.run_down_and_up(lambda d: d.stop())

    def test_down_after_crash(self):
        def crash(d):
            d.signal(signal.SIGKILL)
            d.wait_exit(10)
        self.run_down_and_up(crash)

    def unfinished_then_meeting_started(self, stop):
        """A reminder cut off (request in flight, or waiting to retry) and
        tandem back only after its meeting began: not sent, and the ledger
        says failed rather than 'sending' for ever. A later reminder (m2's,
        printed to the console) has moved tandem's "alive" mark past the
        cut-off ones' due time, so the downtime alone does not cover them."""
        start = instant("2026-03-02T10:00:00Z")
        harness.write(self.config, harness.ini("""
            [tandem]
            timezone = UTC
            state_dir = %s
            listen = off
            """ % self.state, """
            [department:a]
            chat = generic
            webhook = %s
            """ % self.sink.hook("/reset/1000/a"), """
            [department:b]
            chat = generic
            webhook = %s
            """ % self.sink.hook("/fail/1000/b"), """
            [department:c]
            chat = console

            [department:d]
            chat = console

            [meeting:m]
            title = Cut off
            departments = a, b
            day = monday
            time = 10:00
            start = 2026-03-02
            remind = 15m

            [meeting:m2]
            title = Later
            departments = c, d
            day = monday
            time = 10:01
            start = 2026-03-02
            remind = 15m
            """))
        first = self.daemon(start - 900 - 1, name="first")
        first.advance(start - 840 + 30)  # m's reminders failing and retried; m2's printed at 09:46
        self.assertRegex(first.stderr(), r"m/a .*retrying")
        self.assertRegex(first.stderr(), r"m/b .*retrying")
        self.assertIn("[c] ", first.stdout())
        stop(first)
        ledger = harness.Ledger(self.state)
        key = lambda r: (r["meeting"], r["department"])  # noqa: E731
        self.assertEqual({key(r): r["status"] for r in ledger.rows() if r["meeting"] == "m"},
                         {("m", "a"): "sending", ("m", "b"): "sending"})
        n_requests = len(self.sink.requests())

        second = self.daemon(start + 30, name="second")
        second.advance(start + 60)
        second.stop()
        self.assertTrue(all(r["status"] == "failed" for r in ledger.rows() if r["meeting"] == "m"),
                        "left unresolved: %r\n%s" % (ledger.rows(), second.stderr()))
        self.assertEqual([r.path for r in self.sink.requests()[n_requests:]], [], "sent after the meeting began")

    def test_unfinished_then_meeting_started_after_stop(self):
        self.unfinished_then_meeting_started(lambda d: d.stop())

    def test_unfinished_then_meeting_started_after_crash(self):
        def crash(d):
            d.signal(signal.SIGKILL)
            d.wait_exit(10)
        self.unfinished_then_meeting_started(crash)

    def test_restarted_days_later(self):
        """Restarted days after the meetings: every reminder of the
        downtime is missed, none is sent; then the next ones come as usual."""
        harness.write(self.config, config(self.sink, self.state))
        first = self.daemon(DOWN_AT, name="first")
        first.advance(DOWN_AT)
        ledger = harness.Ledger(self.state)
        self.check_first_run(ledger)
        first.stop()
        second = self.daemon(instant("2026-03-08T09:29:00Z"), name="second")
        self.assertEqual(len(ledger.with_status("missed")), 8, ledger.rows())
        # A minute of clock time later: "started"'s 1d reminder of Mon 9 Mar.
        second.advance(instant("2026-03-08T09:31:00Z"))
        second.stop()
        self.assertEqual(sorted(r.path for r in self.sink.requests()), ["/ok/c", "/ok/c", "/ok/d", "/ok/d"])
        d = self.sink.requests("/ok/d")[1].json()
        self.assertEqual((d["meeting"], d["start"], d["before"]), ("started", "2026-03-09T09:30:00Z", "1d"))
        self.assertIn("tomorrow", d["text"])
        rows = ledger.rows()
        self.assertEqual(sorted(r["status"] for r in rows), ["missed"] * 8 + ["sent"] * 4, rows)
        for r in rows:
            if r["status"] == "missed":
                self.assertIn((r["meeting"], r["start"]), {("ahead", AHEAD), ("started", STARTED)}, r)

if __name__ == "__main__":
    harness.main()
