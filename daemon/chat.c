/* chat.c — what a reminder says and how each service wants it. */
#include "chat.h"

#include <jansson.h>

#include "util.h"

static const char *const day_names[8] = {NULL, "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const month_names[13] = {NULL, "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

size_t chat_limit(ChatKind kind)
{
        /* Documented message limits, with a little room to spare. */
        switch (kind) {
        case CHAT_DISCORD: return 2000;
        case CHAT_GOOGLECHAT: return 4096;
        case CHAT_ROCKETCHAT: return 5000;
        case CHAT_NTFY: return 4096; /* bytes, see chat_build */
        case CHAT_MATTERMOST: return 16383;
        case CHAT_TEAMS: return 20000; /* the whole card must stay under 28 KB */
        case CHAT_SLACK: return 40000;
        default: return 65536;
        }
}

char *chat_truncate(const char *text, size_t max_chars, size_t max_bytes)
{
        static const char ellipsis[] = "\xe2\x80\xa6"; /* … */
        size_t chars = 0, i = 0, len = strlen(text);
        size_t cut = 0, cut_chars = 0;
        while (i < len) {
                size_t n = 1;
                unsigned char c = (unsigned char)text[i];
                if (c >= 0xf0) n = 4;
                else if (c >= 0xe0) n = 3;
                else if (c >= 0xc0) n = 2;
                if (i + n > len)
                        n = len - i;
                /* Remember the last place where the ellipsis still fits. */
                if (chars + 1 <= max_chars - 1 && i + n + sizeof(ellipsis) - 1 <= max_bytes) {
                        cut = i + n;
                        cut_chars = chars + 1;
                }
                chars++;
                i += n;
        }
        (void)cut_chars;
        if (chars <= max_chars && len <= max_bytes)
                return xstrdup(text);
        return xasprintf("%.*s%s", (int)cut, text, ellipsis);
}

char *chat_until(int64_t start, int64_t now, icaltimezone *zone)
{
        int64_t left = start - now;
        int64_t minutes = (left + 30) / 60;
        if (minutes <= 0)
                return xstrdup(left > -60 ? "now" : "already started");
        if (minutes < 60)
                return xasprintf("in %lld minute%s", (long long)minutes, minutes == 1 ? "" : "s");
        int64_t hours = minutes / 60, rest = minutes % 60;
        Wall s = tz_instant_to_wall(zone, start), n = tz_instant_to_wall(zone, now);
        int64_t days = date_to_days(s.date) - date_to_days(n.date);
        if (hours < 12 || (days == 0 && hours < 24)) {
                if (rest == 0)
                        return xasprintf("in %lld hour%s", (long long)hours, hours == 1 ? "" : "s");
                return xasprintf("in %lld hour%s %lld minute%s", (long long)hours, hours == 1 ? "" : "s",
                                 (long long)rest, rest == 1 ? "" : "s");
        }
        if (days == 1)
                return xasprintf("tomorrow at %02d:%02d", s.hour, s.minute);
        return xasprintf("in %lld days, %s %d %s at %02d:%02d", (long long)days, day_names[date_weekday(s.date)],
                         s.date.day, month_names[s.date.month], s.hour, s.minute);
}

/* "Tue 1 Dec 2026, 16:00-16:45 CET" in the department's zone. */
static char *when_text(const Occurrence *o, icaltimezone *z)
{
        Wall a = tz_instant_to_wall(z, o->start), b = tz_instant_to_wall(z, o->end);
        char abbr_a[16], abbr_b[16];
        snprintf(abbr_a, sizeof abbr_a, "%s", tz_abbrev(z, o->start));
        snprintf(abbr_b, sizeof abbr_b, "%s", tz_abbrev(z, o->end));
        if (date_to_days(a.date) == date_to_days(b.date) && streq(abbr_a, abbr_b))
                return xasprintf("%s %d %s %d, %02d:%02d-%02d:%02d %s", day_names[date_weekday(a.date)], a.date.day,
                                 month_names[a.date.month], a.date.year, a.hour, a.minute, b.hour, b.minute, abbr_a);
        return xasprintf("%s %d %s %d, %02d:%02d %s - %s %d %s %02d:%02d %s", day_names[date_weekday(a.date)],
                         a.date.day, month_names[a.date.month], a.date.year, a.hour, a.minute, abbr_a,
                         day_names[date_weekday(b.date)], b.date.day, month_names[b.date.month], b.hour, b.minute,
                         abbr_b);
}

char *chat_text(const Meeting *m, const Department *d, const Occurrence *o, int64_t now)
{
        Buf b = {0};
        _cleanup_free_ char *until = chat_until(o->start, now, d->zone);
        _cleanup_free_ char *when = when_text(o, d->zone);
        if (d->mention)
                buf_printf(&b, "%s ", d->mention);
        buf_printf(&b, "Reminder: %s, %s\n%s", m->title, until, when);
        if (m->location)
                buf_printf(&b, "\nWhere: %s", m->location);
        bool first = true;
        for (size_t i = 0; i < m->n_departments; i++)
                if (m->departments[i] != d) {
                        buf_printf(&b, "%s%s", first ? "\nWith: " : ", ", m->departments[i]->name);
                        first = false;
                }
        if (m->description)
                buf_printf(&b, "\n%s", m->description);
        return buf_steal(&b);
}

static char *rfc3339_utc(int64_t t)
{
        char buf[32];
        tz_format_rfc3339(icaltimezone_get_utc_timezone(), t, buf);
        return xstrdup(buf);
}

static char *dump(json_t *j)
{
        char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(j);
        if (!s)
                abort(); /* only on allocation failure */
        return s;
}

/* A Workflows ("Post to a channel when a webhook request is received")
 * message with one Adaptive Card; the old Office 365 connectors are gone. */
static json_t *teams_card(const char *title, const char *text)
{
        json_t *body = json_pack("[{s:s, s:s, s:s, s:s, s:b}, {s:s, s:s, s:b}]", "type", "TextBlock", "text", title,
                                 "weight", "Bolder", "size", "Medium", "wrap", 1, "type", "TextBlock", "text", text,
                                 "wrap", 1);
        json_t *card = json_pack("{s:s, s:s, s:s, s:o}", "$schema", "http://adaptivecards.io/schemas/adaptive-card.json",
                                 "type", "AdaptiveCard", "version", "1.4", "body", body);
        return json_pack("{s:s, s:[{s:s, s:n, s:o}]}", "type", "message", "attachments", "contentType",
                         "application/vnd.microsoft.card.adaptive", "contentUrl", "content", card);
}

/* Fills the message for d's chat from a finished text. generic_extra is
 * the generic payload without "text", or NULL. */
static void build(const Department *d, const char *raw_title, const char *raw_text, json_t *generic, ChatMessage *ret)
{
        /* The config admits UTF-8 only; this keeps anything else from ever
         * making a payload jansson refuses to build (found by fuzzing). */
        _cleanup_free_ char *title = utf8_sanitize(raw_title), *full_text = utf8_sanitize(raw_text);
        size_t limit = chat_limit(d->chat);
        _cleanup_free_ char *text = chat_truncate(full_text, limit, d->chat == CHAT_NTFY ? 4096 : (size_t)-1);
        *ret = (ChatMessage){.content_type = "application/json"};
        switch (d->chat) {
        case CHAT_CONSOLE: {
                Buf b = {0};
                buf_printf(&b, "[%s] ", d->id);
                for (const char *p = full_text; *p; p++)
                        buf_append(&b, *p == '\n' ? " | " : (char[2]){*p, 0});
                ret->line = buf_steal(&b);
                break;
        }
        case CHAT_SLACK:
        case CHAT_MATTERMOST:
        case CHAT_ROCKETCHAT:
        case CHAT_GOOGLECHAT:
                ret->body = dump(json_pack("{s:s}", "text", text));
                break;
        case CHAT_DISCORD:
                ret->body = dump(json_pack("{s:s}", "content", text));
                break;
        case CHAT_TEAMS: {
                /* The card repeats the title as its heading; the text keeps
                 * it too, for notifications that show the body only. */
                ret->body = dump(teams_card(title, text));
                break;
        }
        case CHAT_NTFY:
                ret->body = xstrdup(text);
                ret->content_type = "text/plain; charset=utf-8";
                ret->title = chat_truncate(title, 200, 250);
                /* A header must stay one line. */
                for (char *p = ret->title; *p; p++)
                        if (*p == '\r' || *p == '\n')
                                *p = ' ';
                break;
        case CHAT_GENERIC:
                json_object_set_new(generic, "text", json_string(text));
                ret->body = dump(json_incref(generic));
                break;
        case _CHAT_MAX:
                break;
        }
        json_decref(generic);
}

void chat_reminder(const Meeting *m, const Department *d, const Occurrence *o, const Reminder *r, int64_t now,
                   ChatMessage *ret)
{
        _cleanup_free_ char *text = chat_text(m, d, o, now);
        _cleanup_free_ char *start = rfc3339_utc(o->start), *end = rfc3339_utc(o->end);
        _cleanup_free_ char *title = utf8_sanitize(m->title);
        json_t *generic = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "reminder", "meeting", m->id,
                                    "title", title, "department", d->id, "start", start, "end", end, "before",
                                    r->text);
        build(d, m->title, text, generic, ret);
}

void chat_test(const Config *c, const Department *d, int64_t now, ChatMessage *ret)
{
        size_t n = 0;
        for (size_t i = 0; i < c->n_meetings; i++)
                n += meeting_has_department(&c->meetings[i], d);
        _cleanup_free_ char *stamp = rfc3339_utc(now);
        _cleanup_free_ char *text = xasprintf("%s%sThis is a test from tandem: reminders for %s's %zu joint meeting%s will be posted here.",
                                              d->mention ? d->mention : "", d->mention ? " " : "", d->name, n,
                                              n == 1 ? "" : "s");
        json_t *generic = json_pack("{s:s, s:s, s:s}", "type", "test", "department", d->id, "sent", stamp);
        build(d, "tandem test message", text, generic, ret);
}

void chat_message_free(ChatMessage *m)
{
        free(m->body);
        free(m->title);
        free(m->line);
        *m = (ChatMessage){0};
}
