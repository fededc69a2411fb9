#!/usr/bin/env node
// Who organizes each occurrence of a feed, as Mozilla's ical.js (the engine
// of Thunderbird) reads it: the ORGANIZER of the override (RECURRENCE-ID)
// that replaces an instance, else of its series or single event. For
// test_pairing_feeds.py (README "Host rotation and pairings"). Overrides are
// related to their series by UID, as Thunderbird and
// tests/interop/expand_icaljs.mjs do (new ICAL.Event(vevent) alone would
// relate every override of the calendar to every series at its local time).
//
//     node organizers_icaljs.mjs FEED.ics FROM TO
//
// Prints a JSON array of {"uid", "start", "end" (UTC, RFC 3339),
// "organizer" (the address without "mailto:", or null)} for the occurrences
// that start in [FROM, TO). Uses the ical.js the interop tests install:
// npm ci --prefix tests/interop
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const interop = new URL("../interop/", import.meta.url).pathname;
let ICAL;
try {
  const require = createRequire(interop + "package.json");
  ICAL = (await import(pathToFileURL(require.resolve("ical.js").replace(/ical\.es5\.cjs$/, "ical.js")))).default;
} catch (e) {
  process.stderr.write(`organizers_icaljs.mjs: cannot load ical.js (${e.code || e.message}): run "npm ci --prefix ${interop}"\n`);
  process.exit(1);
}

const [file, fromArg, toArg] = process.argv.slice(2);
const from = Date.parse(fromArg) / 1000;
const to = Date.parse(toArg) / 1000;
const rfc3339 = (unix) => new Date(unix * 1000).toISOString().replace(".000Z", "Z");
const organizer = (event) => {
  const v = event.component.getFirstPropertyValue("organizer");
  return v ? String(v).replace(/^mailto:/i, "") : null;
};

const cal = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
for (const vtz of cal.getAllSubcomponents("vtimezone")) ICAL.TimezoneService.register(vtz);
const byUid = new Map();
for (const vevent of cal.getAllSubcomponents("vevent")) {
  const event = new ICAL.Event(vevent, { strictExceptions: true, exceptions: [] });
  if (!byUid.has(event.uid)) byUid.set(event.uid, []);
  byUid.get(event.uid).push(event);
}
const out = [];
for (const [uid, events] of byUid) {
  const master = events.find((e) => !e.isRecurrenceException());
  for (const e of events) if (e !== master) master.relateException(e);
  if (!master.isRecurring()) {
    const start = master.startDate.toUnixTime();
    if (start >= from && start < to)
      out.push({ uid, start: rfc3339(start), end: rfc3339(master.endDate.toUnixTime()), organizer: organizer(master) });
    continue;
  }
  const it = master.iterator();
  for (let t = it.next(); t; t = it.next()) {
    const occ = master.getOccurrenceDetails(t);
    const start = occ.startDate.toUnixTime();
    if (start >= to + 3 * 86400) break;
    if (start >= from && start < to)
      out.push({ uid, start: rfc3339(start), end: rfc3339(occ.endDate.toUnixTime()), organizer: organizer(occ.item) });
  }
}
process.stdout.write(JSON.stringify(out) + "\n");
