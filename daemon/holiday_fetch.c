/* holiday_fetch.c — where holiday calendars come from: a local file, or an
 * http(s) URL fetched with libcurl into <state_dir>/holidays/ and refreshed
 * by conditional GET (RFC 9110 section 13.1: If-None-Match and
 * If-Modified-Since), so that an unchanged calendar costs a 304.
 *
 * The cache of a URL is two files named after a hash of the URL:
 * <hash>.ics, the last body that parsed without errors, and <hash>.json,
 * its validators and fetch times (and the URL, to rule out a collision).
 * The body is written first and the metadata second, each atomically: a
 * crash in between leaves the new body with the old validators, and the
 * next refresh simply gets a 200 instead of a 304. A refresh that fails in
 * any way leaves both files as they were. */
#include "holiday.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <strings.h>
#include <sys/stat.h>

#include "fileio.h"
#include "util.h"
#include "version.h"

#define FETCH_MAX_REDIRECTS 5L
#define FETCH_DEFAULT_TIMEOUT_MS 30000L

typedef struct Meta {
        char *etag, *last_modified;
        int64_t fetched, changed;
} Meta;

typedef struct Cache {
        char *dir, *body, *meta;
} Cache;

struct HolidayFetch {
        char *url;
        Cache cache;
        Meta old;
        bool cached; /* there is a copy to keep */
        CURL *easy;
        struct curl_slist *headers;
        char *data; /* the body received so far */
        size_t len, alloc;
        bool too_big;
        char errbuf[CURL_ERROR_SIZE];
};

static void meta_done(Meta *m)
{
        free(m->etag);
        free(m->last_modified);
        *m = (Meta){0};
}

static void cache_done(Cache *c)
{
        free(c->dir);
        free(c->body);
        free(c->meta);
        *c = (Cache){0};
}

static Cache cache_paths(const char *url, const char *state_dir)
{
        Cache c;
        uint64_t h = fnv1a64(url, strlen(url));
        c.dir = xasprintf("%s/holidays", state_dir);
        c.body = xasprintf("%s/%016llx.ics", c.dir, (unsigned long long)h);
        c.meta = xasprintf("%s/%016llx.json", c.dir, (unsigned long long)h);
        return c;
}

bool holiday_source_is_url(const char *source)
{
        return strncasecmp(source, "http://", 7) == 0 || strncasecmp(source, "https://", 8) == 0;
}

/* Reads at most max + 1 bytes, so that the parser can say "too large". */
static int read_bounded(const char *path, size_t max, char **ret, size_t *len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        _cleanup_free_ char *buf = xmalloc(max + 2);
        size_t n = 0;
        while (n < max + 1) {
                ssize_t k = read(fd, buf + n, max + 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t)k;
        }
        buf[n] = '\0';
        *len = n;
        *ret = TAKE_PTR(buf);
        return 0;
}

static char *json_text(json_t *o, const char *key)
{
        const char *s = json_string_value(json_object_get(o, key));
        return s ? xstrdup(s) : NULL;
}

/* The metadata of url's cached copy; -ENOENT if there is none (or it is
 * another URL's, or unreadable: then the copy is fetched again). */
static int meta_read(const Cache *c, const char *url, Meta *ret)
{
        json_error_t err;
        json_t *o = json_load_file(c->meta, 0, &err);
        if (!o)
                return -ENOENT;
        const char *u = json_string_value(json_object_get(o, "url"));
        if (!u || !streq(u, url) || access(c->body, R_OK) < 0) {
                json_decref(o);
                return -ENOENT;
        }
        *ret = (Meta){
                .etag = json_text(o, "etag"),
                .last_modified = json_text(o, "last_modified"),
                .fetched = json_integer_value(json_object_get(o, "fetched")),
                .changed = json_integer_value(json_object_get(o, "changed")),
        };
        json_decref(o);
        return 0;
}

static int meta_write(const Cache *c, const char *url, const Meta *m)
{
        json_t *o = json_pack("{s:s, s:s?, s:s?, s:I, s:I}", "url", url, "etag", m->etag, "last_modified",
                              m->last_modified, "fetched", (json_int_t)m->fetched, "changed", (json_int_t)m->changed);
        if (!o)
                return -ENOMEM;
        _cleanup_free_ char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(o);
        if (!text)
                return -ENOMEM;
        /* 0600: a URL may hold a secret (a private calendar's address). */
        return fileio_write_atomic(c->meta, text, strlen(text), 0600, true);
}

int holiday_cache_info(const char *url, const char *state_dir, HolidayCacheInfo *ret)
{
        Cache c = cache_paths(url, state_dir);
        Meta m = {0};
        int r = meta_read(&c, url, &m);
        if (r == 0)
                *ret = (HolidayCacheInfo){m.fetched, m.changed, m.etag != NULL, m.last_modified != NULL};
        meta_done(&m);
        cache_done(&c);
        return r;
}

int holiday_source_load(const char *source, const char *state_dir, Holidays **ret, Diags *diags)
{
        *ret = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;
        if (holiday_source_is_url(source)) {
                Cache c = cache_paths(source, state_dir);
                Meta m = {0};
                r = meta_read(&c, source, &m);
                if (r == 0)
                        r = read_bounded(c.body, HOLIDAY_MAX_BYTES, &text, &len);
                meta_done(&m);
                cache_done(&c);
                if (r < 0)
                        return -ENOENT; /* not fetched yet */
        } else {
                r = read_bounded(source, HOLIDAY_MAX_BYTES, &text, &len);
                if (r < 0) {
                        diag_error(diags, source, 0, "cannot read the holiday calendar: %s", strerror(-r));
                        return r;
                }
        }
        return holiday_parse(text, len, source, ret, diags);
}

/* ------------------------------------------------------------------ */
/* Fetching                                                            */

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
        HolidayFetch *f = userdata;
        size_t len = size * n;
        if (f->len + len > HOLIDAY_MAX_BYTES) {
                f->too_big = true;
                return 0; /* libcurl stops with CURLE_WRITE_ERROR */
        }
        if (f->len + len + 1 > f->alloc) {
                f->alloc = (f->len + len + 1) * 2;
                f->data = xrealloc(f->data, f->alloc);
        }
        memcpy(f->data + f->len, data, len);
        f->len += len;
        f->data[f->len] = '\0';
        return len;
}

HolidayFetch *holiday_fetch_free(HolidayFetch *f)
{
        if (!f)
                return NULL;
        if (f->easy)
                curl_easy_cleanup(f->easy);
        curl_slist_free_all(f->headers);
        free(f->url);
        cache_done(&f->cache);
        meta_done(&f->old);
        free(f->data);
        free(f);
        return NULL;
}

static void holiday_fetch_freep(HolidayFetch **f)
{
        holiday_fetch_free(*f);
}

/* Only http and https, and a URL libcurl can read. */
static int url_check(const char *url)
{
        CURLU *u = curl_url();
        char *scheme = NULL;
        int r = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
                                curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
                                (streq(scheme, "http") || streq(scheme, "https"))
                        ? 0
                        : -EINVAL;
        curl_free(scheme);
        curl_url_cleanup(u);
        return r;
}

static void add_header(HolidayFetch *f, const char *name, const char *value)
{
        _cleanup_free_ char *h = xasprintf("%s: %s", name, value);
        f->headers = curl_slist_append(f->headers, h);
}

int holiday_fetch_prepare(const char *url, const char *state_dir, HolidayFetch **ret, CURL **easy)
{
        if (url_check(url) < 0)
                return -EINVAL;
        _cleanup_(holiday_fetch_freep) HolidayFetch *f = xcalloc(1, sizeof(HolidayFetch));
        f->url = xstrdup(url);
        f->cache = cache_paths(url, state_dir);
        /* Validators only with a copy to fall back on. */
        f->cached = meta_read(&f->cache, url, &f->old) == 0;
        if (f->cached) {
                if (f->old.etag)
                        add_header(f, "If-None-Match", f->old.etag);
                if (f->old.last_modified)
                        add_header(f, "If-Modified-Since", f->old.last_modified);
        }
        CURL *e = f->easy = curl_easy_init();
        if (!e)
                return -ENOMEM;
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(e, CURLOPT_MAXREDIRS, FETCH_MAX_REDIRECTS);
        /* A Content-Length over the limit is refused before the body. */
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HOLIDAY_MAX_BYTES);
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* the limit counts decoded bytes */
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->headers);
        curl_easy_setopt(e, CURLOPT_USERAGENT, "tandem/" TANDEM_VERSION);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, FETCH_DEFAULT_TIMEOUT_MS);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->errbuf);
        curl_easy_setopt(e, CURLOPT_PRIVATE, f);
        *easy = e;
        *ret = TAKE_PTR(f);
        return 0;
}

/* A response header of the last request (after redirects), or NULL. */
static char *response_header(CURL *e, const char *name)
{
        struct curl_header *h = NULL;
        if (curl_easy_header(e, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h->value || !*h->value)
                return NULL;
        return xstrdup(h->value);
}

_printf_(3, 4) static int fail(char **error, int r, const char *fmt, ...)
{
        if (error) {
                va_list ap;
                va_start(ap, fmt);
                *error = xvasprintf(fmt, ap);
                va_end(ap);
        }
        return r;
}

static int transfer_error(HolidayFetch *f, CURLcode code, char **error)
{
        if (f->too_big || code == CURLE_FILESIZE_EXCEEDED)
                return fail(error, -EFBIG, "the calendar is larger than %u bytes, keeping the cached copy", HOLIDAY_MAX_BYTES);
        int r = code == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : code == CURLE_COULDNT_CONNECT ? -ECONNREFUSED : -EIO;
        return fail(error, r, "%s%s%s, keeping the cached copy", curl_easy_strerror(code), f->errbuf[0] ? ": " : "",
                    f->errbuf);
}

/* The first error of a refused body, to say why. */
static int body_check(HolidayFetch *f, char **error)
{
        Diags d = {0};
        Holidays *h = NULL;
        int r = holiday_parse(f->data ? f->data : "", f->len, "response", &h, &d);
        holiday_free(h);
        if (r < 0) {
                const char *first = "";
                for (size_t i = 0; i < d.n && !*first; i++)
                        if (!strstr(d.lines[i], "warning: "))
                                first = d.lines[i];
                r = fail(error, -EBADMSG, "not a valid holiday calendar (%s%s), keeping the cached copy", first,
                         d.n_errors > 1 ? ", and more" : "");
        }
        diag_free(&d);
        return r;
}

static bool same_as_cached(HolidayFetch *f)
{
        _cleanup_free_ char *old = NULL;
        size_t len = 0;
        return read_bounded(f->cache.body, HOLIDAY_MAX_BYTES, &old, &len) == 0 && len == f->len &&
               memcmp(old, f->data ? f->data : "", len) == 0;
}

static int make_dirs(const Cache *c)
{
        _cleanup_free_ char *state = xstrdup(c->dir);
        *strrchr(state, '/') = '\0';
        if (mkdir(state, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (mkdir(c->dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* 200: a new copy (if it parses), new validators. */
static int finish_ok(HolidayFetch *f, int64_t now, char **error)
{
        int r = body_check(f, error);
        if (r < 0)
                return r;
        bool same = f->cached && same_as_cached(f);
        Meta m = {
                .etag = response_header(f->easy, "ETag"),
                .last_modified = response_header(f->easy, "Last-Modified"),
                .fetched = now,
                .changed = same ? f->old.changed : now,
        };
        r = make_dirs(&f->cache);
        if (r == 0 && !same)
                r = fileio_write_atomic(f->cache.body, f->data ? f->data : "", f->len, 0600, true);
        if (r == 0)
                r = meta_write(&f->cache, f->url, &m);
        meta_done(&m);
        if (r < 0)
                return fail(error, r, "cannot write the cache in %s: %s", f->cache.dir, strerror(-r));
        return same ? 0 : 1;
}

/* 304 (RFC 9110 section 15.4.5): the copy stays; the answer may carry
 * fresher validators. */
static int finish_not_modified(HolidayFetch *f, int64_t now, char **error)
{
        if (!f->cached)
                return fail(error, -EPROTO, "304 Not Modified to a request without validators");
        Meta m = {
                .etag = response_header(f->easy, "ETag"),
                .last_modified = response_header(f->easy, "Last-Modified"),
                .fetched = now,
                .changed = f->old.changed,
        };
        if (!m.etag && f->old.etag)
                m.etag = xstrdup(f->old.etag);
        if (!m.last_modified && f->old.last_modified)
                m.last_modified = xstrdup(f->old.last_modified);
        int r = meta_write(&f->cache, f->url, &m);
        meta_done(&m);
        if (r < 0)
                return fail(error, r, "cannot write the cache in %s: %s", f->cache.dir, strerror(-r));
        return 0;
}

static int fetch_result(HolidayFetch *f, CURLcode code, int64_t now, char **error)
{
        if (code != CURLE_OK)
                return transfer_error(f, code, error);
        long status = 0;
        curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200)
                return finish_ok(f, now, error);
        if (status == 304)
                return finish_not_modified(f, now, error);
        return fail(error, -EIO, "HTTP status %ld, keeping the cached copy", status);
}

int holiday_fetch_finish(HolidayFetch *f, CURLcode code, int64_t now, char **error)
{
        if (error)
                *error = NULL;
        int r = fetch_result(f, code, now, error);
        holiday_fetch_free(f);
        return r;
}

int holiday_fetch(const char *url, const char *state_dir, long timeout_ms, int64_t now, char **error)
{
        HolidayFetch *f = NULL;
        CURL *easy = NULL;
        if (error)
                *error = NULL;
        int r = holiday_fetch_prepare(url, state_dir, &f, &easy);
        if (r < 0)
                return fail(error, r, "not an http:// or https:// URL");
        if (timeout_ms > 0)
                curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
        CURLcode code = curl_easy_perform(easy);
        return holiday_fetch_finish(f, code, now, error);
}
