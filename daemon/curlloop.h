/* curlloop.h — a libcurl multi handle driven by the sd-event loop: its
 * sockets become io sources, its timeout a (real, monotonic) timer, and a
 * finished transfer a call to done(). Nothing blocks the loop. Delivery
 * posts webhooks through one; the holiday refresh fetches through another. */
#pragma once

#include <curl/curl.h>
#include <systemd/sd-event.h>

typedef struct CurlLoop CurlLoop;

/* Connections to one host at once, and idle ones kept for reuse. */
#define CURLLOOP_HOST_CONNECTIONS 16
#define CURLLOOP_CACHED_CONNECTIONS 64

/* done(easy, result, userdata) runs once per finished transfer, after
 * the handle has left the multi handle; the caller owns easy again. After
 * each batch of them, idle(userdata) runs (may be NULL). */
int curlloop_new(sd_event *e, void (*done)(CURL *easy, CURLcode result, void *userdata), void (*idle)(void *userdata),
                 void *userdata, CurlLoop **ret);
CurlLoop *curlloop_free(CurlLoop *l);
/* A new easy handle, with libcurl set up first if it is not yet: at the
 * first request, not at start-up. NULL if libcurl cannot be set up. */
CURL *curlloop_easy(void);
/* Starts a transfer; -EIO if libcurl refuses it (nothing is left behind). */
/* Sets libcurl up ahead of the first transfer (curlloop_add does it
 * otherwise): its TLS libraries' start takes milliseconds. */
int curlloop_prepare(CurlLoop *l);
int curlloop_add(CurlLoop *l, CURL *easy);
/* Abandons a transfer in flight; the handle is the caller's again. */
void curlloop_remove(CurlLoop *l, CURL *easy);
