#!/usr/bin/env python3
"""Rerun latency and the watcher's idle cost. See bench/README.md; `./bench/run rerun` runs it.

Latency: a Go HTTP service whose answer is a Go const (greeting.go) runs under
`orchestra start --rerun` with the default settings and no readiness probe. Each edit
rewrites the const; the clock starts just before the write and stops when the service
answers the new text. The build's own part is measured separately, after each edit, by
`go build` of a copy of the same package with another unseen text (so the compiler does the
same work, with the same warm cache); the rerun's overhead is latency minus build. Reported:
medians over BENCH_RERUN_EDITS edits (default 12) after one warm-up edit.

Idle cost: 200 trivial services (a folder each with a main.go, so the Go watch rules apply;
`run: sleep`, `build: true`) with `rerun: true`, nothing changing; the daemon's CPU time over
BENCH_IDLE_SECONDS (default 30) from /proc/<pid>/stat, beside the same fleet without rerun.
"""

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from results import RESULTS, write_section

ROOT = Path(__file__).resolve().parent.parent
ORCHESTRA = Path(os.environ.get("BENCH_ORCHESTRA") or
                 Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "orchestra")
EDITS = int(os.environ.get("BENCH_RERUN_EDITS", "12"))
IDLE_SECONDS = int(os.environ.get("BENCH_IDLE_SECONDS", "30"))
IDLE_SERVICES = int(os.environ.get("BENCH_RERUN_SERVICES", "200"))
# Generous: a build on a loaded 2-core machine takes seconds.
DEADLINE_SECONDS = 300.0

MAIN_GO = """package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s pid %d\\n", greeting, os.Getpid())
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def greeting_go(text):
    return f'package main\n\nconst greeting = "{text}"\n'


def orchestra(project, *args):
    return subprocess.run([str(ORCHESTRA), "-C", str(project), *args], check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answer(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
            return r.read().decode().split(" pid ")[0]
    except OSError:
        return None


def wait_answer(port, text, binary=None):
    """Polls every 2 ms until the service answers `text`; returns when it did. With `binary`,
    HTTP polling starts once that file changed (the build is done): asking the old replica
    every 2 ms during the build would take CPU from the compiler and slow what is measured."""
    start = time.monotonic()
    if binary is not None:
        before = binary.stat().st_mtime_ns
        while binary.stat().st_mtime_ns == before:
            if time.monotonic() - start > DEADLINE_SECONDS:
                raise RuntimeError(f"{binary} was never rebuilt")
            time.sleep(0.002)
    while answer(port) != text:
        if time.monotonic() - start > DEADLINE_SECONDS:
            raise RuntimeError(f"port {port} never answered {text!r}")
        time.sleep(0.002)
    return time.monotonic()


def write_service(folder, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "go.mod").write_text("module bench.test/web\n\ngo 1.19\n")
    (folder / "main.go").write_text(MAIN_GO)
    (folder / "greeting.go").write_text(greeting_go(text))


def timed_build(copy, text):
    """`go build` of the copy with an unseen greeting: the compile a rerun does."""
    (copy / "greeting.go").write_text(greeting_go(text))
    t0 = time.monotonic()
    subprocess.run(["go", "build", "-o", str(copy / "web"), "."], cwd=copy, check=True)
    return time.monotonic() - t0


def latency(work):
    project = work / "latency"
    write_service(project / "web", "v0")
    (project / "orchestra.yml").write_text("")
    port = free_port()
    (project / "web" / "service.yml").write_text(f"port: {port}\n")
    copy = work / "build-copy"
    write_service(copy, "b0")
    orchestra(project, "start", "--rerun", "-q")
    try:
        wait_answer(port, "v0")
        binary = project / ".orchestra" / "bin" / "web"
        timed_build(copy, "warm")
        runs = []
        for i in range(1, EDITS + 2):
            text = f"v{i}"
            t0 = time.monotonic()
            (project / "web" / "greeting.go").write_text(greeting_go(text))
            served = wait_answer(port, text, binary) - t0
            build = timed_build(copy, f"b{i}")
            if i > 1:  # the first edit warms the caches
                runs.append((served, build))
            log(f"edit {i:>2}: served after {served * 1000:.0f} ms, build {build * 1000:.0f} ms")
    finally:
        orchestra(project, "stop", "-q")
    served = [s for s, _ in runs]
    builds = [b for _, b in runs]
    overhead = [s - b for s, b in runs]
    return {"edits": len(runs), "served": statistics.median(served),
            "build": statistics.median(builds), "overhead": statistics.median(overhead),
            "overhead_p90": sorted(overhead)[int(0.9 * (len(overhead) - 1))]}


def daemon_pid(project):
    """The project's daemon: `orchestra daemon` running in the project folder."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if b"daemon" in cmd and cmd[0].endswith(b"orchestra") and cwd == str(project):
            return int(entry.name)
    raise RuntimeError(f"no daemon runs in {project}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(work, rerun):
    project = work / ("idle-rerun" if rerun else "idle-plain")
    project.mkdir(parents=True)
    (project / "orchestra.yml").write_text("")
    yml = "run: [sleep, \"100000\"]\nbuild: [\"true\"]\n" + ("rerun: true\n" if rerun else "")
    for i in range(IDLE_SERVICES):
        d = project / f"s{i:03}"
        d.mkdir()
        (d / "main.go").write_text("package main\n\nfunc main() {}\n")
        (d / "service.yml").write_text(yml)
    orchestra(project, "start", "-q")
    try:
        pid = daemon_pid(project)
        time.sleep(2)  # let the start's own work (log care's first ticks) settle
        before = cpu_seconds(pid)
        time.sleep(IDLE_SECONDS)  # measuring idle cost: the wait is the measurement
        return 100.0 * (cpu_seconds(pid) - before) / IDLE_SECONDS
    finally:
        orchestra(project, "stop", "-q")


def report(lat, idle_rerun, idle_plain):
    load = os.getloadavg()[0]
    return "\n".join([
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores "
        f"(load average {load:.1f} at the end), {'release' if '/release/' in str(ORCHESTRA) else 'debug'} build.",
        "",
        f"Rerun latency of a Go HTTP service (`start --rerun`, default settings, no "
        f"readiness probe), median of {lat['edits']} edits of a Go const after a warm-up: "
        "file written → the service answers the new text. The build is `go build` of a copy "
        "of the package with another unseen const, timed after each edit (warm cache).",
        "",
        "| file write → served | build alone | rerun overhead (median) | overhead p90 | target |",
        "|---|---|---|---|---|",
        f"| {lat['served'] * 1000:.0f} ms | {lat['build'] * 1000:.0f} ms "
        f"| {lat['overhead'] * 1000:.0f} ms | {lat['overhead_p90'] * 1000:.0f} ms | ≤ 60 ms |",
        "",
        "A saved file starts the build at once (the leading edge of its burst): the overhead "
        "is noticing the write, replacing the replica and its first answer. Watcher idle cost: "
        f"the "
        f"daemon's CPU over {IDLE_SECONDS} s with {IDLE_SERVICES} services running and "
        f"nothing changing (one clock tick is {100 / os.sysconf('SC_CLK_TCK') / IDLE_SECONDS:.3f} %"
        " of that time: the resolution):",
        "",
        "| fleet | daemon idle CPU | target |",
        "|---|---|---|",
        f"| {IDLE_SERVICES} services, `rerun: true` (watched) | {idle_rerun:.3f} % | ≤ 0.2 % |",
        f"| {IDLE_SERVICES} services, no rerun | {idle_plain:.3f} % | |",
    ])


def main():
    if not ORCHESTRA.exists():
        sys.exit(f"{ORCHESTRA} is missing: cargo build --release -p orchestra-cli")
    work = Path(tempfile.mkdtemp(prefix="bench-rerun-")).resolve()
    try:
        lat = latency(work)
        log(f"latency: served {lat['served'] * 1000:.0f} ms, build {lat['build'] * 1000:.0f} ms,"
            f" overhead {lat['overhead'] * 1000:.0f} ms")
        idle_rerun = idle_cpu(work, rerun=True)
        log(f"idle CPU with {IDLE_SERVICES} watched services: {idle_rerun:.3f} %")
        idle_plain = idle_cpu(work, rerun=False)
        log(f"idle CPU with {IDLE_SERVICES} services, no rerun: {idle_plain:.3f} %")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    section = report(lat, idle_rerun, idle_plain)
    print(section)
    write_section("Rerun", section)
    log(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
