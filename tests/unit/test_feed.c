/* test_feed.c — feed_render (README "The feeds"): RFC 5545 text with the
 * RFC 7986 feed properties, one VEVENT with one RRULE per meeting, plain
 * IANA TZIDs, stable bytes. */
#include "helpers.h"

#include "feed.h"
#include "tz.h"

/* Long enough to be folded several times, with two-, three- and four-byte
 * UTF-8 characters everywhere, so that some fold falls inside one unless
 * the folding takes care. */
#define UTF8_DESCRIPTION                                                                              \
        "Quartalsplanung für Zürich, Köln und Malmö — Überblick über Kampagnen, Budgets und Ziele. "  \
        "日本語の議題：予算、キャンペーン、目標。Ünïcödé ẞtraße naïve café €100 ✓✓✓ 🎉🎉🎉 "             \
        "ÄÖÜäöüßÄÖÜäöüßÄÖÜäöüßÄÖÜäöüßÄÖÜäöüßÄÖÜäöüßÄÖÜäöüßÄÖÜäöüß"                                       \
        "日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語"                  \
        "🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉"

#define LONG_ASCII_LOCATION                                                                           \
        "https://meet.example.com/j/0123456789?pwd=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOp" \
        "QrStUvWxYz&uname=tandem-joint-meetings-sales-and-marketing-weekly"

static const char config_text[] =
        "[tandem]\n"
        "timezone = Europe/Berlin\n"
        "domain = cal.example.com\n"
        "calendar_name = ACME joint meetings\n"
        "\n"
        "[department:sales]\n"
        "name = Sales\n"
        "email = sales@example.com\n"
        "manager = Ada Lovelace <ada@example.com>\n"
        "\n"
        "[department:marketing]\n"
        "name = Marketing\n"
        "email = marketing@example.com\n"
        "manager = Grace Hopper <grace@example.com>\n"
        "timezone = America/New_York\n"
        "\n"
        "[department:hr]\n"
        "name = People & Culture\n"
        "email = hr@example.com\n"
        "manager = Linus Torvalds <linus@example.com>\n"
        "\n"
        "[meeting:sync]\n"
        "title = Sales + Marketing sync\n"
        "departments = sales, marketing\n"
        "day = tuesday\n"
        "time = 10:00\n"
        "start = 2026-01-06\n"
        "host = sales\n"
        "skip = 2026-01-13, 2026-02-17\n"
        "location = " LONG_ASCII_LOCATION "\n"
        "\n"
        "[meeting:leads]\n"
        "title = Leads review\n"
        "departments = marketing, hr\n"
        "cadence = monthly\n"
        "day = first monday\n"
        "time = 09:00\n"
        "timezone = America/New_York\n"
        "start = 2026-01-01\n"
        "attendees = managers\n"
        "description = " UTF8_DESCRIPTION "\n"
        "\n"
        "[meeting:lunch]\n"
        "title = Joint lunch\n"
        "departments = sales, hr\n"
        "cadence = rrule:FREQ=MONTHLY;BYDAY=2WE\n"
        "time = 12:00\n"
        "timezone = UTC\n"
        "start = 2026-01-01\n"
        "attendees = none\n";

typedef struct Fixture {
        Loaded l;
        Schedule *s;
        Diags diags;
} Fixture;

static Fixture fixture_new(const char *text)
{
        Fixture f = {0};
        f.l = load_text(text);
        if (f.l.r != 0)
                fail_msg("config_load = %d:\n%s", f.l.r, f.l.text);
        int r = schedule_new(f.l.config, &(ScheduleOptions){.now = TEST_NOW}, &f.s, &f.diags);
        if (r != 0) {
                char *t = diags_text(&f.diags);
                fail_msg("schedule_new = %d:\n%s", r, t);
        }
        return f;
}

static void fixture_free(Fixture *f)
{
        schedule_free(f->s);
        diag_free(&f->diags);
        loaded_free(&f->l);
}

/* ------------------------------------------------------------------ */
/* Reading the text back                                               */

/* The logical lines (RFC 5545 section 3.1: CRLF followed by a space or
 * tab is removed). */
typedef struct Lines {
        char **v;
        size_t n;
} Lines;

static Lines unfold(const char *ics)
{
        Lines ls = {0};
        size_t alloc = 0;
        char *cur = NULL;
        size_t len = 0;
        for (const char *p = ics; *p;) {
                const char *eol = strstr(p, "\r\n");
                if (!eol)
                        fail_msg("text after the last CRLF: \"%s\"", p);
                size_t n = (size_t)(eol - p);
                bool cont = (*p == ' ' || *p == '\t');
                if (cont) {
                        assert_non_null(cur);
                        p++, n--;
                } else {
                        if (cur) {
                                GROW(ls.v, ls.n, alloc);
                                ls.v[ls.n++] = cur;
                        }
                        cur = NULL;
                        len = 0;
                }
                cur = realloc(cur, len + n + 1);
                memcpy(cur + len, p, n);
                len += n;
                cur[len] = '\0';
                p = eol + 2;
        }
        if (cur) {
                GROW(ls.v, ls.n, alloc);
                ls.v[ls.n++] = cur;
        }
        return ls;
}

static void lines_free(Lines *ls)
{
        strv_free(ls->v, ls->n);
        *ls = (Lines){0};
}

static size_t count_lines_with_prefix(const Lines *ls, const char *prefix)
{
        size_t n = 0;
        for (size_t i = 0; i < ls->n; i++)
                n += strncmp(ls->v[i], prefix, strlen(prefix)) == 0;
        return n;
}

static bool has_line(const Lines *ls, const char *line)
{
        for (size_t i = 0; i < ls->n; i++)
                if (streq(ls->v[i], line))
                        return true;
        return false;
}

#define assert_has_line(ls, line)                                                                   \
        do {                                                                                        \
                if (!has_line((ls), (line)))                                                        \
                        fail_msg("no line \"%s\" in the feed", (line));                             \
        } while (0)

/* The logical lines of each VEVENT, as [begin, end) index ranges. */
static size_t vevents(const Lines *ls, size_t begin[], size_t end[], size_t max)
{
        size_t n = 0;
        for (size_t i = 0; i < ls->n; i++) {
                if (streq(ls->v[i], "BEGIN:VEVENT")) {
                        assert_true(n < max);
                        begin[n] = i;
                } else if (streq(ls->v[i], "END:VEVENT"))
                        end[n++] = i;
        }
        return n;
}

/* One event's line starting with prefix, or NULL. */
static const char *event_line(const Lines *ls, size_t b, size_t e, const char *prefix)
{
        for (size_t i = b; i < e; i++)
                if (strncmp(ls->v[i], prefix, strlen(prefix)) == 0)
                        return ls->v[i];
        return NULL;
}

static size_t event_count(const Lines *ls, size_t b, size_t e, const char *prefix)
{
        size_t n = 0;
        for (size_t i = b; i < e; i++)
                n += strncmp(ls->v[i], prefix, strlen(prefix)) == 0;
        return n;
}

/* Is s[0..n) valid UTF-8 with no sequence cut at either end? */
static bool utf8_whole(const unsigned char *s, size_t n)
{
        for (size_t i = 0; i < n;) {
                unsigned char c = s[i];
                size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
                if (!k || i + k > n)
                        return false;
                for (size_t j = 1; j < k; j++)
                        if ((s[i + j] & 0xC0) != 0x80)
                                return false;
                i += k;
        }
        return true;
}

/* RFC 5545 section 3.1: CRLF line ends, no line longer than 75 octets
 * without its CRLF, and folds only between characters. */
static void check_physical_lines(const char *ics)
{
        size_t lineno = 0;
        for (const char *p = ics; *p; lineno++) {
                const char *eol = strstr(p, "\r\n");
                if (!eol)
                        fail_msg("line %zu does not end in CRLF", lineno + 1);
                size_t n = (size_t)(eol - p);
                if (memchr(p, '\n', n) || memchr(p, '\r', n))
                        fail_msg("line %zu has a bare CR or LF: \"%.*s\"", lineno + 1, (int)n, p);
                if (n > 75)
                        fail_msg("line %zu is %zu octets long: \"%.*s\"", lineno + 1, n, (int)n, p);
                const unsigned char *u = (const unsigned char *)p;
                size_t skip = (*p == ' ' || *p == '\t') ? 1 : 0;
                if (!utf8_whole(u + skip, n - skip))
                        fail_msg("line %zu splits a UTF-8 character: \"%.*s\"", lineno + 1, (int)n, p);
                p = eol + 2;
        }
        assert_true(lineno > 10);
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void test_line_format(void **state)
{
        (void)state;
        Fixture f = fixture_new(config_text);
        char *ics = feed_render(f.s, NULL, NULL);
        assert_non_null(ics);
        check_physical_lines(ics);
        assert_int_equal(strncmp(ics, "BEGIN:VCALENDAR\r\n", 17), 0);
        size_t n = strlen(ics);
        assert_true(n > 13);
        assert_string_equal(ics + n - 15, "END:VCALENDAR\r\n");

        /* the long values were folded, and unfold to what was configured */
        Lines ls = unfold(ics);
        assert_has_line(&ls, "LOCATION:" LONG_ASCII_LOCATION);
        lines_free(&ls);

        /* parsed by libical, the description comes back byte for byte */
        icalcomponent *cal = icalparser_parse_string(ics);
        assert_non_null(cal);
        bool seen = false;
        for (icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); ev;
             ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT))
                if (streq(icalcomponent_get_uid(ev), "leads@cal.example.com")) {
                        assert_string_equal(icalcomponent_get_description(ev), UTF8_DESCRIPTION);
                        seen = true;
                }
        assert_true(seen);
        icalcomponent_free(cal);
        free(ics);

        /* the department feeds too */
        for (size_t i = 0; i < f.l.config->n_departments; i++) {
                ics = feed_render(f.s, &f.l.config->departments[i], NULL);
                check_physical_lines(ics);
                free(ics);
        }
        fixture_free(&f);
}

/* Folding at every possible position: descriptions of many lengths made
 * of multi-byte characters. */
static void test_folding_utf8_every_offset(void **state)
{
        (void)state;
        static const char *const chars[] = {"ä", "日", "🎉", "a", "€", " "};
        for (size_t shift = 0; shift < 8; shift++) {
                char desc[700] = "";
                size_t len = 0;
                for (size_t i = 0; len < 600; i++) {
                        const char *c = i < shift ? "x" : chars[(i * 5 + shift) % ELEMENTSOF(chars)];
                        memcpy(desc + len, c, strlen(c));
                        len += strlen(c);
                }
                desc[len] = '\0';
                /* no leading or trailing space: the config reader strips them */
                while (desc[len - 1] == ' ')
                        desc[--len] = '\0';
                char *text = NULL;
                assert_true(asprintf(&text,
                                     "[department:a]\n[department:b]\n[meeting:m]\ntitle = %s\ndepartments = a, b\n"
                                     "day = monday\ntime = 10:00\nstart = 2026-01-05\ndescription = %s\n",
                                     desc + shift, desc) > 0);
                Fixture f = fixture_new(text);
                char *ics = feed_render(f.s, NULL, NULL);
                check_physical_lines(ics);
                icalcomponent *cal = icalparser_parse_string(ics);
                icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
                assert_string_equal(icalcomponent_get_description(ev), desc);
                icalcomponent_free(cal);
                free(ics);
                fixture_free(&f);
                free(text);
        }
}

static void test_events(void **state)
{
        (void)state;
        Fixture f = fixture_new(config_text);
        char *ics = feed_render(f.s, NULL, NULL);
        Lines ls = unfold(ics);
        size_t b[8], e[8];
        size_t n = vevents(&ls, b, e, 8);
        assert_int_equal(n, 3); /* one per meeting, never expanded */

        static const char *const uids[] = {"UID:sync@cal.example.com", "UID:leads@cal.example.com",
                                           "UID:lunch@cal.example.com"};
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(event_count(&ls, b[i], e[i], "RRULE:"), 1);
                assert_int_equal(event_count(&ls, b[i], e[i], "UID:"), 1);
                assert_int_equal(event_count(&ls, b[i], e[i], "DTSTART"), 1);
                assert_int_equal(event_count(&ls, b[i], e[i], "DTEND"), 1);
                assert_int_equal(event_count(&ls, b[i], e[i], "DTSTAMP:"), 1);
                assert_int_equal(event_count(&ls, b[i], e[i], "SEQUENCE:"), 1);
                assert_int_equal(event_count(&ls, b[i], e[i], "LAST-MODIFIED:"), 1);
                assert_int_equal(event_count(&ls, b[i], e[i], "RDATE"), 0);
                assert_string_equal(event_line(&ls, b[i], e[i], "UID:"), uids[i]);
        }

        /* sync: Berlin, the first Tuesday, host and everyone */
        assert_string_equal(event_line(&ls, b[0], e[0], "SUMMARY:"), "SUMMARY:Sales + Marketing sync");
        assert_string_equal(event_line(&ls, b[0], e[0], "DTSTART"), "DTSTART;TZID=Europe/Berlin:20260106T100000");
        assert_string_equal(event_line(&ls, b[0], e[0], "DTEND"), "DTEND;TZID=Europe/Berlin:20260106T110000");
        /* WKST=MO is RFC 5545's default: libical may leave it out */
        const char *rr = event_line(&ls, b[0], e[0], "RRULE:");
        if (!streq(rr, "RRULE:FREQ=WEEKLY;BYDAY=TU") && !streq(rr, "RRULE:FREQ=WEEKLY;BYDAY=TU;WKST=MO"))
                fail_msg("sync: %s", rr);
        assert_int_equal(event_count(&ls, b[0], e[0], "EXDATE"), 2);
        assert_string_equal(event_line(&ls, b[0], e[0], "EXDATE"), "EXDATE;TZID=Europe/Berlin:20260113T100000");
        assert_string_equal(event_line(&ls, b[0], e[0], "ORGANIZER"), "ORGANIZER;CN=Ada Lovelace:mailto:ada@example.com");
        assert_int_equal(event_count(&ls, b[0], e[0], "ATTENDEE"), 2);
        const char *att = event_line(&ls, b[0], e[0], "ATTENDEE");
        assert_non_null(strstr(att, "CN=Sales"));
        assert_non_null(strstr(att, "CUTYPE=GROUP"));
        assert_non_null(strstr(att, ":mailto:sales@example.com"));
        bool marketing = false;
        for (size_t i = b[0]; i < e[0]; i++)
                marketing |= strncmp(ls.v[i], "ATTENDEE", 8) == 0 && strstr(ls.v[i], ":mailto:marketing@example.com") &&
                             strstr(ls.v[i], "CN=Marketing");
        assert_true(marketing);

        /* leads: New York, managers, no host */
        assert_string_equal(event_line(&ls, b[1], e[1], "DTSTART"), "DTSTART;TZID=America/New_York:20260105T090000");
        assert_string_equal(event_line(&ls, b[1], e[1], "RRULE:"), "RRULE:FREQ=MONTHLY;BYDAY=1MO");
        assert_null(event_line(&ls, b[1], e[1], "ORGANIZER"));
        assert_int_equal(event_count(&ls, b[1], e[1], "ATTENDEE"), 2);
        size_t managers = 0;
        for (size_t i = b[1]; i < e[1]; i++)
                if (strncmp(ls.v[i], "ATTENDEE", 8) == 0) {
                        assert_non_null(strstr(ls.v[i], "CUTYPE=INDIVIDUAL"));
                        managers += strstr(ls.v[i], "CN=Grace Hopper") && strstr(ls.v[i], ":mailto:grace@example.com");
                        managers += strstr(ls.v[i], "CN=Linus Torvalds") && strstr(ls.v[i], ":mailto:linus@example.com");
                }
        assert_int_equal(managers, 2);
        assert_null(event_line(&ls, b[1], e[1], "EXDATE"));

        /* lunch: UTC with a Z, DTSTART the first real occurrence of the
         * rule (2026-01-01 is no second Wednesday), nobody invited */
        assert_string_equal(event_line(&ls, b[2], e[2], "DTSTART"), "DTSTART:20260114T120000Z");
        assert_string_equal(event_line(&ls, b[2], e[2], "DTEND"), "DTEND:20260114T130000Z");
        assert_string_equal(event_line(&ls, b[2], e[2], "RRULE:"), "RRULE:FREQ=MONTHLY;BYDAY=2WE");
        assert_null(event_line(&ls, b[2], e[2], "ATTENDEE"));
        assert_null(event_line(&ls, b[2], e[2], "ORGANIZER"));

        lines_free(&ls);
        free(ics);
        fixture_free(&f);
}

static void test_calendar_properties(void **state)
{
        (void)state;
        Fixture f = fixture_new(config_text);
        char *ics = feed_render(f.s, NULL, NULL);
        Lines ls = unfold(ics);
        assert_has_line(&ls, "VERSION:2.0");
        assert_int_equal(count_lines_with_prefix(&ls, "PRODID:"), 1);
        assert_has_line(&ls, "NAME:ACME joint meetings");
        assert_has_line(&ls, "X-WR-CALNAME:ACME joint meetings");
        assert_int_equal(count_lines_with_prefix(&ls, "REFRESH-INTERVAL;VALUE=DURATION:"), 1);
        assert_int_equal(count_lines_with_prefix(&ls, "X-PUBLISHED-TTL:"), 1);
        assert_has_line(&ls, "REFRESH-INTERVAL;VALUE=DURATION:PT1H");
        assert_has_line(&ls, "X-PUBLISHED-TTL:PT1H");
        lines_free(&ls);
        free(ics);

        const Department *sales = config_department(f.l.config, "sales");
        ics = feed_render(f.s, sales, NULL);
        ls = unfold(ics);
        assert_has_line(&ls, "NAME:ACME joint meetings: Sales");
        assert_has_line(&ls, "X-WR-CALNAME:ACME joint meetings: Sales");
        assert_has_line(&ls, "REFRESH-INTERVAL;VALUE=DURATION:PT1H");
        assert_has_line(&ls, "X-PUBLISHED-TTL:PT1H");
        lines_free(&ls);
        free(ics);

        char *title = feed_title(f.l.config, sales);
        assert_string_equal(title, "ACME joint meetings: Sales");
        free(title);
        title = feed_title(f.l.config, NULL);
        assert_string_equal(title, "ACME joint meetings");
        free(title);
        fixture_free(&f);
}

/* Every TZID is a plain IANA name with a VTIMEZONE of that name; there is
 * none for UTC. */
static void test_timezones(void **state)
{
        (void)state;
        Fixture f = fixture_new(config_text);
        char *ics = feed_render(f.s, NULL, NULL);
        Lines ls = unfold(ics);

        assert_int_equal(count_lines_with_prefix(&ls, "BEGIN:VTIMEZONE"), 2);
        assert_has_line(&ls, "TZID:America/New_York");
        assert_has_line(&ls, "TZID:Europe/Berlin");
        assert_false(has_line(&ls, "TZID:UTC"));
        assert_null(strstr(ics, "freeassociation"));
        assert_null(strstr(ics, "TZID=/"));
        assert_null(strstr(ics, "TZID:/"));
        assert_null(strstr(ics, "LMT"));
        assert_null(strstr(ics, "-045602"));

        /* every TZID= parameter names a VTIMEZONE in the feed */
        for (size_t i = 0; i < ls.n; i++) {
                const char *p = strstr(ls.v[i], ";TZID=");
                if (!p)
                        continue;
                p += 6;
                size_t k = strcspn(p, ":;");
                char want[128];
                snprintf(want, sizeof want, "TZID:%.*s", (int)k, p);
                if (!has_line(&ls, want))
                        fail_msg("\"%s\" has no VTIMEZONE", ls.v[i]);
                assert_non_null(tz_lookup(want + 5));
        }
        lines_free(&ls);

        /* libical reads the feed and resolves each DTSTART to the instant
         * the schedule uses */
        icalcomponent *cal = icalparser_parse_string(ics);
        assert_non_null(cal);
        for (icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); ev;
             ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
                icalproperty *p = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
                icalparameter *tzid = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
                if (!tzid)
                        continue;
                icalcomponent *vtz = NULL;
                for (icalcomponent *c = icalcomponent_get_first_component(cal, ICAL_VTIMEZONE_COMPONENT); c;
                     c = icalcomponent_get_next_component(cal, ICAL_VTIMEZONE_COMPONENT))
                        if (streq(icalproperty_get_tzid(icalcomponent_get_first_property(c, ICAL_TZID_PROPERTY)),
                                  icalparameter_get_tzid(tzid)))
                                vtz = c;
                assert_non_null(vtz);
                icaltimezone *z = icaltimezone_new();
                assert_true(icaltimezone_set_component(z, icalcomponent_new_clone(vtz)));
                struct icaltimetype t = icalproperty_get_dtstart(p);
                t.zone = z;
                int64_t got = (int64_t)icaltime_as_timet_with_zone(t, z);
                icaltimezone_free(z, 1);
                const char *uid = icalcomponent_get_uid(ev);
                if (streq(uid, "sync@cal.example.com"))
                        assert_instant(got, utc(2026, 1, 6, 9, 0));
                else if (streq(uid, "leads@cal.example.com"))
                        assert_instant(got, utc(2026, 1, 5, 14, 0));
                else
                        fail_msg("unexpected TZID on %s", uid);
        }
        icalcomponent_free(cal);
        free(ics);

        /* a feed of UTC meetings only has no VTIMEZONE */
        const Department *hr = config_department(f.l.config, "hr");
        ics = feed_render(f.s, hr, NULL);
        assert_non_null(strstr(ics, "TZID:America/New_York\r\n"));
        assert_null(strstr(ics, "TZID:Europe/Berlin"));
        free(ics);
        fixture_free(&f);

        Fixture u = fixture_new("[department:a]\n[department:b]\n[meeting:m]\ntitle = M\ndepartments = a, b\n"
                                "day = monday\ntime = 10:00\nstart = 2026-01-05\n");
        ics = feed_render(u.s, NULL, NULL);
        assert_null(strstr(ics, "BEGIN:VTIMEZONE"));
        assert_null(strstr(ics, "TZID"));
        assert_non_null(strstr(ics, "DTSTART:20260105T100000Z\r\n"));
        assert_non_null(strstr(ics, "DTEND:20260105T110000Z\r\n"));
        assert_non_null(strstr(ics, "UID:m@tandem.invalid\r\n"));
        assert_non_null(strstr(ics, "NAME:Joint meetings\r\n"));
        free(ics);
        fixture_free(&u);
}

static void test_department_feed(void **state)
{
        (void)state;
        Fixture f = fixture_new(config_text);
        static const struct {
                const char *dept;
                const char *uids[3];
        } cases[] = {
                {"sales", {"UID:sync@cal.example.com", "UID:lunch@cal.example.com"}},
                {"marketing", {"UID:sync@cal.example.com", "UID:leads@cal.example.com"}},
                {"hr", {"UID:leads@cal.example.com", "UID:lunch@cal.example.com"}},
        };
        for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
                const Department *d = config_department(f.l.config, cases[k].dept);
                char *ics = feed_render(f.s, d, NULL);
                Lines ls = unfold(ics);
                size_t b[8], e[8];
                assert_int_equal(vevents(&ls, b, e, 8), 2);
                assert_int_equal(count_lines_with_prefix(&ls, "UID:"), 2);
                for (size_t i = 0; i < 2; i++)
                        assert_has_line(&ls, cases[k].uids[i]);
                lines_free(&ls);
                free(ics);
        }
        fixture_free(&f);
}

static void test_stable_bytes(void **state)
{
        (void)state;
        Fixture f = fixture_new(config_text);
        char *a = feed_render(f.s, NULL, NULL);
        char *b = feed_render(f.s, NULL, NULL);
        assert_string_equal(a, b);
        const Department *sales = config_department(f.l.config, "sales");
        char *c = feed_render(f.s, sales, NULL);
        char *d = feed_render(f.s, sales, NULL);
        assert_string_equal(c, d);

        /* a second load of the same config gives the same bytes */
        Fixture g = fixture_new(config_text);
        char *e = feed_render(g.s, NULL, NULL);
        assert_string_equal(a, e);
        free(a), free(b), free(c), free(d), free(e);
        fixture_free(&g);
        fixture_free(&f);
}

/* SEQUENCE and LAST-MODIFIED follow the meta the ledger keeps. */
static void test_sequence_and_last_modified(void **state)
{
        (void)state;
        Fixture f = fixture_new(config_text);
        char *ics = feed_render(f.s, NULL, NULL);
        Lines ls = unfold(ics);
        size_t b[8], e[8];
        assert_int_equal(vevents(&ls, b, e, 8), 3);
        assert_string_equal(event_line(&ls, b[0], e[0], "SEQUENCE:"), "SEQUENCE:0");
        lines_free(&ls);
        free(ics);

        FeedMeta meta[3] = {{4, utc(2026, 2, 1, 12, 0)}, {0, utc(2026, 1, 1, 0, 0)}, {1, utc(2026, 3, 5, 6, 7) + 8}};
        ics = feed_render(f.s, NULL, meta);
        ls = unfold(ics);
        assert_int_equal(vevents(&ls, b, e, 8), 3);
        assert_string_equal(event_line(&ls, b[0], e[0], "SEQUENCE:"), "SEQUENCE:4");
        assert_string_equal(event_line(&ls, b[0], e[0], "LAST-MODIFIED:"), "LAST-MODIFIED:20260201T120000Z");
        assert_string_equal(event_line(&ls, b[2], e[2], "SEQUENCE:"), "SEQUENCE:1");
        assert_string_equal(event_line(&ls, b[2], e[2], "LAST-MODIFIED:"), "LAST-MODIFIED:20260305T060708Z");
        lines_free(&ls);
        free(ics);
        fixture_free(&f);
}

/* The instant a DTSTART or DTEND names, by RFC 5545 section 3.3.5 (a TZID
 * wall time read as tz.c reads it, tested in test_schedule.c). */
static int64_t prop_instant(icalproperty *p)
{
        struct icaltimetype t = icalvalue_get_datetime(icalproperty_get_value(p));
        icalparameter *tzid = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
        icaltimezone *z = tzid ? tz_lookup(icalparameter_get_tzid(tzid)) : tz_lookup("UTC");
        assert_non_null(z);
        return tz_wall_to_instant(z, wall_from_ical(t));
}

/* What a client takes for the length of each event: DTEND - DTSTART, or
 * DURATION. */
static int64_t event_length(icalcomponent *ev)
{
        icalproperty *start = icalcomponent_get_first_property(ev, ICAL_DTSTART_PROPERTY);
        icalproperty *end = icalcomponent_get_first_property(ev, ICAL_DTEND_PROPERTY);
        icalproperty *dur = icalcomponent_get_first_property(ev, ICAL_DURATION_PROPERTY);
        assert_non_null(start);
        assert_true((end != NULL) != (dur != NULL));
        if (dur)
                return icaldurationtype_as_int(icalproperty_get_duration(dur));
        return prop_instant(end) - prop_instant(start);
}

/* The published event lasts the configured duration, also when it starts
 * in the repeated hour of a fall-back day. */
static void test_event_length(void **state)
{
        (void)state;
        static const struct {
                const char *body;
                int64_t length;
        } cases[] = {
                {"day = tuesday\ntime = 10:00\nduration = 45m\ntimezone = Europe/Berlin\nstart = 2026-01-06\n", 2700},
                {"day = sunday\ntime = 02:30\ntimezone = America/New_York\nstart = 2026-03-08\n", 3600},
                {"day = sunday\ntime = 01:00\nduration = 2h\ntimezone = America/New_York\nstart = 2026-03-08\n", 7200},
                {"day = sunday\ntime = 01:30\ntimezone = America/New_York\nstart = 2026-11-01\n", 3600},
                {"day = sunday\ntime = 01:00\nduration = 1h30m\ntimezone = America/New_York\nstart = 2026-11-01\n", 5400},
                {"day = sunday\ntime = 02:30\ntimezone = Australia/Sydney\nstart = 2026-04-05\n", 3600},
        };
        size_t failed = 0;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *text = NULL;
                assert_true(asprintf(&text, "[department:a]\n[department:b]\n[meeting:m]\ntitle = M\ndepartments = a, b\n%s",
                                     cases[i].body) > 0);
                Fixture f = fixture_new(text);
                char *ics = feed_render(f.s, NULL, NULL);
                icalcomponent *cal = icalparser_parse_string(ics);
                icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT);
                int64_t got = event_length(ev);
                if (got != cases[i].length) {
                        print_error("%s: the event lasts %llds, want %llds\n", cases[i].body, (long long)got,
                                    (long long)cases[i].length);
                        failed++;
                }
                icalcomponent_free(cal);
                free(ics);
                fixture_free(&f);
                free(text);
        }
        if (failed)
                fail_msg("%zu of %zu cases failed", failed, ELEMENTSOF(cases));
}

/* An occurrence at a DST edge (README "The feeds"): the meeting's VEVENT
 * leaves it out by EXDATE, and it follows as a VEVENT of its own in UTC,
 * with the meeting's revision, in the feeds of its departments. */
static void test_edge_occurrence(void **state)
{
        (void)state;
        Fixture f = fixture_new("[department:a]\n[department:b]\n[department:c]\n"
                                "[meeting:night]\ntitle = Night shift handover\ndepartments = a, b\nday = sunday\n"
                                "time = 02:30\ntimezone = America/New_York\nstart = 2026-03-01\nend = 2026-03-31\n"
                                "location = Room 1\n"
                                "[meeting:day]\ntitle = Day\ndepartments = b, c\nday = monday\ntime = 10:00\n"
                                "timezone = America/New_York\nstart = 2026-03-01\n");
        FeedMeta meta[] = {{3, utc(2026, 2, 1, 0, 0)}, {0, utc(2026, 1, 1, 0, 0)}};
        char *ics = feed_render(f.s, NULL, meta);
        Lines ls = unfold(ics);
        size_t b[8], e[8];
        assert_int_equal(vevents(&ls, b, e, 8), 3);
        assert_string_equal(event_line(&ls, b[0], e[0], "UID:"), "UID:night@tandem.invalid");
        assert_string_equal(event_line(&ls, b[0], e[0], "DTSTART"), "DTSTART;TZID=America/New_York:20260301T023000");
        assert_string_equal(event_line(&ls, b[0], e[0], "EXDATE"), "EXDATE;TZID=America/New_York:20260308T023000");
        assert_int_equal(event_count(&ls, b[0], e[0], "EXDATE"), 1);

        assert_string_equal(event_line(&ls, b[1], e[1], "UID:"), "UID:night.20260308@tandem.invalid");
        assert_string_equal(event_line(&ls, b[1], e[1], "SUMMARY:"), "SUMMARY:Night shift handover");
        assert_string_equal(event_line(&ls, b[1], e[1], "DTSTART"), "DTSTART:20260308T073000Z");
        assert_string_equal(event_line(&ls, b[1], e[1], "DTEND"), "DTEND:20260308T083000Z");
        assert_string_equal(event_line(&ls, b[1], e[1], "LOCATION:"), "LOCATION:Room 1");
        assert_string_equal(event_line(&ls, b[1], e[1], "SEQUENCE:"), "SEQUENCE:3");
        assert_string_equal(event_line(&ls, b[1], e[1], "DTSTAMP:"), "DTSTAMP:20260201T000000Z");
        assert_int_equal(event_count(&ls, b[1], e[1], "RRULE"), 0);
        assert_int_equal(event_count(&ls, b[1], e[1], "EXDATE"), 0);

        /* the plain meeting is written as ever */
        assert_string_equal(event_line(&ls, b[2], e[2], "UID:"), "UID:day@tandem.invalid");
        assert_null(event_line(&ls, b[2], e[2], "EXDATE"));
        lines_free(&ls);
        free(ics);

        /* in a department's feed only with its meeting */
        ics = feed_render(f.s, config_department(f.l.config, "c"), NULL);
        assert_null(strstr(ics, "night"));
        free(ics);
        ics = feed_render(f.s, config_department(f.l.config, "a"), NULL);
        assert_non_null(strstr(ics, "UID:night.20260308@tandem.invalid"));
        free(ics);
        fixture_free(&f);
}

static void expect_same_occurrences(const Occurrence *before, const Occurrence *after, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                assert_ptr_equal(after[i].meeting, before[i].meeting);
                assert_int_equal(after[i].start, before[i].start);
                assert_int_equal(after[i].end, before[i].end);
                assert_int_equal(after[i].rid, before[i].rid);
                assert_int_equal(after[i].status, before[i].status);
                assert_string_equal(after[i].reason ? after[i].reason : "", before[i].reason ? before[i].reason : "");
        }
}

/* A packed schedule (schedule_pack: each meeting kept as the text of its
 * published VEVENTs and as their cores, libical's components freed)
 * publishes the same bytes and expands to the same occurrences as before:
 * its rule, skips, moves and occurrences at DST edges all read back from
 * the cores, also once the texts are dropped (schedule_published). Packed
 * without cores (schedule_pack_text, tandem export), from the texts. */
static void check_packed(bool cores)
{
        Fixture f = fixture_new("[department:a]\n[department:b]\n[department:c]\n"
                                "[meeting:night]\ntitle = Night shift handover\ndepartments = a, b\nday = sunday\n"
                                "time = 02:30\ntimezone = America/New_York\nstart = 2026-03-01\n"
                                "skip = 2026-04-05 (Easter)\nmove = 2026-04-12 -> 2026-04-13 09:00 (offsite)\n"
                                "[meeting:day]\ntitle = Day\ndepartments = b, c\nday = monday\ntime = 10:00\n"
                                "timezone = Europe/Berlin\nstart = 2026-03-01\nremind = 1d, 15m\n");
        FeedMeta meta[] = {{3, utc(2026, 2, 1, 0, 0)}, {1, utc(2026, 1, 1, 0, 0)}};
        const Department *b = config_department(f.l.config, "b");
        char *all = feed_render(f.s, NULL, meta), *dept = feed_render(f.s, b, meta);
        Occurrence *before = NULL, *after = NULL;
        int64_t from = utc(2026, 2, 1, 0, 0), to = utc(2028, 1, 1, 0, 0);
        size_t n = schedule_occurrences(f.s, from, to, NULL, true, &before);
        assert_true(n > 100);

        for (size_t i = 0; i < f.s->n_events; i++) {
                char *text = feed_event_text(f.s, i, meta);
                (cores ? schedule_pack : schedule_pack_text)(f.s, i, text);
                free(text);
                assert_null(f.s->events[i]);
                assert_non_null(schedule_text(f.s, i));
        }
        /* the meta given now is not the one packed: the packed text wins */
        char *all2 = feed_render(f.s, NULL, NULL), *dept2 = feed_render(f.s, b, NULL);
        assert_string_equal(all2, all);
        assert_string_equal(dept2, dept);
        assert_int_equal(schedule_occurrences(f.s, from, to, NULL, true, &after), n);
        expect_same_occurrences(before, after, n);
        Occurrence o;
        assert_true(schedule_next(f.s, &f.l.config->meetings[0], utc(2026, 4, 12, 0, 0), &o));
        assert_int_equal(o.status, OCCURRENCE_MOVED);
        assert_int_equal(o.start, utc(2026, 4, 13, 13, 0));
        assert_int_equal(f.s->cores.len > 0, cores);
        if (!cores)
                goto done;
        /* once published only the cores stay: the same occurrences */
        schedule_published(f.s);
        for (size_t i = 0; i < f.s->n_events; i++)
                assert_null(schedule_text(f.s, i));
        free(after);
        after = NULL;
        assert_int_equal(schedule_occurrences(f.s, from, to, NULL, true, &after), n);
        expect_same_occurrences(before, after, n);
done:
        free(all), free(dept), free(all2), free(dept2), free(before), free(after);
        fixture_free(&f);
}

static void test_packed_schedule(void **state)
{
        (void)state;
        check_packed(true);
        check_packed(false);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_line_format),
                cmocka_unit_test(test_folding_utf8_every_offset),
                cmocka_unit_test(test_events),
                cmocka_unit_test(test_calendar_properties),
                cmocka_unit_test(test_timezones),
                cmocka_unit_test(test_department_feed),
                cmocka_unit_test(test_stable_bytes),
                cmocka_unit_test(test_packed_schedule),
                cmocka_unit_test(test_sequence_and_last_modified),
                cmocka_unit_test(test_event_length),
                cmocka_unit_test(test_edge_occurrence),
        };
        return cmocka_run_group_tests_name("feed", tests, NULL, tmp_cleanup);
}
