/* deliver.h — posting to webhooks with libcurl's multi interface, driven
 * by the sd-event loop: pacing (one request per second per URL), retries
 * with exponential backoff and jitter, Retry-After, and a deadline (the
 * meeting's start) after which a reminder is given up. */
#pragma once

#include <systemd/sd-event.h>

#include "chat.h"

typedef struct Delivery Delivery;

typedef struct DeliverResult {
        bool ok;
        int http_status;   /* 0 when no HTTP answer came */
        const char *error; /* what went wrong, for logs and the ledger */
        int attempts;
} DeliverResult;

typedef struct DeliverCallbacks {
        /* Before every request: record the attempt durably. */
        void (*attempt)(void *userdata);
        /* Once, with the final outcome; never for a request left
         * unfinished by deliver_shutdown() or deliver_free(). */
        void (*done)(void *userdata, const DeliverResult *r);
} DeliverCallbacks;

int deliver_new(sd_event *e, Delivery **ret);
/* Called around each pass that may record several attempts or outcomes,
 * so the caller can make them one durable write. A pass never sends
 * anything before end() returns: requests go out from the event loop. */
void deliver_set_batch(Delivery *d, void (*begin)(void *), void (*end)(void *), void *userdata);
Delivery *deliver_free(Delivery *d);

/* Queues msg (taking its contents) for url. The request is retried until
 * deadline_usec on the daemon's clock. label names the job in logs. */
void deliver_submit(Delivery *d, const char *url, ChatMessage *msg, int64_t deadline_usec, const char *label,
                    const DeliverCallbacks *cb, void *userdata);
/* Requests queued or in flight. */
size_t deliver_pending(const Delivery *d);
uint64_t deliver_retries(const Delivery *d);
/* Starts nothing new; calls done() when no request is in flight any more,
 * or after timeout_usec (real time) abandoning the rest. */
void deliver_shutdown(Delivery *d, uint64_t timeout_usec, void (*done)(void *userdata), void *userdata);
