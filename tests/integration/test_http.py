"""The feed server (README "The feed server") over real HTTP: every row of the
table, conditional requests, gzip, tokens, hostile paths and methods, the
files on disk against what is served, ETags across reloads, /healthz and
/metrics, and a slow client that must not hold up the others."""

import gzip
import html.parser
import http.client
import os
import re
import signal
import socket
import time

import harness

CLOCK = "2026-03-02T08:00:00Z"


free_port = harness.free_port


def config(state_dir, port, token=None, title="Sales + Marketing sync", tandem_extra="", support_extra=""):
    return harness.ini("""
        [tandem]
        timezone = Europe/Berlin
        state_dir = %s
        listen = 127.0.0.1:%d
        %s
        %s
        """ % (state_dir, port, "feed_token = %s" % token if token else "", tandem_extra), """
        [department:sales]
        [department:marketing]
        timezone = America/New_York
        [department:support]
        %s
""" % support_extra + """
        [meeting:sync]
        title = %s
        departments = sales, marketing
        day = tuesday
        time = 16:00
        start = 2026-01-06
        remind = none

        [meeting:triage]
        title = Support + Sales triage
        departments = support, sales
        day = friday
        time = 10:00
        start = 2026-01-02
        remind = none
        """ % title)


class IndexPage(html.parser.HTMLParser):
    """The index page as a browser reads it: the heading, and per table row
    its cells' text and links (character references decoded)."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.h1, self.rows, self.scripts, self._in = "", [], 0, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts += 1
        elif tag == "h1":
            self._in = "h1"
        elif tag == "tr":
            self.rows.append({"text": [], "links": []})
        elif tag == "td":
            self.rows[-1]["text"].append("")
            self._in = "td"
        elif tag == "a":
            self.rows[-1]["links"].append(dict(attrs)["href"])

    def handle_endtag(self, tag):
        if tag in ("h1", "td"):
            self._in = None

    def handle_data(self, data):
        if self._in == "h1":
            self.h1 += data
        elif self._in == "td":
            self.rows[-1]["text"][-1] += data


class FeedServer(harness.TestCase):

    def start(self, token=None, title="Sales + Marketing sync", **extra):
        self.port = free_port()
        self.token = token
        harness.write(self.config, config(self.state, self.port, token, title, **extra))
        self.d = self.daemon(CLOCK)
        return self.d

    def request(self, method, path, headers=None, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def feed_path(self, name):
        return "/feeds/%s.ics%s" % (name, "?token=" + self.token if self.token else "")

    def on_disk(self, name):
        with open(os.path.join(self.feed_dir(), name + ".ics"), "rb") as f:
            return f.read()

    def test_feeds_equal_files_on_disk(self):
        self.start()
        for name in ("all", "sales", "marketing", "support"):
            status, h, body = self.request("GET", self.feed_path(name))
            self.assertEqual(status, 200, name)
            self.assertEqual(h["content-type"], "text/calendar; charset=utf-8")
            self.assertEqual(int(h["content-length"]), len(body))
            self.assertRegex(h["etag"], r'^"[^"]+"$')  # strong
            self.assertIn("GMT", h["last-modified"])
            self.assertEqual(body, self.on_disk(name), name)
        # A department's feed has its meetings only.
        self.assertIn(b"UID:sync@", self.request("GET", "/feeds/marketing.ics")[2])
        self.assertNotIn(b"UID:triage@", self.request("GET", "/feeds/marketing.ics")[2])

    def test_request_at_start_up_gets_the_feed(self):
        """A client that connects the moment the port is open, before the
        feeds are first published, waits and gets the feed (as `curl` or a
        subscription right after start expects), never an error (README
        "The feed server"). The request is sent as soon as a connection is
        made, while 300 departments' start-up is still going on: before the
        fix this got 503 (the window is tens of milliseconds wide); after
        it nothing depends on how fast either side is."""
        self.port = free_port()
        depts = "".join("[department:d%03d]\n" % i for i in range(300))
        harness.write(self.config, config(self.state, self.port) + depts + """
[meeting:wide]
title = Everyone
departments = %s
day = monday
time = 09:00
start = 2026-01-05
remind = none
""" % ", ".join("d%03d" % i for i in range(300)))
        d = harness.Daemon(self, self.config, CLOCK).start(wait_ready=False)
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
                break
            except ConnectionRefusedError:
                self.assertLess(time.monotonic(), deadline, d.stderr())
                self.assertIsNone(d.proc.poll(), d.stderr())
                time.sleep(0.001)
        with sock:
            sock.sendall(b"GET /feeds/d299.ics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            reply = b"".join(iter(lambda: sock.recv(65536), b""))
        head, _, body = reply.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
        self.assertIn(b"UID:wide@", body)
        d.wait_published(1)
        self.assertEqual(body, self.on_disk("d299"))

    def test_head(self):
        self.start()
        _, get_h, body = self.request("GET", "/feeds/all.ics")
        status, h, head_body = self.request("HEAD", "/feeds/all.ics")
        self.assertEqual(status, 200)
        self.assertEqual(head_body, b"")
        self.assertEqual(int(h["content-length"]), len(body))
        self.assertEqual(h["etag"], get_h["etag"])

    def test_conditional_requests(self):
        self.start()
        _, h, _ = self.request("GET", "/feeds/sales.ics")
        status, h304, body = self.request("GET", "/feeds/sales.ics", {"If-None-Match": h["etag"]})
        self.assertEqual((status, body), (304, b""))
        self.assertEqual(h304["etag"], h["etag"])
        status, _, _ = self.request("GET", "/feeds/sales.ics", {"If-None-Match": '"other", ' + h["etag"]})
        self.assertEqual(status, 304)
        status, _, _ = self.request("GET", "/feeds/sales.ics", {"If-None-Match": '"other"'})
        self.assertEqual(status, 200)
        # If-Modified-Since: at or after Last-Modified → 304; before → 200.
        status, _, _ = self.request("GET", "/feeds/sales.ics", {"If-Modified-Since": h["last-modified"]})
        self.assertEqual(status, 304)
        status, _, _ = self.request("GET", "/feeds/sales.ics", {"If-Modified-Since": "Thu, 01 Jan 2015 00:00:00 GMT"})
        self.assertEqual(status, 200)
        status, _, _ = self.request("GET", "/feeds/sales.ics", {"If-Modified-Since": "not a date"})
        self.assertEqual(status, 200)
        # If-None-Match wins over If-Modified-Since (RFC 9110 section 13.2.2).
        status, _, _ = self.request("GET", "/feeds/sales.ics",
                                    {"If-None-Match": '"other"', "If-Modified-Since": h["last-modified"]})
        self.assertEqual(status, 200)

    def test_gzip(self):
        self.start()
        _, plain_h, plain = self.request("GET", "/feeds/all.ics")
        status, h, body = self.request("GET", "/feeds/all.ics", {"Accept-Encoding": "gzip"})
        self.assertEqual(status, 200)
        self.assertEqual(h["content-encoding"], "gzip")
        self.assertEqual(gzip.decompress(body), plain)
        self.assertLess(len(body), len(plain))
        self.assertNotEqual(h["etag"], plain_h["etag"])
        self.assertIn("Accept-Encoding", h["vary"])
        status, _, _ = self.request("GET", "/feeds/all.ics", {"Accept-Encoding": "gzip", "If-None-Match": h["etag"]})
        self.assertEqual(status, 304)
        _, h, _ = self.request("GET", "/feeds/all.ics", {"Accept-Encoding": "gzip;q=0"})
        self.assertNotIn("content-encoding", h)
        # A department's feed is kept gzip'd only: the same bytes either way.
        _, plain_h, plain = self.request("GET", "/feeds/sales.ics")
        status, h, body = self.request("GET", "/feeds/sales.ics", {"Accept-Encoding": "gzip"})
        self.assertEqual((status, h["content-encoding"]), (200, "gzip"))
        self.assertEqual(gzip.decompress(body), plain)
        self.assertEqual(plain, self.on_disk("sales"))
        self.assertEqual(h["etag"], plain_h["etag"][:-1] + '-gz"')

    def test_large_all_feed(self):
        """all.ics above 256 KiB is kept gzip'd only (README "The feed
        server"): a client without gzip gets the very bytes on disk,
        inflated, with the same validators as always; with gzip the same
        bytes compressed."""
        meetings = "".join("""
[meeting:m%03d]
title = Meeting number %03d between sales and marketing
departments = sales, marketing
day = wednesday
time = 09:%02d
start = 2026-01-07
remind = none
description = An agenda long enough to make the feed big: status, plans, risks and the next steps.
""" % (i, i, i % 60) for i in range(700))
        self.start()
        d = self.d
        with open(self.config, "a") as f:
            f.write(meetings)
        d.reload()
        disk = self.on_disk("all")
        self.assertGreater(len(disk), 256 << 10)
        status, h, body = self.request("GET", "/feeds/all.ics")
        self.assertEqual((status, body), (200, disk))
        self.assertNotIn("content-encoding", h)
        self.assertEqual(int(h["content-length"]), len(disk))
        status, hz, gz = self.request("GET", "/feeds/all.ics", {"Accept-Encoding": "gzip"})
        self.assertEqual((status, hz["content-encoding"]), (200, "gzip"))
        self.assertEqual(gzip.decompress(gz), disk)
        self.assertLess(len(gz), len(disk) // 5)
        self.assertEqual(hz["etag"], h["etag"][:-1] + '-gz"')
        status, hh, head = self.request("HEAD", "/feeds/all.ics")
        self.assertEqual((status, head, int(hh["content-length"]), hh["etag"]), (200, b"", len(disk), h["etag"]))
        self.assertEqual(self.request("GET", "/feeds/all.ics", {"If-None-Match": h["etag"]})[0], 304)

    def test_unchanged_feeds_not_rewritten(self):
        """A restart with the same config leaves the feed files alone (no
        new inode or mtime for a file watcher or a sync to notice); a
        changed meeting rewrites the feeds it is in."""
        d = self.start()
        names = ("all", "sales", "marketing", "support")
        before = {n: os.stat(os.path.join(self.feed_dir(), n + ".ics")) for n in names}
        self.assertRegex(d.stderr(), r"(?m)^<6>published 4 feeds: 4 written to .*, 0 unchanged$")
        d.stop()
        d = self.daemon(CLOCK, name="again")
        self.assertRegex(d.stderr(), r"(?m)^<6>published 4 feeds: 0 written to .*, 4 unchanged$")
        for n in names:
            after = os.stat(os.path.join(self.feed_dir(), n + ".ics"))
            self.assertEqual((after.st_ino, after.st_mtime_ns), (before[n].st_ino, before[n].st_mtime_ns), n)
        harness.write(self.config, config(self.state, self.port, None, "Sales + Marketing weekly sync"))
        d.reload()
        self.assertRegex(d.stderr(), r"(?m)^<6>published 4 feeds: 3 written to .*, 1 unchanged$")
        self.assertEqual(os.stat(os.path.join(self.feed_dir(), "support.ics")).st_ino, before["support"].st_ino)

    def test_token(self):
        self.start(token="s3cret-token-1")
        for path in ("/feeds/all.ics", "/feeds/all.ics?token=wrong", "/feeds/sales.ics?token=s3cret-token-",
                     "/feeds/sales.ics?token=s3cret-token-12"):
            status, _, body = self.request("GET", path)
            self.assertEqual(status, 403, path)
            self.assertNotIn(b"BEGIN:VCALENDAR", body)
        status, _, body = self.request("GET", "/feeds/sales.ics?token=s3cret-token-1")
        self.assertEqual(status, 200)
        self.assertEqual(body, self.on_disk("sales"))
        self.assertEqual(self.request("GET", "/healthz")[0], 200)
        # The startup log gives subscribe links with the token masked
        # (the journal is read by more people than the config).
        self.assertIn("webcal://127.0.0.1:%d/feeds/sales.ics?token=\u2026" % self.port, self.d.stderr())
        self.assertNotIn("s3cret-token-1", self.d.stderr())

    def test_index_page(self):
        # Config values that mean something in HTML come out as text.
        self.start(tandem_extra="calendar_name = R&D <joint> meetings",
                   support_extra='name = Support "24/7" <b>&amp;</b>')
        status, h, body = self.request("GET", "/feeds/")
        self.assertEqual(status, 200)
        self.assertEqual(h["content-type"], "text/html; charset=utf-8")
        self.assertEqual(int(h["content-length"]), len(body))
        self.assertRegex(h["etag"], r'^"[^"]+"$')
        self.assertIn("default-src 'none'", h["content-security-policy"])
        page = IndexPage(body.decode("utf-8"))
        self.assertEqual(page.scripts, 0)
        self.assertNotIn(b"<b>", body)
        self.assertEqual(page.h1, "R&D <joint> meetings")
        rows = {r["text"][0]: r["links"] for r in page.rows if r["text"]}
        self.assertEqual(set(rows), {"All meetings", "sales", "marketing", 'Support "24/7" <b>&amp;</b>'})
        base = "127.0.0.1:%d/feeds/" % self.port
        self.assertEqual(rows["All meetings"], ["webcal://%sall.ics" % base, "http://%sall.ics" % base])
        self.assertEqual(rows['Support "24/7" <b>&amp;</b>'],
                         ["webcal://%ssupport.ics" % base, "http://%ssupport.ics" % base])
        # The links are the ones the start-up log gives, and they work.
        log = self.d.stderr()
        for links in rows.values():
            self.assertIn("%s (or %s)" % tuple(links), log)
            status, _, feed = self.request("GET", links[1][len("http://127.0.0.1:%d" % self.port):])
            self.assertEqual(status, 200)
            self.assertIn(b"BEGIN:VCALENDAR", feed)
        # "/" and "/feeds" give the same page; HEAD, conditional requests, gzip.
        self.assertEqual(self.request("GET", "/")[2], body)
        self.assertEqual(self.request("GET", "/feeds")[2], body)
        status, hh, head_body = self.request("HEAD", "/feeds/")
        self.assertEqual((status, head_body, hh["etag"]), (200, b"", h["etag"]))
        self.assertEqual(int(hh["content-length"]), len(body))
        status, h304, body304 = self.request("GET", "/feeds/", {"If-None-Match": h["etag"]})
        self.assertEqual((status, body304, h304["etag"]), (304, b"", h["etag"]))
        status, hz, z = self.request("GET", "/", {"Accept-Encoding": "gzip"})
        self.assertEqual((status, hz["content-encoding"], gzip.decompress(z)), (200, "gzip", body))
        for method in ("POST", "PUT", "DELETE"):
            status, h405, _ = self.request(method, "/feeds/", body=b"x")
            self.assertEqual((status, h405["allow"]), (405, "GET, HEAD"), method)

    def test_index_page_with_token(self):
        token = "s3cret-token-1"
        self.start(token=token)
        # Without the token, or with a wrong one: 403, no names, no links.
        for path in ("/feeds/", "/", "/feeds/?token=wrong", "/feeds/?token=s3cret-token-"):
            status, _, body = self.request("GET", path)
            self.assertEqual(status, 403, path)
            self.assertIn(b"token", body)
            for secret in (token.encode(), b"marketing", b".ics", b"webcal:"):
                self.assertNotIn(secret, body, path)
        status, h, body = self.request("GET", "/feeds/?token=" + token)
        self.assertEqual(status, 200)
        self.assertIn("private", h["cache-control"])
        self.assertEqual(h["referrer-policy"], "no-referrer")
        page = IndexPage(body.decode("utf-8"))
        links = [l for r in page.rows for l in r["links"]]
        self.assertEqual(len(links), 8)
        for link in links:
            self.assertTrue(link.endswith(".ics?token=" + token), link)
            if link.startswith("http://"):
                self.assertEqual(self.request("GET", link[len("http://127.0.0.1:%d" % self.port):])[0], 200)
        # A conditional request still needs the token.
        self.assertEqual(self.request("GET", "/feeds/", {"If-None-Match": h["etag"]})[0], 403)
        self.assertEqual(self.request("GET", "/feeds/?token=" + token, {"If-None-Match": h["etag"]})[0], 304)

    def test_unknown_and_hostile_paths(self):
        self.start()
        for path in ("/feeds//", "/index.html", "/feeds/nope.ics", "/feeds/../feeds/all.ics", "/feeds/%2e%2e/all.ics",
                     "/feeds/all", "/feeds/ALL.ics", "/feeds/all.ics/", "/../../etc/passwd", "/feeds/all.ics%00",
                     "/state/ledger.sqlite", "/feeds/" + "a" * 3000 + ".ics"):
            status, _, body = self.request("GET", path)
            self.assertIn(status, (404, 400, 414), path)
            self.assertNotIn(b"BEGIN:VCALENDAR", body, path)
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            status, h, _ = self.request(method, "/feeds/all.ics", body=b"x" if method in ("POST", "PUT") else None)
            self.assertEqual(status, 405, method)
            self.assertEqual(h["allow"], "GET, HEAD")
        self.assertEqual(self.request("POST", "/nowhere", body=b"x")[0], 404)
        # Headers beyond the per-connection memory limit are refused, not served.
        status, _, _ = self.request("GET", "/feeds/all.ics", {"X-Big": "y" * 100000})
        self.assertGreaterEqual(status, 400)
        self.assertEqual(self.request("GET", "/healthz")[0], 200)  # still serving

    def test_healthz_and_metrics(self):
        self.start()
        status, h, body = self.request("GET", "/healthz")
        self.assertEqual((status, body), (200, b"ok\n"))
        self.request("GET", "/feeds/all.ics")
        self.request("GET", "/feeds/nope.ics")
        status, h, body = self.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(h["content-type"].startswith("text/plain"))
        text = body.decode()
        for name in ("tandem_reminders_sent_total", "tandem_reminders_failed_total", "tandem_reminders_pending",
                     "tandem_next_reminder_timestamp_seconds", "tandem_feed_requests_total",
                     "tandem_config_last_reload_success", "tandem_build_info"):
            self.assertRegex(text, r"(?m)^# TYPE %s " % name)
        self.assertRegex(text, r'(?m)^tandem_feed_requests_total\{code="200"\} [1-9]')
        self.assertRegex(text, r'(?m)^tandem_feed_requests_total\{code="404"\} [1-9]')
        self.assertRegex(text, r"(?m)^tandem_config_last_reload_success 1$")

    def test_reload_changes_etag_only_when_feed_changes(self):
        self.start()
        before = {n: self.request("GET", "/feeds/%s.ics" % n)[1]["etag"] for n in ("all", "marketing", "support")}
        self.d.reload()
        same = {n: self.request("GET", "/feeds/%s.ics" % n)[1]["etag"] for n in before}
        self.assertEqual(same, before)
        harness.write(self.config, config(self.state, self.port, title="Sales + Marketing weekly sync"))
        self.d.reload()
        after = {n: self.request("GET", "/feeds/%s.ics" % n) for n in before}
        self.assertNotEqual(after["all"][1]["etag"], before["all"])
        self.assertNotEqual(after["marketing"][1]["etag"], before["marketing"])
        self.assertEqual(after["support"][1]["etag"], before["support"])  # not in the changed meeting
        self.assertIn(b"SUMMARY:Sales + Marketing weekly sync", after["marketing"][2])
        self.assertIn(b"SEQUENCE:1", after["marketing"][2])
        self.assertEqual(after["marketing"][2], self.on_disk("marketing"))
        # A broken config is refused: still the same bytes, reload metric 0.
        with open(self.config, "a") as f:
            f.write("bogus = 1\n")
        self.d.signal(signal.SIGHUP)
        self.d.wait_log(r"reload refused")
        self.assertEqual(self.request("GET", "/feeds/all.ics")[1]["etag"], after["all"][1]["etag"])
        self.assertIn("tandem_config_last_reload_success 0", self.request("GET", "/metrics")[2].decode())
        # ... and /healthz says so, and why, until a reload succeeds.
        status, _, body = self.request("GET", "/healthz")
        self.assertEqual(status, 503)
        self.assertRegex(body.decode(), r"^unhealthy: reload refused at 2\S+: %s has errors" % re.escape(self.config))
        self.assertIn("tandem_healthy 0", self.request("GET", "/metrics")[2].decode())
        harness.write(self.config, config(self.state, self.port, title="Sales + Marketing weekly sync"))
        self.d.reload()
        self.assertEqual(self.request("GET", "/healthz")[:3:2], (200, b"ok\n"))

    def test_slow_client_does_not_block_others(self):
        self.start()
        slow = []
        for _ in range(5):  # several connections trickling a request byte by byte
            s = socket.create_connection(("127.0.0.1", self.port))
            s.sendall(b"GET /feeds/al")
            slow.append(s)
        t = time.monotonic()
        for _ in range(20):
            self.assertEqual(self.request("GET", "/feeds/all.ics")[0], 200)
        self.assertLess(time.monotonic() - t, 5)
        for s in slow:
            s.sendall(b"l")
            s.close()


if __name__ == "__main__":
    harness.main()
