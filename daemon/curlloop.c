/* curlloop.c — libcurl's multi socket API on sd-event. */
#include "curlloop.h"

#include <errno.h>

#include "util.h"

struct CurlLoop {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        void (*done)(CURL *, CURLcode, void *);
        void (*idle)(void *);
        void *userdata;
};

static void finished(CurlLoop *l)
{
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(l->multi, &left)))
                if (m->msg == CURLMSG_DONE) {
                        CURL *easy = m->easy_handle;
                        CURLcode result = m->data.result;
                        curl_multi_remove_handle(l->multi, easy);
                        l->done(easy, result, l->userdata);
                }
        if (l->idle)
                l->idle(l->userdata);
}

static int on_socket_event(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        CurlLoop *l = userdata;
        int flags = 0, running;
        (void)s;
        if (revents & (EPOLLIN | EPOLLHUP))
                flags |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (revents & EPOLLERR)
                flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(l->multi, fd, flags, &running);
        finished(l);
        return 0;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
        CurlLoop *l = userp;
        sd_event_source *src = socketp;
        (void)easy;
        if (what == CURL_POLL_REMOVE) {
                if (src) {
                        sd_event_source_disable_unref(src);
                        curl_multi_assign(l->multi, fd, NULL);
                }
                return 0;
        }
        uint32_t events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
        if (src)
                return sd_event_source_set_io_events(src, events) < 0 ? -1 : 0;
        if (sd_event_add_io(l->event, &src, fd, events, on_socket_event, l) < 0)
                return -1;
        sd_event_source_set_description(src, "curl-socket");
        curl_multi_assign(l->multi, fd, src);
        return 0;
}

static int on_timer_event(sd_event_source *s, uint64_t usec, void *userdata)
{
        CurlLoop *l = userdata;
        int running;
        (void)s, (void)usec;
        curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        finished(l);
        return 0;
}

/* libcurl's own timeouts run on real (monotonic) time, armed to the
 * microsecond: a 0 ms timeout means "now", not "within a millisecond". */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
        CurlLoop *l = userp;
        (void)multi;
        if (timeout_ms < 0)
                return sd_event_source_set_enabled(l->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        uint64_t now;
        sd_event_now(l->event, CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(l->timer, now + (uint64_t)timeout_ms * 1000);
        return sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
}

/* libcurl's global set-up starts its TLS library, and through libssh2
 * OpenSSL's (in both of Debian's libcurl flavours): 3 MiB of the resident
 * memory of a daemon that may never post. Done when the first request is
 * made (a multi handle sets libcurl up too). */
static int curl_setup(void)
{
        static bool ready;
        if (!ready && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        ready = true;
        return 0;
}

CURL *curlloop_easy(void)
{
        return curl_setup() < 0 ? NULL : curl_easy_init();
}

int curlloop_new(sd_event *e, void (*done)(CURL *, CURLcode, void *), void (*idle)(void *), void *userdata,
                 CurlLoop **ret)
{
        CurlLoop *l = xcalloc(1, sizeof(CurlLoop));
        l->event = sd_event_ref(e);
        l->done = done;
        l->idle = idle;
        l->userdata = userdata;
        if (sd_event_add_time(e, &l->timer, CLOCK_MONOTONIC, UINT64_MAX, 1, on_timer_event, l) < 0) {
                curlloop_free(l);
                return -ENOMEM;
        }
        sd_event_source_set_description(l->timer, "curl-timer");
        sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
        *ret = l;
        return 0;
}

/* The multi handle, made at the first transfer (making one sets libcurl
 * up: curlloop_easy). Its connection cache outlives the transfers, so
 * that webhooks on one host (every Slack webhook is on hooks.slack.com)
 * share a few connections rather than open one each: a thousand
 * reminders due at once opened a thousand connections, which overflowed a
 * server's listen backlog and waited for SYN retransmits. */
static int multi(CurlLoop *l)
{
        if (l->multi)
                return 0;
        if (curl_setup() < 0)
                return -EIO;
        if (!(l->multi = curl_multi_init()))
                return -ENOMEM;
        curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
        curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
        /* Transfers beyond the limit wait in libcurl for a connection to
         * the host to come free; over HTTP/2 (where the server offers it)
         * they share one connection. */
        curl_multi_setopt(l->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)CURLLOOP_HOST_CONNECTIONS);
        curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, (long)CURLLOOP_CACHED_CONNECTIONS);
        curl_multi_setopt(l->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
        return 0;
}

CurlLoop *curlloop_free(CurlLoop *l)
{
        if (!l)
                return NULL;
        if (l->multi)
                curl_multi_cleanup(l->multi);
        sd_event_source_disable_unref(l->timer);
        sd_event_unref(l->event);
        free(l);
        return NULL;
}

int curlloop_prepare(CurlLoop *l)
{
        return multi(l);
}

int curlloop_add(CurlLoop *l, CURL *easy)
{
        if (multi(l) < 0)
                return -EIO;
        return curl_multi_add_handle(l->multi, easy) == CURLM_OK ? 0 : -EIO;
}

void curlloop_remove(CurlLoop *l, CURL *easy)
{
        if (l->multi)
                curl_multi_remove_handle(l->multi, easy);
}
