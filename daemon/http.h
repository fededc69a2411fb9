/* http.h — the built-in feed server (SPEC.md section 4) on libmicrohttpd,
 * driven by the daemon's sd-event loop through MHD's epoll descriptor. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct Http Http;

/* One feed as rendered for a config load. */
typedef struct HttpFeed {
        const char *name; /* "all" or a department id: served at /feeds/<name>.ics */
        const char *body;
        size_t len;
        int64_t modified; /* Last-Modified, seconds */
} HttpFeed;

typedef struct HttpCounters {
        uint64_t by_status[6]; /* 200, 304, 403, 404, 405, other */
} HttpCounters;
extern const int http_counted_statuses[5];

/* Binds to listen ("127.0.0.1:8470", "[::1]:8470", "localhost:8470"). */
int http_new(sd_event *e, const char *listen, Http **ret);
Http *http_free(Http *h);

/* Replaces the served feeds; responses (and their gzip variants) are
 * built here, once per load, not per request. token may be NULL. */
void http_set_feeds(Http *h, const HttpFeed *feeds, size_t n, const char *token);
/* The /metrics body, built on request. */
void http_set_metrics(Http *h, char *(*metrics)(void *userdata), void *userdata);
/* /healthz: 200 "ok" while health() returns NULL, else 503 with the text
 * it returns (freed here). */
void http_set_health(Http *h, char *(*health)(void *userdata), void *userdata);
const HttpCounters *http_counters(const Http *h);

/* ---- pure helpers, exposed for tests and fuzzing ---- */

typedef enum HttpRoute { HTTP_ROUTE_NONE, HTTP_ROUTE_FEED, HTTP_ROUTE_HEALTHZ, HTTP_ROUTE_METRICS } HttpRoute;
/* Matches path against the known names only: no filesystem, no
 * traversal. *feed is the index into names for HTTP_ROUTE_FEED. */
HttpRoute http_route(const char *path, const char *const *names, size_t n, size_t *feed);
/* RFC 9110 section 13.1.2: weak comparison, "*" matches. */
bool http_etag_matches(const char *if_none_match, const char *etag);
/* Does Accept-Encoding allow gzip (q > 0)? */
bool http_accepts_gzip(const char *accept_encoding);
/* Constant-time comparison of a secret. */
bool http_token_equal(const char *given, const char *expected);
