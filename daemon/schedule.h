/* schedule.h — meetings as iCalendar VEVENTs, and their occurrences.
 *
 * The VEVENTs that are published are the single source of truth:
 * occurrences (for `preview` and for reminders) are expanded from the very
 * same components, so the calendar and the chat can never disagree.
 *
 * Each meeting is one VEVENT with an RRULE. Calendar engines disagree about
 * occurrences at a daylight-saving edge (a local time that does not exist
 * or exists twice, or near the change of offset; README "The feeds"), so
 * such occurrences, up to `now` + [tandem] feed_horizon, are excluded from
 * the rule by EXDATE and published as VEVENTs of their own in UTC, which
 * every engine reads the same. */
#pragma once

#include <libical/ical.h>
#include <stdint.h>

#include "config.h"
#include "tz.h"

typedef struct Schedule {
        const Config *config;
        icalcomponent **events; /* one VEVENT per meeting, in config order */
        int64_t *first_starts;  /* each event's DTSTART instant, computed once */
        size_t n_events;
        /* per meeting: its occurrences at DST edges, one VEVENT each, in
         * time order (UID "<meeting-id>.<YYYYMMDD>@<domain>") */
        icalcomponent ***exceptions;
        size_t *n_exceptions;
} Schedule;

typedef struct Occurrence {
        const Meeting *meeting;
        int64_t start, end; /* instants */
} Occurrence;

/* Builds one VEVENT per meeting, and the VEVENTs of its occurrences at DST
 * edges that start before now + feed_horizon (all of them from the
 * meeting's start, so that the feed changes only when one more comes
 * within the horizon). Problems only the rules reveal (a rule with no
 * occurrence, a skip date the meeting does not meet on) are config errors,
 * reported at their line; returns -EINVAL then. Meeting times that
 * calendar apps read differently are warnings. */
int schedule_new(const Config *c, int64_t now, Schedule **ret, Diags *diags);
Schedule *schedule_free(Schedule *s);
/* Reads, validates and schedules path: every error of the config and of
 * its rules lands in diags, in one run. Returns 0, -EINVAL (config errors)
 * or -errno (cannot read). */
int schedule_load(const char *path, int64_t now, Config **config, Schedule **schedule, Diags *diags);
static inline void schedule_freep(Schedule **s) { schedule_free(*s); }

/* Every occurrence that starts in [from, to), in time order (ties by
 * meeting order). If dept is not NULL, only that department's meetings. */
size_t schedule_occurrences(const Schedule *s, int64_t from, int64_t to, const Department *dept,
                            Occurrence **ret);
/* The occurrences of one VEVENT (RRULE, EXDATE; or just DTSTART without a
 * rule) that start in [from, to), at most max of them; appends to *ret. */
void schedule_expand(icalcomponent *vevent, const Meeting *m, int64_t from, int64_t to, size_t max,
                     Occurrence **ret, size_t *n, size_t *alloc);
/* The next occurrence starting at or after `from`; false if none. */
bool schedule_next(const Schedule *s, const Meeting *m, int64_t from, Occurrence *ret);

/* The UTC instant of DTSTART: the first occurrence of the rule. */
int64_t schedule_first_start(icalcomponent *vevent);
