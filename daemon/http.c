/* http.c — feeds, /healthz and /metrics over libmicrohttpd. MHD parses
 * HTTP; this file routes, answers conditional requests and counts. */
#include "http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#include "log.h"
#include "util.h"

#define CONNECTION_LIMIT 512
#define PER_IP_LIMIT 32
#define IDLE_TIMEOUT_SEC 30
#define MEMORY_LIMIT (32 * 1024) /* per connection: bounds request headers */

const int http_counted_statuses[5] = {200, 304, 403, 404, 405};

/* One feed's two prepared responses (identity, gzip) and validators. */
typedef struct Served {
        char *name;
        struct MHD_Response *plain, *gzip;
        char etag[40], etag_gz[44], last_modified[40];
        int64_t modified;
} Served;

struct Http {
        sd_event *event;
        sd_event_source *io, *timer;
        struct MHD_Daemon *mhd;
        Served *feeds;
        const char **names;
        size_t n_feeds;
        char *token;
        char *(*metrics)(void *);
        void *metrics_userdata;
        char *(*health)(void *);
        void *health_userdata;
        HttpCounters counters;
};

/* ---- pure helpers --------------------------------------------------- */

HttpRoute http_route(const char *path, const char *const *names, size_t n, size_t *feed)
{
        if (streq(path, "/healthz"))
                return HTTP_ROUTE_HEALTHZ;
        if (streq(path, "/metrics"))
                return HTTP_ROUTE_METRICS;
        if (strncmp(path, "/feeds/", 7) != 0)
                return HTTP_ROUTE_NONE;
        const char *file = path + 7;
        size_t len = strlen(file);
        if (len < 5 || strcmp(file + len - 4, ".ics") != 0)
                return HTTP_ROUTE_NONE;
        for (size_t i = 0; i < n; i++)
                if (strlen(names[i]) == len - 4 && strncmp(file, names[i], len - 4) == 0) {
                        *feed = i;
                        return HTTP_ROUTE_FEED;
                }
        return HTTP_ROUTE_NONE;
}

bool http_etag_matches(const char *header, const char *etag)
{
        const char *p = header;
        const char *ours = etag[0] == 'W' && etag[1] == '/' ? etag + 2 : etag;
        size_t ours_len = strlen(ours);
        while (*p) {
                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                if (*p == '*')
                        return true;
                if (p[0] == 'W' && p[1] == '/')
                        p += 2;
                if (*p != '"')
                        return false; /* malformed: no match */
                const char *end = strchr(p + 1, '"');
                if (!end)
                        return false;
                if ((size_t)(end + 1 - p) == ours_len && strncmp(p, ours, ours_len) == 0)
                        return true;
                p = end + 1;
        }
        return false;
}

bool http_accepts_gzip(const char *h)
{
        _cleanup_free_ char *copy = xstrdup(h);
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char *semi = strchr(tok, ';');
                double q = 1.0;
                if (semi) {
                        *semi = '\0';
                        char *qs = strstr(semi + 1, "q=");
                        if (qs)
                                q = strtod(qs + 2, NULL);
                }
                char *name = strstrip(tok);
                if ((strcasecmp(name, "gzip") == 0 || strcmp(name, "*") == 0) && q > 0)
                        return true;
        }
        return false;
}

bool http_token_equal(const char *given, const char *expected)
{
        size_t a = strlen(given), b = strlen(expected);
        unsigned char diff = a != b;
        /* Every byte of the expected token is compared, whatever the
         * input, so timing does not tell how much of it was right. */
        for (size_t i = 0; i < b; i++)
                diff |= (unsigned char)(expected[i] ^ (i < a ? given[i] : 0));
        return diff == 0;
}

/* ---- responses -------------------------------------------------------- */

static void http_date(int64_t t, char buf[40])
{
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(buf, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static char *gzip_compress(const char *data, size_t len, size_t *out_len)
{
        z_stream z = {0};
        /* windowBits 15 + 16: a gzip wrapper rather than zlib's. */
        if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return NULL;
        size_t cap = deflateBound(&z, len);
        char *out = xmalloc(cap);
        z.next_in = (Bytef *)data;
        z.avail_in = (uInt)len;
        z.next_out = (Bytef *)out;
        z.avail_out = (uInt)cap;
        int r = deflate(&z, Z_FINISH);
        *out_len = z.total_out;
        deflateEnd(&z);
        if (r != Z_STREAM_END) {
                free(out);
                return NULL;
        }
        return out;
}

static void add_headers(const Http *h, struct MHD_Response *r, const char *etag, const char *last_modified)
{
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
        MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, last_modified);
        MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
        /* Clients may keep a copy for five minutes, then must revalidate;
         * with a token in the URL no shared cache should keep it. */
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                                h->token ? "private, max-age=300, must-revalidate" : "public, max-age=300, must-revalidate");
}

static struct MHD_Response *feed_response(const Http *h, const Served *s, char *body, size_t len, bool gz)
{
        struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(len, body, free, body);
        if (!r) {
                free(body);
                return NULL;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/calendar; charset=utf-8");
        if (gz)
                MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
        add_headers(h, r, gz ? s->etag_gz : s->etag, s->last_modified);
        return r;
}

static void served_clear(Http *h)
{
        for (size_t i = 0; i < h->n_feeds; i++) {
                /* MHD keeps its own reference while a response is sent. */
                if (h->feeds[i].plain)
                        MHD_destroy_response(h->feeds[i].plain);
                if (h->feeds[i].gzip)
                        MHD_destroy_response(h->feeds[i].gzip);
                free(h->feeds[i].name);
        }
        free(h->feeds);
        free(h->names);
        free(h->token);
        h->feeds = NULL;
        h->names = NULL;
        h->token = NULL;
        h->n_feeds = 0;
}

void http_set_feeds(Http *h, const HttpFeed *feeds, size_t n, const char *token)
{
        served_clear(h);
        h->feeds = xcalloc(n + 1, sizeof(Served));
        h->names = xcalloc(n + 1, sizeof(char *));
        h->n_feeds = n;
        h->token = token ? xstrdup(token) : NULL;
        for (size_t i = 0; i < n; i++) {
                Served *s = &h->feeds[i];
                s->name = xstrdup(feeds[i].name);
                h->names[i] = s->name;
                s->modified = feeds[i].modified;
                /* A strong validator over the exact bytes (and length). */
                snprintf(s->etag, sizeof s->etag, "\"%016llx-%zx\"", (unsigned long long)fnv1a64(feeds[i].body, feeds[i].len),
                         feeds[i].len);
                snprintf(s->etag_gz, sizeof s->etag_gz, "\"%.*s-gz\"", (int)strlen(s->etag) - 2, s->etag + 1);
                http_date(s->modified, s->last_modified);
                char *copy = xmalloc(feeds[i].len + 1);
                memcpy(copy, feeds[i].body, feeds[i].len);
                s->plain = feed_response(h, s, copy, feeds[i].len, false);
                size_t gz_len;
                char *gz = gzip_compress(feeds[i].body, feeds[i].len, &gz_len);
                s->gzip = gz ? feed_response(h, s, gz, gz_len, true) : NULL;
        }
}

/* ---- request handling ------------------------------------------------ */

static void count(Http *h, unsigned status)
{
        size_t i = 0;
        while (i < ELEMENTSOF(http_counted_statuses) && http_counted_statuses[i] != (int)status)
                i++;
        h->counters.by_status[i]++;
}

static enum MHD_Result reply_text(Http *h, struct MHD_Connection *c, unsigned status, const char *text,
                                  const char *allow)
{
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                status == 200 && strncmp(text, "# ", 2) == 0 ? "text/plain; version=0.0.4; charset=utf-8"
                                                                             : "text/plain; charset=utf-8");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        if (allow)
                MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
        enum MHD_Result ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        count(h, status);
        return ret;
}

/* RFC 9110 section 13.1: If-None-Match wins; If-Modified-Since counts only
 * without it. */
static bool not_modified(struct MHD_Connection *c, const Served *s, const char *etag)
{
        const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
        if (inm)
                return http_etag_matches(inm, etag);
        const char *ims = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
        if (!ims)
                return false;
        time_t since = curl_getdate(ims, NULL);
        return since != -1 && s->modified <= (int64_t)since;
}

static enum MHD_Result serve_feed(Http *h, struct MHD_Connection *c, const Served *s)
{
        if (h->token) {
                const char *given = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
                if (!given || !http_token_equal(given, h->token))
                        return reply_text(h, c, 403, "403 forbidden: this feed needs ?token=\n", NULL);
        }
        const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
        bool gz = s->gzip && ae && http_accepts_gzip(ae);
        const char *etag = gz ? s->etag_gz : s->etag;
        if (not_modified(c, s, etag)) {
                struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
                add_headers(h, r, etag, s->last_modified);
                enum MHD_Result ret = MHD_queue_response(c, 304, r);
                MHD_destroy_response(r);
                count(h, 304);
                return ret;
        }
        count(h, 200);
        return MHD_queue_response(c, 200, gz ? s->gzip : s->plain);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
        static int headers_seen;
        Http *h = cls;
        size_t feed = 0;
        (void)version, (void)upload_data;

        /* The first call brings the headers only; answering then would make
         * MHD close the connection instead of keeping it alive. */
        if (!*con_cls) {
                *con_cls = &headers_seen;
                return MHD_YES;
        }

        /* A body (for POST, PUT) is read and dropped; the answer comes
         * once it is all in, as MHD wants. */
        if (*upload_data_size > 0) {
                *upload_data_size = 0;
                return MHD_YES;
        }
        HttpRoute route = http_route(url, h->names, h->n_feeds, &feed);
        if (route == HTTP_ROUTE_NONE)
                return reply_text(h, c, 404, "404 not found\n", NULL);
        bool get = streq(method, "GET"), head = streq(method, "HEAD");
        if (!get && !head)
                return reply_text(h, c, 405, "405 method not allowed\n", "GET, HEAD");
        switch (route) {
        case HTTP_ROUTE_HEALTHZ:
        {
                _cleanup_free_ char *why = h->health ? h->health(h->health_userdata) : NULL;
                if (!why)
                        return reply_text(h, c, 200, "ok\n", NULL);
                _cleanup_free_ char *text = xasprintf("unhealthy: %s\n", why);
                return reply_text(h, c, 503, text, NULL);
        }
        case HTTP_ROUTE_METRICS: {
                _cleanup_free_ char *text = h->metrics ? h->metrics(h->metrics_userdata) : xstrdup("");
                return reply_text(h, c, 200, text, NULL);
        }
        case HTTP_ROUTE_FEED:
                return serve_feed(h, c, &h->feeds[feed]);
        default:
                return reply_text(h, c, 404, "404 not found\n", NULL);
        }
}

/* ---- the loop --------------------------------------------------------- */

static void rearm(Http *h)
{
        MHD_UNSIGNED_LONG_LONG ms;
        if (MHD_get_timeout(h->mhd, &ms) != MHD_YES) {
                sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
                return;
        }
        uint64_t now;
        sd_event_now(h->event, CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(h->timer, now + ms * 1000);
        sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Http *h = userdata;
        (void)s, (void)fd, (void)revents;
        MHD_run(h->mhd);
        rearm(h);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)usec;
        return on_io(s, -1, 0, userdata);
}

/* Paths and tokens are matched as sent: every name tandem serves, and every
 * token it accepts, is made of characters that need no escaping. Not
 * unescaping keeps "%00" or "%2e%2e" from ever looking like a feed. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
        (void)cls, (void)c;
        return strlen(s);
}

_printf_(2, 0) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        (void)cls;
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        size_t n = strlen(msg);
        while (n > 0 && msg[n - 1] == '\n')
                msg[--n] = '\0';
        log_warning("http: %s", msg);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
        _cleanup_free_ char *host = NULL;
        const char *port;
        if (listen[0] == '[') {
                const char *close = strchr(listen, ']');
                if (!close || close[1] != ':')
                        return -EINVAL;
                host = xstrndup(listen + 1, (size_t)(close - listen - 1));
                port = close + 2;
        } else {
                const char *colon = strrchr(listen, ':');
                if (!colon)
                        return -EINVAL;
                host = xstrndup(listen, (size_t)(colon - listen));
                port = colon + 1;
        }
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res = NULL;
        if (getaddrinfo(*host ? host : NULL, port, &hints, &res) != 0 || !res)
                return -EADDRNOTAVAIL;
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        *len = res->ai_addrlen;
        freeaddrinfo(res);
        return 0;
}

int http_new(sd_event *e, const char *listen, Http **ret)
{
        struct sockaddr_storage ss;
        socklen_t len;
        int r = parse_listen(listen, &ss, &len);
        if (r < 0) {
                log_error("listen = %s: cannot resolve the address", listen);
                return r;
        }
        Http *h = xcalloc(1, sizeof(Http));
        h->event = sd_event_ref(e);
        unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
        h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
                                  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                                  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
                                  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_LIMIT,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_SEC,
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_LIMIT,
                                  MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
                                  MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
                                  MHD_OPTION_END);
        if (!h->mhd) {
                log_error("cannot listen on %s: %m", listen);
                http_free(h);
                return -EADDRINUSE;
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info || sd_event_add_io(e, &h->io, info->epoll_fd, EPOLLIN, on_io, h) < 0 ||
            sd_event_add_time(e, &h->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_timer, h) < 0) {
                http_free(h);
                return -EIO;
        }
        sd_event_source_set_description(h->io, "http");
        sd_event_source_set_description(h->timer, "http-timer");
        rearm(h);
        *ret = h;
        return 0;
}

Http *http_free(Http *h)
{
        if (!h)
                return NULL;
        sd_event_source_disable_unref(h->io);
        sd_event_source_disable_unref(h->timer);
        if (h->mhd)
                MHD_stop_daemon(h->mhd);
        served_clear(h);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

void http_set_metrics(Http *h, char *(*metrics)(void *userdata), void *userdata)
{
        h->metrics = metrics;
        h->metrics_userdata = userdata;
}

void http_set_health(Http *h, char *(*health)(void *userdata), void *userdata)
{
        h->health = health;
        h->health_userdata = userdata;
}

const HttpCounters *http_counters(const Http *h)
{
        return &h->counters;
}
