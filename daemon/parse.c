/* parse.c — value syntaxes of the config file. */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

const char *const parse_weekday_names[9] = {
        NULL, "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", NULL,
};

bool parse_is_id(const char *s)
{
        size_t n = strlen(s);
        if (n < 1 || n > 63)
                return false;
        if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-' &&
                    s[i] != '_')
                        return false;
        return true;
}

static bool is_leap(int y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int date_days_in_month(int year, int month)
{
        static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* Reads exactly n digits. */
static int digits(const char *s, int n, int *ret)
{
        int v = 0;
        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char)s[i]))
                        return -EINVAL;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return 0;
}

int parse_date(const char *s, Date *ret)
{
        Date d;
        if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &d.year) < 0 ||
            digits(s + 5, 2, &d.month) < 0 || digits(s + 8, 2, &d.day) < 0)
                return -EINVAL;
        if (d.year < 1970 || d.year > 2199 || d.month < 1 || d.month > 12 || d.day < 1 ||
            d.day > date_days_in_month(d.year, d.month))
                return -ERANGE;
        *ret = d;
        return 0;
}

int parse_hhmm(const char *s, int *hour, int *minute)
{
        int h, m;
        size_t n = strlen(s);
        /* "9:30" is what people type as often as "09:30". */
        const char *colon = strchr(s, ':');
        if (!colon || (colon - s != 1 && colon - s != 2) || n - (size_t)(colon - s) != 3)
                return -EINVAL;
        if (digits(s, (int)(colon - s), &h) < 0 || digits(colon + 1, 2, &m) < 0)
                return -EINVAL;
        if (h > 23 || m > 59)
                return -ERANGE;
        *hour = h;
        *minute = m;
        return 0;
}

int parse_duration(const char *s, int64_t *seconds)
{
        static const struct {
                char unit;
                int64_t seconds;
        } units[] = {{'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
        size_t next_unit = 0;
        int64_t total = 0;

        if (!*s)
                return -EINVAL;
        while (*s) {
                if (!isdigit((unsigned char)*s))
                        return -EINVAL;
                int64_t v = 0;
                for (; isdigit((unsigned char)*s); s++) {
                        v = v * 10 + (*s - '0');
                        if (v > 1000000)
                                return -ERANGE;
                }
                char u = (char)tolower((unsigned char)*s);
                size_t i = next_unit;
                while (i < (sizeof(units) / sizeof(units[0])) && units[i].unit != u)
                        i++;
                if (i == (sizeof(units) / sizeof(units[0])))
                        return -EINVAL; /* unknown unit, a repeat, or out of order */
                total += v * units[i].seconds;
                next_unit = i + 1;
                s++;
        }
        *seconds = total;
        return 0;
}

int parse_weekday(const char *s)
{
        size_t n = strlen(s);
        for (int wd = 1; wd <= 7; wd++) {
                const char *name = parse_weekday_names[wd];
                if ((n == 3 || n == strlen(name)) && strncasecmp(s, name, n) == 0)
                        return wd;
        }
        return -EINVAL;
}

int parse_ordinal(const char *s)
{
        static const char *const names[] = {"first", "second", "third", "fourth"};
        for (int i = 0; i < 4; i++)
                if (strcasecmp(s, names[i]) == 0)
                        return i + 1;
        return strcasecmp(s, "last") == 0 ? -1 : -EINVAL;
}

int parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret)
{
        unsigned long v = 0;
        if (!*s || strlen(s) > 9)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (!isdigit((unsigned char)*p))
                        return -EINVAL;
                v = v * 10 + (unsigned long)(*p - '0');
        }
        if (v < min || v > max)
                return -ERANGE;
        *ret = (unsigned)v;
        return 0;
}

/* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian
 * calendar, no time zone involved. */
int64_t date_to_days(Date d)
{
        int64_t y = d.year - (d.month <= 2);
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        int64_t yoe = y - era * 400;
        int64_t doy = (153 * (d.month + (d.month > 2 ? -3 : 9)) + 2) / 5 + d.day - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

Date date_from_days(int64_t z)
{
        z += 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        int d = (int)(doy - (153 * mp + 2) / 5 + 1);
        int m = (int)(mp < 10 ? mp + 3 : mp - 9);
        return (Date){(int)(yoe + era * 400 + (m <= 2)), m, d};
}

int date_weekday(Date d)
{
        /* 1970-01-01 was a Thursday (5 in libical's numbering). */
        int64_t w = (date_to_days(d) + 4) % 7;
        if (w < 0)
                w += 7;
        return (int)w + 1;
}
