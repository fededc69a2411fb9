/* pairing.c — pairings to generated meetings, epoch by epoch. */
#include "pairing.h"

#include "rotation.h"
#include "schedule.h"
#include "util.h"

static Reminder *reminders_copy(const Meeting *t)
{
        Reminder *v = xcalloc(t->n_reminders + 1, sizeof(Reminder));
        for (size_t i = 0; i < t->n_reminders; i++)
                v[i] = (Reminder){t->reminders[i].before, xstrdup(t->reminders[i].text)};
        return v;
}

/* Every change of the pairing (skips: moves are refused) goes to every
 * pair; the plan applies those that fall on the pair's rounds. */
static void changes_copy(const Meeting *t, Meeting *g)
{
        g->changes = xcalloc(t->n_changes + 1, sizeof(Change));
        for (size_t i = 0; i < t->n_changes; i++) {
                g->changes[i] = t->changes[i];
                g->changes[i].reason = t->changes[i].reason ? xstrdup(t->changes[i].reason) : NULL;
        }
        g->n_changes = t->n_changes;
        g->skip = xcalloc(t->n_skip + 1, sizeof(Date));
        if (t->n_skip)
                memcpy(g->skip, t->skip, t->n_skip * sizeof(Date));
        g->n_skip = t->n_skip;
}

typedef struct Slot {
        const Epoch *epoch;
        int64_t from;     /* the epoch's first round */
        int64_t until;    /* the next epoch's start, or INT64_MAX */
        unsigned offset, cycle;
        int64_t first;    /* the pair's first round (rule encoding) */
} Slot;

static void append(Config *c, Meeting g)
{
        c->meetings = xrealloc(c->meetings, (c->n_meetings + 1) * sizeof(Meeting));
        c->meetings[c->n_meetings++] = g;
}

/* The meeting of departments a and b in the slot's epoch. */
static void pair_add(Config *c, const Pairing *p, Department *a, Department *b, const Slot *s)
{
        const Meeting *t = &p->template;
        Meeting g = {
                .id = s->epoch->n == 1 ? xasprintf("%s.%s.%s", t->id, a->id, b->id)
                                       : xasprintf("%s.%s.%s.%u", t->id, a->id, b->id, s->epoch->n),
                .title = xasprintf("%s: %s + %s", t->title, a->name, b->name),
                .departments = xcalloc(2, sizeof(Department *)),
                .n_departments = 2,
                .cadence = t->cadence, .interval = t->interval, .weekdays = t->weekdays,
                .month_ordinal = t->month_ordinal, .month_weekday = t->month_weekday, .month_day = t->month_day,
                .rrule = t->rrule ? xstrdup(t->rrule) : NULL,
                .hour = t->hour, .minute = t->minute, .duration = t->duration, .zone = t->zone,
                .start = t->start, .end = t->end, .has_end = t->has_end,
                .location = t->location ? xstrdup(t->location) : NULL,
                .description = t->description ? xstrdup(t->description) : NULL,
                .attendees = t->attendees,
                .reminders = reminders_copy(t), .n_reminders = t->n_reminders,
                .on_holiday = t->on_holiday,
                .pair = {p, s->epoch->n, s->from, s->until, s->offset, s->cycle, p->explicit_rounds},
                .src = t->src,
                .valid = true,
        };
        g.departments[0] = a, g.departments[1] = b;
        if (t->rotation) {
                g.rotation = xcalloc(2, sizeof(Department *));
                g.rotation[0] = a, g.rotation[1] = b;
                g.n_rotation = 2;
        }
        changes_copy(t, &g);
        if (!p->explicit_rounds) {
                /* One rule: the cadence, a cycle's length apart, from the
                 * pair's first round, up to the day before the next epoch. */
                g.interval = t->cadence == CADENCE_WEEKLY ? t->interval * s->cycle : s->cycle;
                g.start = tz_instant_to_wall(t->zone, s->first).date;
                if (s->until != INT64_MAX) {
                        Date last = date_from_days(date_to_days(tz_instant_to_wall(t->zone, s->until).date) - 1);
                        if (!g.has_end || date_to_days(last) < date_to_days(g.end))
                                g.end = last;
                        g.has_end = true;
                }
        }
        append(c, g);
}

/* The pairs of one epoch: its departments (those still in the config; a
 * pair of a department since removed is gone), and the rounds from its
 * start (the first epoch's: the pairing's, should `start` have moved). */
static void epoch_expand(Config *c, const Pairing *p, const Epoch *e, bool first, int64_t until)
{
        const Meeting *t = &p->template;
        size_t n = e->n_departments;
        unsigned cycle = rotation_cycle(n);
        _cleanup_free_ int64_t *rounds = NULL;
        size_t n_rounds = schedule_rule_starts(c, t, first ? INT64_MIN : e->from, until, cycle, &rounds);
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++) {
                        Department *a = config_department(c, e->departments[i]);
                        Department *b = config_department(c, e->departments[j]);
                        unsigned offset = rotation_round_of(n, i, j);
                        if (!a || !b || offset >= n_rounds)
                                continue; /* gone, or no round of the pair in this epoch */
                        Slot s = {e, first ? rounds[0] : e->from, until, offset, cycle, rounds[offset]};
                        pair_add(c, p, a, b, &s);
                }
}

static bool same_list(const Epoch *e, const Meeting *t)
{
        if (e->n_departments != t->n_departments)
                return false;
        for (size_t i = 0; i < t->n_departments; i++)
                if (!streq(e->departments[i], t->departments[i]->id))
                        return false;
        return true;
}

/* The pairing's epochs, as recorded and as the config's list decides now. */
static size_t epochs_of(Config *c, const Pairing *p, History *h, int64_t now, History *local, Epoch **ret)
{
        const Meeting *t = &p->template;
        _cleanup_free_ char **ids = xcalloc(t->n_departments + 1, sizeof(char *));
        for (size_t i = 0; i < t->n_departments; i++)
                ids[i] = t->departments[i]->id;
        _cleanup_free_ int64_t *first = NULL, *next = NULL;
        if (!h) {
                /* no ledger: one epoch from the start */
                if (schedule_rule_starts(c, t, INT64_MIN, INT64_MAX, 1, &first) == 0)
                        return 0;
                history_add_epoch(local, t->id, 1, first[0], ids, t->n_departments);
                *ret = local->epochs;
                return 1;
        }
        Epoch *latest = NULL;
        for (size_t i = 0; i < h->n_epochs; i++)
                if (streq(h->epochs[i].pairing, t->id))
                        latest = &h->epochs[i];
        /* the first round whose first reminder is still to come */
        int64_t next_round = schedule_rule_starts(c, t, now + meeting_first_reminder(t) + 1, INT64_MAX, 1, &next) ? next[0] : -1;
        switch (rotation_epoch(latest != NULL, latest && same_list(latest, t), latest ? latest->from : 0, next_round)) {
        case EPOCH_FIRST:
                if (schedule_rule_starts(c, t, INT64_MIN, INT64_MAX, 1, &first) == 0)
                        return 0;
                history_add_epoch(h, t->id, 1, first[0], ids, t->n_departments)->fresh = true;
                break;
        case EPOCH_REPLACE:
                strv_free(latest->departments, latest->n_departments);
                latest->departments = xcalloc(t->n_departments + 1, sizeof(char *));
                for (size_t i = 0; i < t->n_departments; i++)
                        latest->departments[i] = xstrdup(ids[i]);
                latest->n_departments = t->n_departments;
                latest->fresh = true;
                break;
        case EPOCH_NEXT:
                history_add_epoch(h, t->id, latest->n + 1, next_round, ids, t->n_departments)->fresh = true;
                break;
        case EPOCH_KEEP:
        case EPOCH_ENDED:
                break;
        }
        /* this pairing's epochs are consecutive in h, by n */
        size_t at = h->n_epochs, n = 0;
        for (size_t i = 0; i < h->n_epochs; i++)
                if (streq(h->epochs[i].pairing, t->id)) {
                        at = at < i ? at : i;
                        n++;
                }
        *ret = n ? &h->epochs[at] : NULL;
        return n;
}

void pairing_expand(Config *c, History *h, int64_t now)
{
        for (size_t i = 0; i < c->n_pairings; i++) {
                Pairing *p = &c->pairings[i];
                p->first = c->n_meetings;
                p->n = 0;
                if (!p->template.valid)
                        continue;
                History local = {0};
                Epoch *epochs = NULL;
                size_t n = epochs_of(c, p, h, now, &local, &epochs);
                for (size_t k = 0; k < n; k++)
                        epoch_expand(c, p, &epochs[k], k == 0, k + 1 < n ? epochs[k + 1].from : INT64_MAX);
                p->n = c->n_meetings - p->first;
                history_clear(&local);
        }
}

char *pairing_cycle_text(const Pairing *p, size_t n)
{
        const Meeting *t = &p->template;
        unsigned cycle = rotation_cycle(n);
        if (p->explicit_rounds)
                return xasprintf("every pair once per %u round%s", cycle, cycle == 1 ? "" : "s");
        if (t->cadence == CADENCE_MONTHLY)
                return xasprintf("every pair once per %u month%s", cycle, cycle == 1 ? "" : "s");
        unsigned weeks = cycle * t->interval;
        return xasprintf("every pair once per %u week%s", weeks, weeks == 1 ? "" : "s");
}
