/* main.c — the command line (README "Command reference", tandem(8)): check, export, preview.
 * Exit status: 0 success, 1 the config or the work failed, 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "feed.h"
#include "fileio.h"
#include "pairing.h"
#include "preview.h"
#include "rotation.h"
#include "schedule.h"
#include "suggest.h"
#include "util.h"
#include "version.h"

enum { EXIT_WORK = 1, EXIT_USAGE = 2 };

typedef struct Options {
        const char *config, *department, *output, *from, *clock, *argument;
        unsigned days;
        double clock_rate;
        bool json, quiet;
        bool clock_step;
        bool seen_days, seen_from, seen_json, seen_output, seen_department, seen_clock;
} Options;

static const char usage_text[] =
        "Usage: tandem [-c FILE] COMMAND [OPTIONS]\n"
        "\n"
        "Keeps departments meeting: publishes their joint meetings as iCalendar\n"
        "feeds and posts reminders to each department's team chat.\n"
        "\n"
        "Commands:\n"
        "  check [--quiet]             validate the config and summarize it\n"
        "  export [--department ID] [-o PATH]\n"
        "                              write the iCalendar feed (all meetings, or one\n"
        "                              department's) to standard output or PATH\n"
        "  preview [--from DATE] [--days N] [--department ID] [--json]\n"
        "                              list the meetings in a window (default: the\n"
        "                              next 14 days) with each department's local time\n"
        "  run [--clock INSTANT [--clock-rate N | --clock-step]]\n"
        "                              the daemon, in the foreground: writes the feeds\n"
        "                              and posts every reminder to chat\n"
        "  notify-test DEPARTMENT      post a test message to that department's chat\n"
        "\n"
        "Options:\n"
        "  -c, --config FILE           the config file (default /etc/tandem/tandem.ini)\n"
        "  -d, --department ID         one department only\n"
        "  -o, --output PATH           export: write to PATH (atomically)\n"
        "      --from DATE|INSTANT     preview: YYYY-MM-DD (midnight in [tandem] timezone)\n"
        "                              or an RFC 3339 instant; default now\n"
        "      --days N                preview: the window's length in days (default 14)\n"
        "      --json                  preview: JSON instead of a table\n"
        "  -q, --quiet                 check: print errors and warnings only, no summary\n"
        "      --clock INSTANT         run, FOR TESTING: start the daemon's clock at an\n"
        "                              RFC 3339 instant instead of now\n"
        "      --clock-rate N          run, FOR TESTING: the clock runs N times faster\n"
        "      --clock-step            run, FOR TESTING: the clock stands still but for\n"
        "                              jumps to the next timer, up to each RFC 3339\n"
        "                              instant read from standard input\n"
        "  -h, --help                  this text\n"
        "  -V, --version               the version\n"
        "\n"
        "Exit status: 0 success, 1 the config or the work failed, 2 usage error.\n";

_printf_(1, 2) static int usage_error(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("tandem: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputs("\nTry 'tandem --help'.\n", stderr);
        va_end(ap);
        return EXIT_USAGE;
}

/* Loads and validates the config and builds the schedule (calling built
 * for each meeting, if set), printing every problem as FILE:LINE. */
static int load_with(const Options *o, Config **config, Schedule **schedule,
                     void (*built)(Schedule *s, size_t meeting, void *userdata))
{
        Diags diags = {0};
        ScheduleOptions so = {.now = time(NULL), .fetch = true, .built = built};
        int r = schedule_load(o->config, &so, config, schedule, &diags);
        diag_print(&diags, stderr);
        if (r == -EINVAL)
                fprintf(stderr, "%s: %zu error%s\n", o->config, diags.n_errors, diags.n_errors == 1 ? "" : "s");
        else if (r < 0)
                fprintf(stderr, "tandem: cannot read %s: %s\n", o->config, strerror(-r));
        diag_free(&diags);
        return r;
}

static int load(const Options *o, Config **config, Schedule **schedule)
{
        return load_with(o, config, schedule, NULL);
}

static int find_department(const Config *c, const char *id, const Department **ret)
{
        *ret = NULL;
        if (!id)
                return 0;
        *ret = config_department(c, id);
        if (*ret)
                return 0;
        _cleanup_free_ const char **ids = xcalloc(c->n_departments + 1, sizeof(char *));
        for (size_t i = 0; i < c->n_departments; i++)
                ids[i] = c->departments[i].id;
        const char *hint = suggest(id, ids);
        fprintf(stderr, "tandem: no department \"%s\" in %s%s%s%s\n", id, c->path, hint ? " (did you mean \"" : "",
                hint ? hint : "", hint ? "\"?)" : "");
        return -ENOENT;
}

static const char *cadence_text(const Meeting *m, char *buf, size_t n)
{
        static const char *const days[8] = {NULL, "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char *const ords[5] = {"last", "first", "second", "third", "fourth"};
        Buf b = {0};
        if (m->cadence == CADENCE_RRULE)
                buf_printf(&b, "rrule %s", m->rrule);
        else if (m->cadence == CADENCE_MONTHLY && m->month_day)
                buf_printf(&b, "monthly on day %d", m->month_day);
        else if (m->cadence == CADENCE_MONTHLY)
                buf_printf(&b, "monthly, %s %s", ords[m->month_ordinal < 0 ? 0 : m->month_ordinal],
                           days[m->month_weekday]);
        else {
                buf_append(&b, m->interval == 1 ? "weekly" : m->interval == 2 ? "biweekly" : "");
                if (m->interval > 2)
                        buf_printf(&b, "every %u weeks", m->interval);
                for (int i = 0, first = 1; i < 7; i++) {
                        int wd = i == 6 ? 1 : i + 2;
                        if (m->weekdays & (1u << wd)) {
                                buf_printf(&b, "%s%s", first ? " on " : ", ", days[wd]);
                                first = 0;
                        }
                }
        }
        snprintf(buf, n, "%s", b.s);
        buf_free(&b);
        return buf;
}

/* The meeting's skips and moves still to come within the feed horizon,
 * and those a holiday would move but cannot (README "Holidays and
 * changes"). */
static void print_changes(const Schedule *s, size_t i, int64_t now)
{
        const Meeting *m = &s->config->meetings[i];
        size_t shown = 0, ahead = 0;
        /* a pair's changes name the pair */
        _cleanup_free_ char *who = m->pair.pairing ? xasprintf("%s + %s", m->departments[0]->id, m->departments[1]->id)
                                                   : xstrdup("");
        for (size_t k = 0; k < s->n_plan[i]; k++) {
                const Exception *e = &s->plan[i][k];
                if (e->rid < now && (e->cancelled || e->start < now))
                        continue;
                if (ahead++ >= 5)
                        continue;
                Wall a = tz_instant_to_wall(m->zone, e->rid);
                printf("  %-16s %s %04d-%02d-%02d", who, e->cancelled ? "skipped" : "moved  ", a.date.year, a.date.month,
                       a.date.day);
                if (!e->cancelled) {
                        Wall b = tz_instant_to_wall(m->zone, e->start);
                        printf(" -> %04d-%02d-%02d %02d:%02d", b.date.year, b.date.month, b.date.day, b.hour, b.minute);
                }
                bool stuck = e->cancelled && e->source == EXCEPTION_HOLIDAY && m->on_holiday != ON_HOLIDAY_SKIP;
                printf("%s%s%s%s\n", e->reason ? " (" : "", e->reason ? e->reason : "", e->reason ? ")" : "",
                       stuck ? ": no day that week suits every department" : "");
                shown++;
        }
        if (ahead > shown)
                printf("  %-16s ... and %zu more changes ahead (tandem preview lists them)\n", who, ahead - shown);
}

/* A pairing's cycle and its next round's pairs (README "Host rotation and
 * pairings"): "6 departments, 5 rounds, every pair once per 10 weeks". */
static void print_pairing(const Schedule *s, const Pairing *p, int64_t now)
{
        const Meeting *t = &p->template;
        char cad[256];
        _cleanup_free_ char *cycle = pairing_cycle_text(p, t->n_departments);
        unsigned rounds = rotation_cycle(t->n_departments);
        printf("  %-16s %s\n", t->id, t->title);
        printf("  %-16s %zu departments, %u round%s, %s; %s at %02d:%02d %s\n", "", t->n_departments, rounds,
               rounds == 1 ? "" : "s", cycle, cadence_text(t, cad, sizeof cad), t->hour, t->minute, tz_name(t->zone));
        _cleanup_free_ int64_t *next = NULL;
        if (schedule_rule_starts(s->config, t, now, INT64_MAX, 1, &next) == 0)
                return;
        Wall w = tz_instant_to_wall(t->zone, next[0]);
        printf("  %-16s next round %04d-%02d-%02d %02d:%02d %s:", "", w.date.year, w.date.month, w.date.day, w.hour,
               w.minute, tz_abbrev(t->zone, next[0]));
        _cleanup_free_ bool *seen = xcalloc(t->n_departments + 1, sizeof(bool));
        for (size_t k = 0, shown = 0; k < p->n; k++) {
                const Meeting *m = &s->config->meetings[p->first + k];
                Occurrence occ;
                if (!schedule_occurrence(s, m, next[0], &occ))
                        continue;
                printf("%s %s + %s%s", shown++ ? "," : "", m->departments[0]->id, m->departments[1]->id,
                       occ.status == OCCURRENCE_CANCELLED ? " (skipped)" : occ.status == OCCURRENCE_MOVED ? " (moved)" : "");
                for (size_t d = 0; d < t->n_departments; d++)
                        seen[d] |= meeting_has_department(m, t->departments[d]);
        }
        for (size_t d = 0, first = 1; d < t->n_departments; d++)
                if (!seen[d]) {
                        printf("%s %s", first ? "; sitting out:" : ",", t->departments[d]->id);
                        first = 0;
                }
        printf("\n");
}

static int cmd_check(const Options *o)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(schedule_freep) Schedule *s = NULL;
        if (load(o, &c, &s) < 0)
                return EXIT_WORK;
        /* For ExecReload= (the summary names the feed token; the journal
         * is no place for it) and scripts: the exit status is the answer. */
        if (o->quiet)
                return 0;

        int64_t now = time(NULL);
        printf("%s: OK: %zu department%s, %zu meeting%s", c->path, c->n_departments, c->n_departments == 1 ? "" : "s",
               c->n_own_meetings, c->n_own_meetings == 1 ? "" : "s");
        if (c->n_pairings)
                printf(", %zu pairing%s (%zu pairs)", c->n_pairings, c->n_pairings == 1 ? "" : "s",
                       c->n_meetings - c->n_own_meetings);
        printf("\n\n");
        printf("Departments:\n");
        for (size_t i = 0; i < c->n_departments; i++) {
                const Department *d = &c->departments[i];
                printf("  %-16s %-24s %-22s %s\n", d->id, d->name, tz_name(d->zone), config_chat_names[d->chat]);
        }
        printf("\nMeetings:\n");
        for (size_t i = 0; i < c->n_own_meetings; i++) {
                const Meeting *m = &c->meetings[i];
                char cad[256], when[64] = "no further occurrence";
                Occurrence next;
                bool has_next = schedule_next(s, m, now, &next);
                if (has_next) {
                        Wall w = tz_instant_to_wall(m->zone, next.start);
                        snprintf(when, sizeof when, "next %04d-%02d-%02d %02d:%02d %s", w.date.year, w.date.month,
                                 w.date.day, w.hour, w.minute, tz_abbrev(m->zone, next.start));
                }
                printf("  %-16s %s\n", m->id, m->title);
                printf("  %-16s %s at %02d:%02d %s; %s\n", "", cadence_text(m, cad, sizeof cad), m->hour, m->minute,
                       tz_name(m->zone), when);
                for (size_t k = 0; k < m->n_rotation; k++)
                        printf("%s%s", k ? ", " : "                   hosts take turns: ", m->rotation[k]->id);
                if (m->rotation && has_next && next.host)
                        printf("; next: %s", next.host->id);
                if (m->rotation)
                        printf("\n");
                print_changes(s, i, now);
        }
        if (c->n_pairings)
                printf("\nPairings:\n");
        for (size_t i = 0; i < c->n_pairings; i++) {
                print_pairing(s, &c->pairings[i], now);
                for (size_t k = 0; k < c->pairings[i].n; k++)
                        print_changes(s, c->pairings[i].first + k, now);
        }
        if (calendars_any(s->calendars)) {
                Wall today = tz_instant_to_wall(c->zone, now);
                _cleanup_free_ char *summary = calendars_summary(s->calendars, today.date.year);
                printf("\nHoliday calendars:\n%s", summary);
        }
        static const char *const from[] = {
                [STATE_DIR_CONFIG] = "state_dir",
                [STATE_DIR_SYSTEMD] = "systemd's StateDirectory=",
                [STATE_DIR_NEXT_TO_CONFIG] = "the default, next to the config file; tandem.service uses its StateDirectory= instead",
        };
        printf("\nLedger: %s/ledger.sqlite (%s)\n", c->state_dir, from[c->state_dir_from]);
        printf("\nFeeds (subscribe with the webcal:// link; tandem run also writes them to %s):\n", c->feed_dir);
        for (size_t i = 0; i <= c->n_departments; i++) {
                const char *name = i ? c->departments[i - 1].id : "all";
                _cleanup_free_ char *web = feed_url(c, name, true), *plain = feed_url(c, name, false);
                printf("  %-16s %s\n  %-16s %s\n", name, web, "", plain);
        }
        if (streq(c->listen, "off"))
                printf("  (listen = off: the built-in server is disabled; serve %s with any web server)\n", c->feed_dir);
        return 0;
}

/* Each meeting as text as soon as it is built: the libical components of
 * 10,000 meetings held at once took 70 MB. */
static void export_pack(Schedule *s, size_t meeting, void *userdata)
{
        (void)userdata;
        _cleanup_free_ char *text = feed_event_text(s, meeting, NULL);
        schedule_pack_text(s, meeting, text);
}

/* An export builds its heap once and exits. On a VM where a page fault
 * costs ~10 us, a quarter of an export of 10,000 meetings went into
 * faulting its heap in 4 KiB at a time (9,155 faults). Grown once by
 * 64 MiB (pages never touched cost nothing), kept (no trimming, large
 * buffers from it too rather than mmaps of their own) and marked for
 * transparent huge pages, it is faulted in 2 MiB at a time: 1,392 faults.
 * The pad is for that one growth: after it, or if the address space is
 * too small for it (ulimit -v), the heap grows as glibc's default has it. */
static void export_heap(void)
{
        const uintptr_t huge = 2 << 20;
        mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's largest */
        mallopt(M_TRIM_THRESHOLD, 128 << 20);
        mallopt(M_TOP_PAD, 64 << 20);
        uintptr_t start = ((uintptr_t)sbrk(0) + huge - 1) & ~(huge - 1);
        void *volatile grow = malloc(1 << 20); /* more than the heap has: it grows by the pad, or fails */
        free(grow);
        mallopt(M_TOP_PAD, 128 << 10); /* glibc's default */
        uintptr_t end = (uintptr_t)sbrk(0) & ~(huge - 1);
        if (end > start)
                (void)madvise((void *)start, end - start, MADV_HUGEPAGE); /* advice: refused, nothing changes */
}

static int cmd_export(const Options *o)
{
        export_heap();
        /* Not freed: the process ends here, and the kernel takes it all back
         * at once (freeing 10,000 meetings one by one cost a tenth of an
         * export). Kept reachable for leak checkers. */
        static Config *c;
        static Schedule *s;
        const Department *dept;
        if (load_with(o, &c, &s, export_pack) < 0)
                return EXIT_WORK;
        if (find_department(c, o->department, &dept) < 0)
                return EXIT_USAGE;

        _cleanup_free_ char *text = feed_render(s, dept, NULL);
        if (o->output) {
                int r = fileio_write_atomic(o->output, text, strlen(text), 0644, true);
                if (r < 0) {
                        fprintf(stderr, "tandem: cannot write %s: %s\n", o->output, strerror(-r));
                        return EXIT_WORK;
                }
                return 0;
        }
        if (fputs(text, stdout) == EOF || fflush(stdout) != 0) {
                fprintf(stderr, "tandem: cannot write to standard output: %m\n");
                return EXIT_WORK;
        }
        return 0;
}

static int parse_from(const Options *o, const Config *c, int64_t *from)
{
        Date d;
        if (!o->from) {
                *from = time(NULL);
                return 0;
        }
        if (parse_date(o->from, &d) == 0) {
                *from = tz_wall_to_instant(c->zone, (Wall){d, 0, 0, 0});
                return 0;
        }
        return tz_parse_rfc3339(o->from, from);
}

static int cmd_preview(const Options *o)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(schedule_freep) Schedule *s = NULL;
        const Department *dept;
        int64_t from;
        if (load(o, &c, &s) < 0)
                return EXIT_WORK;
        if (find_department(c, o->department, &dept) < 0)
                return EXIT_USAGE;
        if (parse_from(o, c, &from) < 0)
                return usage_error("--from: expected YYYY-MM-DD or an RFC 3339 instant, got \"%s\"", o->from);

        _cleanup_free_ Occurrence *occ = NULL;
        size_t n = schedule_occurrences(s, from, from + (int64_t)o->days * 86400, dept, true, &occ);
        if (o->json) {
                if (preview_json(stdout, s, occ, n) < 0)
                        return EXIT_WORK;
        } else
                preview_table(stdout, s, occ, n);
        return fflush(stdout) == 0 ? 0 : EXIT_WORK;
}

static int cmd_run(const Options *o)
{
        int64_t start = -1;
        ClockMode mode = CLOCK_MODE_REAL;
        if (o->clock) {
                if (tz_parse_rfc3339(o->clock, &start) < 0)
                        return usage_error("--clock: expected an RFC 3339 instant like 2026-03-01T08:00:00Z, got \"%s\"", o->clock);
                start *= USEC_PER_SEC;
                mode = o->clock_step ? CLOCK_MODE_STEP : CLOCK_MODE_RATE;
        } else if (o->clock_step || o->clock_rate != 1.0)
                return usage_error("--clock-rate and --clock-step need --clock INSTANT");
        if (o->clock_step && o->clock_rate != 1.0)
                return usage_error("--clock-rate and --clock-step exclude each other");
        return daemon_run(o->config, mode, start, o->clock_rate);
}

static int cmd_notify_test(const Options *o)
{
        return daemon_notify_test(o->config, o->argument);
}

static const struct {
        const char *name;
        int (*run)(const Options *o);
        bool takes_argument;
} commands[] = {
        {"check", cmd_check, false},
        {"export", cmd_export, false},
        {"preview", cmd_preview, false},
        {"run", cmd_run, false},
        {"notify-test", cmd_notify_test, true},
};

/* Options that only some commands take. */
static int check_option_use(const char *cmd, const Options *o)
{
        bool preview = streq(cmd, "preview"), export = streq(cmd, "export");
        if (o->quiet && !streq(cmd, "check"))
                return usage_error("--quiet is an option of check");
        if (o->seen_json && !preview)
                return usage_error("--json is an option of preview");
        if ((o->seen_from || o->seen_days) && !preview)
                return usage_error("--from and --days are options of preview");
        if (o->seen_output && !export)
                return usage_error("-o is an option of export");
        if (o->seen_department && !preview && !export)
                return usage_error("--department is an option of export and preview");
        if ((o->seen_clock || o->clock_rate != 1.0 || o->clock_step) && !streq(cmd, "run"))
                return usage_error("--clock, --clock-rate and --clock-step are options of run");
        return 0;
}

int main(int argc, char **argv)
{
        enum { OPT_FROM = 256, OPT_DAYS, OPT_JSON, OPT_CLOCK, OPT_CLOCK_RATE, OPT_CLOCK_STEP };
        static const struct option longopts[] = {
                {"config", required_argument, NULL, 'c'},    {"department", required_argument, NULL, 'd'},
                {"output", required_argument, NULL, 'o'},    {"from", required_argument, NULL, OPT_FROM},
                {"days", required_argument, NULL, OPT_DAYS}, {"json", no_argument, NULL, OPT_JSON},
                {"help", no_argument, NULL, 'h'},            {"version", no_argument, NULL, 'V'},
                {"clock", required_argument, NULL, OPT_CLOCK}, {"clock-rate", required_argument, NULL, OPT_CLOCK_RATE},
                {"clock-step", no_argument, NULL, OPT_CLOCK_STEP},
                {"quiet", no_argument, NULL, 'q'},
                {NULL, 0, NULL, 0},
        };
        Options o = {.config = "/etc/tandem/tandem.ini", .days = 14, .clock_rate = 1.0};
        int opt;

        opterr = 0;
        while ((opt = getopt_long(argc, argv, ":c:d:o:qhV", longopts, NULL)) != -1) {
                switch (opt) {
                case 'c': o.config = optarg; break;
                case 'd': o.department = optarg, o.seen_department = true; break;
                case 'o': o.output = optarg, o.seen_output = true; break;
                case OPT_FROM: o.from = optarg, o.seen_from = true; break;
                case OPT_DAYS:
                        if (parse_uint(optarg, 1, 3660, &o.days) < 0)
                                return usage_error("--days: expected a number of days from 1 to 3660, got \"%s\"", optarg);
                        o.seen_days = true;
                        break;
                case OPT_JSON: o.json = o.seen_json = true; break;
                case 'q': o.quiet = true; break;
                case OPT_CLOCK: o.clock = optarg, o.seen_clock = true; break;
                case OPT_CLOCK_RATE: {
                        char *end;
                        o.clock_rate = strtod(optarg, &end);
                        if (*end || !(o.clock_rate >= 0.001 && o.clock_rate <= 1e7))
                                return usage_error("--clock-rate: expected a number from 0.001 to 10000000, got \"%s\"", optarg);
                        break;
                }
                case OPT_CLOCK_STEP: o.clock_step = true; break;
                case 'h': fputs(usage_text, stdout); return 0;
                case 'V': printf("tandem %s\n", TANDEM_VERSION); return 0;
                case ':': return usage_error("%s needs a value", argv[optind - 1]);
                default: return usage_error("unknown option \"%s\"", argv[optind - 1]);
                }
        }
        if (optind >= argc)
                return usage_error("missing command: check, export, preview, run or notify-test");
        const char *cmd = argv[optind];
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(cmd, commands[i].name)) {
                        int extra = argc - optind - 1;
                        if (commands[i].takes_argument && extra != 1)
                                return usage_error("%s takes one argument", cmd);
                        if (!commands[i].takes_argument && extra != 0)
                                return usage_error("unexpected argument \"%s\"", argv[optind + 1]);
                        o.argument = commands[i].takes_argument ? argv[optind + 1] : NULL;
                        int r = check_option_use(cmd, &o);
                        return r ? r : commands[i].run(&o);
                }
        const char *names[ELEMENTSOF(commands) + 1] = {0};
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                names[i] = commands[i].name;
        const char *hint = suggest(cmd, names);
        return usage_error("unknown command \"%s\"%s%s%s", cmd, hint ? " (did you mean \"" : "", hint ? hint : "",
                           hint ? "\"?)" : "");
}
