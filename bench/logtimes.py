"""How right `logs` times are, and what keeping them costs: `./bench/run logtimes`.

A log's lines are written by the replica itself (the file is its stdout), so their times
come from the daemon's time index, kept by its log-care thread as the files change
(orchestra-logs `care`). This measures that index against the times the writers read.

Timing: BENCH_TIMES_REPLICAS (200) replicas each write BENCH_TIMES_LINES (50) lines
`<seq> <unix ns>` 100 ms apart (starting at spread offsets), the time read just before
the write. Once every line is in the index, `logs --json` gives each line's `ts`
(milliseconds); the error is `ts - written`, reported as median, p99 and maximum. `ts` is
truncated to the millisecond, so values down to -1 ms mean "on time".

Cost, as CPU time of the daemon's log-care thread (`orchestra-logcare`, from
/proc/<pid>/task/<tid>/stat, in clock ticks):
- while those lines are written, per million lines (every line a write of its own: the
  most looks per line there can be);
- a flood: BENCH_TIMES_FLOOD (1,000,000) numbered lines of 100 bytes from 4 replicas in
  64 KiB writes, from `start` until every log is indexed to its end;
- idle: BENCH_TIMES_IDLE (10) s with the 200 replicas running and writing nothing, for the
  care thread and for the whole daemon.
"""

import calendar
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import logs as logbench
from results import RESULTS, write_section

ROOT = Path(__file__).resolve().parent.parent
ORCHESTRA = Path(os.environ.get("BENCH_ORCHESTRA") or
                 Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "orchestra")
REPLICAS = int(os.environ.get("BENCH_TIMES_REPLICAS", "200"))
LINES = int(os.environ.get("BENCH_TIMES_LINES", "50"))
IDLE = float(os.environ.get("BENCH_TIMES_IDLE", "10"))
FLOOD = int(os.environ.get("BENCH_TIMES_FLOOD", "1000000"))
FLOOD_WRITERS = 4
TICK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def orchestra(work, *args, **kw):
    return subprocess.run([str(ORCHESTRA), "-C", str(work), *args], check=True, **kw)


def daemon_pid(work):
    out = subprocess.run(["pgrep", "-f", f"orchestra daemon --state-dir {work}/.orchestra"],
                         stdout=subprocess.PIPE, text=True).stdout.split()
    if not out:
        raise RuntimeError(f"no daemon runs for {work}")
    return int(out[0])


def ticks(stat):
    """utime + stime from a /proc stat file, in clock ticks."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def care_ticks(pid):
    """CPU of the daemon's log-care thread."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (task / "comm").read_text().startswith("orchestra-logca"):
                return ticks(task / "stat")
        except OSError:
            continue
    raise RuntimeError("no log-care thread in the daemon")


def daemon_ticks(pid):
    """CPU of the whole daemon, every thread."""
    return ticks(Path(f"/proc/{pid}/stat"))


def lines_in(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def indexed(log_path):
    """Whether the index of `log_path` reaches its end."""
    try:
        idx = Path(str(log_path) + ".idx").read_bytes()
        size = log_path.stat().st_size
    except FileNotFoundError:
        return False
    return size > 0 and len(idx) >= 16 and int.from_bytes(idx[-16:-8], "little") == size


def wait(what, cond, deadline=300):
    end = time.monotonic() + deadline
    while not cond():
        if time.monotonic() > end:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def ts_ms(ts):
    """`2026-12-05T03:30:12.345Z` in Unix milliseconds."""
    t = time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")
    return calendar.timegm(t) * 1000 + int(ts[20:23])


def measure_ticks(writer):
    work = Path(tempfile.mkdtemp(prefix="bench-logtimes-"))
    try:
        (work / "orchestra.yml").write_text("")
        (work / "tick").mkdir()
        (work / "tick" / "service.yml").write_text(
            f'scale: {REPLICAS}\nrun: ["{writer}", "ticks", "t", "{LINES}"]\n')
        logs = [work / ".orchestra" / "logs" / f"tick.{i}.log" for i in range(REPLICAS)]
        orchestra(work, "start", "-q")
        pid = daemon_pid(work)
        before = care_ticks(pid)
        wait("every line written", lambda: all(lines_in(p) >= LINES for p in logs))
        wait("every line indexed", lambda: all(indexed(p) for p in logs))
        busy = care_ticks(pid) - before
        before, daemon_before = care_ticks(pid), daemon_ticks(pid)
        time.sleep(IDLE)
        idle, idle_daemon = care_ticks(pid) - before, daemon_ticks(pid) - daemon_before
        out = orchestra(work, "logs", "--json", "tick", stdout=subprocess.PIPE).stdout
        errors = sorted(ts_ms(v["ts"]) - int(v["line"].split()[-1]) / 1e6
                        for v in map(json.loads, out.splitlines()))
        orchestra(work, "stop", "-q")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "lines": len(errors),
        "median": statistics.median(errors),
        "p99": errors[max(0, int(len(errors) * 0.99) - 1)],
        "max": errors[-1],
        "busy_s": busy / TICK,
        "idle_ticks": idle,
        "idle_daemon_ticks": idle_daemon,
    }


def measure_flood(writer):
    """Care CPU seconds for FLOOD lines from FLOOD_WRITERS replicas in 64 KiB writes."""
    per_writer = FLOOD // FLOOD_WRITERS
    src = logbench.OUT / "logtimes-flood"
    src.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-logtimes-flood-"))
    try:
        (work / "orchestra.yml").write_text("")
        for i in range(FLOOD_WRITERS):
            lines = src / f"f{i}.lines"
            if not lines.exists() or lines_in(lines) != per_writer:
                with open(lines, "wb") as f:
                    subprocess.run([str(writer), "flood-exit", f"w{i}", str(per_writer)],
                                   stdout=f, check=True)
            (work / f"f{i}").mkdir()
            (work / f"f{i}" / "service.yml").write_text(
                f'run: ["{writer}", "replay", "{lines}"]\n')
        (work / "idle").mkdir()
        (work / "idle" / "service.yml").write_text('run: "exec sleep 100000"\n')
        logs = [work / ".orchestra" / "logs" / f"f{i}.0.log" for i in range(FLOOD_WRITERS)]
        # The daemon first, with a silent service: its care's CPU is then all the flood's.
        orchestra(work, "start", "-q", "idle")
        pid = daemon_pid(work)
        before = care_ticks(pid)
        orchestra(work, "start", "-q", *(f"f{i}" for i in range(FLOOD_WRITERS)))
        wait("the flood written", lambda: sum(lines_in(p) for p in logs) >= FLOOD)
        wait("the flood indexed", lambda: all(indexed(p) for p in logs))
        cpu = (care_ticks(pid) - before) / TICK
        orchestra(work, "stop", "-q")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return cpu


def cpu(seconds):
    """CPU seconds, or that they were under one clock tick (all /proc can tell)."""
    return f"{seconds:.2f} s" if seconds > 0 else f"< {1 / TICK:.2f} s (under one tick)"


def report(r, flood_cpu):
    per_m = r["busy_s"] / r["lines"] * 1e6 if r["lines"] else float("nan")
    load = os.getloadavg()[0]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores (load average "
        f"{load:.1f} at the end), one run.",
        "",
        f"`logs --json` `ts` minus the time written in the line: {REPLICAS} replicas each "
        f"writing {LINES} lines 100 ms apart ({r['lines']:,} lines read back).",
        "",
        "| median | p99 | max | target |",
        "|---|---|---|---|",
        f"| {r['median']:.2f} ms | {r['p99']:.2f} ms | {r['max']:.2f} ms | p99 ≤ 10 ms |",
        "",
        f"Cost of the index: CPU of the daemon's log-care thread (clock ticks of "
        f"{1000 / TICK:.0f} ms).",
        "",
        "| load | lines | care CPU | per million lines |",
        "|---|---|---|---|",
        f"| {REPLICAS} replicas, each line a write of its own, a line each every 100 ms "
        f"| {r['lines']:,} | {r['busy_s']:.2f} s | {per_m:.1f} s |",
        f"| flood: {FLOOD:,} lines of 100 bytes from {FLOOD_WRITERS} replicas in 64 KiB writes "
        f"| {FLOOD:,} | {cpu(flood_cpu)} | {cpu(flood_cpu / FLOOD * 1e6)} |",
        f"| {REPLICAS} replicas idle for {IDLE:.0f} s | 0 | {r['idle_ticks']} ticks "
        f"(whole daemon: {r['idle_daemon_ticks']} ticks) | |",
    ]
    met = lambda ok: "met" if ok else "missed"
    lines += [
        "",
        f"Against the targets: p99 ≤ 10 ms {met(r['p99'] <= 10)} ({r['p99']:.2f} ms); an idle "
        f"fleet costs no CPU {met(r['idle_ticks'] == 0)}; ≤ 1 % of a core per million lines a "
        f"second (≤ 0.01 s of CPU per million lines) {met(flood_cpu <= 0.01)} for the flood, "
        "whose cost follows the writes, not the lines (one look per log at most every 5 ms). "
        "When every line is a write of its own, each line costs a look: "
        f"{r['busy_s'] / max(r['lines'], 1) * 1e6:.0f} µs of CPU here.",
    ]
    return "\n".join(lines)


def main():
    if not ORCHESTRA.exists():
        sys.exit(f"{ORCHESTRA} is missing: run `cargo build --release -p orchestra-cli`")
    writer = logbench.build_writer()
    times = measure_ticks(writer)
    log(f"log times: median {times['median']:.2f} ms  p99 {times['p99']:.2f} ms  "
        f"max {times['max']:.2f} ms; care {times['busy_s']:.2f} s for {times['lines']} lines; "
        f"idle {times['idle_ticks']} ticks (daemon {times['idle_daemon_ticks']})")
    flood = measure_flood(writer)
    log(f"flood: care {flood:.2f} s for {FLOOD} lines")
    section = report(times, flood)
    print(section)
    write_section("Log times", section)
    log(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
