"""Chaos soak: thirty simulated days (7 March to 6 April 2026, across the
US, EU and southern-hemisphere daylight-saving changes) of a realistic
config, 20 departments and 40 meetings, on the step clock, against a sink
that fails at random (sink.py /chaos/: 500s, 429 with Retry-After,
connection resets, answers slower than tandem's timeout), while tandem is
killed with SIGKILL at three random moments, with requests in flight, and
restarted ten minutes to eight hours (of its clock) later.

Afterwards, for every reminder `tandem preview --json` predicts for the
window (README "Delivery guarantees"):

- sent: recorded 'sent' in the ledger and answered 2xx by the sink;
- failed: allowed only if the sink never answered it 2xx and either its
  meeting started during an outage (a kill to the restart) or the sink was
  refusing that webhook within the reminder's window (a refused request on
  that URL between its due time, less one request timeout, and its start):
  tandem retries until the meeting starts, then records it failed;
- missed: allowed only if its meeting started during an outage and the sink
  never answered it 2xx;
- none answered 2xx twice, except a request in flight at a kill (its row
  still 'sending' in the ledger right after the kill): at most one per
  webhook URL per kill. Their count is printed.

The seed is printed; SOAK_SEED=N reruns with the same failures and kill
moments. On the step clock what tandem decides does not depend on the
machine's speed: a loaded machine only makes the soak take longer.
"""

import collections
import os
import random
import signal
import sys

import harness
from harness import instant, rfc3339

FROM = instant("2026-03-07T00:00:00Z")
DAYS = 30
KILLS = 3
SEED = int(os.environ.get("SOAK_SEED") or random.SystemRandom().randrange(1, 10 ** 6))

DEPARTMENTS = [
    ("berlin", "Europe/Berlin"), ("london", "Europe/London"), ("paris", "Europe/Paris"),
    ("helsinki", "Europe/Helsinki"), ("newyork", "America/New_York"), ("chicago", "America/Chicago"),
    ("denver", "America/Denver"), ("losangeles", "America/Los_Angeles"), ("halifax", "America/Halifax"),
    ("saopaulo", "America/Sao_Paulo"), ("santiago", "America/Santiago"), ("sydney", "Australia/Sydney"),
    ("adelaide", "Australia/Adelaide"), ("brisbane", "Australia/Brisbane"), ("auckland", "Pacific/Auckland"),
    ("kolkata", "Asia/Kolkata"), ("tokyo", "Asia/Tokyo"), ("singapore", "Asia/Singapore"),
    ("johannesburg", "Africa/Johannesburg"), ("utc", "UTC"),
]
ZONES = dict(DEPARTMENTS)
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]
CADENCES = ["weekly", "weekly", "biweekly", "every 3 weeks", "monthly-nth", "monthly-day", "rrule", "twice"]
REMINDS = ["1d, 15m", "1d, 1h", "10m", "1d2h, 2h", "2h"]


def config(sink, state_dir):
    """A fixed config (its own seed, not the chaos seed): 40 meetings of
    2 to 4 departments, in the zone of one of them, 07:00 to 18:30 local
    (never in a DST gap), of varied cadences and offsets."""
    rng = random.Random(20260307)
    parts = ["""
        [tandem]
        timezone = Europe/Berlin
        calendar_name = Soak test
        domain = soak.example
        state_dir = %s
        listen = off
        """ % state_dir]
    for id_, zone in DEPARTMENTS:
        parts.append("[department:%s]\nname = Team %s\ntimezone = %s\nchat = generic\nwebhook = %s\n" % (
            id_, id_.capitalize(), zone, sink.hook("/chaos/%d/%s" % (SEED, id_))))
    for i in range(40):
        depts = rng.sample([d for d, _ in DEPARTMENTS], rng.choice([2, 2, 2, 3, 3, 4]))
        host = depts[0]
        cadence = CADENCES[i % len(CADENCES)]
        lines = ["[meeting:m%02d]" % i, "title = Joint meeting %d (%s)" % (i, cadence),
                 "departments = %s" % ", ".join(depts), "timezone = %s" % ZONES[host],
                 "time = %02d:%02d" % (rng.randint(7, 18), rng.choice([0, 15, 30, 45])),
                 "duration = %s" % rng.choice(["30m", "45m", "1h", "1h30m"]),
                 "start = 2026-02-%02d" % rng.randint(1, 20), "remind = %s" % rng.choice(REMINDS)]
        if cadence in ("weekly", "biweekly", "every 3 weeks"):
            lines += ["cadence = %s" % cadence, "day = %s" % rng.choice(WEEKDAYS)]
        elif cadence == "twice":
            lines += ["day = %s" % ", ".join(rng.sample(WEEKDAYS, 2))]
        elif cadence == "monthly-nth":
            lines += ["cadence = monthly", "day = %s %s" % (rng.choice(["first", "second", "third", "last"]),
                                                            rng.choice(WEEKDAYS))]
        elif cadence == "monthly-day":
            lines += ["cadence = monthly", "day = %d" % rng.choice([1, 5, 15, 28, 31])]
        else:
            lines += ["cadence = rrule:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR"]
        parts.append("\n".join(lines) + "\n")
    return harness.ini(*parts)


def key_of(req):
    b = req.json()
    return (b["meeting"], instant(b["start"]), harness.offset_seconds(b["before"]), b["department"])


def ok(req):
    return isinstance(req.status, int) and 200 <= req.status < 300


class Soak(harness.TestCase):

    def alive(self):
        """The daemon's alive mark in the ledger (0 if none)."""
        import sqlite3
        con = sqlite3.connect(harness.Ledger(self.state).path, timeout=10)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'alive'").fetchone()
            return int(row[0]) if row else 0
        finally:
            con.close()

    def test_chaos_soak(self):
        print("\nsoak seed %d (rerun with SOAK_SEED=%d)" % (SEED, SEED), file=sys.stderr)
        rng = random.Random(SEED)
        harness.write(self.config, config(self.sink, self.state))
        wide = harness.predicted_reminders(harness.preview(self.config, FROM - 3 * 86400, DAYS + 6))
        # The window's end: the daemon runs on until every reminder due by
        # then is final; what it sends meanwhile must be predicted too (the
        # wide preview reaches 6 days further).
        end = FROM + DAYS * 86400
        expected = {k: v for k, v in wide.items() if k[1] > FROM and v[0] <= end}
        self.assertGreater(len(expected), 400, "the config should make a busy month")
        starts = {k[1] for k in expected}
        for change in ("2026-03-08T10:00:00Z", "2026-03-29T01:00:00Z", "2026-04-05T03:00:00Z"):
            self.assertTrue(any(s < instant(change) for s in starts) and any(s > instant(change) for s in starts))

        # Three kill moments on the clock, at least 3 days apart.
        while True:
            kills = sorted(rng.randrange(FROM + 2 * 86400, FROM + (DAYS - 3) * 86400) for _ in range(KILLS))
            if all(b - a >= 3 * 86400 for a, b in zip(kills, kills[1:])):
                break
        print("kills at %s" % ", ".join(rfc3339(k) for k in kills), file=sys.stderr)

        ledger = harness.Ledger(self.state)
        runs = [self.daemon(FROM, name="run")]
        outages = []        # (the clock at the kill, the restart's clock)
        in_flight = []      # per kill: keys 'sending' in the ledger right after it
        for k in kills:
            d = runs[-1]
            d.advance(k)
            # On into the next day, killed once three more requests have
            # reached the sink: some are in flight then.
            n = len(self.sink.requests())
            d.advance(k + 86400, wait=False)
            self.sink.wait_count(n + 3, 60)
            d.signal(signal.SIGKILL)
            self.assertEqual(d.wait_exit(10), -signal.SIGKILL, d.stderr()[-3000:])
            sending = {(r["meeting"], r["start"], r["offset_s"], r["department"])
                       for r in ledger.with_status("sending")}
            in_flight.append(sending)
            # The clock at the kill: the last thing written (every pass of
            # the daemon writes its alive mark).
            killed = max([k] + [r["updated"] for r in ledger.rows()] + [self.alive()])
            restart = killed + rng.choice([600, 3 * 3600, 8 * 3600])
            runs.append(self.daemon(restart, name="run"))
            outages.append((killed, restart))

        last = runs[-1]
        end = FROM + DAYS * 86400
        last.advance(end)
        last.stop()

        def unfinished():
            got = {(r["meeting"], r["start"], r["offset_s"], r["department"]): r["status"] for r in ledger.rows()}
            return [k for k in expected if got.get(k) in (None, "sending")]
        self.assertEqual(unfinished(), [], last.stderr()[-3000:])

        reqs = self.sink.requests()
        by_key = collections.defaultdict(list)
        refused = collections.defaultdict(list)  # department -> clock times of refused requests
        for r in reqs:
            k = key_of(r)
            by_key[k].append(r)
            if not ok(r):
                refused[k[3]].append(r.vtime)
        self.assertEqual(sorted(set(by_key) - set(wide)), [], "requests for reminders not predicted")

        def in_outage(start):
            return any(lo <= start <= hi for lo, hi in outages)

        all_in_flight = set().union(*in_flight)
        rows = ledger.by_key()
        counts = collections.Counter()
        problems = []
        for k, (due, _) in sorted(expected.items(), key=lambda kv: kv[1][0]):
            row = rows[k]
            delivered = [r for r in by_key.get(k, []) if ok(r)]
            status = row["status"]
            counts[status] += 1
            if status == "sent":
                if not delivered:
                    problems.append("sent in the ledger, never answered 2xx: %r" % (row,))
                if row["updated"] >= k[1]:
                    problems.append("sent after its meeting started: %r" % (row,))
                continue
            if delivered and k not in all_in_flight:
                problems.append("%s in the ledger but answered 2xx: %r" % (status, row))
            if status == "missed":
                if not in_outage(k[1]):
                    problems.append("missed, but its meeting started while tandem ran: %r" % (row,))
            elif status == "superseded":
                if not in_outage(due) and due > FROM:
                    problems.append("superseded, but it fell due while tandem ran: %r" % (row,))
            elif status == "failed":
                window_refusals = [t for t in refused[k[3]] if due <= t <= k[1]]
                if not in_outage(k[1]) and not window_refusals:
                    problems.append("failed, but no outage at its start and no refusal in its window: %r" % (row,))
            else:
                problems.append("unexpected status: %r" % (row,))
        self.assertEqual(problems, [], "\n".join(problems[:40]))

        # Anything after the window: predicted too (checked above for the
        # sink; here for the ledger).
        self.assertEqual(sorted(set(rows) - set(wide)), [], "ledger rows not predicted")

        # Delivered (answered 2xx) twice: only requests in flight at a kill,
        # at most one per webhook URL per kill.
        dups = {k: len([r for r in rs if ok(r)]) for k, rs in by_key.items()}
        dups = {k: n for k, n in dups.items() if n > 1}
        bad = {k: n for k, n in dups.items() if n > 2 or k not in all_in_flight}
        self.assertEqual(bad, {}, "delivered twice, not in flight at a kill: in flight %r" % in_flight)
        for sending in in_flight:
            per_url = collections.Counter(k[3] for k in sending)
            self.assertTrue(all(n <= 1 for n in per_url.values()), "more than one in flight per URL: %r" % sending)
        self.assertLessEqual(len(dups), KILLS * len(DEPARTMENTS))

        answers = collections.Counter(r.chaos for r in reqs)
        print("soak seed %d: %d reminders predicted; sent %d, failed %d, missed %d, superseded %d; "
              "duplicates from requests in flight at a kill: %d (in flight at the kills: %s); "
              "requests %d (%s); outages %s" % (
                  SEED, len(expected), counts["sent"], counts["failed"], counts["missed"], counts["superseded"], len(dups),
                  [len(s) for s in in_flight], len(reqs), dict(answers),
                  ["%s..%s" % (rfc3339(a), rfc3339(b)) for a, b in outages]), file=sys.stderr)
        # The chaos must have been real, and most reminders got through.
        self.assertGreater(counts["superseded"], 0, "no catch-up after a kill")
        for what in ("500", "429", "reset", "slow"):
            self.assertGreater(answers[what], 0, "no %s answer in the whole soak" % what)
        self.assertGreater(counts["sent"], 0.8 * len(expected))


if __name__ == "__main__":
    harness.main()
