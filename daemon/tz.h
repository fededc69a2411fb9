/* tz.h — time zones: IANA names to libical zones, UTC offsets, RFC 5545
 * local-time semantics, abbreviations and compact VTIMEZONEs.
 *
 * Instants are int64_t seconds since the epoch (UTC). A "wall" time is a
 * local date and time of day without zone. */
#pragma once

#include <libical/ical.h>
#include <stdint.h>

#include "parse.h"

typedef struct Wall {
        Date date;
        int hour, minute, second;
} Wall;

/* NULL for an unknown name. "UTC" is libical's UTC zone. */
icaltimezone *tz_lookup(const char *name);
/* The plain IANA name ("Europe/Berlin", "UTC"). */
const char *tz_name(icaltimezone *z);
/* Every known zone name, NULL-terminated, for "did you mean". */
const char *const *tz_all_names(void);

int tz_offset_at(icaltimezone *z, int64_t instant);
/* RFC 5545 section 3.3.5: a wall time that does not exist (spring forward)
 * is moved forward by the gap; an ambiguous one (fall back) is the first. */
int64_t tz_wall_to_instant(icaltimezone *z, Wall w);
Wall tz_instant_to_wall(icaltimezone *z, int64_t instant);

/* A change of a zone's UTC offset: at instant `at`, from `before` to
 * `after` (seconds east of UTC). */
typedef struct TzShift {
        int64_t at;
        int before, after;
} TzShift;

typedef enum TzWallKind {
        TZ_WALL_ONCE,    /* the wall time exists exactly once */
        TZ_WALL_MISSING, /* skipped by a spring-forward change (a gap) */
        TZ_WALL_TWICE,   /* repeated by a fall-back change (a fold) */
} TzWallKind;

/* How often wall time w occurs in z; for a gap or a fold, *shift (if not
 * NULL) is the change that causes it. The wall times it affects are
 * [at + before, at + after) for a gap, [at + after, at + before) for a
 * fold, read as wall_to_seconds(). */
TzWallKind tz_wall_kind(icaltimezone *z, Wall w, TzShift *shift);
/* The first change of z's offset in (from, to]; false if there is none. */
bool tz_next_shift(icaltimezone *z, int64_t from, int64_t to, TzShift *ret);
/* "CET", "EDT", "+0545" where the zone has no letters; static storage
 * owned by the zone data, valid until the next call. */
const char *tz_abbrev(icaltimezone *z, int64_t instant);

/* A VTIMEZONE for z whose TZID is the plain IANA name, holding only the
 * observances that matter from instant `from` on. NULL for UTC (which is
 * written with the Z suffix instead). Caller frees. */
icalcomponent *tz_vtimezone(icaltimezone *z, int64_t from);

int64_t wall_to_seconds(Wall w); /* the wall time read as if it were UTC */
Wall wall_from_seconds(int64_t s);
struct icaltimetype wall_to_ical(Wall w);
Wall wall_from_ical(struct icaltimetype t);

/* RFC 3339: "2026-03-08T15:00:00Z" for UTC, or with the zone's offset. */
void tz_format_rfc3339(icaltimezone *z, int64_t instant, char buf[static 32]);
/* Parses "2026-03-08T15:00:00Z", "...+01:00" or "...-04:00". */
int tz_parse_rfc3339(const char *s, int64_t *instant);
