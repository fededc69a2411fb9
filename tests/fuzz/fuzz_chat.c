/* fuzz_chat.c — libFuzzer target: reminder text and every chat payload
 * from hostile fields (invalid UTF-8, control characters, huge values).
 * JSON payloads must parse back, and texts must respect each service's
 * limit. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t code_points(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                n += ((unsigned char)*s & 0xc0) != 0x80;
        return n;
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
        if (kind == CHAT_NTFY && (strlen(msg.body) > 4096 || strpbrk(msg.title, "\r\n")))
                abort();
        if (kind == CHAT_DISCORD) {
                json_t *j = json_loads(msg.body, 0, NULL);
                if (code_points(json_string_value(json_object_get(j, "content"))) > chat_limit(kind))
                        abort();
                json_decref(j);
        }
        chat_message_free(&msg);

        char *cut = chat_truncate(text, 1 + data[1] % 64, 4 + data[1] % 200);
        free(cut);
        free(text);
        return 0;
}
