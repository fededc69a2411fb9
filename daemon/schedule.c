/* schedule.c — meetings to VEVENTs (RFC 5545 section 3.6.1) and the
 * expansion of those VEVENTs into occurrences. */
#include "schedule.h"

#include <errno.h>

#include "util.h"

/* ------------------------------------------------------------------ */
/* Reading a VEVENT back: DTSTART/DTEND with their zone                */

/* A DATE-TIME property as (wall time, zone): TZID names the zone, a "Z"
 * value is UTC. */
static icaltimezone *prop_zone(icalproperty *p, Wall *wall)
{
        struct icaltimetype t = icalvalue_get_datetime(icalproperty_get_value(p));
        icalparameter *tzid = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
        *wall = wall_from_ical(t);
        if (tzid)
                return tz_lookup(icalparameter_get_tzid(tzid));
        return icaltimezone_get_utc_timezone();
}

static int64_t prop_instant(icalproperty *p)
{
        Wall w;
        icaltimezone *z = prop_zone(p, &w);
        return tz_wall_to_instant(z, w);
}

int64_t schedule_first_start(icalcomponent *vevent)
{
        return prop_instant(icalcomponent_get_first_property(vevent, ICAL_DTSTART_PROPERTY));
}

static bool is_exdate(icalcomponent *vevent, Wall w)
{
        int64_t s = wall_to_seconds(w);
        for (icalproperty *p = icalcomponent_get_first_property(vevent, ICAL_EXDATE_PROPERTY); p;
             p = icalcomponent_get_next_property(vevent, ICAL_EXDATE_PROPERTY)) {
                Wall x;
                prop_zone(p, &x);
                if (wall_to_seconds(x) == s)
                        return true;
        }
        return false;
}

/* libical's iterator works in DTSTART's wall time, and compares UNTIL with
 * those wall times as if both were UTC. RFC 5545 makes UNTIL a UTC instant
 * when DTSTART has a zone, so turn it into the same wall time first. */
static struct icalrecurrencetype rule_in_wall_time(struct icalrecurrencetype r, icaltimezone *zone)
{
        if (icaltime_is_null_time(r.until) || r.until.is_date)
                return r;
        int64_t until = wall_to_seconds(wall_from_ical(r.until));
        r.until = wall_to_ical(tz_instant_to_wall(zone, until));
        return r;
}

void schedule_expand(icalcomponent *vevent, const Meeting *m, int64_t from, int64_t to, size_t max,
                     Occurrence **ret, size_t *n, size_t *alloc)
{
        size_t found = 0;
        icalproperty *dtstart = icalcomponent_get_first_property(vevent, ICAL_DTSTART_PROPERTY);
        icalproperty *dtend = icalcomponent_get_first_property(vevent, ICAL_DTEND_PROPERTY);
        icalproperty *rrule = icalcomponent_get_first_property(vevent, ICAL_RRULE_PROPERTY);
        Wall w0;
        icaltimezone *zone = prop_zone(dtstart, &w0);
        int64_t start0 = tz_wall_to_instant(zone, w0);
        /* RFC 5545 section 3.8.5.3: with DTEND, every occurrence lasts the
         * exact duration of the first. */
        int64_t duration = dtend ? prop_instant(dtend) - start0
                                 : icaldurationtype_as_int(icalcomponent_get_duration(vevent));

        /* The rule yields wall times in DTSTART's zone; RFC 5545 counts
         * DTSTART itself as the first occurrence. */
        struct icalrecurrencetype rule = rule_in_wall_time(icalproperty_get_rrule(rrule), zone);
        icalrecur_iterator *it = icalrecur_iterator_new(rule, wall_to_ical(w0));
        if (!it)
                return;
        /* Jump close to `from` rather than walking every occurrence since
         * DTSTART (libical cannot with COUNT, which counts from DTSTART).
         * Two days early covers any zone offset; the loop filters exactly. */
        int64_t jump = from - 2 * 86400;
        if (rule.count == 0 && jump > start0)
                icalrecur_iterator_set_start(it, wall_to_ical(tz_instant_to_wall(zone, jump)));
        for (struct icaltimetype t = icalrecur_iterator_next(it); !icaltime_is_null_time(t);
             t = icalrecur_iterator_next(it)) {
                Wall w = wall_from_ical(t);
                int64_t start = tz_wall_to_instant(zone, w);
                if (start >= to)
                        break;
                if (start < from || is_exdate(vevent, w))
                        continue;
                GROW(*ret, *n, *alloc);
                (*ret)[(*n)++] = (Occurrence){m, start, start + duration};
                if (++found == max)
                        break;
        }
        icalrecur_iterator_free(it);
}

static int occurrence_cmp(const void *a, const void *b)
{
        const Occurrence *x = a, *y = b;
        if (x->start != y->start)
                return x->start < y->start ? -1 : 1;
        return x->meeting < y->meeting ? -1 : x->meeting > y->meeting;
}

size_t schedule_occurrences(const Schedule *s, int64_t from, int64_t to, const Department *dept,
                            Occurrence **ret)
{
        Occurrence *v = NULL;
        size_t n = 0, alloc = 0;
        for (size_t i = 0; i < s->n_events; i++) {
                const Meeting *m = &s->config->meetings[i];
                if (dept && !meeting_has_department(m, dept))
                        continue;
                schedule_expand(s->events[i], m, from, to, SIZE_MAX, &v, &n, &alloc);
        }
        if (n > 1)
                qsort(v, n, sizeof(*v), occurrence_cmp);
        *ret = v;
        return n;
}

bool schedule_next(const Schedule *s, const Meeting *m, int64_t from, Occurrence *ret)
{
        size_t i = (size_t)(m - s->config->meetings);
        Occurrence *v = NULL;
        size_t n = 0, alloc = 0;
        /* The iterator itself ends at UNTIL or COUNT; every rule was checked
         * to have an occurrence when it was built. */
        schedule_expand(s->events[i], m, from, INT64_MAX, 1, &v, &n, &alloc);
        if (n > 0)
                *ret = v[0];
        free(v);
        return n > 0;
}

/* ------------------------------------------------------------------ */
/* Building a VEVENT                                                   */

static const char *const byday_names[8] = {NULL, "SU", "MO", "TU", "WE", "TH", "FR", "SA"};

typedef struct Build {
        const Config *config;
        const Meeting *meeting;
        Diags *diags;
} Build;

_printf_(3, 4) static void build_error(Build *b, const char *key, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        va_end(ap);
        diag_error(b->diags, b->config->path, config_line(b->meeting->src, key), "[meeting:%s] %s: %s",
                   b->meeting->id, key, msg);
}

/* The cadence as an RRULE value, before UNTIL is added. */
static char *rule_text(const Meeting *m)
{
        Buf b = {0};
        switch (m->cadence) {
        case CADENCE_WEEKLY:
                buf_append(&b, "FREQ=WEEKLY");
                if (m->interval > 1)
                        buf_printf(&b, ";INTERVAL=%u", m->interval);
                buf_append(&b, ";BYDAY=");
                /* Monday first, as people read a week (and WKST=MO). */
                for (int i = 0, first = 1; i < 7; i++) {
                        int wd = i == 6 ? 1 : i + 2;
                        if (m->weekdays & (1u << wd)) {
                                buf_printf(&b, "%s%s", first ? "" : ",", byday_names[wd]);
                                first = 0;
                        }
                }
                buf_append(&b, ";WKST=MO");
                break;
        case CADENCE_MONTHLY:
                if (m->month_day)
                        buf_printf(&b, "FREQ=MONTHLY;BYMONTHDAY=%d", m->month_day);
                else
                        buf_printf(&b, "FREQ=MONTHLY;BYDAY=%d%s", m->month_ordinal, byday_names[m->month_weekday]);
                break;
        case CADENCE_RRULE:
                buf_append(&b, m->rrule);
                break;
        }
        return buf_steal(&b);
}

/* RFC 5545 section 3.3.10: with a DTSTART in a zone, UNTIL is a UTC
 * instant, and the last occurrence is the last one at or before it. Rules
 * copied from other calendars also carry a DATE (read as `end` is: through
 * that day in the meeting's zone) or a local time (read in the meeting's
 * zone). The published rule always says UTC, so every client reads the
 * same bound. (libical refuses COUNT with UNTIL, as RFC 5545 does.) */
static int rule_until(Build *b, struct icalrecurrencetype *r)
{
        const Meeting *m = b->meeting;
        if (icaltime_is_null_time(r->until))
                return 0;
        if (m->has_end) {
                build_error(b, "end", "the rule has an UNTIL already: use either UNTIL or end");
                return -EINVAL;
        }
        Wall w = wall_from_ical(r->until);
        int64_t until;
        if (r->until.is_date)
                until = tz_wall_to_instant(m->zone, (Wall){w.date, 23, 59, 59});
        else if (icaltime_is_utc(r->until))
                until = wall_to_seconds(w);
        else
                until = tz_wall_to_instant(m->zone, w);
        r->until = wall_to_ical(wall_from_seconds(until));
        r->until.zone = icaltimezone_get_utc_timezone();
        return 0;
}

/* An rrule: cadence must be a rule libical understands, for meetings that
 * happen at `time`. */
static int rule_check(Build *b, struct icalrecurrencetype *r)
{
        if (r->freq == ICAL_NO_RECURRENCE) {
                build_error(b, "cadence", "\"%s\" is not a valid RFC 5545 RRULE value (like \"FREQ=MONTHLY;BYDAY=2WE\")",
                            b->meeting->rrule);
                return -EINVAL;
        }
        if (r->freq < ICAL_DAILY_RECURRENCE) {
                build_error(b, "cadence", "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY: meetings happen once a day at most");
                return -EINVAL;
        }
        if (r->by_hour[0] != ICAL_RECURRENCE_ARRAY_MAX || r->by_minute[0] != ICAL_RECURRENCE_ARRAY_MAX ||
            r->by_second[0] != ICAL_RECURRENCE_ARRAY_MAX) {
                build_error(b, "cadence", "BYHOUR, BYMINUTE and BYSECOND are not used: the meeting starts at \"time\"");
                return -EINVAL;
        }
        /* libical 3.0.16 (and ical.js) ignore BYSETPOS in weekly rules:
         * the feed would mean something else than what tandem reminds of. */
        if (r->freq == ICAL_WEEKLY_RECURRENCE && r->by_set_pos[0] != ICAL_RECURRENCE_ARRAY_MAX) {
                build_error(b, "cadence", "BYSETPOS with FREQ=WEEKLY is not supported (calendar clients ignore it); use FREQ=MONTHLY or list the BYDAY you mean");
                return -EINVAL;
        }
        if (r->rscale) {
                build_error(b, "cadence", "RSCALE is not supported");
                return -EINVAL;
        }
        return rule_until(b, r);
}

/* The first wall time the rule yields from `start` + `time`, within end. */
static bool rule_first(struct icalrecurrencetype r, Wall from, const Meeting *m, Wall *first)
{
        icalrecur_iterator *it = icalrecur_iterator_new(r, wall_to_ical(from));
        if (!it)
                return false;
        struct icaltimetype t = icalrecur_iterator_next(it);
        icalrecur_iterator_free(it);
        if (icaltime_is_null_time(t))
                return false;
        *first = wall_from_ical(t);
        return !m->has_end || date_to_days(first->date) <= date_to_days(m->end);
}

static bool is_skipped(const Meeting *m, Date d)
{
        for (size_t i = 0; i < m->n_skip; i++)
                if (date_to_days(m->skip[i]) == date_to_days(d))
                        return true;
        return false;
}

/* Does skip name every occurrence of the rule from DTSTART w0? Only a
 * bounded rule can run out: any rule meets on a date that skip does not
 * name by its (n_skip + 1)th occurrence at the latest. */
static bool rule_all_skipped(struct icalrecurrencetype r, Wall w0, const Meeting *m)
{
        icalrecur_iterator *it = icalrecur_iterator_new(r, wall_to_ical(w0));
        bool all = it != NULL;
        size_t n = 0;
        for (struct icaltimetype t = it ? icalrecur_iterator_next(it) : icaltime_null_time();
             all && !icaltime_is_null_time(t); t = icalrecur_iterator_next(it))
                all = ++n <= m->n_skip && is_skipped(m, (Date){t.year, t.month, t.day});
        icalrecur_iterator_free(it);
        return all;
}

/* Does the rule, from DTSTART w0, meet on date d? */
static bool rule_meets_on(struct icalrecurrencetype r, Wall w0, Date d)
{
        icalrecur_iterator *it = icalrecur_iterator_new(r, wall_to_ical(w0));
        bool found = false;
        int64_t want = date_to_days(d);
        for (struct icaltimetype t = icalrecur_iterator_next(it); it && !icaltime_is_null_time(t);
             t = icalrecur_iterator_next(it)) {
                int64_t day = date_to_days((Date){t.year, t.month, t.day});
                if (day >= want) {
                        found = day == want;
                        break;
                }
        }
        icalrecur_iterator_free(it);
        return found;
}

static icalproperty *datetime_prop(icalproperty *p, icaltimezone *z)
{
        if (z != icaltimezone_get_utc_timezone())
                icalproperty_add_parameter(p, icalparameter_new_tzid(tz_name(z)));
        return p;
}

static struct icaltimetype ical_in_zone(Wall w, icaltimezone *z)
{
        struct icaltimetype t = wall_to_ical(w);
        if (z == icaltimezone_get_utc_timezone())
                t.zone = z; /* written with the Z suffix */
        return t;
}

static void add_people(icalcomponent *ev, const Meeting *m)
{
        if (m->host) {
                _cleanup_free_ char *to = xasprintf("mailto:%s", m->host->manager_email);
                icalproperty *p = icalproperty_new_organizer(to);
                icalproperty_add_parameter(p, icalparameter_new_cn(m->host->manager_name));
                icalcomponent_add_property(ev, p);
        }
        for (size_t i = 0; i < m->n_departments; i++) {
                const Department *d = m->departments[i];
                const char *addr = m->attendees == ATTENDEES_MANAGERS ? d->manager_email : d->email;
                if (m->attendees == ATTENDEES_NONE || !addr)
                        continue;
                _cleanup_free_ char *to = xasprintf("mailto:%s", addr);
                icalproperty *p = icalproperty_new_attendee(to);
                bool group = m->attendees == ATTENDEES_EVERYONE;
                icalproperty_add_parameter(p, icalparameter_new_cn(group ? d->name : d->manager_name));
                icalproperty_add_parameter(p, icalparameter_new_cutype(group ? ICAL_CUTYPE_GROUP : ICAL_CUTYPE_INDIVIDUAL));
                icalproperty_add_parameter(p, icalparameter_new_role(ICAL_ROLE_REQPARTICIPANT));
                icalcomponent_add_property(ev, p);
        }
}

/* For weekly cadences the first occurrence is the first listed weekday on
 * or after `start`, and INTERVAL counts weeks from its week (SPEC.md). */
static Date weekly_first(const Meeting *m)
{
        int64_t d = date_to_days(m->start);
        while (!(m->weekdays & (1u << date_weekday(date_from_days(d)))))
                d++;
        return date_from_days(d);
}

static icalcomponent *build_event(Build *b)
{
        const Meeting *m = b->meeting;
        _cleanup_free_ char *text = rule_text(m);
        struct icalrecurrencetype r = icalrecurrencetype_from_string(text);
        icalerror_clear_errno();
        if (m->cadence == CADENCE_RRULE && rule_check(b, &r) < 0)
                return NULL;

        Wall start = {m->start, m->hour, m->minute, 0};
        if (m->cadence == CADENCE_WEEKLY)
                start.date = weekly_first(m);
        Wall first;
        if (!rule_first(rule_in_wall_time(r, m->zone), start, m, &first)) {
                build_error(b, m->cadence == CADENCE_RRULE ? "cadence" : "day",
                            "the meeting never takes place between start and %s",
                            m->has_end ? "end" : !icaltime_is_null_time(r.until) ? "UNTIL" : "2200");
                return NULL;
        }
        /* RFC 5545 counts DTSTART as one of COUNT even where it does not
         * match the rule. SPEC.md: the occurrences are RFC 5545's reading
         * with DTSTART at start + time, less start itself; so with start
         * dropped and DTSTART moved to the first real occurrence, one fewer
         * remains to count. */
        if (r.count > 0 && wall_to_seconds(first) != wall_to_seconds(start) && --r.count == 0) {
                build_error(b, "cadence", "COUNT=1 leaves no occurrence once start, which the rule does not match, is dropped");
                return NULL;
        }
        if (m->has_end && r.count > 0) {
                build_error(b, "end", "the rule has a COUNT already: use either COUNT or end");
                return NULL;
        }
        if (m->has_end) {
                Wall last = {m->end, 23, 59, 59};
                r.until = wall_to_ical(wall_from_seconds(tz_wall_to_instant(m->zone, last)));
                r.until.zone = icaltimezone_get_utc_timezone();
        }
        for (size_t i = 0; i < m->n_skip; i++)
                if (!rule_meets_on(rule_in_wall_time(r, m->zone), first, m->skip[i])) {
                        build_error(b, "skip", "the meeting does not take place on %04d-%02d-%02d", m->skip[i].year,
                                    m->skip[i].month, m->skip[i].day);
                        return NULL;
                }
        /* as a rule with no occurrence is an error, so is skipping them all */
        if (m->n_skip && rule_all_skipped(rule_in_wall_time(r, m->zone), first, m)) {
                build_error(b, "skip", "names every occurrence: the meeting would never take place");
                return NULL;
        }

        icalcomponent *ev = icalcomponent_new_vevent();
        _cleanup_free_ char *uid = xasprintf("%s@%s", m->id, b->config->domain);
        icalcomponent_add_property(ev, icalproperty_new_uid(uid));
        icalcomponent_add_property(ev, icalproperty_new_summary(m->title));
        icalcomponent_add_property(ev, datetime_prop(icalproperty_new_dtstart(ical_in_zone(first, m->zone)), m->zone));
        int64_t end_instant = tz_wall_to_instant(m->zone, first) + m->duration;
        Wall end = tz_instant_to_wall(m->zone, end_instant);
        if (tz_wall_to_instant(m->zone, end) == end_instant)
                icalcomponent_add_property(ev, datetime_prop(icalproperty_new_dtend(ical_in_zone(end, m->zone)), m->zone));
        else
                /* The end falls in the second pass of a repeated hour, which a
                 * local DTEND cannot name (it reads as the first): give the
                 * exact duration instead (RFC 5545 section 3.8.2.5). */
                icalcomponent_add_property(ev, icalproperty_new_duration(icaldurationtype_from_int((int)m->duration)));
        icalcomponent_add_property(ev, icalproperty_new_rrule(r));
        for (size_t i = 0; i < m->n_skip; i++) {
                Wall x = {m->skip[i], m->hour, m->minute, 0};
                icalcomponent_add_property(ev, datetime_prop(icalproperty_new_exdate(ical_in_zone(x, m->zone)), m->zone));
        }
        if (m->location)
                icalcomponent_add_property(ev, icalproperty_new_location(m->location));
        if (m->description)
                icalcomponent_add_property(ev, icalproperty_new_description(m->description));
        add_people(ev, m);
        return ev;
}

int schedule_new(const Config *c, Schedule **ret, Diags *diags)
{
        Schedule *s = xcalloc(1, sizeof(Schedule));
        int r = 0;
        s->config = c;
        s->events = xcalloc(c->n_meetings, sizeof(icalcomponent *));
        s->first_starts = xcalloc(c->n_meetings, sizeof(int64_t));
        s->n_events = c->n_meetings;
        for (size_t i = 0; i < c->n_meetings; i++) {
                Build b = {c, &c->meetings[i], diags};
                if (!c->meetings[i].valid) {
                        r = -EINVAL;
                        continue;
                }
                s->events[i] = build_event(&b);
                if (!s->events[i])
                        r = -EINVAL;
                else
                        s->first_starts[i] = schedule_first_start(s->events[i]);
        }
        if (r < 0) {
                schedule_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int schedule_load(const char *path, Config **config, Schedule **schedule, Diags *diags)
{
        Config *c = NULL;
        Schedule *s = NULL;
        int r = config_parse(path, &c, diags);
        if (!c)
                return r;
        /* Even a config with errors has its valid meetings' rules checked. */
        int k = schedule_new(c, &s, diags);
        if (r == 0)
                r = k;
        if (r < 0) {
                schedule_free(s);
                config_free(c);
                return r;
        }
        *config = c;
        *schedule = s;
        return 0;
}

Schedule *schedule_free(Schedule *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_events; i++)
                if (s->events[i])
                        icalcomponent_free(s->events[i]);
        free(s->events);
        free(s->first_starts);
        free(s);
        return NULL;
}
