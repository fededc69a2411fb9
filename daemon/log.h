/* log.h — one line per event on standard error, with the sd-daemon
 * priority prefix ("<3>") so journald keeps the level. Never log secrets:
 * webhook URLs go through log_url_host(). */
#pragma once

#include <syslog.h>

#include "util.h"

void log_msg(int priority, const char *fmt, ...) _printf_(2, 3);
void log_set_max_priority(int priority);

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* The host of a URL ("hooks.slack.com"): the part that may be shown. */
const char *log_url_host(const char *url, char buf[static 256]);
