/* chat.h — reminder text for a person, and each chat service's payload
 * (README "Chats"), built with jansson.
 *
 * A message is made of pieces that say where their text came from:
 * tandem's own words and formatting (the bold title, line breaks, the
 * department's `mention`) are written in the service's syntax as they are;
 * text from the config (titles, department names, locations, descriptions)
 * is escaped by the service's own rules, so it reaches the channel exactly
 * as written and pings nobody. Only the configured `mention` may ping.
 *
 * Every payload fits its service's limit, counted in the unit that service
 * counts (bytes, code points or UTF-16 code units), with a margin. A text
 * that does not fit is cut between two grapheme clusters of config text
 * (never inside an emoji sequence, a flag or a letter with its combining
 * marks, never inside an escape sequence) and ends in "…". */
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
 * configured, written at `now` (the text says the real time left), as
 * plain text: what ntfy, generic and console carry. */
char *chat_text(const Meeting *m, const Department *d, const Occurrence *o, int64_t now);
/* "in 15 minutes", "in 2 hours", "tomorrow at 16:00", "in 3 days". */
char *chat_until(int64_t start, int64_t now, icaltimezone *zone);

void chat_reminder(const Meeting *m, const Department *d, const Occurrence *o, const Reminder *r, int64_t now,
                   ChatMessage *ret);
void chat_test(const Config *c, const Department *d, int64_t now, ChatMessage *ret);
void chat_message_free(ChatMessage *m);

typedef enum ChatUnit { CHAT_UNIT_BYTES, CHAT_UNIT_CODE_POINTS, CHAT_UNIT_UTF16 } ChatUnit;
typedef struct ChatLimit {
        size_t max;        /* tandem's limit: the service's, less a margin */
        ChatUnit unit;
        bool whole_body;   /* counts the whole request body, not the text */
} ChatLimit;
/* What a kind's payload must fit (README "Chats" says why each). */
ChatLimit chat_limit(ChatKind kind);
/* The length of s in unit. */
size_t chat_measure(const char *s, ChatUnit unit);
/* The payload part that chat_limit(kind) counts, of a message built for
 * kind: the whole body, or its text field. A new string. */
char *chat_counted(ChatKind kind, const ChatMessage *m);

/* Cuts text to at most max code points and max_bytes bytes between two
 * grapheme clusters, ending in "…" when cut. Returns a new string. */
char *chat_truncate(const char *text, size_t max_chars, size_t max_bytes);
