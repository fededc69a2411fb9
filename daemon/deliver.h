/* deliver.h — posting to webhooks with libcurl's multi interface, driven
 * by the sd-event loop: pacing (one request at a time, at most one a second
 * per URL), retries with exponential backoff and jitter, Retry-After, and a
 * deadline (the meeting's start) after which a reminder is given up
 * (README "Delivery guarantees"). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "chat.h"
#include "clock.h"

typedef struct Delivery Delivery;

typedef struct DeliverResult {
        bool ok;
        bool permanent;    /* refused for good (a 4xx other than 429): never retried */
        int http_status;   /* the last answer; 0 when none came */
        const char *error; /* what went wrong, for logs and the ledger */
        int attempts;
} DeliverResult;

typedef struct DeliverCallbacks {
        /* Once, with the final outcome; never for a request left unfinished
         * by deliver_shutdown() or deliver_free(). */
        void (*done)(void *userdata, const DeliverResult *r);
} DeliverCallbacks;

/* Before requests leave, the gate records their attempts durably, all in
 * one go (the userdata of each job); with outcomes, the outcomes not yet
 * written first: a request to one of the jobs' URLs has finished since
 * they were last written, and its outcome must be on disk before the next
 * request to that URL leaves. 0 lets them all leave; a negative
 * errno lets none: they wait and are offered again after
 * DELIVER_GATE_RETRY_USEC, or at deliver_kick(). pass_end runs after the
 * passes that may have finished jobs, so their outcomes can be written in
 * one go too: at once when no request is in flight any more, otherwise when
 * the last one is done or a second later, whichever comes first. */
#define DELIVER_GATE_RETRY_USEC (5 * USEC_PER_SEC)
typedef int (*DeliverGate)(void *userdata, void *const *jobs, size_t n, bool outcomes);
void deliver_set_gate(Delivery *d, DeliverGate gate, void (*pass_end)(void *userdata), void *userdata);

int deliver_new(sd_event *e, Delivery **ret);
Delivery *deliver_free(Delivery *d);

/* Queues msg (taking its contents) for url. The request is retried until
 * deadline_usec on the daemon's clock. label names the job in logs. Nothing
 * leaves before the loop runs again. */
void deliver_submit(Delivery *d, const char *url, ChatMessage *msg, int64_t deadline_usec, const char *label,
                    const DeliverCallbacks *cb, void *userdata);
/* A request will be submitted at instant at_usec: libcurl, set up at the
 * first request otherwise, is set up a few seconds before. */
void deliver_expect(Delivery *d, int64_t at_usec);
/* Offers the waiting jobs to the gate again, now. */
void deliver_kick(Delivery *d);
/* Requests queued or in flight. */
size_t deliver_pending(const Delivery *d);
uint64_t deliver_retries(const Delivery *d);
/* Starts nothing new; calls done() when no request is in flight any more,
 * or after timeout_usec (real time) abandoning the rest. */
void deliver_shutdown(Delivery *d, uint64_t timeout_usec, void (*done)(void *userdata), void *userdata);

/* ---- the pure arithmetic, exposed for tests ---- */

/* 2 s, 4 s, 8 s, ... up to 10 minutes for the n-th attempt (n >= 1), with
 * "equal jitter": half fixed, half random (jitter in [0, 1]). */
int64_t deliver_backoff(int attempts, double jitter);
/* A Retry-After value (RFC 9110 section 10.2.3): delay-seconds, or an
 * HTTP-date read against now_usec (the daemon's clock). The delay in usec,
 * capped at a year; 0 for a date in the past; -1 if unreadable. */
int64_t deliver_retry_after(const char *value, int64_t now_usec);
/* Discord's 429 body {"retry_after": seconds} (older versions:
 * milliseconds): usec, or -1. */
int64_t deliver_discord_retry_after(const char *body);

typedef enum DeliverVerdictKind {
        DELIVER_VERDICT_OK,
        DELIVER_VERDICT_RETRY,
        DELIVER_VERDICT_PERMANENT, /* a 4xx other than 429 */
        DELIVER_VERDICT_GIVE_UP,   /* the next try would come at or after the deadline */
} DeliverVerdictKind;

typedef struct DeliverVerdict {
        DeliverVerdictKind kind;
        int64_t retry_at; /* usec, for DELIVER_VERDICT_RETRY */
} DeliverVerdict;

/* What follows an answer: http_status 0 means no answer (a network error
 * or a timeout). retry_after_usec < 0: none was given. */
DeliverVerdict deliver_judge(int http_status, int attempts, int64_t retry_after_usec, double jitter, int64_t now_usec,
                             int64_t deadline_usec);
