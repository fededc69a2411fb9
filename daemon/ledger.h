/* ledger.h — the delivery ledger in SQLite under state_dir: the outcome of
 * every message (reminders, and notices of cancelled and moved meetings),
 * each meeting's definition history (for SEQUENCE and LAST-MODIFIED), who
 * hosted what and the pairings' epochs (history.h). It is the daemon's
 * only mutable state (README "Delivery guarantees").
 *
 * Fail closed: an attempt is committed before its request may leave
 * (ledger_attempts: it survives a crash of tandem; outcomes are also
 * synced, and survive a power cut); a read that fails is an error, never "not attempted";
 * an outcome that cannot be written yet is kept and retried, and reads see
 * it meanwhile. One daemon per state directory: ledger_open() takes its
 * lock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "feed.h"
#include "history.h"

typedef struct Ledger Ledger;

typedef enum MessageKind { MESSAGE_REMINDER, MESSAGE_CANCELLED, MESSAGE_MOVED, _MESSAGE_KIND_MAX } MessageKind;
extern const char *const ledger_kind_names[_MESSAGE_KIND_MAX];

/* A message's identity (README "Delivery guarantees"): its kind, the
 * meeting, the occurrence by the start its rule gives it (its
 * RECURRENCE-ID, which a move does not change), the department, and:
 *  - a reminder: the offset, seconds before the start;
 *  - a moved notice: the new start it announces (a second move is a new
 *    notice);
 *  - a cancelled notice: 0. */
typedef struct MessageKey {
        MessageKind kind;
        const char *meeting;
        int64_t start;
        int64_t offset;
        const char *department;
        int64_t told; /* not identity: the start the message announces, 0 for a cancellation */
} MessageKey;

typedef enum LedgerStatus {
        LEDGER_NONE,       /* never attempted */
        LEDGER_SENDING,    /* attempted; no outcome recorded (in flight, or a crash) */
        LEDGER_SENT,
        LEDGER_FAILED,
        LEDGER_MISSED,     /* its meeting started while it could not be sent */
        LEDGER_SUPERSEDED, /* overdue, and a later reminder of the occurrence tells the same */
        _LEDGER_STATUS_MAX,
} LedgerStatus;
extern const char *const ledger_status_names[_LEDGER_STATUS_MAX];

typedef struct LedgerRow {
        LedgerStatus status;
        int http_status; /* the last answer, 0 if none */
} LedgerRow;

/* Takes <state_dir>/lock (another daemon holding it: -EBUSY, logged with
 * its pid) and opens <state_dir>/ledger.sqlite, creating both. A ledger
 * written on a simulated clock is never opened on the real one, nor the
 * other way round (-EXDEV, logged). */
int ledger_open(const char *state_dir, bool simulated, Ledger **ret);
Ledger *ledger_close(Ledger *l);
static inline void ledger_closep(Ledger **l) { ledger_close(*l); }

/* 0, or -EIO when the ledger cannot be read. */
int ledger_get(Ledger *l, const MessageKey *k, LedgerRow *ret);

/* Records the attempts about to be made in one transaction; with outcomes,
 * every outcome waiting to be written goes first in it, and it is synced to
 * the disk (an answered request's outcome must be on disk before the next
 * request to its URL leaves: then a crash repeats at most one per URL).
 * Without, the attempts alone are committed, unsynced, and the request
 * does not wait for a disk sync. Returns 0 when all of it is committed;
 * -EIO when none of it is: then no request may leave. */
int ledger_attempts(Ledger *l, const MessageKey *const *keys, size_t n, bool outcomes, int64_t now);
/* An outcome (sent, failed, missed, superseded). It is written at the next
 * ledger_flush() or ledger_attempts(), and ledger_get() sees it at once. A
 * sent reminder stays sent. */
void ledger_record(Ledger *l, const MessageKey *k, LedgerStatus status, int http_status, const char *error,
                   int64_t now);
/* Writes the outcomes recorded since the last write, and the time the
 * daemon was last alive, in one transaction. -EIO keeps them for the next
 * try. */
int ledger_flush(Ledger *l, int64_t now);
/* Outcomes recorded but not yet on disk. */
size_t ledger_backlog(const Ledger *l);
/* The last write or read error ("database or disk is full"), or NULL after
 * a write succeeded. */
const char *ledger_error(const Ledger *l);

/* Each meeting's revision, in one transaction: a new fingerprint raises
 * its sequence and sets its modification time to now. On error ret[] holds
 * what could be read (sequence 0, modified now where nothing could). */
int ledger_meetings(Ledger *l, const char *const *ids, const char *const *fingerprints, size_t n, int64_t now,
                    FeedMeta *ret);

/* When the daemon last ran: reminders due since then were due while it was
 * down. Returns -ENOENT on a new ledger. */
int ledger_get_alive(Ledger *l, int64_t *ret);

int64_t ledger_count(Ledger *l, LedgerStatus s);

/* What people were told of an occurrence: the start announced by the last
 * message sent to the department about it (0: that it is cancelled). */
typedef struct Told {
        char *meeting, *department;
        int64_t start; /* the occurrence (RECURRENCE-ID) */
        int64_t told;
} Told;
/* Every occurrence and department told of, whose start or announced start
 * is after `after`. -EIO when the ledger cannot be read. */
int ledger_told(Ledger *l, int64_t after, Told **ret, size_t *n);
void ledger_told_free(Told *t, size_t n);

/* What the ledger remembers of hosts and pairings (history.h), added to h.
 * -EIO (logged) when it cannot be read: then nothing may be decided that
 * would change the past. */
int ledger_history(Ledger *l, History *h);
/* Records h's hosts; an occurrence's first record stands. -EIO when it
 * cannot be written (ledger_error() says why): the caller tries again. */
int ledger_record_hosts(Ledger *l, const History *h, int64_t now);
/* Records h's fresh epochs (a fresh epoch n replaces a recorded n). */
int ledger_record_epochs(Ledger *l, const History *h, int64_t now);
