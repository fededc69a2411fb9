/* http.c — feeds, the index page, /healthz and /metrics over
 * libmicrohttpd. MHD parses HTTP; this file routes, answers conditional
 * requests, counts, and keeps slow clients from holding the connections. */
#include "http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <zlib.h>

#include "feed.h"
#include "log.h"
#include "util.h"

#define IDLE_TIMEOUT_SEC 30
#define MEMORY_LIMIT (32 * 1024) /* per connection: bounds request headers */
#define USEC_PER_SEC UINT64_C(1000000)

const int http_counted_statuses[5] = {200, 304, 403, 404, 405};

/* One prepared document (a feed or the index): its responses and
 * validators. The identity response is built at once and the gzip one at
 * the first client that asks for it; a compact document keeps only its
 * gzip bytes (a feed compresses about sevenfold to seventeenfold, and there
 * may be a thousand of them), and a client that does not take gzip gets
 * them inflated. */
typedef struct Served {
        char *name, *title;
        const char *type;
        struct MHD_Response *plain, *gzip;
        struct MHD_Response *unchanged[2]; /* 304s (identity, gzip), made at the first */
        const char *body;       /* the identity bytes, owned by plain */
        const char *gz;         /* the gzip bytes, owned by gzip */
        size_t len, gz_len;
        char etag[40], etag_gz[44], last_modified[40]; /* last_modified "": none */
        int64_t modified;                              /* -1: none */
} Served;

/* A set of feeds being prepared (http_feeds_new). */
struct HttpFeeds {
        Served *feeds;
        size_t n, cap;
        char *token;
        HttpSite site;
        char *calendar_name, *public_url;
};

/* One TCP connection, from MHD's "started" to its "closed" notification.
 * While the server awaits a request on it, it sits in Http.waiting, in
 * the order of its deadline. */
typedef struct Conn {
        struct MHD_Connection *mhd;
        uint64_t deadline; /* CLOCK_MONOTONIC, microseconds */
        struct Conn *prev, *next;
        bool waiting;
} Conn;

/* A kind of log line that clients can cause at will: the first is written,
 * the rest of an interval are counted and summed up in one line. */
typedef struct Throttle {
        int priority;
        const char *what; /* "connections refused ...": the summary's noun */
        uint64_t held;    /* lines not written in this interval */
        bool open;        /* a line was written in this interval */
} Throttle;

struct Http {
        sd_event *event;
        sd_event_source *io, *timer, *deadline, *log_timer;
        struct MHD_Daemon *mhd;
        HttpFeeds *set;     /* served; NULL until the first is complete */
        const char **names; /* of set's feeds, for http_route() */
        Served index;
        char *(*metrics)(void *);
        void *metrics_userdata;
        char *(*health)(void *);
        void *health_userdata;
        HttpCounters counters;
        Conn *wait_first, *wait_last;
        uint64_t deadline_armed; /* the deadline timer's time; UINT64_MAX: off */
        unsigned n_conns;
        bool was_full; /* n_conns reached the limit since the last run */
        Throttle refused_log, timeout_log, mhd_log;
};

/* ---- pure helpers --------------------------------------------------- */

HttpRoute http_route(const char *path, const char *const *names, size_t n, size_t *feed)
{
        if (streq(path, "/healthz"))
                return HTTP_ROUTE_HEALTHZ;
        if (streq(path, "/metrics"))
                return HTTP_ROUTE_METRICS;
        /* The README sends people to /feeds/; "/" and "/feeds" are what they
         * type when they shorten it. */
        if (streq(path, "/") || streq(path, "/feeds") || streq(path, "/feeds/"))
                return HTTP_ROUTE_INDEX;
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

char *http_html_escape(const char *s)
{
        static const char special[] = "&<>\"'";
        static const char *const refs[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
        Buf b = {0};
        while (*s) {
                size_t plain = strcspn(s, special);
                buf_printf(&b, "%.*s", (int)plain, s);
                s += plain;
                if (*s)
                        buf_append(&b, refs[strchr(special, *s++) - special]);
        }
        return buf_steal(&b);
}

static void index_row(Buf *b, const HttpSite *site, const HttpFeed *f)
{
        _cleanup_free_ char *web = feed_url_at(site->public_url, f->name, site->token, true);
        _cleanup_free_ char *plain = feed_url_at(site->public_url, f->name, site->token, false);
        _cleanup_free_ char *title = http_html_escape(f->title ? f->title : "All meetings");
        _cleanup_free_ char *web_h = http_html_escape(web), *plain_h = http_html_escape(plain);
        buf_printf(b, "<tr><td>%s</td><td><a href=\"%s\">Subscribe</a></td><td><a href=\"%s\"><code>%s</code></a></td></tr>\n",
                   title, web_h, plain_h, plain_h);
}

char *http_index_html(const HttpSite *site, const HttpFeed *feeds, size_t n)
{
        _cleanup_free_ char *name = http_html_escape(site->calendar_name);
        Buf b = {0};
        buf_printf(&b,
                   "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<meta name=\"robots\" content=\"noindex\">\n<title>%s</title>\n"
                   "<style>body{font-family:sans-serif;margin:2em;max-width:60em}"
                   "table{border-collapse:collapse}td,th{padding:.3em .8em;text-align:left;border-bottom:1px solid #ccc}"
                   "</style>\n</head>\n<body>\n<h1>%s</h1>\n"
                   "<p>Subscribe in Google Calendar, Outlook, Apple Calendar or Thunderbird: open a "
                   "<em>Subscribe</em> link on a device with a calendar app, or add the address as a calendar "
                   "from a URL (an internet calendar).</p>\n"
                   "<table>\n<tr><th>Calendar</th><th>Calendar app</th><th>Address</th></tr>\n",
                   name, name);
        for (size_t i = 0; i < n; i++)
                index_row(&b, site, &feeds[i]);
        buf_append(&b, "</table>\n</body>\n</html>\n");
        return buf_steal(&b);
}

/* ---- responses -------------------------------------------------------- */

static void http_date(int64_t t, char buf[40])
{
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(buf, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* RFC 1952 gzip at zlib's default level 6: on a 2.7 MB all.ics (5000
 * meetings) 7 % larger than level 9 in half the time, which the loop waits
 * for. The buffer is cut to what it holds (deflateBound reserves more than
 * the input, and a kept feed would carry that). */
static char *gzip_compress(const char *data, size_t len, size_t *out_len)
{
        z_stream z = {0};
        /* windowBits 15 + 16: a gzip wrapper rather than zlib's. */
        if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
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
        return xrealloc(out, *out_len);
}

/* An inflated copy lives for one response, in a mapping of its own that
 * is given back when the response is done: from malloc it would reuse a
 * hole that start-up left in the heap, whose pages stay resident after
 * (2.7 MB more for good at the first client of a large all.ics). */
typedef struct Inflated {
        char *data;
        size_t size;
} Inflated;

static void inflated_free(void *cls)
{
        Inflated *m = cls;
        munmap(m->data, m->size);
        free(m);
}

static Inflated *gzip_inflate(const char *gz, size_t gz_len, size_t len)
{
        z_stream z = {0};
        if (inflateInit2(&z, 15 + 16) != Z_OK)
                return NULL;
        size_t size = len ? len : 1;
        char *out = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (out == MAP_FAILED) {
                inflateEnd(&z);
                return NULL;
        }
        z.next_in = (Bytef *)gz;
        z.avail_in = (uInt)gz_len;
        z.next_out = (Bytef *)out;
        z.avail_out = (uInt)len;
        int r = inflate(&z, Z_FINISH);
        bool whole = r == Z_STREAM_END && z.total_out == len;
        inflateEnd(&z);
        if (!whole) {
                munmap(out, size);
                return NULL;
        }
        Inflated *m = xmalloc(sizeof(Inflated));
        *m = (Inflated){out, size};
        return m;
}

static void add_headers(const char *token, struct MHD_Response *r, const char *etag, const char *last_modified)
{
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag);
        if (last_modified[0])
                MHD_add_response_header(r, MHD_HTTP_HEADER_LAST_MODIFIED, last_modified);
        MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
        /* Clients may keep a copy for five minutes, then must revalidate;
         * with a token in the URL no shared cache should keep it. */
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                                token ? "private, max-age=300, must-revalidate" : "public, max-age=300, must-revalidate");
}

/* A response with s's headers over body, which done(cls) frees. */
static struct MHD_Response *response_with(const char *token, const Served *s, char *body, size_t len, bool gz,
                                          void (*done)(void *), void *cls)
{
        struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(len, body, done, cls);
        if (!r) {
                done(cls);
                return NULL;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, s->type);
        if (gz)
                MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
        if (strncmp(s->type, "text/html", 9) == 0) {
                /* The page runs no script and loads nothing: should escaping
                 * ever miss, the browser still runs nothing. The token in its
                 * links is not sent on as a Referer. */
                MHD_add_response_header(r, "Content-Security-Policy",
                                        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
                MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
                MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
        }
        add_headers(token, r, gz ? s->etag_gz : s->etag, s->last_modified);
        return r;
}

static struct MHD_Response *response(const char *token, const Served *s, char *body, size_t len, bool gz)
{
        return response_with(token, s, body, len, gz, free, body);
}

/* Prepares a document; modified < 0: no Last-Modified. */
static void served_init(const char *token, Served *s, const char *name, const char *title, const char *type,
                        const char *body, size_t len, int64_t modified, bool compact)
{
        *s = (Served){.name = xstrdup(name), .title = title ? xstrdup(title) : NULL, .type = type, .len = len,
                      .modified = modified};
        /* A strong validator over the exact bytes (and length). */
        snprintf(s->etag, sizeof s->etag, "\"%016llx-%zx\"", (unsigned long long)fnv1a64(body, len), len);
        snprintf(s->etag_gz, sizeof s->etag_gz, "\"%.*s-gz\"", (int)strlen(s->etag) - 2, s->etag + 1);
        if (modified >= 0)
                http_date(modified, s->last_modified);
        char *gz = compact ? gzip_compress(body, len, &s->gz_len) : NULL;
        /* Without its response (MHD out of memory: gz is freed then) the
         * identity bytes are kept instead. */
        if (gz && (s->gzip = response(token, s, gz, s->gz_len, true))) {
                s->gz = gz;
                return;
        }
        s->gz_len = 0;
        char *copy = xmalloc(len + 1);
        memcpy(copy, body, len);
        s->body = copy;
        s->plain = response(token, s, copy, len, false);
}

/* The response for a client, gzip or not; for a compact document without
 * gzip a new one the caller destroys (*fresh). NULL if out of memory. */
static struct MHD_Response *served_response(const char *token, Served *s, bool gz, bool *fresh)
{
        *fresh = false;
        if (gz && !s->gzip && s->body) {
                size_t n;
                char *z = gzip_compress(s->body, s->len, &n);
                if (z) {
                        s->gz = z;
                        s->gz_len = n;
                        s->gzip = response(token, s, z, n, true);
                }
        }
        if (gz && s->gzip)
                return s->gzip;
        if (s->plain)
                return s->plain;
        Inflated *m = gzip_inflate(s->gz, s->gz_len, s->len);
        *fresh = m != NULL;
        return m ? response_with(token, s, m->data, s->len, false, inflated_free, m) : NULL;
}

static void served_done(Served *s)
{
        /* MHD keeps its own reference while a response is sent. */
        if (s->plain)
                MHD_destroy_response(s->plain);
        if (s->gzip)
                MHD_destroy_response(s->gzip);
        for (size_t i = 0; i < ELEMENTSOF(s->unchanged); i++)
                if (s->unchanged[i])
                        MHD_destroy_response(s->unchanged[i]);
        free(s->name);
        free(s->title);
        *s = (Served){0};
}

HttpFeeds *http_feeds_new(const HttpSite *site, size_t n)
{
        HttpFeeds *f = xcalloc(1, sizeof(HttpFeeds));
        f->feeds = xcalloc(n + 1, sizeof(Served));
        f->cap = n;
        f->token = site->token ? xstrdup(site->token) : NULL;
        f->calendar_name = xstrdup(site->calendar_name);
        f->public_url = xstrdup(site->public_url);
        f->site = (HttpSite){f->calendar_name, f->public_url, f->token};
        return f;
}

void http_feeds_add(HttpFeeds *f, const HttpFeed *feed)
{
        if (f->n == f->cap)
                return;
        served_init(f->token, &f->feeds[f->n++], feed->name, feed->title, "text/calendar; charset=utf-8", feed->body,
                    feed->len, feed->modified, feed->compact);
}

HttpFeeds *http_feeds_free(HttpFeeds *f)
{
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n; i++)
                served_done(&f->feeds[i]);
        free(f->feeds);
        free(f->token);
        free(f->calendar_name);
        free(f->public_url);
        free(f);
        return NULL;
}

void http_set_feeds(Http *h, HttpFeeds *f)
{
        if (!h->set)
                /* The first feeds: the clients waiting since start-up are
                 * taken now (http_new). */
                sd_event_source_set_enabled(h->io, SD_EVENT_ON);
        http_feeds_free(h->set);
        served_done(&h->index);
        free(h->names);
        h->set = f;
        h->names = xcalloc(f->n + 1, sizeof(char *));
        _cleanup_free_ HttpFeed *list = xcalloc(f->n + 1, sizeof(HttpFeed));
        for (size_t i = 0; i < f->n; i++) {
                h->names[i] = f->feeds[i].name;
                list[i] = (HttpFeed){.name = f->feeds[i].name, .title = f->feeds[i].title};
        }
        /* No Last-Modified: the page changes with names and public_url too,
         * which no meeting's modification time follows; the ETag does. */
        _cleanup_free_ char *page = http_index_html(&f->site, list, f->n);
        served_init(f->token, &h->index, "index", NULL, "text/html; charset=utf-8", page, strlen(page), -1, false);
}

/* ---- slow clients --------------------------------------------------------
 *
 * libmicrohttpd's own timeout is an idle timeout: every byte received
 * restarts it, so a client trickling one byte a second keeps its
 * connection for ever, and 512 such clients (17 addresses under the
 * per-address limit) hold every connection the server has. Version 0.9.75
 * has nothing that bounds the time to receive a request: a connection's
 * own timeout (MHD_CONNECTION_OPTION_TIMEOUT) is idle time as well,
 * MHD_OPTION_URI_LOG_CALLBACK sees the request line only, and no call
 * closes a connection from outside. So the bound lives on our loop, like
 * nginx's client_header_timeout: MHD tells us when a connection starts and
 * closes (MHD_OPTION_NOTIFY_CONNECTION) and when a request has been
 * answered (MHD_OPTION_NOTIFY_COMPLETED); from its start, and again after
 * each answer on a kept-alive connection, a connection must deliver a whole
 * request within HTTP_REQUEST_TIMEOUT_SEC. The deadlines all lie the same
 * span after their start, so appending keeps the list sorted and one
 * timer, set to the first, serves them all. A connection past its deadline
 * is shut down (shutdown(2) on MHD's socket): MHD reads the end of stream,
 * closes the connection in its usual way and frees the slot. Nothing is
 * sent: like nginx, there is no point in answering a client that never
 * finished asking.
 *
 * No share of the connections is kept for /healthz: a connection's path is
 * unknown until its request has arrived, which is what a slow client
 * withholds. At the limit MHD stops accepting (it takes the listening
 * socket out of its epoll set), so new clients, a probe among them, wait in
 * the kernel's accept queue, in order, and are taken as the deadline frees
 * slots: a probe is answered within about HTTP_REQUEST_TIMEOUT_SEC even
 * while every slot is held by trickling clients. */

static uint64_t loop_now(const Http *h)
{
        uint64_t now = 0;
        /* Before the loop's first iteration this is the current time. */
        sd_event_now(h->event, CLOCK_MONOTONIC, &now);
        return now;
}

static Conn *conn_of(struct MHD_Connection *c)
{
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        return info ? info->socket_context : NULL;
}

static void wait_stop(Http *h, Conn *k)
{
        if (!k || !k->waiting)
                return;
        *(k->prev ? &k->prev->next : &h->wait_first) = k->next;
        *(k->next ? &k->next->prev : &h->wait_last) = k->prev;
        k->prev = k->next = NULL;
        k->waiting = false;
}

/* The connection now awaits a request. */
static void wait_start(Http *h, Conn *k)
{
        if (!k)
                return;
        wait_stop(h, k);
        /* The clock now, not the loop's iteration time, which may be
         * earlier: a deadline is never short of its full span. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        k->deadline = (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000 +
                      HTTP_REQUEST_TIMEOUT_SEC * USEC_PER_SEC;
        k->prev = h->wait_last;
        *(h->wait_last ? &h->wait_last->next : &h->wait_first) = k;
        h->wait_last = k;
        k->waiting = true;
}

static void deadline_rearm(Http *h)
{
        uint64_t next = h->wait_first ? h->wait_first->deadline : UINT64_MAX;
        if (next == h->deadline_armed)
                return; /* the common case on a busy server: nothing to tell sd-event */
        h->deadline_armed = next;
        if (next == UINT64_MAX) {
                sd_event_source_set_enabled(h->deadline, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(h->deadline, next);
        sd_event_source_set_enabled(h->deadline, SD_EVENT_ONESHOT);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
        Http *h = cls;
        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                Conn *k = xcalloc(1, sizeof(Conn));
                k->mhd = c;
                *socket_context = k;
                wait_start(h, k);
                if (++h->n_conns >= HTTP_CONNECTION_LIMIT)
                        h->was_full = true;
        } else if (*socket_context) {
                h->n_conns--;
                wait_stop(h, *socket_context);
                free(*socket_context);
                *socket_context = NULL;
        }
}

/* A request was answered. A kept-alive connection awaits the next one under
 * a new deadline: otherwise one quick request would buy a slow client its
 * slot for good. A connection that closes instead is told apart by
 * on_connection(). */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
        (void)con_cls;
        if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
                wait_start(cls, conn_of(c));
}

/* ---- log lines clients can cause -------------------------------------- */

static void throttle_flush(Throttle *t, bool closing)
{
        if (t->held)
                log_msg(t->priority, "http: %llu more %s (in the last %d s)", (unsigned long long)t->held, t->what,
                        HTTP_LOG_INTERVAL_SEC);
        /* After a busy interval the next one is summed up too: the first
         * line of an interval is written at once only after a quiet one. */
        t->open = t->held > 0 && !closing;
        t->held = 0;
}

/* Whether to write a line of this kind now; if not, it is counted. */
static bool throttle_pass(Http *h, Throttle *t)
{
        if (t->open) {
                t->held++;
                return false;
        }
        t->open = true;
        if (sd_event_source_get_enabled(h->log_timer, NULL) == 0) {
                sd_event_source_set_time(h->log_timer, loop_now(h) + HTTP_LOG_INTERVAL_SEC * USEC_PER_SEC);
                sd_event_source_set_enabled(h->log_timer, SD_EVENT_ONESHOT);
        }
        return true;
}

static int on_log_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Http *h = userdata;
        (void)usec;
        throttle_flush(&h->refused_log, false);
        throttle_flush(&h->timeout_log, false);
        throttle_flush(&h->mhd_log, false);
        if (h->refused_log.open || h->timeout_log.open || h->mhd_log.open) {
                sd_event_source_set_time(s, loop_now(h) + HTTP_LOG_INTERVAL_SEC * USEC_PER_SEC);
                sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

static void client_address(struct MHD_Connection *c, char buf[static NI_MAXHOST])
{
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = info ? info->client_addr : NULL;
        socklen_t len = sa && sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        if (!sa || getnameinfo(sa, len, buf, NI_MAXHOST, NULL, 0, NI_NUMERICHOST) != 0)
                snprintf(buf, NI_MAXHOST, "?");
}

static void conn_cut(Http *h, Conn *k)
{
        const union MHD_ConnectionInfo *fd = MHD_get_connection_info(k->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
        wait_stop(h, k);
        h->counters.timed_out++;
        if (throttle_pass(h, &h->timeout_log)) {
                char addr[NI_MAXHOST];
                client_address(k->mhd, addr);
                log_info("http: closed a connection from %s that sent no complete request within %d s; more are summed "
                         "up every %d s",
                         addr, HTTP_REQUEST_TIMEOUT_SEC, HTTP_LOG_INTERVAL_SEC);
        }
        if (fd)
                shutdown(fd->connect_fd, SHUT_RDWR);
}

/* What MHD says about clients going away is no news: a browser closing a
 * tab, a phone losing its network, a connection we cut. */
static bool client_noise(const char *msg)
{
        static const char *const prefixes[] = {
                "Connection was closed by remote side", "Socket has been disconnected when reading",
                "Connection socket is closed when reading", "Failed to send",
        };
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (strncmp(msg, prefixes[i], strlen(prefixes[i])) == 0)
                        return true;
        return false;
}

_printf_(2, 0) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        Http *h = cls;
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        size_t n = strlen(msg);
        while (n > 0 && msg[n - 1] == '\n')
                msg[--n] = '\0';
        /* libmicrohttpd 0.9.75 refuses a connection over the total or the
         * per-address limit with this line and tells the application
         * nothing else; the integration test counts on it (the metric). */
        if (strncmp(msg, "Server reached connection limit", 31) == 0) {
                h->counters.refused++;
                if (throttle_pass(h, &h->refused_log))
                        log_warning("http: refused a connection over the limits (%d connections, %d per client "
                                    "address); more are summed up every %d s",
                                    HTTP_CONNECTION_LIMIT, HTTP_PER_IP_LIMIT, HTTP_LOG_INTERVAL_SEC);
        } else if (client_noise(msg))
                log_debug("http: %s", msg);
        else if (throttle_pass(h, &h->mhd_log))
                log_warning("http: %s", msg);
}

/* ---- request handling ------------------------------------------------ */

static void count(Http *h, unsigned status)
{
        size_t i = 0;
        while (i < ELEMENTSOF(http_counted_statuses) && http_counted_statuses[i] != (int)status)
                i++;
        h->counters.by_status[i]++;
}

/* A plain-text answer, with an Allow header if allow is not NULL. */
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
 * without it, and only where there is a Last-Modified. */
static bool not_modified(struct MHD_Connection *c, const Served *s, const char *etag)
{
        const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
        if (inm)
                return http_etag_matches(inm, etag);
        const char *ims = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
        if (!ims || s->modified < 0)
                return false;
        time_t since = curl_getdate(ims, NULL);
        return since != -1 && s->modified <= (int64_t)since;
}

/* A feed or the index page: the token, then conditional requests. */
static enum MHD_Result serve_prepared(Http *h, struct MHD_Connection *c, Served *s, const char *forbidden)
{
        const char *token = h->set->token;
        if (token) {
                const char *given = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
                if (!given || !http_token_equal(given, token))
                        return reply_text(h, c, 403, forbidden, NULL);
        }
        const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
        bool gz = ae && http_accepts_gzip(ae);
        const char *etag = gz ? s->etag_gz : s->etag;
        if (not_modified(c, s, etag)) {
                /* the same few headers every time: built once */
                struct MHD_Response **r = &s->unchanged[gz];
                if (!*r && (*r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)))
                        add_headers(token, *r, etag, s->last_modified);
                if (!*r)
                        return reply_text(h, c, 500, "500 internal server error\n", NULL);
                count(h, 304);
                return MHD_queue_response(c, 304, *r);
        }
        bool fresh;
        struct MHD_Response *r = served_response(token, s, gz, &fresh);
        if (!r)
                return reply_text(h, c, 500, "500 internal server error\n", NULL);
        count(h, 200);
        enum MHD_Result ret = MHD_queue_response(c, 200, r);
        if (fresh)
                MHD_destroy_response(r);
        return ret;
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
        /* The whole request is in, in time: its deadline no longer applies. */
        wait_stop(h, conn_of(c));
        /* Requests are taken only once the first feeds are in (http_new). */
        HttpRoute route = http_route(url, h->names, h->set->n, &feed);
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
                return serve_prepared(h, c, &h->set->feeds[feed], "403 forbidden: this feed needs ?token=\n");
        case HTTP_ROUTE_INDEX:
                if (!h->index.plain)
                        return reply_text(h, c, 404, "404 not found\n", NULL);
                return serve_prepared(h, c, &h->index,
                                      "403 forbidden: these calendars need a token: open /feeds/?token=<feed_token>\n");
        default:
                return reply_text(h, c, 404, "404 not found\n", NULL);
        }
}

/* ---- the loop --------------------------------------------------------- */

static void mhd_rearm(Http *h)
{
        MHD_UNSIGNED_LONG_LONG ms;
        /* At the limit MHD takes its listening socket out of its epoll set,
         * and puts it back only at the start of a run, when there are free
         * slots: after a run that freed some, run again at once, or the
         * clients waiting in the accept queue would wait for some other
         * event (up to the idle timeout). */
        if (h->was_full && h->n_conns < HTTP_CONNECTION_LIMIT) {
                h->was_full = false;
                sd_event_source_set_time(h->timer, 0);
                sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
                return;
        }
        if (MHD_get_timeout(h->mhd, &ms) != MHD_YES) {
                sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(h->timer, loop_now(h) + ms * 1000);
        sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Http *h = userdata;
        (void)s, (void)fd, (void)revents;
        MHD_run(h->mhd);
        mhd_rearm(h);
        deadline_rearm(h);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)usec;
        return on_io(s, -1, 0, userdata);
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
        Http *h = userdata;
        (void)usec;
        h->deadline_armed = 0; /* a oneshot source is off once it fired */
        /* A request that came in while the loop was busy elsewhere is
         * answered, not cut. */
        MHD_run(h->mhd);
        uint64_t now = loop_now(h);
        while (h->wait_first && h->wait_first->deadline <= now)
                conn_cut(h, h->wait_first);
        /* MHD sees the ends of stream now, frees their slots and takes the
         * next clients from the accept queue. */
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

static const char *listen_hint(int err)
{
        switch (err) {
        case EADDRINUSE:
                return "another program, or another tandem, has that port (`ss -ltnp` shows which): stop it, or set "
                       "listen = to a free port in [tandem]";
        case EACCES:
                return "ports below 1024 need CAP_NET_BIND_SERVICE: set listen = to a port above 1023 in [tandem]";
        case EADDRNOTAVAIL:
                return "no interface of this machine has that address: set listen = to one of its addresses, "
                       "127.0.0.1 or [::1] in [tandem]";
        default:
                return "check listen = in [tandem]";
        }
}

/* tandem opens the listening socket itself, so that a failure is told once
 * and plainly (MHD's own would be "Failed to bind to port 0"), and so that
 * its options are ours: SO_REUSEADDR, for a restart to bind past the old
 * connections in TIME_WAIT; never SO_REUSEPORT, with which a second daemon
 * binds the same port and the kernel splits the clients between the two. */
static int listen_socket(const char *where, int *ret)
{
        struct sockaddr_storage ss;
        socklen_t len;
        int r = parse_listen(where, &ss, &len);
        if (r < 0) {
                log_error("cannot listen on %s: cannot resolve the address; %s", where, listen_hint(0));
                return r;
        }
        _cleanup_close_ int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            /* "[::]:8470" is IPv6 only, as "0.0.0.0:8470" is IPv4 only. */
            (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
            bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, SOMAXCONN) < 0) {
                r = -errno;
                log_error("cannot listen on %s: %s; %s", where, strerror(-r), listen_hint(-r));
                return r;
        }
        *ret = fd;
        fd = -1;
        return 0;
}

int http_new(sd_event *e, const char *listen, Http **ret)
{
        int fd = -1;
        int r = listen_socket(listen, &fd);
        if (r < 0)
                return r;
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        getsockname(fd, (struct sockaddr *)&ss, &len);
        Http *h = xcalloc(1, sizeof(Http));
        h->event = sd_event_ref(e);
        h->deadline_armed = UINT64_MAX;
        h->refused_log = (Throttle){.priority = LOG_WARNING, .what = "connections refused over the limits"};
        h->timeout_log = (Throttle){.priority = LOG_INFO, .what = "connections closed for not sending a whole request in time"};
        h->mhd_log = (Throttle){.priority = LOG_WARNING, .what = "libmicrohttpd messages held back"};
        if (sd_event_add_time(e, &h->log_timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_SEC, on_log_timer, h) < 0) {
                close(fd);
                http_free(h);
                return -EIO;
        }
        sd_event_source_set_enabled(h->log_timer, SD_EVENT_OFF);
        unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
        h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
                                  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                                  MHD_OPTION_LISTEN_SOCKET, fd,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTION_LIMIT,
                                  MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_PER_IP_LIMIT,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_SEC,
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_LIMIT,
                                  MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                                  MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                                  MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
                                  MHD_OPTION_END);
        if (!h->mhd) {
                log_error("cannot listen on %s: libmicrohttpd would not start", listen);
                close(fd);
                http_free(h);
                return -EIO;
        }
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info || sd_event_add_io(e, &h->io, info->epoll_fd, EPOLLIN, on_io, h) < 0 ||
            sd_event_add_time(e, &h->timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_timer, h) < 0 ||
            /* Deadlines are cut in batches: 100 ms late is fine. */
            sd_event_add_time(e, &h->deadline, CLOCK_MONOTONIC, UINT64_MAX, 100 * 1000, on_deadline, h) < 0) {
                http_free(h);
                return -EIO;
        }
        sd_event_source_set_description(h->io, "http");
        sd_event_source_set_description(h->timer, "http-timer");
        sd_event_source_set_description(h->deadline, "http-request-deadline");
        sd_event_source_set_description(h->log_timer, "http-log");
        /* Nothing is accepted until the first feeds are published (just
         * after READY): a client that connects in that moment waits in the
         * accept queue and gets its feed, not an error (README "HTTP"). */
        sd_event_source_set_enabled(h->io, SD_EVENT_OFF);
        mhd_rearm(h);
        deadline_rearm(h);
        *ret = h;
        return 0;
}

Http *http_free(Http *h)
{
        if (!h)
                return NULL;
        sd_event_source_disable_unref(h->io);
        sd_event_source_disable_unref(h->timer);
        sd_event_source_disable_unref(h->deadline);
        if (h->mhd)
                MHD_stop_daemon(h->mhd);
        /* Nothing counted is lost at a stop. */
        throttle_flush(&h->refused_log, true);
        throttle_flush(&h->timeout_log, true);
        throttle_flush(&h->mhd_log, true);
        sd_event_source_disable_unref(h->log_timer);
        http_feeds_free(h->set);
        served_done(&h->index);
        free(h->names);
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
