/* test_rotation.c — whose turn it is, by table (README "Host rotation and
 * pairings"): host turns with skips, records and changes of the order;
 * the circle method's rounds for 2 to 12 departments; and when a new
 * pairing epoch starts. */
#include "helpers.h"
#include "rotation.h"

#define N ROTATION_NONE
#define OUT ROTATION_OUTSIDE

typedef struct WalkCase {
        const char *name;
        size_t n_order;
        const char *held;   /* one letter per occurrence: h held, c cancelled */
        int recorded[12];   /* per occurrence: an index, N or OUT */
        int want[12];
} WalkCase;

static const WalkCase walk_cases[] = {
        {"three take turns", 3, "hhhhhhh", {N, N, N, N, N, N, N}, {0, 1, 2, 0, 1, 2, 0}},
        {"a cancelled occurrence takes no turn", 3, "hhchhc", {N, N, N, N, N, N}, {0, 1, -1, 2, 0, -1}},
        {"cancelled first", 2, "chhh", {N, N, N, N}, {-1, 0, 1, 0}},
        {"recorded hosts stand, the rest follow the last one", 3, "hhhhh", {1, 1, N, N, N}, {1, 1, 2, 0, 1}},
        /* a department added to the order after two turns were recorded:
         * the past keeps its hosts, the next turn goes on from the last */
        {"a new department in the order", 4, "hhhhhh", {0, 1, N, N, N, N}, {0, 1, 2, 3, 0, 1}},
        {"a host outside the order: the turns start over", 2, "hhhh", {OUT, N, N, N}, {OUT, 0, 1, 0}},
        {"a recorded index past the order is computed", 2, "hhh", {5, N, N}, {0, 1, 0}},
        {"records between gaps", 3, "hhhhhh", {N, N, 0, N, 2, N}, {0, 1, 0, 1, 2, 0}},
        {"one department", 1, "hhh", {N, N, N}, {0, 0, 0}},
};

static void test_walk(void **state)
{
        (void)state;
        for (size_t c = 0; c < ELEMENTSOF(walk_cases); c++) {
                const WalkCase *w = &walk_cases[c];
                size_t n = strlen(w->held);
                bool held[12];
                int host[12];
                for (size_t i = 0; i < n; i++)
                        held[i] = w->held[i] == 'h';
                rotation_walk(w->n_order, held, w->recorded, n, host);
                for (size_t i = 0; i < n; i++)
                        if (host[i] != w->want[i])
                                fail_msg("%s: occurrence %zu: host %d, want %d", w->name, i, host[i], w->want[i]);
        }
}

/* The circle method, for 2 to 12 departments: every
 * pair exactly once per cycle, nobody twice in a round, each department
 * sitting out once per cycle when n is odd (and never when even), and
 * rotation_round_of() agreeing with the rounds. */
static void test_circle(void **state)
{
        (void)state;
        for (size_t n = 2; n <= 12; n++) {
                unsigned cycle = rotation_cycle(n);
                assert_int_equal(cycle, n % 2 ? n : n - 1);
                {
                        unsigned met[12][12] = {{0}}, out[12] = {0};
                        for (unsigned r = 0; r < cycle; r++) {
                                size_t pairs[13];
                                int sit;
                                bool busy[12] = {false};
                                size_t np = rotation_round(n, r, pairs, &sit);
                                assert_int_equal(np, n / 2);
                                for (size_t k = 0; k < np; k++) {
                                        size_t a = pairs[2 * k], b = pairs[2 * k + 1];
                                        assert_true(a < b && b < n);
                                        if (busy[a] || busy[b])
                                                fail_msg("n=%zu round %u: a department meets twice", n, r);
                                        busy[a] = busy[b] = true;
                                        met[a][b]++;
                                        assert_int_equal(rotation_round_of(n, a, b), r);
                                        assert_int_equal(rotation_round_of(n, b, a), r);
                                }
                                if (n % 2) {
                                        assert_true(sit >= 0 && (size_t)sit < n && !busy[sit]);
                                        out[sit]++;
                                } else
                                        assert_int_equal(sit, -1);
                        }
                        for (size_t a = 0; a < n; a++) {
                                for (size_t b = a + 1; b < n; b++)
                                        if (met[a][b] != 1)
                                                fail_msg("n=%zu: %zu and %zu meet %u times a cycle", n, a, b, met[a][b]);
                                assert_int_equal(out[a], n % 2 ? 1 : 0);
                        }
                }
        }
}

/* Round 0 of six: the first department stays put and faces the last. */
static void test_circle_rounds_of_six(void **state)
{
        (void)state;
        static const size_t want[5][6] = {
                {0, 5, 1, 4, 2, 3}, {0, 1, 2, 5, 3, 4}, {0, 2, 1, 3, 4, 5}, {0, 3, 2, 4, 1, 5}, {0, 4, 3, 5, 1, 2},
        };
        for (unsigned r = 0; r < 5; r++) {
                size_t pairs[7];
                int sit;
                rotation_round(6, r, pairs, &sit);
                for (size_t k = 0; k < 6; k++)
                        if (pairs[k] != want[r][k])
                                fail_msg("round %u: pairs[%zu] = %zu, want %zu", r, k, pairs[k], want[r][k]);
        }
}

static void test_epoch(void **state)
{
        (void)state;
        assert_int_equal(rotation_epoch(false, false, 0, 100), EPOCH_FIRST);
        assert_int_equal(rotation_epoch(false, false, 0, -1), EPOCH_FIRST);
        assert_int_equal(rotation_epoch(true, true, 50, 100), EPOCH_KEEP);
        /* changed after the latest epoch's first round was announced */
        assert_int_equal(rotation_epoch(true, false, 50, 100), EPOCH_NEXT);
        /* changed again before anybody heard of the latest epoch */
        assert_int_equal(rotation_epoch(true, false, 100, 100), EPOCH_REPLACE);
        /* no round still to come */
        assert_int_equal(rotation_epoch(true, false, 50, -1), EPOCH_ENDED);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_walk),
                cmocka_unit_test(test_circle),
                cmocka_unit_test(test_circle_rounds_of_six),
                cmocka_unit_test(test_epoch),
        };
        return cmocka_run_group_tests(tests, NULL, tmp_cleanup);
}
