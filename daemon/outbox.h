/* outbox.h — what to do, now, with each reminder of one occurrence for one
 * department: the pure decisions behind README "Delivery guarantees" (send,
 * supersede, missed, failed), with no I/O, so that a table can test them
 * (tests/unit/test_outbox.c). The daemon's shell (reminder.c) reads the
 * ledger, asks here, and acts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

/* A reminder more than this late was due while tandem was down or could
 * not send (a full disk, a suspended machine): a catch-up. */
#define OUTBOX_LATE_SEC 60

typedef enum OutboxAction {
        OUTBOX_WAIT,      /* not due yet */
        OUTBOX_SEND,
        OUTBOX_SUPERSEDE, /* a catch-up that a later reminder of the occurrence makes redundant */
        OUTBOX_MISS,      /* the meeting started; it was never attempted */
        OUTBOX_FAIL,      /* the meeting started while it was still being sent (a crash or a stop cut it off) */
        OUTBOX_DONE,      /* final already, or in flight */
} OutboxAction;
extern const char *const outbox_action_names[];

/* One reminder of the occurrence, for the department. */
typedef struct OutboxSlot {
        int64_t before;  /* seconds before the start */
        LedgerRow row;   /* what the ledger says */
        bool in_flight;  /* handed to delivery by this process, not finished */
} OutboxSlot;

/* Is what the ledger says the reminder's last word, at `now`? Sent, and a
 * permanent failure (a 4xx other than 429), always. Missed, superseded and
 * given-up failures only once the meeting has started by the current clock:
 * a clock that was briefly ahead must not lose reminders for good. */
bool outbox_is_final(const LedgerRow *row, int64_t start, int64_t now);

/* The action for slots[i]; slots are every reminder of the occurrence
 * starting at `start` for one department.
 *
 * Catch-up (README "Delivery guarantees"): of the reminders overdue by more
 * than OUTBOX_LATE_SEC, only the one due last is sent, and that one too is
 * superseded when the next reminder of the occurrence gives at least half
 * the notice it would (its offset is at least half the time left): after
 * downtime nobody gets "in 16 minutes" and, a minute later, "in 15
 * minutes". */
OutboxAction outbox_decide(const OutboxSlot *slots, size_t n, size_t i, int64_t start, int64_t now);
