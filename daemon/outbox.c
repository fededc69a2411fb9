/* outbox.c — the pure decisions of outbox.h. */
#include "outbox.h"

const char *const outbox_action_names[] = {
        [OUTBOX_WAIT] = "wait",   [OUTBOX_SEND] = "send", [OUTBOX_SUPERSEDE] = "supersede",
        [OUTBOX_MISS] = "miss",   [OUTBOX_FAIL] = "fail", [OUTBOX_DONE] = "done",
};

static bool permanent(const LedgerRow *row)
{
        return row->status == LEDGER_FAILED && row->http_status >= 400 && row->http_status < 500 &&
               row->http_status != 429;
}

bool outbox_is_final(const LedgerRow *row, int64_t start, int64_t now)
{
        switch (row->status) {
        case LEDGER_SENT:
                return true;
        case LEDGER_FAILED:
                return permanent(row) || start <= now;
        case LEDGER_MISSED:
        case LEDGER_SUPERSEDED:
                return start <= now;
        default:
                return false;
        }
}

OutboxAction outbox_decide(const OutboxSlot *slots, size_t n, size_t i, int64_t start, int64_t now)
{
        const OutboxSlot *s = &slots[i];
        int64_t due = start - s->before;
        if (s->in_flight || outbox_is_final(&s->row, start, now))
                return OUTBOX_DONE;
        if (start <= now)
                return s->row.status == LEDGER_SENDING ? OUTBOX_FAIL : OUTBOX_MISS;
        if (due > now)
                return OUTBOX_WAIT;
        if (now - due <= OUTBOX_LATE_SEC)
                return OUTBOX_SEND;

        /* A catch-up: is a later reminder due by now, or soon enough? */
        int64_t next_before = -1;
        for (size_t j = 0; j < n; j++) {
                int64_t due_j = start - slots[j].before;
                if (due_j > due && due_j <= now)
                        return OUTBOX_SUPERSEDE;
                if (due_j > now && slots[j].before > next_before)
                        next_before = slots[j].before;
        }
        if (next_before >= 0 && 2 * next_before >= start - now)
                return OUTBOX_SUPERSEDE;
        return OUTBOX_SEND;
}
