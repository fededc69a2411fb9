/* reminder.h — turns the schedule into reminders at the right instants
 * (README "Delivery guarantees"). For each meeting, offset and department
 * only the next reminder is held, in a heap ordered by when it is due. What
 * to do with a due reminder is decided by outbox.h; this is the shell that
 * reads the ledger, asks, and acts: chat text, delivery, console. */
#pragma once

#include <systemd/sd-event.h>

#include "deliver.h"
#include "ledger.h"
#include "metrics.h"
#include "schedule.h"

typedef struct Reminders Reminders;

typedef struct ReminderStats {
        uint64_t sent, failed, missed, superseded;
        size_t pending;     /* heap entries: reminders scheduled */
        int64_t next_due;   /* seconds, 0 if none */
        bool blocked;       /* the ledger could not be read: nothing is decided until it can */
} ReminderStats;

/* The ledger retry interval while it cannot be read or written. */
#define REMINDERS_RETRY_USEC (5 * USEC_PER_SEC)

int reminders_new(sd_event *e, Ledger *ledger, Delivery *delivery, Reminders **ret);
Reminders *reminders_free(Reminders *r);
/* Called after every pass (reminders handled, requests finished), for
 * STATUS= and health. */
void reminders_set_listener(Reminders *r, void (*changed)(void *userdata), void *userdata);

/* Schedules from now on: reminders, and the notices the plan owes for its
 * skipped and moved occurrences. Where what people were told (the ledger;
 * and the old schedule's occurrences whose first reminder is due within a
 * day, on a reload) differs from s, a notice goes out at once (README
 * "Holidays and changes"). On start-up, reminders of meetings that started
 * while the daemon was down are recorded as missed. */
void reminders_load(Reminders *r, const Schedule *s, const Schedule *old, bool startup);
/* Before reminders_load(), a batch at a time on the loop (start-up, a
 * reload): meetings [first, first + n) of s have their next occurrence
 * found (an iterator each, the bulk of the load) from where
 * reminders_load() will ask, and schedule_next() keeps it. */
void reminders_prepare(Reminders *r, const Schedule *s, size_t first, size_t n, bool startup);
/* While held (a reload under way: the plan they go by is being replaced),
 * nothing due goes out; released, what fell due meanwhile goes at once.
 * reminders_load() releases them too. */
void reminders_hold(Reminders *r, bool hold);
void reminders_stats(const Reminders *r, ReminderStats *ret);
/* Records in the ledger who hosts each held occurrence of a rotating
 * meeting whose first message is due by now, by the schedule loaded (the
 * first record stands): before a reload or rebuild decides hosts anew, and
 * after every pass. A write that fails is tried again at the next. */
void reminders_record_hosts(Reminders *r);
/* Outcomes by department since start (ids stay valid until the next call
 * or reminders_free). */
const MetricsDepartment *reminders_departments(const Reminders *r, size_t *n);
/* "Next reminder: ...". Caller frees. */
char *reminders_status(const Reminders *r);
