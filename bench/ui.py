#!/usr/bin/env python3
"""The cost of `orchestra ui` with 200 replicas. See bench/README.md; `./bench/run ui` runs it.

The fleet is the one of the fleet benchmark (200 copies of the static HTTP program, each
with a tcp readiness probe); the UI runs in a 120×40 tmux terminal.

Idle cost: the UI's CPU time over BENCH_UI_IDLE_SECONDS (default 10) from /proc/<pid>/stat,
once it shows every replica running and nothing happens; beside it, the daemon's CPU time
over the same window (the UI's status requests are answered there).

Latency: a replica visible in the table is killed (SIGKILL); the clock runs from the kill
until `tmux capture-pane` shows its row in another state than `running`. The floor is the
same moment for a plain subscriber on the daemon's socket (`{"request":"subscribe"}`, the
stream the UI reads): the time the `exited` event takes to reach any client. Each of
BENCH_UI_KILLS (default 10) kills takes another replica, so that no backoff grows.
"""

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

from pathlib import Path

import harness
from harness import GO, ORCHESTRA, Orchestra, build_service_binaries, proc_cpu_seconds
from results import RESULTS, write_section

# The binary measured: the release build, unless BENCH_UI_BINARY names another.
BINARY = os.environ.get("BENCH_UI_BINARY", str(ORCHESTRA))
SERVICES = int(os.environ.get("BENCH_UI_SERVICES", "200"))
IDLE_SECONDS = int(os.environ.get("BENCH_UI_IDLE_SECONDS", "10"))
KILLS = int(os.environ.get("BENCH_UI_KILLS", "10"))
WIDTH, HEIGHT = 120, 40
DEADLINE = 60.0


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Tmux:
    """A tmux server of the benchmark's own running one command in a terminal."""

    def __init__(self, command, cwd):
        self.socket = f"orchestra-bench-ui-{os.getpid()}"
        self.tmux("new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), "-c", str(cwd), command)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], check=True,
                              stdout=subprocess.PIPE, text=True).stdout

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "0")

    def pane_pid(self):
        return int(self.tmux("display-message", "-p", "-t", "0", "#{pane_pid}").strip())

    def kill(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], stderr=subprocess.DEVNULL)


def wait_for(what, check, deadline=DEADLINE):
    start = time.monotonic()
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() - start > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.01)


def row(screen, label):
    """The table row of `label` (`s000.0`), or None."""
    for line in screen.splitlines():
        if f"│{label} " in line:
            return line
    return None


def columns(line):
    """(state, restarts) of a table row: a kill shows as another state, or, when the
    replica was already restarted by the next look, as one more restart."""
    cells = line.strip("│").split()
    return (cells[1], cells[6]) if len(cells) > 6 else None


def ui_pid(tmux):
    """The `orchestra ui` process: the pane's process, or its child when a shell is between."""
    pane = tmux.pane_pid()
    candidates = [pane] + [int(p) for p in os.listdir("/proc") if p.isdigit()]
    for pid in candidates:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if b"ui" in args and (pid == pane or parent == pane):
            return pid
    raise RuntimeError("the UI's process is not found")


class Subscriber:
    """A plain client of the daemon's event stream: when each replica's `exited` came."""

    def __init__(self, state_dir):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(state_dir / "daemon.sock"))
        self.sock.sendall(b'{"protocol":2,"request":{"request":"subscribe"}}\n')
        self.exited = {}
        self.lock = threading.Lock()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.sock.makefile("rb"):
            now = time.monotonic()
            event = json.loads(line)
            if event.get("event") == "fleet" and event.get("kind") == "exited":
                r = event["replica"]
                with self.lock:
                    self.exited.setdefault(f"{r['service']}.{r['index']}", now)

    def exited_at(self, label):
        with self.lock:
            return self.exited.get(label)

    def close(self):
        self.sock.close()


def replica_pid(tool, service):
    rows = json.loads(tool.cli("ps", "--json").stdout)
    for r in rows:
        if r["service"] == service and r["replica"] == 0 and r["state"] == "running":
            return r["pid"]
    return None


def measure():
    # The fleet's daemon is the same binary as the UI.
    harness.ORCHESTRA = Path(BINARY)
    binary = build_service_binaries()[GO]
    tool = Orchestra(binary, SERVICES, True)
    tool.start()
    tmux = Tmux(f"{BINARY} ui", tool.dir)
    try:
        wait_for("every replica running in the UI", lambda: f"{SERVICES} running" in tmux.screen())
        pid = ui_pid(tmux)
        daemon = tool.manager_pid()
        # Past the start's own work (the history read, the first frames).
        time.sleep(2)  # settling before an idle measurement: the wait is the point
        ui0, d0 = proc_cpu_seconds(pid), proc_cpu_seconds(daemon)
        time.sleep(IDLE_SECONDS)  # measuring idle cost: the wait is the measurement
        ui_cpu = 100.0 * (proc_cpu_seconds(pid) - ui0) / IDLE_SECONDS
        daemon_cpu = 100.0 * (proc_cpu_seconds(daemon) - d0) / IDLE_SECONDS
        log(f"idle over {IDLE_SECONDS}s: ui {ui_cpu:.2f}%  daemon {daemon_cpu:.2f}%")

        subscriber = Subscriber(tool.dir / ".orchestra")
        time.sleep(0.5)  # the subscription is acknowledged before the first kill
        screen_ms, floor_ms = [], []
        for i in range(KILLS):
            service = f"s{i:03}"
            label = f"{service}.0"
            victim = wait_for(f"{label} running", lambda: replica_pid(tool, service))
            before = wait_for(f"{label} running on screen",
                              lambda: "running" in (row(tmux.screen(), label) or "") and
                              columns(row(tmux.screen(), label)))
            t0 = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            wait_for(f"{label} changed on screen",
                     lambda: (columns(row(tmux.screen(), label) or "") or before) != before)
            t1 = time.monotonic()
            heard = wait_for(f"{label}'s exit on the socket", lambda: subscriber.exited_at(label))
            screen_ms.append((t1 - t0) * 1000)
            floor_ms.append((heard - t0) * 1000)
            log(f"{label}: on screen after {screen_ms[-1]:.1f} ms, on the socket after {floor_ms[-1]:.1f} ms")
        subscriber.close()
    finally:
        tmux.kill()
        tool.stop()
        harness.remove_left_behind()
    return ui_cpu, daemon_cpu, screen_ms, floor_ms


def p90(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def report(ui_cpu, daemon_cpu, screen_ms, floor_ms):
    tick = 100 / (os.sysconf("SC_CLK_TCK") * IDLE_SECONDS)
    screen_med, floor_med = statistics.median(screen_ms), statistics.median(floor_ms)
    lines = [
        f"`./bench/run ui`, {build()}, measured {time.strftime('%Y-%m-%d')} on "
        f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the end). "
        f"{SERVICES} replicas (the fleet benchmark's HTTP program, tcp probe each); `orchestra ui` "
        f"in a {WIDTH}×{HEIGHT} tmux terminal.",
        "",
        f"| idle, {SERVICES} replicas | CPU over {IDLE_SECONDS} s | target |",
        "|---|---|---|",
        f"| `orchestra ui` | {ui_cpu:.2f} % | ≤ 2 % |",
        f"| the daemon meanwhile (answering the UI's status requests) | {daemon_cpu:.2f} % | - |",
        "",
        f"CPU time is counted in clock ticks: one tick over {IDLE_SECONDS} s is {tick:.2f} %.",
        "",
        f"State change → on screen ({KILLS} replicas killed with SIGKILL, one each; the floor is "
        "a plain subscriber on the daemon's socket receiving the `exited` event):",
        "",
        "| | median | p90 | max | × floor (median) | target |",
        "|---|---|---|---|---|---|",
        f"| on screen (`capture-pane`) | {screen_med:.1f} ms | {p90(screen_ms):.1f} ms | "
        f"{max(screen_ms):.1f} ms | {screen_med / floor_med:.2f}× | ≤ 100 ms |",
        f"| on the socket (floor) | {floor_med:.1f} ms | {p90(floor_ms):.1f} ms | "
        f"{max(floor_ms):.1f} ms | 1.00× | - |",
        "",
        "The screen figure includes reading it: each `tmux capture-pane` takes a few milliseconds.",
        "",
        f"Against the targets: idle UI ≤ 2 % of a core — {mark(ui_cpu <= 2)} ({ui_cpu:.2f} %); "
        f"a state change on screen ≤ 100 ms — {mark(max(screen_ms) <= 100)} "
        f"(median {screen_med:.0f} ms, max {max(screen_ms):.0f} ms).",
    ]
    return "\n".join(lines)


def build():
    """Which build of the UI was measured."""
    if BINARY == str(ORCHESTRA):
        return "release build"
    return f"`orchestra ui` from {BINARY} (BENCH_UI_BINARY)"


def mark(ok):
    return "met" if ok else "**missed**"


def main():
    section = report(*measure())
    print(section)
    write_section("UI", section)
    log(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
