/* test_parse.c — the value syntaxes (parse.c), calendar arithmetic and
 * "did you mean" (suggest.c). */
#include "helpers.h"

#include "parse.h"
#include "suggest.h"

static void test_parse_date_valid(void **state)
{
        (void)state;
        Date d = {0};
        assert_int_equal(parse_date("2026-01-06", &d), 0);
        assert_int_equal(d.year, 2026);
        assert_int_equal(d.month, 1);
        assert_int_equal(d.day, 6);

        /* 2028 is a leap year, and 2000 (divisible by 400) too. */
        assert_int_equal(parse_date("2028-02-29", &d), 0);
        assert_int_equal(d.year, 2028);
        assert_int_equal(d.month, 2);
        assert_int_equal(d.day, 29);
        assert_int_equal(parse_date("2000-02-29", &d), 0);
        assert_int_equal(parse_date("2026-12-31", &d), 0);
        assert_int_equal(parse_date("2026-04-30", &d), 0);
        assert_int_equal(parse_date("1970-01-01", &d), 0);
}

static void test_parse_date_not_in_calendar(void **state)
{
        (void)state;
        Date d = {1, 2, 3};
        assert_true(parse_date("2026-02-30", &d) < 0);
        assert_true(parse_date("2026-02-29", &d) < 0); /* 2026 is not a leap year */
        assert_true(parse_date("2100-02-29", &d) < 0); /* divisible by 100, not by 400 */
        assert_true(parse_date("2026-04-31", &d) < 0);
        assert_true(parse_date("2026-13-01", &d) < 0);
        assert_true(parse_date("2026-00-10", &d) < 0);
        assert_true(parse_date("2026-01-00", &d) < 0);
        assert_true(parse_date("2026-01-32", &d) < 0);
        /* A rejected date leaves the result alone. */
        assert_int_equal(d.year, 1);
        assert_int_equal(d.month, 2);
        assert_int_equal(d.day, 3);
}

static void test_parse_date_formats(void **state)
{
        (void)state;
        Date d;
        const char *bad[] = {
                "", "2026", "2026-1-06", "2026-01-6", "2026/01/06", "20260106", "06-01-2026",
                "2026-01-06 ", " 2026-01-06", "2026-01-06T10:00", "2026-0a-06", "+026-01-06",
                "2026-01--6", "yesterday",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (parse_date(bad[i], &d) >= 0)
                        fail_msg("parse_date(\"%s\") accepted", bad[i]);
}

static void test_parse_hhmm(void **state)
{
        (void)state;
        int h = -1, m = -1;
        assert_int_equal(parse_hhmm("09:30", &h, &m), 0);
        assert_int_equal(h, 9);
        assert_int_equal(m, 30);
        assert_int_equal(parse_hhmm("9:05", &h, &m), 0);
        assert_int_equal(h, 9);
        assert_int_equal(m, 5);
        assert_int_equal(parse_hhmm("00:00", &h, &m), 0);
        assert_int_equal(h, 0);
        assert_int_equal(m, 0);
        assert_int_equal(parse_hhmm("23:59", &h, &m), 0);
        assert_int_equal(h, 23);
        assert_int_equal(m, 59);

        const char *bad[] = {
                "", "24:00", "12:60", "1230", "12:3", "12:345", "123:00", ":30", "12:", "ab:cd",
                "-1:30", "12:30pm", "12.30", " 9:30", "9:30 ", "12:30:00",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                h = m = -7;
                if (parse_hhmm(bad[i], &h, &m) >= 0)
                        fail_msg("parse_hhmm(\"%s\") accepted", bad[i]);
                assert_int_equal(h, -7);
                assert_int_equal(m, -7);
        }
}

static void test_parse_duration(void **state)
{
        (void)state;
        static const struct {
                const char *s;
                int64_t seconds;
        } good[] = {
                {"30m", 1800}, {"1h", 3600},  {"1h30m", 5400}, {"1d2h", 93600}, {"90m", 5400},
                {"1d", 86400}, {"5m", 300},   {"24h", 86400},  {"2h15m", 8100}, {"1d2h30m", 95400},
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                int64_t s = -1;
                if (parse_duration(good[i].s, &s) != 0)
                        fail_msg("parse_duration(\"%s\") rejected", good[i].s);
                if (s != good[i].seconds)
                        fail_msg("parse_duration(\"%s\") = %lld, want %lld", good[i].s, (long long)s,
                                 (long long)good[i].seconds);
        }

        const char *bad[] = {
                "", "h", "1x", "30m1h", "1h1h", "1", "m30", "1h 30m", " 1h", "1h ", "-1h", "1.5h",
                "1hm", "h1", "1d1d", "30m30m", "2h1d",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int64_t s = -1;
                if (parse_duration(bad[i], &s) >= 0)
                        fail_msg("parse_duration(\"%s\") accepted (%lld)", bad[i], (long long)s);
                assert_int_equal(s, -1);
        }
}

static void test_parse_weekday(void **state)
{
        (void)state;
        static const char *const full[] = {NULL, "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
        static const char *const abbr[] = {NULL, "sun", "mon", "tue", "wed", "thu", "fri", "sat"};
        for (int wd = 1; wd <= 7; wd++) {
                assert_int_equal(parse_weekday(full[wd]), wd);
                assert_int_equal(parse_weekday(abbr[wd]), wd);
                assert_string_equal(parse_weekday_names[wd], full[wd]);
        }
        assert_int_equal(parse_weekday("sunday"), ICAL_SUNDAY_WEEKDAY);
        assert_int_equal(parse_weekday("saturday"), ICAL_SATURDAY_WEEKDAY);
        /* Any case. */
        assert_int_equal(parse_weekday("Tuesday"), 3);
        assert_int_equal(parse_weekday("TUESDAY"), 3);
        assert_int_equal(parse_weekday("tUeSdAy"), 3);
        assert_int_equal(parse_weekday("Tue"), 3);
        assert_int_equal(parse_weekday("FRI"), 6);

        const char *bad[] = {"", "t", "tu", "tusday", "tuesdays", "tuesday ", " tue", "mo", "funday", "1"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (parse_weekday(bad[i]) >= 0)
                        fail_msg("parse_weekday(\"%s\") accepted", bad[i]);
}

static void test_parse_ordinal(void **state)
{
        (void)state;
        assert_int_equal(parse_ordinal("first"), 1);
        assert_int_equal(parse_ordinal("second"), 2);
        assert_int_equal(parse_ordinal("third"), 3);
        assert_int_equal(parse_ordinal("fourth"), 4);
        assert_int_equal(parse_ordinal("last"), -1);
        assert_int_equal(parse_ordinal("First"), 1);
        assert_int_equal(parse_ordinal("LAST"), -1);
        assert_int_equal(parse_ordinal("fifth"), -EINVAL);
        assert_int_equal(parse_ordinal("1st"), -EINVAL);
        assert_int_equal(parse_ordinal(""), -EINVAL);
        assert_int_equal(parse_ordinal("frist"), -EINVAL);
}

static void test_parse_is_id(void **state)
{
        (void)state;
        char max[64], over[65];
        memset(max, 'a', 63);
        max[63] = '\0';
        memset(over, 'a', 64);
        over[64] = '\0';

        const char *good[] = {"sales", "a", "0", "9to5", "r-and-d", "x_y", "a-", "a_", "sales2", max};
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (!parse_is_id(good[i]))
                        fail_msg("parse_is_id(\"%s\") rejected", good[i]);

        const char *bad[] = {"", "-x", "_x", "Sales", "salES", "a b", "a.b", "a:b", "a/b",
                             "\xc3\xbc", " a", "a ", over};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (parse_is_id(bad[i]))
                        fail_msg("parse_is_id(\"%s\") accepted", bad[i]);
}

static void test_parse_uint(void **state)
{
        (void)state;
        unsigned v = 0;
        assert_int_equal(parse_uint("1", 1, 52, &v), 0);
        assert_int_equal(v, 1);
        assert_int_equal(parse_uint("52", 1, 52, &v), 0);
        assert_int_equal(v, 52);
        assert_true(parse_uint("0", 1, 52, &v) < 0);
        assert_true(parse_uint("53", 1, 52, &v) < 0);
        assert_true(parse_uint("", 1, 52, &v) < 0);
        assert_true(parse_uint("-1", 0, 52, &v) < 0);
        assert_true(parse_uint("3x", 0, 52, &v) < 0);
        assert_int_equal(v, 52);
}

static void test_date_days(void **state)
{
        (void)state;
        assert_int_equal(date_to_days((Date){1970, 1, 1}), 0);
        assert_int_equal(date_to_days((Date){1970, 1, 2}), 1);
        assert_int_equal(date_to_days((Date){2000, 3, 1}), 11017);
        assert_int_equal(date_to_days((Date){2026, 1, 1}), 20454);
        assert_int_equal(date_to_days((Date){1969, 12, 31}), -1);

        Date d = date_from_days(20454);
        assert_int_equal(d.year, 2026);
        assert_int_equal(d.month, 1);
        assert_int_equal(d.day, 1);

        /* Weekdays, libical numbering: 1 = Sunday ... 7 = Saturday. */
        assert_int_equal(date_weekday((Date){1970, 1, 1}), 5);  /* Thursday */
        assert_int_equal(date_weekday((Date){2026, 1, 1}), 5);  /* Thursday */
        assert_int_equal(date_weekday((Date){2026, 3, 8}), 1);  /* Sunday */
        assert_int_equal(date_weekday((Date){2026, 1, 3}), 7);  /* Saturday */
        assert_int_equal(date_weekday((Date){2028, 2, 29}), 3); /* Tuesday */
        assert_int_equal(date_weekday((Date){1969, 12, 31}), 4); /* Wednesday */

        assert_int_equal(date_days_in_month(2026, 2), 28);
        assert_int_equal(date_days_in_month(2028, 2), 29);
        assert_int_equal(date_days_in_month(2100, 2), 28);
        assert_int_equal(date_days_in_month(2000, 2), 29);
        assert_int_equal(date_days_in_month(2026, 4), 30);
        assert_int_equal(date_days_in_month(2026, 12), 31);
}

/* Every day from 1970 to 2199: to_days and from_days are inverses, days
 * follow one another, and the weekday agrees with the C library. */
static void test_date_round_trip(void **state)
{
        (void)state;
        Date prev = date_from_days(-1);
        int64_t last = date_to_days((Date){2199, 12, 31});
        for (int64_t n = 0; n <= last; n++) {
                Date d = date_from_days(n);
                if (date_to_days(d) != n)
                        fail_msg("date_to_days(date_from_days(%lld)) = %lld", (long long)n, (long long)date_to_days(d));
                bool next = (d.year == prev.year && d.month == prev.month && d.day == prev.day + 1) ||
                            (d.year == prev.year && d.month == prev.month + 1 && d.day == 1 &&
                             prev.day == date_days_in_month(prev.year, prev.month)) ||
                            (d.year == prev.year + 1 && d.month == 1 && d.day == 1 && prev.month == 12 && prev.day == 31);
                if (!next)
                        fail_msg("%04d-%02d-%02d does not follow %04d-%02d-%02d", d.year, d.month, d.day, prev.year,
                                 prev.month, prev.day);
                Date p;
                char text[16];
                snprintf(text, sizeof text, "%04d-%02d-%02d", d.year, d.month, d.day);
                assert_int_equal(parse_date(text, &p), 0);
                if (n % 97 == 0) {
                        time_t t = (time_t)(n * 86400);
                        struct tm tm;
                        gmtime_r(&t, &tm);
                        assert_int_equal(date_weekday(d), tm.tm_wday + 1);
                        assert_int_equal(tm.tm_year + 1900, d.year);
                        assert_int_equal(tm.tm_mon + 1, d.month);
                        assert_int_equal(tm.tm_mday, d.day);
                }
                prev = d;
        }
        assert_int_equal(prev.year, 2199);
        assert_int_equal(prev.month, 12);
        assert_int_equal(prev.day, 31);
}

/* suggest() may return NULL: compare without crashing, and say what came
 * back. */
#define assert_suggests(word, candidates, want)                                                     \
        do {                                                                                        \
                const char *got_ = suggest((word), (candidates));                                   \
                const char *want_ = (want);                                                         \
                if ((got_ == NULL) != (want_ == NULL) || (got_ && strcmp(got_, want_) != 0))        \
                        fail_msg("suggest(\"%s\") = %s%s%s, want %s%s%s", (word), got_ ? "\"" : "", \
                                 got_ ? got_ : "NULL", got_ ? "\"" : "", want_ ? "\"" : "",             \
                                 want_ ? want_ : "NULL", want_ ? "\"" : "");                       \
        } while (0)

static const char *const days[] = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", NULL};
static const char *const chats[] = {"console", "slack", "mattermost", "rocketchat", "discord",
                                    "teams", "googlechat", "ntfy", "generic", NULL};
static const char *const keys[] = {"title", "departments", "cadence", "day", "time", "duration", NULL};

static void test_suggest(void **state)
{
        (void)state;
        assert_suggests("tusday", days, "tuesday");
        assert_suggests("wensday", days, "wednesday");
        assert_suggests("thurday", days, "thursday");
        assert_suggests("TUSDAY", days, "tuesday"); /* case-insensitive */
        assert_suggests("discrod", chats, "discord");
        assert_suggests("slck", chats, "slack");
        assert_suggests("departmens", keys, "departments");
        assert_suggests("durration", keys, "duration");
        assert_suggests("tiitle", keys, "title");

        /* Nothing close, nothing to pick from, or no typo at all. */
        assert_suggests("colour", keys, NULL);
        assert_suggests("xyzzy", chats, NULL);
        assert_suggests("tuesday", NULL, NULL);
        assert_suggests("tuesday", days, NULL); /* an exact match is not a typo */
        /* A third of the word at most: "xyz" is no typo of "day". */
        assert_suggests("xyz", keys, NULL);

        assert_int_equal(suggest_distance("kitten", "sitting"), 3);
        assert_int_equal(suggest_distance("", "abc"), 3);
        assert_int_equal(suggest_distance("abc", ""), 3);
        assert_int_equal(suggest_distance("Slack", "slack"), 0);
        assert_int_equal(suggest_distance("tusday", "tuesday"), 1);
}

/* suggest.c documents its own example: "x" does not find "y" (a single
 * letter has no plausible typo). */
static void test_suggest_single_letter(void **state)
{
        (void)state;
        static const char *const y[] = {"y", NULL};
        assert_suggests("x", y, NULL);
}

/* Two swapped letters are the commonest typo there is: "titel", "slakc",
 * "fridya" are one keystroke-pair away from the real name and must get a
 * "did you mean". */
static void test_suggest_transposition(void **state)
{
        (void)state;
        assert_suggests("fridya", days, "friday");
        assert_suggests("titel", keys, "title");
        assert_suggests("slakc", chats, "slack");
        assert_suggests("tiem", keys, "time");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_date_valid),
                cmocka_unit_test(test_parse_date_not_in_calendar),
                cmocka_unit_test(test_parse_date_formats),
                cmocka_unit_test(test_parse_hhmm),
                cmocka_unit_test(test_parse_duration),
                cmocka_unit_test(test_parse_weekday),
                cmocka_unit_test(test_parse_ordinal),
                cmocka_unit_test(test_parse_is_id),
                cmocka_unit_test(test_parse_uint),
                cmocka_unit_test(test_date_days),
                cmocka_unit_test(test_date_round_trip),
                cmocka_unit_test(test_suggest),
                cmocka_unit_test(test_suggest_single_letter),
                cmocka_unit_test(test_suggest_transposition),
        };
        return cmocka_run_group_tests_name("parse", tests, NULL, tmp_cleanup);
}
