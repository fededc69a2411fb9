"""Delivery against a misbehaving chat (README "Delivery guarantees"): 5xx and network
errors are retried with exponential backoff, 429 waits for Retry-After (or
Discord's retry_after), other 4xx fail at once and are never retried, a
reminder is given up when its meeting starts, and one webhook URL gets at
most one request a second."""

import harness
from harness import instant

DUE = instant("2026-03-02T09:45:00Z")  # 15 minutes before the 10:00 meeting


def config(sink, state_dir, departments, time="10:00", remind="15m", meetings=("m",)):
    """departments: {id: (chat, hook path)}; every meeting has them all."""
    parts = ["""
        [tandem]
        timezone = UTC
        state_dir = %s
        listen = off
        """ % state_dir]
    for id_, (chat, path) in departments.items():
        parts.append("[department:%s]\nchat = %s\n" % (id_, chat) +
                     ("webhook = %s\n" % sink.hook(path) if path else ""))
    for m in meetings:
        parts.append("""
            [meeting:%s]
            title = Meeting %s
            departments = %s
            day = monday
            time = %s
            start = 2026-03-02
            remind = %s
            """ % (m, m, ", ".join(departments), time, remind))
    return harness.ini(*parts)


class Delivery(harness.TestCase):

    def gaps(self, path):
        """The spans between consecutive requests to a path, on the
        daemon's clock (when each left)."""
        t = [r.vtime for r in self.sink.requests(path)]
        return [b - a for a, b in zip(t, t[1:])]

    def test_retries(self):
        depts = {
            "fail": ("generic", "/fail/3/fail"),
            "ratelimit": ("slack", "/ratelimit/20/ratelimit"),
            "ratedate": ("slack", "/ratelimitdate/20/ratedate"),
            "discord": ("discord", "/discord429/6/discord"),
            "notfound": ("slack", "/notfound/notfound"),
            "reset": ("mattermost", "/reset/2/reset"),
            "toolate": ("slack", "/ratelimit/3600/toolate"),
            "huge": ("slack", "/ratelimit/99999999999999999999/huge"),
            "hugediscord": ("discord", "/discord429/1e300/hugediscord"),
        }
        harness.write(self.config, config(self.sink, self.state, depts))
        daemon = self.daemon(DUE - 5)
        ledger = harness.Ledger(self.state)
        # Long enough for every retry, and for a wrong retry of the 404 to show.
        daemon.advance(DUE + 120)
        self.assertEqual(len(ledger.with_status("sent", "failed")), len(depts),
                         "not every reminder reached an outcome: %r\n%s" % (ledger.rows(), daemon.stderr()))
        daemon.stop()
        rows = {r["department"]: r for r in ledger.rows()}

        # 500, 500, 500, then 200: delivered once, after three backoffs of
        # 2 s, 4 s, 8 s with jitter (never less than half of each).
        reqs = self.sink.requests("/fail/3/fail")
        self.assertEqual(len(reqs), 4)
        self.assertEqual(rows["fail"]["status"], "sent")
        self.assertEqual(rows["fail"]["attempts"], 4)
        self.assertEqual(rows["fail"]["http_status"], 200)
        self.assertEqual(reqs[0].vtime, DUE, "sent when due, to the microsecond")
        g = self.gaps("/fail/3/fail")
        self.assertWithin(g[0], 1, 2, "first backoff")
        self.assertWithin(g[1], 2, 4, "second backoff")
        self.assertWithin(g[2], 4, 8, "third backoff")
        self.assertEqual(len({r.body for r in reqs}), 1, "a retry must post the same message")

        # 429 + "Retry-After: 20": the next try not before 20 s have passed
        # (a backoff alone would retry after 1-2 s).
        self.assertEqual(len(self.sink.requests("/ratelimit/20/ratelimit")), 2)
        self.assertEqual(self.gaps("/ratelimit/20/ratelimit")[0], 20, "Retry-After: 20")
        self.assertEqual((rows["ratelimit"]["status"], rows["ratelimit"]["attempts"]), ("sent", 2))
        # The same as an HTTP-date (one-second resolution).
        self.assertEqual(len(self.sink.requests("/ratelimitdate/20/ratedate")), 2)
        # An HTTP-date has a one-second resolution; it is read against
        # tandem's clock, not the machine's.
        self.assertWithin(self.gaps("/ratelimitdate/20/ratedate")[0], 19, 20, "Retry-After: date")
        self.assertEqual(rows["ratedate"]["status"], "sent")

        # Discord: 429 with {"retry_after": 6} in the body and no header.
        self.assertEqual(len(self.sink.requests("/discord429/6/discord")), 2)
        self.assertEqual(self.gaps("/discord429/6/discord")[0], 6, "Discord retry_after")
        self.assertEqual((rows["discord"]["status"], rows["discord"]["http_status"]), ("sent", 204))

        # 404: one request, failed with the status, never retried, and
        # logged once as an error.
        self.assertEqual(len(self.sink.requests("/notfound/notfound")), 1)
        r = rows["notfound"]
        self.assertEqual((r["status"], r["http_status"], r["attempts"]), ("failed", 404, 1))
        self.assertIn("404", r["error"] or "")
        lines = [l for l in daemon.stderr().splitlines() if "m/notfound" in l]
        self.assertEqual(len([l for l in lines if l.startswith("<3>")]), 1, lines)
        self.assertEqual(len(lines), 1, "a permanent failure is logged once: %r" % lines)

        # Connection reset without an answer, twice: a network error, retried.
        # (libcurl itself retries once, on a fresh connection, when a
        # reused keep-alive connection dies before any answer, so the
        # daemon may have needed only two attempts for the three requests.)
        self.assertEqual(len(self.sink.requests("/reset/2/reset")), 3)
        self.assertEqual(rows["reset"]["status"], "sent")
        self.assertWithin(rows["reset"]["attempts"], 2, 3, "attempts after two resets")
        self.assertGreaterEqual(sum(self.gaps("/reset/2/reset")), 1, "retried without a backoff")

        # Retry-After beyond the meeting's start: no point waiting.
        self.assertEqual(len(self.sink.requests("/ratelimit/3600/toolate")), 1)
        self.assertEqual((rows["toolate"]["status"], rows["toolate"]["http_status"]), ("failed", 429))
        # Absurd delays (beyond any integer) are the same: no overflow into
        # an immediate retry.
        for dept, path in (("huge", "/ratelimit/99999999999999999999/huge"),
                           ("hugediscord", "/discord429/1e300/hugediscord")):
            self.assertEqual(len(self.sink.requests(path)), 1, dept)
            self.assertEqual((rows[dept]["status"], rows[dept]["http_status"]), ("failed", 429), dept)

        for r in rows.values():
            self.assertEqual((r["meeting"], r["start"], r["offset_s"]), ("m", DUE + 900, 900))

    def test_give_up_at_meeting_start(self):
        """A webhook that always answers 500: retried with growing backoff
        until the meeting starts, then recorded as failed; nothing after."""
        start = instant("2026-03-02T10:00:00Z")
        due = start - 300
        harness.write(self.config, config(self.sink, self.state, {"a": ("generic", "/fail/1000000/a"),
                                                                  "b": ("console", None)}, remind="5m"))
        daemon = self.daemon(due - 2)
        ledger = harness.Ledger(self.state)
        daemon.advance(start + 120)  # nothing may come after the start
        self.assertTrue(any(r["status"] == "failed" for r in ledger.rows()),
                        "never gave up: %r\n%s" % (ledger.rows(), daemon.stderr()))
        daemon.stop()
        row = ledger.by_key()[("m", start, 300, "a")]
        reqs = self.sink.requests("/fail/1000000/a")
        self.assertEqual(row["status"], "failed")
        self.assertEqual(row["http_status"], 500)
        self.assertEqual(row["attempts"], len(reqs), "every request is recorded as an attempt")
        self.assertLessEqual(row["updated"], start, "recorded as failed at the latest when the meeting starts")
        g = self.gaps("/fail/1000000/a")
        self.assertTrue(all(x >= 1 for x in g), "pacing: %r" % g)
        # Exponential: a few attempts spread over the five minutes, the last
        # backoff long (2+4+...+128 s); not one a second until the start.
        self.assertWithin(len(reqs), 6, 12, "attempts in 5 minutes")
        self.assertGreaterEqual(max(g), 32, g)
        self.assertLess(reqs[-1].vtime, start, "a request after the meeting started")

    def test_pacing(self):
        """Three departments share one channel's webhook and have two
        meetings at the same time: six requests at one instant go out one
        a second; another URL is not held up by them."""
        harness.write(self.config, config(self.sink, self.state, {
            "a": ("slack", "/ok/shared"), "b": ("slack", "/ok/shared"), "c": ("generic", "/ok/shared"),
            "d": ("slack", "/ok/own")}, meetings=("m1", "m2")))
        daemon = self.daemon(DUE - 3)
        daemon.advance(DUE + 60)
        daemon.stop()
        g = self.gaps("/ok/shared")
        self.assertEqual(len(g), 5)
        # One a second exactly: the pacing starts from each answer, and the
        # clock stands still while a request is in flight.
        self.assertEqual(g, [1.0] * 5, "pacing of one URL")
        # /ok/own's two requests are paced too, but not queued behind the
        # shared URL's six.
        own = self.sink.requests("/ok/own")
        self.assertEqual([r.vtime for r in own], [DUE, DUE + 1], "one URL's queue held up another's")
        rows = harness.Ledger(self.state).rows()
        self.assertEqual(len(rows), 8)
        self.assertTrue(all(r["status"] == "sent" and r["attempts"] == 1 for r in rows), rows)

    def test_connections_reused(self):
        """Forty webhooks on one host, all due at once, twice: they share
        at most 16 connections (CURLLOOP_HOST_CONNECTIONS), and the second
        round goes over the connections the first one opened. The 24 that
        wait for a place (parked in deliver.c, not handed to libcurl) go
        out once each, on the first try."""
        hooks = {"d%02d" % i: ("generic", "/ok/d%02d" % i) for i in range(40)}
        later = ("\n[meeting:m2]\ntitle = Meeting m2\ndepartments = %s\nday = monday\ntime = 10:05\n"
                 "start = 2026-03-02\nremind = 15m\n" % ", ".join(hooks))
        harness.write(self.config, config(self.sink, self.state, hooks, meetings=("m1",)) + later)
        daemon = self.daemon(DUE - 3)
        daemon.advance(DUE + 5 * 60 + 60)
        daemon.stop()
        reqs = self.sink.requests()
        self.assertEqual(len(reqs), 80)
        first = {r.client for r in reqs if r.vtime < DUE + 300}
        second = {r.client for r in reqs if r.vtime >= DUE + 300}
        self.assertLessEqual(len(first), 16, "connections to one host at once")
        self.assertTrue(second <= first, "the second round opened new connections: %r" % (second - first))
        self.assertEqual(sorted(r.path for r in reqs), sorted(["/ok/d%02d" % i for i in range(40)] * 2))
        self.assertTrue(all(r.vtime in (DUE, DUE + 300) for r in reqs), "a request waited on the simulated clock")
        rows = harness.Ledger(self.state).rows()
        self.assertEqual(len(rows), 80)
        self.assertTrue(all(r["status"] == "sent" and r["attempts"] == 1 for r in rows), rows)

    def test_parked_given_up_at_meeting_start(self):
        """Eighty webhooks on one host that answers in 0.3 s, all due a
        minute before the meeting, on a clock 60 times the real one: 16 go
        out at a time, the others wait their turn (parked), and those whose
        turn comes after the meeting started are given up, not sent late.
        A wave lasts at least 0.3 s, 18 s of the daemon's clock, so the
        fifth cannot leave before the meeting, however fast the machine (the
        step clock cannot show it: it stands still while requests are in
        flight)."""
        hooks = {"d%02d" % i: ("generic", "/slow/300/d%02d" % i) for i in range(80)}
        harness.write(self.config, config(self.sink, self.state, hooks, remind="1m"))
        start = instant("2026-03-02T10:00:00Z")
        # Started four minutes (4 s) before the reminders fall due: a slow
        # start-up (ASan, a loaded machine) still loads them before the
        # meeting starts.
        daemon = self.daemon(start - 300, rate=60)
        ledger = harness.Ledger(self.state)
        done = harness.wait_until(lambda: len(ledger.rows()) == 80 and not ledger.with_status("sending"), 120)
        daemon.stop()
        self.assertTrue(done, ledger.rows())
        reqs = self.sink.requests()
        self.assertEqual([r.vtime - start for r in reqs if r.vtime >= start], [],
                         "requests that left after the meeting started (seconds after)")
        sent, failed = ledger.with_status("sent"), ledger.with_status("failed")
        self.assertEqual(len(sent) + len(failed), 80)
        self.assertEqual(len(sent), len(reqs))
        self.assertLessEqual(len(sent), 64, "more waves than fit before the meeting")
        self.assertTrue(any("deadline" in (r["error"] or "") for r in failed), failed)


if __name__ == "__main__":
    harness.main()
