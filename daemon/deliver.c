/* deliver.c — libcurl multi on sd-event. One request at a time per
 * webhook URL, and at most one a second, so a burst never trips a chat's
 * rate limit. */
#include "deliver.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <strings.h>

#include "clock.h"
#include "log.h"
#include "util.h"
#include "version.h"

#define REQUEST_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define PACING_USEC USEC_PER_SEC
#define BACKOFF_FIRST_USEC (2 * USEC_PER_SEC)
#define BACKOFF_MAX_USEC (10 * 60 * USEC_PER_SEC)
#define RESPONSE_MAX 65536
/* A longer wait is as good as "never" for a reminder; the cap keeps a
 * hostile or broken Retry-After from overflowing the arithmetic. */
#define RETRY_AFTER_MAX_SECS (366LL * 86400)

typedef struct Endpoint {
        char *url;
        int64_t next_allowed; /* clock usec */
        bool busy;
} Endpoint;

typedef struct Job {
        struct Job *next;
        Delivery *owner;
        Endpoint *endpoint;
        ChatMessage msg;
        char *label;
        int64_t deadline, not_before;
        int attempts;
        DeliverCallbacks cb;
        void *userdata;
        /* in flight */
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
        CURLM *multi;
        sd_event_source *curl_timer, *wake;
        Job *jobs; /* queued and in flight */
        Endpoint **endpoints;
        size_t n_endpoints, alloc_endpoints;
        size_t n_jobs;
        uint64_t retries;
        bool stopping;
        void (*batch_begin)(void *), (*batch_end)(void *);
        void *batch_userdata;
        void (*stopped)(void *);
        void *stopped_userdata;
        sd_event_source *stop_timer;
        unsigned seed;
};

static void dispatch(Delivery *d);

/* ---- libcurl <-> sd-event ---------------------------------------- */

static void check_finished(Delivery *d);

static int on_socket_event(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Delivery *d = userdata;
        int flags = 0, running;
        (void)s;
        if (revents & (EPOLLIN | EPOLLHUP))
                flags |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (revents & EPOLLERR)
                flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(d->multi, fd, flags, &running);
        check_finished(d);
        return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
        Delivery *d = userp;
        sd_event_source *src = socketp;
        (void)easy;
        if (what == CURL_POLL_REMOVE) {
                if (src) {
                        sd_event_source_disable_unref(src);
                        curl_multi_assign(d->multi, fd, NULL);
                }
                return 0;
        }
        uint32_t events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
        if (src)
                return sd_event_source_set_io_events(src, events) < 0 ? -1 : 0;
        if (sd_event_add_io(d->event, &src, fd, events, on_socket_event, d) < 0)
                return -1;
        sd_event_source_set_description(src, "curl-socket");
        curl_multi_assign(d->multi, fd, src);
        return 0;
}

static int on_curl_timer_event(sd_event_source *s, uint64_t usec, void *userdata)
{
        Delivery *d = userdata;
        int running;
        (void)s, (void)usec;
        curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_finished(d);
        return 0;
}

/* libcurl's own timeouts run on real (monotonic) time. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
        Delivery *d = userp;
        (void)multi;
        if (timeout_ms < 0)
                return sd_event_source_set_enabled(d->curl_timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        uint64_t now;
        sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(d->curl_timer, now + (uint64_t)timeout_ms * 1000);
        return sd_event_source_set_enabled(d->curl_timer, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
}

/* ---- jobs --------------------------------------------------------- */

static Endpoint *endpoint_get(Delivery *d, const char *url)
{
        for (size_t i = 0; i < d->n_endpoints; i++)
                if (streq(d->endpoints[i]->url, url))
                        return d->endpoints[i];
        GROW(d->endpoints, d->n_endpoints, d->alloc_endpoints);
        Endpoint *e = xcalloc(1, sizeof(Endpoint));
        e->url = xstrdup(url);
        d->endpoints[d->n_endpoints++] = e;
        return e;
}

static void job_unlink(Delivery *d, Job *job)
{
        for (Job **p = &d->jobs; *p; p = &(*p)->next)
                if (*p == job) {
                        *p = job->next;
                        d->n_jobs--;
                        return;
                }
}

static void job_free(Job *job)
{
        if (job->easy) {
                curl_multi_remove_handle(job->owner->multi, job->easy);
                curl_easy_cleanup(job->easy);
        }
        curl_slist_free_all(job->headers);
        buf_free(&job->response);
        chat_message_free(&job->msg);
        free(job->label);
        free(job);
}

static void job_finish(Job *job, bool ok)
{
        Delivery *d = job->owner;
        DeliverResult r = {ok, job->last_status, ok ? NULL : job->last_error, job->attempts};
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

static int64_t retry_after_usec(int64_t secs)
{
        return (secs < RETRY_AFTER_MAX_SECS ? secs : RETRY_AFTER_MAX_SECS) * USEC_PER_SEC;
}

/* Retry-After: delay-seconds or an HTTP-date (RFC 9110 section 10.2.3). */
static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
        Job *job = userdata;
        size_t len = size * n;
        if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
                _cleanup_free_ char *v = xstrndup(data + 12, len - 12);
                char *s = strstrip(v), *end;
                long secs = strtol(s, &end, 10);
                if (*s && !*end && secs >= 0)
                        job->retry_after = retry_after_usec(secs);
                else {
                        time_t t = curl_getdate(s, NULL);
                        if (t > 0)
                                job->retry_after = retry_after_usec((int64_t)t - time(NULL));
                }
                if (job->retry_after < 0 && *s)
                        job->retry_after = 0;
        }
        return len;
}

static int job_start(Delivery *d, Job *job)
{
        char host[256];
        job->easy = curl_easy_init();
        if (!job->easy)
                return -ENOMEM;
        _cleanup_free_ char *type = xasprintf("Content-Type: %s", job->msg.content_type ? job->msg.content_type : "application/json");
        job->headers = curl_slist_append(NULL, type);
        if (job->msg.title) {
                _cleanup_free_ char *h = xasprintf("Title: %s", job->msg.title);
                job->headers = curl_slist_append(job->headers, h);
        }
        job->retry_after = -1;
        buf_free(&job->response);
        job->errbuf[0] = '\0';
        CURL *e = job->easy;
        curl_easy_setopt(e, CURLOPT_URL, job->endpoint->url);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, job->msg.body ? job->msg.body : "");
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, job->headers);
        curl_easy_setopt(e, CURLOPT_USERAGENT, "tandem/" TANDEM_VERSION);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(clock_real_span(REQUEST_TIMEOUT_USEC, 500000) / 1000));
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(clock_real_span(REQUEST_TIMEOUT_USEC, 500000) / 1000));
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, job);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, job);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, job->errbuf);
        curl_easy_setopt(e, CURLOPT_PRIVATE, job);
        job->attempts++;
        if (job->cb.attempt)
                job->cb.attempt(job->userdata);
        log_debug("%s: posting to %s (attempt %d)", job->label, log_url_host(job->endpoint->url, host), job->attempts);
        job->endpoint->busy = true;
        job->endpoint->next_allowed = clock_now_usec() + PACING_USEC;
        if (curl_multi_add_handle(d->multi, e) != CURLM_OK)
                return -EIO;
        return 0;
}

/* Discord answers 429 with {"retry_after": seconds} in its body (older
 * versions: milliseconds); the header, when present, wins. */
static int64_t discord_retry_after(const char *body)
{
        json_error_t err;
        json_t *j = body ? json_loads(body, 0, &err) : NULL;
        json_t *v = json_object_get(j, "retry_after");
        int64_t r = -1;
        if (json_is_number(v)) {
                double s = json_number_value(v);
                if (s > 3600)
                        s /= 1000; /* milliseconds */
                if (s > RETRY_AFTER_MAX_SECS)
                        s = RETRY_AFTER_MAX_SECS;
                r = (int64_t)(s * USEC_PER_SEC);
        }
        json_decref(j);
        return r;
}

static int64_t backoff(Delivery *d, int attempts)
{
        double base = (double)BACKOFF_FIRST_USEC * pow(2, attempts - 1);
        if (base > BACKOFF_MAX_USEC)
                base = BACKOFF_MAX_USEC;
        /* "Equal jitter": half fixed, half random, so retries of a burst
         * spread out but never come sooner than half the backoff. */
        return (int64_t)(base / 2 + base / 2 * ((double)rand_r(&d->seed) / RAND_MAX));
}

/* A finished request: success, a retry later, or a final failure. */
static void job_completed(Delivery *d, Job *job, CURLcode code)
{
        long status = 0;
        char host[256];
        curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(d->multi, job->easy);
        curl_easy_cleanup(job->easy);
        job->easy = NULL;
        curl_slist_free_all(job->headers);
        job->headers = NULL;
        job->endpoint->busy = false;
        /* Pace by answers too: the next request leaves a second after this
         * one was answered at the earliest, so the chat sees one a second
         * even when network latency varies (a burst measured 0.95 s gaps
         * at the receiver when pacing counted from request starts only). */
        if (job->endpoint->next_allowed < clock_now_usec() + PACING_USEC)
                job->endpoint->next_allowed = clock_now_usec() + PACING_USEC;
        job->last_status = (int)status;
        log_url_host(job->endpoint->url, host);

        if (code == CURLE_OK && status >= 200 && status < 300) {
                log_info("%s: delivered to %s (HTTP %ld)", job->label, host, status);
                job_finish(job, true);
                return;
        }
        bool retry;
        if (code != CURLE_OK) {
                snprintf(job->last_error, sizeof job->last_error, "%s", job->errbuf[0] ? job->errbuf : curl_easy_strerror(code));
                retry = true;
        } else {
                _cleanup_free_ char *excerpt = chat_truncate(job->response.s ? job->response.s : "", 120, 160);
                for (char *p = excerpt; *p; p++)
                        if (*p == '\n' || *p == '\r')
                                *p = ' ';
                snprintf(job->last_error, sizeof job->last_error, "HTTP %ld%s%s", status, *excerpt ? ": " : "", excerpt);
                retry = status == 429 || status >= 500;
                if (status == 429 && job->retry_after < 0)
                        job->retry_after = discord_retry_after(job->response.s);
        }
        int64_t now = clock_now_usec();
        if (!retry) {
                log_error("%s: %s answered %s; not retrying (check the webhook URL)", job->label, host, job->last_error);
                job_finish(job, false);
                return;
        }
        int64_t delay = job->retry_after >= 0 ? job->retry_after : backoff(d, job->attempts);
        job->not_before = now + delay;
        /* Honour Retry-After for the whole endpoint, not just this job. */
        if (job->retry_after >= 0 && job->endpoint->next_allowed < job->not_before)
                job->endpoint->next_allowed = job->not_before;
        if (d->stopping) {
                /* A transient failure is not the reminder's end: like a
                 * request abandoned at the stop timeout, it is left
                 * unrecorded ("sending" in the ledger) for the next start to
                 * retry while its meeting is still ahead (SPEC.md section 5,
                 * "nothing lost"). */
                log_warning("%s: %s failed: %s; stopping, the next start retries it", job->label, host,
                            job->last_error);
                job_unlink(d, job);
                job_free(job);
                return;
        }
        if (job->not_before >= job->deadline) {
                log_error("%s: %s failed: %s; giving up, the meeting starts before the next try", job->label, host,
                          job->last_error);
                job_finish(job, false);
                return;
        }
        d->retries++;
        log_warning("%s: %s failed: %s; retrying in %.1fs", job->label, host, job->last_error,
                    (double)delay / USEC_PER_SEC);
}

static void batch(Delivery *d, bool begin)
{
        void (*fn)(void *) = begin ? d->batch_begin : d->batch_end;
        if (fn)
                fn(d->batch_userdata);
}

void deliver_set_batch(Delivery *d, void (*begin)(void *), void (*end)(void *), void *userdata)
{
        d->batch_begin = begin;
        d->batch_end = end;
        d->batch_userdata = userdata;
}

static void check_finished(Delivery *d)
{
        CURLMsg *m;
        int left;
        batch(d, true);
        while ((m = curl_multi_info_read(d->multi, &left)))
                if (m->msg == CURLMSG_DONE) {
                        Job *job;
                        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&job);
                        job_completed(d, job, m->data.result);
                }
        dispatch(d);
        batch(d, false);
}

static int on_wake(sd_event_source *s, uint64_t usec, void *userdata)
{
        Delivery *d = userdata;
        (void)s, (void)usec;
        batch(d, true);
        dispatch(d);
        batch(d, false);
        return 0;
}

static size_t in_flight(const Delivery *d)
{
        size_t n = 0;
        for (Job *j = d->jobs; j; j = j->next)
                n += j->easy != NULL;
        return n;
}

/* Starts every job whose time has come and whose endpoint is free, and
 * arms the wake-up timer for the next one. */
static void dispatch(Delivery *d)
{
        int64_t now = clock_now_usec(), next = INT64_MAX;
        Job *job, *following;

        if (d->stopping) {
                if (in_flight(d) == 0 && d->stopped) {
                        void (*cb)(void *) = d->stopped;
                        d->stopped = NULL;
                        cb(d->stopped_userdata);
                }
                return;
        }
        for (job = d->jobs; job; job = following) {
                following = job->next;
                if (job->easy)
                        continue;
                if (now >= job->deadline) {
                        if (!job->last_error[0])
                                snprintf(job->last_error, sizeof job->last_error, "the meeting started before it could be sent");
                        log_error("%s: giving up: %s", job->label, job->last_error);
                        job_finish(job, false);
                        continue;
                }
                int64_t ready = job->not_before > job->endpoint->next_allowed ? job->not_before : job->endpoint->next_allowed;
                if (job->endpoint->busy)
                        continue;
                if (ready > now) {
                        if (ready < next)
                                next = ready;
                        continue;
                }
                if (job_start(d, job) < 0) {
                        snprintf(job->last_error, sizeof job->last_error, "cannot start a request");
                        job_finish(job, false);
                }
        }
        if (next == INT64_MAX) {
                sd_event_source_set_enabled(d->wake, SD_EVENT_OFF);
                return;
        }
        clockid_t clk;
        uint64_t usec;
        clock_timer_target(next, &clk, &usec);
        /* The wake source is recreated when the clock kind changes, which
         * it does not within one run; one source per clock id is enough. */
        sd_event_source_set_time(d->wake, usec);
        sd_event_source_set_enabled(d->wake, SD_EVENT_ONESHOT);
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
        Job **p = &d->jobs;
        while (*p)
                p = &(*p)->next;
        *p = job;
        d->n_jobs++;
        dispatch(d);
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
                log_warning("abandoning %zu request(s) still in flight", in_flight(d));
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
        sd_event_source_set_enabled(d->wake, SD_EVENT_OFF);
        sd_event_add_time_relative(d->event, &d->stop_timer, CLOCK_MONOTONIC, timeout_usec, 0, on_stop_timeout, d);
        dispatch(d);
}

int deliver_new(sd_event *e, Delivery **ret)
{
        static bool curl_ready;
        if (!curl_ready) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return -EIO;
                curl_ready = true;
        }
        Delivery *d = xcalloc(1, sizeof(Delivery));
        d->event = sd_event_ref(e);
        d->seed = (unsigned)(getpid() ^ time(NULL));
        d->multi = curl_multi_init();
        clockid_t clk;
        uint64_t usec;
        clock_timer_target(0, &clk, &usec);
        if (!d->multi || sd_event_add_time(e, &d->curl_timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_curl_timer_event, d) < 0 ||
            sd_event_add_time(e, &d->wake, clk, UINT64_MAX, 1, on_wake, d) < 0) {
                deliver_free(d);
                return -ENOMEM;
        }
        sd_event_source_set_description(d->curl_timer, "curl-timer");
        sd_event_source_set_description(d->wake, "deliver-wake");
        sd_event_source_set_enabled(d->curl_timer, SD_EVENT_OFF);
        sd_event_source_set_enabled(d->wake, SD_EVENT_OFF);
        curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
        curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d);
        curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
        curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, d);
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
        if (d->multi)
                curl_multi_cleanup(d->multi);
        sd_event_source_disable_unref(d->curl_timer);
        sd_event_source_disable_unref(d->wake);
        sd_event_source_disable_unref(d->stop_timer);
        sd_event_unref(d->event);
        free(d);
        return NULL;
}
