#!/usr/bin/python3
"""tandem's interop test: the feeds of a matrix of configs, expanded over
three years by five independent calendar engines, must give exactly the
occurrences of `tandem preview --json` (README.md here says more).

    /usr/bin/python3 tests/interop/run_interop.py --tandem build/tandem [CONFIG.ini ...]

(no CONFIG: every tests/interop/configs/*.ini and config/example.ini).

For each config: `tandem check` must pass; then for the all-meetings feed and
every department's feed:

  feed   the exported bytes are RFC 5545 as the README's "The feeds" says:
         CRLF line ends, lines of at most 75 octets, one VEVENT with exactly
         one RRULE per meeting (and per pair of a pairing whose cadence
         repeats by a fixed step) plus its occurrences at DST edges (and a
         moved first one, and a pair's rounds where no rule can say them)
         as VEVENTs in UTC ("<id>.<YYYYMMDD>@", dotted pair ids included),
         its moved occurrences as overrides (the same UID, a RECURRENCE-ID
         in DTSTART's zone, "Moved: <reason>" in DESCRIPTION) and its
         changes of host as overrides at their own start with another
         ORGANIZER, no EXDATE or override at DTSTART (a cancelled or moved
         first occurrence is left out of the rule), plain IANA TZIDs each
         with its VTIMEZONE, and the same bytes on a second export (and
         with -o);
  plain  (configs with a golden/ feed) meetings at no DST edge, not moved
         and not changed by a holiday, are written byte for byte as before;
  spec   `tandem preview --json` lists exactly the occurrences that the
         README's "Which dates" and "Which times" give for the INI, and
         what issue 10's skip, move and holidays (on_holiday, working_days)
         make of them (spec_plan.py; holiday files read with
         python3-icalendar + recurring-ical-events), and issue 11's
         pairings (each pair a meeting: circle_rounds()) and hosts
         (rotating per held occurrence up to now + feed_horizon, the
         event's beyond): held and moved ones by where they take place,
         cancelled ones at the start they would have had, each with its
         status, original_start, reason, notices, host, pairing and round;
         computed here independently (dateutil for rrule: cadences,
         zoneinfo for the zones: PEP 495 fold=0 is RFC 5545 section 3.3.5's
         reading of a missing local time, moved forward by the gap, and of a
         doubled one, the first);
  rfc    the held and moved occurrences are what RFC 5545 makes of the feed
         itself (DTSTART, RRULE, EXDATE, the exact duration DTEND - DTSTART,
         overrides replacing the instance their RECURRENCE-ID names, and the
         events published apart), expanded here, and each one's ORGANIZER
         is the manager of preview's host;
  python, icaljs, vobject, sabre, rrule
         the engines (expand_*) list those occurrences too, except for their
         KNOWN_DEVIATIONS from RFC 5545 below, which are modelled: an engine
         that stops deviating, or deviates anywhere else, fails the test;
         python and icaljs also read each occurrence's ORGANIZER as the
         host's manager.

Occurrences are compared as sets of (meeting id, start, end), UTC, over
[2026-01-01T00:00:00Z, +1096 days), by the start instant (as preview does).
Exits 1 with a diff on any mismatch, or when a tool is missing.
"""
import argparse
import configparser
import datetime as dt
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import spec_plan

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEBIAN_PYTHON = "/usr/bin/python3"

INSTALL_HINT = ("install the interop test's tools: scripts/install-deps --test "
                "(apt-get install python3-icalendar python3-recurring-ical-events python3-vobject "
                "php-cli php-sabre-vobject nodejs npm; "
                "npm ci --prefix tests/interop)")

try:
    from zoneinfo import ZoneInfo, available_timezones
    from dateutil.rrule import rrulestr
except ImportError as e:
    sys.exit("run_interop.py: {} — run this with Debian's /usr/bin/python3 and {}".format(e, INSTALL_HINT))

UTC = dt.timezone.utc
WINDOW_FROM = dt.datetime(2026, 1, 1, tzinfo=UTC)
WINDOW_DAYS = 1096  # 2026, 2027 and 2028 (a leap year): three whole years
WINDOW_TO = WINDOW_FROM + dt.timedelta(days=WINDOW_DAYS)
MAX_DIFF_LINES = 30

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


def iso(t):
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Failure(Exception):
    pass


# --------------------------------------------------------------------------
# Zones: RFC 5545 section 3.3.5 and the implementations' readings of a wall
# time. zoneinfo follows PEP 495: in a gap, fold=0 reads the wall time with
# the offset before the change (so 02:30 in a 02:00->03:00 gap is 03:30 after
# it: "moved forward by the gap"), fold=1 with the offset after (01:30); in
# an overlap fold=0 is the first of the two instants, fold=1 the second.

def zone(name):
    return UTC if name in ("UTC", None) else ZoneInfo(name)


def instant(wall, tz, fold=0):
    return wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)


def wall_kind(wall, tz):
    """'gap', 'overlap' or None for a naive wall time in zone tz."""
    a, b = instant(wall, tz, 0), instant(wall, tz, 1)
    if a == b:
        return None
    return "overlap" if a.astimezone(tz).replace(tzinfo=None) == wall else "gap"


# --------------------------------------------------------------------------
# Known deviations of the independent engines from RFC 5545 that tandem's
# feed cannot encode around (README.md "The feeds"). Each is modelled and
# applied to the RFC reading of the feed; the test then wants the engine's
# output to be exactly that, so a deviation that disappears or grows fails
# the test. Keep this list small and explained, each with its source.
#
# What the encoding does remove (measure_encodings.py shows each): local
# times in a gap read back or forward and in a fold as the second instant
# (pytz's is_dst=False in python3-icalendar, ical.js's Timezone.utcOffset,
# vobject/dateutil, PHP), ends added in wall-clock time (ical.js, vobject
# in Radicale, sabre), offsets looked up at the wall time read as UTC
# (rrule.js dateInTimeZone), EXDATEs at a doubled time (sabre). None of
# these may show in any feed of the matrix: every config's feed_horizon
# covers the window.

def reading_rfc(wall, tz):
    return instant(wall, tz, 0)


def reading_php(wall, tz):
    # PHP's DateTime (timelib) reads a doubled local time as the second
    # instant in zones east of Greenwich and as the first west of it.
    east = instant(wall, tz, 1).astimezone(tz).utcoffset() >= dt.timedelta(0)
    return instant(wall, tz, 1 if east and wall_kind(wall, tz) == "overlap" else 0)


KNOWN_DEVIATIONS = {
    "python": [],
    "icaljs": [
        ("icaljs-byweekno",
         "FREQ=YEARLY;BYWEEKNO=...;BYDAY=... lists every BYDAY day of the year except those in the first "
         "week listed: RecurIterator.expand_year_days() keeps a day if "
         "`this.by_data.BYWEEKNO.indexOf(weekno)` is truthy, which is -1 (absent) or a later index "
         "(lib/ical/recur_iterator.js); DTSTART too. tandem check warns about BYWEEKNO"),
        ("icaljs-bysetpos",
         "BYSETPOS is applied per month rather than per year with FREQ=YEARLY;BYMONTH=... "
         "(ical.js RecurIterator); listed occurrence by occurrence in BYSETPOS_PER_MONTH below"),
    ],
    "vobject": [],
    "sabre": [
        ("sabre-bysetpos",
         "BYSETPOS is applied per month rather than per year with FREQ=YEARLY;BYMONTH=... "
         "(RecurrenceIterator::nextYearly() takes getMonthlyOccurrences(), which applies it); listed "
         "in BYSETPOS_PER_MONTH below"),
        ("sabre-byweekno",
         "BYWEEKNO is read but never applied: a FREQ=YEARLY rule with it is DTSTART's date every year "
         "(RecurrenceIterator::nextYearly() without BYMONTH adds a year). tandem check warns about "
         "BYWEEKNO"),
        ("sabre-gap-drift",
         "once its iterator has stepped onto a day where the meeting's local time does not exist "
         "(a spring-forward gap), every later occurrence keeps the time moved forward by the gap: "
         "RecurrenceIterator::next*() step the previous occurrence with DateTime::modify() "
         "(sabre-io/vobject issue #648, fixed only in 2026); tandem cannot encode around it "
         "short of splitting the series. Modelled from the first such day (sabre_drift below): "
         "exact before it, and shifted after it"),
    ],
    "rrule": [],
}
KNOWN_DEVIATIONS["sabre"].append(
    ("sabre-bysetpos-hang",
     "a rule with BYSETPOS=-2 or below never yields an occurrence, and sabre/vobject 2.1.7 loops "
     "forever looking for one: RecurrenceIterator::getMonthlyOccurrences() indexes "
     "count($result)-($setPos+1), past the end (right for -1 only); expand_sabre.php leaves such "
     "events out"))
KNOWN_DEVIATIONS["sabre"].append(
    ("sabre-fold-override",
     "an override whose RECURRENCE-ID is a doubled local time east of Greenwich (a moved occurrence "
     "on a fall-back day) does not replace the occurrence, for the reason of sabre-fold-exdate "
     "(RecurrenceIterator::next() compares the overriddenDates with ==): the occurrence stays, "
     "ending after the duration in wall-clock time, beside the override"))
KNOWN_DEVIATIONS["sabre"].append(
    ("sabre-fold-exdate",
     "an EXDATE at a doubled local time (fall-back day) in a zone east of Greenwich does not remove "
     "the occurrence: PHP's DateTime reads the EXDATE as the second instant there, while the "
     "iterator, stepping from the day before, is at the first (RecurrenceIterator::next() compares "
     "them with ==); the occurrence stays, ending after the duration in wall-clock time. An EXDATE "
     "also in UTC would fix it for sabre but make ical.js miss the next EXDATE "
     "(RecurExpansion.next() advances past a non-matching EXDATE without comparing the next one)"))
ENGINES = list(KNOWN_DEVIATIONS)


def _dates(first, last, weekdays):
    d = dt.date.fromisoformat(first)
    while d <= dt.date.fromisoformat(last):
        if d.weekday() in weekdays:
            yield d
        d += dt.timedelta(days=1)


# (config, meeting) -> (extra local dates ical.js and sabre list, local dates
# they omit) for rules with BYSETPOS that ical.js 2.2 and sabre/vobject 2.1
# (nextYearly() through getMonthlyOccurrences()) expand differently from RFC 5545
# section 3.3.10 ("BYSETPOS ... within the set of recurrence instances
# specified by the rule, within the interval of the FREQ").
BYSETPOS_PER_MONTH = {
    # (FREQ=WEEKLY with BYSETPOS: ical.js ignores BYSETPOS there, and so
    # does libical 3.0, so tandem refuses such a rule; see test_config.)
    # FREQ=YEARLY;BYMONTH=1,7;BYDAY=MO;BYSETPOS=2 (the 2nd Monday of January,
    # the 2nd of all Mondays in January and July): ical.js also lists the
    # 2nd Monday of July.
    ("rrule-setpos", "yearly-setpos"): (
        [dt.date(2026, 7, 13), dt.date(2027, 7, 12), dt.date(2028, 7, 10)], []),
}


# --------------------------------------------------------------------------
# The config, as the README's config reference describes it (enough of it to compute the
# occurrences independently of tandem).

def parse_weekday(s, where):
    s = s.strip().lower()
    for i, name in enumerate(WEEKDAYS):
        if s == name or (len(s) >= 3 and name.startswith(s)):
            return i
    raise Failure("{}: not a weekday: {!r}".format(where, s))


def parse_duration(s, where):
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?", s.strip())
    if not m or not s.strip():
        raise Failure("{}: not a duration: {!r}".format(where, s))
    return dt.timedelta(hours=int(m.group(1) or 0), minutes=int(m.group(2) or 0))


def parse_offset(s, where):
    m = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?", s.strip())
    if not m or not s.strip():
        raise Failure("{}: not a reminder offset: {!r}".format(where, s))
    return dt.timedelta(days=int(m.group(1) or 0), hours=int(m.group(2) or 0), minutes=int(m.group(3) or 0))


def parse_working_days(s, where):
    """"mon-fri", "sun-thu", "mon, wed, fri", "fri-mon" (over the weekend):
    a set of weekdays, 0 = Monday."""
    days = set()
    for item in s.split(","):
        a, _, b = item.partition("-")
        a = parse_weekday(a, where)
        b = parse_weekday(b, where) if b else a
        while True:
            days.add(a)
            if a == b:
                break
            a = (a + 1) % 7
    return days


class Change:
    """A skip or a move by hand (issue 10): `date` (the occurrence, in the
    meeting's zone), for a move `to` (a date) and `time` (or None: the
    meeting's), and the reason (or None)."""

    def __init__(self, date, move, to=None, time=None, reason=None):
        self.date, self.move, self.to, self.time, self.reason = date, move, to, time, reason


def split_items(value):
    """A comma list whose items may end in a "(reason)" holding commas."""
    items, depth, cur = [], 0, ""
    for ch in value:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    items.append(cur)
    return [" ".join(x.split()) for x in items if x.strip()]


def cut_reason(item):
    m = re.fullmatch(r"(.*?)\s*\((.*)\)", item)
    return (m.group(1), m.group(2).strip()) if m else (item, None)


def parse_changes(s, where):
    """skip = 2026-12-24 (Christmas Eve), 2027-01-05 and move = 2027-01-05 ->
    2027-01-06 14:00 (offsite), 2027-02-02 -> 15:30, in the order written."""
    out = []
    for key in s:
        if key not in ("skip", "move"):
            continue
        for item in split_items(s[key]):
            item, reason = cut_reason(item)
            if key == "skip":
                out.append(Change(dt.date.fromisoformat(item), False, reason=reason))
                continue
            frm, _, to = (x.strip() for x in item.partition("->"))
            date = dt.date.fromisoformat(frm)
            parts = to.split()
            if len(parts) == 1 and ":" in parts[0]:
                new_date, new_time = date, parts[0]
            else:
                new_date, new_time = dt.date.fromisoformat(parts[0]), parts[1] if len(parts) > 1 else None
            if new_time is not None:
                hh, mm = new_time.split(":")
                new_time = dt.time(int(hh), int(mm))
            out.append(Change(date, True, new_date, new_time, reason))
    return out


class Meeting:
    """A [meeting:ID], or one pair of a [pairing:ID] (a meeting of its own:
    README "Host rotation and pairings"). `pairing` is None for a meeting;
    for a pair it is the pairing (a Meeting holding the pairing's keys),
    with `pair` its two department ids and `rounds` the pairing's rounds."""
    pairing = None
    encoding = "rule"


def circle_rounds(ids):
    """The rounds of one cycle of a pairing of `ids` by the circle method
    (issue 11: "for N departments, N-1 rounds when N is even; N rounds with
    one department sitting out in turn when N is odd"): the first
    department stays in place, the others sit on a circle; in a round
    position i meets position N-1-i; from one round to the next everyone
    but the first moves one place on. An odd N gets an empty seat at the
    end of the circle: who faces it sits the round out.

    Which way the circle turns and where the empty seat goes are not
    written in the issue or the README; these are tandem's (as preview
    shows them: with sales, marketing, support the first round is
    marketing + support, sales sitting out). Each pair is (a, b) in the
    order of `ids` (README: "the departments in the order listed")."""
    seats = list(ids) + ([None] if len(ids) % 2 else [])
    n = len(seats)
    rounds = []
    for _ in range(n - 1):
        pairs = [(seats[i], seats[n - 1 - i]) for i in range(n // 2)]
        rounds.append([tuple(sorted(p, key=ids.index)) for p in pairs if None not in p])
        seats = [seats[0]] + seats[2:] + [seats[1]]
    return rounds


def pair_encoding(m):
    """README "Host rotation and pairings": a pair is one RRULE where the
    cadence repeats by a fixed step (weekly cadences on one weekday,
    monthly on a weekday or a day 1..28), else single events in UTC up to
    feed_horizon."""
    if m.kind == "weekly" and len(m.weekdays) == 1:
        return "rule"
    if m.kind == "monthly" and (m.month_day is None or m.month_day <= 28):
        return "rule"
    return "single"


class Config:
    def __init__(self, path):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        cp = configparser.ConfigParser(interpolation=None, comment_prefixes=(";", "#"),
                                       inline_comment_prefixes=(";", "#"), strict=True)
        with open(path, encoding="utf-8") as f:
            cp.read_file(f)
        t = cp["tandem"] if cp.has_section("tandem") else {}
        self.zone = t.get("timezone", "UTC")
        self.domain = t.get("domain", "tandem.invalid")
        self.holidays = self._sources(t.get("holidays", ""))
        horizon = re.fullmatch(r"(\d+)d", t.get("feed_horizon", "400d").strip())
        if not horizon:
            raise Failure("{}: feed_horizon: the interop test reads days (\"400d\") only".format(path))
        self.feed_horizon = dt.timedelta(days=int(horizon.group(1)))
        self.names = {}
        self.managers = {}  # department -> (name, address) of `manager = Name <address>`
        self.departments = {}
        self.dept_holidays = {}
        self.working_days = {}
        self.meetings = []
        for sec in cp.sections():
            kind, _, ident = sec.partition(":")
            s = cp[sec]
            if kind == "department":
                self.departments[ident] = s.get("timezone", self.zone)
                self.names[ident] = s.get("name", ident)
                if "manager" in s:
                    name, address = re.fullmatch(r"\s*(.*?)\s*<([^>]+)>\s*", s["manager"]).groups()
                    self.managers[ident] = (name, address)
                self.dept_holidays[ident] = self._sources(s.get("holidays", ""))
                self.working_days[ident] = parse_working_days(s.get("working_days", "mon-fri"),
                                                              "{} [{}]".format(path, sec))
            elif kind == "meeting":
                self.meetings.append(self._meeting(ident, s))
            elif kind == "pairing":
                self.meetings += self._pairs(ident, s)

    def _sources(self, value):
        """Holiday calendars: paths relative to the config's directory (URLs
        are not used by the interop configs)."""
        out = []
        for x in value.split(","):
            x = x.strip()
            if x:
                if "://" in x:
                    raise Failure("{}: holidays: the interop test reads local files only, not {}".format(self.path, x))
                out.append(os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(self.path)), x)))
        return out

    def _pairs(self, ident, s):
        """The pairs of a [pairing:ID] (README "Host rotation and
        pairings"): `<pairing>.<a>.<b>`, titled "<title>: <A> + <B>" with
        the departments' names, the pairing's keys but for departments and
        host (the pair's two take turns where the pairing has host =
        rotate), and the skips of its own rounds (spec_plans())."""
        base = self._meeting(ident, s, "pairing")
        base.rounds = circle_rounds(base.departments)
        out = []
        for rnd in base.rounds:
            for a, b in rnd:
                m = Meeting()
                m.__dict__.update(base.__dict__)
                m.id = "{}.{}.{}".format(ident, a, b)
                m.title = "{}: {} + {}".format(base.title, self.names[a], self.names[b])
                m.departments = [a, b]
                m.pairing, m.pair = base, (a, b)
                m.host_order = [a, b] if base.host_order else None
                m.encoding = pair_encoding(base)
                out.append(m)
        return sorted(out, key=lambda m: [base.departments.index(d) for d in m.pair])

    def _meeting(self, ident, s, kind="meeting"):
        where = "{} [{}:{}]".format(self.path, kind, ident)
        m = Meeting()
        m.id = ident
        m.title = s["title"]
        m.departments = [d.strip() for d in s["departments"].split(",")]
        m.zone = s.get("timezone", self.zone)
        hh, mm = s["time"].split(":")
        m.time = dt.time(int(hh), int(mm))
        m.duration = parse_duration(s.get("duration", "1h"), where)
        m.start = dt.date.fromisoformat(s["start"])
        m.end = dt.date.fromisoformat(s["end"]) if "end" in s else None
        m.changes = parse_changes(s, where)
        m.on_holiday = s.get("on_holiday", "skip").strip()
        # host: a department, or rotate (the departments as listed) or
        # rotate: a, b (that order) (README "Host rotation")
        host = " ".join(s.get("host", "").split())
        m.host_fixed = m.host_order = None
        if host == "rotate":
            m.host_order = list(m.departments)
        elif host.startswith("rotate:"):
            m.host_order = [x.strip() for x in host[len("rotate:"):].split(",")]
        elif host:
            m.host_fixed = host
        remind = s.get("remind", "15m").strip()
        m.remind = [] if remind == "none" else [parse_offset(x, where) for x in remind.split(",")]
        cadence = " ".join(s.get("cadence", "weekly").split())
        m.rrule = None
        if cadence.startswith("rrule:"):
            m.kind, m.rrule = "rrule", cadence[len("rrule:"):]
        elif cadence == "monthly":
            m.kind = "monthly"
            day = s["day"].strip().lower()
            if day.isdigit():
                m.month_day, m.ordinal = int(day), None
            else:
                o, w = day.split()
                m.month_day, m.ordinal, m.weekday = None, ORDINALS[o], parse_weekday(w, where)
        else:
            m.kind = "weekly"
            n = {"weekly": 1, "biweekly": 2}.get(cadence)
            if n is None:
                n = int(re.fullmatch(r"every (\d+) weeks?", cadence).group(1))
            m.interval = n
            m.weekdays = {parse_weekday(x, where) for x in s["day"].split(",")}
        return m


def month_dates(m, last):
    y, mo = m.start.year, m.start.month
    while dt.date(y, mo, 1) <= last:
        if m.month_day:
            try:
                d = dt.date(y, mo, m.month_day)
            except ValueError:  # months without that day are passed over
                d = None
        else:
            days = [dt.date(y, mo, k) for k in range(1, 32) if _valid(y, mo, k)]
            days = [x for x in days if x.weekday() == m.weekday]
            d = days[m.ordinal - 1] if m.ordinal > 0 else days[-1]
        if d is not None:
            yield d
        y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)


def _valid(y, mo, d):
    try:
        dt.date(y, mo, d)
        return True
    except ValueError:
        return False


def rule_walls(rule, dtstart, last):
    """The instances of an RRULE value (COUNT and UNTIL ignored: the callers
    apply them) from DTSTART up to `last`, naive wall times, WITHOUT DTSTART
    itself unless the rule matches it.

    dateutil stands in for RFC 5545 section 3.3.10 here, with one fix: for
    FREQ=WEEKLY it takes the first week as running from DTSTART rather than
    from the start of DTSTART's week (WKST), which changes what BYSETPOS
    picks in that week; so the week is expanded from its start, and what
    falls before DTSTART dropped."""
    parts = [p for p in rule.split(";") if p and not p.upper().startswith(("COUNT=", "UNTIL="))]
    keys = {p.split("=", 1)[0].upper(): p.split("=", 1)[1].upper() for p in parts}
    begin = dtstart
    if keys.get("FREQ") == "WEEKLY":
        if "BYDAY" not in keys:  # the default is DTSTART's weekday
            parts.append("BYDAY=" + ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][dtstart.weekday()])
        wkst = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"].index(keys.get("WKST", "MO"))
        begin = dtstart - dt.timedelta(days=(dtstart.weekday() - wkst) % 7)
    walls = []
    for w in rrulestr(";".join(parts), dtstart=begin):
        if w > last:
            break
        if w >= dtstart:
            walls.append(w)
    return walls


def within_until(w, tz, date, time, utc):
    """README "Which dates": UNTIL with a time and Z is a UTC instant (RFC
    5545 section 3.3.10, with a DTSTART in a zone); a DATE means through that
    day in the meeting's zone, like end; a local time is read in that zone."""
    day = dt.datetime.strptime(date, "%Y%m%d").date()
    if time is None:
        return w.date() <= day
    t = dt.datetime.combine(day, dt.datetime.strptime(time, "%H%M%S").time())
    return reading_rfc(w, tz) <= (t.replace(tzinfo=UTC) if utc else reading_rfc(t, tz))


def spec_walls(m, last):
    """The local wall times of meeting m's occurrences up to date `last`, by
    the README's "Which dates"."""
    if m.kind == "weekly":
        d = m.start
        while d.weekday() not in m.weekdays:
            d += dt.timedelta(days=1)
        first_week = d - dt.timedelta(days=d.weekday())
        dates = []
        while d <= last:
            week = (d - dt.timedelta(days=d.weekday()) - first_week).days // 7
            if d.weekday() in m.weekdays and week % m.interval == 0:
                dates.append(d)
            d += dt.timedelta(days=1)
        walls = [dt.datetime.combine(x, m.time) for x in dates]
    elif m.kind == "monthly":
        walls = [dt.datetime.combine(x, m.time) for x in month_dates(m, last) if x >= m.start]
    else:
        # "exactly what RFC 5545 makes of that rule with DTSTART at start +
        # time, less start itself where the rule does not match it".
        # dateutil lists only the instances that match the rule (not a
        # non-matching DTSTART), and counts COUNT among those; RFC 5545
        # counts DTSTART as the first of COUNT even when it does not match.
        dtstart = dt.datetime.combine(m.start, m.time)
        walls = rule_walls(m.rrule, dtstart, dt.datetime.combine(last, dt.time(23, 59)))
        count = re.search(r"(?:^|;)COUNT=(\d+)", m.rrule.upper())
        if count:
            n = int(count.group(1))
            walls = walls[:n] if walls and walls[0] == dtstart else walls[:n - 1]
        until = re.search(r"(?:^|;)UNTIL=([0-9]{8})(?:T([0-9]{6})(Z?))?", m.rrule.upper())
        if until:
            walls = [w for w in walls if within_until(w, zone(m.zone), *until.groups())]
    return [w for w in walls if m.end is None or w.date() <= m.end]


def at_edge(wall, tz, duration):
    """README "The feeds": "an occurrence is at an edge when its local start
    or end time does not exist or exists twice, when its zone's offset
    changes between its start and its end, or between its start and its
    local time read as UTC"."""
    if tz is UTC:
        return False
    start = instant(wall, tz)
    end = start + duration
    offset = start.astimezone(tz).utcoffset()
    return bool(wall_kind(wall, tz) or wall_kind(end.astimezone(tz).replace(tzinfo=None), tz)
                or end.astimezone(tz).utcoffset() != offset
                or wall.replace(tzinfo=UTC).astimezone(tz).utcoffset() != offset)


def pair_walls(m, last, cache):
    """{wall: round} of pair m: round j of the pairing (from 1) is the j-th
    occurrence of its cadence, the circle method's round (j - 1) % cycle
    + 1 (issue 11: "Each round (one occurrence of the cadence)"; a skipped
    round is still that round: "the rotation does not drift")."""
    base = m.pairing
    if base.id not in cache:
        cache[base.id] = spec_walls(base, last)
    cycle = len(base.rounds)
    return {w: j % cycle + 1 for j, w in enumerate(cache[base.id]) if m.pair in base.rounds[j % cycle]}


def spec_plans(cfg, horizon):
    """{meeting id: spec_plan.Plan}: each meeting's (and pair's)
    occurrences by the rule, what its changes and the holiday calendars
    make of them, and their hosts, for a feed_horizon ending at `horizon`
    (an instant: now + feed_horizon); computed once per config and
    horizon. A pair published as single events has none from the horizon
    on (README "Host rotation and pairings": "up to feed_horizon")."""
    if not hasattr(cfg, "plans"):
        cfg.plans = {}
        # a move or holiday may take an occurrence up to a week or more either way
        first, last = (WINDOW_FROM - dt.timedelta(days=40)).date(), (WINDOW_TO + dt.timedelta(days=40)).date()
        try:
            cfg.calendars = spec_plan.Calendars(cfg, first, last)
        except (OSError, ValueError) as e:
            raise Failure("{}: holidays: {}".format(cfg.path, e))
    if horizon in cfg.plans:
        return cfg.plans[horizon]
    last = (WINDOW_TO + dt.timedelta(days=40)).date()
    plans, cadences = {}, {}
    for m in cfg.meetings:
        rounds = None
        if m.pairing is None:
            walls = spec_walls(m, last)
        else:
            rounds = pair_walls(m, last, cadences)
            walls = sorted(rounds)
            dates = {w.date() for w in walls}
            m.changes = [c for c in m.pairing.changes if c.date in dates]  # skip: "every pair of that round"
        plan = spec_plan.Plan(cfg, m, walls, cfg.calendars, zone, reading_rfc, horizon)
        tz = zone(m.zone)
        plan.hosts(lambda o: o["rid"] < horizon and at_edge(o["wall"], tz, m.duration))
        for o in plan.occurrences:
            o["round"] = rounds[o["wall"]] if rounds else None
        if m.encoding == "single":
            plan.occurrences = [o for o in plan.occurrences if o["rid"] < horizon]
        plans[m.id] = plan
    cfg.plans[horizon] = plans
    return plans


def spec_occurrences(cfg, meetings, horizon):
    """The expectation from the README and the issues, as two {(meeting, start, end): preview-like
    dict}: the occurrences held (where they are, moved or not), and those
    cancelled (at the start they would have had), as issue 10 makes of the
    rule's occurrences and issue 11 of the pairings and hosts
    (spec_plan.py), in the window by that start."""
    out, cancelled = {}, {}
    for m in meetings:
        tz = zone(m.zone)
        for o in spec_plans(cfg, horizon)[m.id].occurrences:
            start = o["start"]
            if not WINDOW_FROM <= start < WINDOW_TO:
                continue
            end = start + m.duration
            w = start.astimezone(tz).replace(tzinfo=None)
            notices = []
            if o["status"] != "held" and m.remind:
                notices = [{"type": o["status"], "at": iso(min(start, o["rid"]) - max(m.remind))}]
            item = {
                "title": m.title, "departments": m.departments, "status": o["status"],
                "local": {d: rfc3339_local(start, cfg.departments[d]) for d in m.departments},
                "original_start": None if o["status"] == "held" else iso(o["rid"]),
                "reason": o["reason"], "notices": notices, "host": o["host"],
                "pairing": m.pairing.id if m.pairing else None, "round": o["round"],
                "why": "{} {} {}{}{}".format(w.strftime("%a %Y-%m-%d %H:%M"), m.zone, wall_kind(w, tz) or "",
                                             "" if o["status"] == "held" else " {} from {}{}".format(
                                                 o["status"], o["wall"].strftime("%a %Y-%m-%d %H:%M"),
                                                 " ({})".format(o["reason"]) if o["reason"] else ""),
                                             " host {}".format(o["host"]) if o["host"] else "").strip()}
            (cancelled if o["status"] == "cancelled" else out)[(m.id, iso(start), iso(end))] = item
    return out, cancelled


def rfc3339_local(t, zone_name):
    if zone_name == "UTC":
        return iso(t)
    s = t.astimezone(ZoneInfo(zone_name)).isoformat()
    return s


# --------------------------------------------------------------------------
# The feed: format checks, and what RFC 5545 makes of it.

TZID_RE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*")
# An occurrence published as a VEVENT of its own, in UTC (README.md "The
# feeds", "Holidays and changes", "Host rotation and pairings"): at a DST
# edge, moved before DTSTART, or a pair's round where no rule can say the
# rounds: "<meeting-id>.<local date YYYYMMDD>@<domain>", a meeting id that
# may be a pair's, with dots ("lunches.sales.support", epoch n >= 2:
# "lunches.sales.support.2").
EXCEPTION_UID = re.compile(r"([a-z0-9][a-z0-9_.-]*)\.(\d{8})@.*")


def meeting_of(uid, ids=()):
    """The meeting a VEVENT's UID belongs to: the UID before the @ if that
    is a meeting's id (of `ids`), else that less a local date."""
    base = uid.split("@", 1)[0]
    if base in ids:
        return base
    m = EXCEPTION_UID.fullmatch(uid)
    return m.group(1) if m else base


def organizer(ev):
    """The address of a VEVENT's ORGANIZER (without "mailto:"), or None."""
    props = ev.get("ORGANIZER", [])
    return re.sub(r"(?i)^mailto:", "", props[0][1]) if props else None


def parse_utc(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def unfold(text):
    return re.sub(r"\r\n[ \t]", "", text).split("\r\n")


def split_prop(line):
    """'DTSTART;TZID=X:2026...' -> ('DTSTART', {'TZID': 'X'}, '2026...')"""
    m = re.match(r'([A-Za-z0-9-]+)((?:;[A-Za-z0-9-]+=(?:"[^"]*"|[^;:]*))*):(.*)', line)
    if not m:
        raise Failure("feed: not a content line: {!r}".format(line))
    params = {}
    for p in re.findall(r';([A-Za-z0-9-]+)=("[^"]*"|[^;:]*)', m.group(2)):
        params[p[0].upper()] = p[1].strip('"')
    return m.group(1).upper(), params, m.group(3)


def parse_feed(text):
    """VEVENTs as dicts of property lists, and the VTIMEZONE TZIDs."""
    events, tzids, stack, cur = [], [], [], None
    for line in unfold(text):
        if not line:
            continue
        name, params, value = split_prop(line)
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                cur = {}
            continue
        if name == "END":
            if not stack or stack.pop() != value:
                raise Failure("feed: END:{} does not close the open component".format(value))
            if value == "VEVENT":
                events.append(cur)
                cur = None
            continue
        if stack and stack[-1] == "VTIMEZONE" and name == "TZID":
            tzids.append(value)
        if cur is not None and stack[-1] == "VEVENT":
            cur.setdefault(name, []).append((params, value))
    if stack:
        raise Failure("feed: components left open: {}".format(stack))
    return events, tzids


def feed_datetime(params, value):
    """(naive wall time, zone name) of a DATE-TIME property value."""
    if value.endswith("Z"):
        if "TZID" in params:
            raise Failure("feed: a UTC value with a TZID: {}".format(value))
        return dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ"), "UTC"
    if "TZID" not in params:
        raise Failure("feed: a floating DATE-TIME (no TZID, no Z): {}".format(value))
    return dt.datetime.strptime(value, "%Y%m%dT%H%M%S"), params["TZID"]


def feed_instant(prop):
    """(wall time, zone) of a DATE-TIME property, for reading_rfc()."""
    wall, zname = feed_datetime(*prop)
    return wall, zone(zname)


class Feed:
    """A feed's VEVENTs by meeting: `series` {UID: the VEVENT with the rule,
    its "_overrides" and "_exceptions" (events published apart) attached},
    and `alone` {meeting id: [events published apart]} for meetings
    published without a rule (pairs as single events)."""

    def __init__(self):
        self.series, self.alone = {}, {}


def check_feed(data, cfg, meetings, label):
    errors = []
    if not data.endswith(b"\r\n"):
        errors.append("the feed does not end with CRLF")
    lines = data.split(b"\r\n")
    if lines[-1] == b"":
        lines.pop()
    for i, line in enumerate(lines, 1):
        if b"\n" in line or b"\r" in line:
            errors.append("line {}: a line not ended by CRLF: {!r}".format(i, line[:80]))
        if len(line) > 75:
            errors.append("line {}: {} octets, more than 75: {!r}".format(i, len(line), line[:80]))
    try:
        text = data.decode("utf-8")
        events, vtz = parse_feed(text.replace("\r\n", "\n").replace("\n", "\r\n"))
    except (Failure, UnicodeDecodeError) as e:
        errors.append(str(e))
        events, vtz = [], []
    known = available_timezones()
    for z in vtz:
        if not TZID_RE.fullmatch(z) or z not in known:
            errors.append("VTIMEZONE TZID {!r} is not a plain IANA zone name".format(z))
    if len(set(vtz)) != len(vtz):
        errors.append("a VTIMEZONE is repeated: {}".format(vtz))
    used = set()
    feed = Feed()
    by_uid = feed.series
    ids = {m.id: m for m in meetings}
    exceptions = []
    overrides = []

    def check_tzids(uid, ev, names):
        for name in names:
            for params, value in ev.get(name, []):
                z = params.get("TZID")
                if z is None:
                    continue
                used.add(z)
                if not TZID_RE.fullmatch(z) or z not in known:
                    errors.append("{}: {} TZID {!r} is not a plain IANA zone name".format(uid, name, z))
                elif z not in vtz:
                    errors.append("{}: {} TZID {} has no VTIMEZONE".format(uid, name, z))

    for ev in events:
        uid = ev.get("UID", [({}, "?")])[0][1]
        rr = ev.get("RRULE", [])
        if uid.split("@", 1)[0] not in ids and EXCEPTION_UID.fullmatch(uid):
            # an occurrence published apart: in UTC, no rule
            if rr or ev.get("RDATE") or ev.get("EXDATE") or ev.get("RECURRENCE-ID"):
                errors.append("{}: an occurrence published apart has recurrence properties".format(uid))
            for name in ("DTSTART", "DTEND"):
                props = ev.get(name, [])
                if len(props) != 1 or not props[0][1].endswith("Z") or "TZID" in props[0][0]:
                    errors.append("{}: {} must be one UTC value".format(uid, name))
            exceptions.append((uid, ev))
            continue
        if ev.get("RECURRENCE-ID"):
            # an override of its meeting's VEVENT (RFC 5545 section
            # 3.8.4.4): the same UID, no rule of its own; a moved
            # occurrence (README "Holidays and changes") says why in its
            # DESCRIPTION; one at its own start changes the host (README
            # "Host rotation"), and carries the ORGANIZER
            if rr or ev.get("RDATE") or ev.get("EXDATE") or len(ev["RECURRENCE-ID"]) != 1:
                errors.append("{}: an override has recurrence properties or several RECURRENCE-IDs".format(uid))
            for name in ("DTSTART", "DTEND"):
                if len(ev.get(name, [])) != 1:
                    errors.append("{}: an override needs exactly one {}".format(uid, name))
            check_tzids(uid, ev, ("DTSTART", "DTEND", "RECURRENCE-ID"))
            overrides.append((uid, ev))
            continue
        if len(rr) != 1:
            errors.append("{}: {} RRULE properties, exactly one expected".format(uid, len(rr)))
        if len(ev.get("DTSTART", [])) != 1:
            errors.append("{}: {} DTSTART properties, exactly one expected".format(uid, len(ev.get("DTSTART", []))))
        if len(ev.get("DTEND", [])) + len(ev.get("DURATION", [])) != 1:
            errors.append("{}: exactly one DTEND or DURATION expected".format(uid))
        check_tzids(uid, ev, ("DTSTART", "DTEND", "EXDATE", "RDATE", "RECURRENCE-ID"))
        if uid in by_uid:
            errors.append("{}: two VEVENTs without RECURRENCE-ID".format(uid))
        by_uid[uid] = ev
    for z in set(vtz) - used:
        errors.append("VTIMEZONE {} is not used by any event".format(z))
    # one rule per meeting, and per pair where its cadence allows one
    want = {"{}@{}".format(m.id, cfg.domain) for m in meetings if m.encoding == "rule"}
    if set(by_uid) != want or len(events) != len(want) + len(exceptions) + len(overrides):
        errors.append("VEVENT UIDs {} (x{}), expected one per meeting: {}".format(
            sorted(by_uid), len(events), sorted(want)))
    for uid, ev in exceptions:
        mid = EXCEPTION_UID.fullmatch(uid).group(1)
        master = "{}@{}".format(mid, uid.split("@", 1)[1])
        if master in by_uid:
            by_uid[master].setdefault("_exceptions", []).append(ev)
        elif mid in ids and ids[mid].encoding == "single":
            feed.alone.setdefault(mid, []).append(ev)
        else:
            errors.append("{}: no meeting {} for this occurrence".format(uid, master))
    for uid, ev in overrides:
        if uid not in by_uid:
            errors.append("{}: an override of no meeting's VEVENT".format(uid))
            continue
        _, z0 = feed_datetime(*by_uid[uid]["DTSTART"][0])
        rid, zr = feed_datetime(*ev["RECURRENCE-ID"][0])
        if zr != z0:
            errors.append("{}: RECURRENCE-ID {} in {}, not in DTSTART's zone {} (RFC 5545 section 3.8.4.4)".format(
                uid, rid, zr, z0))
        desc = ev.get("DESCRIPTION", [({}, "")])[0][1]
        if reading_rfc(*feed_instant(ev["DTSTART"][0])) != reading_rfc(rid, zone(zr)):
            if not desc.startswith("Moved: "):
                errors.append("{}: the override's DESCRIPTION does not begin with \"Moved: <reason>\": {!r}".format(
                    uid, desc[:60]))
        elif desc.startswith("Moved: ") or organizer(ev) is None or organizer(ev) == organizer(by_uid[uid]):
            errors.append("{}: an override at its own start (RECURRENCE-ID {}) that is not a change of host (an "
                          "ORGANIZER other than the event's, no \"Moved:\")".format(uid, rid))
        by_uid[uid].setdefault("_overrides", []).append(ev)
    for uid, ev in by_uid.items():
        # README "Holidays and changes": "A skipped or moved first
        # occurrence is left out of the rule (DTSTART starts at the next
        # one)" (sabre/vobject 2 ignores an EXDATE or override of DTSTART);
        # and "Host rotation": the event names the host at its DTSTART
        start0 = reading_rfc(*feed_instant(ev["DTSTART"][0]))
        named = [("EXDATE", p, v) for p, value in ev.get("EXDATE", []) for v in value.split(",")]
        named += [("RECURRENCE-ID",) + x["RECURRENCE-ID"][0] for x in ev.get("_overrides", [])]
        for what, params, v in named:
            if reading_rfc(*feed_instant((params, v))) == start0:
                errors.append("{}: an {} at DTSTART ({}): the first occurrence is not left out of the rule".format(
                    uid, what, v))
    if errors:
        raise Failure("{}: the feed breaks the README's 'The feeds' / RFC 5545:\n  ".format(label) + "\n  ".join(errors))
    return feed


def feed_walls(ev):
    """RFC 5545's recurrence set of a VEVENT as wall times, up to the window
    end (or the last RECURRENCE-ID of its overrides, if later): DTSTART
    (the first instance; section 3.3.10: "The DTSTART property value
    always counts as the first occurrence"), the RRULE's instances,
    less EXDATEs; UNTIL bounds by the instant. Also returns the zone and the
    DTSTART/DTEND wall times (DTEND's zone None and a timedelta instead
    of the wall time for a DURATION)."""
    (p0, v0), = ev["DTSTART"]
    w0, zname = feed_datetime(p0, v0)
    tz = zone(zname)
    if "DTEND" in ev:
        (p1, v1), = ev["DTEND"]
        wend, zend = feed_datetime(p1, v1)
    else:
        # DURATION (section 3.3.6): hours, minutes and seconds are exact,
        # and every reader takes it as it is. Days and weeks (nominal) are
        # not used by tandem.
        (_, v1), = ev["DURATION"]
        m = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", v1)
        if not m:
            raise Failure("{}: DURATION {} is not of the PTnHnMnS form".format(ev["UID"][0][1], v1))
        wend = dt.timedelta(hours=int(m.group(1) or 0), minutes=int(m.group(2) or 0), seconds=int(m.group(3) or 0))
        zend = None
    rule = ev["RRULE"][0][1]
    parts = dict(x.split("=", 1) for x in rule.split(";"))
    until = None
    if "UNTIL" in parts:
        until = dt.datetime.strptime(parts["UNTIL"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    count = int(parts["COUNT"]) if "COUNT" in parts else None
    last = max([(WINDOW_TO + dt.timedelta(days=2)).replace(tzinfo=None)] +
               [feed_datetime(*x["RECURRENCE-ID"][0])[0] + dt.timedelta(days=1) for x in ev.get("_overrides", [])])
    inst = rule_walls(rule, w0, last)
    if count is not None:
        inst = inst[:count] if inst and inst[0] == w0 else inst[:count - 1]
    walls = [w0] + [w for w in inst if w != w0 and (until is None or reading_rfc(w, tz) <= until)]
    ex = set()
    for params, value in ev.get("EXDATE", []):
        for v in value.split(","):
            xw, xz = feed_datetime(params, v)
            ex.add(reading_rfc(xw, zone(xz)))
    walls = [w for w in walls if reading_rfc(w, tz) not in ex]
    return walls, tz, w0, wend, None if zend is None else zone(zend)


def feed_expectations(feed, cfg):
    """The RFC 5545 reading of the feed (each meeting's rule, less its
    EXDATEs, with its overrides, and its occurrences published apart), and
    what each engine makes of it with its KNOWN_DEVIATIONS: {who: {(meeting,
    start, end): note}}, and {who: {deviation id: number of occurrences it
    changes}}; and "organizers": {(meeting, start): the ORGANIZER's address
    or None} of each occurrence (an override's own: RFC 5545 section
    3.8.4.4 replaces the instance with it)."""
    rfc, organizers = {}, {}
    by_uid = feed.series

    def apart(mid, tz, evs):
        for x in evs:
            start, _ = feed_datetime(*x["DTSTART"][0])
            end, _ = feed_datetime(*x["DTEND"][0])
            start, end = start.replace(tzinfo=UTC), end.replace(tzinfo=UTC)
            if WINDOW_FROM <= start < WINDOW_TO:
                rfc[(mid, iso(start), iso(end))] = "{} {} (published apart, in UTC)".format(
                    start.astimezone(tz).strftime("%a %Y-%m-%d %H:%M"), tz)
                organizers[(mid, iso(start))] = organizer(x)

    for uid, ev in by_uid.items():
        mid = uid.split("@", 1)[0]
        walls, tz, w0, wend, tzend = feed_walls(ev)
        duration = wend if tzend is None else reading_rfc(wend, tzend) - reading_rfc(w0, tz)
        instances = set()
        for w in walls:
            start = reading_rfc(w, tz)
            instances.add(start)
            if WINDOW_FROM <= start < WINDOW_TO:
                kind = wall_kind(w, tz)
                note = "{} {} {}".format(w.strftime("%a %Y-%m-%d %H:%M"), tz, kind or "").strip()
                rfc[(mid, iso(start), iso(start + duration))] = note
                organizers[(mid, iso(start))] = organizer(ev)
        for x in ev.get("_overrides", []):
            # RFC 5545 section 3.8.4.4: the override replaces the instance
            # its RECURRENCE-ID names (read as DTSTART is), with its own
            # DTSTART and DTEND
            rid = reading_rfc(*feed_instant(x["RECURRENCE-ID"][0]))
            if rid not in instances:
                raise Failure("{}: the override RECURRENCE-ID {} names no occurrence of the rule".format(
                    uid, x["RECURRENCE-ID"][0][1]))
            rfc.pop((mid, iso(rid), iso(rid + duration)), None)
            organizers.pop((mid, iso(rid)), None)
            start, end = (reading_rfc(*feed_instant(x[name][0])) for name in ("DTSTART", "DTEND"))
            if WINDOW_FROM <= start < WINDOW_TO:
                w = start.astimezone(tz)
                rfc[(mid, iso(start), iso(end))] = "{} {} ({} {} {})".format(
                    w.strftime("%a %Y-%m-%d %H:%M"), tz, "moved from" if start != rid else "host",
                    rid.astimezone(tz).strftime("%a %Y-%m-%d %H:%M"),
                    x.get("DESCRIPTION", [({}, "")])[0][1][:40] if start != rid else organizer(x))
                organizers[(mid, iso(start))] = organizer(x)
        apart(mid, tz, ev.get("_exceptions", []))
    for mid, evs in feed.alone.items():
        apart(mid, zone(next(m.zone for m in cfg.meetings if m.id == mid)), evs)
    out = {"rfc": rfc, "organizers": organizers}
    tally = {who: {} for who in ENGINES}
    for who in ENGINES:
        out[who] = dict(rfc)
    for uid, ev in by_uid.items():
        # sabre-bysetpos-hang: left out by expand_sabre.php
        mid = uid.split("@", 1)[0]
        setpos = re.search(r"BYSETPOS=([^;]*)", ev["RRULE"][0][1])
        if setpos and min(int(x) for x in setpos.group(1).split(",")) <= -2:
            gone = [k for k in out["sabre"] if k[0] == mid]
            for k in gone:
                out["sabre"].pop(k)
            if gone:
                tally["sabre"]["sabre-bysetpos-hang"] = len(gone)
            continue
        # sabre-fold-exdate: the occurrence an EXDATE at a doubled time in a
        # zone east of Greenwich should remove stays, at the first instant
        mid = uid.split("@", 1)[0]
        walls, tz, w0, wend, tzend = feed_walls(ev)
        if tzend is None:
            continue
        # (sabre-fold-override: the same for a RECURRENCE-ID)
        removed = [("sabre-fold-exdate", params, v) for params, value in ev.get("EXDATE", []) for v in value.split(",")]
        removed += [("sabre-fold-override",) + x["RECURRENCE-ID"][0] for x in ev.get("_overrides", [])]
        for what, params, v in removed:
            x, xz = feed_datetime(params, v)
            if xz == "UTC" or wall_kind(x, zone(xz)) != "overlap" or instant(x, tz, 1).astimezone(tz).utcoffset() < dt.timedelta(0):
                continue
            start = reading_rfc(x, tz)
            end = reading_php(x + (wend - w0), tz)
            if WINDOW_FROM <= start < WINDOW_TO:
                out["sabre"][(mid, iso(start), iso(end))] = "{} {} (known: sabre {} at a doubled time)".format(
                    x.strftime("%a %Y-%m-%d %H:%M"), tz, "EXDATE" if what == "sabre-fold-exdate" else "RECURRENCE-ID")
                tally["sabre"][what] = tally["sabre"].get(what, 0) + 1
    for uid, ev in by_uid.items():
        # icaljs-byweekno
        parts = dict(x.split("=", 1) for x in ev["RRULE"][0][1].split(";"))
        if "BYWEEKNO" not in parts:
            continue
        mid = uid.split("@", 1)[0]
        walls, tz, w0, wend, tzend = feed_walls(ev)
        duration = wend if tzend is None else reading_rfc(wend, tzend) - reading_rfc(w0, tz)
        weekdays = {WEEKDAYS.index(x) for x in [w for w in WEEKDAYS if w[:2].upper() in parts["BYDAY"].split(",")]}
        first_week = int(parts["BYWEEKNO"].split(",")[0])
        got = {k: v for k, v in out["icaljs"].items() if k[0] != mid}
        d = w0
        while d < WINDOW_TO.replace(tzinfo=None):
            if d.weekday() in weekdays and d.isocalendar()[1] != first_week:
                start = reading_rfc(d, tz)
                if WINDOW_FROM <= start < WINDOW_TO:
                    got[(mid, iso(start), iso(start + duration))] = "{} {} (known: ical.js BYWEEKNO)".format(
                        d.strftime("%a %Y-%m-%d %H:%M"), tz)
            d += dt.timedelta(days=1)
        changed = set(got) ^ set(out["icaljs"])
        tally["icaljs"]["icaljs-byweekno"] = tally["icaljs"].get("icaljs-byweekno", 0) + len(changed)
        out["icaljs"] = got
        # sabre-byweekno: DTSTART's date every year
        got = {k: v for k, v in out["sabre"].items() if k[0] != mid}
        for years in range(0, 200):
            d = w0.replace(year=w0.year + years)
            start = reading_rfc(d, tz)
            if start >= WINDOW_TO:
                break
            if WINDOW_FROM <= start:
                got[(mid, iso(start), iso(start + duration))] = "{} {} (known: sabre BYWEEKNO)".format(
                    d.strftime("%a %Y-%m-%d %H:%M"), tz)
        changed = set(got) ^ set(out["sabre"])
        tally["sabre"]["sabre-byweekno"] = tally["sabre"].get("sabre-byweekno", 0) + len(changed)
        out["sabre"] = got
    for (name, mid), (extra, omit) in BYSETPOS_PER_MONTH.items():
        uid = "{}@{}".format(mid, cfg.domain)
        if name != cfg.name or uid not in by_uid:
            continue
        walls, tz, w0, wend, tzend = feed_walls(by_uid[uid])
        duration = wend if tzend is None else reading_rfc(wend, tzend) - reading_rfc(w0, tz)
        for who in ("icaljs", "sabre"):
            for d, sign in [(x, +1) for x in extra] + [(x, -1) for x in omit]:
                w = dt.datetime.combine(d, w0.time())
                start = reading_rfc(w, tz)
                key = (mid, iso(start), iso(start + duration))
                tally[who][who + "-bysetpos"] = tally[who].get(who + "-bysetpos", 0) + 1
                if sign > 0:
                    out[who][key] = "{} {} (known: {} BYSETPOS)".format(w.strftime("%a %Y-%m-%d %H:%M"), tz, who)
                else:
                    out[who].pop(key, None)
    return out, tally


def sabre_drift(by_uid):
    """{meeting: first instant from which sabre/vobject's occurrences are
    shifted} (KNOWN_DEVIATIONS "sabre-gap-drift"): the first day, from
    DTSTART on, that sabre's RecurrenceIterator steps onto with
    DateTime::modify() and on which the meeting's local time does not
    exist. It steps day by day through FREQ=DAILY and FREQ=WEEKLY rules with
    BYDAY (nextDaily, nextWeekly), and from occurrence to occurrence through
    rules without BYDAY or BYMONTHDAY; MONTHLY and YEARLY rules with them
    land on each occurrence with DateTime::setDate(), which keeps the time
    of day (measured: they do not drift)."""
    out = {}
    for uid, ev in by_uid.items():
        (p0, v0), = ev["DTSTART"]
        w0, zname = feed_datetime(p0, v0)
        if zname == "UTC":
            continue
        tz = zone(zname)
        parts = dict(x.split("=", 1) for x in ev["RRULE"][0][1].split(";"))
        last = (WINDOW_TO + dt.timedelta(days=2)).replace(tzinfo=None)
        days = set()
        if parts["FREQ"] in ("DAILY", "WEEKLY") and "BYDAY" in parts:
            d = w0
            while d < last:
                days.add(d)
                d += dt.timedelta(days=1)
        elif "BYDAY" not in parts and "BYMONTHDAY" not in parts:
            days.update(rule_walls(ev["RRULE"][0][1], w0, last) + [w0])
        gaps = sorted(d for d in days if d >= w0 and wall_kind(d, tz) == "gap")
        if gaps:
            out[uid.split("@", 1)[0]] = reading_rfc(gaps[0], tz)
    return out


# --------------------------------------------------------------------------
# Running things

def run(cmd, what, stdin=None, env=None):
    try:
        p = subprocess.run(cmd, input=stdin, capture_output=True, timeout=120, env=env)
    except FileNotFoundError as e:
        raise Failure("{}: {} — {}".format(what, e, INSTALL_HINT))
    if p.returncode != 0:
        raise Failure("{} failed (exit {}): {}\n{}{}".format(
            what, p.returncode, " ".join(cmd), p.stderr.decode(errors="replace"), p.stdout.decode(errors="replace")[:2000]))
    return p.stdout


# The independent engines, each a program printing the occurrences of a
# feed as JSON (see expand_*.py, *.mjs, *.php). Run in UTC: rrule.js returns
# dates in the process's zone, and none should depend on the machine's.
ENGINE_ENV = dict(os.environ, TZ="UTC")


def engine_commands(ics, frm, to):
    args = [ics, frm, to]
    return [("python", [DEBIAN_PYTHON, os.path.join(HERE, "expand_python.py")] + args),
            ("icaljs", ["node", os.path.join(HERE, "expand_icaljs.mjs")] + args),
            ("vobject", [DEBIAN_PYTHON, os.path.join(HERE, "expand_vobject.py")] + args),
            ("sabre", ["php", os.path.join(HERE, "expand_sabre.php")] + args),
            ("rrule", ["node", os.path.join(HERE, "expand_rrule.mjs")] + args)]


def preflight():
    if not os.path.exists(DEBIAN_PYTHON):
        raise Failure("{} is missing — {}".format(DEBIAN_PYTHON, INSTALL_HINT))
    if spec_plan.icalendar is None:
        raise Failure("{} cannot import icalendar / recurring_ical_events (the holiday calendars are read with "
                      "them) — run this with {} and {}".format(sys.executable, DEBIAN_PYTHON, INSTALL_HINT))
    probe = subprocess.run([DEBIAN_PYTHON, "-c", "import icalendar, recurring_ical_events, vobject"], capture_output=True)
    if probe.returncode != 0:
        raise Failure("{} cannot import icalendar / recurring_ical_events / vobject ({}) — {}".format(
            DEBIAN_PYTHON, probe.stderr.decode().strip().splitlines()[-1:], INSTALL_HINT))
    if not shutil.which("node"):
        raise Failure("node is not installed — {}".format(INSTALL_HINT))
    for module in ("ical.js", "rrule"):
        if not os.path.exists(os.path.join(HERE, "node_modules", module, "package.json")):
            raise Failure("{} is not installed in {}/node_modules — run: npm ci --prefix tests/interop".format(module, HERE))
    if not shutil.which("php"):
        raise Failure("php is not installed — {}".format(INSTALL_HINT))
    probe = subprocess.run(["php", "-r", "exit(@include_once('Sabre/VObject/includes.php') ? 0 : 1);"], capture_output=True)
    if probe.returncode != 0:
        raise Failure("php cannot load Sabre/VObject — {}".format(INSTALL_HINT))


# The engines whose expanders also print each occurrence's ORGANIZER.
ORGANIZER_ENGINES = ("python", "icaljs")


def run_engines(ics, label, ids):
    """{engine: {(meeting, start, end): occurrence}} for one feed, the
    engines running in parallel, and {engine: {(meeting, start):
    ORGANIZER}} for ORGANIZER_ENGINES."""
    procs = []
    for who, cmd in engine_commands(ics, iso(WINDOW_FROM), iso(WINDOW_TO)):
        try:
            procs.append((who, cmd, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                     env=ENGINE_ENV)))
        except FileNotFoundError as e:
            raise Failure("{} {}: {} — {}".format(label, who, e, INSTALL_HINT))
    out, organizers = {}, {}
    for who, cmd, p in procs:
        stdout, stderr = p.communicate(timeout=300)
        if p.returncode != 0:
            raise Failure("{} {} failed (exit {}): {}\n{}".format(label, who, p.returncode, " ".join(cmd),
                                                                  stderr.decode(errors="replace")))
        items = json.loads(stdout)
        for o in items:
            o["meeting"] = meeting_of(o["uid"], ids)
        out[who] = occurrence_keys(items, label + " " + who)
        if who in ORGANIZER_ENGINES:
            organizers[who] = {(o["meeting"], o["start"]): o["organizer"] for o in items}
    return out, organizers


def apply_drift(want, got, drift):
    """KNOWN_DEVIATIONS "sabre-gap-drift": from each drifting meeting's
    first gap day on, sabre must still differ from RFC 5545, and is not
    compared further. Returns (want, got, occurrences dropped); a meeting
    that no longer drifts stays in, so the diff shows it."""
    want, got = dict(want), dict(got)
    shifted = 0
    for mid, since in drift.items():
        a = {k for k in want if k[0] == mid and parse_utc(k[1]) >= since}
        b = {k for k in got if k[0] == mid and parse_utc(k[1]) >= since}
        if a == b:
            if a:
                got[("(sabre no longer drifts: remove sabre-gap-drift?)", iso(since), "")] = mid
            continue
        shifted += len(a ^ b)
        for k in a:
            want.pop(k)
        for k in b:
            got.pop(k)
    return want, got, shifted


def occurrence_keys(items, what):
    keys = {}
    for o in items:
        k = (o["meeting"], o["start"], o["end"])
        if k in keys:
            raise Failure("{} lists {} twice".format(what, k))
        keys[k] = o
    return keys


def _note(v):
    return v if isinstance(v, str) else v.get("why", "")


def diff(label, expected, got, expected_name, got_name, seen=None):
    """None, or a readable diff of two {(meeting, start, end): note} sets:
    '~' an occurrence both list at the same start with another end, '-' one
    only the expectation lists, '+' one only `got` lists."""
    missing = set(expected) - set(got)
    extra = set(got) - set(expected)
    if not missing and not extra:
        return None
    ends_exp = {(k[0], k[1]): k for k in missing}
    ends_got = {(k[0], k[1]): k for k in extra}
    rows = []
    for ms in sorted(set(ends_exp) | set(ends_got), key=lambda x: (x[1], x[0])):
        a, b = ends_exp.get(ms), ends_got.get(ms)
        if a and b:
            rows.append((ms[0], "  ~ {:<32} {}  ends {} in {}, {} in {}   {}".format(
                ms[0], ms[1], a[2][11:], expected_name, b[2][11:], got_name, _note(expected[a]))))
        elif a:
            rows.append((ms[0], "  - {:<32} {} .. {}   {}".format(ms[0], a[1], a[2][11:], _note(expected[a]))))
        else:
            rows.append((ms[0], "  + {:<32} {} .. {}   {}".format(ms[0], b[1], b[2][11:], _note(got[b]))))
    if seen is not None:
        # a department feed: what the all-meetings feed showed already is
        # only mentioned
        if {r for _, r in rows} <= seen:
            return "{}: the same {} difference(s) as in the all-meetings feed".format(label, len(rows))
        seen.update(r for _, r in rows)
    per_meeting = {}
    for mid, _ in rows:
        per_meeting[mid] = per_meeting.get(mid, 0) + 1
    out = ["{}: {} and {} differ on {} occurrence(s) ({}):".format(
        label, expected_name, got_name, len(rows),
        ", ".join("{} {}".format(k, v) for k, v in sorted(per_meeting.items())))]
    out += [r for _, r in rows[:MAX_DIFF_LINES]]
    if len(rows) > MAX_DIFF_LINES:
        out.append("  ... and {} more".format(len(rows) - MAX_DIFF_LINES))
    out.append("  (~ other end, - only in {}, + only in {})".format(expected_name, got_name))
    return "\n".join(out)


class Stats:
    def __init__(self):
        self.configs = 0
        self.feeds = 0
        self.occurrences = 0
        self.changed = 0  # moved or cancelled, as preview lists them
        self.hosted = 0  # with a host, as preview lists them
        self.deviations = {who: {} for who in ENGINES}


def feed_blocks(text):
    """A feed's header (less PRODID, which names the version) and its
    VTIMEZONEs and VEVENTs as {TZID or UID: text} (an override's key: its
    UID and RECURRENCE-ID lines)."""
    header, blocks, cur, key = [], {}, None, None
    for line in text.split("\r\n"):
        if line in ("BEGIN:VTIMEZONE", "BEGIN:VEVENT") and cur is None:
            cur, key = [], None
        if cur is None:
            if not line.startswith("PRODID:"):
                header.append(line)
            continue
        cur.append(line)
        if key is None and (line.startswith("TZID:") or line.startswith("UID:")):
            key = line
        elif line.startswith("RECURRENCE-ID"):
            key += "\r\n" + line
        if line in ("END:VTIMEZONE", "END:VEVENT"):
            blocks[key] = "\r\n".join(cur)
            cur = None
    return "\r\n".join(header), blocks


def check_plain(cfg, feed, by_uid, plans):
    """golden/<config>.ics is the all-meetings feed as tandem wrote it before
    it published DST edges apart: every meeting without an occurrence
    published apart (nor moved, nor changed by a holiday) must still be
    written byte for byte the same, and so must the header and the
    VTIMEZONEs of the zones only such meetings use."""
    golden = os.path.join(HERE, "golden", cfg.name + ".ics")
    if not os.path.exists(golden):
        return []
    with open(golden, encoding="utf-8", newline="") as f:
        old_header, old = feed_blocks(f.read())
    new_header, new = feed_blocks(feed.decode("utf-8"))
    planned = {"{}@{}".format(m.id, cfg.domain) for m in cfg.meetings
               if any(o["source"] in ("move", "holiday") for o in plans[m.id].occurrences)}
    edged = {uid for uid, ev in by_uid.items() if ev.get("_exceptions") or ev.get("_overrides") or uid in planned}
    edged_zones = {"TZID:" + m.zone for m in cfg.meetings if "{}@{}".format(m.id, cfg.domain) in edged}
    problems = []
    if old_header != new_header:
        problems.append("the calendar properties changed")
    for key, text in sorted(old.items()):
        if key.split("\r\n")[0][4:] in edged or key in edged_zones:
            continue
        if new.get(key) != text:
            problems.append("{} changed".format(key))
    return ["{} [plain]: the feed of meetings without DST edges is not what tandem wrote before (golden/{}.ics): {}".format(
        cfg.name, cfg.name, "; ".join(problems))] if problems else []


# What preview says of each occurrence besides its times (issue 10: "moved
# and skipped occurrences are shown with their status, original start and
# reason ... and the notices due, like reminders"; issue 11: "preview shows
# the host per occurrence", README: a pair's "pairing" and "round").
SPEC_FIELDS = ("title", "departments", "local", "status", "original_start", "reason", "notices", "host",
               "pairing", "round")


def spec_fields(label, want_set, got_set, most=5):
    out = []
    for k in sorted(set(want_set) & set(got_set), key=lambda k: (k[1], k[0])):
        want, got = want_set[k], got_set[k]
        bad = [f for f in SPEC_FIELDS if got.get(f) != want[f]]
        if bad:
            out.append("{} [spec]: {} {}: {}".format(label, k[0], k[1], "; ".join(
                "{} {}, expected {}".format(f, json.dumps(got.get(f)), json.dumps(want[f])) for f in bad)))
            if len(out) == most:
                out.append("{} [spec]: ... (the first {} shown)".format(label, most))
                break
    return out


def export_all(cfg, path, tandem, tmp, feeds):
    """Runs tandem for every feed: {dept: (feed bytes, exported again,
    written with -o, preview --json)}."""
    out = {}
    for dept in feeds:
        label = "{} [{}]".format(cfg.name, dept or "all")
        sel = ["--department", dept] if dept else []
        feed = run([tandem, "-c", path, "export"] + sel, label + " export")
        again = run([tandem, "-c", path, "export"] + sel, label + " export (again)")
        ics = os.path.join(tmp, "{}-{}.ics".format(cfg.name, dept or "all"))
        run([tandem, "-c", path, "export", "-o", ics] + sel, label + " export -o")
        with open(ics, "rb") as f:
            written = f.read()
        window = ["--from", iso(WINDOW_FROM), "--days", str(WINDOW_DAYS), "--json"]
        listed = json.loads(run([tandem, "-c", path, "preview"] + window + sel, label + " preview"))
        out[dept] = (ics, feed, again, written, listed)
    return out


def check_spec(cfg, label, meetings, tandem_occ, tandem_cancelled, horizons, seen):
    """spec: the INI, read independently, against tandem's preview. What
    depends on now + feed_horizon (holidays, hosts, single events) is
    computed for the horizon at the first and at the last run of tandem:
    preview must match one of them."""
    results = []
    for horizon in horizons:
        problems, shown = [], set(seen)
        spec, spec_cancelled = spec_occurrences(cfg, meetings, horizon)
        for what, want_set, got_set in (("spec", spec, tandem_occ), ("spec, cancelled", spec_cancelled, tandem_cancelled)):
            d = diff("{} [{}]".format(label, what), want_set, got_set, "the README", "tandem",
                     shown if what == "spec" else None)
            if d:
                problems.append(d)
            problems += spec_fields(label, want_set, got_set)
        results.append((problems, shown))
        if not problems:
            break
    problems, shown = results[-1] if not results[-1][0] else results[0]
    seen.update(shown)
    return problems


def check_hosts(cfg, label, tandem_occ, organizers, engines):
    """The host of each occurrence in preview is the ORGANIZER (its
    manager's address) that RFC 5545 reads in the feed (README "Host
    rotation": "The host's manager is the occurrence's ORGANIZER"), and
    python3-icalendar and ical.js read that ORGANIZER too (issue 11: "or
    whatever encoding keeps the feed a single series that
    python3-icalendar and ical.js expand to the right host per
    occurrence")."""
    want = {(k[0], k[1]): cfg.managers[o["host"]][1] if o.get("host") else None for k, o in tandem_occ.items()}
    problems = []
    for who, got in [("rfc", organizers)] + [(w, engines[w]) for w in ORGANIZER_ENGINES]:
        # (an occurrence one lists and the other not is in the diffs above)
        wrong = sorted((k, got[k], v) for k, v in want.items() if k in got and got[k] != v)
        if wrong:
            problems.append("{} [{} organizer]: {} occurrence(s) whose ORGANIZER is not the host's manager in "
                            "preview:\n".format(label, who, len(wrong)) + "\n".join(
                                "  {:<32} {}  ORGANIZER {}, host's manager {}".format(k[0], k[1], g, v)
                                for k, g, v in wrong[:MAX_DIFF_LINES]))
    return problems


def check_config(path, tandem, tmp, stats, verbose):
    cfg = Config(path)
    run([tandem, "-c", path, "check"], "tandem check {}".format(path))
    problems = []
    seen = {who: set() for who in ["spec", "rfc"] + ENGINES}
    # now + feed_horizon, before and after tandem ran: whole seconds, as
    # tandem's clock has them
    before = dt.datetime.now(UTC).replace(microsecond=0)
    feeds = [None] + list(cfg.departments)
    outputs = export_all(cfg, path, tandem, tmp, feeds)
    after = dt.datetime.now(UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
    horizons = sorted({before + cfg.feed_horizon, after + cfg.feed_horizon})
    # a pair that never meets (a pairing that ends before its cycle does)
    # is in no feed
    meet = [m for m in cfg.meetings if m.pairing is None or spec_plans(cfg, horizons[0])[m.id].occurrences]
    feeds = [(None, meet)] + [(d, [m for m in meet if d in m.departments]) for d in cfg.departments]
    for dept, meetings in feeds:
        label = "{} [{}]".format(cfg.name, dept or "all")
        ics, feed, again, written, listed = outputs[dept]
        if again != feed or written != feed:
            problems.append("{}: exporting twice (or with -o) does not give byte-identical feeds".format(label))
        try:
            parsed = check_feed(feed, cfg, meetings, label)
        except Failure as e:
            problems.append(str(e))
            continue
        by_uid = parsed.series
        if dept is None:
            problems += check_plain(cfg, feed, by_uid, spec_plans(cfg, horizons[0]))

        # cancelled occurrences are listed by preview, with their status,
        # and are in no calendar
        preview = [o for o in listed if o.get("status") != "cancelled"]
        tandem_occ = occurrence_keys(preview, label + " tandem preview")
        tandem_cancelled = occurrence_keys([o for o in listed if o.get("status") == "cancelled"],
                                           label + " tandem preview (cancelled)")
        zones = {m.id: zone(m.zone) for m in meetings}
        for o in listed:
            if o["meeting"] in zones:
                t = parse_utc(o["start"]).astimezone(zones[o["meeting"]])
                o["why"] = "{} {} {}{}".format(t.strftime("%a %Y-%m-%d %H:%M"), t.tzinfo, o.get("reason") or "",
                                               " host {}".format(o["host"]) if o.get("host") else "").strip()
        stats.feeds += 1
        stats.occurrences += len(tandem_occ)
        stats.changed += sum(1 for o in listed if o.get("status") in ("moved", "cancelled"))
        stats.hosted += sum(1 for o in preview if o.get("host"))

        problems += check_spec(cfg, label, meetings, tandem_occ, tandem_cancelled, horizons, seen["spec"])
        if [o["start"] for o in listed] != sorted(o["start"] for o in listed):
            problems.append("{}: preview is not in time order".format(label))

        # rfc: the feed, read by RFC 5545, against tandem's preview. README:
        # "DTSTART is the first real occurrence"; RFC 5545 section 3.8.5.3:
        # "The DTSTART property value SHOULD be synchronized with the
        # recurrence rule ... [else the recurrence set] is undefined".
        for uid, ev in sorted(by_uid.items()):
            w0, _ = feed_datetime(*ev["DTSTART"][0])
            if w0 not in rule_walls(ev["RRULE"][0][1], w0, w0):
                problems.append("{} [rfc]: {}: DTSTART {} is not an instance of RRULE:{} (not synchronized: "
                                "RFC 5545 section 3.8.5.3)".format(label, uid, w0, ev["RRULE"][0][1]))
        expect, tally = feed_expectations(parsed, cfg)
        d = diff(label + " [rfc]", expect["rfc"], tandem_occ, "RFC 5545 on the feed", "tandem", seen["rfc"])
        if d:
            problems.append(d)

        # the independent engines, run side by side
        drift = sabre_drift(by_uid)
        engines, organizers = run_engines(ics, label, set(zones))
        for who, got in engines.items():
            want = expect[who]
            if who == "sabre":
                want, got, shifted = apply_drift(want, got, drift)
                if shifted:
                    tally[who]["sabre-gap-drift"] = shifted
            d = diff("{} [{}]".format(label, who), want, got,
                     "RFC 5545 + known deviations", who, seen[who])
            if d:
                problems.append(d)
            for k, v in tally[who].items():
                stats.deviations[who][k] = stats.deviations[who].get(k, 0) + v
            if verbose:
                print("  {:<30} {:<7} {:>5} occurrences; known deviations: {}".format(
                    label, who, len(got), ", ".join("{} {}".format(k, v) for k, v in sorted(tally[who].items())) or "none"))
        problems += check_hosts(cfg, label, tandem_occ, expect["organizers"], organizers)
    stats.configs += 1
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tandem", default=os.environ.get("TANDEM", os.path.join(ROOT, "build", "tandem")))
    ap.add_argument("--keep", metavar="DIR", help="write the feeds to DIR and keep them")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("configs", nargs="*")
    a = ap.parse_args()
    configs = a.configs or sorted(glob.glob(os.path.join(HERE, "configs", "*.ini"))) + [
        os.path.join(ROOT, "config", "example.ini")]
    stats = Stats()
    failed = []
    try:
        preflight()
        if not os.access(a.tandem, os.X_OK):
            raise Failure("no tandem binary at {} (build it, or pass --tandem)".format(a.tandem))
        with tempfile.TemporaryDirectory(prefix="tandem-interop-") as tmp:
            if a.keep:
                os.makedirs(a.keep, exist_ok=True)
                tmp = a.keep
            for path in configs:
                try:
                    problems = check_config(path, a.tandem, tmp, stats, a.verbose)
                except Failure as e:
                    problems = [str(e)]
                if problems:
                    failed.append(path)
                    print("FAIL {}\n{}\n".format(path, "\n\n".join(problems)), flush=True)
                elif a.verbose:
                    print("ok   {}".format(path), flush=True)
    except Failure as e:
        print("interop: FAIL: {}".format(e), file=sys.stderr)
        return 1
    if failed:
        print("interop: FAIL: {} of {} configs: {}".format(len(failed), len(configs), ", ".join(
            os.path.basename(p) for p in failed)))
        return 1
    for who in ENGINES:
        for k, why in KNOWN_DEVIATIONS[who]:
            if stats.deviations[who].get(k):
                print("known deviation {} ({} occurrences): {}".format(k, stats.deviations[who][k], why))
    ndev = sum(v for d in stats.deviations.values() for v in d.values())
    print("interop: {} config{}, {} feeds, {} occurrences ({} moved or cancelled, {} with a host), {} agree with "
          "tandem preview{}".format(
        stats.configs, "" if stats.configs == 1 else "s", stats.feeds, stats.occurrences, stats.changed, stats.hosted,
        ", ".join(ENGINES),
        " (but for {} occurrence(s) of the known deviations above)".format(ndev) if ndev else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
