"""The feeds of host rotations and pairings as calendars read them (README
"Host rotation and pairings"): for each config in pairing_feeds/, the
all-meetings feed and every department's, expanded by the five independent
engines of the interop tests (tests/interop/expand_*: python3-icalendar
with recurring-ical-events, ical.js, python3-vobject, sabre/vobject,
rrule.js), must list exactly the occurrences of `tandem preview --json`
(held and moved ones: a cancelled occurrence is in no calendar), start and
end; and python3-icalendar and ical.js must find, for each occurrence, the
ORGANIZER that preview's "host" names (the host department's manager).

The interop oracle (tests/interop/run_interop.py) reads one VEVENT per
[meeting:ID] and takes every override for a move; pairs, single events and
overrides that change only the ORGANIZER are checked here instead, in
pairing_feeds/*.ini and config/example.ini. These configs have no
occurrence at a daylight-saving edge (that is the interop matrix's part),
so no engine's known deviation applies: every engine must agree exactly.

Needs what the interop tests need (scripts/install-deps --test, and
npm ci --prefix tests/interop).
"""

import configparser
import json
import os
import re
import subprocess
import tempfile

import harness


HERE = os.path.dirname(os.path.abspath(__file__))
INTEROP = os.path.join(os.path.dirname(HERE), "interop")
PYTHON = "/usr/bin/python3"
WINDOW_FROM, WINDOW_DAYS = "2027-01-01T00:00:00Z", 730
WINDOW_TO = harness.rfc3339(harness.instant(WINDOW_FROM) + WINDOW_DAYS * 86400)
ENGINE_ENV = dict(os.environ, TZ="UTC")  # rrule.js returns dates in the process's zone

ENGINES = {
    "python": [PYTHON, os.path.join(INTEROP, "expand_python.py")],
    "icaljs": ["node", os.path.join(INTEROP, "expand_icaljs.mjs")],
    "vobject": [PYTHON, os.path.join(INTEROP, "expand_vobject.py")],
    "sabre": ["php", os.path.join(INTEROP, "expand_sabre.php")],
    "rrule": ["node", os.path.join(INTEROP, "expand_rrule.mjs")],
}


def meeting_of(uid):
    """A published VEVENT's meeting: its UID before the @, less the local
    date of an occurrence published on its own ("<id>.<YYYYMMDD>@")."""
    return re.sub(r"\.\d{8}$", "", uid.split("@", 1)[0])


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=ENGINE_ENV)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr[-3000:]))
    return p.stdout


def managers(path):
    cp = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"))
    cp.read(path, encoding="utf-8")
    out = {}
    for sec in cp.sections():
        kind, _, ident = sec.partition(":")
        if kind == "department" and "manager" in cp[sec]:
            out[ident] = re.search(r"<([^>]+)>", cp[sec]["manager"]).group(1)
    return out


class PairingFeeds(harness.TestCase):
    maxDiff = None

    def expected(self, occurrences, dept):
        return {(o["meeting"], o["start"], o["end"]) for o in occurrences
                if o["status"] != "cancelled" and (dept is None or dept in o["departments"])}

    def check_config(self, path):
        check = harness.run_tandem("-c", path, "check")
        self.assertEqual(check.returncode, 0, check.stderr)
        preview = json.loads(run([harness.TANDEM, "-c", path, "preview", "--from", WINDOW_FROM, "--days",
                                  str(WINDOW_DAYS), "--json"]))
        self.assertTrue(preview)
        depts = sorted({d for o in preview for d in o["departments"]})
        tmp = tempfile.mkdtemp(dir=self.dir)
        for dept in [None] + depts:
            sel = ["--department", dept] if dept else []
            ics = os.path.join(tmp, "%s.ics" % (dept or "all"))
            run([harness.TANDEM, "-c", path, "export", "-o", ics] + sel)
            want = self.expected(preview, dept)
            procs = {who: subprocess.Popen(cmd + [ics, WINDOW_FROM, WINDOW_TO], stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True, env=ENGINE_ENV)
                     for who, cmd in ENGINES.items()}
            results = {who: p.communicate(timeout=300) + (p.returncode,) for who, p in procs.items()}
            label = "%s [%s]" % (os.path.basename(path), dept or "all")
            for who, (out, err, rc) in results.items():
                self.assertEqual(rc, 0, "%s on %s: %s" % (who, ics, err[-3000:]))
                got = sorted((meeting_of(o["uid"]), o["start"], o["end"]) for o in json.loads(out))
                self.assertEqual(len(got), len(set(got)), "%s: %s lists an occurrence twice" % (label, who))
                self.assertEqual(set(got) ^ want, set(), "%s %s: only in the engine: %s; only in preview: %s"
                                 % (label, who, sorted(set(got) - want)[:10], sorted(want - set(got))[:10]))
            if dept is None:
                self.check_organizers(path, ics, preview)
        return preview

    def check_organizers(self, path, ics, preview):
        """Each occurrence's ORGANIZER is its host's manager, as python3-
        icalendar (recurring-ical-events) and ical.js read the feed."""
        mail = managers(path)
        want = {(o["meeting"], o["start"]): mail[o["host"]] if "host" in o else None
                for o in preview if o["status"] != "cancelled"}
        got_js = {(meeting_of(o["uid"]), o["start"]): o["organizer"]
                  for o in json.loads(run(["node", os.path.join(HERE, "organizers_icaljs.mjs"), ics, WINDOW_FROM,
                                           WINDOW_TO]))}
        got_py = json.loads(run([PYTHON, "-c", ORGANIZERS_PY, ics, WINDOW_FROM, WINDOW_TO]))
        got_py = {(meeting_of(uid), start): org for uid, start, org in got_py}
        for who, got in (("ical.js", got_js), ("python3-icalendar", got_py)):
            wrong = {k: (got.get(k), v) for k, v in want.items() if got.get(k, "absent") != v}
            self.assertEqual(wrong, {}, "%s %s: (meeting, start): (ORGANIZER, host's manager)"
                             % (os.path.basename(path), who))
            self.assertEqual(set(got), set(want), who)

    def test_rotation(self):
        preview = self.check_config(os.path.join(HERE, "pairing_feeds", "rotation.ini"))
        # every host had turns, and the moved one kept its own
        sync = [o for o in preview if o["meeting"] == "sync" and o["status"] != "cancelled"]
        self.assertEqual({o["host"] for o in sync}, {"sales", "marketing", "support"})
        self.assertEqual([o["host"] for o in sync[:7]],
                         ["sales", "marketing", "support", "sales", "marketing", "support", "sales"])
        moved = [o for o in preview if o["status"] == "moved"]
        self.assertEqual(len(moved), 1)

    def test_pairing_weekly(self):
        preview = self.check_config(os.path.join(HERE, "pairing_feeds", "pairing-weekly.ini"))
        lunches = [o for o in preview if o.get("pairing") == "lunches"]
        self.assertEqual(len({o["meeting"] for o in lunches}), 15)
        self.assertTrue(any(o["status"] == "moved" for o in lunches))
        self.assertTrue(any(o["status"] == "cancelled" for o in lunches))

    def test_example(self):
        preview = self.check_config(os.path.join(os.path.dirname(os.path.dirname(HERE)), "config", "example.ini"))
        self.assertTrue(any(o.get("pairing") for o in preview))
        self.assertGreater(len({o.get("host") for o in preview if o["meeting"] == "managers"}), 1)

    def test_pairing_other_cadences(self):
        preview = self.check_config(os.path.join(HERE, "pairing_feeds", "pairing-other.ini"))
        self.assertEqual({o["pairing"] for o in preview}, {"monthly", "twice", "month-end"})


# python3-icalendar with recurring-ical-events: (uid, start, organizer) of
# each occurrence starting in [FROM, TO).
ORGANIZERS_PY = r"""
import datetime, json, sys
import icalendar, recurring_ical_events
utc = datetime.timezone.utc
parse = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=utc)
frm, to = parse(sys.argv[2]), parse(sys.argv[3])
cal = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
out = []
for ev in recurring_ical_events.of(cal).between(frm - datetime.timedelta(days=3), to + datetime.timedelta(days=3)):
    start = ev["DTSTART"].dt.astimezone(utc)
    if frm <= start < to:
        org = ev.get("ORGANIZER")
        out.append((str(ev["UID"]), start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    str(org).replace("mailto:", "") if org is not None else None))
json.dump(out, sys.stdout)
"""


if __name__ == "__main__":
    harness.main()
