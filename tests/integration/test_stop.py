"""Stop (SPEC.md section 5): SIGTERM finishes or abandons in-flight requests
within a few seconds and exits 0. An abandoned reminder is not lost: its
meeting still ahead, the next start sends it."""

import signal
import time

import harness
from harness import instant

START = instant("2026-03-02T10:00:00Z")
DUE = START - 900


def config(sink, state_dir, path):
    return harness.ini("""
        [tandem]
        timezone = UTC
        state_dir = %s
        listen = off
        """ % state_dir, """
        [department:a]
        chat = generic
        webhook = %s
        """ % sink.hook(path), """
        [department:b]
        chat = console

        [meeting:m]
        title = Stop test
        departments = a, b
        day = monday
        time = 10:00
        start = 2026-03-02
        remind = 15m
        """)


class Stop(harness.TestCase):

    def stop_timed(self, daemon, limit=5):
        t = time.monotonic()
        daemon.signal(signal.SIGTERM)
        rc = daemon.wait_exit(limit + 5)
        took = time.monotonic() - t
        self.assertIsNotNone(rc, "tandem did not exit after SIGTERM")
        self.assertEqual(rc, 0, daemon.stderr())
        self.assertLess(took, limit, "SIGTERM took %.1fs" % took)
        self.assertRegex(daemon.stderr(), r"(?m)^<6>stopping")
        return took

    def test_sigterm_with_request_in_flight(self):
        # The chat takes 30 s (real time) to answer the first request.
        path = "/slowfirst/30000/a"
        harness.write(self.config, config(self.sink, self.state, path))
        daemon = self.daemon(DUE - 1, 1)
        self.assertTrue(self.sink.wait_count(1, 10, path), daemon.stderr())
        self.stop_timed(daemon)
        ledger = harness.Ledger(self.state)
        row = ledger.by_key()[("m", START, 900, "a")]
        self.assertNotEqual(row["status"], "sent", "no answer came, yet recorded as sent")

        # Restarted while the meeting is still ahead: delivered (once more).
        again = self.daemon(DUE + 60, 10, name="again")
        ok = harness.wait_until(lambda: ledger.by_key()[("m", START, 900, "a")]["status"] == "sent", 10)
        self.assertTrue(ok, "the abandoned reminder was lost: %r\n%s" % (ledger.rows(), again.stderr()))
        again.stop()
        self.assertEqual(len(self.sink.requests(path)), 2)
        self.assertIn("in 14 minutes", self.sink.requests(path)[1].json()["text"])
        # The console reminder was printed by the first run only.
        self.assertEqual(len(again.stdout().splitlines()), 0)

    def test_sigterm_then_5xx(self):
        """The request in flight at SIGTERM fails with a 503 while tandem
        stops: a transient failure, to be retried by the next start, not
        a reminder recorded as failed for good."""
        path = "/slowfail/500/1/a"
        harness.write(self.config, config(self.sink, self.state, path))
        daemon = self.daemon(DUE - 1, 1)
        self.assertTrue(self.sink.wait_count(1, 10, path), daemon.stderr())
        self.stop_timed(daemon)
        ledger = harness.Ledger(self.state)
        row = ledger.by_key()[("m", START, 900, "a")]
        self.assertNotIn(row["status"], ("sent", "failed"), row)

        again = self.daemon(DUE + 60, 10, name="again")
        ok = harness.wait_until(lambda: ledger.by_key()[("m", START, 900, "a")]["status"] == "sent", 10)
        self.assertTrue(ok, "the reminder was lost: %r\n%s" % (ledger.rows(), again.stderr()))
        again.stop()
        self.assertEqual(len(self.sink.requests(path)), 2)

    def test_sigterm_during_backoff(self):
        """Waiting to retry is not a request in flight: the stop is quick."""
        path = "/fail/1/a"
        harness.write(self.config, config(self.sink, self.state, path))
        daemon = self.daemon(DUE - 1, 1)
        self.assertTrue(self.sink.wait_count(1, 10, path), daemon.stderr())
        harness.wait_until(lambda: "retrying" in daemon.stderr(), 5)
        took = self.stop_timed(daemon, limit=1.5)
        self.assertEqual(len(self.sink.requests(path)), 1, "a retry was started while stopping")
        self.assertLess(took, 1.5)

    def test_sigterm_idle(self):
        harness.write(self.config, config(self.sink, self.state, "/ok/a"))
        daemon = self.daemon(DUE - 3600, 1)
        self.stop_timed(daemon, limit=1.5)
        self.assertEqual(self.sink.requests(), [])


if __name__ == "__main__":
    harness.main()
