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

#include "calendars.h"
#include "config.h"
#include "history.h"
#include "plan.h"
#include "tz.h"

/* Whose turn a held occurrence of a rotating meeting is (rotation.h). */
typedef struct Turn {
        int64_t rid;   /* the occurrence (RECURRENCE-ID) */
        int64_t start; /* where it takes place (moved or not) */
        const Department *host;
} Turn;

/* A rotating meeting's turns from its start up to the horizon, and the
 * host its series VEVENT names (that of the occurrence at DTSTART): the
 * occurrences whose host differs get an override with their ORGANIZER
 * (README "Host rotation and pairings"); beyond the horizon the series'
 * ORGANIZER stands, as in the feed. */
typedef struct Turns {
        Turn *v; /* by rid */
        size_t n;
        const Department *series;
} Turns;

typedef struct Schedule {
        const Config *config;
        Calendars *calendars;   /* the holiday calendars it was built with */
        icalcomponent **events; /* one VEVENT per meeting, in config order; its RRULE in rrules until rendered */
        char **rrules;          /* per meeting: its RRULE value while not in its VEVENT (schedule_event) */
        int64_t *first_starts;  /* each event's DTSTART instant, computed once */
        size_t n_events;
        /* per meeting, the VEVENTs published with it: its occurrences at
         * DST edges, one VEVENT each in UTC (UID
         * "<meeting-id>.<YYYYMMDD>@<domain>"), and its moved occurrences,
         * overrides with its UID and a RECURRENCE-ID */
        icalcomponent ***exceptions;
        size_t *n_exceptions;
        /* per meeting: its skipped and moved occurrences, and why (plan.h) */
        Exception **plan;
        size_t *n_plan;
        Turns *turns;           /* per meeting: its hosts, when it rotates */
        int64_t horizon;        /* holidays and DST edges are published up to here */
        struct NextCache *next; /* per meeting: schedule_next()'s last answer */
        Buf texts;              /* the packed meetings' texts (schedule_pack), each ending in a NUL */
        size_t *text_at;        /* per meeting: where its text starts, SIZE_MAX if not packed */
        Buf cores;              /* the packed meetings' VEVENTs with only what says when (schedule_pack) */
        size_t *core_at;        /* per meeting: where its core starts, SIZE_MAX if not packed */
        char (*fingerprints)[17]; /* per meeting: schedule_fingerprint()'s answer, "" until asked */
} Schedule;

typedef enum OccurrenceStatus { OCCURRENCE_HELD, OCCURRENCE_MOVED, OCCURRENCE_CANCELLED } OccurrenceStatus;
extern const char *const schedule_status_names[];

typedef struct Occurrence {
        const Meeting *meeting;
        int64_t start, end;     /* instants: where it takes place */
        int64_t rid;            /* its start by the rule (RECURRENCE-ID): its identity */
        OccurrenceStatus status;
        const char *reason;     /* moved or cancelled: why, if known */
        const Department *host; /* its host (fixed, or its turn), or NULL */
} Occurrence;

/* How to build a schedule. */
typedef struct ScheduleOptions {
        int64_t now;    /* the horizon is now + [tandem] feed_horizon */
        bool fetch;     /* fetch a holiday calendar URL that has no cached copy yet */
        bool simulated; /* a simulated clock: state in <state_dir>/simulated */
        /* If set, called as soon as each meeting is built, with its index:
         * `tandem export` packs it there (schedule_pack_text), so that 10,000
         * meetings are never all held as libical components at once. */
        void (*built)(Schedule *s, size_t meeting, void *userdata);
        /* What the daemon remembers (history.h), or NULL: hosts start at
         * the first occurrence, pairings have one epoch from their start.
         * schedule_load() fills it with read_history(userdata, config, h)
         * once the config is known to be valid (the ledger's place is in
         * the config); an error there fails the load. The epochs decided
         * by the load are added to it as fresh. */
        History *history;
        int (*read_history)(void *userdata, const Config *c, History *h);
        void *userdata;
} ScheduleOptions;

/* Builds one VEVENT per meeting, and the VEVENTs of its occurrences at DST
 * edges that start before now + feed_horizon (all of them from the
 * meeting's start, so that the feed changes only when one more comes
 * within the horizon). Problems only the rules reveal (a rule with no
 * occurrence, a skip date the meeting does not meet on) are config errors,
 * reported at their line; returns -EINVAL then. Meeting times that
 * calendar apps read differently are warnings. */
int schedule_new(const Config *c, const ScheduleOptions *o, Schedule **ret, Diags *diags);
Schedule *schedule_free(Schedule *s);
/* Reads, validates and schedules path, with its pairings expanded
 * (pairing.h): every error of the config and of its rules lands in diags,
 * in one run. Returns 0, -EINVAL (config errors), -errno (cannot read), or
 * what read_history() returned. */
int schedule_load(const char *path, const ScheduleOptions *o, Config **config, Schedule **schedule, Diags *diags);
/* schedule_load() in two steps, for a reload on the loop: the config
 * (and the history, if it is valid), then the plan. schedule_read() may
 * return an error with *config set: its rules are still worth checking
 * with schedule_plan(), for their diagnostics. */
int schedule_read(const char *path, const ScheduleOptions *o, Config **config, Diags *diags);
int schedule_plan(Config *c, const ScheduleOptions *o, Schedule **ret, Diags *diags);
static inline void schedule_freep(Schedule **s) { schedule_free(*s); }

/* Every occurrence held (where it is, moved or not) that starts in [from,
 * to), in time order (ties by meeting order); with cancelled, also the
 * cancelled ones, at the start they would have had. If dept is not NULL,
 * only that department's meetings. */
size_t schedule_occurrences(const Schedule *s, int64_t from, int64_t to, const Department *dept, bool cancelled,
                            Occurrence **ret);
/* The occurrences of one VEVENT (RRULE, EXDATE; or just DTSTART without a
 * rule) that start in [from, to), at most max of them; appends to *ret. */
void schedule_expand(icalcomponent *vevent, const Meeting *m, int64_t from, int64_t to, size_t max,
                     Occurrence **ret, size_t *n, size_t *alloc);
/* Meeting i's VEVENT as published, RRULE included (NULL for a pair of
 * single events, or once packed). */
icalcomponent *schedule_event(const Schedule *s, size_t i);
/* Meeting m's occurrences held that start in [from, to), in time order. */
size_t schedule_meeting_occurrences(const Schedule *s, const Meeting *m, int64_t from, int64_t to, Occurrence **ret);
/* The next occurrence held, starting at or after `from`; false if none. */
bool schedule_next(const Schedule *s, const Meeting *m, int64_t from, Occurrence *ret);
/* The meeting's occurrence by the rule at rid (held, moved or cancelled);
 * false if the rule has none there. */
bool schedule_occurrence(const Schedule *s, const Meeting *m, int64_t rid, Occurrence *ret);

/* When the notice of a moved or cancelled occurrence is due (README
 * "Holidays and changes"): when its first reminder would have gone, or the
 * moved one's if that is earlier; -1 for a meeting without reminders (a
 * notice takes their place) or an occurrence held as planned. */
int64_t schedule_notice_due(const Occurrence *o);

/* A meeting's definition fingerprint: FNV-1a over every VEVENT published
 * for it (its rule, its overrides, its occurrences at DST edges), so that
 * SEQUENCE rises exactly when what subscribers see of it changes. Of a
 * meeting not packed yet. */
void schedule_fingerprint(const Schedule *s, size_t meeting, char out[static 17]);
/* Whether meeting i of a publishes the same VEVENTs as meeting j of b (their
 * fingerprints): then they have the same occurrences. False where it cannot
 * be told: a packed meeting whose fingerprint was not asked before. */
bool schedule_same_events(const Schedule *a, size_t i, const Schedule *b, size_t j);
/* False if schedule_next() has shown that nothing of m starts in [from, to). */
bool schedule_may_start(const Schedule *s, const Meeting *m, int64_t from, int64_t to);

/* Keeps meeting i as text from now on: its VEVENTs as published
 * (feed_event_text(), revision included; copied), in place of libical's
 * components, which are freed: about 0.5 KB for 7 KB (a VEVENT with its
 * RRULE value alone holds a 2,896-byte struct). Expansions read the text
 * back, so what is published stays the single source of truth;
 * events[i] and exceptions[i] are NULL then. */
void schedule_pack(Schedule *s, size_t meeting, const char *text);
/* The same without the core that schedule_published() keeps, for a run
 * that renders the feed once and exits (tandem export): a tenth of an
 * export of 10,000 meetings went into cores nothing read. Expansions read
 * the whole text back then. */
void schedule_pack_text(Schedule *s, size_t meeting, const char *text);
/* (schedule_published() is not for such a schedule: it would drop all.) */
/* The text a packed meeting keeps, or NULL. */
const char *schedule_text(const Schedule *s, size_t meeting);
/* The feeds of s are published: the packed meetings' texts are dropped
 * (schedule_text() is NULL then); their cores, all that expansions read,
 * stay. */
void schedule_published(Schedule *s);

/* The UTC instant of DTSTART: the first occurrence of the rule. */
int64_t schedule_first_start(icalcomponent *vevent);

/* The starts of meeting m's rule as it would be published (its bounds; no
 * exceptions) in [from, to), at most max of them: a pairing's rounds.
 * None for a rule that is not valid. Caller frees *ret. */
size_t schedule_rule_starts(const Config *c, const Meeting *m, int64_t from, int64_t to, size_t max, int64_t **ret);

/* The host of meeting i's occurrence rid: its turn, else the series' (a
 * rotating meeting), else its fixed host; NULL if none. */
const Department *schedule_host(const Schedule *s, size_t i, int64_t rid);

/* The hosts to remember (history.h): every turn whose first message (its
 * first reminder, or its start) is due in (after, until], added to h. */
void schedule_turns_due(const Schedule *s, int64_t after, int64_t until, History *h);
