/* refresh.h — the daemon's daily round (README "Holidays and changes"):
 * fetch the holiday calendars given as URLs (conditional GET, on the loop,
 * never blocking it), then rebuild the schedule, which moves the feed
 * horizon a day on and picks up changed holidays. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "clock.h"

typedef struct Refresh Refresh;

#define REFRESH_INTERVAL_USEC (24LL * 3600 * USEC_PER_SEC)

/* rebuild(userdata) runs after each round. */
int refresh_new(sd_event *e, void (*rebuild)(void *userdata), void *userdata, Refresh **ret);
Refresh *refresh_free(Refresh *r);
/* The calendars of the config loaded now, and where their cache is. With
 * soon, a round starts at once (a calendar has no copy yet); else the next
 * is a day after the last. */
void refresh_set(Refresh *r, const char *state_dir, const char *const *urls, size_t n, bool soon);
/* Fetches that failed since start (the copy kept): for /metrics. */
uint64_t refresh_failures(const Refresh *r);
