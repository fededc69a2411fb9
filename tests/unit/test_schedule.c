/* test_schedule.c — which instants meetings happen at (README "Config reference",
 * "Which dates", and tandem.ini(5)), through schedule_new and
 * schedule_occurrences, and the tz.c functions under them. Every expected
 * instant is written out in UTC and computed by the C library. */
#include "helpers.h"

#include "tz.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

typedef struct Built {
        Loaded l;
        Schedule *s;
        Diags diags; /* schedule_new's */
        int r;
        char *text;  /* schedule_new's diagnostics, printed */
} Built;

/* Two departments and one meeting "m" whose remaining keys are body. */
#define HEAD "[department:a]\n[department:b]\n[meeting:m]\ntitle = M\ndepartments = a, b\n"

static Built build_text_at(const char *text, int64_t now)
{
        Built b = {0};
        b.l = load_text(text);
        if (b.l.r != 0)
                fail_msg("config_load = %d:\n%s", b.l.r, b.l.text);
        b.r = schedule_new(b.l.config, &(ScheduleOptions){.now = now}, &b.s, &b.diags);
        b.text = diags_text(&b.diags);
        return b;
}

static Built build_text(const char *text)
{
        return build_text_at(text, TEST_NOW);
}

static Built build_at(const char *body, int64_t now)
{
        char *text = NULL;
        assert_true(asprintf(&text, HEAD "%s", body) > 0);
        Built b = build_text_at(text, now);
        free(text);
        if (b.r != 0)
                fail_msg("schedule_new = %d:\n%s", b.r, b.text);
        return b;
}

static Built build(const char *body)
{
        return build_at(body, TEST_NOW);
}

static void built_free(Built *b)
{
        schedule_free(b->s);
        diag_free(&b->diags);
        free(b->text);
        loaded_free(&b->l);
}

/* Asserts the occurrences in [from, to) are exactly want (start instants,
 * in order), each lasting `duration` seconds. */
static void expect_starts(const Built *b, int64_t from, int64_t to, const int64_t *want, size_t n_want, int64_t duration)
{
        Occurrence *occ = NULL;
        size_t n = schedule_occurrences(b->s, from, to, NULL, false, &occ);
        bool ok = n == n_want;
        for (size_t i = 0; ok && i < n; i++)
                ok = occ[i].start == want[i] && occ[i].end - occ[i].start == duration;
        if (!ok) {
                char buf[32];
                print_error("occurrences: got %zu:\n", n);
                for (size_t i = 0; i < n; i++) {
                        fmt_utc(occ[i].start, buf);
                        print_error("  %s (%+llds)\n", buf, (long long)(occ[i].end - occ[i].start));
                }
                print_error("want %zu:\n", n_want);
                for (size_t i = 0; i < n_want; i++) {
                        fmt_utc(want[i], buf);
                        print_error("  %s (%+llds)\n", buf, (long long)duration);
                }
                free(occ);
                fail();
        }
        free(occ);
}
#define EXPECT_STARTS(b, from, to, duration, ...)                                                     \
        do {                                                                                          \
                const int64_t want_[] = {__VA_ARGS__};                                                \
                expect_starts((b), (from), (to), want_, ELEMENTSOF(want_), (duration));               \
        } while (0)

/* DTSTART of the meeting's VEVENT: its wall time and its TZID (NULL for a
 * UTC time). */
static Wall dtstart_of(const Built *b, size_t i, const char **tzid)
{
        icalproperty *p = icalcomponent_get_first_property(schedule_event(b->s, i), ICAL_DTSTART_PROPERTY);
        assert_non_null(p);
        icalparameter *t = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
        if (tzid)
                *tzid = t ? icalparameter_get_tzid(t) : NULL;
        return wall_from_ical(icalproperty_get_dtstart(p));
}

static void assert_wall(Wall w, int y, int mo, int d, int h, int mi)
{
        if (w.date.year != y || w.date.month != mo || w.date.day != d || w.hour != h || w.minute != mi || w.second != 0)
                fail_msg("wall time %04d-%02d-%02d %02d:%02d:%02d, want %04d-%02d-%02d %02d:%02d:00", w.date.year,
                         w.date.month, w.date.day, w.hour, w.minute, w.second, y, mo, d, h, mi);
}

static int count_props(icalcomponent *ev, icalproperty_kind kind)
{
        int n = 0;
        for (icalproperty *p = icalcomponent_get_first_property(ev, kind); p;
             p = icalcomponent_get_next_property(ev, kind))
                n++;
        return n;
}

#define Y2026 utc(2026, 1, 1, 0, 0)
#define Y2027 utc(2027, 1, 1, 0, 0)

/* ------------------------------------------------------------------ */
/* Weekly cadences                                                     */

static void test_weekly(void **state)
{
        (void)state;
        /* 2026-01-01 is a Thursday: the first Tuesday on or after it. */
        Built b = build("day = tuesday\ntime = 10:00\nstart = 2026-01-01\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 1, 28, 0, 0), 3600, utc(2026, 1, 6, 10, 0), utc(2026, 1, 13, 10, 0),
                      utc(2026, 1, 20, 10, 0), utc(2026, 1, 27, 10, 0));
        const char *tzid;
        assert_wall(dtstart_of(&b, 0, &tzid), 2026, 1, 6, 10, 0);
        assert_null(tzid); /* UTC: no TZID, a Z time */
        assert_instant(schedule_first_start(schedule_event(b.s, 0)), utc(2026, 1, 6, 10, 0));
        assert_int_equal(count_props(schedule_event(b.s, 0), ICAL_RRULE_PROPERTY), 1);

        /* [from, to): a start at `from` is in, one at `to` is out */
        EXPECT_STARTS(&b, utc(2026, 1, 13, 10, 0), utc(2026, 1, 27, 10, 0), 3600, utc(2026, 1, 13, 10, 0),
                      utc(2026, 1, 20, 10, 0));
        /* a whole year: 52 Tuesdays from 2026-01-06 */
        Occurrence *occ = NULL;
        assert_int_equal(schedule_occurrences(b.s, Y2026, Y2027, NULL, false, &occ), 52);
        free(occ);

        Occurrence next;
        assert_true(schedule_next(b.s, &b.l.config->meetings[0], utc(2026, 6, 1, 0, 0), &next));
        assert_instant(next.start, utc(2026, 6, 2, 10, 0));
        built_free(&b);
}

static void test_weekly_several_days(void **state)
{
        (void)state;
        /* start on a Thursday that is itself a meeting day */
        Built b = build("day = tuesday, thursday\ntime = 09:30\nduration = 30m\nstart = 2026-01-01\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 1, 16, 0, 0), 1800, utc(2026, 1, 1, 9, 30), utc(2026, 1, 6, 9, 30),
                      utc(2026, 1, 8, 9, 30), utc(2026, 1, 13, 9, 30), utc(2026, 1, 15, 9, 30));
        assert_wall(dtstart_of(&b, 0, NULL), 2026, 1, 1, 9, 30);
        built_free(&b);

        /* the order they are listed in does not matter */
        b = build("day = thu, Tue\ntime = 09:30\nduration = 30m\nstart = 2026-01-02\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 1, 16, 0, 0), 1800, utc(2026, 1, 6, 9, 30), utc(2026, 1, 8, 9, 30),
                      utc(2026, 1, 13, 9, 30), utc(2026, 1, 15, 9, 30));
        built_free(&b);
}

/* Biweekly counts weeks (Monday to Sunday) from the week of the first
 * occurrence, which is the first matching day on or after start. */
static void test_biweekly(void **state)
{
        (void)state;
        /* start Saturday 2026-01-03, day = monday: the first meeting is
         * Monday 2026-01-05, then every second week from that Monday */
        Built b = build("cadence = biweekly\nday = monday\ntime = 10:00\nstart = 2026-01-03\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 3, 1, 0, 0), 3600, utc(2026, 1, 5, 10, 0), utc(2026, 1, 19, 10, 0),
                      utc(2026, 2, 2, 10, 0), utc(2026, 2, 16, 10, 0));
        assert_wall(dtstart_of(&b, 0, NULL), 2026, 1, 5, 10, 0);
        built_free(&b);

        /* start Wednesday 2026-01-07 with monday and friday: Friday 01-09
         * is first; its week (Mon 01-05..Sun 01-11) is week 0, so the next
         * meetings are in the week of 01-19 */
        b = build("cadence = biweekly\nday = monday, friday\ntime = 10:00\nstart = 2026-01-07\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 2, 7, 0, 0), 3600, utc(2026, 1, 9, 10, 0), utc(2026, 1, 19, 10, 0),
                      utc(2026, 1, 23, 10, 0), utc(2026, 2, 2, 10, 0), utc(2026, 2, 6, 10, 0));
        built_free(&b);

        /* weekends: start Sunday 2026-01-04, the last day of the week of
         * Mon 2025-12-29; the next are Sat/Sun of the week of 01-12 */
        b = build("cadence = biweekly\nday = saturday, sunday\ntime = 10:00\nstart = 2026-01-04\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 2, 2, 0, 0), 3600, utc(2026, 1, 4, 10, 0), utc(2026, 1, 17, 10, 0),
                      utc(2026, 1, 18, 10, 0), utc(2026, 1, 31, 10, 0), utc(2026, 2, 1, 10, 0));
        built_free(&b);
}

static void test_every_n_weeks(void **state)
{
        (void)state;
        /* start Sunday 2026-01-04, day = wednesday: first 01-07 (week of
         * Mon 01-05), then every third week */
        Built b = build("cadence = every 3 weeks\nday = wednesday\ntime = 10:00\nstart = 2026-01-04\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 4, 1, 0, 0), 3600, utc(2026, 1, 7, 10, 0), utc(2026, 1, 28, 10, 0),
                      utc(2026, 2, 18, 10, 0), utc(2026, 3, 11, 10, 0));
        built_free(&b);

        /* start Sunday 2026-01-04 with monday and sunday: Sunday 01-04 is
         * first and ends its week (Mon 2025-12-29); three weeks on is the
         * week of Mon 01-19 */
        b = build("cadence = every 3 weeks\nday = monday, sunday\ntime = 10:00\nstart = 2026-01-04\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 2, 16, 0, 0), 3600, utc(2026, 1, 4, 10, 0), utc(2026, 1, 19, 10, 0),
                      utc(2026, 1, 25, 10, 0), utc(2026, 2, 9, 10, 0), utc(2026, 2, 15, 10, 0));
        built_free(&b);

        /* every 1 week is weekly */
        b = build("cadence = every 1 week\nday = friday\ntime = 10:00\nstart = 2026-01-01\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 1, 17, 0, 0), 3600, utc(2026, 1, 2, 10, 0), utc(2026, 1, 9, 10, 0),
                      utc(2026, 1, 16, 10, 0));
        built_free(&b);
}

/* A weekly cadence's DTSTART is taken as its first occurrence without
 * asking libical (rule_first): for every start weekday, every set of days
 * and intervals 1 to 3, libical's own iterator over the published RRULE
 * from that DTSTART yields DTSTART first, and DTSTART is the first day on
 * or after start that the cadence names. */
static void test_weekly_dtstart_is_first(void **state)
{
        (void)state;
        static const char *const names[7] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                             "sunday"};
        for (int interval = 1; interval <= 3; interval++)
                for (int start = 5; start <= 11; start++) /* Mon 2026-01-05 .. Sun 01-11 */
                        for (unsigned set = 1; set < 128; set++) {
                                char days[128] = "", body[256];
                                for (int d = 0; d < 7; d++)
                                        if (set & (1u << d))
                                                snprintf(days + strlen(days), sizeof days - strlen(days), "%s%s",
                                                         days[0] ? ", " : "", names[d]);
                                snprintf(body, sizeof body,
                                         "cadence = every %d weeks\nday = %s\ntime = 09:30\nstart = 2026-01-%02d\n",
                                         interval, days, start);
                                Built b = build(body);
                                Wall w0 = dtstart_of(&b, 0, NULL);
                                /* the first of the set on or after start: Monday is bit 0 */
                                int first = start;
                                while (!(set & (1u << ((first - 5) % 7))))
                                        first++;
                                assert_wall(w0, 2026, 1, first, 9, 30);
                                icalproperty *rr = icalcomponent_get_first_property(schedule_event(b.s, 0), ICAL_RRULE_PROPERTY);
                                icalrecur_iterator *it = icalrecur_iterator_new(icalproperty_get_rrule(rr), wall_to_ical(w0));
                                assert_non_null(it);
                                Wall got = wall_from_ical(icalrecur_iterator_next(it));
                                icalrecur_iterator_free(it);
                                if (wall_to_seconds(got) != wall_to_seconds(w0))
                                        fail_msg("%s: libical's first is %04d-%02d-%02d", body, got.date.year,
                                                 got.date.month, got.date.day);
                                built_free(&b);
                        }
}

/* schedule_same_events: what lets a reload skip the old plan's meetings
 * whose VEVENTs did not change (reminder.c diff). The same config built
 * twice publishes the same VEVENTs; another time or day, a skipped date or
 * another title does not; a packed meeting whose fingerprint was never
 * asked cannot be told, one asked before packing can. */
static void test_same_events(void **state)
{
        (void)state;
        static const char base[] = "cadence = weekly\nday = monday\ntime = 10:00\nstart = 2026-01-05\n";
        static const char *const changed[] = {
                "cadence = weekly\nday = monday\ntime = 10:30\nstart = 2026-01-05\n",
                "cadence = weekly\nday = tuesday\ntime = 10:00\nstart = 2026-01-05\n",
                "cadence = weekly\nday = monday\ntime = 10:00\nstart = 2026-01-05\nskip = 2026-02-02\n",
                "cadence = weekly\nday = monday\ntime = 10:00\nstart = 2026-01-05\nduration = 30m\n",
        };
        Built a = build(base), b = build(base);
        assert_true(schedule_same_events(a.s, 0, b.s, 0));
        for (size_t k = 0; k < ELEMENTSOF(changed); k++) {
                Built c = build(changed[k]);
                if (schedule_same_events(a.s, 0, c.s, 0))
                        fail_msg("the same VEVENTs as %s", changed[k]);
                built_free(&c);
        }
        /* packed: a (asked above) still can be told, e (never asked) not */
        Built e = build(base), d = build(base);
        _cleanup_free_ char *ta = icalcomponent_as_ical_string_r(schedule_event(a.s, 0));
        _cleanup_free_ char *te = icalcomponent_as_ical_string_r(schedule_event(e.s, 0));
        schedule_pack(a.s, 0, ta);
        schedule_pack(e.s, 0, te);
        assert_true(schedule_same_events(a.s, 0, d.s, 0));
        assert_false(schedule_same_events(e.s, 0, d.s, 0));
        built_free(&e);
        built_free(&d);
        built_free(&a);
        built_free(&b);
}

/* ------------------------------------------------------------------ */
/* Monthly cadences                                                    */

static void test_monthly_weekday(void **state)
{
        (void)state;
        Built b = build("cadence = monthly\nday = first monday\ntime = 10:00\nstart = 2026-01-01\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 5, 1, 0, 0), 3600, utc(2026, 1, 5, 10, 0), utc(2026, 2, 2, 10, 0),
                      utc(2026, 3, 2, 10, 0), utc(2026, 4, 6, 10, 0));
        assert_wall(dtstart_of(&b, 0, NULL), 2026, 1, 5, 10, 0);
        built_free(&b);

        b = build("cadence = monthly\nday = last friday\ntime = 16:00\nstart = 2026-01-01\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 5, 1, 0, 0), 3600, utc(2026, 1, 30, 16, 0), utc(2026, 2, 27, 16, 0),
                      utc(2026, 3, 27, 16, 0), utc(2026, 4, 24, 16, 0));
        assert_wall(dtstart_of(&b, 0, NULL), 2026, 1, 30, 16, 0);
        built_free(&b);

        /* start after this month's third tuesday: the first is next month's */
        b = build("cadence = monthly\nday = third tuesday\ntime = 10:00\nstart = 2026-01-21\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 4, 1, 0, 0), 3600, utc(2026, 2, 17, 10, 0), utc(2026, 3, 17, 10, 0));
        assert_wall(dtstart_of(&b, 0, NULL), 2026, 2, 17, 10, 0);
        built_free(&b);
}

static void test_monthly_day(void **state)
{
        (void)state;
        /* months without a 31st are passed over */
        Built b = build("cadence = monthly\nday = 31\ntime = 10:00\nstart = 2026-01-01\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 31, 10, 0), utc(2026, 3, 31, 10, 0), utc(2026, 5, 31, 10, 0),
                      utc(2026, 7, 31, 10, 0), utc(2026, 8, 31, 10, 0), utc(2026, 10, 31, 10, 0),
                      utc(2026, 12, 31, 10, 0));
        built_free(&b);

        /* the 29th: February only in leap years */
        b = build("cadence = monthly\nday = 29\ntime = 10:00\nstart = 2027-01-01\n");
        EXPECT_STARTS(&b, utc(2027, 1, 1, 0, 0), utc(2027, 4, 1, 0, 0), 3600, utc(2027, 1, 29, 10, 0),
                      utc(2027, 3, 29, 10, 0));
        EXPECT_STARTS(&b, utc(2028, 1, 1, 0, 0), utc(2028, 4, 1, 0, 0), 3600, utc(2028, 1, 29, 10, 0),
                      utc(2028, 2, 29, 10, 0), utc(2028, 3, 29, 10, 0));
        built_free(&b);

        /* start after the day in its month */
        b = build("cadence = monthly\nday = 15\ntime = 10:00\nstart = 2026-01-16\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 4, 1, 0, 0), 3600, utc(2026, 2, 15, 10, 0), utc(2026, 3, 15, 10, 0));
        assert_wall(dtstart_of(&b, 0, NULL), 2026, 2, 15, 10, 0);
        built_free(&b);
}

/* ------------------------------------------------------------------ */
/* rrule: cadences                                                     */

static void test_rrule_nonmatching_start(void **state)
{
        (void)state;
        /* 2026-01-01 is a Thursday, not a second Wednesday: not an
         * occurrence, and DTSTART is the first real one, 2026-01-14 */
        Built b = build("cadence = rrule:FREQ=MONTHLY;BYDAY=2WE\ntime = 10:00\nstart = 2026-01-01\n");
        EXPECT_STARTS(&b, utc(2025, 12, 1, 0, 0), utc(2026, 4, 1, 0, 0), 3600, utc(2026, 1, 14, 10, 0),
                      utc(2026, 2, 11, 10, 0), utc(2026, 3, 11, 10, 0));
        const char *tzid;
        assert_wall(dtstart_of(&b, 0, &tzid), 2026, 1, 14, 10, 0);
        assert_instant(schedule_first_start(schedule_event(b.s, 0)), utc(2026, 1, 14, 10, 0));
        built_free(&b);

        /* the same with a start that matches */
        b = build("cadence = rrule:FREQ=MONTHLY;BYDAY=2WE\ntime = 10:00\nstart = 2026-01-14\n");
        EXPECT_STARTS(&b, utc(2025, 12, 1, 0, 0), utc(2026, 3, 1, 0, 0), 3600, utc(2026, 1, 14, 10, 0),
                      utc(2026, 2, 11, 10, 0));
        assert_wall(dtstart_of(&b, 0, NULL), 2026, 1, 14, 10, 0);
        built_free(&b);

        /* a daily rule on weekdays from a Saturday */
        b = build("cadence = rrule:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR\ntime = 08:00\nstart = 2026-01-03\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 1, 10, 0, 0), 3600, utc(2026, 1, 5, 8, 0), utc(2026, 1, 6, 8, 0),
                      utc(2026, 1, 7, 8, 0), utc(2026, 1, 8, 8, 0), utc(2026, 1, 9, 8, 0));
        built_free(&b);
}

/* COUNT counts real occurrences: a start the rule does not match is no
 * occurrence and does not use one up. */
static void test_rrule_count(void **state)
{
        (void)state;
        Built b = build("cadence = rrule:FREQ=MONTHLY;BYDAY=2WE;COUNT=3\ntime = 10:00\nstart = 2026-01-14\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 14, 10, 0), utc(2026, 2, 11, 10, 0), utc(2026, 3, 11, 10, 0));
        built_free(&b);

        /* README "Which dates": RFC 5545's reading with DTSTART at start + time, less
         * start itself. RFC 5545 counts that DTSTART as one of COUNT=3, so
         * two real occurrences remain. */
        b = build("cadence = rrule:FREQ=MONTHLY;BYDAY=2WE;COUNT=3\ntime = 10:00\nstart = 2026-01-01\n");
        assert_wall(dtstart_of(&b, 0, NULL), 2026, 1, 14, 10, 0);
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 14, 10, 0), utc(2026, 2, 11, 10, 0));
        built_free(&b);
}

static void test_rrule_errors(void **state)
{
        (void)state;
        static const struct {
                const char *cadence, *needle;
        } cases[] = {
                {"rrule:FREQ=SOMETIMES", "is not a valid RFC 5545 RRULE value"},
                {"rrule:FREQ=HOURLY", "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"},
                {"rrule:FREQ=DAILY;BYHOUR=9", "BYHOUR, BYMINUTE and BYSECOND are not used"},
                {"rrule:FREQ=WEEKLY;COUNT=3;UNTIL=20261231T000000Z", "is not a valid RFC 5545 RRULE value"},
                {"rrule:FREQ=WEEKLY;UNTIL=20251231T000000Z", "never takes place between start and UNTIL"},
                {"rrule:FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=1", "BYSETPOS with FREQ=WEEKLY is not supported"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *text = NULL;
                assert_true(asprintf(&text, HEAD "cadence = %s\ntime = 10:00\nstart = 2026-01-01\n", cases[i].cadence) > 0);
                Built b = build_text(text);
                assert_int_equal(b.r, -EINVAL);
                assert_null(b.s);
                expect_diag(&b.diags, b.l.path, line_of(text, "cadence ="), "[meeting:m] cadence:", cases[i].needle);
                built_free(&b);
                free(text);
        }
}

/* The RRULE value of the published VEVENT, as text. */
static void expect_rrule_has(const Built *b, const char *needle)
{
        icalproperty *p = icalcomponent_get_first_property(schedule_event(b->s, 0), ICAL_RRULE_PROPERTY);
        assert_non_null(p);
        struct icalrecurrencetype r = icalproperty_get_rrule(p);
        char *rule = icalrecurrencetype_as_string_r(&r);
        if (!strstr(rule, needle))
                fail_msg("RRULE:%s has no %s", rule, needle);
        free(rule);
}

/* UNTIL as RFC 5545 section 3.3.10 means it with a DTSTART in a zone: a
 * UTC instant, the last occurrence at or before it. */
static void test_rrule_until(void **state)
{
        (void)state;
        /* Tuesdays 10:00 Berlin = 09:00Z in winter: UNTIL at the third
         * one's instant includes it, a second earlier does not */
        Built b = build("cadence = rrule:FREQ=WEEKLY;BYDAY=TU;UNTIL=20260120T090000Z\ntime = 10:00\n"
                        "timezone = Europe/Berlin\nstart = 2026-01-06\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 6, 9, 0), utc(2026, 1, 13, 9, 0), utc(2026, 1, 20, 9, 0));
        /* Published as the end of the last occurrence's day: the same set
         * to RFC 5545, and one that engines comparing UNTIL at DTSTART's
         * offset or in local time read alike (README "The feeds"). */
        expect_rrule_has(&b, "UNTIL=20260120T225959Z");
        Occurrence next;
        assert_false(schedule_next(b.s, &b.l.config->meetings[0], utc(2026, 1, 20, 10, 0), &next));
        built_free(&b);
        b = build("cadence = rrule:FREQ=WEEKLY;BYDAY=TU;UNTIL=20260120T085959Z\ntime = 10:00\n"
                  "timezone = Europe/Berlin\nstart = 2026-01-06\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 6, 9, 0), utc(2026, 1, 13, 9, 0));
        built_free(&b);

        /* east of UTC the wall time is later than the UTC one: a single
         * occurrence at exactly UNTIL is still one (10:00 Kolkata = 04:30Z) */
        b = build("cadence = rrule:FREQ=DAILY;UNTIL=20260106T043000Z\ntime = 10:00\ntimezone = Asia/Kolkata\n"
                  "start = 2026-01-06\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 6, 4, 30));
        built_free(&b);

        /* across a DST change: 10:00 New York is 15:00Z in early March,
         * 14:00Z from the 8th */
        b = build("cadence = rrule:FREQ=WEEKLY;BYDAY=MO;UNTIL=20260316T140000Z\ntime = 10:00\n"
                  "timezone = America/New_York\nstart = 2026-03-02\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 3, 2, 15, 0), utc(2026, 3, 9, 14, 0), utc(2026, 3, 16, 14, 0));
        built_free(&b);

        /* a DATE, as some calendars write it: through that day in the
         * meeting's zone, like end; published as that day's last second in
         * UTC (00:30 Tokyo on Tuesdays is 15:30Z on Mondays) */
        b = build("cadence = rrule:FREQ=WEEKLY;BYDAY=TU;UNTIL=20260120\ntime = 00:30\ntimezone = Asia/Tokyo\n"
                  "start = 2026-01-06\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 5, 15, 30), utc(2026, 1, 12, 15, 30), utc(2026, 1, 19, 15, 30));
        expect_rrule_has(&b, "UNTIL=20260120T145959Z");
        built_free(&b);

        /* a local time without Z: read in the meeting's zone */
        b = build("cadence = rrule:FREQ=WEEKLY;BYDAY=TU;UNTIL=20260120T100000\ntime = 10:00\n"
                  "timezone = Europe/Berlin\nstart = 2026-01-06\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 6, 9, 0), utc(2026, 1, 13, 9, 0), utc(2026, 1, 20, 9, 0));
        expect_rrule_has(&b, "UNTIL=20260120T225959Z");
        built_free(&b);
}

/* UNTIL and end both bound the meeting: one of them, as with COUNT. */
static void test_rrule_until_and_end(void **state)
{
        (void)state;
        static const char text[] = HEAD "cadence = rrule:FREQ=WEEKLY;BYDAY=TU;UNTIL=20261231T000000Z\ntime = 10:00\n"
                                        "start = 2026-01-06\nend = 2026-06-30\n";
        Built b = build_text(text);
        assert_int_equal(b.r, -EINVAL);
        assert_int_equal(b.diags.n_errors, 1);
        expect_diag(&b.diags, b.l.path, line_of(text, "end ="), "[meeting:m] end:", "use either UNTIL or end");
        built_free(&b);
}

/* ------------------------------------------------------------------ */
/* skip and end                                                        */

static void test_skip(void **state)
{
        (void)state;
        Built b = build("day = tuesday\ntime = 10:00\nstart = 2026-01-06\nskip = 2026-01-13, 2026-01-27\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 2, 4, 0, 0), 3600, utc(2026, 1, 6, 10, 0), utc(2026, 1, 20, 10, 0),
                      utc(2026, 2, 3, 10, 0));
        icalcomponent *ev = schedule_event(b.s, 0);
        assert_int_equal(count_props(ev, ICAL_EXDATE_PROPERTY), 2);
        icalproperty *x = icalcomponent_get_first_property(ev, ICAL_EXDATE_PROPERTY);
        assert_wall(wall_from_ical(icalproperty_get_exdate(x)), 2026, 1, 13, 10, 0);
        built_free(&b);

        /* in a zone, after a DST change: the skipped date is a local date */
        b = build("day = sunday\ntime = 23:30\ntimezone = America/New_York\nstart = 2026-03-01\nskip = 2026-03-15\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 3, 24, 0, 0), 3600, utc(2026, 3, 2, 4, 30), utc(2026, 3, 9, 3, 30),
                      utc(2026, 3, 23, 3, 30));
        built_free(&b);

        /* skipping the first occurrence */
        b = build("cadence = monthly\nday = first monday\ntime = 10:00\nstart = 2026-01-01\nskip = 2026-01-05\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 3, 1, 0, 0), 3600, utc(2026, 2, 2, 10, 0));
        built_free(&b);
}

/* A skip date the meeting does not meet on is a config error at the skip
 * line. */
static void test_skip_not_an_occurrence(void **state)
{
        (void)state;
        static const char text[] = HEAD "day = tuesday\ntime = 10:00\nstart = 2026-01-06\n"
                                        "skip = 2026-01-13, 2026-01-14\n";
        Built b = build_text(text);
        assert_int_equal(b.r, -EINVAL);
        assert_null(b.s);
        assert_int_equal(b.diags.n_errors, 1);
        expect_diag(&b.diags, b.l.path, line_of(text, "skip ="), "[meeting:m] skip:",
                    "does not take place on 2026-01-14");
        built_free(&b);

        /* a biweekly meeting's off week */
        static const char text2[] = HEAD "cadence = biweekly\nday = monday\ntime = 10:00\nstart = 2026-01-05\n"
                                         "skip = 2026-01-12\n";
        b = build_text(text2);
        assert_int_equal(b.r, -EINVAL);
        expect_diag(&b.diags, b.l.path, line_of(text2, "skip ="), "[meeting:m] skip:", "2026-01-12");
        built_free(&b);
}

/* A meeting whose every occurrence is skipped never takes place: an error
 * like a rule without occurrences, at the skip line. */
static void test_skip_every_occurrence(void **state)
{
        (void)state;
        static const char *const bodies[] = {
                "day = tuesday\ntime = 10:00\nstart = 2026-01-06\nend = 2026-01-20\n"
                "skip = 2026-01-06, 2026-01-13, 2026-01-20\n",
                "cadence = rrule:FREQ=MONTHLY;BYMONTHDAY=1;COUNT=2\ntime = 10:00\nstart = 2026-01-01\n"
                "skip = 2026-02-01, 2026-01-01\n",
                "cadence = rrule:FREQ=DAILY;UNTIL=20260103T235959Z\ntime = 10:00\nstart = 2026-01-01\n"
                "skip = 2026-01-01, 2026-01-02, 2026-01-03\n",
                "cadence = rrule:FREQ=YEARLY;COUNT=1\ntime = 10:00\nstart = 2026-01-01\nskip = 2026-01-01\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
                char *text = NULL;
                assert_true(asprintf(&text, HEAD "%s", bodies[i]) > 0);
                Built b = build_text(text);
                if (b.r != -EINVAL || b.diags.n_errors != 1)
                        fail_msg("case %zu: schedule_new = %d:\n%s", i, b.r, b.text);
                expect_diag(&b.diags, b.l.path, line_of(text, "skip ="), "[meeting:m] skip:", "names every occurrence");
                built_free(&b);
                free(text);
        }

        /* one occurrence left is enough */
        Built b = build("day = tuesday\ntime = 10:00\nstart = 2026-01-06\nend = 2026-01-20\n"
                        "skip = 2026-01-06, 2026-01-20\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 13, 10, 0));
        built_free(&b);
}

static void test_end_inclusive(void **state)
{
        (void)state;
        Built b = build("day = tuesday\ntime = 10:00\nstart = 2026-01-06\nend = 2026-01-20\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 6, 10, 0), utc(2026, 1, 13, 10, 0), utc(2026, 1, 20, 10, 0));
        Occurrence next;
        assert_false(schedule_next(b.s, &b.l.config->meetings[0], utc(2026, 1, 21, 0, 0), &next));
        built_free(&b);

        /* end on a day without a meeting */
        b = build("day = tuesday\ntime = 10:00\nstart = 2026-01-06\nend = 2026-01-19\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 6, 10, 0), utc(2026, 1, 13, 10, 0));
        built_free(&b);
}

/* The end date is a local date in the meeting's zone, also where the
 * meeting's UTC instant falls on another day. */
static void test_end_inclusive_in_zones(void **state)
{
        (void)state;
        /* 23:30 in Los Angeles is 07:30Z the next day */
        Built b = build("day = tuesday\ntime = 23:30\ntimezone = America/Los_Angeles\nstart = 2026-01-06\n"
                        "end = 2026-01-13\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 7, 7, 30), utc(2026, 1, 14, 7, 30));
        built_free(&b);

        /* 00:30 in Tokyo is 15:30Z the day before */
        b = build("day = tuesday\ntime = 00:30\ntimezone = Asia/Tokyo\nstart = 2026-01-06\nend = 2026-01-13\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 5, 15, 30), utc(2026, 1, 12, 15, 30));
        built_free(&b);

        /* a monthly meeting in the evening in Sydney (+11) */
        b = build("cadence = monthly\nday = last friday\ntime = 18:00\ntimezone = Australia/Sydney\n"
                  "start = 2026-01-01\nend = 2026-02-27\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 30, 7, 0), utc(2026, 2, 27, 7, 0));
        built_free(&b);

        /* East of Greenwich, a meeting late on the end date: 20:00 in Tokyo
         * (11:00Z), 23:30 in Berlin (22:30Z), a daily rule at 18:00 in
         * Sydney (07:00Z). The end date is inclusive in local time, so the
         * last of each is on the end date. */
        b = build("day = tuesday\ntime = 20:00\ntimezone = Asia/Tokyo\nstart = 2026-01-06\nend = 2026-01-13\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 6, 11, 0), utc(2026, 1, 13, 11, 0));
        built_free(&b);

        b = build("day = tuesday\ntime = 23:30\ntimezone = Europe/Berlin\nstart = 2026-01-06\nend = 2026-01-13\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 6, 22, 30), utc(2026, 1, 13, 22, 30));
        built_free(&b);

        b = build("cadence = rrule:FREQ=DAILY\ntime = 18:00\ntimezone = Australia/Sydney\nstart = 2026-01-06\n"
                  "end = 2026-01-08\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 1, 6, 7, 0), utc(2026, 1, 7, 7, 0), utc(2026, 1, 8, 7, 0));
        built_free(&b);
}

/* ------------------------------------------------------------------ */
/* Daylight-saving time, both hemispheres                              */

static void test_dst_new_york(void **state)
{
        (void)state;
        /* 02:30 does not exist on 2026-03-08: moved forward by the gap to
         * 03:30 EDT = 07:30Z. A week before and after it exists. */
        Built b = build("day = sunday\ntime = 02:30\ntimezone = America/New_York\nstart = 2026-03-01\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 3, 16, 0, 0), 3600, utc(2026, 3, 1, 7, 30), utc(2026, 3, 8, 7, 30),
                      utc(2026, 3, 15, 6, 30));
        const char *tzid;
        assert_wall(dtstart_of(&b, 0, &tzid), 2026, 3, 1, 2, 30);
        assert_string_equal(tzid, "America/New_York");
        built_free(&b);

        /* ...also as the very first occurrence: published apart, in UTC,
         * and DTSTART is the first occurrence whose time exists once */
        b = build("day = sunday\ntime = 02:30\ntimezone = America/New_York\nstart = 2026-03-08\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 3, 16, 0, 0), 3600, utc(2026, 3, 8, 7, 30), utc(2026, 3, 15, 6, 30));
        assert_instant(schedule_first_start(schedule_event(b.s, 0)), utc(2026, 3, 15, 6, 30));
        /* (and 02:30 EST on 2026-11-01, hours after the clocks went back) */
        assert_int_equal(b.s->n_exceptions[0], 2);
        assert_instant(schedule_first_start(b.s->exceptions[0][0]), utc(2026, 3, 8, 7, 30));
        assert_instant(schedule_first_start(b.s->exceptions[0][1]), utc(2026, 11, 1, 7, 30));
        built_free(&b);

        /* 01:30 happens twice on 2026-11-01: the first, EDT = 05:30Z */
        b = build("day = sunday\ntime = 01:30\ntimezone = America/New_York\nstart = 2026-10-25\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 11, 9, 0, 0), 3600, utc(2026, 10, 25, 5, 30), utc(2026, 11, 1, 5, 30),
                      utc(2026, 11, 8, 6, 30));
        built_free(&b);
        b = build("day = sunday\ntime = 01:30\ntimezone = America/New_York\nstart = 2026-11-01\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 11, 9, 0, 0), 3600, utc(2026, 11, 1, 5, 30), utc(2026, 11, 8, 6, 30));
        assert_instant(schedule_first_start(schedule_event(b.s, 0)), utc(2026, 11, 8, 6, 30));
        assert_instant(schedule_first_start(b.s->exceptions[0][0]), utc(2026, 11, 1, 5, 30));
        built_free(&b);
}

static void test_dst_berlin(void **state)
{
        (void)state;
        /* 02:30 does not exist on 2026-03-29: 03:30 CEST = 01:30Z */
        Built b = build("day = sunday\ntime = 02:30\ntimezone = Europe/Berlin\nstart = 2026-03-22\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 4, 6, 0, 0), 3600, utc(2026, 3, 22, 1, 30), utc(2026, 3, 29, 1, 30),
                      utc(2026, 4, 5, 0, 30));
        built_free(&b);

        /* 02:30 happens twice on 2026-10-25: the first, CEST = 00:30Z */
        b = build("day = sunday\ntime = 02:30\ntimezone = Europe/Berlin\nstart = 2026-10-18\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 11, 2, 0, 0), 3600, utc(2026, 10, 18, 0, 30), utc(2026, 10, 25, 0, 30),
                      utc(2026, 11, 1, 1, 30));
        built_free(&b);
}

static void test_dst_sydney(void **state)
{
        (void)state;
        /* spring forward 2026-10-04: 02:30 does not exist, 03:30 AEDT =
         * 2026-10-03T16:30Z */
        Built b = build("day = sunday\ntime = 02:30\ntimezone = Australia/Sydney\nstart = 2026-09-27\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 10, 12, 0, 0), 3600, utc(2026, 9, 26, 16, 30), utc(2026, 10, 3, 16, 30),
                      utc(2026, 10, 10, 15, 30));
        built_free(&b);

        /* fall back 2026-04-05: 02:30 happens twice, the first is AEDT =
         * 2026-04-04T15:30Z */
        b = build("day = sunday\ntime = 02:30\ntimezone = Australia/Sydney\nstart = 2026-03-29\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 4, 13, 0, 0), 3600, utc(2026, 3, 28, 15, 30), utc(2026, 4, 4, 15, 30),
                      utc(2026, 4, 11, 16, 30));
        built_free(&b);
}

/* Lord Howe Island moves its clocks by 30 minutes. */
static void test_dst_lord_howe(void **state)
{
        (void)state;
        /* 2026-10-04 02:00 -> 02:30: 02:15 moves to 02:45 (+11) = 15:45Z */
        Built b = build("day = sunday\ntime = 02:15\ntimezone = Australia/Lord_Howe\nstart = 2026-09-27\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 10, 12, 0, 0), 3600, utc(2026, 9, 26, 15, 45), utc(2026, 10, 3, 15, 45),
                      utc(2026, 10, 10, 15, 15));
        built_free(&b);

        /* 2026-04-05 02:00 -> 01:30: 01:45 is the first (+11) = 14:45Z */
        b = build("day = sunday\ntime = 01:45\ntimezone = Australia/Lord_Howe\nstart = 2026-03-29\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 4, 13, 0, 0), 3600, utc(2026, 3, 28, 14, 45), utc(2026, 4, 4, 14, 45),
                      utc(2026, 4, 11, 15, 15));
        built_free(&b);

        /* 10:00 local: 23:00Z in summer (+11), 23:30Z in winter (+10:30) */
        b = build("cadence = monthly\nday = first monday\ntime = 10:00\ntimezone = Australia/Lord_Howe\n"
                  "start = 2026-03-01\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 5, 1, 0, 0), 3600, utc(2026, 3, 1, 23, 0), utc(2026, 4, 5, 23, 30));
        built_free(&b);
}

/* A meeting lasts its duration also when its first occurrence (DTSTART)
 * falls in the repeated hour of a fall-back day, where the end's wall time
 * can be the same as, or earlier than, the start's. */
static void test_dst_duration_from_overlap(void **state)
{
        (void)state;
        /* 01:30 EDT (05:30Z) + 1h = 06:30Z, which is 01:30 EST */
        Built b = build("day = sunday\ntime = 01:30\ntimezone = America/New_York\nstart = 2026-11-01\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 11, 16, 0, 0), 3600, utc(2026, 11, 1, 5, 30), utc(2026, 11, 8, 6, 30),
                      utc(2026, 11, 15, 6, 30));
        built_free(&b);

        /* 01:00 EDT (05:00Z) + 1h30m = 06:30Z, 01:30 EST */
        b = build("day = sunday\ntime = 01:00\nduration = 1h30m\ntimezone = America/New_York\nstart = 2026-11-01\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 11, 9, 0, 0), 5400, utc(2026, 11, 1, 5, 0), utc(2026, 11, 8, 6, 0));
        built_free(&b);

        /* Sydney: 02:30 AEDT (15:30Z) + 1h = 16:30Z, 02:30 AEST */
        b = build("day = sunday\ntime = 02:30\ntimezone = Australia/Sydney\nstart = 2026-04-05\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 4, 12, 0, 0), 3600, utc(2026, 4, 4, 15, 30), utc(2026, 4, 11, 16, 30));
        built_free(&b);
}

/* A meeting at 10:00 local stays at 10:00 local: its UTC instant moves by
 * the hour, and every occurrence lasts exactly its duration. */
static void test_local_time_kept_across_dst(void **state)
{
        (void)state;
        Built b = build("day = monday\ntime = 10:00\nduration = 1h30m\ntimezone = America/New_York\nstart = 2026-03-02\n");
        EXPECT_STARTS(&b, utc(2026, 3, 1, 0, 0), utc(2026, 3, 10, 0, 0), 5400, utc(2026, 3, 2, 15, 0),
                      utc(2026, 3, 9, 14, 0));
        EXPECT_STARTS(&b, utc(2026, 10, 26, 0, 0), utc(2026, 11, 3, 0, 0), 5400, utc(2026, 10, 26, 14, 0),
                      utc(2026, 11, 2, 15, 0));
        /* each occurrence at 10:00 New York time, all year */
        Occurrence *occ = NULL;
        size_t n = schedule_occurrences(b.s, Y2026, Y2027, NULL, false, &occ);
        assert_int_equal(n, 44);
        icaltimezone *ny = tz_lookup("America/New_York");
        for (size_t i = 0; i < n; i++) {
                Wall w = tz_instant_to_wall(ny, occ[i].start);
                assert_int_equal(w.hour, 10);
                assert_int_equal(w.minute, 0);
                assert_int_equal(date_weekday(w.date), ICAL_MONDAY_WEEKDAY);
                assert_int_equal(occ[i].end - occ[i].start, 5400);
        }
        free(occ);
        built_free(&b);

        b = build("day = monday\ntime = 10:00\ntimezone = Europe/Berlin\nstart = 2026-03-23\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 4, 1, 0, 0), 3600, utc(2026, 3, 23, 9, 0), utc(2026, 3, 30, 8, 0));
        EXPECT_STARTS(&b, utc(2026, 10, 19, 0, 0), utc(2026, 10, 27, 0, 0), 3600, utc(2026, 10, 19, 8, 0),
                      utc(2026, 10, 26, 9, 0));
        built_free(&b);

        /* a meeting that spans the change lasts its duration, not the wall
         * clock difference: 01:00 EST + 2h = 08:00Z, which is 04:00 EDT */
        b = build("day = sunday\ntime = 01:00\nduration = 2h\ntimezone = America/New_York\nstart = 2026-03-08\n");
        Occurrence *o = NULL;
        assert_int_equal(schedule_occurrences(b.s, Y2026, utc(2026, 3, 9, 0, 0), NULL, false, &o), 1);
        assert_instant(o[0].start, utc(2026, 3, 8, 6, 0));
        assert_instant(o[0].end, utc(2026, 3, 8, 8, 0));
        free(o);
        built_free(&b);
}

static void test_fractional_offsets(void **state)
{
        (void)state;
        Built b = build("day = wednesday\ntime = 10:00\ntimezone = Asia/Kolkata\nstart = 2026-01-07\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 1, 15, 0, 0), 3600, utc(2026, 1, 7, 4, 30), utc(2026, 1, 14, 4, 30));
        EXPECT_STARTS(&b, utc(2026, 7, 1, 0, 0), utc(2026, 7, 9, 0, 0), 3600, utc(2026, 7, 1, 4, 30),
                      utc(2026, 7, 8, 4, 30));
        built_free(&b);

        b = build("day = wednesday\ntime = 10:00\ntimezone = Asia/Kathmandu\nstart = 2026-01-07\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 1, 15, 0, 0), 3600, utc(2026, 1, 7, 4, 15), utc(2026, 1, 14, 4, 15));
        built_free(&b);

        /* just after midnight in Kathmandu is the previous day in UTC */
        b = build("day = wednesday\ntime = 00:10\ntimezone = Asia/Kathmandu\nstart = 2026-01-07\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 1, 15, 0, 0), 3600, utc(2026, 1, 6, 18, 25), utc(2026, 1, 13, 18, 25));
        built_free(&b);
}

/* Occurrences of several meetings come in time order, and a department
 * sees only its own meetings. */
static void test_occurrences_merged_and_filtered(void **state)
{
        (void)state;
        static const char text[] =
                "[department:a]\n[department:b]\n[department:c]\n"
                "[meeting:late]\ntitle = Late\ndepartments = a, b\nday = monday\ntime = 15:00\nstart = 2026-01-05\n"
                "[meeting:early]\ntitle = Early\ndepartments = b, c\nday = monday\ntime = 09:00\nstart = 2026-01-05\n"
                "[meeting:same]\ntitle = Same\ndepartments = a, c\nday = monday\ntime = 09:00\nstart = 2026-01-05\n";
        Built b = build_text(text);
        assert_int_equal(b.r, 0);
        const Config *c = b.l.config;
        Occurrence *occ = NULL;
        size_t n = schedule_occurrences(b.s, utc(2026, 1, 5, 0, 0), utc(2026, 1, 6, 0, 0), NULL, false, &occ);
        assert_int_equal(n, 3);
        assert_string_equal(occ[0].meeting->id, "early"); /* ties in config order */
        assert_string_equal(occ[1].meeting->id, "same");
        assert_string_equal(occ[2].meeting->id, "late");
        free(occ);

        n = schedule_occurrences(b.s, utc(2026, 1, 5, 0, 0), utc(2026, 1, 13, 0, 0), config_department(c, "a"), false, &occ);
        assert_int_equal(n, 4);
        for (size_t i = 0; i < n; i++)
                assert_true(meeting_has_department(occ[i].meeting, config_department(c, "a")));
        assert_string_equal(occ[0].meeting->id, "same");
        assert_string_equal(occ[1].meeting->id, "late");
        free(occ);
        built_free(&b);
}

/* ------------------------------------------------------------------ */
/* tz.c                                                                */

static void test_tz_wall_to_instant(void **state)
{
        (void)state;
        static const struct {
                const char *zone;
                Wall wall;
                int y, mo, d, h, mi; /* the UTC instant */
        } cases[] = {
                /* gaps: moved forward by the gap */
                {"America/New_York", {{2026, 3, 8}, 2, 30, 0}, 2026, 3, 8, 7, 30},
                {"America/New_York", {{2026, 3, 8}, 2, 0, 0}, 2026, 3, 8, 7, 0},
                {"America/New_York", {{2026, 3, 8}, 3, 0, 0}, 2026, 3, 8, 7, 0},
                {"Europe/Berlin", {{2026, 3, 29}, 2, 30, 0}, 2026, 3, 29, 1, 30},
                {"Australia/Sydney", {{2026, 10, 4}, 2, 30, 0}, 2026, 10, 3, 16, 30},
                {"Australia/Lord_Howe", {{2026, 10, 4}, 2, 15, 0}, 2026, 10, 3, 15, 45},
                /* overlaps: the first */
                {"America/New_York", {{2026, 11, 1}, 1, 30, 0}, 2026, 11, 1, 5, 30},
                {"America/New_York", {{2026, 11, 1}, 1, 0, 0}, 2026, 11, 1, 5, 0},
                {"America/New_York", {{2026, 11, 1}, 2, 0, 0}, 2026, 11, 1, 7, 0},
                {"Europe/Berlin", {{2026, 10, 25}, 2, 30, 0}, 2026, 10, 25, 0, 30},
                {"Australia/Sydney", {{2026, 4, 5}, 2, 30, 0}, 2026, 4, 4, 15, 30},
                {"Australia/Lord_Howe", {{2026, 4, 5}, 1, 45, 0}, 2026, 4, 4, 14, 45},
                /* ordinary times */
                {"America/New_York", {{2026, 1, 15}, 10, 0, 0}, 2026, 1, 15, 15, 0},
                {"America/New_York", {{2026, 7, 15}, 10, 0, 0}, 2026, 7, 15, 14, 0},
                {"Asia/Kolkata", {{2026, 1, 15}, 10, 0, 0}, 2026, 1, 15, 4, 30},
                {"Asia/Kathmandu", {{2026, 1, 15}, 10, 0, 0}, 2026, 1, 15, 4, 15},
                {"America/St_Johns", {{2026, 1, 15}, 10, 0, 0}, 2026, 1, 15, 13, 30},
                {"Australia/Lord_Howe", {{2026, 1, 15}, 10, 0, 0}, 2026, 1, 14, 23, 0},
                {"Australia/Lord_Howe", {{2026, 7, 15}, 10, 0, 0}, 2026, 7, 14, 23, 30},
                {"UTC", {{2026, 3, 8}, 2, 30, 0}, 2026, 3, 8, 2, 30},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                icaltimezone *z = tz_lookup(cases[i].zone);
                assert_non_null(z);
                int64_t got = tz_wall_to_instant(z, cases[i].wall);
                int64_t want = utc(cases[i].y, cases[i].mo, cases[i].d, cases[i].h, cases[i].mi);
                if (got != want) {
                        char g[32], w[32];
                        fmt_utc(got, g);
                        fmt_utc(want, w);
                        fail_msg("%s %04d-%02d-%02d %02d:%02d: got %s, want %s", cases[i].zone, cases[i].wall.date.year,
                                 cases[i].wall.date.month, cases[i].wall.date.day, cases[i].wall.hour,
                                 cases[i].wall.minute, g, w);
                }
        }
}

static void test_tz_instant_to_wall_and_abbrev(void **state)
{
        (void)state;
        static const struct {
                const char *zone;
                int y, mo, d, h, mi; /* UTC */
                Wall wall;
                int offset;
                const char *abbrev;
        } cases[] = {
                {"America/New_York", 2026, 3, 8, 6, 59, {{2026, 3, 8}, 1, 59, 0}, -5 * 3600, "EST"},
                {"America/New_York", 2026, 3, 8, 7, 30, {{2026, 3, 8}, 3, 30, 0}, -4 * 3600, "EDT"},
                {"America/New_York", 2026, 11, 1, 5, 30, {{2026, 11, 1}, 1, 30, 0}, -4 * 3600, "EDT"},
                {"America/New_York", 2026, 11, 1, 6, 30, {{2026, 11, 1}, 1, 30, 0}, -5 * 3600, "EST"},
                {"Europe/Berlin", 2026, 3, 29, 0, 59, {{2026, 3, 29}, 1, 59, 0}, 3600, "CET"},
                {"Europe/Berlin", 2026, 3, 29, 1, 30, {{2026, 3, 29}, 3, 30, 0}, 7200, "CEST"},
                {"Australia/Sydney", 2026, 10, 3, 16, 30, {{2026, 10, 4}, 3, 30, 0}, 11 * 3600, "AEDT"},
                {"Australia/Sydney", 2026, 4, 4, 15, 30, {{2026, 4, 5}, 2, 30, 0}, 11 * 3600, "AEDT"},
                {"Australia/Sydney", 2026, 4, 4, 16, 30, {{2026, 4, 5}, 2, 30, 0}, 10 * 3600, "AEST"},
                {"Australia/Lord_Howe", 2026, 1, 14, 23, 0, {{2026, 1, 15}, 10, 0, 0}, 11 * 3600, "+11"},
                {"Australia/Lord_Howe", 2026, 7, 14, 23, 30, {{2026, 7, 15}, 10, 0, 0}, 37800, "+1030"},
                {"Asia/Kolkata", 2026, 1, 15, 4, 30, {{2026, 1, 15}, 10, 0, 0}, 19800, "IST"},
                {"Asia/Kathmandu", 2026, 1, 15, 4, 15, {{2026, 1, 15}, 10, 0, 0}, 20700, "+0545"},
                {"UTC", 2026, 1, 15, 4, 15, {{2026, 1, 15}, 4, 15, 0}, 0, "UTC"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                icaltimezone *z = tz_lookup(cases[i].zone);
                int64_t t = utc(cases[i].y, cases[i].mo, cases[i].d, cases[i].h, cases[i].mi);
                Wall w = tz_instant_to_wall(z, t);
                if (wall_to_seconds(w) != wall_to_seconds(cases[i].wall))
                        fail_msg("%s case %zu: wall %04d-%02d-%02d %02d:%02d", cases[i].zone, i, w.date.year,
                                 w.date.month, w.date.day, w.hour, w.minute);
                assert_int_equal(tz_offset_at(z, t), cases[i].offset);
                const char *a = tz_abbrev(z, t);
                if (!a || strcmp(a, cases[i].abbrev) != 0)
                        fail_msg("%s case %zu: abbreviation \"%s\", want \"%s\"", cases[i].zone, i, a ? a : "(null)",
                                 cases[i].abbrev);
        }
}

/* tz_offset_at agrees with the C library's reading of the same tzdata,
 * every 20 minutes of 2026, and wall times convert back to the instant
 * (the first of two where a wall time is ambiguous). */
static void test_tz_against_libc(void **state)
{
        (void)state;
        static const char *const zones[] = {"America/New_York", "Europe/Berlin", "Australia/Sydney", "Australia/Lord_Howe",
                                            "Asia/Kolkata",     "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham",
                                            "America/Santiago", "Europe/London"};
        char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
        for (size_t k = 0; k < ELEMENTSOF(zones); k++) {
                icaltimezone *z = tz_lookup(zones[k]);
                assert_non_null(z);
                char tzenv[64];
                snprintf(tzenv, sizeof tzenv, ":%s", zones[k]);
                setenv("TZ", tzenv, 1);
                tzset();
                for (int64_t t = Y2026; t < Y2027; t += 1200) {
                        time_t tt = (time_t)t;
                        struct tm tm;
                        localtime_r(&tt, &tm);
                        int off = tz_offset_at(z, t);
                        if (off != tm.tm_gmtoff) {
                                char b[32];
                                fmt_utc(t, b);
                                fail_msg("%s at %s: offset %d, libc says %ld", zones[k], b, off, tm.tm_gmtoff);
                        }
                        Wall w = tz_instant_to_wall(z, t);
                        assert_int_equal(w.date.year, tm.tm_year + 1900);
                        assert_int_equal(w.date.month, tm.tm_mon + 1);
                        assert_int_equal(w.date.day, tm.tm_mday);
                        assert_int_equal(w.hour, tm.tm_hour);
                        assert_int_equal(w.minute, tm.tm_min);
                        int64_t back = tz_wall_to_instant(z, w);
                        if (back != t && !(back < t && wall_to_seconds(tz_instant_to_wall(z, back)) == wall_to_seconds(w))) {
                                char b[32];
                                fmt_utc(t, b);
                                fail_msg("%s at %s: wall time does not convert back", zones[k], b);
                        }
                }
        }
        if (old)
                setenv("TZ", old, 1);
        else
                unsetenv("TZ");
        tzset();
        free(old);
}

static void test_tz_lookup(void **state)
{
        (void)state;
        icaltimezone *u = tz_lookup("UTC");
        assert_non_null(u);
        assert_ptr_equal(u, icaltimezone_get_utc_timezone());
        assert_string_equal(tz_name(u), "UTC");
        icaltimezone *b = tz_lookup("Europe/Berlin");
        assert_non_null(b);
        assert_string_equal(tz_name(b), "Europe/Berlin");
        assert_ptr_equal(tz_lookup("Europe/Berlin"), b);
        assert_null(tz_lookup("Europe/Berln"));
        assert_null(tz_lookup("Mars/Olympus"));
        assert_null(tz_lookup(""));
        /* libical would load these files; they are no names */
        static const char *const paths[] = {"Europe/../Europe/Berlin", "./UTC", "Europe//Berlin", "localtime",
                                            "posixrules", "right/UTC", "posix/UTC", "../zoneinfo/UTC",
                                            "/usr/share/zoneinfo/UTC", "Europe/Berlin/", "Factory"};
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (tz_lookup(paths[i]))
                        fail_msg("tz_lookup(\"%s\") found a zone", paths[i]);
        /* a link is a name, and keeps it */
        icaltimezone *calcutta = tz_lookup("Asia/Calcutta");
        assert_non_null(calcutta);
        assert_string_equal(tz_name(calcutta), "Asia/Calcutta");
        assert_int_equal(tz_offset_at(calcutta, utc(2026, 1, 1, 0, 0)), 5 * 3600 + 1800);

        const char *const *names = tz_all_names();
        bool utc_seen = false, berlin_seen = false, kathmandu_seen = false;
        size_t n = 0;
        for (; names[n]; n++) {
                utc_seen |= streq(names[n], "UTC");
                berlin_seen |= streq(names[n], "Europe/Berlin");
                kathmandu_seen |= streq(names[n], "Asia/Kathmandu");
        }
        assert_true(utc_seen && berlin_seen && kathmandu_seen);
        assert_true(n > 300);
}

static void test_tz_rfc3339(void **state)
{
        (void)state;
        char buf[32];
        tz_format_rfc3339(tz_lookup("America/New_York"), utc(2026, 3, 8, 7, 30), buf);
        assert_string_equal(buf, "2026-03-08T03:30:00-04:00");
        tz_format_rfc3339(tz_lookup("America/New_York"), utc(2026, 3, 8, 6, 30), buf);
        assert_string_equal(buf, "2026-03-08T01:30:00-05:00");
        tz_format_rfc3339(tz_lookup("UTC"), utc(2026, 3, 8, 7, 30), buf);
        assert_string_equal(buf, "2026-03-08T07:30:00Z");
        tz_format_rfc3339(tz_lookup("Asia/Kathmandu"), utc(2026, 1, 6, 18, 25), buf);
        assert_string_equal(buf, "2026-01-07T00:10:00+05:45");
        tz_format_rfc3339(tz_lookup("America/St_Johns"), utc(2026, 1, 15, 13, 30), buf);
        assert_string_equal(buf, "2026-01-15T10:00:00-03:30");
        tz_format_rfc3339(tz_lookup("Australia/Lord_Howe"), utc(2026, 7, 14, 23, 30), buf);
        assert_string_equal(buf, "2026-07-15T10:00:00+10:30");

        static const struct {
                const char *s;
                int y, mo, d, h, mi, sec;
        } good[] = {
                {"2026-03-08T03:30:00-04:00", 2026, 3, 8, 7, 30, 0},
                {"2026-03-08T07:30:00Z", 2026, 3, 8, 7, 30, 0},
                {"2026-03-08t07:30:00z", 2026, 3, 8, 7, 30, 0},
                {"2026-03-08 07:30:00Z", 2026, 3, 8, 7, 30, 0},
                {"2026-03-08T07:30:15.250Z", 2026, 3, 8, 7, 30, 15},
                {"2026-01-07T00:10:00+05:45", 2026, 1, 6, 18, 25, 0},
                {"2026-01-15T10:00:00-03:30", 2026, 1, 15, 13, 30, 0},
                {"2026-01-01T00:30:00+01:00", 2025, 12, 31, 23, 30, 0},
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                int64_t t = 0;
                if (tz_parse_rfc3339(good[i].s, &t) != 0)
                        fail_msg("tz_parse_rfc3339(\"%s\") rejected", good[i].s);
                assert_instant(t, utc(good[i].y, good[i].mo, good[i].d, good[i].h, good[i].mi) + good[i].sec);
        }
        const char *bad[] = {
                "", "2026-03-08", "2026-03-08T07:30:00", "2026-03-08T07:30Z", "2026-02-30T00:00:00Z",
                "2026-03-08T24:00:00Z", "2026-03-08T07:60:00Z", "2026-03-08T07:30:00+0400", "2026-03-08T07:30:00+25:00",
                "2026-03-08T07:30:00 Z", "2026-03-08T07:30:00Zjunk", "next tuesday", "2026-03-08X07:30:00Z",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int64_t t = 42;
                if (tz_parse_rfc3339(bad[i], &t) >= 0)
                        fail_msg("tz_parse_rfc3339(\"%s\") accepted", bad[i]);
                assert_int_equal(t, 42);
        }

        /* format and parse are inverses */
        static const char *const zones[] = {"UTC", "America/New_York", "Asia/Kathmandu", "America/St_Johns", "Australia/Lord_Howe"};
        for (size_t k = 0; k < ELEMENTSOF(zones); k++)
                for (int64_t t = Y2026; t < Y2027; t += 86400 * 7 + 3599) {
                        int64_t back = 0;
                        tz_format_rfc3339(tz_lookup(zones[k]), t, buf);
                        assert_int_equal(tz_parse_rfc3339(buf, &back), 0);
                        assert_instant(back, t);
                }
}

/* The offsets a client computes from our VTIMEZONE, by libical itself. */
static int vtz_offset(icalcomponent *vtz, int64_t t)
{
        icaltimezone *z = icaltimezone_new();
        assert_true(icaltimezone_set_component(z, icalcomponent_new_clone(vtz)));
        struct icaltimetype tt = wall_to_ical(wall_from_seconds(t));
        tt.zone = icaltimezone_get_utc_timezone();
        int dst = 0;
        int off = icaltimezone_get_utc_offset_of_utc_time(z, &tt, &dst);
        icaltimezone_free(z, 1);
        return off;
}

static void check_vtimezone(const char *zone, int64_t from, size_t min_observances)
{
        icaltimezone *z = tz_lookup(zone);
        icalcomponent *vtz = tz_vtimezone(z, from);
        assert_non_null(vtz);
        assert_int_equal(icalcomponent_isa(vtz), ICAL_VTIMEZONE_COMPONENT);
        icalproperty *tzid = icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY);
        assert_non_null(tzid);
        assert_string_equal(icalproperty_get_tzid(tzid), zone);

        const char *text = icalcomponent_as_ical_string(vtz);
        if (strstr(text, "LMT") || strstr(text, "freeassociation"))
                fail_msg("%s: VTIMEZONE still has LMT or a prefixed TZID:\n%s", zone, text);

        /* every observance: whole-minute offsets, and none that ended
         * before the one in effect at `from` began */
        size_t n = 0;
        for (icalcomponent *c = icalcomponent_get_first_component(vtz, ICAL_ANY_COMPONENT); c;
             c = icalcomponent_get_next_component(vtz, ICAL_ANY_COMPONENT)) {
                icalcomponent_kind k = icalcomponent_isa(c);
                if (k != ICAL_XSTANDARD_COMPONENT && k != ICAL_XDAYLIGHT_COMPONENT)
                        continue;
                n++;
                int from_off = icalproperty_get_tzoffsetfrom(icalcomponent_get_first_property(c, ICAL_TZOFFSETFROM_PROPERTY));
                int to_off = icalproperty_get_tzoffsetto(icalcomponent_get_first_property(c, ICAL_TZOFFSETTO_PROPERTY));
                if (from_off % 60 || to_off % 60)
                        fail_msg("%s: observance with seconds in its offset:\n%s", zone, text);
        }
        if (n < min_observances)
                fail_msg("%s: %zu observances, want at least %zu:\n%s", zone, n, min_observances, text);

        /* a client reading it gets the right offsets, from `from` on */
        for (int64_t t = from; t < from + 5 * 366 * 86400LL; t += 86400 * 3 + 3600)
                if (vtz_offset(vtz, t) != tz_offset_at(z, t)) {
                        char b[32];
                        fmt_utc(t, b);
                        fail_msg("%s at %s: VTIMEZONE gives %d, want %d:\n%s", zone, b, vtz_offset(vtz, t),
                                 tz_offset_at(z, t), text);
                }
}

static void test_tz_vtimezone(void **state)
{
        (void)state;
        icalcomponent *vtz = tz_vtimezone(tz_lookup("America/New_York"), Y2026);
        const char *text = icalcomponent_as_ical_string(vtz);
        /* no 1883 local mean time */
        if (strstr(text, "-045602") || strstr(text, "1883"))
                fail_msg("America/New_York VTIMEZONE keeps 1883 LMT:\n%s", text);
        assert_non_null(strstr(text, "TZID:America/New_York\r\n"));
        assert_non_null(strstr(text, "BEGIN:DAYLIGHT"));
        assert_non_null(strstr(text, "BEGIN:STANDARD"));
        /* built once per span between two onsets, and shared (a feed per
         * department asks for the same ones) */
        assert_ptr_equal(tz_vtimezone(tz_lookup("America/New_York"), Y2026 + 86400), vtz);
        assert_ptr_not_equal(tz_vtimezone(tz_lookup("America/New_York"), utc(2026, 7, 1, 0, 0)), vtz);
        assert_ptr_equal(tz_vtimezone(tz_lookup("America/New_York"), utc(2026, 7, 1, 0, 0)),
                         tz_vtimezone(tz_lookup("America/New_York"), utc(2026, 10, 1, 0, 0)));

        check_vtimezone("America/New_York", Y2026, 2);
        check_vtimezone("Europe/Berlin", Y2026, 2);
        check_vtimezone("Australia/Sydney", Y2026, 2);
        check_vtimezone("Australia/Lord_Howe", Y2026, 2);
        check_vtimezone("Asia/Kolkata", Y2026, 1);
        check_vtimezone("Asia/Kathmandu", Y2026, 1);
        /* mid-summer start: the observance in effect is daylight time */
        check_vtimezone("America/New_York", utc(2026, 7, 1, 0, 0), 2);

        assert_null(tz_vtimezone(tz_lookup("UTC"), Y2026));
}

/* ------------------------------------------------------------------ */
/* Occurrences at DST edges, published apart (README "The feeds")      */

static icalproperty *prop(icalcomponent *ev, icalproperty_kind kind)
{
        icalproperty *p = icalcomponent_get_first_property(ev, kind);
        if (!p)
                fail_msg("no %s", icalproperty_kind_to_string(kind));
        return p;
}

/* The n-th EXDATE of the meeting's VEVENT as wall time and TZID. */
static Wall exdate_of(const Built *b, int n, const char **tzid)
{
        icalproperty *p = icalcomponent_get_first_property(schedule_event(b->s, 0), ICAL_EXDATE_PROPERTY);
        for (; p && n > 0; n--)
                p = icalcomponent_get_next_property(schedule_event(b->s, 0), ICAL_EXDATE_PROPERTY);
        assert_non_null(p);
        icalparameter *t = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
        *tzid = t ? icalparameter_get_tzid(t) : NULL;
        return wall_from_ical(icalproperty_get_exdate(p));
}

static void test_edge_published_apart(void **state)
{
        (void)state;
        /* 02:30 Berlin does not exist on 2027-03-28: the rule keeps its
         * DTSTART, leaves that day out by EXDATE (TZID form, as DTSTART),
         * and the occurrence is a VEVENT of its own in UTC. The
         * occurrences are RFC 5545's all the same. */
        Built b = build_at("day = sunday\ntime = 02:30\ntimezone = Europe/Berlin\nstart = 2027-03-01\nend = 2027-04-30\n",
                           Y2027);
        EXPECT_STARTS(&b, Y2027, utc(2027, 4, 5, 0, 0), 3600, utc(2027, 3, 7, 1, 30), utc(2027, 3, 14, 1, 30),
                      utc(2027, 3, 21, 1, 30), utc(2027, 3, 28, 1, 30), utc(2027, 4, 4, 0, 30));
        assert_wall(dtstart_of(&b, 0, NULL), 2027, 3, 7, 2, 30);
        assert_int_equal(count_props(schedule_event(b.s, 0), ICAL_EXDATE_PROPERTY), 1);
        const char *tzid;
        assert_wall(exdate_of(&b, 0, &tzid), 2027, 3, 28, 2, 30);
        assert_string_equal(tzid, "Europe/Berlin");

        assert_int_equal(b.s->n_exceptions[0], 1);
        icalcomponent *x = b.s->exceptions[0][0];
        assert_string_equal(icalproperty_get_uid(prop(x, ICAL_UID_PROPERTY)), "m.20270328@tandem.invalid");
        assert_string_equal(icalproperty_get_summary(prop(x, ICAL_SUMMARY_PROPERTY)), "M");
        struct icaltimetype t = icalproperty_get_dtstart(prop(x, ICAL_DTSTART_PROPERTY));
        assert_true(icaltime_is_utc(t));
        assert_wall(wall_from_ical(t), 2027, 3, 28, 1, 30);
        assert_wall(wall_from_ical(icalproperty_get_dtend(prop(x, ICAL_DTEND_PROPERTY))), 2027, 3, 28, 2, 30);
        assert_null(icalcomponent_get_first_property(x, ICAL_RRULE_PROPERTY));
        assert_null(icalproperty_get_first_parameter(prop(x, ICAL_DTSTART_PROPERTY), ICAL_TZID_PARAMETER));

        /* the next occurrence, from just before it */
        Occurrence next;
        assert_true(schedule_next(b.s, &b.l.config->meetings[0], utc(2027, 3, 22, 0, 0), &next));
        assert_instant(next.start, utc(2027, 3, 28, 1, 30));
        assert_instant(next.end, utc(2027, 3, 28, 2, 30));
        assert_true(schedule_next(b.s, &b.l.config->meetings[0], utc(2027, 3, 28, 1, 31), &next));
        assert_instant(next.start, utc(2027, 4, 4, 0, 30));
        built_free(&b);
}

static void test_edge_kinds(void **state)
{
        (void)state;
        /* A doubled time (the first), an occurrence running over the change
         * (Saturday 23:00 for 5 hours) and one hours after it (05:00 New
         * York, which rrule.js misplaces): each published apart. */
        Built b = build("day = sunday\ntime = 01:30\ntimezone = America/New_York\nstart = 2026-10-25\nend = 2026-11-08\n");
        assert_int_equal(b.s->n_exceptions[0], 1);
        assert_instant(schedule_first_start(b.s->exceptions[0][0]), utc(2026, 11, 1, 5, 30));
        built_free(&b);

        b = build_at("day = saturday\ntime = 23:00\nduration = 5h\ntimezone = Europe/Berlin\nstart = 2027-03-20\n"
                     "end = 2027-04-03\n", Y2027);
        EXPECT_STARTS(&b, Y2027, utc(2027, 5, 1, 0, 0), 5 * 3600, utc(2027, 3, 20, 22, 0), utc(2027, 3, 27, 22, 0),
                      utc(2027, 4, 3, 21, 0));
        assert_int_equal(b.s->n_exceptions[0], 1);
        assert_instant(schedule_first_start(b.s->exceptions[0][0]), utc(2027, 3, 27, 22, 0));
        built_free(&b);

        b = build("day = sunday\ntime = 05:00\ntimezone = America/New_York\nstart = 2026-03-01\nend = 2026-03-15\n");
        assert_int_equal(b.s->n_exceptions[0], 1);
        assert_instant(schedule_first_start(b.s->exceptions[0][0]), utc(2026, 3, 8, 9, 0));
        built_free(&b);

        /* ... but not a meeting days away from any change, nor one in UTC */
        b = build("day = tuesday\ntime = 02:30\ntimezone = Europe/Berlin\nstart = 2026-01-01\n");
        assert_int_equal(b.s->n_exceptions[0], 0);
        assert_int_equal(count_props(schedule_event(b.s, 0), ICAL_EXDATE_PROPERTY), 0);
        assert_int_equal(b.diags.n_warnings, 0);
        built_free(&b);
        b = build("day = sunday\ntime = 02:30\nstart = 2026-01-01\n");
        assert_int_equal(b.s->n_exceptions[0], 0);
        built_free(&b);
}

static void test_edge_horizon(void **state)
{
        (void)state;
        /* Occurrences at edges are published apart from the meeting's start
         * up to now + feed_horizon; beyond it, the rule alone says them
         * (right for RFC 5545 readers, and for tandem). */
        const char *text = "[tandem]\nfeed_horizon = 30d\n" HEAD
                           "day = sunday\ntime = 02:30\ntimezone = America/New_York\nstart = 2026-03-01\n";
        Built b = build_text(text);
        assert_int_equal(b.r, 0);
        assert_int_equal(b.s->n_exceptions[0], 0);
        EXPECT_STARTS(&b, utc(2026, 3, 2, 0, 0), utc(2026, 3, 9, 0, 0), 3600, utc(2026, 3, 8, 7, 30));
        built_free(&b);

        /* Later, the exception stays (so the feed changes only when one
         * comes within the horizon); the next, in November, is not yet in. */
        b = build_text_at(text, utc(2026, 6, 1, 0, 0));
        assert_int_equal(b.r, 0);
        assert_int_equal(b.s->n_exceptions[0], 1);
        assert_instant(schedule_first_start(b.s->exceptions[0][0]), utc(2026, 3, 8, 7, 30));
        built_free(&b);
        b = build_text_at(text, utc(2026, 10, 15, 0, 0));
        assert_int_equal(b.s->n_exceptions[0], 2);
        assert_instant(schedule_first_start(b.s->exceptions[0][1]), utc(2026, 11, 1, 7, 30));
        built_free(&b);
}

static void test_edge_dtstart_count(void **state)
{
        (void)state;
        /* COUNT=3 from a DTSTART in the gap: the rule starts a week later
         * with COUNT=2, and the first is published apart. */
        Built b = build("cadence = rrule:FREQ=WEEKLY;BYDAY=SU;COUNT=3\ntime = 02:30\ntimezone = America/New_York\n"
                        "start = 2026-03-08\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 3, 8, 7, 30), utc(2026, 3, 15, 6, 30), utc(2026, 3, 22, 6, 30));
        assert_wall(dtstart_of(&b, 0, NULL), 2026, 3, 15, 2, 30);
        struct icalrecurrencetype r = icalproperty_get_rrule(prop(schedule_event(b.s, 0), ICAL_RRULE_PROPERTY));
        assert_int_equal(r.count, 2);
        assert_int_equal(b.s->n_exceptions[0], 1);
        built_free(&b);

        /* Every occurrence in a gap: DTSTART cannot move, and stays the
         * rule's; the later ones are published apart, once each, up to the
         * horizon (2028-02-05: 2028-03-26 is the rule's). */
        b = build_at("cadence = rrule:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\ntime = 02:30\ntimezone = Europe/Berlin\n"
                     "start = 2026-01-01\n", Y2027);
        EXPECT_STARTS(&b, Y2026, utc(2029, 1, 1, 0, 0), 3600, utc(2026, 3, 29, 1, 30), utc(2027, 3, 28, 1, 30),
                      utc(2028, 3, 26, 1, 30));
        assert_wall(dtstart_of(&b, 0, NULL), 2026, 3, 29, 2, 30);
        assert_int_equal(b.s->n_exceptions[0], 1);
        assert_instant(schedule_first_start(b.s->exceptions[0][0]), utc(2027, 3, 28, 1, 30));
        built_free(&b);
}

static void test_edge_warnings(void **state)
{
        (void)state;
        const char *gap = HEAD "day = sunday\ntime = 02:30\ntimezone = Europe/Berlin\nstart = 2026-06-01\n";
        Built b = build_text(gap);
        assert_int_equal(b.r, 0);
        /* once per meeting, at its first such date from now on */
        assert_int_equal(b.diags.n_warnings, 1);
        expect_diag(&b.diags, b.l.path, line_of(gap, "time ="),
                    "warning: [meeting:m] time: 02:30 Europe/Berlin happens twice on 2026-10-25");
        built_free(&b);

        /* from now on: after the fold of 2026-10-25, the gap of 2027-03-28 */
        b = build_text_at(gap, utc(2026, 11, 1, 0, 0));
        expect_diag(&b.diags, b.l.path, line_of(gap, "time ="),
                    "02:30 Europe/Berlin does not exist on 2027-03-28 (the clocks go forward); the meeting will "
                    "be at 03:30 that day", "calendar apps disagree on such times", "consider a time outside 02:00-03:00");
        built_free(&b);

        const char *fold = HEAD "day = sunday\ntime = 01:30\ntimezone = America/New_York\nstart = 2026-01-01\n"
                                "skip = 2026-03-08\n";
        b = build_text(fold);
        expect_diag(&b.diags, b.l.path, line_of(fold, "time ="),
                    "01:30 America/New_York happens twice on 2026-11-01 (the clocks go back); the meeting will be "
                    "at the first of the two", "01:00-02:00");
        assert_int_equal(b.diags.n_warnings, 1);
        built_free(&b);

        /* a skipped gap date is no meeting to warn about */
        const char *skipped = HEAD "cadence = monthly\nday = last sunday\ntime = 02:30\ntimezone = Europe/Berlin\n"
                                   "start = 2027-03-01\nend = 2027-04-30\nskip = 2027-03-28\n";
        b = build_text(skipped);
        assert_int_equal(b.r, 0);
        assert_int_equal(b.diags.n_warnings, 0);
        built_free(&b);
}

static void test_misread_rule_warnings(void **state)
{
        (void)state;
        const char *weekno = HEAD "cadence = rrule:FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO\ntime = 10:00\nstart = 2026-01-01\n";
        Built b = build_text(weekno);
        assert_int_equal(b.r, 0);
        expect_diag(&b.diags, b.l.path, line_of(weekno, "cadence ="), "warning: [meeting:m] cadence: BYWEEKNO",
                    "Thunderbird", "sabre/vobject");
        built_free(&b);
        const char *setpos = HEAD "cadence = rrule:FREQ=YEARLY;BYMONTH=1,7;BYDAY=MO;BYSETPOS=2\ntime = 10:00\n"
                                  "start = 2026-01-01\n";
        b = build_text(setpos);
        expect_diag(&b.diags, b.l.path, line_of(setpos, "cadence ="), "BYSETPOS with FREQ=YEARLY and BYMONTH",
                    "Thunderbird");
        built_free(&b);
}

static void test_until_late_east(void **state)
{
        (void)state;
        /* UNTIL is the end of the last day; for a meeting late in the day
         * east of Greenwich it is the meeting's local time read as UTC, so
         * that rrule.js (which compares UNTIL with that) keeps the last one. */
        Built b = build("cadence = rrule:FREQ=DAILY\ntime = 23:00\ntimezone = Australia/Sydney\nstart = 2027-12-01\n"
                        "end = 2027-12-31\n");
        struct icalrecurrencetype r = icalproperty_get_rrule(prop(schedule_event(b.s, 0), ICAL_RRULE_PROPERTY));
        assert_wall(wall_from_ical(r.until), 2027, 12, 31, 23, 0);
        EXPECT_STARTS(&b, utc(2027, 12, 30, 0, 0), utc(2028, 1, 3, 0, 0), 3600, utc(2027, 12, 30, 12, 0),
                      utc(2027, 12, 31, 12, 0));
        built_free(&b);
        b = build("cadence = rrule:FREQ=DAILY\ntime = 10:00\ntimezone = Europe/Berlin\nstart = 2027-12-01\n"
                  "end = 2027-12-31\n");
        r = icalproperty_get_rrule(prop(schedule_event(b.s, 0), ICAL_RRULE_PROPERTY));
        assert_true(r.until.hour == 22 && r.until.minute == 59 && r.until.second == 59);
        built_free(&b);
}

static void test_feed_horizon_key(void **state)
{
        (void)state;
        Loaded l = load_text(HEAD "day = monday\ntime = 10:00\nstart = 2026-01-01\n");
        assert_int_equal(l.r, 0);
        assert_int_equal(l.config->feed_horizon, 400 * 86400);
        loaded_free(&l);
        l = load_text("[tandem]\nfeed_horizon = 30d\n" HEAD "day = monday\ntime = 10:00\nstart = 2026-01-01\n");
        assert_int_equal(l.config->feed_horizon, 30 * 86400);
        loaded_free(&l);
        const char *bad[] = {"5h", "0d", "3661d", "1d2h", "soon"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *text = NULL;
                assert_true(asprintf(&text, "[tandem]\nfeed_horizon = %s\n" HEAD "day = monday\ntime = 10:00\nstart = 2026-01-01\n",
                                     bad[i]) > 0);
                l = load_text(text);
                assert_int_equal(l.r, -EINVAL);
                expect_diag(&l.diags, l.path, 2, "feed_horizon", "expected a number of days from 1d to 3660d");
                loaded_free(&l);
                free(text);
        }
}

/* Skips and moves by hand (README "Holidays and changes"): an EXDATE and
 * an override VEVENT are published; the occurrences read back from them
 * are where the meeting takes place, each with its RECURRENCE-ID, status
 * and reason. */
static void test_skip_and_move(void **state)
{
        (void)state;
        Built b = build("day = tuesday\ntime = 10:00\nstart = 2026-01-06\n"
                        "skip = 2026-01-13 (offsite)\nmove = 2026-01-20 -> 2026-01-21 14:30 (trade fair)\n");
        EXPECT_STARTS(&b, Y2026, utc(2026, 1, 28, 0, 0), 3600, utc(2026, 1, 6, 10, 0), utc(2026, 1, 21, 14, 30),
                      utc(2026, 1, 27, 10, 0));
        Occurrence *occ = NULL;
        size_t n = schedule_occurrences(b.s, Y2026, utc(2026, 1, 28, 0, 0), NULL, true, &occ);
        assert_int_equal(n, 4);
        assert_int_equal(occ[1].status, OCCURRENCE_CANCELLED);
        assert_int_equal(occ[1].start, utc(2026, 1, 13, 10, 0));
        assert_string_equal(occ[1].reason, "offsite");
        assert_int_equal(occ[2].status, OCCURRENCE_MOVED);
        assert_int_equal(occ[2].rid, utc(2026, 1, 20, 10, 0));
        assert_string_equal(occ[2].reason, "trade fair");
        free(occ);
        const Meeting *m = &b.l.config->meetings[0];
        Occurrence o;
        assert_true(schedule_next(b.s, m, utc(2026, 1, 7, 0, 0), &o));
        assert_int_equal(o.start, utc(2026, 1, 21, 14, 30)); /* not the cancelled 13th, nor the 20th */
        assert_true(schedule_occurrence(b.s, m, utc(2026, 1, 20, 10, 0), &o));
        assert_int_equal(o.status, OCCURRENCE_MOVED);
        assert_true(schedule_occurrence(b.s, m, utc(2026, 1, 27, 10, 0), &o));
        assert_int_equal(o.status, OCCURRENCE_HELD);
        assert_false(schedule_occurrence(b.s, m, utc(2026, 1, 28, 10, 0), &o));
        /* notices: when the first (and only) reminder, 15m, would have gone */
        assert_true(schedule_occurrence(b.s, m, utc(2026, 1, 13, 10, 0), &o));
        assert_int_equal(schedule_notice_due(&o), utc(2026, 1, 13, 9, 45));

        /* the override: same UID, RECURRENCE-ID of the original, new times */
        assert_int_equal(b.s->n_exceptions[0], 1);
        char *ov = icalcomponent_as_ical_string_r(b.s->exceptions[0][0]);
        assert_non_null(strstr(ov, "UID:m@tandem.invalid"));
        assert_non_null(strstr(ov, "RECURRENCE-ID:20260120T100000"));
        assert_non_null(strstr(ov, "DTSTART:20260121T143000"));
        assert_non_null(strstr(ov, "DESCRIPTION:Moved: trade fair"));
        free(ov);
        char *ev = icalcomponent_as_ical_string_r(schedule_event(b.s, 0));
        assert_non_null(strstr(ev, "EXDATE:20260113T100000"));
        assert_null(strstr(ev, "EXDATE:20260120"));
        free(ev);
        built_free(&b);
}

/* A bounded meeting whose every occurrence is changed: DTSTART stays on
 * the first, excluded by EXDATE; a moved one is published apart. Nothing
 * held is left in the feed (found by the interop oracle). */
static void test_every_occurrence_changed(void **state)
{
        (void)state;
        Built b = build("day = thursday\ntime = 10:00\nstart = 2026-06-11\nend = 2026-06-18\n"
                        "skip = 2026-06-18\nmove = 2026-06-11 -> 2026-06-10\n");
        EXPECT_STARTS(&b, Y2026, Y2027, 3600, utc(2026, 6, 10, 10, 0));
        char *ev = icalcomponent_as_ical_string_r(schedule_event(b.s, 0));
        assert_non_null(strstr(ev, "DTSTART:20260611T100000"));
        assert_non_null(strstr(ev, "EXDATE:20260611T100000"));
        assert_non_null(strstr(ev, "EXDATE:20260618T100000"));
        free(ev);
        assert_int_equal(b.s->n_exceptions[0], 1);
        char *apart = icalcomponent_as_ical_string_r(b.s->exceptions[0][0]);
        assert_non_null(strstr(apart, "UID:m.20260611@tandem.invalid"));
        assert_null(strstr(apart, "RECURRENCE-ID"));
        free(apart);
        Occurrence *occ = NULL;
        size_t n = schedule_occurrences(b.s, Y2026, Y2027, NULL, true, &occ);
        assert_int_equal(n, 2);
        assert_int_equal(occ[0].status, OCCURRENCE_MOVED);
        assert_int_equal(occ[1].status, OCCURRENCE_CANCELLED);
        free(occ);
        built_free(&b);
}

/* What a change by hand must name: an occurrence, and a free date. */
static void test_bad_changes(void **state)
{
        (void)state;
        static const struct {
                const char *body, *key, *needle;
        } cases[] = {
                {"skip = 2026-01-14\n", "skip =", "the meeting does not take place on 2026-01-14"},
                {"move = 2026-01-15 -> 11:00\n", "move =", "the meeting does not take place on 2026-01-15"},
                {"move = 2026-01-13 -> 2026-01-20\n", "move =",
                 "2026-01-13 -> 2026-01-20: the meeting takes place on 2026-01-20 already"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *text = NULL;
                assert_true(asprintf(&text, HEAD "day = tuesday\ntime = 10:00\nstart = 2026-01-06\n%s", cases[i].body) > 0);
                Built b = build_text(text);
                assert_int_equal(b.r, -EINVAL);
                expect_diag(&b.diags, b.l.path, line_of(text, cases[i].key), "[meeting:m]", cases[i].needle);
                built_free(&b);
                free(text);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_weekly),
                cmocka_unit_test(test_weekly_several_days),
                cmocka_unit_test(test_biweekly),
                cmocka_unit_test(test_weekly_dtstart_is_first),
                cmocka_unit_test(test_same_events),
                cmocka_unit_test(test_every_n_weeks),
                cmocka_unit_test(test_monthly_weekday),
                cmocka_unit_test(test_monthly_day),
                cmocka_unit_test(test_rrule_nonmatching_start),
                cmocka_unit_test(test_rrule_count),
                cmocka_unit_test(test_rrule_errors),
                cmocka_unit_test(test_rrule_until),
                cmocka_unit_test(test_rrule_until_and_end),
                cmocka_unit_test(test_skip_every_occurrence),
                cmocka_unit_test(test_skip),
                cmocka_unit_test(test_skip_not_an_occurrence),
                cmocka_unit_test(test_end_inclusive),
                cmocka_unit_test(test_end_inclusive_in_zones),
                cmocka_unit_test(test_dst_new_york),
                cmocka_unit_test(test_dst_berlin),
                cmocka_unit_test(test_dst_sydney),
                cmocka_unit_test(test_dst_lord_howe),
                cmocka_unit_test(test_dst_duration_from_overlap),
                cmocka_unit_test(test_local_time_kept_across_dst),
                cmocka_unit_test(test_fractional_offsets),
                cmocka_unit_test(test_occurrences_merged_and_filtered),
                cmocka_unit_test(test_tz_wall_to_instant),
                cmocka_unit_test(test_tz_instant_to_wall_and_abbrev),
                cmocka_unit_test(test_tz_against_libc),
                cmocka_unit_test(test_tz_lookup),
                cmocka_unit_test(test_tz_rfc3339),
                cmocka_unit_test(test_tz_vtimezone),
                cmocka_unit_test(test_edge_published_apart),
                cmocka_unit_test(test_edge_kinds),
                cmocka_unit_test(test_edge_horizon),
                cmocka_unit_test(test_edge_dtstart_count),
                cmocka_unit_test(test_edge_warnings),
                cmocka_unit_test(test_misread_rule_warnings),
                cmocka_unit_test(test_until_late_east),
                cmocka_unit_test(test_feed_horizon_key),
                cmocka_unit_test(test_skip_and_move),
                cmocka_unit_test(test_bad_changes),
                cmocka_unit_test(test_every_occurrence_changed),
        };
        return cmocka_run_group_tests_name("schedule", tests, NULL, tmp_cleanup);
}
