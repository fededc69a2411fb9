/* test_holiday.c — holiday calendars (holiday.c, holiday_fetch.c): real-looking
 * files from Google, Mozilla and a company, every error at its line, the
 * limits, and the URL cache against a real HTTP server on loopback
 * (holiday_server.py). Expected dates come from the calendar, not from the
 * code: Easter, "last Monday of May" and friends were worked out by hand
 * and checked with python3-dateutil. */
#include "helpers.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include "holiday.h"

#ifndef HOLIDAY_DATA_DIR
#error "HOLIDAY_DATA_DIR must name tests/unit/data/holidays"
#endif

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static char *read_all(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        if (!f)
                fail_msg("%s: %s", path, strerror(errno));
        char *buf = NULL;
        size_t n = 0;
        FILE *out = open_memstream(&buf, &n);
        char chunk[4096];
        size_t k;
        while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
                fwrite(chunk, 1, k, out);
        fclose(f);
        fclose(out);
        *len = n;
        return buf;
}

typedef struct Parsed {
        Holidays *h;
        Diags diags;
        int r;
        char *text; /* the diagnostics, as printed */
} Parsed;

static Parsed parse_text(const char *text, size_t len)
{
        Parsed p = {0};
        p.r = holiday_parse(text, len, "cal.ics", &p.h, &p.diags);
        p.text = diags_text(&p.diags);
        return p;
}

static Parsed parse_str(const char *text)
{
        return parse_text(text, strlen(text));
}

static Parsed parse_fixture(const char *name)
{
        char path[512];
        snprintf(path, sizeof path, "%s/%s", HOLIDAY_DATA_DIR, name);
        size_t len;
        _cleanup_free_ char *text = read_all(path, &len);
        Parsed p = {0};
        p.r = holiday_parse(text, len, name, &p.h, &p.diags);
        p.text = diags_text(&p.diags);
        if (p.r < 0)
                fail_msg("%s refused:\n%s", name, p.text);
        return p;
}

static void parsed_free(Parsed *p)
{
        holiday_free(p->h);
        diag_free(&p->diags);
        free(p->text);
        *p = (Parsed){0};
}

static Date D(int y, int m, int d)
{
        return (Date){y, m, d};
}

#define assert_holiday(h, y, m, d, want)                                                               \
        do {                                                                                           \
                const char *got_ = holiday_name((h), D((y), (m), (d)));                                \
                if (!got_ || strcmp(got_, (want)) != 0)                                                \
                        fail_msg("%04d-%02d-%02d: got %s%s%s, want \"%s\"", (y), (m), (d), got_ ? "\"" : "", \
                                 got_ ? got_ : "no holiday", got_ ? "\"" : "", (want));                \
        } while (0)

#define assert_no_holiday(h, y, m, d)                                                                  \
        do {                                                                                           \
                const char *got_ = holiday_name((h), D((y), (m), (d)));                                \
                if (got_)                                                                              \
                        fail_msg("%04d-%02d-%02d: got \"%s\", want no holiday", (y), (m), (d), got_);  \
        } while (0)

/* Asserts a diagnostic about the whole file: "PATH: ..." with needle. */
static void expect_file_diag_(const Diags *d, const char *path, const char *needle, const char *where)
{
        _cleanup_free_ char *prefix = xasprintf("%s: ", path);
        for (size_t i = 0; i < d->n; i++)
                if (strncmp(d->lines[i], prefix, strlen(prefix)) == 0 && strstr(d->lines[i], needle))
                        return;
        _cleanup_free_ char *text = diags_text(d);
        fail_msg("%s: no diagnostic \"%s...%s\", got:\n%s", where, prefix, needle, text);
}
#define expect_file_diag(d, path, needle) expect_file_diag_((d), (path), (needle), __FILE__ ":" STR(__LINE__))

/* A calendar of the given VEVENT bodies, "\n"-separated lines. */
static char *calendar(const char *events)
{
        return xasprintf("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n%sEND:VCALENDAR\n", events);
}

/* ------------------------------------------------------------------ */
/* Real-looking files                                                  */

static void test_google_germany(void **state)
{
        (void)state;
        Parsed p = parse_fixture("google-germany.ics");
        assert_string_equal(holiday_calendar_name(p.h), "Holidays in Germany");
        assert_holiday(p.h, 2026, 1, 1, "New Year's Day");
        assert_holiday(p.h, 2026, 4, 3, "Good Friday");
        assert_holiday(p.h, 2026, 4, 6, "Easter Monday");
        assert_holiday(p.h, 2026, 5, 14, "Ascension Day");
        assert_holiday(p.h, 2026, 5, 25, "Whit Monday");
        assert_holiday(p.h, 2026, 10, 3, "Day of German Unity");
        assert_holiday(p.h, 2026, 12, 26, "Second Day of Christmas");
        assert_holiday(p.h, 2027, 3, 26, "Good Friday");
        assert_holiday(p.h, 2027, 5, 17, "Whit Monday");
        /* Regional holidays are public holidays somewhere: they count. */
        assert_holiday(p.h, 2026, 1, 6, "Epiphany");
        /* Observances are no days off: Valentine's Day, Easter Sunday,
         * Christmas Eve, the start of summer time. */
        assert_no_holiday(p.h, 2026, 2, 14);
        assert_no_holiday(p.h, 2026, 3, 29);
        assert_no_holiday(p.h, 2026, 4, 5);
        assert_no_holiday(p.h, 2026, 12, 24);
        assert_int_equal(holiday_observances(p.h), 7);
        /* A day's end is exclusive (DTEND): the 2nd of January is none. */
        assert_no_holiday(p.h, 2026, 1, 2);
        assert_no_holiday(p.h, 2026, 4, 4);
        /* 2026: 12 holidays; the file says nothing about 2028. */
        assert_int_equal(holiday_year(p.h, 2026, NULL), 11);
        assert_int_equal(holiday_year(p.h, 2027, NULL), 9);
        assert_int_equal(holiday_year(p.h, 2028, NULL), 0);
        assert_int_equal(p.diags.n, 0);
        parsed_free(&p);
}

static void test_google_united_states(void **state)
{
        (void)state;
        Parsed p = parse_fixture("google-united-states.ics");
        assert_holiday(p.h, 2026, 1, 19, "Martin Luther King Jr. Day");
        assert_holiday(p.h, 2026, 7, 3, "Independence Day (substitute)");
        assert_holiday(p.h, 2026, 7, 4, "Independence Day");
        assert_holiday(p.h, 2026, 11, 26, "Thanksgiving Day");
        assert_holiday(p.h, 2027, 7, 5, "Independence Day (substitute)");
        assert_holiday(p.h, 2027, 12, 24, "Christmas Day (substitute)");
        assert_no_holiday(p.h, 2026, 10, 31); /* Halloween: an observance */
        assert_no_holiday(p.h, 2026, 11, 27);

        const HolidayDate *v = NULL;
        size_t n = holiday_year(p.h, 2027, &v);
        assert_int_equal(n, 9);
        for (size_t i = 1; i < n; i++)
                assert_true(date_to_days(v[i - 1].date) < date_to_days(v[i].date));
        assert_int_equal(v[0].date.month, 1);
        assert_int_equal(v[0].date.day, 1);
        assert_string_equal(v[n - 1].name, "Christmas Day");
        parsed_free(&p);
}

static void test_mozilla_uk_rules(void **state)
{
        (void)state;
        Parsed p = parse_fixture("mozilla-uk.ics");
        assert_string_equal(holiday_calendar_name(p.h), "UK Holidays");
        /* Yearly rules, expanded in any year asked. */
        assert_holiday(p.h, 2026, 1, 1, "New Year’s Day");
        assert_holiday(p.h, 2026, 5, 4, "Early May Bank Holiday");
        assert_holiday(p.h, 2027, 5, 3, "Early May Bank Holiday");
        assert_holiday(p.h, 2028, 5, 1, "Early May Bank Holiday");
        /* BYDAY=-1MO: the last Monday. */
        assert_holiday(p.h, 2026, 5, 25, "Spring Bank Holiday");
        assert_holiday(p.h, 2027, 5, 31, "Spring Bank Holiday");
        assert_holiday(p.h, 2028, 5, 29, "Spring Bank Holiday");
        assert_holiday(p.h, 2026, 8, 31, "Summer Bank Holiday");
        assert_holiday(p.h, 2027, 8, 30, "Summer Bank Holiday");
        assert_holiday(p.h, 2026, 12, 25, "Christmas Day");
        assert_holiday(p.h, 2026, 12, 26, "Boxing Day");
        assert_no_holiday(p.h, 2026, 5, 18);
        /* Easter-based dates are single events. */
        assert_holiday(p.h, 2026, 4, 3, "Good Friday");
        assert_holiday(p.h, 2027, 3, 29, "Easter Monday");
        assert_no_holiday(p.h, 2028, 4, 14);
        /* RECURRENCE-ID: 2020's early May holiday moved to VE Day. */
        assert_no_holiday(p.h, 2020, 5, 4);
        assert_holiday(p.h, 2020, 5, 8, "Early May Bank Holiday (VE Day)");
        /* 2022's spring holiday moved to Thursday 2 June, beside the
         * jubilee on the 3rd. */
        assert_no_holiday(p.h, 2022, 5, 30);
        assert_holiday(p.h, 2022, 6, 2, "Spring Bank Holiday");
        assert_holiday(p.h, 2022, 6, 3, "Platinum Jubilee Bank Holiday");
        /* EXDATE: the jubilee years 2002 and 2012. */
        assert_no_holiday(p.h, 2002, 5, 27);
        assert_no_holiday(p.h, 2012, 5, 28);
        assert_holiday(p.h, 2011, 5, 30, "Spring Bank Holiday");
        /* Not before DTSTART (2005 for New Year's Day), nothing outside
         * 1970..2199. */
        assert_no_holiday(p.h, 2004, 1, 1);
        assert_holiday(p.h, 2005, 1, 1, "New Year’s Day");
        assert_holiday(p.h, 1970, 12, 25, "Christmas Day");
        assert_holiday(p.h, 2199, 12, 25, "Christmas Day");
        assert_no_holiday(p.h, 2200, 12, 25);
        assert_no_holiday(p.h, 1969, 12, 25);
        assert_int_equal(holiday_year(p.h, 2026, NULL), 8);
        parsed_free(&p);
}

static void test_company_closures(void **state)
{
        (void)state;
        Parsed p = parse_fixture("company.ics");
        assert_string_equal(holiday_calendar_name(p.h), "Example Corp closures");
        /* Nine days across the new year; Christmas Eve (a yearly rule)
         * falls inside and both names are given. */
        assert_holiday(p.h, 2026, 12, 24, "Winter closing / Christmas Eve");
        assert_holiday(p.h, 2026, 12, 25, "Winter closing");
        assert_holiday(p.h, 2027, 1, 1, "Winter closing");
        assert_no_holiday(p.h, 2027, 1, 2);
        assert_holiday(p.h, 2027, 12, 24, "Christmas Eve");
        assert_no_holiday(p.h, 2019, 12, 24);
        /* DURATION:P2W from the first Monday of August, to 2027 (EXDATE)
         * and UNTIL 2028. */
        assert_no_holiday(p.h, 2026, 8, 2);
        assert_holiday(p.h, 2026, 8, 3, "Summer shutdown");
        assert_holiday(p.h, 2026, 8, 16, "Summer shutdown");
        assert_no_holiday(p.h, 2026, 8, 17);
        assert_no_holiday(p.h, 2027, 8, 2);
        assert_no_holiday(p.h, 2027, 8, 10);
        assert_no_holiday(p.h, 2028, 8, 7);
        assert_holiday(p.h, 2025, 8, 15, "Summer shutdown");
        /* RDATE */
        assert_holiday(p.h, 2026, 6, 12, "Founders' Day");
        assert_holiday(p.h, 2027, 6, 11, "Founders' Day");
        assert_holiday(p.h, 2028, 6, 16, "Founders' Day");
        assert_no_holiday(p.h, 2027, 6, 12);
        /* COUNT=3, the second cancelled by an override. */
        assert_holiday(p.h, 2026, 9, 17, "Company offsite");
        assert_no_holiday(p.h, 2027, 9, 16);
        assert_holiday(p.h, 2028, 9, 16, "Company offsite");
        assert_no_holiday(p.h, 2029, 9, 16);
        /* A cancelled series, with its overridden instance. */
        assert_no_holiday(p.h, 2026, 10, 9);
        assert_no_holiday(p.h, 2027, 10, 8);
        /* Midnight to midnight in DATE-TIMEs (Outlook): a whole day. A
         * party at 18:00, or a day whose end is in another zone: no. */
        assert_holiday(p.h, 2026, 3, 20, "Works council election");
        assert_no_holiday(p.h, 2026, 12, 18);
        assert_no_holiday(p.h, 2026, 4, 27);
        _cleanup_free_ char *text = NULL;
        size_t len;
        char path[512];
        snprintf(path, sizeof path, "%s/company.ics", HOLIDAY_DATA_DIR);
        text = read_all(path, &len);
        expect_diag(&p.diags, "company.ics", line_of(text, "DTSTART;TZID=Europe/Berlin:20261218T180000"),
                    "\"Christmas party\"", "time of day", "ignoring");
        expect_diag(&p.diags, "company.ics", line_of(text, "DTSTART;TZID=Europe/Berlin:20260427T000000"),
                    "\"Board day\"", "ignoring");
        assert_int_equal(p.diags.n_errors, 0);
        assert_int_equal(p.diags.n_warnings, 2);
        parsed_free(&p);
}

static void test_rules(void **state)
{
        (void)state;
        _cleanup_free_ char *text = calendar(
                /* Every fourth year from 2025: a jump with INTERVAL. */
                "BEGIN:VEVENT\nUID:a\nSUMMARY:Inauguration Day\nDTSTART;VALUE=DATE:20250120\n"
                "RRULE:FREQ=YEARLY;INTERVAL=4\nEND:VEVENT\n"
                /* 29 February: only leap years. */
                "BEGIN:VEVENT\nUID:b\nSUMMARY:Leap day\nDTSTART;VALUE=DATE:20000229\nRRULE:FREQ=YEARLY\nEND:VEVENT\n"
                /* Every other Sunday (WEEKLY with INTERVAL and a jump). */
                "BEGIN:VEVENT\nUID:c\nSUMMARY:Quiet Sunday\nDTSTART;VALUE=DATE:20260104\n"
                "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SU\nEND:VEVENT\n"
                /* The first Monday of every month, till June 2026. */
                "BEGIN:VEVENT\nUID:d\nSUMMARY:Focus day\nDTSTART;VALUE=DATE:20260105\n"
                "RRULE:FREQ=MONTHLY;BYDAY=1MO;UNTIL=20260630\nEND:VEVENT\n"
                /* A DTSTART the rule does not match still counts. */
                "BEGIN:VEVENT\nUID:e\nSUMMARY:Odd start\nDTSTART;VALUE=DATE:20260102\n"
                "RRULE:FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=1;COUNT=2\nEND:VEVENT\n"
                /* RFC 7529 RSCALE: 1 Tishrei in the Hebrew calendar. */
                "BEGIN:VEVENT\nUID:f\nSUMMARY:Rosh Hashanah\nDTSTART;VALUE=DATE:20250923\n"
                "RRULE:RSCALE=HEBREW;FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1\nEND:VEVENT\n"
                /* An override that only moves a date keeps the name. */
                "BEGIN:VEVENT\nUID:g\nSUMMARY:Bridge day\nDTSTART;VALUE=DATE:20270104\n"
                "RRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT\n"
                "BEGIN:VEVENT\nUID:g\nRECURRENCE-ID;VALUE=DATE:20270105\nDTSTART;VALUE=DATE:20270108\nEND:VEVENT\n");
        Parsed p = parse_str(text);
        assert_int_equal(p.r, 0);
        assert_holiday(p.h, 2029, 1, 20, "Inauguration Day");
        assert_holiday(p.h, 2033, 1, 20, "Inauguration Day");
        assert_no_holiday(p.h, 2030, 1, 20);
        assert_no_holiday(p.h, 2032, 1, 20);
        assert_holiday(p.h, 2028, 2, 29, "Leap day");
        assert_holiday(p.h, 2000, 2, 29, "Leap day");
        /* 2100 is no leap year. */
        const HolidayDate *v = NULL;
        size_t n = holiday_year(p.h, 2100, &v);
        for (size_t i = 0; i < n; i++)
                assert_string_not_equal(v[i].name, "Leap day");
        assert_holiday(p.h, 2026, 1, 18, "Quiet Sunday");
        assert_no_holiday(p.h, 2026, 1, 11);
        assert_holiday(p.h, 2027, 1, 3, "Quiet Sunday"); /* 52 weeks after 4 Jan 2026 */
        assert_no_holiday(p.h, 2027, 1, 10);
        assert_holiday(p.h, 2026, 2, 2, "Focus day");
        assert_holiday(p.h, 2026, 6, 1, "Focus day");
        assert_no_holiday(p.h, 2026, 7, 6);
        assert_holiday(p.h, 2026, 1, 2, "Odd start");
        assert_holiday(p.h, 2026, 7, 1, "Odd start");
        assert_no_holiday(p.h, 2027, 7, 1); /* COUNT=2 counts DTSTART */
        assert_holiday(p.h, 2025, 9, 23, "Rosh Hashanah");
        assert_holiday(p.h, 2026, 9, 12, "Rosh Hashanah");
        assert_holiday(p.h, 2027, 10, 2, "Rosh Hashanah");
        assert_holiday(p.h, 2028, 9, 21, "Rosh Hashanah");
        assert_holiday(p.h, 2027, 1, 4, "Bridge day");
        assert_no_holiday(p.h, 2027, 1, 5);
        assert_holiday(p.h, 2027, 1, 6, "Bridge day");
        assert_no_holiday(p.h, 2027, 1, 7);
        assert_holiday(p.h, 2027, 1, 8, "Bridge day");
        parsed_free(&p);
}

static void test_details(void **state)
{
        (void)state;
        _cleanup_free_ char *text = calendar(
                /* python3-holidays' exporter writes DURATION:P1D. */
                "BEGIN:VEVENT\nUID:a\nSUMMARY:Jour de l'an\nDTSTART;VALUE=DATE:20270101\nDURATION:P1D\nEND:VEVENT\n"
                /* No SUMMARY; a name with a line break and tabs. */
                "BEGIN:VEVENT\nUID:b\nDTSTART;VALUE=DATE:20270102\nEND:VEVENT\n"
                "BEGIN:VEVENT\nUID:c\nSUMMARY:Day\\nof\tthe   \\n  Dead\nDTSTART;VALUE=DATE:20271102\nEND:VEVENT\n"
                /* Folded over three lines, with a multi-byte character at
                 * the fold. */
                "BEGIN:VEVENT\nUID:d\nSUMMARY:Festa della \n Repubblica Itali\n ana – 2 giugno\nDTSTART;VALUE=DATE:20270602\nEND:VEVENT\n"
                /* A DATE-TIME UNTIL with a DATE start, and an EXDATE as a
                 * DATE-TIME (both seen in the wild). */
                "BEGIN:VEVENT\nUID:e\nSUMMARY:Bridge day\nDTSTART;VALUE=DATE:20270104\n"
                "RRULE:FREQ=DAILY;UNTIL=20270106T230000Z\nEXDATE:20270105T000000Z\nEND:VEVENT\n"
                /* Five holidays on one date: three names, then "…"; the
                 * same name twice is said once. */
                "BEGIN:VEVENT\nSUMMARY:A\nDTSTART;VALUE=DATE:20270401\nEND:VEVENT\n"
                "BEGIN:VEVENT\nSUMMARY:B\nDTSTART;VALUE=DATE:20270401\nEND:VEVENT\n"
                "BEGIN:VEVENT\nSUMMARY:A\nDTSTART;VALUE=DATE:20270401\nEND:VEVENT\n"
                "BEGIN:VEVENT\nSUMMARY:C\nDTSTART;VALUE=DATE:20270401\nEND:VEVENT\n"
                "BEGIN:VEVENT\nSUMMARY:D\nDTSTART;VALUE=DATE:20270401\nEND:VEVENT\n"
                "BEGIN:VEVENT\nSUMMARY:A\nDTSTART;VALUE=DATE:20270402\nEND:VEVENT\n"
                "BEGIN:VEVENT\nSUMMARY:A\nDTSTART;VALUE=DATE:20270402\nEND:VEVENT\n"
                /* DTEND = DTSTART: one day, with a warning. */
                "BEGIN:VEVENT\nUID:f\nSUMMARY:Zero\nDTSTART;VALUE=DATE:20270301\nDTEND;VALUE=DATE:20270301\nEND:VEVENT\n");
        Parsed p = parse_str(text);
        assert_int_equal(p.r, 0);
        assert_holiday(p.h, 2027, 1, 1, "Jour de l'an");
        assert_holiday(p.h, 2027, 1, 2, "Holiday");
        assert_holiday(p.h, 2027, 11, 2, "Day of the Dead");
        assert_holiday(p.h, 2027, 6, 2, "Festa della Repubblica Italiana – 2 giugno");
        assert_holiday(p.h, 2027, 1, 4, "Bridge day");
        assert_no_holiday(p.h, 2027, 1, 5);
        assert_holiday(p.h, 2027, 1, 6, "Bridge day");
        assert_no_holiday(p.h, 2027, 1, 7);
        assert_holiday(p.h, 2027, 3, 1, "Zero");
        assert_holiday(p.h, 2027, 4, 1, "A / B / C / …");
        assert_holiday(p.h, 2027, 4, 2, "A");
        assert_no_holiday(p.h, 2027, 3, 2);
        expect_diag(&p.diags, "cal.ics", line_of(text, "DTEND;VALUE=DATE:20270301"), "one day");
        parsed_free(&p);
}

/* ------------------------------------------------------------------ */
/* Errors, at their line                                               */

/* Parses text, expects it refused with an error at the line holding
 * `at` that contains `needle`. */
static void expect_refused_(const char *text, size_t len, const char *at, const char *needle, const char *where)
{
        Parsed p = parse_text(text, len);
        if (p.r >= 0 || p.h)
                fail_msg("%s: accepted, diagnostics:\n%s", where, p.text);
        if (at)
                expect_diag_(&p.diags, "cal.ics", line_of(text, at), where, needle, (const char *)NULL);
        else
                expect_file_diag_(&p.diags, "cal.ics", needle, where);
        parsed_free(&p);
}
#define expect_refused(text, at, needle) expect_refused_((text), strlen(text), (at), (needle), __FILE__ ":" STR(__LINE__))

static void test_errors_at_lines(void **state)
{
        (void)state;
        /* Errors libical finds, after folded and long lines, so that the
         * count is of physical lines. */
        const char *head = "BEGIN:VCALENDAR\r\nPRODID:-//test//EN\r\nX-WR-CALDESC:a description long enough to be cut by "
                           "libical's line reader into pieces of eighty bytes, twice over, at least once more\r\n"
                           "BEGIN:VEVENT\r\nUID:x\r\nDESCRIPTION:folded\r\n over\r\n three lines\r\n";
        struct {
                const char *lines, *at, *needle;
        } cases[] = {
                {"DTSTART;VALUE=DATE:2026131\r\n", "DTSTART", "Can't parse as DATE value in DTSTART property: 2026131"},
                {"DTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DAT:20261226\r\n", "DTEND", "Invalid VALUE type"},
                {"DTSTART;VALUE=DATE:20261224\r\nRRULE:FREQ=YEARLY;BYMONTHDAY=ab\r\n", "RRULE", "RECUR"},
                {"SUMMARY:no start\r\n", "BEGIN:VEVENT", "without DTSTART"},
                /* Our own line marker, in the file, changes nothing. */
                {"X-TANDEM-LINE:1\r\nDTSTART;VALUE=DATE:2026131\r\n", "DTSTART", "Can't parse as DATE"},
                {"DTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261220\r\n", "DTEND", "before DTSTART"},
                {"DTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261226\r\nDURATION:P1D\r\n", "DURATION", "DTEND and DURATION"},
                {"DTSTART;VALUE=DATE:20261224\r\nDURATION:PT12H\r\n", "DURATION", "whole days"},
                {"DTSTART;VALUE=DATE:20261224\r\nDTEND:20261225T000000Z\r\n", "DTEND", "DTEND is a DATE-TIME"},
                {"DTSTART;VALUE=DATE:20260101\r\nDTEND;VALUE=DATE:20280101\r\n", "DTEND", "730 days"},
                {"DTSTART;VALUE=DATE:20261224\r\nRRULE:FREQ=HOURLY\r\n", "RRULE", "DAILY, WEEKLY, MONTHLY or YEARLY"},
                {"DTSTART;VALUE=DATE:20261224\r\nRRULE:FREQ=DAILY;BYHOUR=10\r\n", "RRULE", "BYHOUR"},
                {"DTSTART;VALUE=DATE:20261224\r\nRRULE:FREQ=DAILY;COUNT=100000\r\n", "RRULE", "COUNT=100000"},
                {"DTSTART;VALUE=DATE:20260101\r\nRRULE:FREQ=YEARLY;BYMONTH=2,11;BYMONTHDAY=31,-31\r\n", "RRULE", "never happens"},
                {"DTSTART;VALUE=DATE:20260101\r\nRRULE:FREQ=WEEKLY;BYMONTHDAY=3\r\n", "RRULE", "cannot expand"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = xasprintf("%s%sEND:VEVENT\r\nEND:VCALENDAR\r\n", head, cases[i].lines);
                /* The line of the needle's property within this event. */
                const char *event = strstr(text, "BEGIN:VEVENT");
                const char *at = strstr(event, cases[i].at);
                _cleanup_free_ char *at_line = xstrndup(at, strcspn(at, "\r"));
                char where[64];
                snprintf(where, sizeof where, "case %zu", i);
                expect_refused_(text, strlen(text), at_line, cases[i].needle, where);
        }
}

static void test_structure_errors(void **state)
{
        (void)state;
        /* An HTML page where the calendar should be. */
        expect_refused("<!DOCTYPE html>\n<html><body>Sign in</body></html>\n", "<!DOCTYPE", "expected BEGIN:VCALENDAR");
        expect_refused("", NULL, "no BEGIN:VCALENDAR");
        /* Cut short: the open components are named at their BEGIN. */
        expect_refused("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART;VALUE=DATE:20260101\n", "BEGIN:VEVENT", "never ended");
        expect_refused("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART;VALUE=DATE:20260101\n", "BEGIN:VCALENDAR", "never ended");
        /* END of the wrong component. */
        expect_refused("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260101\nEND:VCALENDAR\nEND:VEVENT\n",
                       "END:VCALENDAR", "ends \"BEGIN:VEVENT\" of line 2");
        /* A top-level VEVENT is no calendar. */
        expect_refused("BEGIN:VEVENT\nDTSTART;VALUE=DATE:20260101\nEND:VEVENT\n", "BEGIN:VEVENT", "expected BEGIN:VCALENDAR");
        /* A line without a property name. */
        expect_refused("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260101\n:novalue\nEND:VEVENT\nEND:VCALENDAR\n",
                       ":novalue", "property name");
        /* Nested too deep (libical frees components recursively). */
        Buf deep = {0};
        for (int i = 0; i < 9; i++)
                buf_append(&deep, "BEGIN:VCALENDAR\n");
        Parsed p = parse_text(deep.s, deep.len);
        assert_true(p.r < 0);
        expect_diag(&p.diags, "cal.ics", 9, "nested deeper than 8");
        parsed_free(&p);
        buf_free(&deep);
        /* Found by fuzz_holiday: a malformed BEGIN ("BEGIN:VEVE:FREQ=...")
         * that libical closed at another component's END, then lines it
         * still took to be inside: refused at the first such line, where
         * the parser for them used to be gone (a crash). */
        char path[512];
        snprintf(path, sizeof path, "%s/broken-nesting.ics", HOLIDAY_DATA_DIR);
        size_t len;
        _cleanup_free_ char *text = read_all(path, &len);
        p = parse_text(text, len);
        assert_true(p.r < 0);
        expect_diag(&p.diags, "cal.ics", 29, "is inside a component whose BEGIN or END lines above do not match");
        parsed_free(&p);
}

static void test_unknown_things_are_warnings(void **state)
{
        (void)state;
        /* Properties (RFC 5545 section 3.8.8), parameters and components
         * that libical does not know are ignored. */
        _cleanup_free_ char *text = calendar(
                "BEGIN:VEVENT\nUID:a\nSUMMARY;X-FOO=bar;LANGUAGE=en:Labour Day\nCONFERENCE-ROOM:12\n"
                "DTSTART;VALUE=DATE:20260501\nX-GOOGLE-THING:whatever\nBEGIN:X-WIDGET\nFOO:1\nEND:X-WIDGET\nEND:VEVENT\n"
                "BEGIN:VTODO\nUID:b\nSUMMARY:not an event\nEND:VTODO\n");
        Parsed p = parse_str(text);
        assert_int_equal(p.r, 0);
        assert_holiday(p.h, 2026, 5, 1, "Labour Day");
        expect_diag(&p.diags, "cal.ics", line_of(text, "CONFERENCE-ROOM"), "warning", "CONFERENCE-ROOM", "ignoring");
        assert_int_equal(p.diags.n_errors, 0);
        parsed_free(&p);
}

static void test_utf8_and_bytes(void **state)
{
        (void)state;
        /* Latin-1 where UTF-8 belongs, on line 4. */
        const char latin1[] = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261003\nSUMMARY:F\xeate\nEND:VEVENT\nEND:VCALENDAR\n";
        expect_refused_(latin1, sizeof latin1 - 1, "SUMMARY", "invalid UTF-8", "latin1");
        /* An overlong encoding and a surrogate. */
        const char overlong[] = "BEGIN:VCALENDAR\nX-A:\xc0\xaf\nEND:VCALENDAR\n";
        expect_refused_(overlong, sizeof overlong - 1, "X-A", "invalid UTF-8", "overlong");
        const char surrogate[] = "BEGIN:VCALENDAR\nX-A:ok\nX-B:\xed\xa0\x80\nEND:VCALENDAR\n";
        expect_refused_(surrogate, sizeof surrogate - 1, "X-B", "invalid UTF-8", "surrogate");
        /* A NUL byte, on line 3. */
        const char nul[] = "BEGIN:VCALENDAR\nX-A:ok\nX-B:a\0b\nEND:VCALENDAR\n";
        Parsed p = parse_text(nul, sizeof nul - 1);
        assert_true(p.r < 0);
        expect_diag(&p.diags, "cal.ics", 3, "NUL");
        parsed_free(&p);
        /* A byte order mark is fine, and so is a last line without a
         * newline. */
        const char bom[] = "\xef\xbb\xbf" "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Día\nDTSTART;VALUE=DATE:20260101\nEND:VEVENT\nEND:VCALENDAR";
        p = parse_text(bom, sizeof bom - 1);
        assert_int_equal(p.r, 0);
        assert_holiday(p.h, 2026, 1, 1, "Día");
        parsed_free(&p);
}

static void test_limits(void **state)
{
        (void)state;
        /* Bytes: one more than the limit is refused before parsing. */
        size_t big = HOLIDAY_MAX_BYTES + 1;
        char *text = xmalloc(big + 1);
        memset(text, 'x', big);
        memcpy(text, "BEGIN:VCALENDAR\n", 16);
        text[big] = '\0';
        Parsed p = parse_text(text, big);
        assert_true(p.r < 0);
        expect_file_diag(&p.diags, "cal.ics", "larger than 4194304 bytes");
        parsed_free(&p);
        free(text);

        /* Events: HOLIDAY_MAX_EVENTS + 1, the error at the one too many. */
        Buf b = {0};
        buf_append(&b, "BEGIN:VCALENDAR\n");
        unsigned line = 2;
        for (unsigned i = 0; i <= HOLIDAY_MAX_EVENTS; i++, line += 3)
                buf_printf(&b, "BEGIN:VEVENT\nDTSTART;VALUE=DATE:%04u0101\nEND:VEVENT\n", 1980 + i % 200);
        buf_append(&b, "END:VCALENDAR\n");
        p = parse_text(b.s, b.len);
        assert_true(p.r < 0);
        expect_diag(&p.diags, "cal.ics", line - 3, "more than 20000 events");
        parsed_free(&p);
        buf_free(&b);

        /* Errors: the first 50 are shown, then a count. */
        buf_append(&b, "BEGIN:VCALENDAR\nBEGIN:VEVENT\n");
        for (int i = 0; i < 80; i++)
                buf_append(&b, "DTSTART;VALUE=DATE:bad\n");
        buf_append(&b, "END:VEVENT\nEND:VCALENDAR\n");
        p = parse_text(b.s, b.len);
        assert_true(p.r < 0);
        assert_int_equal(p.diags.n_errors, 51);
        expect_file_diag(&p.diags, "cal.ics", "30 more errors");
        parsed_free(&p);
        buf_free(&b);
}

static void test_rule_costs(void **state)
{
        (void)state;
        /* More recurring events than any holiday calendar has. */
        Buf b = {0};
        buf_append(&b, "BEGIN:VCALENDAR\n");
        for (unsigned i = 0; i <= HOLIDAY_MAX_RULES; i++)
                buf_printf(&b, "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20260101\nRRULE:FREQ=YEARLY;BYMONTHDAY=%u\nEND:VEVENT\n",
                           1 + i % 28);
        buf_append(&b, "END:VCALENDAR\n");
        Parsed p = parse_text(b.s, b.len);
        assert_true(p.r < 0);
        expect_diag(&p.diags, "cal.ics", 4 + 4 * HOLIDAY_MAX_RULES, "more than 500 recurring events");
        parsed_free(&p);
        buf_free(&b);

        /* Rules with COUNT are walked from DTSTART: daily ones with a
         * filter from 1970 cost 84 000 steps each, the fourth is too many.
         * Plain ones cost their COUNT. */
        _cleanup_free_ char *text = calendar(
                "BEGIN:VEVENT\nDTSTART;VALUE=DATE:19700101\nRRULE:FREQ=DAILY;COUNT=9000\nEND:VEVENT\n"
                "BEGIN:VEVENT\nDTSTART;VALUE=DATE:19700101\nRRULE:FREQ=DAILY;BYDAY=MO;COUNT=10\nEND:VEVENT\n"
                "BEGIN:VEVENT\nDTSTART;VALUE=DATE:19700101\nRRULE:FREQ=DAILY;BYMONTH=1;COUNT=10\nEND:VEVENT\n"
                "BEGIN:VEVENT\nDTSTART;VALUE=DATE:19700101\nRRULE:FREQ=DAILY;BYMONTHDAY=1;COUNT=10\nEND:VEVENT\n"
                "BEGIN:VEVENT\nDTSTART;VALUE=DATE:19700101\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;COUNT=10\nEND:VEVENT\n");
        p = parse_str(text);
        assert_true(p.r < 0);
        expect_diag(&p.diags, "cal.ics", line_of(text, "BYMONTH=2;BYMONTHDAY=29"), "COUNT", "too long");
        assert_int_equal(p.diags.n_errors, 1);
        parsed_free(&p);

        /* A rule that never happens is looked for up to the year 20000:
         * once one is found, the file is refused and no further rule is
         * tried (one error, not two). */
        _cleanup_free_ char *never = calendar(
                "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20260101\nRRULE:FREQ=YEARLY;BYMONTH=2;BYDAY=5MO;BYMONTHDAY=1\nEND:VEVENT\n"
                "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20260102\nRRULE:FREQ=YEARLY;BYMONTH=2;BYDAY=5MO;BYMONTHDAY=1\nEND:VEVENT\n");
        p = parse_str(never);
        assert_true(p.r < 0);
        expect_diag(&p.diags, "cal.ics", line_of(never, "RRULE"), "cannot expand");
        assert_int_equal(p.diags.n_errors, 1);
        parsed_free(&p);
}

/* ------------------------------------------------------------------ */
/* The URL cache, against a real HTTP server                           */

typedef struct Server {
        pid_t pid;
        int port;
        char dir[256]; /* what it serves: <dir>/<name>; requests logged in <dir>/log */
} Server;

static Server server;

static void server_start(void)
{
        snprintf(server.dir, sizeof server.dir, "%s/www", tmp_dir_get());
        assert_int_equal(mkdir(server.dir, 0700), 0);
        int out[2];
        assert_int_equal(pipe(out), 0);
        server.pid = fork();
        assert_true(server.pid >= 0);
        if (server.pid == 0) {
                /* A test that crashes takes its server with it. */
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                dup2(out[1], 1);
                close(out[0]);
                close(out[1]);
                execl("/usr/bin/python3", "python3", HOLIDAY_SERVER, server.dir, (char *)NULL);
                _exit(127);
        }
        close(out[1]);
        /* The server prints its port once it listens: no waiting by time. */
        FILE *f = fdopen(out[0], "r");
        assert_non_null(f);
        assert_int_equal(fscanf(f, "%d", &server.port), 1);
        fclose(f);
}

static int server_group_setup(void **state)
{
        (void)state;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        server_start();
        return 0;
}

static int server_group_teardown(void **state)
{
        if (server.pid > 0) {
                kill(server.pid, SIGTERM);
                waitpid(server.pid, NULL, 0);
        }
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", server.dir);
        assert_int_equal(system(cmd), 0);
        curl_global_cleanup();
        return tmp_cleanup(state);
}

/* Serves text at /<name> (the server reads the file per request). */
static void serve_file(const char *name, const char *text, size_t len)
{
        char path[512];
        snprintf(path, sizeof path, "%s/%s", server.dir, name);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(text, 1, len, f), len);
        fclose(f);
}

static void serve(const char *name, const char *text)
{
        serve_file(name, text, strlen(text));
}

static void unserve(const char *name)
{
        char path[512];
        snprintf(path, sizeof path, "%s/%s", server.dir, name);
        unlink(path);
}

static char *url_of(const char *name)
{
        return xasprintf("http://127.0.0.1:%d/%s", server.port, name);
}

/* The server's request log: "PATH\tSTATUS\tIF-NONE-MATCH\tIF-MODIFIED-SINCE\n". */
static char *server_log(void)
{
        char path[512];
        snprintf(path, sizeof path, "%s/log", server.dir);
        size_t len;
        return access(path, R_OK) == 0 ? read_all(path, &len) : xstrdup("");
}

static char *fresh_state_dir(const char *name)
{
        return xasprintf("%s/%s", tmp_dir_get(), name);
}

static void rm_rf(const char *dir)
{
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

static const char *const CAL_V1 = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Christmas Day\r\n"
                                  "DTSTART;VALUE=DATE:20261225\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
static const char *const CAL_V2 = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Christmas Day\r\n"
                                  "DTSTART;VALUE=DATE:20261225\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\n"
                                  "SUMMARY:Boxing Day\r\nDTSTART;VALUE=DATE:20261226\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

/* Loads url from the cache and checks one date (name NULL: none). */
static void assert_cached(const char *url, const char *state_dir, Date d, const char *name)
{
        Holidays *h = NULL;
        Diags diags = {0};
        int r = holiday_source_load(url, state_dir, &h, &diags);
        if (r < 0)
                fail_msg("load %s: %s", url, strerror(-r));
        const char *got = holiday_name(h, d);
        if (name ? !got || strcmp(got, name) != 0 : got != NULL)
                fail_msg("cached %s on %04d-%02d-%02d: got %s, want %s", url, d.year, d.month, d.day, got ? got : "none",
                         name ? name : "none");
        holiday_free(h);
        diag_free(&diags);
}

/* Fetches and expects the result r (and an error message with needle). */
static void expect_fetch_(const char *url, const char *state_dir, int64_t now, int want, const char *needle, const char *where)
{
        char *error = NULL;
        int r = holiday_fetch(url, state_dir, 10000, now, &error);
        if (r != want)
                fail_msg("%s: fetch %s: got %d (%s), want %d", where, url, r, error ? error : "no error", want);
        if (needle && (!error || !strstr(error, needle)))
                fail_msg("%s: error \"%s\" lacks \"%s\"", where, error ? error : "", needle);
        if (!needle && error)
                fail_msg("%s: unexpected error \"%s\"", where, error);
        free(error);
}
#define expect_fetch(url, dir, now, want, needle) expect_fetch_((url), (dir), (now), (want), (needle), __FILE__ ":" STR(__LINE__))

static void test_fetch_etag_and_refresh(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = fresh_state_dir("state-etag");
        _cleanup_free_ char *url = url_of("de.ics");
        serve("de.ics", CAL_V1);

        /* Nothing cached yet: the caller is told to fetch. */
        Holidays *h = NULL;
        Diags diags = {0};
        assert_int_equal(holiday_source_load(url, dir, &h, &diags), -ENOENT);
        assert_null(h);
        assert_int_equal(diags.n, 0);
        HolidayCacheInfo info;
        assert_int_equal(holiday_cache_info(url, dir, &info), -ENOENT);

        /* The first fetch creates <state_dir>/holidays and the copy. */
        expect_fetch(url, dir, 1000, 1, NULL);
        assert_cached(url, dir, D(2026, 12, 25), "Christmas Day");
        assert_int_equal(holiday_cache_info(url, dir, &info), 0);
        assert_int_equal(info.fetched, 1000);
        assert_int_equal(info.changed, 1000);
        assert_true(info.has_etag);
        assert_true(info.has_last_modified);

        /* Unchanged: the ETag is sent, the server answers 304, the copy
         * stays and the fetch time moves. */
        expect_fetch(url, dir, 2000, 0, NULL);
        assert_int_equal(holiday_cache_info(url, dir, &info), 0);
        assert_int_equal(info.fetched, 2000);
        assert_int_equal(info.changed, 1000);
        assert_cached(url, dir, D(2026, 12, 25), "Christmas Day");
        _cleanup_free_ char *log = server_log();
        assert_non_null(strstr(log, "/de.ics\t200\t-\t-\n"));
        assert_non_null(strstr(log, "/de.ics\t304\t\""));

        /* Changed on the server: replaced, the ETag no longer matches. */
        serve("de.ics", CAL_V2);
        expect_fetch(url, dir, 3000, 1, NULL);
        assert_cached(url, dir, D(2026, 12, 26), "Boxing Day");
        assert_int_equal(holiday_cache_info(url, dir, &info), 0);
        assert_int_equal(info.changed, 3000);
        rm_rf(dir);
}

static void test_fetch_async_handle(void **state)
{
        (void)state;
        /* prepare + perform + finish by hand, as the daemon's multi loop
         * does; the handle carries the validators. */
        _cleanup_free_ char *dir = fresh_state_dir("state-async");
        _cleanup_free_ char *url = url_of("async.ics");
        serve("async.ics", CAL_V1);
        HolidayFetch *f = NULL;
        CURL *easy = NULL;
        assert_int_equal(holiday_fetch_prepare(url, dir, &f, &easy), 0);
        CURLM *multi = curl_multi_init();
        curl_multi_add_handle(multi, easy);
        CURLcode code = CURLE_OK;
        for (int running = 1; running;) {
                curl_multi_perform(multi, &running);
                if (running)
                        curl_multi_poll(multi, NULL, 0, 1000, NULL);
        }
        int left;
        for (CURLMsg *m = curl_multi_info_read(multi, &left); m; m = curl_multi_info_read(multi, &left))
                if (m->msg == CURLMSG_DONE)
                        code = m->data.result;
        curl_multi_remove_handle(multi, easy);
        char *error = NULL;
        assert_int_equal(holiday_fetch_finish(f, code, 500, &error), 1);
        assert_null(error);
        curl_multi_cleanup(multi);
        assert_cached(url, dir, D(2026, 12, 25), "Christmas Day");

        /* Abandoned before it ran: nothing leaks, nothing changes. */
        assert_int_equal(holiday_fetch_prepare(url, dir, &f, &easy), 0);
        holiday_fetch_free(f);
        assert_int_equal(holiday_fetch_prepare("ftp://127.0.0.1/x.ics", dir, &f, &easy), -EINVAL);
        assert_int_equal(holiday_fetch_prepare("file:///etc/passwd", dir, &f, &easy), -EINVAL);
        rm_rf(dir);
}

static void test_fetch_failures_keep_the_cache(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = fresh_state_dir("state-fail");
        _cleanup_free_ char *url = url_of("us.ics");
        serve("us.ics", CAL_V1);
        expect_fetch(url, dir, 1000, 1, NULL);
        serve("us.ics", CAL_V2); /* what a working server would now give */

        /* A 500: reported, the copy kept, the fetch time not moved. */
        serve("us.ics.status", "500");
        expect_fetch(url, dir, 2000, -EIO, "HTTP status 500, keeping the cached copy");
        unserve("us.ics.status");
        assert_cached(url, dir, D(2026, 12, 26), NULL);
        HolidayCacheInfo info;
        assert_int_equal(holiday_cache_info(url, dir, &info), 0);
        assert_int_equal(info.fetched, 1000);

        /* A 200 that is no calendar (a login page): refused, kept. */
        serve("us.ics", "<!DOCTYPE html>\n<html>Please sign in</html>\n");
        expect_fetch(url, dir, 2000, -EBADMSG, "response:1: expected BEGIN:VCALENDAR");
        /* ... nor a broken one. */
        serve("us.ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:2026\nEND:VEVENT\nEND:VCALENDAR\n");
        expect_fetch(url, dir, 2000, -EBADMSG, "response:3:");
        assert_cached(url, dir, D(2026, 12, 25), "Christmas Day");

        /* Too big: refused by Content-Length, and, when the body is sent
         * chunked, while it arrives. */
        size_t big = HOLIDAY_MAX_BYTES + 100;
        _cleanup_free_ char *huge = xmalloc(big);
        memset(huge, ' ', big);
        serve_file("us.ics", huge, big);
        expect_fetch(url, dir, 2000, -EFBIG, "larger than");
        serve("us.ics.chunked", "");
        expect_fetch(url, dir, 2000, -EFBIG, "larger than");
        unserve("us.ics.chunked");
        assert_cached(url, dir, D(2026, 12, 25), "Christmas Day");

        /* Redirects: followed, but not forever, and only to http(s). */
        serve("us.ics", CAL_V2);
        _cleanup_free_ char *moved = url_of("moved.ics");
        serve("moved.ics.redirect", "/us.ics");
        expect_fetch(moved, dir, 2000, 1, NULL);
        assert_cached(moved, dir, D(2026, 12, 26), "Boxing Day");
        serve("moved.ics.redirect", "/moved.ics");
        expect_fetch(moved, dir, 2100, -EIO, "redirect");
        serve("moved.ics.redirect", "file:///etc/passwd");
        expect_fetch(moved, dir, 2200, -EIO, "keeping the cached copy");
        assert_cached(moved, dir, D(2026, 12, 26), "Boxing Day");
        assert_int_equal(holiday_cache_info(moved, dir, &info), 0);
        assert_int_equal(info.fetched, 2000);

        /* A 304 with nothing cached is the server's mistake. */
        _cleanup_free_ char *odd = url_of("odd.ics");
        serve("odd.ics.status", "304");
        expect_fetch(odd, dir, 2000, -EPROTO, "304");
        Holidays *h = NULL;
        Diags diags = {0};
        assert_int_equal(holiday_source_load(odd, dir, &h, &diags), -ENOENT);

        /* Connection refused: a bound socket that does not listen. */
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
        socklen_t alen = sizeof a;
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
        _cleanup_free_ char *refused = xasprintf("http://127.0.0.1:%d/us.ics", ntohs(a.sin_port));
        expect_fetch(refused, dir, 2000, -ECONNREFUSED, "keeping the cached copy");
        close(fd);
        assert_cached(url, dir, D(2026, 12, 25), "Christmas Day");
        rm_rf(dir);
}

static void test_local_files(void **state)
{
        (void)state;
        char path[512];
        snprintf(path, sizeof path, "%s/mozilla-uk.ics", HOLIDAY_DATA_DIR);
        Holidays *h = NULL;
        Diags diags = {0};
        assert_false(holiday_source_is_url(path));
        assert_true(holiday_source_is_url("HTTPS://calendar.google.com/x.ics"));
        assert_int_equal(holiday_source_load(path, "/nonexistent", &h, &diags), 0);
        assert_holiday(h, 2026, 12, 25, "Christmas Day");
        h = holiday_free(h);
        /* A missing file: an error naming it. */
        assert_int_equal(holiday_source_load("/nonexistent/holidays.ics", "/nonexistent", &h, &diags), -ENOENT);
        expect_file_diag(&diags, "/nonexistent/holidays.ics", "cannot read the holiday calendar: No such file");
        diag_free(&diags);
}

int main(void)
{
        const struct CMUnitTest parsing[] = {
                cmocka_unit_test(test_google_germany),
                cmocka_unit_test(test_google_united_states),
                cmocka_unit_test(test_mozilla_uk_rules),
                cmocka_unit_test(test_company_closures),
                cmocka_unit_test(test_rules),
                cmocka_unit_test(test_details),
                cmocka_unit_test(test_errors_at_lines),
                cmocka_unit_test(test_structure_errors),
                cmocka_unit_test(test_unknown_things_are_warnings),
                cmocka_unit_test(test_utf8_and_bytes),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_rule_costs),
        };
        const struct CMUnitTest fetching[] = {
                cmocka_unit_test(test_local_files),
                cmocka_unit_test(test_fetch_etag_and_refresh),
                cmocka_unit_test(test_fetch_async_handle),
                cmocka_unit_test(test_fetch_failures_keep_the_cache),
        };
        int failed = cmocka_run_group_tests_name("parsing", parsing, NULL, tmp_cleanup);
        failed += cmocka_run_group_tests_name("fetching", fetching, server_group_setup, server_group_teardown);
        return failed;
}
