/* clock.h — every time read in the daemon goes through here: the real
 * wall clock, or a virtual one for tests (--clock, --clock-rate) that
 * starts at a given instant and runs N times faster. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define USEC_PER_SEC 1000000LL

/* start_usec < 0: the real clock. */
void clock_setup(int64_t start_usec, double rate);
bool clock_is_virtual(void);
double clock_rate(void);
/* Now, as microseconds since the epoch. */
int64_t clock_now_usec(void);
static inline int64_t clock_now(void) { return clock_now_usec() / USEC_PER_SEC; }
/* The sd-event timer (clock id, absolute time) that fires at instant. */
void clock_timer_target(int64_t instant_usec, clockid_t *clock, uint64_t *usec);
/* A real duration that corresponds to a span of the clock's time (for
 * libcurl's timeouts, which run on real time); at least floor_usec. */
int64_t clock_real_span(int64_t usec, int64_t floor_usec);
