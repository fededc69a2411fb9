"""A webhook sink for the integration tests: an HTTP server on 127.0.0.1
(an ephemeral port) in a thread, recording every request and answering
according to its path.

Behaviours, chosen by the path (the last segment only names the hook, so
every department can have its own URL and its own counters):

  /ok/<name>                 200 {"ok": true}; /ok/teams... answers 202 with
                             an empty body, like a Teams Workflows webhook
  /teams/<name>              202, empty body
  /fail/<n>/<name>           500 for the first n requests, then 200
  /ratelimit/<secs>/<name>   first 429 with "Retry-After: <secs>", then 200
  /ratelimitdate/<secs>/<name>  the same with Retry-After as an HTTP-date
  /discord429/<name>         first 429 with {"retry_after": 1.5} and no
                             Retry-After header, then 204
  /discord429/<secs>/<name>  the same with {"retry_after": <secs>}
  /notfound/<name>           404 always
  /slow/<ms>/<name>          sleeps <ms> milliseconds, then 200
  /slowfirst/<ms>/<name>     the first request sleeps <ms>, the others not
  /slowfail/<ms>/<n>/<name>  the first n requests sleep <ms>, then get 503;
                             later ones 200 at once
  /hold/<n>/<name>           the n-th request waits until release(path) is
                             called (or the sink stops), then 200; the others
                             200 at once: a request surely in flight
  /holdfail/<n>/<name>       the same, but the held request then gets 503
  /reset/<name>              closes the connection without an answer, always
  /reset/<n>/<name>          the same for the first n requests, then 200
  /chaos/<seed>/<name>       fails at random, from a random.Random seeded with
                             "<seed>/<path>" (so each hook's sequence of answers,
                             by request number, is the same in every run with
                             that seed): 500 (8%), 429 with Retry-After of 30 to
                             900 s (6%), a connection reset (5%), a 503 after
                             CHAOS_SLOW_S seconds, longer than tandem's request
                             timeout (2 s real under the step clock) (2%);
                             otherwise 200. Never a 2xx after a delay, so
                             that a request tandem gave up on was not delivered.
  anything else              404

Counters are per full path, so two departments on /fail/2/a and /fail/2/b
fail independently.
"""

import datetime
import email.utils
import json
import random
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def simulated_time(value):
    """X-Tandem-Simulated-Time ("2026-03-02T09:45:00.250000Z") -> seconds."""
    if not value:
        return None
    dt = datetime.datetime.strptime(value.strip(), "%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.replace(tzinfo=datetime.timezone.utc).timestamp()


class Request:
    """One recorded request. `time` is time.monotonic() when the body had
    been read, i.e. when the sink had the whole request; `vtime` the
    instant it left on the daemon's simulated clock (its
    X-Tandem-Simulated-Time header), None without one."""

    def __init__(self, method, path, headers, body, received):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.time = received
        self.vtime = simulated_time(self.header("X-Tandem-Simulated-Time"))
        # The answer given: an HTTP status, "reset", or None (none yet, or
        # the behaviour wrote nothing). Set before the answer is written.
        self.status = None
        # "500", "429", "reset", "slow" or "ok" for /chaos/ requests.
        self.chaos = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_text(self, name):
        """A header as text: Python reads header bytes as Latin-1; ntfy and
        others take raw UTF-8, or an RFC 2047 encoded-word."""
        v = self.header(name)
        if v is None:
            return None
        try:
            v = v.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
        if v.startswith("=?"):
            from email.header import decode_header, make_header
            v = str(make_header(decode_header(v)))
        return v

    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "Request(%s %s, %d bytes)" % (self.method, self.path, len(self.body))


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1, so that the sink answers "Expect: 100-continue" at once
    # (libcurl sends it for larger bodies and would otherwise wait a second)
    # and keeps connections alive as chat services do.
    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes; with Nagle's algorithm the body
    # would wait for the client's delayed ACK (40 ms), which on a fast
    # virtual clock is an hour.
    disable_nagle_algorithm = True
    _req = None  # the Request being answered

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_PUT(self):
        self._handle()

    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = b""
        while len(body) < n:
            chunk = self.rfile.read(n - len(body))
            if not chunk:
                break
            body += chunk
        return body

    def _answer(self, status, body=b"", headers=()):
        if self._req is not None:
            self._req.status = status
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _handle(self):
        sink = self.server.sink
        body = self._read_body()
        path = self.path.split("?", 1)[0]
        req = Request(self.command, self.path, list(self.headers.items()), body, time.monotonic())
        nth = sink._record(path, req)  # 1 for the first request on this path
        parts = [p for p in path.split("/") if p]
        kind = parts[0] if parts else ""
        self._req = req
        try:
            self._behave(kind, parts, nth, path, req)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a stopping daemon); nothing to answer

    def _json(self, status, obj, headers=()):
        self._answer(status, json.dumps(obj).encode(), [("Content-Type", "application/json")] + list(headers))

    def _reset(self):
        """Closes the connection with an RST and no answer."""
        self._req.status = "reset"
        self.close_connection = True
        try:
            # An RST rather than an orderly close: what a crashed
            # proxy or a dropped connection looks like.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _behave(self, kind, parts, nth, path, req):
        if kind == "chaos" and len(parts) >= 3:
            x, retry_after = self.server.sink._chaos_draw(parts[1], path)
            if x < 0.08:
                req.chaos = "500"
                self._json(500, {"error": "internal error, try again"})
            elif x < 0.14:
                req.chaos = "429"
                self._json(429, {"error": "slow down"}, [("Retry-After", str(retry_after))])
            elif x < 0.19:
                req.chaos = "reset"
                self._reset()
            elif x < 0.21:
                req.chaos = "slow"
                time.sleep(CHAOS_SLOW_S)
                self._json(503, {"error": "overloaded"})
            else:
                req.chaos = "ok"
                self._json(200, {"ok": True})
        elif kind == "ok":
            if len(parts) > 1 and parts[1].startswith("teams"):
                self._answer(202)
            else:
                self._json(200, {"ok": True})
        elif kind == "teams":
            self._answer(202)
        elif kind == "fail" and len(parts) >= 3:
            if nth <= int(parts[1]):
                self._json(500, {"error": "internal error, try again"})
            else:
                self._json(200, {"ok": True})
        elif kind == "ratelimit" and len(parts) >= 3:
            if nth == 1:
                self._json(429, {"error": "slow down"}, [("Retry-After", parts[1])])
            else:
                self._json(200, {"ok": True})
        elif kind == "ratelimitdate" and len(parts) >= 3:
            if nth == 1:
                # The date on the daemon's clock, as a server in sync with it
                # would write it.
                now = req.vtime if req.vtime is not None else time.time()
                when = email.utils.formatdate(now + int(parts[1]), usegmt=True)
                self._json(429, {"error": "slow down"}, [("Retry-After", when)])
            else:
                self._json(200, {"ok": True})
        elif kind == "discord429":
            secs = float(parts[1]) if len(parts) >= 3 else 1.5
            if nth == 1:
                # Discord: the delay in the body only (seconds, as a float).
                self._json(429, {"message": "You are being rate limited.", "retry_after": secs, "global": False})
            else:
                self._answer(204)
        elif kind == "notfound":
            self._json(404, {"message": "Unknown Webhook", "code": 10015})
        elif kind == "slow" and len(parts) >= 3:
            time.sleep(int(parts[1]) / 1000.0)
            self._json(200, {"ok": True})
        elif kind == "slowfirst" and len(parts) >= 3:
            if nth == 1:
                time.sleep(int(parts[1]) / 1000.0)
            self._json(200, {"ok": True})
        elif kind == "slowfail" and len(parts) >= 4:
            if nth <= int(parts[2]):
                time.sleep(int(parts[1]) / 1000.0)
                self._json(503, {"error": "overloaded"})
            else:
                self._json(200, {"ok": True})
        elif kind in ("hold", "holdfail") and len(parts) >= 3:
            if nth == int(parts[1]):
                self.server.sink._held(path).wait()
                if kind == "holdfail":
                    self._json(503, {"error": "overloaded"})
                    return
            self._json(200, {"ok": True})
        elif kind == "reset":
            limit = int(parts[1]) if len(parts) >= 3 else None
            if limit is None or nth <= limit:
                self._reset()
                return
            self._json(200, {"ok": True})
        else:
            self._json(404, {"error": "no such hook"})


# How long a /chaos/ "slow" answer takes: longer than tandem's request
# timeout under the step clock (2 s real; see daemon/clock.c).
CHAOS_SLOW_S = 2.2


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops the SYNs of a burst, and
    # the client's retransmission a second later would look like slowness.
    request_queue_size = 128

    def handle_error(self, request, client_address):
        pass  # a client that went away mid-answer is not the sink's problem


class Sink:
    """Start with start() (or as a context manager); base URL in .url."""

    def __init__(self):
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._requests = []
        self._counts = {}
        self._chaos = {}
        self._holds = {}
        self._server = None
        self._thread = None

    def start(self):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sink = self
        self.port = self._server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def _held(self, path):
        with self._lock:
            return self._holds.setdefault(path, threading.Event())

    def release(self, path):
        """Lets a request held by /hold/ or /holdfail/ answer."""
        self._held(path).set()

    def stop(self):
        with self._lock:
            for e in self._holds.values():
                e.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _record(self, path, req):
        with self._cond:
            self._requests.append(req)
            n = self._counts.get(path, 0) + 1
            self._counts[path] = n
            self._cond.notify_all()
            return n

    def _chaos_draw(self, seed, path):
        """The next draw of a /chaos/ path's own generator: (a number in
        [0, 1), a Retry-After in seconds)."""
        with self._lock:
            rng = self._chaos.get(path)
            if rng is None:
                rng = self._chaos[path] = random.Random("%s/%s" % (seed, path))
            return rng.random(), rng.randint(30, 900)

    def hook(self, path):
        """The full URL of a path on this sink."""
        return self.url + path

    def requests(self, path=None):
        """Every request so far, in arrival order; only those to `path`
        (exact, without query) if given."""
        with self._lock:
            reqs = list(self._requests)
        if path is None:
            return reqs
        return [r for r in reqs if r.path.split("?", 1)[0] == path]

    def wait(self, predicate, timeout):
        """Waits until predicate(list of all requests) is true; returns
        whether it became true within timeout seconds (real time)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(list(self._requests)):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
            return True

    def wait_count(self, n, timeout, path=None):
        """Waits for at least n requests (to `path` if given)."""
        if path is None:
            return self.wait(lambda rs: len(rs) >= n, timeout)
        return self.wait(lambda rs: sum(1 for r in rs if r.path.split("?", 1)[0] == path) >= n, timeout)


if __name__ == "__main__":
    # Manual use: python3 sink.py, then point a department's webhook at it.
    with Sink() as s:
        print("sink listening on", s.url, flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            for r in s.requests():
                print(r.method, r.path, r.body[:200])
