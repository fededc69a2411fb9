#!/usr/bin/env node
// Expands an iCalendar feed with Mozilla's ical.js (npm "ical.js" 2.x, the
// parser inside Thunderbird), independently of tandem and libical.
//
//     node expand_icaljs.mjs FEED.ics FROM TO
//
// FROM and TO are RFC 3339 instants ("2026-01-01T00:00:00Z"). Prints a JSON
// array of the occurrences that START in [FROM, TO), in the shape of
// `tandem preview --json` reduced to what the feed carries:
//
//     {"meeting": "<UID before the @>", "uid": UID,
//      "start": "<UTC, RFC 3339 with Z>", "end": "<UTC>"}
//
// sorted by (start, meeting). Unlike the python expander, ical.js knows no
// zone by itself: every TZID resolves through the feed's own VTIMEZONEs,
// registered with ICAL.TimezoneService, so this also checks those.
//
// ical.js must be installed next to this file: npm ci --prefix tests/interop
import { readFileSync } from "node:fs";

let ICAL;
try {
  ICAL = (await import("ical.js")).default;
} catch (e) {
  const here = new URL(".", import.meta.url).pathname;
  process.stderr.write(
    `expand_icaljs.mjs: cannot load ical.js (${e.code || e.message}): ` +
      `run "npm ci --prefix ${here}" (or scripts/install-deps --test)\n`,
  );
  process.exit(1);
}
const version = JSON.parse(
  readFileSync(new URL("node_modules/ical.js/package.json", import.meta.url), "utf8"),
).version;
if (!version.startsWith("2.")) {
  process.stderr.write(`expand_icaljs.mjs: ical.js 2.x expected, found ${version}\n`);
  process.exit(1);
}

function die(msg) {
  process.stderr.write(`expand_icaljs.mjs: ${msg}\n`);
  process.exit(1);
}

function parseInstant(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(s);
  if (!m) die(`not an RFC 3339 UTC instant: ${s}`);
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
}

function rfc3339(unix) {
  return new Date(unix * 1000).toISOString().replace(".000Z", "Z");
}

// Expand a margin around the window and filter on the UTC start here, as
// the python expander does, so that only the start instant decides.
const MARGIN = 3 * 86400;

const [file, fromArg, toArg] = process.argv.slice(2);
if (!toArg) die("usage: expand_icaljs.mjs FEED.ics FROM TO");
const from = parseInstant(fromArg);
const to = parseInstant(toArg);

const cal = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
ICAL.TimezoneService.reset();
for (const vtz of cal.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(vtz);
}

// A VEVENT with a RECURRENCE-ID overrides one instance of the series with
// its UID (RFC 5545 section 3.8.4.4): ICAL.Event.relateException, with the
// overrides of the event's own UID only, as Thunderbird relates them (to
// the item of their UID); getOccurrenceDetails() then applies them to the
// instances of the event's RecurExpansion. One without RRULE (or RDATE) is
// a single occurrence.
//
// Not `new ICAL.Event(vevent)` alone: with no `exceptions` option, the
// constructor relates every VEVENT of the whole calendar that has a
// RECURRENCE-ID, whatever its UID (lib/ical/event.js, constructor;
// strictExceptions is off by default), keyed by the RECURRENCE-ID's local
// time, so one meeting's override replaces another meeting's occurrence at
// the same local time (README.md "Skips, moves and holidays").
const byUid = new Map();
for (const vevent of cal.getAllSubcomponents("vevent")) {
  const event = new ICAL.Event(vevent, { exceptions: [], strictExceptions: true });
  if (!byUid.has(event.uid)) byUid.set(event.uid, []);
  byUid.get(event.uid).push(event);
}

// Each occurrence also has its "organizer" (the address without
// "mailto:", or null): the ORGANIZER of the override that replaces it, else
// of its event, as Thunderbird shows it (README "Host rotation").
const out = [];
function push(event, start, end) {
  if (start < from || start >= to) return;
  const org = event.component.getFirstPropertyValue("organizer");
  out.push({
    meeting: event.uid.split("@")[0],
    uid: event.uid,
    start: rfc3339(start),
    end: rfc3339(end),
    organizer: org ? String(org).replace(/^mailto:/i, "") : null,
  });
}
for (const [uid, events] of byUid) {
  const masters = events.filter((e) => !e.isRecurrenceException());
  if (masters.length !== 1) die(`${uid}: ${masters.length} VEVENTs without RECURRENCE-ID, expected one`);
  const [event] = masters;
  for (const e of events) {
    // A TZID that did not resolve would silently become floating time.
    for (const name of ["dtstart", "dtend", "recurrence-id"]) {
      const prop = e.component.getFirstProperty(name);
      if (!prop) {
        if (name === "dtstart" || (name === "dtend" && !e.component.hasProperty("duration"))) die(`${uid}: no ${name}`);
        continue;
      }
      const tzid = prop.getParameter("tzid");
      const zone = prop.getFirstValue().zone;
      if (tzid ? !zone || zone.tzid !== tzid : zone !== ICAL.Timezone.utcTimezone) {
        die(`${uid}: ${name} zone ${tzid || "UTC"} did not resolve (got ${zone && zone.tzid})`);
      }
    }
    if (e !== event) event.relateException(e);
  }
  if (!event.isRecurring()) {
    push(event, event.startDate.toUnixTime(), event.endDate.toUnixTime());
    continue;
  }
  const it = event.iterator();
  for (let t = it.next(); t; t = it.next()) {
    const occ = event.getOccurrenceDetails(t);
    const start = occ.startDate.toUnixTime();
    if (start >= to + MARGIN) break;
    push(occ.item, start, occ.endDate.toUnixTime());
  }
}
out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.meeting < b.meeting ? -1 : a.meeting > b.meeting ? 1 : 0));
process.stdout.write("[\n" + out.map((o) => " " + JSON.stringify(o)).join(",\n") + (out.length ? "\n" : "") + "]\n");
