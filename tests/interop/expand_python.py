#!/usr/bin/python3
"""Expands an iCalendar feed with Debian's python3-icalendar and
python3-recurring-ical-events, independently of tandem and libical.

    /usr/bin/python3 expand_python.py FEED.ics FROM TO

Prints the occurrences that start in [FROM, TO) as JSON (expand_common.py
says how). Run it with Debian's /usr/bin/python3: the
packages are installed there, not in another python on PATH.

Note on these libraries (icalendar 4.0.x, recurring-ical-events 2.0.x): a
TZID that names an IANA zone is resolved by pytz from the system tzdata (the
VTIMEZONE in the feed is not read), and wall times are localized with pytz's
default is_dst=False. run_interop.py lists where that differs from RFC 5545.
An override (a VEVENT with the UID of a recurring one and a RECURRENCE-ID)
replaces the instance of its UID on the RECURRENCE-ID's local date
(recurring_ical_events.UnfoldableCalendar.between(): "recurrence_id.date()"),
which is the instance it names wherever a series meets at most once a day,
as tandem's meetings do. Each occurrence also has its "organizer": the
ORGANIZER of the override that replaces it, else of its event (README
"Host rotation": the host's manager).
"""
import re
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

from expand_common import MARGIN, UTC, main, occurrence


def expand(ics_bytes, start, stop):
    cal = icalendar.Calendar.from_ical(ics_bytes)
    out = []
    for ev in recurring_ical_events.of(cal).between(start - MARGIN, stop + MARGIN):
        s = ev["DTSTART"].dt
        e = ev["DTEND"].dt
        if not start <= s.astimezone(UTC) < stop:
            continue
        org = ev.get("ORGANIZER")
        org = re.sub(r"(?i)^mailto:", "", str(org)) if org is not None else None
        out.append(occurrence(str(ev["UID"]), s, e, "expand_python.py", organizer=org))
    return out


if __name__ == "__main__":
    main(sys.argv, "expand_python.py", expand)
