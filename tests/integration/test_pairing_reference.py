"""An independent reference for round-robin pairings, written from issue
11's text (README "Host rotation and pairings"), not from tandem's code:

  "Each round (one occurrence of the cadence) splits the departments into
  pairs by the circle method (for N departments, N-1 rounds when N is even;
  N rounds with one department sitting out in turn when N is odd), so every
  pair meets exactly once per cycle and no department meets twice in a
  round. ... respects holidays and skips of either department (a pair whose
  date is a holiday for one side is skipped or moved per on_holiday, and
  the rotation does not drift)."

For N = 2..9 departments, over four cycles of a weekly pairing, with each
department's own holidays, a company holiday and a skipped round in the
mix, `tandem preview --json` must show: rounds a week apart from the
start; in every round each department at most once and N // 2 pairs; in
every cycle every pair of the N exactly once (a cancelled pair still had
its round: the rotation does not drift); each department sitting out
exactly once per cycle when N is odd, never when even; and a pair
cancelled (on_holiday = skip) or moved (on_holiday = after) exactly when
its date is a holiday of one of its two departments, the skipped round's
pairs all cancelled, the others held at the round's time.
"""

import datetime as dt
import itertools
import os

import harness

IDS = ["d%d" % i for i in range(1, 10)]
START = dt.date(2027, 1, 7)  # a Thursday
TIME = dt.time(12, 0)        # UTC: the zone plays no part here
CYCLES = 4
SKIPPED = START + dt.timedelta(weeks=5)
COMPANY = START + dt.timedelta(weeks=9)


def cycle_length(n):
    return n - 1 if n % 2 == 0 else n


def own_holidays(i):
    """Department i's holidays: a few round dates, different per
    department, and the Friday after the first of them (so that on_holiday
    = after finds no working day that week: cancelled)."""
    days = {START + dt.timedelta(weeks=w) for w in (i + 1, 2 * i + 3, 3 * i + 4)}
    days.add(START + dt.timedelta(weeks=i + 1, days=1))
    return days


def ics(name, days):
    events = "".join("BEGIN:VEVENT\r\nUID:%s-%s@ref\r\nDTSTAMP:20270101T000000Z\r\nDTSTART;VALUE=DATE:%s\r\n"
                     "SUMMARY:%s holiday\r\nEND:VEVENT\r\n" % (name, d.isoformat(), d.strftime("%Y%m%d"), name)
                     for d in sorted(days))
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//ref//EN\r\n%sEND:VCALENDAR\r\n" % events


class Reference(harness.TestCase):

    def write_config(self, n, on_holiday):
        ids = IDS[:n]
        for i, d in enumerate(ids):
            with open(os.path.join(self.dir, d + ".ics"), "w", newline="") as f:
                f.write(ics(d, own_holidays(i)))
        with open(os.path.join(self.dir, "company.ics"), "w", newline="") as f:
            f.write(ics("company", {COMPANY}))
        sections = ["[tandem]\ntimezone = UTC\nlisten = off\nholidays = company.ics\nstate_dir = %s\n" % self.state]
        sections += ["[department:%s]\nholidays = %s.ics\n" % (d, d) for d in ids]
        sections.append("[pairing:ref]\ntitle = Ref\ndepartments = %s\nday = thursday\ntime = 12:00\nstart = %s\n"
                        "skip = %s\non_holiday = %s\nremind = none\n"
                        % (", ".join(ids), START.isoformat(), SKIPPED.isoformat(), on_holiday))
        harness.write(self.config, "\n".join(sections))
        return ids

    def check(self, n, on_holiday):
        ids = self.write_config(n, on_holiday)
        cycle = cycle_length(n)
        rounds = CYCLES * cycle
        days = rounds * 7 + 7
        occ = harness.preview(self.config, START.isoformat(), days)
        holidays = {d: own_holidays(i) | {COMPANY} for i, d in enumerate(ids)}
        by_round = {}
        for o in occ:
            self.assertEqual(o.get("pairing"), "ref", o)
            self.assertEqual(len(o["departments"]), 2, o)
            planned = dt.datetime.fromisoformat((o.get("original_start") or o["start"]).replace("Z", "+00:00"))
            self.assertEqual(planned.time(), TIME, o)
            weeks, rest = divmod((planned.date() - START).days, 7)
            self.assertEqual(rest, 0, "a round on a Thursday, a week apart: %s" % o)
            by_round.setdefault(weeks, []).append(o)
            a, b = o["departments"]
            date = planned.date()
            off = date in holidays[a] or date in holidays[b]
            status = o["status"]
            if date == SKIPPED:
                self.assertEqual(status, "cancelled", o)
            elif off and on_holiday == "skip":
                self.assertEqual(status, "cancelled", o)
            elif off:
                self.assertIn(status, ("moved", "cancelled"), o)
                if status == "moved":
                    new = dt.datetime.fromisoformat(o["start"].replace("Z", "+00:00")).date()
                    self.assertTrue(date < new <= date + dt.timedelta(days=6 - date.weekday()), o)
                    self.assertLess(new.weekday(), 5, o)  # working days: mon-fri
                    self.assertNotIn(new, holidays[a] | holidays[b], o)
            else:
                self.assertEqual(status, "held", o)
                self.assertEqual(o["start"], o.get("original_start") or o["start"])
        self.assertEqual(sorted(by_round), list(range(rounds + 1)), "a round every week")
        for r in range(rounds):
            pairs = [frozenset(o["departments"]) for o in by_round[r]]
            self.assertEqual(len(pairs), n // 2, "round %d: %s" % (r, pairs))
            seen = [d for p in pairs for d in p]
            self.assertEqual(len(seen), len(set(seen)), "round %d: a department twice: %s" % (r, pairs))
        for c in range(CYCLES):
            met, out = {}, {d: 0 for d in ids}
            for r in range(c * cycle, (c + 1) * cycle):
                busy = set()
                for o in by_round[r]:
                    met[frozenset(o["departments"])] = met.get(frozenset(o["departments"]), 0) + 1
                    busy |= set(o["departments"])
                for d in set(ids) - busy:
                    out[d] += 1
            every = {frozenset(p) for p in itertools.combinations(ids, 2)}
            self.assertEqual(set(met), every, "cycle %d: pairs" % c)
            self.assertEqual(set(met.values()), {1}, "cycle %d: a pair twice" % c)
            self.assertEqual(set(out.values()), {1 if n % 2 else 0}, "cycle %d: sitting out %s" % (c, out))
        # The holidays did play: pairs cancelled (and, with after, moved)
        # besides the skipped round.
        statuses = {o["status"] for o in occ if planned_date(o) != SKIPPED}
        self.assertIn("cancelled", statuses)
        if on_holiday == "after":
            self.assertIn("moved", statuses)

    def test_two_to_nine_departments(self):
        for n in range(2, 10):
            for on_holiday in ("skip", "after"):
                with self.subTest(n=n, on_holiday=on_holiday):
                    self.check(n, on_holiday)


def planned_date(o):
    return dt.date.fromisoformat((o.get("original_start") or o["start"])[:10])


if __name__ == "__main__":
    harness.main()
