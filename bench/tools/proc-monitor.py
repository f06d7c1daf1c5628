#!/usr/bin/env python3
"""Samples the server under test and the load generator every few seconds while a bench runs (diagnostics only).

Usage: python3 bench/tools/proc-monitor.py [interval_s] > monitor.log   (stop it with Ctrl-C or pkill -f proc-monitor)

Each line: the time, then for the server (Router.Node, else go2rtc) 'R' and the load generator (Router.Bench) 'B':
user and system cores (from /proc/PID/task/*/stat), voluntary+involuntary context switches per second and page
faults per second; the machine's rescheduling (RES) and function-call (CAL) interrupts per second (/proc/interrupts);
TCP segments out per second (nstat); and the server's busiest threads as name:user/system ticks/voluntary switches
per second@CPU. A second line lists the processes that used the most CPU ticks in the interval. It reads /proc and
runs nstat only: no tracing, so it does not change what it measures beyond a few ms of CPU per sample.

The bench's own per-window figures come from bench/Router.Bench/Infra/ProcStats.cs; this script only looks inside
those windows (every few seconds, both processes and the kernel's counters) to see where a window's cost moved.
"""
import os
import re
import subprocess
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def pid_of(pattern):
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


def threads(pid):
    """tid -> (name, utime, stime, voluntary, involuntary, cpu, faults)."""
    result = {}
    if pid is None:
        return result
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return result
    for tid in tids:
        try:
            stat = open(f"/proc/{pid}/task/{tid}/stat").read()
            status = open(f"/proc/{pid}/task/{tid}/status").read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        f = stat[stat.rindex(")") + 2:].split()  # f[0] is field 3 (state)
        vol = int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
        invol = int(re.search(r"nonvoluntary_ctxt_switches:\s+(\d+)", status).group(1))
        result[tid] = (name, int(f[11]), int(f[12]), vol, invol, int(f[36]), int(f[7]) + int(f[9]))
    return result


def interrupts():
    counts = {}
    for line in open("/proc/interrupts"):
        p = line.split()
        if p and p[0].rstrip(":") in ("RES", "CAL"):
            counts[p[0].rstrip(":")] = sum(int(x) for x in p[1:] if x.isdigit())
    return counts


def segments_out():
    out = subprocess.run(["nstat", "-az", "TcpOutSegs"], capture_output=True, text=True).stdout
    m = re.search(r"TcpOutSegs\s+(\d+)", out)
    return int(m.group(1)) if m else 0


def processes():
    ticks = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            s = open(f"/proc/{p}/stat").read()
        except OSError:
            continue
        f = s[s.rindex(")") + 2:].split()
        ticks[p] = (s[s.index("(") + 1:s.rindex(")")], int(f[11]) + int(f[12]))
    return ticks


def delta(cur, old, dt):
    u = s = cs = flt = 0
    busiest = []
    for tid, x in cur.items():
        o = old.get(tid, (x[0], 0, 0, 0, 0, 0, 0))
        du, ds = x[1] - o[1], x[2] - o[2]
        u, s, cs, flt = u + du, s + ds, cs + (x[3] - o[3]) + (x[4] - o[4]), flt + x[6] - o[6]
        busiest.append((du + ds, f"{x[0][:14]}:{du}/{ds}/{(x[3] - o[3]) / dt:.0f}@{x[5]}"))
    busiest.sort(reverse=True)
    return f"u{u / HZ / dt:.3f} s{s / HZ / dt:.3f} cs{cs / dt:.0f} flt{flt / dt:.0f}", [b[1] for b in busiest[:5]]


def main():
    try:
        interval = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    except ValueError:
        interval = float("nan")
    if not 0.5 <= interval <= 3600:  # also refuses NaN and infinity
        sys.exit(f"interval must be 0.5-3600 s, got {sys.argv[1]}")
    prev = None
    prev_procs = processes()
    while True:
        server = pid_of("Router.Node.dll") or pid_of("go2rtc -c")
        bench = pid_of("net10.0/Router.Bench")
        now = (time.time(), server, threads(server), threads(bench), interrupts(), segments_out())
        if prev and prev[1] == server and server:
            dt = now[0] - prev[0]
            r, busiest = delta(now[2], prev[2], dt)
            b, _ = delta(now[3], prev[3], dt)
            irq = " ".join(f"{k}{(v - prev[4].get(k, 0)) / dt:.0f}" for k, v in now[4].items())
            print(f"{time.strftime('%H:%M:%S')} R {r} | B {b} | {irq} segs{(now[5] - prev[5]) / dt:.0f} | {' '.join(busiest)}", flush=True)
        procs = processes()
        top = sorted(((t - prev_procs.get(p, (n, t))[1], n, p) for p, (n, t) in procs.items()), reverse=True)[:4]
        busy = " ".join(f"{n}[{p}]:{d}" for d, n, p in top if d > 0)
        if busy:
            print("   procs " + busy, flush=True)
        prev, prev_procs = now, procs
        time.sleep(interval)


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
