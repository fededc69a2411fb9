"""The feed server under abuse and misconfiguration (README "The feed
server"): slow clients trickling requests from many loopback addresses
must not keep /healthz from answering, a client gets a fixed time for a
whole request, refusals at the connection limits are counted and their log
lines summed up, a busy port gives one clear message, and a second daemon
cannot share the port.

Times asserted are tandem's own: the request deadline
(HTTP_REQUEST_TIMEOUT_SEC in daemon/http.h, documented in the README) is a
lower bound that holds on any machine; upper bounds add a margin of one
more deadline for a loaded machine."""

import http.client
import os
import re
import select
import signal
import socket
import threading
import time

import harness
from test_http import CLOCK, config, free_port

DEADLINE = 5  # seconds: HTTP_REQUEST_TIMEOUT_SEC
MARGIN = DEADLINE
CONNECTION_LIMIT = 512
PER_IP_LIMIT = 32


class Trickler:
    """Connections that each send the start of a request and then one more
    header byte every half second, for as long as the server keeps them;
    records when the server closed each (seen as end of stream or reset)."""

    def __init__(self):
        self.conns = []  # [socket, opened (before connect), closed or None]
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def open(self, port, source, head=b"GET /feeds/all.ics HTTP/1.1\r\nHost: tandem\r\nX-Slow: "):
        opened = time.monotonic()
        s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
        s.setblocking(False)
        s.send(head)
        with self.lock:
            self.conns.append([s, opened, None])
        return s

    def adopt(self, s, opened):
        """A connection that already sent requests of its own."""
        s.setblocking(False)
        with self.lock:
            self.conns.append([s, opened, None])

    def start(self):
        self.thread.start()
        return self

    def _closed(self, c):
        c[2] = time.monotonic()
        c[0].close()

    def _run(self):
        poller, by_fd = select.poll(), {}
        next_byte = time.monotonic()
        while not self.stop.is_set():
            with self.lock:
                for c in self.conns:
                    if c[2] is None and c[0].fileno() not in by_fd:
                        by_fd[c[0].fileno()] = c
                        poller.register(c[0].fileno(), select.POLLIN)
            for fd, _ in poller.poll(50):
                c = by_fd.pop(fd)
                poller.unregister(fd)
                try:
                    if c[0].recv(65536):
                        by_fd[fd] = c  # an answer: not what a trickler gets
                        poller.register(fd, select.POLLIN)
                        continue
                except OSError:
                    pass
                self._closed(c)
            if time.monotonic() >= next_byte:
                next_byte += 0.5
                for fd, c in list(by_fd.items()):
                    try:
                        c[0].send(b"a")
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        by_fd.pop(fd)
                        poller.unregister(fd)
                        self._closed(c)

    def open_count(self):
        with self.lock:
            return sum(1 for c in self.conns if c[2] is None)

    def close(self):
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        for c in self.conns:
            if c[2] is None:
                c[0].close()


class Limits(harness.TestCase):

    def start(self, port=None, name="daemon", state=None, path=None):
        self.port = port or free_port()
        path = path or self.config
        harness.write(path, config(state or self.state, self.port))
        return harness.Daemon(self, path, CLOCK, name=name).start()

    def request(self, method, path, timeout=10, source="127.0.0.1", headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout, source_address=(source, 0))
        try:
            c.request(method, path, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def metric(self, name):
        text = self.request("GET", "/metrics")[1].decode()
        m = re.search(r"(?m)^%s (\d+)$" % name, text)
        self.assertIsNotNone(m, name)
        return int(m.group(1))

    def trickler(self):
        t = Trickler()
        self.addCleanup(t.close)
        return t

    def test_trickling_clients_do_not_starve_healthz(self):
        d = self.start()
        t = self.trickler().start()
        # 17 addresses x 31 connections: each address under its limit, all
        # of them over the server's, so the last ones wait to be accepted.
        addresses = ["127.0.0.%d" % i for i in range(2, 19)]
        for a in addresses:
            for _ in range(PER_IP_LIMIT - 1):
                t.open(self.port, a)
        n = len(addresses) * (PER_IP_LIMIT - 1)
        self.assertGreater(n, CONNECTION_LIMIT)

        # /healthz waits in the accept queue until the deadline frees slots.
        t0 = time.monotonic()
        status, body = self.request("GET", "/healthz", timeout=DEADLINE + MARGIN)
        self.assertEqual((status, body), (200, b"ok\n"))
        self.assertLess(time.monotonic() - t0, DEADLINE + MARGIN)

        # Every trickler is cut off, none before its deadline: the ones
        # accepted late one deadline later.
        harness.wait_until(lambda: t.open_count() == 0, 2 * DEADLINE + MARGIN)
        self.assertEqual(t.open_count(), 0, "tricklers still connected")
        lifetimes = [c[2] - c[1] for c in t.conns]
        self.assertGreaterEqual(min(lifetimes), DEADLINE)
        self.assertLess(sorted(lifetimes)[CONNECTION_LIMIT // 2], DEADLINE + MARGIN,
                        "most tricklers should go one deadline after they came")
        self.assertEqual(self.metric("tandem_http_request_timeouts_total"), n)
        self.assertEqual(self.metric("tandem_http_connections_refused_total"), 0)
        self.assertEqual(self.request("GET", "/feeds/all.ics")[0], 200)
        # A few log lines, not one per connection.
        d.stop()
        log = d.stderr()
        lines = [l for l in log.splitlines() if re.match(r"<\d>http: ", l)]
        self.assertLessEqual(len(lines), 4, "\n".join(lines))
        self.assertRegex(log, r"(?m)^<6>http: closed a connection from 127\.0\.0\.\d+ that sent no complete request "
                              r"within %d s" % DEADLINE)
        summed = sum(int(x) for x in re.findall(r"http: (\d+) more connections closed for not sending a whole request in time", log))
        self.assertEqual(summed + 1, n)

    def test_kept_alive_connection_has_the_same_deadline(self):
        self.start()
        t = self.trickler()
        opened = time.monotonic()
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        f = s.makefile("rb")
        # Two whole requests on one connection are answered: keep-alive works.
        for _ in range(2):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: tandem\r\n\r\n")
            self.assertEqual(f.readline(), b"HTTP/1.1 200 OK\r\n")
            length = 0
            while True:
                line = f.readline()
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                if line == b"\r\n":
                    break
            self.assertEqual(f.read(length), b"ok\n")
        # Then a trickled third one: cut, as on a new connection.
        answered = time.monotonic()
        s.sendall(b"GET /feeds/all.ics HTTP/1.1\r\nX-Slow: ")
        t.adopt(s, opened)
        t.start()
        harness.wait_until(lambda: t.open_count() == 0, DEADLINE + MARGIN)
        self.assertEqual(t.open_count(), 0, "the trickled request was not cut off")
        self.assertGreaterEqual(t.conns[0][2] - opened, DEADLINE)
        self.assertLess(t.conns[0][2] - answered, DEADLINE + MARGIN)

    def test_refusals_are_counted_and_summed_up(self):
        d = self.start()
        # One address at its limit; the next 8 from it are refused at once.
        held = [socket.create_connection(("127.0.0.1", self.port), source_address=("127.0.0.20", 0))
                for _ in range(PER_IP_LIMIT)]
        refused = [socket.create_connection(("127.0.0.1", self.port), source_address=("127.0.0.20", 0))
                   for _ in range(8)]
        self.addCleanup(lambda: [s.close() for s in held + refused])
        harness.wait_until(lambda: self.metric("tandem_http_connections_refused_total") >= 8, DEADLINE)
        self.assertEqual(self.metric("tandem_http_connections_refused_total"), 8)
        for s in refused:
            s.settimeout(DEADLINE)
            try:
                self.assertEqual(s.recv(1), b"")
            except ConnectionResetError:
                pass
        # Other addresses are still served.
        self.assertEqual(self.request("GET", "/healthz", source="127.0.0.21")[0], 200)
        # One line at once, the rest summed up (here: at the stop).
        log = d.stderr()
        self.assertEqual(len(re.findall(r"(?m)^<4>http: refused a connection over the limits \(512 connections, "
                                        r"32 per client address\)", log)), 1, log)
        self.assertNotIn("Server reached connection limit", log)
        d.stop()
        self.assertRegex(d.stderr(), r"(?m)^<4>http: 7 more connections refused over the limits \(in the last \d+ s\)$")

    def test_busy_port_gives_one_clear_message(self):
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        harness.write(self.config, config(self.state, port))
        d = harness.Daemon(self, self.config, CLOCK).start(wait_ready=False)
        self.assertEqual(d.wait_exit(10), 1)
        errors = d.log_errors()
        self.assertEqual(len(errors), 1, d.stderr())
        self.assertRegex(errors[0], r"^<3>cannot listen on 127\.0\.0\.1:%d: Address already in use; another program, "
                                    r"or another tandem, has that port .*listen = " % port)
        self.assertNotIn("Failed to bind", d.stderr())

    def test_second_daemon_cannot_share_the_port(self):
        first = self.start()
        other = os.path.join(self.dir, "other")
        os.mkdir(other)
        second = harness.Daemon(self, os.path.join(other, "tandem.ini"), CLOCK, name="second")
        harness.write(second.config, config(os.path.join(other, "state"), self.port))
        second.start(wait_ready=False)
        self.assertEqual(second.wait_exit(10), 1, "a second daemon bound the same port:\n" + second.stderr())
        self.assertIn("cannot listen on 127.0.0.1:%d: Address already in use" % self.port, second.stderr())
        self.assertEqual(self.request("GET", "/healthz")[0], 200)
        # A restart binds at once, though the server closed a connection
        # just before (its side is in TIME_WAIT).
        self.assertEqual(self.request("GET", "/healthz", headers={"Connection": "close"})[0], 200)
        first.stop()
        self.start(port=self.port, name="restarted")
        self.assertEqual(self.request("GET", "/healthz")[0], 200)


if __name__ == "__main__":
    harness.main()
