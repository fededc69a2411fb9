#!/usr/bin/python3
"""Expands an iCalendar feed with Debian's python3-vobject the way the
Radicale CalDAV server does, independently of tandem and libical.

    /usr/bin/python3 expand_vobject.py FEED.ics FROM TO

Prints the occurrences that start in [FROM, TO) as JSON (expand_common.py
says how).

vobject resolves a TZID through the feed's own VTIMEZONE (its
TimezoneComponent builds a tzinfo from it), and expands with
`getrruleset(addRDate=True)`, a dateutil rruleset of RRULE, RDATE and
EXDATE. What to make of RECURRENCE-ID overrides and of DTEND is the
application's choice; this follows Radicale's visit_time_ranges()
(radicale/item/filter.py, used for its time-range queries and expand
reports): an override's RECURRENCE-ID value is removed from the master's
rruleset by Python equality (`dtstart not in ignore`), the override lists
its own DTSTART, and an occurrence ends at start + (DTEND - DTSTART),
computed with aware datetimes (that is, in wall-clock time when both are in
the same zone).
"""
import sys

try:
    import vobject
except ImportError as e:  # fail loudly: a skipped interop test proves nothing
    sys.exit("expand_vobject.py: {}: install Debian's python3-vobject (apt-get install python3-vobject, "
             "or scripts/install-deps --test) and run this with /usr/bin/python3".format(e))

from expand_common import MARGIN, UTC, main, occurrence


def starts(ev, ignore, stop):
    """Radicale's getrruleset(): the rruleset's instances, less the
    RECURRENCE-IDs of the overrides; just DTSTART without a rule."""
    if not ev.rruleset:
        yield ev.dtstart.value
        return
    for t in ev.getrruleset(addRDate=True):
        if t.astimezone(UTC) >= stop:
            return
        if t not in ignore:
            yield t


def expand(data, start, stop):
    cal = vobject.readOne(data.decode("utf-8"))
    by_uid = {}
    for ev in cal.contents.get("vevent", []):
        by_uid.setdefault(ev.uid.value, []).append(ev)
    out = []
    for uid, events in by_uid.items():
        ignore = [e.recurrence_id.value for e in events if hasattr(e, "recurrence_id")]
        for ev in events:
            dtstart = ev.dtstart.value
            if hasattr(ev, "dtend"):
                duration = ev.dtend.value - dtstart
            else:
                duration = ev.duration.value
            own = [] if hasattr(ev, "recurrence_id") else ignore
            for t in starts(ev, own, stop + MARGIN):
                if not start <= t.astimezone(UTC) < stop:
                    continue
                out.append(occurrence(uid, t, t + duration, "expand_vobject.py"))
    return out


if __name__ == "__main__":
    main(sys.argv, "expand_vobject.py", expand)
