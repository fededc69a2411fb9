/* test_http.c — the feed server's pure parts (http.c): routing against
 * known names only, conditional-request validators, Accept-Encoding, the
 * token comparison, HTML escaping and the index page; and the /metrics
 * text (metrics.c). */
#include "helpers.h"

#include "http.h"
#include "metrics.h"

static const char *const names[] = {"all", "sales", "marketing"};

static void test_route(void **state)
{
        (void)state;
        size_t feed = 99;
        assert_int_equal(http_route("/feeds/all.ics", names, 3, &feed), HTTP_ROUTE_FEED);
        assert_int_equal(feed, 0);
        assert_int_equal(http_route("/feeds/marketing.ics", names, 3, &feed), HTTP_ROUTE_FEED);
        assert_int_equal(feed, 2);
        assert_int_equal(http_route("/healthz", names, 3, &feed), HTTP_ROUTE_HEALTHZ);
        assert_int_equal(http_route("/metrics", names, 3, &feed), HTTP_ROUTE_METRICS);
        assert_int_equal(http_route("/feeds/", names, 3, &feed), HTTP_ROUTE_INDEX);
        assert_int_equal(http_route("/feeds", names, 3, &feed), HTTP_ROUTE_INDEX);
        assert_int_equal(http_route("/", names, 3, &feed), HTTP_ROUTE_INDEX);
}

static void test_route_hostile(void **state)
{
        (void)state;
        static const char *const paths[] = {
                "/feeds/../etc/passwd", "/feeds/sales.ics/", "/feeds/sales", "/feeds/.ics", "/feeds//",
                "/feeds/SALES.ics", "/feeds/sale.ics", "/feeds/salesx.ics", "/feeds//sales.ics",
                "/feeds/sales.ics%00", "/feeds/%2e%2e/all.ics", "/feeds/all.ics.ics", "//feeds/all.ics",
                "//", "", "/healthz/", "/metricsx", "/feeds/support.ics", "feeds/all.ics", "/index.html",
                "/feeds/index.html", "/%2e/", "/feeds/.", "/feeds/%2f", "/./", "/feeds/..",
        };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                size_t feed = 99;
                assert_int_equal(http_route(paths[i], names, 3, &feed), HTTP_ROUTE_NONE);
                assert_int_equal(feed, 99);
        }
}

static void test_etag(void **state)
{
        (void)state;
        const char *etag = "\"abc-12\"";
        assert_true(http_etag_matches("\"abc-12\"", etag));
        assert_true(http_etag_matches("W/\"abc-12\"", etag)); /* weak comparison (RFC 9110 13.1.2) */
        assert_true(http_etag_matches("\"x\", \"abc-12\"", etag));
        assert_true(http_etag_matches("*", etag));
        assert_false(http_etag_matches("\"abc-13\"", etag));
        assert_false(http_etag_matches("\"abc-1\"", etag));
        assert_false(http_etag_matches("abc-12", etag)); /* unquoted: malformed */
        assert_false(http_etag_matches("\"abc-12", etag));
        assert_false(http_etag_matches("", etag));
}

static void test_accepts_gzip(void **state)
{
        (void)state;
        assert_true(http_accepts_gzip("gzip"));
        assert_true(http_accepts_gzip("deflate, gzip;q=0.5"));
        assert_true(http_accepts_gzip("GZIP"));
        assert_true(http_accepts_gzip("*"));
        assert_false(http_accepts_gzip("gzip;q=0"));
        assert_false(http_accepts_gzip("identity"));
        assert_false(http_accepts_gzip("br, deflate"));
        assert_false(http_accepts_gzip(""));
}

static void test_token(void **state)
{
        (void)state;
        assert_true(http_token_equal("s3cret-token", "s3cret-token"));
        assert_false(http_token_equal("s3cret-tokeN", "s3cret-token"));
        assert_false(http_token_equal("s3cret-toke", "s3cret-token"));
        assert_false(http_token_equal("s3cret-token1", "s3cret-token"));
        assert_false(http_token_equal("", "s3cret-token"));
}

static void assert_contains_all(const char *text, const char *const *parts, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!strstr(text, parts[i]))
                        fail_msg("missing %s in:\n%s", parts[i], text);
}

static void test_html_escape(void **state)
{
        (void)state;
        char *e = http_html_escape("<script>alert('x&y')</script> \"quoted\" caf\xc3\xa9");
        assert_string_equal(e, "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt; &quot;quoted&quot; caf\xc3\xa9");
        free(e);
        e = http_html_escape("");
        assert_string_equal(e, "");
        free(e);
        e = http_html_escape("&amp;");
        assert_string_equal(e, "&amp;amp;"); /* escaped once more: the value is text, not HTML */
        free(e);
}

static const HttpFeed index_feeds[] = {
        {.name = "all", .body = "", .title = NULL},
        {.name = "sales", .body = "", .title = "Sales <EMEA> & \"Co\""},
        {.name = "r-and-d", .body = "", .title = "R'n'D"},
};

static void test_index_html(void **state)
{
        (void)state;
        HttpSite site = {"Joint <b>meetings</b>", "https://cal.example.com/tandem", NULL};
        char *page = http_index_html(&site, index_feeds, ELEMENTSOF(index_feeds));
        static const char *const want[] = {
                "<title>Joint &lt;b&gt;meetings&lt;/b&gt;</title>",
                "<h1>Joint &lt;b&gt;meetings&lt;/b&gt;</h1>",
                "<td>All meetings</td>",
                "<td>Sales &lt;EMEA&gt; &amp; &quot;Co&quot;</td>",
                "<td>R&#39;n&#39;D</td>",
                /* The links are the ones feed_url() gives (check, the start-up log). */
                "<a href=\"webcal://cal.example.com/tandem/feeds/all.ics\">",
                "<a href=\"https://cal.example.com/tandem/feeds/sales.ics\">",
                "<a href=\"webcal://cal.example.com/tandem/feeds/r-and-d.ics\">",
        };
        assert_contains_all(page, want, ELEMENTSOF(want));
        assert_null(strstr(page, "<b>"));
        assert_null(strstr(page, "<EMEA>"));
        assert_null(strstr(page, "token"));
        free(page);

        /* With a token, every link carries it (the page is only served to a
         * request that had it). */
        site.token = "s3cret-token";
        page = http_index_html(&site, index_feeds, ELEMENTSOF(index_feeds));
        assert_non_null(strstr(page, "\"webcal://cal.example.com/tandem/feeds/sales.ics?token=s3cret-token\""));
        assert_non_null(strstr(page, "\"https://cal.example.com/tandem/feeds/all.ics?token=s3cret-token\""));
        free(page);

        /* A value that would end the attribute is escaped there too. */
        site = (HttpSite){"x", "https://e.example/\"><script>x</script>", NULL};
        page = http_index_html(&site, index_feeds, 1);
        assert_null(strstr(page, "<script>"));
        assert_non_null(strstr(page, "https://e.example/&quot;&gt;&lt;script&gt;"));
        free(page);
}

static void test_metrics(void **state)
{
        (void)state;
        HttpCounters http = {.by_status = {7, 3, 1, 2, 0, 0}, .refused = 2257, .timed_out = 527};
        MetricsDepartment depts[] = {{.id = "sales", .sent = 4, .failed = 1, .superseded = 2, .failing_since = 1796136000}};
        Metrics m = {.sent = 4, .failed = 1, .superseded = 2, .pending = 12, .next_reminder = 1796136300,
                     .departments = depts, .n_departments = 1, .http = &http, .last_reload_ok = true, .meetings = 3,
                     .healthy = false, .ledger_backlog = 5, .ledger_ok = false};
        char *text = metrics_render(&m);
        static const char *const lines[] = {
                "tandem_reminders_sent_total 4\n",
                "tandem_reminders_failed_total 1\n",
                "tandem_reminders_pending 12\n",
                "tandem_next_reminder_timestamp_seconds 1796136300\n",
                "tandem_config_last_reload_success 1\n",
                "tandem_feed_requests_total{code=\"200\"} 7\n",
                "tandem_feed_requests_total{code=\"304\"} 3\n",
                "tandem_http_connections_refused_total 2257\n",
                "tandem_http_request_timeouts_total 527\n",
                "# TYPE tandem_http_connections_refused_total counter\n",
                "tandem_department_reminders_total{department=\"sales\",outcome=\"sent\"} 4\n",
                "tandem_department_reminders_total{department=\"sales\",outcome=\"superseded\"} 2\n",
                "tandem_reminders_superseded_total 2\n",
                "tandem_department_failing_since_timestamp_seconds{department=\"sales\"} 1796136000\n",
                "tandem_healthy 0\n",
                "tandem_ledger_writable 0\n",
                "tandem_ledger_backlog 5\n",
                "# TYPE tandem_reminders_sent_total counter\n",
                "# TYPE tandem_reminders_pending gauge\n",
        };
        assert_contains_all(text, lines, ELEMENTSOF(lines));
        free(text);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_route),        cmocka_unit_test(test_route_hostile),
                cmocka_unit_test(test_etag),         cmocka_unit_test(test_accepts_gzip),
                cmocka_unit_test(test_token),        cmocka_unit_test(test_metrics),
                cmocka_unit_test(test_html_escape),  cmocka_unit_test(test_index_html),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
