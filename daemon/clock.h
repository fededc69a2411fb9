/* clock.h — every time read and every timer of the daemon's own schedule
 * goes through here. Three clocks (tandem(8), "run"):
 *
 *  - real: the wall clock; timers follow clock changes (NTP steps, suspend);
 *  - rate (--clock INSTANT --clock-rate N): starts at INSTANT and runs N
 *    times faster than real time, for watching a week go by in a minute;
 *  - step (--clock INSTANT --clock-step): a simulated clock for tests,
 *    in the manner of deterministic simulation testing. It stands still
 *    while the daemon has work in flight (requests to webhooks) and, when
 *    it is idle, jumps straight to the next timer. It never passes the
 *    instant it was told to advance to on standard input (one RFC 3339
 *    instant per line); once there and idle it logs "clock: at INSTANT".
 *    So what tandem decides depends on the simulated time only, never on
 *    how fast a loaded machine answers.
 *
 * Only the daemon's own timers (reminders, retries, pacing) use this
 * clock; libcurl's and libmicrohttpd's connection timeouts are real time. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include <time.h>

#define USEC_PER_SEC 1000000LL

typedef enum ClockMode { CLOCK_MODE_REAL, CLOCK_MODE_RATE, CLOCK_MODE_STEP } ClockMode;

/* start_usec is ignored for the real clock. */
void clock_setup(ClockMode mode, int64_t start_usec, double rate);
ClockMode clock_mode(void);
/* Simulated (rate or step): never mixed with real time on disk. */
static inline bool clock_is_virtual(void) { return clock_mode() != CLOCK_MODE_REAL; }
double clock_rate(void);
/* Now, as microseconds since the epoch. */
int64_t clock_now_usec(void);
static inline int64_t clock_now(void) { return clock_now_usec() / USEC_PER_SEC; }
/* A real duration for a span of the clock's time (libcurl's timeouts run
 * on real time): the span itself on the real clock, scaled by the rate,
 * and at least floor_usec. */
int64_t clock_real_span(int64_t usec, int64_t floor_usec);

/* Step clock: listens for instants on standard input. No-op otherwise. */
int clock_attach(sd_event *e);
void clock_detach(void);
/* Work in flight (a request): the step clock holds while any is. */
void clock_busy_begin(void);
void clock_busy_end(void);

/* A one-shot timer on this clock, re-armed rather than recreated. */
typedef struct ClockTimer ClockTimer;
typedef void (*ClockTimerFn)(void *userdata);
int clock_timer_new(sd_event *e, const char *name, ClockTimerFn fn, void *userdata, ClockTimer **ret);
/* Fires once at instant_usec (at once if that has passed). */
void clock_timer_at(ClockTimer *t, int64_t instant_usec);
void clock_timer_off(ClockTimer *t);
ClockTimer *clock_timer_free(ClockTimer *t);
