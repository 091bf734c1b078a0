#!/usr/bin/env python3
"""Log throughput, loss and follow latency: Orchestra against honcho, supervisord and the
`cat` limit, in one run. See bench/README.md; `./bench/run logs` runs it.

Throughput: four writers each emit 250,000 numbered lines of 100 bytes (`w0 000000001
xxx…`) as fast as they can. The lines are generated once, before anything is timed, and
every writer replays its file in 64 KiB writes: so the tools and the `cat` limit see the
very same bytes, and no tool is held back by how fast a program can format lines. For each
tool the clock starts when the tool is launched and stops when every writer's last line is
in the tool's output (or the output has stopped growing for a while); the time is the
median of BENCH_LOG_REPEAT runs (3). Then every line is checked: a line is good when it
ends with a whole record, lost lines are the records never seen, corrupted lines carry a
torn or merged record, and records seen twice or out of order per writer are counted too.

Latency: one writer prints `lat <seq> <send time ns>` every 10 ms for 2 s; the harness reads
the tool's follow output through a pipe and records receive - send per line.
"""

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import RESULTS, write_section

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "bench" / ".venv" / "bin"
OUT = ROOT / "bench" / "out"
ORCHESTRA = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "orchestra"
WRITERS = 4
LINES_PER_WRITER = int(os.environ.get("BENCH_LOG_LINES", "250000"))
REPEAT = int(os.environ.get("BENCH_LOG_REPEAT", "3"))
TOTAL = WRITERS * LINES_PER_WRITER
# Output that stops growing for this long (after the tool started writing) is final.
STALL_SECONDS = 10.0
DEADLINE_SECONDS = 600.0

WRITER_GO = r"""
// Command logwriter prints numbered lines for the log benchmark.
//
//	logwriter flood ID N        N lines "ID 000000001 xxx…" of 100 bytes, then waits for SIGTERM
//	logwriter flood-exit ID N   the same, then exits
//	logwriter replay FILE       FILE's bytes in 64 KiB writes, then waits for SIGTERM
//	logwriter replay-exit FILE  the same, then exits
//	logwriter latency ID        "ID <seq> <unix ns>" every 10 ms for 2 s, then waits
//	logwriter ticks ID N        N lines "<seq> <unix ns>" 100 ms apart, then waits
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	mode, id := os.Args[1], os.Args[2]
	switch mode {
	case "flood", "flood-exit":
		n, _ := strconv.Atoi(os.Args[3])
		pad := strings.Repeat("x", 100-len(id)-12)
		w := bufio.NewWriterSize(os.Stdout, 64<<10)
		for i := 1; i <= n; i++ {
			fmt.Fprintf(w, "%s %09d %s\n", id, i, pad)
		}
		if w.Flush() != nil {
			os.Exit(3)
		}
		if mode == "flood-exit" {
			return
		}
	case "replay", "replay-exit":
		f, err := os.Open(id)
		if err != nil {
			os.Exit(2)
		}
		buf := make([]byte, 64<<10)
		for {
			n, err := io.ReadFull(f, buf)
			if n > 0 {
				if _, werr := os.Stdout.Write(buf[:n]); werr != nil {
					os.Exit(3)
				}
			}
			if err != nil {
				break
			}
		}
		if mode == "replay-exit" {
			return
		}
	case "ticks":
		n, _ := strconv.Atoi(os.Args[3])
		// Replicas start together: spread their writes over the 100 ms.
		time.Sleep(time.Duration(os.Getpid()%100) * time.Millisecond)
		for seq := 1; seq <= n; seq++ {
			fmt.Fprintf(os.Stdout, "%d %d\n", seq, time.Now().UnixNano())
			time.Sleep(100 * time.Millisecond)
		}
	case "latency":
		for seq := 1; seq <= 200; seq++ {
			fmt.Fprintf(os.Stdout, "%s %d %d\n", id, seq, time.Now().UnixNano())
			time.Sleep(10 * time.Millisecond)
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
}
"""

RECORD = re.compile(rb"(w\d) (\d{9}) (x+)$")
TORN = re.compile(rb"w\d \d")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build_writer():
    """The writer, built once with Go into bench/out/."""
    src = OUT / "logwriter-src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "go.mod").write_text("module bench/logwriter\n\ngo 1.19\n")
    (src / "main.go").write_text(WRITER_GO)
    binary = OUT / "logwriter"
    env = dict(os.environ, CGO_ENABLED="0", GOPROXY="off")
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=src, env=env, check=True)
    return binary


def writer_ids():
    return [f"w{i}" for i in range(WRITERS)]


def generate_sources(writer):
    """Each writer's lines, generated once into bench/out/logsrc/ (not timed)."""
    d = OUT / "logsrc"
    d.mkdir(parents=True, exist_ok=True)
    sources = []
    for w in writer_ids():
        src = d / f"{w}.lines"
        with open(src, "wb") as f:
            subprocess.run([str(writer), "flood-exit", w, str(LINES_PER_WRITER)], stdout=f, check=True)
        sources.append(src)
    return sources


def replay(writer, w, then_exit=False):
    """The command of writer `w`: replay its pre-generated lines, then wait (or exit)."""
    return [str(writer), "replay-exit" if then_exit else "replay", str(OUT / "logsrc" / f"{w}.lines")]


# ── watching output grow ─────────────────────────────────────────────────────────────────────


class Watch:
    """Follows output files as they grow until every writer's last record is in them."""

    def __init__(self, paths):
        self.paths = list(paths)
        self.offsets = {p: 0 for p in self.paths}
        self.tails = {p: b"" for p in self.paths}
        self.last = {f"{w} {LINES_PER_WRITER:09d} ".encode() for w in writer_ids()}

    def poll(self):
        """Reads what is new; returns whether anything was."""
        grew = False
        for p in self.paths:
            try:
                with open(p, "rb") as f:
                    f.seek(self.offsets[p])
                    data = f.read()
            except FileNotFoundError:
                continue
            if not data:
                continue
            grew = True
            self.offsets[p] += len(data)
            window = self.tails[p] + data
            self.last = {m for m in self.last if m not in window}
            self.tails[p] = window[-64:]
        return grew

    def wait(self, t0):
        """Polls until every last record was seen; returns the time of the last growth."""
        last_growth = t0
        while self.last:
            now = time.monotonic()
            if self.poll():
                last_growth = now
            elif now - last_growth > STALL_SECONDS or now - t0 > DEADLINE_SECONDS:
                log(f"  output stopped growing; never saw {sorted(self.last)}")
                break
            time.sleep(0.005)
        self.poll()
        return time.monotonic() if not self.last else last_growth


def verify(paths):
    """Counts good, lost, corrupted, duplicated and out-of-order records in the output."""
    seen = {w.encode(): set() for w in writer_ids()}
    last = {w.encode(): 0 for w in writer_ids()}
    good = corrupted = duplicated = disordered = 0
    pad_len = {w.encode(): 100 - len(w) - 12 for w in writer_ids()}
    for p in paths:
        with open(p, "rb") as f:
            for line in f:
                line = line.rstrip(b"\n")
                m = RECORD.search(line)
                if m and len(m.group(3)) == pad_len.get(m.group(1), -1):
                    w, n = m.group(1), int(m.group(2))
                    if n in seen[w]:
                        duplicated += 1
                        continue
                    seen[w].add(n)
                    if n < last[w]:
                        disordered += 1
                    last[w] = max(last[w], n)
                    good += 1
                elif TORN.search(line):
                    corrupted += 1
    return {"good": good, "lost": TOTAL - good, "corrupted": corrupted,
            "duplicated": duplicated, "disordered": disordered}


# ── throughput per tool ──────────────────────────────────────────────────────────────────────


def run_writers_cat(writer, work):
    """The writers' own floor: each writer into a pipe, `cat` from it to a file. (One pipe
    shared by the four would tear lines: writes over PIPE_BUF bytes are not atomic.)"""
    outs = [work / f"{w}.out" for w in writer_ids()]
    script = "".join(f"{' '.join(replay(writer, w, then_exit=True))} | cat > '{o}' &\n"
                     for w, o in zip(writer_ids(), outs))
    script += "wait\n"
    t0 = time.monotonic()
    pipes = subprocess.Popen(["sh", "-c", script])
    t1 = Watch(outs).wait(t0)
    pipes.wait()
    return t1 - t0, outs


def run_cat_bytes(writer, work):
    """The limit of the issue: `cat` of the same bytes (written beforehand, not timed)
    through a pipe into a file."""
    sources = [OUT / "logsrc" / f"{w}.lines" for w in writer_ids()]
    out = work / "cat.out"
    t0 = time.monotonic()
    with open(out, "wb") as sink:
        first = subprocess.Popen(["cat", *map(str, sources)], stdout=subprocess.PIPE)
        second = subprocess.Popen(["cat"], stdin=first.stdout, stdout=sink)
        first.stdout.close()
        t1 = Watch([out]).wait(t0)
        second.wait()
        first.wait()
    return t1 - t0, [out]


def orchestra_project(writer, work, mode="flood"):
    (work / "orchestra.yml").write_text("")
    for w in writer_ids() if mode == "flood" else ["lat"]:
        d = work / w
        d.mkdir()
        args = replay(writer, w) if mode == "flood" else [str(writer), mode, w]
        (d / "service.yml").write_text("run: [" + ", ".join(f'"{a}"' for a in args) + "]\n")


def orchestra(*args, work):
    return subprocess.run([str(ORCHESTRA), "-C", str(work), *args], check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_following(pid):
    """`logs -f` follows once its reader thread runs (it is started after the folder is
    watched and listed): only then can the fleet start without a race."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                if (task / "comm").read_text().startswith("orchestra-logs"):
                    return
            except OSError:
                pass
        time.sleep(0.01)
    raise RuntimeError("`orchestra logs -f` did not start following")


def run_orchestra_attach(writer, work):
    orchestra_project(writer, work)
    out = work / "attach.out"
    t0 = time.monotonic()
    with open(out, "wb") as sink:
        proc = subprocess.Popen([str(ORCHESTRA), "-C", str(work), "start", "--attach"],
                                stdout=sink, stderr=subprocess.DEVNULL, start_new_session=True)
        t1 = Watch([out]).wait(t0)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    return t1 - t0, [out]


def run_orchestra_follow(writer, work):
    orchestra_project(writer, work)
    (work / ".orchestra" / "logs").mkdir(parents=True)
    out = work / "follow.out"
    with open(out, "wb") as sink:
        proc = subprocess.Popen([str(ORCHESTRA), "-C", str(work), "logs", "-f", "-n", "0"],
                                stdout=sink, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_following(proc.pid)
        t0 = time.monotonic()
        orchestra("start", "-q", work=work)
        t1 = Watch([out]).wait(t0)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    orchestra("stop", "-q", work=work)
    return t1 - t0, [out]


def run_honcho(writer, work):
    procfile = "".join(f"{w}: exec {' '.join(replay(writer, w))}\n" for w in writer_ids())
    (work / "Procfile").write_text(procfile)
    out = work / "honcho.out"
    t0 = time.monotonic()
    with open(out, "wb") as sink:
        proc = subprocess.Popen([str(VENV / "honcho"), "start"], cwd=work, stdout=sink,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        t1 = Watch([out]).wait(t0)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    return t1 - t0, [out]


def run_supervisord(writer, work):
    conf = ["[supervisord]", f"logfile={work}/supervisord.log", f"pidfile={work}/s.pid",
            "nodaemon=true", ""]
    logs = []
    for w in writer_ids():
        logs.append(work / f"{w}.log")
        conf += [f"[program:{w}]", f"command={' '.join(replay(writer, w))}",
                 "startsecs=0", "autorestart=false", f"stdout_logfile={work}/{w}.log",
                 "stdout_logfile_maxbytes=0", "redirect_stderr=true", ""]
    (work / "supervisord.conf").write_text("\n".join(conf))
    t0 = time.monotonic()
    proc = subprocess.Popen([str(VENV / "supervisord"), "-c", str(work / "supervisord.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    t1 = Watch(logs).wait(t0)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    return t1 - t0, logs


THROUGHPUT = [
    ("cat (pipe limit)", run_cat_bytes),
    ("writers → cat (writer floor)", run_writers_cat),
    ("orchestra start --attach", run_orchestra_attach),
    ("orchestra logs -f", run_orchestra_follow),
    ("honcho", run_honcho),
    ("supervisord (log files)", run_supervisord),
]


def throughput(writer):
    generate_sources(writer)
    results = {}
    for name, run in THROUGHPUT:
        runs = []
        for _ in range(REPEAT):
            work = Path(tempfile.mkdtemp(prefix="bench-logs-"))
            try:
                seconds, outputs = run(writer, work)
                r = verify(outputs)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            r["seconds"] = seconds
            runs.append(r)
            log(f"  {name:<26} {seconds:7.3f} s  lost {r['lost']}  corrupted {r['corrupted']}"
                f"  duplicated {r['duplicated']}  out of order {r['disordered']}")
        # The median time; losses of any run count.
        r = dict(sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2])
        for k in ("lost", "corrupted", "duplicated", "disordered"):
            r[k] = max(run[k] for run in runs)
        r["rate"] = TOTAL / r["seconds"] if r["lost"] == 0 else r["good"] / r["seconds"]
        results[name] = r
        log(f"{name:<26} {r['rate'] / 1e6:6.3f} M lines/s  {r['seconds']:7.3f} s (median of {REPEAT})")
    return results


# ── follow latency ───────────────────────────────────────────────────────────────────────────


def read_latencies(stream, deadline):
    """receive - send, in ms, for every `lat <seq> <ns>` line read from `stream`."""
    lat = []
    end = time.monotonic() + deadline
    while len(lat) < 200 and time.monotonic() < end:
        line = stream.readline()
        if not line:
            break
        now = time.time_ns()
        parts = line.split()
        if len(parts) >= 3 and parts[-3].endswith(b"lat") and parts[-1].isdigit():
            lat.append((now - int(parts[-1])) / 1e6)
    return lat


def latency_orchestra(writer, work):
    orchestra_project(writer, work, mode="latency")
    (work / ".orchestra" / "logs").mkdir(parents=True)
    proc = subprocess.Popen([str(ORCHESTRA), "-C", str(work), "logs", "-f", "-n", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_following(proc.pid)
        orchestra("start", "-q", work=work)
        return read_latencies(proc.stdout, 60)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        orchestra("stop", "-q", work=work)


def latency_honcho(writer, work):
    (work / "Procfile").write_text(f"lat: exec '{writer}' latency lat\n")
    proc = subprocess.Popen([str(VENV / "honcho"), "start"], cwd=work, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        return read_latencies(proc.stdout, 60)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def latency_pipe(writer, work):
    proc = subprocess.Popen([str(writer), "latency", "lat"], stdout=subprocess.PIPE)
    try:
        return read_latencies(proc.stdout, 60)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


LATENCY = [
    ("pipe (limit)", latency_pipe),
    ("orchestra logs -f", latency_orchestra),
    ("honcho", latency_honcho),
]


def latency(writer):
    results = {}
    for name, run in LATENCY:
        work = Path(tempfile.mkdtemp(prefix="bench-logs-lat-"))
        try:
            lat = run(writer, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        lat.sort()
        results[name] = {
            "lines": len(lat),
            "median": statistics.median(lat) if lat else float("nan"),
            "p95": lat[int(len(lat) * 0.95) - 1] if lat else float("nan"),
        }
        r = results[name]
        log(f"latency {name:<20} {r['lines']} lines  median {r['median']:.2f} ms  p95 {r['p95']:.2f} ms")
    return results


# ── report ───────────────────────────────────────────────────────────────────────────────────


def report(tp, lat):
    cat = tp["cat (pipe limit)"]["rate"]
    peers = {k: v for k, v in tp.items() if not k.startswith(("orchestra", "cat", "writers"))}
    best_name, best = max(peers.items(), key=lambda kv: kv[1]["rate"])
    lines = [
        f"{TOTAL:,} lines of 100 bytes from {WRITERS} writers ({LINES_PER_WRITER:,} each), "
        f"measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores "
        f"(load average {os.getloadavg()[0]:.1f} at the end), median of {REPEAT} runs. The lines are "
        "generated beforehand; each writer replays its file in 64 KiB writes, so every tool "
        "gets the same bytes as `cat`. Times run from launching the tool until every "
        "writer's last line is in its output; `cat` pipes the four files into one output; "
        "the writer floor is each writer piped through its own `cat`.",
        "",
        "| tool | lines/s | time | lost | corrupted | duplicated | out of order | of `cat` | × best peer |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in tp.items():
        lines.append(
            f"| {name} | {r['rate'] / 1e6:.3f} M | {r['seconds']:.2f} s | {r['lost']} | {r['corrupted']}"
            f" | {r['duplicated']} | {r['disordered']} | {100 * r['rate'] / cat:.0f} %"
            f" | {r['rate'] / best['rate']:.2f}× |")
    lines += ["", f"Best peer: {best_name}.", ""]
    verdicts = []
    for name in ("orchestra start --attach", "orchestra logs -f"):
        r = tp[name]
        of_cat, x_peer = r["rate"] / cat, r["rate"] / best["rate"]
        met = of_cat >= 0.5 and x_peer >= 3 and r["lost"] == r["corrupted"] == 0
        verdicts.append(f"`{name.removeprefix('orchestra ')}` {'met' if met else '**missed**'} "
                        f"({100 * of_cat:.0f} %, {x_peer:.1f}×, {r['lost']} lost)")
    lines += ["Against the targets (≥ 50 % of `cat`, ≥ 3× the best peer, nothing lost): "
              + "; ".join(verdicts) + ".", ""]
    lines += ["Follow latency (a line every 10 ms for 2 s, receive - send):", "",
              "| follower | lines | median | p95 |", "|---|---|---|---|"]
    for name, r in lat.items():
        lines.append(f"| {name} | {r['lines']} | {r['median']:.2f} ms | {r['p95']:.2f} ms |")
    return "\n".join(lines)


def main():
    if not ORCHESTRA.exists():
        sys.exit(f"{ORCHESTRA} is missing: cargo build --release -p orchestra-cli")
    writer = build_writer()
    tp = throughput(writer)
    lat = latency(writer)
    section = report(tp, lat)
    print(section)
    write_section("Logs", section)
    log(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
