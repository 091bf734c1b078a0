#!/usr/bin/env python3
"""Orchestra under load: log rotation and `logs -f` while every service floods its log, and
a fleet of 1000 services started and stopped. See bench/README.md; `./bench/run load`.

Rotation: BENCH_LOAD_SERVICES (200) services each run `while :; do echo line; done` with
`logs: {max_size: BENCH_LOAD_MAX_SIZE (1000000), keep: 2}` for BENCH_LOAD_SECONDS (60): the
issue's 5 MB files take minutes to fill at this rate, 1 MB ones are rotated within the run. Every 5 s the logs folder
is measured: all its files together against the bound services × (keep + 1) × max_size,
and the current files' sizes (median, largest).

`logs -f` under that load: `orchestra logs -f -n 100` of 60 of the services, its output read
by a slow reader (16 KiB every 16 ms, about 1 MB/s); after 10 s its peak RSS (VmHWM), the
lines it printed after the history, the skip notices, then SIGINT and the time until it has
exited. Three runs, medians.

Fleet: BENCH_LOAD_FLEET (1000) services running `sleep`; the time `orchestra start` takes
to return with all of them running, the daemon's RSS, and the time `orchestra stop` takes.

The machine's load average is recorded with every figure: other work shares the cores.
"""

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from results import RESULTS, write_section

ROOT = Path(__file__).resolve().parent.parent
ORCHESTRA = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "orchestra"
SERVICES = int(os.environ.get("BENCH_LOAD_SERVICES", "200"))
SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "60"))
FLEET = int(os.environ.get("BENCH_LOAD_FLEET", "1000"))
MAX_SIZE = int(os.environ.get("BENCH_LOAD_MAX_SIZE", "1000000"))
KEEP = 2
FOLLOWED, FOLLOW_SECONDS, FOLLOW_RUNS = 60, 10, 3
MIB = 1 << 20


def log(msg):
    print(f"[load] {msg}", file=sys.stderr, flush=True)


def loadavg():
    return float(Path("/proc/loadavg").read_text().split()[0])


def project(n, run, orchestra_yml=""):
    d = Path(tempfile.mkdtemp(prefix="bench-load-"))
    (d / "orchestra.yml").write_text(orchestra_yml)
    for i in range(n):
        s = d / f"s{i:04}"
        s.mkdir()
        (s / "service.yml").write_text(f"run: {run!r}\n".replace("'", '"'))
    return d


def cli(d, *args, **kw):
    return subprocess.run([str(ORCHESTRA), "-C", str(d), *args], check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def daemon_pid(d):
    out = subprocess.run(["pgrep", "-f", f"orchestra daemon --state-dir {d}/.orchestra"],
                         stdout=subprocess.PIPE, text=True).stdout.split()
    return int(out[0]) if out else None


def status_kib(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def log_sizes(d):
    """All the log files' bytes, and the current (.log) files' sizes."""
    total, live = 0, []
    for f in (d / ".orchestra" / "logs").iterdir():
        try:
            size = f.stat().st_size
        except FileNotFoundError:
            continue  # rotated away while listing
        total += size
        if f.name.endswith(".log"):
            live.append(size)
    return total, live


def follow_once(d):
    """`logs -f -n 100` of FOLLOWED services into a slow reader; returns its figures."""
    names = [f"s{i:04}" for i in range(FOLLOWED)]
    p = subprocess.Popen([str(ORCHESTRA), "-C", str(d), "logs", "-f", "-n", "100", *names],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         env={**os.environ, "NO_COLOR": "1"})
    seen = {"lines": 0, "skips": 0, "first_live": None}
    t0 = time.monotonic()
    history = FOLLOWED * 100

    def read():
        rest = b""
        while True:
            chunk = p.stdout.read1(16 << 10)
            if not chunk:
                return
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                seen["lines"] += 1
                if b"[orchestra] " in line and b": skipped " in line:
                    seen["skips"] += 1
                if seen["lines"] == history + 1:
                    seen["first_live"] = time.monotonic() - t0
            time.sleep(0.016)  # the slow reader: about 1 MB/s

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(FOLLOW_SECONDS)  # following for a while is the measurement
    peak = status_kib(p.pid, "VmHWM")
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    while p.poll() is None:
        if time.monotonic() - sent > 120:
            p.kill()
            break
        time.sleep(0.001)
    ended = time.monotonic() - sent
    return {"peak_mib": peak / 1024, "ctrl_c_ms": ended * 1000, "live": seen["lines"] - history,
            "skips": seen["skips"], "first_live": seen["first_live"], "code": p.returncode}


def rotation():
    yml = f"logs: {{ max_size: {MAX_SIZE}, keep: {KEEP} }}\n"
    d = project(SERVICES, "while :; do echo line; done", yml)
    bound = SERVICES * (KEEP + 1) * MAX_SIZE
    try:
        t0 = time.monotonic()
        cli(d, "start", "-q")
        log(f"{SERVICES} busy writers started in {time.monotonic() - t0:.1f} s")
        samples = []
        t0 = time.monotonic()
        while time.monotonic() - t0 < SECONDS:
            time.sleep(5)  # sampling period
            total, live = log_sizes(d)
            samples.append((time.monotonic() - t0, total, statistics.median(live), max(live), loadavg()))
            log(f"{samples[-1][0]:5.0f} s: {total / 1e9:.2f} GB in all (bound {bound / 1e9:.1f} GB), "
                f"live median {samples[-1][2] / MIB:.1f} MiB, max {samples[-1][3] / MIB:.1f} MiB, load {samples[-1][4]:.1f}")
        if os.environ.get("BENCH_LOAD_KEEP"):
            log(f"project kept in {d}")
        follows = []
        for _ in range(FOLLOW_RUNS):
            follows.append(follow_once(d))
            follows[-1]["load"] = loadavg()
            log(f"logs -f: {follows[-1]}")
        t0 = time.monotonic()
        cli(d, "stop", "-q", timeout=600)
        stop = time.monotonic() - t0
        return {"samples": samples, "bound": bound, "follows": follows, "stop": stop}
    finally:
        subprocess.run([str(ORCHESTRA), "-C", str(d), "stop", "-q"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        if not os.environ.get("BENCH_LOAD_KEEP"):
            shutil.rmtree(d, ignore_errors=True)


def fleet():
    d = project(FLEET, "exec sleep 100000")
    try:
        load_before = loadavg()
        t0 = time.monotonic()
        cli(d, "start", "-q", timeout=600)
        start = time.monotonic() - t0
        pid = daemon_pid(d)
        time.sleep(2)  # let the start's own work settle before reading its memory
        rss = status_kib(pid, "VmRSS") / 1024 if pid else float("nan")
        t0 = time.monotonic()
        cli(d, "stop", "-q", timeout=600)
        stop = time.monotonic() - t0
        return {"start": start, "stop": stop, "rss_mib": rss, "load": (load_before, loadavg())}
    finally:
        subprocess.run([str(ORCHESTRA), "-C", str(d), "stop", "-q"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(d, ignore_errors=True)


def report(rot, fl):
    day = time.strftime("%Y-%m-%d")
    bound = rot["bound"]
    out = [f"Measured {day} on 2 cores shared with other work (load averages given with each figure); "
           f"release build.", ""]
    out += [f"### Rotation under {SERVICES} busy writers",
            "",
            f"{SERVICES} services each running `while :; do echo line; done` with "
            f"`logs: {{max_size: {MAX_SIZE}, keep: {KEEP}}}` for {SECONDS} s (a shorter run than the issue's "
            f"7 minutes); bound = {SERVICES} × {KEEP + 1} × {MAX_SIZE / 1e6:.0f} MB = {bound / 1e9:.1f} GB.",
            "",
            "| after | all log files | of the bound | live median | live max | load average |",
            "|---|---|---|---|---|---|"]
    for at, total, med, mx, load in rot["samples"]:
        out.append(f"| {at:.0f} s | {total / 1e9:.2f} GB | {total / bound:.2f}× | {med / 1e6:.1f} MB | "
                   f"{mx / 1e6:.1f} MB | {load:.1f} |")
    peak = max(s[1] for s in rot["samples"])
    out += ["", f"Peak: {peak / 1e9:.2f} GB, {peak / bound:.2f}× the bound (target: within 2×). "
                f"`stop` of the flooding fleet: {rot['stop']:.2f} s.", ""]
    f = rot["follows"]
    med = lambda k: statistics.median(x[k] for x in f)
    firsts = [x["first_live"] for x in f if x["first_live"] is not None]
    out += [f"### `logs -f` under that load",
            "",
            f"`orchestra logs -f -n 100` of {FOLLOWED} of the busy services, read by a slow reader "
            f"(about 1 MB/s) for {FOLLOW_SECONDS} s, then SIGINT; {len(f)} runs.",
            "",
            "| run | peak RSS (VmHWM) | first live line after | live lines | skip notices | SIGINT → exit | exit code | load average |",
            "|---|---|---|---|---|---|---|---|"]
    for i, x in enumerate(f, 1):
        first = f"{x['first_live']:.2f} s" if x["first_live"] is not None else "none"
        out.append(f"| {i} | {x['peak_mib']:.1f} MiB | {first} | {x['live']} | {x['skips']} | "
                   f"{x['ctrl_c_ms']:.0f} ms | {x['code']} | {x['load']:.1f} |")
    out += ["", f"Median: peak RSS {med('peak_mib'):.1f} MiB (target ≤ 64 MB), Ctrl-C {med('ctrl_c_ms'):.0f} ms "
                f"(target ≤ 200 ms)" + (f", first live line {statistics.median(firsts):.2f} s" if firsts else "") + ".", ""]
    out += [f"### {FLEET} services",
            "",
            f"{FLEET} services running `sleep` (no readiness probe): `orchestra start` until it returns, "
            f"the daemon's RSS then, `orchestra stop` until it returns. Load average "
            f"{fl['load'][0]:.1f} before, {fl['load'][1]:.1f} after.",
            "",
            "| start | stop | daemon RSS |",
            "|---|---|---|",
            f"| {fl['start']:.2f} s | {fl['stop']:.2f} s | {fl['rss_mib']:.1f} MiB |",
            "",
            "The issue measured 3.1 s, 0.35 s and 23 MB before its fixes."]
    return "\n".join(out)


def main():
    if not ORCHESTRA.exists():
        sys.exit(f"build first: cargo build --release -p orchestra-cli ({ORCHESTRA} missing)")
    only = sys.argv[1:]
    # The fleet first: the busy writers leave the load average high for minutes.
    fl = fleet() if not only or "fleet" in only else None
    rot = rotation() if not only or "rotation" in only else None
    if rot and fl:
        write_section("Load", report(rot, fl))
        log(f"written to {RESULTS}")
    else:
        print(rot or fl)


if __name__ == "__main__":
    main()
