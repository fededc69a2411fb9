/* history.h — what the daemon remembers so that a config change alters the
 * future only (README "Host rotation and pairings"): who hosted each held
 * occurrence of a rotating meeting once it was announced, and each
 * pairing's department lists (epochs) with the instant from which each
 * applies. The ledger stores it (ledger_history); the schedule reads it.
 * check, preview and export have none: their hosts start at the first
 * occurrence, their pairings have a single epoch from `start`. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A held occurrence's host, recorded when its first message was due. */
typedef struct HostRecord {
        char *meeting;
        int64_t start; /* the occurrence (RECURRENCE-ID) */
        char *host;    /* a department id */
} HostRecord;

/* A pairing's department list from instant `from` on (the start of the
 * epoch's first round), until the next epoch's. */
typedef struct Epoch {
        char *pairing;
        unsigned n;         /* 1, 2, ...: epoch n >= 2's events have UIDs of their own */
        int64_t from;
        char **departments; /* ids, in the order of the config's list */
        size_t n_departments;
        bool fresh;         /* decided by this load: to be recorded */
} Epoch;

typedef struct History {
        HostRecord *hosts; /* sorted by (meeting, start) */
        size_t n_hosts, alloc_hosts;
        Epoch *epochs;     /* sorted by (pairing, n) */
        size_t n_epochs, alloc_epochs;
} History;

/* The recorded host of the occurrence, or NULL. */
const char *history_host(const History *h, const char *meeting, int64_t start);
void history_add_host(History *h, const char *meeting, int64_t start, const char *host);
/* Adds an epoch (copies of its strings) in its place by (pairing, n);
 * pointers into h->epochs do not survive this. */
Epoch *history_add_epoch(History *h, const char *pairing, unsigned n, int64_t from, char *const *departments,
                         size_t n_departments);
void history_clear(History *h);
