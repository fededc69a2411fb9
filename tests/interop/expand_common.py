"""What the python expanders (expand_python.py, expand_vobject.py) share:
the command line, the window, and the JSON they print.

    /usr/bin/python3 expand_X.py FEED.ics FROM TO

FROM and TO are RFC 3339 instants ("2026-01-01T00:00:00Z"). The expander
prints a JSON array of the occurrences that START in [FROM, TO), in the
shape of `tandem preview --json` reduced to what the feed carries:

    {"meeting": "<UID before the @>", "uid": UID,
     "start": "<UTC, RFC 3339 with Z>", "end": "<UTC>"}

sorted by (start, meeting); expand_python.py adds "organizer", the address
of the occurrence's ORGANIZER without "mailto:" (or null).
"""
import datetime
import json
import sys

UTC = datetime.timezone.utc
# Expand a margin around the window and filter on the UTC start, so that
# neither a library's notion of the span (events that overlap it, compared
# in wall time) nor its edges decide what is listed.
MARGIN = datetime.timedelta(days=3)


def parse_instant(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def occurrence(uid, start, end, who, **more):
    """The JSON object of one occurrence; start and end must be zoned."""
    for t in (start, end):
        if not isinstance(t, datetime.datetime) or t.tzinfo is None:
            raise SystemExit("{}: expected a zoned date-time, got {!r}".format(who, t))
    return dict({"meeting": uid.split("@", 1)[0], "uid": uid,
                 "start": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "end": end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}, **more)


def main(argv, who, expand):
    """Runs expand(feed bytes, FROM, TO) -> occurrences and prints them."""
    if len(argv) != 4:
        sys.exit("usage: {} FEED.ics FROM TO".format(who))
    with open(argv[1], "rb") as f:
        data = f.read()
    occ = expand(data, parse_instant(argv[2]), parse_instant(argv[3]))
    occ.sort(key=lambda o: (o["start"], o["meeting"]))
    sys.stdout.write("[\n" + ",\n".join(" " + json.dumps(o) for o in occ) + ("\n" if occ else "") + "]\n")
