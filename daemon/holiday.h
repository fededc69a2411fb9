/* holiday.h — public-holiday calendars: iCalendar files of all-day events
 * (Google's and Mozilla's holiday calendars, governments' .ics files), read
 * with libical from a local file or from an http(s) URL cached in
 * <state_dir>/holidays/.
 *
 * A holiday is a calendar date, not an instant: the caller asks about the
 * local date of an occurrence in each department's own zone. Files are
 * untrusted input: every problem is reported as "LABEL:LINE: message" in
 * Diags, sizes are bounded, and a file with errors is refused as a whole
 * (a half-read calendar would silently hold meetings on holidays). */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "parse.h"

/* Limits on what one calendar may hold. */
#define HOLIDAY_MAX_BYTES (4u << 20) /* the file, or the HTTP body */
#define HOLIDAY_MAX_EVENTS 20000u    /* VEVENTs in one file */
#define HOLIDAY_MAX_DAYS 366         /* length of one multi-day event */
#define HOLIDAY_MAX_RULES 500u       /* VEVENTs with an RRULE in one file */
#define HOLIDAY_MAX_COUNT 10000      /* an RRULE's COUNT */
/* Rules with COUNT are walked from DTSTART (libical cannot start them
 * anywhere else): at most this many iterator steps per file, estimated
 * from the rule before any is taken (about a second of libical's time). */
#define HOLIDAY_MAX_COUNT_STEPS 300000
#define HOLIDAY_YEAR_MIN 1970        /* holidays are known in these years only */
#define HOLIDAY_YEAR_MAX 2199

typedef struct Holidays Holidays;

/* ---- Parsing and queries (pure: no I/O, no clock) ------------------- */

/* Reads an iCalendar text (RFC 5545) of holiday events. label names the
 * source in diagnostics (a path or a URL). All-day events count: DTSTART
 * with VALUE=DATE, DTEND or DURATION for several days, RRULE/RDATE/EXDATE,
 * overridden instances (RECURRENCE-ID) and STATUS:CANCELLED. An event that
 * runs from midnight to midnight in DATE-TIMEs counts for those whole days;
 * other timed events are not holidays and are skipped with a warning, as are
 * events Google marks as observances (DESCRIPTION "Observance"). Returns 0,
 * or -EINVAL with every error in diags (then *ret is NULL); warnings may
 * accompany success. */
int holiday_parse(const char *text, size_t len, const char *label, Holidays **ret, Diags *diags);
Holidays *holiday_free(Holidays *h);
static inline void holiday_freep(Holidays **h) { holiday_free(*h); }

/* The holiday's SUMMARY on calendar date d, or NULL when d is no holiday
 * (or outside HOLIDAY_YEAR_MIN..HOLIDAY_YEAR_MAX). Several holidays on one
 * date are joined with " / " (three at most, then " / …"). Recurring events
 * are expanded once per year asked, on first use, so repeated queries cost
 * a binary search; the returned string lives as long as h. Not thread-safe
 * (the expansion is cached inside h). */
const char *holiday_name(const Holidays *h, Date d);

typedef struct HolidayDate {
        Date date;
        const char *name;
} HolidayDate;

/* The holiday dates of one year, sorted, as *ret (owned by h; may be NULL
 * when ret is not wanted). Returns their number: "12 holidays in 2027". */
size_t holiday_year(const Holidays *h, int year, const HolidayDate **ret);

/* The calendar's own name (X-WR-CALNAME or NAME), or NULL. */
const char *holiday_calendar_name(const Holidays *h);
/* Events left out because Google marks them as observances. */
size_t holiday_observances(const Holidays *h);

/* ---- Sources and the cache (I/O) ------------------------------------ */

/* A source is a local path or an http:// or https:// URL. */
bool holiday_source_is_url(const char *source);

/* A path: reads and parses it. A URL: parses the cached copy under
 * <state_dir>/holidays/, or returns -ENOENT when there is none yet (the
 * caller decides to fetch). Errors go to diags labelled with the source. */
int holiday_source_load(const char *source, const char *state_dir, Holidays **ret, Diags *diags);

/* What the cache knows about a URL; -ENOENT when it was never fetched. */
typedef struct HolidayCacheInfo {
        int64_t fetched; /* seconds since the epoch of the last 200 or 304 */
        int64_t changed; /* ... of the last 200 that replaced the copy */
        bool has_etag, has_last_modified;
} HolidayCacheInfo;
int holiday_cache_info(const char *url, const char *state_dir, HolidayCacheInfo *ret);

/* One refresh of a URL source. holiday_fetch_prepare() returns an easy
 * handle configured for a conditional GET (If-None-Match/If-Modified-Since
 * from the cache, http/https only, at most 5 redirects, the body bounded by
 * HOLIDAY_MAX_BYTES, a 30 s timeout that the caller may set again with
 * CURLOPT_TIMEOUT_MS), owned by *ret; add it to a multi handle, and when it
 * completes remove it from there and call holiday_fetch_finish() with its
 * result. finish updates the cache — 200: the body must parse without
 * errors, then replaces the copy atomically; 304: the copy stays and the
 * fetch time is updated — and frees f with its handle. Anything else keeps
 * the copy and returns an error with *error set (malloc'd, without the
 * URL). Returns 1 when the copy changed, 0 when it did not, or -errno.
 * now: the daemon's clock, recorded as the fetch time. */
typedef struct HolidayFetch HolidayFetch;
int holiday_fetch_prepare(const char *url, const char *state_dir, HolidayFetch **ret, CURL **easy);
int holiday_fetch_finish(HolidayFetch *f, CURLcode code, int64_t now, char **error);
/* Abandons a fetch that was not finished (remove the handle first). */
HolidayFetch *holiday_fetch_free(HolidayFetch *f);

/* prepare + curl_easy_perform + finish, for `tandem check` and a first
 * start. timeout_ms bounds the whole transfer. */
int holiday_fetch(const char *url, const char *state_dir, long timeout_ms, int64_t now, char **error);
