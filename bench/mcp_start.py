"""The MCP servers of orch and Backlog.md side by side: how long from start to the first
reply, what CPU that costs, and how large tools/list is, for each of orch's tool sets.

    python bench/mcp_start.py --runs 11 [--before DIR] [--no-append]

Each server is started over stdio in a project of the sample (orch) or a fresh
`backlog init` (Backlog.md), sent `initialize`, and timed until its reply: the wall
time, and the CPU of every process of its session (Backlog.md's npm wrapper starts the
binary as a child) read from /proc at that moment. Then `tools/list` is sent, and its
reply's size in bytes as it travelled is kept. Medians of --runs, one warm-up not
counted. `--before DIR`: also an older orch checkout (its .venv/bin/orch), for a
before/after pair in one run. Backlog.md comes from bench/.backlog-md/ (see
backlog_compare.py: install()); without it that row is skipped, and said.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from backlog_compare import BACKLOG, backlog_version, install
from cli_reads import append_results, section_header

HERE = Path(__file__).resolve().parent
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "bench", "version": "1"}}}  # fmt: skip
LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def session_cpu(sid: int) -> float:
    """CPU seconds (user and system, with reaped children) of every process of session
    `sid` now."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
            total += sum(int(f) for f in fields[11:15]) / tick
    return total


def one_start(command: list[str], cwd: Path) -> tuple[float, float, float, int, int]:
    """Wall and CPU seconds to the initialize reply, wall to the tools/list reply, the
    tools/list reply's bytes and its tool count."""
    start = time.perf_counter()
    server = subprocess.Popen(command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        server.stdin.write((json.dumps(INIT) + "\n").encode())
        server.stdin.flush()
        first = answer(server, 1)
        wall = time.perf_counter() - start
        cpu = session_cpu(server.pid)
        if b'"result"' not in first:
            sys.exit(f"{command} did not answer initialize: {first[:300]!r}")
        server.stdin.write((json.dumps(INITIALIZED) + "\n" + json.dumps(LIST) + "\n").encode())
        server.stdin.flush()
        listed = answer(server, 2)
        ready = time.perf_counter() - start
        tools = len(json.loads(listed)["result"]["tools"])
        return wall, cpu, ready, len(listed.rstrip(b"\n")), tools
    finally:
        os.killpg(server.pid, 9)
        server.wait()


def answer(server: subprocess.Popen, request_id: int) -> bytes:
    """The server's answer to request `request_id` (notifications before it skipped)."""
    while True:
        line = server.stdout.readline()
        if not line:
            sys.exit(f"the server closed its output before answering request {request_id}")
        try:
            if json.loads(line).get("id") == request_id:
                return line
        except ValueError:
            continue


def measure(command: list[str], cwd: Path, runs: int) -> dict[str, float]:
    one_start(command, cwd)  # warm-up
    samples = [one_start(command, cwd) for _ in range(runs)]
    return {
        "wall": statistics.median(s[0] for s in samples),
        "cpu": statistics.median(s[1] for s in samples),
        "ready": statistics.median(s[2] for s in samples),
        "bytes": samples[-1][3],
        "tools": samples[-1][4],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--before", type=Path, help="an older orch checkout with a .venv")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="orch-mcp-start-"))
    orch_dir = work / "orch"
    shutil.copytree(HERE.parent / "sample_project", orch_dir,
                    ignore=shutil.ignore_patterns(".index"))  # fmt: skip
    subprocess.run(["git", "init", "-q", str(orch_dir)], check=True)
    orch = [sys.executable, "-m", "orchestrator", "mcp"]
    rows = [(f"orch --tools {tools}", [*orch, "--tools", tools], orch_dir)
            for tools in ("core", "standard", "all")]  # fmt: skip
    if args.before:
        before = args.before.resolve() / ".venv" / "bin" / "orch"
        rows.append((f"orch before ({args.before.name})", [str(before), "mcp"], orch_dir))
    if install():
        backlog_dir = work / "backlog"
        backlog_dir.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=backlog_dir, check=True)
        subprocess.run([str(BACKLOG), "init", "--defaults", "bench"], cwd=backlog_dir,
                       capture_output=True, check=True)  # fmt: skip
        rows.append((f"Backlog.md {backlog_version()}", [str(BACKLOG), "mcp", "start"],
                     backlog_dir))  # fmt: skip

    lines = [
        "| server | to first reply (wall) | CPU to first reply | to tools/list reply"
        " | tools | tools/list bytes |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, command, cwd in rows:
        got = measure(command, cwd, args.runs)
        lines.append(
            f"| {label} | {got['wall'] * 1000:.0f} ms | {got['cpu'] * 1000:.0f} ms"
            f" | {got['ready'] * 1000:.0f} ms | {got['tools']} | {got['bytes']:,} |"
        )
        print(lines[-1], flush=True)
    shutil.rmtree(work, ignore_errors=True)
    section = section_header("sqlite", " — MCP server start-up and tools/list, beside Backlog.md")
    section += ["", f"Medians of {args.runs} starts each, one warm-up not counted.", "", *lines]
    print("\n".join(lines))
    if not args.no_append:
        append_results(section)


if __name__ == "__main__":
    main()
