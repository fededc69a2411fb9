/* daemon.c — one single-threaded sd-event loop: wall-clock timers for
 * reminders, SIGHUP (reload), SIGTERM/SIGINT (stop), libcurl's sockets,
 * sd_notify and the watchdog. Nothing blocks the loop. */
#include "daemon.h"

#include <errno.h>
#include <malloc.h>
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
#include "refresh.h"
#include "reminder.h"
#include "schedule.h"
#include "suggest.h"
#include "util.h"

#define STOP_TIMEOUT_USEC (3 * USEC_PER_SEC)

typedef struct Publish Publish;
typedef struct Reload Reload;

typedef struct Daemon {
        const char *config_path;
        sd_event *event;
        Config *config;
        Schedule *schedule;
        FeedMeta *meta;
        Ledger *ledger;
        Delivery *delivery;
        Reminders *reminders;
        Refresh *refresh;
        Http *http;
        Publish *publish; /* the feeds of the schedule being published, if not done yet */
        bool published;   /* feeds were published once: the server takes connections */
        Reload *reload;   /* a reload under way */
        sd_event_source *startup; /* start-up's second half, under way */
        size_t startup_next;      /* its next meeting */
        bool reload_asked;        /* SIGHUP during it: reload once it is done */
        bool stopping;
        bool last_reload_ok;
        int64_t last_reload, started;
        char *reload_error; /* why the last reload was refused, for /healthz */
        char *status;       /* the last STATUS= sent */
} Daemon;

/* What the ledger remembers of hosts and pairings, for a load: the ledger
 * is opened on the first (its place is in the config). */
static int read_history(void *userdata, const Config *c, History *h)
{
        Daemon *d = userdata;
        if (!d->ledger && ledger_open(c->state_dir, clock_is_virtual(), &d->ledger) < 0)
                return -ENOLCK;
        return ledger_history(d->ledger, h);
}

/* Config + schedule, with every error logged, and the pairings' new
 * epochs recorded once the config is accepted. d is NULL for notify-test,
 * which needs no ledger. */
static void log_diags(const Diags *diags)
{
        for (size_t i = 0; i < diags->n; i++)
                log_msg(strstr(diags->lines[i], ": warning: ") ? LOG_WARNING : LOG_ERR, "%s", diags->lines[i]);
}

static int load(Daemon *d, const char *path, bool fetch, Config **config, Schedule **schedule)
{
        Diags diags = {0};
        History history = {0};
        /* The holiday calendars come from their cache: a reload never
         * waits for the network (the daily refresh fetches). The first
         * start fetches a calendar that has none yet. */
        ScheduleOptions o = {.now = clock_now(), .fetch = fetch, .simulated = clock_is_virtual(),
                             .history = d ? &history : NULL, .read_history = d ? read_history : NULL, .userdata = d};
        int r = schedule_load(path, &o, config, schedule, &diags);
        log_diags(&diags);
        if (r < 0 && r != -EINVAL && r != -ENOLCK && r != -EIO)
                log_error("cannot read %s: %s", path, strerror(-r));
        if (r == 0 && d)
                ledger_record_epochs(d->ledger, &history, clock_now());
        history_clear(&history);
        diag_free(&diags);
        return r;
}

/* ---- publishing the feeds ----------------------------------------------
 *
 * After start-up (READY=1) and after each reload or daily rebuild, on the
 * loop, a batch of meetings or feeds at a time, so that the loop serves
 * feeds, posts reminders and takes signals between two batches:
 *  1. each meeting's fingerprint, then the revisions in the ledger (one
 *     transaction);
 *  2. each meeting's VEVENTs as text with its revision: the schedule keeps
 *     that and frees libical's components (schedule_pack);
 *  3. each feed: written to feed_dir if its bytes changed, and prepared for
 *     the server (the previous feeds are served meanwhile; at the first
 *     start, 503 with Retry-After);
 *  4. the new feeds served, and the memory the components took given back.
 * The step clock stands still meanwhile (clock_busy_begin), so that tests
 * on it see the feeds of the schedule they run. */
#define PUBLISH_MEETINGS 250 /* per batch: about 5 ms */
#define PUBLISH_FEEDS 100
#define PUBLISH_PLAIN_MAX (256 << 10) /* all.ics larger than this is kept gzip'd only */

enum { PUBLISH_FINGERPRINTS, PUBLISH_TEXTS, PUBLISH_FEEDS_STEP, PUBLISH_DONE };

struct Publish {
        sd_event_source *source;
        int step;
        size_t next;
        char (*fingerprints)[17];
        size_t **members; /* per department: its meetings */
        size_t *n_members;
        HttpFeeds *feeds;
        bool dir_ok;
        size_t written, failed;
};

static Publish *publish_free(Publish *p)
{
        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->source);
        free(p->fingerprints);
        if (p->members)
                for (size_t i = 0; p->n_members && p->members[i]; i++)
                        free(p->members[i]);
        free(p->members);
        free(p->n_members);
        http_feeds_free(p->feeds);
        free(p);
        clock_busy_end();
        return NULL;
}

static void publish_meta(Daemon *d, Publish *p)
{
        const Schedule *s = d->schedule;
        size_t n = s->n_events;
        const char **ids = xcalloc(n + 1, sizeof(char *));
        const char **fps = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                ids[i] = s->config->meetings[i].id;
                fps[i] = p->fingerprints[i];
        }
        free(d->meta);
        d->meta = xcalloc(n + 1, sizeof(FeedMeta));
        /* One transaction (one disk sync) for all meetings, not one each. */
        ledger_meetings(d->ledger, ids, fps, n, clock_now(), d->meta);
        free(ids);
        free(fps);
}

/* Which meetings each department's feed holds: found once, not once per
 * department. */
static void publish_members(const Config *c, Publish *p)
{
        size_t nd = c->n_departments;
        p->members = xcalloc(nd + 1, sizeof(size_t *));
        p->n_members = xcalloc(nd + 1, sizeof(size_t));
        size_t *alloc = xcalloc(nd + 1, sizeof(size_t));
        for (size_t i = 0; i < c->n_meetings; i++) {
                const Meeting *m = &c->meetings[i];
                for (size_t k = 0; k < m->n_departments; k++) {
                        size_t di = (size_t)(m->departments[k] - c->departments);
                        if (p->n_members[di] && p->members[di][p->n_members[di] - 1] == i)
                                continue; /* named twice */
                        GROW(p->members[di], p->n_members[di], alloc[di]);
                        p->members[di][p->n_members[di]++] = i;
                }
        }
        for (size_t di = 0; di < nd; di++)
                if (!p->members[di])
                        p->members[di] = xcalloc(1, sizeof(size_t));
        free(alloc);
}

/* Feed f (0: all meetings, else department f - 1): on disk if it
 * changed, and in the next set of the server. */
static void publish_feed(Daemon *d, Publish *p, size_t f)
{
        const Config *c = d->config;
        const Department *dept = f ? &c->departments[f - 1] : NULL;
        size_t n = f ? p->n_members[f - 1] : c->n_meetings;
        _cleanup_free_ size_t *all = f ? NULL : xcalloc(n + 1, sizeof(size_t));
        for (size_t i = 0; !f && i < n; i++)
                all[i] = i;
        const size_t *meetings = f ? p->members[f - 1] : all;
        _cleanup_free_ char *text = feed_assemble(d->schedule, dept, meetings, n, d->meta);
        size_t len = strlen(text);
        /* When the feed last changed: its newest meeting definition. */
        int64_t modified = 0;
        for (size_t i = 0; i < n; i++)
                if (d->meta[meetings[i]].modified > modified)
                        modified = d->meta[meetings[i]].modified;
        const char *name = dept ? dept->id : "all";
        if (p->dir_ok) {
                _cleanup_free_ char *path = xasprintf("%s/%s.ics", c->feed_dir, name);
                /* Atomic but not synced: feeds are derived and written again
                 * at the next start. Unchanged bytes are not written again. */
                int r = fileio_write_if_changed(path, text, len, 0644);
                if (r < 0) {
                        log_error("cannot write %s: %s", path, strerror(-r));
                        p->failed++;
                } else
                        p->written += (size_t)r;
        }
        /* Kept gzip'd only: every department's feed (there may be a
         * thousand), and all.ics once it is large (2.7 MB plain, 0.17 MB
         * gzip'd at 5000 meetings); a small all.ics stays as it is, the
         * feed most clients ask for, served without inflating. */
        bool compact = dept || len > PUBLISH_PLAIN_MAX;
        if (p->feeds)
                http_feeds_add(p->feeds, &(HttpFeed){name, text, len, modified ? modified : d->started,
                                                    dept ? dept->name : NULL, compact});
}

static void publish_done(Daemon *d, Publish *p)
{
        size_t n = d->config->n_departments + 1;
        const char *dir = d->config->feed_dir;
        if (!p->dir_ok)
                log_warning("published %zu feeds, none written to %s (it cannot be created)", n, dir);
        else if (p->failed)
                log_warning("published %zu feeds: %zu written to %s, %zu failed", n, p->written, dir, p->failed);
        else
                log_info("published %zu feeds: %zu written to %s, %zu unchanged", n, p->written, dir, n - p->written);
        if (d->http)
                http_set_feeds(d->http, TAKE_PTR(p->feeds));
        d->published = true;
        schedule_published(d->schedule); /* the feeds have their texts now */
        /* The components the texts replaced, and the texts of the feeds,
         * were freed in small pieces all over the heap: give the pages back. */
        malloc_trim(0);
}

/* One batch of the current step. */
static int on_publish(sd_event_source *source, void *userdata)
{
        Daemon *d = userdata;
        Publish *p = d->publish;
        Schedule *s = d->schedule;
        size_t n_meetings = s->n_events, n_feeds = d->config->n_departments + 1;
        (void)source;
        switch (p->step) {
        case PUBLISH_FINGERPRINTS:
                for (size_t k = 0; k < PUBLISH_MEETINGS && p->next < n_meetings; k++, p->next++)
                        schedule_fingerprint(s, p->next, p->fingerprints[p->next]);
                if (p->next < n_meetings)
                        return 0;
                publish_meta(d, p);
                p->step = PUBLISH_TEXTS, p->next = 0;
                return 0;
        case PUBLISH_TEXTS:
                for (size_t k = 0; k < PUBLISH_MEETINGS && p->next < n_meetings; k++, p->next++) {
                        _cleanup_free_ char *text = feed_event_text(s, p->next, d->meta);
                        schedule_pack(s, p->next, text);
                }
                if (p->next < n_meetings)
                        return 0;
                publish_members(d->config, p);
                p->step = PUBLISH_FEEDS_STEP, p->next = 0;
                return 0;
        case PUBLISH_FEEDS_STEP:
                for (size_t k = 0; k < PUBLISH_FEEDS && p->next < n_feeds; k++, p->next++)
                        publish_feed(d, p, p->next);
                if (p->next < n_feeds)
                        return 0;
                publish_done(d, p);
                d->publish = publish_free(p);
                return 0;
        }
        return 0;
}

/* Publishes the feeds of d->schedule from the next loop iterations on;
 * one still under way for a previous schedule is dropped. */
static void publish_start(Daemon *d)
{
        d->publish = publish_free(d->publish);
        Publish *p = xcalloc(1, sizeof(Publish));
        clock_busy_begin();
        p->fingerprints = xcalloc(d->schedule->n_events + 1, sizeof(*p->fingerprints));
        p->dir_ok = mkdir(d->config->feed_dir, 0755) == 0 || errno == EEXIST;
        if (!p->dir_ok)
                log_error("cannot create feed directory %s: %m", d->config->feed_dir);
        if (d->http)
                p->feeds = http_feeds_new(&(HttpSite){d->config->calendar_name, d->config->public_url,
                                                      d->config->feed_token},
                                          d->config->n_departments + 1);
        int r = sd_event_add_defer(d->event, &p->source, on_publish, d);
        if (r < 0) {
                log_error("cannot publish the feeds: %s", strerror(-r));
                publish_free(p);
                return;
        }
        /* A batch at a time. After everything else that is ready to run,
         * while the previous feeds are served; but the first shares the
         * loop with delivery as an equal: until it is done the server takes
         * no connection, /healthz included, and a start-up's burst of
         * overdue reminders would hold back an idle-priority one. */
        sd_event_source_set_priority(p->source, d->published ? SD_EVENT_PRIORITY_IDLE : SD_EVENT_PRIORITY_NORMAL);
        sd_event_source_set_enabled(p->source, SD_EVENT_ON);
        sd_event_source_set_description(p->source, "publish-feeds");
        d->publish = p;
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
        /* Outcomes waiting in memory for their pass's end (deliver.c) are
         * no failure: only a write that failed is. */
        const char *err = ledger_error(d->ledger);
        if (err || st.blocked)
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
                .holiday_refresh_failures = refresh_failures(d->refresh),
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
        /* the first is the start-up's: logged as READY's would be */
        if (ready || why || !d->status)
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

/* The holiday calendars of the schedule now, for the daily refresh. */
static void refresh_follow(Daemon *d)
{
        const char *const *urls;
        size_t n = calendars_urls(d->schedule->calendars, &urls);
        refresh_set(d->refresh, d->config->state_dir, urls, n, calendars_missing(d->schedule->calendars));
}

/* ---- reloading ---------------------------------------------------------
 *
 * SIGHUP reads the config again on the loop, a step at a time, so that the
 * feeds, /healthz and /metrics are served meanwhile (README "Delivery
 * guarantees", tandem(8) "run"):
 *  1. the config is read and checked, and what the ledger remembers of
 *     hosts and pairings read;
 *  2. the new plan is built (its rules checked too: their errors refuse
 *     the reload as the config's do);
 *  3. each meeting's next occurrence is found, a batch at a time: the
 *     reminders ask for it next, and schedule_next() keeps the answer;
 *  4. the reminders move to the new plan, which is published.
 * Reminders wait meanwhile (the plan they go by is being replaced) and go
 * out at step 4 if one fell due; the step clock stands still. A SIGHUP
 * during a reload, or the daily rebuild, starts it again from step 1. */
#define RELOAD_MEETINGS 500 /* per batch: a few milliseconds */

enum { RELOAD_READ, RELOAD_PLAN, RELOAD_NEXT, RELOAD_SWITCH };

struct Reload {
        sd_event_source *source;
        int step;
        size_t next;
        int result;
        Config *config;
        Schedule *schedule;
        History history;
        Diags diags;
};

static Reload *reload_free(Reload *rl)
{
        if (!rl)
                return NULL;
        sd_event_source_disable_unref(rl->source);
        schedule_free(rl->schedule);
        config_free(rl->config);
        history_clear(&rl->history);
        diag_free(&rl->diags);
        free(rl);
        clock_busy_end();
        return NULL;
}

static void reload_refused(Daemon *d)
{
        char when[32];
        tz_format_rfc3339(icaltimezone_get_utc_timezone(), clock_now(), when);
        log_error("reload refused: %s has errors; keeping the running schedule", d->config_path);
        free(d->reload_error);
        d->reload_error = xasprintf("reload refused at %s: %s has errors (see the log); running the previous config",
                                    when, d->config_path);
        d->last_reload_ok = false;
        d->last_reload = clock_now();
        d->reload = reload_free(d->reload);
        reminders_hold(d->reminders, false);
        notify_ready(d);
}

static void reload_switch(Daemon *d, Reload *rl)
{
        Config *config = TAKE_PTR(rl->config);
        Schedule *schedule = TAKE_PTR(rl->schedule);
        ledger_record_epochs(d->ledger, &rl->history, clock_now());
        d->reload = reload_free(rl);
        if (!streq(config->listen, d->config->listen))
                log_warning("listen changed to %s; the server stays on %s until a restart", config->listen,
                            d->config->listen);
        if (!streq(config->state_dir, d->config->state_dir))
                log_warning("state_dir changed to %s; the ledger stays at %s until a restart", config->state_dir,
                            d->config->state_dir);
        reminders_load(d->reminders, schedule, d->schedule, false);
        d->publish = publish_free(d->publish);
        schedule_free(d->schedule);
        config_free(d->config);
        d->config = config;
        d->schedule = schedule;
        publish_start(d);
        d->last_reload_ok = true;
        d->last_reload = clock_now();
        free(d->reload_error);
        d->reload_error = NULL;
        refresh_follow(d);
        log_info("reloaded: %zu departments, %zu meetings", config->n_departments, config->n_meetings);
        notify_ready(d);
}

/* One step of the reload; the source stays on until the last. */
static int on_reload(sd_event_source *source, void *userdata)
{
        Daemon *d = userdata;
        Reload *rl = d->reload;
        (void)source;
        ScheduleOptions o = {.now = clock_now(), .simulated = clock_is_virtual(), .history = &rl->history,
                             .read_history = read_history, .userdata = d};
        switch (rl->step) {
        case RELOAD_READ:
                /* The holiday calendars come from their cache: a reload never
                 * waits for the network (the daily refresh fetches). */
                rl->result = schedule_read(d->config_path, &o, &rl->config, &rl->diags);
                if (!rl->config) {
                        log_diags(&rl->diags);
                        if (rl->result != -EINVAL && rl->result != -ENOLCK && rl->result != -EIO)
                                log_error("cannot read %s: %s", d->config_path, strerror(-rl->result));
                        reload_refused(d);
                        return 0;
                }
                rl->step = RELOAD_PLAN;
                return 0;
        case RELOAD_PLAN: {
                int k = schedule_plan(rl->config, &o, &rl->schedule, &rl->diags);
                if (rl->result == 0)
                        rl->result = k;
                log_diags(&rl->diags);
                if (rl->result < 0) {
                        reload_refused(d);
                        return 0;
                }
                rl->step = RELOAD_NEXT;
                return 0;
        }
        case RELOAD_NEXT:
                reminders_prepare(d->reminders, rl->schedule, rl->next, RELOAD_MEETINGS, false);
                rl->next += RELOAD_MEETINGS;
                if (rl->next >= rl->schedule->config->n_meetings)
                        rl->step = RELOAD_SWITCH;
                return 0;
        case RELOAD_SWITCH:
                reload_switch(d, rl);
                return 0;
        }
        return 0;
}

/* Starts a reload, or starts the one under way again. */
static void reload(Daemon *d)
{
        d->reload = reload_free(d->reload);
        sd_notify(false, "RELOADING=1");
        log_info("reloading %s", d->config_path);
        /* Who hosted what so far stays so, whatever the new config says;
         * nothing more is announced until the new plan is in place. */
        reminders_record_hosts(d->reminders);
        reminders_hold(d->reminders, true);
        Reload *rl = xcalloc(1, sizeof(Reload));
        clock_busy_begin();
        int r = sd_event_add_defer(d->event, &rl->source, on_reload, d);
        if (r < 0) {
                log_error("cannot reload: %s", strerror(-r));
                reload_free(rl);
                reminders_hold(d->reminders, false);
                notify_ready(d);
                return;
        }
        /* Before the feeds' publishing (IDLE), after serving a client. */
        sd_event_source_set_priority(rl->source, SD_EVENT_PRIORITY_NORMAL + 1);
        sd_event_source_set_enabled(rl->source, SD_EVENT_ON);
        sd_event_source_set_description(rl->source, "reload");
        d->reload = rl;
}

/* The daily round's end: the same config, a day's more horizon, the
 * holidays as fetched. Changes reach the feeds and, as notices, the chats
 * (reminders_load). */
static void rebuild(void *userdata)
{
        Daemon *d = userdata;
        Diags diags = {0};
        Schedule *schedule = NULL;
        History history = {0};
        ScheduleOptions o = {.now = clock_now(), .simulated = clock_is_virtual(), .history = &history};
        if (d->reload) {
                reload(d); /* it reads the calendars just refreshed, and the config */
                return;
        }
        reminders_record_hosts(d->reminders);
        int r = ledger_history(d->ledger, &history);
        if (r == 0)
                r = schedule_new(d->config, &o, &schedule, &diags);
        history_clear(&history);
        if (r < 0) {
                for (size_t i = 0; i < diags.n; i++)
                        log_error("%s", diags.lines[i]);
                log_error("daily rebuild failed; keeping the schedule of %s", d->config_path);
                diag_free(&diags);
                return;
        }
        diag_free(&diags);
        reminders_load(d->reminders, schedule, d->schedule, false);
        d->publish = publish_free(d->publish);
        schedule_free(d->schedule);
        d->schedule = schedule;
        publish_start(d);
        refresh_follow(d);
}

static void stopped(void *userdata)
{
        Daemon *d = userdata;
        ledger_flush(d->ledger, clock_now());
        sd_event_exit(d->event, 0);
}

/* A start-up's second half that will not finish (a stop): the step clock
 * no longer waits for it. */
static void startup_drop(Daemon *d)
{
        if (!d->startup)
                return;
        d->startup = sd_event_source_disable_unref(d->startup);
        clock_busy_end();
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Daemon *d = userdata;
        (void)s;
        if (si->ssi_signo == SIGHUP) {
                if (d->startup)
                        d->reload_asked = true; /* a reload goes by what the start-up loaded */
                else if (!d->stopping)
                        reload(d);
                return 0;
        }
        if (d->stopping)
                return 0;
        d->stopping = true;
        d->reload = reload_free(d->reload); /* the reminders stay held: nothing new goes out */
        startup_drop(d); /* nor are any loaded */
        sd_notify(false, "STOPPING=1");
        log_info("stopping (%s)", strsignal((int)si->ssi_signo));
        deliver_shutdown(d->delivery, STOP_TIMEOUT_USEC, stopped, d);
        return 0;
}

static void daemon_free(Daemon *d)
{
        /* Delivery first: its jobs point into the reminders' bookkeeping. */
        d->reload = reload_free(d->reload);
        d->publish = publish_free(d->publish);
        startup_drop(d);
        http_free(d->http);
        refresh_free(d->refresh);
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

/* ---- start-up's second half ------------------------------------------
 *
 * READY=1 goes once the config is read and the plan built (README "Running
 * it"); then, on the loop, a batch at a time, each meeting's next occurrence
 * is found for the reminders (one libical iterator each: a third of a
 * start-up's work at 5000 meetings), the reminders are loaded (a reminder
 * that fell due meanwhile goes out at once) and the feeds published. The
 * step clock stands still meanwhile; the server takes connections once the
 * first feeds are in; a SIGHUP waits for the end. */
#define STARTUP_MEETINGS 500 /* per batch: a few milliseconds */

static int on_startup(sd_event_source *source, void *userdata)
{
        Daemon *d = userdata;
        (void)source;
        reminders_prepare(d->reminders, d->schedule, d->startup_next, STARTUP_MEETINGS, true);
        d->startup_next += STARTUP_MEETINGS;
        if (d->startup_next < d->schedule->config->n_meetings)
                return 0;
        d->startup = sd_event_source_disable_unref(d->startup);
        reminders_load(d->reminders, d->schedule, NULL, true);
        /* the status line that follows READY in the log: what is next */
        notify_status(d, false);
        refresh_follow(d);
        publish_start(d);
        clock_busy_end();
        if (d->reload_asked)
                reload(d);
        return 0;
}

static int startup_begin(Daemon *d)
{
        int r = sd_event_add_defer(d->event, &d->startup, on_startup, d);
        if (r < 0)
                return r;
        sd_event_source_set_description(d->startup, "startup");
        sd_event_source_set_enabled(d->startup, SD_EVENT_ON); /* a batch per iteration, to the last */
        clock_busy_begin();
        return 0;
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

        /* Large buffers (a feed, the meetings' texts, the reminders' heap)
         * each in a mapping of their own, given back when freed: glibc
         * otherwise raises the threshold to the largest block freed so far
         * (the config file's text), and they fragment the heap. */
        mallopt(M_MMAP_THRESHOLD, 128 << 10);
        clock_setup(mode, clock_start_usec, clock_rate_);
        log_clock();
        if (load(&d, config_path, true, &d.config, &d.schedule) < 0)
                goto fail;
        d.started = d.last_reload = clock_now();
        d.last_reload_ok = true;
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
        if (d.http)
                log_subscribe_links(d.config);
        if ((r = deliver_new(d.event, &d.delivery)) < 0 ||
            (r = reminders_new(d.event, d.ledger, d.delivery, &d.reminders)) < 0 ||
            (r = refresh_new(d.event, rebuild, &d, &d.refresh)) < 0) {
                log_error("cannot set up delivery: %s", strerror(-r));
                goto fail;
        }
        state = realpath(d.config->state_dir, NULL);
        log_info("tandem started: %zu departments, %zu meetings, ledger %s/ledger.sqlite", d.config->n_departments,
                 d.config->n_meetings, state ? state : d.config->state_dir);
        if ((r = startup_begin(&d)) < 0) {
                log_error("cannot set up the event loop: %s", strerror(-r));
                goto fail;
        }
        reminders_set_listener(d.reminders, on_reminders_changed, &d);
        /* The reminders and the feeds follow READY (on_startup). */
        sd_notify(false, "READY=1\nSTATUS=Scheduling the reminders");
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
        if (load(NULL, config_path, false, &c, &s) < 0)
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
