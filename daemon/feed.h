/* feed.h — the iCalendar feeds (README "The feeds"): all meetings, or one
 * department's, as RFC 5545 text with the RFC 7986 feed properties. */
#pragma once

#include <stdint.h>

#include "schedule.h"

/* What the ledger knows of a meeting's history: its revision and when its
 * definition last changed. */
typedef struct FeedMeta {
        int sequence;
        int64_t modified;
} FeedMeta;

/* The feed for dept (NULL: all meetings). meta has one entry per meeting,
 * or is NULL (sequence 0, modified at the start date); a meeting the
 * schedule keeps as text (schedule_pack) carries the revision it was packed
 * with. Caller frees. */
char *feed_render(const Schedule *s, const Department *dept, const FeedMeta *meta);
/* The same for the given meetings (indices, in order), which must be the
 * feed's: the daemon finds each department's once for all its feeds. */
char *feed_assemble(const Schedule *s, const Department *dept, const size_t *meetings, size_t n, const FeedMeta *meta);
/* Meeting i's VEVENTs (the meeting's own, then those published with it)
 * as libical writes them in a feed, with its revision: what
 * schedule_pack() keeps. The schedule's VEVENTs are as they were when this
 * returns. Caller frees. */
char *feed_event_text(const Schedule *s, size_t i, const FeedMeta *meta);
/* The URL to subscribe to a feed ("all" or a department id), from
 * public_url, with the token when one is set; webcal: the webcal:// form
 * that calendar apps open directly. Caller frees. */
char *feed_url(const Config *c, const char *name, bool webcal);
/* The same from its parts (public_url without a trailing slash, token or
 * NULL), for code that has no Config. */
char *feed_url_at(const char *public_url, const char *name, const char *token, bool webcal);
/* The same with the token masked ("?token=…"), for logs: the journal is
 * read by more people than the config. `tandem check`, run by the
 * operator, shows the whole link. */
#define FEED_TOKEN_MASK "…"
char *feed_url_masked(const Config *c, const char *name, bool webcal);
/* The calendar's display name: "Joint meetings", "Joint meetings: Sales". */
char *feed_title(const Config *c, const Department *dept);
