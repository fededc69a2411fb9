/* rotation.h — whose turn it is (README "Host rotation and pairings"): the
 * host of each held occurrence of a meeting with host = rotate, and the
 * rounds of a pairing by the circle method. Pure arithmetic on indices, no
 * zones or I/O, so that tests/unit/test_rotation.c can check it by table.
 *
 * Departments are indices into an order: the meeting's rotation order, or
 * the pairing's department list. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- host rotation ------------------------------------------------------ */

/* What is known of one occurrence's host before the walk. */
#define ROTATION_NONE (-1)    /* not recorded: computed by the walk */
#define ROTATION_OUTSIDE (-2) /* recorded, a department no longer in the order: kept */

/* The host of each occurrence, walking them in the order of their rule
 * (RECURRENCE-ID). An occurrence that is not held (cancelled) has no host
 * (-1) and takes no turn. A held one with a recorded host (an index, or
 * ROTATION_OUTSIDE) keeps it, and the turns go on from it: so a change of
 * the order changes only the hosts nobody recorded yet. Otherwise its host
 * is the one after the previous held occurrence's host in the order, the
 * first in the order at the very start and after ROTATION_OUTSIDE.
 * host[i] is an index into the order, -1 or ROTATION_OUTSIDE. */
void rotation_walk(size_t n_order, const bool *held, const int *recorded, size_t n, int *host);

/* ---- pairings: the circle method ---------------------------------------- */

/* Rounds in one cycle of a pairing of n departments: every pair meets
 * exactly once per cycle, nobody twice in a round. n - 1 when n is even,
 * n when it is odd (each department sits out one round). n >= 2. */
unsigned rotation_cycle(size_t n);

/* The round of the cycle (0-based) in which departments a and b (indices,
 * a != b, both < n) meet. */
unsigned rotation_round_of(size_t n, size_t a, size_t b);

/* Round r (0-based, < rotation_cycle(n)): pairs[2k], pairs[2k + 1] meet,
 * the lower index first; returns the number of pairs (n / 2). The
 * department sitting out (n odd) is *out, else -1. pairs holds n entries. */
size_t rotation_round(size_t n, unsigned r, size_t *pairs, int *out);

/* ---- pairings: epochs --------------------------------------------------- */

/* How a pairing's recorded department lists (its epochs) meet the
 * config's list now. */
typedef enum EpochVerdict {
        EPOCH_KEEP,    /* the latest epoch's list is the config's */
        EPOCH_FIRST,   /* none recorded: the first epoch, from the pairing's start */
        EPOCH_REPLACE, /* the list changed before the latest epoch's first round was announced: redefine it */
        EPOCH_NEXT,    /* the list changed: a new epoch from the first round still to be announced */
        EPOCH_ENDED,   /* the list changed, but no round is still to be announced: keep the latest */
} EpochVerdict;

/* same: the latest epoch's list equals the config's. latest_from: the
 * latest epoch's first instant (ignored when !any). next_round: the first
 * round whose first reminder is still to come, or -1 if there is none. */
EpochVerdict rotation_epoch(bool any, bool same, int64_t latest_from, int64_t next_round);
