/* test_chat.c — reminder text and payloads (chat.c), with the regressions
 * the fuzzers found.
 *
 * The escaping is checked by decoders written here from each service's
 * documented rules (independently of chat.c): decoding a payload by the
 * service's rules must give back exactly the text a person should read,
 * and nothing from the config may be left in a form that pings or
 * formats. Limits are checked in each service's own unit. */
#include <ctype.h>
#include <jansson.h>

#include "helpers.h"

#include "chat.h"
#include "util.h"

#define WJ "\xe2\x81\xa0"
#define SHY "\xc2\xad"
#define ELLIPSIS "\xe2\x80\xa6"

/* Titles, names, descriptions and locations a company might write, and an
 * attacker would. */
static const char *const hostile[] = {
        "@everyone",
        "@here @channel @all",
        "<!channel> <!here|here> <!everyone>",
        "<users/all> <users/123456789>",
        "<@123456789012345678> <@&987654321098765432> <#1234>",
        "*teams* _x_ ~strike~ `code` ```block```",
        "[x](http://evil.example) ![img](http://evil.example/i.png)",
        "<script>alert(1)</script> <Team> <5>",
        "&<> &amp; &lt;b&gt; &#42;",
        "# Heading\n> quote\n- item\n+ item\n1. first\n2) second\n-# subtext",
        "||spoiler|| \\*escaped\\* a\\",
        "<https://evil.example|click me> <t:1700000000:R>",
        "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd \xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 "
        "\xf0\x9f\x87\xa9\xf0\x9f\x87\xaa e\xcc\x81",
};

static Department dept(ChatKind kind, const char *name)
{
        return (Department){.id = (char *)"sales", .name = (char *)name, .zone = tz_lookup("Europe/Berlin"),
                            .chat = kind, .webhook = (char *)"https://example.invalid/x"};
}

typedef struct Case {
        Department d[2];
        Department *dp[2];
        Meeting m;
        Occurrence o;
        Reminder rem;
} Case;

/* Fills c with a two-department meeting; d[0] gets the reminder. */
static void case_init(Case *c, ChatKind kind, const char *title, const char *other, const char *location,
                      const char *description, const char *mention)
{
        c->d[0] = dept(kind, "Sales");
        c->d[0].mention = (char *)mention;
        c->d[1] = dept(CHAT_CONSOLE, other);
        c->d[1].id = (char *)"marketing";
        c->dp[0] = &c->d[0];
        c->dp[1] = &c->d[1];
        c->rem = (Reminder){900, (char *)"15m"};
        c->m = (Meeting){.id = (char *)"m", .title = (char *)title, .departments = c->dp, .n_departments = 2,
                         .location = (char *)location, .description = (char *)description, .zone = c->d[0].zone};
        c->o = (Occurrence){&c->m, 1796140800, 1796144400, 1796140800, OCCURRENCE_HELD, NULL, NULL};
}

static void case_build(Case *c, ChatMessage *msg)
{
        chat_reminder(&c->m, &c->d[0], &c->o, &c->rem, c->o.start - 900, msg);
}

static char *case_plain(Case *c)
{
        return chat_text(&c->m, &c->d[0], &c->o, c->o.start - 900);
}

static bool starts(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The payload part that carries the text. */
static char *field(const char *body, const char *key)
{
        json_t *j = json_loads(body, 0, NULL);
        assert_non_null(j);
        const char *v = json_string_value(json_object_get(j, key));
        assert_non_null(v);
        char *s = xstrdup(v);
        json_decref(j);
        return s;
}

/* ---- decoders: what each service shows -------------------------------- */

/* The length of a bare web address at s (every service links those by
 * itself, so tandem leaves them as written): up to a space or one of
 * < > [ ] | ` " \, less trailing punctuation. */
static size_t url_at(const char *start, const char *s)
{
        if (s > start && (isalnum((unsigned char)s[-1]) || s[-1] == '\\'))
                return 0;
        size_t n = starts(s, "https://") ? 8 : starts(s, "http://") ? 7 : 0;
        if (!n)
                return 0;
        size_t j = n;
        while ((unsigned char)s[j] > ' ' && !strchr("<>[]|`\"\\", s[j]))
                j++;
        while (j > n && strchr(".,:;!?')*_~", s[j - 1]))
                j--;
        return j > n ? j : 0;
}

/* Slack (api.slack.com/reference/surfaces/formatting): &amp; &lt; &gt; are
 * the three entities; any other "<" opens a control sequence, which must
 * not come from the config: only the date tokens whose fallback is one
 * literal character. A soft hyphen is invisible. */
static char *slack_show(const char *s, size_t *n_bold)
{
        static const char date[] = "<!date^00000000^{_}|";
        Buf b = {0};
        buf_append(&b, "");
        const char *start = s;
        while (*s) {
                size_t url = url_at(start, s);
                if (url) {
                        _cleanup_free_ char *u = xstrndup(s, url);
                        for (char *a = strstr(u, "&amp;"); a; a = strstr(a + 1, "&amp;"))
                                memmove(a + 1, a + 5, strlen(a + 5) + 1);
                        buf_append(&b, u);
                        s += url;
                        continue;
                }
                if (starts(s, date) && s[sizeof date - 1] && s[sizeof date] == '>') {
                        buf_printf(&b, "%c", s[sizeof date - 1]);
                        s += sizeof date + 1;
                } else if (starts(s, "&amp;")) {
                        buf_append(&b, "&"), s += 5;
                } else if (starts(s, "&lt;")) {
                        buf_append(&b, "<"), s += 4;
                } else if (starts(s, "&gt;")) {
                        buf_append(&b, ">"), s += 4;
                } else if (starts(s, SHY)) {
                        s += 2;
                } else {
                        if (*s == '<' || *s == '>' || *s == '&')
                                fail_msg("raw control character in Slack text at: %.40s", s);
                        if (*s == '*')
                                (*n_bold)++;
                        else if (strchr("_~`", *s))
                                fail_msg("raw formatting character in Slack text at: %.40s", s);
                        buf_printf(&b, "%c", *s++);
                }
        }
        return buf_steal(&b);
}

/* Markdown (CommonMark "Backslash escapes"): "\X" shows X. Unescaped
 * markup characters must not be left; bold markers are tandem's and are
 * counted. A word joiner after "@" is invisible. */
static char *markdown_show(const char *s, const char *bold, size_t *n_bold)
{
        Buf b = {0};
        buf_append(&b, "");
        *n_bold = 0;
        bool bol = true;
        const char *start = s;
        while (*s) {
                size_t url = url_at(start, s);
                if (url) {
                        buf_printf(&b, "%.*s", (int)url, s);
                        s += url;
                        bol = false;
                        continue;
                }
                if (*s == '\\' && s[1] && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", s[1])) {
                        buf_printf(&b, "%c", s[1]);
                        s += 2;
                        bol = false;
                        continue;
                }
                if (starts(s, bold)) {
                        buf_append(&b, bold);
                        s += strlen(bold);
                        (*n_bold)++;
                        continue;
                }
                if (starts(s, WJ)) {
                        s += 3;
                        continue;
                }
                if (strchr("*_~`|<>[]&", *s))
                        fail_msg("unescaped markup character at: %.40s", s);
                if (bol && strchr("#>-+=", *s))
                        fail_msg("unescaped line-start markup at: %.40s", s);
                if (bol && *s >= '0' && *s <= '9') {
                        const char *e = s;
                        while (*e >= '0' && *e <= '9')
                                e++;
                        if (*e == '.' || *e == ')')
                                fail_msg("unescaped ordered list at: %.40s", s);
                }
                bol = *s == '\n' || (bol && *s == ' ');
                buf_printf(&b, "%c", *s++);
        }
        return buf_steal(&b);
}

/* Google Chat: word joiners are invisible; no "<users/" and no emphasis
 * character without a joiner on both sides may be left (bold markers
 * excepted, counted). */
static char *googlechat_show(const char *s, size_t *n_bold)
{
        Buf b = {0};
        buf_append(&b, "");
        const char *start = s;
        *n_bold = 0;
        for (; *s; s++) {
                size_t url = url_at(start, s);
                if (url) {
                        buf_printf(&b, "%.*s", (int)url, s);
                        s += url - 1;
                        continue;
                }
                if (starts(s, WJ)) {
                        s += 2;
                        continue;
                }
                if (starts(s, "<users/") || starts(s, "<http"))
                        fail_msg("live Google Chat syntax at: %.40s", s);
                if (strchr("*_~`", *s)) {
                        bool joined = s - start >= 3 && starts(s - 3, WJ) && starts(s + 1, WJ);
                        if (!joined)
                                (*n_bold)++;
                }
                buf_printf(&b, "%c", *s);
        }
        return buf_steal(&b);
}

/* What a person reads in a markup service: the plain text with the title
 * between the bold markers. */
static char *with_bold_title(const char *plain, const char *title, const char *bold)
{
        _cleanup_free_ char *t = utf8_sanitize(title);
        _cleanup_free_ char *needle = xasprintf("Reminder: %s,", t);
        const char *at = strstr(plain, needle);
        assert_non_null(at);
        return xasprintf("%.*sReminder: %s%s%s%s", (int)(at - plain), plain, bold, t, bold, at + strlen(needle) - 1);
}

/* Teams: every TextRun, one line per block, with the heading first. */
static char *teams_show(const char *body, char **heading)
{
        json_t *j = json_loads(body, 0, NULL);
        assert_non_null(j);
        json_t *card = json_object_get(json_array_get(json_object_get(j, "attachments"), 0), "content");
        json_t *blocks = json_object_get(card, "body");
        Buf b = {0};
        buf_append(&b, "");
        for (size_t i = 0; i < json_array_size(blocks); i++) {
                json_t *block = json_array_get(blocks, i);
                assert_string_equal(json_string_value(json_object_get(block, "type")), "RichTextBlock");
                json_t *runs = json_object_get(block, "inlines");
                Buf line = {0};
                buf_append(&line, "");
                for (size_t k = 0; k < json_array_size(runs); k++)
                        buf_append(&line, json_string_value(json_object_get(json_array_get(runs, k), "text")));
                if (i == 0)
                        *heading = buf_steal(&line);
                else {
                        buf_printf(&b, "%s%s", i > 1 ? "\n" : "", line.s);
                        buf_free(&line);
                }
        }
        json_decref(j);
        return buf_steal(&b);
}

/* The plain text without blank lines (Teams has no empty blocks). */
static char *no_blank_lines(const char *s)
{
        Buf b = {0};
        buf_append(&b, "");
        for (; *s; s++)
                if (!(*s == '\n' && (s[1] == '\n' || s[1] == 0 || b.len == 0)))
                        buf_printf(&b, "%c", *s);
        return buf_steal(&b);
}

/* What the department reads, decoded from the payload by the service's
 * rules; *n_bold counts tandem's bold markers. */
static char *shown(ChatKind kind, const ChatMessage *msg, const char *mention, size_t *n_bold)
{
        *n_bold = 0;
        _cleanup_free_ char *text = NULL;
        switch (kind) {
        case CHAT_SLACK:
        case CHAT_MATTERMOST:
        case CHAT_ROCKETCHAT:
        case CHAT_GOOGLECHAT: text = field(msg->body, "text"); break;
        case CHAT_DISCORD: text = field(msg->body, "content"); break;
        case CHAT_GENERIC: return field(msg->body, "text");
        case CHAT_NTFY: return xstrdup(msg->body);
        case CHAT_TEAMS: {
                _cleanup_free_ char *heading = NULL;
                return teams_show(msg->body, &heading);
        }
        default: return xstrdup(msg->line);
        }
        /* The configured mention is tandem's, written as is. */
        const char *rest = text;
        Buf b = {0};
        buf_append(&b, "");
        if (mention) {
                _cleanup_free_ char *prefix = xasprintf("%s ", mention);
                assert_true(starts(text, prefix));
                buf_append(&b, prefix);
                rest += strlen(prefix);
        }
        _cleanup_free_ char *s = NULL;
        if (kind == CHAT_SLACK) {
                s = slack_show(rest, n_bold);
        } else if (kind == CHAT_GOOGLECHAT)
                s = googlechat_show(rest, n_bold);
        else
                s = markdown_show(rest, kind == CHAT_ROCKETCHAT ? "*" : "**", n_bold);
        buf_append(&b, s);
        return buf_steal(&b);
}

static const char *bold_of(ChatKind kind)
{
        switch (kind) {
        case CHAT_SLACK:
        case CHAT_ROCKETCHAT:
        case CHAT_GOOGLECHAT: return "*";
        case CHAT_DISCORD:
        case CHAT_MATTERMOST: return "**";
        default: return "";
        }
}

/* What the department should read: the plain text, the title in bold
 * where the service has bold, the mention only where it has effect. */
static char *expected(ChatKind kind, const char *plain, const char *title, const char *mention)
{
        if (kind == CHAT_TEAMS) {
                const char *s = plain;
                if (mention)
                        s += strlen(mention) + 1;
                return no_blank_lines(s);
        }
        if (!*bold_of(kind))
                return xstrdup(plain);
        return with_bold_title(plain, title, bold_of(kind));
}

static void assert_fits(ChatKind kind, const ChatMessage *msg)
{
        ChatLimit l = chat_limit(kind);
        _cleanup_free_ char *counted = chat_counted(kind, msg);
        size_t n = chat_measure(counted, l.unit);
        if (n > l.max)
                fail_msg("%s: %zu units over the limit of %zu", config_chat_names[kind], n, l.max);
}

/* Mattermost and Rocket.Chat find mentions in the raw text. */
static void assert_no_raw_mentions(const char *raw)
{
        static const char *const words[] = {"@all", "@channel", "@here", "@everyone", NULL};
        for (size_t i = 0; words[i]; i++)
                assert_null(strstr(raw, words[i]));
}

/* ---- tests ------------------------------------------------------------ */

/* Every hostile value, as title, other department's name, location and
 * description, reaches every kind as literal text: decoding the payload by
 * the service's rules gives the plain text back, and nothing pings. */
static void test_hostile_text_is_literal(void **state)
{
        (void)state;
        for (int k = CHAT_SLACK; k < _CHAT_MAX; k++)
                for (size_t h = 0; h < ELEMENTSOF(hostile); h++) {
                        const char *v = hostile[h];
                        Case c;
                        /* The title is one line in a config. */
                        const char *title = strchr(v, '\n') ? "Sync *now*" : v;
                        case_init(&c, (ChatKind)k, title, v, v, v, NULL);
                        ChatMessage msg;
                        case_build(&c, &msg);
                        _cleanup_free_ char *plain = case_plain(&c);
                        _cleanup_free_ char *want = expected((ChatKind)k, plain, title, NULL);
                        size_t n_bold;
                        _cleanup_free_ char *got = shown((ChatKind)k, &msg, NULL, &n_bold);
                        if (!streq(got, want))
                                fail_msg("%s, %s:\n got  %s\n want %s", config_chat_names[k], v, got, want);
                        if (*bold_of((ChatKind)k))
                                assert_int_equal(n_bold, 2);
                        assert_fits((ChatKind)k, &msg);
                        if (k == CHAT_MATTERMOST || k == CHAT_ROCKETCHAT) {
                                _cleanup_free_ char *raw = field(msg.body, "text");
                                assert_no_raw_mentions(raw);
                        }
                        if (k == CHAT_DISCORD) {
                                /* Every "@" escaped: shown as text, not as a mention. */
                                _cleanup_free_ char *raw = field(msg.body, "content");
                                for (const char *at = strchr(raw, '@'); at; at = strchr(at + 1, '@'))
                                        assert_true(at > raw && at[-1] == '\\');
                                json_t *j = json_loads(msg.body, 0, NULL);
                                json_t *am = json_object_get(j, "allowed_mentions");
                                assert_non_null(am);
                                assert_int_equal(json_array_size(json_object_get(am, "parse")), 0);
                                assert_null(json_object_get(am, "users"));
                                assert_null(json_object_get(am, "roles"));
                                json_decref(j);
                        }
                        chat_message_free(&msg);
                }
}

/* The configured mention is the only thing written as is, and the only
 * thing Discord may ping. */
static void test_configured_mention(void **state)
{
        (void)state;
        static const struct {
                ChatKind kind;
                const char *mention;
        } cases[] = {
                {CHAT_SLACK, "<!here>"},          {CHAT_SLACK, "<!subteam^S123|@sales>"},
                {CHAT_MATTERMOST, "@channel"},     {CHAT_ROCKETCHAT, "@here"},
                {CHAT_GOOGLECHAT, "<users/all>"}, {CHAT_DISCORD, "@everyone"},
                {CHAT_DISCORD, "<@&123> <@!456>"}, {CHAT_NTFY, "@sales"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Case c;
                case_init(&c, cases[i].kind, "Sync @all <!channel>", "@everyone", NULL, "@here", cases[i].mention);
                ChatMessage msg;
                case_build(&c, &msg);
                _cleanup_free_ char *plain = case_plain(&c);
                _cleanup_free_ char *want = expected(cases[i].kind, plain, c.m.title, cases[i].mention);
                size_t n_bold;
                _cleanup_free_ char *got = shown(cases[i].kind, &msg, cases[i].mention, &n_bold);
                assert_string_equal(got, want);
                chat_message_free(&msg);
        }

        Case c;
        case_init(&c, CHAT_DISCORD, "Sync", "<@1>", NULL, "<@&2> @here", "<@&123> <@!456> @here");
        ChatMessage msg;
        case_build(&c, &msg);
        json_t *j = json_loads(msg.body, 0, NULL);
        json_t *am = json_object_get(j, "allowed_mentions");
        json_t *want = json_pack("{s:[s], s:[s], s:[s]}", "parse", "everyone", "users", "456", "roles", "123");
        assert_true(json_equal(am, want));
        json_decref(want);
        json_decref(j);
        chat_message_free(&msg);

        /* Teams cannot mention by name: the mention is left out. */
        case_init(&c, CHAT_TEAMS, "Sync", "Marketing", NULL, NULL, "@General");
        case_build(&c, &msg);
        assert_null(strstr(msg.body, "@General"));
        assert_null(strstr(msg.body, "msteams"));
        chat_message_free(&msg);
}

/* Teams: one block per line (a single "\n" in a TextBlock's Markdown would
 * join them), runs that Teams shows as written, the title bold. */
static void test_teams_card(void **state)
{
        (void)state;
        Case c;
        case_init(&c, CHAT_TEAMS, "**Q1** _plan_", "Marketing", "Room [1](http://evil.example)",
                  "Line one\nLine *two*\n\n- three", NULL);
        ChatMessage msg;
        case_build(&c, &msg);
        assert_string_equal(msg.content_type, "application/json; charset=utf-8");
        _cleanup_free_ char *heading = NULL;
        _cleanup_free_ char *got = teams_show(msg.body, &heading);
        assert_string_equal(heading, "**Q1** _plan_");
        assert_string_equal(got, "Reminder: **Q1** _plan_, in 15 minutes\n"
                                 "Tue 1 Dec 2026, 17:00-18:00 CET\n"
                                 "Where: Room [1](http://evil.example)\n"
                                 "With: Marketing\n"
                                 "Line one\nLine *two*\n- three");
        json_t *j = json_loads(msg.body, 0, NULL);
        json_t *runs = json_object_get(json_array_get(json_object_get(json_object_get(
                                               json_array_get(json_object_get(j, "attachments"), 0), "content"), "body"), 1),
                                       "inlines");
        assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 1), "text")), "**Q1** _plan_");
        assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 1), "weight")), "Bolder");
        assert_null(json_object_get(json_array_get(runs, 0), "weight"));
        json_decref(j);
        chat_message_free(&msg);
}

/* n copies of unit. */
static char *repeat(const char *unit, size_t n)
{
        size_t len = strlen(unit);
        char *s = xmalloc(len * n + 1);
        for (size_t i = 0; i < n; i++)
                memcpy(s + i * len, unit, len);
        s[len * n] = 0;
        return s;
}

/* A description of copies of unit, cut: the kept part must be a prefix
 * of it (the decoders fail on half an escape) made of whole units when a
 * unit is one grapheme cluster, then "…". */
static void assert_cut_in_units(ChatKind kind, const char *unit, size_t copies, bool one_cluster)
{
        _cleanup_free_ char *desc = repeat(unit, copies);
        Case c;
        case_init(&c, kind, "Sync", "Marketing", NULL, desc, NULL);
        ChatMessage msg;
        case_build(&c, &msg);
        assert_fits(kind, &msg);
        size_t n_bold;
        _cleanup_free_ char *got = shown(kind, &msg, NULL, &n_bold);
        _cleanup_free_ char *plain = case_plain(&c);
        _cleanup_free_ char *want = expected(kind, plain, "Sync", NULL);
        /* Everything up to the description is whole. */
        const char *head_end = strstr(want, "With: Marketing\n");
        assert_non_null(head_end);
        size_t head = (size_t)(head_end - want) + strlen("With: Marketing\n");
        if (strncmp(got, want, head) != 0)
                fail_msg("%s: the head changed:\n%s", config_chat_names[kind], got);
        const char *kept = got + head;
        size_t len = strlen(kept);
        if (len < strlen(ELLIPSIS) || !streq(kept + len - strlen(ELLIPSIS), ELLIPSIS))
                fail_msg("%s: a cut text must end in \"…\": %.60s", config_chat_names[kind], kept + (len > 60 ? len - 60 : 0));
        size_t body = len - strlen(ELLIPSIS), u = strlen(unit);
        if ((one_cluster && body % u != 0) || strncmp(kept, desc, body) != 0)
                fail_msg("%s: cut inside a unit of %zu bytes (kept %zu bytes)", config_chat_names[kind], u, body);
        assert_true(body > 0);
        chat_message_free(&msg);
}

/* Texts of 40,000 characters and more are cut to each service's limit in its own unit,
 * between grapheme clusters: emoji with skin tones, ZWJ families, flags,
 * combining marks, and never inside an escape. */
static void test_limits_and_cuts(void **state)
{
        (void)state;
        static const char *const units[] = {
                "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", /* thumbs up, medium skin tone */
                "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7", /* family (ZWJ) */
                "\xf0\x9f\x87\xa9\xf0\x9f\x87\xaa", /* flag: two regional indicators */
                "e\xcc\x81",                        /* e + combining acute */
                "&",                                 /* Slack: &amp; */
                "*",                                 /* an escape everywhere */
                "a",
        };
        for (int k = CHAT_SLACK; k < _CHAT_MAX; k++)
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        assert_cut_in_units((ChatKind)k, units[i], 100000 / strlen(units[i]) + 1, true);
        /* Several clusters a unit: "<@1>" may be cut anywhere between. */
        for (int k = CHAT_SLACK; k < _CHAT_MAX; k++)
                assert_cut_in_units((ChatKind)k, "<@1>&", 20001, false);
}

/* The cases of issue 14: a Teams card with a long emoji-rich description
 * was 79 KB; 3,000 emoji with skin tone exceeded Rocket.Chat's 5,000
 * UTF-16 units. */
static void test_issue_sizes(void **state)
{
        (void)state;
        _cleanup_free_ char *emoji = repeat("\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", 3000);
        Case c;
        case_init(&c, CHAT_ROCKETCHAT, "Sync", "Marketing", NULL, emoji, NULL);
        ChatMessage msg;
        case_build(&c, &msg);
        _cleanup_free_ char *text = field(msg.body, "text");
        assert_true(chat_measure(text, CHAT_UNIT_UTF16) <= 5000);
        chat_message_free(&msg);

        _cleanup_free_ char *long_desc = repeat("Agenda \xf0\x9f\x93\x88 review \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd\n", 2500);
        case_init(&c, CHAT_TEAMS, "Sync", "Marketing", NULL, long_desc, NULL);
        case_build(&c, &msg);
        assert_true(strlen(msg.body) <= 28000);
        chat_message_free(&msg);
}

static void test_units(void **state)
{
        (void)state;
        const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x91\x8d"; /* a é € 👍 */
        assert_int_equal(chat_measure(s, CHAT_UNIT_BYTES), 10);
        assert_int_equal(chat_measure(s, CHAT_UNIT_CODE_POINTS), 4);
        assert_int_equal(chat_measure(s, CHAT_UNIT_UTF16), 5);
}

/* Issue 9 item 15: the test message read "Sales's"; now "of <name>",
 * right for any name. */
static void test_notify_wording(void **state)
{
        (void)state;
        Department d[2] = {dept(CHAT_GENERIC, "Chris"), dept(CHAT_CONSOLE, "Ops")};
        d[1].id = (char *)"ops";
        Department *dp[2] = {&d[0], &d[1]};
        Meeting ms[3];
        for (size_t i = 0; i < 3; i++)
                ms[i] = (Meeting){.id = (char *)"m", .title = (char *)"T", .departments = dp, .n_departments = 2};
        Config cfg = {.meetings = ms, .n_meetings = 3};
        static const char *const want[] = {
                "This is a test from tandem: no joint meetings of Chris are configured yet; their reminders will be posted here.",
                "This is a test from tandem: reminders of the one joint meeting of Chris will be posted here.",
                NULL,
                "This is a test from tandem: reminders of the 3 joint meetings of Chris will be posted here.",
        };
        for (size_t n = 0; n <= 3; n++) {
                if (!want[n])
                        continue;
                cfg.n_meetings = n;
                ChatMessage msg;
                chat_test(&cfg, &d[0], 1796140800, &msg);
                _cleanup_free_ char *text = field(msg.body, "text");
                assert_string_equal(text, want[n]);
                assert_null(strstr(text, "'s"));
                chat_message_free(&msg);
        }
}

/* Invalid UTF-8 in a title once made jansson refuse the payload, and the
 * daemon abort (fuzz_chat). Every kind must still give valid JSON. */
static void test_invalid_utf8_payloads(void **state)
{
        (void)state;
        for (int k = CHAT_SLACK; k < _CHAT_MAX; k++) {
                Department d[2] = {dept((ChatKind)k, "Sales \xff"), dept(CHAT_CONSOLE, "M\xc3")};
                d[1].id = (char *)"marketing";
                d[0].mention = (char *)"<!here> @sales\xc3"; /* fuzz_chat: the mention too */
                Department *dp[2] = {&d[0], &d[1]};
                Reminder rem = {900, (char *)"15m"};
                Meeting m = {.id = (char *)"m", .title = (char *)"T\xff\xfeitle", .departments = dp, .n_departments = 2,
                             .description = (char *)"\xed\xa0\x80 surrogate", .zone = d[0].zone};
                Occurrence o = {&m, 1796140800, 1796144400, 1796140800, OCCURRENCE_HELD, NULL, NULL};
                ChatMessage msg;
                chat_reminder(&m, &d[0], &o, &rem, o.start - 900, &msg);
                assert_non_null(msg.body);
                if (k != CHAT_NTFY) {
                        json_t *j = json_loads(msg.body, 0, NULL);
                        assert_non_null(j);
                        json_decref(j);
                }
                assert_true(utf8_valid(msg.body));
                assert_non_null(strstr(msg.body, "T\xef\xbf\xbd\xef\xbf\xbditle"));
                chat_message_free(&msg);
        }
}

static void test_generic_payload(void **state)
{
        (void)state;
        Department d[2] = {dept(CHAT_GENERIC, "Sales"), dept(CHAT_CONSOLE, "Marketing")};
        d[1].id = (char *)"marketing";
        d[1].zone = tz_lookup("America/New_York");
        Department *dp[2] = {&d[0], &d[1]};
        Reminder rem = {900, (char *)"15m"};
        Meeting m = {.id = (char *)"sync", .title = (char *)"Weekly <sync> *&*", .departments = dp, .n_departments = 2,
                     .location = (char *)"Room 1", .zone = d[0].zone};
        Occurrence o = {&m, 1796140800, 1796144400, 1796140800, OCCURRENCE_HELD, NULL, NULL}; /* 2026-12-01T16:00:00Z */
        ChatMessage msg;
        chat_reminder(&m, &d[0], &o, &rem, o.start - 900, &msg);
        json_t *j = json_loads(msg.body, 0, NULL);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "type")), "reminder");
        assert_string_equal(json_string_value(json_object_get(j, "meeting")), "sync");
        assert_string_equal(json_string_value(json_object_get(j, "title")), "Weekly <sync> *&*");
        assert_string_equal(json_string_value(json_object_get(j, "department")), "sales");
        assert_string_equal(json_string_value(json_object_get(j, "start")), "2026-12-01T16:00:00Z");
        assert_string_equal(json_string_value(json_object_get(j, "end")), "2026-12-01T17:00:00Z");
        assert_string_equal(json_string_value(json_object_get(j, "before")), "15m");
        /* Generic is raw: the receiver escapes for wherever it shows it. */
        const char *text = json_string_value(json_object_get(j, "text"));
        assert_non_null(strstr(text, "Reminder: Weekly <sync> *&*, in 15 minutes"));
        assert_non_null(strstr(text, "Tue 1 Dec 2026, 17:00-18:00 CET"));
        assert_non_null(strstr(text, "With: Marketing"));
        json_decref(j);
        chat_message_free(&msg);
}

static void test_truncate(void **state)
{
        (void)state;
        char *s = chat_truncate("h\xc3\xa9llo world", 5, 100);
        assert_string_equal(s, "h\xc3\xa9ll\xe2\x80\xa6");
        free(s);
        s = chat_truncate("short", 10, 100);
        assert_string_equal(s, "short");
        free(s);
        s = chat_truncate("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 100, 6); /* bytes: never split a sequence */
        assert_true(utf8_valid(s));
        assert_true(strlen(s) <= 6);
        free(s);
        /* Never between "e" and its combining accent, nor inside a flag. */
        s = chat_truncate("abe\xcc\x81xyz", 4, 100);
        assert_string_equal(s, "ab" ELLIPSIS);
        free(s);
        s = chat_truncate("\xf0\x9f\x87\xa9\xf0\x9f\x87\xaa\xf0\x9f\x87\xab\xf0\x9f\x87\xb7", 3, 100);
        assert_string_equal(s, "\xf0\x9f\x87\xa9\xf0\x9f\x87\xaa" ELLIPSIS);
        free(s);
}

/* tz_all_names() once kept pointers that libical frees when it loads a
 * zone, and "did you mean" read freed memory (fuzz_config, under ASan). */
static void test_zone_names_survive_loading(void **state)
{
        (void)state;
        const char *const *names = tz_all_names();
        icalarray *zones = icaltimezone_get_builtin_timezones();
        for (size_t i = 0; i < zones->num_elements; i++)
                assert_non_null(icaltimezone_get_component(icalarray_element_at(zones, i)));
        size_t n = 0;
        for (; names[n]; n++)
                assert_true(strlen(names[n]) > 0);
        assert_true(n > 300);
        /* every zone libical lists is among them (tzdata.zi adds the links) */
        for (size_t i = 0; i < zones->num_elements; i++) {
                const char *loc = icaltimezone_get_location(icalarray_element_at(zones, i));
                size_t k = 0;
                while (names[k] && strcmp(names[k], loc) != 0)
                        k++;
                if (!names[k])
                        fail_msg("%s is not among tz_all_names()", loc);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hostile_text_is_literal),
                cmocka_unit_test(test_configured_mention),
                cmocka_unit_test(test_teams_card),
                cmocka_unit_test(test_limits_and_cuts),
                cmocka_unit_test(test_issue_sizes),
                cmocka_unit_test(test_units),
                cmocka_unit_test(test_notify_wording),
                cmocka_unit_test(test_invalid_utf8_payloads),
                cmocka_unit_test(test_generic_payload),
                cmocka_unit_test(test_truncate),
                cmocka_unit_test(test_zone_names_survive_loading),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
