/* ledger.h — the delivery ledger in SQLite under state_dir: the outcome of
 * every reminder, and each meeting's definition history (for SEQUENCE and
 * LAST-MODIFIED). It is the daemon's only mutable state. */
#pragma once

#include <stdint.h>

#include "feed.h"

typedef struct Ledger Ledger;

/* A reminder's identity (SPEC.md section 5). */
typedef struct ReminderKey {
        const char *meeting;
        int64_t start;  /* the occurrence's start, UTC seconds */
        int64_t offset; /* seconds before the start */
        const char *department;
} ReminderKey;

typedef enum LedgerStatus {
        LEDGER_NONE,    /* never attempted */
        LEDGER_SENDING, /* attempted; the outcome was not recorded (a crash) */
        LEDGER_SENT,
        LEDGER_FAILED,
        LEDGER_MISSED,
} LedgerStatus;

int ledger_open(const char *state_dir, Ledger **ret);
Ledger *ledger_close(Ledger *l);
static inline void ledger_closep(Ledger **l) { ledger_close(*l); }

/* Groups the writes until the matching ledger_commit() into one
 * transaction: one disk sync instead of one per write. Nests. */
void ledger_begin(Ledger *l);
void ledger_commit(Ledger *l);

LedgerStatus ledger_status(Ledger *l, const ReminderKey *k);
/* True for sent, failed and missed: nothing more will be done. */
static inline bool ledger_status_is_final(LedgerStatus s) { return s >= LEDGER_SENT; }
/* Recorded durably before each request, so a crash repeats at most the
 * request in flight. */
int ledger_attempt(Ledger *l, const ReminderKey *k, int64_t now);
int ledger_sent(Ledger *l, const ReminderKey *k, int http_status, int64_t now);
int ledger_failed(Ledger *l, const ReminderKey *k, int http_status, const char *error, int64_t now);
/* Only where nothing is recorded yet. */
int ledger_missed(Ledger *l, const ReminderKey *k, int64_t now);

/* The meeting's revision: a new fingerprint raises the sequence and sets
 * the modification time to now. */
int ledger_meeting(Ledger *l, const char *id, const char *fingerprint, int64_t now, FeedMeta *ret);

/* When the daemon last ran: reminders due since then were due while it was
 * down. Returns -ENOENT on a new ledger. */
int ledger_get_alive(Ledger *l, int64_t *ret);
int ledger_set_alive(Ledger *l, int64_t now);

int64_t ledger_count(Ledger *l, LedgerStatus s);
