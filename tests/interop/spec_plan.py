"""The occurrence plan of a meeting as issue 10 ("Holidays, moves and
cancellations") and the README describe it, computed independently of
tandem for run_interop.py's "spec" check: which occurrences of the rule are
skipped or moved by hand (skip, move) or because of a holiday (holidays,
working_days, on_holiday), and why; and, as issue 11 ("Host rotation and
round-robin pairings") and the README's "Host rotation and pairings" say,
who hosts each one. (A pair of a pairing is a meeting here too:
run_interop.py gives it its rounds and its skips.)

Holiday calendars are read here with python3-icalendar and
python3-recurring-ical-events, not with tandem's libical code: a holiday is
an all-day event (DTSTART a DATE; DTEND or DURATION for several days;
RRULE, RDATE, EXDATE and RECURRENCE-ID as those libraries expand them), less
those marked STATUS:CANCELLED and Google's observances (DESCRIPTION
"Observance"). Timed events are not used by the interop calendars.
"""
import datetime as dt

try:
    import icalendar
    import recurring_ical_events
except ImportError:  # run_interop.py's preflight says what to install
    icalendar = recurring_ical_events = None

DAY = dt.timedelta(days=1)
# How far a holiday may push a meeting, either way (issue 10: "within the
# same week for weekly cadences"; at most six days away otherwise).
HOLIDAY_MOVE_MAX_DAYS = 6


def read_holidays(path, first, last):
    """{date: [holiday names, in the order the libraries list them]} of an
    iCalendar file of holidays, for the dates first..last."""
    with open(path, "rb") as f:
        cal = icalendar.Calendar.from_ical(f.read())
    for ev in cal.walk("VEVENT"):
        # RFC 5545 section 3.6.1: a DATE DTSTART without DTEND or DURATION
        # lasts one day (recurring-ical-events 2.0 makes it end at its
        # start, and so no day at all)
        if "DTEND" not in ev and "DURATION" not in ev and not isinstance(ev["DTSTART"].dt, dt.datetime):
            ev.add("DURATION", DAY)
    out = {}
    for ev in recurring_ical_events.of(cal).between(first, last + DAY):
        if str(ev.get("STATUS", "")).upper() == "CANCELLED":
            continue
        desc = str(ev.get("DESCRIPTION", ""))
        if desc == "Observance" or desc.startswith(("Observance\n", "Observance\r")):
            continue
        start = ev["DTSTART"].dt
        if isinstance(start, dt.datetime):
            raise ValueError("{}: {}: a timed event; the interop calendars hold all-day events only".format(
                path, ev.get("SUMMARY")))
        if "DTEND" in ev:
            end = ev["DTEND"].dt
        elif "DURATION" in ev:
            end = start + ev["DURATION"].dt
        else:
            end = start + DAY  # RFC 5545 section 3.6.1: a DATE DTSTART alone is one day
        d = start
        while d < end:
            if first <= d <= last:
                out.setdefault(d, []).append(str(ev["SUMMARY"]))
            d += DAY
    return out


class Calendars:
    """The holiday calendars of a config: each department's own, then
    everyone's ([tandem] holidays), each file read once."""

    def __init__(self, cfg, first, last):
        self.cfg = cfg
        self.files = {}
        for path in list(cfg.holidays) + [p for d in cfg.dept_holidays.values() for p in d]:
            if path not in self.files:
                self.files[path] = read_holidays(path, first, last)

    def any(self):
        return bool(self.files)

    def name(self, dept, day):
        """The holiday on local date `day` for department dept, or None:
        its own calendars first, then everyone's; in the first calendar
        that has one, the names of that date joined by " / "."""
        for path in self.cfg.dept_holidays[dept] + self.cfg.holidays:
            names = self.files[path].get(day)
            if names:
                return " / ".join(names)
        return None


def monday(day):
    return day - dt.timedelta(days=day.weekday())


class Plan:
    """One meeting's occurrences by the rule and what became of them.

    zone(name) gives a tzinfo, instant(wall, tz) the instant of a wall time
    as RFC 5545 reads it (run_interop.py's). Holidays apply to the
    occurrences that start before `horizon` (README: "from the meeting's
    start up to feed_horizon ahead"); changes by hand wherever they are."""

    def __init__(self, cfg, m, walls, cals, zone, instant, horizon):
        self.cfg, self.m, self.cals, self.zone, self.instant = cfg, m, cals, zone, instant
        self.horizon = horizon
        self.tz = zone(m.zone)
        self.weekly = m.kind == "weekly" or (m.kind == "rrule" and "FREQ=WEEKLY" in m.rrule.upper())
        # source: what changed it, "skip", "move" or "holiday"
        self.occurrences = [{"wall": w, "rid": instant(w, self.tz), "status": "held", "reason": None,
                             "source": None} for w in walls]
        for o in self.occurrences:
            o["start"] = o["rid"]
        self._by_hand()
        if cals.any() and m.on_holiday != "keep" and self._has_holidays():
            self._holidays()

    def _has_holidays(self):
        return bool(self.cfg.holidays) or any(self.cfg.dept_holidays[d] for d in self.m.departments)

    def holiday(self, t):
        """issue 10: "A meeting is on a holiday when its date is a holiday
        for any of its departments, each in its own zone": the name from
        the first of the meeting's departments that has one."""
        for d in self.m.departments:
            name = self.cals.name(d, t.astimezone(self.zone(self.cfg.departments[d])).date())
            if name:
                return name
        return None

    def workable(self, t):
        """A working day for every department (each in its own zone), and a
        holiday for none."""
        for d in self.m.departments:
            local = t.astimezone(self.zone(self.cfg.departments[d])).date()
            if local.weekday() not in self.cfg.working_days[d]:
                return False
        return self.holiday(t) is None

    def _by_hand(self):
        """skip and move: "a date the meeting does not meet on" and "a move
        onto another occurrence" are config errors (tandem check must have
        passed), so every change names an occurrence."""
        on = {o["wall"].date(): o for o in self.occurrences}
        self.taken = set(on)
        for c in self.m.changes:
            self.taken.discard(c.date)
        for c in self.m.changes:
            o = on[c.date]
            o["reason"], o["source"] = c.reason, "move" if c.move else "skip"
            if c.move:
                o["status"] = "moved"
                o["start"] = self.instant(dt.datetime.combine(c.to, c.time or self.m.time), self.tz)
                self.taken.add(c.to)
            else:
                o["status"] = "cancelled"

    def _holidays(self):
        """on_holiday for the occurrences nobody changed by hand, in time
        order: skip, or move to the nearest day before/after that is
        workable, at the same local time; where there is none, skip. A
        holiday move passes over days the meeting takes already (a move
        onto another occurrence is an error by hand too)."""
        for o in self.occurrences:
            if o["source"] or o["rid"] >= self.horizon:
                continue
            name = self.holiday(o["rid"])
            if name is None:
                continue
            o["reason"], o["status"], o["source"] = name, "cancelled", "holiday"
            if self.m.on_holiday in ("before", "after"):
                t = self._nearest(o["wall"], -1 if self.m.on_holiday == "before" else 1)
                if t is not None:
                    o["status"], o["start"] = "moved", t
                    self.taken.discard(o["wall"].date())
                    self.taken.add(t.astimezone(self.tz).date())

    def _nearest(self, wall, step):
        day = wall.date()
        for k in range(1, HOLIDAY_MOVE_MAX_DAYS + 1):
            d = day + step * k * DAY
            if self.weekly and monday(d) != monday(day):
                return None  # weeks run Monday to Sunday
            if d in self.taken:
                continue
            t = self.instant(dt.datetime.combine(d, self.m.time), self.tz)
            if self.workable(t):
                return t
        return None

    def hosts(self, published_apart):
        """Each occurrence's "host" (a department id, or None), by issue
        11 and the README's "Host rotation":

        - a fixed host hosts every occurrence held (moved or not);
        - with host = rotate, the departments of the order take turns: "the
          host department advances one step per held occurrence -- a
          skipped or cancelled occurrence does not consume a turn, a moved
          one keeps its host", from the first occurrence with the first of
          the order (check, preview and export read no ledger);
        - "every occurrence another department hosts, from the start up to
          feed_horizon, is an override ... Beyond the horizon the event's
          ORGANIZER stands, and preview shows the same": the event names
          "the host of the occurrence at its DTSTART", which is the first
          occurrence held where the rule has it and not published apart
          (README "The feeds" and "Holidays and changes": a cancelled or
          moved first occurrence, or one at a DST edge, is left out of the
          rule, and DTSTART moves to the next); published_apart(o) says
          whether o is at a DST edge.

        A cancelled occurrence has no host."""
        order, k = self.m.host_order, 0
        for o in self.occurrences:
            o["host"] = None
            if o["status"] == "cancelled":
                continue
            if self.m.host_fixed:
                o["host"] = self.m.host_fixed
            elif order:
                o["host"] = order[k % len(order)]
                k += 1
        if not order:
            return
        first = next((o for o in self.occurrences if o["status"] == "held" and not published_apart(o)), None)
        for o in self.occurrences:
            if o["status"] != "cancelled" and o["rid"] >= self.horizon:
                o["host"] = first["host"] if first else None
