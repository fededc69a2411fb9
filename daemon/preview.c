/* preview.c — lists occurrences: a table grouped by day, or JSON built
 * with jansson. */
#include "preview.h"

#include <errno.h>
#include <jansson.h>

#include "util.h"

static const char *const day_abbr[8] = {NULL, "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

/* "Tue 2026-12-01 10:00-11:00 CET" in the zone: the date in ISO 8601 (a
 * "12-01" reads as January 12 to half the world); the end's abbreviation
 * is given too when a DST change falls inside the meeting. */
static void format_span(char *buf, size_t n, icaltimezone *z, int64_t start, int64_t end)
{
        Wall a = tz_instant_to_wall(z, start), b = tz_instant_to_wall(z, end);
        char abbr_a[16], abbr_b[16];
        snprintf(abbr_a, sizeof abbr_a, "%s", tz_abbrev(z, start));
        snprintf(abbr_b, sizeof abbr_b, "%s", tz_abbrev(z, end));
        snprintf(buf, n, "%s %04d-%02d-%02d %02d:%02d-%02d:%02d %s%s%s", day_abbr[date_weekday(a.date)], a.date.year,
                 a.date.month, a.date.day, a.hour, a.minute, b.hour, b.minute, abbr_a, streq(abbr_a, abbr_b) ? "" : "/",
                 streq(abbr_a, abbr_b) ? "" : abbr_b);
}

void preview_table(FILE *out, const Schedule *s, const Occurrence *occ, size_t n)
{
        icaltimezone *home = s->config->zone;
        int64_t last_day = INT64_MIN;

        if (n == 0) {
                fprintf(out, "No meetings in this window.\n");
                return;
        }
        for (size_t i = 0; i < n; i++) {
                const Meeting *m = occ[i].meeting;
                Wall w = tz_instant_to_wall(home, occ[i].start);
                int64_t day = date_to_days(w.date);
                if (day != last_day) {
                        fprintf(out, "%s%s %04d-%02d-%02d (%s)\n", i ? "\n" : "", day_abbr[date_weekday(w.date)],
                                w.date.year, w.date.month, w.date.day, tz_name(home));
                        last_day = day;
                }
                fprintf(out, "  %02d:%02d %-5s %s%s  [%s]", w.hour, w.minute, tz_abbrev(home, occ[i].start),
                        occ[i].status == OCCURRENCE_CANCELLED ? "CANCELLED: " : "", m->title, m->id);
                if (occ[i].status == OCCURRENCE_MOVED) {
                        Wall o = tz_instant_to_wall(home, occ[i].rid);
                        fprintf(out, " moved from %s %04d-%02d-%02d %02d:%02d", day_abbr[date_weekday(o.date)], o.date.year,
                                o.date.month, o.date.day, o.hour, o.minute);
                }
                fprintf(out, occ[i].reason ? " (%s)\n" : "\n", occ[i].reason);
                int64_t notice = schedule_notice_due(&occ[i]);
                if (notice >= 0) {
                        Wall nw = tz_instant_to_wall(home, notice);
                        fprintf(out, "      notice in chat: %s %04d-%02d-%02d %02d:%02d\n", day_abbr[date_weekday(nw.date)],
                                nw.date.year, nw.date.month, nw.date.day, nw.hour, nw.minute);
                }
                if (occ[i].status == OCCURRENCE_CANCELLED)
                        continue;
                if (m->pair.pairing)
                        fprintf(out, "      pairing %s, round %u of %u%s\n", m->pair.pairing->template.id,
                                m->pair.offset + 1, m->pair.cycle, m->pair.epoch > 1 ? " (since the departments changed)" : "");
                if (occ[i].host)
                        fprintf(out, "      host: %s (%s)\n", occ[i].host->name, occ[i].host->manager_name);
                for (size_t k = 0; k < m->n_departments; k++) {
                        const Department *d = m->departments[k];
                        char span[96];
                        format_span(span, sizeof span, d->zone, occ[i].start, occ[i].end);
                        fprintf(out, "      %-22.22s %s  %s\n", d->name, span, tz_name(d->zone));
                }
                if (m->n_reminders == 0) {
                        fprintf(out, "      reminders: none\n");
                        continue;
                }
                /* a reminder on the day of the heading shows its time, on
                 * another day its date too */
                fprintf(out, "      reminders:");
                for (size_t k = 0; k < m->n_reminders; k++) {
                        Wall r = tz_instant_to_wall(home, occ[i].start - m->reminders[k].before);
                        fprintf(out, "%s %s before (", k ? "," : "", m->reminders[k].text);
                        if (date_to_days(r.date) != day)
                                fprintf(out, "%s %04d-%02d-%02d ", day_abbr[date_weekday(r.date)], r.date.year,
                                        r.date.month, r.date.day);
                        fprintf(out, "%02d:%02d)", r.hour, r.minute);
                }
                fprintf(out, "\n");
        }
}

static json_t *rfc3339(icaltimezone *z, int64_t instant)
{
        char buf[32];
        tz_format_rfc3339(z, instant, buf);
        return json_string(buf);
}

static json_t *occurrence_json(const Occurrence *o)
{
        const Meeting *m = o->meeting;
        icaltimezone *utc = icaltimezone_get_utc_timezone();
        json_t *depts = json_array(), *local = json_object(), *reminders = json_array();
        for (size_t k = 0; k < m->n_departments; k++) {
                const Department *d = m->departments[k];
                json_array_append_new(depts, json_string(d->id));
                json_object_set_new(local, d->id, rfc3339(d->zone, o->start));
        }
        for (size_t k = 0; o->status != OCCURRENCE_CANCELLED && k < m->n_reminders; k++)
                json_array_append_new(reminders, json_pack("{s:s, s:o}", "before", m->reminders[k].text, "at",
                                                           rfc3339(utc, o->start - m->reminders[k].before)));
        json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:o}", "meeting", m->id, "title", m->title, "start",
                              rfc3339(utc, o->start), "end", rfc3339(utc, o->end), "departments", depts, "status",
                              schedule_status_names[o->status], "local", local, "reminders", reminders);
        if (o->host)
                json_object_set_new(j, "host", json_string(o->host->id));
        if (m->pair.pairing) {
                json_object_set_new(j, "pairing", json_string(m->pair.pairing->template.id));
                json_object_set_new(j, "round", json_integer(m->pair.offset + 1));
        }
        if (o->status != OCCURRENCE_HELD) {
                json_object_set_new(j, "original_start", rfc3339(utc, o->rid));
                json_object_set_new(j, "reason", o->reason ? json_string(o->reason) : json_null());
        }
        int64_t notice = schedule_notice_due(o);
        json_t *notices = json_array();
        if (notice >= 0)
                json_array_append_new(notices, json_pack("{s:s, s:o}", "type", schedule_status_names[o->status], "at",
                                                         rfc3339(utc, notice)));
        json_object_set_new(j, "notices", notices);
        return j;
}

int preview_json(FILE *out, const Schedule *s, const Occurrence *occ, size_t n)
{
        (void)s;
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, occurrence_json(&occ[i]));
        int r = json_dumpf(arr, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(arr);
        fputc('\n', out);
        return r < 0 ? -EIO : 0;
}
