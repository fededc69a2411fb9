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
        if (streq(name, "UTC"))
                return icaltimezone_get_utc_timezone();
        if (!tzdb_is_name(name))
                return NULL;
        return icaltimezone_get_builtin_timezone(name);
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

Wall wall_from_seconds(int64_t s)
{
        int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
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

int tz_offset_at(icaltimezone *z, int64_t instant)
{
        if (z == icaltimezone_get_utc_timezone())
                return 0;
        struct icaltimetype t = wall_to_ical(wall_from_seconds(instant));
        t.zone = icaltimezone_get_utc_timezone();
        int is_daylight = 0;
        return icaltimezone_get_utc_offset_of_utc_time(z, &t, &is_daylight);
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

/* Each onset of an observance (STANDARD or DAYLIGHT) is a wall time in the
 * offset it changes from. Finds the last onset at or before `t` and whether
 * one follows it. */
static bool observance_onsets(icalcomponent *obs, int64_t t, int64_t *last, int64_t *next)
{
        icalproperty *from = icalcomponent_get_first_property(obs, ICAL_TZOFFSETFROM_PROPERTY);
        icalproperty *start = icalcomponent_get_first_property(obs, ICAL_DTSTART_PROPERTY);
        if (!from || !start)
                return false;
        int off = icalproperty_get_tzoffsetfrom(from);
        struct icaltimetype dt = icalproperty_get_dtstart(start);
        bool found = false;
        *next = INT64_MAX;

#define CONSIDER(tt)                                                    \
        do {                                                            \
                int64_t on = wall_to_seconds(wall_from_ical(tt)) - off; \
                if (on <= t) {                                          \
                        if (!found || on > *last)                       \
                                *last = on;                             \
                        found = true;                                   \
                } else if (on < *next)                                  \
                        *next = on;                                     \
        } while (0)

        CONSIDER(dt);
        icalproperty *rr = icalcomponent_get_first_property(obs, ICAL_RRULE_PROPERTY);
        if (rr) {
                icalrecur_iterator *it = icalrecur_iterator_new(icalproperty_get_rrule(rr), dt);
                for (struct icaltimetype n = icalrecur_iterator_next(it); it && !icaltime_is_null_time(n);
                     n = icalrecur_iterator_next(it)) {
                        CONSIDER(n);
                        if (wall_to_seconds(wall_from_ical(n)) - off > t)
                                break;
                }
                icalrecur_iterator_free(it);
        }
        for (icalproperty *p = icalcomponent_get_first_property(obs, ICAL_RDATE_PROPERTY); p;
             p = icalcomponent_get_next_property(obs, ICAL_RDATE_PROPERTY))
                CONSIDER(icalproperty_get_rdate(p).time);
#undef CONSIDER
        return found;
}

static bool is_observance(icalcomponent *c)
{
        icalcomponent_kind k = icalcomponent_isa(c);
        return k == ICAL_XSTANDARD_COMPONENT || k == ICAL_XDAYLIGHT_COMPONENT;
}

/* The observance in effect at t: the one with the latest onset at or
 * before it; *until is when the next observance takes over. */
static icalcomponent *observance_at(icalcomponent *vtz, int64_t t, int64_t *until)
{
        icalcomponent *best = NULL;
        int64_t best_onset = 0;
        *until = INT64_MAX;
        for (icalcomponent *c = icalcomponent_get_first_component(vtz, ICAL_ANY_COMPONENT); c;
             c = icalcomponent_get_next_component(vtz, ICAL_ANY_COMPONENT)) {
                int64_t onset, next;
                if (!is_observance(c))
                        continue;
                bool found = observance_onsets(c, t, &onset, &next);
                if (next < *until)
                        *until = next;
                if (found && (!best || onset > best_onset)) {
                        best = c;
                        best_onset = onset;
                }
        }
        return best;
}

const char *tz_abbrev(icaltimezone *z, int64_t instant)
{
        /* Walking a zone's observances costs a millisecond or two; a
         * reminder asks twice, a preview many times, mostly for the same
         * few zones and seasons. Remember the last span per zone slot. */
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

        int64_t until;
        icalcomponent *obs = observance_at(icaltimezone_get_component(z), instant, &until);
        icalproperty *name = obs ? icalcomponent_get_first_property(obs, ICAL_TZNAME_PROPERTY) : NULL;
        const char *s = name ? icalproperty_get_tzname(name) : NULL;
        cache[slot].zone = z;
        cache[slot].from = instant; /* valid from here (the onset is not kept) */
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

icalcomponent *tz_vtimezone(icaltimezone *z, int64_t from)
{
        if (z == icaltimezone_get_utc_timezone())
                return NULL;
        icalcomponent *vtz = icalcomponent_new_clone(icaltimezone_get_component(z));
        int64_t until;
        icalcomponent *in_effect = observance_at(vtz, from, &until);

        /* Drop every observance that has no onset from `from` on, except the
         * one in effect at `from`: clients need it to know the offset until
         * the next change. This removes the 1800s local mean time with its
         * seconds-precision offsets that some clients reject. */
        icalcomponent *next;
        for (icalcomponent *c = icalcomponent_get_first_component(vtz, ICAL_ANY_COMPONENT); c; c = next) {
                next = icalcomponent_get_next_component(vtz, ICAL_ANY_COMPONENT);
                int64_t onset, later;
                if (!is_observance(c) || c == in_effect)
                        continue;
                observance_onsets(c, from, &onset, &later);
                if (later == INT64_MAX) {
                        icalcomponent_remove_component(vtz, c);
                        icalcomponent_free(c);
                }
        }
        icalproperty *tzid = icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY);
        icalproperty_set_tzid(tzid, tz_name(z));
        return vtz;
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
