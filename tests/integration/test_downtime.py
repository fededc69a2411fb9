"""Downtime (SPEC.md section 5): reminders that fell due while tandem was
down are sent once at start-up if their meeting has not begun, saying the
real time left; otherwise they are recorded as missed and not sent."""

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
        rate = 120
        harness.write(self.config, config(self.sink, self.state))
        first = self.daemon(DOWN_AT, rate, name="first")
        first.wait_virtual(DOWN_AT + 5)
        stop(first)
        ledger = harness.Ledger(self.state)
        self.check_first_run(ledger)

        second = self.daemon(UP_AT, rate, name="second")
        # 30m and 15m before 10:05 fell due in the downtime; 2m is at 10:03.
        ok = harness.wait_until(lambda: len(self.sink.requests()) >= 6, 20)
        self.assertTrue(ok, "expected 6 requests, got %r\n%s" % (self.sink.requests(), second.stderr()))
        second.wait_virtual(AHEAD - 60)  # time for a wrong extra request
        second.stop()

        rows = ledger.by_key()
        # The meeting still ahead: both late reminders sent once, at start-up,
        # saying the real time left.
        for dept, path in (("a", "/ok/a"), ("b", "/ok/b")):
            reqs = self.sink.requests(path)
            self.assertEqual(len(reqs), 3, "%s: %r" % (dept, reqs))
            texts = [r.json()["text"] for r in reqs]
            for text in texts[:2]:
                self.assertIn("in 5 minutes", text)
                self.assertNotIn("in 15 minutes", text)
                self.assertNotIn("in 30 minutes", text)
            self.assertIn("in 2 minutes", texts[2])
            for off in (1800, 900):
                r = rows[("ahead", AHEAD, off, dept)]
                self.assertEqual((r["status"], r["attempts"]), ("sent", 1), r)
                self.assertWithin(r["updated"], UP_AT, UP_AT + 15, "sent at start-up")
            r = rows[("ahead", AHEAD, 120, dept)]
            self.assertEqual(r["status"], "sent", r)
            self.assertWithin(r["updated"], AHEAD - 120, AHEAD - 120 + 15, "sent when due")
        generic = [r.json() for r in self.sink.requests("/ok/b")]
        self.assertEqual(sorted(g["before"] for g in generic), ["15m", "2m", "30m"])

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
        ok = harness.wait_until(lambda: len(ledger.with_status("sent")) == 2, 5)
        self.assertTrue(ok, ledger.rows())
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
            d.wait_exit(5)
        self.run_down_and_up(crash)

    def unfinished_then_meeting_started(self, stop):
        """A reminder cut off (request in flight, or waiting to retry) and
        tandem back only after its meeting began: not sent, and the ledger
        says failed rather than 'sending' for ever. A later reminder (m2's,
        printed to the console) has moved tandem's "alive" mark past the
        cut-off ones' due time, so the downtime alone does not cover them."""
        rate = 30
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
            """ % self.sink.hook("/slow/60000/a"), """
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
        first = self.daemon(start - 900 - 1, rate, name="first")
        self.assertTrue(self.sink.wait_count(1, 10, "/slow/60000/a"), first.stderr())
        first.wait_log(r"m/b .*retrying")
        ok = harness.wait_until(lambda: "[c] " in first.stdout(), 10)  # 09:46
        self.assertTrue(ok, first.stderr())
        stop(first)
        ledger = harness.Ledger(self.state)
        key = lambda r: (r["meeting"], r["department"])  # noqa: E731
        self.assertEqual({key(r): r["status"] for r in ledger.rows() if r["meeting"] == "m"},
                         {("m", "a"): "sending", ("m", "b"): "sending"})
        n_requests = len(self.sink.requests())

        second = self.daemon(start + 30, rate, name="second")
        ok = harness.wait_until(lambda: all(r["status"] == "failed" for r in ledger.rows() if r["meeting"] == "m"), 5)
        second.stop()
        self.assertTrue(ok, "left unresolved: %r\n%s" % (ledger.rows(), second.stderr()))
        self.assertEqual([r.path for r in self.sink.requests()[n_requests:]], [], "sent after the meeting began")

    def test_unfinished_then_meeting_started_after_stop(self):
        self.unfinished_then_meeting_started(lambda d: d.stop())

    def test_unfinished_then_meeting_started_after_crash(self):
        def crash(d):
            d.signal(signal.SIGKILL)
            d.wait_exit(5)
        self.unfinished_then_meeting_started(crash)

    def test_restarted_days_later(self):
        """Restarted days after the meetings: every reminder of the
        downtime is missed, none is sent; then the next ones come as usual."""
        rate = 60
        harness.write(self.config, config(self.sink, self.state))
        first = self.daemon(DOWN_AT, rate, name="first")
        ledger = harness.Ledger(self.state)
        self.check_first_run(ledger)
        first.stop()
        second = self.daemon(instant("2026-03-08T09:29:00Z"), rate, name="second")
        ok = harness.wait_until(lambda: len(ledger.with_status("missed")) == 8, 10)
        self.assertTrue(ok, ledger.rows())
        # A minute of clock time later: "started"'s 1d reminder of Mon 9 Mar.
        self.assertTrue(self.sink.wait_count(4, 10), second.stderr())
        second.wait_virtual(instant("2026-03-08T09:31:00Z"))
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
