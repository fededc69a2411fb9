"""Stop (README "Running it"): SIGTERM finishes or abandons in-flight
requests within a few seconds and exits 0. An abandoned reminder is not
lost: its meeting still ahead, the next start sends it.

The few seconds are real time (3 s to abandon requests in flight, see
daemon/daemon.c); the limits asserted here are generous, so that a loaded
machine does not fail them."""

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

    def stop_timed(self, daemon, limit=10):
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
        # The chat does not answer the first request until told to.
        path = "/hold/1/a"
        harness.write(self.config, config(self.sink, self.state, path))
        daemon = self.daemon(DUE - 1)
        daemon.advance(DUE + 10, wait=False)
        self.assertTrue(self.sink.wait_count(1, 30, path), daemon.stderr())
        self.stop_timed(daemon)
        # Abandoned at the stop timeout, or timed out first: either way left
        # for the next start.
        self.assertRegex(daemon.stderr(), r"abandoning 1 request\(s\) still in flight|stopping, the next start retries it")
        self.sink.release(path)
        ledger = harness.Ledger(self.state)
        row = ledger.by_key()[("m", START, 900, "a")]
        self.assertEqual(row["status"], "sending", "no answer came, yet recorded as %r" % row)

        # Restarted while the meeting is still ahead: delivered (once more).
        again = self.daemon(DUE + 60, name="again")
        again.advance(DUE + 120)
        self.assertEqual(ledger.by_key()[("m", START, 900, "a")]["status"], "sent",
                         "the abandoned reminder was lost: %r\n%s" % (ledger.rows(), again.stderr()))
        again.stop()
        self.assertEqual(len(self.sink.requests(path)), 2)
        self.assertIn("in 14 minutes", self.sink.requests(path)[1].json()["text"])
        # The console reminder was printed by the first run only.
        self.assertEqual(len(again.stdout().splitlines()), 0)

    def test_sigterm_then_5xx(self):
        """The request in flight at SIGTERM fails with a 503 while tandem
        stops: a transient failure, to be retried by the next start, not
        a reminder recorded as failed for good."""
        path = "/holdfail/1/a"
        harness.write(self.config, config(self.sink, self.state, path))
        daemon = self.daemon(DUE - 1)
        daemon.advance(DUE + 10, wait=False)
        self.assertTrue(self.sink.wait_count(1, 30, path), daemon.stderr())
        daemon.signal(signal.SIGTERM)
        daemon.wait_log(r"^<6>stopping")
        self.sink.release(path)
        self.assertEqual(daemon.wait_exit(15), 0, daemon.stderr())
        self.assertIn("stopping, the next start retries it", daemon.stderr())
        ledger = harness.Ledger(self.state)
        row = ledger.by_key()[("m", START, 900, "a")]
        self.assertEqual(row["status"], "sending", row)

        again = self.daemon(DUE + 60, name="again")
        again.advance(DUE + 120)
        self.assertEqual(ledger.by_key()[("m", START, 900, "a")]["status"], "sent",
                         "the reminder was lost: %r\n%s" % (ledger.rows(), again.stderr()))
        again.stop()
        self.assertEqual(len(self.sink.requests(path)), 2)

    def test_sigterm_during_backoff(self):
        """Waiting to retry is not a request in flight: the stop is quick."""
        path = "/fail/1/a"
        harness.write(self.config, config(self.sink, self.state, path))
        daemon = self.daemon(DUE - 1)
        daemon.advance(DUE)  # the 500 came; the retry is 1-2 s away
        self.assertIn("retrying", daemon.stderr())
        self.stop_timed(daemon, limit=5)
        self.assertEqual(len(self.sink.requests(path)), 1, "a retry was started while stopping")
        self.assertNotIn("abandoning", daemon.stderr())

    def test_sigterm_idle(self):
        harness.write(self.config, config(self.sink, self.state, "/ok/a"))
        daemon = self.daemon(DUE - 3600)
        self.stop_timed(daemon, limit=5)
        self.assertEqual(self.sink.requests(), [])


if __name__ == "__main__":
    harness.main()
