/* metrics.c — Prometheus text format, version 0.0.4. */
#include "metrics.h"

#include "util.h"
#include "version.h"

static void metric(Buf *b, const char *name, const char *type, const char *help)
{
        buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *metrics_render(const Metrics *m)
{
        Buf b = {0};
        metric(&b, "tandem_build_info", "gauge", "Version of tandem.");
        buf_printf(&b, "tandem_build_info{version=\"%s\"} 1\n", TANDEM_VERSION);
        metric(&b, "tandem_start_time_seconds", "gauge", "When the daemon started (its clock).");
        buf_printf(&b, "tandem_start_time_seconds %lld\n", (long long)m->started);

        metric(&b, "tandem_reminders_sent_total", "counter", "Reminders delivered (a 2xx answer, or printed).");
        buf_printf(&b, "tandem_reminders_sent_total %llu\n", (unsigned long long)m->sent);
        metric(&b, "tandem_reminders_failed_total", "counter", "Reminders given up: a permanent error, or the meeting started.");
        buf_printf(&b, "tandem_reminders_failed_total %llu\n", (unsigned long long)m->failed);
        metric(&b, "tandem_reminders_missed_total", "counter", "Reminders whose meeting started while the daemon could not send them.");
        buf_printf(&b, "tandem_reminders_missed_total %llu\n", (unsigned long long)m->missed);
        metric(&b, "tandem_reminders_superseded_total", "counter",
               "Overdue reminders not sent because a later reminder of the same occurrence was due soon after.");
        buf_printf(&b, "tandem_reminders_superseded_total %llu\n", (unsigned long long)m->superseded);
        metric(&b, "tandem_department_reminders_total", "counter", "Reminders by department and outcome.");
        for (size_t i = 0; i < m->n_departments; i++) {
                const MetricsDepartment *d = &m->departments[i];
                buf_printf(&b, "tandem_department_reminders_total{department=\"%s\",outcome=\"sent\"} %llu\n", d->id,
                           (unsigned long long)d->sent);
                buf_printf(&b, "tandem_department_reminders_total{department=\"%s\",outcome=\"failed\"} %llu\n", d->id,
                           (unsigned long long)d->failed);
                buf_printf(&b, "tandem_department_reminders_total{department=\"%s\",outcome=\"missed\"} %llu\n", d->id,
                           (unsigned long long)d->missed);
                buf_printf(&b, "tandem_department_reminders_total{department=\"%s\",outcome=\"superseded\"} %llu\n",
                           d->id, (unsigned long long)d->superseded);
        }
        metric(&b, "tandem_department_failing_since_timestamp_seconds", "gauge",
               "When delivery to the department started failing (its last outcome a failure); 0 when it works.");
        for (size_t i = 0; i < m->n_departments; i++)
                buf_printf(&b, "tandem_department_failing_since_timestamp_seconds{department=\"%s\"} %lld\n",
                           m->departments[i].id, (long long)m->departments[i].failing_since);
        metric(&b, "tandem_delivery_retries_total", "counter", "Requests retried after a network error, a timeout, a 5xx or a 429.");
        buf_printf(&b, "tandem_delivery_retries_total %llu\n", (unsigned long long)m->retries);
        metric(&b, "tandem_deliveries_in_flight", "gauge", "Requests queued or in flight.");
        buf_printf(&b, "tandem_deliveries_in_flight %llu\n", (unsigned long long)m->in_flight);
        metric(&b, "tandem_reminders_pending", "gauge", "Reminders scheduled (the next one per meeting, offset and department).");
        buf_printf(&b, "tandem_reminders_pending %llu\n", (unsigned long long)m->pending);
        metric(&b, "tandem_next_reminder_timestamp_seconds", "gauge", "When the next reminder is due (0: none).");
        buf_printf(&b, "tandem_next_reminder_timestamp_seconds %lld\n", (long long)m->next_reminder);
        metric(&b, "tandem_meetings", "gauge", "Meetings in the running config.");
        buf_printf(&b, "tandem_meetings %llu\n", (unsigned long long)m->meetings);

        metric(&b, "tandem_healthy", "gauge", "1 while /healthz answers 200, 0 while it answers 503 (see its text).");
        buf_printf(&b, "tandem_healthy %d\n", m->healthy ? 1 : 0);
        metric(&b, "tandem_ledger_writable", "gauge", "Whether the last write to the ledger succeeded.");
        buf_printf(&b, "tandem_ledger_writable %d\n", m->ledger_ok ? 1 : 0);
        metric(&b, "tandem_ledger_backlog", "gauge", "Outcomes recorded in memory, not yet written to the ledger.");
        buf_printf(&b, "tandem_ledger_backlog %llu\n", (unsigned long long)m->ledger_backlog);

        metric(&b, "tandem_config_last_reload_success", "gauge", "Whether the last config load succeeded (1) or was refused (0).");
        buf_printf(&b, "tandem_config_last_reload_success %d\n", m->last_reload_ok ? 1 : 0);
        metric(&b, "tandem_config_last_reload_timestamp_seconds", "gauge", "When the config was last loaded or refused.");
        buf_printf(&b, "tandem_config_last_reload_timestamp_seconds %lld\n", (long long)m->last_reload);

        metric(&b, "tandem_feed_requests_total", "counter", "HTTP requests by status code.");
        for (size_t i = 0; m->http && i < ELEMENTSOF(http_counted_statuses) + 1; i++) {
                if (i < ELEMENTSOF(http_counted_statuses))
                        buf_printf(&b, "tandem_feed_requests_total{code=\"%d\"} %llu\n", http_counted_statuses[i],
                                   (unsigned long long)m->http->by_status[i]);
                else
                        buf_printf(&b, "tandem_feed_requests_total{code=\"other\"} %llu\n",
                                   (unsigned long long)m->http->by_status[i]);
        }
        if (m->http) {
                metric(&b, "tandem_http_connections_refused_total", "counter",
                       "Connections closed at once: over the connection limit or the limit per client address.");
                buf_printf(&b, "tandem_http_connections_refused_total %llu\n", (unsigned long long)m->http->refused);
                metric(&b, "tandem_http_request_timeouts_total", "counter",
                       "Connections closed because no complete request arrived in time.");
                buf_printf(&b, "tandem_http_request_timeouts_total %llu\n", (unsigned long long)m->http->timed_out);
        }
        return buf_steal(&b);
}
