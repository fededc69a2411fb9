/* http.h — the built-in feed server (README "The feed server") on
 * libmicrohttpd, driven by the daemon's sd-event loop through MHD's epoll
 * descriptor. No threads. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct Http Http;

/* How long a client has to send a whole request (head and any body) once
 * its connection is accepted or its previous response is sent. A client
 * that misses it is disconnected, however busily it trickles bytes. */
#define HTTP_REQUEST_TIMEOUT_SEC 5
#define HTTP_CONNECTION_LIMIT 512
#define HTTP_PER_IP_LIMIT 32
/* Lines a client can cause at will (a refused or timed-out connection)
 * are logged once, then summed up at most once per interval. */
#define HTTP_LOG_INTERVAL_SEC 10

/* One feed as rendered for a config load. */
typedef struct HttpFeed {
        const char *name; /* "all" or a department id: served at /feeds/<name>.ics */
        const char *body;
        size_t len;
        int64_t modified; /* Last-Modified, seconds */
        const char *title; /* shown on the index page: a department's name; NULL for "all" */
} HttpFeed;

/* What the index page at / and /feeds/ needs from the config. */
typedef struct HttpSite {
        const char *calendar_name; /* the page's heading */
        const char *public_url;    /* base of the subscribe links, as feed_url() makes them */
        const char *token;         /* feed_token, or NULL */
} HttpSite;

typedef struct HttpCounters {
        uint64_t by_status[6]; /* 200, 304, 403, 404, 405, other */
        uint64_t refused;      /* connections closed at accept: over a connection limit */
        uint64_t timed_out;    /* connections closed for missing HTTP_REQUEST_TIMEOUT_SEC */
} HttpCounters;
extern const int http_counted_statuses[5];

/* Binds to listen ("127.0.0.1:8470", "[::1]:8470", "localhost:8470"),
 * with SO_REUSEADDR but never SO_REUSEPORT: a second server on the same
 * address fails here. Logs one line saying why and what to do. */
int http_new(sd_event *e, const char *listen, Http **ret);
Http *http_free(Http *h);

/* Replaces the served feeds and the index page; responses (and their
 * gzip variants) are built here, once per load, not per request. */
void http_set_feeds(Http *h, const HttpFeed *feeds, size_t n, const HttpSite *site);
/* The /metrics body, built on request. */
void http_set_metrics(Http *h, char *(*metrics)(void *userdata), void *userdata);
/* /healthz: 200 "ok" while health() returns NULL, else 503 with the text
 * it returns (freed here). */
void http_set_health(Http *h, char *(*health)(void *userdata), void *userdata);
const HttpCounters *http_counters(const Http *h);

/* ---- pure helpers, exposed for tests and fuzzing ---- */

typedef enum HttpRoute {
        HTTP_ROUTE_NONE,
        HTTP_ROUTE_FEED,
        HTTP_ROUTE_INDEX,
        HTTP_ROUTE_HEALTHZ,
        HTTP_ROUTE_METRICS,
} HttpRoute;
/* Matches path against the known names only: no filesystem, no
 * traversal. *feed is the index into names for HTTP_ROUTE_FEED. */
HttpRoute http_route(const char *path, const char *const *names, size_t n, size_t *feed);
/* RFC 9110 section 13.1.2: weak comparison, "*" matches. */
bool http_etag_matches(const char *if_none_match, const char *etag);
/* Does Accept-Encoding allow gzip (q > 0)? */
bool http_accepts_gzip(const char *accept_encoding);
/* Constant-time comparison of a secret. */
bool http_token_equal(const char *given, const char *expected);
/* s with & < > " ' as character references: safe in HTML text and in
 * quoted attribute values. Caller frees. */
char *http_html_escape(const char *s);
/* The index page: the calendar's name and, per feed, its webcal:// and
 * http(s):// subscribe links (with the token, when there is one). Every
 * config value is escaped. Caller frees. */
char *http_index_html(const HttpSite *site, const HttpFeed *feeds, size_t n);
