/* metrics.h — the /metrics page in the Prometheus text exposition format
 * (README "The feed server"). */
#pragma once

#include <stdint.h>

#include "http.h"

typedef struct MetricsDepartment {
        const char *id;
        uint64_t sent, failed, missed, superseded;
        int64_t failing_since;  /* seconds: its last outcome was a failure; 0 otherwise */
        const char *last_error; /* of that failure */
} MetricsDepartment;

typedef struct Metrics {
        uint64_t sent, failed, missed, superseded, retries;
        uint64_t pending;          /* reminders scheduled */
        uint64_t in_flight;        /* requests queued or in flight */
        int64_t next_reminder;     /* seconds, 0 if none */
        const MetricsDepartment *departments;
        size_t n_departments;
        const HttpCounters *http;  /* NULL when the server is off */
        bool last_reload_ok;
        int64_t last_reload;       /* seconds */
        int64_t started;           /* seconds */
        uint64_t meetings;
        bool healthy;
        uint64_t ledger_backlog;   /* outcomes not yet written */
        bool ledger_ok;            /* the last ledger write succeeded */
        uint64_t holiday_refresh_failures;
} Metrics;

char *metrics_render(const Metrics *m);
