"""Exactly once, nothing lost (README "Delivery guarantees"): tandem is
killed with SIGKILL in the middle of a burst and restarted. Every reminder
is delivered; only a request in flight at the kill may be repeated, so at
most one per webhook URL."""

import collections
import signal

import harness
from harness import instant

MEETINGS = 8
HOOKS = 4
START = instant("2026-03-02T10:00:00Z")
DUE = START - 900
# d0's third request is held by the sink until the test lets it go: it is
# surely in flight at the kill. (The others answer at once: a request held
# longer than tandem's timeout would be retried before the kill.)
HELD = "/hold/3/d0"


def hook(i):
    return HELD if i == 0 else "/ok/d%d" % i


def config(sink, state_dir):
    parts = ["""
        [tandem]
        timezone = UTC
        state_dir = %s
        listen = off
        """ % state_dir]
    for i in range(HOOKS):
        parts.append("[department:d%d]\nchat = generic\nwebhook = %s\n" % (i, sink.hook(hook(i))))
    for m in range(MEETINGS):
        parts.append("""
            [meeting:m%d]
            title = Burst meeting %d
            departments = %s
            day = monday
            time = 10:00
            start = 2026-03-02
            remind = 15m
            """ % (m, m, ", ".join("d%d" % i for i in range(HOOKS))))
    return harness.ini(*parts)


def key(req):
    b = req.json()
    return (b["meeting"], instant(b["start"]), b["before"], b["department"])


class Crash(harness.TestCase):

    def test_sigkill_mid_burst(self):
        total = MEETINGS * HOOKS
        harness.write(self.config, config(self.sink, self.state))
        first = self.daemon(DUE - 2, name="first")
        first.advance(DUE + 60, wait=False)
        # The burst goes one request a second per URL; d0's third is held.
        self.assertTrue(self.sink.wait_count(3, 30, HELD), first.stderr())
        first.signal(signal.SIGKILL)
        self.assertEqual(first.wait_exit(10), -signal.SIGKILL)
        in_flight = key(self.sink.requests(HELD)[2])
        before_kill = self.sink.requests()
        self.assertLess(len(before_kill), total, "the burst was over before the kill")
        ledger = harness.Ledger(self.state)
        sending = [r for r in ledger.rows() if r["status"] == "sending"]
        self.sink.release(HELD)

        # Restart later on the clock, the meeting still ahead.
        restart = DUE + 60
        second = self.daemon(restart, name="second")
        second.advance(restart + 60)
        self.assertEqual(len(ledger.with_status("sent")), total, "not everything was delivered after the restart: %r\n%s" % (
            [r for r in ledger.rows() if r["status"] != "sent"], second.stderr()))
        second.stop()

        reqs = self.sink.requests()
        counts = collections.Counter(key(r) for r in reqs)
        expected = {("m%d" % m, START, "15m", "d%d" % i) for m in range(MEETINGS) for i in range(HOOKS)}
        self.assertEqual(set(counts), expected, "delivered reminders differ from the burst")
        dups = [k for k, n in counts.items() if n > 1]
        self.assertTrue(all(counts[k] == 2 for k in dups), counts)
        per_url = collections.Counter(k[3] for k in dups)
        self.assertTrue(all(n <= 1 for n in per_url.values()),
                        "more than the one request in flight per URL repeated: %r" % dups)
        # A repeated reminder is one that was 'sending' when killed.
        sending_keys = {(r["meeting"], r["start"], "15m", r["department"]) for r in sending}
        self.assertTrue(set(dups) <= sending_keys, "repeated %r, in flight were %r" % (dups, sending_keys))
        self.assertLessEqual(len(sending), HOOKS, "at most one request in flight per URL: %r" % sending)
        self.assertIn(in_flight, sending_keys, "the attempt is recorded before the request is made")
        self.assertIn(in_flight, dups, "the request in flight at the kill is sent again")

        for r in ledger.rows():
            self.assertEqual(r["status"], "sent", r)
            self.assertEqual(r["attempts"], 2 if (r["meeting"], r["start"], "15m", r["department"]) in sending_keys
                             else 1, r)

        # Pacing held within each run: one request a second per URL, on
        # the daemon's clock.
        for run_reqs in ([r for r in reqs if r.vtime < restart], [r for r in reqs if r.vtime >= restart]):
            by_url = collections.defaultdict(list)
            for r in run_reqs:
                by_url[r.path].append(r.vtime)
            for path, times in by_url.items():
                gaps = [b - a for a, b in zip(times, times[1:])]
                self.assertTrue(all(g >= 1 for g in gaps), "%s: %r" % (path, gaps))


if __name__ == "__main__":
    harness.main()
