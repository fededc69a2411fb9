/* deliver.c — libcurl multi on sd-event. One request at a time per
 * webhook URL, and at most one a second, so a burst never trips a chat's
 * rate limit. No request leaves before the gate has recorded its attempt. */
#include "deliver.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <strings.h>

#include "curlloop.h"
#include "log.h"
#include "util.h"
#include "version.h"

#define REQUEST_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define REQUEST_TIMEOUT_FLOOR_USEC (500 * 1000)
#define PACING_USEC USEC_PER_SEC
#define BACKOFF_FIRST_USEC (2 * USEC_PER_SEC)
#define BACKOFF_MAX_USEC (10 * 60 * USEC_PER_SEC)
#define RESPONSE_MAX 65536
#define PASS_END_DELAY_USEC USEC_PER_SEC
/* A longer wait is as good as "never" for a reminder; the cap keeps a
 * hostile or broken Retry-After from overflowing the arithmetic. */
#define RETRY_AFTER_MAX_SECS (366LL * 86400)

/* Where requests go, as libcurl reads a URL: scheme, host and port. */
typedef struct Host {
        char *key;
        unsigned running;             /* requests handed to libcurl */
        struct Job *parked, *parked_last; /* started, waiting for one of them to end */
} Host;

typedef struct Endpoint {
        char *url;
        Host *host;
        int64_t next_allowed; /* clock usec */
        bool busy;            /* a request in flight */
        unsigned chosen;      /* the dispatch pass that picked a job for it */
        unsigned answered;    /* Delivery.written when a job of it last finished */
} Endpoint;

typedef struct Job {
        struct Job *next, *prev;
        Delivery *owner;
        Endpoint *endpoint;
        ChatMessage msg;
        char *label;
        int64_t deadline, not_before;
        int attempts;
        DeliverCallbacks cb;
        void *userdata;
        /* in flight: started (its attempt recorded), then handed to libcurl */
        bool started;
        struct Job *next_parked;
        CURL *easy;
        struct curl_slist *headers;
        char errbuf[CURL_ERROR_SIZE];
        Buf response;
        int64_t retry_after; /* usec, from the answer; -1 if none */
        char last_error[256];
        int last_status;
} Job;

struct Delivery {
        sd_event *event;
        CurlLoop *curl;
        ClockTimer *wake;
        ClockTimer *warm_up; /* deliver_expect() */
        bool warm;           /* libcurl is set up */
        Job *jobs, *last; /* queued and in flight, in submission order */
        Endpoint **endpoints;
        size_t n_endpoints, alloc_endpoints;
        StrMap endpoint_urls; /* url -> Endpoint */
        Host **hosts;
        size_t n_hosts, alloc_hosts;
        StrMap host_keys;     /* Host.key -> Host */
        CURL **spare;         /* easy handles of finished requests, for the next */
        size_t n_spare, alloc_spare;
        size_t n_jobs, n_in_flight; /* in flight: started */
        sd_event_source *pass_end_timer; /* a pass's end put off while requests are in flight */
        uint64_t retries;
        unsigned pass;
        bool stopping;
        DeliverGate gate;
        unsigned written;     /* counts the gates that wrote outcomes */
        void (*pass_end)(void *);
        void *gate_userdata;
        void (*stopped)(void *);
        void *stopped_userdata;
        sd_event_source *stop_timer;
        unsigned seed;
};

static void dispatch(Delivery *d);

/* ---- the pure arithmetic -------------------------------------------- */

int64_t deliver_backoff(int attempts, double jitter)
{
        double base = (double)BACKOFF_FIRST_USEC * pow(2, attempts > 0 ? attempts - 1 : 0);
        if (base > BACKOFF_MAX_USEC)
                base = BACKOFF_MAX_USEC;
        /* "Equal jitter": half fixed, half random, so retries of a burst
         * spread out but never come sooner than half the backoff. */
        return (int64_t)(base / 2 + base / 2 * jitter);
}

static int64_t capped_secs(double secs)
{
        if (secs < 0)
                return 0;
        return (int64_t)((secs < RETRY_AFTER_MAX_SECS ? secs : RETRY_AFTER_MAX_SECS) * USEC_PER_SEC);
}

int64_t deliver_retry_after(const char *value, int64_t now_usec)
{
        _cleanup_free_ char *v = xstrdup(value);
        char *s = strstrip(v), *end;
        if (!*s)
                return -1;
        errno = 0;
        double secs = strtod(s, &end);
        if (!*end && (isdigit((unsigned char)*s)))
                return capped_secs(errno == ERANGE ? RETRY_AFTER_MAX_SECS : secs);
        time_t t = curl_getdate(s, NULL);
        if (t == -1)
                return -1;
        return capped_secs((double)t - (double)now_usec / USEC_PER_SEC);
}

int64_t deliver_discord_retry_after(const char *body)
{
        json_error_t err;
        json_t *j = body ? json_loads(body, 0, &err) : NULL;
        json_t *v = json_object_get(j, "retry_after");
        int64_t r = -1;
        if (json_is_number(v)) {
                double s = json_number_value(v);
                if (s > 3600)
                        s /= 1000; /* milliseconds */
                r = capped_secs(s);
        }
        json_decref(j);
        return r;
}

DeliverVerdict deliver_judge(int http_status, int attempts, int64_t retry_after_usec, double jitter, int64_t now_usec,
                             int64_t deadline_usec)
{
        if (http_status >= 200 && http_status < 300)
                return (DeliverVerdict){DELIVER_VERDICT_OK, 0};
        /* Network errors, timeouts, 5xx and 429 are worth another try. */
        if (http_status != 0 && http_status != 429 && http_status < 500)
                return (DeliverVerdict){DELIVER_VERDICT_PERMANENT, 0};
        int64_t delay = retry_after_usec >= 0 ? retry_after_usec : deliver_backoff(attempts, jitter);
        int64_t at = now_usec + delay;
        if (at >= deadline_usec)
                return (DeliverVerdict){DELIVER_VERDICT_GIVE_UP, 0};
        return (DeliverVerdict){DELIVER_VERDICT_RETRY, at};
}

/* ---- jobs --------------------------------------------------------- */

/* Requests handed to libcurl at once per host: as many as it can run.
 * Over HTTP/1.1 that is one per connection; an https:// host may speak
 * HTTP/2, where libcurl runs up to 100 on one connection (its default
 * CURLMOPT_MAX_CONCURRENT_STREAMS). The others wait here, not in libcurl:
 * a thousand reminders due at once on one host made libcurl allocate a
 * thousand transfers and walk them all at every step, and the first
 * request left 0.1 s late. */
#define HOST_RUNNING_HTTP CURLLOOP_HOST_CONNECTIONS
#define HOST_RUNNING_HTTPS 100

static unsigned host_limit(const Host *h)
{
        return strncasecmp(h->key, "https://", 8) == 0 ? HOST_RUNNING_HTTPS : HOST_RUNNING_HTTP;
}

static char *host_key(const char *url)
{
        CURLU *u = curl_url();
        char *scheme = NULL, *host = NULL, *port = NULL, *key = NULL;
        if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
                for (char *c = host; *c; c++) /* Hooks.Slack.com is hooks.slack.com */
                        *c = (char)tolower((unsigned char)*c);
                key = xasprintf("%s://%s:%s", scheme, host, port);
        }
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(u);
        return key ? key : xstrdup(url); /* not libcurl's to read: on its own */
}

static Host *host_get(Delivery *d, const char *url)
{
        _cleanup_free_ char *key = host_key(url);
        Host *h = strmap_get(&d->host_keys, key);
        if (h)
                return h;
        GROW(d->hosts, d->n_hosts, d->alloc_hosts);
        h = xcalloc(1, sizeof(Host));
        h->key = TAKE_PTR(key);
        d->hosts[d->n_hosts++] = h;
        strmap_put(&d->host_keys, h->key, h);
        return h;
}

static Endpoint *endpoint_get(Delivery *d, const char *url)
{
        Endpoint *e = strmap_get(&d->endpoint_urls, url);
        if (e)
                return e;
        GROW(d->endpoints, d->n_endpoints, d->alloc_endpoints);
        e = xcalloc(1, sizeof(Endpoint));
        e->url = xstrdup(url);
        e->host = host_get(d, url);
        d->endpoints[d->n_endpoints++] = e;
        strmap_put(&d->endpoint_urls, e->url, e);
        return e;
}

static void job_unlink(Delivery *d, Job *job)
{
        *(job->prev ? &job->prev->next : &d->jobs) = job->next;
        *(job->next ? &job->next->prev : &d->last) = job->prev;
        job->next = job->prev = NULL;
        d->n_jobs--;
}

/* An easy handle for a request: a finished request's, reset, or a new one. */
static CURL *easy_get(Delivery *d)
{
        if (d->n_spare == 0)
                return curlloop_easy();
        CURL *e = d->spare[--d->n_spare];
        curl_easy_reset(e);
        return e;
}

/* Kept for the next request of a burst (its buffers stay allocated), up
 * to what may run at once; all let go once none is in flight. */
static void easy_put(Delivery *d, CURL *e)
{
        if (d->n_spare >= HOST_RUNNING_HTTPS) {
                curl_easy_cleanup(e);
                return;
        }
        GROW(d->spare, d->n_spare, d->alloc_spare);
        d->spare[d->n_spare++] = e;
}

static void spare_free(Delivery *d)
{
        while (d->n_spare > 0)
                curl_easy_cleanup(d->spare[--d->n_spare]);
}

static void park(Host *h, Job *job)
{
        job->next_parked = NULL;
        *(h->parked_last ? &h->parked_last->next_parked : &h->parked) = job;
        h->parked_last = job;
}

static void unpark(Host *h, Job *job)
{
        Job **p = &h->parked, *prev = NULL;
        while (*p && *p != job)
                prev = *p, p = &(*p)->next_parked;
        if (!*p)
                return;
        *p = job->next_parked;
        if (h->parked_last == job)
                h->parked_last = prev;
        job->next_parked = NULL;
}

/* Ends the request in flight, if any (handed to libcurl or parked): the
 * handle goes, the endpoint is free again, and the step clock may move
 * on. */
static void job_release(Job *job)
{
        if (!job->started)
                return;
        Delivery *d = job->owner;
        Host *h = job->endpoint->host;
        if (job->easy) {
                curlloop_remove(d->curl, job->easy);
                easy_put(d, job->easy);
                job->easy = NULL;
                h->running--;
        } else
                unpark(h, job);
        curl_slist_free_all(job->headers);
        job->headers = NULL;
        job->started = false;
        job->endpoint->busy = false;
        d->n_in_flight--;
        clock_busy_end();
}

static void job_free(Job *job)
{
        job_release(job);
        curl_slist_free_all(job->headers);
        buf_free(&job->response);
        chat_message_free(&job->msg);
        free(job->label);
        free(job);
}

static void job_finish(Job *job, bool ok, bool permanent)
{
        Delivery *d = job->owner;
        DeliverResult r = {ok, permanent, job->last_status, ok ? NULL : job->last_error, job->attempts};
        /* Its outcome is recorded now, written by the next gate to this
         * URL at the latest. */
        job->endpoint->answered = d->written + 1;
        job_unlink(d, job);
        if (job->cb.done)
                job->cb.done(job->userdata, &r);
        job_free(job);
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
        Job *job = userdata;
        size_t len = size * n;
        if (job->response.len < RESPONSE_MAX) {
                _cleanup_free_ char *chunk = xstrndup(data, len);
                buf_append(&job->response, chunk);
        }
        return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
        Job *job = userdata;
        size_t len = size * n;
        if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
                _cleanup_free_ char *v = xstrndup(data + 12, len - 12);
                job->retry_after = deliver_retry_after(v, clock_now_usec());
        }
        return len;
}

/* "2026-03-02T09:45:00.250000Z": the simulated instant a request leaves,
 * sent along under a simulated clock so that tests can check pacing and
 * backoff on that clock, whatever the machine's speed. */
static char *simulated_time_header(int64_t usec)
{
        time_t secs = (time_t)(usec / USEC_PER_SEC);
        struct tm tm;
        gmtime_r(&secs, &tm);
        return xasprintf("X-Tandem-Simulated-Time: %04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                         (long long)(usec % USEC_PER_SEC));
}

static struct curl_slist *job_headers(const Job *job)
{
        _cleanup_free_ char *type = xasprintf("Content-Type: %s", job->msg.content_type ? job->msg.content_type : "application/json");
        struct curl_slist *h = curl_slist_append(NULL, type);
        if (job->msg.title) {
                _cleanup_free_ char *t = xasprintf("Title: %s", job->msg.title);
                h = curl_slist_append(h, t);
        }
        if (clock_is_virtual()) {
                _cleanup_free_ char *t = simulated_time_header(clock_now_usec());
                h = curl_slist_append(h, t);
        }
        return h;
}

/* Hands a started job's request to libcurl. */
static int job_run(Delivery *d, Job *job)
{
        long timeout_ms = (long)(clock_real_span(REQUEST_TIMEOUT_USEC, REQUEST_TIMEOUT_FLOOR_USEC) / 1000);
        CURL *e = easy_get(d);
        if (!e)
                return -ENOMEM;
        job->headers = job_headers(job);
        curl_easy_setopt(e, CURLOPT_URL, job->endpoint->url);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, job->msg.body ? job->msg.body : "");
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, job->headers);
        curl_easy_setopt(e, CURLOPT_USERAGENT, "tandem/" TANDEM_VERSION);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, job);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, job);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, job->errbuf);
        curl_easy_setopt(e, CURLOPT_PRIVATE, job);
        if (curlloop_add(d->curl, e) < 0) {
                easy_put(d, e);
                curl_slist_free_all(job->headers);
                job->headers = NULL;
                return -EIO;
        }
        job->easy = e;
        job->endpoint->host->running++;
        return 0;
}

static void job_give_up(Job *job)
{
        if (!job->last_error[0])
                snprintf(job->last_error, sizeof job->last_error, "the deadline passed before it could be sent");
        log_error("%s: giving up: %s", job->label, job->last_error);
        job_finish(job, false, false);
}

static void job_cannot_run(Job *job)
{
        snprintf(job->last_error, sizeof job->last_error, "cannot start a request");
        job_finish(job, false, false);
}

/* Starts the request, whose attempt the gate has recorded: handed to
 * libcurl, or parked until one to its host ends. On failure nothing is
 * left behind and the endpoint stays free. */
static int job_start(Delivery *d, Job *job)
{
        char host[256];
        Host *h = job->endpoint->host;
        job->retry_after = -1;
        buf_free(&job->response);
        job->errbuf[0] = '\0';
        if (h->running < host_limit(h) && job_run(d, job) < 0)
                return -EIO;
        if (!job->easy)
                park(h, job);
        job->started = true;
        clock_busy_begin();
        d->n_in_flight++;
        job->attempts++;
        job->endpoint->busy = true;
        job->endpoint->next_allowed = clock_now_usec() + PACING_USEC;
        log_debug("%s: posting to %s (attempt %d)", job->label, log_url_host(job->endpoint->url, host), job->attempts);
        return 0;
}

/* Parked requests take the places of those that ended, unless their
 * deadline passed while they waited (the meeting started: a slow host
 * answering a burst 16 at a time): given up then, as choose() gives up a
 * job not started by then, with nothing sent. */
static void hosts_run(Delivery *d)
{
        for (size_t i = 0; i < d->n_hosts; i++) {
                Host *h = d->hosts[i];
                while (h->parked && h->running < host_limit(h)) {
                        Job *job = h->parked;
                        unpark(h, job);
                        /* the clock read for each: under a running clock
                         * the handover is stamped a moment later */
                        if (clock_now_usec() >= job->deadline)
                                job_give_up(job);
                        else if (job_run(d, job) < 0)
                                job_cannot_run(job);
                }
        }
}

/* A finished request: success, a retry later, or a final failure. */
static void job_completed(Delivery *d, Job *job, CURLcode code)
{
        long status = 0;
        char host[256];
        curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
        job_release(job);
        int64_t now = clock_now_usec();
        /* Pace by answers too: the next request leaves a second after this
         * one was answered at the earliest, so the chat sees one a second
         * even when network latency varies (a burst measured 0.95 s gaps
         * at the receiver when pacing counted from request starts only). */
        if (job->endpoint->next_allowed < now + PACING_USEC)
                job->endpoint->next_allowed = now + PACING_USEC;
        if (code != CURLE_OK)
                status = 0;
        job->last_status = (int)status;
        log_url_host(job->endpoint->url, host);

        if (code != CURLE_OK)
                snprintf(job->last_error, sizeof job->last_error, "%s", job->errbuf[0] ? job->errbuf : curl_easy_strerror(code));
        else if (status < 200 || status >= 300) {
                _cleanup_free_ char *excerpt = chat_truncate(job->response.s ? job->response.s : "", 120, 160);
                for (char *p = excerpt; *p; p++)
                        if (*p == '\n' || *p == '\r')
                                *p = ' ';
                snprintf(job->last_error, sizeof job->last_error, "HTTP %ld%s%s", status, *excerpt ? ": " : "", excerpt);
                if (status == 429 && job->retry_after < 0)
                        job->retry_after = deliver_discord_retry_after(job->response.s);
        }
        DeliverVerdict v = deliver_judge((int)status, job->attempts, job->retry_after,
                                         (double)rand_r(&d->seed) / RAND_MAX, now, job->deadline);
        switch (v.kind) {
        case DELIVER_VERDICT_OK:
                log_info("%s: delivered to %s (HTTP %ld)", job->label, host, status);
                job_finish(job, true, false);
                return;
        case DELIVER_VERDICT_PERMANENT:
                log_error("%s: %s answered %s; not retrying (check the webhook URL)", job->label, host, job->last_error);
                job_finish(job, false, true);
                return;
        case DELIVER_VERDICT_GIVE_UP:
        case DELIVER_VERDICT_RETRY:
                break;
        }
        if (d->stopping) {
                /* A transient failure is not the reminder's end: like a
                 * request abandoned at the stop timeout, it is left
                 * unrecorded ("sending" in the ledger) for the next start to
                 * retry while its meeting is still ahead. */
                log_warning("%s: %s failed: %s; stopping, the next start retries it", job->label, host, job->last_error);
                job_unlink(d, job);
                job_free(job);
                return;
        }
        if (v.kind == DELIVER_VERDICT_GIVE_UP) {
                log_error("%s: %s failed: %s; giving up, its deadline comes before the next try", job->label, host,
                          job->last_error);
                job_finish(job, false, false);
                return;
        }
        job->not_before = v.retry_at;
        /* Honour Retry-After for the whole endpoint, not just this job. */
        if (job->retry_after >= 0 && job->endpoint->next_allowed < job->not_before)
                job->endpoint->next_allowed = job->not_before;
        d->retries++;
        log_warning("%s: %s failed: %s; retrying in %.1fs", job->label, host, job->last_error,
                    (double)(v.retry_at - now) / USEC_PER_SEC);
}

static void pass_end(Delivery *d)
{
        sd_event_source_set_enabled(d->pass_end_timer, SD_EVENT_OFF);
        if (d->pass_end)
                d->pass_end(d->gate_userdata);
}

static int on_pass_end_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s, (void)usec;
        pass_end(userdata);
        return 0;
}

/* The end of a pass that finished requests, where their outcomes are
 * written with a disk sync: at once when no request is in flight any more,
 * else when the last is done or PASS_END_DELAY_USEC later, whichever comes
 * first. A burst's answers come back over many loop iterations, and a sync
 * after each batch held up the requests still to go. (An answered job's
 * outcome is in the ledger's memory meanwhile, and written before any
 * other request to its URL leaves: the gate of that request writes it,
 * Endpoint.answered.) */
static void pass_end_soon(Delivery *d)
{
        if (d->n_in_flight == 0) {
                pass_end(d);
                return;
        }
        int enabled = SD_EVENT_OFF;
        sd_event_source_get_enabled(d->pass_end_timer, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        uint64_t now;
        sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(d->pass_end_timer, now + PASS_END_DELAY_USEC);
        sd_event_source_set_enabled(d->pass_end_timer, SD_EVENT_ONESHOT);
}

static void on_transfer(CURL *easy, CURLcode result, void *userdata)
{
        Delivery *d = userdata;
        Job *job;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&job);
        job_completed(d, job, result);
}

/* After the transfers that finished: the next jobs, one write. While every
 * job is in flight (a burst's answers coming back), there is no job to
 * choose: the list is not walked once per answer. */
static void after_transfers(void *userdata)
{
        Delivery *d = userdata;
        hosts_run(d);
        if (d->n_in_flight == 0)
                spare_free(d);
        if (d->n_jobs > d->n_in_flight || d->stopping)
                dispatch(d);
        pass_end_soon(d);
}

static void on_wake(void *userdata)
{
        Delivery *d = userdata;
        dispatch(d);
        /* Not before the requests just started have left: their pass ends
         * when they are done (or a second later). */
        pass_end_soon(d);
}

static void check_stopped(Delivery *d)
{
        if (d->n_in_flight == 0 && d->stopped) {
                void (*cb)(void *) = d->stopped;
                d->stopped = NULL;
                cb(d->stopped_userdata);
        }
}

/* The jobs that may start now: past their backoff and pacing, one per free
 * endpoint. Jobs past their deadline are given up. *next is the earliest
 * time another may start. */
static size_t choose(Delivery *d, int64_t now, Job ***ret, int64_t *next)
{
        Job **chosen = NULL, *job, *following;
        size_t n = 0, alloc = 0;
        d->pass++;
        for (job = d->jobs; job; job = following) {
                following = job->next;
                if (job->started)
                        continue;
                if (now >= job->deadline) {
                        job_give_up(job);
                        continue;
                }
                if (job->endpoint->busy || job->endpoint->chosen == d->pass)
                        continue;
                int64_t ready = job->not_before > job->endpoint->next_allowed ? job->not_before : job->endpoint->next_allowed;
                if (ready > now) {
                        if (ready < *next)
                                *next = ready;
                        continue;
                }
                job->endpoint->chosen = d->pass;
                GROW(chosen, n, alloc);
                chosen[n++] = job;
        }
        *ret = chosen;
        return n;
}

/* Starts every job whose time has come, once the gate has recorded their
 * attempts, and arms the wake-up for the next one. */
static void dispatch(Delivery *d)
{
        int64_t now = clock_now_usec(), next = INT64_MAX;
        if (d->stopping) {
                check_stopped(d);
                return;
        }
        _cleanup_free_ Job **chosen = NULL;
        size_t n = choose(d, now, &chosen, &next);
        if (n > 0) {
                _cleanup_free_ void **users = xcalloc(n, sizeof(void *));
                bool outcomes = false;
                for (size_t i = 0; i < n; i++) {
                        users[i] = chosen[i]->userdata;
                        outcomes |= chosen[i]->endpoint->answered == d->written + 1;
                }
                if (d->gate && d->gate(d->gate_userdata, users, n, outcomes) < 0) {
                        /* Fail closed: nothing leaves unrecorded. */
                        if (now + DELIVER_GATE_RETRY_USEC < next)
                                next = now + DELIVER_GATE_RETRY_USEC;
                        n = 0;
                } else if (outcomes)
                        d->written++; /* every outcome recorded so far is on disk */
        }
        for (size_t i = 0; i < n; i++)
                if (job_start(d, chosen[i]) < 0)
                        job_cannot_run(chosen[i]);
        if (next == INT64_MAX)
                clock_timer_off(d->wake);
        else
                clock_timer_at(d->wake, next);
}

void deliver_submit(Delivery *d, const char *url, ChatMessage *msg, int64_t deadline_usec, const char *label,
                    const DeliverCallbacks *cb, void *userdata)
{
        Job *job = xcalloc(1, sizeof(Job));
        job->owner = d;
        job->endpoint = endpoint_get(d, url);
        job->msg = *msg;
        *msg = (ChatMessage){0};
        job->label = xstrdup(label);
        job->deadline = deadline_usec;
        job->cb = *cb;
        job->userdata = userdata;
        /* Appended, so jobs for one endpoint go out in submission order. */
        job->prev = d->last;
        *(d->last ? &d->last->next : &d->jobs) = job;
        d->last = job;
        d->n_jobs++;
        /* From the loop, so that a caller queueing many jobs has them
         * recorded by the gate in one go. */
        clock_timer_at(d->wake, clock_now_usec());
}

/* libcurl is set up when a request is first expected, not at start-up (its
 * TLS libraries are 3 MiB of a daemon that may never post), but ahead of
 * that request: at the request itself, its set-up (OpenSSL's config, TLS
 * libraries' first pages) made the first reminder after a start 5-18 ms
 * late instead of 1-2. */
#define WARM_UP_AHEAD_USEC (5 * USEC_PER_SEC)

static void on_warm_up(void *userdata)
{
        Delivery *d = userdata;
        d->warm = curlloop_prepare(d->curl) == 0;
}

void deliver_expect(Delivery *d, int64_t at_usec)
{
        if (!d->warm)
                clock_timer_at(d->warm_up, at_usec - WARM_UP_AHEAD_USEC);
}

void deliver_kick(Delivery *d)
{
        clock_timer_at(d->wake, clock_now_usec());
}

void deliver_set_gate(Delivery *d, DeliverGate gate, void (*end)(void *), void *userdata)
{
        d->gate = gate;
        d->pass_end = end;
        d->gate_userdata = userdata;
}

size_t deliver_pending(const Delivery *d)
{
        return d->n_jobs;
}

uint64_t deliver_retries(const Delivery *d)
{
        return d->retries;
}

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Delivery *d = userdata;
        (void)s, (void)usec;
        if (d->stopped) {
                log_warning("abandoning %zu request(s) still in flight", d->n_in_flight);
                void (*cb)(void *) = d->stopped;
                d->stopped = NULL;
                cb(d->stopped_userdata);
        }
        return 0;
}

void deliver_shutdown(Delivery *d, uint64_t timeout_usec, void (*done)(void *userdata), void *userdata)
{
        d->stopping = true;
        d->stopped = done;
        d->stopped_userdata = userdata;
        clock_timer_off(d->wake);
        sd_event_add_time_relative(d->event, &d->stop_timer, CLOCK_MONOTONIC, timeout_usec, 0, on_stop_timeout, d);
        check_stopped(d);
}

int deliver_new(sd_event *e, Delivery **ret)
{
        Delivery *d = xcalloc(1, sizeof(Delivery));
        d->event = sd_event_ref(e);
        d->seed = (unsigned)(getpid() ^ time(NULL));
        if (curlloop_new(e, on_transfer, after_transfers, d, &d->curl) < 0 ||
            clock_timer_new(e, "deliver-wake", on_wake, d, &d->wake) < 0 ||
            clock_timer_new(e, "deliver-warm-up", on_warm_up, d, &d->warm_up) < 0 ||
            sd_event_add_time(e, &d->pass_end_timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_pass_end_timer, d) < 0) {
                deliver_free(d);
                return -ENOMEM;
        }
        sd_event_source_set_enabled(d->pass_end_timer, SD_EVENT_OFF);
        sd_event_source_set_description(d->pass_end_timer, "deliver-pass-end");
        *ret = d;
        return 0;
}

Delivery *deliver_free(Delivery *d)
{
        if (!d)
                return NULL;
        while (d->jobs) {
                Job *j = d->jobs;
                d->jobs = j->next;
                job_free(j);
        }
        for (size_t i = 0; i < d->n_endpoints; i++) {
                free(d->endpoints[i]->url);
                free(d->endpoints[i]);
        }
        free(d->endpoints);
        strmap_free(&d->endpoint_urls);
        for (size_t i = 0; i < d->n_hosts; i++) {
                free(d->hosts[i]->key);
                free(d->hosts[i]);
        }
        free(d->hosts);
        strmap_free(&d->host_keys);
        spare_free(d);
        free(d->spare);
        sd_event_source_disable_unref(d->pass_end_timer);
        curlloop_free(d->curl);
        clock_timer_free(d->wake);
        clock_timer_free(d->warm_up);
        sd_event_source_disable_unref(d->stop_timer);
        sd_event_unref(d->event);
        free(d);
        return NULL;
}
