#!/usr/bin/python3
"""The alternative for the feed-generation benchmark: what a user would script
instead of `tandem export`, with Debian's python3-icalendar.

  /usr/bin/python3 gen_python.py CONFIG [-o PATH]

Reads the same tandem INI (the subset bench/genconf.py writes: weekly
cadences) and writes the same events: one VEVENT per meeting with RRULE,
DTSTART/DTEND with TZID, UID <id>@<domain>, LOCATION, DESCRIPTION, ATTENDEEs,
and a VTIMEZONE (with yearly rules derived from zoneinfo) for every zone used.
"""
import configparser
import datetime
import sys
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress, vRecur

WD = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
      "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
ICAL_WD = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def vtimezone(name):
    """A VTIMEZONE with one STANDARD/DAYLIGHT per transition of 2026, as yearly rules."""
    zi = ZoneInfo(name)
    tz = Timezone()
    tz.add("tzid", name)
    t = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    prev = t.astimezone(zi).utcoffset()
    found = False
    for h in range(1, 366 * 24):
        u = t + datetime.timedelta(hours=h)
        off = u.astimezone(zi).utcoffset()
        if off != prev:
            found = True
            local = (u - datetime.timedelta(hours=1)).replace(tzinfo=None) + prev + datetime.timedelta(hours=1)
            local = local.replace(minute=0, second=0)
            comp = TimezoneDaylight() if off > prev else TimezoneStandard()
            comp.add("tzname", u.astimezone(zi).tzname())
            comp.add("tzoffsetfrom", prev)
            comp.add("tzoffsetto", off)
            comp.add("dtstart", local)
            nth = (local.day - 1) // 7 + 1
            last = (local + datetime.timedelta(days=7)).month != local.month
            comp.add("rrule", {"freq": "yearly", "bymonth": local.month,
                               "byday": ("-1" if last else str(nth)) + ICAL_WD[local.weekday()]})
            tz.add_component(comp)
            prev = off
    if not found:
        comp = TimezoneStandard()
        comp.add("tzname", t.astimezone(zi).tzname())
        comp.add("tzoffsetfrom", prev)
        comp.add("tzoffsetto", prev)
        comp.add("dtstart", datetime.datetime(1970, 1, 1))
        tz.add_component(comp)
    return tz


def duration(s):
    h = m = 0
    s = s.strip()
    if "h" in s:
        a, s = s.split("h", 1)
        h = int(a)
    if s.endswith("m"):
        m = int(s[:-1])
    return datetime.timedelta(hours=h, minutes=m)


def main():
    args = sys.argv[1:]
    out = None
    if "-o" in args:
        i = args.index("-o")
        out = args[i + 1]
        del args[i:i + 2]
    cp = configparser.ConfigParser(interpolation=None, comment_prefixes=(";", "#"), inline_comment_prefixes=None)
    cp.optionxform = str
    cp.read(args[0])
    top = cp["tandem"] if cp.has_section("tandem") else {}
    default_tz = top.get("timezone", "UTC")
    domain = top.get("domain", "tandem.invalid")
    calname = top.get("calendar_name", "Joint meetings")
    depts = {s.split(":", 1)[1]: cp[s] for s in cp.sections() if s.startswith("department:")}

    cal = Calendar()
    cal.add("prodid", "-//bench//gen_python//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", calname)
    cal.add("x-wr-calname", calname)
    cal.add("refresh-interval", "PT1H", parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    zones = []
    events = []
    for s in cp.sections():
        if not s.startswith("meeting:"):
            continue
        mid = s.split(":", 1)[1]
        m = cp[s]
        zone = m.get("timezone", default_tz)
        if zone not in zones:
            zones.append(zone)
        days = sorted(WD[d.strip()] for d in m["day"].split(","))
        hh, mm = (int(x) for x in m["time"].split(":"))
        start = datetime.date.fromisoformat(m["start"])
        first = min(start + datetime.timedelta(days=(d - start.weekday()) % 7) for d in days)
        dtstart = datetime.datetime(first.year, first.month, first.day, hh, mm)
        ev = Event()
        ev.add("uid", "%s@%s" % (mid, domain))
        ev.add("summary", m["title"])
        ev.add("dtstart", dtstart, parameters={"TZID": zone})
        ev.add("dtend", dtstart + duration(m.get("duration", "1h")), parameters={"TZID": zone})
        ev.add("rrule", vRecur(freq="WEEKLY", byday=[ICAL_WD[d] for d in days]))
        if "location" in m:
            ev.add("location", m["location"])
        if "description" in m:
            ev.add("description", m["description"])
        for d in (x.strip() for x in m["departments"].split(",")):
            dep = depts[d]
            if "email" in dep:
                a = vCalAddress("mailto:" + dep["email"])
                a.params["cn"] = dep.get("name", d)
                a.params["cutype"] = "GROUP"
                a.params["role"] = "REQ-PARTICIPANT"
                ev.add("attendee", a, encode=0)
        ev.add("dtstamp", datetime.datetime(start.year, start.month, start.day, tzinfo=datetime.timezone.utc))
        ev.add("sequence", 0)
        events.append(ev)
    for z in sorted(zones):
        cal.add_component(vtimezone(z))
    for ev in events:
        cal.add_component(ev)
    data = cal.to_ical()
    if out:
        with open(out, "wb") as f:
            f.write(data)
    else:
        sys.stdout.buffer.write(data)


if __name__ == "__main__":
    main()
