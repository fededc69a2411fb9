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
                fprintf(out, "  %02d:%02d %-5s %s  [%s]\n", w.hour, w.minute, tz_abbrev(home, occ[i].start), m->title,
                        m->id);
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
        for (size_t k = 0; k < m->n_reminders; k++)
                json_array_append_new(reminders, json_pack("{s:s, s:o}", "before", m->reminders[k].text, "at",
                                                           rfc3339(utc, o->start - m->reminders[k].before)));
        return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "meeting", m->id, "title", m->title, "start",
                         rfc3339(utc, o->start), "end", rfc3339(utc, o->end), "departments", depts, "local", local,
                         "reminders", reminders);
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
