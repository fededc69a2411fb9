/* test_tz.c — the DST analysis of tz.c: which local times a change of
 * offset skips or repeats (tz_wall_kind) and when a zone changes its offset
 * (tz_next_shift), in both hemispheres, for 30-minute changes and changes at
 * midnight. Expected instants are written out in UTC and computed by the C
 * library (helpers.h utc()). */
#include "helpers.h"

#include "tz.h"

static Wall wall(int y, int mo, int d, int h, int mi)
{
        return (Wall){{y, mo, d}, h, mi, 0};
}

/* kind of wall time in zone; for a gap or fold also the change: at, and
 * the offsets before and after it in minutes. */
static void expect_kind(const char *zone, Wall w, TzWallKind want, int64_t at, int before_min, int after_min)
{
        icaltimezone *z = tz_lookup(zone);
        assert_non_null(z);
        TzShift sh = {0};
        TzWallKind got = tz_wall_kind(z, w, &sh);
        if (got != want)
                fail_msg("%s %04d-%02d-%02d %02d:%02d: kind %d, want %d", zone, w.date.year, w.date.month, w.date.day,
                         w.hour, w.minute, got, want);
        if (want == TZ_WALL_ONCE)
                return;
        assert_instant(sh.at, at);
        assert_int_equal(sh.before, before_min * 60);
        assert_int_equal(sh.after, after_min * 60);
}

static void test_wall_kind_north(void **state)
{
        (void)state;
        /* Berlin: 02:00 CET becomes 03:00 CEST at 01:00Z on 2027-03-28;
         * 03:00 CEST becomes 02:00 CET at 01:00Z on 2027-10-31. */
        expect_kind("Europe/Berlin", wall(2027, 3, 28, 2, 30), TZ_WALL_MISSING, utc(2027, 3, 28, 1, 0), 60, 120);
        expect_kind("Europe/Berlin", wall(2027, 3, 28, 2, 0), TZ_WALL_MISSING, utc(2027, 3, 28, 1, 0), 60, 120);
        expect_kind("Europe/Berlin", wall(2027, 3, 28, 3, 0), TZ_WALL_ONCE, 0, 0, 0);
        expect_kind("Europe/Berlin", wall(2027, 3, 28, 1, 59), TZ_WALL_ONCE, 0, 0, 0);
        expect_kind("Europe/Berlin", wall(2027, 10, 31, 2, 30), TZ_WALL_TWICE, utc(2027, 10, 31, 1, 0), 120, 60);
        expect_kind("Europe/Berlin", wall(2027, 10, 31, 3, 0), TZ_WALL_ONCE, 0, 0, 0);
        expect_kind("Europe/Berlin", wall(2027, 10, 30, 2, 30), TZ_WALL_ONCE, 0, 0, 0);
        /* New York: 02:00 EST -> 03:00 EDT at 07:00Z; 02:00 EDT -> 01:00 EST at 06:00Z */
        expect_kind("America/New_York", wall(2026, 3, 8, 2, 30), TZ_WALL_MISSING, utc(2026, 3, 8, 7, 0), -300, -240);
        expect_kind("America/New_York", wall(2026, 11, 1, 1, 30), TZ_WALL_TWICE, utc(2026, 11, 1, 6, 0), -240, -300);
        expect_kind("America/New_York", wall(2026, 11, 1, 2, 30), TZ_WALL_ONCE, 0, 0, 0);
        /* UTC and zones without DST: always once */
        expect_kind("UTC", wall(2027, 3, 28, 2, 30), TZ_WALL_ONCE, 0, 0, 0);
        expect_kind("Asia/Kolkata", wall(2027, 3, 28, 2, 30), TZ_WALL_ONCE, 0, 0, 0);
}

static void test_wall_kind_south_and_odd(void **state)
{
        (void)state;
        /* Sydney: 03:00 AEDT -> 02:00 AEST at 16:00Z on 2026-04-04 (local
         * Sunday 04-05); 02:00 AEST -> 03:00 AEDT at 16:00Z on 2026-10-03. */
        expect_kind("Australia/Sydney", wall(2026, 4, 5, 2, 30), TZ_WALL_TWICE, utc(2026, 4, 4, 16, 0), 660, 600);
        expect_kind("Australia/Sydney", wall(2026, 10, 4, 2, 30), TZ_WALL_MISSING, utc(2026, 10, 3, 16, 0), 600, 660);
        /* Lord Howe changes by 30 minutes, at 02:00 local both ways */
        expect_kind("Australia/Lord_Howe", wall(2026, 10, 4, 2, 15), TZ_WALL_MISSING, utc(2026, 10, 3, 15, 30), 630, 660);
        expect_kind("Australia/Lord_Howe", wall(2026, 10, 4, 2, 30), TZ_WALL_ONCE, 0, 0, 0);
        expect_kind("Australia/Lord_Howe", wall(2026, 4, 5, 1, 45), TZ_WALL_TWICE, utc(2026, 4, 4, 15, 0), 660, 630);
        /* Santiago at midnight: Sunday 00:00 -04 -> 01:00 -03 on 2026-09-06;
         * Sunday 00:00 -03 -> Saturday 23:00 -04 on 2026-04-05. */
        expect_kind("America/Santiago", wall(2026, 9, 6, 0, 30), TZ_WALL_MISSING, utc(2026, 9, 6, 4, 0), -240, -180);
        expect_kind("America/Santiago", wall(2026, 4, 4, 23, 30), TZ_WALL_TWICE, utc(2026, 4, 5, 3, 0), -180, -240);
        /* Beirut at midnight, last Sunday of March and of October */
        expect_kind("Asia/Beirut", wall(2027, 3, 28, 0, 30), TZ_WALL_MISSING, utc(2027, 3, 27, 22, 0), 120, 180);
        expect_kind("Asia/Beirut", wall(2027, 10, 30, 23, 30), TZ_WALL_TWICE, utc(2027, 10, 30, 21, 0), 180, 120);
}

static void test_wall_kind_null_shift(void **state)
{
        (void)state;
        assert_int_equal(tz_wall_kind(tz_lookup("Europe/Berlin"), wall(2027, 3, 28, 2, 30), NULL), TZ_WALL_MISSING);
}

static void test_next_shift(void **state)
{
        (void)state;
        icaltimezone *ny = tz_lookup("America/New_York");
        TzShift sh;
        assert_true(tz_next_shift(ny, utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0), &sh));
        assert_instant(sh.at, utc(2026, 3, 8, 7, 0));
        assert_int_equal(sh.before, -5 * 3600);
        assert_int_equal(sh.after, -4 * 3600);
        /* (from, to]: from the change itself on, the next one */
        assert_true(tz_next_shift(ny, sh.at, utc(2027, 1, 1, 0, 0), &sh));
        assert_instant(sh.at, utc(2026, 11, 1, 6, 0));
        /* a change exactly at `to` counts; one after it does not */
        assert_true(tz_next_shift(ny, utc(2026, 10, 1, 0, 0), utc(2026, 11, 1, 6, 0), &sh));
        assert_false(tz_next_shift(ny, utc(2026, 10, 1, 0, 0), utc(2026, 11, 1, 5, 59), &sh));
        assert_false(tz_next_shift(tz_lookup("UTC"), utc(2026, 1, 1, 0, 0), utc(2030, 1, 1, 0, 0), &sh));
        assert_false(tz_next_shift(tz_lookup("Asia/Kolkata"), utc(2026, 1, 1, 0, 0), utc(2030, 1, 1, 0, 0), &sh));
        /* to the second, for a 30-minute change */
        assert_true(tz_next_shift(tz_lookup("Australia/Lord_Howe"), utc(2026, 6, 1, 0, 0), utc(2027, 1, 1, 0, 0), &sh));
        assert_instant(sh.at, utc(2026, 10, 3, 15, 30));
        assert_int_equal(sh.after - sh.before, 1800);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_wall_kind_north),
                cmocka_unit_test(test_wall_kind_south_and_odd),
                cmocka_unit_test(test_wall_kind_null_shift),
                cmocka_unit_test(test_next_shift),
        };
        return cmocka_run_group_tests(tests, NULL, tmp_cleanup);
}
