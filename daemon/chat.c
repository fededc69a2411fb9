/* chat.c — what a reminder says and how each service wants it.
 *
 * A message is a list of pieces (see chat.h). Each kind renders the pieces
 * in its own syntax, escaping the ones that came from the config by that
 * service's documented rules; a message that does not fit the service's
 * limit is cut by a binary search over the grapheme boundaries of the
 * config text, re-rendering and measuring the real payload each time. */
#include "chat.h"

#include <ctype.h>
#include <jansson.h>
#include <strings.h>
#include <unicode/ubrk.h>
#include <unicode/utext.h>

#include "util.h"

static const char *const day_names[8] = {NULL, "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const month_names[13] = {NULL, "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

#define ELLIPSIS "\xe2\x80\xa6"     /* … */
#define WORD_JOINER "\xe2\x81\xa0"  /* U+2060: invisible, never a word break */
#define SOFT_HYPHEN "\xc2\xad"      /* U+00AD: invisible unless a line breaks there */

ChatLimit chat_limit(ChatKind kind)
{
        switch (kind) {
        case CHAT_SLACK:
                /* Slack truncates the text field past 40,000 "characters"
                 * (api.slack.com/changelog/2018-04-truncating-really-long-messages).
                 * Counted here in UTF-16 code units, which are never fewer
                 * than characters however Slack counts them. */
                return (ChatLimit){39000, CHAT_UNIT_UTF16, false};
        case CHAT_DISCORD:
                /* content: 2,000 characters; Discord counts code points (its
                 * API is Python: discord/discord-api-docs#1315). UTF-16 units
                 * are never fewer, so this holds for either count. */
                return (ChatLimit){1950, CHAT_UNIT_UTF16, false};
        case CHAT_MATTERMOST:
                /* model.PostMessageMaxRunesV2: 16,383 runes (code points). */
                return (ChatLimit){16000, CHAT_UNIT_CODE_POINTS, false};
        case CHAT_ROCKETCHAT:
                /* Message_MaxAllowedSize, 5,000 by default, compared with
                 * JavaScript's String length: UTF-16 code units. */
                return (ChatLimit){4900, CHAT_UNIT_UTF16, false};
        case CHAT_GOOGLECHAT:
                /* "The maximum message size, including text and cards, is
                 * 32,000 bytes" (developers.google.com/workspace/chat/create-messages). */
                return (ChatLimit){30000, CHAT_UNIT_BYTES, true};
        case CHAT_TEAMS:
                /* About 28 KB for the whole message (Teams' webhook and
                 * connector limits); a Workflows webhook answers 202 before
                 * its flow runs, so a card over it is lost silently. */
                return (ChatLimit){24000, CHAT_UNIT_BYTES, true};
        case CHAT_NTFY:
                /* ntfy turns a body over 4,096 bytes into an attachment
                 * (docs.ntfy.sh, "Limitations": message length). */
                return (ChatLimit){4000, CHAT_UNIT_BYTES, false};
        case CHAT_GENERIC:
                return (ChatLimit){65536, CHAT_UNIT_BYTES, false};
        case CHAT_CONSOLE:
        case _CHAT_MAX:
                break;
        }
        return (ChatLimit){SIZE_MAX, CHAT_UNIT_BYTES, false};
}

size_t chat_measure(const char *s, ChatUnit unit)
{
        size_t n = 0;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (unit == CHAT_UNIT_BYTES)
                        n++;
                else if ((*p & 0xc0) != 0x80)
                        /* A 4-byte sequence is beyond the BMP: a surrogate
                         * pair in UTF-16. */
                        n += unit == CHAT_UNIT_UTF16 && *p >= 0xf0 ? 2 : 1;
        }
        return n;
}

/* ---- grapheme clusters ------------------------------------------------ */

/* The offsets of the grapheme cluster boundaries inside s[0..len) (0 and
 * len excluded), by ICU's implementation of UAX #29 extended grapheme
 * clusters: ICU is already in every tandem process, as libical's calendar
 * engine. If ICU fails, there are none: the text is then only ever cut
 * whole, which is safe. */
static size_t grapheme_boundaries(const char *s, size_t len, size_t **ret)
{
        UErrorCode e = U_ZERO_ERROR;
        size_t n = 0, alloc = 0;
        *ret = NULL;
        UText *ut = utext_openUTF8(NULL, s, (int64_t)len, &e);
        UBreakIterator *bi = ubrk_open(UBRK_CHARACTER, "", NULL, 0, &e);
        if (U_SUCCESS(e))
                ubrk_setUText(bi, ut, &e);
        if (U_SUCCESS(e))
                for (int32_t b = ubrk_next(bi); b != UBRK_DONE && (size_t)b < len; b = ubrk_next(bi)) {
                        GROW(*ret, n, alloc);
                        (*ret)[n++] = (size_t)b;
                }
        ubrk_close(bi);
        utext_close(ut);
        return n;
}

char *chat_truncate(const char *text, size_t max_chars, size_t max_bytes)
{
        size_t len = strlen(text);
        if (chat_measure(text, CHAT_UNIT_CODE_POINTS) <= max_chars && len <= max_bytes)
                return xstrdup(text);
        _cleanup_free_ size_t *bounds = NULL;
        size_t n = grapheme_boundaries(text, len, &bounds), cut = 0, chars = 0, prev = 0;
        for (size_t i = 0; i < n; i++) {
                for (size_t j = prev; j < bounds[i]; j++)
                        chars += ((unsigned char)text[j] & 0xc0) != 0x80;
                prev = bounds[i];
                if (chars + 1 > max_chars || bounds[i] + strlen(ELLIPSIS) > max_bytes)
                        break;
                cut = bounds[i];
        }
        return xasprintf("%.*s" ELLIPSIS, (int)cut, text);
}

/* ---- what a reminder says --------------------------------------------- */

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

enum {
        PIECE_CONFIG = 1 << 0,  /* came from the config: escape it */
        PIECE_BOLD = 1 << 1,    /* tandem's emphasis */
        PIECE_BREAK = 1 << 2,   /* tandem's line break (no text) */
        PIECE_MENTION = 1 << 3, /* the configured mention, written as is */
        PIECE_TITLE = 1 << 4,   /* the title: also Teams' heading */
};

typedef struct Piece {
        const char *s;
        size_t len;
        unsigned flags;
} Piece;

typedef struct Pieces {
        Piece *p;
        size_t n, alloc;
        char **owned;
        size_t n_owned, alloc_owned;
} Pieces;

/* Text from the config (the mention too) is made valid UTF-8 first: the
 * config admits UTF-8 only, and this keeps anything else from ever making
 * a payload jansson refuses to build (found by fuzzing). */
static void piece_add(Pieces *P, const char *s, unsigned flags)
{
        char *copy = flags & (PIECE_CONFIG | PIECE_MENTION) ? utf8_sanitize(s) : xstrdup(s);
        GROW(P->owned, P->n_owned, P->alloc_owned);
        P->owned[P->n_owned++] = copy;
        GROW(P->p, P->n, P->alloc);
        P->p[P->n++] = (Piece){copy, strlen(copy), flags};
}

static void pieces_free(Pieces *P)
{
        for (size_t i = 0; i < P->n_owned; i++)
                free(P->owned[i]);
        free(P->owned);
        free(P->p);
        *P = (Pieces){0};
}

static void reminder_pieces(Pieces *P, const Meeting *m, const Department *d, const Occurrence *o, int64_t now)
{
        _cleanup_free_ char *until = chat_until(o->start, now, d->zone);
        _cleanup_free_ char *when = when_text(o, d->zone);
        _cleanup_free_ char *after = xasprintf(", %s", until);
        if (d->mention)
                piece_add(P, d->mention, PIECE_MENTION);
        piece_add(P, "Reminder: ", 0);
        piece_add(P, m->title, PIECE_CONFIG | PIECE_BOLD | PIECE_TITLE);
        piece_add(P, after, 0);
        piece_add(P, "", PIECE_BREAK);
        piece_add(P, when, 0);
        /* whose turn it is, where turns rotate (README "Host rotation and
         * pairings") */
        if (m->rotation && o->host) {
                piece_add(P, ", hosted by ", 0);
                piece_add(P, o->host->name, PIECE_CONFIG);
        }
        if (m->location) {
                piece_add(P, "", PIECE_BREAK);
                piece_add(P, "Where: ", 0);
                piece_add(P, m->location, PIECE_CONFIG);
        }
        bool first = true;
        for (size_t i = 0; i < m->n_departments; i++)
                if (m->departments[i] != d) {
                        if (first)
                                piece_add(P, "", PIECE_BREAK);
                        piece_add(P, first ? "With: " : ", ", 0);
                        piece_add(P, m->departments[i]->name, PIECE_CONFIG);
                        first = false;
                }
        if (m->description) {
                piece_add(P, "", PIECE_BREAK);
                piece_add(P, m->description, PIECE_CONFIG);
        }
}

/* "Thu 25 Dec" and, with time, "Thu 25 Dec 16:00 CET" in zone z. */
static char *day_text(int64_t t, icaltimezone *z, bool with_time)
{
        Wall w = tz_instant_to_wall(z, t);
        if (!with_time)
                return xasprintf("%s %d %s", day_names[date_weekday(w.date)], w.date.day, month_names[w.date.month]);
        return xasprintf("%s %d %s %02d:%02d %s", day_names[date_weekday(w.date)], w.date.day,
                         month_names[w.date.month], w.hour, w.minute, tz_abbrev(z, t));
}

static void notice_pieces(Pieces *P, const Meeting *m, const Department *d, const ChatNotice *n)
{
        if (d->mention)
                piece_add(P, d->mention, PIECE_MENTION);
        if (n->cancelled) {
                _cleanup_free_ char *day = day_text(n->original_start, d->zone, false);
                _cleanup_free_ char *on = xasprintf(" on %s", day);
                piece_add(P, "No ", 0);
                piece_add(P, m->title, PIECE_CONFIG | PIECE_BOLD | PIECE_TITLE);
                piece_add(P, on, 0);
        } else {
                /* The old time without its zone when the new one has the same. */
                _cleanup_free_ char *from = day_text(n->original_start, d->zone, true);
                _cleanup_free_ char *to = day_text(n->start, d->zone, true);
                const char *zone = strrchr(to, ' ');
                if (zone && strlen(from) > strlen(zone) && streq(from + strlen(from) - strlen(zone), zone))
                        from[strlen(from) - strlen(zone)] = '\0';
                _cleanup_free_ char *span = xasprintf(" from %s to %s", from, to);
                piece_add(P, "Moved: ", 0);
                piece_add(P, m->title, PIECE_CONFIG | PIECE_BOLD | PIECE_TITLE);
                piece_add(P, span, 0);
        }
        if (n->reason) {
                piece_add(P, " (", 0);
                piece_add(P, n->reason, PIECE_CONFIG);
                piece_add(P, ")", 0);
        }
        piece_add(P, ".", 0);
        if (n->cancelled && n->next) {
                _cleanup_free_ char *next = day_text(n->next, d->zone, true);
                _cleanup_free_ char *text = xasprintf("Next: %s", next);
                piece_add(P, "", PIECE_BREAK);
                piece_add(P, text, 0);
        }
}

/* The text without any service's syntax: mention, a space, the rest, with
 * line breaks as "\n". */
static char *pieces_plain(const Piece *p, size_t n)
{
        Buf b = {0};
        buf_append(&b, "");
        for (size_t i = 0; i < n; i++) {
                if (p[i].flags & PIECE_BREAK)
                        buf_append(&b, "\n");
                else
                        buf_printf(&b, "%.*s%s", (int)p[i].len, p[i].s, p[i].flags & PIECE_MENTION ? " " : "");
        }
        return buf_steal(&b);
}

char *chat_text(const Meeting *m, const Department *d, const Occurrence *o, int64_t now)
{
        _cleanup_(pieces_free) Pieces P = {0};
        reminder_pieces(&P, m, d, o, now);
        return pieces_plain(P.p, P.n);
}

/* ---- escaping text from the config, per service ------------------------ */

/* Writes config text s[0..len) into b. *bol: at the start of a line. */
typedef void (*EscapeFn)(Buf *b, const char *s, size_t len, bool *bol);

/* The length of the web address at s[i], or 0. Every service links bare
 * http(s) addresses by itself, reading them before any emphasis; an
 * escape inside one would break the link, so addresses are written as
 * they are (up to a space or a character that cannot end an address
 * unescaped: < > [ ] | ` " \ and trailing punctuation, as GFM's autolinks). */
static size_t url_run(const char *s, size_t len, size_t i)
{
        if (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '\\'))
                return 0;
        size_t start = strncasecmp(s + i, "https://", 8) == 0 && len - i >= 8 ? 8
                       : strncasecmp(s + i, "http://", 7) == 0 && len - i >= 7 ? 7 : 0;
        if (!start)
                return 0;
        size_t j = i + start;
        /* Not past "@" (Mattermost and Rocket.Chat would find a mention
         * after it, as after any non-word character) nor a non-ASCII byte
         * (an invalid one becomes U+FFFD, a non-word character). */
        while (j < len && (unsigned char)s[j] > ' ' && (unsigned char)s[j] < 0x80 && !strchr("<>[]|`\"\\@", s[j]))
                j++;
        while (j > i + start && strchr(".,:;!?')*_~", s[j - 1]))
                j--;
        return j > i + start ? j - i : 0;
}

/* Copies the web address at s[*i] as it is (Slack: with "&" as "&amp;",
 * which Slack decodes in links too); false if there is none. */
static bool copy_url(Buf *b, const char *s, size_t len, size_t *i, bool *bol, bool amp)
{
        size_t n = url_run(s, len, *i);
        if (!n)
                return false;
        for (size_t k = *i; k < *i + n; k++)
                buf_append(b, amp && s[k] == '&' ? "&amp;" : (char[2]){s[k], 0});
        *i += n - 1;
        *bol = false;
        return true;
}

/* Slack mrkdwn (api.slack.com/reference/surfaces/formatting, "Escaping
 * text"): &, < and > are control characters and must be the entities
 * &amp; &lt; &gt; — this alone stops <!channel>, <@U…>, <!subteam^…> and
 * <url|text> links. Slack documents no escape for * _ ~ `; each is written
 * as the fallback of a date token that never formats (<!date^0^{_}|*>):
 * Slack shows the fallback as plain text, which is how yhatt/jsx-slack's
 * <Escape> keeps them literal. "&gt;" opening a line would quote it: a
 * soft hyphen before it (jsx-slack again) keeps it a plain ">". */
static void escape_slack(Buf *b, const char *s, size_t len, bool *bol)
{
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (copy_url(b, s, len, &i, bol, true))
                        continue;
                switch (c) {
                case '&': buf_append(b, "&amp;"); break;
                case '<': buf_append(b, "&lt;"); break;
                case '>': buf_append(b, *bol ? SOFT_HYPHEN "&gt;" : "&gt;"); break;
                case '*': case '_': case '~': case '`':
                        buf_printf(b, "<!date^00000000^{_}|%c>", c);
                        break;
                default: buf_printf(b, "%c", c);
                }
                *bol = c == '\n' || (*bol && c == ' ');
        }
}

/* Markdown with CommonMark's backslash escapes, which "any ASCII
 * punctuation character" takes (spec.commonmark.org, "Backslash
 * escapes"), as do Discord's parser (discord.js escapeMarkdown writes the
 * same) and Mattermost's and Rocket.Chat's. Escaped inline: emphasis
 * (* _ ~), code (`), spoilers and tables (|), HTML, autolinks and Discord's
 * <@id> <#id> <t:…> (< >), links and images ([ ]), entities (&) and the
 * backslash. At a line start also headings, quotes, lists and Discord's
 * "-#" subtext (# > - + =, "1." and "1)"). "@" as `at` says. */
typedef enum AtEscape { AT_BACKSLASH, AT_WORD_JOINER } AtEscape;

static void escape_markdown_core(Buf *b, const char *s, size_t len, bool *bol, AtEscape at)
{
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (copy_url(b, s, len, &i, bol, false))
                        continue;
                if (*bol && c != ' ' && c != '\n') {
                        size_t j = i;
                        while (j < len && j - i < 9 && s[j] >= '0' && s[j] <= '9')
                                j++;
                        if (j > i && j < len && (s[j] == '.' || s[j] == ')')) {
                                buf_printf(b, "%.*s\\%c", (int)(j - i), s + i, s[j]);
                                i = j;
                                *bol = false;
                                continue;
                        }
                }
                bool escape = strchr("\\*_~`|<>[]&", c) || (*bol && strchr("#-+=", c)) ||
                              (c == '@' && at == AT_BACKSLASH);
                if (escape && c)
                        buf_printf(b, "\\%c", c);
                else if (c == '@')
                        /* Mattermost and Rocket.Chat find @all, @channel,
                         * @here and @user in the raw text, where a backslash
                         * means nothing: a word joiner after "@" makes the
                         * word no mention while it looks the same. */
                        buf_append(b, "@" WORD_JOINER);
                else
                        buf_printf(b, "%c", c);
                *bol = c == '\n' || (*bol && c == ' ');
        }
}

static void escape_discord(Buf *b, const char *s, size_t len, bool *bol)
{
        /* allowed_mentions stops the pings; "\@everyone" also shows as
         * plain text rather than as a mention. */
        escape_markdown_core(b, s, len, bol, AT_BACKSLASH);
}

static void escape_markdown_mentions(Buf *b, const char *s, size_t len, bool *bol)
{
        escape_markdown_core(b, s, len, bol, AT_WORD_JOINER);
}

/* Google Chat's text syntax (developers.google.com/workspace/chat/
 * format-messages) has * _ ~ ` for emphasis and code, "* " and "- " for
 * lists, and <users/…>, <users/all> and <url|text> for mentions and links;
 * it documents no escape. A word joiner after "<" makes those no longer
 * the documented syntax; one on both sides of an emphasis character leaves
 * it neither opening nor closing emphasis whether the joiner counts as a
 * letter (then it is inside a word) or as a space (then it touches no
 * text); one before "- " at a line start keeps it from being a list. */
static void escape_googlechat(Buf *b, const char *s, size_t len, bool *bol)
{
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (copy_url(b, s, len, &i, bol, false))
                        continue;
                if (c == '<')
                        buf_append(b, "<" WORD_JOINER);
                else if (strchr("*_~`", c) && c)
                        buf_printf(b, WORD_JOINER "%c" WORD_JOINER, c);
                else if (*bol && c == '-')
                        buf_append(b, WORD_JOINER "-");
                else
                        buf_printf(b, "%c", c);
                *bol = c == '\n' || (*bol && c == ' ');
        }
}

/* ---- payloads --------------------------------------------------------- */

typedef struct Syntax {
        EscapeFn escape;
        const char *bold;       /* written before and after bold text */
} Syntax;

static const Syntax *syntax_of(ChatKind kind)
{
        static const Syntax slack = {escape_slack, "*"}, discord = {escape_discord, "**"},
                            mattermost = {escape_markdown_mentions, "**"}, rocketchat = {escape_markdown_mentions, "*"},
                            googlechat = {escape_googlechat, "*"};
        switch (kind) {
        case CHAT_SLACK: return &slack;
        case CHAT_DISCORD: return &discord;
        case CHAT_MATTERMOST: return &mattermost;
        case CHAT_ROCKETCHAT: return &rocketchat;
        case CHAT_GOOGLECHAT: return &googlechat;
        default: return NULL;
        }
}

/* The text in a markup service's syntax. */
static char *pieces_markup(const Piece *p, size_t n, const Syntax *sx)
{
        Buf b = {0};
        bool bol = true;
        buf_append(&b, "");
        for (size_t i = 0; i < n; i++) {
                if (p[i].flags & PIECE_BREAK) {
                        buf_append(&b, "\n");
                        bol = true;
                        continue;
                }
                if (p[i].flags & PIECE_MENTION) {
                        buf_printf(&b, "%.*s ", (int)p[i].len, p[i].s);
                        bol = false;
                        continue;
                }
                if (p[i].len == 0)
                        continue;
                if (p[i].flags & PIECE_BOLD)
                        buf_append(&b, sx->bold);
                if (p[i].flags & PIECE_CONFIG)
                        sx->escape(&b, p[i].s, p[i].len, &bol);
                else {
                        buf_printf(&b, "%.*s", (int)p[i].len, p[i].s);
                        bol = p[i].s[p[i].len - 1] == '\n';
                }
                if (p[i].flags & PIECE_BOLD)
                        buf_append(&b, sx->bold);
        }
        return buf_steal(&b);
}

static char *dump(json_t *j)
{
        char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(j);
        if (!s)
                abort(); /* only on allocation failure */
        return s;
}

static bool digits(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return n > 0;
}

/* Discord's allowed_mentions: nothing may ping but what the configured
 * mention names — <@id> or <@!id> a user, <@&id> a role, @everyone or
 * @here everyone (discord.com/developers/docs/resources/message,
 * "Allowed Mentions Object"). A mention Discord cannot resolve (a plain
 * "@Sales") pings nobody. */
static json_t *discord_allowed_mentions(const char *mention)
{
        json_t *parse = json_array(), *users = json_array(), *roles = json_array();
        for (const char *p = mention ? mention : ""; *p; p++) {
                if (strncmp(p, "@everyone", 9) == 0 || strncmp(p, "@here", 5) == 0) {
                        if (json_array_size(parse) == 0)
                                json_array_append_new(parse, json_string("everyone"));
                } else if (strncmp(p, "<@", 2) == 0) {
                        const char *id = p + 2, *end = strchr(id, '>');
                        json_t *to = users;
                        if (*id == '&')
                                id++, to = roles;
                        else if (*id == '!')
                                id++;
                        if (end && digits(id, (size_t)(end - id)) && json_array_size(to) < 100)
                                json_array_append_new(to, json_stringn(id, (size_t)(end - id)));
                }
        }
        json_t *am = json_pack("{s:o}", "parse", parse);
        if (json_array_size(users))
                json_object_set(am, "users", users);
        if (json_array_size(roles))
                json_object_set(am, "roles", roles);
        json_decref(users);
        json_decref(roles);
        return am;
}

/* One TextRun of a RichTextBlock. Microsoft documents that RichTextBlock
 * does not support Markdown (learn.microsoft.com/adaptive-cards/create/
 * textfeatures): its text is shown as written, so config text needs no
 * escaping here, and tandem's bold is the run's weight. */
static json_t *teams_run(const char *s, size_t len, bool bold, bool heading)
{
        json_t *run = json_pack("{s:s, s:s%}", "type", "TextRun", "text", s, len);
        if (bold)
                json_object_set_new(run, "weight", json_string("Bolder"));
        if (heading)
                json_object_set_new(run, "size", json_string("Medium"));
        return run;
}

static void teams_line(json_t *body, json_t **inlines)
{
        if (json_array_size(*inlines))
                json_array_append_new(body, json_pack("{s:s, s:o}", "type", "RichTextBlock", "inlines", *inlines));
        else
                json_decref(*inlines);
        *inlines = json_array();
}

/* A Workflows ("Post to a channel when a webhook request is received")
 * message with one Adaptive Card; the old Office 365 connectors are gone.
 * Each line is its own block: in a TextBlock's Markdown a single "\n"
 * joins lines into one paragraph. The configured mention is left out: a
 * Teams mention needs <at>…</at> with msteams.entities naming a user or
 * tag id, which no name in the config gives (config.c warns). */
static char *teams_body(const Piece *p, size_t n, const char *heading)
{
        json_t *body = json_array(), *inlines = json_array();
        json_array_append_new(inlines, teams_run(heading, strlen(heading), true, true));
        teams_line(body, &inlines);
        for (size_t i = 0; i < n; i++) {
                if (p[i].flags & PIECE_BREAK) {
                        teams_line(body, &inlines);
                        continue;
                }
                if (p[i].flags & PIECE_MENTION)
                        continue;
                /* Config text may hold line breaks of its own. */
                for (const char *s = p[i].s, *end = p[i].s + p[i].len; s < end;) {
                        const char *nl = memchr(s, '\n', (size_t)(end - s));
                        size_t len = (size_t)((nl ? nl : end) - s);
                        if (len)
                                json_array_append_new(inlines, teams_run(s, len, p[i].flags & PIECE_BOLD, false));
                        if (nl)
                                teams_line(body, &inlines);
                        s += len + (nl != NULL);
                }
        }
        teams_line(body, &inlines);
        json_decref(inlines);
        json_t *card = json_pack("{s:s, s:s, s:s, s:o}", "$schema", "http://adaptivecards.io/schemas/adaptive-card.json",
                                 "type", "AdaptiveCard", "version", "1.4", "body", body);
        return dump(json_pack("{s:s, s:[{s:s, s:n, s:o}]}", "type", "message", "attachments", "contentType",
                              "application/vnd.microsoft.card.adaptive", "contentUrl", "content", card));
}

/* What build() needs besides the pieces. */
typedef struct Extra {
        const char *heading;    /* Teams' heading where no piece is the title */
        const json_t *generic;  /* the generic payload without "text" */
} Extra;

/* The payload of d's chat for pieces p[0..n). */
static void build(const Department *d, const Piece *p, size_t n, const Extra *x, ChatMessage *ret)
{
        *ret = (ChatMessage){.content_type = "application/json"};
        const Syntax *sx = syntax_of(d->chat);
        switch (d->chat) {
        case CHAT_CONSOLE: {
                _cleanup_free_ char *plain = pieces_plain(p, n);
                Buf b = {0};
                buf_printf(&b, "[%s] ", d->id);
                for (const char *c = plain; *c; c++)
                        buf_append(&b, *c == '\n' ? " | " : (char[2]){*c, 0});
                ret->line = buf_steal(&b);
                break;
        }
        case CHAT_SLACK:
        case CHAT_MATTERMOST:
        case CHAT_ROCKETCHAT:
        case CHAT_GOOGLECHAT: {
                _cleanup_free_ char *text = pieces_markup(p, n, sx);
                ret->body = dump(json_pack("{s:s}", "text", text));
                break;
        }
        case CHAT_DISCORD: {
                _cleanup_free_ char *text = pieces_markup(p, n, sx);
                const char *mention = NULL;
                for (size_t i = 0; i < n && !mention; i++)
                        if (p[i].flags & PIECE_MENTION)
                                mention = p[i].s;
                ret->body = dump(json_pack("{s:s, s:o}", "content", text, "allowed_mentions",
                                           discord_allowed_mentions(mention)));
                break;
        }
        case CHAT_TEAMS: {
                Buf title = {0};
                for (size_t i = 0; i < n; i++)
                        if (p[i].flags & PIECE_TITLE)
                                buf_printf(&title, "%.*s", (int)p[i].len, p[i].s);
                ret->body = teams_body(p, n, title.s ? title.s : x->heading);
                buf_free(&title);
                /* The endpoint has been seen to count a body without a
                 * charset as UTF-16, halving the limit. */
                ret->content_type = "application/json; charset=utf-8";
                break;
        }
        case CHAT_NTFY:
                /* Plain text: ntfy renders Markdown only when asked to
                 * (X-Markdown), which tandem never does. */
                ret->body = pieces_plain(p, n);
                ret->content_type = "text/plain; charset=utf-8";
                break;
        case CHAT_GENERIC: {
                /* Raw text and structured fields: the receiver escapes. */
                json_t *g = json_deep_copy(x->generic);
                _cleanup_free_ char *text = pieces_plain(p, n);
                json_object_set_new(g, "text", json_string(text));
                ret->body = dump(g);
                break;
        }
        case _CHAT_MAX:
                break;
        }
}

char *chat_counted(ChatKind kind, const ChatMessage *m)
{
        if (kind == CHAT_CONSOLE)
                return xstrdup(m->line);
        if (kind == CHAT_NTFY || chat_limit(kind).whole_body)
                return xstrdup(m->body);
        json_t *j = json_loads(m->body, 0, NULL);
        const char *text = json_string_value(json_object_get(j, kind == CHAT_DISCORD ? "content" : "text"));
        char *s = xstrdup(text ? text : "");
        json_decref(j);
        return s;
}

static bool fits(const Department *d, const ChatMessage *m)
{
        ChatLimit l = chat_limit(d->chat);
        _cleanup_free_ char *counted = chat_counted(d->chat, m);
        return chat_measure(counted, l.unit) <= l.max;
}

typedef struct Cut {
        size_t piece, offset;
} Cut;

/* Where the message may be cut, in order: before any piece, and inside
 * config text between two grapheme clusters. tandem's own pieces and the
 * mention are whole or gone. */
static size_t cut_points(const Pieces *P, Cut **ret)
{
        size_t n = 0, alloc = 0;
        *ret = NULL;
        for (size_t i = 0; i < P->n; i++) {
                GROW(*ret, n, alloc);
                (*ret)[n++] = (Cut){i, 0};
                if (!(P->p[i].flags & PIECE_CONFIG))
                        continue;
                _cleanup_free_ size_t *bounds = NULL;
                size_t nb = grapheme_boundaries(P->p[i].s, P->p[i].len, &bounds);
                for (size_t k = 0; k < nb; k++) {
                        GROW(*ret, n, alloc);
                        (*ret)[n++] = (Cut){i, bounds[k]};
                }
        }
        return n;
}

/* The pieces up to cut c, then "…" (bold where the cut text was). */
static size_t pieces_cut(const Pieces *P, Cut c, Piece *out)
{
        memcpy(out, P->p, c.piece * sizeof *out);
        size_t n = c.piece;
        if (c.offset > 0) {
                out[n] = P->p[c.piece];
                out[n++].len = c.offset;
        }
        /* Cut inside the title, the heading ends in "…" too. */
        unsigned keep = c.offset > 0 ? P->p[c.piece].flags & (PIECE_BOLD | PIECE_TITLE) : 0;
        out[n++] = (Piece){ELLIPSIS, strlen(ELLIPSIS), keep};
        return n;
}

/* Builds the message; when it does not fit, the longest cut that does,
 * by binary search (a longer cut never makes a shorter payload). */
static void build_fitting(const Department *d, const Pieces *P, const Extra *x, ChatMessage *ret)
{
        build(d, P->p, P->n, x, ret);
        if (fits(d, ret))
                return;
        chat_message_free(ret);
        _cleanup_free_ Cut *cuts = NULL;
        size_t n = cut_points(P, &cuts);
        _cleanup_free_ Piece *tmp = xcalloc(P->n + 1, sizeof *tmp);
        size_t lo = 0, hi = n; /* cuts[lo] is the best known to fit (or the shortest); cuts[hi..] do not */
        while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                ChatMessage m;
                build(d, tmp, pieces_cut(P, cuts[mid], tmp), x, &m);
                if (fits(d, &m))
                        lo = mid;
                else
                        hi = mid;
                chat_message_free(&m);
        }
        build(d, tmp, pieces_cut(P, cuts[lo], tmp), x, ret);
}

/* ntfy's Title header: one line, cut short. */
static char *ntfy_title(const char *raw)
{
        _cleanup_free_ char *clean = utf8_sanitize(raw);
        for (char *p = clean; *p; p++)
                if (*p == '\r' || *p == '\n')
                        *p = ' ';
        return chat_truncate(clean, 200, 250);
}

void chat_reminder(const Meeting *m, const Department *d, const Occurrence *o, const Reminder *r, int64_t now,
                   ChatMessage *ret)
{
        _cleanup_(pieces_free) Pieces P = {0};
        reminder_pieces(&P, m, d, o, now);
        char start[32], end[32];
        tz_format_rfc3339(icaltimezone_get_utc_timezone(), o->start, start);
        tz_format_rfc3339(icaltimezone_get_utc_timezone(), o->end, end);
        _cleanup_free_ char *title = utf8_sanitize(m->title);
        json_t *generic = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", "reminder", "meeting", m->id,
                                    "title", title, "department", d->id, "start", start, "end", end, "before",
                                    r->text);
        if (o->host)
                json_object_set_new(generic, "host", json_string(o->host->id));
        /* The heading is the title piece; "…" if a cut left none of it. */
        build_fitting(d, &P, &(Extra){ELLIPSIS, generic}, ret);
        json_decref(generic);
        if (d->chat == CHAT_NTFY)
                ret->title = ntfy_title(m->title);
}

char *chat_notice_text(const Meeting *m, const Department *d, const ChatNotice *n)
{
        _cleanup_(pieces_free) Pieces P = {0};
        notice_pieces(&P, m, d, n);
        return pieces_plain(P.p, P.n);
}

void chat_notice(const Meeting *m, const Department *d, const ChatNotice *n, ChatMessage *ret)
{
        _cleanup_(pieces_free) Pieces P = {0};
        notice_pieces(&P, m, d, n);
        char os[32], oe[32], ns[32], ne[32];
        icaltimezone *utc = icaltimezone_get_utc_timezone();
        tz_format_rfc3339(utc, n->original_start, os);
        tz_format_rfc3339(utc, n->original_end, oe);
        tz_format_rfc3339(utc, n->start, ns);
        tz_format_rfc3339(utc, n->end, ne);
        _cleanup_free_ char *title = utf8_sanitize(m->title);
        _cleanup_free_ char *reason = n->reason ? utf8_sanitize(n->reason) : NULL;
        json_t *generic = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s?}", "type", n->cancelled ? "cancelled" : "moved",
                                    "meeting", m->id, "title", title, "department", d->id, "original_start", os,
                                    "original_end", oe, "reason", reason);
        if (!n->cancelled) {
                json_object_set_new(generic, "start", json_string(ns));
                json_object_set_new(generic, "end", json_string(ne));
        } else if (n->next) {
                char next[32];
                tz_format_rfc3339(utc, n->next, next);
                json_object_set_new(generic, "next", json_string(next));
        }
        build_fitting(d, &P, &(Extra){ELLIPSIS, generic}, ret);
        json_decref(generic);
        if (d->chat == CHAT_NTFY) {
                _cleanup_free_ char *t = xasprintf("%s: %s", n->cancelled ? "Cancelled" : "Moved", m->title);
                ret->title = ntfy_title(t);
        }
}

void chat_test(const Config *c, const Department *d, int64_t now, ChatMessage *ret)
{
        size_t n = 0;
        for (size_t i = 0; i < c->n_meetings; i++)
                n += meeting_has_department(&c->meetings[i], d);
        _cleanup_(pieces_free) Pieces P = {0};
        if (d->mention)
                piece_add(&P, d->mention, PIECE_MENTION);
        /* "of Sales", never "Sales's": right for any name. */
        if (n == 0)
                piece_add(&P, "This is a test from tandem: no joint meetings of ", 0);
        else if (n == 1)
                piece_add(&P, "This is a test from tandem: reminders of the one joint meeting of ", 0);
        else {
                _cleanup_free_ char *s =
                        xasprintf("This is a test from tandem: reminders of the %zu joint meetings of ", n);
                piece_add(&P, s, 0);
        }
        piece_add(&P, d->name, PIECE_CONFIG);
        piece_add(&P, n == 0 ? " are configured yet; their reminders will be posted here." : " will be posted here.",
                  0);
        char stamp[32];
        tz_format_rfc3339(icaltimezone_get_utc_timezone(), now, stamp);
        json_t *generic = json_pack("{s:s, s:s, s:s}", "type", "test", "department", d->id, "sent", stamp);
        build_fitting(d, &P, &(Extra){"tandem test message", generic}, ret);
        json_decref(generic);
        if (d->chat == CHAT_NTFY)
                ret->title = xstrdup("tandem test message");
}

void chat_message_free(ChatMessage *m)
{
        free(m->body);
        free(m->title);
        free(m->line);
        *m = (ChatMessage){0};
}
