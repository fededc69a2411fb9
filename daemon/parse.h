/* parse.h — parsers for the value syntaxes of the config file and the
 * command line. Pure functions: no allocation, no global state; each
 * returns 0 or -EINVAL / -ERANGE. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct Date {
        int year, month, day;
} Date;

bool parse_is_id(const char *s);
int parse_date(const char *s, Date *ret);
int parse_hhmm(const char *s, int *hour, int *minute);
/* "1d2h30m" style: days, hours, minutes (and seconds), each at most once,
 * largest first. */
int parse_duration(const char *s, int64_t *seconds);
/* Weekday names and three-letter abbreviations, any case. Returns the
 * libical numbering (ICAL_SUNDAY_WEEKDAY = 1 ... ICAL_SATURDAY_WEEKDAY = 7)
 * or -EINVAL. */
int parse_weekday(const char *s);
/* first..fourth = 1..4, last = -1, else -EINVAL. */
int parse_ordinal(const char *s);
int parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret);

int date_days_in_month(int year, int month);
/* Days since 1970-01-01 and back: calendar arithmetic without time zones. */
int64_t date_to_days(Date d);
Date date_from_days(int64_t days);
/* 1 = Sunday ... 7 = Saturday, like libical. */
int date_weekday(Date d);

extern const char *const parse_weekday_names[9]; /* [1] = "sunday" */
