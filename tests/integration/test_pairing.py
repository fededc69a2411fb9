"""Host rotation and round-robin pairings (README "Host rotation and
pairings") in the real daemon, on the step clock:

- each pair's reminders reach both departments' chats exactly once, naming
  the other department, every pair once per cycle, and the texts say whose
  turn it is to host ("hosted by ...");
- the hosts of the occurrences announced are recorded in the ledger;
- a reload that adds a department changes only the rounds still to be
  announced: the past rounds' pairs and hosts stay as they were, in the
  feed and in the ledger; the new epoch's pairs take over from the next
  round;
- a reload within a day of a round tells the pairs it no longer has.
"""

import os
import re
import sqlite3

import harness
from harness import instant, rfc3339

try:  # Debian's python3-icalendar and python3-recurring-ical-events (scripts/install-deps --test)
    import icalendar
    import recurring_ical_events
except ImportError as e:  # fail loudly: a skipped test proves nothing
    raise SystemExit("test_pairing.py: %s: run it with /usr/bin/python3 after scripts/install-deps --test" % e)

NAMES = {"sales": "Sales", "marketing": "Marketing", "support": "Support", "product": "Product",
         "finance": "Finance", "legal": "Legal"}
ZONES = {"sales": "Europe/Berlin", "marketing": "America/New_York", "support": "Europe/Berlin",
         "product": "Europe/Berlin", "finance": "Europe/London", "legal": "Europe/Berlin"}


def config(test, pairing, rotation="sales, marketing"):
    depts = ["""
        [department:%s]
        name = %s
        timezone = %s
        chat = generic
        webhook = %s
        manager = %s Lead <%s@example.com>
        """ % (d, NAMES[d], ZONES[d], test.sink.hook("/ok/" + d), NAMES[d], d) for d in NAMES]
    return harness.ini("""
        [tandem]
        timezone = Europe/Berlin
        domain = pairs.example
        state_dir = %s
        listen = off
        """ % test.state, *depts, """
        [meeting:sync]
        title = Managers' sync
        departments = sales, marketing, support
        day = tuesday
        time = 16:00
        start = 2027-01-05
        remind = 15m
        host = rotate: %s
        """ % rotation, """
        [pairing:lunches]
        title = Cross-team lunch
        departments = %s
        cadence = weekly
        day = thursday
        time = 12:30
        start = 2027-01-07
        remind = 1d, 15m
        host = rotate
        """ % pairing)


def meeting_of(uid):
    """The meeting a published VEVENT belongs to: its UID before the @, less
    the date of an event published apart (README "The feeds")."""
    return re.sub(r"\.\d{8}$", "", uid.split("@", 1)[0])


class Pairing(harness.TestCase):

    def bodies(self, dept):
        return [(r.json(), r.vtime) for r in self.sink.requests("/ok/" + dept)]

    def feed_occurrences(self, start, end):
        """(meeting, start, organizer) of every occurrence in the daemon's
        all.ics, as python3-icalendar with recurring-ical-events reads it."""
        with open(os.path.join(self.feed_dir(), "all.ics"), "rb") as f:
            cal = icalendar.Calendar.from_ical(f.read())
        out = set()
        for ev in recurring_ical_events.of(cal).between(harness.datetime.datetime.fromtimestamp(start, harness.UTC),
                                                        harness.datetime.datetime.fromtimestamp(end, harness.UTC)):
            organizer = str(ev.get("ORGANIZER", "")).replace("mailto:", "")
            out.add((meeting_of(str(ev["UID"])), int(ev["DTSTART"].dt.timestamp()), organizer))
        return out

    def hosts(self):
        con = sqlite3.connect(os.path.join(harness.simulated(self.state), "ledger.sqlite"), timeout=10)
        try:
            return {(m, s): h for m, s, h in con.execute("SELECT meeting, start, host FROM hosts")}
        finally:
            con.close()

    def epochs(self):
        con = sqlite3.connect(os.path.join(harness.simulated(self.state), "ledger.sqlite"), timeout=10)
        try:
            return [tuple(r) for r in con.execute("SELECT pairing, n, start, departments FROM epochs ORDER BY n")]
        finally:
            con.close()

    maxDiff = None

    def check_reminders(self, occurrences, until, departments):
        """Every reminder preview predicts before `until` reached each of the
        pair's two departments once, at its instant, naming the other one
        and the host; and nothing else was posted."""
        want = {d: [] for d in departments}
        for o in occurrences:
            for r in o["reminders"]:
                if instant(r["at"]) < until:
                    for d in o["departments"]:
                        want[d].append((o["meeting"], o["start"], r["before"], instant(r["at"]), o["host"]))
        for d in departments:
            got = []
            for body, vtime in self.bodies(d):
                self.assertEqual(body["type"], "reminder", body)
                got.append((body["meeting"], body["start"], body["before"], int(vtime), body["host"]))
                others = [NAMES[x] for x in body["meeting"].split(".")[1:3] if x != d] if "." in body["meeting"] \
                    else None
                if others:
                    self.assertIn("\nWith: %s\n" % others[0], body["text"] + "\n", body)
                self.assertIn(", hosted by %s\n" % NAMES[body["host"]], body["text"] + "\n", body)
            self.assertEqual(sorted(got), sorted(want[d]), d)

    def test_each_pair_in_both_chats_once_and_hosts_take_turns(self):
        depts = ["sales", "marketing", "support", "product", "finance"]
        harness.write(self.config, config(self, ", ".join(depts)))
        start, until = instant("2027-01-06T00:00:00Z"), instant("2027-02-10T00:00:00Z")
        predicted = harness.preview(self.config, start, 40)
        d = self.daemon("2027-01-06T00:00:00Z")
        d.advance(until)
        d.stop()
        self.check_reminders(predicted, until, depts + ["legal"])
        # Five departments: five rounds, two pairs a round, one sitting
        # out; every pair once in the cycle.
        lunches = [o for o in predicted if o.get("pairing") == "lunches" and o["start"] < rfc3339(until)]
        self.assertEqual(len(lunches), 10)
        pairs = [tuple(o["departments"]) for o in lunches]
        self.assertEqual(len(set(pairs)), 10)
        for o in lunches:
            self.assertIn(o["host"], o["departments"])
        # The managers' sync: sales, marketing, sales, ... in the texts.
        texts = [b["text"] for b, _ in self.bodies("support") if b["meeting"] == "sync"]
        # (the 5th was Sales': the daemon started after it)
        self.assertEqual([re.search(r"hosted by (\w+)", t).group(1) for t in texts],
                         ["Marketing", "Sales", "Marketing", "Sales", "Marketing"])
        # Who hosted what is in the ledger, as preview and the texts said.
        hosts = self.hosts()
        for o in predicted:
            if instant(o["reminders"][0]["at"]) < until:
                self.assertEqual(hosts.get((o["meeting"], instant(o["start"]))), o["host"], o)

    def test_reload_adding_a_department_changes_only_future_rounds(self):
        four = "sales, marketing, support, product"
        harness.write(self.config, config(self, four))
        d = self.daemon("2027-01-06T00:00:00Z")
        # Rounds of the 7th and 14th held; the 21st's first reminder (1d,
        # the 20th 11:30 UTC) still to come.
        reload_at = instant("2027-01-19T00:00:00Z")
        d.advance(reload_at)
        # The past: what people were told of. (The sync of the 19th, whose
        # reminder is still to come, takes its host from the new order.)
        past_end = reload_at
        before = self.feed_occurrences(instant("2027-01-01T00:00:00Z"), past_end)
        hosts_before = self.hosts()
        self.assertEqual(self.epochs(), [("lunches", 1, instant("2027-01-07T11:30:00Z"), "sales,marketing,support,product")])
        sent_before = {d2: len(self.bodies(d2)) for d2 in NAMES}

        harness.write(self.config, config(self, four + ", finance", rotation="sales, marketing, support"))
        d.reload()
        self.assertEqual(self.epochs()[1],
                         ("lunches", 2, instant("2027-01-21T11:30:00Z"), "sales,marketing,support,product,finance"))
        # The past as it was: the same pairs, at the same times, with the
        # same hosts, in the feed and in the ledger.
        self.assertEqual(self.feed_occurrences(instant("2027-01-01T00:00:00Z"), past_end), before)
        self.assertTrue(any(m.startswith("lunches.") for m, _, _ in before))
        hosts_after = self.hosts()
        for k, v in hosts_before.items():
            self.assertEqual(hosts_after[k], v)
        # Nothing was announced for them (the 21st's first reminder was
        # more than a day away), nothing sent again.
        self.assertEqual({d2: len(self.bodies(d2)) for d2 in NAMES}, sent_before)

        # From the 21st: five departments, new events (".2"), every pair of
        # them once in five rounds, finance's chat included.
        end = instant("2027-02-19T00:00:00Z")
        d.advance(end)
        d.stop()
        future = [o for o in self.feed_occurrences(instant("2027-01-21T00:00:00Z"), end) if o[0].startswith("lunches")]
        self.assertEqual(len(future), 10)
        self.assertTrue(all(m.endswith(".2") for m, _, _ in future), future)
        self.assertEqual(len({m for m, _, _ in future}), 10)
        finance = [b for b, _ in self.bodies("finance") if b["meeting"].startswith("lunches")]
        self.assertEqual(len(finance), 2 * 4)  # four lunches, two reminders each
        self.assertFalse([b for d2 in NAMES for b, _ in self.bodies(d2) if b["type"] != "reminder"])
        # The sync: the recorded turns stand, then support takes its turn.
        texts = [re.search(r"hosted by (\w+)", b["text"]).group(1)
                 for b, _ in self.bodies("sales") if b["meeting"] == "sync"]
        self.assertEqual(texts, ["Marketing", "Support", "Sales", "Marketing", "Support", "Sales"])
        # Each lunch reminded once per department and offset.
        for d2 in NAMES:
            keys = [(b["meeting"], b["start"], b["before"]) for b, _ in self.bodies(d2)]
            self.assertEqual(len(keys), len(set(keys)), d2)

    def test_check_and_preview_show_the_cycle_and_the_hosts(self):
        six = "sales, marketing, support, product, finance, legal"
        harness.write(self.config, config(self, six).replace("cadence = weekly", "cadence = every 2 weeks"))
        check = harness.run_tandem("-c", self.config, "check")
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertIn("6 departments, 1 meeting, 1 pairing (15 pairs)", check.stdout)
        self.assertRegex(check.stdout, r"lunches +Cross-team lunch\n +6 departments, 5 rounds, every pair once per 10 "
                                       r"weeks; biweekly on Thu at 12:30 Europe/Berlin\n")
        self.assertRegex(check.stdout, r"hosts take turns: sales, marketing; next: (sales|marketing)\n")
        table = harness.run_tandem("-c", self.config, "preview", "--from", "2027-01-07", "--days", "1").stdout
        # round 1: the first department faces the last, the second the
        # fifth, the third the fourth; each pair's first host is its first
        self.assertEqual(re.findall(r"\[(lunches\.[a-z.]+)\]", table),
                         ["lunches.sales.legal", "lunches.marketing.finance", "lunches.support.product"])
        self.assertEqual(table.count("pairing lunches, round 1 of 5"), 3)
        self.assertIn("host: Sales (Sales Lead)", table)

    def test_reload_within_a_day_of_a_round_tells_the_pairs_it_drops(self):
        four = "sales, marketing, support, product"
        harness.write(self.config, config(self, four))
        d = self.daemon("2027-01-06T00:00:00Z")
        d.advance("2027-01-20T00:00:00Z")  # the 21st's first reminder in 11.5 hours
        harness.write(self.config, config(self, four + ", finance"))
        d.reload()
        d.advance("2027-01-21T12:00:00Z")
        d.stop()
        # Round three of four (the 21st) was sales + support, marketing +
        # product; round one of five is marketing + finance, support +
        # product (sales sits out). The pairs dropped are told so at once.
        notices = sorted((b["department"], b["meeting"]) for d2 in NAMES for b, _ in self.bodies(d2)
                         if b["type"] == "cancelled")
        self.assertEqual(notices, [("marketing", "lunches.marketing.product.2"),
                                   ("product", "lunches.marketing.product.2"),
                                   ("sales", "lunches.sales.support.2"), ("support", "lunches.sales.support.2")])
        text = [b["text"] for b, _ in self.bodies("sales") if b["type"] == "cancelled"][0]
        self.assertEqual(text, "No Cross-team lunch: Sales + Support on Thu 21 Jan.\nNext: Thu 4 Feb 12:30 CET")
        lunch = sorted((b["department"], b["meeting"], b["before"]) for d2 in NAMES for b, _ in self.bodies(d2)
                       if b["type"] == "reminder" and b["start"] == "2027-01-21T11:30:00Z")
        self.assertEqual(lunch, sorted((x, m, r) for m in ("lunches.marketing.finance.2", "lunches.support.product.2")
                                       for x in m.split(".")[1:3] for r in ("1d", "15m")))


if __name__ == "__main__":
    harness.main()
