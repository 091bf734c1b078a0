#!/usr/bin/env python3
"""Orchestra's benchmark harness: the same fleet run by Orchestra, honcho, supervisord and a
plain bash loop, measured in one run and printed as ratios. See bench/README.md."""

import json
import os
import shutil
import signal
import socket
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
BASE_PORT = 24000
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
TINY_REPEAT = int(os.environ.get("BENCH_TINY_REPEAT", "9"))
IDLE_SECONDS = int(os.environ.get("BENCH_IDLE_SECONDS", "30"))
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "50,200").split(",")]
GO, TINY = "Go HTTP", "tiny C"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build_service_binaries():
    """The two services of the fleet: the static Go HTTP fixture, and a tiny static C
    listener (bench/tiny.c) whose own start-up costs next to nothing, so that the fleet
    of it shows the manager's cost of starting processes, not Go's. Both listen on $PORT."""
    OUT.mkdir(parents=True, exist_ok=True)
    go = OUT / "svc"
    src = ROOT / "tests" / "fixtures" / "go" / "http"
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=mod")
    subprocess.run(["go", "build", "-o", str(go), "."], cwd=src, env=env, check=True)
    tiny = OUT / "tiny"
    cc = ["gcc", "-Os", "-s", "-o", str(tiny), str(ROOT / "bench" / "tiny.c")]
    # Static when the C library's static archive is installed (no dynamic loader to run at
    # each start); dynamic otherwise, which the report's floor then includes for every tool.
    if subprocess.run([*cc, "-static"], stderr=subprocess.DEVNULL).returncode != 0:
        log("gcc -static failed (no static libc?): building bench/tiny.c dynamically")
        subprocess.run(cc, check=True)
    return {GO: go, TINY: tiny}


def ports_for(n):
    return [BASE_PORT + i for i in range(n)]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.05):
            return True
    except OSError:
        return False


def wait_ports(ports, want_open=True, deadline=120.0):
    """Polls until every port is open (or closed); returns the time it took."""
    start = time.monotonic()
    pending = set(ports)
    while pending:
        pending = {p for p in pending if port_open(p) != want_open}
        if not pending:
            break
        if time.monotonic() - start > deadline:
            raise RuntimeError(f"ports still {'closed' if want_open else 'open'}: {sorted(pending)[:5]}…")
        time.sleep(0.002)
    return time.monotonic() - start


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def proc_rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def wait_settled(pid, quiet=1.0, cap=10.0):
    """Waits until `pid` has used no CPU for `quiet` seconds (at most `cap`): the work a
    start leaves behind (indexing the first log lines, say) is the start's, not idling."""
    deadline = time.monotonic() + cap
    while time.monotonic() < deadline:
        before = proc_cpu_seconds(pid)
        time.sleep(quiet)  # the quiet window is what is being checked
        if proc_cpu_seconds(pid) == before:
            return


def idle_cpu_percent(pid, seconds):
    wait_settled(pid)
    before = proc_cpu_seconds(pid)
    time.sleep(seconds)  # measuring idle cost: the wait is the measurement
    return 100.0 * (proc_cpu_seconds(pid) - before) / seconds


# ── the tools ────────────────────────────────────────────────────────────────────────────────

# The folders the tools ran in, removed when the harness ends rather than after each stop.
# On a filesystem that will not reuse an inode freed in the last half minute (ext4 without
# a journal, as on the machines this runs on), deleting a run's folder (200 service folders,
# logs, a peer's files) made every file the next run created scan past those inodes: the
# next tool's start then paid for the harness's cleanup.
LEFT_BEHIND = []


def leave_behind(path):
    LEFT_BEHIND.append(path)


def remove_left_behind():
    for path in LEFT_BEHIND:
        shutil.rmtree(path, ignore_errors=True)
    LEFT_BEHIND.clear()



class Bash:
    name = "bash loop"

    def __init__(self, binary, n, probe):
        self.binary, self.n = binary, n
        self.procs = []

    def start(self):
        t0 = time.monotonic()
        script = "".join(f"PORT={p} {self.binary} >/dev/null 2>&1 &\n" for p in ports_for(self.n))
        script += "wait\n"
        self.shell = subprocess.Popen(["bash", "-c", script], start_new_session=True)
        wait_ports(ports_for(self.n))
        return time.monotonic() - t0

    def manager_pid(self):
        return self.shell.pid

    def stop(self):
        t0 = time.monotonic()
        os.killpg(self.shell.pid, signal.SIGTERM)
        self.shell.wait()
        wait_ports(ports_for(self.n), want_open=False)
        return time.monotonic() - t0


def kill_leftovers(binary):
    """Kills every process still running the service binary: what a peer killed in the
    middle of its own stop can leave behind, and would skew the next tool's run."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{pid}/exe") == str(binary):
                os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass


class ForegroundManager:
    """A peer that runs in the foreground: started as a child, stopped with SIGTERM."""

    def command(self):
        raise NotImplementedError

    def start(self):
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            self.command(), cwd=self.dir,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_ports(ports_for(self.n))
        return time.monotonic() - t0

    def manager_pid(self):
        return self.proc.pid

    def stop(self):
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            log(f"{self.name} did not stop within 60 s: killing its process group")
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            kill_leftovers(self.binary)
        wait_ports(ports_for(self.n), want_open=False)
        t = time.monotonic() - t0
        leave_behind(self.dir)
        return t


class Honcho(ForegroundManager):
    name = "honcho"

    def __init__(self, binary, n, probe):
        self.dir = Path(tempfile.mkdtemp(prefix="bench-honcho-"))
        self.n, self.binary = n, binary
        lines = [f"s{i:03}: PORT={p} exec {binary}" for i, p in enumerate(ports_for(n))]
        (self.dir / "Procfile").write_text("\n".join(lines) + "\n")

    def command(self):
        return [str(VENV / "honcho"), "start"]


class Supervisord(ForegroundManager):
    name = "supervisord"

    def __init__(self, binary, n, probe):
        self.dir = Path(tempfile.mkdtemp(prefix="bench-supervisord-"))
        self.n, self.binary = n, binary
        conf = [
            "[supervisord]", f"logfile={self.dir}/supervisord.log", f"pidfile={self.dir}/s.pid",
            "nodaemon=true", "minfds=4096", "",
            "[unix_http_server]", f"file={self.dir}/s.sock", "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
            "[supervisorctl]", f"serverurl=unix://{self.dir}/s.sock", "",
        ]
        for i, p in enumerate(ports_for(n)):
            conf += [f"[program:s{i:03}]", f"command={binary}", f'environment=PORT="{p}"',
                     "startsecs=0", "stopwaitsecs=10", f"stdout_logfile={self.dir}/s{i:03}.log",
                     "redirect_stderr=true", ""]
        (self.dir / "supervisord.conf").write_text("\n".join(conf))

    def command(self):
        return [str(VENV / "supervisord"), "-c", str(self.dir / "supervisord.conf")]


class Orchestra:
    def __init__(self, binary, n, probe):
        self.name = "orchestra" + (" (tcp probe)" if probe else "")
        self.dir = Path(tempfile.mkdtemp(prefix="bench-orchestra-"))
        self.n = n
        (self.dir / "orchestra.yml").write_text("defaults:\n  stop_timeout: 10s\n")
        for i, p in enumerate(ports_for(n)):
            d = self.dir / f"s{i:03}"
            d.mkdir()
            # A service with a `port` is probed on it by default: without the probe, the
            # port is only passed in the environment.
            listen = f"port: {p}\nready: {{ tcp: $PORT }}\n" if probe else f"env: {{ PORT: \"{p}\" }}\n"
            (d / "service.yml").write_text(f"run: [\"{binary}\"]\n{listen}")

    def cli(self, *args, **kw):
        return subprocess.run([str(ORCHESTRA), "-C", str(self.dir), *args], check=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)

    def start(self):
        t0 = time.monotonic()
        self.cli("start", "-q")
        wait_ports(ports_for(self.n))
        return time.monotonic() - t0

    def manager_pid(self):
        out = subprocess.run(["pgrep", "-f", f"orchestra daemon --state-dir {self.dir}/.orchestra"],
                             stdout=subprocess.PIPE, text=True).stdout.split()
        return int(out[0]) if out else None

    def ps_latency(self, runs=20):
        times = []
        for _ in range(runs):
            t0 = time.monotonic()
            rows = json.loads(self.cli("ps", "--json").stdout)
            times.append(time.monotonic() - t0)
            assert len(rows) == self.n, f"ps shows {len(rows)} rows, expected {self.n}"
        return statistics.median(times)

    def stop(self):
        t0 = time.monotonic()
        self.cli("stop", "-q")
        wait_ports(ports_for(self.n), want_open=False)
        t = time.monotonic() - t0
        leave_behind(self.dir)
        return t


# ── the benchmarks ───────────────────────────────────────────────────────────────────────────


def measure(makes, n, repeat):
    """Starts and stops each tool of `makes` `repeat` times, the tools taking turns (so that
    a machine that slows down or speeds up during the run weighs on every tool alike); the
    medians per tool name."""
    runs = {}
    for _ in range(repeat):
        for make in makes:
            # A port still held (by a previous run, or anything else) would make a peer
            # that gives up on one failed child look broken: start from free ports.
            wait_ports(ports_for(n), want_open=False)
            tool = make()
            run = runs.setdefault(tool.name, {"start": [], "stop": [], "rss": [], "ps": []})
            run["start"].append(tool.start())
            pid = tool.manager_pid()
            if pid:
                run["rss"].append(proc_rss_bytes(pid))
            if isinstance(tool, Orchestra):
                run["ps"].append(tool.ps_latency())
            run["stop"].append(tool.stop())
    return {
        name: {
            "start_s": statistics.median(r["start"]), "stop_s": statistics.median(r["stop"]),
            "rss_mib": statistics.median(r["rss"]) / 2**20 if r["rss"] else None,
            "ps_s": statistics.median(r["ps"]) if r["ps"] else None,
        }
        for name, r in runs.items()
    }


def fleet(binaries):
    """Every tool with the Go service; the bash floor and Orchestra with the tiny one too
    (the peers' own start-up dwarfs either service's)."""
    results = {}
    for service, binary in binaries.items():
        for n in SIZES:
            tools = [lambda: Bash(binary, n, False), lambda: Orchestra(binary, n, False),
                     lambda: Orchestra(binary, n, True)]
            if service == GO:
                tools[1:1] = [lambda: Honcho(binary, n, False), lambda: Supervisord(binary, n, False)]
            # The tiny fleet starts in a tenth of a second, where a busy moment of the
            # machine shows: more runs for its medians, at little cost.
            repeat = REPEAT if service == GO else max(REPEAT, TINY_REPEAT)
            for name, r in measure(tools, n, repeat).items():
                results[(service, n, name)] = r
                log(f"{service:<8} {n:>4} services  {name:<22} start {r['start_s']:.3f}s  stop {r['stop_s']:.3f}s"
                    + (f"  rss {r['rss_mib']:.1f} MiB" if r["rss_mib"] else "")
                    + (f"  ps {r['ps_s'] * 1000:.1f} ms" if r["ps_s"] else ""))
    # Idle cost of the managing process with the largest fleet, measured once per tool.
    idle = {}
    big = max(SIZES)
    binary = binaries[GO]
    for make in (lambda: Honcho(binary, big, False), lambda: Supervisord(binary, big, False),
                 lambda: Orchestra(binary, big, True)):
        tool = make()
        tool.start()
        pid = tool.manager_pid()
        idle[tool.name] = idle_cpu_percent(pid, IDLE_SECONDS) if pid else None
        tool.stop()
        log(f"idle CPU over {IDLE_SECONDS}s with {big} replicas  {tool.name:<22} {idle[tool.name]:.3f}%")
    return results, idle


def report(results, idle):
    big = max(SIZES)
    lines = [
        f"`./bench/run fleet` (`BENCH_REPEAT={REPEAT}`, medians), release build, measured "
        f"{time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores (load average "
        f"{os.getloadavg()[0]:.1f} at the end). Each service is the same static program on its "
        "own port: the Go HTTP fixture, or a tiny static C listener (bench/tiny.c) that starts "
        "in a fraction of a millisecond, so that its fleet shows what the manager itself costs "
        "per process (the peers run the Go one only). \"start\" is from launching the tool "
        "until every port accepts a connection, \"stop\" until every port is closed. A peer "
        "that did not stop within 60 s had its process group killed. Idle CPU is measured once "
        "the manager has used no CPU for a second after the start (at most 10 s later).",
        "",
        "| service | services | tool | start | × bash floor | stop | manager RSS | ps --json |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (service, n, name), r in sorted(
            results.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[1]["start_s"])):
        floor = results[(service, n, "bash loop")]["start_s"]
        lines.append(
            f"| {service} | {n} | {name} | {r['start_s']:.3f} s | {r['start_s'] / floor:.2f}×"
            f" | {r['stop_s']:.3f} s"
            f" | {'%.1f MiB' % r['rss_mib'] if r['rss_mib'] else '-'}"
            f" | {'%.1f ms' % (r['ps_s'] * 1000) if r['ps_s'] else '-'} |")
    lines += ["", f"| idle manager, {big} replicas | CPU over {IDLE_SECONDS} s |", "|---|---|"]
    for name, cpu in idle.items():
        lines.append(f"| {name} | {cpu:.3f} % |")
    tick = 100 / (os.sysconf("SC_CLK_TCK") * IDLE_SECONDS)
    lines += ["", f"CPU time is counted in clock ticks: one tick over {IDLE_SECONDS} s is {tick:.3f} %.", ""]
    for n in SIZES:
        o = results[(GO, n, "orchestra")]["start_s"]
        ratios = [f"{results[(GO, n, peer)]['start_s'] / o:.2f}× as fast as {peer}"
                  for peer in ("honcho", "supervisord")]
        tiny = results[(TINY, n, "orchestra")]["start_s"] / results[(TINY, n, "bash loop")]["start_s"]
        lines.append(f"{n} services: orchestra start = {o / results[(GO, n, 'bash loop')]['start_s']:.2f}× "
                     f"the bash floor with the Go service ({tiny:.2f}× with the tiny one), "
                     f"{', '.join(ratios)}.")
    lines += ["", verdict(results, idle)]
    return "\n".join(lines)


def verdict(results, idle):
    """The figures of the largest fleet against the targets."""
    big = max(SIZES)
    o, probe = results[(GO, big, "orchestra")], results[(GO, big, "orchestra (tcp probe)")]
    floor = results[(GO, big, "bash loop")]["start_s"]
    tiny = results[(TINY, big, "orchestra")]["start_s"] / results[(TINY, big, "bash loop")]["start_s"]
    peers = [results[(GO, big, p)]["start_s"] for p in ("honcho", "supervisord")]
    cpu = idle.get("orchestra (tcp probe)")

    def mark(ok):
        return "met" if ok else "**missed**"

    checks = [
        f"start ≤ 1.5× the bash floor — {mark(o['start_s'] <= 1.5 * floor)} "
        f"({o['start_s'] / floor:.2f}×; {probe['start_s'] / floor:.2f}× with a tcp probe on every service)",
        f"start of the tiny service ≤ 1.3× its bash floor — {mark(tiny <= 1.3)} ({tiny:.2f}×)",
        f"faster than every peer — {mark(o['start_s'] < min(peers))} "
        f"({min(peers) / o['start_s']:.1f}× the fastest)",
        f"stop ≤ 0.2 s — {mark(o['stop_s'] <= 0.2)} ({o['stop_s']:.3f} s)",
        f"daemon RSS ≤ 15 MiB — {mark(o['rss_mib'] is not None and o['rss_mib'] <= 15)} ({o['rss_mib']:.1f} MiB)",
        f"idle CPU ≤ 0.2 % — {mark(cpu is not None and cpu <= 0.2)} ({cpu:.3f} %)",
        f"`ps --json` ≤ 50 ms — {mark(o['ps_s'] <= 0.05)} ({o['ps_s'] * 1000:.0f} ms)",
    ]
    return f"Against the targets, {big} services: " + "; ".join(checks) + "."


def main():
    what = sys.argv[1:] or ["fleet"]
    binaries = build_service_binaries()
    if "fleet" in what:
        try:
            section = report(*fleet(binaries))
        finally:
            remove_left_behind()
        print(section)
        write_section("Fleet", section)
        log(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
