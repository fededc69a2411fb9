/* chat.h — reminder text for a person, and each chat service's payload
 * (SPEC.md section 5), built with jansson. */
#pragma once

#include <stdint.h>

#include "config.h"
#include "schedule.h"

typedef struct ChatMessage {
        char *body;               /* the request body */
        const char *content_type;
        char *title;              /* ntfy: the Title header, else NULL */
        char *line;               /* console: the line to print, else NULL */
} ChatMessage;

/* The reminder for department d of occurrence o, `before` ahead as
 * configured, written at `now` (the text says the real time left). */
char *chat_text(const Meeting *m, const Department *d, const Occurrence *o, int64_t now);
/* "in 15 minutes", "in 2 hours", "tomorrow at 16:00", "in 3 days". */
char *chat_until(int64_t start, int64_t now, icaltimezone *zone);

void chat_reminder(const Meeting *m, const Department *d, const Occurrence *o, const Reminder *r, int64_t now,
                   ChatMessage *ret);
void chat_test(const Config *c, const Department *d, int64_t now, ChatMessage *ret);
void chat_message_free(ChatMessage *m);

/* The longest text a service takes, in characters (code points). */
size_t chat_limit(ChatKind kind);
/* Cuts text to at most max code points and max_bytes bytes, at a UTF-8
 * boundary, ending in "…" when cut. Returns a new string. */
char *chat_truncate(const char *text, size_t max_chars, size_t max_bytes);
