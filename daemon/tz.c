/* tz.c — time zones, from libical's copy of the system tzdata, so that the
 * offsets tandem computes and the VTIMEZONEs it publishes come from one
 * source. */
#include "tz.h"

#include <errno.h>
#include <string.h>

#include "tzdb.h"
#include "util.h"

/* libical 3.0.16 names its builtin zones "/freeassociation.sourceforge.net/
 * Europe/Berlin"; icaltimezone_set_tzid_prefix("") does not change that, so
 * tandem always goes through the zone's location (the IANA name). libical
 * also loads any path under its zone directory ("Europe/../Europe/Berlin",
 * "right/UTC"), which is then published as written: only names tzdata
 * lists are looked up. */
icaltimezone *tz_lookup(const char *name)
{
        /* libical finds a builtin zone by comparing the name with each of
         * its ~600 in turn, and every TZID read back from a VEVENT asks:
         * a tenth of start-up went there. The names found are remembered
         * (their zones live as long as the process). */
        static StrMap found;
        if (streq(name, "UTC"))
                return icaltimezone_get_utc_timezone();
        icaltimezone *z = strmap_get(&found, name);
        if (z || !tzdb_is_name(name))
                return z;
        z = icaltimezone_get_builtin_timezone(name);
        /* (a copy of the name: libical replaces a zone's location string
         * when it loads the zone's data) */
        if (z)
                strmap_put(&found, xstrdup(name), z);
        return z;
}

const char *tz_name(icaltimezone *z)
{
        if (z == icaltimezone_get_utc_timezone())
                return "UTC";
        return icaltimezone_get_location(z);
}

const char *const *tz_all_names(void)
{
        return tzdb_names();
}

int64_t wall_to_seconds(Wall w)
{
        return date_to_days(w.date) * 86400 + w.hour * 3600 + w.minute * 60 + w.second;
}

/* The day of an instant (floored: -1 is the day before the epoch's). */
static int64_t day_of(int64_t s)
{
        return s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
}

Wall wall_from_seconds(int64_t s)
{
        int64_t days = day_of(s);
        int64_t rem = s - days * 86400;
        return (Wall){date_from_days(days), (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60)};
}

struct icaltimetype wall_to_ical(Wall w)
{
        struct icaltimetype t = icaltime_null_time();
        t.year = w.date.year;
        t.month = w.date.month;
        t.day = w.date.day;
        t.hour = w.hour;
        t.minute = w.minute;
        t.second = w.second;
        return t;
}

Wall wall_from_ical(struct icaltimetype t)
{
        return (Wall){{t.year, t.month, t.day}, t.hour, t.minute, t.second};
}

static int offset_from_libical(icaltimezone *z, int64_t instant)
{
        struct icaltimetype t = wall_to_ical(wall_from_seconds(instant));
        t.zone = icaltimezone_get_utc_timezone();
        int is_daylight = 0;
        return icaltimezone_get_utc_offset_of_utc_time(z, &t, &is_daylight);
}

/* libical's lookup costs thousands of instructions (8-11 % of start-up and
 * of an export), and reading one wall time asks it four times about the
 * same three days. A UTC day whose first and last seconds have the same
 * offset has it throughout (no zone changes its offset twice within two
 * days): such days are remembered, per zone (libical's built-in zones,
 * which live as long as the process). */
#define OFFSET_DAYS 4096 /* direct-mapped */

typedef struct OffsetDay {
        const icaltimezone *zone;
        int64_t day;
        int offset;
} OffsetDay;

static OffsetDay offset_days[OFFSET_DAYS];

int tz_offset_at(icaltimezone *z, int64_t instant)
{
        if (z == icaltimezone_get_utc_timezone())
                return 0;
        int64_t day = day_of(instant);
        OffsetDay *d = &offset_days[(fnv1a64((const char *)&z, sizeof z) ^ (uint64_t)day) % OFFSET_DAYS];
        if (d->zone == z && d->day == day)
                return d->offset;
        int first = offset_from_libical(z, day * 86400), last = offset_from_libical(z, day * 86400 + 86399);
        if (first != last)
                return offset_from_libical(z, instant);
        *d = (OffsetDay){z, day, first};
        return first;
}

int64_t tz_wall_to_instant(icaltimezone *z, Wall w)
{
        int64_t local = wall_to_seconds(w);
        /* The offsets a day before and a day after are the only candidates:
         * no zone changes its offset twice within two days. */
        int before = tz_offset_at(z, local - 86400);
        int after = tz_offset_at(z, local + 86400);
        bool before_ok = tz_offset_at(z, local - before) == before;
        bool after_ok = tz_offset_at(z, local - after) == after;

        if (before_ok && after_ok)
                return local - (before > after ? before : after); /* ambiguous: the first */
        if (after_ok)
                return local - after;
        /* Valid under the old offset only, or in a gap: reading the wall time
         * with the offset before the change moves it forward by the gap. */
        return local - before;
}

Wall tz_instant_to_wall(icaltimezone *z, int64_t instant)
{
        return wall_from_seconds(instant + tz_offset_at(z, instant));
}

/* Offsets change at most a few times a year, and never twice within a
 * day: stepping a day at a time finds every change, and halving the day
 * finds its second. */
bool tz_next_shift(icaltimezone *z, int64_t from, int64_t to, TzShift *ret)
{
        if (z == icaltimezone_get_utc_timezone())
                return false;
        int before = tz_offset_at(z, from);
        for (int64_t lo = from; lo < to;) {
                int64_t hi = lo + 86400 < to ? lo + 86400 : to;
                int after = tz_offset_at(z, hi);
                if (after != before) {
                        /* the change is in (lo, hi]: offset(lo) = before */
                        while (hi - lo > 1) {
                                int64_t mid = lo + (hi - lo) / 2;
                                if (tz_offset_at(z, mid) == before)
                                        lo = mid;
                                else
                                        hi = mid;
                        }
                        *ret = (TzShift){hi, before, tz_offset_at(z, hi)};
                        return true;
                }
                lo = hi;
        }
        return false;
}

TzWallKind tz_wall_kind(icaltimezone *z, Wall w, TzShift *shift)
{
        int64_t local = wall_to_seconds(w);
        /* As in tz_wall_to_instant: the offsets a day either side are the
         * only candidates. A gap: neither reads back; a fold: both do. */
        int before = tz_offset_at(z, local - 86400);
        int after = tz_offset_at(z, local + 86400);
        if (before == after)
                return TZ_WALL_ONCE;
        bool before_ok = tz_offset_at(z, local - before) == before;
        bool after_ok = tz_offset_at(z, local - after) == after;
        TzWallKind kind = before_ok && after_ok ? TZ_WALL_TWICE : !before_ok && !after_ok ? TZ_WALL_MISSING : TZ_WALL_ONCE;
        if (kind != TZ_WALL_ONCE && shift) {
                /* The change lies within a day of the wall time read with
                 * either offset. */
                int64_t from = local - (before > after ? before : after) - 86400;
                if (!tz_next_shift(z, from, from + 3 * 86400, shift))
                        return TZ_WALL_ONCE;
        }
        return kind;
}

/* ---- observances -------------------------------------------------------
 *
 * A zone's VTIMEZONE holds its observances (STANDARD, DAYLIGHT), each with
 * onsets: DTSTART, the occurrences of its RRULE and its RDATEs. Walking an
 * RRULE goes through libical's iterator, which runs on ICU calendars and
 * costs about a millisecond per observance: a feed per department made that
 * the bulk of start-up. So each zone's onsets are found once, for the life
 * of the process (libical's builtin zones live as long), and looked up by
 * binary search; so is each VTIMEZONE that tz_vtimezone() hands out. */

/* How far past the instant asked for an endless rule's onsets are listed. */
#define ONSETS_AHEAD (50 * 366 * 86400LL)

typedef struct Observance {
        icalcomponent *c;
        int64_t *onsets; /* sorted */
        size_t n;
        bool more;       /* its rule has onsets after onsets[n - 1] */
} Observance;

/* One tz_vtimezone() answer: the same for every `from` in [lo, hi), where
 * no observance has an onset. */
typedef struct Trimmed {
        int64_t lo, hi;
        icalcomponent *vtz;
        char *text; /* libical's text of vtz, once asked for */
} Trimmed;

typedef struct ZoneInfo {
        icaltimezone *zone;
        Observance *obs;
        size_t n_obs;
        int64_t until; /* onsets are complete up to here */
        Trimmed *trimmed;
        size_t n_trimmed, alloc_trimmed;
} ZoneInfo;

static bool is_observance(icalcomponent *c)
{
        icalcomponent_kind k = icalcomponent_isa(c);
        return k == ICAL_XSTANDARD_COMPONENT || k == ICAL_XDAYLIGHT_COMPONENT;
}

static int onset_cmp(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return (x > y) - (x < y);
}

/* Each onset is a wall time in the offset the observance changes from.
 * Lists them up to `until`, and the first after it. */
static void observance_list(Observance *o, int64_t until)
{
        icalproperty *from = icalcomponent_get_first_property(o->c, ICAL_TZOFFSETFROM_PROPERTY);
        icalproperty *start = icalcomponent_get_first_property(o->c, ICAL_DTSTART_PROPERTY);
        size_t alloc = 0;
        free(o->onsets);
        *o = (Observance){o->c, NULL, 0, false};
        if (!from || !start)
                return;
        int off = icalproperty_get_tzoffsetfrom(from);
        struct icaltimetype dt = icalproperty_get_dtstart(start);
#define ADD(tt)                                                                 \
        do {                                                                    \
                GROW(o->onsets, o->n, alloc);                                   \
                o->onsets[o->n++] = wall_to_seconds(wall_from_ical(tt)) - off;  \
        } while (0)
        ADD(dt);
        icalproperty *rr = icalcomponent_get_first_property(o->c, ICAL_RRULE_PROPERTY);
        if (rr) {
                icalrecur_iterator *it = icalrecur_iterator_new(icalproperty_get_rrule(rr), dt);
                for (struct icaltimetype n = icalrecur_iterator_next(it); it && !icaltime_is_null_time(n);
                     n = icalrecur_iterator_next(it)) {
                        ADD(n);
                        if (o->onsets[o->n - 1] > until) {
                                o->more = true;
                                break;
                        }
                }
                icalrecur_iterator_free(it);
        }
        for (icalproperty *p = icalcomponent_get_first_property(o->c, ICAL_RDATE_PROPERTY); p;
             p = icalcomponent_get_next_property(o->c, ICAL_RDATE_PROPERTY))
                ADD(icalproperty_get_rdate(p).time);
#undef ADD
        qsort(o->onsets, o->n, sizeof(int64_t), onset_cmp);
}

/* The zone's observances, with their onsets complete up to t at least. */
static ZoneInfo *zone_info(icaltimezone *z, int64_t t)
{
        static ZoneInfo *zones;
        static size_t n_zones, alloc_zones;
        ZoneInfo *zi = NULL;
        for (size_t i = 0; i < n_zones && !zi; i++)
                if (zones[i].zone == z)
                        zi = &zones[i];
        if (!zi) {
                GROW(zones, n_zones, alloc_zones);
                zi = &zones[n_zones++];
                *zi = (ZoneInfo){.zone = z, .until = INT64_MIN};
                icalcomponent *vtz = icaltimezone_get_component(z);
                for (icalcomponent *c = icalcomponent_get_first_component(vtz, ICAL_ANY_COMPONENT); c;
                     c = icalcomponent_get_next_component(vtz, ICAL_ANY_COMPONENT))
                        if (is_observance(c)) {
                                zi->obs = xrealloc(zi->obs, (zi->n_obs + 1) * sizeof(Observance));
                                zi->obs[zi->n_obs++] = (Observance){c, NULL, 0, false};
                        }
        }
        if (t >= zi->until) {
                zi->until = t < INT64_MAX - ONSETS_AHEAD ? t + ONSETS_AHEAD : INT64_MAX;
                for (size_t i = 0; i < zi->n_obs; i++)
                        observance_list(&zi->obs[i], zi->until);
        }
        return zi;
}

/* The observance's last onset at or before t (false if none) and its first
 * after t (INT64_MAX if none). */
static bool observance_onsets(const Observance *o, int64_t t, int64_t *last, int64_t *next)
{
        size_t lo = 0, hi = o->n; /* the first onset after t is at hi */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (o->onsets[mid] <= t)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *next = hi < o->n ? o->onsets[hi] : INT64_MAX;
        if (hi > 0)
                *last = o->onsets[hi - 1];
        return hi > 0;
}

/* The observance in effect at t: the one with the latest onset at or
 * before it (the first of equals), or -1; [*onset, *until) is the span
 * around t in which no observance has an onset. */
static ssize_t observance_at(const ZoneInfo *zi, int64_t t, int64_t *onset, int64_t *until)
{
        ssize_t best = -1;
        *onset = INT64_MIN;
        *until = INT64_MAX;
        for (size_t i = 0; i < zi->n_obs; i++) {
                int64_t last, next;
                bool found = observance_onsets(&zi->obs[i], t, &last, &next);
                if (next < *until)
                        *until = next;
                if (found && (best < 0 || last > *onset)) {
                        best = (ssize_t)i;
                        *onset = last;
                }
        }
        return best;
}

const char *tz_abbrev(icaltimezone *z, int64_t instant)
{
        /* A reminder asks twice, a preview many times, mostly for the same
         * few zones and seasons: remember the last span per zone slot. */
        static struct {
                icaltimezone *zone;
                int64_t from, until;
                char name[16];
        } cache[16];
        if (z == icaltimezone_get_utc_timezone())
                return "UTC";
        size_t slot = ((uintptr_t)z >> 4) % ELEMENTSOF(cache);
        if (cache[slot].zone == z && instant >= cache[slot].from && instant < cache[slot].until)
                return cache[slot].name;

        const ZoneInfo *zi = zone_info(z, instant);
        int64_t onset, until;
        ssize_t obs = observance_at(zi, instant, &onset, &until);
        icalproperty *name = obs >= 0 ? icalcomponent_get_first_property(zi->obs[obs].c, ICAL_TZNAME_PROPERTY) : NULL;
        const char *s = name ? icalproperty_get_tzname(name) : NULL;
        cache[slot].zone = z;
        cache[slot].from = onset;
        cache[slot].until = until;
        /* tzdata writes "+0545" style names for zones without an
         * abbreviation in use; keep those, and fall back to the offset. */
        if (s && *s)
                snprintf(cache[slot].name, sizeof cache[slot].name, "%s", s);
        else {
                int off = tz_offset_at(z, instant);
                int a = off < 0 ? -off : off;
                snprintf(cache[slot].name, sizeof cache[slot].name, "%c%02d%02d", off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
        }
        return cache[slot].name;
}

/* Drops every observance that has no onset after `from`, except the one in
 * effect at `from`: clients need it to know the offset until the next
 * change. This removes the 1800s local mean time with its seconds-precision
 * offsets that some clients reject. */
static icalcomponent *vtimezone_trim(icaltimezone *z, const ZoneInfo *zi, ssize_t in_effect, int64_t from)
{
        icalcomponent *vtz = icalcomponent_new_clone(icaltimezone_get_component(z));
        icalcomponent *next;
        size_t i = 0;
        for (icalcomponent *c = icalcomponent_get_first_component(vtz, ICAL_ANY_COMPONENT); c; c = next) {
                next = icalcomponent_get_next_component(vtz, ICAL_ANY_COMPONENT);
                if (!is_observance(c))
                        continue;
                int64_t onset, later;
                size_t k = i++;
                if ((ssize_t)k == in_effect)
                        continue;
                observance_onsets(&zi->obs[k], from, &onset, &later);
                if (later == INT64_MAX) {
                        icalcomponent_remove_component(vtz, c);
                        icalcomponent_free(c);
                }
        }
        icalproperty *tzid = icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY);
        icalproperty_set_tzid(tzid, tz_name(z));
        return vtz;
}

static Trimmed *trimmed(icaltimezone *z, int64_t from)
{
        ZoneInfo *zi = zone_info(z, from);
        for (size_t i = 0; i < zi->n_trimmed; i++)
                if (zi->trimmed[i].lo <= from && from < zi->trimmed[i].hi)
                        return &zi->trimmed[i];
        int64_t lo, hi;
        ssize_t in_effect = observance_at(zi, from, &lo, &hi);
        GROW(zi->trimmed, zi->n_trimmed, zi->alloc_trimmed);
        zi->trimmed[zi->n_trimmed] = (Trimmed){lo, hi, vtimezone_trim(z, zi, in_effect, from), NULL};
        return &zi->trimmed[zi->n_trimmed++];
}

icalcomponent *tz_vtimezone(icaltimezone *z, int64_t from)
{
        return z == icaltimezone_get_utc_timezone() ? NULL : trimmed(z, from)->vtz;
}

const char *tz_vtimezone_text(icaltimezone *z, int64_t from)
{
        if (z == icaltimezone_get_utc_timezone())
                return NULL;
        Trimmed *t = trimmed(z, from);
        if (!t->text)
                t->text = icalcomponent_as_ical_string_r(t->vtz);
        return t->text;
}

void tz_format_rfc3339(icaltimezone *z, int64_t instant, char buf[static 32])
{
        int off = tz_offset_at(z, instant);
        Wall w = wall_from_seconds(instant + off);
        int n = snprintf(buf, 32, "%04d-%02d-%02dT%02d:%02d:%02d", w.date.year, w.date.month, w.date.day,
                         w.hour, w.minute, w.second);
        if (z == icaltimezone_get_utc_timezone()) {
                snprintf(buf + n, 32 - (size_t)n, "Z");
                return;
        }
        int a = off < 0 ? -off : off;
        snprintf(buf + n, 32 - (size_t)n, "%c%02d:%02d", off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

int tz_parse_rfc3339(const char *s, int64_t *instant)
{
        char date[11];
        int h, m, sec, consumed = 0;
        Date d;
        if (strlen(s) < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
                return -EINVAL;
        memcpy(date, s, 10);
        date[10] = '\0';
        if (parse_date(date, &d) < 0)
                return -EINVAL;
        if (sscanf(s + 11, "%2d:%2d:%2d%n", &h, &m, &sec, &consumed) != 3 || consumed != 8)
                return -EINVAL;
        if (h > 23 || m > 59 || sec > 60)
                return -EINVAL;
        const char *zone = s + 19;
        if (*zone == '.') /* fractions of a second are ignored */
                for (zone++; *zone >= '0' && *zone <= '9'; zone++)
                        ;
        int off = 0;
        if ((zone[0] == 'Z' || zone[0] == 'z') && zone[1] == '\0')
                off = 0;
        else if ((zone[0] == '+' || zone[0] == '-') && strlen(zone) == 6 && zone[3] == ':') {
                int oh, om;
                if (sscanf(zone + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59)
                        return -EINVAL;
                off = (oh * 3600 + om * 60) * (zone[0] == '-' ? -1 : 1);
        } else
                return -EINVAL;
        *instant = wall_to_seconds((Wall){d, h, m, sec}) - off;
        return 0;
}
