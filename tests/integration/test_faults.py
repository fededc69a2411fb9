"""Real faults (README "Delivery guarantees"): a second daemon on the same
state directory, a full disk, a file-size limit, a clock that was briefly
ahead, and simulated runs beside a real one. Each one broke a promise of
tandem 0.1; here each must hold:

- a second `tandem run` on a state directory refuses to start, naming it
  and the running daemon's pid;
- while the ledger cannot be written nothing is sent, /healthz says 503
  and why, and when the disk has room again every reminder still ahead goes
  out, once;
- a reminder recorded missed by a clock that was ahead is sent when the
  clock is back and its meeting is still ahead;
- a simulated clock never touches the real ledger or feeds.
"""

import http.client
import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess

import harness
from harness import instant

START = instant("2026-03-02T10:00:00Z")


free_port = harness.free_port


def config(sink, state_dir, port=None, days=("monday",)):
    return harness.ini("""
        [tandem]
        timezone = UTC
        state_dir = %s
        listen = %s
        """ % (state_dir, "127.0.0.1:%d" % port if port else "off"), """
        [department:a]
        chat = generic
        webhook = %s
        """ % sink.hook("/ok/a"), """
        [department:b]
        chat = generic
        webhook = %s
        """ % sink.hook("/ok/b"), """
        [meeting:m]
        title = Faults
        departments = a, b
        day = %s
        time = 10:00
        start = 2026-03-02
        remind = 1h, 15m
        """ % ", ".join(days))


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


class Faults(harness.TestCase):

    def keys(self, status=None):
        return sorted((r["meeting"], r["start"], r["offset_s"], r["department"])
                      for r in harness.Ledger(self.state).rows() if status is None or r["status"] == status)

    def test_second_instance_refused(self):
        port = free_port()
        harness.write(self.config, config(self.sink, self.state, port))
        first = self.daemon(START - 7200)
        p = subprocess.run([harness.TANDEM, "-c", self.config, "run", "--clock", harness.rfc3339(START - 7200),
                            "--clock-step"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stderr, r"state directory %s is in use by another tandem \(pid %d\)" % (
            harness.simulated(self.state), first.proc.pid))
        self.assertNotIn("serving feeds", p.stderr, "the second daemon got as far as the feed server")
        # The first one runs on, alone: each reminder once.
        first.advance(START)
        self.assertEqual(len(self.sink.requests()), 4)
        self.assertEqual(get(port, "/healthz"), (200, "ok\n"))
        first.stop()

    def small_disk(self, size="1m"):
        """A tmpfs of `size` on the state directory, in a mount namespace of
        its own (--map-root-user: for root and others alike), kept by a
        holder process for the test's length. Returns the command line that
        runs a program in it, and the path under which the test sees it."""
        if not shutil.which("unshare") or not shutil.which("nsenter"):
            self.fail("unshare and nsenter (util-linux) are needed")
        os.makedirs(self.state)
        holder = subprocess.Popen(["unshare", "--mount", "--map-root-user", "--propagation", "private", "sh", "-c",
                                   'mount -t tmpfs -o size=%s tmpfs "$0" && echo mounted && exec sleep 3600' % size,
                                   self.state], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        self.addCleanup(holder.wait)
        self.addCleanup(holder.kill)
        self.assertEqual(holder.stdout.readline(), b"mounted\n")
        holder.stdout.close()
        return (["nsenter", "-t", str(holder.pid), "-U", "-m", "--preserve-credentials"],
                "/proc/%d/root%s" % (holder.pid, self.state))

    def fill(self, root):
        """Fills the small disk until no byte more fits."""
        with open(os.path.join(root, "filler"), "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass

    def test_full_disk_fails_closed(self):
        port = free_port()
        wrapper, root = self.small_disk()
        harness.write(self.config, config(self.sink, self.state, port, days=("monday", "tuesday")))
        d = harness.Daemon(self, self.config, START - 7200).start(wrapper=wrapper)
        d.advance(START - 3600)  # Monday's 1h reminders
        self.assertEqual(len(self.sink.requests()), 2)

        self.fill(root)
        d.advance(START - 300)  # Monday's 15m reminders fell due on a full disk
        self.assertEqual(len(self.sink.requests()), 2, "sent without a durable attempt")
        status, body = get(port, "/healthz")
        self.assertEqual(status, 503)
        self.assertRegex(body, r"^unhealthy: ledger in \S+ cannot be written \(database or disk is full\)")
        metrics = get(port, "/metrics")[1]
        self.assertIn("tandem_ledger_writable 0", metrics)
        self.assertIn("tandem_healthy 0", metrics)
        self.assertRegex(d.stderr(), r"(?m)^<3>ledger \S+: cannot write: database or disk is full")
        self.assertRegex(d.stderr(), r"(?m)^<4>Unhealthy: ledger")

        os.unlink(os.path.join(root, "filler"))
        d.advance(START - 60)
        # Room again: the two 15m reminders, late but ahead of the meeting,
        # each once.
        reqs = self.sink.requests()
        self.assertEqual(len(reqs), 4, [r.json() for r in reqs])
        self.assertEqual(sorted(r.json()["before"] for r in reqs[2:]), ["15m", "15m"])
        self.assertTrue(all(START - 900 < r.vtime < START - 300 + 10 for r in reqs[2:]), [r.vtime for r in reqs])
        self.assertEqual(get(port, "/healthz"), (200, "ok\n"))
        self.assertIn("writable again", d.stderr())

        # Killed on a full disk later, restarted with room: nothing twice,
        # nothing lost.
        d.advance(START + 86400 - 7200)
        self.fill(root)
        d.advance(START + 86400 - 3000)  # Tuesday's 1h reminders cannot go
        self.assertEqual(len(self.sink.requests()), 4)
        d.kill()
        os.unlink(os.path.join(root, "filler"))
        again = harness.Daemon(self, self.config, START + 86400 - 2900, name="again").start(wrapper=wrapper)
        again.advance(START + 86400)
        keys = [(r.json()["start"], r.json()["before"], r.json()["department"]) for r in self.sink.requests()]
        self.assertEqual(len(keys), len(set(keys)), "sent twice: %r" % keys)
        self.assertEqual(len(keys), 8, keys)
        # The ledger on the small disk kept Monday's: all sent, once each.
        self.assertEqual(len([k for k in keys if k[0] == "2026-03-02T10:00:00Z"]), 4)
        again.stop()

    def test_file_size_limit(self):
        """A file-size limit (RLIMIT_FSIZE) is a failed write, not a
        SIGXFSZ that kills the daemon."""
        port = free_port()
        harness.write(self.config, config(self.sink, self.state, port))
        d = self.daemon(START - 7200)
        d.advance(START - 3600)
        self.assertEqual(len(self.sink.requests()), 2)
        resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
        d.advance(START - 600)
        self.assertIsNone(d.proc.poll(), "killed by a file-size limit")
        self.assertEqual(len(self.sink.requests()), 2)
        self.assertEqual(get(port, "/healthz")[0], 503)
        resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        d.advance(START - 300)
        self.assertEqual(len(self.sink.requests()), 4)
        self.assertEqual(get(port, "/healthz")[0], 200)
        d.stop()

    def test_failing_department_is_unhealthy(self):
        """A department whose webhook is refused (404) makes /healthz say
        so, until a reminder to it gets through again."""
        port = free_port()
        text = config(self.sink, self.state, port).replace(self.sink.hook("/ok/b"), self.sink.hook("/notfound/b"))
        harness.write(self.config, text)
        d = self.daemon(START - 7200)
        d.advance(START - 3600)
        status, body = get(port, "/healthz")
        self.assertEqual(status, 503)
        self.assertRegex(body, r"^unhealthy: delivery to b failing since 2026-03-02T09:00:00Z: HTTP 404")
        self.assertIn('tandem_department_failing_since_timestamp_seconds{department="b"} %d' % (START - 3600),
                      get(port, "/metrics")[1])
        harness.write(self.config, text.replace(self.sink.hook("/notfound/b"), self.sink.hook("/ok/b")))
        d.reload()
        d.advance(START - 900)
        self.assertEqual(get(port, "/healthz"), (200, "ok\n"))
        d.stop()

    def test_healthy_while_outcomes_wait_for_the_pass(self):
        """An outcome that waits in memory for its pass's end (a console
        line printed while a request is still in flight) is no ledger
        failure: no "Unhealthy" in the log or STATUS=, /healthz 200, the
        next reminder armed as usual; and once the request is answered both
        outcomes are on disk."""
        port = free_port()
        text = config(self.sink, self.state, port).replace(self.sink.hook("/ok/a"), self.sink.hook("/hold/1/a"))
        text = text.replace("chat = generic\nwebhook = %s" % self.sink.hook("/ok/b"), "chat = console")
        self.assertIn("chat = console", text)
        harness.write(self.config, text)
        d = self.daemon(START - 7200)
        d.advance(START - 3600, wait=False)
        self.assertTrue(self.sink.wait_count(1, 30, "/hold/1/a"), d.stderr())
        # The console line was printed in the same pass, before the request left.
        self.assertEqual(len(d.stdout().splitlines()), 1, d.stdout())
        self.assertEqual(get(port, "/healthz"), (200, "ok\n"))
        self.sink.release("/hold/1/a")
        d.wait_log(r"^<6>reminder m/a 1h before .*: delivered")
        d.advance(START - 900)
        self.assertNotIn("Unhealthy", d.stderr())
        self.assertEqual(self.keys("sent"), [("m", START, 900, "a"), ("m", START, 900, "b"),
                                             ("m", START, 3600, "a"), ("m", START, 3600, "b")])
        d.stop()

    def test_clock_briefly_ahead(self):
        """Started once with the clock two hours ahead: the 10:00 meeting's
        reminders are recorded missed. With the clock right again, the
        meeting is ahead and they go out."""
        harness.write(self.config, config(self.sink, self.state))
        first = self.daemon(START - 7200, name="first")
        first.stop()
        ahead = self.daemon(START + 3600, name="ahead")
        self.assertEqual(self.keys("missed"), [("m", START, o, d) for o in (900, 3600) for d in "ab"])
        ahead.stop()
        right = self.daemon(START - 5400, name="right")
        right.advance(START)
        self.assertEqual(self.keys("sent"), [("m", START, o, d) for o in (900, 3600) for d in "ab"])
        self.assertEqual([r.vtime for r in self.sink.requests()], [START - 3600] * 2 + [START - 900] * 2)
        right.stop()

    def test_simulated_runs_keep_apart(self):
        """A real run's ledger and feeds are never touched by a simulated
        run (which keeps its own under <state_dir>/simulated), and a ledger
        written on one clock is refused on the other."""
        harness.write(self.config, config(self.sink, self.state, days=("monday",)))
        real = subprocess.Popen([harness.TANDEM, "-c", self.config, "run"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.addCleanup(real.kill)
        self.assertTrue(harness.wait_until(lambda: os.path.exists(os.path.join(self.state, "feeds", "all.ics")), 30))
        real.send_signal(signal.SIGTERM)
        self.assertEqual(real.wait(30), 0)
        feed = os.path.join(self.state, "feeds", "all.ics")
        ledger = os.path.join(self.state, "ledger.sqlite")
        before = (os.stat(feed).st_mtime_ns, os.stat(ledger).st_mtime_ns)

        sim = self.daemon(START - 7200)
        sim.advance(START)
        sim.stop()
        self.assertEqual(len(self.sink.requests()), 4)
        self.assertEqual((os.stat(feed).st_mtime_ns, os.stat(ledger).st_mtime_ns), before)
        con = sqlite3.connect(ledger)
        try:
            self.assertEqual(con.execute("SELECT count(*) FROM reminders").fetchone()[0], 0)
            self.assertEqual(con.execute("SELECT value FROM meta WHERE key = 'clock'").fetchone()[0], "real")
        finally:
            con.close()
        self.assertTrue(os.path.exists(os.path.join(self.feed_dir(), "all.ics")))

        # The simulated ledger where a real one belongs: refused.
        os.unlink(ledger)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(ledger + suffix):
                os.unlink(ledger + suffix)
        shutil.copy(harness.Ledger(self.state).path, ledger)
        p = subprocess.run([harness.TANDEM, "-c", self.config, "run"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("was written on the simulated clock; refusing to use it on the real one", p.stderr)


if __name__ == "__main__":
    harness.main()
