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

int curlloop_new(sd_event *e, void (*done)(CURL *, CURLcode, void *), void (*idle)(void *), void *userdata,
                 CurlLoop **ret)
{
        static bool curl_ready;
        if (!curl_ready) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return -EIO;
                curl_ready = true;
        }
        CurlLoop *l = xcalloc(1, sizeof(CurlLoop));
        l->event = sd_event_ref(e);
        l->done = done;
        l->idle = idle;
        l->userdata = userdata;
        l->multi = curl_multi_init();
        if (!l->multi || sd_event_add_time(e, &l->timer, CLOCK_MONOTONIC, UINT64_MAX, 1, on_timer_event, l) < 0) {
                curlloop_free(l);
                return -ENOMEM;
        }
        sd_event_source_set_description(l->timer, "curl-timer");
        sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
        curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
        curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
        *ret = l;
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

int curlloop_add(CurlLoop *l, CURL *easy)
{
        return curl_multi_add_handle(l->multi, easy) == CURLM_OK ? 0 : -EIO;
}

void curlloop_remove(CurlLoop *l, CURL *easy)
{
        curl_multi_remove_handle(l->multi, easy);
}
