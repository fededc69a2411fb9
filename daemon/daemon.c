/* daemon.c — one single-threaded sd-event loop: wall-clock timers for
 * reminders, SIGHUP (reload), SIGTERM/SIGINT (stop), libcurl's sockets,
 * sd_notify and the watchdog. Nothing blocks the loop. */
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "clock.h"
#include "config.h"
#include "deliver.h"
#include "feed.h"
#include "fileio.h"
#include "http.h"
#include "ledger.h"
#include "log.h"
#include "metrics.h"
#include "reminder.h"
#include "schedule.h"
#include "suggest.h"
#include "util.h"

#define STOP_TIMEOUT_USEC (3 * USEC_PER_SEC)

typedef struct Daemon {
        const char *config_path;
        sd_event *event;
        Config *config;
        Schedule *schedule;
        FeedMeta *meta;
        Ledger *ledger;
        Delivery *delivery;
        Reminders *reminders;
        Http *http;
        bool stopping;
        bool last_reload_ok;
        int64_t last_reload, started;
        char *reload_error; /* why the last reload was refused, for /healthz */
        char *status;       /* the last STATUS= sent */
} Daemon;

/* Config + schedule, with every error logged. */
static int load(const char *path, Config **config, Schedule **schedule)
{
        Diags diags = {0};
        int r = schedule_load(path, clock_now(), config, schedule, &diags);
        for (size_t i = 0; i < diags.n; i++)
                log_msg(strstr(diags.lines[i], ": warning: ") ? LOG_WARNING : LOG_ERR, "%s", diags.lines[i]);
        if (r < 0 && r != -EINVAL)
                log_error("cannot read %s: %s", path, strerror(-r));
        diag_free(&diags);
        return r;
}

/* A meeting's definition fingerprint: FNV-1a over its VEVENT as published,
 * so SEQUENCE rises exactly when what subscribers see changes. */
static void fingerprint(icalcomponent *ev, char out[17])
{
        _cleanup_free_ char *text = icalcomponent_as_ical_string_r(ev);
        snprintf(out, 17, "%016llx", (unsigned long long)fnv1a64(text, strlen(text)));
}

static FeedMeta *meta_load(Ledger *l, const Schedule *s)
{
        size_t n = s->n_events;
        FeedMeta *meta = xcalloc(n + 1, sizeof(FeedMeta));
        const char **ids = xcalloc(n + 1, sizeof(char *));
        char (*fps)[17] = xcalloc(n + 1, sizeof(*fps));
        const char **fp_ptrs = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                fingerprint(s->events[i], fps[i]);
                ids[i] = s->config->meetings[i].id;
                fp_ptrs[i] = fps[i];
        }
        /* One transaction (one disk sync) for all meetings, not one each. */
        ledger_meetings(l, ids, fp_ptrs, n, clock_now(), meta);
        free(ids);
        free(fps);
        free(fp_ptrs);
        return meta;
}

/* When the feed last changed: its newest meeting definition. */
static int64_t feed_modified(const Daemon *d, const Department *dept)
{
        int64_t t = 0;
        for (size_t i = 0; i < d->config->n_meetings; i++)
                if ((!dept || meeting_has_department(&d->config->meetings[i], dept)) && d->meta[i].modified > t)
                        t = d->meta[i].modified;
        return t ? t : d->started;
}

/* Renders every feed once per config load: written to feed_dir
 * (atomically) and handed to the HTTP server, the same bytes for both. */
static void publish_feeds(Daemon *d)
{
        size_t n = d->config->n_departments + 1;
        HttpFeed *feeds = xcalloc(n, sizeof(HttpFeed));
        char **texts = xcalloc(n, sizeof(char *));
        bool dir_ok = mkdir(d->config->feed_dir, 0755) == 0 || errno == EEXIST;
        int failed = 0;

        if (!dir_ok)
                log_error("cannot create feed directory %s: %m", d->config->feed_dir);
        for (size_t i = 0; i < n; i++) {
                const Department *dept = i ? &d->config->departments[i - 1] : NULL;
                texts[i] = feed_render(d->schedule, dept, d->meta);
                feeds[i] = (HttpFeed){dept ? dept->id : "all", texts[i], strlen(texts[i]), feed_modified(d, dept),
                                      dept ? dept->name : NULL};
                if (!dir_ok)
                        continue;
                _cleanup_free_ char *path = xasprintf("%s/%s.ics", d->config->feed_dir, feeds[i].name);
                /* Atomic but not synced: feeds are derived, rewritten at every
                 * start, and a sync per department made start-up crawl. */
                int r = fileio_write_atomic(path, texts[i], feeds[i].len, 0644, false);
                if (r < 0) {
                        log_error("cannot write %s: %s", path, strerror(-r));
                        failed++;
                }
        }
        if (dir_ok && !failed)
                log_info("wrote %zu feeds to %s", n, d->config->feed_dir);
        if (d->http)
                http_set_feeds(d->http, feeds, n,
                               &(HttpSite){d->config->calendar_name, d->config->public_url, d->config->feed_token});
        strv_free(texts, n);
        free(feeds);
}

static void log_subscribe_links(const Config *c)
{
        for (size_t i = 0; i <= c->n_departments; i++) {
                const char *name = i ? c->departments[i - 1].id : "all";
                _cleanup_free_ char *web = feed_url_masked(c, name, true), *plain = feed_url_masked(c, name, false);
                log_info("subscribe to %s: %s (or %s)", name, web, plain);
        }
}

/* Why /healthz says 503, or NULL while all is well (README "The feed
 * server"): the ledger cannot be written or read (nothing is sent then), the
 * last reload was refused, or delivery to a department is failing (its last
 * reminder was given up: refused for good, or failing until its meeting
 * started). */
static char *health(void *userdata)
{
        Daemon *d = userdata;
        Buf b = {0};
        ReminderStats st;
        reminders_stats(d->reminders, &st);
        const char *err = ledger_error(d->ledger);
        if (err || st.blocked || ledger_backlog(d->ledger) > 0)
                buf_printf(&b, "ledger in %s cannot be %s (%s): nothing is sent until it can be",
                           d->config->state_dir, st.blocked ? "read" : "written", err ? err : "retrying");
        if (d->reload_error)
                buf_printf(&b, "%s%s", b.len ? "; " : "", d->reload_error);
        size_t n = 0;
        const MetricsDepartment *depts = reminders_departments(d->reminders, &n);
        for (size_t i = 0; i < n; i++)
                if (depts[i].failing_since) {
                        char since[32];
                        tz_format_rfc3339(icaltimezone_get_utc_timezone(), depts[i].failing_since, since);
                        buf_printf(&b, "%sdelivery to %s failing since %s: %s", b.len ? "; " : "", depts[i].id, since,
                                   depts[i].last_error ? depts[i].last_error : "failed");
                }
        return b.len ? buf_steal(&b) : NULL;
}

static char *render_metrics(void *userdata)
{
        Daemon *d = userdata;
        ReminderStats st;
        reminders_stats(d->reminders, &st);
        size_t n = 0;
        const MetricsDepartment *depts = reminders_departments(d->reminders, &n);
        _cleanup_free_ char *why = health(d);
        Metrics m = {
                .sent = st.sent, .failed = st.failed, .missed = st.missed, .superseded = st.superseded,
                .retries = deliver_retries(d->delivery), .pending = st.pending,
                .in_flight = deliver_pending(d->delivery), .next_reminder = st.next_due,
                .departments = depts, .n_departments = n,
                .http = d->http ? http_counters(d->http) : NULL,
                .last_reload_ok = d->last_reload_ok, .last_reload = d->last_reload,
                .started = d->started, .meetings = d->config->n_meetings,
                .healthy = why == NULL, .ledger_backlog = ledger_backlog(d->ledger),
                .ledger_ok = ledger_error(d->ledger) == NULL,
        };
        return metrics_render(&m);
}

/* STATUS= for systemctl status: what is wrong, or the next reminder. Sent
 * when it changes. */
static void notify_status(Daemon *d, bool ready)
{
        _cleanup_free_ char *why = health(d);
        _cleanup_free_ char *next = reminders_status(d->reminders);
        char *status = why ? xasprintf("Unhealthy: %s", why) : xstrdup(next);
        if (!ready && d->status && streq(d->status, status)) {
                free(status);
                return;
        }
        sd_notifyf(false, "%sSTATUS=%s", ready ? "READY=1\n" : "", status);
        if (ready || why)
                log_msg(why ? LOG_WARNING : LOG_INFO, "%s", status);
        free(d->status);
        d->status = status;
}

static void on_reminders_changed(void *userdata)
{
        notify_status(userdata, false);
}

static void notify_ready(Daemon *d)
{
        notify_status(d, true);
}

/* Under a simulated clock everything tandem writes goes to
 * <state_dir>/simulated: simulated time must never mark real reminders as
 * sent or missed, nor date the real feeds (README "Command reference"). */
static void use_simulated_state(Config *c)
{
        if (!clock_is_virtual())
                return;
        char *state = xasprintf("%s/simulated", c->state_dir);
        free(c->feed_dir);
        c->feed_dir = xasprintf("%s/feeds", state);
        free(c->state_dir);
        c->state_dir = state;
}

static void reload(Daemon *d)
{
        Config *config = NULL;
        Schedule *schedule = NULL;
        sd_notify(false, "RELOADING=1");
        log_info("reloading %s", d->config_path);
        if (load(d->config_path, &config, &schedule) < 0) {
                char when[32];
                tz_format_rfc3339(icaltimezone_get_utc_timezone(), clock_now(), when);
                log_error("reload refused: %s has errors; keeping the running schedule", d->config_path);
                free(d->reload_error);
                d->reload_error = xasprintf("reload refused at %s: %s has errors (see the log); running the previous config",
                                            when, d->config_path);
                d->last_reload_ok = false;
                d->last_reload = clock_now();
                notify_ready(d);
                return;
        }
        use_simulated_state(config);
        if (!streq(config->listen, d->config->listen))
                log_warning("listen changed to %s; the server stays on %s until a restart", config->listen,
                            d->config->listen);
        if (!streq(config->state_dir, d->config->state_dir))
                log_warning("state_dir changed to %s; the ledger stays at %s until a restart", config->state_dir,
                            d->config->state_dir);
        FeedMeta *meta = meta_load(d->ledger, schedule);
        reminders_load(d->reminders, schedule, false);
        schedule_free(d->schedule);
        config_free(d->config);
        free(d->meta);
        d->config = config;
        d->schedule = schedule;
        d->meta = meta;
        publish_feeds(d);
        d->last_reload_ok = true;
        d->last_reload = clock_now();
        free(d->reload_error);
        d->reload_error = NULL;
        log_info("reloaded: %zu departments, %zu meetings", config->n_departments, config->n_meetings);
        notify_ready(d);
}

static void stopped(void *userdata)
{
        Daemon *d = userdata;
        ledger_flush(d->ledger, clock_now());
        sd_event_exit(d->event, 0);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Daemon *d = userdata;
        (void)s;
        if (si->ssi_signo == SIGHUP) {
                if (!d->stopping)
                        reload(d);
                return 0;
        }
        if (d->stopping)
                return 0;
        d->stopping = true;
        sd_notify(false, "STOPPING=1");
        log_info("stopping (%s)", strsignal((int)si->ssi_signo));
        deliver_shutdown(d->delivery, STOP_TIMEOUT_USEC, stopped, d);
        return 0;
}

static void daemon_free(Daemon *d)
{
        /* Delivery first: its jobs point into the reminders' bookkeeping. */
        http_free(d->http);
        deliver_free(d->delivery);
        reminders_free(d->reminders);
        ledger_close(d->ledger);
        schedule_free(d->schedule);
        config_free(d->config);
        free(d->meta);
        free(d->reload_error);
        free(d->status);
        clock_detach();
        sd_event_unref(d->event);
}

static int setup_loop(Daemon *d)
{
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        /* A closed sink must not kill us: libcurl is told NOSIGNAL, but a
         * console on a closed pipe is not. A file-size limit (RLIMIT_FSIZE)
         * is a write error like a full disk, handled where it happens. */
        signal(SIGPIPE, SIG_IGN);
        signal(SIGXFSZ, SIG_IGN);

        int r = sd_event_default(&d->event);
        if (r < 0)
                return r;
        if ((r = sd_event_add_signal(d->event, NULL, SIGHUP, on_signal, d)) < 0 ||
            (r = sd_event_add_signal(d->event, NULL, SIGTERM, on_signal, d)) < 0 ||
            (r = sd_event_add_signal(d->event, NULL, SIGINT, on_signal, d)) < 0)
                return r;
        /* WATCHDOG=1 at half the interval, when WatchdogSec= is set. */
        sd_event_set_watchdog(d->event, true);
        return clock_attach(d->event);
}

static void log_clock(void)
{
        char when[32];
        tz_format_rfc3339(icaltimezone_get_utc_timezone(), clock_now(), when);
        if (clock_mode() == CLOCK_MODE_RATE)
                log_warning("clock: simulated, starting at %s, %g times real time (for testing only)", when, clock_rate());
        else if (clock_mode() == CLOCK_MODE_STEP)
                log_warning("clock: simulated, at %s, advancing only as told on standard input (for testing only)", when);
}

int daemon_run(const char *config_path, ClockMode mode, int64_t clock_start_usec, double clock_rate_)
{
        Daemon d = {.config_path = config_path};
        _cleanup_free_ char *state = NULL;
        int r;

        clock_setup(mode, clock_start_usec, clock_rate_);
        log_clock();
        if (load(config_path, &d.config, &d.schedule) < 0)
                return 1;
        use_simulated_state(d.config);
        if (ledger_open(d.config->state_dir, clock_is_virtual(), &d.ledger) < 0)
                goto fail;
        d.started = d.last_reload = clock_now();
        d.last_reload_ok = true;
        d.meta = meta_load(d.ledger, d.schedule);
        if ((r = setup_loop(&d)) < 0) {
                log_error("cannot set up the event loop: %s", strerror(-r));
                goto fail;
        }
        if (!streq(d.config->listen, "off")) {
                if (http_new(d.event, d.config->listen, &d.http) < 0)
                        goto fail;
                http_set_metrics(d.http, render_metrics, &d);
                http_set_health(d.http, health, &d);
                log_info("serving feeds on http://%s/feeds/", d.config->listen);
        }
        publish_feeds(&d);
        if (d.http)
                log_subscribe_links(d.config);
        if ((r = deliver_new(d.event, &d.delivery)) < 0 ||
            (r = reminders_new(d.event, d.ledger, d.delivery, &d.reminders)) < 0) {
                log_error("cannot set up delivery: %s", strerror(-r));
                goto fail;
        }
        state = realpath(d.config->state_dir, NULL);
        log_info("tandem started: %zu departments, %zu meetings, ledger %s/ledger.sqlite", d.config->n_departments,
                 d.config->n_meetings, state ? state : d.config->state_dir);
        reminders_set_listener(d.reminders, on_reminders_changed, &d);
        reminders_load(d.reminders, d.schedule, true);
        notify_ready(&d);
        r = sd_event_loop(d.event);
        daemon_free(&d);
        if (r < 0) {
                log_error("event loop failed: %s", strerror(-r));
                return 1;
        }
        log_info("stopped");
        return 0;
fail:
        daemon_free(&d);
        return 1;
}

/* ---- notify-test -------------------------------------------------- */

typedef struct TestRun {
        sd_event *event;
        const char *host;
        int status;
} TestRun;

static void test_done(void *userdata, const DeliverResult *r)
{
        TestRun *t = userdata;
        if (r->ok)
                printf("%s answered HTTP %d: the test message was delivered\n", t->host, r->http_status);
        else
                printf("%s: the test message was not delivered: %s\n", t->host, r->error ? r->error : "failed");
        t->status = r->ok ? 0 : 1;
        sd_event_exit(t->event, 0);
}

static const Department *test_department(const Config *c, const char *id)
{
        const Department *d = config_department(c, id);
        if (d)
                return d;
        _cleanup_free_ const char **ids = xcalloc(c->n_departments + 1, sizeof(char *));
        for (size_t i = 0; i < c->n_departments; i++)
                ids[i] = c->departments[i].id;
        const char *hint = suggest(id, ids);
        fprintf(stderr, "tandem: no department \"%s\" in %s%s%s%s\n", id, c->path, hint ? " (did you mean \"" : "",
                hint ? hint : "", hint ? "\"?)" : "");
        return NULL;
}

int daemon_notify_test(const char *config_path, const char *department)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(schedule_freep) Schedule *s = NULL;
        clock_setup(CLOCK_MODE_REAL, 0, 1.0);
        if (load(config_path, &c, &s) < 0)
                return 1;
        const Department *d = test_department(c, department);
        if (!d)
                return 2;
        ChatMessage msg;
        chat_test(c, d, clock_now(), &msg);
        if (d->chat == CHAT_CONSOLE) {
                printf("%s\n", msg.line);
                chat_message_free(&msg);
                return 0;
        }
        char host[256];
        TestRun t = {.host = log_url_host(d->webhook, host), .status = 1};
        Delivery *dl = NULL;
        if (sd_event_new(&t.event) < 0 || deliver_new(t.event, &dl) < 0) {
                chat_message_free(&msg);
                sd_event_unref(t.event);
                return 1;
        }
        /* The outcome is printed once, on standard output; delivery's own
         * log lines would say it again. */
        log_set_max_priority(LOG_CRIT);
        DeliverCallbacks cb = {test_done};
        /* One try: the deadline is before any retry could happen. */
        deliver_submit(dl, d->webhook, &msg, clock_now_usec() + USEC_PER_SEC, "notify-test", &cb, &t);
        sd_event_loop(t.event);
        deliver_free(dl);
        sd_event_unref(t.event);
        return t.status;
}
