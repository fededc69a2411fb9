#!/usr/bin/python3
"""Benchmark driver for bench/run: prints one Markdown table on stdout,
progress on stderr. Usage: bench.py TANDEM_BINARY [--quick]"""
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from sink import Sink  # noqa: E402

TANDEM = os.path.abspath(sys.argv[1])
QUICK = "--quick" in sys.argv
PY = "/usr/bin/python3"
WORK = tempfile.mkdtemp(prefix="tandem-bench-")
ROWS = []  # (section, metric, tandem, alternative name, alternative value, ratio text)
NOTES = []
MISSING = []
STARTED = []  # processes to clean up


def log(*a):
    print("[bench %s]" % time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def row(section, metric, tval, alt, aval, ratio):
    ROWS.append((section, metric, tval, alt, aval, ratio))


def fmt_ratio(t, a, lower_is_better=True):
    if not a or not t:
        return "n/a"
    r = t / a
    if lower_is_better:
        word = "%.2fx %s" % (a / t if r < 1 else r, "less" if r < 1 else "more")
    else:
        word = "%.2fx %s" % (r if r >= 1 else a / t, "more" if r >= 1 else "less")
    return "**%.3f** (%s)" % (r, word)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def gen(out, *args):
    subprocess.run([PY, os.path.join(HERE, "genconf.py"), out] + [str(a) for a in args], check=True)


def machine():
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = "?"
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            mem = "%.1f GiB" % (int(line.split()[1]) / 1048576)
    ver = lambda cmd: subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0] if shutil.which(cmd[0]) else "?"
    load = open("/proc/loadavg").read().split()[:3]
    return ("nproc %d; CPU %s; memory %s; kernel %s %s; load average at the start %s; %s" % (
        os.cpu_count(), cpu, mem, platform.system(), platform.release(), " ".join(load),
        ", ".join([ver([TANDEM, "--version"]), "wrk " + (ver(["wrk", "--version"]).split() or ["?"])[1],
                   subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip(),
                   ver(["hyperfine", "--version"]),
                   "/usr/bin/python3 " + subprocess.run([PY, "-c", "import platform,icalendar;print(platform.python_version(), 'python3-icalendar', icalendar.__version__)"],
                                  capture_output=True, text=True).stdout.strip()])))


def peak_rss_kb(cmd, runs=3):
    vals = []
    for _ in range(runs):
        r = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("failed: %s\n%s" % (cmd, r.stderr[-2000:]))
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
        vals.append(int(m.group(1)))
    return statistics.median(vals)


# ---------------------------------------------------------------- 1. feed generation
def bench_feedgen():
    for n in (10, 100, 1000, 10000):
        cfg = os.path.join(WORK, "gen%d.ini" % n)
        gen(cfg, "--meetings", n)
        t_out = os.path.join(WORK, "gen%d-tandem.ics" % n)
        p_out = os.path.join(WORK, "gen%d-python.ics" % n)
        tcmd = [TANDEM, "-c", cfg, "export", "-o", t_out]
        pcmd = [PY, os.path.join(HERE, "gen_python.py"), cfg, "-o", p_out]
        runs = 5 if (n >= 10000 or QUICK) else 10
        js = os.path.join(WORK, "hf%d.json" % n)
        log("feed generation, %d meetings (%d runs each)" % (n, runs))
        subprocess.run(["hyperfine", "-N", "--warmup", "1", "--runs", str(runs), "--style", "none",
                        "--export-json", js, " ".join(tcmd), " ".join(pcmd)],
                       check=True, stdout=subprocess.DEVNULL)
        res = json.load(open(js))["results"]
        tt, pt = res[0]["median"], res[1]["median"]
        ev_t = open(t_out).read().count("BEGIN:VEVENT")
        ev_p = open(p_out).read().count("BEGIN:VEVENT")
        if ev_t != n or ev_p != n:
            NOTES.append("feed generation %d: event counts differ (tandem %d, python %d)" % (n, ev_t, ev_p))
        row("1 Feed generation", "%d meetings: time (median of %d)" % (n, runs), "%.1f ms" % (tt * 1000),
            "python3-icalendar", "%.1f ms" % (pt * 1000), fmt_ratio(tt, pt))
        tr, pr = peak_rss_kb(tcmd), peak_rss_kb(pcmd)
        row("1 Feed generation", "%d meetings: peak RSS (median of 3)" % n, "%.1f MiB" % (tr / 1024),
            "python3-icalendar", "%.1f MiB" % (pr / 1024), fmt_ratio(tr, pr))


# ---------------------------------------------------------------- daemon helper
class Daemon:
    """tandem run, with stderr lines and sd_notify messages (a NOTIFY_SOCKET
    of our own, as systemd gives one) collected and time-stamped."""

    def __init__(self, cfg, args=(), cpu=None):
        cmd = [TANDEM, "-c", cfg, "run"] + list(args)
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu)] + cmd
        self.lines = []
        self.cond = threading.Condition()
        self.notify_path = os.path.join(tempfile.mkdtemp(dir=WORK), "notify")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        threading.Thread(target=self._read_notify, daemon=True).start()
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                                  env=dict(os.environ, NOTIFY_SOCKET=self.notify_path))
        STARTED.append(self.p)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stderr:
            with self.cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self.cond.notify_all()

    def _read_notify(self):
        while True:
            try:
                msg = self.notify.recv(65536).decode("utf-8", "replace")
            except OSError:
                return
            t = time.monotonic()
            with self.cond:
                for field in msg.splitlines():
                    self.lines.append((t, "notify: " + field))
                self.cond.notify_all()

    def wait_line(self, pattern, after=0, timeout=120):
        """Monotonic time of the first line matching pattern, at index >= after."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, l in self.lines[after:]:
                    if rx.search(l):
                        return t
                left = deadline - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    raise RuntimeError("tandem never logged /%s/; last lines:\n%s" % (
                        pattern, "\n".join(l for _, l in self.lines[-20:])))
                self.cond.wait(min(left, 0.2))

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def proc_stats(pid):
    """(voluntary, involuntary context switches, utime+stime seconds, VmRSS kB, VmHWM kB), summed over threads."""
    vol = inv = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        for line in open("/proc/%d/task/%s/status" % (pid, tid)):
            if line.startswith("voluntary_ctxt_switches"):
                vol += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches"):
                inv += int(line.split()[1])
    st = open("/proc/%d/stat" % pid).read()
    f = st[st.rindex(")") + 2:].split()
    cpu = (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    rss = hwm = 0
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS"):
            rss = int(line.split()[1])
        elif line.startswith("VmHWM"):
            hwm = int(line.split()[1])
    return vol, inv, cpu, rss, hwm


# ---------------------------------------------------------------- 2. feed serving
def wrk(url, header=None, cpu=0):
    cmd = ["taskset", "-c", str(cpu), "wrk", "-t1", "-c32", "-d5s", "--latency"]
    if header:
        cmd += ["-H", header]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", out)
    p99 = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[m.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    return rps, p99, (int(bad.group(1)) if bad else 0), (errs.group(1) if errs else "")


def head(url, header=None):
    req = urllib.request.Request(url, headers=dict([header.split(": ", 1)]) if header else {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers.get("ETag"), len(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("ETag"), 0


def bench_serving():
    n = 100
    port = free_port()
    state = os.path.join(WORK, "serve-state")
    cfg = os.path.join(WORK, "serve.ini")
    gen(cfg, "--meetings", n, "--state", state, "--listen", "127.0.0.1:%d" % port, "--remind", "none")
    ncpu = os.cpu_count()
    srv_cpu, wrk_cpu = (1, 0) if ncpu >= 2 else (0, 0)
    d = Daemon(cfg, cpu=srv_cpu)
    d.wait_line(r"^<[0-7]>(published|wrote) \d+ feeds")
    # nginx serving the identical bytes
    root = os.path.join(WORK, "nginx-root")
    os.makedirs(os.path.join(root, "feeds"), exist_ok=True)
    shutil.copy(os.path.join(state, "feeds", "all.ics"), os.path.join(root, "feeds", "all.ics"))
    for p in (WORK, root, os.path.join(root, "feeds")):
        os.chmod(p, 0o755)  # nginx's worker runs as www-data
    os.chmod(os.path.join(root, "feeds", "all.ics"), 0o644)
    nport = free_port()
    nconf = os.path.join(WORK, "nginx.conf")
    with open(nconf, "w") as f:
        f.write("""worker_processes 1;
daemon off;
pid %(w)s/nginx.pid;
error_log %(w)s/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path %(w)s/nginx-tmp;
  proxy_temp_path %(w)s/nginx-tmp;
  fastcgi_temp_path %(w)s/nginx-tmp;
  uwsgi_temp_path %(w)s/nginx-tmp;
  scgi_temp_path %(w)s/nginx-tmp;
  types { text/calendar ics; }
  charset utf-8;
  charset_types text/calendar;
  server {
    listen 127.0.0.1:%(p)d;
    root %(r)s;
    add_header Cache-Control "public, max-age=300, must-revalidate";
  }
}
""" % {"w": WORK, "p": nport, "r": root})
    ng = subprocess.Popen(["taskset", "-c", str(srv_cpu), "nginx", "-c", nconf, "-p", WORK],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    STARTED.append(ng)
    turl = "http://127.0.0.1:%d/feeds/all.ics" % port
    nurl = "http://127.0.0.1:%d/feeds/all.ics" % nport
    for _ in range(50):
        try:
            head(nurl)
            break
        except OSError:
            time.sleep(0.1)
    ts, tetag, tlen = head(turl)
    ns, netag, nlen = head(nurl)
    if ts != 200 or ns != 200 or tlen != nlen:
        NOTES.append("serving: unexpected answers tandem %s/%d nginx %s/%d" % (ts, tlen, ns, nlen))
    c304t = head(turl, "If-None-Match: " + tetag)[0]
    c304n = head(nurl, "If-None-Match: " + netag)[0]
    if c304t != 304 or c304n != 304:
        NOTES.append("serving: conditional request did not give 304 (tandem %s, nginx %s)" % (c304t, c304n))
    reps = 2 if QUICK else 3
    for label, th, nh in (("GET 200 (%d-byte feed)" % tlen, None, None),
                          ("conditional GET 304 (If-None-Match)", "If-None-Match: " + tetag, "If-None-Match: " + netag)):
        tr, nr = [], []
        for i in range(reps):  # interleaved
            log("serving %s, rep %d" % (label, i + 1))
            tr.append(wrk(turl, th, wrk_cpu))
            nr.append(wrk(nurl, nh, wrk_cpu))
        for name, rs in (("tandem", tr), ("nginx", nr)):
            bad = sum(r[2] for r in rs)
            errs = [r[3] for r in rs if r[3]]
            if bad or errs:
                NOTES.append("serving %s %s: %d non-2xx/3xx answers; socket errors: %s" % (name, label, bad, "; ".join(errs) or "none"))
        trps, nrps = statistics.median(r[0] for r in tr), statistics.median(r[0] for r in nr)
        tp, np_ = statistics.median(r[1] for r in tr), statistics.median(r[1] for r in nr)
        row("2 Feed serving", "%s: requests/s (median of %d)" % (label, reps), "%.0f" % trps,
            "nginx 1 worker", "%.0f" % nrps, fmt_ratio(trps, nrps, lower_is_better=False))
        row("2 Feed serving", "%s: p99 latency" % label, "%.2f ms" % tp, "nginx 1 worker", "%.2f ms" % np_, fmt_ratio(tp, np_))
    ng.terminate()
    ng.wait()
    d.stop()
    NOTES.append("serving: wrk -t1 -c32 -d5s --latency on CPU %d, server (tandem or nginx, 1 worker) pinned to CPU %d; "
                 "runs interleaved; tandem feed of %d meetings copied byte-for-byte to nginx's root" % (wrk_cpu, srv_cpu, n))


# ---------------------------------------------------------------- 3. idle cost
def bench_idle(secs):
    state = os.path.join(WORK, "idle-state")
    cfg = os.path.join(WORK, "idle.ini")
    # Ten meetings whose first occurrence is in 2027-06: nothing falls due during the window.
    gen(cfg, "--meetings", 10, "--state", state, "--listen", "127.0.0.1:%d" % free_port(),
        "--at", "09:00", "--date", "2027-06-01", "--remind", "15m")
    d = Daemon(cfg)
    d.wait_line(r"Next reminder")
    cron = None
    if os.geteuid() == 0 and shutil.which("cron"):
        if subprocess.run(["pgrep", "-x", "cron"], capture_output=True).returncode == 0:
            NOTES.append("idle: a cron daemon was already running; not starting a second one")
        else:
            cron = subprocess.Popen(["cron", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            STARTED.append(cron)
    time.sleep(3)
    log("idle cost over %d s (tandem and cron side by side)" % secs)
    a_t = proc_stats(d.p.pid)
    a_c = proc_stats(cron.pid) if cron else None
    time.sleep(secs)
    b_t = proc_stats(d.p.pid)
    b_c = proc_stats(cron.pid) if cron else None
    d.stop()
    if cron:
        cron.terminate()
        cron.wait()
    tw, tcpu = (b_t[0] - a_t[0]) + (b_t[1] - a_t[1]), b_t[2] - a_t[2]
    if not b_c:
        MISSING.append("idle: cron not measured (not root or cron missing)")
        return
    cw, ccpu = (b_c[0] - a_c[0]) + (b_c[1] - a_c[1]), b_c[2] - a_c[2]
    row("3 Idle cost", "context switches in %d s (vol+invol, all threads)" % secs,
        "%d (%d+%d)" % (tw, b_t[0] - a_t[0], b_t[1] - a_t[1]), "Debian cron -f",
        "%d (%d+%d)" % (cw, b_c[0] - a_c[0], b_c[1] - a_c[1]),
        fmt_ratio(tw, cw) if tw and cw else "%d vs %d (ratio undefined with a zero)" % (tw, cw))
    row("3 Idle cost", "CPU time in %d s (utime+stime)" % secs, "%.2f s" % tcpu, "Debian cron -f", "%.2f s" % ccpu,
        fmt_ratio(tcpu, ccpu) if tcpu > 0 and ccpu > 0 else "%d vs %d clock ticks of 10 ms (ratio undefined with a zero)" % (round(tcpu * 100), round(ccpu * 100)))
    row("3 Idle cost", "resident memory while idle (VmRSS)", "%.1f MiB" % (b_t[3] / 1024), "Debian cron -f",
        "%.1f MiB" % (b_c[3] / 1024), fmt_ratio(b_t[3], b_c[3]))


# ---------------------------------------------------------------- 4+5. delivery
def delivery_config(path, state, sink_url, due_utc):
    """1000 timeliness reminders (t-departments, one hook each) due at due_utc and
    1000 burst reminders (b-departments, 100 hooks) due at due_utc + 60 s."""
    out = ["[tandem]\ntimezone = UTC\ndomain = bench.example\nstate_dir = %s\nlisten = off\n\n" % state]
    for k in range(1000):
        out.append("[department:t%d]\nchat = generic\nwebhook = %s/ok/t%d\n\n" % (k, sink_url, k))
    for k in range(100):
        out.append("[department:b%d]\nchat = generic\nwebhook = %s/ok/b%d\n\n" % (k, sink_url, k))
    for i, (prefix, ndep, due) in enumerate([("t", 1000, due_utc), ("b", 100, due_utc + datetime.timedelta(minutes=1))]):
        start = due + datetime.timedelta(minutes=1)  # remind 1m before
        for j in range(500):
            if prefix == "t":
                deps = "t%d, t%d" % (2 * j, 2 * j + 1)
            else:
                deps = "b%d, b%d" % (j % 100, (j + 1 + (j // 100)) % 100)
            out.append("[meeting:%s%d]\ntitle = %s meeting %d\ndepartments = %s\ncadence = weekly\nday = %s\n"
                       "time = %s\ntimezone = UTC\nstart = %s\nduration = 30m\nremind = 1m\n\n" % (
                           prefix, j, "Timeliness" if prefix == "t" else "Burst", j, deps,
                           start.strftime("%A").lower(), start.strftime("%H:%M"), start.strftime("%Y-%m-%d")))
    with open(path, "w") as f:
        f.write("".join(out))
    os.chmod(path, 0o600)


def pct(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def python_poster(sink, n, delay):
    """The alternative: a script that sleeps until the due instant (time.sleep)
    and then posts each reminder with urllib, one after another."""
    due_wall = time.time() + delay
    time.sleep(max(0, due_wall - time.time()))
    for k in range(n):
        body = json.dumps({"type": "reminder", "meeting": "p%d" % k, "text": "reminder %d" % k}).encode()
        req = urllib.request.Request(sink.hook("/ok/p%d" % k), data=body, headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()
    return due_wall


def single_config(path, state, sink_url, dues):
    """One reminder per instant in dues (epoch seconds, whole), each alone:
    its own department and webhook, a meeting at the next minute at least a
    minute later, reminded exactly that many seconds before (remind = Ns)."""
    out = ["[tandem]\ntimezone = UTC\ndomain = bench.example\nstate_dir = %s\nlisten = off\n\n" % state]
    # A joint meeting needs two departments: the other one's reminder goes
    # to the console (standard output), after the webhook's.
    out.append("[department:zz]\nchat = console\n\n")
    for k, due in enumerate(dues):
        start = (due + 60 + 59) // 60 * 60
        st = datetime.datetime.fromtimestamp(start, datetime.timezone.utc)
        out.append("[department:s%d]\nchat = generic\nwebhook = %s/ok/s%d\n\n" % (k, sink_url, k))
        out.append("[meeting:s%d]\ntitle = Single %d\ndepartments = s%d, zz\ncadence = weekly\nday = %s\ntime = %s\n"
                   "timezone = UTC\nstart = %s\nduration = 30m\nremind = %ds\n\n" % (
                       k, k, k, st.strftime("%A").lower(), st.strftime("%H:%M"), st.strftime("%Y-%m-%d"), start - due))
    with open(path, "w") as f:
        f.write("".join(out))
    os.chmod(path, 0o600)


def bench_single_alone():
    sink = Sink(backlog=511).start()
    try:
        bench_single(sink, time.time() - time.monotonic(), 50 if QUICK else 200)
    finally:
        sink.stop()


def bench_single(sink, mono_off, n):
    """n reminders each due alone, one a second, at instants known to the
    second; beside them, half a second later each, the same number of posts
    by the sleep-and-post script."""
    state = os.path.join(WORK, "single-state")
    cfg = os.path.join(WORK, "single.ini")
    first = int(time.time()) + 30
    dues = [first + k for k in range(n)]
    single_config(cfg, state, sink.url, dues)
    log("single reminders: %d, one a second from %s, and as many posts by the script half a second after each"
        % (n, time.strftime("%H:%M:%S", time.gmtime(first))))
    d = Daemon(cfg)
    d.wait_line(r"^notify: READY=1")

    def poster():
        for k, due in enumerate(dues):
            at = due + 0.5
            time.sleep(max(0, at - time.time()))
            body = json.dumps({"type": "reminder", "meeting": "q%d" % k, "text": "reminder %d" % k}).encode()
            req = urllib.request.Request(sink.hook("/ok/q%d" % k), data=body, headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=10).read()
    t = threading.Thread(target=poster)
    t.start()
    t.join()
    ok = sink.wait(lambda rs: sum(1 for r in rs if r.path.startswith("/ok/s")) >= n, 30)
    d.stop()
    lat = [(r.time + mono_off - dues[int(r.path.split("/ok/s")[1])]) * 1000 for r in sink.requests()
           if r.path.startswith("/ok/s")]
    plat = [(r.time + mono_off - dues[int(r.path.split("/ok/q")[1])] - 0.5) * 1000 for r in sink.requests()
            if r.path.startswith("/ok/q")]
    if not ok:
        NOTES.append("single reminders: only %d of %d received" % (len(lat), n))
    for name, p in (("p50", 50), ("p99", 99), ("max", 100)):
        tv, pv = pct(lat, p), pct(plat, p)
        row("4 Timeliness", "one reminder due alone (%d of them, a second apart): %s delay due→sink" % (len(lat), name),
            "%.2f ms" % tv, "python sleep+urllib poster", "%.2f ms" % pv, fmt_ratio(tv, pv))
    NOTES.append("single reminders: each due at a whole second (its meeting a minute or two later, remind = Ns), alone on "
                 "its webhook; tandem records the attempt (synchronous=NORMAL) before the request and the outcome "
                 "(synchronous=FULL) after it; the script keeps no record")


def bench_delivery():
    # A real server's listen backlog (nginx's default is 511), not the
    # test sink's 128.
    sink = Sink(backlog=511).start()
    mono_off = time.time() - time.monotonic()  # wall = monotonic + mono_off
    now = datetime.datetime.now(datetime.timezone.utc)
    due = (now + datetime.timedelta(seconds=25)).replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    state = os.path.join(WORK, "deliv-state")
    cfg = os.path.join(WORK, "deliv.ini")
    delivery_config(cfg, state, sink.url, due)
    log("delivery: 1000 reminders due at %s (1000 hooks), 1000 at +60 s (100 hooks); waiting on the real clock"
        % due.strftime("%H:%M:%S"))
    d = Daemon(cfg)
    d.wait_line(r"Next reminder")
    due_wall = due.timestamp()
    ok_t = sink.wait(lambda rs: sum(1 for r in rs if r.path.startswith("/ok/t")) >= 1000,
                     due_wall - time.time() + 60)
    tre = [r for r in sink.requests() if r.path.startswith("/ok/t")]
    lat = [(r.time + mono_off - due_wall) * 1000 for r in tre]
    ok_b = sink.wait(lambda rs: sum(1 for r in rs if r.path.startswith("/ok/b")) >= 1000,
                     due_wall + 60 - time.time() + 90)
    bre = [r for r in sink.requests() if r.path.startswith("/ok/b")]
    d.stop()
    early = [x for x in lat if x < -5]
    if early:
        NOTES.append("timeliness: %d reminders arrived before their due instant (min %.0f ms)" % (len(early), min(early)))
    # pacing check on the burst: minimum gap between two requests to one hook
    gaps = []
    byhook = {}
    for r in bre:
        byhook.setdefault(r.path, []).append(r.time)
    for ts in byhook.values():
        ts.sort()
        gaps += [b - a for a, b in zip(ts, ts[1:])]
    # the alternative for timeliness
    log("timeliness alternative: python time.sleep + urllib sequential poster")
    p_due = python_poster(sink, 1000, 2.0)
    sink.wait_count(1000, 60, None)
    pre = [r for r in sink.requests() if r.path.startswith("/ok/p")]
    plat = [(r.time + mono_off - p_due) * 1000 for r in pre]
    sink.stop()
    NOTES.append("timeliness: meeting times are whole minutes, so the 1000 reminders fall due at one instant (a minute "
                 "boundary on the real clock), each on its own webhook so that pacing plays no part, all on one host "
                 "(the sink, listen backlog 511 like nginx's); tandem keeps at most 16 connections to a host and "
                 "reuses them; the alternative posts the same number of JSON bodies to the same sink, one after "
                 "another, but keeps no ledger (tandem records each attempt, and each outcome synced)")
    if not ok_t:
        NOTES.append("timeliness: only %d of 1000 reminders received" % len(tre))
    if lat:
        for name, p in (("p50", 50), ("p99", 99), ("max", 100)):
            tv, pv = pct(lat, p), pct(plat, p)
            row("4 Timeliness", "1000 reminders due at one instant, 1000 webhooks: %s delay due→sink (%d received)" % (name, len(lat)),
                "%.0f ms" % tv, "python sleep+urllib poster", "%.0f ms" % pv, fmt_ratio(tv, pv))
    if bre:
        last = (max(r.time for r in bre) + mono_off - (due_wall + 60))
        row("5 Burst", "1000 reminders, 100 webhooks: due → last delivered (%d received)" % len(bre),
            "%.2f s" % last, "pacing minimum (10/hook at 1/s)", "9.00 s", fmt_ratio(last, 9.0))
        if gaps:
            row("5 Burst", "smallest gap between two requests to one webhook", "%.3f s" % min(gaps),
                "pacing rule", "1.000 s", "%.3f" % (min(gaps) / 1.0))
    if not ok_b:
        NOTES.append("burst: only %d of 1000 reminders received" % len(bre))


# ---------------------------------------------------------------- 6. footprint
def healthz_prober(port, stop, worst):
    """Asks /healthz over and over; worst[0] is the longest wait for an answer."""
    while not stop.is_set():
        t = time.monotonic()
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=30) as r:
                r.read()
        except urllib.error.HTTPError:
            pass
        except OSError:
            time.sleep(0.01)
            continue
        worst[0] = max(worst[0], time.monotonic() - t)


def bench_footprint():
    cfg = os.path.join(WORK, "foot.ini")
    state = os.path.join(WORK, "foot-state")
    port = free_port()
    gen(cfg, "--meetings", 5000, "--departments", 1000, "--state", state, "--listen", "127.0.0.1:%d" % port)
    reps = 3
    starts, scheduled, restarts, published, reloads, stalls, rss, hwm = [], [], [], [], [], [], [], []
    for i in range(reps):
        log("footprint: start-up and reload, rep %d" % (i + 1))
        shutil.rmtree(state, ignore_errors=True)
        d = Daemon(cfg)
        starts.append(d.wait_line(r"^notify: READY=1", timeout=300) - d.t0)
        scheduled.append(d.wait_line(r"^notify: STATUS=Next reminder", timeout=300) - d.t0)
        published.append(d.wait_line(r"^<[0-7]>(published|wrote) \d+ feeds", timeout=300) - d.t0)
        time.sleep(1.0)
        s = proc_stats(d.p.pid)
        rss.append(s[3])
        hwm.append(s[4])
        # the same config again: SIGHUP -> RELOADING=1 ... READY=1, with
        # /healthz asked all the while
        n = len(d.lines)
        stop, worst = threading.Event(), [0.0]
        prober = threading.Thread(target=healthz_prober, args=(port, stop, worst))
        prober.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        d.p.send_signal(signal.SIGHUP)
        d.wait_line(r"^notify: RELOADING=1", after=n, timeout=300)
        reloads.append(d.wait_line(r"^notify: READY=1", after=n, timeout=300) - t0)
        d.wait_line(r"^<[0-7]>(published|wrote) \d+ feeds", after=n, timeout=300)
        time.sleep(0.3)
        stop.set()
        prober.join()
        stalls.append(worst[0])
        d.stop()
        # a restart on the state of the last run: the feeds are written already
        d = Daemon(cfg)
        restarts.append(d.wait_line(r"^notify: READY=1", timeout=300) - d.t0)
        d.stop()
    # the alternative: one python-icalendar generation of the same feed
    pcmd = [PY, os.path.join(HERE, "gen_python.py"), cfg, "-o", os.path.join(WORK, "foot-python.ics")]
    pt = []
    for _ in range(reps):
        t0 = time.monotonic()
        subprocess.run(pcmd, check=True)
        pt.append(time.monotonic() - t0)
    pr = peak_rss_kb(pcmd, reps)
    med = statistics.median
    alt, altv = "python3-icalendar: generate same feed once", "%.2f s" % med(pt)
    sec = "6 Footprint (1000 depts, 5000 meetings)"
    row(sec, "start-up: exec → READY=1 (sd_notify), first start (median of %d)" % reps, "%.3f s" % med(starts),
        alt, altv, fmt_ratio(med(starts), med(pt)))
    row(sec, "exec → reminders scheduled (STATUS= names the next; after READY; median of %d)" % reps,
        "%.3f s" % med(scheduled), alt, altv, fmt_ratio(med(scheduled), med(pt)))
    row(sec, "start-up: exec → READY=1, restart with the feeds on disk (median of %d)" % reps, "%.3f s" % med(restarts),
        alt, altv, fmt_ratio(med(restarts), med(pt)))
    row(sec, "exec → all 1001 feeds published (after READY; median of %d)" % reps, "%.3f s" % med(published),
        alt, altv, fmt_ratio(med(published), med(pt)))
    row(sec, "reload of the same config: SIGHUP → READY=1 (median of %d)" % reps, "%.3f s" % med(reloads),
        alt, altv, fmt_ratio(med(reloads), med(pt)))
    row(sec, "longest wait for /healthz during a reload (median of %d)" % reps, "%.3f s" % med(stalls),
        "-", "-", "-")
    row(sec, "resident memory once the feeds are published (VmRSS, median of %d)" % reps, "%.1f MiB" % (med(rss) / 1024),
        "python3-icalendar: peak RSS", "%.1f MiB" % (pr / 1024), fmt_ratio(med(rss), pr))
    row(sec, "peak resident memory (VmHWM, median of %d)" % reps, "%.1f MiB" % (med(hwm) / 1024),
        "python3-icalendar: peak RSS", "%.1f MiB" % (pr / 1024), fmt_ratio(med(hwm), pr))


def main():
    t_start = time.monotonic()
    mach = machine()
    idle_secs = 30 if QUICK else 60
    steps = [("feed generation", bench_feedgen), ("feed serving", bench_serving),
             ("idle cost", lambda: bench_idle(idle_secs)), ("timeliness and burst", bench_delivery),
             ("single reminders", bench_single_alone),
             ("footprint", bench_footprint)]
    only = os.environ.get("BENCH_ONLY")
    for name, fn in steps:
        if only and name not in only.split(","):
            MISSING.append("%s: skipped (BENCH_ONLY)" % name)
            continue
        try:
            fn()
        except Exception as e:  # report and go on
            MISSING.append("%s: failed: %s" % (name, str(e).splitlines()[0] if str(e) else repr(e)))
            log("FAILED", name, e)
        finally:
            for p in STARTED:  # SIGTERM first: a SIGKILLed nginx master orphans its worker
                if p.poll() is None:
                    p.terminate()
                    try:
                        p.wait(10)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
            STARTED.clear()
    print("# tandem benchmarks\n")
    print("Run %s UTC, %.0f s. Machine: %s.\n" % (time.strftime("%Y-%m-%d %H:%M", time.gmtime()), time.monotonic() - t_start, mach))
    print("Ratio = tandem ÷ alternative (for requests/s higher is better; for everything else lower is better).\n")
    print("| Benchmark | Metric | tandem | Alternative | Alternative's value | Ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in ROWS:
        print("| %s |" % " | ".join(r))
    if NOTES or MISSING:
        print()
        for n in NOTES:
            print("- note: " + n)
        for m in MISSING:
            print("- missing: " + m)
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
