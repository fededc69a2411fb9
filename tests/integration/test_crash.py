"""Exactly once, nothing lost (SPEC.md section 5): tandem is killed with
SIGKILL in the middle of a burst and restarted. Every reminder is
delivered; only a request in flight at the kill may be repeated, so at most
one per webhook URL."""

import collections
import signal
import time

import harness
from harness import instant

MEETINGS = 8
HOOKS = 4
START = instant("2026-03-02T10:00:00Z")
DUE = START - 900


def config(sink, state_dir):
    parts = ["""
        [tandem]
        timezone = UTC
        state_dir = %s
        listen = off
        """ % state_dir]
    for i in range(HOOKS):
        # Each request takes 200 ms to answer, so one is usually in flight.
        parts.append("[department:d%d]\nchat = generic\nwebhook = %s\n" % (i, sink.hook("/slow/200/d%d" % i)))
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
        rate = 4  # pacing: a request a second per URL is 0.25 s
        total = MEETINGS * HOOKS
        harness.write(self.config, config(self.sink, self.state))
        first = self.daemon(DUE - 2, rate, name="first")
        # Kill when about a third of the burst is through, right after a
        # request arrived: the sink holds it for 200 ms, so it is in flight.
        self.assertTrue(self.sink.wait_count(total // 3, 20), first.stderr())
        first.signal(signal.SIGKILL)
        in_flight = key(self.sink.requests()[total // 3 - 1])
        t_kill = time.monotonic()
        self.assertEqual(first.wait_exit(5), -signal.SIGKILL)
        before_kill = self.sink.requests()
        self.assertLess(len(before_kill), total, "the burst was over before the kill")
        ledger = harness.Ledger(self.state)
        sending = [r for r in ledger.rows() if r["status"] == "sending"]

        # Restart later on the clock, the meeting still ahead.
        restart = int(first.virtual_at(t_kill + 0.5)) + 5
        self.assertLess(restart, START)
        second = self.daemon(restart, rate, name="second")
        ok = harness.wait_until(lambda: len(ledger.with_status("sent")) == total, 30)
        self.assertTrue(ok, "not everything was delivered after the restart: %r\n%s" % (
            [r for r in ledger.rows() if r["status"] != "sent"], second.stderr()))
        second.wait_virtual(restart + 10)  # time for a wrong extra request
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

        for r in ledger.rows():
            self.assertEqual(r["status"], "sent", r)
            self.assertEqual(r["attempts"], 2 if (r["meeting"], r["start"], "15m", r["department"]) in sending_keys
                             else 1, r)

        # Pacing held within each run: one request a second per URL.
        # (The first run is over when the second starts; a request of the
        # first may have reached the sink just after the SIGKILL was sent.)
        for run_reqs in ([r for r in reqs if r.time < second.t0], [r for r in reqs if r.time >= second.t0]):
            by_url = collections.defaultdict(list)
            for r in run_reqs:
                by_url[r.path].append(r.time)
            for path, times in by_url.items():
                gaps = [(b - a) * rate for a, b in zip(times, times[1:])]
                self.assertTrue(all(g >= 0.9 for g in gaps), "%s: %r" % (path, gaps))


if __name__ == "__main__":
    harness.main()
