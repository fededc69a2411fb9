"""Shared helpers for the integration tests: running the real tandem binary
with a temporary config and state_dir on the virtual clock, reading its
ledger, and computing what the contract (SPEC.md) says should happen.

Waiting is always polling with a timeout, never a fixed sleep. Time on the
daemon's virtual clock is linear in real (monotonic) time, so a span
measured between two requests at the sink, times the clock rate, is the
span on the daemon's clock: lower bounds ("not before Retry-After") are
exact whatever the rate; upper bounds get a little slack.

Run a test file directly:  /usr/bin/python3 test_formats.py --tandem build/tandem
(or TANDEM=build/tandem). TANDEM_KEEP=1 keeps the temporary directories.
"""

import datetime
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import zoneinfo

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from sink import Sink  # noqa: E402  (re-exported for the tests)

TANDEM = os.environ.get("TANDEM")

UTC = datetime.timezone.utc


# ---- time ------------------------------------------------------------

def instant(s):
    """RFC 3339 text -> seconds since the epoch."""
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


def rfc3339(t):
    """Seconds since the epoch -> "2026-03-02T15:00:00Z"."""
    return datetime.datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    end, and the zone's abbreviation (SPEC section 5), computed here with
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

class Ledger:
    """Read-only look at <state_dir>/ledger.sqlite while the daemon runs."""

    def __init__(self, state_dir):
        self.path = os.path.join(state_dir, "ledger.sqlite")

    def rows(self):
        if not os.path.exists(self.path):
            return []
        con = sqlite3.connect(self.path, timeout=10)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(
                "SELECT meeting, start, offset_s, department, status, attempts, http_status, error, updated"
                " FROM reminders ORDER BY start - offset_s, meeting, department")]
        except sqlite3.OperationalError:
            return []  # not created yet
        finally:
            con.close()

    def by_key(self):
        return {(r["meeting"], r["start"], r["offset_s"], r["department"]): r for r in self.rows()}

    def with_status(self, *statuses):
        return [r for r in self.rows() if r["status"] in statuses]


# ---- the daemon ----------------------------------------------------------

READY = re.compile(r"^<6>(Next reminder|No reminders scheduled)", re.M)


class Daemon:
    """`tandem -c CONFIG run --clock CLOCK --clock-rate RATE`, with stdout
    and stderr going to files in the test's directory."""

    def __init__(self, test, config, clock, rate, name="daemon"):
        self.test = test
        self.config = config
        self.clock = instant(clock) if isinstance(clock, str) else int(clock)
        self.rate = float(rate)
        base = os.path.join(os.path.dirname(config), name)
        n = 1
        while os.path.exists("%s-%d.err" % (base, n)):
            n += 1
        self.out_path, self.err_path = "%s-%d.out" % (base, n), "%s-%d.err" % (base, n)
        self.proc = None

    def start(self, wait_ready=True):
        out, err = open(self.out_path, "wb"), open(self.err_path, "wb")
        argv = [TANDEM, "-c", self.config, "run", "--clock", rfc3339(self.clock), "--clock-rate", repr(self.rate)]
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        out.close()
        err.close()
        self.test.addCleanup(self._reap)
        if wait_ready:
            self.wait_ready()
        return self

    def _reap(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def wait_ready(self, timeout=10):
        ok = wait_until(lambda: READY.search(self.stderr()) or self.proc.poll() is not None, timeout)
        if self.proc.poll() is not None:
            self.test.fail("tandem exited with %s at start-up:\n%s" % (self.proc.returncode, self.stderr()))
        if not ok:
            self.test.fail("tandem did not become ready in %ss:\n%s" % (timeout, self.stderr()))
        self.t_ready = time.monotonic()

    def virtual_at(self, real):
        """An upper bound of the daemon's clock at a time.monotonic() value
        (the daemon started its clock a little after we spawned it)."""
        return self.clock + (real - self.t0) * self.rate

    def virtual_after_ready(self, real):
        """A lower bound of the daemon's clock at a time.monotonic() value
        (it had started its clock before we saw it ready)."""
        return self.clock + (real - self.t_ready) * self.rate

    def real_for(self, virtual):
        """time.monotonic() at which the daemon's clock reaches `virtual`
        at the latest."""
        return self.t_ready + (virtual - self.clock) / self.rate

    def wait_virtual(self, virtual, timeout=60):
        """Waits until the daemon's clock has surely passed `virtual`."""
        target = self.real_for(virtual)
        wait_until(lambda: time.monotonic() >= target, timeout, interval=0.01)

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, regex, timeout=10, count=1):
        rx = re.compile(regex, re.M)
        ok = wait_until(lambda: len(rx.findall(self.stderr())) >= count, timeout)
        if not ok:
            self.test.fail("no log line matching %r (x%d) in %ss:\n%s" % (regex, count, timeout, self.stderr()))

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=10):
        """SIGTERM; asserts exit status 0."""
        self.signal(signal.SIGTERM)
        rc = self.wait_exit(timeout)
        self.test.assertIsNotNone(rc, "tandem did not exit within %ss of SIGTERM" % timeout)
        self.test.assertEqual(rc, 0, "tandem exited with %s after SIGTERM:\n%s" % (rc, self.stderr()))

    def kill(self):
        self.proc.kill()
        self.proc.wait()

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
    for every reminder of every occurrence in a preview."""
    out = {}
    for o in occurrences:
        start = instant(o["start"])
        for r in o["reminders"]:
            for d in o["departments"]:
                out[(o["meeting"], start, offset_seconds(r["before"]), d)] = (instant(r["at"]), r["before"])
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

    def daemon(self, clock, rate, start=True, name="daemon"):
        d = Daemon(self, self.config, clock, rate, name=name)
        return d.start() if start else d

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
