/* schedule.c — meetings to VEVENTs (RFC 5545 section 3.6.1) and the
 * expansion of those VEVENTs into occurrences. */
#include "schedule.h"

#include <errno.h>

#include "pairing.h"
#include "rotation.h"
#include "util.h"

const char *const schedule_status_names[] = {
        [OCCURRENCE_HELD] = "held", [OCCURRENCE_MOVED] = "moved", [OCCURRENCE_CANCELLED] = "cancelled",
};

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

/* RFC 5545 section 3.8.5.1: EXDATE removes the occurrences that start at
 * its instants (in whatever form it is written). */
static bool is_exdate(icalcomponent *vevent, int64_t start)
{
        for (icalproperty *p = icalcomponent_get_first_property(vevent, ICAL_EXDATE_PROPERTY); p;
             p = icalcomponent_get_next_property(vevent, ICAL_EXDATE_PROPERTY))
                if (prop_instant(p) == start)
                        return true;
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

static void expand(icalcomponent *vevent, const char *rrule, const Meeting *m, int64_t from, int64_t to, size_t max,
                   Occurrence **ret, size_t *n, size_t *alloc);

void schedule_expand(icalcomponent *vevent, const Meeting *m, int64_t from, int64_t to, size_t max,
                     Occurrence **ret, size_t *n, size_t *alloc)
{
        expand(vevent, NULL, m, from, to, max, ret, n, alloc);
}

/* rrule: the VEVENT's rule where it is not in it yet (Schedule.rrules). */
static void expand(icalcomponent *vevent, const char *rrule_text, const Meeting *m, int64_t from, int64_t to,
                   size_t max, Occurrence **ret, size_t *n, size_t *alloc)
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

        if (!rrule && !rrule_text) {
                /* one occurrence: at a DST edge, in UTC; or an override
                 * naming the occurrence it replaces, moved or with another
                 * host */
                icalproperty *rid = icalcomponent_get_first_property(vevent, ICAL_RECURRENCEID_PROPERTY);
                if (start0 >= from && start0 < to && max > 0) {
                        int64_t r = rid ? prop_instant(rid) : start0;
                        GROW(*ret, *n, *alloc);
                        (*ret)[(*n)++] = (Occurrence){m, start0, start0 + duration, r,
                                                      r != start0 ? OCCURRENCE_MOVED : OCCURRENCE_HELD, NULL, NULL};
                }
                return;
        }
        /* The rule yields wall times in DTSTART's zone; RFC 5545 counts
         * DTSTART itself as the first occurrence. */
        struct icalrecurrencetype rule = rule_in_wall_time(
                rrule ? icalproperty_get_rrule(rrule) : icalrecurrencetype_from_string(rrule_text), zone);
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
                if (start < from || is_exdate(vevent, start))
                        continue;
                GROW(*ret, *n, *alloc);
                (*ret)[(*n)++] = (Occurrence){m, start, start + duration, start, OCCURRENCE_HELD, NULL, NULL};
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

/* A meeting's VEVENTs: the schedule's own, or read back from the text it
 * keeps of them once packed (their cores). */
typedef struct Events {
        icalcomponent *event, **exceptions;
        size_t n;
        icalcomponent *parsed; /* read back: freed by events_done() */
        icalcomponent **all;   /* the VEVENTs read back */
} Events;

static bool packed(const Schedule *s, size_t i);
static const char *core_of(const Schedule *s, size_t i);

static void events_get(const Schedule *s, size_t i, Events *e)
{
        /* a packed meeting's core: what says when, the rest is in the feeds
         * (packed without one: its whole text) */
        const char *text = core_of(s, i);
        if (!text)
                text = schedule_text(s, i);
        if (!text) {
                *e = (Events){s->events[i], s->exceptions[i], s->n_exceptions[i], NULL, NULL};
                return;
        }
        /* libical reads one component as itself, several as the children
         * of an XROOT */
        icalcomponent *root = icalparser_parse_string(text);
        *e = (Events){NULL, NULL, 0, root, NULL};
        if (!root)
                return;
        bool one = icalcomponent_isa(root) == ICAL_VEVENT_COMPONENT;
        size_t n = one ? 1 : (size_t)icalcomponent_count_components(root, ICAL_VEVENT_COMPONENT);
        icalcomponent **all = xcalloc(n + 1, sizeof(icalcomponent *));
        if (one)
                all[0] = root;
        for (icalcomponent *c = icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT); !one && c;
             c = icalcomponent_get_next_component(root, ICAL_VEVENT_COMPONENT))
                all[e->n++] = c;
        e->n = n;
        e->exceptions = all;
        /* the rule's VEVENT comes first; a pair of single events has none */
        if (n > 0 && !s->config->meetings[i].pair.explicit_rounds) {
                e->event = all[0];
                e->exceptions = all + 1;
                e->n = n - 1;
        }
        e->all = all;
}

static void events_done(Events *e)
{
        if (!e->parsed)
                return;
        icalcomponent_free(e->parsed);
        free(e->all);
}

/* The occurrence an override of the meeting replaces: its RECURRENCE-ID. */
static bool overridden(const Events *e, int64_t rid)
{
        for (size_t k = 0; k < e->n; k++) {
                icalproperty *p = icalcomponent_get_first_property(e->exceptions[k], ICAL_RECURRENCEID_PROPERTY);
                if (p && prop_instant(p) == rid)
                        return true;
        }
        return false;
}

const Department *schedule_host(const Schedule *s, size_t i, int64_t rid)
{
        const Turns *t = &s->turns[i];
        size_t lo = 0, hi = t->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (t->v[mid].rid == rid)
                        return t->v[mid].host;
                if (t->v[mid].rid < rid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return t->series ? t->series : s->config->meetings[i].host;
}

/* An occurrence published as a single event (no rule, no RECURRENCE-ID: a
 * pair's round, or a moved one before DTSTART): the plan says whether it
 * was moved, and from where. (No move lands on another occurrence.) */
static void explicit_moved(const Schedule *s, size_t i, Occurrence *o)
{
        for (size_t k = 0; o->status == OCCURRENCE_HELD && k < s->n_plan[i]; k++) {
                const Exception *e = &s->plan[i][k];
                if (!e->cancelled && e->start == o->start) {
                        o->rid = e->rid;
                        o->status = OCCURRENCE_MOVED;
                }
        }
}

/* A meeting's occurrences, as published: its rule's, less those an
 * override replaces, plus the overrides (moved, or another host) and those
 * at DST edges (or, for a pair of single events, those); with cancelled,
 * also its skipped ones (EXDATEs the plan cancelled). With max, the first
 * max of them in time order. */
static void expand_meeting(const Schedule *s, size_t i, int64_t from, int64_t to, size_t max, bool cancelled,
                           Occurrence **ret, size_t *n, size_t *alloc)
{
        const Meeting *m = &s->config->meetings[i];
        Events ev;
        events_get(s, i, &ev);
        if (!ev.event && !m->pair.explicit_rounds)
                return; /* a text that does not read back: cannot happen with libical's own */
        size_t first = *n, extra = ev.n;
        if (ev.event)
                expand(ev.event, s->rrules[i] /* NULL once packed */, m, from, to,
                       max > SIZE_MAX - extra ? SIZE_MAX : max + extra, ret, n, alloc);
        size_t kept = first;
        for (size_t k = first; k < *n; k++)
                if (!extra || !overridden(&ev, (*ret)[k].rid))
                        (*ret)[kept++] = (*ret)[k];
        *n = kept;
        for (size_t k = 0; k < extra; k++)
                schedule_expand(ev.exceptions[k], m, from, to, max, ret, n, alloc);
        events_done(&ev);
        for (size_t k = kept; k < *n; k++)
                explicit_moved(s, i, &(*ret)[k]);
        for (size_t k = first; k < *n; k++)
                (*ret)[k].host = schedule_host(s, i, (*ret)[k].rid);
        for (size_t k = 0; k < s->n_plan[i]; k++) {
                const Exception *e = &s->plan[i][k];
                if (!e->cancelled || !cancelled || e->rid < from || e->rid >= to)
                        continue;
                GROW(*ret, *n, *alloc);
                (*ret)[(*n)++] = (Occurrence){m, e->rid, e->rid + m->duration, e->rid, OCCURRENCE_CANCELLED, e->reason,
                                              NULL};
        }
        for (size_t k = first; k < *n; k++)
                if ((*ret)[k].status == OCCURRENCE_MOVED) {
                        const Exception *e = plan_exception(s->plan[i], s->n_plan[i], (*ret)[k].rid);
                        (*ret)[k].reason = e ? e->reason : NULL;
                }
        if (*n - first > 1)
                qsort(*ret + first, *n - first, sizeof(Occurrence), occurrence_cmp);
        if (*n - first > max)
                *n = first + max;
}

size_t schedule_occurrences(const Schedule *s, int64_t from, int64_t to, const Department *dept, bool cancelled,
                            Occurrence **ret)
{
        Occurrence *v = NULL;
        size_t n = 0, alloc = 0;
        for (size_t i = 0; i < s->n_events; i++) {
                const Meeting *m = &s->config->meetings[i];
                if (dept && !meeting_has_department(m, dept))
                        continue;
                expand_meeting(s, i, from, to, SIZE_MAX, cancelled, &v, &n, &alloc);
        }
        if (n > 1)
                qsort(v, n, sizeof(*v), occurrence_cmp);
        *ret = v;
        return n;
}

typedef struct NextCache {
        bool asked, found;
        int64_t from;
        Occurrence occ;
} NextCache;

bool schedule_may_start(const Schedule *s, const Meeting *m, int64_t from, int64_t to)
{
        const NextCache *c = &s->next[m - s->config->meetings];
        return !(c->asked && c->from <= from && (c->found ? from <= c->occ.start && c->occ.start >= to : true));
}

size_t schedule_meeting_occurrences(const Schedule *s, const Meeting *m, int64_t from, int64_t to, Occurrence **ret)
{
        size_t i = (size_t)(m - s->config->meetings), n = 0, alloc = 0;
        /* schedule_next's last answer, when it stands for `from`, says
         * whether anything starts before `to`: most meetings are days
         * away, and then no iterator is needed. */
        *ret = NULL;
        if (!schedule_may_start(s, m, from, to))
                return 0;
        expand_meeting(s, i, from, to, SIZE_MAX, false, ret, &n, &alloc);
        return n;
}

bool schedule_next(const Schedule *s, const Meeting *m, int64_t from, Occurrence *ret)
{
        size_t i = (size_t)(m - s->config->meetings);
        /* Each offset and department of a meeting asks for the same next
         * occurrence, and an expansion costs a libical iterator (on ICU
         * calendars): the last answer stands for every `from` from where
         * it was asked up to the occurrence it found. */
        NextCache *c = &s->next[i];
        if (c->asked && c->from <= from && (!c->found || from <= c->occ.start)) {
                if (c->found)
                        *ret = c->occ;
                return c->found;
        }
        Occurrence *v = NULL;
        size_t n = 0, alloc = 0;
        /* The iterator itself ends at UNTIL or COUNT; every rule was checked
         * to have an occurrence when it was built. */
        expand_meeting(s, i, from, INT64_MAX, 1, false, &v, &n, &alloc);
        *c = (NextCache){true, n > 0, from, n > 0 ? v[0] : (Occurrence){0}};
        if (n > 0)
                *ret = v[0];
        free(v);
        return n > 0;
}

/* The RRULE in its place, after DTSTART and DTEND (or DURATION), as
 * build_event() would have added it: the VEVENT renders as it always
 * did, and its fingerprint stays the same. */
static void rrule_attach(const Schedule *s, size_t i)
{
        icalcomponent *ev = s->events[i];
        if (!ev || !s->rrules[i] || icalcomponent_get_first_property(ev, ICAL_RRULE_PROPERTY))
                return;
        size_t n = (size_t)icalcomponent_count_properties(ev, ICAL_ANY_PROPERTY), k = 0, after = 0;
        _cleanup_free_ icalproperty **props = xcalloc(n + 1, sizeof(icalproperty *));
        for (icalproperty *p = icalcomponent_get_first_property(ev, ICAL_ANY_PROPERTY); p && k < n;
             p = icalcomponent_get_next_property(ev, ICAL_ANY_PROPERTY)) {
                props[k++] = p;
                icalproperty_kind kind = icalproperty_isa(p);
                if (kind == ICAL_DTSTART_PROPERTY || kind == ICAL_DTEND_PROPERTY || kind == ICAL_DURATION_PROPERTY)
                        after = k;
        }
        for (size_t j = after; j < k; j++)
                icalcomponent_remove_property(ev, props[j]);
        icalcomponent_add_property(ev, icalproperty_new_rrule(icalrecurrencetype_from_string(s->rrules[i])));
        for (size_t j = after; j < k; j++)
                icalcomponent_add_property(ev, props[j]);
}

static void rrule_detach(const Schedule *s, size_t i)
{
        icalproperty *p = s->events[i] && s->rrules[i] ? icalcomponent_get_first_property(s->events[i], ICAL_RRULE_PROPERTY)
                                                       : NULL;
        if (p) {
                icalcomponent_remove_property(s->events[i], p);
                icalproperty_free(p);
        }
}

icalcomponent *schedule_event(const Schedule *s, size_t i)
{
        rrule_attach(s, i);
        return s->events[i];
}

/* What an expansion reads of a VEVENT (schedule_expand, overridden):
 * moved out of it, which is freed next, into a VEVENT of their own, whose
 * text libical writes after the whole VEVENT's was. */
static void core_append(Buf *b, icalcomponent *ev)
{
        static const icalproperty_kind kinds[] = {ICAL_UID_PROPERTY,    ICAL_DTSTART_PROPERTY, ICAL_DTEND_PROPERTY,
                                                  ICAL_DURATION_PROPERTY, ICAL_RRULE_PROPERTY,  ICAL_RDATE_PROPERTY,
                                                  ICAL_EXDATE_PROPERTY, ICAL_RECURRENCEID_PROPERTY};
        icalcomponent *core = icalcomponent_new_vevent();
        for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
                for (icalproperty *p; (p = icalcomponent_get_first_property(ev, kinds[k]));) {
                        icalcomponent_remove_property(ev, p);
                        icalcomponent_add_property(core, p);
                }
        _cleanup_free_ char *text = icalcomponent_as_ical_string_r(core);
        buf_append(b, text);
        icalcomponent_free(core);
}

static size_t *offsets_new(size_t n)
{
        size_t *v = xcalloc(n + 1, sizeof(size_t));
        for (size_t k = 0; k < n; k++)
                v[k] = SIZE_MAX;
        return v;
}

static void pack_text(Schedule *s, size_t i, const char *text)
{
        /* One buffer for every meeting's text: 5000 small strings freed
         * and allocated among the components they replace kept most of
         * the components' pages resident. */
        if (!s->text_at)
                s->text_at = offsets_new(s->n_events);
        s->text_at[i] = s->texts.len;
        buf_append(&s->texts, text);
        buf_append_n(&s->texts, "", 1); /* each text ends with its own NUL */
}

static void pack_drop(Schedule *s, size_t i)
{
        if (s->events[i])
                icalcomponent_free(s->events[i]);
        for (size_t k = 0; k < s->n_exceptions[i]; k++)
                icalcomponent_free(s->exceptions[i][k]);
        free(s->exceptions[i]);
        s->events[i] = NULL;
        s->exceptions[i] = NULL;
        s->n_exceptions[i] = 0;
        free(s->rrules[i]); /* the text has it */
        s->rrules[i] = NULL;
}

void schedule_pack(Schedule *s, size_t i, const char *text)
{
        pack_text(s, i, text);
        if (!s->core_at)
                s->core_at = offsets_new(s->n_events);
        s->core_at[i] = s->cores.len;
        rrule_attach(s, i);
        if (s->events[i])
                core_append(&s->cores, s->events[i]);
        for (size_t k = 0; k < s->n_exceptions[i]; k++)
                core_append(&s->cores, s->exceptions[i][k]);
        buf_append_n(&s->cores, "", 1);
        pack_drop(s, i);
}

void schedule_pack_text(Schedule *s, size_t i, const char *text)
{
        pack_text(s, i, text);
        pack_drop(s, i);
}

const char *schedule_text(const Schedule *s, size_t i)
{
        return s->text_at && s->text_at[i] != SIZE_MAX ? s->texts.s + s->text_at[i] : NULL;
}

/* A packed meeting's core (schedule_pack), or NULL. */
static const char *core_of(const Schedule *s, size_t i)
{
        return s->core_at && s->core_at[i] != SIZE_MAX ? s->cores.s + s->core_at[i] : NULL;
}

static bool packed(const Schedule *s, size_t i)
{
        return core_of(s, i) || schedule_text(s, i);
}

void schedule_published(Schedule *s)
{
        /* At 5000 meetings 2.8 MB of text, 1 MB of cores. */
        buf_free(&s->texts);
        free(s->text_at);
        s->text_at = NULL;
}

static void fingerprint(const Schedule *s, size_t i, char out[static 17]);

void schedule_fingerprint(const Schedule *s, size_t i, char out[static 17])
{
        if (!s->fingerprints[i][0])
                fingerprint(s, i, s->fingerprints[i]);
        memcpy(out, s->fingerprints[i], 17);
}

bool schedule_same_events(const Schedule *a, size_t i, const Schedule *b, size_t j)
{
        char fa[17], fb[17];
        if ((!a->fingerprints[i][0] && packed(a, i)) || (!b->fingerprints[j][0] && packed(b, j)))
                return false;
        schedule_fingerprint(a, i, fa);
        schedule_fingerprint(b, j, fb);
        return streq(fa, fb);
}

/* A hash of the meeting's VEVENTs as built, before the ledger's revision
 * is added: what tells a changed definition from the last one. */
static void fingerprint(const Schedule *s, size_t i, char out[static 17])
{
        icalcomponent *ev = schedule_event(s, i);
        _cleanup_free_ char *text = ev ? icalcomponent_as_ical_string_r(ev) : xstrdup("");
        rrule_detach(s, i); /* until the VEVENT is rendered for good */
        uint64_t h = fnv1a64(text, strlen(text));
        for (size_t k = 0; k < s->n_exceptions[i]; k++) {
                _cleanup_free_ char *more = icalcomponent_as_ical_string_r(s->exceptions[i][k]);
                h ^= fnv1a64(more, strlen(more)) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        }
        snprintf(out, 17, "%016llx", (unsigned long long)h);
}

int64_t schedule_notice_due(const Occurrence *o)
{
        const Meeting *m = o->meeting;
        if (o->status == OCCURRENCE_HELD || m->n_reminders == 0)
                return -1;
        return (o->start < o->rid ? o->start : o->rid) - meeting_first_reminder(m);
}

bool schedule_occurrence(const Schedule *s, const Meeting *m, int64_t rid, Occurrence *ret)
{
        size_t i = (size_t)(m - s->config->meetings);
        const Exception *e = plan_exception(s->plan[i], s->n_plan[i], rid);
        if (e) {
                *ret = (Occurrence){m, e->cancelled ? rid : e->start, (e->cancelled ? rid : e->start) + m->duration, rid,
                                    e->cancelled ? OCCURRENCE_CANCELLED : OCCURRENCE_MOVED, e->reason,
                                    e->cancelled ? NULL : schedule_host(s, i, rid)};
                return true;
        }
        /* Most often asked for the next occurrence, which schedule_next
         * has found already: no iterator then. */
        const NextCache *c = &s->next[i];
        if (c->asked && c->found && c->occ.rid == rid && c->occ.start == rid) {
                *ret = c->occ;
                return true;
        }
        Occurrence *v = NULL;
        size_t n = 0, alloc = 0;
        bool found = false;
        expand_meeting(s, i, rid, rid + 1, SIZE_MAX, false, &v, &n, &alloc);
        for (size_t k = 0; k < n && !found; k++)
                if (v[k].rid == rid) {
                        *ret = v[k];
                        found = true;
                }
        free(v);
        return found;
}

/* ------------------------------------------------------------------ */
/* Building a VEVENT                                                   */

static const char *const byday_names[8] = {NULL, "SU", "MO", "TU", "WE", "TH", "FR", "SA"};

/* The changes of offset of each zone the meetings use, found once per
 * schedule: stepping through a zone's offsets costs more than the rest of
 * building a meeting. */
typedef struct ZoneShifts {
        icaltimezone *zone;
        int64_t from, to; /* holds the changes in (from, to] */
        TzShift *v;
        size_t n;
} ZoneShifts;

typedef struct ShiftCache {
        ZoneShifts *v;
        size_t n, alloc;
} ShiftCache;

static const ZoneShifts *shifts_get(ShiftCache *c, icaltimezone *z, int64_t from, int64_t to)
{
        ZoneShifts *zs = NULL;
        for (size_t i = 0; i < c->n && !zs; i++)
                if (c->v[i].zone == z)
                        zs = &c->v[i];
        if (zs && zs->from <= from && zs->to >= to)
                return zs;
        if (!zs) {
                GROW(c->v, c->n, c->alloc);
                zs = &c->v[c->n++];
                *zs = (ZoneShifts){z, from, to, NULL, 0};
        } else {
                free(zs->v);
                *zs = (ZoneShifts){z, from < zs->from ? from : zs->from, to > zs->to ? to : zs->to, NULL, 0};
        }
        size_t alloc = 0;
        for (TzShift sh = {zs->from, 0, 0}; tz_next_shift(z, sh.at, zs->to, &sh);) {
                GROW(zs->v, zs->n, alloc);
                zs->v[zs->n++] = sh;
        }
        return zs;
}

static void shifts_free(ShiftCache *c)
{
        for (size_t i = 0; i < c->n; i++)
                free(c->v[i].v);
        free(c->v);
}

typedef struct Build {
        const Config *config;
        const Meeting *meeting;
        Diags *diags;
        ShiftCache *shifts;
        int64_t now, horizon; /* DST-edge occurrences and holidays are published up to horizon */
        Calendars *calendars;
        const History *history;
        bool quiet;                 /* a pair: its pairing's own build says what there is to warn about */
        icalcomponent **exceptions; /* built: the meeting's occurrences at DST edges, its overrides */
        size_t n_exceptions, alloc_exceptions;
        Exception *plan;            /* built: its skipped and moved occurrences */
        size_t n_plan;
        Turns turns;                /* built: its hosts, when it rotates */
        char *rrule;                /* built: the VEVENT's RRULE value, not in it yet */
} Build;

/* "FILE:LINE: [meeting:ID] key: message", an error or a warning. */
_printf_(4, 0) static void build_diag(Build *b, bool warning, const char *key, const char *fmt, va_list ap)
{
        if (warning && b->quiet)
                return;
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        _cleanup_free_ char *label = meeting_label(b->meeting);
        (warning ? diag_warning : diag_error)(b->diags, b->config->path, config_line(b->meeting->src, key),
                                              "%s %s: %s", label, key, msg);
}

_printf_(3, 4) static void build_error(Build *b, const char *key, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        build_diag(b, false, key, fmt, ap);
        va_end(ap);
}

_printf_(3, 4) static void build_warning(Build *b, const char *key, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        build_diag(b, true, key, fmt, ap);
        va_end(ap);
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
                buf_append(&b, "FREQ=MONTHLY");
                if (m->interval > 1) /* a pair's: its pairing's cycle */
                        buf_printf(&b, ";INTERVAL=%u", m->interval);
                if (m->month_day)
                        buf_printf(&b, ";BYMONTHDAY=%d", m->month_day);
                else
                        buf_printf(&b, ";BYDAY=%d%s", m->month_ordinal, byday_names[m->month_weekday]);
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

/* Rule parts that calendar engines misread and no encoding of the feed can
 * fix (measured by tests/interop: README "The feeds"): warnings, since the
 * rule itself is right. */
static void rule_warn(Build *b, const struct icalrecurrencetype *r)
{
        if (r->by_week_no[0] != ICAL_RECURRENCE_ARRAY_MAX)
                build_warning(b, "cadence",
                              "BYWEEKNO is misread by Thunderbird (ical.js lists the BYDAY days of all the other "
                              "weeks instead) and by sabre/vobject 2 (it repeats the first date yearly); where you can, "
                              "say it with BYMONTH and BYDAY, or BYYEARDAY");
        if (r->freq == ICAL_YEARLY_RECURRENCE && r->by_month[0] != ICAL_RECURRENCE_ARRAY_MAX &&
            r->by_set_pos[0] != ICAL_RECURRENCE_ARRAY_MAX)
                build_warning(b, "cadence",
                              "BYSETPOS with FREQ=YEARLY and BYMONTH is applied to each month rather than to the "
                              "year by Thunderbird (ical.js) and sabre/vobject 2, which then show extra meetings");
}

/* The first wall time the rule yields from `start` + `time`, within end.
 * A weekly cadence starts on one of its own days (weekly_first), at its
 * own time, in the first week of its INTERVAL: RFC 5545 counts such a
 * DTSTART as the first occurrence, so no iterator is needed for it (an
 * iterator costs as much as a meeting's whole VEVENT; test_schedule checks
 * the two agree). */
static bool rule_first(struct icalrecurrencetype r, Wall from, const Meeting *m, Wall *first)
{
        if (m->cadence == CADENCE_WEEKLY) {
                *first = from;
        } else {
                icalrecur_iterator *it = icalrecur_iterator_new(r, wall_to_ical(from));
                if (!it)
                        return false;
                struct icaltimetype t = icalrecur_iterator_next(it);
                icalrecur_iterator_free(it);
                if (icaltime_is_null_time(t))
                        return false;
                *first = wall_from_ical(t);
        }
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

/* ORGANIZER (the host's manager) and ATTENDEEs. */
static void add_people(icalcomponent *ev, const Meeting *m, const Department *host)
{
        if (host) {
                _cleanup_free_ char *to = xasprintf("mailto:%s", host->manager_email);
                icalproperty *p = icalproperty_new_organizer(to);
                icalproperty_add_parameter(p, icalparameter_new_cn(host->manager_name));
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

/* LOCATION, DESCRIPTION (after the reason of a move, if any), ORGANIZER
 * and ATTENDEEs. */
static void add_details(icalcomponent *ev, const Meeting *m, const char *reason, const Department *host)
{
        if (m->location)
                icalcomponent_add_property(ev, icalproperty_new_location(m->location));
        _cleanup_free_ char *desc = reason ? xasprintf("Moved: %s%s%s", reason, m->description ? "\n\n" : "",
                                                       m->description ? m->description : "")
                                           : NULL;
        if (desc || m->description)
                icalcomponent_add_property(ev, icalproperty_new_description(desc ? desc : m->description));
        add_people(ev, m, host);
}

/* The host of the occurrence rid: its turn (b->turns), else the fixed one. */
static const Department *build_host(const Build *b, int64_t rid)
{
        for (size_t i = 0; i < b->turns.n; i++)
                if (b->turns.v[i].rid == rid)
                        return b->turns.v[i].host;
        return b->turns.series ? b->turns.series : b->meeting->host;
}

/* Is the occurrence on local date d skipped or moved (plan.h)? */
static bool is_changed_date(const Build *b, Date d)
{
        for (size_t i = 0; i < b->n_plan; i++)
                if (date_to_days(tz_instant_to_wall(b->meeting->zone, b->plan[i].rid).date) == date_to_days(d))
                        return true;
        return false;
}

/* EXDATE in the TZID form, as DTSTART: engines match an EXDATE by reading
 * it as they read the rule's occurrences, also at a DST edge. (Not also in
 * UTC: an EXDATE that matches no occurrence as ical.js reads it makes
 * ical.js miss the EXDATE after it.) */
static void add_exdate(icalcomponent *ev, const Meeting *m, Wall w)
{
        icalcomponent_add_property(ev, datetime_prop(icalproperty_new_exdate(ical_in_zone(w, m->zone)), m->zone));
}

/* ------------------------------------------------------------------ */
/* Daylight-saving edges                                               */

/* Calendar engines read a local time near a change of offset differently
 * (tests/interop/measure_encodings.py measures how): where it does not
 * exist (moved forward, back, or dropped), where it exists twice (the
 * first or the second), an occurrence running over the change (an end
 * after the exact duration or in wall-clock time), and one within hours of
 * the change (rrule.js looks the offset up at the wall time read as if it
 * were UTC). Such an occurrence sits at a DST edge. */
static bool at_edge(icaltimezone *z, Wall w, int64_t duration)
{
        if (z == icaltimezone_get_utc_timezone())
                return false;
        if (tz_wall_kind(z, w, NULL) != TZ_WALL_ONCE)
                return true;
        int64_t start = tz_wall_to_instant(z, w), end = start + duration;
        Wall e = tz_instant_to_wall(z, end);
        if (tz_wall_kind(z, e, NULL) != TZ_WALL_ONCE)
                return true;
        int64_t lo = start < wall_to_seconds(w) ? start : wall_to_seconds(w);
        int64_t hi = end > wall_to_seconds(e) ? end : wall_to_seconds(e);
        /* at most 24 hours + 14 hours of offset apart: one change at most */
        return tz_offset_at(z, lo) != tz_offset_at(z, hi);
}

typedef struct Walls {
        Wall *v;
        size_t n, alloc;
} Walls;

static void walls_add(Walls *ws, Wall w)
{
        if (ws->n > 0 && wall_to_seconds(ws->v[ws->n - 1]) >= wall_to_seconds(w))
                return; /* seen already */
        GROW(ws->v, ws->n, ws->alloc);
        ws->v[ws->n++] = w;
}

/* Adds the occurrences of rule r (in wall time, from DTSTART w0) that
 * start before the horizon and sit at a DST edge. Only the days around each
 * change of the zone's offset are looked at, with one iterator moved from
 * change to change (libical's iterators are costly to create and step:
 * DESIGN.md); a rule with COUNT cannot jump, but has COUNT occurrences. */
/* Could a meeting of a weekly or monthly cadence take place on a date
 * from `from` to `to`? (A quick test that spares most windows the rule
 * iterator; an rrule: cadence may.) */
static bool may_meet(const Meeting *m, Date from, Date to)
{
        for (int64_t d = date_to_days(from); d <= date_to_days(to); d++) {
                Date x = date_from_days(d);
                int wd = date_weekday(x);
                switch (m->cadence) {
                case CADENCE_WEEKLY:
                        if (m->weekdays & (1u << wd))
                                return true;
                        break;
                case CADENCE_MONTHLY:
                        if (m->month_day ? x.day == m->month_day
                                         : wd == m->month_weekday &&
                                                   (m->month_ordinal > 0 ? (x.day - 1) / 7 + 1 == m->month_ordinal
                                                                         : x.day + 7 > date_days_in_month(x.year, x.month)))
                                return true;
                        break;
                case CADENCE_RRULE:
                        return true;
                }
        }
        return false;
}

static void edges_find(Build *b, struct icalrecurrencetype r, Wall w0, Walls *out)
{
        const Meeting *m = b->meeting;
        icaltimezone *z = m->zone;
        int64_t start0 = tz_wall_to_instant(z, w0), until = b->horizon;
        if (z == icaltimezone_get_utc_timezone() || start0 >= until)
                return;
        /* made when a window needs it: most weekly meetings meet on no day
         * near a change, and an iterator costs as much as a meeting's
         * whole VEVENT */
        icalrecur_iterator *it = NULL;
        bool walk = r.count > 0;
        const ZoneShifts *zs = shifts_get(b->shifts, z, start0 - 2 * 86400, until + 2 * 86400);
        size_t windows = 0;
        for (size_t i = 0; walk || i < zs->n; i++) {
                if (!walk && (zs->v[i].at <= start0 - 2 * 86400 || zs->v[i].at > until + 2 * 86400))
                        continue;
                /* at_edge() needs the change within the occurrence or
                 * within 14 hours (the largest offset) of its start */
                int64_t lo = walk ? start0 : zs->v[i].at - 15 * 3600 - m->duration;
                int64_t hi = walk ? until : zs->v[i].at + 15 * 3600;
                if (!walk && !may_meet(m, tz_instant_to_wall(z, lo).date, tz_instant_to_wall(z, hi).date))
                        continue;
                if (!it && !(it = icalrecur_iterator_new(r, wall_to_ical(w0))))
                        return;
                if (!walk && (windows++ > 0 || lo > start0))
                        icalrecur_iterator_set_start(it, wall_to_ical(tz_instant_to_wall(z, lo > start0 ? lo : start0)));
                for (struct icaltimetype t = icalrecur_iterator_next(it); !icaltime_is_null_time(t);
                     t = icalrecur_iterator_next(it)) {
                        Wall w = wall_from_ical(t);
                        int64_t start = tz_wall_to_instant(z, w);
                        if (start >= hi || start >= until)
                                break;
                        if (start >= lo && at_edge(z, w, m->duration))
                                walls_add(out, w);
                }
                if (walk)
                        break;
        }
        if (it)
                icalrecur_iterator_free(it);
}

/* RFC 5545 counts DTSTART as an occurrence, and engines read a DTSTART at
 * a DST edge (and with it the duration DTEND - DTSTART of every
 * occurrence) differently; sabre/vobject 2 also ignores an EXDATE of
 * DTSTART and lists an override of it beside it (tests/interop/README.md,
 * "Encoded around since"). So the rule starts at its
 * first occurrence that is neither at an edge nor cancelled or moved
 * instead, and the ones passed over go to *passed: those at an edge to be
 * published apart, the changed ones as the plan says (is_changed_date). r
 * is the rule in wall time; its COUNT drops by the occurrences passed
 * over. False, and nothing changed, if the rule's first 1000 occurrences
 * are all passed over. */
static bool is_changed_date(const Build *b, Date d);

static bool passed_over(const Build *b, Wall w)
{
        return at_edge(b->meeting->zone, w, b->meeting->duration) || is_changed_date(b, w.date);
}

static bool edges_skip_start(const Build *b, struct icalrecurrencetype *r, Wall *w0, Walls *passed)
{
        if (!passed_over(b, *w0))
                return true;
        icalrecur_iterator *it = icalrecur_iterator_new(*r, wall_to_ical(*w0));
        Walls seen = {0};
        bool found = false;
        for (struct icaltimetype t = it ? icalrecur_iterator_next(it) : icaltime_null_time();
             !icaltime_is_null_time(t) && seen.n < 1000; t = icalrecur_iterator_next(it)) {
                Wall w = wall_from_ical(t);
                if (!passed_over(b, w)) {
                        found = r->count == 0 || r->count > (int)seen.n;
                        if (found) {
                                *w0 = w;
                                if (r->count > 0)
                                        r->count -= (int)seen.n;
                        }
                        break;
                }
                walls_add(&seen, w);
        }
        icalrecur_iterator_free(it);
        if (found)
                for (size_t i = 0; i < seen.n; i++)
                        walls_add(passed, seen.v[i]);
        free(seen.v);
        return found;
}

/* An occurrence at a DST edge as a VEVENT of its own, in UTC: every
 * engine measured reads that alike, where an RDATE (sabre/vobject 2,
 * rrule.js) or an override with RECURRENCE-ID (sabre/vobject at a doubled
 * time) is misread by some. Its UID names the meeting and the local date. */
static void add_utc_times(icalcomponent *ev, int64_t start, int64_t end)
{
        icaltimezone *utc = icaltimezone_get_utc_timezone();
        icalcomponent_add_property(ev, icalproperty_new_dtstart(ical_in_zone(wall_from_seconds(start), utc)));
        icalcomponent_add_property(ev, icalproperty_new_dtend(ical_in_zone(wall_from_seconds(end), utc)));
}

/* An occurrence as a VEVENT of its own in UTC: UID
 * "<meeting>.<YYYYMMDD>@<domain>" (d: its local date by the rule), at
 * `start`, hosted as the occurrence rid, with why it moved if it did. */
static icalcomponent *utc_event(Build *b, Date d, int64_t rid, int64_t start, const char *moved)
{
        const Meeting *m = b->meeting;
        icalcomponent *ev = icalcomponent_new_vevent();
        _cleanup_free_ char *uid = xasprintf("%s.%04d%02d%02d@%s", m->id, d.year, d.month, d.day, b->config->domain);
        icalcomponent_add_property(ev, icalproperty_new_uid(uid));
        icalcomponent_add_property(ev, icalproperty_new_summary(m->title));
        add_utc_times(ev, start, start + m->duration);
        add_details(ev, m, moved, build_host(b, rid));
        return ev;
}

static icalcomponent *exception_event(Build *b, Wall w)
{
        int64_t start = tz_wall_to_instant(b->meeting->zone, w);
        return utc_event(b, w.date, start, start, NULL);
}

/* "02:30 Europe/Berlin does not exist on 2027-03-28": once per meeting,
 * for its first such occurrence from now on. */
static void edges_warn(Build *b, const Walls *ws)
{
        const Meeting *m = b->meeting;
        for (size_t i = 0; i < ws->n; i++) {
                Wall w = ws->v[i];
                TzShift sh;
                TzWallKind kind = tz_wall_kind(m->zone, w, &sh);
                if (kind == TZ_WALL_ONCE || is_changed_date(b, w.date) || tz_wall_to_instant(m->zone, w) < b->now)
                        continue;
                int lo = sh.before < sh.after ? sh.before : sh.after, hi = sh.before < sh.after ? sh.after : sh.before;
                Wall from = wall_from_seconds(sh.at + lo), to = wall_from_seconds(sh.at + hi);
                Wall at = tz_instant_to_wall(m->zone, tz_wall_to_instant(m->zone, w));
                _cleanup_free_ char *what =
                        kind == TZ_WALL_MISSING
                                ? xasprintf("does not exist on %04d-%02d-%02d (the clocks go forward); the meeting will be at %02d:%02d that day",
                                            w.date.year, w.date.month, w.date.day, at.hour, at.minute)
                                : xasprintf("happens twice on %04d-%02d-%02d (the clocks go back); the meeting will be at the first of the two",
                                            w.date.year, w.date.month, w.date.day);
                build_warning(b, "time",
                              "%02d:%02d %s %s; calendar apps disagree on such times, so tandem publishes these occurrences "
                              "in UTC; consider a time outside %02d:%02d-%02d:%02d",
                              w.hour, w.minute, tz_name(m->zone), what, from.hour, from.minute, to.hour, to.minute);
                return;
        }
}

/* For weekly cadences the first occurrence is the first listed weekday on
 * or after `start`, and INTERVAL counts weeks from its week (README "Config reference", `[meeting:ID]`). */
static Date weekly_first(const Meeting *m)
{
        int64_t d = date_to_days(m->start);
        while (!(m->weekdays & (1u << date_weekday(date_from_days(d)))))
                d++;
        return date_from_days(d);
}

/* The rule's wall time of an occurrence (what EXDATE and RECURRENCE-ID
 * name): its local date, at the meeting's time. */
static Wall rule_wall(const Meeting *m, int64_t rid)
{
        return (Wall){tz_instant_to_wall(m->zone, rid).date, m->hour, m->minute, 0};
}

/* How far the plan looks at the rule's occurrences: the horizon, and every
 * change by hand wherever it is. */
static int64_t plan_bound(const Build *b)
{
        int64_t bound = b->horizon;
        for (size_t i = 0; i < b->meeting->n_changes; i++) {
                const Change *c = &b->meeting->changes[i];
                int64_t t = (date_to_days(c->date) + 2) * 86400;
                if (t > bound)
                        bound = t;
        }
        return bound;
}

/* The occurrences the rule gives (wall rule r, from first) before bound. */
static size_t rule_instants(const Meeting *m, struct icalrecurrencetype r, Wall first, int64_t bound, int64_t **ret)
{
        int64_t *v = NULL;
        size_t n = 0, alloc = 0;
        icalrecur_iterator *it = icalrecur_iterator_new(r, wall_to_ical(first));
        for (struct icaltimetype t = it ? icalrecur_iterator_next(it) : icaltime_null_time(); !icaltime_is_null_time(t);
             t = icalrecur_iterator_next(it)) {
                int64_t start = tz_wall_to_instant(m->zone, wall_from_ical(t));
                if (start >= bound)
                        break;
                GROW(v, n, alloc);
                v[n++] = start;
        }
        icalrecur_iterator_free(it);
        *ret = v;
        return n;
}

/* The meeting's skipped and moved occurrences (plan.h) among rids, the
 * rule's occurrences up to plan_bound(), with what the changes by hand
 * came to as errors and warnings at their lines. A pair takes every skip
 * of its pairing and applies those on its own rounds: the pairing's own
 * build judges them. */
static int plan_build(Build *b, const int64_t *rids, size_t n)
{
        const Meeting *m = b->meeting;
        bool holidays = calendars_any(b->calendars) && m->on_holiday != ON_HOLIDAY_KEEP;
        if (m->n_changes == 0 && !holidays)
                return 0;
        _cleanup_free_ ChangeVerdict *verdicts = xcalloc(m->n_changes + 1, sizeof(ChangeVerdict));
        b->n_plan = plan_exceptions(m, rids, n, b->horizon, holidays ? calendars_holiday : NULL, b->calendars,
                                    &b->plan, verdicts);
        int ret = 0;
        for (size_t i = 0; !m->pair.pairing && i < m->n_changes; i++) {
                const Change *c = &m->changes[i];
                const char *key = c->move ? "move" : "skip";
                switch (verdicts[i]) {
                case CHANGE_NOT_AN_OCCURRENCE:
                        build_error(b, key, streq(m->src->kind, "pairing") ? "the pairing has no round on %04d-%02d-%02d"
                                                                         : "the meeting does not take place on %04d-%02d-%02d",
                                    c->date.year, c->date.month, c->date.day);
                        ret = -EINVAL;
                        break;
                case CHANGE_ONTO_OCCURRENCE:
                        build_error(b, key, "%04d-%02d-%02d -> %04d-%02d-%02d: the meeting takes place on %04d-%02d-%02d "
                                            "already; skip or move that occurrence too",
                                    c->date.year, c->date.month, c->date.day, c->to.year, c->to.month, c->to.day,
                                    c->to.year, c->to.month, c->to.day);
                        ret = -EINVAL;
                        break;
                case CHANGE_INTO_HOLIDAY:
                        build_warning(b, key, "%04d-%02d-%02d -> %04d-%02d-%02d: that is a holiday of one of its departments",
                                      c->date.year, c->date.month, c->date.day, c->to.year, c->to.month, c->to.day);
                        break;
                case CHANGE_OK:
                        break;
                }
        }
        return ret;
}

/* The recorded host of the occurrence, as rotation_walk() takes it: its
 * index in the order; ROTATION_OUTSIDE (with *outside) for a department
 * that is no longer in the order but can still be named; else none. */
static int recorded_turn(const Build *b, int64_t rid, const Department **outside)
{
        const Meeting *m = b->meeting;
        const char *id = history_host(b->history, m->id, rid);
        if (!id)
                return ROTATION_NONE;
        for (size_t i = 0; i < m->n_rotation; i++)
                if (streq(m->rotation[i]->id, id))
                        return (int)i;
        const Department *d = config_department(b->config, id);
        if (!d || !d->manager_email)
                return ROTATION_NONE; /* gone: its turn is computed anew */
        *outside = d;
        return ROTATION_OUTSIDE;
}

/* Whose turn each held occurrence before the horizon is (rotation.h):
 * recorded ones keep their host, the others follow from them. */
static void turns_build(Build *b, const int64_t *rids, size_t n)
{
        const Meeting *m = b->meeting;
        while (n > 0 && rids[n - 1] >= b->horizon)
                n--;
        _cleanup_free_ bool *held = xcalloc(n + 1, sizeof(bool));
        _cleanup_free_ int *recorded = xcalloc(n + 1, sizeof(int));
        _cleanup_free_ int *host = xcalloc(n + 1, sizeof(int));
        _cleanup_free_ const Department **outside = xcalloc(n + 1, sizeof(Department *));
        for (size_t i = 0; i < n; i++) {
                const Exception *e = plan_exception(b->plan, b->n_plan, rids[i]);
                held[i] = !e || !e->cancelled;
                recorded[i] = recorded_turn(b, rids[i], &outside[i]);
        }
        rotation_walk(m->n_rotation, held, recorded, n, host);
        b->turns.v = xcalloc(n + 1, sizeof(Turn));
        for (size_t i = 0; i < n; i++) {
                if (!held[i])
                        continue;
                const Exception *e = plan_exception(b->plan, b->n_plan, rids[i]);
                const Department *d = host[i] == ROTATION_OUTSIDE ? outside[i] : m->rotation[host[i]];
                b->turns.v[b->turns.n++] = (Turn){rids[i], e ? e->start : rids[i], d};
        }
        b->turns.series = b->turns.n ? b->turns.v[0].host : m->rotation[0];
}

/* A moved occurrence, or one hosted by another department than the
 * series names: an override of the meeting's VEVENT (RFC 5545 section
 * 3.8.4.4), with its UID, the RECURRENCE-ID of the occurrence it replaces,
 * its DTSTART and DTEND, its ORGANIZER, and why it moved in its
 * DESCRIPTION. Moved onto a DST edge, its times are in UTC, as the rule's
 * occurrences there are published: in the TZID form a doubled local time
 * reads as the second in most engines and a DTEND in the second pass as the
 * first in all (tests/interop, changes.ini). */
static icalcomponent *override_event(Build *b, int64_t rid, int64_t start, const char *reason)
{
        const Meeting *m = b->meeting;
        icalcomponent *ev = icalcomponent_new_vevent();
        _cleanup_free_ char *uid = xasprintf("%s@%s", m->id, b->config->domain);
        icalcomponent_add_property(ev, icalproperty_new_uid(uid));
        icalcomponent_add_property(ev, datetime_prop(icalproperty_new_recurrenceid(ical_in_zone(rule_wall(m, rid), m->zone)),
                                                     m->zone));
        icalcomponent_add_property(ev, icalproperty_new_summary(m->title));
        Wall w = tz_instant_to_wall(m->zone, start), end = tz_instant_to_wall(m->zone, start + m->duration);
        if (at_edge(m->zone, w, m->duration))
                add_utc_times(ev, start, start + m->duration);
        else {
                icalcomponent_add_property(ev, datetime_prop(icalproperty_new_dtstart(ical_in_zone(w, m->zone)), m->zone));
                icalcomponent_add_property(ev, datetime_prop(icalproperty_new_dtend(ical_in_zone(end, m->zone)), m->zone));
        }
        add_details(ev, m, reason, build_host(b, rid));
        return ev;
}

static void build_add(Build *b, icalcomponent *ev)
{
        GROW(b->exceptions, b->n_exceptions, b->alloc_exceptions);
        b->exceptions[b->n_exceptions++] = ev;
}

/* The last occurrence of a bounded rule (its UNTIL in wall time). */
static Wall rule_last(struct icalrecurrencetype r, Wall first)
{
        Wall last = first;
        icalrecur_iterator *it = icalrecur_iterator_new(r, wall_to_ical(first));
        for (struct icaltimetype t = icalrecur_iterator_next(it); it && !icaltime_is_null_time(t);
             t = icalrecur_iterator_next(it))
                last = wall_from_ical(t);
        icalrecur_iterator_free(it);
        return last;
}

/* UNTIL for a meeting whose last day is `last` (in its zone): the end of
 * that day. rrule.js compares UNTIL with each occurrence's local time read
 * as if it were UTC, so east of Greenwich it would drop a meeting late on
 * its last day: any instant before the next day's meeting means the same
 * to RFC 5545, so the later of the two. */
static void rule_publish_until(const Meeting *m, struct icalrecurrencetype *r, Date last)
{
        int64_t until = tz_wall_to_instant(m->zone, (Wall){last, 23, 59, 59});
        int64_t late = wall_to_seconds((Wall){last, m->hour, m->minute, 0});
        if (late > until)
                until = late;
        r->until = wall_to_ical(wall_from_seconds(until));
        r->until.zone = icaltimezone_get_utc_timezone();
}

/* The rule as published (*r: UNTIL in UTC, COUNT less a start the rule
 * does not match) and its first occurrence, or -EINVAL with the errors at
 * the meeting's lines. */
static int rule_prepare(Build *b, struct icalrecurrencetype *r, Wall *first)
{
        const Meeting *m = b->meeting;
        _cleanup_free_ char *text = rule_text(m);
        *r = icalrecurrencetype_from_string(text);
        icalerror_clear_errno();
        if (m->cadence == CADENCE_RRULE && rule_check(b, r) < 0)
                return -EINVAL;
        rule_warn(b, r);

        Wall start = {m->start, m->hour, m->minute, 0};
        if (m->cadence == CADENCE_WEEKLY)
                start.date = weekly_first(m);
        if (!rule_first(rule_in_wall_time(*r, m->zone), start, m, first)) {
                build_error(b, m->cadence == CADENCE_RRULE ? "cadence" : "day",
                            "the meeting never takes place between start and %s",
                            m->has_end ? "end" : !icaltime_is_null_time(r->until) ? "UNTIL" : "2200");
                return -EINVAL;
        }
        /* RFC 5545 counts DTSTART as one of COUNT even where it does not
         * match the rule. README "Which dates": the occurrences are RFC
         * 5545's reading with DTSTART at start + time, less start itself;
         * so with start dropped and DTSTART moved to the first real
         * occurrence, one fewer remains to count. */
        if (r->count > 0 && wall_to_seconds(*first) != wall_to_seconds(start) && --r->count == 0) {
                build_error(b, "cadence", "COUNT=1 leaves no occurrence once start, which the rule does not match, is dropped");
                return -EINVAL;
        }
        if (m->has_end && r->count > 0) {
                build_error(b, "end", "the rule has a COUNT already: use either COUNT or end");
                return -EINVAL;
        }
        /* An UNTIL of the rule's own bounds it as end does: by the date of
         * its last occurrence, published the way every engine reads alike
         * (python's dateutil compares UNTIL at DTSTART's offset, rrule.js
         * reads local times as UTC: an UNTIL right at an occurrence is read
         * differently by each). */
        Date last_day = m->end;
        bool bounded = m->has_end;
        if (!bounded && !icaltime_is_null_time(r->until)) {
                last_day = rule_last(rule_in_wall_time(*r, m->zone), *first).date;
                bounded = true;
        }
        if (bounded)
                rule_publish_until(m, r, last_day);
        return 0;
}

/* The rule's starts in [from, to), at most max: the iterator jumps close
 * to `from` where it can (not with COUNT, which counts from DTSTART). */
static size_t rule_starts(const Meeting *m, struct icalrecurrencetype wr, Wall first, int64_t from, int64_t to,
                          size_t max, int64_t **ret)
{
        int64_t *v = NULL;
        size_t n = 0, alloc = 0;
        icalrecur_iterator *it = icalrecur_iterator_new(wr, wall_to_ical(first));
        int64_t start0 = tz_wall_to_instant(m->zone, first);
        if (it && wr.count == 0 && from > start0 + 2 * 86400)
                icalrecur_iterator_set_start(it, wall_to_ical(tz_instant_to_wall(m->zone, from - 2 * 86400)));
        for (struct icaltimetype t = it ? icalrecur_iterator_next(it) : icaltime_null_time();
             n < max && !icaltime_is_null_time(t); t = icalrecur_iterator_next(it)) {
                int64_t start = tz_wall_to_instant(m->zone, wall_from_ical(t));
                if (start >= to)
                        break;
                if (start < from)
                        continue;
                GROW(v, n, alloc);
                v[n++] = start;
        }
        icalrecur_iterator_free(it);
        *ret = v;
        return n;
}

size_t schedule_rule_starts(const Config *c, const Meeting *m, int64_t from, int64_t to, size_t max, int64_t **ret)
{
        Diags quiet = {0};
        Build b = {.config = c, .meeting = m, .diags = &quiet};
        struct icalrecurrencetype r;
        Wall first;
        *ret = NULL;
        size_t n = rule_prepare(&b, &r, &first) == 0 ? rule_starts(m, rule_in_wall_time(r, m->zone), first, from, to, max, ret)
                                                   : 0;
        diag_free(&quiet);
        return n;
}

/* A pair's rounds before bound (README "Host rotation and pairings"): the
 * pairing's rule from the epoch's first round, each cycle's round
 * `offset`. */
static size_t pair_rounds(const Build *b, int64_t bound, int64_t **ret)
{
        const PairSlot *ps = &b->meeting->pair;
        _cleanup_free_ int64_t *rounds = NULL;
        int64_t to = ps->until < bound ? ps->until : bound;
        size_t n = schedule_rule_starts(b->config, &ps->pairing->template, ps->from, to, SIZE_MAX, &rounds);
        int64_t *v = xcalloc(n / ps->cycle + 1, sizeof(int64_t));
        size_t k = 0;
        for (size_t i = ps->offset; i < n; i += ps->cycle)
                v[k++] = rounds[i];
        *ret = v;
        return k;
}

/* An occurrence as a VEVENT of its own in UTC, as occurrences at DST edges
 * are (a pair's round, or a moved one before DTSTART). */
static icalcomponent *single_event(Build *b, int64_t rid, int64_t start, const char *moved)
{
        return utc_event(b, tz_instant_to_wall(b->meeting->zone, rid).date, rid, start, moved);
}

/* A pair whose rounds no single rule can say: each round up to the horizon
 * as a VEVENT of its own in UTC, as occurrences at DST edges are, UID
 * "<pair>.<YYYYMMDD>@<domain>" (its date by the rule); a moved one at its
 * new time with the reason, a cancelled one not at all. */
static int build_explicit(Build *b)
{
        const Meeting *m = b->meeting;
        _cleanup_free_ int64_t *rids = NULL;
        size_t n = pair_rounds(b, plan_bound(b), &rids);
        if (plan_build(b, rids, n) < 0)
                return -EINVAL;
        if (m->rotation)
                turns_build(b, rids, n);
        for (size_t i = 0; i < n && rids[i] < b->horizon; i++) {
                const Exception *e = plan_exception(b->plan, b->n_plan, rids[i]);
                if (e && e->cancelled)
                        continue;
                build_add(b, single_event(b, rids[i], e ? e->start : rids[i],
                                          e ? (e->reason ? e->reason : "by the organizer") : NULL));
        }
        return 0;
}

static icalcomponent *build_event(Build *b)
{
        const Meeting *m = b->meeting;
        struct icalrecurrencetype r;
        Wall first;
        if (rule_prepare(b, &r, &first) < 0)
                return NULL;
        struct icalrecurrencetype wr = rule_in_wall_time(r, m->zone);
        /* The rule's occurrences up to the horizon (and the changes by
         * hand): what the plan and the turns are about. */
        _cleanup_free_ int64_t *rids = NULL;
        size_t n_rids = 0;
        if (m->n_changes || m->rotation || (calendars_any(b->calendars) && m->on_holiday != ON_HOLIDAY_KEEP))
                n_rids = rule_instants(m, wr, first, plan_bound(b), &rids);
        if (plan_build(b, rids, n_rids) < 0)
                return NULL;
        /* as a rule with no occurrence is an error, so is skipping them all */
        if (m->n_skip && !m->pair.pairing && rule_all_skipped(wr, first, m)) {
                build_error(b, "skip", "names every occurrence: the meeting would never take place");
                return NULL;
        }
        if (m->rotation)
                turns_build(b, rids, n_rids);

        /* Occurrences at DST edges: from the start, all those before the
         * first one that is not at an edge (which becomes DTSTART), then
         * those up to the horizon. */
        Wall dtstart = first;
        Walls edges = {0};
        bool clean = edges_skip_start(b, &wr, &dtstart, &edges);
        if (clean)
                r.count = wr.count;
        int64_t dtstart_at = tz_wall_to_instant(m->zone, dtstart);
        /* No occurrence left for DTSTART that is neither changed nor at an
         * edge (every one of a bounded rule cancelled or moved): DTSTART
         * stays on a changed one and is excluded by EXDATE like the rest, a
         * moved one published apart (RFC 5545 allows an EXDATE at DTSTART;
         * only sabre/vobject 2 misses it). */
        bool dtstart_changed = !clean && is_changed_date(b, dtstart.date);
        if (b->turns.n)
                b->turns.series = build_host(b, dtstart_at); /* no override of DTSTART for its host */
        edges_find(b, wr, dtstart, &edges);
        edges_warn(b, &edges);

        icalcomponent *ev = icalcomponent_new_vevent();
        _cleanup_free_ char *uid = xasprintf("%s@%s", m->id, b->config->domain);
        icalcomponent_add_property(ev, icalproperty_new_uid(uid));
        icalcomponent_add_property(ev, icalproperty_new_summary(m->title));
        icalcomponent_add_property(ev, datetime_prop(icalproperty_new_dtstart(ical_in_zone(dtstart, m->zone)), m->zone));
        int64_t end_instant = tz_wall_to_instant(m->zone, dtstart) + m->duration;
        Wall end = tz_instant_to_wall(m->zone, end_instant);
        if (tz_wall_to_instant(m->zone, end) == end_instant)
                icalcomponent_add_property(ev, datetime_prop(icalproperty_new_dtend(ical_in_zone(end, m->zone)), m->zone));
        else
                /* The end falls in the second pass of a repeated hour, which a
                 * local DTEND cannot name (it reads as the first): give the
                 * exact duration instead (RFC 5545 section 3.8.2.5). */
                icalcomponent_add_property(ev, icalproperty_new_duration(icaldurationtype_from_int((int)m->duration)));
        /* Its RRULE goes in when the VEVENT is rendered (schedule_event):
         * libical holds a rule in 2,896 bytes, 14 MB for 5000 meetings,
         * most of the heap a start-up builds and then frees. */
        b->rrule = icalrecurrencetype_as_string_r(&r);
        for (size_t i = 0; i < b->n_plan; i++)
                if ((b->plan[i].cancelled && b->plan[i].rid > dtstart_at) ||
                    (dtstart_changed && b->plan[i].rid == dtstart_at))
                        add_exdate(ev, m, rule_wall(m, b->plan[i].rid));
        for (size_t i = 0; i < edges.n; i++)
                if (!is_changed_date(b, edges.v[i].date) && wall_to_seconds(edges.v[i]) > wall_to_seconds(dtstart))
                        add_exdate(ev, m, edges.v[i]);
        add_details(ev, m, NULL, b->turns.series ? b->turns.series : m->host);
        for (size_t i = 0; i < edges.n; i++)
                /* (DTSTART stays at an edge only when no occurrence is
                 * free of one: then the rule itself gives it) */
                if (!is_changed_date(b, edges.v[i].date) && wall_to_seconds(edges.v[i]) != wall_to_seconds(dtstart))
                        build_add(b, exception_event(b, edges.v[i]));
        for (size_t i = 0; i < b->n_plan; i++) {
                const Exception *e = &b->plan[i];
                const char *why = e->reason ? e->reason : "by the organizer";
                if (e->cancelled)
                        continue;
                /* before DTSTART there is no occurrence to override */
                bool apart = e->rid < dtstart_at || (dtstart_changed && e->rid == dtstart_at);
                build_add(b, apart ? single_event(b, e->rid, e->start, why) : override_event(b, e->rid, e->start, why));
        }
        /* Held as planned but hosted by another department than the series
         * names, and not published apart at a DST edge. */
        for (size_t i = 0; i < b->turns.n; i++) {
                const Turn *t = &b->turns.v[i];
                Date d = tz_instant_to_wall(m->zone, t->rid).date;
                bool edge = false;
                for (size_t k = 0; k < edges.n && !edge; k++)
                        edge = date_to_days(edges.v[k].date) == date_to_days(d) &&
                               wall_to_seconds(edges.v[k]) != wall_to_seconds(dtstart);
                if (t->host != b->turns.series && t->start == t->rid && !edge && t->rid >= dtstart_at)
                        build_add(b, override_event(b, t->rid, t->rid, NULL));
        }
        free(edges.v);
        return ev;
}

/* A pairing's own rule, as a meeting of all its departments, for what
 * only the rule reveals (a rule that never meets, a skip on no round, DST
 * edges to warn about): said once for the pairing, not once per pair. */
static int pairing_check(const Config *c, const Pairing *p, const ScheduleOptions *o, ShiftCache *shifts,
                         Calendars *calendars, Diags *diags)
{
        Build b = {.config = c, .meeting = &p->template, .diags = diags, .shifts = shifts, .now = o->now,
                   .horizon = o->now + c->feed_horizon, .calendars = calendars};
        icalcomponent *ev = build_event(&b);
        int r = ev ? 0 : -EINVAL;
        if (ev)
                icalcomponent_free(ev);
        for (size_t k = 0; k < b.n_exceptions; k++)
                icalcomponent_free(b.exceptions[k]);
        free(b.exceptions);
        plan_exceptions_free(b.plan, b.n_plan);
        free(b.turns.v);
        free(b.rrule);
        return r;
}

int schedule_new(const Config *c, const ScheduleOptions *o, Schedule **ret, Diags *diags)
{
        Schedule *s = xcalloc(1, sizeof(Schedule));
        int r = 0;
        int64_t now = o->now;
        s->config = c;
        s->horizon = now + c->feed_horizon;
        s->plan = xcalloc(c->n_meetings + 1, sizeof(Exception *));
        s->n_plan = xcalloc(c->n_meetings + 1, sizeof(size_t));
        s->turns = xcalloc(c->n_meetings + 1, sizeof(Turns));
        if (calendars_load(c, o->fetch, now, &s->calendars, diags) < 0)
                r = -EINVAL;
        s->events = xcalloc(c->n_meetings + 1, sizeof(icalcomponent *));
        s->first_starts = xcalloc(c->n_meetings + 1, sizeof(int64_t));
        s->exceptions = xcalloc(c->n_meetings + 1, sizeof(icalcomponent **));
        s->n_exceptions = xcalloc(c->n_meetings + 1, sizeof(size_t));
        s->n_events = c->n_meetings;
        s->next = xcalloc(c->n_meetings, sizeof(NextCache));
        s->rrules = xcalloc(c->n_meetings + 1, sizeof(char *));
        s->fingerprints = xcalloc(c->n_meetings + 1, sizeof(*s->fingerprints));
        ShiftCache shifts = {0};
        for (size_t i = 0; i < c->n_pairings; i++)
                if (!c->pairings[i].template.valid ||
                    pairing_check(c, &c->pairings[i], o, &shifts, s->calendars, diags) < 0)
                        r = -EINVAL;
        for (size_t i = 0; i < c->n_meetings; i++) {
                const Meeting *m = &c->meetings[i];
                Build b = {.config = c, .meeting = m, .diags = diags, .shifts = &shifts, .now = now,
                           .horizon = s->horizon, .calendars = s->calendars, .history = o->history,
                           .quiet = m->pair.pairing != NULL};
                if (!m->valid) {
                        r = -EINVAL;
                        continue;
                }
                bool built;
                if (m->pair.explicit_rounds)
                        built = build_explicit(&b) == 0;
                else
                        built = (s->events[i] = build_event(&b)) != NULL;
                s->exceptions[i] = b.exceptions;
                s->n_exceptions[i] = b.n_exceptions;
                s->plan[i] = b.plan;
                s->n_plan[i] = b.n_plan;
                s->turns[i] = b.turns;
                s->rrules[i] = b.rrule;
                if (!built)
                        r = -EINVAL;
                else {
                        s->first_starts[i] = s->events[i] ? schedule_first_start(s->events[i])
                                             : b.n_exceptions ? schedule_first_start(b.exceptions[0])
                                                              : INT64_MAX;
                        if (o->built)
                                o->built(s, i, o->userdata);
                }
        }
        shifts_free(&shifts);
        if (r < 0) {
                schedule_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int schedule_read(const char *path, const ScheduleOptions *o, Config **config, Diags *diags)
{
        Config *c = NULL;
        int r = config_parse(path, &c, diags);
        *config = c;
        if (!c)
                return r;
        if (o->simulated)
                config_use_simulated_state(c);
        if (r == 0 && o->read_history) {
                int k = o->read_history(o->userdata, c, o->history);
                if (k < 0) {
                        *config = config_free(c);
                        return k;
                }
        }
        return r;
}

int schedule_plan(Config *c, const ScheduleOptions *o, Schedule **ret, Diags *diags)
{
        pairing_expand(c, o->history, o->now);
        return schedule_new(c, o, ret, diags);
}

int schedule_load(const char *path, const ScheduleOptions *o, Config **config, Schedule **schedule, Diags *diags)
{
        Config *c = NULL;
        Schedule *s = NULL;
        int r = schedule_read(path, o, &c, diags);
        if (!c)
                return r;
        /* Even a config with errors has its valid meetings' rules checked. */
        int k = schedule_plan(c, o, &s, diags);
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
        for (size_t i = 0; i < s->n_events; i++) {
                if (s->events[i])
                        icalcomponent_free(s->events[i]);
                for (size_t k = 0; k < s->n_exceptions[i]; k++)
                        icalcomponent_free(s->exceptions[i][k]);
                free(s->exceptions[i]);
                plan_exceptions_free(s->plan[i], s->n_plan[i]);
                free(s->turns[i].v);
                if (s->rrules)
                        free(s->rrules[i]);
        }
        free(s->rrules);
        free(s->fingerprints);
        buf_free(&s->texts);
        free(s->text_at);
        buf_free(&s->cores);
        free(s->core_at);
        free(s->plan);
        free(s->n_plan);
        free(s->turns);
        calendars_free(s->calendars);
        free(s->events);
        free(s->exceptions);
        free(s->n_exceptions);
        free(s->first_starts);
        free(s->next);
        free(s);
        return NULL;
}

void schedule_turns_due(const Schedule *s, int64_t after, int64_t until, History *h)
{
        for (size_t i = 0; i < s->n_events; i++) {
                const Meeting *m = &s->config->meetings[i];
                int64_t first = meeting_first_reminder(m);
                for (size_t k = 0; k < s->turns[i].n; k++) {
                        const Turn *t = &s->turns[i].v[k];
                        int64_t due = (t->start < t->rid ? t->start : t->rid) - first;
                        if (due > after && due <= until)
                                history_add_host(h, m->id, t->rid, t->host->id);
                }
        }
}
