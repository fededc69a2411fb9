"""Shared helpers for the integration tests: running the real tandem binary
with a temporary config and state_dir on the step clock, reading its
ledger, and computing what the contract (README.md) says should happen.

The daemon runs with `--clock START --clock-step` (README "Command
reference"): its clock stands still but for jumps from one of its timers to
the next, and only up to the instant a test gives it with advance(), which
returns once the daemon has got there and is idle (nothing in flight,
nothing due). Time stands still while a request is in flight, and every
request carries the simulated instant it left (X-Tandem-Simulated-Time,
read by sink.py as Request.vtime). So every assertion compares what tandem
decided, on its own clock, and none depends on how fast a loaded machine
answers. Waiting for a process or a file is polling with a timeout, never a
fixed sleep.

Run a test file directly:  /usr/bin/python3 test_formats.py --tandem build/tandem
(or TANDEM=build/tandem). TANDEM_KEEP=1 keeps the temporary directories.
"""

import datetime
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
import zoneinfo

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from sink import Sink  # noqa: E402  (re-exported for the tests)


def free_port():
    """A TCP port on 127.0.0.1 that nothing holds, for a daemon to listen
    on. Taken below the kernel's ephemeral range
    (net.ipv4.ip_local_port_range): the outgoing connections of the tests
    running beside this one take their local ports from that range, and
    one of them could take the port between this check and the daemon's
    bind, and the daemon would fail to listen (the likely cause of one
    failure of integration-http_limits beside integration-soak)."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    for _ in range(1000):
        port = random.randrange(10000, max(low, 10001))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port between 10000 and %d" % low)


TANDEM = os.environ.get("TANDEM")

UTC = datetime.timezone.utc


# ---- time ------------------------------------------------------------

def instant(s):
    """RFC 3339 text -> seconds since the epoch."""
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


def rfc3339(t):
    """Seconds since the epoch -> "2026-03-02T15:00:00Z"."""
    return datetime.datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local(t, zone):
    return datetime.datetime.fromtimestamp(t, UTC).astimezone(zoneinfo.ZoneInfo(zone))


def offset_seconds(text):
    """A configured offset ("15m", "1d2h", "2h") -> seconds."""
    m = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?", text.strip())
    if not m or not any(m.groups()):
        raise ValueError("not an offset: %r" % text)
    d, h, mi = (int(g or 0) for g in m.groups())
    return d * 86400 + h * 3600 + mi * 60


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def when_pattern(start, end, zone):
    """A regex for the start and end of a meeting in a zone as the
    reminder must show them: the local day and month, HH:MM of start and
    end, and the zone's abbreviation (README "Chats"), computed here with
    Python's zoneinfo, independently of the daemon."""
    a, b = local(start, zone), local(end, zone)
    parts = [r"\b%d %s\b" % (a.day, MONTHS[a.month - 1]), re.escape(a.strftime("%H:%M"))]
    if a.tzname() != b.tzname():
        parts.append(re.escape(a.tzname()))
    parts += [re.escape(b.strftime("%H:%M")), re.escape(b.tzname())]
    return r"(?<![\d:])" + r"[^\n]*?".join(parts) + r"(?![\w])"


# ---- polling ---------------------------------------------------------

def wait_until(predicate, timeout, interval=0.02):
    """Polls predicate until it returns something true; returns that, or
    None after timeout seconds (real time)."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


# ---- files -----------------------------------------------------------

def write(path, text):
    """Writes a config atomically (a reload must never read half a file)."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(text).lstrip())
    os.chmod(tmp, 0o600)  # it holds webhook URLs: tandem warns otherwise
    os.replace(tmp, path)


def ini(*sections):
    """Joins config sections, each dedented on its own, so that no line is
    indented by accident (an indented line continues the previous value)."""
    return "\n".join(textwrap.dedent(s).strip() + "\n" for s in sections)


def parse_ics(text):
    """Unfolded lines of the VEVENTs of an iCalendar text, as a dict UID ->
    {property name: value} (first value of each property)."""
    lines = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        if raw.startswith((" ", "\t")) and lines:
            lines[-1] += raw[1:]
        else:
            lines.append(raw)
    events, cur = {}, None
    for line in lines:
        if line == "BEGIN:VEVENT":
            cur = {}
        elif line == "END:VEVENT":
            events[cur.get("UID")] = cur
            cur = None
        elif cur is not None and ":" in line:
            name, value = line.split(":", 1)
            cur.setdefault(name.split(";", 1)[0], value)
    return events


# ---- the ledger --------------------------------------------------------

def simulated(state_dir):
    """Where a daemon on a simulated clock keeps its ledger and feeds: never
    in the real state directory (README "Command reference")."""
    return os.path.join(state_dir, "simulated")


class Ledger:
    """Read-only look at the simulated ledger while the daemon runs."""

    def __init__(self, state_dir):
        self.path = os.path.join(simulated(state_dir), "ledger.sqlite")

    def rows(self, kind="reminder"):
        """The reminders (or the notices of a kind: "cancelled", "moved";
        for those offset_s is what a move announces, 0 for a cancellation)."""
        if not os.path.exists(self.path):
            return []
        con = sqlite3.connect(self.path, timeout=10)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(
                "SELECT meeting, start, offset_s, department, status, attempts, http_status, error, updated, told"
                " FROM reminders WHERE kind = ? ORDER BY start - offset_s, meeting, department", (kind,))]
        except sqlite3.OperationalError:
            return []  # not created yet
        finally:
            con.close()

    def notices(self):
        """Every notice, with its kind."""
        return [dict(r, kind=k) for k in ("cancelled", "moved") for r in self.rows(k)]

    def by_key(self):
        return {(r["meeting"], r["start"], r["offset_s"], r["department"]): r for r in self.rows()}

    def with_status(self, *statuses):
        return [r for r in self.rows() if r["status"] in statuses]


# ---- the daemon ----------------------------------------------------------

READY = re.compile(r"^(<6>(Next reminder|No reminders scheduled)|<4>Unhealthy: )", re.M)
# The feeds are published just after READY, and again after each reload.
PUBLISHED = re.compile(r"^<[0-7]>published \d+ feeds", re.M)
AT = re.compile(r"^<6>clock: at ", re.M)


class Daemon:
    """`tandem -c CONFIG run --clock CLOCK --clock-step`, with stdout and
    stderr going to files in the test's directory and standard input a pipe
    that advance() writes instants to."""

    def __init__(self, test, config, clock, name="daemon", rate=None):
        """rate: a clock running that many times faster than the real one
        (--clock-rate) instead of the step clock; advance() is not for it."""
        self.test = test
        self.rate = rate
        self.config = config
        self.clock = instant(clock) if isinstance(clock, str) else int(clock)
        self.now = self.clock
        self.answered = 0
        base = os.path.join(os.path.dirname(config), name)
        n = 1
        while os.path.exists("%s-%d.err" % (base, n)):
            n += 1
        self.out_path, self.err_path = "%s-%d.out" % (base, n), "%s-%d.err" % (base, n)
        self.proc = None

    def start(self, wait_ready=True, extra_env=None, wrapper=()):
        """wrapper: a command line that runs tandem's (its last words)."""
        out = open(self.out_path, "wb")
        open(self.err_path, "wb").close()
        argv = list(wrapper) + [TANDEM, "-c", self.config, "run", "--clock", rfc3339(self.clock)]
        argv += ["--clock-rate", str(self.rate)] if self.rate else ["--clock-step"]
        env = dict(os.environ, **(extra_env or {}))
        # Standard error through a pipe, copied to the file here: what the
        # daemon logs gets through even when its own writes to files fail
        # (a file-size limit).
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.PIPE, env=env)
        out.close()
        self._copier = threading.Thread(target=self._copy_stderr, daemon=True)
        self._copier.start()
        self.test.addCleanup(self._reap)
        if wait_ready:
            self.wait_ready()
        return self

    def _copy_stderr(self):
        with open(self.err_path, "ab") as f:
            for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):
                f.write(chunk)
                f.flush()

    def _reap(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc and self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if self.proc:
            self._copier.join(10)
            self.proc.stderr.close()

    def wait_ready(self, timeout=30):
        ok = wait_until(lambda: READY.search(self.stderr()) or self.proc.poll() is not None, timeout)
        if self.proc.poll() is not None:
            self.test.fail("tandem exited with %s at start-up:\n%s" % (self.proc.returncode, self.stderr()))
        if not ok:
            self.test.fail("tandem did not become ready in %ss:\n%s" % (timeout, self.stderr()))
        self.wait_published(1, timeout)

    def wait_published(self, count, timeout=30):
        """Until the feeds have been published count times (or tandem exits)."""
        ok = wait_until(lambda: len(PUBLISHED.findall(self.stderr())) >= count or self.proc.poll() is not None,
                        timeout)
        if not ok:
            self.test.fail("tandem did not publish its feeds in %ss:\n%s" % (timeout, self.stderr()))

    def advance(self, to, timeout=120, wait=True):
        """Runs the daemon's clock up to `to` (an instant, RFC 3339 text, or
        "+SECONDS"), and returns once it is there with nothing in flight and
        nothing due. A request still in flight (a slow answer) holds it.
        wait=False returns at once (to act while requests are in flight)."""
        if isinstance(to, str) and to.startswith("+"):
            to = self.now + int(to[1:])
        elif isinstance(to, str):
            to = instant(to)
        to = max(int(to), self.now)
        self.proc.stdin.write(("%s\n" % rfc3339(to)).encode())
        self.proc.stdin.flush()
        self.answered += 1
        n = self.answered
        if not wait:
            self.now = to
            return
        ok = wait_until(lambda: len(AT.findall(self.stderr())) >= n or self.proc.poll() is not None, timeout)
        if self.proc.poll() is not None:
            self.test.fail("tandem exited with %s:\n%s" % (self.proc.returncode, self.stderr()[-5000:]))
        if not ok:
            self.test.fail("tandem's clock did not reach %s in %ss:\n%s" % (rfc3339(to), timeout, self.stderr()[-5000:]))
        self.now = to

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, regex, timeout=30, count=1):
        rx = re.compile(regex, re.M)
        ok = wait_until(lambda: len(rx.findall(self.stderr())) >= count, timeout)
        if not ok:
            self.test.fail("no log line matching %r (x%d) in %ss:\n%s" % (regex, count, timeout, self.stderr()))

    def signal(self, sig):
        self.proc.send_signal(sig)

    def reload(self, timeout=30):
        """SIGHUP, then waits for the reload's outcome in the log."""
        n = len(re.findall(r"^<[0-7]>(reloaded:|reload refused)", self.stderr(), re.M))
        published = len(PUBLISHED.findall(self.stderr()))
        self.signal(signal.SIGHUP)
        self.wait_log(r"^<[0-7]>(reloaded:|reload refused)", timeout=timeout, count=n + 1)
        if re.findall(r"^<[0-7]>(reloaded:|reload refused)", self.stderr(), re.M)[n] == "reloaded:":
            self.wait_published(published + 1, timeout)

    def wait_exit(self, timeout):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._copier.join(10)  # everything it said is in the file
        return rc

    def stop(self, timeout=20):
        """SIGTERM; asserts exit status 0."""
        self.signal(signal.SIGTERM)
        rc = self.wait_exit(timeout)
        self.test.assertIsNotNone(rc, "tandem did not exit within %ss of SIGTERM" % timeout)
        self.test.assertEqual(rc, 0, "tandem exited with %s after SIGTERM:\n%s" % (rc, self.stderr()))

    def kill(self):
        self.proc.kill()
        self.wait_exit(30)

    def log_errors(self):
        """The log lines at priority err or worse."""
        return [l for l in self.stderr().splitlines() if re.match(r"<[0-3]>", l)]


def run_tandem(*args, timeout=30):
    return subprocess.run([TANDEM] + list(args), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def preview(config, start, days):
    """`tandem preview --json` from an instant."""
    p = run_tandem("-c", config, "preview", "--from", rfc3339(start) if isinstance(start, int) else start,
                   "--days", str(days), "--json")
    if p.returncode != 0:
        raise AssertionError("tandem preview failed (%d): %s" % (p.returncode, p.stderr))
    return json.loads(p.stdout)


def predicted_reminders(occurrences):
    """(meeting, start, offset seconds, department) -> (due, before text)
    for every reminder of every occurrence in a preview (a cancelled one has
    none). A moved occurrence's reminders are keyed by its original start
    (README "Holidays and changes"), and fall due before its new one."""
    out = {}
    for o in occurrences:
        start = instant(o.get("original_start") or o["start"])
        for r in o["reminders"]:
            for d in o["departments"]:
                out[(o["meeting"], start, offset_seconds(r["before"]), d)] = (instant(r["at"]), r["before"])
    return out


LATE = 60  # seconds: a reminder more late than this is a catch-up


def catch_up(predicted, now):
    """What README "Delivery guarantees" says becomes of the predicted
    reminders (predicted_reminders()) whose meeting starts after `now`, when
    tandem starts at `now` on a new ledger: key -> "sent" or "superseded".
    Of an occurrence's reminders more than a minute overdue only the latest
    is sent, and not even that one when the next reminder's offset is at
    least half the time left."""
    groups = {}
    for k, (due, _) in predicted.items():
        if k[1] > now:
            groups.setdefault((k[0], k[1], k[3]), []).append((due, k))
    out = {}
    for (_, start, _), items in groups.items():
        items.sort()
        late = [k for due, k in items if now - due > LATE]
        upcoming = [k for due, k in items if due > now]
        for k in late[:-1]:
            out[k] = "superseded"
        if late:
            nxt = max((k[2] for k in upcoming), default=None)
            out[late[-1]] = "superseded" if nxt is not None and 2 * nxt >= start - now else "sent"
        for due, k in items:
            if k not in out:
                out[k] = "sent"
    return out


class TestCase(unittest.TestCase):
    """A test with its own temporary directory and webhook sink."""

    def setUp(self):
        if not TANDEM or not os.access(TANDEM, os.X_OK):
            self.fail("set TANDEM or pass --tandem PATH to the tandem binary (got %r)" % TANDEM)
        self.dir = tempfile.mkdtemp(prefix="tandem-it-%s-" % self._testMethodName)
        if not os.environ.get("TANDEM_KEEP"):
            self.addCleanup(shutil.rmtree, self.dir, True)
        else:
            print("\nkeeping", self.dir, file=sys.stderr)
        self.state = os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "tandem.ini")
        self.sink = Sink().start()
        self.addCleanup(self.sink.stop)

    def daemon(self, clock, start=True, name="daemon", rate=None):
        d = Daemon(self, self.config, clock, name=name, rate=rate)
        return d.start() if start else d

    def feed_dir(self):
        """Where a simulated run writes its feeds."""
        return os.path.join(simulated(self.state), "feeds")

    def assertWithin(self, value, low, high, msg=""):
        self.assertTrue(low <= value <= high, "%s: %r not in [%r, %r]" % (msg, value, low, high))


def main():
    global TANDEM
    argv = list(sys.argv)
    if "--tandem" in argv:
        i = argv.index("--tandem")
        TANDEM = os.path.abspath(argv[i + 1])
        del argv[i:i + 2]
    if TANDEM:
        os.environ["TANDEM"] = TANDEM
    unittest.main(module="__main__", argv=argv, verbosity=2)
