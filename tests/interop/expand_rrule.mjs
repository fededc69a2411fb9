#!/usr/bin/env node
// Expands an iCalendar feed with the npm "rrule" package (rrule.js 2.x, the
// JavaScript port of python-dateutil's rrule that web calendars and
// node-ical build on), independently of tandem, libical and ical.js.
//
//     TZ=UTC node expand_rrule.mjs FEED.ics FROM TO
//
// FROM and TO are RFC 3339 instants ("2026-01-01T00:00:00Z"). Prints a JSON
// array of the occurrences that START in [FROM, TO), in the shape of
// `tandem preview --json` reduced to what the feed carries:
//
//     {"meeting": "<UID before the @>", "uid": UID,
//      "start": "<UTC, RFC 3339 with Z>", "end": "<UTC>"}
//
// sorted by (start, meeting).
//
// rrule.js reads recurrence text, not whole calendars: each VEVENT's
// DTSTART, RRULE, RDATE and EXDATE lines go to its own iCalendar-text entry
// point, rrulestr(..., {forceset: true}), which resolves TZID with the Intl
// API (the feed's VTIMEZONEs are not read). Its dates are "in the system
// zone" (README, "Timezone Support"), so this must run with TZ=UTC, and
// then they are instants. DTEND and RECURRENCE-ID are read by rrule.js in the
// same way (a one-instance rule), as an application built on it would;
// an override (RECURRENCE-ID) replaces the master's instance at that
// instant, and an occurrence ends at start + (DTEND - DTSTART).
//
// rrule must be installed next to this file: npm ci --prefix tests/interop
import { readFileSync } from "node:fs";

function die(msg) {
  process.stderr.write(`expand_rrule.mjs: ${msg}\n`);
  process.exit(1);
}

let rrule;
try {
  rrule = await import("rrule");
} catch (e) {
  const here = new URL(".", import.meta.url).pathname;
  die(`cannot load rrule (${e.code || e.message}): run "npm ci --prefix ${here}" (or scripts/install-deps --test)`);
}
const rrulestr = rrule.rrulestr || rrule.default.rrulestr;
if (Intl.DateTimeFormat().resolvedOptions().timeZone !== "UTC") {
  die(`run with TZ=UTC (rrule.js returns dates in the system zone), not ${Intl.DateTimeFormat().resolvedOptions().timeZone}`);
}

function parseInstant(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(s);
  if (!m) die(`not an RFC 3339 UTC instant: ${s}`);
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

function rfc3339(ms) {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

const MARGIN = 3 * 86400 * 1000;

// The content lines of each VEVENT, unfolded (RFC 5545 section 3.1).
function vevents(text) {
  const lines = text.replace(/\r?\n[ \t]/g, "").split(/\r?\n/);
  const out = [];
  let cur = null;
  let depth = 0;
  for (const line of lines) {
    if (line === "BEGIN:VEVENT") {
      cur = [];
      depth = 0;
    } else if (line === "END:VEVENT") {
      out.push(cur);
      cur = null;
    } else if (cur && line.startsWith("BEGIN:")) {
      depth++;
    } else if (cur && line.startsWith("END:")) {
      depth--;
    } else if (cur && depth === 0) {
      cur.push(line);
    }
  }
  return out;
}

function prop(lines, name) {
  return lines.filter((l) => new RegExp(`^${name}[;:]`, "i").test(l));
}

// A DATE-TIME property (DTSTART, DTEND, RECURRENCE-ID) as rrule.js reads
// it: the one instance of a rule starting there.
function instant(line) {
  const dt = line.replace(/^[A-Z-]+/i, "DTSTART").replace(/;VALUE=DATE-TIME/i, "");
  return rrulestr(`${dt}\nRRULE:FREQ=DAILY;COUNT=1`).all()[0].getTime();
}

const [file, fromArg, toArg] = process.argv.slice(2);
if (!toArg) die("usage: TZ=UTC expand_rrule.mjs FEED.ics FROM TO");
const from = parseInstant(fromArg);
const to = parseInstant(toArg);

const byUid = new Map();
for (const ev of vevents(readFileSync(file, "utf8"))) {
  const uid = (prop(ev, "UID")[0] || "").replace(/^UID:/i, "");
  if (!byUid.has(uid)) byUid.set(uid, []);
  byUid.get(uid).push(ev);
}

const out = [];
for (const [uid, events] of byUid) {
  const overridden = new Set(events.flatMap((ev) => prop(ev, "RECURRENCE-ID").map(instant)));
  for (const ev of events) {
    const [dtstart] = prop(ev, "DTSTART");
    if (!dtstart) die(`${uid}: no DTSTART`);
    const start0 = instant(dtstart);
    const [dtend] = prop(ev, "DTEND");
    const [duration] = prop(ev, "DURATION");
    let length;
    if (dtend) length = instant(dtend) - start0;
    else {
      const m = /^DURATION:PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/i.exec(duration || "");
      if (!m) die(`${uid}: no DTEND, and no DURATION of the PTnHnMnS form`);
      length = ((+m[1] || 0) * 3600 + (+m[2] || 0) * 60 + (+m[3] || 0)) * 1000;
    }
    let starts;
    const recurrence = ["RRULE", "RDATE", "EXDATE"].flatMap((n) => prop(ev, n));
    if (prop(ev, "RRULE").length) {
      const set = rrulestr([dtstart, ...recurrence].join("\n"), { forceset: true });
      starts = set.between(new Date(from - MARGIN), new Date(to + MARGIN), true).map((d) => d.getTime());
    } else {
      starts = [start0];
    }
    const master = prop(ev, "RECURRENCE-ID").length === 0;
    for (const s of starts) {
      if (s < from || s >= to || (master && overridden.has(s))) continue;
      out.push({ meeting: uid.split("@")[0], uid, start: rfc3339(s), end: rfc3339(s + length) });
    }
  }
}
out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.meeting < b.meeting ? -1 : a.meeting > b.meeting ? 1 : 0));
process.stdout.write("[\n" + out.map((o) => " " + JSON.stringify(o)).join(",\n") + (out.length ? "\n" : "") + "]\n");
