/* test_plan.c — the plan's exceptions by table (README "Holidays and
 * changes"): skips and moves by hand with their verdicts, and holidays per
 * on_holiday, each department in its own zone and with its own working
 * days. Instants are computed here with timegm, not with tz.c. */
#include "helpers.h"
#include "plan.h"
#include "tz.h"

#define DAY 86400
/* The config's strings are not const; these are never written. */
#define S(x) ((char *)(x))

/* Thursdays at 16:00 UTC from 2026-12-03: the rule's occurrences. */
static int64_t thursday(int week)
{
        return utc(2026, 12, 3, 16, 0) + (int64_t)week * 7 * DAY;
}

typedef struct Holiday {
        const char *dept; /* NULL: everyone's */
        int y, mo, d;
        const char *name;
} Holiday;

static const Holiday *holidays;

static const char *holiday_fn(void *userdata, const Department *dept, Date d)
{
        (void)userdata;
        for (const Holiday *h = holidays; h && h->name; h++)
                if ((!h->dept || streq(h->dept, dept->id)) && h->y == d.year && h->mo == d.month && h->d == d.day)
                        return h->name;
        return NULL;
}

typedef struct Fixture {
        Department sales, sydney;
        Department *depts[2];
        Meeting m;
        int64_t rids[8];
} Fixture;

static void fixture(Fixture *f, const char *sydney_zone)
{
        *f = (Fixture){0};
        f->sales = (Department){.id = S("sales"), .zone = tz_lookup("UTC"), .working_days = 0x7c};
        f->sydney = (Department){.id = S("sydney"), .zone = tz_lookup(sydney_zone), .working_days = 0x7c};
        f->depts[0] = &f->sales;
        f->depts[1] = &f->sydney;
        f->m = (Meeting){.id = S("sync"), .departments = f->depts, .n_departments = 2, .cadence = CADENCE_WEEKLY,
                         .hour = 16, .minute = 0, .zone = tz_lookup("UTC"), .on_holiday = ON_HOLIDAY_SKIP};
        for (int i = 0; i < 8; i++)
                f->rids[i] = thursday(i);
}

static size_t run(Fixture *f, const Holiday *h, Exception **e, ChangeVerdict *verdicts)
{
        holidays = h;
        return plan_exceptions(&f->m, f->rids, 8, INT64_MAX, h ? holiday_fn : NULL, NULL, e, verdicts);
}

static void test_by_hand(void **state)
{
        (void)state;
        Fixture f;
        fixture(&f, "UTC");
        Change changes[] = {
                {.date = {2026, 12, 24}, .reason = S("Christmas Eve"), .to_hour = -1},
                {.date = {2026, 12, 10}, .move = true, .to = {2026, 12, 11}, .to_hour = 14, .to_minute = 30,
                 .reason = S("offsite")},
                {.date = {2026, 12, 12}, .to_hour = -1},                                  /* a Saturday */
                {.date = {2026, 12, 17}, .move = true, .to = {2026, 12, 31}, .to_hour = -1}, /* onto the 31st */
        };
        f.m.changes = changes;
        f.m.n_changes = ELEMENTSOF(changes);
        Exception *e;
        ChangeVerdict v[4];
        size_t n = run(&f, NULL, &e, v);
        assert_int_equal(v[0], CHANGE_OK);
        assert_int_equal(v[1], CHANGE_OK);
        assert_int_equal(v[2], CHANGE_NOT_AN_OCCURRENCE);
        assert_int_equal(v[3], CHANGE_ONTO_OCCURRENCE);
        assert_int_equal(n, 3);
        assert_int_equal(e[0].rid, thursday(1));
        assert_false(e[0].cancelled);
        assert_int_equal(e[0].start, utc(2026, 12, 11, 14, 30));
        assert_string_equal(e[0].reason, "offsite");
        assert_int_equal(e[0].source, EXCEPTION_MOVE);
        assert_int_equal(e[1].rid, thursday(2));
        assert_int_equal(e[1].start, utc(2026, 12, 31, 16, 0));
        assert_int_equal(e[2].rid, thursday(3));
        assert_true(e[2].cancelled);
        assert_string_equal(e[2].reason, "Christmas Eve");
        assert_ptr_equal(plan_exception(e, n, thursday(3)), &e[2]);
        assert_null(plan_exception(e, n, thursday(0)));
        plan_exceptions_free(e, n);
}

static void test_move_onto_a_freed_date(void **state)
{
        (void)state;
        Fixture f;
        fixture(&f, "UTC");
        /* The 24th is skipped, so the 17th may move there. */
        Change changes[] = {
                {.date = {2026, 12, 17}, .move = true, .to = {2026, 12, 24}, .to_hour = -1},
                {.date = {2026, 12, 24}, .to_hour = -1},
        };
        f.m.changes = changes;
        f.m.n_changes = 2;
        Exception *e;
        ChangeVerdict v[2];
        size_t n = run(&f, NULL, &e, v);
        assert_int_equal(v[0], CHANGE_OK);
        assert_int_equal(n, 2);
        plan_exceptions_free(e, n);
}

static void test_holiday_skip_in_each_zone(void **state)
{
        (void)state;
        Fixture f;
        /* 16:00 UTC Thursday is 03:00 Friday in Sydney (AEDT, +11). */
        fixture(&f, "Australia/Sydney");
        static const Holiday h[] = {
                {NULL, 2026, 12, 24, "Christmas Eve"},       /* Thursday: everyone's */
                {"sydney", 2026, 12, 11, "Sydney holiday"},  /* Friday there: the 10th's occurrence */
                {"sydney", 2026, 12, 17, "Not this one"},    /* Thursday there, but it meets on Friday */
                {NULL, 0, 0, 0, NULL},
        };
        Exception *e;
        size_t n = run(&f, h, &e, NULL);
        assert_int_equal(n, 2);
        assert_int_equal(e[0].rid, thursday(1));
        assert_true(e[0].cancelled);
        assert_string_equal(e[0].reason, "Sydney holiday");
        assert_int_equal(e[0].source, EXCEPTION_HOLIDAY);
        assert_int_equal(e[1].rid, thursday(3));
        assert_string_equal(e[1].reason, "Christmas Eve");
        plan_exceptions_free(e, n);
}

static void test_holiday_moves(void **state)
{
        (void)state;
        Fixture f;
        fixture(&f, "UTC");
        static const Holiday h[] = {
                {NULL, 2026, 12, 24, "Christmas Eve"}, {NULL, 2026, 12, 25, "Christmas Day"},
                {NULL, 2026, 12, 31, "New Year's Eve"}, {NULL, 2027, 1, 1, "New Year's Day"},
                {"sydney", 2026, 12, 3, "Sydney only"},  {NULL, 0, 0, 0, NULL},
        };
        Exception *e;
        f.m.on_holiday = ON_HOLIDAY_AFTER;
        size_t n = run(&f, h, &e, NULL);
        /* 3 Dec: Friday the 4th. 24 Dec: Friday is a holiday too, the
         * weekend is not worked, and Monday is another week: cancelled. */
        assert_int_equal(n, 3);
        assert_false(e[0].cancelled);
        assert_int_equal(e[0].start, utc(2026, 12, 4, 16, 0));
        assert_string_equal(e[0].reason, "Sydney only");
        assert_true(e[1].cancelled);
        assert_string_equal(e[1].reason, "Christmas Eve");
        assert_true(e[2].cancelled);
        plan_exceptions_free(e, n);

        f.m.on_holiday = ON_HOLIDAY_BEFORE;
        n = run(&f, h, &e, NULL);
        assert_int_equal(n, 3);
        for (size_t i = 0; i < n; i++) {
                assert_false(e[i].cancelled);
                assert_int_equal(e[i].start, e[i].rid - DAY); /* the Wednesday before */
        }
        plan_exceptions_free(e, n);

        /* Sydney works Sunday to Thursday: no Friday for the 3rd. */
        f.sydney.working_days = 0x3e;
        f.m.on_holiday = ON_HOLIDAY_AFTER;
        n = run(&f, h, &e, NULL);
        assert_true(e[0].cancelled);
        plan_exceptions_free(e, n);

        f.m.on_holiday = ON_HOLIDAY_KEEP;
        n = run(&f, h, &e, NULL);
        assert_int_equal(n, 0);
        plan_exceptions_free(e, n);
}

static void test_monthly_moves_across_weeks(void **state)
{
        (void)state;
        Fixture f;
        fixture(&f, "UTC");
        f.m.cadence = CADENCE_MONTHLY;
        /* Monday 1 Feb 2027 is a holiday; before: Friday 29 January. */
        f.rids[0] = utc(2027, 2, 1, 16, 0);
        for (int i = 1; i < 8; i++)
                f.rids[i] = f.rids[0] + (int64_t)i * 40 * DAY;
        static const Holiday h[] = {{NULL, 2027, 2, 1, "Founders' Day"}, {NULL, 0, 0, 0, NULL}};
        f.m.on_holiday = ON_HOLIDAY_BEFORE;
        Exception *e;
        size_t n = run(&f, h, &e, NULL);
        assert_int_equal(n, 1);
        assert_int_equal(e[0].start, utc(2027, 1, 29, 16, 0));
        plan_exceptions_free(e, n);
}

static void test_horizon(void **state)
{
        (void)state;
        Fixture f;
        fixture(&f, "UTC");
        static const Holiday h[] = {{NULL, 2026, 12, 3, "A"}, {NULL, 2026, 12, 31, "B"}, {NULL, 0, 0, 0, NULL}};
        holidays = h;
        Exception *e;
        size_t n = plan_exceptions(&f.m, f.rids, 8, thursday(2), holiday_fn, NULL, &e, NULL);
        assert_int_equal(n, 1);
        assert_string_equal(e[0].reason, "A");
        plan_exceptions_free(e, n);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_by_hand),
                cmocka_unit_test(test_move_onto_a_freed_date),
                cmocka_unit_test(test_holiday_skip_in_each_zone),
                cmocka_unit_test(test_holiday_moves),
                cmocka_unit_test(test_monthly_moves_across_weeks),
                cmocka_unit_test(test_horizon),
        };
        return cmocka_run_group_tests(tests, NULL, tmp_cleanup);
}
