/* test_deliver.c — delivery's pure arithmetic (README "Delivery
 * guarantees"): backoff with jitter, Retry-After in both forms read on
 * tandem's clock, Discord's body, and what follows each answer. */
#include "deliver.h"
#include "helpers.h"

#define S USEC_PER_SEC

static void test_backoff(void **state)
{
        (void)state;
        /* 2 s, 4 s, 8 s ... 10 minutes; never less than half of each. */
        static const int64_t base[] = {2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600};
        for (int n = 1; n <= (int)ELEMENTSOF(base); n++) {
                assert_int_equal(deliver_backoff(n, 0.0), base[n - 1] * S / 2);
                assert_int_equal(deliver_backoff(n, 1.0), base[n - 1] * S);
                int64_t mid = deliver_backoff(n, 0.5);
                assert_true(mid > base[n - 1] * S / 2 && mid < base[n - 1] * S);
        }
        assert_int_equal(deliver_backoff(1000, 1.0), 600 * S); /* no overflow */
}

static void test_retry_after(void **state)
{
        (void)state;
        /* 2026-03-02T09:45:00Z: tandem's clock, not the machine's. */
        const int64_t now = 1772444700 * S;
        assert_int_equal(deliver_retry_after("20", now), 20 * S);
        assert_int_equal(deliver_retry_after(" 0 ", now), 0);
        assert_int_equal(deliver_retry_after("Mon, 02 Mar 2026 09:45:20 GMT", now), 20 * S);
        assert_int_equal(deliver_retry_after("Mon, 02 Mar 2026 09:44:00 GMT", now), 0); /* past: now */
        assert_int_equal(deliver_retry_after("99999999999999999999", now), 366LL * 86400 * S);
        assert_int_equal(deliver_retry_after("1e300", now), 366LL * 86400 * S);
        assert_int_equal(deliver_retry_after("soon", now), -1);
        assert_int_equal(deliver_retry_after("", now), -1);
        assert_int_equal(deliver_retry_after("-5", now), -1);
}

static void test_discord(void **state)
{
        (void)state;
        assert_int_equal(deliver_discord_retry_after("{\"retry_after\": 1.5}"), 3 * S / 2);
        assert_int_equal(deliver_discord_retry_after("{\"retry_after\": 6457}"), 6457 * S / 1000); /* ms */
        assert_int_equal(deliver_discord_retry_after("{\"retry_after\": 1e300}"), 366LL * 86400 * S);
        assert_int_equal(deliver_discord_retry_after("{\"message\": \"x\"}"), -1);
        assert_int_equal(deliver_discord_retry_after("not json"), -1);
        assert_int_equal(deliver_discord_retry_after(NULL), -1);
}

static void test_judge(void **state)
{
        (void)state;
        const int64_t now = 1000 * S, deadline = now + 300 * S;
        DeliverVerdict v;
        assert_int_equal(deliver_judge(200, 1, -1, 0.5, now, deadline).kind, DELIVER_VERDICT_OK);
        assert_int_equal(deliver_judge(204, 3, -1, 0.5, now, deadline).kind, DELIVER_VERDICT_OK);
        for (int status = 400; status < 500; status++)
                if (status != 429)
                        assert_int_equal(deliver_judge(status, 1, -1, 0.5, now, deadline).kind,
                                         DELIVER_VERDICT_PERMANENT);
        /* Network error, 5xx: backoff. */
        v = deliver_judge(0, 1, -1, 0.0, now, deadline);
        assert_int_equal(v.kind, DELIVER_VERDICT_RETRY);
        assert_int_equal(v.retry_at, now + 1 * S);
        v = deliver_judge(503, 3, -1, 1.0, now, deadline);
        assert_int_equal(v.retry_at, now + 8 * S);
        /* 429 with Retry-After: exactly that. */
        v = deliver_judge(429, 1, 20 * S, 0.5, now, deadline);
        assert_int_equal(v.kind, DELIVER_VERDICT_RETRY);
        assert_int_equal(v.retry_at, now + 20 * S);
        /* The next try at or after the deadline: give up now. */
        assert_int_equal(deliver_judge(429, 1, 300 * S, 0.5, now, deadline).kind, DELIVER_VERDICT_GIVE_UP);
        assert_int_equal(deliver_judge(500, 9, -1, 1.0, now, deadline).kind, DELIVER_VERDICT_GIVE_UP);
        assert_int_equal(deliver_judge(429, 1, 299 * S, 0.5, now, deadline).kind, DELIVER_VERDICT_RETRY);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_backoff),
                cmocka_unit_test(test_retry_after),
                cmocka_unit_test(test_discord),
                cmocka_unit_test(test_judge),
        };
        return cmocka_run_group_tests(tests, NULL, tmp_cleanup);
}
