/* reminder.c — the reminder heap, catch-up after downtime, and the hand-off
 * to chat and delivery with the ledger in between. */
#include "reminder.h"

#include <errno.h>
#include <systemd/sd-daemon.h>

#include "clock.h"
#include "log.h"
#include "util.h"

/* The next reminder of one (meeting, offset, department). */
typedef struct Entry {
        int64_t due;
        Occurrence occ;
        size_t reminder, dept;
} Entry;

/* A reminder handed to delivery. It owns copies of its key, because a
 * reload may free the config while the request is still in flight. */
typedef struct Pending {
        struct Pending *next;
        Reminders *owner;
        char *meeting, *department;
        ReminderKey key;
} Pending;

struct Reminders {
        sd_event *event;
        sd_event_source *timer;
        Ledger *ledger;
        Delivery *delivery;
        const Schedule *schedule;
        Entry *heap;
        size_t n, alloc;
        Pending *pending;
        uint64_t sent, failed, missed;
        MetricsDepartment *depts; /* ids owned here */
        size_t n_depts, alloc_depts;
};

typedef enum Outcome { OUTCOME_SENT, OUTCOME_FAILED, OUTCOME_MISSED } Outcome;

/* Counts an outcome, in total and for the department. */
static void count(Reminders *r, const char *dept, Outcome o)
{
        MetricsDepartment *d = NULL;
        for (size_t i = 0; i < r->n_depts && !d; i++)
                if (streq(r->depts[i].id, dept))
                        d = &r->depts[i];
        if (!d) {
                GROW(r->depts, r->n_depts, r->alloc_depts);
                d = &r->depts[r->n_depts++];
                *d = (MetricsDepartment){.id = xstrdup(dept)};
        }
        switch (o) {
        case OUTCOME_SENT: r->sent++, d->sent++; break;
        case OUTCOME_FAILED: r->failed++, d->failed++; break;
        case OUTCOME_MISSED: r->missed++, d->missed++; break;
        }
}

/* ---- heap ---------------------------------------------------------- */

static bool entry_before(const Entry *a, const Entry *b)
{
        if (a->due != b->due)
                return a->due < b->due;
        return a->occ.meeting < b->occ.meeting || (a->occ.meeting == b->occ.meeting && a->dept < b->dept);
}

static void heap_push(Reminders *r, Entry e)
{
        GROW(r->heap, r->n, r->alloc);
        size_t i = r->n++;
        while (i > 0 && entry_before(&e, &r->heap[(i - 1) / 2])) {
                r->heap[i] = r->heap[(i - 1) / 2];
                i = (i - 1) / 2;
        }
        r->heap[i] = e;
}

static Entry heap_pop(Reminders *r)
{
        Entry top = r->heap[0], last = r->heap[--r->n];
        size_t i = 0;
        for (;;) {
                size_t c = 2 * i + 1;
                if (c >= r->n)
                        break;
                if (c + 1 < r->n && entry_before(&r->heap[c + 1], &r->heap[c]))
                        c++;
                if (!entry_before(&r->heap[c], &last))
                        break;
                r->heap[i] = r->heap[c];
                i = c;
        }
        if (r->n > 0)
                r->heap[i] = last;
        return top;
}

/* ---- scheduling ---------------------------------------------------- */

static ReminderKey entry_key(const Entry *e)
{
        const Meeting *m = e->occ.meeting;
        return (ReminderKey){m->id, e->occ.start, m->reminders[e->reminder].before, m->departments[e->dept]->id};
}

/* Queues the entry for the first occurrence that starts after `after`. */
static void schedule_entry(Reminders *r, const Meeting *m, size_t reminder, size_t dept, int64_t after)
{
        Occurrence o;
        if (!schedule_next(r->schedule, m, after + 1, &o))
                return;
        heap_push(r, (Entry){o.start - m->reminders[reminder].before, o, reminder, dept});
}

static void arm(Reminders *r)
{
        if (r->n == 0) {
                sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
        } else {
                clockid_t clk;
                uint64_t usec;
                clock_timer_target(r->heap[0].due * USEC_PER_SEC, &clk, &usec);
                sd_event_source_set_time(r->timer, usec);
                sd_event_source_set_enabled(r->timer, SD_EVENT_ONESHOT);
        }
        _cleanup_free_ char *status = reminders_status(r);
        sd_notifyf(false, "STATUS=%s", status);
}

static Pending *pending_find(Reminders *r, const ReminderKey *k)
{
        for (Pending *p = r->pending; p; p = p->next)
                if (p->key.start == k->start && p->key.offset == k->offset && streq(p->meeting, k->meeting) &&
                    streq(p->department, k->department))
                        return p;
        return NULL;
}

static void pending_free(Reminders *r, Pending *p)
{
        for (Pending **q = &r->pending; *q; q = &(*q)->next)
                if (*q == p) {
                        *q = p->next;
                        break;
                }
        free(p->meeting);
        free(p->department);
        free(p);
}

static void on_attempt(void *userdata)
{
        Pending *p = userdata;
        ledger_attempt(p->owner->ledger, &p->key, clock_now());
}

static void on_done(void *userdata, const DeliverResult *res)
{
        Pending *p = userdata;
        Reminders *r = p->owner;
        if (res->ok) {
                ledger_sent(r->ledger, &p->key, res->http_status, clock_now());
                count(r, p->department, OUTCOME_SENT);
        } else {
                ledger_failed(r->ledger, &p->key, res->http_status, res->error, clock_now());
                count(r, p->department, OUTCOME_FAILED);
        }
        pending_free(r, p);
}

static void send_reminder(Reminders *r, const Entry *e, int64_t now)
{
        const Meeting *m = e->occ.meeting;
        const Department *d = m->departments[e->dept];
        const Reminder *rem = &m->reminders[e->reminder];
        ReminderKey k = entry_key(e);
        ChatMessage msg;

        chat_reminder(m, d, &e->occ, rem, now, &msg);
        if (d->chat == CHAT_CONSOLE) {
                ledger_attempt(r->ledger, &k, now);
                printf("%s\n", msg.line);
                fflush(stdout);
                ledger_sent(r->ledger, &k, 0, now);
                count(r, d->id, OUTCOME_SENT);
                chat_message_free(&msg);
                return;
        }
        Pending *p = xcalloc(1, sizeof(Pending));
        p->owner = r;
        p->meeting = xstrdup(m->id);
        p->department = xstrdup(d->id);
        p->key = (ReminderKey){p->meeting, k.start, k.offset, p->department};
        p->next = r->pending;
        r->pending = p;
        _cleanup_free_ char *label = xasprintf("reminder %s/%s %s before %lld", m->id, d->id, rem->text, (long long)k.start);
        DeliverCallbacks cb = {on_attempt, on_done};
        deliver_submit(r->delivery, d->webhook, &msg, e->occ.start * USEC_PER_SEC, label, &cb, p);
}

/* One due entry: send it unless the ledger or delivery already has it. */
static void fire(Reminders *r, const Entry *e, int64_t now)
{
        ReminderKey k = entry_key(e);
        LedgerStatus st = ledger_status(r->ledger, &k);
        if (ledger_status_is_final(st) || pending_find(r, &k))
                return;
        if (e->occ.start <= now) {
                /* The loop could not run in time (suspend, a clock step). */
                log_warning("reminder %s/%s missed: the meeting started at %lld", k.meeting, k.department, (long long)k.start);
                if (st == LEDGER_SENDING)
                        ledger_failed(r->ledger, &k, 0, "the meeting started before it could be sent", now);
                else
                        ledger_missed(r->ledger, &k, now);
                count(r, k.department, OUTCOME_MISSED);
                return;
        }
        send_reminder(r, e, now);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Reminders *r = userdata;
        int64_t now = clock_now();
        (void)s, (void)usec;
        /* Everything due now is recorded in one transaction (one disk sync,
         * not two per reminder); requests leave only after the commit, from
         * the event loop. */
        ledger_begin(r->ledger);
        while (r->n > 0 && r->heap[0].due <= now) {
                Entry e = heap_pop(r);
                fire(r, &e, now);
                schedule_entry(r, e.occ.meeting, e.reminder, e.dept, e.occ.start);
        }
        ledger_set_alive(r->ledger, now);
        ledger_commit(r->ledger);
        arm(r);
        return 0;
}

/* Reminders of meetings that started while the daemon was down: nothing
 * can be sent for them any more, but the ledger says what happened. That
 * includes reminders due before `since` which the stop or crash cut off
 * (still "sending": in flight, or waiting to retry): fire() records them
 * as failed, where they would otherwise stay "sending" for ever. */
static void record_missed(Reminders *r, const Schedule *s, int64_t since, int64_t now)
{
        _cleanup_free_ Occurrence *occ = NULL;
        size_t n = schedule_occurrences(s, since, now + 1, NULL, &occ);
        for (size_t i = 0; i < n; i++) {
                const Meeting *m = occ[i].meeting;
                for (size_t ri = 0; ri < m->n_reminders; ri++)
                        for (size_t di = 0; di < m->n_departments; di++) {
                                Entry e = {occ[i].start - m->reminders[ri].before, occ[i], ri, di};
                                fire(r, &e, now);
                        }
        }
}

void reminders_load(Reminders *r, const Schedule *s, bool startup)
{
        int64_t now = clock_now(), alive;
        r->schedule = s;
        r->n = 0;
        ledger_begin(r->ledger);
        if (startup && ledger_get_alive(r->ledger, &alive) == 0 && alive < now)
                record_missed(r, s, alive, now);
        ledger_commit(r->ledger);
        for (size_t i = 0; i < s->config->n_meetings; i++) {
                const Meeting *m = &s->config->meetings[i];
                for (size_t ri = 0; ri < m->n_reminders; ri++)
                        for (size_t di = 0; di < m->n_departments; di++)
                                schedule_entry(r, m, ri, di, now);
        }
        ledger_set_alive(r->ledger, now);
        /* Reminders already due (downtime, a new offset) go out now. */
        on_timer(NULL, 0, r);
}

static void batch_begin(void *ledger)
{
        ledger_begin(ledger);
}

static void batch_end(void *ledger)
{
        ledger_commit(ledger);
}

int reminders_new(sd_event *e, Ledger *ledger, Delivery *delivery, Reminders **ret)
{
        Reminders *r = xcalloc(1, sizeof(Reminders));
        r->event = sd_event_ref(e);
        r->ledger = ledger;
        r->delivery = delivery;
        deliver_set_batch(delivery, batch_begin, batch_end, ledger);
        clockid_t clk;
        uint64_t usec;
        clock_timer_target(0, &clk, &usec);
        int k = sd_event_add_time(e, &r->timer, clk, UINT64_MAX, 1, on_timer, r);
        if (k < 0) {
                reminders_free(r);
                return k;
        }
        sd_event_source_set_description(r->timer, "reminders");
        sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
        *ret = r;
        return 0;
}

Reminders *reminders_free(Reminders *r)
{
        if (!r)
                return NULL;
        while (r->pending)
                pending_free(r, r->pending);
        sd_event_source_disable_unref(r->timer);
        sd_event_unref(r->event);
        for (size_t i = 0; i < r->n_depts; i++)
                free((char *)r->depts[i].id);
        free(r->depts);
        free(r->heap);
        free(r);
        return NULL;
}

void reminders_stats(const Reminders *r, ReminderStats *ret)
{
        *ret = (ReminderStats){r->sent, r->failed, r->missed, r->n, r->n ? r->heap[0].due : 0};
}

char *reminders_status(const Reminders *r)
{
        if (r->n == 0)
                return xstrdup("No reminders scheduled");
        const Entry *e = &r->heap[0];
        const Meeting *m = e->occ.meeting;
        char when[32];
        tz_format_rfc3339(icaltimezone_get_utc_timezone(), e->due, when);
        return xasprintf("Next reminder: %s for %s at %s", m->title, m->departments[e->dept]->name, when);
}

const MetricsDepartment *reminders_departments(const Reminders *r, size_t *n)
{
        *n = r->n_depts;
        return r->depts;
}
