/* reminder.c — the reminder heap, catch-up after downtime, and the hand-off
 * to chat and delivery with the ledger in between. Decisions come from
 * outbox.c; every ledger call's result changes what happens next. */
#include "reminder.h"

#include <errno.h>

#include "clock.h"
#include "log.h"
#include "outbox.h"
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
        ClockTimer *timer;
        Ledger *ledger;
        Delivery *delivery;
        const Schedule *schedule;
        Entry *heap;
        size_t n, alloc;
        Pending *pending;
        uint64_t sent, failed, missed, superseded;
        MetricsDepartment *depts; /* id and last_error owned here */
        size_t n_depts, alloc_depts;
        bool blocked;
        void (*changed)(void *);
        void *changed_userdata;
};

/* Counts an outcome, in total and for the department, and follows whether
 * delivery to the department works (README "/healthz"). */
static void count(Reminders *r, const char *dept, LedgerStatus s, const char *error, int64_t now)
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
        switch (s) {
        case LEDGER_SENT:
                r->sent++, d->sent++;
                d->failing_since = 0;
                free((char *)d->last_error);
                d->last_error = NULL;
                break;
        case LEDGER_FAILED:
                r->failed++, d->failed++;
                if (!d->failing_since)
                        d->failing_since = now;
                free((char *)d->last_error);
                d->last_error = xstrdup(error ? error : "failed");
                break;
        case LEDGER_MISSED: r->missed++, d->missed++; break;
        case LEDGER_SUPERSEDED: r->superseded++, d->superseded++; break;
        default: break;
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

static ReminderKey key_of(const Occurrence *o, size_t reminder, size_t dept)
{
        const Meeting *m = o->meeting;
        return (ReminderKey){m->id, o->start, m->reminders[reminder].before, m->departments[dept]->id};
}

/* "sync/sales 15m before 2026-03-02T10:00:00Z" */
static char *label_of(const Occurrence *o, size_t reminder, size_t dept)
{
        const Meeting *m = o->meeting;
        char start[32];
        tz_format_rfc3339(icaltimezone_get_utc_timezone(), o->start, start);
        return xasprintf("reminder %s/%s %s before %s", m->id, m->departments[dept]->id, m->reminders[reminder].text,
                         start);
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
        int64_t now = clock_now();
        if (r->blocked || ledger_backlog(r->ledger) > 0)
                /* Retry the ledger; a due reminder is not dropped meanwhile. */
                clock_timer_at(r->timer, clock_now_usec() + REMINDERS_RETRY_USEC);
        else if (r->n > 0)
                clock_timer_at(r->timer, (r->heap[0].due > now ? r->heap[0].due : now) * USEC_PER_SEC);
        else
                clock_timer_off(r->timer);
        if (r->changed)
                r->changed(r->changed_userdata);
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

static void on_done(void *userdata, const DeliverResult *res)
{
        Pending *p = userdata;
        Reminders *r = p->owner;
        int64_t now = clock_now();
        LedgerStatus s = res->ok ? LEDGER_SENT : LEDGER_FAILED;
        ledger_record(r->ledger, &p->key, s, res->http_status, res->error, now);
        count(r, p->department, s, res->error, now);
        pending_free(r, p);
}

/* The delivery gate: every attempt of the pass on disk, or none leaves. */
static int gate(void *userdata, void *const *jobs, size_t n)
{
        Reminders *r = userdata;
        _cleanup_free_ const ReminderKey **keys = xcalloc(n, sizeof(ReminderKey *));
        for (size_t i = 0; i < n; i++)
                keys[i] = &((Pending *)jobs[i])->key;
        return ledger_attempts(r->ledger, keys, n, clock_now());
}

static void pass_end(void *userdata)
{
        Reminders *r = userdata;
        if (ledger_backlog(r->ledger) > 0)
                ledger_flush(r->ledger, clock_now());
        arm(r);
}

static int send_reminder(Reminders *r, const Entry *e, int64_t now)
{
        const Meeting *m = e->occ.meeting;
        const Department *d = m->departments[e->dept];
        const Reminder *rem = &m->reminders[e->reminder];
        ReminderKey k = key_of(&e->occ, e->reminder, e->dept);
        ChatMessage msg;

        chat_reminder(m, d, &e->occ, rem, now, &msg);
        if (d->chat == CHAT_CONSOLE) {
                const ReminderKey *keys[] = {&k};
                if (ledger_attempts(r->ledger, keys, 1, now) < 0) {
                        chat_message_free(&msg);
                        return -EIO;
                }
                printf("%s\n", msg.line);
                fflush(stdout);
                ledger_record(r->ledger, &k, LEDGER_SENT, 0, NULL, now);
                count(r, d->id, LEDGER_SENT, NULL, now);
                chat_message_free(&msg);
                return 0;
        }
        Pending *p = xcalloc(1, sizeof(Pending));
        p->owner = r;
        p->meeting = xstrdup(m->id);
        p->department = xstrdup(d->id);
        p->key = (ReminderKey){p->meeting, k.start, k.offset, p->department};
        p->next = r->pending;
        r->pending = p;
        _cleanup_free_ char *label = label_of(&e->occ, e->reminder, e->dept);
        DeliverCallbacks cb = {on_done};
        deliver_submit(r->delivery, d->webhook, &msg, e->occ.start * USEC_PER_SEC, label, &cb, p);
        return 0;
}

/* One due entry: what the ledger says of every reminder of its occurrence
 * for the department, then outbox_decide(). -EIO when the ledger cannot be
 * read: nothing is decided then. */
static int fire(Reminders *r, const Entry *e, int64_t now)
{
        const Meeting *m = e->occ.meeting;
        OutboxSlot slots[m->n_reminders];
        for (size_t i = 0; i < m->n_reminders; i++) {
                ReminderKey k = key_of(&e->occ, i, e->dept);
                slots[i] = (OutboxSlot){.before = m->reminders[i].before, .in_flight = pending_find(r, &k) != NULL};
                if (ledger_get(r->ledger, &k, &slots[i].row) < 0)
                        return -EIO;
        }
        ReminderKey k = key_of(&e->occ, e->reminder, e->dept);
        _cleanup_free_ char *label = NULL;
        switch (outbox_decide(slots, m->n_reminders, e->reminder, e->occ.start, now)) {
        case OUTBOX_SEND:
                return send_reminder(r, e, now);
        case OUTBOX_SUPERSEDE:
                label = label_of(&e->occ, e->reminder, e->dept);
                log_info("%s: superseded: overdue, and a later reminder of the same meeting follows soon", label);
                ledger_record(r->ledger, &k, LEDGER_SUPERSEDED, 0, NULL, now);
                count(r, k.department, LEDGER_SUPERSEDED, NULL, now);
                return 0;
        case OUTBOX_MISS:
                label = label_of(&e->occ, e->reminder, e->dept);
                log_warning("%s: missed: the meeting started before it could be sent", label);
                ledger_record(r->ledger, &k, LEDGER_MISSED, 0, NULL, now);
                count(r, k.department, LEDGER_MISSED, NULL, now);
                return 0;
        case OUTBOX_FAIL:
                label = label_of(&e->occ, e->reminder, e->dept);
                log_warning("%s: failed: the meeting started while it was being sent", label);
                ledger_record(r->ledger, &k, LEDGER_FAILED, slots[e->reminder].row.http_status,
                              "the meeting started before it could be sent", now);
                count(r, k.department, LEDGER_FAILED, "the meeting started before it could be sent", now);
                return 0;
        case OUTBOX_WAIT:
        case OUTBOX_DONE:
                return 0;
        }
        return 0;
}

/* Everything due by now, then one write of the outcomes. */
static void on_timer(void *userdata)
{
        Reminders *r = userdata;
        int64_t now = clock_now();
        r->blocked = false;
        while (r->n > 0 && r->heap[0].due <= now) {
                if (fire(r, &r->heap[0], now) < 0) {
                        r->blocked = true; /* fail closed: the entry stays, retried later */
                        break;
                }
                Entry e = heap_pop(r);
                schedule_entry(r, e.occ.meeting, e.reminder, e.dept, e.occ.start);
        }
        ledger_flush(r->ledger, now);
        arm(r);
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
                                if (fire(r, &e, now) < 0)
                                        return; /* the ledger cannot be read: they stay as they are */
                        }
        }
}

void reminders_load(Reminders *r, const Schedule *s, bool startup)
{
        int64_t now = clock_now(), alive;
        r->schedule = s;
        r->n = 0;
        if (startup && ledger_get_alive(r->ledger, &alive) == 0 && alive < now)
                record_missed(r, s, alive, now);
        for (size_t i = 0; i < s->config->n_meetings; i++) {
                const Meeting *m = &s->config->meetings[i];
                for (size_t ri = 0; ri < m->n_reminders; ri++)
                        for (size_t di = 0; di < m->n_departments; di++)
                                schedule_entry(r, m, ri, di, now);
        }
        /* Reminders already due (downtime, a new offset) go out now. */
        on_timer(r);
}

int reminders_new(sd_event *e, Ledger *ledger, Delivery *delivery, Reminders **ret)
{
        Reminders *r = xcalloc(1, sizeof(Reminders));
        r->event = sd_event_ref(e);
        r->ledger = ledger;
        r->delivery = delivery;
        deliver_set_gate(delivery, gate, pass_end, r);
        int k = clock_timer_new(e, "reminders", on_timer, r, &r->timer);
        if (k < 0) {
                reminders_free(r);
                return k;
        }
        *ret = r;
        return 0;
}

Reminders *reminders_free(Reminders *r)
{
        if (!r)
                return NULL;
        while (r->pending)
                pending_free(r, r->pending);
        clock_timer_free(r->timer);
        sd_event_unref(r->event);
        for (size_t i = 0; i < r->n_depts; i++) {
                free((char *)r->depts[i].id);
                free((char *)r->depts[i].last_error);
        }
        free(r->depts);
        free(r->heap);
        free(r);
        return NULL;
}

void reminders_set_listener(Reminders *r, void (*changed)(void *), void *userdata)
{
        r->changed = changed;
        r->changed_userdata = userdata;
}

void reminders_stats(const Reminders *r, ReminderStats *ret)
{
        *ret = (ReminderStats){r->sent, r->failed, r->missed, r->superseded, r->n, r->n ? r->heap[0].due : 0, r->blocked};
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
