/* clock.c — the real, rate and step clocks, and timers on them. The rate
 * clock is derived from CLOCK_MONOTONIC, so its timers are monotonic
 * timers; the step clock keeps its own list of timers and moves only
 * between them. */
#include "clock.h"

#include <errno.h>
#include <fcntl.h>

#include "log.h"
#include "tz.h"
#include "util.h"

/* Under the step clock, time holds while a request is in flight, so its
 * real-time timeout need not be short to keep a test fast; it must be long
 * enough that a loaded machine never turns a normal answer into one. */
#define STEP_REAL_SPAN_USEC (2 * USEC_PER_SEC)

struct ClockTimer {
        ClockTimer *next; /* the step clock's list */
        char *name;
        ClockTimerFn fn;
        void *userdata;
        sd_event_source *source; /* real and rate clocks */
        bool armed;
        int64_t at;
};

static ClockMode mode;
static int64_t virtual_start, mono_start;
static double rate = 1.0;

/* The step clock. */
static struct {
        int64_t now, target;
        unsigned busy;
        unsigned owed; /* instants read and not yet answered with "clock: at" */
        ClockTimer *timers;
        sd_event_source *idle, *input;
        Buf line;
} step;

static int64_t read_clock(clockid_t id)
{
        struct timespec ts;
        clock_gettime(id, &ts);
        return (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

void clock_setup(ClockMode m, int64_t start_usec, double r)
{
        mode = m;
        virtual_start = m == CLOCK_MODE_REAL ? read_clock(CLOCK_REALTIME) : start_usec;
        mono_start = read_clock(CLOCK_MONOTONIC);
        rate = m == CLOCK_MODE_RATE && r > 0 ? r : 1.0;
        step.now = step.target = virtual_start;
}

ClockMode clock_mode(void)
{
        return mode;
}

double clock_rate(void)
{
        return rate;
}

int64_t clock_now_usec(void)
{
        switch (mode) {
        case CLOCK_MODE_RATE:
                return virtual_start + (int64_t)((double)(read_clock(CLOCK_MONOTONIC) - mono_start) * rate);
        case CLOCK_MODE_STEP:
                return step.now;
        default:
                return read_clock(CLOCK_REALTIME);
        }
}

int64_t clock_real_span(int64_t usec, int64_t floor_usec)
{
        int64_t real = mode == CLOCK_MODE_STEP ? STEP_REAL_SPAN_USEC : (int64_t)((double)usec / rate);
        return real < floor_usec ? floor_usec : real;
}

/* ---- the step clock ------------------------------------------------- */

static void step_wake(void)
{
        if (step.idle)
                sd_event_source_set_enabled(step.idle, SD_EVENT_ON);
}

static ClockTimer *step_earliest(void)
{
        ClockTimer *best = NULL;
        for (ClockTimer *t = step.timers; t; t = t->next)
                if (t->armed && (!best || t->at < best->at))
                        best = t;
        return best;
}

/* Runs when nothing else is pending (the lowest priority): fires the next
 * timer up to the target, or settles at the target and says so. */
static int on_step_idle(sd_event_source *s, void *userdata)
{
        (void)userdata;
        if (step.busy > 0) {
                sd_event_source_set_enabled(s, SD_EVENT_OFF); /* clock_busy_end() wakes it */
                return 0;
        }
        ClockTimer *t = step_earliest();
        if (t && t->at <= step.target) {
                if (t->at > step.now)
                        step.now = t->at;
                t->armed = false;
                t->fn(t->userdata);
                return 0;
        }
        if (step.now < step.target)
                step.now = step.target;
        for (; step.owed > 0; step.owed--) {
                char when[32];
                tz_format_rfc3339(icaltimezone_get_utc_timezone(), step.now / USEC_PER_SEC, when);
                log_info("clock: at %s", when);
        }
        sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

/* "2026-03-02T10:00:00Z" or "+SECONDS" (from the last target). */
static void step_command(const char *text)
{
        _cleanup_free_ char *copy = xstrdup(text);
        char *s = strstrip(copy), *end;
        int64_t t;
        if (!*s)
                return;
        if (*s == '+') {
                long long secs = strtoll(s + 1, &end, 10);
                if (*end || secs < 0) {
                        log_error("clock: expected an RFC 3339 instant or +SECONDS, got \"%s\"", s);
                        return;
                }
                t = step.target + secs * USEC_PER_SEC;
        } else if (tz_parse_rfc3339(s, &t) == 0)
                t *= USEC_PER_SEC;
        else {
                log_error("clock: expected an RFC 3339 instant or +SECONDS, got \"%s\"", s);
                return;
        }
        if (t > step.target)
                step.target = t;
        step.owed++; /* every line is answered once */
        step_wake();
}

static int on_step_input(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        char buf[512];
        (void)revents, (void)userdata;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                /* End of input: the clock stays where it was told to go. */
                sd_event_source_set_enabled(s, SD_EVENT_OFF);
                return 0;
        }
        buf[n] = '\0';
        buf_append(&step.line, buf);
        char *nl;
        while (step.line.s && (nl = strchr(step.line.s, '\n'))) {
                *nl = '\0';
                step_command(step.line.s);
                size_t rest = strlen(nl + 1);
                memmove(step.line.s, nl + 1, rest + 1);
                step.line.len = rest;
        }
        return 0;
}

int clock_attach(sd_event *e)
{
        if (mode != CLOCK_MODE_STEP || step.idle)
                return 0;
        int r = sd_event_add_defer(e, &step.idle, on_step_idle, NULL);
        if (r < 0)
                return r;
        sd_event_source_set_priority(step.idle, SD_EVENT_PRIORITY_IDLE);
        sd_event_source_set_description(step.idle, "clock-step");
        int flags = fcntl(STDIN_FILENO, F_GETFL);
        if (flags >= 0)
                fcntl(STDIN_FILENO, F_SETFL, flags | O_NONBLOCK);
        r = sd_event_add_io(e, &step.input, STDIN_FILENO, EPOLLIN, on_step_input, NULL);
        if (r < 0)
                log_warning("clock: cannot read instants from standard input (%s); the clock stays put", strerror(-r));
        else
                sd_event_source_set_description(step.input, "clock-input");
        return 0;
}

void clock_detach(void)
{
        step.idle = sd_event_source_disable_unref(step.idle);
        step.input = sd_event_source_disable_unref(step.input);
        buf_free(&step.line);
}

void clock_busy_begin(void)
{
        step.busy++;
}

void clock_busy_end(void)
{
        if (step.busy > 0 && --step.busy == 0)
                step_wake();
}

/* ---- timers --------------------------------------------------------- */

static int on_source(sd_event_source *s, uint64_t usec, void *userdata)
{
        ClockTimer *t = userdata;
        (void)s, (void)usec;
        t->armed = false;
        t->fn(t->userdata);
        return 0;
}

int clock_timer_new(sd_event *e, const char *name, ClockTimerFn fn, void *userdata, ClockTimer **ret)
{
        ClockTimer *t = xcalloc(1, sizeof(ClockTimer));
        t->name = xstrdup(name);
        t->fn = fn;
        t->userdata = userdata;
        if (mode == CLOCK_MODE_STEP) {
                t->next = step.timers;
                step.timers = t;
                *ret = t;
                return 0;
        }
        /* Wall-clock timers follow clock changes (NTP steps, suspend), which
         * is what "remind at 09:45" means; the rate clock is monotonic. */
        clockid_t id = mode == CLOCK_MODE_REAL ? CLOCK_REALTIME : CLOCK_MONOTONIC;
        int r = sd_event_add_time(e, &t->source, id, UINT64_MAX, 1, on_source, t);
        if (r < 0) {
                clock_timer_free(t);
                return r;
        }
        sd_event_source_set_description(t->source, t->name);
        sd_event_source_set_enabled(t->source, SD_EVENT_OFF);
        *ret = t;
        return 0;
}

void clock_timer_at(ClockTimer *t, int64_t at)
{
        t->armed = true;
        t->at = at;
        if (mode == CLOCK_MODE_STEP) {
                step_wake();
                return;
        }
        int64_t usec = at;
        if (mode == CLOCK_MODE_RATE)
                usec = mono_start + (int64_t)((double)(at - virtual_start) / rate);
        sd_event_source_set_time(t->source, usec > 0 ? (uint64_t)usec : 1);
        sd_event_source_set_enabled(t->source, SD_EVENT_ONESHOT);
}

void clock_timer_off(ClockTimer *t)
{
        t->armed = false;
        if (t->source)
                sd_event_source_set_enabled(t->source, SD_EVENT_OFF);
}

ClockTimer *clock_timer_free(ClockTimer *t)
{
        if (!t)
                return NULL;
        for (ClockTimer **p = &step.timers; *p; p = &(*p)->next)
                if (*p == t) {
                        *p = t->next;
                        break;
                }
        sd_event_source_disable_unref(t->source);
        free(t->name);
        free(t);
        return NULL;
}
