/* daemon.h — `tandem run` and `tandem notify-test`: the event loop that
 * ties config, feeds, reminders, delivery and the ledger together. */
#pragma once

#include <stdint.h>

#include "clock.h"

/* Returns the exit status. clock_start_usec and clock_rate are for the
 * simulated clocks (clock.h). */
int daemon_run(const char *config_path, ClockMode mode, int64_t clock_start_usec, double clock_rate);
int daemon_notify_test(const char *config_path, const char *department);
