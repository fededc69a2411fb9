/* config.c — reads the INI file with inih and validates it into structs.
 *
 * Two passes. Reading collects every section and "key = value" with its
 * line (inih hands its handler no line numbers, so we feed it through our
 * own reader, which counts them). Validation then walks the sections
 * through one table of keys, collecting every error, and finishes with the
 * checks that involve several settings. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <ini.h>
#include <libgen.h>
#include <stddef.h>
#include <sys/stat.h>

#include "suggest.h"
#include "tz.h"
#include "tzdb.h"

const char *const config_chat_names[_CHAT_MAX + 1] = {
        [CHAT_CONSOLE] = "console",       [CHAT_SLACK] = "slack",   [CHAT_MATTERMOST] = "mattermost",
        [CHAT_ROCKETCHAT] = "rocketchat", [CHAT_DISCORD] = "discord", [CHAT_TEAMS] = "teams",
        [CHAT_GOOGLECHAT] = "googlechat", [CHAT_NTFY] = "ntfy",   [CHAT_GENERIC] = "generic",
};

/* ------------------------------------------------------------------ */
/* Reading                                                             */

typedef struct Reader {
        const char *path;
        Config *config;
        Diags *diags;
        char *data;               /* the whole file; lines are cut in place */
        size_t size, pos;         /* pos: where the next physical line starts */
        unsigned line;            /* physical line being parsed */
        char *text;               /* its text: no newline, NUL bytes or inline comment */
        bool comment;             /* an inline comment was cut from it */
        bool line_is_entry;       /* the line should have produced a handler call */
        bool handled;             /* ... and it did */
        bool skip_section;        /* the current section header was bad */
        Section *section;
} Reader;

static void reader_check_line_handled(Reader *r)
{
        if (r->line_is_entry && !r->handled && !r->skip_section)
                diag_error(r->diags, r->path, r->line, "expected \"key = value\", a [kind:id] section header or a comment, got \"%s\"",
                           strstrip(r->text));
        r->line_is_entry = false;
}

static Section *section_add(Reader *r, const char *name)
{
        Config *c = r->config;
        _cleanup_free_ char *copy = xstrdup(name);
        char *n = strstrip(copy);
        char *colon = strchr(n, ':');

        GROW(c->sections, c->n_sections, c->alloc_sections);
        Section *s = &c->sections[c->n_sections++];
        *s = (Section){.line = r->line};
        s->kind = colon ? xstrndup(n, (size_t)(colon - n)) : xstrdup(n);
        s->id = colon ? xstrdup(colon + 1) : NULL;
        return s;
}

/* Classifies the physical line just read: a section header is registered
 * here (inih does not tell its handler about sections without keys, and
 * "[department:qa]" alone is a valid department). */
static void reader_classify(Reader *r)
{
        char *p = r->text;
        while (isspace((unsigned char)*p))
                p++;
        r->line_is_entry = false;
        r->handled = false;
        if (!*p || *p == ';' || *p == '#')
                return;
        if (*p == '[') {
                char *end = strchr(p, ']');
                if (!end) {
                        diag_error(r->diags, r->path, r->line, "expected \"]\" to close the section header \"%s\"", p);
                        r->skip_section = true;
                        return;
                }
                _cleanup_free_ char *name = xstrndup(p + 1, (size_t)(end - p - 1));
                r->section = section_add(r, name);
                r->skip_section = false;
                return;
        }
        r->line_is_entry = true;
}

/* ';' and '#' start a comment at the beginning of a line, and after a
 * value where white space precedes them (as in Python's configparser); a
 * '#' or ';' inside a word ("C#", "https://x/#top") is text. inih itself
 * knows only " ;", and only on the first line of a value. */
static void reader_cut_comment(Reader *r)
{
        r->comment = false;
        for (char *p = r->text + 1; *p; p++)
                if ((*p == ';' || *p == '#') && (p[-1] == ' ' || p[-1] == '\t')) {
                        *p = '\0';
                        r->comment = true;
                        return;
                }
}

/* Cuts the next physical line out of the file, in place. A NUL byte would
 * silently end the value at it: it is reported and dropped. A UTF-8 byte
 * order mark (Windows editors write one) is no part of the first line. */
static bool reader_next_line(Reader *r)
{
        if (r->pos >= r->size)
                return false;
        char *start = r->data + r->pos;
        char *nl = memchr(start, '\n', r->size - r->pos);
        size_t len = nl ? (size_t)(nl - start) : r->size - r->pos;
        r->pos += len + (nl != NULL);
        r->line++;
        start[len] = '\0'; /* the newline, or the spare byte after the data */
        while (len > 0 && start[len - 1] == '\r')
                start[--len] = '\0';
        char *nul = memchr(start, '\0', len);
        if (nul) {
                diag_error(r->diags, r->path, r->line, "a NUL byte at column %zu: tandem reads text files only (UTF-8)",
                           (size_t)(nul - start) + 1);
                size_t k = (size_t)(nul - start);
                for (size_t i = k; i < len; i++)
                        if (start[i])
                                start[k++] = start[i];
                start[k] = '\0';
        }
        if (r->line == 1 && strncmp(start, "\xef\xbb\xbf", 3) == 0)
                start += 3;
        r->text = start;
        return true;
}

/* inih reads the file through this, one physical line per call, into its
 * own buffer of `num` bytes (200 in Debian's build, shorter than a Teams
 * webhook URL). inih is given what it needs to know what the line is:
 * section header, "key = value", continuation, comment; the value itself
 * is taken from the whole line by the handler. */
static char *reader_read(char *str, int num, void *stream)
{
        Reader *r = stream;
        size_t room = (size_t)num - 1;

        reader_check_line_handled(r);
        if (!reader_next_line(r))
                return NULL;
        reader_classify(r);
        const char *hand;
        if (r->line_is_entry) {
                reader_cut_comment(r);
                /* A continuation keeps one character of indentation, so that
                 * a long run of it cannot fill inih's buffer. */
                hand = r->text;
                if (isspace((unsigned char)hand[0])) {
                        while (isspace((unsigned char)hand[1]))
                                hand++;
                }
        } else if (r->section && r->text[strspn(r->text, " \t")] == '[' && !r->skip_section)
                hand = "[s]"; /* registered already; inih only needs to see a section start */
        else
                hand = ";"; /* a comment, a blank line or a bad header (reported) */
        size_t len = strlen(hand);
        if (len > room)
                len = room;
        memcpy(str, hand, len);
        str[len] = '\0';
        return str;
}

/* The value on the current line, as inih would have cut it had its buffer
 * been long enough: after the first '=' or ':' (the whole line for a
 * continuation), without the white space around it. */
static const char *reader_value(Reader *r, bool continuation, size_t *len)
{
        const char *v = r->text;
        if (!continuation) {
                v = strpbrk(v, "=:");
                v = v ? v + 1 : "";
        }
        while (isspace((unsigned char)*v))
                v++;
        size_t n = strlen(v);
        while (n > 0 && isspace((unsigned char)v[n - 1]))
                n--;
        *len = n;
        return v;
}

/* Appends with a doubling buffer: joining the lines of a long value stays
 * linear in its length. */
static void setting_append(Setting *s, const char *sep, const char *v, size_t n)
{
        /* A value is at most the whole file (CONFIG_MAX_FILE_BYTES). */
        size_t n_sep = strlen(sep), need = s->len + n_sep + n + 1;
        if (need > s->alloc) {
                s->alloc = (uint32_t)(need > 2 * (size_t)s->alloc ? need : 2 * (size_t)s->alloc);
                s->value = xrealloc(s->value, s->alloc);
        }
        memcpy(s->value + s->len, sep, n_sep);
        s->len += n_sep;
        memcpy(s->value + s->len, v, n);
        s->len += n;
        s->value[s->len] = '\0';
}

static int reader_handler(void *user, const char *section_name, const char *name, const char *value)
{
        Reader *r = user;
        Section *s = r->section;
        (void)section_name, (void)value;

        r->handled = true;
        if (r->skip_section)
                return 1;
        if (!s) {
                diag_error(r->diags, r->path, r->line, "\"%s\" is outside any section: put it under [tandem], [department:ID], [meeting:ID] or [pairing:ID]", name);
                return 1;
        }
        bool continuation = isspace((unsigned char)r->text[0]);
        Setting *last = s->n_settings ? &s->settings[s->n_settings - 1] : NULL;
        size_t n;
        const char *v = reader_value(r, continuation && last && streq(last->key, name), &n);
        if (continuation && last && streq(last->key, name)) {
                setting_append(last, "\n", v, n);
                last->comment |= r->comment;
                return 1;
        }
        for (size_t i = 0; i < s->n_settings; i++)
                if (streq(s->settings[i].key, name)) {
                        diag_error(r->diags, r->path, r->line, "[%s%s%s] %s: set twice (first at line %u); give each key once",
                                   s->kind, s->id ? ":" : "", s->id ? s->id : "", name, s->settings[i].line);
                        return 1;
                }
        GROW(s->settings, s->n_settings, s->alloc);
        Setting *new = &s->settings[s->n_settings++];
        *new = (Setting){.key = xstrdup(name), .line = r->line, .comment = r->comment};
        setting_append(new, "", v, n);
        return 1;
}

/* The whole file, at most CONFIG_MAX_FILE_BYTES of it, plus a spare byte
 * for the terminating NUL: a config is read at once, and a file that is
 * no config (a log, /dev/zero) is refused before it is parsed. */
static int config_slurp(FILE *f, char **ret, size_t *size)
{
        struct stat st;
        if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > (off_t)CONFIG_MAX_FILE_BYTES)
                return -EFBIG;
        size_t n = 0, alloc = 64 << 10;
        _cleanup_free_ char *buf = xmalloc(alloc);
        for (;;) {
                if (n + 1 >= alloc) {
                        alloc *= 2;
                        buf = xrealloc(buf, alloc);
                }
                size_t k = fread(buf + n, 1, alloc - n - 1, f);
                n += k;
                if (n > CONFIG_MAX_FILE_BYTES)
                        return -EFBIG;
                if (k == 0)
                        break;
        }
        if (ferror(f))
                return errno > 0 ? -errno : -EIO;
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        *size = n;
        return 0;
}

/* Copies text's n bytes and a NUL to *p, frees text. */
static char *pack_string(char **p, char *text, size_t n)
{
        if (!text)
                return NULL;
        char *at = *p;
        memcpy(at, text, n);
        at[n] = '\0';
        *p = at + n + 1;
        free(text);
        return at;
}

/* The sections and settings stay for the config's life (errors name
 * their lines). Once read, their names, keys and values are moved into
 * one block, and each array cut to its size: at 5000 meetings 58,000
 * settings, whose strings in malloc's blocks of their own took 2.9 MB
 * more, and arrays grown by doubling 1.4 MB. */
static void config_pack(Config *c)
{
        size_t size = 1;
        for (size_t i = 0; i < c->n_sections; i++) {
                const Section *s = &c->sections[i];
                size += strlen(s->kind) + 1 + (s->id ? strlen(s->id) + 1 : 0);
                for (size_t k = 0; k < s->n_settings; k++)
                        size += strlen(s->settings[k].key) + 1 + s->settings[k].len + 1;
        }
        char *p = c->strings = xmalloc(size);
        for (size_t i = 0; i < c->n_sections; i++) {
                Section *s = &c->sections[i];
                s->kind = pack_string(&p, s->kind, strlen(s->kind));
                s->id = pack_string(&p, s->id, s->id ? strlen(s->id) : 0);
                for (size_t k = 0; k < s->n_settings; k++) {
                        Setting *t = &s->settings[k];
                        t->key = pack_string(&p, t->key, strlen(t->key));
                        t->value = pack_string(&p, t->value, t->len);
                        t->alloc = 0;
                }
                s->settings = xrealloc(s->settings, (s->n_settings ? s->n_settings : 1) * sizeof(Setting));
                s->alloc = s->n_settings;
        }
        c->sections = xrealloc(c->sections, (c->n_sections ? c->n_sections : 1) * sizeof(Section));
        c->alloc_sections = c->n_sections;
}

/* Copies s and its NUL to *p. */
static char *copy_string(char **p, const char *s)
{
        if (!s)
                return NULL;
        size_t n = strlen(s) + 1;
        char *at = memcpy(*p, s, n);
        *p += n;
        return at;
}

/* Once parsed, a config keeps of each setting only its key and line:
 * errors found later (a schedule's, at a reload or the daily round) name
 * FILE:LINE, and nothing reads a value again. At 5000 meetings the values
 * and their 32-byte Settings took 3.3 MB for the daemon's life; the keys,
 * a few dozen names repeated, are kept once each. */
static void config_compact(Config *c)
{
        size_t size = 1;
        StrMap seen = {0};
        for (size_t i = 0; i < c->n_sections; i++) {
                const Section *s = &c->sections[i];
                size += strlen(s->kind) + 1 + (s->id ? strlen(s->id) + 1 : 0);
                for (size_t k = 0; k < s->n_settings; k++)
                        if (!strmap_put(&seen, s->settings[k].key, (void *)s->settings[k].key))
                                size += strlen(s->settings[k].key) + 1;
        }
        strmap_free(&seen);
        char *strings = xmalloc(size), *p = strings;
        for (size_t i = 0; i < c->n_sections; i++) {
                Section *s = &c->sections[i];
                s->kind = copy_string(&p, s->kind);
                s->id = copy_string(&p, s->id);
                s->keys = xcalloc(s->n_settings + 1, sizeof(KeyLine));
                for (size_t k = 0; k < s->n_settings; k++) {
                        const char *key = strmap_get(&seen, s->settings[k].key);
                        if (!key) {
                                key = copy_string(&p, s->settings[k].key);
                                strmap_put(&seen, key, (void *)key);
                        }
                        s->keys[k] = (KeyLine){key, s->settings[k].line};
                }
                free(s->settings);
                s->settings = NULL;
                s->alloc = 0;
        }
        strmap_free(&seen);
        free(c->strings);
        c->strings = strings;
}

static int config_read(Config *c, FILE *f, Diags *diags)
{
        Reader r = {.path = c->path, .config = c, .diags = diags};
        int k = config_slurp(f, &r.data, &r.size);
        if (k == -EFBIG) {
                diag_error(diags, c->path, 0, "larger than %u MiB: a config describes departments and meetings; "
                           "is this the right file?", CONFIG_MAX_FILE_BYTES >> 20);
                return 0;
        }
        if (k < 0)
                return k;
        /* Notepad's "Unicode" is UTF-16: every other byte is a NUL. */
        if (r.size >= 2 && (memcmp(r.data, "\xff\xfe", 2) == 0 || memcmp(r.data, "\xfe\xff", 2) == 0))
                diag_error(diags, c->path, 1, "the file is UTF-16 (it starts with a UTF-16 byte order mark): save it as UTF-8");
        else
                ini_parse_stream(reader_read, &r, reader_handler, &r);
        free(r.data);
        config_pack(c);
        return 0;
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */

typedef struct Ctx {
        Config *config;
        Diags *diags;
        const Section *section;
        const Setting *setting;
        void *obj;
} Ctx;

static void section_label(const Section *s, char *buf, size_t n)
{
        snprintf(buf, n, "[%s%s%s]", s->kind, s->id ? ":" : "", s->id ? s->id : "");
}

/* A message about the current setting: "FILE:LINE: [meeting:x] key: ...". */
_printf_(3, 0) static void report(Ctx *ctx, bool warning, const char *fmt, va_list ap)
{
        char label[160];
        section_label(ctx->section, label, sizeof label);
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        void (*add)(Diags *, const char *, unsigned, const char *, ...) = warning ? diag_warning : diag_error;
        if (ctx->setting)
                add(ctx->diags, ctx->config->path, ctx->setting->line, "%s %s: %s", label, ctx->setting->key, msg);
        else
                add(ctx->diags, ctx->config->path, ctx->section->line, "%s %s", label, msg);
}

_printf_(2, 3) static void bad(Ctx *ctx, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        report(ctx, false, fmt, ap);
        va_end(ap);
}

_printf_(2, 3) static void warn(Ctx *ctx, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        report(ctx, true, fmt, ap);
        va_end(ap);
}

/* ", did you mean "x"?" or "" */
static char *did_you_mean(const char *word, const char *const *candidates)
{
        const char *s = suggest(word, candidates);
        return s ? xasprintf(" (did you mean \"%s\"?)", s) : xstrdup("");
}

typedef int (*ValueParser)(Ctx *ctx, const char *value, void *field);

#define FIELD(ctx, off) ((void *)((char *)(ctx)->obj + (off)))

static int parse_text(Ctx *ctx, const char *v, void *field)
{
        if (str_is_blank(v)) {
                bad(ctx, "expected a value, got nothing");
                return -EINVAL;
        }
        *(char **)field = xstrdup(v);
        return 0;
}

static int parse_zone(Ctx *ctx, const char *v, void *field)
{
        icaltimezone *z = tz_lookup(v);
        if (!z) {
                const char *near[TZDB_SUGGEST_MAX];
                size_t n = tzdb_suggest(v, near);
                Buf hint = {0};
                for (size_t i = 0; i < n && i < TZDB_SUGGEST_MAX; i++)
                        buf_printf(&hint, "%s\"%s\"", i == 0 ? (n > 1 ? " (did you mean one of " : " (did you mean ")
                                                         : i + 1 == n ? " or " : ", ", near[i]);
                buf_append(&hint, n > TZDB_SUGGEST_MAX ? ", ...?)" : n ? "?)" : "");
                bad(ctx, "unknown time zone \"%s\"%s; expected an IANA name such as \"Europe/Berlin\" or \"UTC\"", v,
                    hint.s ? hint.s : "");
                buf_free(&hint);
                return -EINVAL;
        }
        *(icaltimezone **)field = z;
        return 0;
}

static int parse_chat(Ctx *ctx, const char *v, void *field)
{
        for (int k = 0; k < _CHAT_MAX; k++)
                if (streq(v, config_chat_names[k])) {
                        *(ChatKind *)field = (ChatKind)k;
                        return 0;
                }
        _cleanup_free_ char *hint = did_you_mean(v, config_chat_names);
        bad(ctx, "unknown chat \"%s\"%s; expected slack, mattermost, rocketchat, discord, teams, googlechat, ntfy, generic or console", v, hint);
        return -EINVAL;
}

/* Parsed by libcurl's URL API, the same parser that will send to it, so a
 * URL that can never work (port 99999, "[::1" unclosed) is a config error
 * now rather than a retried failure at the first reminder. The URL is a
 * secret: messages never repeat it. */
static int url_check(Ctx *ctx, const char *v, CURLU **ret)
{
        CURLU *u = curl_url();
        if (!u)
                abort(); /* out of memory, as xmalloc */
        /* libcurl reads "http:///x" as host x; nobody means that. */
        const char *authority = strstr(v, "://");
        CURLUcode rc = strpbrk(v, " \t\n\"<>") || (authority && authority[3] == '/')
                               ? CURLUE_MALFORMED_INPUT
                               : curl_url_set(u, CURLUPART_URL, v, 0);
        _cleanup_free_ char *scheme = NULL, *host = NULL, *port = NULL;
        if (rc == CURLUE_OK)
                rc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
        if (rc == CURLUE_OK)
                rc = curl_url_get(u, CURLUPART_HOST, &host, 0);
        if (rc == CURLUE_OK && curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && streq(port, "0"))
                bad(ctx, "expected an http:// or https:// URL with a port from 1 to 65535, got port 0");
        else if (rc == CURLUE_OK && !streq(scheme, "http") && !streq(scheme, "https"))
                bad(ctx, "expected an http:// or https:// URL, got \"%s:\"", scheme);
        else if (rc != CURLUE_OK)
                bad(ctx, "expected an http:// or https:// URL; libcurl cannot use this one: %s", curl_url_strerror(rc));
        else {
                *ret = u;
                return 0;
        }
        curl_url_cleanup(u);
        return -EINVAL;
}

static int parse_url(Ctx *ctx, const char *v, void *field)
{
        CURLU *u;
        if (url_check(ctx, v, &u) < 0)
                return -EINVAL;
        curl_url_cleanup(u);
        *(char **)field = xstrdup(v);
        return 0;
}

/* The base of every subscribe link: "/feeds/all.ics" is appended to it. */
static int parse_base_url(Ctx *ctx, const char *v, void *field)
{
        CURLU *u;
        if (url_check(ctx, v, &u) < 0)
                return -EINVAL;
        _cleanup_free_ char *query = NULL, *fragment = NULL;
        curl_url_get(u, CURLUPART_QUERY, &query, 0);
        curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0);
        curl_url_cleanup(u);
        if (query || fragment) {
                bad(ctx, "expected a base URL like \"https://cal.example.com\" or \"https://example.com/tandem\", "
                         "without ?query or #fragment: feed paths are appended to it");
                return -EINVAL;
        }
        *(char **)field = xstrdup(v);
        return 0;
}

static int parse_email_address(const char *v)
{
        const char *at = strchr(v, '@');
        if (!at || at == v || !at[1] || strchr(at + 1, '@') || strpbrk(v, " \t\n<>,;\"") || !strchr(at + 1, '.'))
                return -EINVAL;
        return 0;
}

static int parse_email(Ctx *ctx, const char *v, void *field)
{
        if (parse_email_address(v) < 0) {
                bad(ctx, "expected an e-mail address like \"sales@example.com\", got \"%s\"", v);
                return -EINVAL;
        }
        *(char **)field = xstrdup(v);
        return 0;
}

/* "Ada Lovelace <ada@example.com>" */
static int parse_manager(Ctx *ctx, const char *v, void *field)
{
        Department *d = ctx->obj;
        const char *lt = strrchr(v, '<'), *gt = strrchr(v, '>');
        (void)field;
        if (lt && gt && gt > lt && gt[1] == '\0') {
                _cleanup_free_ char *name = xstrndup(v, (size_t)(lt - v));
                _cleanup_free_ char *addr = xstrndup(lt + 1, (size_t)(gt - lt - 1));
                if (!str_is_blank(name) && parse_email_address(addr) == 0) {
                        d->manager_name = xstrdup(strstrip(name));
                        d->manager_email = xstrdup(addr);
                        return 0;
                }
        }
        bad(ctx, "expected \"Name <email>\", like \"Ada Lovelace <ada@example.com>\", got \"%s\"", v);
        return -EINVAL;
}

static int parse_domain(Ctx *ctx, const char *v, void *field)
{
        for (const char *p = v; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.') {
                        bad(ctx, "expected a domain name like \"example.com\", got \"%s\"", v);
                        return -EINVAL;
                }
        return parse_text(ctx, v, field);
}

static int parse_token(Ctx *ctx, const char *v, void *field)
{
        /* Only characters that need no escaping in a URL query. */
        size_t n = strlen(v);
        if (n < 8 || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") != n) {
                bad(ctx, "expected at least 8 characters of A-Z a-z 0-9 - . _ ~");
                return -EINVAL;
        }
        return parse_text(ctx, v, field);
}

static int parse_listen(Ctx *ctx, const char *v, void *field)
{
        const char *port;
        if (streq(v, "off"))
                return parse_text(ctx, v, field);
        if (v[0] == '[') {
                const char *close = strchr(v, ']');
                port = close && close[1] == ':' ? close + 2 : NULL;
        } else {
                const char *colon = strrchr(v, ':');
                port = colon && colon != v && !memchr(v, ':', (size_t)(colon - v)) ? colon + 1 : NULL;
        }
        unsigned p;
        if (!port || parse_uint(port, 1, 65535, &p) < 0) {
                bad(ctx, "expected \"HOST:PORT\", \"[IPv6]:PORT\" or \"off\", got \"%s\"", v);
                return -EINVAL;
        }
        return parse_text(ctx, v, field);
}

static int parse_hhmm_field(Ctx *ctx, const char *v, void *field)
{
        Meeting *m = ctx->obj;
        (void)field;
        int r = parse_hhmm(v, &m->hour, &m->minute);
        if (r < 0)
                bad(ctx, "expected a 24-hour time \"HH:MM\", like \"09:30\" or \"14:00\", got \"%s\"", v);
        return r;
}

static int parse_date_field(Ctx *ctx, const char *v, void *field)
{
        int r = parse_date(v, field);
        if (r == -ERANGE)
                bad(ctx, "\"%s\" is not a date in the calendar (1970-2199)", v);
        else if (r < 0)
                bad(ctx, "expected a date \"YYYY-MM-DD\", got \"%s\"", v);
        return r;
}

static int parse_duration_field(Ctx *ctx, const char *v, void *field)
{
        int64_t s;
        if (parse_duration(v, &s) < 0) {
                bad(ctx, "expected a duration like \"30m\", \"1h\" or \"1h30m\", got \"%s\"", v);
                return -EINVAL;
        }
        if (s < 5 * 60 || s > 24 * 3600) {
                bad(ctx, "%s is out of range: a meeting lasts from 5 minutes to 24 hours", v);
                return -ERANGE;
        }
        *(int64_t *)field = s;
        return 0;
}

/* Whole days, "400d", up to ten years. */
static int parse_days(Ctx *ctx, const char *v, void *field)
{
        int64_t s;
        if (parse_duration(v, &s) < 0 || s % 86400 != 0 || s < 86400 || s > 3660 * 86400) {
                bad(ctx, "expected a number of days from 1d to 3660d, like \"400d\", got \"%s\"", v);
                return -EINVAL;
        }
        *(int64_t *)field = s;
        return 0;
}

static int parse_attendees(Ctx *ctx, const char *v, void *field)
{
        static const char *const names[] = {"everyone", "managers", "none", NULL};
        for (int i = 0; names[i]; i++)
                if (streq(v, names[i])) {
                        *(Attendees *)field = (Attendees)i;
                        return 0;
                }
        _cleanup_free_ char *hint = did_you_mean(v, names);
        bad(ctx, "expected everyone, managers or none, got \"%s\"%s", v, hint);
        return -EINVAL;
}

static int parse_id_list(Ctx *ctx, const char *v, void *field)
{
        Meeting *m = ctx->obj;
        char **ids;
        size_t n = str_split_commas(v, &ids);
        int r = 0;
        (void)field;

        m->departments = xcalloc(n, sizeof(Department *));
        for (size_t i = 0; i < n; i++) {
                Department *d = config_department(ctx->config, ids[i]);
                if (!d) {
                        _cleanup_free_ const char **known = xcalloc(ctx->config->n_departments + 1, sizeof(char *));
                        for (size_t k = 0; k < ctx->config->n_departments; k++)
                                known[k] = ctx->config->departments[k].id;
                        _cleanup_free_ char *hint = did_you_mean(ids[i], known);
                        bad(ctx, "no [department:%s] is defined%s", ids[i], hint);
                        r = -EINVAL;
                        continue;
                }
                if (meeting_has_department(m, d)) {
                        bad(ctx, "\"%s\" is listed twice", ids[i]);
                        r = -EINVAL;
                        continue;
                }
                m->departments[m->n_departments++] = d;
        }
        if (r == 0 && n < 2) {
                bad(ctx, "a %s needs two or more departments, got %zu",
                    streq(ctx->section->kind, "pairing") ? "pairing" : "joint meeting", n);
                r = -EINVAL;
        }
        strv_free(ids, n);
        return r;
}

static int parse_cadence(Ctx *ctx, const char *v, void *field)
{
        Meeting *m = ctx->obj;
        unsigned n;
        (void)field;
        m->interval = 1;
        if (streq(v, "weekly"))
                m->cadence = CADENCE_WEEKLY;
        else if (streq(v, "biweekly"))
                m->cadence = CADENCE_WEEKLY, m->interval = 2;
        else if (streq(v, "monthly"))
                m->cadence = CADENCE_MONTHLY;
        else if (strncmp(v, "rrule:", 6) == 0) {
                m->cadence = CADENCE_RRULE;
                _cleanup_free_ char *rule = xstrdup(v + 6);
                m->rrule = xstrdup(strstrip(rule));
                return 0; /* checked with the schedule, which owns RRULE semantics */
        } else if (strncmp(v, "every ", 6) == 0) {
                char num[16] = "";
                char unit[16] = "";
                int used = 0;
                if (sscanf(v + 6, "%15s %15s%n", num, unit, &used) != 2 || v[6 + used] != '\0' ||
                    (!streq(unit, "weeks") && !streq(unit, "week")) || parse_uint(num, 1, 52, &n) < 0) {
                        bad(ctx, "expected \"every N weeks\" with N from 1 to 52, got \"%s\"", v);
                        return -EINVAL;
                }
                m->cadence = CADENCE_WEEKLY;
                m->interval = n;
        } else {
                static const char *const names[] = {"weekly", "biweekly", "monthly", NULL};
                _cleanup_free_ char *hint = did_you_mean(v, names);
                bad(ctx, "expected weekly, biweekly, \"every N weeks\", monthly or \"rrule:RULE\", got \"%s\"%s", v, hint);
                return -EINVAL;
        }
        return 0;
}

static int parse_reminders(Ctx *ctx, const char *v, void *field)
{
        Meeting *m = ctx->obj;
        char **items;
        int r = 0;
        (void)field;
        if (streq(v, "none")) {
                m->n_reminders = 0;
                return 0;
        }
        size_t n = str_split_commas(v, &items);
        free(m->reminders);
        m->reminders = xcalloc(n, sizeof(Reminder));
        m->n_reminders = 0;
        for (size_t i = 0; i < n; i++) {
                int64_t s;
                if (parse_duration(items[i], &s) < 0) {
                        bad(ctx, "expected offsets like \"10m\", \"2h\", \"1d\" or \"none\", got \"%s\"", items[i]);
                        r = -EINVAL;
                        continue;
                }
                if (s > 28 * 86400) {
                        bad(ctx, "%s is more than 28 days before the meeting", items[i]);
                        r = -ERANGE;
                        continue;
                }
                for (size_t k = 0; k < m->n_reminders; k++)
                        if (m->reminders[k].before == s) {
                                bad(ctx, "\"%s\" repeats \"%s\"", items[i], m->reminders[k].text);
                                r = -EINVAL;
                        }
                if (r == 0)
                        m->reminders[m->n_reminders++] = (Reminder){s, xstrdup(items[i])};
        }
        if (n == 0) {
                bad(ctx, "expected offsets like \"15m\" or \"none\"");
                r = -EINVAL;
        }
        strv_free(items, n);
        return r;
}

const char *const config_on_holiday_names[] = {"skip", "before", "after", "keep", NULL};

/* Splits a list at the commas outside parentheses, so that a reason may
 * hold one: "2026-12-24 (Christmas Eve, observed), 2027-01-05". */
static size_t split_items(const char *v, char ***ret)
{
        char **items = NULL;
        size_t n = 0, alloc = 0;
        int depth = 0;
        const char *start = v;
        for (const char *p = v;; p++) {
                if (*p == '(')
                        depth++;
                else if (*p == ')' && depth > 0)
                        depth--;
                if (*p && (*p != ',' || depth > 0))
                        continue;
                _cleanup_free_ char *item = xstrndup(start, (size_t)(p - start));
                if (!str_is_blank(item)) {
                        GROW(items, n, alloc);
                        items[n++] = xstrdup(strstrip(item));
                }
                if (!*p)
                        break;
                start = p + 1;
        }
        *ret = items;
        return n;
}

/* Cuts a trailing "(reason)" off item into *reason. */
static int cut_reason(Ctx *ctx, char *item, char **reason)
{
        *reason = NULL;
        char *open = strchr(item, '('), *close = strrchr(item, ')');
        if (!open && !close)
                return 0;
        if (!open || !close || close < open || !str_is_blank(close + 1)) {
                bad(ctx, "expected the reason in parentheses at the end, like \"2026-12-24 (Christmas Eve)\", got \"%s\"", item);
                return -EINVAL;
        }
        *close = '\0';
        _cleanup_free_ char *text = xstrdup(open + 1);
        *open = '\0';
        strstrip(item);
        if (str_is_blank(text)) {
                bad(ctx, "the reason in parentheses is empty: leave out the parentheses, or say why");
                return -EINVAL;
        }
        *reason = xstrdup(strstrip(text));
        return 0;
}

static void add_change(Meeting *m, Change c)
{
        m->changes = xrealloc(m->changes, (m->n_changes + 1) * sizeof(Change));
        m->changes[m->n_changes++] = c;
        if (c.move)
                return;
        m->skip = xrealloc(m->skip, (m->n_skip + 1) * sizeof(Date));
        m->skip[m->n_skip++] = c.date;
}

/* "2027-01-06 14:00", "2027-01-06" or "14:00": where a move goes. */
static int parse_move_target(const char *s, Change *c)
{
        char a[32] = "", b[32] = "";
        int used = 0, k = sscanf(s, "%31s %31s%n", a, b, &used);
        if (k == 1 && strchr(a, ':'))
                return parse_hhmm(a, &c->to_hour, &c->to_minute) < 0 ? -EINVAL : (c->to = c->date, 0);
        if (k >= 1 && parse_date(a, &c->to) < 0)
                return -EINVAL;
        if (k == 1)
                return 0;
        if (k == 2 && s[used] == '\0' && parse_hhmm(b, &c->to_hour, &c->to_minute) == 0)
                return 0;
        return -EINVAL;
}

/* One item of skip ("2026-12-24 (Christmas Eve)") or of move ("2027-01-05
 * -> 2027-01-06 14:00 (offsite)"). */
static int parse_change(Ctx *ctx, char *item, bool move, Change *c)
{
        *c = (Change){.line = ctx->setting->line, .move = move, .to_hour = -1, .to_minute = -1};
        if (cut_reason(ctx, item, &c->reason) < 0)
                return -EINVAL;
        char *arrow = move ? strstr(item, "->") : NULL;
        if (move && !arrow) {
                bad(ctx, "expected \"DATE -> NEW\", like \"2027-01-05 -> 2027-01-06 14:00\", \"2027-01-05 -> "
                         "2027-01-07\" or \"2027-01-05 -> 15:30\", got \"%s\"", item);
                return -EINVAL;
        }
        if (arrow)
                *arrow = '\0';
        if (parse_date_field(ctx, strstrip(item), &c->date) < 0)
                return -EINVAL;
        if (arrow && parse_move_target(strstrip(arrow + 2), c) < 0) {
                bad(ctx, "expected a new date and/or time after \"->\", like \"2027-01-06 14:00\", \"2027-01-06\" or "
                         "\"14:00\", got \"%s\"", strstrip(arrow + 2));
                return -EINVAL;
        }
        return 0;
}

/* skip = 2026-12-24 (Christmas Eve), 2027-01-05
 * move = 2027-01-05 -> 2027-01-06 14:00 (offsite), 2027-02-02 -> 15:30 */
static int parse_changes(Ctx *ctx, const char *v, bool move)
{
        char **items;
        int r = 0;
        size_t n = split_items(v, &items);
        for (size_t i = 0; i < n; i++) {
                Change c;
                if (parse_change(ctx, items[i], move, &c) < 0) {
                        free(c.reason);
                        r = -EINVAL;
                        continue;
                }
                add_change(ctx->obj, c);
        }
        if (n == 0) {
                bad(ctx, move ? "expected moves like \"2027-01-05 -> 2027-01-06 14:00 (offsite)\""
                              : "expected dates like \"2026-12-24\" or \"2026-12-24 (Christmas Eve)\"");
                r = -EINVAL;
        }
        strv_free(items, n);
        return r;
}

static int parse_skip(Ctx *ctx, const char *v, void *field)
{
        (void)field;
        return parse_changes(ctx, v, false);
}

static int parse_move(Ctx *ctx, const char *v, void *field)
{
        (void)field;
        return parse_changes(ctx, v, true);
}

static int parse_on_holiday(Ctx *ctx, const char *v, void *field)
{
        for (int i = 0; config_on_holiday_names[i]; i++)
                if (streq(v, config_on_holiday_names[i])) {
                        *(OnHoliday *)field = (OnHoliday)i;
                        return 0;
                }
        _cleanup_free_ char *hint = did_you_mean(v, config_on_holiday_names);
        bad(ctx, "expected skip, before, after or keep, got \"%s\"%s", v, hint);
        return -EINVAL;
}

/* "mon-fri", "sun-thu", "mon, tue, thu", "fri-mon" (across the weekend). */
static int parse_working_days(Ctx *ctx, const char *v, void *field)
{
        char **items;
        unsigned days = 0;
        int r = 0;
        size_t n = str_split_commas(v, &items);
        for (size_t i = 0; i < n; i++) {
                char *dash = strchr(items[i], '-');
                if (dash)
                        *dash = '\0';
                int a = parse_weekday(strstrip(items[i])), b = dash ? parse_weekday(strstrip(dash + 1)) : a;
                if (a < 0 || b < 0) {
                        bad(ctx, "expected weekdays and ranges like \"mon-fri\", \"sun-thu\" or \"mon, wed, fri\"");
                        r = -EINVAL;
                        break;
                }
                for (int d = a;; d = d % 7 + 1) {
                        days |= 1u << d;
                        if (d == b)
                                break;
                }
        }
        if (r == 0 && n == 0) {
                bad(ctx, "expected working days like \"mon-fri\"");
                r = -EINVAL;
        }
        strv_free(items, n);
        if (r == 0)
                *(unsigned *)field = days;
        return r;
}

/* holidays = /etc/tandem/holidays-de.ics, https://example.com/holidays.ics */
static int parse_holidays(Ctx *ctx, const char *v, void *field)
{
        Sources *s = field;
        char **items;
        int r = 0;
        size_t n = str_split_commas(v, &items);
        for (size_t i = 0; i < n; i++) {
                if (strstr(items[i], "://")) {
                        CURLU *u;
                        if (url_check(ctx, items[i], &u) < 0) {
                                r = -EINVAL;
                                continue;
                        }
                        curl_url_cleanup(u);
                }
                s->v = xrealloc(s->v, (s->n + 1) * sizeof(char *));
                s->v[s->n++] = xstrdup(items[i]);
        }
        if (n == 0) {
                bad(ctx, "expected iCalendar files or https:// URLs of holiday calendars");
                r = -EINVAL;
        }
        strv_free(items, n);
        return r;
}

/* Interpreted after the section, once the cadence is known. */
static int parse_later(Ctx *ctx, const char *v, void *field)
{
        (void)ctx, (void)v, (void)field;
        return 0;
}

typedef enum SectionKind { SECTION_TANDEM, SECTION_DEPARTMENT, SECTION_MEETING, SECTION_PAIRING, SECTION_KINDS } SectionKind;

/* Which sections a key is for: bits (1 << SectionKind). */
#define T (1u << SECTION_TANDEM)
#define D (1u << SECTION_DEPARTMENT)
#define M (1u << SECTION_MEETING)
#define P (1u << SECTION_PAIRING)

typedef struct KeyDef {
        unsigned sections;
        const char *key;
        ValueParser parse;
        size_t offset;
        bool required;
} KeyDef;

/* The one table of every key tandem knows (README "Config reference"). A
 * [pairing:ID] takes a meeting's keys, each meaning the same for every
 * pair, but move (pairing_refused). */
static const KeyDef keys[] = {
        {T, "timezone", parse_zone, offsetof(Config, zone), false},
        {T, "calendar_name", parse_text, offsetof(Config, calendar_name), false},
        {T, "domain", parse_domain, offsetof(Config, domain), false},
        {T, "state_dir", parse_text, offsetof(Config, state_dir), false},
        {T, "feed_dir", parse_text, offsetof(Config, feed_dir), false},
        {T, "listen", parse_listen, offsetof(Config, listen), false},
        {T, "public_url", parse_base_url, offsetof(Config, public_url), false},
        {T, "feed_token", parse_token, offsetof(Config, feed_token), false},
        {T, "holidays", parse_holidays, offsetof(Config, holidays), false},
        {T, "feed_horizon", parse_days, offsetof(Config, feed_horizon), false},

        {D, "name", parse_text, offsetof(Department, name), false},
        {D, "timezone", parse_zone, offsetof(Department, zone), false},
        {D, "chat", parse_chat, offsetof(Department, chat), false},
        {D, "webhook", parse_url, offsetof(Department, webhook), false},
        {D, "mention", parse_text, offsetof(Department, mention), false},
        {D, "manager", parse_manager, 0, false},
        {D, "email", parse_email, offsetof(Department, email), false},
        {D, "holidays", parse_holidays, offsetof(Department, holidays), false},
        {D, "working_days", parse_working_days, offsetof(Department, working_days), false},

        {M | P, "title", parse_text, offsetof(Meeting, title), true},
        {M | P, "departments", parse_id_list, 0, true},
        {M | P, "cadence", parse_cadence, 0, false},
        {M | P, "day", parse_later, 0, false},
        {M | P, "time", parse_hhmm_field, 0, true},
        {M | P, "duration", parse_duration_field, offsetof(Meeting, duration), false},
        {M | P, "timezone", parse_zone, offsetof(Meeting, zone), false},
        {M | P, "start", parse_date_field, offsetof(Meeting, start), true},
        {M | P, "end", parse_date_field, offsetof(Meeting, end), false},
        {M | P, "location", parse_text, offsetof(Meeting, location), false},
        {M | P, "description", parse_text, offsetof(Meeting, description), false},
        {M | P, "host", parse_later, 0, false},
        {M | P, "attendees", parse_attendees, offsetof(Meeting, attendees), false},
        {M | P, "remind", parse_reminders, 0, false},
        {M | P, "skip", parse_skip, 0, false},
        {M, "move", parse_move, 0, false},
        {M | P, "on_holiday", parse_on_holiday, offsetof(Meeting, on_holiday), false},
};

#undef T
#undef D
#undef M
#undef P

/* Keys of a meeting that a pairing refuses, and why. */
static const struct {
        const char *key, *why;
} pairing_refused[] = {
        {"move", "a round's pairs cannot be moved by hand (each pair has its own calendar and holidays); "
                 "skip the round (skip = DATE), or set on_holiday = before or after"},
};

static const char *const section_kinds[] = {"tandem", "department", "meeting", "pairing", NULL};

static const Setting *section_get(const Section *s, const char *key)
{
        for (size_t i = 0; i < s->n_settings; i++)
                if (streq(s->settings[i].key, key))
                        return &s->settings[i];
        return NULL;
}

unsigned config_line(const Section *s, const char *key)
{
        if (!s->settings) {
                for (size_t i = 0; i < s->n_settings; i++)
                        if (streq(s->keys[i].key, key))
                                return s->keys[i].line;
                return s->line;
        }
        const Setting *st = section_get(s, key);
        return st ? st->line : s->line;
}

/* Applies the table to one section; returns -EINVAL if any value was bad. */
static int section_apply(Ctx *ctx, SectionKind kind)
{
        int r = 0;
        const char *names[ELEMENTSOF(keys) + 1];
        size_t n_names = 0;

        for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                if (keys[k].sections & (1u << kind))
                        names[n_names++] = keys[k].key;
        names[n_names] = NULL;

        for (size_t i = 0; i < ctx->section->n_settings; i++) {
                const Setting *s = &ctx->section->settings[i];
                const KeyDef *def = NULL;
                for (size_t k = 0; k < ELEMENTSOF(keys) && !def; k++)
                        if ((keys[k].sections & (1u << kind)) && streq(keys[k].key, s->key))
                                def = &keys[k];
                ctx->setting = s;
                if (s->len > CONFIG_MAX_VALUE_BYTES) {
                        bad(ctx, "%u bytes, more than a value may hold (%u KiB): link to a longer text instead",
                            s->len, CONFIG_MAX_VALUE_BYTES >> 10);
                        r = -EINVAL;
                        continue;
                }
                /* Chats and calendars take UTF-8 only (RFC 5545 section 3.1.4). */
                if (!utf8_valid(s->value)) {
                        bad(ctx, "not valid UTF-8: save the file as UTF-8");
                        r = -EINVAL;
                        continue;
                }
                const char *refused = NULL;
                for (size_t k = 0; kind == SECTION_PAIRING && k < ELEMENTSOF(pairing_refused); k++)
                        if (streq(s->key, pairing_refused[k].key))
                                refused = pairing_refused[k].why;
                if (refused) {
                        bad(ctx, "not used in a pairing: %s", refused);
                        r = -EINVAL;
                        continue;
                }
                if (!def) {
                        const char *hint = suggest(s->key, names);
                        if (hint)
                                bad(ctx, "unknown key (did you mean \"%s\"?)", hint);
                        else {
                                Buf all = {0};
                                for (size_t k = 0; names[k]; k++)
                                        buf_printf(&all, "%s%s", k ? ", " : "", names[k]);
                                bad(ctx, "unknown key; expected one of %s", all.s);
                                buf_free(&all);
                        }
                        r = -EINVAL;
                        continue;
                }
                if (s->comment && str_is_blank(s->value)) {
                        bad(ctx, "expected a value, got only a comment (\"#\" and \";\" after a space start one)");
                        r = -EINVAL;
                        continue;
                }
                if (def->parse(ctx, s->value, FIELD(ctx, def->offset)) < 0)
                        r = -EINVAL;
        }
        ctx->setting = NULL;
        for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                if ((keys[k].sections & (1u << kind)) && keys[k].required && !section_get(ctx->section, keys[k].key)) {
                        bad(ctx, "missing required key \"%s\"", keys[k].key);
                        r = -EINVAL;
                }
        return r;
}

Department *config_department(const Config *c, const char *id)
{
        return strmap_get(&c->department_ids, id);
}

bool meeting_has_department(const Meeting *m, const Department *d)
{
        for (size_t i = 0; i < m->n_departments; i++)
                if (m->departments[i] == d)
                        return true;
        return false;
}

int64_t meeting_first_reminder(const Meeting *m)
{
        int64_t first = 0;
        for (size_t i = 0; i < m->n_reminders; i++)
                if (m->reminders[i].before > first)
                        first = m->reminders[i].before;
        return first;
}

static char *config_dir(const char *path);
static void resolve_path(char **p, const char *dir);

/* Holiday files are read from the config file's directory, as state_dir is. */
static void resolve_sources(Sources *s, const char *config_path)
{
        _cleanup_free_ char *dir = config_dir(config_path);
        for (size_t i = 0; i < s->n; i++)
                if (!strstr(s->v[i], "://"))
                        resolve_path(&s->v[i], dir);
}

void config_use_simulated_state(Config *c)
{
        char *state = xasprintf("%s/simulated", c->state_dir);
        free(c->feed_dir);
        c->feed_dir = xasprintf("%s/feeds", state);
        free(c->state_dir);
        c->state_dir = state;
}

bool meeting_has_holidays(const Config *c, const Meeting *m)
{
        bool any = c->holidays.n > 0;
        for (size_t i = 0; i < m->n_departments; i++)
                any |= m->departments[i]->holidays.n > 0;
        return any;
}

const Change *meeting_change(const Meeting *m, Date d)
{
        for (size_t i = 0; i < m->n_changes; i++)
                if (date_to_days(m->changes[i].date) == date_to_days(d))
                        return &m->changes[i];
        return NULL;
}

static void department_finish(Ctx *ctx, Department *d)
{
        if (!d->name)
                d->name = xstrdup(d->id);
        if (!d->zone)
                d->zone = ctx->config->zone;
        if (!section_get(ctx->section, "working_days"))
                d->working_days = 0x7c; /* Monday (bit 2) to Friday (bit 6) */
        resolve_sources(&d->holidays, ctx->config->path);
        ctx->setting = section_get(ctx->section, "webhook");
        if (d->chat != CHAT_CONSOLE && !d->webhook && !section_get(ctx->section, "webhook")) {
                ctx->setting = section_get(ctx->section, "chat");
                bad(ctx, "chat = %s needs a \"webhook\" URL", config_chat_names[d->chat]);
        } else if (d->chat == CHAT_CONSOLE && d->webhook &&
                   (!section_get(ctx->section, "chat") || streq(section_get(ctx->section, "chat")->value, "console")))
                diag_warning(ctx->diags, ctx->config->path, ctx->setting->line,
                             "[department:%s] webhook: not used with chat = console, ignoring", d->id);
        /* A Teams mention is <at>…</at> plus msteams.entities with a user
         * or tag id, which no name in the config gives (README "Chats"). */
        if (d->chat == CHAT_TEAMS && d->mention)
                diag_warning(ctx->diags, ctx->config->path, config_line(ctx->section, "mention"),
                             "[department:%s] mention: has no effect with chat = teams (a Teams mention needs a "
                             "user or tag id, not a name), ignoring", d->id);
        ctx->setting = NULL;
}

/* "tuesday, thursday" for weekly cadences. */
static void meeting_parse_weekdays(Ctx *ctx, Meeting *m, const char *v)
{
        char **items;
        size_t n = str_split_commas(v, &items);
        for (size_t i = 0; i < n; i++) {
                int wd = parse_weekday(items[i]);
                if (wd < 0) {
                        _cleanup_free_ char *hint = did_you_mean(items[i], parse_weekday_names + 1);
                        bad(ctx, "expected weekdays like \"tuesday\" or \"tue, thu\", got \"%s\"%s", items[i], hint);
                        continue;
                }
                if (m->weekdays & (1u << wd))
                        bad(ctx, "\"%s\" is listed twice", items[i]);
                m->weekdays |= 1u << wd;
        }
        if (n == 0)
                bad(ctx, "expected one or more weekdays");
        strv_free(items, n);
}

/* "last friday", "second tuesday" or "15" for the monthly cadence. */
static void meeting_parse_monthday(Ctx *ctx, Meeting *m, const char *v)
{
        char ord[32] = "", wd[32] = "";
        unsigned day;
        int used = 0;
        if (parse_uint(v, 1, 31, &day) == 0) {
                m->month_day = (int)day;
                return;
        }
        if (sscanf(v, "%31s %31s%n", ord, wd, &used) == 2 && v[used] == '\0') {
                m->month_ordinal = parse_ordinal(ord);
                m->month_weekday = parse_weekday(wd);
                if (m->month_ordinal < 0 && m->month_ordinal != -1) {
                        static const char *const ords[] = {"first", "second", "third", "fourth", "last", NULL};
                        _cleanup_free_ char *hint = did_you_mean(ord, ords);
                        bad(ctx, "expected first, second, third, fourth or last before the weekday, got \"%s\"%s", ord, hint);
                } else if (m->month_weekday < 0) {
                        _cleanup_free_ char *hint = did_you_mean(wd, parse_weekday_names + 1);
                        bad(ctx, "expected a weekday after \"%s\", got \"%s\"%s", ord, wd, hint);
                }
                return;
        }
        bad(ctx, "monthly meetings take \"last friday\", \"second tuesday\" or a day of the month 1-31, got \"%s\"", v);
}

/* attendees = everyone lists each department's email: one without an
 * email is left out. Worth a word where attendees are wanted: the key is
 * written, or another department of the meeting has an email (a company
 * that gives none publishes no attendees, and hears nothing of it). */
static void meeting_check_emails(Ctx *ctx, const Meeting *m)
{
        bool any = ctx->setting != NULL;
        for (size_t i = 0; i < m->n_departments; i++)
                any |= m->departments[i]->email != NULL;
        if (!ctx->setting)
                ctx->setting = section_get(ctx->section, "departments");
        for (size_t i = 0; any && i < m->n_departments; i++)
                if (!m->departments[i]->email)
                        warn(ctx, "[department:%s] has no \"email\", so it is not among the event's attendees "
                                  "(attendees = everyone%s lists department emails); give it one, or set attendees = managers or none",
                             m->departments[i]->id, section_get(ctx->section, "attendees") ? "" : ", the default,");
}

/* Skips and moves: within start..end, one change per occurrence. Whether
 * the meeting meets on those dates is for the schedule to say. */
static void meeting_check_changes(Ctx *ctx, const Meeting *m)
{
        for (size_t i = 0; i < m->n_changes; i++) {
                const Change *c = &m->changes[i];
                ctx->setting = section_get(ctx->section, c->move ? "move" : "skip");
                int64_t d = date_to_days(c->date);
                if (d < date_to_days(m->start) || (m->has_end && d > date_to_days(m->end)))
                        bad(ctx, "%04d-%02d-%02d is outside start..end", c->date.year, c->date.month, c->date.day);
                for (size_t k = 0; k < i; k++)
                        if (date_to_days(m->changes[k].date) == d)
                                bad(ctx, "%04d-%02d-%02d is %s already (line %u); give each occurrence one change",
                                    c->date.year, c->date.month, c->date.day, m->changes[k].move ? "moved" : "skipped",
                                    m->changes[k].line);
                if (c->move && date_to_days(c->to) == d && (c->to_hour < 0 || (c->to_hour == m->hour && c->to_minute == m->minute)))
                        bad(ctx, "%04d-%02d-%02d -> the same date and time: nothing moves", c->date.year, c->date.month,
                            c->date.day);
        }
}

/* One of the meeting's departments by id, or NULL after an error that
 * suggests the closest. */
static Department *meeting_department_named(Ctx *ctx, const Meeting *m, const char *id)
{
        Department *d = config_department(ctx->config, id);
        if (d && meeting_has_department(m, d))
                return d;
        _cleanup_free_ const char **ids = xcalloc(m->n_departments + 1, sizeof(char *));
        for (size_t i = 0; i < m->n_departments; i++)
                ids[i] = m->departments[i]->id;
        _cleanup_free_ char *hint = did_you_mean(id, ids);
        bad(ctx, "\"%s\" is not one of this %s's departments%s", id, ctx->section->kind, hint);
        return NULL;
}

static bool host_has_manager(Ctx *ctx, const Department *d)
{
        if (d->manager_email)
                return true;
        bad(ctx, "[department:%s] has no \"manager\"; the host's manager is the organizer", d->id);
        return false;
}

/* "rotate" (the departments as listed take turns), "rotate: marketing,
 * sales" (in that order), or one department (a fixed host). A pairing's
 * host can only rotate: each pair's two departments take turns. */
static void meeting_parse_host(Ctx *ctx, Meeting *m, const char *v)
{
        bool pairing = streq(ctx->section->kind, "pairing");
        if (strncmp(v, "rotate", 6) != 0 || (v[6] && v[6] != ':' && !isspace((unsigned char)v[6]))) {
                if (pairing) {
                        bad(ctx, "expected \"rotate\" (each pair's two departments take turns): a fixed host "
                                 "cannot host every pair, got \"%s\"", v);
                        return;
                }
                Department *d = meeting_department_named(ctx, m, v);
                if (d && host_has_manager(ctx, d))
                        m->host = d;
                return;
        }
        const char *rest = v + 6;
        while (isspace((unsigned char)*rest))
                rest++;
        Department **order = xcalloc(m->n_departments + 1, sizeof(Department *));
        size_t n = 0;
        bool ok = true;
        if (!*rest)
                for (size_t i = 0; i < m->n_departments; i++)
                        order[n++] = m->departments[i];
        else if (*rest != ':' || pairing) {
                bad(ctx, pairing ? "expected \"rotate\": in a pairing each pair's two departments take turns, "
                                   "in the order of departments"
                                 : "expected \"rotate\" or \"rotate: DEPARTMENT, DEPARTMENT, ...\", got \"%s\"", v);
                ok = false;
        } else {
                char **ids;
                size_t k = str_split_commas(rest + 1, &ids);
                for (size_t i = 0; i < k; i++) {
                        Department *d = meeting_department_named(ctx, m, ids[i]);
                        bool twice = false;
                        for (size_t j = 0; d && j < n; j++)
                                twice |= order[j] == d;
                        if (twice)
                                bad(ctx, "\"%s\" is listed twice", ids[i]);
                        if (!d || twice || n >= m->n_departments)
                                ok = false;
                        else
                                order[n++] = d;
                }
                strv_free(ids, k);
                if (ok && n < 2) {
                        bad(ctx, "a rotation needs two or more departments; for one host, write host = %s",
                            n ? order[0]->id : "DEPARTMENT");
                        ok = false;
                }
        }
        for (size_t i = 0; i < n; i++)
                if (!host_has_manager(ctx, order[i]))
                        ok = false;
        if (!ok) {
                free(order);
                return;
        }
        m->rotation = order;
        m->n_rotation = n;
}

static void meeting_finish(Ctx *ctx, Meeting *m)
{
        Config *c = ctx->config;
        const Setting *day = section_get(ctx->section, "day");
        const Setting *host = section_get(ctx->section, "host");

        if (!m->zone)
                m->zone = c->zone;
        if (!m->duration && !section_get(ctx->section, "duration"))
                m->duration = 3600;
        if (!m->reminders && !section_get(ctx->section, "remind")) {
                m->reminders = xcalloc(1, sizeof(Reminder));
                m->reminders[0] = (Reminder){15 * 60, xstrdup("15m")};
                m->n_reminders = 1;
        }

        ctx->setting = day;
        if (m->cadence == CADENCE_RRULE && day)
                bad(ctx, "not used with an rrule: cadence; put BYDAY or BYMONTHDAY in the rule");
        else if (m->cadence != CADENCE_RRULE && !day) {
                ctx->setting = NULL;
                bad(ctx, "missing required key \"day\" (%s)",
                    m->cadence == CADENCE_MONTHLY ? "like \"last friday\" or \"15\"" : "like \"tuesday\"");
        } else if (m->cadence == CADENCE_WEEKLY)
                meeting_parse_weekdays(ctx, m, day->value);
        else if (m->cadence == CADENCE_MONTHLY)
                meeting_parse_monthday(ctx, m, day->value);

        ctx->setting = section_get(ctx->section, "end");
        if (m->has_end && m->end.year && m->start.year && date_to_days(m->end) < date_to_days(m->start))
                bad(ctx, "%04d-%02d-%02d is before start", m->end.year, m->end.month, m->end.day);

        ctx->setting = host;
        if (host)
                meeting_parse_host(ctx, m, host->value);
        ctx->setting = section_get(ctx->section, "attendees");
        for (size_t i = 0; m->attendees == ATTENDEES_MANAGERS && i < m->n_departments; i++)
                if (!m->departments[i]->manager_email)
                        bad(ctx, "\"managers\" but [department:%s] has no \"manager\"", m->departments[i]->id);
        if (m->attendees == ATTENDEES_EVERYONE)
                meeting_check_emails(ctx, m);

        meeting_check_changes(ctx, m);
        ctx->setting = section_get(ctx->section, "on_holiday");
        if (ctx->setting && !meeting_has_holidays(c, m))
                warn(ctx, "no holiday calendar applies to this meeting (holidays = in [tandem] or its departments), "
                          "so on_holiday has no effect, ignoring");
        ctx->setting = NULL;
}

/* listen = 0.0.0.0:8476 (or [::]) accepts connections on every address,
 * but no calendar can subscribe to that address: the default public_url
 * would make links like webcal://0.0.0.0:8476/feeds/all.ics. */
static void tandem_check_listen(Ctx *ctx, const Config *c)
{
        ctx->setting = section_get(ctx->section, "listen");
        const char *colon = c->listen ? strrchr(c->listen, ':') : NULL;
        if (!ctx->setting || !colon || section_get(ctx->section, "public_url")) {
                ctx->setting = NULL;
                return;
        }
        bool bracket = c->listen[0] == '[';
        _cleanup_free_ char *host = xstrndup(c->listen + bracket, (size_t)(colon - c->listen) - 2 * bracket);
        unsigned char addr[16] = {0};
        static const unsigned char any[16] = {0};
        if ((inet_pton(AF_INET, host, addr) == 1 && memcmp(addr, any, 4) == 0) ||
            (inet_pton(AF_INET6, host, addr) == 1 && memcmp(addr, any, 16) == 0)) {
                char name[256] = "HOST";
                if (gethostname(name, sizeof name) < 0 || !name[0])
                        snprintf(name, sizeof name, "HOST");
                name[sizeof name - 1] = '\0';
                warn(ctx, "%s accepts connections on every address, but subscribe links need one that calendars "
                          "can reach: set public_url, e.g. public_url = http://%s:%s (a name or address of this machine)",
                     c->listen, name, colon + 1);
        }
        ctx->setting = NULL;
}

/* The config file's directory, absolute. */
static char *config_dir(const char *path)
{
        _cleanup_free_ char *copy = xstrdup(path);
        const char *dir = dirname(copy);
        char *real = realpath(dir, NULL);
        if (real)
                return real;
        _cleanup_free_ char *cwd = getcwd(NULL, 0);
        return dir[0] == '/' || !cwd ? xstrdup(dir) : xasprintf("%s/%s", cwd, dir);
}

/* A relative path in the config is read from the config file's directory,
 * as nginx reads its paths from its prefix: the same file means the same
 * ledger whatever directory tandem was started from. */
static void resolve_path(char **p, const char *dir)
{
        if (!*p || (*p)[0] == '/')
                return;
        const char *rel = *p;
        while (rel[0] == '.' && rel[1] == '/')
                rel += 2 + strspn(rel + 2, "/");
        char *abs = *rel && !streq(rel, ".") ? xasprintf("%s/%s", dir, rel) : xstrdup(dir);
        free(*p);
        *p = abs;
}

static void config_defaults(Config *c)
{
        const char *state = getenv("STATE_DIRECTORY");
        _cleanup_free_ char *dir = config_dir(c->path);
        if (!c->zone)
                c->zone = tz_lookup("UTC");
        if (!c->calendar_name)
                c->calendar_name = xstrdup("Joint meetings");
        if (!c->feed_horizon)
                c->feed_horizon = 400 * 86400;
        if (!c->domain)
                c->domain = xstrdup("tandem.invalid");
        /* state_dir as written; else systemd's StateDirectory= (which may
         * pass several, colon-separated); else next to the config file */
        resolve_path(&c->state_dir, dir);
        if (!c->state_dir && state && *state) {
                c->state_dir = xstrndup(state, strcspn(state, ":"));
                c->state_dir_from = STATE_DIR_SYSTEMD;
        } else if (!c->state_dir) {
                c->state_dir = xasprintf("%s/state", dir);
                c->state_dir_from = STATE_DIR_NEXT_TO_CONFIG;
        }
        resolve_sources(&c->holidays, c->path);
        resolve_path(&c->feed_dir, dir);
        if (!c->feed_dir)
                c->feed_dir = xasprintf("%s/feeds", c->state_dir);
        if (!c->listen)
                c->listen = xstrdup("127.0.0.1:8470");
        if (!c->public_url)
                c->public_url = xasprintf("http://%s", streq(c->listen, "off") ? "127.0.0.1:8470" : c->listen);
        /* "https://cal.example.com/" and "https://cal.example.com" alike */
        size_t n = strlen(c->public_url);
        while (n > 0 && c->public_url[n - 1] == '/')
                c->public_url[--n] = '\0';
}

/* Section headers: known kinds, valid and unique ids. seen[kind] maps the
 * ids met so far to their sections (one lookup each: comparing every
 * section with all before it made 10,000 meetings cost 0.3 s). Returns the
 * kind, or -1 to pass the section over. */
static int section_check_header(Ctx *ctx, StrMap seen[])
{
        const Section *s = ctx->section;
        int kind = -1;
        for (int k = 0; section_kinds[k]; k++)
                if (streq(s->kind, section_kinds[k]))
                        kind = k;
        if (kind < 0) {
                _cleanup_free_ char *hint = did_you_mean(s->kind, section_kinds);
                bad(ctx, "unknown section%s; expected [tandem], [department:ID], [meeting:ID] or [pairing:ID]", hint);
                return -1;
        }
        if (kind == SECTION_TANDEM && s->id) {
                bad(ctx, "takes no id: write [tandem]");
                return -1;
        }
        if (kind != SECTION_TANDEM && (!s->id || !parse_is_id(s->id))) {
                bad(ctx, "expected [%s:ID] with an ID of 1-63 characters a-z 0-9 - _, starting with a letter or digit", s->kind);
                return -1;
        }
        if (kind == SECTION_DEPARTMENT && streq(s->id, "all")) {
                bad(ctx, "\"all\" is reserved (it names the all-meetings feed)");
                return -1;
        }
        const Section *first = strmap_put(&seen[kind], s->id ? s->id : "", (void *)s);
        if (first) {
                bad(ctx, "defined twice (first at line %u)", first->line);
                return -1;
        }
        return kind;
}

/* A [pairing:ID] is a meeting of all its departments as far as its keys
 * go; the pairs are generated from it with the schedule (pairing.h). */
static void pairing_finish(Ctx *ctx, Pairing *p)
{
        Meeting *m = &p->template;
        meeting_finish(ctx, m);
        ctx->setting = section_get(ctx->section, "departments");
        if (m->n_departments == 2)
                warn(ctx, "two departments make one pair, which meets every round: a [meeting:%s] says the same", m->id);
        for (size_t i = 0; i < ctx->config->n_own_meetings; i++)
                if (streq(ctx->config->meetings[i].id, m->id)) {
                        ctx->setting = NULL;
                        bad(ctx, "[meeting:%s] is defined already (line %u): give the pairing an id of its own",
                            m->id, ctx->config->meetings[i].src->line);
                }
        ctx->setting = NULL;
        /* README "Host rotation and pairings": one rule per pair where the
         * cadence repeats by a fixed step (one weekday; a monthly day or
         * weekday every month), single events otherwise. */
        p->explicit_rounds = !((m->cadence == CADENCE_WEEKLY && __builtin_popcount(m->weekdays) == 1) ||
                               (m->cadence == CADENCE_MONTHLY && m->month_day <= 28));
}

static void config_validate(Config *c, Diags *diags)
{
        Ctx ctx = {.config = c, .diags = diags};
        int *kinds = xcalloc(c->n_sections, sizeof(int));
        StrMap seen[SECTION_KINDS] = {0};

        for (size_t i = 0; i < c->n_sections; i++) {
                ctx.section = &c->sections[i];
                kinds[i] = section_check_header(&ctx, seen);
                if (kinds[i] == SECTION_DEPARTMENT)
                        c->n_departments++;
                else if (kinds[i] == SECTION_MEETING)
                        c->n_meetings++;
                else if (kinds[i] == SECTION_PAIRING)
                        c->n_pairings++;
        }
        for (size_t k = 0; k < ELEMENTSOF(seen); k++)
                strmap_free(&seen[k]);
        /* [tandem] first (departments default to its zone), then every
         * department (meetings refer to them), then the meetings, then the
         * pairings (whose ids must not be meetings'). */
        c->departments = xcalloc(c->n_departments, sizeof(Department));
        c->meetings = xcalloc(c->n_meetings, sizeof(Meeting));
        c->pairings = xcalloc(c->n_pairings, sizeof(Pairing));
        c->n_own_meetings = c->n_meetings;
        size_t nd = 0, nm = 0, np = 0;
        for (int pass = SECTION_TANDEM; pass <= SECTION_PAIRING; pass++) {
                for (size_t i = 0; i < c->n_sections; i++) {
                        if (kinds[i] != pass)
                                continue;
                        ctx.section = &c->sections[i];
                        if (pass == SECTION_TANDEM) {
                                ctx.obj = c;
                                section_apply(&ctx, SECTION_TANDEM);
                                tandem_check_listen(&ctx, c);
                        } else if (pass == SECTION_DEPARTMENT) {
                                Department *d = &c->departments[nd];
                                *d = (Department){.id = xstrdup(ctx.section->id), .src = ctx.section};
                                ctx.obj = d;
                                section_apply(&ctx, SECTION_DEPARTMENT);
                                department_finish(&ctx, d);
                                /* every meeting names its departments: one
                                 * lookup each, not a walk over all of them */
                                strmap_put(&c->department_ids, d->id, d);
                                nd++;
                        } else {
                                Pairing *p = pass == SECTION_PAIRING ? &c->pairings[np++] : NULL;
                                Meeting *m = p ? &p->template : &c->meetings[nm++];
                                *m = (Meeting){.id = xstrdup(ctx.section->id), .src = ctx.section, .interval = 1};
                                m->has_end = section_get(ctx.section, "end") != NULL;
                                ctx.obj = m;
                                size_t errors = diags->n_errors;
                                section_apply(&ctx, (SectionKind)pass);
                                if (p)
                                        pairing_finish(&ctx, p);
                                else
                                        meeting_finish(&ctx, m);
                                m->valid = diags->n_errors == errors;
                        }
                }
                if (pass == SECTION_TANDEM)
                        config_defaults(c);
        }
        free(kinds);
}

static void config_check_permissions(const Config *c, FILE *f, Diags *diags)
{
        struct stat st;
        bool secrets = false;
        for (size_t i = 0; i < c->n_departments; i++)
                secrets |= c->departments[i].webhook != NULL;
        if ((secrets || c->feed_token) && fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH))
                diag_warning(diags, c->path, 0,
                             "readable by other users, and it holds secrets (webhook URLs, feed_token): chmod o-r %s",
                             c->path);
}

int config_parse(const char *path, Config **ret, Diags *diags)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        Config *c = xcalloc(1, sizeof(Config));
        c->path = xstrdup(path);
        size_t before = diags->n_errors;

        int r = config_read(c, f, diags);
        if (r < 0) {
                config_free(c);
                return r;
        }
        config_validate(c, diags);
        config_check_permissions(c, f, diags);
        config_compact(c);
        *ret = c;
        return diags->n_errors > before ? -EINVAL : 0;
}

int config_load(const char *path, Config **ret, Diags *diags)
{
        Config *c = NULL;
        int r = config_parse(path, &c, diags);
        if (r < 0) {
                config_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

void meeting_clear(Meeting *m)
{
        free(m->id), free(m->title), free(m->departments), free(m->rrule), free(m->rotation);
        free(m->location), free(m->description), free(m->skip);
        for (size_t k = 0; k < m->n_changes; k++)
                free(m->changes[k].reason);
        free(m->changes);
        for (size_t k = 0; k < m->n_reminders; k++)
                free(m->reminders[k].text);
        free(m->reminders);
}

char *meeting_label(const Meeting *m)
{
        return xasprintf("[%s:%s]", m->src->kind, m->src->id);
}

Config *config_free(Config *c)
{
        if (!c)
                return NULL;
        strmap_free(&c->department_ids);
        for (size_t i = 0; i < c->n_departments; i++) {
                Department *d = &c->departments[i];
                free(d->id), free(d->name), free(d->webhook), free(d->mention);
                free(d->manager_name), free(d->manager_email), free(d->email);
                strv_free(d->holidays.v, d->holidays.n);
        }
        for (size_t i = 0; i < c->n_meetings; i++)
                meeting_clear(&c->meetings[i]);
        for (size_t i = 0; i < c->n_pairings; i++)
                meeting_clear(&c->pairings[i].template);
        free(c->pairings);
        for (size_t i = 0; i < c->n_sections; i++) {
                Section *s = &c->sections[i];
                if (!c->strings) { /* not read to its end (config_pack) */
                        for (size_t k = 0; k < s->n_settings; k++)
                                free(s->settings[k].key), free(s->settings[k].value);
                        free(s->kind), free(s->id);
                }
                free(s->settings);
                free(s->keys);
        }
        free(c->strings);
        free(c->departments), free(c->meetings), free(c->sections), free(c->path);
        free(c->calendar_name), free(c->domain), free(c->state_dir), free(c->feed_dir);
        free(c->listen), free(c->public_url), free(c->feed_token);
        strv_free(c->holidays.v, c->holidays.n);
        free(c);
        return NULL;
}
