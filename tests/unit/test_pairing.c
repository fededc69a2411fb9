/* test_pairing.c — host rotation and pairings in the schedule (README "Host
 * rotation and pairings"): each occurrence's host and the overrides that
 * publish it, hosts remembered across a change of the order; a pairing's
 * pairs as one rule each or as single events, its epochs, its skips and
 * each pair's holidays. Instants are UTC, computed by the C library. */
#include "helpers.h"

#include "feed.h"
#include "pairing.h"
#include "tz.h"

typedef struct Built {
        Loaded l;
        Schedule *s;
        Diags diags;
        int r;
        char *text;
} Built;

/* As schedule_load() does: the config, its pairings expanded with the
 * history (NULL: none), the schedule. */
static Built build_with(const char *text, History *h, int64_t now)
{
        Built b = {0};
        b.l = load_text(text);
        if (b.l.r != 0)
                fail_msg("config_load = %d:\n%s", b.l.r, b.l.text);
        pairing_expand(b.l.config, h, now);
        b.r = schedule_new(b.l.config, &(ScheduleOptions){.now = now, .history = h}, &b.s, &b.diags);
        b.text = diags_text(&b.diags);
        if (b.r != 0)
                fail_msg("schedule_new = %d:\n%s", b.r, b.text);
        return b;
}

static void built_free(Built *b)
{
        schedule_free(b->s);
        diag_free(&b->diags);
        free(b->text);
        loaded_free(&b->l);
}

static const Meeting *meeting(const Built *b, const char *id)
{
        for (size_t i = 0; i < b->l.config->n_meetings; i++)
                if (streq(b->l.config->meetings[i].id, id))
                        return &b->l.config->meetings[i];
        fail_msg("no meeting %s", id);
        return NULL;
}

static size_t index_of(const Built *b, const char *id)
{
        return (size_t)(meeting(b, id) - b->l.config->meetings);
}

/* The VEVENTs published for meeting id (its series first, if any) as text,
 * one after the other. */
static char *published(const Built *b, const char *id)
{
        size_t i = index_of(b, id);
        Buf all = {0};
        buf_append(&all, "");
        if (b->s->events[i]) {
                _cleanup_free_ char *t = icalcomponent_as_ical_string_r(schedule_event(b->s, i));
                buf_append(&all, t);
        }
        for (size_t k = 0; k < b->s->n_exceptions[i]; k++) {
                _cleanup_free_ char *t = icalcomponent_as_ical_string_r(b->s->exceptions[i][k]);
                buf_append(&all, t);
        }
        return buf_steal(&all);
}

static size_t count(const char *hay, const char *needle)
{
        size_t n = 0;
        for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
                n++;
        return n;
}

#define DEPT(id, who) "[department:" id "]\nmanager = " who " <" id "@example.com>\n"
#define ABC DEPT("a", "Ann") DEPT("b", "Bob") DEPT("c", "Cy")
#define DAY_ 86400

/* ------------------------------------------------------------------ */
/* Host rotation                                                       */

#define ROTATING ABC "[meeting:m]\ntitle = M\ndepartments = a, b, c\nday = tuesday\ntime = 10:00\nstart = 2026-01-06\n" \
                     "host = rotate\nskip = 2026-01-20\nmove = 2026-01-27 -> 2026-01-28 (offsite)\n"

static void expect_hosts(const Built *b, int64_t from, int64_t to, const char *want)
{
        Occurrence *occ = NULL;
        size_t n = schedule_occurrences(b->s, from, to, NULL, true, &occ);
        Buf got = {0};
        buf_append(&got, "");
        for (size_t i = 0; i < n; i++)
                buf_printf(&got, "%s", occ[i].host ? occ[i].host->id : "-");
        if (!streq(got.s, want))
                fail_msg("hosts %s, want %s", got.s, want);
        buf_free(&got);
        free(occ);
}

static void test_rotation(void **state)
{
        (void)state;
        Built b = build_with(ROTATING, NULL, TEST_NOW);
        /* 6, 13, (20 skipped: no turn), 27 moved to the 28th (keeps its
         * turn), Feb 3, 10, 17 */
        expect_hosts(&b, utc(2026, 1, 1, 0, 0), utc(2026, 2, 18, 0, 0), "ab-cabc");
        Occurrence o;
        const Meeting *m = meeting(&b, "m");
        assert_true(schedule_occurrence(b.s, m, utc(2026, 1, 27, 10, 0), &o));
        assert_int_equal(o.status, OCCURRENCE_MOVED);
        assert_string_equal(o.host->id, "c");

        _cleanup_free_ char *text = published(&b, "m");
        _cleanup_free_ char *series = icalcomponent_as_ical_string_r(schedule_event(b.s, index_of(&b, "m")));
        /* the series names the first host; each other turn is an override
         * with its ORGANIZER; the moved one carries its move and its host */
        assert_non_null(strstr(series, "EXDATE:20260120T100000Z\r\nORGANIZER;CN=Ann:mailto:a@example.com"));
        assert_non_null(strstr(text, "RECURRENCE-ID:20260113T100000Z\r\nSUMMARY:M\r\nDTSTART:20260113T100000Z\r\n"
                                     "DTEND:20260113T110000Z\r\nORGANIZER;CN=Bob:mailto:b@example.com"));
        assert_non_null(strstr(text, "RECURRENCE-ID:20260127T100000Z\r\nSUMMARY:M\r\nDTSTART:20260128T100000Z\r\n"
                                     "DTEND:20260128T110000Z\r\nDESCRIPTION:Moved: offsite\r\nORGANIZER;CN=Cy:mailto:c@example.com"));
        assert_null(strstr(text, "RECURRENCE-ID:20260106"));
        assert_null(strstr(text, "RECURRENCE-ID:20260203")); /* Ann's turn again: the series says so */
        /* turns up to the horizon (TEST_NOW + 400 days), two in three of
         * them not Ann's, each an override (the move is Cy's turn) */
        int64_t horizon = TEST_NOW + 400 * (int64_t)DAY_;
        size_t held = 0;
        for (int64_t t = utc(2026, 1, 6, 10, 0); t < horizon; t += 7 * DAY_)
                held += t != utc(2026, 1, 20, 10, 0);
        assert_int_equal(b.s->n_exceptions[index_of(&b, "m")], held - (held + 2) / 3);
        assert_int_equal(count(text, "RECURRENCE-ID"), held - (held + 2) / 3);
        /* beyond the horizon the series' host stands, as in the feed */
        assert_true(schedule_occurrence(b.s, m, utc(2027, 3, 2, 10, 0), &o));
        assert_string_equal(o.host->id, "a");
        built_free(&b);
}

/* Recorded hosts stand whatever the order says now; the turns go on from
 * the latest of them. */
static void test_rotation_remembered(void **state)
{
        (void)state;
        History h = {0};
        history_add_host(&h, "m", utc(2026, 1, 6, 10, 0), "a");
        history_add_host(&h, "m", utc(2026, 1, 13, 10, 0), "c"); /* what an earlier config said */
        Built b = build_with(ROTATING, &h, utc(2026, 1, 14, 0, 0));
        expect_hosts(&b, utc(2026, 1, 1, 0, 0), utc(2026, 2, 18, 0, 0), "ac-abca");
        built_free(&b);

        /* a department added to the order: the past as recorded, then on */
        history_add_host(&h, "m", utc(2026, 1, 28, 10, 0), "b"); /* not an occurrence: ignored */
        b = build_with(DEPT("d", "Dee") ROTATING, &h, utc(2026, 1, 14, 0, 0));
        built_free(&b);
        b = build_with(DEPT("d", "Dee") ABC "[meeting:m]\ntitle = M\ndepartments = a, b, c, d\nday = tuesday\n"
                                            "time = 10:00\nstart = 2026-01-06\nhost = rotate: a, c, d, b\n",
                       &h, utc(2026, 1, 14, 0, 0));
        expect_hosts(&b, utc(2026, 1, 1, 0, 0), utc(2026, 2, 18, 0, 0), "acdbacd");
        built_free(&b);

        /* a recorded host no longer in the order keeps its turn; the
         * turns then start over */
        history_clear(&h);
        history_add_host(&h, "m", utc(2026, 1, 6, 10, 0), "d");
        b = build_with(DEPT("d", "Dee") ROTATING, &h, utc(2026, 1, 7, 0, 0));
        expect_hosts(&b, utc(2026, 1, 1, 0, 0), utc(2026, 2, 4, 0, 0), "da-bc");
        _cleanup_free_ char *text = published(&b, "m");
        assert_non_null(strstr(text, "ORGANIZER;CN=Dee:mailto:d@example.com")); /* the series: its first turn */
        built_free(&b);
        history_clear(&h);
}

static void test_turns_due(void **state)
{
        (void)state;
        Built b = build_with(ROTATING "remind = 1d, 15m\n", NULL, TEST_NOW);
        History h = {0};
        /* due a day ahead: the 6th's on the 5th, the 13th's on the 12th;
         * the moved 27th's at the earlier of its two days, less a day */
        schedule_turns_due(b.s, utc(2026, 1, 1, 0, 0), utc(2026, 1, 26, 10, 0), &h);
        assert_int_equal(h.n_hosts, 3);
        assert_int_equal(h.hosts[0].start, utc(2026, 1, 6, 10, 0));
        assert_string_equal(h.hosts[0].host, "a");
        assert_int_equal(h.hosts[2].start, utc(2026, 1, 27, 10, 0));
        assert_string_equal(h.hosts[2].host, "c");
        history_clear(&h);
        schedule_turns_due(b.s, utc(2026, 1, 26, 10, 0), utc(2026, 2, 2, 10, 0), &h);
        assert_int_equal(h.n_hosts, 1);
        assert_int_equal(h.hosts[0].start, utc(2026, 2, 3, 10, 0));
        history_clear(&h);
        built_free(&b);
}

/* ------------------------------------------------------------------ */
/* Pairings                                                            */

#define ABCD "[department:a]\nname = Ann's\n[department:b]\n[department:c]\n[department:d]\n"
#define LUNCH "[pairing:lunch]\ntitle = Lunch\ntime = 12:00\nstart = 2026-01-01\n"

/* The pairs of each round in [from, to) as "ad bc|ab cd|...", the rounds
 * by their rule's start. */
static char *rounds_of(const Built *b, int64_t from, int64_t to)
{
        Occurrence *occ = NULL;
        size_t n = schedule_occurrences(b->s, from, to, NULL, true, &occ);
        Buf out = {0};
        buf_append(&out, "");
        for (size_t i = 0; i < n; i++) {
                const Meeting *m = occ[i].meeting;
                bool same = i > 0 && occ[i - 1].rid == occ[i].rid;
                buf_printf(&out, "%s%s%s%s", i == 0 ? "" : same ? " " : "|", m->departments[0]->id,
                           m->departments[1]->id, occ[i].status == OCCURRENCE_CANCELLED ? "-" : "");
        }
        free(occ);
        return buf_steal(&out);
}

static void expect_rounds(const Built *b, int64_t from, int64_t to, const char *want)
{
        _cleanup_free_ char *got = rounds_of(b, from, to);
        if (!streq(got, want))
                fail_msg("rounds\n  %s\nwant\n  %s", got, want);
}

/* One weekday every two weeks: each pair is one rule, INTERVAL the
 * cycle's weeks, from its own first round. */
static void test_pairing_rule(void **state)
{
        (void)state;
        Built b = build_with(ABCD LUNCH "departments = a, b, c, d\ncadence = biweekly\nday = thursday\n", NULL, TEST_NOW);
        const Pairing *p = &b.l.config->pairings[0];
        assert_int_equal(p->n, 6);
        /* three rounds a cycle, two weeks apart, three cycles */
        expect_rounds(&b, utc(2026, 1, 1, 0, 0), utc(2026, 4, 24, 0, 0),
                      "ad bc|ab cd|ac bd|ad bc|ab cd|ac bd|ad bc|ab cd|ac bd");
        const Meeting *ad = meeting(&b, "lunch.a.d");
        assert_string_equal(ad->title, "Lunch: Ann's + d");
        _cleanup_free_ char *t = published(&b, "lunch.a.b");
        assert_non_null(strstr(t, "UID:lunch.a.b@tandem.invalid"));
        assert_non_null(strstr(t, "DTSTART:20260115T120000Z"));
        assert_non_null(strstr(t, "RRULE:FREQ=WEEKLY;INTERVAL=6;BYDAY=TH\r\n"));
        _cleanup_free_ char *c = pairing_cycle_text(p, 4);
        assert_string_equal(c, "every pair once per 6 weeks");
        built_free(&b);

        /* monthly: INTERVAL in months */
        b = build_with(ABCD LUNCH "departments = a, b, c\ncadence = monthly\nday = second tuesday\n", NULL, TEST_NOW);
        expect_rounds(&b, utc(2026, 1, 1, 0, 0), utc(2026, 7, 1, 0, 0), "bc|ab|ac|bc|ab|ac");
        _cleanup_free_ char *mt = published(&b, "lunch.a.c");
        assert_non_null(strstr(mt, "DTSTART:20260310T120000Z"));
        assert_non_null(strstr(mt, "RRULE:FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU"));
        built_free(&b);
}

/* Two weekdays: no single rule per pair; each round a VEVENT of its own. */
static void test_pairing_explicit(void **state)
{
        (void)state;
        Built b = build_with(ABCD LUNCH "departments = a, b, c\nday = tuesday, thursday\n", NULL, TEST_NOW);
        /* Thu 1, Tue 6, Thu 8, Tue 13, ...: three departments, one sitting
         * out each round */
        expect_rounds(&b, utc(2026, 1, 1, 0, 0), utc(2026, 1, 23, 0, 0), "bc|ab|ac|bc|ab|ac|bc");
        size_t i = index_of(&b, "lunch.a.b");
        assert_null(b.s->events[i]);
        _cleanup_free_ char *t = published(&b, "lunch.a.b");
        assert_non_null(strstr(t, "UID:lunch.a.b.20260106@tandem.invalid\r\nSUMMARY:Lunch: Ann's + b\r\n"
                                  "DTSTART:20260106T120000Z\r\nDTEND:20260106T130000Z"));
        assert_null(strstr(t, "RRULE"));
        /* up to the horizon, 2027-02-05 */
        assert_non_null(strstr(t, "UID:lunch.a.b.20270128@"));
        assert_null(strstr(t, "UID:lunch.a.b.20270209@"));
        built_free(&b);

        /* in the feed: the single events, all in UTC, so no VTIMEZONE */
        b = build_with(ABCD LUNCH "departments = a, b, c\nday = tuesday, thursday\ntimezone = Europe/Paris\n", NULL,
                       TEST_NOW);
        _cleanup_free_ char *feed = feed_render(b.s, NULL, NULL);
        assert_null(strstr(feed, "BEGIN:VTIMEZONE"));
        assert_null(strstr(feed, "TZID"));
        assert_non_null(strstr(feed, "UID:lunch.b.c.20260101@tandem.invalid\r\nSUMMARY:Lunch: b + c\r\n"
                                     "DTSTART:20260101T110000Z"));
        assert_int_equal(count(feed, "BEGIN:VEVENT"), b.s->n_exceptions[0] + b.s->n_exceptions[1] +
                                                          b.s->n_exceptions[2]);
        built_free(&b);
}

static const char *holidays_path(void)
{
        static char path[128];
        snprintf(path, sizeof path, "%s/b-holidays.ics", tmp_dir_get());
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:h1@test\r\n"
              "DTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260115\r\nSUMMARY:B day\r\nEND:VEVENT\r\n"
              "END:VCALENDAR\r\n", f);
        fclose(f);
        return path;
}

/* A skip applies to the round (every pair of it); a holiday to the pairs
 * of the department that has it, as on_holiday says; the rounds go on. */
static void test_pairing_skip_and_holiday(void **state)
{
        (void)state;
        _cleanup_free_ char *text = xasprintf("[department:a]\n[department:b]\nholidays = %s\n[department:c]\n"
                                              "[department:d]\n" LUNCH "departments = a, b, c, d\nday = thursday\n"
                                              "skip = 2026-01-08 (offsite)\n",
                                              holidays_path());
        Built b = build_with(text, NULL, TEST_NOW);
        /* the 15th is b's holiday: b's pair is cancelled, the other held */
        expect_rounds(&b, utc(2026, 1, 1, 0, 0), utc(2026, 1, 30, 0, 0), "ad bc|ab- cd-|ac bd-|ad bc|ab cd");
        built_free(&b);

        /* on_holiday = after: b's pair moves to Friday, the other stays */
        _cleanup_free_ char *after = xasprintf("%son_holiday = after\n", text);
        b = build_with(after, NULL, TEST_NOW);
        Occurrence o;
        assert_true(schedule_occurrence(b.s, meeting(&b, "lunch.b.d"), utc(2026, 1, 15, 12, 0), &o));
        assert_int_equal(o.status, OCCURRENCE_MOVED);
        assert_int_equal(o.start, utc(2026, 1, 16, 12, 0));
        assert_true(schedule_occurrence(b.s, meeting(&b, "lunch.a.c"), utc(2026, 1, 15, 12, 0), &o));
        assert_int_equal(o.status, OCCURRENCE_HELD);
        built_free(&b);

        /* a skip on no round is the pairing's error, said once */
        Loaded l = load_text(ABCD LUNCH "departments = a, b, c\nday = thursday\nskip = 2026-01-09\n");
        assert_int_equal(l.r, 0);
        pairing_expand(l.config, NULL, TEST_NOW);
        Schedule *s = NULL;
        Diags d = {0};
        assert_int_equal(schedule_new(l.config, &(ScheduleOptions){.now = TEST_NOW}, &s, &d), -EINVAL);
        assert_int_equal(d.n_errors, 1);
        expect_diag(&d, l.path, line_of(ABCD LUNCH "departments = a, b, c\nday = thursday\nskip", "skip"),
                    "[pairing:lunch] skip: the pairing has no round on 2026-01-09");
        diag_free(&d);
        loaded_free(&l);
}

/* Epochs: a department added starts a new one at the first round whose
 * first reminder is still to come; earlier rounds keep their pairs. */
static void test_pairing_epochs(void **state)
{
        (void)state;
        static const char abc[] = ABCD LUNCH "departments = a, b, c\nday = thursday\nremind = 1d\n";
        static const char abcd[] = ABCD LUNCH "departments = a, b, c, d\nday = thursday\nremind = 1d\n";
        History h = {0};
        /* the daemon's first load: epoch 1 from the first round, to record */
        Built b = build_with(abc, &h, utc(2026, 1, 5, 0, 0));
        assert_int_equal(h.n_epochs, 1);
        assert_true(h.epochs[0].fresh);
        assert_int_equal(h.epochs[0].n, 1);
        assert_int_equal(h.epochs[0].from, utc(2026, 1, 1, 12, 0));
        built_free(&b);
        h.epochs[0].fresh = false;

        /* d joins on Wednesday the 14th after 12:00: the 15th's reminder
         * went, so the new epoch starts on the 22nd */
        b = build_with(abcd, &h, utc(2026, 1, 14, 12, 0));
        assert_int_equal(h.n_epochs, 2);
        assert_true(h.epochs[1].fresh);
        assert_int_equal(h.epochs[1].n, 2);
        assert_int_equal(h.epochs[1].from, utc(2026, 1, 22, 12, 0));
        assert_int_equal(h.epochs[1].n_departments, 4);
        expect_rounds(&b, utc(2026, 1, 1, 0, 0), utc(2026, 2, 13, 0, 0), "bc|ab|ac|ad bc|ab cd|ac bd|ad bc");
        assert_int_equal(b.l.config->pairings[0].n, 3 + 6);
        _cleanup_free_ char *old = published(&b, "lunch.b.c");
        assert_non_null(strstr(old, "RRULE:FREQ=WEEKLY;UNTIL=20260121T235959Z;INTERVAL=3;BYDAY=TH\r\n"));
        _cleanup_free_ char *new = published(&b, "lunch.b.c.2");
        assert_non_null(strstr(new, "UID:lunch.b.c.2@tandem.invalid"));
        assert_non_null(strstr(new, "DTSTART:20260122T120000Z"));
        built_free(&b);

        /* the same list: nothing new */
        h.epochs[1].fresh = false;
        b = build_with(abcd, &h, utc(2026, 2, 1, 0, 0));
        assert_int_equal(h.n_epochs, 2);
        assert_false(h.epochs[1].fresh);
        built_free(&b);

        /* changed again before the 22nd's reminder: epoch 2 is redefined */
        b = build_with(abc, &h, utc(2026, 1, 20, 0, 0));
        assert_int_equal(h.n_epochs, 2);
        assert_true(h.epochs[1].fresh);
        assert_int_equal(h.epochs[1].n_departments, 3);
        assert_int_equal(h.epochs[1].from, utc(2026, 1, 22, 12, 0));
        expect_rounds(&b, utc(2026, 1, 1, 0, 0), utc(2026, 2, 6, 0, 0), "bc|ab|ac|bc|ab|ac");
        built_free(&b);

        /* start moved earlier than the first epoch was recorded from: the
         * first epoch still begins at the pairing's start */
        history_clear(&h);
        char *ids[] = {(char *)"a", (char *)"b", (char *)"c"};
        history_add_epoch(&h, "lunch", 1, utc(2026, 1, 15, 12, 0), ids, 3);
        b = build_with(abc, &h, utc(2025, 12, 20, 0, 0));
        assert_int_equal(h.n_epochs, 1);
        expect_rounds(&b, utc(2026, 1, 1, 0, 0), utc(2026, 1, 23, 0, 0), "bc|ab|ac|bc");
        built_free(&b);

        /* no ledger (check, preview, export): one epoch from the start */
        b = build_with(abcd, NULL, utc(2026, 1, 20, 0, 0));
        expect_rounds(&b, utc(2026, 1, 1, 0, 0), utc(2026, 1, 23, 0, 0), "ad bc|ab cd|ac bd|ad bc");
        built_free(&b);
        history_clear(&h);
}

/* Each pair's host alternates between its two departments. */
static void test_pairing_hosts(void **state)
{
        (void)state;
        Built b = build_with(DEPT("a", "Ann") DEPT("b", "Bob") DEPT("c", "Cy") LUNCH
                             "departments = a, b, c\nday = thursday\nhost = rotate\n",
                             NULL, TEST_NOW);
        Occurrence *occ = NULL;
        size_t n = schedule_occurrences(b.s, utc(2026, 1, 1, 0, 0), utc(2026, 2, 13, 0, 0), NULL, false, &occ);
        Buf got = {0};
        for (size_t i = 0; i < n; i++)
                buf_printf(&got, "%s%s%s:%s", i ? " " : "", occ[i].meeting->departments[0]->id,
                           occ[i].meeting->departments[1]->id, occ[i].host->id);
        assert_string_equal(got.s, "bc:b ab:a ac:a bc:c ab:b ac:c bc:b");
        buf_free(&got);
        free(occ);
        built_free(&b);
}

/* A first occurrence cancelled or moved is not the rule's DTSTART
 * (sabre/vobject 2 ignores an EXDATE of DTSTART and lists an override of
 * it beside it): the rule starts at the first one held as planned, a moved
 * one before it is a single event in UTC. */
static void test_first_occurrence_changed(void **state)
{
        (void)state;
        Built b = build_with(ABC "[meeting:m]\ntitle = M\ndepartments = a, b\nday = tuesday\ntime = 10:00\n"
                                 "start = 2026-01-06\nskip = 2026-01-06\nmove = 2026-01-13 -> 2026-01-14 (offsite)\n"
                                 "host = rotate\n",
                             NULL, TEST_NOW);
        _cleanup_free_ char *text = published(&b, "m");
        _cleanup_free_ char *series = icalcomponent_as_ical_string_r(schedule_event(b.s, 0));
        assert_non_null(strstr(series, "DTSTART:20260120T100000Z"));
        assert_null(strstr(series, "EXDATE"));
        /* the series names the host of its DTSTART: Bob (the 14th was Ann's) */
        assert_non_null(strstr(series, "ORGANIZER;CN=Bob:mailto:b@example.com"));
        assert_non_null(strstr(text, "UID:m.20260113@tandem.invalid\r\nSUMMARY:M\r\nDTSTART:20260114T100000Z\r\n"
                                     "DTEND:20260114T110000Z\r\nDESCRIPTION:Moved: offsite\r\n"
                                     "ORGANIZER;CN=Ann:mailto:a@example.com"));
        assert_null(strstr(text, "RECURRENCE-ID:20260113"));
        Occurrence *occ = NULL;
        size_t n = schedule_occurrences(b.s, utc(2026, 1, 1, 0, 0), utc(2026, 1, 28, 0, 0), NULL, true, &occ);
        assert_int_equal(n, 4);
        assert_int_equal(occ[0].status, OCCURRENCE_CANCELLED);
        assert_int_equal(occ[1].status, OCCURRENCE_MOVED);
        assert_int_equal(occ[1].rid, utc(2026, 1, 13, 10, 0));
        assert_int_equal(occ[1].start, utc(2026, 1, 14, 10, 0));
        assert_string_equal(occ[1].reason, "offsite");
        assert_string_equal(occ[1].host->id, "a");
        assert_string_equal(occ[2].host->id, "b");
        assert_string_equal(occ[3].host->id, "a");
        free(occ);
        built_free(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rotation),
                cmocka_unit_test(test_rotation_remembered),
                cmocka_unit_test(test_turns_due),
                cmocka_unit_test(test_first_occurrence_changed),
                cmocka_unit_test(test_pairing_rule),
                cmocka_unit_test(test_pairing_explicit),
                cmocka_unit_test(test_pairing_skip_and_holiday),
                cmocka_unit_test(test_pairing_epochs),
                cmocka_unit_test(test_pairing_hosts),
        };
        return cmocka_run_group_tests(tests, NULL, tmp_cleanup);
}
