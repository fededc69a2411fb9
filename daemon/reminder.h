/* reminder.h — turns the schedule into reminders at the right instants
 * (SPEC.md section 5). For each meeting, offset and department only the
 * next reminder is held, in a heap ordered by when it is due. */
#pragma once

#include <systemd/sd-event.h>

#include "deliver.h"
#include "ledger.h"
#include "metrics.h"
#include "schedule.h"

typedef struct Reminders Reminders;

typedef struct ReminderStats {
        uint64_t sent, failed, missed;
        size_t pending;     /* heap entries: reminders scheduled */
        int64_t next_due;   /* seconds, 0 if none */
} ReminderStats;

int reminders_new(sd_event *e, Ledger *ledger, Delivery *delivery, Reminders **ret);
Reminders *reminders_free(Reminders *r);

/* Schedules from now on. On start-up (not on reload), reminders of
 * meetings that started while the daemon was down are recorded as missed. */
void reminders_load(Reminders *r, const Schedule *s, bool startup);
void reminders_stats(const Reminders *r, ReminderStats *ret);
/* Outcomes by department since start (ids stay valid until the next call
 * or reminders_free). */
const MetricsDepartment *reminders_departments(const Reminders *r, size_t *n);
/* "Next reminder: ..." for sd_notify STATUS=. */
char *reminders_status(const Reminders *r);
