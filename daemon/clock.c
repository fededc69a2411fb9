/* clock.c — the real or the virtual clock. The virtual clock is derived
 * from CLOCK_MONOTONIC, so its timers are monotonic timers. */
#include <stdbool.h>

#include "clock.h"

static bool virtual_clock;
static int64_t virtual_start, mono_start;
static double rate = 1.0;

static int64_t read_clock(clockid_t id)
{
        struct timespec ts;
        clock_gettime(id, &ts);
        return (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

void clock_setup(int64_t start_usec, double r)
{
        virtual_clock = start_usec >= 0 || r != 1.0;
        virtual_start = start_usec >= 0 ? start_usec : read_clock(CLOCK_REALTIME);
        mono_start = read_clock(CLOCK_MONOTONIC);
        rate = r > 0 ? r : 1.0;
}

bool clock_is_virtual(void)
{
        return virtual_clock;
}

double clock_rate(void)
{
        return rate;
}

int64_t clock_now_usec(void)
{
        if (!virtual_clock)
                return read_clock(CLOCK_REALTIME);
        return virtual_start + (int64_t)((double)(read_clock(CLOCK_MONOTONIC) - mono_start) * rate);
}

void clock_timer_target(int64_t instant_usec, clockid_t *clock, uint64_t *usec)
{
        if (!virtual_clock) {
                /* Wall-clock timers follow clock changes (NTP steps,
                 * suspend), which is what "remind at 09:45" means. */
                *clock = CLOCK_REALTIME;
                *usec = instant_usec > 0 ? (uint64_t)instant_usec : 1;
                return;
        }
        int64_t mono = mono_start + (int64_t)((double)(instant_usec - virtual_start) / rate);
        *clock = CLOCK_MONOTONIC;
        *usec = mono > 0 ? (uint64_t)mono : 1;
}

int64_t clock_real_span(int64_t usec, int64_t floor_usec)
{
        int64_t real = (int64_t)((double)usec / rate);
        return real < floor_usec ? floor_usec : real;
}
