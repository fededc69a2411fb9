/* config.c — reads the INI file with inih and validates it into structs.
 *
 * Two passes. Reading collects every section and "key = value" with its
 * line (inih hands its handler no line numbers, so we feed it through our
 * own reader, which counts them). Validation then walks the sections
 * through one table of keys, collecting every error, and finishes with the
 * checks that involve several settings. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <sys/stat.h>

#include "suggest.h"
#include "tz.h"

const char *const config_chat_names[_CHAT_MAX + 1] = {
        [CHAT_CONSOLE] = "console",       [CHAT_SLACK] = "slack",   [CHAT_MATTERMOST] = "mattermost",
        [CHAT_ROCKETCHAT] = "rocketchat", [CHAT_DISCORD] = "discord", [CHAT_TEAMS] = "teams",
        [CHAT_GOOGLECHAT] = "googlechat", [CHAT_NTFY] = "ntfy",   [CHAT_GENERIC] = "generic",
};

/* ------------------------------------------------------------------ */
/* Reading                                                             */

#define LINE_MAX_BYTES 8192

typedef struct Reader {
        FILE *f;
        const char *path;
        Config *config;
        Diags *diags;
        unsigned line;            /* physical line being parsed */
        char *text;               /* its text, newline removed */
        size_t text_alloc;
        size_t offset;            /* how much of an over-long line was handed on */
        bool chunk_is_split;      /* the chunk inih has is the rest of a split line */
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

/* inih's own line buffer is small (200 bytes in Debian's build), but a
 * Teams webhook URL alone is longer. An over-long "key = value" line is
 * handed on in pieces: the first as is, each further one indented, which
 * inih reads as a continuation; the handler joins those pieces without a
 * separator. A piece never starts or ends at a space, ';' or '#', so inih
 * sees no comment that was not there. */
static size_t split_point(const char *s, size_t from, size_t max)
{
        for (size_t p = from + max; p > from + 1; p--) {
                unsigned char a = (unsigned char)s[p - 1], b = (unsigned char)s[p];
                if (!isspace(a) && !isspace(b) && a != ';' && b != ';' && b != '#')
                        return p;
        }
        return 0;
}

static void strip_inline_comment(char *s)
{
        for (char *p = s + 1; *p; p++)
                if (*p == ';' && isspace((unsigned char)p[-1])) {
                        *p = '\0';
                        break;
                }
}

static char *reader_next_chunk(Reader *r, char *str, int num)
{
        size_t room = (size_t)num - 1, len = strlen(r->text);
        const char *rest = r->text + r->offset;

        if (r->offset == 0) {
                /* inih strips " ; comment" from "key = value" lines but not
                 * from continuation lines; do it for both, the same way. */
                strip_inline_comment(r->text);
                len = strlen(r->text);
        }
        /* Only "key = value" lines (and continuations) are split: any other
         * over-long line is handed on cut, for inih to reject. */
        bool splittable = strpbrk(r->text, "=:") || isspace((unsigned char)r->text[0]);
        if (r->offset == 0 && (len <= room || !splittable)) {
                if (len > room)
                        len = room;
                memcpy(str, r->text, len);
                str[len] = '\0';
                r->chunk_is_split = false;
                r->offset = strlen(r->text); /* nothing more of this line */
                return str;
        }
        if (r->offset >= len)
                return NULL;
        size_t indent = r->offset ? 2 : 0;
        size_t take = len - r->offset;
        if (take > room - indent) {
                size_t p = split_point(r->text, r->offset, room - indent - 1);
                if (!p) {
                        diag_error(r->diags, r->path, r->line, "line too long to split: continue the value on indented lines");
                        r->offset = len;
                        return NULL;
                }
                take = p - r->offset;
        }
        memset(str, ' ', indent);
        memcpy(str + indent, rest, take);
        str[indent + take] = '\0';
        r->chunk_is_split = r->offset > 0;
        r->offset += take;
        return str;
}

static char *reader_read(char *str, int num, void *stream)
{
        Reader *r = stream;

        if (r->text && r->offset < strlen(r->text) && r->line_is_entry) {
                char *chunk = reader_next_chunk(r, str, num);
                if (chunk)
                        return chunk;
        }
        reader_check_line_handled(r);

        ssize_t n = getline(&r->text, &r->text_alloc, r->f);
        if (n < 0)
                return NULL;
        r->line++;
        while (n > 0 && (r->text[n - 1] == '\n' || r->text[n - 1] == '\r'))
                r->text[--n] = '\0';
        r->offset = 0;
        if ((size_t)n > LINE_MAX_BYTES) {
                diag_error(r->diags, r->path, r->line, "line longer than %d bytes", LINE_MAX_BYTES);
                r->text[0] = '\0';
        }
        reader_classify(r);
        if (!r->line_is_entry) {
                /* Comments and headers are never split; inih just needs a
                 * line it can classify the same way. */
                size_t len = strlen(r->text);
                if (len > (size_t)num - 1)
                        len = (size_t)num - 1;
                memcpy(str, r->text, len);
                str[len] = '\0';
                if (str[0] == '[' && !strchr(str, ']'))
                        str[0] = ';'; /* already reported, keep inih quiet */
                r->offset = strlen(r->text);
                return str;
        }
        return reader_next_chunk(r, str, num);
}

static int reader_handler(void *user, const char *section_name, const char *name, const char *value)
{
        Reader *r = user;
        Section *s = r->section;
        (void)section_name;

        r->handled = true;
        if (r->skip_section)
                return 1;
        if (!s) {
                diag_error(r->diags, r->path, r->line, "\"%s\" is outside any section: put it under [tandem], [department:ID] or [meeting:ID]", name);
                return 1;
        }
        bool continuation = isspace((unsigned char)r->text[0]) || r->chunk_is_split;
        Setting *last = s->n_settings ? &s->settings[s->n_settings - 1] : NULL;
        if (continuation && last && streq(last->key, name)) {
                char *joined = xasprintf("%s%s%s", last->value, r->chunk_is_split ? "" : "\n", value);
                free(last->value);
                last->value = joined;
                return 1;
        }
        for (size_t i = 0; i < s->n_settings; i++)
                if (streq(s->settings[i].key, name)) {
                        diag_error(r->diags, r->path, r->line, "[%s%s%s] %s: set twice (first at line %u); give each key once",
                                   s->kind, s->id ? ":" : "", s->id ? s->id : "", name, s->settings[i].line);
                        return 1;
                }
        GROW(s->settings, s->n_settings, s->alloc);
        s->settings[s->n_settings++] = (Setting){.key = xstrdup(name), .value = xstrdup(value), .line = r->line};
        return 1;
}

static int config_read(Config *c, FILE *f, Diags *diags)
{
        Reader r = {.f = f, .path = c->path, .config = c, .diags = diags};
        ini_parse_stream(reader_read, &r, reader_handler, &r);
        free(r.text);
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

/* An error about the current setting: "FILE:LINE: [meeting:x] key: ...". */
_printf_(2, 3) static void bad(Ctx *ctx, const char *fmt, ...)
{
        char label[160];
        va_list ap;
        section_label(ctx->section, label, sizeof label);
        va_start(ap, fmt);
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);
        va_end(ap);
        if (ctx->setting)
                diag_error(ctx->diags, ctx->config->path, ctx->setting->line, "%s %s: %s", label, ctx->setting->key, msg);
        else
                diag_error(ctx->diags, ctx->config->path, ctx->section->line, "%s %s", label, msg);
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
                _cleanup_free_ char *hint = did_you_mean(v, tz_all_names());
                bad(ctx, "unknown time zone \"%s\"%s; expected an IANA name such as \"Europe/Berlin\" or \"UTC\"", v, hint);
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

static int parse_url(Ctx *ctx, const char *v, void *field)
{
        const char *rest = strncmp(v, "https://", 8) == 0 ? v + 8 : strncmp(v, "http://", 7) == 0 ? v + 7 : NULL;
        if (!rest || !*rest || *rest == '/' || strpbrk(v, " \t\n\"<>")) {
                bad(ctx, "expected an http:// or https:// URL");
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
                bad(ctx, "a joint meeting needs two or more departments, got %zu", n);
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

static int parse_skip(Ctx *ctx, const char *v, void *field)
{
        Meeting *m = ctx->obj;
        char **items;
        int r = 0;
        (void)field;
        size_t n = str_split_commas(v, &items);
        m->skip = xcalloc(n, sizeof(Date));
        for (size_t i = 0; i < n; i++)
                if (parse_date_field(ctx, items[i], &m->skip[m->n_skip]) == 0)
                        m->n_skip++;
                else
                        r = -EINVAL;
        strv_free(items, n);
        return r;
}

/* Interpreted after the section, once the cadence is known. */
static int parse_later(Ctx *ctx, const char *v, void *field)
{
        (void)ctx, (void)v, (void)field;
        return 0;
}

typedef enum SectionKind { SECTION_TANDEM, SECTION_DEPARTMENT, SECTION_MEETING } SectionKind;

typedef struct KeyDef {
        SectionKind section;
        const char *key;
        ValueParser parse;
        size_t offset;
        bool required;
} KeyDef;

/* The one table of every key tandem knows (SPEC.md section 1). */
static const KeyDef keys[] = {
        {SECTION_TANDEM, "timezone", parse_zone, offsetof(Config, zone), false},
        {SECTION_TANDEM, "calendar_name", parse_text, offsetof(Config, calendar_name), false},
        {SECTION_TANDEM, "domain", parse_domain, offsetof(Config, domain), false},
        {SECTION_TANDEM, "state_dir", parse_text, offsetof(Config, state_dir), false},
        {SECTION_TANDEM, "feed_dir", parse_text, offsetof(Config, feed_dir), false},
        {SECTION_TANDEM, "listen", parse_listen, offsetof(Config, listen), false},
        {SECTION_TANDEM, "public_url", parse_url, offsetof(Config, public_url), false},
        {SECTION_TANDEM, "feed_token", parse_token, offsetof(Config, feed_token), false},
        {SECTION_TANDEM, "feed_horizon", parse_days, offsetof(Config, feed_horizon), false},

        {SECTION_DEPARTMENT, "name", parse_text, offsetof(Department, name), false},
        {SECTION_DEPARTMENT, "timezone", parse_zone, offsetof(Department, zone), false},
        {SECTION_DEPARTMENT, "chat", parse_chat, offsetof(Department, chat), false},
        {SECTION_DEPARTMENT, "webhook", parse_url, offsetof(Department, webhook), false},
        {SECTION_DEPARTMENT, "mention", parse_text, offsetof(Department, mention), false},
        {SECTION_DEPARTMENT, "manager", parse_manager, 0, false},
        {SECTION_DEPARTMENT, "email", parse_email, offsetof(Department, email), false},

        {SECTION_MEETING, "title", parse_text, offsetof(Meeting, title), true},
        {SECTION_MEETING, "departments", parse_id_list, 0, true},
        {SECTION_MEETING, "cadence", parse_cadence, 0, false},
        {SECTION_MEETING, "day", parse_later, 0, false},
        {SECTION_MEETING, "time", parse_hhmm_field, 0, true},
        {SECTION_MEETING, "duration", parse_duration_field, offsetof(Meeting, duration), false},
        {SECTION_MEETING, "timezone", parse_zone, offsetof(Meeting, zone), false},
        {SECTION_MEETING, "start", parse_date_field, offsetof(Meeting, start), true},
        {SECTION_MEETING, "end", parse_date_field, offsetof(Meeting, end), false},
        {SECTION_MEETING, "location", parse_text, offsetof(Meeting, location), false},
        {SECTION_MEETING, "description", parse_text, offsetof(Meeting, description), false},
        {SECTION_MEETING, "host", parse_later, 0, false},
        {SECTION_MEETING, "attendees", parse_attendees, offsetof(Meeting, attendees), false},
        {SECTION_MEETING, "remind", parse_reminders, 0, false},
        {SECTION_MEETING, "skip", parse_skip, 0, false},
};

static const char *const section_kinds[] = {"tandem", "department", "meeting", NULL};

static const Setting *section_get(const Section *s, const char *key)
{
        for (size_t i = 0; i < s->n_settings; i++)
                if (streq(s->settings[i].key, key))
                        return &s->settings[i];
        return NULL;
}

unsigned config_line(const Section *s, const char *key)
{
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
                if (keys[k].section == kind)
                        names[n_names++] = keys[k].key;
        names[n_names] = NULL;

        for (size_t i = 0; i < ctx->section->n_settings; i++) {
                const Setting *s = &ctx->section->settings[i];
                const KeyDef *def = NULL;
                for (size_t k = 0; k < ELEMENTSOF(keys) && !def; k++)
                        if (keys[k].section == kind && streq(keys[k].key, s->key))
                                def = &keys[k];
                ctx->setting = s;
                /* Chats and calendars take UTF-8 only (RFC 5545 section 3.1.4). */
                if (!utf8_valid(s->value)) {
                        bad(ctx, "not valid UTF-8: save the file as UTF-8");
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
                if (def->parse(ctx, s->value, FIELD(ctx, def->offset)) < 0)
                        r = -EINVAL;
        }
        ctx->setting = NULL;
        for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                if (keys[k].section == kind && keys[k].required && !section_get(ctx->section, keys[k].key)) {
                        bad(ctx, "missing required key \"%s\"", keys[k].key);
                        r = -EINVAL;
                }
        return r;
}

Department *config_department(const Config *c, const char *id)
{
        for (size_t i = 0; i < c->n_departments; i++)
                if (streq(c->departments[i].id, id))
                        return &c->departments[i];
        return NULL;
}

bool meeting_has_department(const Meeting *m, const Department *d)
{
        for (size_t i = 0; i < m->n_departments; i++)
                if (m->departments[i] == d)
                        return true;
        return false;
}

static void department_finish(Ctx *ctx, Department *d)
{
        if (!d->name)
                d->name = xstrdup(d->id);
        if (!d->zone)
                d->zone = ctx->config->zone;
        ctx->setting = section_get(ctx->section, "webhook");
        if (d->chat != CHAT_CONSOLE && !d->webhook && !section_get(ctx->section, "webhook")) {
                ctx->setting = section_get(ctx->section, "chat");
                bad(ctx, "chat = %s needs a \"webhook\" URL", config_chat_names[d->chat]);
        } else if (d->chat == CHAT_CONSOLE && d->webhook &&
                   (!section_get(ctx->section, "chat") || streq(section_get(ctx->section, "chat")->value, "console")))
                diag_warning(ctx->diags, ctx->config->path, ctx->setting->line,
                             "[department:%s] webhook: not used with chat = console, ignoring", d->id);
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
        if (host) {
                Department *d = config_department(c, host->value);
                if (!d || !meeting_has_department(m, d)) {
                        _cleanup_free_ const char **ids = xcalloc(m->n_departments + 1, sizeof(char *));
                        for (size_t i = 0; i < m->n_departments; i++)
                                ids[i] = m->departments[i]->id;
                        _cleanup_free_ char *hint = did_you_mean(host->value, ids);
                        bad(ctx, "\"%s\" is not one of this meeting's departments%s", host->value, hint);
                } else if (!d->manager_email)
                        bad(ctx, "[department:%s] has no \"manager\"; the host's manager is the organizer", d->id);
                else
                        m->host = d;
        }
        ctx->setting = section_get(ctx->section, "attendees");
        for (size_t i = 0; m->attendees == ATTENDEES_MANAGERS && i < m->n_departments; i++)
                if (!m->departments[i]->manager_email)
                        bad(ctx, "\"managers\" but [department:%s] has no \"manager\"", m->departments[i]->id);

        ctx->setting = section_get(ctx->section, "skip");
        for (size_t i = 0; i < m->n_skip; i++) {
                int64_t d = date_to_days(m->skip[i]);
                if (d < date_to_days(m->start) || (m->has_end && d > date_to_days(m->end)))
                        bad(ctx, "%04d-%02d-%02d is outside start..end", m->skip[i].year, m->skip[i].month, m->skip[i].day);
        }
        ctx->setting = NULL;
}

static void config_defaults(Config *c)
{
        const char *state = getenv("STATE_DIRECTORY");
        if (!c->zone)
                c->zone = tz_lookup("UTC");
        if (!c->calendar_name)
                c->calendar_name = xstrdup("Joint meetings");
        if (!c->feed_horizon)
                c->feed_horizon = 400 * 86400;
        if (!c->domain)
                c->domain = xstrdup("tandem.invalid");
        if (!c->state_dir)
                /* systemd may pass several colon-separated directories */
                c->state_dir = state && *state ? xstrndup(state, strcspn(state, ":")) : xstrdup("./state");
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

/* Section headers: known kinds, valid and unique ids. Returns the kind,
 * or -1 to pass the section over. */
static int section_check_header(Ctx *ctx, size_t index)
{
        const Section *s = ctx->section;
        int kind = -1;
        for (int k = 0; section_kinds[k]; k++)
                if (streq(s->kind, section_kinds[k]))
                        kind = k;
        if (kind < 0) {
                _cleanup_free_ char *hint = did_you_mean(s->kind, section_kinds);
                bad(ctx, "unknown section%s; expected [tandem], [department:ID] or [meeting:ID]", hint);
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
        for (size_t i = 0; i < index; i++) {
                const Section *o = &ctx->config->sections[i];
                if (streq(o->kind, s->kind) && ((!o->id && !s->id) || (o->id && s->id && streq(o->id, s->id)))) {
                        bad(ctx, "defined twice (first at line %u)", o->line);
                        return -1;
                }
        }
        return kind;
}

static void config_validate(Config *c, Diags *diags)
{
        Ctx ctx = {.config = c, .diags = diags};
        int *kinds = xcalloc(c->n_sections, sizeof(int));

        for (size_t i = 0; i < c->n_sections; i++) {
                ctx.section = &c->sections[i];
                kinds[i] = section_check_header(&ctx, i);
                if (kinds[i] == SECTION_DEPARTMENT)
                        c->n_departments++;
                else if (kinds[i] == SECTION_MEETING)
                        c->n_meetings++;
        }
        /* [tandem] first (departments default to its zone), then every
         * department (meetings refer to them), then the meetings. */
        c->departments = xcalloc(c->n_departments, sizeof(Department));
        c->meetings = xcalloc(c->n_meetings, sizeof(Meeting));
        size_t nd = 0, nm = 0;
        for (int pass = SECTION_TANDEM; pass <= SECTION_MEETING; pass++) {
                for (size_t i = 0; i < c->n_sections; i++) {
                        if (kinds[i] != pass)
                                continue;
                        ctx.section = &c->sections[i];
                        if (pass == SECTION_TANDEM) {
                                ctx.obj = c;
                                section_apply(&ctx, SECTION_TANDEM);
                        } else if (pass == SECTION_DEPARTMENT) {
                                Department *d = &c->departments[nd];
                                *d = (Department){.id = xstrdup(ctx.section->id), .src = ctx.section};
                                ctx.obj = d;
                                section_apply(&ctx, SECTION_DEPARTMENT);
                                department_finish(&ctx, d);
                                nd++;
                        } else {
                                Meeting *m = &c->meetings[nm++];
                                *m = (Meeting){.id = xstrdup(ctx.section->id), .src = ctx.section, .interval = 1};
                                m->has_end = section_get(ctx.section, "end") != NULL;
                                ctx.obj = m;
                                size_t errors = diags->n_errors;
                                section_apply(&ctx, SECTION_MEETING);
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

        config_read(c, f, diags);
        config_validate(c, diags);
        config_check_permissions(c, f, diags);
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

Config *config_free(Config *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_departments; i++) {
                Department *d = &c->departments[i];
                free(d->id), free(d->name), free(d->webhook), free(d->mention);
                free(d->manager_name), free(d->manager_email), free(d->email);
        }
        for (size_t i = 0; i < c->n_meetings; i++) {
                Meeting *m = &c->meetings[i];
                free(m->id), free(m->title), free(m->departments), free(m->rrule);
                free(m->location), free(m->description), free(m->skip);
                for (size_t k = 0; k < m->n_reminders; k++)
                        free(m->reminders[k].text);
                free(m->reminders);
        }
        for (size_t i = 0; i < c->n_sections; i++) {
                Section *s = &c->sections[i];
                for (size_t k = 0; k < s->n_settings; k++)
                        free(s->settings[k].key), free(s->settings[k].value);
                free(s->settings), free(s->kind), free(s->id);
        }
        free(c->departments), free(c->meetings), free(c->sections), free(c->path);
        free(c->calendar_name), free(c->domain), free(c->state_dir), free(c->feed_dir);
        free(c->listen), free(c->public_url), free(c->feed_token);
        free(c);
        return NULL;
}
