#!/usr/bin/python3
"""The installed service under a real systemd 252, booted in a container.

What an operator does after building, as the README's "Under systemd" says:
`cmake --install` (into the container's root, prefix /usr), then in the
container `systemd-sysusers`, `systemd-tmpfiles --create`, a config, and
`systemctl enable --now tandem`. Then, on the real clock:

  - the service is active; the config is 0640 root:tandem-config;
  - the feed and /healthz answer on the container's loopback;
  - a reminder reaches a webhook sink (also on that loopback);
  - `systemctl reload` with a valid changed config succeeds and the feed's
    SEQUENCE of the changed meeting rises; with an invalid config it fails,
    the daemon logs the errors, keeps the running schedule and reports
    itself unhealthy (/healthz, STATUS=) until a good reload;
  - the watchdog restarts a frozen daemon (SIGSTOP), and the restarted
    daemon sends on, but nothing already delivered again;
  - `systemctl stop` is clean (exit status 0);
  - `systemd-analyze security` rates the live unit 1.5 or better.

  test_service.py --build BUILD_DIR [--cmake CMAKE]

Runs only with TANDEM_CONTAINER_TESTS=1 (see tests/container/container.py);
TANDEM_KEEP=1 keeps the container's root for a look afterwards.
"""

import argparse
import datetime
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "container"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import container  # noqa: E402
from container import log  # noqa: E402
import harness  # noqa: E402
from sink import Sink  # noqa: E402

UTC = datetime.timezone.utc
CONFIG = "/etc/tandem/tandem.ini"
FEED = "http://127.0.0.1:8470/feeds/all.ics"  # the default listen address
# The shipped WatchdogSec=30s would make the test wait half a minute for
# nothing; the daemon pings at half of whatever systemd asks for.
WATCHDOG_DROPIN = "[Service]\nWatchdogSec=10s\n"


class Failed(Exception):
    pass


def check(ok, msg):
    if not ok:
        raise Failed(msg)


def minute_after(t, seconds):
    """The first whole minute at least `seconds` after t (a UTC datetime):
    meetings start on whole minutes."""
    t = t + datetime.timedelta(seconds=seconds + 59)
    return t.replace(second=0, microsecond=0)


def due_in(t):
    """Seconds from now to t (0 if past)."""
    return max(0.0, (t - datetime.datetime.now(UTC)).total_seconds())


def meeting(mid, title, start, remind):
    """A weekly meeting of both departments, first on `start` (UTC)."""
    return """
        [meeting:%s]
        title = %s
        departments = ops, dev
        day = %s
        time = %s
        start = %s
        remind = %s
        """ % (mid, title, start.strftime("%A").lower(), start.strftime("%H:%M"), start.strftime("%Y-%m-%d"), remind)


def config(sink, *meetings):
    return harness.ini("""
        [tandem]
        timezone = UTC
        domain = systemd-test.invalid
        """, """
        [department:ops]
        name = Operations
        chat = generic
        webhook = %s
        """ % sink.hook("/ok/ops"), """
        [department:dev]
        name = Development
        chat = generic
        webhook = %s
        """ % sink.hook("/ok/dev"), *meetings)


class ServiceTest:
    def __init__(self, box, root, sink):
        self.box = box
        self.root = root
        self.sink = sink

    # ---- helpers ----

    def get(self, url):
        return self.box.netns(container.http_get, url)

    def write_config(self, text):
        """Writes the config in place, as an editor would: the file keeps
        its owner, group and mode."""
        with open(self.root + CONFIG, "w", encoding="utf-8") as f:
            f.write(text)

    def show(self, *props):
        p = self.box.sh("systemctl show tandem " + " ".join("-p " + p for p in props), quiet=True)
        return dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)

    def journal(self):
        return self.box.sh("journalctl -u tandem --no-pager -o short-iso", check=False, quiet=True).stdout

    def sequences(self):
        """UID -> (SEQUENCE, SUMMARY) of the served feed."""
        status, _h, body = self.get(FEED)
        check(status == 200, "GET %s: %s %s" % (FEED, status, body[:300]))
        return {uid: (int(ev.get("SEQUENCE", "0")), ev.get("SUMMARY")) for uid, ev in harness.parse_ics(body).items()}

    def reminders(self, meeting_id=None):
        """(meeting, department, before, title) of every reminder received."""
        out = []
        for r in self.sink.requests():
            b = r.json()
            if b.get("type") == "reminder" and meeting_id in (None, b["meeting"]):
                out.append((b["meeting"], b["department"], b["before"], b["title"]))
        return out

    def wait_reminders(self, meeting_id, n, timeout):
        container.wait_for(lambda: len(self.reminders(meeting_id)) >= n, timeout,
                           lambda: "%d reminder(s) of %s at the sink (got %r)" % (n, meeting_id, self.reminders()))

    def wait_active(self, timeout, not_pid=None):
        def ready():
            s = self.show("ActiveState", "SubState", "MainPID")
            return s if s["ActiveState"] == "active" and s["MainPID"] not in ("0", not_pid) else None
        return container.wait_for(ready, timeout, lambda: "tandem.service active (%r)" % self.show(
            "ActiveState", "Result", "NRestarts"))

    # ---- the scenario ----

    def run(self):
        box = self.box
        # "early": its 20m reminder falls due on the real clock within a
        # minute or so of start-up (or at start-up, as catch-up).
        early = minute_after(datetime.datetime.now(UTC), 10) + datetime.timedelta(minutes=20)
        # "late": two days away until the valid reload brings it near.
        late = early + datetime.timedelta(days=2)

        log("== sysusers, tmpfiles, a config, enable --now")
        self.write_config(config(self.sink, meeting("early", "Early sync", early, "20m"),
                                 meeting("late", "Standup one", late, "20m")))
        box.sh("systemd-sysusers")
        box.sh("systemd-tmpfiles --create")
        box.sh("systemctl enable --now tandem")
        first = self.wait_active(30)
        log("active, MainPID %s" % first["MainPID"])
        st = box.sh("stat -c '%a %U %G' " + CONFIG).stdout.split()
        check(st == ["640", "root", "tandem-config"], "%s is %r, expected 640 root tandem-config" % (CONFIG, st))
        # READY=1 comes with "Scheduling the reminders"; STATUS= names the
        # next reminder once they are (README "The feeds").
        def next_reminder():
            return self.show("StatusText")["StatusText"].startswith("Next reminder:")
        container.wait_for(next_reminder, 10, lambda: "STATUS= says %r" % self.show("StatusText")["StatusText"])

        log("== the feed and /healthz on loopback")
        code, _h, body = self.get("http://127.0.0.1:8470/healthz")
        check(code == 200, "/healthz: %s %s" % (code, body))
        seq0 = self.sequences()
        check({"early@systemd-test.invalid", "late@systemd-test.invalid"} <= set(seq0), "feed has %r" % seq0)

        log("== a reminder reaches the sink on the real clock")
        self.wait_reminders("early", 2, due_in(early - datetime.timedelta(minutes=20)) + 120)
        log("received %r" % self.reminders())

        log("== the watchdog restarts a frozen daemon")
        box.sh("systemctl kill --signal=SIGSTOP --kill-who=main tandem")
        second = self.wait_active(120, not_pid=first["MainPID"])
        check(self.show("NRestarts")["NRestarts"] == "1", "NRestarts: %r" % self.show("NRestarts"))
        check("Watchdog timeout" in self.journal(), "no watchdog timeout in the journal")
        log("restarted by the watchdog, MainPID %s" % second["MainPID"])
        code, _h, body = self.get("http://127.0.0.1:8470/healthz")
        check(code == 200, "/healthz after the restart: %s %s" % (code, body))

        log("== systemctl reload, a valid changed config: SEQUENCE rises")
        # "late" moves near, its reminder due on the real clock within a
        # minute or so, and gets a new title.
        late = minute_after(datetime.datetime.now(UTC), 10) + datetime.timedelta(minutes=20)
        valid = config(self.sink, meeting("early", "Early sync", early, "20m"),
                       meeting("late", "Standup two", late, "20m"))
        self.write_config(valid)
        box.sh("systemctl reload tandem")
        uid = "late@systemd-test.invalid"
        seq1 = container.wait_for(lambda: (lambda s: s if s[uid][0] > seq0[uid][0] else None)(self.sequences()),
                                  30, "the SEQUENCE of %s to rise above %d" % (uid, seq0[uid][0]))
        check(seq1[uid][1] == "Standup two", "SUMMARY is %r" % (seq1[uid][1],))
        check(seq1["early@systemd-test.invalid"] == seq0["early@systemd-test.invalid"],
              "the unchanged meeting changed: %r -> %r" % (seq0, seq1))

        log("== systemctl reload, an invalid config: fails, the schedule goes on")
        self.write_config(valid.replace("Standup two", "Standup three") + "\n[meeting:broken]\ntitle = Broken\n")
        p = box.sh("systemctl reload tandem", check=False)
        check(p.returncode != 0, "systemctl reload succeeded with an invalid config")
        pid = second["MainPID"]
        container.wait_for(lambda: re.search(r"tandem\[%s\]: reload refused" % pid, self.journal()), 30,
                           "the daemon to log that it refused the reload")
        check(re.search(r"tandem\[%s\]: %s:\d+: \[meeting:broken\] missing required key" % (pid, re.escape(CONFIG)),
                        self.journal()), "the daemon did not log the config's errors")
        after = self.show("ActiveState", "MainPID", "StatusText")
        check(after["ActiveState"] == "active" and after["MainPID"] == pid, "after the refused reload: %r" % after)
        check("reload refused" in after["StatusText"], "STATUS= says %r" % after["StatusText"])
        code, _h, body = self.get("http://127.0.0.1:8470/healthz")
        check(code == 503 and "reload refused" in body, "/healthz after a refused reload: %s %s" % (code, body))
        check(self.sequences() == seq1, "the feed changed after a refused reload")
        # As the operator would after reading the journal (a broken file
        # left in place would stop the next start).
        self.write_config(valid)
        box.sh("systemctl reload tandem")
        container.wait_for(lambda: self.get("http://127.0.0.1:8470/healthz")[0] == 200, 30,
                           "/healthz to answer 200 after a good reload")
        # The reminder of "late" is due only in the valid config, and must
        # carry its title, not the refused one's.
        self.wait_reminders("late", 2, due_in(late - datetime.timedelta(minutes=20)) + 120)
        titles = {r[3] for r in self.reminders("late")}
        check(titles == {"Standup two"}, "reminders of late have titles %r" % titles)

        log("== systemd-analyze security on the live unit")
        p = box.sh("systemd-analyze security --no-pager tandem.service", check=False)
        m = re.search(r"Overall exposure level for tandem.service: ([0-9.]+)", p.stdout)
        check(m and float(m.group(1)) <= 1.5, "exposure: %s" % (p.stdout[-2000:] + p.stderr))
        log("exposure %s" % m.group(1))

        log("== systemctl stop: clean")
        box.sh("systemctl stop tandem")
        s = self.show("ActiveState", "Result", "ExecMainStatus")
        check(s["ActiveState"] == "inactive" and s["Result"] == "success" and s["ExecMainStatus"] == "0",
              "after stop: %r" % s)
        check(re.search(r"tandem\[%s\]: stopped$" % second["MainPID"], self.journal(), re.M),
              "no \"stopped\" line from the daemon")

        log("== every reminder exactly once: across the watchdog kill, the reloads and the stop")
        # Requests to one webhook leave one at a time, in order: had the
        # restarted daemon re-sent "early", it would be here before "late".
        got = sorted(self.reminders())
        want = sorted([("early", d, "20m", "Early sync") for d in ("dev", "ops")] +
                      [("late", d, "20m", "Standup two") for d in ("dev", "ops")])
        check(got == want, "reminders at the sink:\n  %r\nexpected:\n  %r" % (got, want))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="the build directory to install from")
    ap.add_argument("--cmake", default="cmake")
    args = ap.parse_args()
    container.require_machine("test_service.py (tandem.service under a real systemd)")

    base = container.systemd_root()
    container.require_nspawn(base)
    with container.scratch_copy(base, "systemd") as root:
        env = dict(os.environ, DESTDIR=root)
        container.run([args.cmake, "--install", args.build, "--prefix", "/usr"], timeout=120, env=env,
                      stdout=subprocess.DEVNULL)
        os.makedirs(root + "/etc/systemd/system/tandem.service.d", exist_ok=True)
        with open(root + "/etc/systemd/system/tandem.service.d/test-watchdog.conf", "w") as f:
            f.write(WATCHDOG_DROPIN)

        box = container.Container(root).start()
        sink = None
        t = ServiceTest(box, root, None)
        try:
            box.wait_booted()
            sink = box.netns(lambda: Sink().start())  # listens on the container's loopback
            t.sink = sink
            t.run()
            print("\n---- journal of tandem.service ----\n%s" % t.journal(), flush=True)
        except (Failed, AssertionError) as e:
            print("\n---- journal of tandem.service ----\n%s" % t.journal(), flush=True)
            print("---- sink ----\n%r" % (t.reminders() if sink else None), flush=True)
            print("\nFAIL: %s" % e, flush=True)
            return 1
        finally:
            if sink:
                sink.stop()
            rc = box.stop()
            log("container stopped (%s)" % rc)
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
