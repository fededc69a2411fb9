/* plan.h — the occurrence plan's exceptions (README "Holidays and
 * changes"): which occurrences of a meeting's rule are skipped or moved, by
 * hand (skip, move) or because of a holiday (on_holiday), and why.
 *
 * Pure: the rule's occurrences come in as instants, holidays through a
 * function, the answer goes out as a list; tests/unit/test_plan.c drives it
 * by table. schedule.c publishes the answer (EXDATE, override VEVENTs), and
 * everything else reads the occurrences back from what is published. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef enum ExceptionSource { EXCEPTION_SKIP, EXCEPTION_MOVE, EXCEPTION_HOLIDAY } ExceptionSource;

typedef struct Exception {
        int64_t rid;            /* the occurrence by the rule (its RECURRENCE-ID) */
        bool cancelled;         /* else moved */
        int64_t start;          /* moved: the new start */
        char *reason;           /* shown in chat and the feed; may be NULL */
        ExceptionSource source;
        const Change *change;   /* by hand: the config's change */
} Exception;

/* The name of the holiday on local date d for department dept (its own
 * calendars and everyone's), or NULL. */
typedef const char *(*PlanHolidayFn)(void *userdata, const Department *dept, Date d);

/* What a change by hand came to, for the config's errors and warnings. */
typedef enum ChangeVerdict {
        CHANGE_OK,
        CHANGE_NOT_AN_OCCURRENCE,  /* the meeting does not meet on that date */
        CHANGE_ONTO_OCCURRENCE,    /* a move onto another occurrence of the meeting */
        CHANGE_INTO_HOLIDAY,       /* a move into a department's holiday (a warning) */
} ChangeVerdict;

/* The exceptions among the rule's occurrences rids[0..n) (sorted instants
 * of meeting m) that start before horizon: the changes by hand first, then
 * holidays as m->on_holiday says. holiday may be NULL (no calendars).
 * verdicts, if not NULL, gets one verdict per m->changes[i]. The list is
 * in rid order; the caller frees it with plan_exceptions_free(). */
size_t plan_exceptions(const Meeting *m, const int64_t *rids, size_t n, int64_t horizon, PlanHolidayFn holiday,
                       void *userdata, Exception **ret, ChangeVerdict *verdicts);
void plan_exceptions_free(Exception *e, size_t n);
/* The exception of the occurrence rid, or NULL. */
const Exception *plan_exception(const Exception *e, size_t n, int64_t rid);
