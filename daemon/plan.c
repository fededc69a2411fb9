/* plan.c — skips, moves and holidays among a meeting's occurrences. */
#include "plan.h"

#include "tz.h"
#include "util.h"

/* How far a holiday may push a meeting, either way: within its week. */
#define HOLIDAY_MOVE_MAX_DAYS 6

static Date local_date(icaltimezone *z, int64_t t)
{
        return tz_instant_to_wall(z, t).date;
}

/* Weekly cadences stay within the week (Monday to Sunday) of the
 * occurrence when a holiday moves them (README "Holidays and changes").
 * A rule is written in any case (RFC 5545 section 3.1: names are
 * case-insensitive): "rrule:freq=weekly" is weekly too. */
static bool weekly(const Meeting *m)
{
        return m->cadence == CADENCE_WEEKLY || (m->cadence == CADENCE_RRULE && strcasestr(m->rrule, "FREQ=WEEKLY"));
}

static int64_t week_of(Date d)
{
        /* date_weekday: 1 = Sunday ... 7 = Saturday; Monday starts a week. */
        return date_to_days(d) - (date_weekday(d) + 5) % 7;
}

/* The first holiday of any of the meeting's departments on the local
 * date (in its own zone) of instant t. */
static const char *holiday_at(const Meeting *m, int64_t t, PlanHolidayFn fn, void *userdata)
{
        for (size_t i = 0; fn && i < m->n_departments; i++) {
                const Department *d = m->departments[i];
                const char *name = fn(userdata, d, local_date(d->zone, t));
                if (name)
                        return name;
        }
        return NULL;
}

/* A working day for every department, and a holiday for none. */
static bool workable(const Meeting *m, int64_t t, PlanHolidayFn fn, void *userdata)
{
        for (size_t i = 0; i < m->n_departments; i++) {
                const Department *d = m->departments[i];
                if (!(d->working_days & (1u << date_weekday(local_date(d->zone, t)))))
                        return false;
        }
        return !holiday_at(m, t, fn, userdata);
}

/* Dates in the meeting's zone that an occurrence takes: the rule's, less
 * those moved away or skipped, plus where moves went. */
typedef struct Taken {
        int64_t *days;
        size_t n, alloc;
} Taken;

static bool taken_has(const Taken *t, int64_t day)
{
        for (size_t i = 0; i < t->n; i++)
                if (t->days[i] == day)
                        return true;
        return false;
}

static void taken_add(Taken *t, int64_t day)
{
        GROW(t->days, t->n, t->alloc);
        t->days[t->n++] = day;
}

static void taken_remove(Taken *t, int64_t day)
{
        for (size_t i = 0; i < t->n; i++)
                if (t->days[i] == day) {
                        t->days[i] = t->days[--t->n];
                        return;
                }
}

static int64_t move_target(const Meeting *m, const Change *c)
{
        int h = c->to_hour >= 0 ? c->to_hour : m->hour, min = c->to_hour >= 0 ? c->to_minute : m->minute;
        return tz_wall_to_instant(m->zone, (Wall){c->to, h, min, 0});
}

/* The nearest day before (dir -1) or after (dir 1) the occurrence, at the
 * meeting's time, that suits every department and no other occurrence
 * takes. */
static bool holiday_move(const Meeting *m, int64_t rid, int dir, const Taken *taken, PlanHolidayFn fn,
                         void *userdata, int64_t *ret)
{
        Date from = local_date(m->zone, rid);
        for (int k = 1; k <= HOLIDAY_MOVE_MAX_DAYS; k++) {
                Date d = date_from_days(date_to_days(from) + dir * k);
                if (weekly(m) && week_of(d) != week_of(from))
                        return false;
                if (taken_has(taken, date_to_days(d)))
                        continue;
                int64_t t = tz_wall_to_instant(m->zone, (Wall){d, m->hour, m->minute, 0});
                if (workable(m, t, fn, userdata)) {
                        *ret = t;
                        return true;
                }
        }
        return false;
}

static ssize_t rid_on(const Meeting *m, const int64_t *rids, size_t n, Date d)
{
        for (size_t i = 0; i < n; i++)
                if (date_to_days(local_date(m->zone, rids[i])) == date_to_days(d))
                        return (ssize_t)i;
        return -1;
}

static int exception_cmp(const void *a, const void *b)
{
        const Exception *x = a, *y = b;
        return x->rid < y->rid ? -1 : x->rid > y->rid;
}

static void add(Exception **v, size_t *n, size_t *alloc, Exception e)
{
        GROW(*v, *n, *alloc);
        (*v)[(*n)++] = e;
}

size_t plan_exceptions(const Meeting *m, const int64_t *rids, size_t n, int64_t horizon, PlanHolidayFn holiday,
                       void *userdata, Exception **ret, ChangeVerdict *verdicts)
{
        Exception *v = NULL;
        size_t nv = 0, alloc = 0;
        Taken taken = {0};
        bool *changed = xcalloc(n + 1, sizeof(bool));
        for (size_t i = 0; i < n; i++)
                taken_add(&taken, date_to_days(local_date(m->zone, rids[i])));

        /* By hand: what is skipped or moved away first, so that a move may
         * take a date another change freed. */
        for (size_t i = 0; i < m->n_changes; i++) {
                ssize_t k = rid_on(m, rids, n, m->changes[i].date);
                if (verdicts)
                        verdicts[i] = k < 0 ? CHANGE_NOT_AN_OCCURRENCE : CHANGE_OK;
                if (k >= 0)
                        taken_remove(&taken, date_to_days(m->changes[i].date));
        }
        for (size_t i = 0; i < m->n_changes; i++) {
                const Change *c = &m->changes[i];
                ssize_t k = rid_on(m, rids, n, c->date);
                if (k < 0)
                        continue;
                Exception e = {rids[k], !c->move, 0, c->reason ? xstrdup(c->reason) : NULL,
                               c->move ? EXCEPTION_MOVE : EXCEPTION_SKIP, c};
                if (c->move) {
                        e.start = move_target(m, c);
                        int64_t day = date_to_days(c->to);
                        if (taken_has(&taken, day) && verdicts)
                                verdicts[i] = CHANGE_ONTO_OCCURRENCE;
                        else if (holiday_at(m, e.start, holiday, userdata) && verdicts)
                                verdicts[i] = CHANGE_INTO_HOLIDAY;
                        taken_add(&taken, day);
                }
                changed[k] = true;
                add(&v, &nv, &alloc, e);
        }

        /* Holidays, for the occurrences nobody changed by hand. */
        for (size_t k = 0; holiday && m->on_holiday != ON_HOLIDAY_KEEP && k < n && rids[k] < horizon; k++) {
                const char *name = changed[k] ? NULL : holiday_at(m, rids[k], holiday, userdata);
                if (!name)
                        continue;
                Exception e = {rids[k], true, 0, xstrdup(name), EXCEPTION_HOLIDAY, NULL};
                if (m->on_holiday != ON_HOLIDAY_SKIP &&
                    holiday_move(m, rids[k], m->on_holiday == ON_HOLIDAY_BEFORE ? -1 : 1, &taken, holiday, userdata,
                                 &e.start)) {
                        e.cancelled = false;
                        taken_remove(&taken, date_to_days(local_date(m->zone, rids[k])));
                        taken_add(&taken, date_to_days(local_date(m->zone, e.start)));
                }
                add(&v, &nv, &alloc, e);
        }
        free(changed);
        free(taken.days);
        if (nv > 1)
                qsort(v, nv, sizeof *v, exception_cmp);
        *ret = v;
        return nv;
}

void plan_exceptions_free(Exception *e, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(e[i].reason);
        free(e);
}

const Exception *plan_exception(const Exception *e, size_t n, int64_t rid)
{
        for (size_t i = 0; i < n; i++)
                if (e[i].rid == rid)
                        return &e[i];
        return NULL;
}
