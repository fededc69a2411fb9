/* pairing.h — a [pairing:ID] as ordinary meetings (README "Host rotation
 * and pairings"): one generated Meeting per pair of its departments and
 * per epoch, so that the plan, the feeds, reminders, notices and holidays
 * treat a pair as any joint meeting.
 *
 * A round is one occurrence of the pairing's cadence; the rounds of an
 * epoch are split into pairs by the circle method (rotation.h), counted
 * from the epoch's first round, so a skipped round is still that round.
 * An epoch is a department list and the instant from which it applies:
 * when the config's list is not the latest recorded one, a new epoch
 * starts at the first round whose first reminder is still to come, and
 * earlier rounds keep their pairs. A pair of epoch n >= 2 is a meeting of
 * its own ("<pairing>.<a>.<b>.<n>"), since its series is a new event. */
#pragma once

#include <stdint.h>

#include "config.h"
#include "history.h"

/* Appends the pairs of every valid pairing to c->meetings (c->pairings[i]
 * .first and .n say which). With history, its epochs apply, and the ones
 * this decides are added to it as fresh (for the daemon to record once the
 * config is accepted); without (check, preview, export), each pairing has
 * one epoch from its start. `now` decides where a new epoch starts. */
void pairing_expand(Config *c, History *history, int64_t now);

/* "every pair once per 10 weeks", "every pair once per 5 months", "every
 * pair once per 5 rounds": the cycle of a pairing of n departments.
 * Caller frees. */
char *pairing_cycle_text(const Pairing *p, size_t n);
