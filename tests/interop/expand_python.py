#!/usr/bin/python3
"""Expands an iCalendar feed with Debian's python3-icalendar and
python3-recurring-ical-events, independently of tandem and libical.

    /usr/bin/python3 expand_python.py FEED.ics FROM TO

FROM and TO are RFC 3339 instants ("2026-01-01T00:00:00Z"). Prints a JSON
array of the occurrences that START in [FROM, TO), in the shape of
`tandem preview --json` reduced to what the feed carries:

    {"meeting": "<UID before the @>", "uid": UID,
     "start": "<UTC, RFC 3339 with Z>", "end": "<UTC>"}

sorted by (start, meeting). Run it with Debian's /usr/bin/python3: the
packages are installed there, not in another python on PATH.

Note on these libraries (icalendar 4.0.x, recurring-ical-events 2.0.x): a
TZID that names an IANA zone is resolved by pytz from the system tzdata (the
VTIMEZONE in the feed is not read), and wall times are localized with pytz's
default is_dst=False. run_interop.py lists where that differs from RFC 5545.
"""
import datetime
import json
import sys

MISSING = ("expand_python.py: {}: install Debian's python3-icalendar and "
           "python3-recurring-ical-events (apt-get install python3-icalendar "
           "python3-recurring-ical-events, or scripts/install-deps --test) and run "
           "this with /usr/bin/python3")

try:
    import icalendar
    import recurring_ical_events
except ImportError as e:  # fail loudly: a skipped interop test proves nothing
    sys.exit(MISSING.format(e))

UTC = datetime.timezone.utc
# Expand a margin around the window and filter on the UTC start here, so
# that neither the library's notion of the span (it returns events that
# overlap it, compared in wall time) nor its edges decide what is listed.
MARGIN = datetime.timedelta(days=3)


def parse_instant(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def rfc3339(dt):
    if not isinstance(dt, datetime.datetime) or dt.tzinfo is None:
        raise SystemExit("expand_python.py: expected a zoned date-time, got {!r}".format(dt))
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expand(ics_bytes, start, stop):
    cal = icalendar.Calendar.from_ical(ics_bytes)
    out = []
    for ev in recurring_ical_events.of(cal).between(start - MARGIN, stop + MARGIN):
        s = ev["DTSTART"].dt
        e = ev["DTEND"].dt
        if not start <= s.astimezone(UTC) < stop:
            continue
        uid = str(ev["UID"])
        out.append({"meeting": uid.split("@", 1)[0], "uid": uid, "start": rfc3339(s), "end": rfc3339(e)})
    out.sort(key=lambda o: (o["start"], o["meeting"]))
    return out


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: expand_python.py FEED.ics FROM TO")
    with open(argv[1], "rb") as f:
        data = f.read()
    occ = expand(data, parse_instant(argv[2]), parse_instant(argv[3]))
    sys.stdout.write("[\n" + ",\n".join(" " + json.dumps(o) for o in occ) + ("\n" if occ else "") + "]\n")


if __name__ == "__main__":
    main(sys.argv)
