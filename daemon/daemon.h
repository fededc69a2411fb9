/* daemon.h — `tandem run` and `tandem notify-test`: the event loop that
 * ties config, feeds, reminders, delivery and the ledger together. */
#pragma once

#include <stdint.h>

/* clock_start_usec < 0: the real clock. Returns the exit status. */
int daemon_run(const char *config_path, int64_t clock_start_usec, double clock_rate);
int daemon_notify_test(const char *config_path, const char *department);
