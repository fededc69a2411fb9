#!/usr/bin/python3
"""Which iCalendar encodings of a daylight-saving edge each calendar engine
reads as RFC 5545 means them: the measurement behind tandem's defensive
feed encoding (README.md, "What the engines read").

    /usr/bin/python3 tests/interop/measure_encodings.py [--markdown]

Each scenario is a small weekly meeting with one occurrence at an edge (a
local time that does not exist, one that exists twice, an EXDATE at a
missing time, an occurrence running over the change, ...), written in each
candidate encoding. Every engine of run_interop.py expands every variant,
and each cell says whether the engine lists exactly RFC 5545's occurrences
(start and end instants), or how it differs. The feeds are written here
by hand on purpose: they are the inputs of an experiment, not tandem's
output.
"""
import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_interop as ri  # noqa: E402

UTC = dt.timezone.utc
WEEK = dt.timedelta(days=7)


def z(wall, tz, fold=0):
    return wall.replace(tzinfo=ri.ZoneInfo(tz), fold=fold).astimezone(UTC)


def ical(t):
    return t.strftime("%Y%m%dT%H%M%S")


def utc(t):
    return t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


class Scenario:
    """A weekly meeting: `n` occurrences from wall time `first` in zone
    `tz`, lasting `length`; `edge` is the index of the occurrence at the
    edge; `skip` excludes it (an EXDATE scenario)."""

    def __init__(self, name, what, tz, first, length, n, edge, skip=False, until=False):
        self.name, self.what, self.tz, self.first = name, what, tz, first
        self.length, self.n, self.edge, self.skip, self.until = length, n, edge, skip, until
        self.walls = [first + k * WEEK for k in range(n)]

    def expected(self):
        return {(utc(z(w, self.tz)), utc(z(w, self.tz) + self.length))
                for k, w in enumerate(self.walls) if not (self.skip and k == self.edge)}


SCENARIOS = [
    Scenario("gap-dtstart", "DTSTART at a missing time (New York 02:30 on 2026-03-08)",
             "America/New_York", dt.datetime(2026, 3, 8, 2, 30), dt.timedelta(hours=1), 4, 0),
    Scenario("gap-later", "a later occurrence at a missing time (New York 02:30, 2026-03-08)",
             "America/New_York", dt.datetime(2026, 3, 1, 2, 30), dt.timedelta(hours=1), 4, 1),
    Scenario("fold-dtstart", "DTSTART at a doubled time (New York 01:30 on 2026-11-01)",
             "America/New_York", dt.datetime(2026, 11, 1, 1, 30), dt.timedelta(hours=1), 4, 0),
    Scenario("fold-later", "a later occurrence at a doubled time (Berlin 02:30, 2026-10-25)",
             "Europe/Berlin", dt.datetime(2026, 10, 18, 2, 30), dt.timedelta(minutes=45), 4, 1),
    Scenario("gap-south", "a later missing time, southern hemisphere (Sydney 02:30, 2026-10-04)",
             "Australia/Sydney", dt.datetime(2026, 9, 27, 2, 30), dt.timedelta(hours=1), 4, 1),
    Scenario("gap-exdate", "an EXDATE at a missing time (New York 02:30, 2026-03-08 skipped)",
             "America/New_York", dt.datetime(2026, 3, 1, 2, 30), dt.timedelta(hours=1), 4, 1, skip=True),
    Scenario("fold-exdate", "an EXDATE at a doubled time east of Greenwich (Berlin 02:30, 2026-10-25 skipped)",
             "Europe/Berlin", dt.datetime(2026, 10, 18, 2, 30), dt.timedelta(minutes=45), 4, 1, skip=True),
    Scenario("until-east", "UNTIL at the end of the last day, a late meeting east of Greenwich (Sydney 23:00)",
             "Australia/Sydney", dt.datetime(2026, 6, 6, 23, 0), dt.timedelta(hours=1), 3, 2, until=True),
    Scenario("span", "an occurrence running over the change (Berlin Sat 23:00 for 5h, 2026-03-28)",
             "Europe/Berlin", dt.datetime(2026, 3, 21, 23, 0), dt.timedelta(hours=5), 4, 1),
    Scenario("near", "an existing time hours after the change (New York 05:00, 2026-03-08)",
             "America/New_York", dt.datetime(2026, 3, 1, 5, 0), dt.timedelta(hours=1), 4, 1),
    Scenario("midnight", "a missing midnight (Santiago 00:30, 2026-09-06)",
             "America/Santiago", dt.datetime(2026, 8, 30, 0, 30), dt.timedelta(hours=1), 4, 1),
]


def vtimezone(tz):
    # the compact VTIMEZONE tandem itself publishes for the zone
    out = subprocess.run([ri.os.environ.get("TANDEM", os.path.join(ri.ROOT, "build", "tandem")),
                          "-c", "/dev/stdin", "export"], input=(
        "[tandem]\ntimezone = {0}\n[department:a]\n[department:b]\n"
        "[meeting:m]\ntitle = m\ndepartments = a, b\nday = monday\ntime = 12:00\nstart = 2025-01-01\n"
    ).format(tz).encode(), capture_output=True, check=True).stdout.decode()
    a = out.index("BEGIN:VTIMEZONE")
    return out[a:out.index("END:VTIMEZONE") + len("END:VTIMEZONE\r\n")]


def event(uid, lines):
    return "BEGIN:VEVENT\r\nUID:{}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:m\r\n{}END:VEVENT\r\n".format(
        uid, "".join(l + "\r\n" for l in lines))


def rule(s, count):
    return "RRULE:FREQ=WEEKLY;COUNT={}".format(count)


def encode(s, how):
    """The VEVENTs of scenario s in encoding `how`."""
    tz, uid = s.tz, "m@x"
    w0, we = s.walls[0], s.walls[s.edge]
    ie = z(we, tz)
    length = s.length
    tzp = ";TZID=" + tz
    dtend = "DTEND{}:{}".format(tzp, ical(w0 + length))
    exdate_wall = "EXDATE{}:{}".format(tzp, ical(we))
    exdate_utc = "EXDATE:{}".format(utc(ie))
    if s.until:
        last = s.walls[-1]
        end_of_day = z(last.replace(hour=23, minute=59, second=59), tz)
        until = {"until-day": end_of_day, "until-late": max(end_of_day, last.replace(tzinfo=UTC))}[how]
        return [event(uid, ["DTSTART{}:{}".format(tzp, ical(w0)), dtend,
                            "RRULE:FREQ=WEEKLY;UNTIL={}".format(utc(until))])]
    if s.skip:
        return {"exdate-wall": [event(uid, ["DTSTART{}:{}".format(tzp, ical(w0)), dtend, rule(s, s.n), exdate_wall])],
                "exdate-utc": [event(uid, ["DTSTART{}:{}".format(tzp, ical(w0)), dtend, rule(s, s.n), exdate_utc])],
                "exdate-both": [event(uid, ["DTSTART{}:{}".format(tzp, ical(w0)), dtend, rule(s, s.n),
                                            exdate_wall, exdate_utc])]}[how]
    if how == "plain":
        return [event(uid, ["DTSTART{}:{}".format(tzp, ical(w0)), dtend, rule(s, s.n)])]
    # The edge occurrence, in UTC.
    single = ["DTSTART:{}".format(utc(ie)), "DTEND:{}".format(utc(ie + length))]
    if s.edge == 0:
        # DTSTART moves to the next occurrence, whose local time exists once.
        w1 = s.walls[1]
        master = ["DTSTART{}:{}".format(tzp, ical(w1)), "DTEND{}:{}".format(tzp, ical(w1 + length)),
                  rule(s, s.n - 1)]
        if how == "rdate":
            return [event(uid, master + ["RDATE;VALUE=DATE-TIME:{}".format(utc(ie))])]
        if how == "separate":
            return [event(uid, master), event("m-edge@x", single)]
        if how == "override":
            # an RDATE to make the instance, an override to be sure of it
            return [event(uid, master + ["RDATE;VALUE=DATE-TIME:{}".format(utc(ie))]),
                    event(uid, ["RECURRENCE-ID:{}".format(utc(ie))] + single)]
    master = ["DTSTART{}:{}".format(tzp, ical(w0)), dtend, rule(s, s.n)]
    if how == "rdate":
        return [event(uid, master + [exdate_wall, "RDATE;VALUE=DATE-TIME:{}".format(utc(ie))])]
    if how == "separate":
        return [event(uid, master + [exdate_wall]), event("m-edge@x", single)]
    if how == "separate-2ex":
        return [event(uid, master + [exdate_wall, exdate_utc]), event("m-edge@x", single)]
    if how == "override":
        return [event(uid, master), event(uid, ["RECURRENCE-ID{}:{}".format(tzp, ical(we))] + single)]
    raise KeyError(how)


ENCODINGS = [
    ("plain", "the plain rule (tandem's output for plain meetings)"),
    ("rdate", "edge excluded by EXDATE (TZID form), published as RDATE;VALUE=DATE-TIME in UTC; "
              "at DTSTART: DTSTART moved to the next occurrence"),
    ("override", "an override VEVENT (same UID, RECURRENCE-ID in TZID form) with DTSTART/DTEND in UTC; "
                 "at DTSTART: DTSTART moved, UTC RDATE plus override"),
    ("separate", "edge excluded by EXDATE (TZID form), published as a separate VEVENT (own UID) in UTC; "
                 "at DTSTART: DTSTART moved (tandem's choice)"),
    ("separate-2ex", "as separate, with the EXDATE also in UTC"),
]
UNTIL_ENCODINGS = [("until-day", "UNTIL = the end of the last local day, in UTC (RFC 5545)"),
                   ("until-late", "UNTIL = the later of that and the last meeting's local time read as UTC "
                                  "(tandem's choice)")]
EXDATE_ENCODINGS = [("exdate-wall", "EXDATE;TZID=zone:wall time"), ("exdate-utc", "EXDATE in UTC"),
                    ("exdate-both", "both EXDATEs")]


def expand_all(path, frm, to):
    got = {}
    for who, cmd in ri.engine_commands(path, frm, to):
        try:
            out = ri.run(cmd, who, env=ri.ENGINE_ENV)
            got[who] = {(o["start"].replace("-", "").replace(":", ""), o["end"].replace("-", "").replace(":", ""))
                        for o in json.loads(out)}
        except ri.Failure as e:
            got[who] = str(e).splitlines()[0][:60]
    return got


def verdict(want, got):
    if isinstance(got, str):
        return "error"
    if got == want:
        return "ok"
    missing, extra = want - got, got - want
    ms = {a for a, _ in missing}
    es = {a for a, _ in extra}
    notes = []
    for a, b in sorted(extra):
        if a in ms:
            notes.append("other end")
    for a, b in sorted(missing):
        if a not in es:
            # moved? (by up to two hours)
            wa = dt.datetime.strptime(a, "%Y%m%dT%H%M%SZ")
            near = [e for e in es if abs(dt.datetime.strptime(e, "%Y%m%dT%H%M%SZ") - wa) <= dt.timedelta(hours=2)]
            if near:
                d = dt.datetime.strptime(near[0], "%Y%m%dT%H%M%SZ") - wa
                mins = int(d.total_seconds() // 60)
                notes.append("start {:+d}:{:02d}".format(mins // 60 if mins >= 0 else -((-mins) // 60), abs(mins) % 60))
                es.discard(near[0])
            else:
                notes.append("missing")
    for e in es:
        if e not in ms:
            notes.append("extra")
    return ", ".join(sorted(set(notes))) or "differs"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    ri.preflight()
    engines = [who for who, _ in ri.engine_commands("x", "y", "z")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="tandem-measure-") as tmp:
        zones = {}
        for s in SCENARIOS:
            if s.tz not in zones:
                zones[s.tz] = vtimezone(s.tz)
            encodings = UNTIL_ENCODINGS if s.until else EXDATE_ENCODINGS if s.skip else ENCODINGS
            for how, _ in encodings:
                if how == "separate-2ex" and s.edge == 0:
                    continue  # DTSTART moves: no EXDATE to write twice
                text = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//measure//EN\r\n" + zones[s.tz] +
                        "".join(encode(s, how)) + "END:VCALENDAR\r\n")
                path = os.path.join(tmp, "{}-{}.ics".format(s.name, how))
                with open(path, "w", encoding="utf-8", newline="") as f:
                    f.write(text)
                frm = (s.walls[0] - dt.timedelta(days=2)).strftime("%Y-%m-%dT00:00:00Z")
                to = (s.walls[-1] + dt.timedelta(days=2)).strftime("%Y-%m-%dT00:00:00Z")
                got = expand_all(path, frm, to)
                rows.append((s.name, how, [verdict(s.expected(), got[w]) for w in engines]))
    if a.markdown:
        print("| scenario | encoding | " + " | ".join(engines) + " |")
        print("| --- | --- | " + " | ".join("---" for _ in engines) + " |")
        for name, how, cells in rows:
            print("| {} | {} | {} |".format(name, how, " | ".join(cells)))
    else:
        print("{:<14} {:<12} ".format("scenario", "encoding") + " ".join("{:<16}".format(w) for w in engines))
        for name, how, cells in rows:
            print("{:<14} {:<12} ".format(name, how) + " ".join("{:<16}".format(c) for c in cells))
    print()
    for s in SCENARIOS:
        print("{}: {}".format(s.name, s.what))
    for how, what in ENCODINGS + EXDATE_ENCODINGS + UNTIL_ENCODINGS:
        print("{}: {}".format(how, what))


if __name__ == "__main__":
    main()
