/* fuzz_chat.c — libFuzzer target: reminder text and every chat payload
 * from hostile fields (invalid UTF-8, control characters, mentions,
 * markup, huge values). JSON payloads must parse back; every payload must
 * fit its service's limit in the service's unit (chat_limit); nothing but
 * the configured mention may ping: Discord always sends allowed_mentions,
 * Mattermost and Rocket.Chat texts hold no @all/@channel/@here, Slack
 * texts no control sequence but the escaping date tokens. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The text after the configured mention, which is written as is (made
 * valid UTF-8 like all config text). */
static const char *after_mention(const char *text, const char *raw_mention)
{
        char *mention = utf8_sanitize(raw_mention);
        size_t n = strlen(mention);
        const char *rest = strncmp(text, mention, n) == 0 && text[n] == ' ' ? text + n + 1 : text;
        free(mention);
        return rest;
}

static void check_pings(ChatKind kind, const ChatMessage *msg, const char *mention)
{
        if (kind == CHAT_DISCORD) {
                json_t *j = json_loads(msg->body, 0, NULL);
                if (!json_is_array(json_object_get(json_object_get(j, "allowed_mentions"), "parse")))
                        abort();
                json_decref(j);
        }
        if (kind != CHAT_MATTERMOST && kind != CHAT_ROCKETCHAT && kind != CHAT_SLACK)
                return;
        char *text = chat_counted(kind, msg);
        const char *rest = after_mention(text, mention);
        if (kind == CHAT_SLACK) {
                for (const char *lt = strchr(rest, '<'); lt; lt = strchr(lt + 1, '<'))
                        if (strncmp(lt, "<!date^00000000^{_}|", 20) != 0)
                                abort();
        } else if (strstr(rest, "@all") || strstr(rest, "@channel") || strstr(rest, "@here"))
                abort();
        free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 2)
                return 0;
        ChatKind kind = (ChatKind)(data[0] % _CHAT_MAX);
        char *text = malloc(size);
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        /* Fields: the input's NUL-separated parts, reused round-robin. */
        const char *parts[5];
        const char *p = text;
        for (int i = 0; i < 5; i++) {
                parts[i] = p;
                if (p < text + size - 1)
                        p += strlen(p) + 1;
                if (p >= text + size - 1)
                        p = text;
        }
        icaltimezone *zone = tz_lookup(data[1] & 1 ? "Europe/Berlin" : "Asia/Kathmandu");
        Department d[2] = {
                {.id = (char *)"sales", .name = (char *)parts[0], .zone = zone, .chat = kind,
                 .webhook = (char *)"https://example.invalid/hook", .mention = (char *)parts[1]},
                {.id = (char *)"marketing", .name = (char *)parts[2], .zone = tz_lookup("UTC")},
        };
        Department *dp[2] = {&d[0], &d[1]};
        Reminder rem = {900, (char *)"15m"};
        Meeting m = {.id = (char *)"m", .title = (char *)parts[3], .departments = dp, .n_departments = 2,
                     .location = (char *)parts[4], .description = (char *)parts[0], .zone = zone};
        Occurrence o = {&m, 1796140800, 1796140800 + 3600};
        ChatMessage msg;
        chat_reminder(&m, &d[0], &o, &rem, o.start - 900, &msg);
        if (msg.body && strcmp(msg.content_type, "application/json") == 0) {
                json_error_t err;
                json_t *j = json_loads(msg.body, 0, &err);
                if (!j)
                        abort(); /* jansson must have produced valid JSON */
                json_decref(j);
        }
        if (kind == CHAT_NTFY && strpbrk(msg.title, "\r\n"))
                abort();
        ChatLimit limit = chat_limit(kind);
        char *counted = chat_counted(kind, &msg);
        if (chat_measure(counted, limit.unit) > limit.max)
                abort();
        free(counted);
        check_pings(kind, &msg, parts[1]);
        chat_message_free(&msg);

        char *cut = chat_truncate(text, 1 + data[1] % 64, 4 + data[1] % 200);
        free(cut);
        free(text);
        return 0;
}
