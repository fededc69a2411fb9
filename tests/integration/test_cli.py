"""The config and the command line as an operator meets them (README "Config
reference" and "Command reference", issue 9): the feed token stays out of
the log, a listen address on every interface asks for public_url, the
ledger is found next to the config whatever the working directory, and
preview's dates cannot be misread."""

import os
import re
import resource
import signal
import socket
import subprocess
import tempfile

import harness

TOKEN = "s3cr3t-Token_42"


free_port = harness.free_port


MEETING = """
    [department:sales]
    timezone = Europe/Berlin
    email = sales@example.com

    [department:marketing]
    timezone = America/New_York
    email = marketing@example.com

    [meeting:sync]
    title = Sales + Marketing sync
    departments = sales, marketing
    day = tuesday
    time = 16:00
    duration = 45m
    timezone = Europe/Berlin
    start = 2026-01-06
    remind = 1d, 15m
    """


class Cli(harness.TestCase):

    def check(self, cwd=None):
        p = subprocess.run([harness.TANDEM, "-c", self.config, "check"], capture_output=True, text=True,
                           timeout=30, cwd=cwd, env=self.env())
        self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def env(self):
        env = dict(os.environ)
        env.pop("STATE_DIRECTORY", None)
        return env

    def test_token_masked_in_log_shown_by_check(self):
        port = free_port()
        harness.write(self.config, harness.ini("""
            [tandem]
            timezone = Europe/Berlin
            state_dir = %s
            listen = 127.0.0.1:%d
            feed_token = %s
            """ % (self.state, port, TOKEN), MEETING))
        d = self.daemon("2026-03-02T00:00:00Z")
        d.wait_log(r"subscribe to marketing:")
        log = d.stderr()
        d.stop()
        self.assertNotIn(TOKEN, log)
        self.assertIn("subscribe to all: webcal://127.0.0.1:%d/feeds/all.ics?token=\u2026 "
                      "(or http://127.0.0.1:%d/feeds/all.ics?token=\u2026)" % (port, port), log)
        # the operator's own command shows the links whole
        out = self.check().stdout
        self.assertIn("webcal://127.0.0.1:%d/feeds/sales.ics?token=%s" % (port, TOKEN), out)
        self.assertIn("http://127.0.0.1:%d/feeds/sales.ics?token=%s" % (port, TOKEN), out)

    def test_listen_on_every_address_wants_public_url(self):
        for listen in ("0.0.0.0:8476", "[::]:8476"):
            harness.write(self.config, harness.ini("[tandem]\nlisten = %s\n" % listen, MEETING))
            p = self.check()
            self.assertRegex(p.stderr, r"tandem\.ini:2: warning: \[tandem\] listen: %s accepts connections on "
                                       r"every address.*set public_url" % re.escape(listen))
            self.assertIn("webcal://%s/feeds/all.ics" % listen, p.stdout)  # what the warning is about
        harness.write(self.config, harness.ini("""
            [tandem]
            listen = 0.0.0.0:8476
            public_url = https://cal.example.com
            """, MEETING))
        p = self.check()
        self.assertEqual(p.stderr, "")
        self.assertIn("webcal://cal.example.com/feeds/all.ics", p.stdout)

    def test_state_dir_next_to_config_whatever_the_working_directory(self):
        harness.write(self.config, harness.ini("[tandem]\nlisten = off\n", MEETING))
        want = os.path.join(os.path.realpath(self.dir), "state")
        elsewhere = tempfile.mkdtemp(prefix="tandem-it-cwd-")
        self.addCleanup(lambda: os.rmdir(elsewhere))
        self.assertIn("Ledger: %s/ledger.sqlite" % want, self.check(cwd=elsewhere).stdout)
        self.assertIn("Ledger: %s/ledger.sqlite" % want, self.check(cwd="/").stdout)

        err_path = os.path.join(self.dir, "run.err")
        with open(err_path, "wb") as err:
            proc = subprocess.Popen([harness.TANDEM, "-c", os.path.relpath(self.config, elsewhere), "run"],
                                    cwd=elsewhere, env=self.env(),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))

        def log():
            with open(err_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        ok = harness.wait_until(lambda: harness.READY.search(log()) or proc.poll() is not None, 10)
        self.assertTrue(ok and proc.poll() is None, log())
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(10), 0, log())
        self.assertIn("ledger %s/ledger.sqlite" % want, log())
        self.assertTrue(os.path.exists(os.path.join(want, "ledger.sqlite")))
        self.assertEqual(os.listdir(elsewhere), [])

    def test_export_in_a_small_address_space(self):
        """`tandem export` under `ulimit -v 100000` (98 MiB of address space)
        writes the same feed as without a limit: the heap it pads for speed
        (daemon/main.c export_heap) is only had where there is room. It
        aborted out of memory there once."""
        with open(harness.TANDEM, "rb") as f:
            if b"__asan_init" in f.read():
                self.skipTest("ASan reserves terabytes of address space")
        harness.write(self.config, harness.ini("[tandem]\ntimezone = Europe/Berlin\nlisten = off\n", MEETING))
        argv = [harness.TANDEM, "-c", self.config, "export"]
        free = subprocess.run(argv, capture_output=True, timeout=30)
        limit = 100000 * 1024
        small = subprocess.run(argv, capture_output=True, timeout=30,
                               preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
        self.assertEqual(free.returncode, 0, free.stderr)
        self.assertEqual(small.returncode, 0, small.stderr)
        self.assertIn(b"BEGIN:VEVENT", free.stdout)
        self.assertEqual(small.stdout, free.stdout)

    def test_preview_dates_are_unambiguous(self):
        harness.write(self.config, harness.ini("[tandem]\ntimezone = Europe/Berlin\nlisten = off\n", MEETING))
        p = subprocess.run([harness.TANDEM, "-c", self.config, "preview", "--from", "2026-12-01", "--days", "7"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        self.assertIn("Tue 2026-12-01 (Europe/Berlin)", out)
        self.assertRegex(out, r"sales +Tue 2026-12-01 16:00-16:45 CET +Europe/Berlin")
        self.assertRegex(out, r"marketing +Tue 2026-12-01 10:00-10:45 EST +America/New_York")
        self.assertIn("1d before (Mon 2026-11-30 16:00), 15m before (15:45)", out)
        # no month-day without its year anywhere ("12-01" reads as January 12 to half the world)
        self.assertEqual(re.findall(r"(?<![\d:-])\d\d-\d\d(?![\d:-])", out), [], out)


if __name__ == "__main__":
    harness.main()
