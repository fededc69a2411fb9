#!/usr/bin/python3
"""The README's first command on a fresh Debian 12 (minbase), word for word.

In a container made from the cached `debootstrap --variant=minbase` root,
with a copy of this source tree (the files git tracks, as they are now):

  1. the README's "Quick start" command up to `build/tandem ... run`
     (scripts/install-deps, cmake, the build), with the network: it must
     build with nothing but what scripts/install-deps installs, and cmake
     must say that the tests are off and why;
  2. the rest of the command, `build/tandem -c config/example.ini run`, in
     the background on a private network: /feeds/all.ics must answer on
     the container's loopback; then Ctrl-C (SIGINT) must stop it cleanly;
  3. the README's "Under systemd" build and install line, without the
     network: it must need nothing more, and install the binary, the unit,
     the sysusers and tmpfiles snippets and the config (0640).

  test_quickstart.py --source SOURCE_DIR

Runs only with TANDEM_CONTAINER_TESTS=1 (see container.py).
"""

import argparse
import contextlib
import fcntl
import os
import re
import shlex
import signal
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import container  # noqa: E402
from container import log  # noqa: E402

WORKDIR = "/root/tandem"


def readme_commands(source):
    """(the Quick start command, the first line of "Under systemd"), as the
    README has them."""
    with open(os.path.join(source, "README.md"), encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)
    quick = [b.strip() for b in blocks if "build/tandem -c config/example.ini run" in b]
    under = [b for b in blocks if "cmake --install build" in b]
    if not quick or not under:
        raise AssertionError("README.md: no Quick start command or no \"Under systemd\" block")
    install = under[0].splitlines()[0].split("#")[0].strip()
    return quick[0], install


@contextlib.contextmanager
def apt_archive_cache():
    """The .deb files downloaded by earlier runs (bound into the container
    as its /var/cache/apt/archives: the packages are installed afresh, only
    the download is saved), one run at a time."""
    path = os.path.join(container.CACHE, "apt-archives")
    os.makedirs(os.path.join(path, "partial"), exist_ok=True)
    with open(os.path.join(container.CACHE, "apt-archives.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield path


def copy_source(source, dest):
    files = subprocess.run(["git", "-C", source, "ls-files", "-z"], capture_output=True, check=True).stdout
    names = [n for n in files.split(b"\0") if n and os.path.lexists(os.path.join(source.encode(), n))]
    os.makedirs(dest)
    pack = subprocess.Popen(["tar", "-C", source, "--null", "--no-recursion", "-T", "-", "-cf", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    unpack = subprocess.Popen(["tar", "-C", dest, "-xf", "-"], stdin=pack.stdout)
    pack.stdout.close()
    pack.stdin.write(b"\0".join(names) + b"\0")
    pack.stdin.close()
    if pack.wait() != 0 or unpack.wait() != 0:
        raise RuntimeError("cannot copy the source tree into the container")
    log("copied %d files of %s (git ls-files) to %s" % (len(names), source, dest))


def descendants(pid):
    out = []
    for c in container.children(pid):
        out += [c] + descendants(c)
    return out


def comm(pid):
    with contextlib.suppress(OSError), open("/proc/%d/comm" % pid, encoding="utf-8") as f:
        return f.read().strip()
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    container.require_machine("test_quickstart.py (the README's first command on a fresh Debian 12)")
    quick, install = readme_commands(args.source)
    build, _sep, run_cmd = quick.rpartition(" && ")
    log("README: %s" % quick)

    base = container.minbase_root()
    container.require_nspawn(base)
    with container.scratch_copy(base, "quickstart") as root:
        copy_source(args.source, root + WORKDIR)

        log("== 1. %s" % build)
        t = time.monotonic()
        with apt_archive_cache() as debs:
            p = container.nspawn_run(root, ["/bin/sh", "-c", build], network=True, chdir=WORKDIR,
                                     binds=["%s:/var/cache/apt/archives" % debs], timeout=2400, check=False,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(p.stdout, flush=True)
        log("took %.0fs" % (time.monotonic() - t))
        if p.returncode != 0:
            return fail("the README's first command failed (exit %d) on a fresh Debian 12" % p.returncode)
        if not re.search(r"^install-deps: installing \d+ packages", p.stdout, re.M):
            return fail("scripts/install-deps did not say what it installs")
        if not re.search(r"^-- Tests are off: cmocka", p.stdout, re.M):
            return fail("cmake did not say that the tests are off, and why")

        log("== 2. %s (in the background), GET /feeds/all.ics, Ctrl-C" % run_cmd)
        box = container.Container(root, argv=shlex.split(run_cmd), chdir=WORKDIR).start()
        try:
            def feed():
                if box.proc.poll() is not None:
                    raise AssertionError("tandem exited with %d:\n%s" % (box.proc.returncode, box.output()))
                code, _h, body = box.netns(container.http_get, "http://127.0.0.1:8470/feeds/all.ics")
                return (code, body) if code is not None else None
            code, body = container.wait_for(feed, 60, "tandem to serve /feeds/all.ics")
            if code != 200 or "BEGIN:VCALENDAR" not in body or "BEGIN:VEVENT" not in body:
                return fail("GET /feeds/all.ics: %s\n%s" % (code, body[:2000]))
            log("/feeds/all.ics: 200, %d bytes, %d events" % (len(body), body.count("BEGIN:VEVENT")))
            tandem = [pid for pid in descendants(box.pid1) if comm(pid) == "tandem"]
            if len(tandem) != 1:
                return fail("no single tandem process in the container: %r" % tandem)
            os.kill(tandem[0], signal.SIGINT)
            container.wait_for(lambda: box.proc.poll() is not None, 30, "tandem to stop after Ctrl-C")
            out = box.output()
            if box.proc.returncode != 0 or "stopped" not in out:
                return fail("after Ctrl-C: exit %s\n%s" % (box.proc.returncode, out))
            log("stopped by Ctrl-C, exit 0")
        finally:
            box.stop()

        log("== 3. %s (without the network)" % install)
        container.nspawn_run(root, ["/bin/sh", "-c", install], chdir=WORKDIR, timeout=1200,
                             stdout=subprocess.DEVNULL)
        for path in ("/usr/bin/tandem", "/lib/systemd/system/tandem.service", "/usr/lib/sysusers.d/tandem.conf",
                     "/usr/lib/tmpfiles.d/tandem.conf", "/usr/share/man/man8/tandem.8", "/etc/tandem/tandem.ini"):
            if not os.path.exists(root + path):
                return fail("cmake --install did not install %s" % path)
        mode = stat.S_IMODE(os.stat(root + "/etc/tandem/tandem.ini").st_mode)
        if mode != 0o640:
            return fail("/etc/tandem/tandem.ini has mode %o, not 640" % mode)
        container.nspawn_run(root, ["/usr/bin/tandem", "-c", "/etc/tandem/tandem.ini", "check", "--quiet"],
                             timeout=60)
    log("PASS")
    return 0


def fail(msg):
    print("\nFAIL: %s" % msg, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
