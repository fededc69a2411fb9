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
        FeedMeta *meta = xcalloc(s->n_events + 1, sizeof(FeedMeta));
        ledger_begin(l); /* one sync for all meetings, not one each */
        for (size_t i = 0; i < s->n_events; i++) {
                char fp[17];
                fingerprint(s->events[i], fp);
                if (ledger_meeting(l, s->config->meetings[i].id, fp, clock_now(), &meta[i]) < 0)
                        meta[i] = (FeedMeta){0, clock_now()};
        }
        ledger_commit(l);
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
                feeds[i] = (HttpFeed){dept ? dept->id : "all", texts[i], strlen(texts[i]), feed_modified(d, dept)};
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
                http_set_feeds(d->http, feeds, n, d->config->feed_token);
        strv_free(texts, n);
        free(feeds);
}

static void log_subscribe_links(const Config *c)
{
        for (size_t i = 0; i <= c->n_departments; i++) {
                const char *name = i ? c->departments[i - 1].id : "all";
                _cleanup_free_ char *web = feed_url(c, name, true), *plain = feed_url(c, name, false);
                log_info("subscribe to %s: %s (or %s)", name, web, plain);
        }
}

static char *render_metrics(void *userdata)
{
        Daemon *d = userdata;
        ReminderStats st;
        reminders_stats(d->reminders, &st);
        size_t n = 0;
        const MetricsDepartment *depts = reminders_departments(d->reminders, &n);
        Metrics m = {
                .sent = st.sent, .failed = st.failed, .missed = st.missed,
                .retries = deliver_retries(d->delivery), .pending = st.pending,
                .in_flight = deliver_pending(d->delivery), .next_reminder = st.next_due,
                .departments = depts, .n_departments = n,
                .http = d->http ? http_counters(d->http) : NULL,
                .last_reload_ok = d->last_reload_ok, .last_reload = d->last_reload,
                .started = d->started, .meetings = d->config->n_meetings,
        };
        return metrics_render(&m);
}

static void notify_ready(Daemon *d)
{
        _cleanup_free_ char *status = reminders_status(d->reminders);
        sd_notifyf(false, "READY=1\nSTATUS=%s", status);
        log_info("%s", status);
}

static void reload(Daemon *d)
{
        Config *config = NULL;
        Schedule *schedule = NULL;
        sd_notify(false, "RELOADING=1");
        log_info("reloading %s", d->config_path);
        if (load(d->config_path, &config, &schedule) < 0) {
                log_error("reload refused: %s has errors; keeping the running schedule", d->config_path);
                d->last_reload_ok = false;
                d->last_reload = clock_now();
                notify_ready(d);
                return;
        }
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
        log_info("reloaded: %zu departments, %zu meetings", config->n_departments, config->n_meetings);
        notify_ready(d);
}

static void stopped(void *userdata)
{
        Daemon *d = userdata;
        ledger_set_alive(d->ledger, clock_now());
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
         * console on a closed pipe is not. */
        signal(SIGPIPE, SIG_IGN);

        int r = sd_event_default(&d->event);
        if (r < 0)
                return r;
        if ((r = sd_event_add_signal(d->event, NULL, SIGHUP, on_signal, d)) < 0 ||
            (r = sd_event_add_signal(d->event, NULL, SIGTERM, on_signal, d)) < 0 ||
            (r = sd_event_add_signal(d->event, NULL, SIGINT, on_signal, d)) < 0)
                return r;
        /* WATCHDOG=1 at half the interval, when WatchdogSec= is set. */
        sd_event_set_watchdog(d->event, true);
        return 0;
}

int daemon_run(const char *config_path, int64_t clock_start_usec, double clock_rate_)
{
        Daemon d = {.config_path = config_path};
        int r;

        clock_setup(clock_start_usec, clock_rate_);
        if (clock_is_virtual())
                log_warning("virtual clock: starting at %lld, %g times real time (for testing only)",
                            (long long)clock_now(), clock_rate());
        if (load(config_path, &d.config, &d.schedule) < 0)
                return 1;
        if (ledger_open(d.config->state_dir, &d.ledger) < 0)
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
        log_info("tandem started: %zu departments, %zu meetings, ledger in %s", d.config->n_departments,
                 d.config->n_meetings, d.config->state_dir);
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
                printf("%s: %s\n", t->host, r->error ? r->error : "failed");
        t->status = r->ok ? 0 : 1;
        sd_event_exit(t->event, 0);
}

int daemon_notify_test(const char *config_path, const char *department)
{
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(schedule_freep) Schedule *s = NULL;
        clock_setup(-1, 1.0);
        if (load(config_path, &c, &s) < 0)
                return 1;
        Department *d = config_department(c, department);
        if (!d) {
                fprintf(stderr, "tandem: no department \"%s\" in %s\n", department, config_path);
                return 2;
        }
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
        DeliverCallbacks cb = {NULL, test_done};
        /* One try: the deadline is before any retry could happen. */
        deliver_submit(dl, d->webhook, &msg, clock_now_usec() + USEC_PER_SEC, "notify-test", &cb, &t);
        sd_event_loop(t.event);
        deliver_free(dl);
        sd_event_unref(t.event);
        return t.status;
}
