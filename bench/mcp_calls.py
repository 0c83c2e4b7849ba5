"""Measure the MCP server as an AI client meets it: the SDK's real stdio client talking to
`orch mcp` (a subprocess) on a generated project.

    python bench/mcp_calls.py --tasks 10000 --runs 50 [--engine sqlite|duckdb]

For each size it generates bench/projects/mcp-<N>-<engine>/ (git-ignored, so its
.task_orchestrator/ is a repository of its own; replaced on each run), starts the server,
lets it build its index, then times tool calls (client side, round trip) and prints p50
and p95, the size of each reply (text and structured output, as JSON) and the server's
peak memory. The rows:

- task_get of a task of the active session (a different one each call);
- task_list with no arguments (the first page: 50 rows of summary fields) and the ready
  list;
- search for a word found in many titles ("refund": one title in 16) (the first 20 hits, ranked, with snippets);
- get_status;
- complete_subtask of a pending task with a one-line summary and a detailed_work
  artifact: the file write, the index update and the git commit (target 100 ms).

Targets at 10,000 tasks: reads p50 <= 10 ms, search <= 20 ms, complete_subtask <= 100 ms,
no reply over 8 KB. Appends the tables, with the machine and the command, to
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from cli_reads import ORCH, add_size, append_results, section_header
from generate import fresh_project

from orchestrator.core.project import Project

HERE = Path(__file__).resolve().parent
READ_TARGET_MS = 10
SEARCH_TARGET_MS = 20
WRITE_TARGET_MS = 100
REPLY_LIMIT = 8 * 1024


def reply_size(result) -> int:
    """Bytes of what the client receives: the text blocks and the structured output."""
    text = sum(len(block.text.encode()) for block in result.content if hasattr(block, "text"))
    data = result.structured_content
    return text + (len(json.dumps(data, separators=(",", ":")).encode()) if data else 0)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def server_rss_peak(root: Path) -> int | None:
    """Peak resident memory (kB) of the `orch mcp` process serving `root`."""
    for status in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmdline = status.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"mcp" in cmdline and str(root).encode() in cmdline:
            for line in (status.parent / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    return None


async def measure(root: Path, shape: dict, runs: int) -> tuple[list[tuple], int | None]:
    from mcp import Client, StdioServerParameters

    with Project(root).reading() as db:
        active = shape["active_session"]
        ids = [r[0] for r in db.rows(
            "SELECT task_id FROM tasks WHERE session_id = ? ORDER BY task_id", [active])]  # fmt: skip
        pending = [r[0] for r in db.rows(
            "SELECT task_id FROM tasks WHERE session_id = ? AND status = 'pending' AND NOT"
            " EXISTS (SELECT 1 FROM tasks c WHERE c.parent_task_id = tasks.task_id)"
            " ORDER BY task_id", [active])]  # fmt: skip
    params = StdioServerParameters(command=str(ORCH), args=["mcp", "--root", str(root)])
    rows = []
    async with Client(params, read_timeout_seconds=120) as client:

        async def timed(name: str, args: dict, n: int, vary=None) -> tuple[list[float], int]:
            times, biggest = [], 0
            for i in range(n):
                call_args = vary(i) if vary else args
                start = time.perf_counter()
                result = await client.call_tool(name, call_args)
                times.append((time.perf_counter() - start) * 1000)
                if result.is_error:
                    sys.exit(f"{name}({call_args}) failed: {result.content[0].text}")
                biggest = max(biggest, reply_size(result))
            return times, biggest

        await timed("orchestrator_get_status", {}, 3)  # warm: imports, first refresh
        cases = [
            ("task_get", "orchestrator_task_get", {},
             lambda i: {"task_id": ids[(i * 7919) % len(ids)]}, READ_TARGET_MS),
            ("task_list (first page)", "orchestrator_task_list", {}, None, READ_TARGET_MS),
            ("task_list ready", "orchestrator_task_list", {"ready": True}, None, READ_TARGET_MS),
            ("search \"refund\"", "orchestrator_search", {"query": "refund"}, None,
             SEARCH_TARGET_MS),
            ("get_status", "orchestrator_get_status", {}, None, READ_TARGET_MS),
        ]  # fmt: skip
        for label, name, args, vary, target in cases:
            times, size = await timed(name, args, runs, vary)
            rows.append((label, times, size, target))
        writes = min(runs, len(pending))
        times, size = await timed(
            "orchestrator_complete_subtask",
            {},
            writes,
            lambda i: {
                "task_id": pending[i],
                "summary": "Done: the benchmark's report.",
                "detailed_work": "A longer report.\n" * 20,
                "file_paths": ["src/bench.py"],
                # Pending tasks picked at random may wait on others: the cost measured is
                # the completion's, so the rule's refusal is overridden.
                "force": True,
            },
        )
        rows.append(("complete_subtask (with commit)", times, size, WRITE_TARGET_MS))
        peak = server_rss_peak(root)
    return rows, peak


def table(rows: list[tuple], peak: int | None, shape: dict, runs: int) -> list[str]:
    lines = [
        f"{shape['sessions']} sessions (1 active), {shape['groups']} groups, {shape['tasks']:,}"
        f" tasks, {shape['active_tasks']:,} in the active session; {runs} calls each"
        " (complete_subtask: one per pending task, up to that many).",
        "",
        "| tool call (stdio round trip) | p50 | p95 | target p50 | met | largest reply |",
        "|---|---:|---:|---|---|---:|",
    ]
    for label, times, size, target in rows:
        p50 = statistics.median(times)
        met = "yes" if p50 <= target and size <= REPLY_LIMIT else "no"
        lines.append(
            f"| {label} | {p50:.1f} ms | {percentile(times, 95):.1f} ms | <= {target} ms"
            f" | {met} | {size:,} B |"
        )
    if peak:
        lines += ["", f"Peak resident memory of the server process: {peak / 1024:.0f} MB."]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[10_000])
    parser.add_argument("--runs", type=int, default=50, help="calls per measurement")
    parser.add_argument("--engine", choices=("sqlite", "duckdb"), default="sqlite")
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args(argv)
    section = section_header(args.engine, " — MCP server over stdio")
    for size in args.tasks:
        root = HERE / "projects" / f"mcp-{size}-{args.engine}"
        shape = fresh_project(root, size, args.engine)
        rows, peak = asyncio.run(measure(root, shape, args.runs))
        lines = table(rows, peak, shape, args.runs)
        add_size(section, size, lines)
    if not args.no_append:
        append_results(section)


if __name__ == "__main__":
    main()
