/* test_config.c — config_load: every validation error with its FILE:LINE,
 * section, key and expectation; all errors in one run; the documented
 * defaults; continuation lines; lines longer than inih's buffer. */
#include "helpers.h"

/* The case tables leave trailing fields (more needles, "absent") out. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <sys/stat.h>

#include "tz.h"

/* Three departments; hr has no manager. */
#define DEPTS                                              \
        "[department:sales]\n"                             \
        "name = Sales\n"                                   \
        "email = sales@example.com\n"                      \
        "manager = Ada Lovelace <ada@example.com>\n"       \
        "\n"                                               \
        "[department:marketing]\n"                         \
        "email = marketing@example.com\n"                  \
        "manager = Grace Hopper <grace@example.com>\n"     \
        "\n"                                               \
        "[department:hr]\n"                                \
        "\n"
#define MEETING(body) DEPTS "[meeting:sync]\n" body
#define TITLE "title = Weekly sync\n"
#define DEPS "departments = sales, marketing\n"
#define DAY "day = tuesday\n"
#define TIME "time = 10:00\n"
#define START "start = 2026-01-06\n"
#define VALID_MEETING MEETING(TITLE DEPS DAY TIME START)

/* ------------------------------------------------------------------ */
/* One mistake, one error                                              */

typedef struct ErrCase {
        const char *name;
        const char *text;
        const char *at;        /* the text of the line the error must name */
        int nth;               /* which occurrence of `at` (0: the first) */
        const char *needles[6];
        const char *absent;    /* must not be in the message */
} ErrCase;

static unsigned line_of_nth(const char *text, const char *needle, int nth)
{
        const char *hit = strstr(text, needle);
        for (int i = 0; hit && i < nth; i++)
                hit = strstr(hit + 1, needle);
        if (!hit)
                fail_msg("test bug: occurrence %d of \"%s\" is not in the config text", nth, needle);
        unsigned line = 1;
        for (const char *p = text; p < hit; p++)
                line += *p == '\n';
        return line;
}

/* Returns whether the case holds; prints what went wrong if not. */
static bool check_case(const ErrCase *c)
{
        Loaded l = load_text(c->text);
        unsigned line = line_of_nth(c->text, c->at, c->nth);
        char prefix[512];
        snprintf(prefix, sizeof prefix, "%s:%u: ", l.path, line);
        const char *hit = NULL;
        for (size_t i = 0; i < l.diags.n && !hit; i++) {
                const char *s = l.diags.lines[i];
                bool all = strncmp(s, prefix, strlen(prefix)) == 0;
                for (size_t k = 0; all && k < ELEMENTSOF(c->needles) && c->needles[k]; k++)
                        all = strstr(s, c->needles[k]) != NULL;
                if (all)
                        hit = s;
        }
        bool ok = l.r == -EINVAL && hit && l.diags.n_errors == 1 && !(c->absent && strstr(hit, c->absent));
        if (!ok) {
                print_error("case \"%s\": config_load = %d, %zu error(s); want -EINVAL and exactly one error\n"
                            "  \"%s...\" containing:",
                            c->name, l.r, l.diags.n_errors, prefix);
                for (size_t k = 0; k < ELEMENTSOF(c->needles) && c->needles[k]; k++)
                        print_error(" [%s]", c->needles[k]);
                if (c->absent)
                        print_error(" and not [%s]", c->absent);
                print_error("\n  got:\n%s", l.text);
        }
        loaded_free(&l);
        return ok;
}

/* Every case is tried; the test fails after all of them if any failed. */
static void run_cases(const ErrCase *cases, size_t n)
{
        size_t failed = 0;
        for (size_t i = 0; i < n; i++)
                failed += !check_case(&cases[i]);
        if (failed)
                fail_msg("%zu of %zu cases failed", failed, n);
}

#define NEEDLES(...) {__VA_ARGS__}

static void test_unknown_sections_and_keys(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"section kind near miss", DEPTS "[meetng:sync]\n" TITLE DEPS DAY TIME START, "[meetng:sync]", 0,
                 NEEDLES("[meetng:sync]", "unknown section", "(did you mean \"meeting\"?)",
                         "expected [tandem], [department:ID], [meeting:ID] or [pairing:ID]")},
                {"section kind far off", DEPTS "[calendar]\nname = x\n", "[calendar]", 0,
                 NEEDLES("[calendar]", "unknown section", "expected [tandem], [department:ID], [meeting:ID] or [pairing:ID]"),
                 "did you mean"},
                {"[tandem] takes no id", "[tandem:main]\ntimezone = UTC\n" DEPTS, "[tandem:main]", 0,
                 NEEDLES("[tandem:main]", "takes no id", "[tandem]")},
                {"meeting key near miss", MEETING(TITLE DEPS DAY TIME START "duraton = 30m\n"), "duraton", 0,
                 NEEDLES("[meeting:sync] duraton: unknown key", "(did you mean \"duration\"?)")},
                {"meeting key near miss 2", MEETING(TITLE DEPS DAY TIME START "remnd = 1h\n"), "remnd", 0,
                 NEEDLES("[meeting:sync] remnd: unknown key", "(did you mean \"remind\"?)")},
                {"meeting key far off", MEETING(TITLE DEPS DAY TIME START "colour = blue\n"), "colour", 0,
                 NEEDLES("[meeting:sync] colour: unknown key", "expected one of", "title", "departments", "remind", "skip"),
                 "did you mean"},
                {"tandem key near miss", "[tandem]\ntimezon = UTC\n" DEPTS, "timezon", 0,
                 NEEDLES("[tandem] timezon: unknown key", "(did you mean \"timezone\"?)")},
                {"tandem key far off", "[tandem]\nlogfile = /tmp/x\n" DEPTS, "logfile", 0,
                 NEEDLES("[tandem] logfile: unknown key", "expected one of", "calendar_name", "feed_token")},
                {"department key near miss", DEPTS "[department:ops]\nwebhok = https://hooks.example.com/x\n", "webhok", 0,
                 NEEDLES("[department:ops] webhok: unknown key", "(did you mean \"webhook\"?)")},
                {"department key near miss 2", DEPTS "[department:ops]\nmanger = Ada <ada@example.com>\n", "manger", 0,
                 NEEDLES("[department:ops] manger: unknown key", "(did you mean \"manager\"?)")},
                {"meeting key from department", MEETING(TITLE DEPS DAY TIME START "chat = slack\n"), "chat = slack", 0,
                 NEEDLES("[meeting:sync] chat: unknown key")},
                {"key outside any section", "timezone = UTC\n" DEPTS, "timezone = UTC", 0,
                 NEEDLES("\"timezone\" is outside any section", "[tandem]")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

static void test_bad_zones(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"tandem zone", "[tandem]\ntimezone = Europe/Berln\n" VALID_MEETING, "Europe/Berln", 0,
                 NEEDLES("[tandem] timezone: unknown time zone \"Europe/Berln\"", "(did you mean \"Europe/Berlin\"?)",
                         "expected an IANA name")},
                {"department zone", DEPTS "[department:ops]\ntimezone = America/New_Yrk\n", "New_Yrk", 0,
                 NEEDLES("[department:ops] timezone: unknown time zone \"America/New_Yrk\"",
                         "(did you mean \"America/New_York\"?)", "expected an IANA name")},
                {"meeting zone", MEETING(TITLE DEPS DAY TIME START "timezone = Asia/Kolkatta\n"), "Kolkatta", 0,
                 NEEDLES("[meeting:sync] timezone: unknown time zone \"Asia/Kolkatta\"", "(did you mean \"Asia/Kolkata\"?)")},
                {"abbreviation is no zone", MEETING(TITLE DEPS DAY TIME START "timezone = Mars/Olympus_Mons\n"),
                 "Olympus", 0, NEEDLES("[meeting:sync] timezone: unknown time zone \"Mars/Olympus_Mons\"", "expected an IANA name"),
                 "did you mean"},
                {"empty zone", MEETING(TITLE DEPS DAY TIME START "timezone =\n"), "timezone =", 0,
                 NEEDLES("[meeting:sync] timezone:", "expected an IANA name")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

/* Only IANA zone and link names are zones: paths that reach a zone file
 * another way are errors (libical would load them, and they would be
 * published as TZIDs no client knows), each with the name it reaches. */
static void test_zone_paths_are_no_names(void **state)
{
        (void)state;
#define ZONE(z) "[tandem]\ntimezone = " z "\n" VALID_MEETING
        static const ErrCase cases[] = {
                {"dot-dot", ZONE("Europe/../Europe/Berlin"), "timezone =", 0,
                 NEEDLES("unknown time zone \"Europe/../Europe/Berlin\"", "(did you mean \"Europe/Berlin\"?)")},
                {"dot", ZONE("./UTC"), "timezone =", 0, NEEDLES("unknown time zone \"./UTC\"", "(did you mean \"UTC\"?)")},
                {"double slash", ZONE("Europe//Berlin"), "timezone =", 0,
                 NEEDLES("unknown time zone \"Europe//Berlin\"", "(did you mean \"Europe/Berlin\"?)")},
                {"localtime", ZONE("localtime"), "timezone =", 0, NEEDLES("unknown time zone \"localtime\"")},
                {"posixrules", ZONE("posixrules"), "timezone =", 0, NEEDLES("unknown time zone \"posixrules\"")},
                {"leap-second zones", ZONE("right/UTC"), "timezone =", 0,
                 NEEDLES("unknown time zone \"right/UTC\"", "(did you mean \"UTC\"?)")},
                {"posix zones", ZONE("posix/Europe/Berlin"), "timezone =", 0,
                 NEEDLES("unknown time zone \"posix/Europe/Berlin\"", "(did you mean \"Europe/Berlin\"?)")},
                {"out of the directory", ZONE("../zoneinfo/UTC"), "timezone =", 0,
                 NEEDLES("unknown time zone \"../zoneinfo/UTC\"", "(did you mean \"UTC\"?)")},
                {"absolute path", ZONE("/usr/share/zoneinfo/Europe/Berlin"), "timezone =", 0,
                 NEEDLES("unknown time zone \"/usr/share/zoneinfo/Europe/Berlin\"", "did you mean \"Europe/Berlin\"")},
                {"tzdata's placeholder", ZONE("Factory"), "timezone =", 0, NEEDLES("unknown time zone \"Factory\"")},
        };
        run_cases(cases, ELEMENTSOF(cases));

        /* link names are names: accepted and kept as written */
        Loaded l = load_text(ZONE("Asia/Calcutta"));
        if (l.r != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        assert_string_equal(tz_name(l.config->zone), "Asia/Calcutta");
        loaded_free(&l);
        l = load_text(ZONE("Etc/UTC"));
        assert_int_equal(l.r, 0);
        loaded_free(&l);
#undef ZONE
}

/* Where spelling does not help, the city or country the name means does:
 * tzdata names one city per zone, so a big city it does not name, a
 * country of iso3166.tab or a place in zone.tab's comments finds the
 * zone. */
static void test_zone_suggested_by_place(void **state)
{
        (void)state;
        static const struct {
                const char *written, *hint;
        } cases[] = {
                {"Asia/Bangalore", "(did you mean \"Asia/Kolkata\"?)"},
                {"Asia/Bengaluru", "(did you mean \"Asia/Kolkata\"?)"},
                {"Asia/Beijing", "(did you mean \"Asia/Shanghai\"?)"},
                {"America/San_Francisco", "(did you mean \"America/Los_Angeles\"?)"},
                {"Europe/Munich", "(did you mean \"Europe/Berlin\"?)"},
                {"India", "(did you mean \"Asia/Kolkata\"?)"},
                {"Asia/India", "(did you mean \"Asia/Kolkata\"?)"},
                {"Germany", "(did you mean one of \"Europe/Berlin\" or \"Europe/Busingen\"?)"},
                {"New York", "(did you mean \"America/New_York\"?)"},
                {"Berlin", "(did you mean \"Europe/Berlin\"?)"},
                {"America/Hawaii", "(did you mean \"Pacific/Honolulu\"?)"},
                {"Asia/Calcuta", "(did you mean \"Asia/Calcutta\"?)"},
        };
        size_t failed = 0;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *text = NULL;
                assert_true(asprintf(&text, "[tandem]\ntimezone = %s\n", cases[i].written) > 0);
                Loaded l = load_text(text);
                if (l.r != -EINVAL || !strstr(l.text, cases[i].hint)) {
                        print_error("%s: want %s, got:\n%s", cases[i].written, cases[i].hint, l.text);
                        failed++;
                }
                loaded_free(&l);
                free(text);
        }
        if (failed)
                fail_msg("%zu of %zu cases failed", failed, ELEMENTSOF(cases));
}

/* A zone name typed in the wrong case is as close as a name can be: it must
 * get a "did you mean" too. */
static void test_zone_wrong_case_suggests(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"zone in lower case", "[tandem]\ntimezone = europe/berlin\n" VALID_MEETING, "europe/berlin", 0,
                 NEEDLES("[tandem] timezone: unknown time zone \"europe/berlin\"", "(did you mean \"Europe/Berlin\"?)")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

static void test_bad_times_dates_durations(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"hour 25", MEETING(TITLE DEPS DAY "time = 25:00\n" START), "time = 25:00", 0,
                 NEEDLES("[meeting:sync] time: expected a 24-hour time \"HH:MM\"", "\"25:00\"")},
                {"minute 60", MEETING(TITLE DEPS DAY "time = 12:60\n" START), "time = 12:60", 0,
                 NEEDLES("[meeting:sync] time: expected a 24-hour time \"HH:MM\"", "\"12:60\"")},
                {"am/pm", MEETING(TITLE DEPS DAY "time = 10am\n" START), "time = 10am", 0,
                 NEEDLES("[meeting:sync] time: expected a 24-hour time \"HH:MM\"", "\"10am\"")},
                {"February 30th", MEETING(TITLE DEPS DAY TIME "start = 2026-02-30\n"), "2026-02-30", 0,
                 NEEDLES("[meeting:sync] start:", "\"2026-02-30\" is not a date in the calendar")},
                {"February 29th of a common year", MEETING(TITLE DEPS DAY TIME "start = 2026-02-29\n"), "2026-02-29", 0,
                 NEEDLES("[meeting:sync] start:", "\"2026-02-29\" is not a date in the calendar")},
                {"April 31st as end", MEETING(TITLE DEPS DAY TIME START "end = 2026-04-31\n"), "2026-04-31", 0,
                 NEEDLES("[meeting:sync] end:", "\"2026-04-31\" is not a date in the calendar")},
                {"date format", MEETING(TITLE DEPS DAY TIME START "end = 2026/12/31\n"), "2026/12/31", 0,
                 NEEDLES("[meeting:sync] end: expected a date \"YYYY-MM-DD\"", "\"2026/12/31\"")},
                {"skip date", MEETING(TITLE DEPS DAY TIME START "skip = 2026-01-13, 2026-13-01\n"), "skip =", 0,
                 NEEDLES("[meeting:sync] skip:", "\"2026-13-01\"")},
                {"duration too short", MEETING(TITLE DEPS DAY TIME START "duration = 4m\n"), "duration = 4m", 0,
                 NEEDLES("[meeting:sync] duration: 4m is out of range", "from 5 minutes to 24 hours")},
                {"duration too long", MEETING(TITLE DEPS DAY TIME START "duration = 25h\n"), "duration = 25h", 0,
                 NEEDLES("[meeting:sync] duration: 25h is out of range", "from 5 minutes to 24 hours")},
                {"duration a day and an hour", MEETING(TITLE DEPS DAY TIME START "duration = 1d1h\n"), "duration = 1d1h", 0,
                 NEEDLES("[meeting:sync] duration: 1d1h is out of range")},
                {"duration without unit", MEETING(TITLE DEPS DAY TIME START "duration = 90\n"), "duration = 90", 0,
                 NEEDLES("[meeting:sync] duration: expected a duration like \"30m\", \"1h\" or \"1h30m\"", "\"90\"")},
                {"duration repeated unit", MEETING(TITLE DEPS DAY TIME START "duration = 1h1h\n"), "duration = 1h1h", 0,
                 NEEDLES("[meeting:sync] duration: expected a duration", "\"1h1h\"")},
                {"duration out of order", MEETING(TITLE DEPS DAY TIME START "duration = 30m1h\n"), "duration = 30m1h", 0,
                 NEEDLES("[meeting:sync] duration: expected a duration", "\"30m1h\"")},
                {"end before start", MEETING(TITLE DEPS DAY TIME START "end = 2026-01-01\n"), "end = 2026-01-01", 0,
                 NEEDLES("[meeting:sync] end: 2026-01-01 is before start")},
                {"skip before start", MEETING(TITLE DEPS DAY TIME START "skip = 2025-12-30\n"), "skip =", 0,
                 NEEDLES("[meeting:sync] skip: 2025-12-30 is outside start..end")},
                {"skip after end", MEETING(TITLE DEPS DAY TIME START "end = 2026-02-01\nskip = 2026-02-03\n"), "skip =", 0,
                 NEEDLES("[meeting:sync] skip: 2026-02-03 is outside start..end")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

static void test_bad_remind(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"unknown unit", MEETING(TITLE DEPS DAY TIME START "remind = 15m, 1x\n"), "remind =", 0,
                 NEEDLES("[meeting:sync] remind: expected offsets like \"10m\", \"2h\", \"1d\" or \"none\"", "\"1x\"")},
                {"negative", MEETING(TITLE DEPS DAY TIME START "remind = -5m\n"), "remind =", 0,
                 NEEDLES("[meeting:sync] remind: expected offsets like", "\"-5m\"")},
                {"too early", MEETING(TITLE DEPS DAY TIME START "remind = 29d\n"), "remind =", 0,
                 NEEDLES("[meeting:sync] remind: 29d is more than 28 days before the meeting")},
                {"repeated", MEETING(TITLE DEPS DAY TIME START "remind = 15m, 1h, 15m\n"), "remind =", 0,
                 NEEDLES("[meeting:sync] remind:", "\"15m\" repeats \"15m\"")},
                {"same offset written twice", MEETING(TITLE DEPS DAY TIME START "remind = 1h, 60m\n"), "remind =", 0,
                 NEEDLES("[meeting:sync] remind:", "\"60m\" repeats \"1h\"")},
                {"empty", MEETING(TITLE DEPS DAY TIME START "remind =\n"), "remind =", 0,
                 NEEDLES("[meeting:sync] remind:", "\"none\"")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

static void test_bad_ids(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"upper case", DEPTS "[department:Ops]\n", "[department:Ops]", 0,
                 NEEDLES("[department:Ops]", "expected [department:ID] with an ID of 1-63 characters a-z 0-9 - _")},
                {"leading dash", VALID_MEETING "[meeting:-retro]\n" TITLE DEPS DAY TIME START, "[meeting:-retro]", 0,
                 NEEDLES("[meeting:-retro]", "expected [meeting:ID] with an ID of 1-63 characters")},
                {"space", VALID_MEETING "[meeting:weekly sync]\n" TITLE DEPS DAY TIME START, "[meeting:weekly sync]", 0,
                 NEEDLES("[meeting:weekly sync]", "expected [meeting:ID]")},
                {"empty id", DEPTS "[department:]\n", "[department:]", 0,
                 NEEDLES("[department:]", "expected [department:ID]")},
                {"no id", DEPTS "[department]\nname = Ops\n", "[department]", 0,
                 NEEDLES("[department]", "expected [department:ID]")},
                {"64 characters", DEPTS "[department:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n",
                 "[department:aaaa", 0, NEEDLES("expected [department:ID] with an ID of 1-63 characters")},
                {"reserved all", DEPTS "[department:all]\nname = Everyone\n", "[department:all]", 0,
                 NEEDLES("[department:all]", "\"all\" is reserved", "all-meetings feed")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

static void test_references(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"undefined department, near miss", MEETING(TITLE "departments = sales, marketng\n" DAY TIME START),
                 "departments =", 0,
                 NEEDLES("[meeting:sync] departments: no [department:marketng] is defined", "(did you mean \"marketing\"?)")},
                {"undefined department, far off", MEETING(TITLE "departments = sales, finance\n" DAY TIME START),
                 "departments =", 0, NEEDLES("[meeting:sync] departments: no [department:finance] is defined"),
                 "did you mean"},
                {"one department", MEETING(TITLE "departments = sales\n" DAY TIME START), "departments =", 0,
                 NEEDLES("[meeting:sync] departments: a joint meeting needs two or more departments, got 1")},
                {"the same department twice", MEETING(TITLE "departments = sales, sales\n" DAY TIME START),
                 "departments =", 0, NEEDLES("[meeting:sync] departments:", "\"sales\" is listed twice")},
                {"host outside the meeting", MEETING(TITLE DEPS DAY TIME START "host = hr\n"), "host = hr", 0,
                 NEEDLES("[meeting:sync] host: \"hr\" is not one of this meeting's departments")},
                {"host near miss", MEETING(TITLE DEPS DAY TIME START "host = sale\n"), "host = sale", 0,
                 NEEDLES("[meeting:sync] host: \"sale\" is not one of this meeting's departments",
                         "(did you mean \"sales\"?)")},
                {"host without manager", MEETING(TITLE "departments = sales, hr\n" DAY TIME START "host = hr\n"),
                 "host = hr", 0, NEEDLES("[meeting:sync] host:", "[department:hr] has no \"manager\"")},
                {"managers without manager", MEETING(TITLE "departments = sales, hr\n" DAY TIME START "attendees = managers\n"),
                 "attendees =", 0, NEEDLES("[meeting:sync] attendees:", "[department:hr] has no \"manager\"")},
                {"attendees near miss", MEETING(TITLE DEPS DAY TIME START "attendees = everyon\n"), "attendees =", 0,
                 NEEDLES("[meeting:sync] attendees: expected everyone, managers or none", "(did you mean \"everyone\"?)")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

static void test_duplicates(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"department twice", DEPTS "[department:sales]\nname = Sales again\n", "[department:sales]", 1,
                 NEEDLES("[department:sales] defined twice (first at line 1)")},
                {"meeting twice", VALID_MEETING "\n[meeting:sync]\n" TITLE DEPS DAY TIME START, "[meeting:sync]", 1,
                 NEEDLES("[meeting:sync] defined twice (first at line 12)")},
                {"[tandem] twice", "[tandem]\ntimezone = UTC\n\n[tandem]\ndomain = example.com\n" DEPTS, "[tandem]", 1,
                 NEEDLES("[tandem] defined twice (first at line 1)")},
                {"key twice", MEETING(TITLE DEPS DAY TIME START "title = Another title\n"), "title = Another", 0,
                 NEEDLES("[meeting:sync] title: set twice (first at line 13)")},
                {"department key twice", "[department:sales]\nname = Sales\nemail = a@example.com\nname = Sales2\n"
                                         "[department:marketing]\n",
                 "name = Sales2", 0, NEEDLES("[department:sales] name: set twice (first at line 2)")},
                {"weekday twice", MEETING(TITLE DEPS "day = tuesday, tue\n" TIME START), "day =", 0,
                 NEEDLES("[meeting:sync] day:", "\"tue\" is listed twice")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

static void test_chat(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"chat near miss", DEPTS "[department:ops]\nchat = slak\nwebhook = https://hooks.example.com/x\n",
                 "chat = slak", 0,
                 NEEDLES("[department:ops] chat: unknown chat \"slak\"", "(did you mean \"slack\"?)",
                         "expected slack, mattermost, rocketchat, discord, teams, googlechat, ntfy, generic or console")},
                {"chat near miss 2", DEPTS "[department:ops]\nchat = teems\nwebhook = https://hooks.example.com/x\n",
                 "chat = teems", 0, NEEDLES("[department:ops] chat: unknown chat \"teems\"", "(did you mean \"teams\"?)")},
                {"chat far off", DEPTS "[department:ops]\nchat = email\n", "chat = email", 0,
                 NEEDLES("[department:ops] chat: unknown chat \"email\"", "expected slack"), "did you mean"},
                {"webhook missing", DEPTS "[department:ops]\nchat = slack\n", "chat = slack", 0,
                 NEEDLES("[department:ops] chat: chat = slack needs a \"webhook\" URL")},
                {"webhook missing for teams", DEPTS "[department:ops]\nname = Ops\nchat = teams\nmention = @all\n",
                 "chat = teams", 0, NEEDLES("[department:ops] chat: chat = teams needs a \"webhook\" URL")},
                {"webhook not a URL", DEPTS "[department:ops]\nchat = discord\nwebhook = discord.com/api/webhooks/1\n",
                 "webhook =", 0, NEEDLES("[department:ops] webhook: expected an http:// or https:// URL")},
                {"email", DEPTS "[department:ops]\nemail = ops-at-example.com\n", "ops-at-example.com", 0,
                 NEEDLES("[department:ops] email: expected an e-mail address", "\"ops-at-example.com\"")},
                {"manager", DEPTS "[department:ops]\nmanager = Ada Lovelace\n", "manager = Ada Lovelace\n", 0,
                 NEEDLES("[department:ops] manager: expected \"Name <email>\"", "\"Ada Lovelace\"")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

/* Webhook URLs and public_url are parsed by libcurl's URL API when the
 * config is checked: a URL libcurl can never send to is a config error at
 * its line, and the message does not repeat the URL (a secret). */
static void test_urls_parsed_by_libcurl(void **state)
{
        (void)state;
#define HOOK(url) DEPTS "[department:ops]\nchat = slack\nwebhook = " url "\n"
        static const ErrCase cases[] = {
                {"port out of range", HOOK("http://127.0.0.1:99999/x"), "webhook =", 0,
                 NEEDLES("[department:ops] webhook: expected an http:// or https:// URL", "Port number"), "127.0.0.1"},
                {"unclosed IPv6", HOOK("http://[::1/x"), "webhook =", 0,
                 NEEDLES("[department:ops] webhook: expected an http:// or https:// URL", "IPv6"), "::1"},
                {"no host", HOOK("https:///services/T0/B0/X"), "webhook =", 0,
                 NEEDLES("[department:ops] webhook: expected an http:// or https:// URL"), "services"},
                {"port 0", HOOK("https://hooks.example.com:0/x"), "webhook =", 0,
                 NEEDLES("[department:ops] webhook:", "port from 1 to 65535, got port 0"), "hooks.example.com"},
                {"other scheme", HOOK("ftp://hooks.example.com/x"), "webhook =", 0,
                 NEEDLES("[department:ops] webhook: expected an http:// or https:// URL, got \"ftp:\"")},
                {"public_url port", "[tandem]\npublic_url = https://cal.example.com:123456\n" DEPTS, "public_url =", 0,
                 NEEDLES("[tandem] public_url: expected an http:// or https:// URL", "Port number")},
                {"public_url query", "[tandem]\npublic_url = https://cal.example.com/?a=1\n" DEPTS, "public_url =", 0,
                 NEEDLES("[tandem] public_url: expected a base URL", "without ?query or #fragment")},
        };
#undef HOOK
        run_cases(cases, ELEMENTSOF(cases));

        /* what libcurl takes is kept as written */
        Loaded l = load_text(DEPTS "[department:ops]\nchat = slack\nwebhook = https://[::1]:8443/hook?x=1\n"
                                   "[tandem]\npublic_url = https://example.com/tandem/\n");
        if (l.r != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        assert_string_equal(config_department(l.config, "ops")->webhook, "https://[::1]:8443/hook?x=1");
        assert_string_equal(l.config->public_url, "https://example.com/tandem");
        loaded_free(&l);
}

/* "Slack" differs from "slack" in case only; it must still get its "did
 * you mean". */
static void test_chat_wrong_case_suggests(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"chat in title case", DEPTS "[department:ops]\nchat = Slack\nwebhook = https://hooks.example.com/x\n",
                 "chat = Slack", 0, NEEDLES("[department:ops] chat: unknown chat \"Slack\"", "(did you mean \"slack\"?)")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

/* Two swapped letters are the commonest typo: each of these names is one
 * swap away from a real one and must get its "did you mean". */
static void test_transposed_names_suggest(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"key", MEETING(TITLE DEPS DAY TIME START "titel = Sync\n"), "titel", 0,
                 NEEDLES("[meeting:sync] titel: unknown key", "(did you mean \"title\"?)")},
                {"chat", DEPTS "[department:ops]\nchat = slakc\nwebhook = https://hooks.example.com/x\n", "slakc", 0,
                 NEEDLES("[department:ops] chat: unknown chat \"slakc\"", "(did you mean \"slack\"?)")},
                {"ordinal", MEETING(TITLE DEPS "cadence = monthly\nday = frist monday\n" TIME START), "frist", 0,
                 NEEDLES("[meeting:sync] day:", "\"frist\"", "(did you mean \"first\"?)")},
                {"host", MEETING(TITLE DEPS DAY TIME START "host = salse\n"), "host = salse", 0,
                 NEEDLES("[meeting:sync] host: \"salse\" is not one of this meeting's departments",
                         "(did you mean \"sales\"?)")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

static void test_days_and_cadences(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"weekday near miss", MEETING(TITLE DEPS "day = tusday\n" TIME START), "day = tusday", 0,
                 NEEDLES("[meeting:sync] day: expected weekdays like \"tuesday\" or \"tue, thu\"", "\"tusday\"",
                         "(did you mean \"tuesday\"?)")},
                {"second weekday near miss", MEETING(TITLE DEPS "day = tuesday, thursdy\n" TIME START), "day =", 0,
                 NEEDLES("[meeting:sync] day:", "\"thursdy\"", "(did you mean \"thursday\"?)")},
                {"weekday far off", MEETING(TITLE DEPS "day = weekend\n" TIME START), "day =", 0,
                 NEEDLES("[meeting:sync] day: expected weekdays", "\"weekend\"")},
                {"monthly ordinal near miss", MEETING(TITLE DEPS "cadence = monthly\nday = secnd monday\n" TIME START),
                 "day =", 0,
                 NEEDLES("[meeting:sync] day: expected first, second, third, fourth or last", "\"secnd\"",
                         "(did you mean \"second\"?)")},
                {"monthly weekday near miss", MEETING(TITLE DEPS "cadence = monthly\nday = last fridy\n" TIME START),
                 "day =", 0,
                 NEEDLES("[meeting:sync] day: expected a weekday after \"last\"", "\"fridy\"", "(did you mean \"friday\"?)")},
                {"monthly day 32", MEETING(TITLE DEPS "cadence = monthly\nday = 32\n" TIME START), "day =", 0,
                 NEEDLES("[meeting:sync] day: monthly meetings take", "1-31", "\"32\"")},
                {"monthly weekday alone", MEETING(TITLE DEPS "cadence = monthly\nday = friday\n" TIME START), "day =", 0,
                 NEEDLES("[meeting:sync] day: monthly meetings take \"last friday\"", "\"friday\"")},
                {"cadence near miss", MEETING(TITLE DEPS "cadence = weekyl\n" DAY TIME START), "cadence =", 0,
                 NEEDLES("[meeting:sync] cadence: expected weekly, biweekly, \"every N weeks\", monthly or \"rrule:RULE\"",
                         "\"weekyl\"", "(did you mean \"weekly\"?)")},
                {"cadence near miss 2", MEETING(TITLE DEPS "cadence = montly\n" DAY TIME START), "cadence =", 0,
                 NEEDLES("[meeting:sync] cadence:", "(did you mean \"monthly\"?)")},
                {"every 53 weeks", MEETING(TITLE DEPS "cadence = every 53 weeks\n" DAY TIME START), "cadence =", 0,
                 NEEDLES("[meeting:sync] cadence: expected \"every N weeks\" with N from 1 to 52", "\"every 53 weeks\"")},
                {"every 0 weeks", MEETING(TITLE DEPS "cadence = every 0 weeks\n" DAY TIME START), "cadence =", 0,
                 NEEDLES("[meeting:sync] cadence: expected \"every N weeks\" with N from 1 to 52")},
                {"every 2 months", MEETING(TITLE DEPS "cadence = every 2 months\n" DAY TIME START), "cadence =", 0,
                 NEEDLES("[meeting:sync] cadence: expected \"every N weeks\"")},
                {"day with rrule", MEETING(TITLE DEPS "cadence = rrule:FREQ=MONTHLY;BYDAY=2WE\n" DAY TIME START),
                 "day =", 0, NEEDLES("[meeting:sync] day: not used with an rrule: cadence")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

static void test_missing_required(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"title", MEETING(DEPS DAY TIME START), "[meeting:sync]", 0,
                 NEEDLES("[meeting:sync] missing required key \"title\"")},
                {"departments", MEETING(TITLE DAY TIME START), "[meeting:sync]", 0,
                 NEEDLES("[meeting:sync] missing required key \"departments\"")},
                {"time", MEETING(TITLE DEPS DAY START), "[meeting:sync]", 0,
                 NEEDLES("[meeting:sync] missing required key \"time\"")},
                {"start", MEETING(TITLE DEPS DAY TIME), "[meeting:sync]", 0,
                 NEEDLES("[meeting:sync] missing required key \"start\"")},
                {"day, weekly", MEETING(TITLE DEPS TIME START), "[meeting:sync]", 0,
                 NEEDLES("[meeting:sync] missing required key \"day\"", "\"tuesday\"")},
                {"day, monthly", MEETING(TITLE DEPS "cadence = monthly\n" TIME START), "[meeting:sync]", 0,
                 NEEDLES("[meeting:sync] missing required key \"day\"", "\"last friday\"")},
                {"empty title", MEETING("title =\n" DEPS DAY TIME START), "title =", 0,
                 NEEDLES("[meeting:sync] title: expected a value, got nothing")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

static void test_not_key_value(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"words", MEETING(TITLE DEPS DAY "meet every week\n" TIME START), "meet every week", 0,
                 NEEDLES("expected \"key = value\", a [kind:id] section header or a comment", "\"meet every week\"")},
                {"bare key", MEETING(TITLE DEPS DAY TIME START "location\n"), "location", 0,
                 NEEDLES("expected \"key = value\"", "\"location\"")},
                {"unclosed header", DEPTS "[meeting:sync\n" TITLE DEPS DAY TIME START, "[meeting:sync", 0,
                 NEEDLES("expected \"]\" to close the section header", "[meeting:sync")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

static void test_tandem_values(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"listen without port", "[tandem]\nlisten = localhost\n" DEPTS, "listen =", 0,
                 NEEDLES("[tandem] listen: expected \"HOST:PORT\", \"[IPv6]:PORT\" or \"off\"", "\"localhost\"")},
                {"listen port 70000", "[tandem]\nlisten = 127.0.0.1:70000\n" DEPTS, "listen =", 0,
                 NEEDLES("[tandem] listen: expected \"HOST:PORT\"")},
                {"listen bare IPv6", "[tandem]\nlisten = ::1:8470\n" DEPTS, "listen =", 0,
                 NEEDLES("[tandem] listen: expected \"HOST:PORT\", \"[IPv6]:PORT\"")},
                {"public_url", "[tandem]\npublic_url = ftp://cal.example.com\n" DEPTS, "public_url =", 0,
                 NEEDLES("[tandem] public_url: expected an http:// or https:// URL")},
                {"feed_token short", "[tandem]\nfeed_token = abc\n" DEPTS, "feed_token =", 0,
                 NEEDLES("[tandem] feed_token: expected at least 8 characters")},
                {"feed_token characters", "[tandem]\nfeed_token = abc def ghi&x\n" DEPTS, "feed_token =", 0,
                 NEEDLES("[tandem] feed_token: expected at least 8 characters of A-Z a-z 0-9")},
                {"domain", "[tandem]\ndomain = exa mple.com\n" DEPTS, "domain =", 0,
                 NEEDLES("[tandem] domain: expected a domain name", "\"exa mple.com\"")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

/* ------------------------------------------------------------------ */
/* Every error in one run                                              */

static void test_all_errors_in_one_run(void **state)
{
        (void)state;
        /* Meetings first and [tandem] last: validation visits them in the
         * opposite order, the report must still be in line order. */
        static const char text[] =
                "[meeting:sync]\n"                  /* 1 */
                "title = Sync\n"                    /* 2 */
                "departments = sales, marketng\n"   /* 3: undefined department */
                "day = tusday\n"                    /* 4: weekday */
                "time = 25:00\n"                    /* 5: time */
                "start = 2026-02-30\n"              /* 6: date */
                "duration = 2m\n"                   /* 7: too short */
                "remind = 15m, 1x\n"                /* 8: offset */
                "colour = blue\n"                   /* 9: unknown key */
                "\n"                                /* 10 */
                "[department:sales]\n"              /* 11 */
                "chat = slak\n"                     /* 12: chat */
                "timezone = Europe/Berln\n"         /* 13: zone */
                "\n"                                /* 14 */
                "[department:marketing]\n"          /* 15 */
                "chat = teams\n"                    /* 16: no webhook */
                "\n"                                /* 17 */
                "[department:all]\n"                /* 18: reserved */
                "\n"                                /* 19 */
                "[tandem]\n"                        /* 20 */
                "timezone = Mars/Olympus\n"         /* 21: zone */
                "domian = example.com\n"            /* 22: unknown key */
                "not a setting\n";                  /* 23: not key = value */
        static const unsigned want[] = {3, 4, 5, 6, 7, 8, 9, 12, 13, 16, 18, 21, 22, 23};

        Loaded l = load_text(text);
        assert_int_equal(l.r, -EINVAL);
        assert_null(l.config);
        if (l.diags.n_errors != ELEMENTSOF(want))
                fail_msg("want %zu errors, got %zu:\n%s", ELEMENTSOF(want), l.diags.n_errors, l.text);

        /* diag_print: one per line, in line order. */
        const char *p = l.text;
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                char prefix[512];
                snprintf(prefix, sizeof prefix, "%s:%u: ", l.path, want[i]);
                if (strncmp(p, prefix, strlen(prefix)) != 0)
                        fail_msg("line %zu of the report should start with \"%s\":\n%s", i + 1, prefix, l.text);
                p = strchr(p, '\n');
                assert_non_null(p);
                p++;
        }
        assert_string_equal(p, "");

        expect_diag(&l.diags, l.path, 3, "[meeting:sync] departments:", "did you mean \"marketing\"");
        expect_diag(&l.diags, l.path, 4, "[meeting:sync] day:", "did you mean \"tuesday\"");
        expect_diag(&l.diags, l.path, 12, "[department:sales] chat:", "did you mean \"slack\"");
        expect_diag(&l.diags, l.path, 13, "[department:sales] timezone:", "did you mean \"Europe/Berlin\"");
        expect_diag(&l.diags, l.path, 16, "[department:marketing] chat:", "webhook");
        expect_diag(&l.diags, l.path, 22, "[tandem] domian:", "did you mean \"domain\"");
        loaded_free(&l);
}

static void test_missing_file(void **state)
{
        (void)state;
        Diags d = {0};
        Config *c = NULL;
        assert_int_equal(config_load("/nonexistent/tandem-unit.ini", &c, &d), -ENOENT);
        assert_null(c);
        diag_free(&d);
}

/* config_load adds to what diags already holds, and fails only for errors
 * of its own. */
static void test_diags_accumulate(void **state)
{
        (void)state;
        Diags d = {0};
        diag_error(&d, "other.ini", 7, "an earlier error");
        char *path = tmp_write(VALID_MEETING);
        Config *c = NULL;
        assert_int_equal(config_load(path, &c, &d), 0);
        assert_non_null(c);
        assert_int_equal(d.n_errors, 1);
        config_free(c);
        c = NULL;

        char *bad = tmp_write(MEETING(TITLE DEPS DAY "time = 25:00\n" START));
        assert_int_equal(config_load(bad, &c, &d), -EINVAL);
        assert_null(c);
        assert_int_equal(d.n_errors, 2);
        char *all = diags_text(&d);
        assert_non_null(strstr(all, "other.ini:7: an earlier error\n"));
        free(all);
        diag_free(&d);
        unlink(path), unlink(bad);
        free(path), free(bad);
}

/* Durations: 5 minutes to 24 hours, both ends included. */
static void test_duration_bounds(void **state)
{
        (void)state;
        static const struct {
                const char *value;
                int64_t seconds;
        } ok[] = {{"5m", 300}, {"24h", 86400}, {"1d", 86400}, {"1h30m", 5400}, {"23h59m", 86340}};
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                char *text = NULL;
                assert_true(asprintf(&text, "%sduration = %s\n", VALID_MEETING, ok[i].value) > 0);
                Loaded l = load_text(text);
                if (l.r != 0)
                        fail_msg("duration = %s: %s", ok[i].value, l.text);
                assert_int_equal(l.config->meetings[0].duration, ok[i].seconds);
                loaded_free(&l);
                free(text);
        }
}

/* ------------------------------------------------------------------ */
/* Valid configs                                                       */

static void test_defaults(void **state)
{
        (void)state;
        unsetenv("STATE_DIRECTORY");
        static const char text[] =
                "[department:sales]\n"
                "[department:marketing]\n"
                "[meeting:sync]\n"
                "title = Sync\n"
                "departments = sales, marketing\n"
                "day = tuesday\n"
                "time = 10:00\n"
                "start = 2026-01-06\n";
        Loaded l = load_text(text);
        if (l.r != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        assert_int_equal(l.diags.n_errors, 0);
        assert_int_equal(l.diags.n_warnings, 0);
        const Config *c = l.config;

        assert_ptr_equal(c->zone, tz_lookup("UTC"));
        assert_string_equal(tz_name(c->zone), "UTC");
        assert_string_equal(c->calendar_name, "Joint meetings");
        assert_string_equal(c->domain, "tandem.invalid");
        /* next to the config file, whatever the working directory */
        char *dir = realpath(tmp_dir_get(), NULL), *want = NULL;
        assert_true(asprintf(&want, "%s/state", dir) > 0);
        assert_string_equal(c->state_dir, want);
        free(want);
        assert_true(asprintf(&want, "%s/state/feeds", dir) > 0);
        assert_string_equal(c->feed_dir, want);
        free(want);
        free(dir);
        assert_string_equal(c->listen, "127.0.0.1:8470");
        assert_string_equal(c->public_url, "http://127.0.0.1:8470");
        assert_null(c->feed_token);

        assert_int_equal(c->n_departments, 2);
        for (size_t i = 0; i < 2; i++) {
                const Department *d = &c->departments[i];
                assert_string_equal(d->name, d->id);
                assert_ptr_equal(d->zone, c->zone);
                assert_int_equal(d->chat, CHAT_CONSOLE);
                assert_null(d->webhook);
                assert_null(d->mention);
                assert_null(d->email);
                assert_null(d->manager_email);
        }
        assert_string_equal(c->departments[0].id, "sales");
        assert_string_equal(c->departments[1].id, "marketing");

        assert_int_equal(c->n_meetings, 1);
        const Meeting *m = &c->meetings[0];
        assert_string_equal(m->id, "sync");
        assert_string_equal(m->title, "Sync");
        assert_int_equal(m->n_departments, 2);
        assert_ptr_equal(m->departments[0], &c->departments[0]);
        assert_ptr_equal(m->departments[1], &c->departments[1]);
        assert_int_equal(m->cadence, CADENCE_WEEKLY);
        assert_int_equal(m->weekdays, 1u << ICAL_TUESDAY_WEEKDAY);
        assert_int_equal(m->hour, 10);
        assert_int_equal(m->minute, 0);
        assert_int_equal(m->duration, 3600);
        assert_ptr_equal(m->zone, c->zone);
        assert_int_equal(m->start.year, 2026);
        assert_int_equal(m->start.month, 1);
        assert_int_equal(m->start.day, 6);
        assert_false(m->has_end);
        assert_null(m->host);
        assert_int_equal(m->attendees, ATTENDEES_EVERYONE);
        assert_int_equal(m->n_reminders, 1);
        assert_int_equal(m->reminders[0].before, 15 * 60);
        assert_string_equal(m->reminders[0].text, "15m");
        assert_int_equal(m->n_skip, 0);
        assert_null(m->location);
        assert_null(m->description);
        loaded_free(&l);
}

/* No cadence key means weekly: every week, interval 1, exactly as if
 * "cadence = weekly" had been written. */
static void test_default_cadence_is_every_week(void **state)
{
        (void)state;
        Loaded l = load_text(VALID_MEETING);
        Loaded w = load_text(MEETING(TITLE DEPS DAY TIME START "cadence = weekly\n"));
        assert_int_equal(l.r, 0);
        assert_int_equal(w.r, 0);
        assert_int_equal(w.config->meetings[0].interval, 1);
        assert_int_equal(l.config->meetings[0].cadence, CADENCE_WEEKLY);
        assert_int_equal(l.config->meetings[0].interval, w.config->meetings[0].interval);
        loaded_free(&l);
        loaded_free(&w);
}

/* [tandem] timezone is the default of departments and meetings, wherever
 * [tandem] stands in the file; their own timezone wins. */
static void test_zone_defaults_follow_tandem(void **state)
{
        (void)state;
        static const char text[] =
                "[department:sales]\n"
                "[department:marketing]\n"
                "timezone = America/New_York\n"
                "[meeting:sync]\n"
                "title = Sync\n"
                "departments = sales, marketing\n"
                "day = tuesday\n"
                "time = 10:00\n"
                "start = 2026-01-06\n"
                "[meeting:other]\n"
                "title = Other\n"
                "departments = sales, marketing\n"
                "day = monday\n"
                "time = 10:00\n"
                "timezone = Asia/Kolkata\n"
                "start = 2026-01-06\n"
                "[tandem]\n"
                "timezone = Europe/Berlin\n"
                "calendar_name = ACME meetings\n"
                "domain = cal.example.com\n"
                "state_dir = /var/lib/x\n"
                "listen = [::1]:9000\n";
        Loaded l = load_text(text);
        if (l.r != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        const Config *c = l.config;
        icaltimezone *berlin = tz_lookup("Europe/Berlin");
        assert_non_null(berlin);
        assert_ptr_equal(c->zone, berlin);
        assert_ptr_equal(c->departments[0].zone, berlin);
        assert_ptr_equal(c->departments[1].zone, tz_lookup("America/New_York"));
        assert_ptr_equal(c->meetings[0].zone, berlin);
        assert_ptr_equal(c->meetings[1].zone, tz_lookup("Asia/Kolkata"));
        assert_string_equal(c->calendar_name, "ACME meetings");
        assert_string_equal(c->domain, "cal.example.com");
        assert_string_equal(c->state_dir, "/var/lib/x");
        assert_string_equal(c->feed_dir, "/var/lib/x/feeds");
        assert_string_equal(c->listen, "[::1]:9000");
        assert_string_equal(c->public_url, "http://[::1]:9000");
        loaded_free(&l);
}

static void test_state_directory_env(void **state)
{
        (void)state;
        setenv("STATE_DIRECTORY", "/var/lib/tandem:/var/lib/other", 1);
        Loaded l = load_text("[department:sales]\n");
        unsetenv("STATE_DIRECTORY");
        assert_int_equal(l.r, 0);
        assert_string_equal(l.config->state_dir, "/var/lib/tandem");
        assert_string_equal(l.config->feed_dir, "/var/lib/tandem/feeds");
        loaded_free(&l);
}

/* Relative state_dir and feed_dir are read from the config file's
 * directory, not from the working directory: starting tandem elsewhere
 * must not open another ledger. */
static void test_paths_relative_to_config(void **state)
{
        (void)state;
        unsetenv("STATE_DIRECTORY");
        char *path = tmp_write("[tandem]\nstate_dir = data\nfeed_dir = ./public/\n");
        char *dir = realpath(tmp_dir_get(), NULL);
        size_t base = strlen(tmp_dir_get()) + 1; /* path is tmp_dir/NAME */
        char *want_state = NULL, *want_feeds = NULL, *cwd = getcwd(NULL, 0);
        assert_true(asprintf(&want_state, "%s/data", dir) > 0);
        assert_true(asprintf(&want_feeds, "%s/public/", dir) > 0);
        for (int i = 0; i < 3; i++) {
                /* from elsewhere by its absolute path, from its directory by
                 * its name, from / by a relative path */
                const char *cd = i == 0 ? "/usr" : i == 1 ? dir : "/";
                const char *p = i == 0 ? path : i == 1 ? path + base : path + 1;
                assert_int_equal(chdir(cd), 0);
                Config *c = NULL;
                Diags d = {0};
                int r = config_load(p, &c, &d);
                assert_int_equal(chdir(cwd), 0);
                assert_int_equal(r, 0);
                assert_string_equal(c->state_dir, want_state);
                assert_string_equal(c->feed_dir, want_feeds);
                config_free(c);
                diag_free(&d);
        }
        unlink(path);
        free(path);

        /* absolute paths stay; "." is the config's directory */
        Loaded l = load_text("[tandem]\nstate_dir = .\nfeed_dir = /srv/www/feeds\n");
        assert_int_equal(l.r, 0);
        assert_string_equal(l.config->state_dir, dir);
        assert_string_equal(l.config->feed_dir, "/srv/www/feeds");
        loaded_free(&l);

        /* under systemd, $STATE_DIRECTORY is the default; state_dir as
         * written still wins */
        setenv("STATE_DIRECTORY", "/var/lib/tandem", 1);
        l = load_text("[tandem]\nstate_dir = data\n");
        unsetenv("STATE_DIRECTORY");
        assert_string_equal(l.config->state_dir, want_state);
        loaded_free(&l);
        free(want_state), free(want_feeds), free(dir), free(cwd);
}

/* Every key, each with a non-default value, parsed into the structs. */
static void test_values_parsed(void **state)
{
        (void)state;
        static const char text[] =
                "; a comment\n"
                "# another comment\n"
                "[tandem]\n"
                "feed_token = s3cr3t-T0ken\n"
                "public_url = https://cal.example.com/\n"
                "listen = off\n"
                "[department:sales]\n"
                "name = Sales Team\n"
                "chat = slack\n"
                "webhook = https://hooks.slack.com/services/T0/B0/XYZ\n"
                "mention = <!here>\n"
                "manager = Ada Lovelace <ada@example.com>\n"
                "email = sales@example.com\n"
                "timezone = Asia/Kathmandu\n"
                "[department:marketing]\n"
                "manager = Grace Hopper <grace@example.com>\n"
                "[department:ops]\n"
                "manager = Linus <linus@example.com>\n"
                "chat = generic\n"
                "webhook = http://10.0.0.1:8080/hook\n"
                "[meeting:retro]\n"
                "title = Retro ; trailing comment\n"
                "departments = sales , marketing,ops\n"
                "cadence = every 3 weeks\n"
                "day = thu, Monday\n"
                "time = 9:05\n"
                "duration = 1h30m\n"
                "timezone = Australia/Lord_Howe\n"
                "start = 2026-01-01\n"
                "end = 2026-12-31\n"
                "location = https://meet.example.com/abc;x=1#top\n"
                "description = Look back\n"
                "host = marketing\n"
                "attendees = managers\n"
                "remind = 1d, 2h, 10m\n"
                "skip = 2026-01-05, 2026-01-26\n"
                "[meeting:lunch]\n"
                "title = Lunch\n"
                "departments = sales, marketing\n"
                "cadence = monthly\n"
                "day = last friday\n"
                "time = 12:00\n"
                "start = 2026-01-01\n"
                "attendees = none\n"
                "remind = none\n"
                "[meeting:pay]\n"
                "title = Payday\n"
                "departments = sales, ops\n"
                "cadence = monthly\n"
                "day = 31\n"
                "time = 16:00\n"
                "start = 2026-01-01\n"
                "[meeting:board]\n"
                "title = Board\n"
                "departments = sales, ops\n"
                "cadence = rrule:FREQ=MONTHLY;BYDAY=2WE\n"
                "time = 16:00\n"
                "start = 2026-01-01\n"
                "[meeting:bi]\n"
                "title = Bi\n"
                "departments = sales, ops\n"
                "cadence = biweekly\n"
                "day = fri\n"
                "time = 16:00\n"
                "start = 2026-01-01\n";
        Loaded l = load_text(text);
        if (l.r != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        const Config *c = l.config;
        assert_string_equal(c->feed_token, "s3cr3t-T0ken");
        assert_string_equal(c->public_url, "https://cal.example.com"); /* trailing slash dropped */
        assert_string_equal(c->listen, "off");

        const Department *sales = config_department(c, "sales");
        assert_non_null(sales);
        assert_null(config_department(c, "nope"));
        assert_string_equal(sales->name, "Sales Team");
        assert_int_equal(sales->chat, CHAT_SLACK);
        assert_string_equal(sales->webhook, "https://hooks.slack.com/services/T0/B0/XYZ");
        assert_string_equal(sales->mention, "<!here>");
        assert_string_equal(sales->manager_name, "Ada Lovelace");
        assert_string_equal(sales->manager_email, "ada@example.com");
        assert_string_equal(sales->email, "sales@example.com");
        assert_ptr_equal(sales->zone, tz_lookup("Asia/Kathmandu"));
        assert_int_equal(config_department(c, "ops")->chat, CHAT_GENERIC);

        const Meeting *m = &c->meetings[0];
        assert_string_equal(m->title, "Retro");
        assert_int_equal(m->n_departments, 3);
        assert_string_equal(m->departments[2]->id, "ops");
        assert_int_equal(m->cadence, CADENCE_WEEKLY);
        assert_int_equal(m->interval, 3);
        assert_int_equal(m->weekdays, (1u << ICAL_THURSDAY_WEEKDAY) | (1u << ICAL_MONDAY_WEEKDAY));
        assert_int_equal(m->hour, 9);
        assert_int_equal(m->minute, 5);
        assert_int_equal(m->duration, 5400);
        assert_ptr_equal(m->zone, tz_lookup("Australia/Lord_Howe"));
        assert_true(m->has_end);
        assert_int_equal(m->end.year, 2026);
        assert_int_equal(m->end.month, 12);
        assert_int_equal(m->end.day, 31);
        /* ';' and '#' inside a value are not comments */
        assert_string_equal(m->location, "https://meet.example.com/abc;x=1#top");
        assert_string_equal(m->description, "Look back");
        assert_ptr_equal(m->host, config_department(c, "marketing"));
        assert_int_equal(m->attendees, ATTENDEES_MANAGERS);
        assert_int_equal(m->n_reminders, 3);
        assert_int_equal(m->reminders[0].before, 86400);
        assert_string_equal(m->reminders[0].text, "1d");
        assert_int_equal(m->reminders[1].before, 7200);
        assert_int_equal(m->reminders[2].before, 600);
        assert_int_equal(m->n_skip, 2);
        assert_int_equal(m->skip[1].day, 26);
        assert_int_equal(config_line(m->src, "skip"), line_of(text, "skip ="));
        assert_int_equal(config_line(m->src, "nope"), line_of(text, "[meeting:retro]"));

        m = &c->meetings[1];
        assert_int_equal(m->cadence, CADENCE_MONTHLY);
        assert_int_equal(m->month_ordinal, -1);
        assert_int_equal(m->month_weekday, ICAL_FRIDAY_WEEKDAY);
        assert_int_equal(m->month_day, 0);
        assert_int_equal(m->attendees, ATTENDEES_NONE);
        assert_int_equal(m->n_reminders, 0);

        m = &c->meetings[2];
        assert_int_equal(m->cadence, CADENCE_MONTHLY);
        assert_int_equal(m->month_day, 31);

        m = &c->meetings[3];
        assert_int_equal(m->cadence, CADENCE_RRULE);
        assert_string_equal(m->rrule, "FREQ=MONTHLY;BYDAY=2WE");

        m = &c->meetings[4];
        assert_int_equal(m->cadence, CADENCE_WEEKLY);
        assert_int_equal(m->interval, 2);
        assert_int_equal(m->weekdays, 1u << ICAL_FRIDAY_WEEKDAY);
        loaded_free(&l);
}

/* Warnings do not fail the load. */
static void test_warnings(void **state)
{
        (void)state;
        static const char text[] =
                "[department:sales]\n"
                "webhook = https://hooks.slack.com/services/T0/B0/XYZ\n"
                "[department:marketing]\n";
        Loaded l = load_text(text);
        assert_int_equal(l.r, 0);
        assert_int_equal(l.diags.n_errors, 0);
        assert_int_equal(l.diags.n_warnings, 1);
        expect_diag(&l.diags, l.path, 2, "warning:", "[department:sales] webhook:", "not used with chat = console");
        loaded_free(&l);

        /* A world-readable file with secrets in it. */
        char *path = tmp_write(text);
        assert_int_equal(chmod(path, 0644), 0);
        Diags d = {0};
        Config *c = NULL;
        assert_int_equal(config_load(path, &c, &d), 0);
        char *all = diags_text(&d);
        if (!strstr(all, "readable by other users"))
                fail_msg("no permission warning:\n%s", all);
        free(all);
        config_free(c);
        diag_free(&d);
        unlink(path);
        free(path);
}

/* attendees = everyone lists department emails: one without an email is
 * left out, with a warning where attendees are wanted at all. */
static void test_everyone_without_email(void **state)
{
        (void)state;
        /* hr has no email, sales has one: the default attendees warn at
         * the departments line */
        static const char text[] = MEETING(TITLE "departments = sales, hr\n" DAY TIME START);
        Loaded l = load_text(text);
        assert_int_equal(l.r, 0);
        assert_int_equal(l.diags.n_warnings, 1);
        expect_diag(&l.diags, l.path, line_of(text, "departments ="), "warning:", "[meeting:sync] departments:",
                    "[department:hr] has no \"email\"", "attendees = everyone, the default,");
        loaded_free(&l);

        /* written out: at the attendees line */
        static const char written[] = MEETING(TITLE "departments = sales, hr\n" DAY TIME START "attendees = everyone\n");
        l = load_text(written);
        assert_int_equal(l.r, 0);
        expect_diag(&l.diags, l.path, line_of(written, "attendees ="), "warning:", "[meeting:sync] attendees:",
                    "[department:hr] has no \"email\"");
        assert_int_equal(l.diags.n_warnings, 1);
        loaded_free(&l);

        /* no department gives an email, nothing asks for attendees: quiet */
        l = load_text("[department:a]\n[department:b]\n[meeting:m]\ntitle = M\ndepartments = a, b\n" DAY TIME START);
        assert_int_equal(l.r, 0);
        assert_int_equal(l.diags.n, 0);
        loaded_free(&l);

        /* managers or none: no email needed */
        l = load_text(MEETING(TITLE "departments = sales, hr\n" DAY TIME START "attendees = none\n"));
        assert_int_equal(l.r, 0);
        assert_int_equal(l.diags.n, 0);
        loaded_free(&l);
}

/* ------------------------------------------------------------------ */
/* Continuation lines and long lines                                   */

static char *prose(size_t len, bool utf8);

static void test_continuation_lines(void **state)
{
        (void)state;
        static const char text[] = MEETING(TITLE DEPS DAY TIME START
                                           "description = First line\n"
                                           "  second line\n"
                                           "\tthird line\n"
                                           "location = Room 1\n"
                                           "colour = blue\n");
        Loaded l = load_text(text);
        assert_int_equal(l.r, -EINVAL);
        /* the line count goes on after the continuation lines */
        expect_diag(&l.diags, l.path, line_of(text, "colour"), "[meeting:sync] colour: unknown key");
        assert_int_equal(l.diags.n_errors, 1);
        loaded_free(&l);

        static const char ok[] = MEETING(TITLE DEPS DAY TIME START
                                         "description = First line ; a comment\n"
                                         "  second line\n"
                                         "; a comment line between continuations\n"
                                         "\tthird line\n"
                                         "location = Room 1\n");
        l = load_text(ok);
        if (l.r != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        assert_string_equal(l.config->meetings[0].description, "First line\nsecond line\nthird line");
        assert_string_equal(l.config->meetings[0].location, "Room 1");
        loaded_free(&l);
}

/* " ; comment" ends a value on a continuation line as it does on the first
 * line (and as config.c already does for continuation lines too long for
 * inih's buffer). */
static void test_continuation_inline_comment(void **state)
{
        (void)state;
        static const char ok[] = MEETING(TITLE DEPS DAY TIME START
                                         "description = First line\n"
                                         "  second line ; a comment\n");
        Loaded l = load_text(ok);
        if (l.r != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        assert_string_equal(l.config->meetings[0].description, "First line\nsecond line");
        loaded_free(&l);

        /* the same with a continuation line longer than inih's buffer */
        char *value = prose(300, false);
        char *text = NULL;
        assert_true(asprintf(&text, "%s", MEETING(TITLE DEPS DAY TIME START "description = First line\n  ")) > 0);
        char *full = NULL;
        assert_true(asprintf(&full, "%s%s ; a comment\n", text, value) > 0);
        l = load_text(full);
        if (l.r != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        char *want = NULL;
        assert_true(asprintf(&want, "First line\n%s", value) > 0);
        assert_string_equal(l.config->meetings[0].description, want);
        loaded_free(&l);
        free(want);
        free(full);
        free(text);
        free(value);
}

/* Windows line endings read like Unix ones. */
static void test_crlf_file(void **state)
{
        (void)state;
        static const char text[] =
                "[department:sales]\r\n"
                "name = Sales\r\n"
                "[department:marketing]\r\n"
                "[meeting:sync]\r\n"
                "title = Sync\r\n"
                "departments = sales, marketing\r\n"
                "day = tuesday\r\n"
                "time = 10:00\r\n"
                "start = 2026-01-06\r\n"
                "description = one\r\n"
                "  two\r\n";
        Loaded l = load_text(text);
        if (l.r != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        assert_string_equal(l.config->departments[0].name, "Sales");
        assert_string_equal(l.config->meetings[0].description, "one\ntwo");
        loaded_free(&l);
}

/* A Teams Workflows URL: well over inih's 200 bytes. */
static char *teams_url(size_t len)
{
        static const char head[] =
                "https://prod-12.westeurope.logic.azure.com:443/workflows/0f1e2d3c4b5a69788796a5b4c3d2e1f0/triggers/"
                "manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=";
        char *s = malloc(len + 1);
        assert_non_null(s);
        size_t n = strlen(head);
        assert_true(len > n);
        memcpy(s, head, n);
        static const char alpha[] = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_";
        for (size_t i = n; i < len; i++)
                s[i] = alpha[(i * 7) % (sizeof alpha - 1)];
        s[len] = '\0';
        return s;
}

/* Prose of exactly len bytes, with spaces, punctuation, ';' and '#'
 * inside words (where they are not comments), and (if utf8) multi-byte
 * characters. */
static char *prose(size_t len, bool utf8)
{
        static const char *const words[] = {"Quarterly", "planning:", "pipeline,", "campaigns", "&",
                                            "budgets;", "see", "C#/sales#ops", "for", "the", "agenda."};
        static const char *const uwords[] = {"Zürich", "Ünïcödé", "日本語の議題", "café", "naïve", "—", "€100"};
        char *s = malloc(len + 64);
        assert_non_null(s);
        size_t n = 0;
        for (size_t i = 0; n < len; i++) {
                const char *w = utf8 && i % 3 == 1 ? uwords[i % ELEMENTSOF(uwords)] : words[i % ELEMENTSOF(words)];
                n += (size_t)sprintf(s + n, "%s%s", i ? " " : "", w);
        }
        /* cut at len, on an ASCII letter so that the value neither ends in a
         * space nor in half a character */
        while (n > len || (unsigned char)s[n - 1] >= 0x80 || s[n - 1] == ' ')
                n--;
        s[n] = '\0';
        return s;
}

static Loaded load_with_description(const char *line_prefix, const char *value, const char *after)
{
        char *text = NULL;
        int r = asprintf(&text, "%s%s%s%s", VALID_MEETING, line_prefix, value, after);
        assert_true(r > 0);
        Loaded l = load_text(text);
        free(text);
        return l;
}

static void test_long_webhook(void **state)
{
        (void)state;
        char *url = teams_url(300);
        char *text = NULL;
        assert_true(asprintf(&text,
                             DEPTS "[department:ops]\n"
                                   "name = Operations\n"
                                   "chat = teams\n"
                                   "webhook = %s\n"
                                   "mention = @ops\n"
                                   "colour = red\n",
                             url) > 0);
        Loaded l = load_text(text);
        /* the unknown key after the long line is reported at its own line */
        assert_int_equal(l.r, -EINVAL);
        assert_int_equal(l.diags.n_errors, 1);
        expect_diag(&l.diags, l.path, line_of(text, "colour"), "[department:ops] colour: unknown key");
        loaded_free(&l);

        /* without the mistake: the URL whole, the next key untouched */
        *strstr(text, "colour") = '\0';
        l = load_text(text);
        if (l.r != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        const Department *ops = config_department(l.config, "ops");
        assert_non_null(ops);
        assert_int_equal(strlen(ops->webhook), 300);
        assert_string_equal(ops->webhook, url);
        assert_string_equal(ops->mention, "@ops");
        assert_int_equal(ops->chat, CHAT_TEAMS);
        loaded_free(&l);
        free(text);
        free(url);
}

static void test_long_webhook_inline_comment(void **state)
{
        (void)state;
        char *url = teams_url(333);
        char *text = NULL;
        assert_true(asprintf(&text,
                             DEPTS "[department:ops]\n"
                                   "chat = teams\n"
                                   "webhook = %s ; the Operations channel, set up by Ada on 2026-01-05 ; do not share\n"
                                   "mention = @ops ; everyone\n",
                             url) > 0);
        Loaded l = load_text(text);
        if (l.r != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        const Department *ops = config_department(l.config, "ops");
        assert_string_equal(ops->webhook, url);
        assert_string_equal(ops->mention, "@ops");
        loaded_free(&l);
        free(text);
        free(url);
}

/* A bad value on a long line is reported at that line. */
static void test_long_bad_value(void **state)
{
        (void)state;
        char *url = teams_url(260);
        memcpy(url, "ftp:", 4); /* "ftp://prod-12..." is no http(s) URL */
        memmove(url + 4, url + 6, strlen(url + 6) + 1);
        char *text = NULL;
        assert_true(asprintf(&text, DEPTS "[department:ops]\nchat = teams\nwebhook = %s\ntimezone = Europe/Berln\n", url) > 0);
        Loaded l = load_text(text);
        assert_int_equal(l.r, -EINVAL);
        expect_diag(&l.diags, l.path, line_of(text, "webhook ="), "[department:ops] webhook: expected an http:// or https:// URL");
        expect_diag(&l.diags, l.path, line_of(text, "timezone ="), "[department:ops] timezone:", "Europe/Berlin");
        loaded_free(&l);
        free(text);
        free(url);
}

/* Descriptions of every length around and beyond inih's buffer, ASCII and
 * UTF-8, come back byte for byte. */
static void test_long_description_every_length(void **state)
{
        (void)state;
        for (int utf8 = 0; utf8 <= 1; utf8++)
                for (size_t len = 180; len <= 620; len += (len < 230 ? 1 : 13)) {
                        char *value = prose(len, utf8);
                        Loaded l = load_with_description("description = ", value, "\nlocation = Room 1\n");
                        if (l.r != 0)
                                fail_msg("length %zu: config_load = %d:\n%s", len, l.r, l.text);
                        const Meeting *m = &l.config->meetings[0];
                        if (strcmp(m->description, value) != 0)
                                fail_msg("length %zu:\n got: [%s]\nwant: [%s]", len, m->description, value);
                        assert_string_equal(m->location, "Room 1");
                        loaded_free(&l);
                        free(value);
                }
}

static void test_long_description_with_comment_and_continuation(void **state)
{
        (void)state;
        char *value = prose(500, true);
        Loaded l = load_with_description("description = ", value, " ; the agenda, updated weekly\n  Bring numbers.\n");
        if (l.r != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        char *want = NULL;
        assert_true(asprintf(&want, "%s\nBring numbers.", value) > 0);
        assert_string_equal(l.config->meetings[0].description, want);
        loaded_free(&l);
        free(want);

        /* a long continuation line after a short first line */
        l = load_with_description("description = Agenda:\n    ", value, "\n");
        if (l.r != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        assert_true(asprintf(&want, "Agenda:\n%s", value) > 0);
        assert_string_equal(l.config->meetings[0].description, want);
        loaded_free(&l);
        free(want);
        free(value);
}

/* A Latin-1 file: caught at its line, not passed on to chats (fuzz_chat
 * found that invalid UTF-8 made a payload jansson refuses to build). */
static void test_invalid_utf8(void **state)
{
        (void)state;
        const char *text = MEETING(TITLE DEPS DAY TIME START "location = Caf\xe9 Central\n");
        Loaded l = load_text(text);
        assert_int_equal(l.r, -EINVAL);
        expect_diag(&l.diags, l.path, line_of(text, "location ="), "[meeting:sync] location:", "not valid UTF-8");
        assert_int_equal(l.diags.n_errors, 1);
        loaded_free(&l);
}

/* A long line that is not "key = value" is an error like a short one, also
 * right after a key whose value it could be mistaken to continue. */
static void test_long_line_not_key_value(void **state)
{
        (void)state;
        char *junk = teams_url(280);
        for (char *p = junk; *p; p++)
                if (*p == '=' || *p == ':')
                        *p = '-';
        char *text = NULL;
        assert_true(asprintf(&text, MEETING(TITLE DEPS DAY TIME START "location = Room 1\n%s\n"), junk) > 0);
        Loaded l = load_text(text);
        assert_int_equal(l.r, -EINVAL);
        expect_diag(&l.diags, l.path, line_of(text, "https-//"), "expected \"key = value\"");
        assert_int_equal(l.diags.n_errors, 1);
        loaded_free(&l);
        free(text);
        free(junk);
}

/* ------------------------------------------------------------------ */
/* Comments, odd bytes and sizes                                       */

/* '#' after white space ends a value as ';' does, on first and
 * continuation lines; inside a word it is text. */
static void test_hash_comments(void **state)
{
        (void)state;
        static const char text[] = MEETING("title = Sync # weekly\n"
                                           DEPS DAY
                                           "time = 10:00 # CET\n"
                                           START
                                           "location = https://meet.example.com/abc#top\t# the usual room\n"
                                           "description = C# guild;\tbring laptops\n"
                                           "  and chargers # or borrow one\n");
        Loaded l = load_text(text);
        if (l.r != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        const Meeting *m = &l.config->meetings[0];
        assert_string_equal(m->title, "Sync");
        assert_int_equal(m->hour, 10);
        assert_string_equal(m->location, "https://meet.example.com/abc#top");
        assert_string_equal(m->description, "C# guild;\tbring laptops\nand chargers");
        loaded_free(&l);

        /* a value that is all comment says so */
        static const char only[] = MEETING(TITLE DEPS DAY TIME START "location = #42\n");
        l = load_text(only);
        assert_int_equal(l.r, -EINVAL);
        expect_diag(&l.diags, l.path, line_of(only, "location ="), "[meeting:sync] location:", "got only a comment");
        assert_int_equal(l.diags.n_errors, 1);
        loaded_free(&l);
}

/* Writes len bytes (NULs included) to a fresh config file. */
static Loaded load_bytes(const char *bytes, size_t len)
{
        Loaded l = {0};
        assert_true(asprintf(&l.path, "%s/XXXXXX.ini", tmp_dir_get()) > 0);
        int fd = mkstemps(l.path, 4);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, bytes, len), (ssize_t)len);
        close(fd);
        l.r = config_load(l.path, &l.config, &l.diags);
        l.text = diags_text(&l.diags);
        return l;
}

/* A NUL byte would end the value in C: an error at its line, not a
 * silently shorter value. */
static void test_nul_byte(void **state)
{
        (void)state;
        static const char text[] = VALID_MEETING "location = Room 1\0; DROP\n" "description = ok\n";
        Loaded l = load_bytes(text, sizeof text - 1);
        assert_int_equal(l.r, -EINVAL);
        expect_diag(&l.diags, l.path, line_of(text, "location ="), "NUL byte", "column 18");
        assert_int_equal(l.diags.n_errors, 1);
        loaded_free(&l);

        /* in a section header */
        static const char header[] = DEPTS "[meeting:\0sync]\n" TITLE DEPS DAY TIME START;
        l = load_bytes(header, sizeof header - 1);
        assert_int_equal(l.r, -EINVAL);
        expect_diag(&l.diags, l.path, line_of(header, "[meeting:"), "NUL byte", "column 10");
        assert_int_equal(l.diags.n_errors, 1);
        loaded_free(&l);
}

/* Windows editors start a UTF-8 file with a byte order mark: it is not
 * part of the first line. A UTF-16 file is named as such. */
static void test_byte_order_mark(void **state)
{
        (void)state;
        Loaded l = load_text("\xef\xbb\xbf[tandem]\r\ntimezone = Europe/Berlin\r\n" VALID_MEETING);
        if (l.r != 0 || l.diags.n != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        assert_ptr_equal(l.config->zone, tz_lookup("Europe/Berlin"));
        loaded_free(&l);

        /* a BOM before a key (no [tandem] first) */
        l = load_text("\xef\xbb\xbf" VALID_MEETING);
        if (l.r != 0 || l.diags.n != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        loaded_free(&l);

        static const char utf16[] = "\xff\xfe[\0t\0a\0n\0d\0e\0m\0]\0\n\0";
        l = load_bytes(utf16, sizeof utf16 - 1);
        assert_int_equal(l.r, -EINVAL);
        expect_diag(&l.diags, l.path, 1, "UTF-16", "save it as UTF-8");
        assert_int_equal(l.diags.n_errors, 1);
        loaded_free(&l);
}

/* Lines of any length (up to the value limit) work: a long webhook, a
 * long description, a long comment. */
static void test_any_line_length(void **state)
{
        (void)state;
        char *url = teams_url(20000);
        char *value = prose(CONFIG_MAX_VALUE_BYTES, true);
        char *comment = prose(100000, false);
        char *text = NULL;
        assert_true(asprintf(&text, DEPTS "[department:ops]\nchat = teams\nwebhook = %s\n; %s\n"
                                          "[meeting:sync]\n" TITLE DEPS DAY TIME START "description = %s\nlocation = Room 1\n",
                             url, comment, value) > 0);
        Loaded l = load_text(text);
        if (l.r != 0)
                fail_msg("config_load = %d:\n%.2000s", l.r, l.text);
        assert_string_equal(config_department(l.config, "ops")->webhook, url);
        assert_string_equal(l.config->meetings[0].description, value);
        assert_string_equal(l.config->meetings[0].location, "Room 1");
        loaded_free(&l);
        free(text);
        free(comment);
        free(value);
        free(url);

        /* a line of spaces and ';' that no split could have handed on */
        char *odd = malloc(1000);
        memset(odd, ' ', 999);
        odd[0] = 'x', odd[998] = 'y', odd[999] = '\0';
        memset(odd + 100, ';', 300);
        assert_true(asprintf(&text, MEETING(TITLE DEPS DAY TIME START "description = %s\n"), odd) > 0);
        l = load_text(text);
        if (l.r != 0)
                fail_msg("config_load = %d:\n%s", l.r, l.text);
        *strchr(odd, ';') = '\0';
        assert_string_equal(l.config->meetings[0].description, "x");
        loaded_free(&l);
        free(text);
        free(odd);
}

/* One value may hold 64 KiB, continuation lines joined; more is an error
 * at the key's line. */
static void test_value_size_limit(void **state)
{
        (void)state;
        char *value = prose(CONFIG_MAX_VALUE_BYTES + 1, false);
        Loaded l = load_with_description("description = ", value, "\n");
        assert_int_equal(l.r, -EINVAL);
        expect_diag(&l.diags, l.path, line_of(VALID_MEETING "description", "description"), "[meeting:sync] description:",
                    "65537 bytes", "64 KiB");
        assert_int_equal(l.diags.n_errors, 1);
        loaded_free(&l);
        free(value);

        /* the same in 65 indented lines of a kilobyte */
        Buf b = {0};
        buf_append(&b, VALID_MEETING "description = start\n");
        char *line = prose(1023, false);
        for (int i = 0; i < 65; i++)
                buf_printf(&b, "  %s\n", line);
        buf_append(&b, "location = Room 1\n");
        l = load_text(b.s);
        assert_int_equal(l.r, -EINVAL);
        expect_diag(&l.diags, l.path, line_of(b.s, "description"), "[meeting:sync] description:", "64 KiB");
        assert_int_equal(l.diags.n_errors, 1);
        loaded_free(&l);
        buf_free(&b);
        free(line);
}

/* A file over 16 MiB is no config: refused before it is parsed. */
static void test_file_size_limit(void **state)
{
        (void)state;
        size_t n = CONFIG_MAX_FILE_BYTES + 1;
        char *big = malloc(n);
        assert_non_null(big);
        memset(big, ';', n);
        for (size_t i = 79; i < n; i += 80)
                big[i] = '\n';
        Loaded l = load_bytes(big, n);
        assert_int_equal(l.r, -EINVAL);
        assert_int_equal(l.diags.n_errors, 1);
        if (!strstr(l.text, "larger than 16 MiB"))
                fail_msg("got:\n%s", l.text);
        loaded_free(&l);

        /* just under the limit: a file of comments reads */
        l = load_bytes(big, n - 1);
        assert_int_equal(l.r, 0);
        loaded_free(&l);
        free(big);
}

/* Holidays and changes (README "Holidays and changes"): skips with
 * reasons, moves by date and/or time, working days, on_holiday, holiday
 * sources (files read from the config's directory, URLs checked). */
static void test_changes_and_holidays(void **state)
{
        (void)state;
        static const char text[] =
                "[tandem]\n"
                "holidays = de.ics, https://calendar.example.com/holidays.ics?x=1\n"
                "[department:sales]\n"
                "working_days = sun-thu\n"
                "holidays = /etc/tandem/in.ics\n"
                "[department:marketing]\n"
                "working_days = fri-mon, wed\n"
                "[meeting:sync]\n"
                "title = Weekly sync\n"
                "departments = sales, marketing\n"
                "day = tuesday\n"
                "time = 10:00\n"
                "start = 2026-01-06\n"
                "on_holiday = before\n"
                "skip = 2026-12-22 (Christmas week, the office is shut), 2027-01-05\n"
                "move = 2026-02-03 -> 2026-02-04 14:30 (offsite), 2026-03-03 -> 15:00, 2026-04-07 -> 2026-04-08\n";
        Loaded l = load_text(text);
        assert_int_equal(l.r, 0);
        const Config *c = l.config;
        _cleanup_free_ char *dir = xstrdup(l.path);
        *strrchr(dir, '/') = '\0';
        _cleanup_free_ char *de = xasprintf("%s/de.ics", dir);
        assert_int_equal(c->holidays.n, 2);
        assert_string_equal(c->holidays.v[0], de);
        assert_string_equal(c->holidays.v[1], "https://calendar.example.com/holidays.ics?x=1");
        const Department *sales = config_department(c, "sales"), *mkt = config_department(c, "marketing");
        assert_int_equal(sales->working_days, 0x3e);              /* Sunday (1) .. Thursday (5) */
        assert_int_equal(mkt->working_days, (1u << 6) | (1u << 7) | (1u << 1) | (1u << 2) | (1u << 4));
        assert_string_equal(sales->holidays.v[0], "/etc/tandem/in.ics");
        const Meeting *m = &c->meetings[0];
        assert_int_equal(m->on_holiday, ON_HOLIDAY_BEFORE);
        assert_true(meeting_has_holidays(c, m));
        assert_int_equal(m->n_changes, 5);
        assert_int_equal(m->n_skip, 2);
        const Change *x = meeting_change(m, (Date){2026, 12, 22});
        assert_non_null(x);
        assert_false(x->move);
        assert_string_equal(x->reason, "Christmas week, the office is shut");
        assert_null(meeting_change(m, (Date){2027, 1, 5})->reason);
        x = meeting_change(m, (Date){2026, 2, 3});
        assert_true(x->move);
        assert_int_equal(x->to.day, 4);
        assert_int_equal(x->to_hour, 14);
        assert_int_equal(x->to_minute, 30);
        assert_string_equal(x->reason, "offsite");
        x = meeting_change(m, (Date){2026, 3, 3});
        assert_int_equal(x->to.day, 3); /* a new time, the same day */
        assert_int_equal(x->to_hour, 15);
        x = meeting_change(m, (Date){2026, 4, 7});
        assert_int_equal(x->to.day, 8);
        assert_int_equal(x->to_hour, -1); /* the meeting's own time */
        assert_int_equal(x->line, line_of(text, "move ="));
        loaded_free(&l);
}

static void test_bad_changes_and_holidays(void **state)
{
        (void)state;
        static const ErrCase cases[] = {
                {"move without arrow", MEETING(TITLE DEPS DAY TIME START "move = 2026-01-13 2026-01-14\n"), "move =", 0,
                 NEEDLES("[meeting:sync] move:", "expected \"DATE -> NEW\"")},
                {"move to nothing", MEETING(TITLE DEPS DAY TIME START "move = 2026-01-13 -> soon\n"), "move =", 0,
                 NEEDLES("[meeting:sync] move:", "a new date and/or time after \"->\"", "\"soon\"")},
                {"move nowhere", MEETING(TITLE DEPS DAY TIME START "move = 2026-01-13 -> 10:00\n"), "move =", 0,
                 NEEDLES("[meeting:sync] move:", "nothing moves")},
                {"skip and move one date", MEETING(TITLE DEPS DAY TIME START "skip = 2026-01-13\nmove = 2026-01-13 -> 11:00\n"),
                 "move =", 0, NEEDLES("[meeting:sync] move:", "2026-01-13 is skipped already (line")},
                {"reason unclosed", MEETING(TITLE DEPS DAY TIME START "skip = 2026-01-13 (Christmas\n"), "skip =", 0,
                 NEEDLES("[meeting:sync] skip:", "the reason in parentheses at the end")},
                {"reason empty", MEETING(TITLE DEPS DAY TIME START "skip = 2026-01-13 ()\n"), "skip =", 0,
                 NEEDLES("[meeting:sync] skip:", "the reason in parentheses is empty")},
                {"on_holiday", MEETING(TITLE DEPS DAY TIME START "on_holiday = aftr\n"), "on_holiday =", 0,
                 NEEDLES("[meeting:sync] on_holiday:", "expected skip, before, after or keep", "(did you mean \"after\"?)")},
                {"working days", "[department:ops]\nworking_days = mon-frd\n" VALID_MEETING, "working_days =", 0,
                 NEEDLES("[department:ops] working_days:", "like \"mon-fri\"")},
                {"holiday URL", "[tandem]\nholidays = https://[::1/h.ics\n" VALID_MEETING, "holidays =", 0,
                 NEEDLES("[tandem] holidays:", "libcurl cannot use this one")},
        };
        run_cases(cases, ELEMENTSOF(cases));

        /* on_holiday without any calendar: a warning, not an error */
        Loaded l = load_text(MEETING(TITLE DEPS DAY TIME START "on_holiday = after\n"));
        assert_int_equal(l.r, 0);
        assert_int_equal(l.diags.n_warnings, 1);
        assert_non_null(strstr(l.text, "on_holiday: no holiday calendar applies to this meeting"));
        loaded_free(&l);
}

/* ------------------------------------------------------------------ */
/* Host rotation and pairings (README "Host rotation and pairings")    */

/* A fourth department with a manager, for rotations of three. */
#define OPS "[department:ops]\nmanager = Ops Lead <ops@example.com>\n\n"
#define PAIRING(body) OPS DEPTS "[pairing:lunches]\n" body
#define P_TITLE "title = Cross-team lunch\n"
#define P_DEPS "departments = sales, marketing, ops\n"
#define P_DAY "day = thursday\n"
#define P_TIME "time = 12:30\n"
#define P_START "start = 2027-01-07\n"
#define VALID_PAIRING PAIRING(P_TITLE P_DEPS P_DAY P_TIME P_START)

static void test_host_rotation(void **state)
{
        (void)state;
        Loaded l = load_text(OPS MEETING(TITLE "departments = sales, marketing, ops\n" DAY TIME START
                                         "host = rotate\n"));
        assert_int_equal(l.r, 0);
        const Meeting *m = &l.config->meetings[0];
        assert_null(m->host);
        assert_int_equal(m->n_rotation, 3);
        assert_string_equal(m->rotation[0]->id, "sales");
        assert_string_equal(m->rotation[2]->id, "ops");
        loaded_free(&l);

        l = load_text(OPS MEETING(TITLE "departments = sales, marketing, ops, hr\n" DAY TIME START
                                  "host = rotate: ops, sales\n"));
        assert_int_equal(l.r, 0);
        m = &l.config->meetings[0];
        assert_int_equal(m->n_rotation, 2);
        assert_string_equal(m->rotation[0]->id, "ops");
        assert_string_equal(m->rotation[1]->id, "sales");
        loaded_free(&l);

        static const ErrCase cases[] = {
                {"rotate with a department without manager", MEETING(TITLE "departments = sales, hr\n" DAY TIME START
                                                                      "host = rotate\n"),
                 "host =", 0, NEEDLES("[meeting:sync] host:", "[department:hr] has no \"manager\"")},
                {"rotate: a department not in the meeting", MEETING(TITLE DEPS DAY TIME START "host = rotate: sales, hr\n"),
                 "host =", 0, NEEDLES("[meeting:sync] host:", "\"hr\" is not one of this meeting's departments")},
                {"rotate: near miss", MEETING(TITLE DEPS DAY TIME START "host = rotate: sales, marketng\n"), "host =", 0,
                 NEEDLES("[meeting:sync] host:", "\"marketng\" is not one", "(did you mean \"marketing\"?)")},
                {"rotate: twice", MEETING(TITLE DEPS DAY TIME START "host = rotate: sales, sales\n"), "host =", 0,
                 NEEDLES("[meeting:sync] host:", "\"sales\" is listed twice")},
                {"rotate: one", MEETING(TITLE DEPS DAY TIME START "host = rotate: sales\n"), "host =", 0,
                 NEEDLES("[meeting:sync] host:", "a rotation needs two or more departments", "write host = sales")},
                {"rotate, something else", MEETING(TITLE DEPS DAY TIME START "host = rotate sales\n"), "host =", 0,
                 NEEDLES("[meeting:sync] host:", "expected \"rotate\" or \"rotate: DEPARTMENT, DEPARTMENT, ...\"")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

static void test_pairing(void **state)
{
        (void)state;
        Loaded l = load_text(PAIRING(P_TITLE P_DEPS P_DAY P_TIME P_START "cadence = every 2 weeks\nhost = rotate\n"
                                     "skip = 2027-02-04 (offsite)\nremind = 1d, 30m\non_holiday = keep\n"));
        assert_int_equal(l.r, 0);
        assert_int_equal(l.config->n_pairings, 1);
        assert_int_equal(l.config->n_own_meetings, 0);
        const Pairing *p = &l.config->pairings[0];
        assert_string_equal(p->template.id, "lunches");
        assert_int_equal(p->template.n_departments, 3);
        assert_int_equal(p->template.interval, 2);
        assert_int_equal(p->template.n_rotation, 3);
        assert_int_equal(p->template.n_skip, 1);
        assert_int_equal(p->template.n_reminders, 2);
        assert_false(p->explicit_rounds);
        loaded_free(&l);

        /* rounds one rule per pair cannot say */
        static const struct {
                const char *cadence, *day;
                bool explicit_rounds;
        } kinds[] = {
                {"weekly", "thursday", false},         {"every 3 weeks", "monday", false},
                {"weekly", "tuesday, thursday", true}, {"monthly", "second tuesday", false},
                {"monthly", "last friday", false},     {"monthly", "28", false},
                {"monthly", "29", true},               {"monthly", "31", true},
        };
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                _cleanup_free_ char *text = xasprintf(PAIRING(P_TITLE P_DEPS P_TIME P_START "cadence = %s\nday = %s\n"),
                                                      kinds[i].cadence, kinds[i].day);
                l = load_text(text);
                assert_int_equal(l.r, 0);
                if (l.config->pairings[0].explicit_rounds != kinds[i].explicit_rounds)
                        fail_msg("%s on %s: explicit_rounds %d", kinds[i].cadence, kinds[i].day,
                                 l.config->pairings[0].explicit_rounds);
                loaded_free(&l);
        }
        l = load_text(PAIRING(P_TITLE P_DEPS P_TIME P_START "cadence = rrule:FREQ=MONTHLY;BYDAY=1MO\n"));
        assert_int_equal(l.r, 0);
        assert_true(l.config->pairings[0].explicit_rounds);
        loaded_free(&l);

        /* two departments: one pair every round, a warning */
        static const char two[] = PAIRING(P_TITLE "departments = sales, marketing\n" P_DAY P_TIME P_START);
        l = load_text(two);
        assert_int_equal(l.r, 0);
        expect_diag(&l.diags, l.path, line_of(two, "departments ="), "warning:",
                    "[pairing:lunches] departments: two departments make one pair");
        loaded_free(&l);

        static const ErrCase cases[] = {
                {"move", PAIRING(P_TITLE P_DEPS P_DAY P_TIME P_START "move = 2027-01-07 -> 2027-01-08\n"), "move =", 0,
                 NEEDLES("[pairing:lunches] move: not used in a pairing", "skip the round")},
                {"a fixed host", PAIRING(P_TITLE P_DEPS P_DAY P_TIME P_START "host = sales\n"), "host =", 0,
                 NEEDLES("[pairing:lunches] host: expected \"rotate\"", "a fixed host cannot host every pair")},
                {"rotate with an order", PAIRING(P_TITLE P_DEPS P_DAY P_TIME P_START "host = rotate: ops, sales\n"),
                 "host =", 0, NEEDLES("[pairing:lunches] host: expected \"rotate\"", "each pair's two departments")},
                {"rotate without managers", PAIRING(P_TITLE "departments = sales, ops, hr\n" P_DAY P_TIME P_START
                                                    "host = rotate\n"),
                 "host =", 0, NEEDLES("[pairing:lunches] host:", "[department:hr] has no \"manager\"")},
                {"one department", PAIRING(P_TITLE "departments = sales\n" P_DAY P_TIME P_START), "departments =", 0,
                 NEEDLES("[pairing:lunches] departments: a pairing needs two or more departments, got 1")},
                {"unknown key", PAIRING(P_TITLE P_DEPS P_DAY P_TIME P_START "pairs = 3\n"), "pairs =", 0,
                 NEEDLES("[pairing:lunches] pairs: unknown key")},
                {"the id of a meeting", OPS VALID_MEETING "[pairing:sync]\n" P_TITLE P_DEPS P_DAY P_TIME P_START,
                 "[pairing:sync]", 0, NEEDLES("[pairing:sync] [meeting:sync] is defined already (line")},
                {"a section kind near miss", VALID_MEETING "[paring:lunches]\n" P_TITLE, "[paring:lunches]", 0,
                 NEEDLES("unknown section (did you mean \"pairing\"?)")},
        };
        run_cases(cases, ELEMENTSOF(cases));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unknown_sections_and_keys),
                cmocka_unit_test(test_bad_zones),
                cmocka_unit_test(test_zone_wrong_case_suggests),
                cmocka_unit_test(test_zone_paths_are_no_names),
                cmocka_unit_test(test_zone_suggested_by_place),
                cmocka_unit_test(test_bad_times_dates_durations),
                cmocka_unit_test(test_bad_remind),
                cmocka_unit_test(test_bad_ids),
                cmocka_unit_test(test_references),
                cmocka_unit_test(test_duplicates),
                cmocka_unit_test(test_chat),
                cmocka_unit_test(test_urls_parsed_by_libcurl),
                cmocka_unit_test(test_chat_wrong_case_suggests),
                cmocka_unit_test(test_transposed_names_suggest),
                cmocka_unit_test(test_days_and_cadences),
                cmocka_unit_test(test_missing_required),
                cmocka_unit_test(test_not_key_value),
                cmocka_unit_test(test_tandem_values),
                cmocka_unit_test(test_all_errors_in_one_run),
                cmocka_unit_test(test_missing_file),
                cmocka_unit_test(test_diags_accumulate),
                cmocka_unit_test(test_duration_bounds),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_default_cadence_is_every_week),
                cmocka_unit_test(test_zone_defaults_follow_tandem),
                cmocka_unit_test(test_state_directory_env),
                cmocka_unit_test(test_changes_and_holidays),
                cmocka_unit_test(test_bad_changes_and_holidays),
                cmocka_unit_test(test_host_rotation),
                cmocka_unit_test(test_pairing),
                cmocka_unit_test(test_paths_relative_to_config),
                cmocka_unit_test(test_values_parsed),
                cmocka_unit_test(test_warnings),
                cmocka_unit_test(test_everyone_without_email),
                cmocka_unit_test(test_continuation_lines),
                cmocka_unit_test(test_continuation_inline_comment),
                cmocka_unit_test(test_crlf_file),
                cmocka_unit_test(test_long_webhook),
                cmocka_unit_test(test_long_webhook_inline_comment),
                cmocka_unit_test(test_long_bad_value),
                cmocka_unit_test(test_long_description_every_length),
                cmocka_unit_test(test_long_description_with_comment_and_continuation),
                cmocka_unit_test(test_long_line_not_key_value),
                cmocka_unit_test(test_invalid_utf8),
                cmocka_unit_test(test_hash_comments),
                cmocka_unit_test(test_nul_byte),
                cmocka_unit_test(test_byte_order_mark),
                cmocka_unit_test(test_any_line_length),
                cmocka_unit_test(test_value_size_limit),
                cmocka_unit_test(test_file_size_limit),
        };
        return cmocka_run_group_tests_name("config", tests, NULL, tmp_cleanup);
}
