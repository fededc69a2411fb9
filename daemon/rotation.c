/* rotation.c — host turns and the circle method. */
#include "rotation.h"

void rotation_walk(size_t n_order, const bool *held, const int *recorded, size_t n, int *host)
{
        int prev = -1; /* the previous held occurrence's host: none yet */
        for (size_t i = 0; i < n; i++) {
                if (!held[i]) {
                        host[i] = -1;
                        continue;
                }
                if (recorded[i] >= 0 && (size_t)recorded[i] < n_order)
                        host[i] = recorded[i];
                else if (recorded[i] == ROTATION_OUTSIDE)
                        host[i] = ROTATION_OUTSIDE;
                else
                        host[i] = n_order ? (int)((size_t)(prev + 1) % n_order) : -1;
                /* after a host outside the order, the turns start over */
                prev = host[i] == ROTATION_OUTSIDE ? -1 : host[i];
        }
}

unsigned rotation_cycle(size_t n)
{
        return n < 2 ? 1 : (unsigned)(n % 2 ? n : n - 1);
}

/* The circle method: with an even number of seats m (n, or n + 1 with an
 * empty seat when n is odd), seat 0 stays, the others move one place each
 * round, and seat k meets seat m - 1 - k. Over m - 1 rounds every two seats
 * meet once; whoever faces the empty seat sits out. */
size_t rotation_round(size_t n, unsigned r, size_t *pairs, int *out)
{
        size_t m = n % 2 ? n + 1 : n, np = 0;
        *out = -1;
        for (size_t k = 0; k < m / 2; k++) {
                size_t a = k == 0 ? 0 : 1 + (k - 1 + r) % (m - 1);
                size_t j = m - 1 - k;
                size_t b = 1 + (j - 1 + r) % (m - 1);
                if (a == n || b == n) {
                        *out = (int)(a == n ? b : a);
                        continue;
                }
                pairs[2 * np] = a < b ? a : b;
                pairs[2 * np + 1] = a < b ? b : a;
                np++;
        }
        return np;
}

unsigned rotation_round_of(size_t n, size_t a, size_t b)
{
        size_t lo = a < b ? a : b, hi = a < b ? b : a;
        size_t pairs[n + 1];
        int out;
        for (unsigned r = 0; r < rotation_cycle(n); r++) {
                size_t np = rotation_round(n, r, pairs, &out);
                for (size_t k = 0; k < np; k++)
                        if (pairs[2 * k] == lo && pairs[2 * k + 1] == hi)
                                return r;
        }
        return 0; /* not reached for a valid pair */
}

EpochVerdict rotation_epoch(bool any, bool same, int64_t latest_from, int64_t next_round)
{
        if (!any)
                return EPOCH_FIRST;
        if (same)
                return EPOCH_KEEP;
        if (next_round < 0)
                return EPOCH_ENDED;
        /* Nobody was told of the latest epoch's rounds yet (its first
         * round's first reminder is still to come): it is redefined rather
         * than followed by an epoch without rounds. */
        return next_round <= latest_from ? EPOCH_REPLACE : EPOCH_NEXT;
}
