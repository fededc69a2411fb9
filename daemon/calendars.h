/* calendars.h — the holiday calendars a config names (README "Holidays and
 * changes"), loaded once per config load: everyone's ([tandem] holidays)
 * and each department's own. Files are read; URLs come from their cache in
 * state_dir, fetched once where there is none yet. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "diag.h"
#include "holiday.h"

typedef struct Calendars Calendars;

/* A file with errors is a config error, at its own FILE:LINE. A URL that
 * cannot be had (no cache, and fetch is false or fails) is a warning: its
 * holidays are left out until it can be. Returns 0 or -EINVAL. */
int calendars_load(const Config *c, bool fetch, int64_t now, Calendars **ret, Diags *diags);
Calendars *calendars_free(Calendars *cal);
static inline void calendars_freep(Calendars **c) { calendars_free(*c); }

/* The holiday on local date d for department dept, its own calendars and
 * everyone's: its name, or NULL. A PlanHolidayFn (plan.h). */
const char *calendars_holiday(void *calendars, const Department *dept, Date d);
/* Whether any calendar is loaded at all. */
bool calendars_any(const Calendars *cal);
/* URL sources without a copy yet: the daemon fetches at once. */
bool calendars_missing(const Calendars *cal);
/* The URL sources, for the daemon's daily refresh. */
size_t calendars_urls(const Calendars *cal, const char *const **ret);
/* "3 holiday calendars (2 of them URLs): 41 holidays in 2027" and the like,
 * one line per calendar, for `tandem check`. Caller frees. */
char *calendars_summary(const Calendars *cal, int year);
