/* reminder.c — the heap of messages due (reminders, and notices of
 * cancelled and moved occurrences), catch-up after downtime, the notices a
 * changed plan owes, and the hand-off to chat and delivery with the ledger
 * in between. Decisions come from outbox.c; every ledger call's result
 * changes what happens next. */
#include "reminder.h"

#include <errno.h>

#include "clock.h"
#include "log.h"
#include "outbox.h"
#include "util.h"

/* A message due: the next reminder of one (meeting, offset, department),
 * or a notice about one occurrence for one department. */
typedef struct Entry {
        int64_t due;
        MessageKind kind;
        Occurrence occ;    /* reminders: the occurrence held; notices: as it is now */
        int64_t told;      /* notices: the start people were told (0: none) */
        int64_t key_start; /* notices: the occurrence told of (RECURRENCE-ID) */
        size_t reminder, dept;
} Entry;

/* How far from what people were told a changed rule's occurrence may lie
 * and still be "the same meeting, moved" rather than one cancelled. */
#define MATCH_WINDOW (3 * 86400)
/* A change made by a reload is announced at once for the occurrences whose
 * first reminder is due this soon (README "Holidays and changes"). */
#define ANNOUNCE_SOON (24 * 3600)

/* A reminder handed to delivery. It owns copies of its key, because a
 * reload may free the config while the request is still in flight. */
typedef struct Pending {
        struct Pending *next;
        Reminders *owner;
        char *meeting, *department;
        MessageKey key;
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
        int64_t hosts_until;      /* the hosts due up to here are recorded */
        bool hosts_failing;       /* recording them failed: said once */
        bool held;                /* a reload is under way: nothing goes out */
        int64_t prepare_from;     /* reminders_prepare() asks from here */
        uint64_t submitted;       /* requests handed to delivery */
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

/* A reminder's key names its occurrence by RECURRENCE-ID, which a move
 * does not change: a reminder sent before a move is not sent again. */
static MessageKey key_of(const Occurrence *o, size_t reminder, size_t dept)
{
        const Meeting *m = o->meeting;
        return (MessageKey){MESSAGE_REMINDER, m->id, o->rid, m->reminders[reminder].before, m->departments[dept]->id,
                            o->start};
}

/* A notice's key: the occurrence told of, and what it announces (a second
 * move is a new notice). */
static MessageKey notice_key(const Entry *e)
{
        const Meeting *m = e->occ.meeting;
        int64_t announced = e->kind == MESSAGE_MOVED ? e->occ.start : 0;
        return (MessageKey){e->kind, m->id, e->key_start, announced, m->departments[e->dept]->id, announced};
}

static MessageKey entry_key(const Entry *e)
{
        return e->kind == MESSAGE_REMINDER ? key_of(&e->occ, e->reminder, e->dept) : notice_key(e);
}

/* "reminder sync/sales 15m before 2026-03-02T10:00:00Z", "moved notice
 * sync/sales of 2026-03-02T10:00:00Z" */
static char *label_of(const Entry *e)
{
        const Meeting *m = e->occ.meeting;
        char start[32];
        if (e->kind != MESSAGE_REMINDER) {
                tz_format_rfc3339(icaltimezone_get_utc_timezone(), e->told ? e->told : e->key_start, start);
                return xasprintf("%s notice %s/%s of %s", ledger_kind_names[e->kind], m->id, m->departments[e->dept]->id,
                                 start);
        }
        tz_format_rfc3339(icaltimezone_get_utc_timezone(), e->occ.start, start);
        return xasprintf("reminder %s/%s %s before %s", m->id, m->departments[e->dept]->id,
                         m->reminders[e->reminder].text, start);
}

/* When a notice no longer helps: the meeting took (or would have taken)
 * place. */
static int64_t notice_deadline(const Entry *e)
{
        return e->kind == MESSAGE_CANCELLED ? e->told : e->occ.start;
}

/* Queues the reminder for the first occurrence that starts after `after`. */
static void schedule_entry(Reminders *r, const Meeting *m, size_t reminder, size_t dept, int64_t after)
{
        Occurrence o;
        if (!schedule_next(r->schedule, m, after + 1, &o))
                return;
        heap_push(r, (Entry){.due = o.start - m->reminders[reminder].before, .kind = MESSAGE_REMINDER, .occ = o,
                             .reminder = reminder, .dept = dept});
}

static void push_notice(Reminders *r, int64_t due, MessageKind kind, const Occurrence *o, int64_t told,
                        int64_t key_start, size_t dept)
{
        heap_push(r, (Entry){.due = due, .kind = kind, .occ = *o, .told = told, .key_start = key_start, .dept = dept});
}

static void arm(Reminders *r)
{
        int64_t now = clock_now();
        if (r->blocked || ledger_error(r->ledger))
                /* Retry the ledger; a due reminder is not dropped meanwhile.
                 * (Outcomes waiting for their pass's end are no failure.) */
                clock_timer_at(r->timer, clock_now_usec() + REMINDERS_RETRY_USEC);
        else if (r->n > 0) {
                const Entry *e = &r->heap[0];
                clock_timer_at(r->timer, (e->due > now ? e->due : now) * USEC_PER_SEC);
                if (e->occ.meeting->departments[e->dept]->chat != CHAT_CONSOLE)
                        deliver_expect(r->delivery, e->due * USEC_PER_SEC);
        } else
                clock_timer_off(r->timer);
        if (r->changed)
                r->changed(r->changed_userdata);
}

static Pending *pending_find(Reminders *r, const MessageKey *k)
{
        for (Pending *p = r->pending; p; p = p->next)
                if (p->key.kind == k->kind && p->key.start == k->start && p->key.offset == k->offset &&
                    streq(p->meeting, k->meeting) && streq(p->department, k->department))
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
static int gate(void *userdata, void *const *jobs, size_t n, bool outcomes)
{
        Reminders *r = userdata;
        _cleanup_free_ const MessageKey **keys = xcalloc(n, sizeof(MessageKey *));
        for (size_t i = 0; i < n; i++)
                keys[i] = &((Pending *)jobs[i])->key;
        return ledger_attempts(r->ledger, keys, n, outcomes, clock_now());
}

static void pass_end(void *userdata)
{
        Reminders *r = userdata;
        if (ledger_backlog(r->ledger) > 0)
                ledger_flush(r->ledger, clock_now());
        arm(r);
}

/* The message for the entry, in the department's chat. */
static void compose(Reminders *r, const Entry *e, int64_t now, ChatMessage *msg)
{
        const Meeting *m = e->occ.meeting;
        const Department *d = m->departments[e->dept];
        if (e->kind == MESSAGE_REMINDER) {
                chat_reminder(m, d, &e->occ, &m->reminders[e->reminder], now, msg);
                return;
        }
        ChatNotice n = {.cancelled = e->kind == MESSAGE_CANCELLED, .original_start = e->told,
                        .original_end = e->told + m->duration, .start = e->occ.start, .end = e->occ.end,
                        .reason = e->occ.reason};
        Occurrence next;
        if (n.cancelled && schedule_next(r->schedule, m, e->told + 1, &next))
                n.next = next.start;
        chat_notice(m, d, &n, msg);
}

static int send_message(Reminders *r, const Entry *e, int64_t now)
{
        const Meeting *m = e->occ.meeting;
        const Department *d = m->departments[e->dept];
        MessageKey k = entry_key(e);
        ChatMessage msg;

        compose(r, e, now, &msg);
        if (d->chat == CHAT_CONSOLE) {
                const MessageKey *keys[] = {&k};
                /* Standard output is one "URL": the last line's outcome is
                 * on disk before the next line is written. */
                if (ledger_attempts(r->ledger, keys, 1, true, now) < 0) {
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
        p->key = (MessageKey){k.kind, p->meeting, k.start, k.offset, p->department, k.told};
        p->next = r->pending;
        r->pending = p;
        _cleanup_free_ char *label = label_of(e);
        DeliverCallbacks cb = {on_done};
        int64_t deadline = e->kind == MESSAGE_REMINDER ? e->occ.start : notice_deadline(e);
        deliver_submit(r->delivery, d->webhook, &msg, deadline * USEC_PER_SEC, label, &cb, p);
        r->submitted++;
        return 0;
}

/* What the ledger (and this process) says of the entry's reminder and its
 * siblings, or of the notice alone: the outbox's slots. -EIO when the
 * ledger cannot be read. */
static int slots_of(Reminders *r, const Entry *e, OutboxSlot *slots, size_t *n, size_t *self, int64_t *start)
{
        const Meeting *m = e->occ.meeting;
        if (e->kind != MESSAGE_REMINDER) {
                MessageKey k = notice_key(e);
                *start = notice_deadline(e);
                slots[0] = (OutboxSlot){.before = *start - e->due, .in_flight = pending_find(r, &k) != NULL};
                *n = 1;
                *self = 0;
                return ledger_get(r->ledger, &k, &slots[0].row);
        }
        for (size_t i = 0; i < m->n_reminders; i++) {
                MessageKey k = key_of(&e->occ, i, e->dept);
                slots[i] = (OutboxSlot){.before = m->reminders[i].before, .in_flight = pending_find(r, &k) != NULL};
                if (ledger_get(r->ledger, &k, &slots[i].row) < 0)
                        return -EIO;
        }
        *n = m->n_reminders;
        *self = e->reminder;
        *start = e->occ.start;
        return 0;
}

/* One due entry: outbox_decide() on what the ledger says, then act. -EIO
 * when the ledger cannot be read: nothing is decided then. */
static int fire(Reminders *r, const Entry *e, int64_t now)
{
        const Meeting *m = e->occ.meeting;
        OutboxSlot slots[m->n_reminders + 1];
        size_t n, self;
        int64_t start;
        if (slots_of(r, e, slots, &n, &self, &start) < 0)
                return -EIO;
        MessageKey k = entry_key(e);
        _cleanup_free_ char *label = NULL;
        switch (outbox_decide(slots, n, self, start, now)) {
        case OUTBOX_SEND:
                return send_message(r, e, now);
        case OUTBOX_SUPERSEDE:
                label = label_of(e);
                log_info("%s: superseded: overdue, and a later reminder of the same meeting follows soon", label);
                ledger_record(r->ledger, &k, LEDGER_SUPERSEDED, 0, NULL, now);
                count(r, k.department, LEDGER_SUPERSEDED, NULL, now);
                return 0;
        case OUTBOX_MISS:
                label = label_of(e);
                log_warning("%s: missed: the meeting started before it could be sent", label);
                ledger_record(r->ledger, &k, LEDGER_MISSED, 0, NULL, now);
                count(r, k.department, LEDGER_MISSED, NULL, now);
                return 0;
        case OUTBOX_FAIL:
                label = label_of(e);
                log_warning("%s: failed: the meeting started while it was being sent", label);
                ledger_record(r->ledger, &k, LEDGER_FAILED, slots[self].row.http_status,
                              "the meeting started before it could be sent", now);
                count(r, k.department, LEDGER_FAILED, "the meeting started before it could be sent", now);
                return 0;
        case OUTBOX_WAIT:
        case OUTBOX_DONE:
                return 0;
        }
        return 0;
}

void reminders_record_hosts(Reminders *r)
{
        int64_t now = clock_now();
        History due = {0};
        if (!r->schedule || now <= r->hosts_until)
                return;
        schedule_turns_due(r->schedule, r->hosts_until, now, &due);
        if (ledger_record_hosts(r->ledger, &due, now) == 0) {
                if (r->hosts_failing)
                        log_info("ledger: who hosts is recorded again");
                r->hosts_until = now;
                r->hosts_failing = false;
        } else if (!r->hosts_failing) {
                log_warning("ledger: cannot record who hosts: %s; trying again at every pass",
                            ledger_error(r->ledger) ? ledger_error(r->ledger) : "write failed");
                r->hosts_failing = true;
        }
        history_clear(&due);
}

/* Everything due by now, then one write of the outcomes, and who hosts
 * the occurrences announced by now (README "Host rotation and pairings"). */
static void on_timer(void *userdata)
{
        Reminders *r = userdata;
        int64_t now = clock_now();
        if (r->held)
                return; /* reminders_hold(r, false) or reminders_load() calls again */
        r->blocked = false;
        uint64_t submitted = r->submitted;
        while (r->n > 0 && r->heap[0].due <= now) {
                if (fire(r, &r->heap[0], now) < 0) {
                        r->blocked = true; /* fail closed: the entry stays, retried later */
                        break;
                }
                Entry e = heap_pop(r);
                if (e.kind == MESSAGE_REMINDER)
                        schedule_entry(r, e.occ.meeting, e.reminder, e.dept, e.occ.start);
        }
        /* The outcomes recorded here (console lines, missed, superseded)
         * are written now; but where requests were handed to delivery,
         * after them, at their pass's end: a request waits for no disk
         * sync of outcomes that are not its URL's (deliver.h). */
        if (r->submitted == submitted)
                ledger_flush(r->ledger, now);
        reminders_record_hosts(r);
        arm(r);
}

/* Reminders of meetings that started while the daemon was down: nothing
 * can be sent for them any more, but the ledger says what happened. That
 * includes reminders due before `since` which the stop or crash cut off
 * (still "sending": in flight, or waiting to retry): fire() records them
 * as failed, where they would otherwise stay "sending" for ever. */
static void record_missed(Reminders *r, const Schedule *s, int64_t since, int64_t now)
{
        for (size_t i = 0; i < s->config->n_meetings; i++) {
                const Meeting *m = &s->config->meetings[i];
                Occurrence next;
                /* Asked first as the next occurrence from `since`: after a
                 * short downtime most meetings have none, and the answer,
                 * cached, is the one their reminders ask for next. */
                if (m->n_reminders == 0 || !schedule_next(s, m, since, &next) || next.start > now)
                        continue;
                _cleanup_free_ Occurrence *occ = NULL;
                size_t n = schedule_meeting_occurrences(s, m, since, now + 1, &occ);
                for (size_t k = 0; k < n; k++)
                        for (size_t ri = 0; ri < m->n_reminders; ri++)
                                for (size_t di = 0; di < m->n_departments; di++) {
                                        Entry e = {.due = occ[k].start - m->reminders[ri].before,
                                                   .kind = MESSAGE_REMINDER, .occ = occ[k], .reminder = ri, .dept = di};
                                        if (fire(r, &e, now) < 0)
                                                return; /* the ledger cannot be read: they stay as they are */
                                }
        }
}

/* The notices the plan itself owes: each skipped or moved occurrence still
 * to come, announced when its first reminder would have gone. */
static void plan_notices(Reminders *r, const Schedule *s, int64_t now)
{
        for (size_t i = 0; i < s->config->n_meetings; i++) {
                const Meeting *m = &s->config->meetings[i];
                for (size_t k = 0; k < s->n_plan[i]; k++) {
                        Occurrence o;
                        if (!schedule_occurrence(s, m, s->plan[i][k].rid, &o))
                                continue;
                        int64_t due = schedule_notice_due(&o);
                        int64_t until = o.status == OCCURRENCE_CANCELLED ? o.rid : o.start;
                        if (due < 0 || until <= now)
                                continue;
                        for (size_t di = 0; di < m->n_departments; di++)
                                push_notice(r, due, o.status == OCCURRENCE_CANCELLED ? MESSAGE_CANCELLED : MESSAGE_MOVED,
                                            &o, o.rid, o.rid, di);
                }
        }
}

static const Told *told_find(const Told *t, size_t n, const char *meeting, int64_t rid, const char *dept)
{
        for (size_t i = 0; i < n; i++)
                if (t[i].start == rid && streq(t[i].meeting, meeting) && streq(t[i].department, dept))
                        return &t[i];
        return NULL;
}

static ssize_t dept_index(const Meeting *m, const char *id)
{
        for (size_t i = 0; i < m->n_departments; i++)
                if (streq(m->departments[i]->id, id))
                        return (ssize_t)i;
        return -1;
}

/* Is id the pair meeting m's, or its sibling's of another epoch
 * ("<pairing>.<a>.<b>" or "<pairing>.<a>.<b>.<n>")? */
static bool pair_named(const Meeting *m, const char *id)
{
        if (!m->pair.pairing)
                return false;
        _cleanup_free_ char *base = xasprintf("%s.%s.%s", m->pair.pairing->template.id, m->departments[0]->id,
                                              m->departments[1]->id);
        size_t n = strlen(base);
        return strncmp(id, base, n) == 0 && (!id[n] || (id[n] == '.' && id[n + 1] && strspn(id + n + 1, "0123456789") ==
                                                                                          strlen(id + n + 1)));
}

/* The meeting of the new plan that id names: itself, or, for a pair whose
 * epoch has no round any more, the same two departments' pair now. */
static const Meeting *meeting_named(const Schedule *s, const StrMap *ids, const char *id)
{
        const Meeting *m = strmap_get(ids, id);
        if (m)
                return m;
        for (size_t i = 0; i < s->config->n_meetings; i++)
                if (pair_named(&s->config->meetings[i], id))
                        return &s->config->meetings[i];
        return NULL;
}

/* The same meeting for the people told of it: m itself, or, after its
 * pairing's departments changed, the pair of the same two departments in
 * the new epoch (README "Host rotation and pairings"). */
static bool same_meeting(const Meeting *a, const Meeting *b)
{
        return a == b || (b->pair.pairing && pair_named(a, b->id));
}

/* The rule changed under an occurrence people were told of: the nearest
 * occurrence of the new rule within MATCH_WINDOW that nobody was told of,
 * "the same meeting, moved". */
static bool match_moved(Reminders *r, const Meeting *m, const Told *told, const Told *all, size_t n_all,
                        Occurrence *ret)
{
        _cleanup_free_ Occurrence *occ = NULL;
        size_t n = schedule_occurrences(r->schedule, told->told - MATCH_WINDOW, told->told + MATCH_WINDOW, NULL, false,
                                        &occ);
        bool found = false;
        for (size_t i = 0; i < n; i++) {
                if (!same_meeting(occ[i].meeting, m))
                        continue;
                /* An occurrence people were told of is another meeting's
                 * news, unless it is what the move announced. */
                const Told *other = told_find(all, n_all, occ[i].meeting->id, occ[i].rid, told->department);
                if (other && other->told != told->told)
                        continue;
                int64_t dist = llabs(occ[i].start - told->told);
                if (!found || dist < llabs(ret->start - told->told)) {
                        *ret = occ[i];
                        found = true;
                }
        }
        return found;
}

/* A reminder already sent for the occurrence people were told of stands
 * for the same reminder of the occurrence it became: recorded as sent (the
 * notice tells the new time), so it is not sent again. */
static void cover(Reminders *r, const Meeting *m, const Told *told, const Occurrence *now_occ, size_t di,
                  int64_t now)
{
        for (size_t k = 0; k < m->n_reminders; k++) {
                MessageKey was = {MESSAGE_REMINDER, m->id, told->start, m->reminders[k].before, told->department,
                                  told->told};
                MessageKey is = key_of(now_occ, k, di);
                LedgerRow a, b;
                if (ledger_get(r->ledger, &was, &a) == 0 && a.status == LEDGER_SENT &&
                    ledger_get(r->ledger, &is, &b) == 0 && b.status == LEDGER_NONE)
                        ledger_record(r->ledger, &is, LEDGER_SENT, 0, "went out before the meeting moved", now);
        }
}

/* One occurrence people were told of, against the plan now: a notice at
 * once if it moved or was cancelled since. */
static void diff_one(Reminders *r, const StrMap *ids, const Told *t, const Told *all, size_t n_all, int64_t now)
{
        const Schedule *s = r->schedule;
        const Meeting *m = meeting_named(s, ids, t->meeting);
        ssize_t di = m ? dept_index(m, t->department) : -1;
        if (di < 0 || t->told == 0)
                return; /* a meeting or department gone; or told it is cancelled */
        Occurrence o;
        if (schedule_occurrence(s, m, t->start, &o)) {
                if (o.status == OCCURRENCE_CANCELLED)
                        push_notice(r, now, MESSAGE_CANCELLED, &o, t->told, t->start, (size_t)di);
                else if (o.start != t->told && o.start > now)
                        push_notice(r, now, MESSAGE_MOVED, &o, t->told, t->start, (size_t)di);
                return;
        }
        if (t->told <= now)
                return;
        /* The rule no longer has it: a new time, day or zone for the whole
         * meeting. */
        if (match_moved(r, m, t, all, n_all, &o)) {
                if (o.start != t->told) {
                        cover(r, m, t, &o, (size_t)di, now);
                        push_notice(r, now, MESSAGE_MOVED, &o, t->told, t->start, (size_t)di);
                }
                return;
        }
        Occurrence gone = {m, t->told, t->told + m->duration, t->start, OCCURRENCE_CANCELLED, NULL, NULL};
        push_notice(r, now, MESSAGE_CANCELLED, &gone, t->told, t->start, (size_t)di);
}

/* What people were told, against the new plan: the ledger's last word on
 * each occurrence still to come, and, on a reload, the old plan's
 * occurrences whose first reminder is due within ANNOUNCE_SOON. */
static void diff(Reminders *r, const Schedule *old, int64_t now)
{
        Told *told = NULL;
        size_t n = 0, alloc = 0;
        if (ledger_told(r->ledger, now, &told, &n) < 0) {
                log_warning("ledger: cannot read what was announced; changes are announced when their notice is due");
                return;
        }
        alloc = n;
        /* The new plan's meetings by id: one lookup per occurrence told. */
        StrMap ids = {0};
        const Schedule *s = r->schedule;
        for (size_t i = 0; i < s->config->n_meetings; i++)
                strmap_put(&ids, s->config->meetings[i].id, &s->config->meetings[i]);
        for (size_t i = 0; old && i < old->config->n_meetings; i++) {
                const Meeting *m = &old->config->meetings[i], *now_m;
                if (m->n_reminders == 0)
                        continue;
                int64_t earliest = meeting_first_reminder(m), to = now + ANNOUNCE_SOON + earliest + 1;
                if (!schedule_may_start(old, m, now, to))
                        continue;
                /* The same VEVENTs in the new plan: the same occurrences, so
                 * nothing to announce (most meetings of a reload; the
                 * fingerprint is asked of the new plan's meeting once, and
                 * its feeds reuse it, where expanding the old one means
                 * reading its text back and an iterator). */
                if ((now_m = strmap_get(&ids, m->id)) &&
                    schedule_same_events(old, i, s, (size_t)(now_m - s->config->meetings)))
                        continue;
                _cleanup_free_ Occurrence *soon = NULL;
                size_t n_soon = schedule_meeting_occurrences(old, m, now, to, &soon);
                for (size_t j = 0; j < n_soon; j++) {
                        int64_t first = soon[j].start - earliest;
                        if (first <= now || first > now + ANNOUNCE_SOON)
                                continue;
                        for (size_t di = 0; di < m->n_departments; di++)
                                if (!told_find(told, n, m->id, soon[j].rid, m->departments[di]->id)) {
                                        GROW(told, n, alloc);
                                        told[n++] = (Told){xstrdup(m->id), xstrdup(m->departments[di]->id),
                                                           soon[j].rid, soon[j].start};
                                }
                }
        }
        for (size_t i = 0; i < n; i++)
                diff_one(r, &ids, &told[i], told, n, now);
        strmap_free(&ids);
        ledger_told_free(told, n);
}

void reminders_load(Reminders *r, const Schedule *s, const Schedule *old, bool startup)
{
        int64_t now = clock_now(), alive;
        r->held = false;
        r->schedule = s;
        r->n = 0;
        r->hosts_until = INT64_MIN; /* from the start: recording is idempotent */
        if (startup && ledger_get_alive(r->ledger, &alive) == 0 && alive < now)
                record_missed(r, s, alive, now);
        for (size_t i = 0; i < s->config->n_meetings; i++) {
                const Meeting *m = &s->config->meetings[i];
                for (size_t ri = 0; ri < m->n_reminders; ri++)
                        for (size_t di = 0; di < m->n_departments; di++)
                                schedule_entry(r, m, ri, di, now);
        }
        plan_notices(r, s, now);
        diff(r, old, now);
        /* Messages already due (downtime, a new offset, a change) go out now. */
        on_timer(r);
}

void reminders_prepare(Reminders *r, const Schedule *s, size_t first, size_t n, bool startup)
{
        int64_t now = clock_now(), alive;
        if (first == 0)
                r->prepare_from = startup && ledger_get_alive(r->ledger, &alive) == 0 && alive < now ? alive : now + 1;
        /* record_missed() asks from when the daemon was last alive, the
         * reminders from now: the answer from the earlier stands for both
         * unless an occurrence lies between (schedule_next). */
        for (size_t i = first; i < first + n && i < s->config->n_meetings; i++) {
                Occurrence o;
                if (s->config->meetings[i].n_reminders > 0)
                        schedule_next(s, &s->config->meetings[i], r->prepare_from, &o);
        }
}

void reminders_hold(Reminders *r, bool hold)
{
        r->held = hold;
        if (!hold)
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
