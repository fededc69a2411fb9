"""Holidays, moves and cancellations (README "Holidays and changes"): the
occurrence plan in the feed and, as notices, in chat, exactly once per
department and in its own local time.

- a skipped occurrence: instead of its reminders, one notice when its first
  reminder would have gone;
- a holiday (from a file, or from a URL refreshed daily with ETag) skips
  or moves the meeting per on_holiday, each department in its own zone;
- a reload that moves a meeting whose 1-day reminder went out posts one
  "moved" notice at once and no second reminder; the reminders still to
  come follow the new time;
- kill -9 around a notice sends it at most once more (in flight only).
"""

import os
import signal

import harness
from harness import instant

CET = "Europe/Berlin"
DEC24 = instant("2026-12-24T15:00:00Z")  # Thursday 16:00 CET
DEC31 = instant("2026-12-31T15:00:00Z")

HOLIDAYS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//tandem tests//holidays//EN
X-WR-CALNAME:%s
%sEND:VCALENDAR
"""


def holiday_event(uid, date, name, yearly=False):
    return ("BEGIN:VEVENT\nUID:%s\nDTSTAMP:20260101T000000Z\nDTSTART;VALUE=DATE:%s\nSUMMARY:%s\n%sEND:VEVENT\n"
            % (uid, date, name, "RRULE:FREQ=YEARLY\n" if yearly else ""))


def calendar(name, *events):
    return (HOLIDAYS % (name, "".join(events))).replace("\n", "\r\n").encode()


def config(test, meeting_extra="", tandem_extra="", sales_extra="", time="16:00", sales_hook="/ok/sales"):
    return harness.ini("""
        [tandem]
        timezone = Europe/Berlin
        domain = plan.example
        state_dir = %s
        listen = off
        %s
        """ % (test.state, tandem_extra), """
        [department:sales]
        name = Sales
        timezone = Europe/Berlin
        chat = generic
        webhook = %s
        %s
        """ % (test.sink.hook(sales_hook), sales_extra), """
        [department:marketing]
        name = Marketing
        timezone = America/New_York
        chat = generic
        webhook = %s
        """ % test.sink.hook("/ok/marketing"), """
        [meeting:sync]
        title = Sales + Marketing weekly sync
        departments = sales, marketing
        day = thursday
        time = %s
        timezone = Europe/Berlin
        start = 2026-12-03
        remind = 1d, 15m
        %s
        """ % (time, meeting_extra))


class Plan(harness.TestCase):

    def bodies(self, path=None):
        return [(r.json(), r.vtime) for r in self.sink.requests(path)]

    def feed(self):
        with open(os.path.join(self.feed_dir(), "all.ics"), encoding="utf-8") as f:
            return f.read().replace("\r\n ", "")

    def test_skip_posts_a_notice_instead_of_reminders(self):
        harness.write(self.config, config(self, meeting_extra="skip = 2026-12-24 (Christmas Eve)"))
        d = self.daemon("2026-12-22T00:00:00Z")
        d.advance("2026-12-25T00:00:00Z")
        got = self.bodies()
        # Only the notices: the 24th has no reminders, the 31st none yet.
        self.assertEqual(len(got), 2, got)
        for body, vtime in got:
            self.assertEqual(body["type"], "cancelled")
            self.assertEqual(vtime, DEC24 - 86400, "at the first reminder's time")
            self.assertEqual((body["meeting"], body["original_start"], body["reason"], body["next"]),
                             ("sync", "2026-12-24T15:00:00Z", "Christmas Eve", "2026-12-31T15:00:00Z"))
        text = {b["department"]: b["text"] for b, _ in got}
        self.assertEqual(text["sales"], "No Sales + Marketing weekly sync on Thu 24 Dec (Christmas Eve).\n"
                                         "Next: Thu 31 Dec 16:00 CET")
        self.assertEqual(text["marketing"], "No Sales + Marketing weekly sync on Thu 24 Dec (Christmas Eve).\n"
                                             "Next: Thu 31 Dec 10:00 EST")
        d.advance("2026-12-31T16:00:00Z")
        d.stop()
        # The 31st as usual; the notice once.
        kinds = sorted((b["type"], b.get("before", "")) for b, _ in self.bodies())
        self.assertEqual(kinds, [("cancelled", "")] * 2 + [("reminder", "15m")] * 2 + [("reminder", "1d")] * 2)
        notices = harness.Ledger(self.state).notices()
        self.assertEqual(sorted((n["kind"], n["start"], n["offset_s"], n["status"]) for n in notices),
                         [("cancelled", DEC24, 0, "sent")] * 2)
        self.assertIn("EXDATE;TZID=Europe/Berlin:20261224T160000", self.feed())

    def test_holiday_file_moves_the_meeting_for_every_department(self):
        """Christmas Eve is a holiday in Sales' calendar only: on_holiday =
        after moves the Thursday to Friday 25th, which is a working day for
        both (Marketing has no holidays, Sales' calendar has no 25th)."""
        path = os.path.join(self.dir, "de.ics")
        with open(path, "wb") as f:
            f.write(calendar("Feiertage", holiday_event("xmas-eve@de", "20201224", "Heiligabend", yearly=True)))
        harness.write(self.config, config(self, meeting_extra="on_holiday = after", sales_extra="holidays = de.ics"))
        check = harness.run_tandem("-c", self.config, "check")
        self.assertEqual(check.returncode, 0, check.stderr)
        d = self.daemon("2026-12-22T00:00:00Z")
        d.advance("2026-12-26T00:00:00Z")
        d.stop()
        got = self.bodies()
        moved = [(b, t) for b, t in got if b["type"] == "moved"]
        self.assertEqual(len(moved), 2, got)
        for body, vtime in moved:
            self.assertEqual(vtime, DEC24 - 86400)
            self.assertEqual((body["original_start"], body["start"], body["reason"]),
                             ("2026-12-24T15:00:00Z", "2026-12-25T15:00:00Z", "Heiligabend"))
        self.assertEqual({b["department"]: b["text"] for b, _ in moved}["marketing"],
                         "Moved: Sales + Marketing weekly sync from Thu 24 Dec 10:00 to Fri 25 Dec 10:00 EST "
                         "(Heiligabend).")
        # The reminders follow the new time.
        reminders = sorted((b["before"], b["start"], t) for b, t in got if b["type"] == "reminder")
        new = DEC24 + 86400
        self.assertEqual(reminders, [("15m", "2026-12-25T15:00:00Z", new - 900)] * 2 +
                                    [("1d", "2026-12-25T15:00:00Z", new - 86400)] * 2)
        feed = self.feed()
        self.assertIn("RECURRENCE-ID;TZID=Europe/Berlin:20261224T160000", feed)
        self.assertIn("DTSTART;TZID=Europe/Berlin:20261225T160000", feed)
        self.assertIn("DESCRIPTION:Moved: Heiligabend", feed)

    def test_holiday_url_fetched_cached_and_refreshed(self):
        """A holiday calendar at a URL: fetched at the first start, kept
        when a refresh fails, revalidated with ETag, and a change the daily
        round picks up reaches the feed."""
        url_path = "/file/company.ics"
        self.sink.serve(url_path, calendar("Company", holiday_event("day@co", "20261231", "Company day")))
        harness.write(self.config, config(self, tandem_extra="holidays = %s" % self.sink.hook(url_path)))
        d = self.daemon("2026-12-26T00:00:00Z")
        self.assertIn("EXDATE;TZID=Europe/Berlin:20261231T160000", self.feed())
        self.sink.fail(url_path)
        d.advance("2026-12-27T01:00:00Z")   # the daily round: 500, the copy kept
        self.assertRegex(d.stderr(), r"holidays at 127\.0\.0\.1:\d+: refresh failed: HTTP status 500, keeping the cached copy")
        self.assertIn("EXDATE;TZID=Europe/Berlin:20261231T160000", self.feed())
        self.sink.fail(url_path, False)
        d.advance("2026-12-28T01:00:00Z")   # 304
        self.sink.serve(url_path, calendar("Company"))
        d.advance("2026-12-29T01:00:00Z")   # 200: the day is no holiday any more
        self.assertNotIn("EXDATE", self.feed())
        d.advance("2026-12-31T16:00:00Z")
        d.stop()
        gets = self.sink.requests(url_path)
        # One a day, at the daily round; the later ones unchanged.
        statuses = [r.status for r in gets]
        self.assertEqual(statuses[:4], [200, 500, 304, 200])
        self.assertEqual(set(statuses[4:]), {304})
        self.assertIsNone(gets[0].header("If-None-Match"))
        self.assertIsNotNone(gets[2].header("If-None-Match"))
        # Nobody was told of the cancellation (its notice was not due yet):
        # no notice now either; the reminders of the 31st as usual.
        kinds = sorted((b["type"], b.get("before", "")) for b, _ in self.bodies("/ok/sales"))
        self.assertEqual(kinds, [("reminder", "15m"), ("reminder", "1d")])

    def test_reload_moving_the_meeting_after_its_1d_reminder(self):
        harness.write(self.config, config(self))
        d = self.daemon("2026-12-02T00:00:00Z")
        d.advance("2026-12-02T15:30:00Z")  # the 1d reminder of Thursday the 3rd went out
        self.assertEqual(len(self.sink.requests()), 2)
        harness.write(self.config, config(self, time="16:30"))
        d.reload()
        d.advance("2026-12-02T15:30:00Z")  # at once
        moved = [(b, t) for b, t in self.bodies() if b["type"] == "moved"]
        self.assertEqual(len(moved), 2, self.bodies())
        for body, vtime in moved:
            self.assertEqual(vtime, instant("2026-12-02T15:30:00Z"))
            self.assertEqual((body["original_start"], body["start"]), ("2026-12-03T15:00:00Z", "2026-12-03T15:30:00Z"))
        self.assertEqual({b["department"]: b["text"] for b, _ in moved}["sales"],
                         "Moved: Sales + Marketing weekly sync from Thu 3 Dec 16:00 to Thu 3 Dec 16:30 CET.")
        d.advance("2026-12-03T16:00:00Z")
        d.stop()
        # No second 1d reminder; the 15m one at the new time.
        for dept in ("sales", "marketing"):
            got = [(b["type"], b.get("before"), t) for b, t in self.bodies("/ok/" + dept)]
            self.assertEqual(got, [("reminder", "1d", instant("2026-12-02T15:00:00Z")),
                                   ("moved", None, instant("2026-12-02T15:30:00Z")),
                                   ("reminder", "15m", instant("2026-12-03T15:15:00Z"))])

    def test_reload_skipping_an_occurrence_due_within_a_day(self):
        """A skip made by a reload, of an occurrence whose first reminder is
        due within 24 hours: announced at once, and only once."""
        harness.write(self.config, config(self))
        d = self.daemon("2026-12-09T00:00:00Z")
        d.advance("2026-12-09T10:00:00Z")
        harness.write(self.config, config(self, meeting_extra="skip = 2026-12-10 (offsite)"))
        d.reload()
        d.advance("2026-12-10T16:00:00Z")
        d.stop()
        got = self.bodies()
        self.assertEqual(sorted((b["type"], b["department"], t) for b, t in got),
                         [("cancelled", "marketing", instant("2026-12-09T10:00:00Z")),
                          ("cancelled", "sales", instant("2026-12-09T10:00:00Z"))])

    def test_kill_around_a_notice(self):
        """The notice to Sales is in flight when tandem is killed: sent once
        more after the restart, and never a third time."""
        hold = "/hold/1/sales"
        harness.write(self.config, config(self, meeting_extra="skip = 2026-12-24", sales_hook=hold))
        d = self.daemon("2026-12-23T14:59:00Z")
        d.advance("2026-12-23T15:30:00Z", wait=False)
        self.assertTrue(self.sink.wait_count(1, 30, hold), d.stderr())
        # Marketing's notice left at the same instant; on a busy machine it
        # may reach the sink after Sales' does. Killed before it arrives, it
        # would be "sending" but never received, and sent once after the
        # restart: right, but not the repeat counted below.
        self.assertTrue(self.sink.wait_count(1, 30, "/ok/marketing"), d.stderr())
        d.signal(signal.SIGKILL)
        self.assertEqual(d.wait_exit(10), -signal.SIGKILL)
        sending = harness.Ledger(self.state).rows("cancelled")
        self.sink.release(hold)
        again = self.daemon("2026-12-23T15:10:00Z", name="again")
        again.advance("2026-12-24T16:00:00Z")
        again.stop()
        self.assertEqual([b["type"] for b, _ in self.bodies(hold)], ["cancelled", "cancelled"])
        repeats = 1 if any(r["department"] == "marketing" and r["status"] == "sending" for r in sending) else 0
        self.assertEqual(len(self.bodies("/ok/marketing")), 1 + repeats)
        self.assertTrue(all(n["status"] == "sent" for n in harness.Ledger(self.state).notices()))


if __name__ == "__main__":
    harness.main()
