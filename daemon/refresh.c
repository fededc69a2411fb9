/* refresh.c — one round a day: every URL calendar fetched at once, the
 * rebuild when the last has answered. */
#include "refresh.h"

#include <errno.h>

#include "curlloop.h"
#include "holiday.h"
#include "log.h"
#include "util.h"

/* A round's fetches time out after this much real time: a slow calendar
 * server must not hold the rebuild (nor, under the step clock, time). */
#define FETCH_TIMEOUT_USEC (30 * USEC_PER_SEC)

struct Refresh {
        CurlLoop *curl;
        ClockTimer *timer;
        char *state_dir;
        char **urls;
        size_t n_urls;
        size_t in_flight;
        CURL **easies;  /* in flight, for an abandon at the stop */
        HolidayFetch **fetches;
        uint64_t failures;
        void (*rebuild)(void *);
        void *userdata;
};

static void round_done(Refresh *r)
{
        clock_timer_at(r->timer, clock_now_usec() + REFRESH_INTERVAL_USEC);
        r->rebuild(r->userdata);
}

static void on_fetched(CURL *easy, CURLcode code, void *userdata)
{
        Refresh *r = userdata;
        HolidayFetch *f;
        char host[256];
        _cleanup_free_ char *error = NULL;
        const char *url = NULL;
        curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url);
        log_url_host(url ? url : "", host);
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&f);
        for (size_t i = 0; i < r->n_urls; i++)
                if (r->fetches[i] == f)
                        r->fetches[i] = NULL, r->easies[i] = NULL;
        int k = holiday_fetch_finish(f, code, clock_now(), &error);
        if (k < 0) {
                r->failures++;
                log_warning("holidays at %s: refresh failed: %s", host, error ? error : "failed");
        } else if (k > 0)
                log_info("holidays at %s: changed", host);
        clock_busy_end();
        if (--r->in_flight == 0)
                round_done(r);
}

/* Every URL at once; the rebuild follows the last answer. */
static void on_timer(void *userdata)
{
        Refresh *r = userdata;
        if (r->in_flight > 0)
                return;
        for (size_t i = 0; i < r->n_urls; i++) {
                HolidayFetch *f;
                CURL *easy;
                if (holiday_fetch_prepare(r->urls[i], r->state_dir, &f, &easy) < 0)
                        continue;
                curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)(clock_real_span(FETCH_TIMEOUT_USEC, 500000) / 1000));
                if (curlloop_add(r->curl, easy) < 0) {
                        holiday_fetch_free(f);
                        r->failures++;
                        continue;
                }
                /* The step clock holds while a calendar is on its way. */
                clock_busy_begin();
                r->fetches[i] = f;
                r->easies[i] = easy;
                r->in_flight++;
        }
        if (r->in_flight == 0)
                round_done(r);
}

int refresh_new(sd_event *e, void (*rebuild)(void *), void *userdata, Refresh **ret)
{
        Refresh *r = xcalloc(1, sizeof(Refresh));
        r->rebuild = rebuild;
        r->userdata = userdata;
        int k;
        if ((k = curlloop_new(e, on_fetched, NULL, r, &r->curl)) < 0 ||
            (k = clock_timer_new(e, "refresh", on_timer, r, &r->timer)) < 0) {
                refresh_free(r);
                return k;
        }
        clock_timer_at(r->timer, clock_now_usec() + REFRESH_INTERVAL_USEC);
        *ret = r;
        return 0;
}

Refresh *refresh_free(Refresh *r)
{
        if (!r)
                return NULL;
        /* Fetches still under way are abandoned. */
        for (size_t i = 0; i < r->n_urls; i++)
                if (r->fetches[i]) {
                        curlloop_remove(r->curl, r->easies[i]);
                        holiday_fetch_free(r->fetches[i]);
                        clock_busy_end();
                }
        curlloop_free(r->curl);
        free(r->fetches);
        free(r->easies);
        clock_timer_free(r->timer);
        strv_free(r->urls, r->n_urls);
        free(r->state_dir);
        free(r);
        return NULL;
}

void refresh_set(Refresh *r, const char *state_dir, const char *const *urls, size_t n, bool soon)
{
        if (r->in_flight > 0)
                return; /* the round under way keeps its list; the next takes the new one */
        free(r->state_dir);
        r->state_dir = xstrdup(state_dir);
        strv_free(r->urls, r->n_urls);
        r->urls = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                r->urls[i] = xstrdup(urls[i]);
        r->n_urls = n;
        free(r->fetches);
        free(r->easies);
        r->fetches = xcalloc(n + 1, sizeof(HolidayFetch *));
        r->easies = xcalloc(n + 1, sizeof(CURL *));
        if (soon)
                clock_timer_at(r->timer, clock_now_usec());
}

uint64_t refresh_failures(const Refresh *r)
{
        return r->failures;
}
