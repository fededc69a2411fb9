"""Debian 12 machines for the tests that need a whole one: a real systemd 252
booted in a container (tests/systemd/test_service.py), and a fresh minbase
system on which the README's commands must work (test_quickstart.py).

Root filesystems come from `debootstrap --variant=minbase bookworm`, from
the Debian archive this machine's apt uses, and are cached in
$TANDEM_TEST_CACHE (default /var/cache/tandem-test): building one takes a
minute or so. A test always works on a throwaway overlay (or copy) of it,
so the cache stays clean; `rm -rf /var/cache/tandem-test` rebuilds.

Containers run under systemd-nspawn with --register=no --keep-unit (this
machine's PID 1 need not be systemd, and there may be no D-Bus), each in a
cgroup of its own (nspawn otherwise puts every container in the same
"payload" cgroup), and commands run in a booted one through nsenter into
its PID 1. Every wait polls with a timeout.

These tests run only when TANDEM_CONTAINER_TESTS=1 (.ci/run sets it), and
exit 77 (ctest: skipped) with the reason where this machine cannot run
containers: not root, no systemd-nspawn, no debootstrap, no archive, or
systemd-nspawn cannot start one here.
"""

import contextlib
import ctypes
import fcntl
import glob
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402  (polling, shared with the integration tests)

SUITE = "bookworm"
CACHE = os.environ.get("TANDEM_TEST_CACHE", "/var/cache/tandem-test")
SKIPPED = 77  # SKIP_RETURN_CODE in tests/CMakeLists.txt
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# What the installed daemon needs at run time on top of minbase: the
# libraries behind scripts/install-deps' -dev packages, and systemd itself.
RUNTIME_PACKAGES = ["systemd", "libical3", "libinih1", "libjansson4", "libcurl4", "libsystemd0", "libsqlite3-0",
                    "libmicrohttpd12", "zlib1g", "tzdata", "ca-certificates"]

T0 = time.monotonic()


def log(msg):
    print("[%6.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


def skip(reason):
    print("SKIP: %s" % reason, flush=True)
    sys.exit(SKIPPED)


def require_machine(what):
    """Skips (exit 77) unless containers are asked for and possible here."""
    if os.environ.get("TANDEM_CONTAINER_TESTS") != "1":
        skip("%s boots a Debian 12 container (minutes the first time): set TANDEM_CONTAINER_TESTS=1 "
             "to run it (.ci/run does)" % what)
    if os.geteuid() != 0:
        skip("%s needs root (debootstrap, systemd-nspawn)" % what)
    missing = [t for t in ("debootstrap", "systemd-nspawn", "nsenter") if not shutil.which(t)]
    if missing:
        skip("%s needs %s (apt-get install debootstrap systemd-container)" % (what, ", ".join(missing)))


def run(argv, timeout, check=True, quiet=False, **kw):
    """Runs a command on this machine, logging it and how long it took."""
    t = time.monotonic()
    if not quiet:
        log("$ " + " ".join(argv))
    p = subprocess.run(argv, timeout=timeout, **kw)
    if not quiet:
        log("  exit %d after %.1fs" % (p.returncode, time.monotonic() - t))
    if check and p.returncode != 0:
        raise RuntimeError("%s failed with exit status %d%s" % (
            argv[0], p.returncode, ":\n" + p.stderr if isinstance(p.stderr, str) else ""))
    return p


# ---- the archive -----------------------------------------------------------

def apt_sources():
    """(URI, suite) pairs of this machine's apt sources for SUITE's main
    component (deb822 .sources and one-line .list files alike)."""
    found = []
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        with contextlib.suppress(OSError), open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)", line)
                if m and m.group(2).startswith(SUITE) and "main" in m.group(3).split():
                    found.append((m.group(1), m.group(2)))
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with contextlib.suppress(OSError), open(path, encoding="utf-8") as f:
            text = f.read()
        for stanza in re.split(r"\n\s*\n", text):
            fields = dict((k.lower(), v.strip()) for k, v in re.findall(r"^(\S+):[ \t]*(.*)$", stanza, re.M))
            if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
                continue
            if "main" not in fields.get("components", "").split():
                continue
            for uri in fields.get("uris", "").split():
                found += [(uri, s) for s in fields.get("suites", "").split() if s.startswith(SUITE)]
    return found


def mirror():
    for uri, suite in apt_sources():
        if suite == SUITE:
            return uri
    return "http://deb.debian.org/debian"


def sources_list():
    """The container's /etc/apt/sources.list: the same archive, updates and
    security suites as this machine's apt, so that it installs the same
    versions a real Debian 12 machine would."""
    pairs = apt_sources() or [(mirror(), SUITE)]
    return "".join("deb %s %s main\n" % p for p in dict.fromkeys(pairs))


# ---- cached root filesystems -----------------------------------------------

@contextlib.contextmanager
def cache_lock():
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, "lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _recipe_dir(kind, recipe):
    digest = hashlib.sha256(("%s\n%s" % (kind, recipe)).encode()).hexdigest()[:12]
    return os.path.join(CACHE, "%s-%s-%s" % (SUITE, kind, digest))


def _build_cached(kind, recipe, build):
    """CACHE/<suite>-<kind>-<hash of recipe>, built by build(path) once;
    older builds of the same kind are removed. Call under cache_lock()."""
    final = _recipe_dir(kind, recipe)
    if os.path.isdir(final):
        return final
    for old in glob.glob(os.path.join(CACHE, "%s-%s-*" % (SUITE, kind))):
        log("removing the outdated %s" % old)
        shutil.rmtree(old, ignore_errors=True)
    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    t = time.monotonic()
    log("building %s (cached for later runs)" % final)
    build(tmp)
    os.rename(tmp, final)
    log("built %s in %.0fs" % (final, time.monotonic() - t))
    return final


def _debootstrap(path):
    p = run(["debootstrap", "--variant=minbase", SUITE, path, mirror()], timeout=1800, check=False,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        shutil.rmtree(path, ignore_errors=True)
        skip("cannot build a Debian %s root with debootstrap from %s (no access to the archive?):\n%s"
             % (SUITE, mirror(), p.stdout[-3000:]))
    with open(os.path.join(path, "etc/apt/sources.list"), "w") as f:
        f.write(sources_list())
    # debootstrap leaves its packages in the archive cache: a fresh machine
    # has none. And no machine ID: systemd makes one at every boot.
    for deb in glob.glob(os.path.join(path, "var/cache/apt/archives/*.deb")):
        os.unlink(deb)
    with open(os.path.join(path, "etc/machine-id"), "w"):
        pass


def minbase_root():
    """The cached root of a fresh `debootstrap --variant=minbase` Debian 12."""
    with cache_lock():
        return _build_cached("minbase", sources_list(), _debootstrap)


def systemd_root():
    """The cached minbase root with systemd and tandem's run-time libraries."""
    def build(path):
        base = _build_cached("minbase", sources_list(), _debootstrap)
        copy_tree(base, path)
        nspawn_run(path, ["/bin/sh", "-c", "export DEBIAN_FRONTEND=noninteractive && apt-get update -qq && "
                          "apt-get install -y -qq --no-install-recommends " + " ".join(RUNTIME_PACKAGES) +
                          " >/dev/null && apt-get clean"],
                   network=True, timeout=1800)
        with open(os.path.join(path, "etc/machine-id"), "w"):
            pass

    with cache_lock():
        return _build_cached("systemd", sources_list() + " ".join(RUNTIME_PACKAGES), build)


def copy_tree(src, dst):
    run(["cp", "-a", "--reflink=auto", src, dst], timeout=600, quiet=True)


def memory_available():
    with open("/proc/meminfo", encoding="utf-8") as f:
        m = re.search(r"^MemAvailable:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) * 1024 if m else 0


@contextlib.contextmanager
def scratch_copy(root, name):
    """A scratch copy of a cached root, removed afterwards (unless
    TANDEM_KEEP=1): an overlay whose lower layer is the cached root (which
    it never writes), or where overlayfs is not available, a copy."""
    parent = tempfile.mkdtemp(prefix="tandem-%s-" % name, dir="/var/tmp")
    path = os.path.join(parent, "root")
    changes = os.path.join(parent, "changes")
    upper, work = os.path.join(changes, "upper"), os.path.join(changes, "work")
    os.mkdir(path)
    os.mkdir(changes)
    # The changes (a compiler and a build: under 1 GB) in memory where there
    # is plenty: deleting them from a busy disk took half a minute.
    tmpfs = memory_available() > 8 << 30 and not os.environ.get("TANDEM_KEEP") and run(
        ["mount", "-t", "tmpfs", "-o", "size=4g,mode=0755", "tandem-test", changes], timeout=60, check=False,
        quiet=True).returncode == 0
    os.mkdir(upper)
    os.mkdir(work)
    t = time.monotonic()
    p = run(["mount", "-t", "overlay", "overlay", "-o", "lowerdir=%s,upperdir=%s,workdir=%s" % (root, upper, work),
             path], timeout=60, check=False, quiet=True, stderr=subprocess.PIPE, text=True)
    overlay = p.returncode == 0
    if overlay:
        log("%s: an overlay on %s%s" % (path, root, " (changes in memory)" if tmpfs else ""))
    else:
        log("no overlayfs here (%s): copying" % p.stderr.strip())
        os.rmdir(path)
        with cache_lock():
            copy_tree(root, path)
        log("copied %s to %s in %.1fs" % (root, path, time.monotonic() - t))
    try:
        yield path
    finally:
        if overlay:
            run(["umount", path], timeout=120, check=False, quiet=True)
        if tmpfs:
            run(["umount", changes], timeout=120, check=False, quiet=True)
        if os.environ.get("TANDEM_KEEP"):
            log("keeping %s" % parent)
        else:
            run(["rm", "-rf", "--one-file-system", parent], timeout=600, check=False, quiet=True)


# ---- systemd-nspawn ----------------------------------------------------------

def _cgroup_mounts():
    """The mount points of the cgroup hierarchies nspawn uses: the unified
    (cgroup2) one and, on a hybrid host, the named "systemd" one."""
    out = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            pre, post = line.split(" - ", 1)
            fstype, _source, options = post.split()[:3]
            if fstype == "cgroup2" or (fstype == "cgroup" and "name=systemd" in options.split(",")):
                out.append(pre.split()[4])
    return out


class _OwnCgroup:
    """A cgroup and a machine name per container, so that two containers
    (two test runs on one machine) never share nspawn's "payload" cgroup
    or its /run/systemd/nspawn/propagate/<machine> directory."""

    def __init__(self):
        self.paths = []
        self.name = "tandem-test-%d-%d" % (os.getpid(), time.monotonic_ns() % 1000000000)
        for mount in _cgroup_mounts():
            path = os.path.join(mount, self.name)
            with contextlib.suppress(OSError):
                os.mkdir(path)
                self.paths.append(path)

    def enter(self):
        """In the child between fork and exec (preexec_fn)."""
        for path in self.paths:
            with contextlib.suppress(OSError), open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    def remove(self):
        for path in self.paths:
            for d, _dirs, _files in sorted(os.walk(path), key=lambda w: -w[0].count("/")):
                with contextlib.suppress(OSError):
                    os.rmdir(d)


def _nspawn_argv(root, machine, network, binds, chdir, extra, read_only=False):
    argv = ["systemd-nspawn", "--register=no", "--keep-unit", "--quiet", "-D", root, "--machine=" + machine]
    if read_only:
        argv.append("--read-only")
    if not network:
        argv.append("--private-network")  # only lo: no port is shared with this machine
    for b in binds:
        argv.append("--bind=%s" % b)
    if chdir:
        argv.append("--chdir=%s" % chdir)
    argv += ["--setenv=PATH=" + PATH, "--setenv=LANG=C.UTF-8"]
    return argv + extra


def nspawn_run(root, argv, timeout, network=False, binds=(), chdir=None, check=True, read_only=False, **kw):
    """Runs one command in a container (not booted), its output going to
    ours unless kw say otherwise; returns the CompletedProcess."""
    cg = _OwnCgroup()
    try:
        return run(_nspawn_argv(root, cg.name, network, binds, chdir, ["--pipe", "--"] + argv, read_only),
                   timeout=timeout, check=check, stdin=subprocess.DEVNULL, preexec_fn=cg.enter, **kw)
    finally:
        cg.remove()


def require_nspawn(root):
    """Skips (exit 77) where systemd-nspawn cannot start a container here
    (an unprivileged container, a kernel without namespaces, ...)."""
    p = nspawn_run(root, ["/bin/true"], timeout=120, check=False, read_only=True, stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        skip("systemd-nspawn cannot run a container on this machine:\n%s" % p.stdout)


_CLONE_NEWNET = 0x40000000


def _join_netns(pid):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/proc/%d/ns/net" % pid, os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns(%d's network namespace): %s" % (pid, os.strerror(e)))
    finally:
        os.close(fd)


class Container:
    """A container running in the background: booted (systemd as PID 1)
    or one command (`argv`, under nspawn's stub init).

    pid1 is its PID 1 as this machine sees it. Use sh() to run commands in
    it, and netns() to open sockets on its loopback from this process."""

    def __init__(self, root, argv=None, network=False, binds=(), chdir=None, log_path=None):
        self.root = root
        self.argv = argv
        self.network = network
        self.binds = binds
        self.chdir = chdir
        self.log_path = log_path or os.path.join(os.path.dirname(root), "nspawn.log")
        self.proc = None
        self.pid1 = None
        self.cgroup = None

    def start(self, timeout=60):
        extra = ["--boot", "--console=pipe"] if self.argv is None else ["--as-pid2", "--console=pipe", "--"] + self.argv
        self.cgroup = _OwnCgroup()
        argv = _nspawn_argv(self.root, self.cgroup.name, self.network, self.binds, self.chdir, extra)
        log("$ " + " ".join(argv) + " &")
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         preexec_fn=self.cgroup.enter)
        deadline = time.monotonic() + timeout
        while self.pid1 is None:
            if self.proc.poll() is not None:
                raise RuntimeError("systemd-nspawn exited with %d:\n%s" % (self.proc.returncode, self.output()))
            if time.monotonic() > deadline:
                raise RuntimeError("no container PID 1 after %ds:\n%s" % (timeout, self.output()))
            self.pid1 = self._find_pid1()
            time.sleep(0.05)
        log("container PID 1 is %d on this machine" % self.pid1)
        return self

    def _find_pid1(self):
        """nspawn's child that is PID 1 in its own PID namespace."""
        for pid in children(self.proc.pid):
            with contextlib.suppress(OSError), open("/proc/%d/status" % pid, encoding="utf-8") as f:
                m = re.search(r"^NSpid:\s+(.*)$", f.read(), re.M)
                if m and m.group(1).split()[-1] == "1" and len(m.group(1).split()) > 1:
                    return pid
        return None

    def output(self):
        with contextlib.suppress(OSError), open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")
        return ""

    def sh(self, command, timeout=120, check=True, input=None, quiet=False):
        """Runs a shell command in the (booted) container as root; returns
        the CompletedProcess with text stdout and stderr."""
        argv = ["nsenter", "--target", str(self.pid1), "--all", "env", "-i", "PATH=" + PATH, "LANG=C.UTF-8",
                "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "/bin/sh", "-c", command]
        t = time.monotonic()
        p = subprocess.run(argv, timeout=timeout, input=input, capture_output=True, text=True)
        if not quiet:
            log("# %s  -> %d (%.1fs)" % (command, p.returncode, time.monotonic() - t))
        if check and p.returncode != 0:
            raise AssertionError("in the container, `%s` failed with %d:\n%s%s" % (command, p.returncode, p.stdout,
                                                                                    p.stderr))
        return p

    def wait_booted(self, timeout=180):
        """Waits until systemd is PID 1 (nspawn sets the container up
        before it executes it: entering earlier could run a command in
        this machine's mounts) and has finished booting."""
        def comm():
            with contextlib.suppress(OSError), open("/proc/%d/comm" % self.pid1, encoding="utf-8") as f:
                return f.read().strip() == "systemd"
        wait_for(comm, timeout, "systemd as the container's PID 1")

        def state():
            # Early on, systemctl cannot connect yet: ask again.
            s = self.sh("systemctl is-system-running --wait", timeout=timeout, check=False, quiet=True).stdout.strip()
            return s if s in ("running", "degraded") else None
        state = wait_for(state, timeout, "the container to boot:\n" + self.output())
        log("booted: %s" % state)
        if state == "degraded":
            log("booted, degraded:\n" + self.sh("systemctl --failed --no-legend", check=False).stdout)

    def netns(self, fn, *args):
        """Calls fn(*args) in a thread that joined the container's network
        namespace: sockets it opens live on the container's loopback
        (setns() moves the calling thread only). Returns fn's result."""
        box = {}

        def body():
            try:
                _join_netns(self.pid1)
                box["value"] = fn(*args)
            except BaseException as e:  # handed to the caller
                box["error"] = e

        t = threading.Thread(target=body)
        t.start()
        t.join()
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def stop(self, sig=signal.SIGTERM, timeout=90):
        """Stops the container (SIGTERM to nspawn: a booted one shuts down
        in order) and returns nspawn's exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log("the container did not stop in %ds: SIGKILL" % timeout)
                self.proc.kill()
                self.proc.wait()
        self.cgroup.remove()
        return self.proc.returncode


def children(pid):
    out = []
    for path in glob.glob("/proc/%d/task/*/children" % pid):
        with contextlib.suppress(OSError), open(path, encoding="utf-8") as f:
            out += [int(x) for x in f.read().split()]
    return out


def http_get(url, timeout=10):
    """(status, headers, body text) of a GET; (None, None, error) when
    nothing answered."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode("utf-8", "replace")
    except (OSError, urllib.error.URLError) as e:
        return None, None, str(e)


def wait_for(predicate, timeout, what, interval=0.2):
    """Polls predicate() until it returns something true and returns it;
    raises AssertionError naming `what` (text, or a function that says
    it then) after timeout seconds."""
    v = harness.wait_until(predicate, timeout, interval)
    if not v:
        raise AssertionError("timed out after %ds waiting for %s" % (timeout, what() if callable(what) else what))
    return v


if __name__ == "__main__":
    # Manual use: prints the cached roots' paths, building them if needed.
    require_machine("container.py")
    print(minbase_root())
    print(systemd_root())
