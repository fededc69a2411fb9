#!/usr/bin/python3
"""Writes a tandem config for the benchmarks.

  genconf.py OUT --meetings N [--departments D] [--state DIR] [--listen ADDR]
             [--webhooks URLPREFIX --hooks H] [--at HH:MM --date YYYY-MM-DD --remind 1m]

Meeting i (0-based): title "Joint meeting i", departments d(i mod D) and
d(i+1 mod D), weekly on one or two weekdays, at a time and in a zone chosen
from i, 45 minutes, from 2026-01-05, with a location and a description.
With --at/--date every meeting instead takes place once-weekly on that date's
weekday at that UTC time (for the delivery benchmarks).
With --webhooks, department k posts (chat = generic) to URLPREFIX/ok/h<k mod H>;
otherwise every department uses the console.
"""
import argparse
import datetime

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC"]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--meetings", type=int, required=True)
    ap.add_argument("--departments", type=int, default=0)
    ap.add_argument("--state", default="./state")
    ap.add_argument("--listen", default="off")
    ap.add_argument("--webhooks")
    ap.add_argument("--hooks", type=int, default=0)
    ap.add_argument("--at")
    ap.add_argument("--date")
    ap.add_argument("--remind", default="15m")
    a = ap.parse_args()
    n = a.meetings
    d = a.departments or max(2, min(n, 1000) // 5 if n >= 10 else 2)
    out = []
    w = out.append
    w("[tandem]\ntimezone = Europe/Berlin\ncalendar_name = Joint meetings\ndomain = bench.example\n")
    w("state_dir = %s\nlisten = %s\n\n" % (a.state, a.listen))
    for k in range(d):
        w("[department:d%d]\nname = Department %d\ntimezone = %s\n" % (k, k, ZONES[k % len(ZONES)]))
        w("email = d%d@bench.example\n" % k)
        if a.webhooks:
            w("chat = generic\nwebhook = %s/ok/h%d\n" % (a.webhooks, k % (a.hooks or d)))
        w("\n")
    for i in range(n):
        w("[meeting:m%d]\ntitle = Joint meeting %d\n" % (i, i))
        w("departments = d%d, d%d\n" % (i % d, (i + 1) % d))
        if a.at:
            wd = datetime.date.fromisoformat(a.date).strftime("%A").lower()
            w("cadence = weekly\nday = %s\ntime = %s\ntimezone = UTC\nstart = %s\n" % (wd, a.at, a.date))
            w("duration = 30m\nremind = %s\n\n" % a.remind)
            continue
        days = DAYS[i % 5] if i % 3 else "%s, %s" % (DAYS[i % 5], DAYS[(i + 2) % 5])
        w("cadence = weekly\nday = %s\n" % days)
        w("time = %02d:%02d\nduration = 45m\n" % (8 + i % 9, (i * 15) % 60))
        w("timezone = %s\nstart = 2026-01-05\n" % ZONES[i % len(ZONES)])
        w("location = Room %d, https://meet.example.com/m%d\n" % (i % 40, i))
        w("description = Agenda item %d: pipeline review and planning.\n" % i)
        w("remind = %s\n\n" % a.remind)
    with open(a.out, "w") as f:
        f.write("".join(out))
    import os
    os.chmod(a.out, 0o600)


if __name__ == "__main__":
    main()
