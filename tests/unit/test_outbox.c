/* test_outbox.c — the pure decisions of outbox.c by table: what becomes of
 * each reminder of an occurrence, given the ledger and the time
 * (README "Delivery guarantees"). */
#include "helpers.h"
#include "outbox.h"

#define H 3600
#define M 60
#define D 86400

/* An occurrence at START with up to four reminders, each with its ledger
 * row, and what each must become at NOW. */
typedef struct Case {
        const char *name;
        int64_t now;             /* relative to the start */
        int n;
        int64_t before[4];
        LedgerStatus status[4];
        int http[4];
        bool in_flight[4];
        OutboxAction want[4];
} Case;

static const Case cases[] = {
        {"none due yet", -2 * D, 2, {D, 15 * M}, {0}, {0}, {0}, {OUTBOX_WAIT, OUTBOX_WAIT}},
        {"the 1d one on time", -D, 2, {D, 15 * M}, {0}, {0}, {0}, {OUTBOX_SEND, OUTBOX_WAIT}},
        {"on time within the minute", -D + 59, 2, {D, 15 * M}, {0}, {0}, {0}, {OUTBOX_SEND, OUTBOX_WAIT}},
        {"the 1h one on time though the 15m one follows", -H, 2, {H, 15 * M}, {0}, {0}, {0},
         {OUTBOX_SEND, OUTBOX_WAIT}},
        /* Issue: the 1d reminder "in 16 minutes", and a minute later the 15m one. */
        {"catch-up 16 minutes before: the 15m one comes soon", -16 * M, 2, {D, 15 * M}, {0}, {0}, {0},
         {OUTBOX_SUPERSEDE, OUTBOX_WAIT}},
        {"catch-up 3 hours before: send the 1d one", -3 * H, 2, {D, 15 * M}, {0}, {0}, {0},
         {OUTBOX_SEND, OUTBOX_WAIT}},
        {"catch-up 40 minutes before: 15m gives less than half the notice", -40 * M, 2, {D, 15 * M}, {0}, {0},
         {0}, {OUTBOX_SEND, OUTBOX_WAIT}},
        {"catch-up 30 minutes before: 15m gives half: supersede", -30 * M, 2, {D, 15 * M}, {0}, {0}, {0},
         {OUTBOX_SUPERSEDE, OUTBOX_WAIT}},
        {"two late: only the later one is sent", -5 * M, 3, {D, 15 * M, 2 * M}, {0}, {0}, {0},
         {OUTBOX_SUPERSEDE, OUTBOX_SEND, OUTBOX_WAIT}},
        {"two late, the next one soon: neither", -3 * M, 3, {D, 15 * M, 2 * M}, {0}, {0}, {0},
         {OUTBOX_SUPERSEDE, OUTBOX_SUPERSEDE, OUTBOX_WAIT}},
        {"one late, one due now: the late one gives way", -2 * M, 2, {30 * M, 2 * M}, {0}, {0}, {0},
         {OUTBOX_SUPERSEDE, OUTBOX_SEND}},
        {"the only reminder, late: sent", -5 * M, 1, {15 * M}, {0}, {0}, {0}, {OUTBOX_SEND}},
        {"sent stays sent", -5 * M, 2, {D, 15 * M}, {LEDGER_SENT, LEDGER_SENT}, {200, 200}, {0},
         {OUTBOX_DONE, OUTBOX_DONE}},
        {"in flight", -14 * M, 1, {15 * M}, {LEDGER_SENDING}, {0}, {true}, {OUTBOX_DONE}},
        {"sending after a crash, meeting ahead: again", -14 * M, 1, {15 * M}, {LEDGER_SENDING}, {0}, {0},
         {OUTBOX_SEND}},
        {"meeting started, never attempted: missed", 10, 2, {D, 15 * M}, {0}, {0}, {0},
         {OUTBOX_MISS, OUTBOX_MISS}},
        {"meeting started while sending: failed", 10, 1, {15 * M}, {LEDGER_SENDING}, {0}, {0}, {OUTBOX_FAIL}},
        {"meeting started, already missed: done", 10, 1, {15 * M}, {LEDGER_MISSED}, {0}, {0}, {OUTBOX_DONE}},
        /* A clock that was briefly ahead recorded these; the meeting is ahead. */
        {"missed but the meeting is ahead: sent", -10 * M, 1, {15 * M}, {LEDGER_MISSED}, {0}, {0},
         {OUTBOX_SEND}},
        {"failed at the deadline but the meeting is ahead: sent", -10 * M, 1, {15 * M}, {LEDGER_FAILED}, {503},
         {0}, {OUTBOX_SEND}},
        {"superseded, the clock went back before it was due", -2 * D, 2, {D, 15 * M},
         {LEDGER_SUPERSEDED, 0}, {0}, {0}, {OUTBOX_WAIT, OUTBOX_WAIT}},
        {"refused for good (404) stays refused", -10 * M, 1, {15 * M}, {LEDGER_FAILED}, {404}, {0},
         {OUTBOX_DONE}},
        {"a 429 at the deadline is not for good", -10 * M, 1, {15 * M}, {LEDGER_FAILED}, {429}, {0},
         {OUTBOX_SEND}},
};

static void test_table(void **state)
{
        (void)state;
        const int64_t start = 1796223600;
        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                const Case *t = &cases[c];
                OutboxSlot slots[4];
                for (int i = 0; i < t->n; i++)
                        slots[i] = (OutboxSlot){t->before[i], {t->status[i], t->http[i]}, t->in_flight[i]};
                for (int i = 0; i < t->n; i++) {
                        OutboxAction got = outbox_decide(slots, (size_t)t->n, (size_t)i, start, start + t->now);
                        if (got != t->want[i])
                                fail_msg("%s: reminder %d: got %s, want %s", t->name, i, outbox_action_names[got],
                                         outbox_action_names[t->want[i]]);
                }
        }
}

static void test_final(void **state)
{
        (void)state;
        LedgerRow sent = {LEDGER_SENT, 200}, missed = {LEDGER_MISSED, 0}, gone = {LEDGER_FAILED, 410},
                  gave_up = {LEDGER_FAILED, 500}, sending = {LEDGER_SENDING, 0};
        assert_true(outbox_is_final(&sent, 100, 0));
        assert_true(outbox_is_final(&gone, 100, 0));
        assert_false(outbox_is_final(&missed, 100, 0));
        assert_true(outbox_is_final(&missed, 100, 100));
        assert_false(outbox_is_final(&gave_up, 100, 99));
        assert_true(outbox_is_final(&gave_up, 100, 101));
        assert_false(outbox_is_final(&sending, 100, 101));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_final),
        };
        return cmocka_run_group_tests(tests, NULL, tmp_cleanup);
}
