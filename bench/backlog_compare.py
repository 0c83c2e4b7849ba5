"""The same work in orch and in Backlog.md, timed side by side in one run.

    python bench/backlog_compare.py --tasks 1000 10000 --runs 5 [--no-append]

Installs Backlog.md with npm into bench/.backlog-md/ (once; the run is skipped, and
says so, when npm or the package is not available), generates a project per size with
bench/generate.py, writes every one of its tasks as a Backlog.md task file too
(`backlog/tasks/task-N - Title.md`, with status, priority, labels and dependencies), and
times whole processes of both tools, medians of `--runs`:

- list every task: `backlog task list --plain` / `orch task list --all-sessions --json`;
- search a word in one title in 16: `backlog search refund --plain` /
  `orch search refund --scope all_sessions --json`;
- view one task: `backlog task view N --plain` / `orch task show ID --json`;
- and the same three through each tool's MCP server (`backlog mcp start` / `orch mcp`)
  with the SDK's stdio client: round trip and reply size (orch lists a first page of 50
  summary rows; Backlog.md lists everything).

Reports the ratio (Backlog.md's time over orch's) and appends the table, with the
machine and the command, to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cli_reads import ORCH, add_size, append_results, section_header
from generate import fresh_project

from orchestrator.core.project import Project

HERE = Path(__file__).resolve().parent
TOOLS = HERE / ".backlog-md"
BACKLOG = TOOLS / "node_modules" / ".bin" / "backlog"
STATUS = {"pending": "To Do", "in_progress": "In Progress", "completed": "Done",
          "blocked": "To Do", "needs_revision": "In Progress", "failed": "To Do",
          "cancelled": "Done"}  # fmt: skip
PRIORITY = {1: "high", 2: "high", 3: "medium", 4: "low", 5: "low"}


def install() -> bool:
    """Backlog.md from npm into bench/.backlog-md/; False (and why) if it cannot be had."""
    if BACKLOG.exists():
        return True
    npm = shutil.which("npm")
    if npm is None:
        print("npm is not installed: the Backlog.md comparison is skipped", file=sys.stderr)
        return False
    TOOLS.mkdir(exist_ok=True)
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(TOOLS),
                           "backlog.md"], capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0 or not BACKLOG.exists():
        print(f"npm install backlog.md failed; the comparison is skipped:\n{done.stderr[-800:]}",
              file=sys.stderr)  # fmt: skip
        return False
    return True


def backlog_version() -> str:
    done = subprocess.run([str(BACKLOG), "--version"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def write_backlog(root: Path) -> dict[str, str]:
    """Every task of the orch project as a Backlog.md task file; orch id -> Backlog id."""
    folder = root / "backlog" / "tasks"
    folder.mkdir(parents=True)
    (root / "backlog" / "config.yml").write_text(
        'project_name: "Bench"\ndefault_status: "To Do"\nstatuses: ["To Do", "In Progress",'
        ' "Done"]\nlabels: []\nmilestones: []\ndate_format: yyyy-mm-dd\n'
    )
    with Project(root).reading() as db:
        rows = db.records("SELECT task_id, title, status, priority_level, task_group,"
                          " depends_on, description, created_at FROM tasks ORDER BY created_at,"
                          " task_id")  # fmt: skip
    numbers = {row["task_id"]: n for n, row in enumerate(rows, 1)}
    for row in rows:
        n = numbers[row["task_id"]]
        deps = ", ".join(f"task-{numbers[d]}" for d in row["depends_on"] or [] if d in numbers)
        slug = "".join(c if c.isalnum() else "-" for c in row["title"])[:60]
        title = row["title"].replace('"', "'")
        (folder / f"task-{n} - {slug}.md").write_text(
            f'---\nid: task-{n}\ntitle: "{title}"\nstatus: {STATUS[row["status"]]}\n'
            f"assignee: []\ncreated_date: '{(row['created_at'] or '2026-01-05')[:10]}'\n"
            f"labels: [{row['task_group'] or ''}]\ndependencies: [{deps}]\n"
            f"priority: {PRIORITY.get(row['priority_level'], 'medium')}\n---\n\n"
            f"## Description\n\n{row['description'] or ''}\n",
            encoding="utf-8",
        )
    return {t: f"{n}" for t, n in numbers.items()}


def wall(args: list[str], cwd: Path, runs: int) -> float:
    times = []
    for n in range(runs + 1):  # the first run warms the file cache and is not counted
        start = time.perf_counter()
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(
                f"{' '.join(args)} failed in {cwd}:\n{done.stdout[-500:]}\n{done.stderr[-500:]}"
            )
        if n:
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def mcp_calls(root: Path, numbers: dict[str, str], task_id: str, runs: int) -> list[tuple]:
    """Each tool's median round trip (ms) and reply size (bytes), both servers over stdio."""
    from mcp import Client, StdioServerParameters

    servers = {
        "backlog": (StdioServerParameters(command=str(BACKLOG), args=["mcp", "start"], cwd=str(root)),
                    [("task_list", {}), ("task_search", {"query": "refund"}),
                     ("task_view", {"id": f"task-{numbers[task_id]}"})]),
        "orch": (StdioServerParameters(command=str(ORCH), args=["mcp", "--root", str(root)]),
                 [("orchestrator_task_list", {"all_sessions": True}),
                  ("orchestrator_search", {"query": "refund", "scope": "all_sessions"}),
                  ("orchestrator_task_get", {"task_id": task_id})]),
    }  # fmt: skip
    results: dict[str, list[tuple[float, int]]] = {}
    for name, (params, calls) in servers.items():
        async with Client(params, read_timeout_seconds=300) as client:
            results[name] = []
            for tool, args in calls:
                times, size = [], 0
                for n in range(runs + 1):
                    start = time.perf_counter()
                    result = await client.call_tool(tool, args)
                    if n:
                        times.append((time.perf_counter() - start) * 1000)
                    if result.is_error:
                        sys.exit(f"{name} {tool} failed: {result.content[0].text[:300]}")
                    text = sum(len(b.text.encode()) for b in result.content if hasattr(b, "text"))
                    data = result.structured_content
                    size = text + (len(json.dumps(data).encode()) if data else 0)
                results[name].append((statistics.median(times), size))
    return [(label, *results["backlog"][i], *results["orch"][i])
            for i, label in enumerate(("list tasks", 'search "refund"', "view one task"))]  # fmt: skip


def measure(root: Path, shape: dict, runs: int) -> list[str]:
    numbers = write_backlog(root)
    task_id = shape["task_id"]
    pairs = [
        ("list every task", [str(BACKLOG), "task", "list", "--plain"],
         [str(ORCH), "task", "list", "--all-sessions", "--json"]),
        ('search "refund"', [str(BACKLOG), "search", "refund", "--plain"],
         [str(ORCH), "search", "refund", "--scope", "all_sessions", "--json"]),
        ("view one task", [str(BACKLOG), "task", "view", numbers[task_id], "--plain"],
         [str(ORCH), "task", "show", task_id, "--json"]),
    ]  # fmt: skip
    lines = [
        f"{shape['tasks']:,} tasks in both tools (Backlog.md {backlog_version()}); whole"
        f" processes, medians of {runs} runs.",
        "",
        "| command | Backlog.md | orch | Backlog.md / orch |",
        "|---|---:|---:|---:|",
    ]
    for label, theirs, ours in pairs:
        a, b = wall(theirs, root, runs), wall(ours, root, runs)
        lines.append(f"| {label} | {a:,.0f} ms | {b:,.0f} ms | {a / b:.1f}× |")
    lines += [
        "",
        "Through each tool's MCP server over stdio (the `mcp` SDK's client), medians of"
        f" {runs * 4} calls, with the size of each reply:",
        "",
        "| tool call | Backlog.md | orch | Backlog.md / orch | reply: Backlog.md | reply: orch |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, a, a_size, b, b_size in asyncio.run(mcp_calls(root, numbers, task_id, runs * 4)):
        lines.append(f"| {label} | {a:,.1f} ms | {b:,.1f} ms | {a / b:.1f}× | {a_size:,} B |"
                     f" {b_size:,} B |")  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if not install():
        return
    section = section_header("sqlite", " — orch and Backlog.md side by side")
    for size in args.tasks:
        root = HERE / "projects" / f"backlog-{size}"
        shape = fresh_project(root, size)
        add_size(section, size, measure(root, shape, args.runs))
    if not args.no_append:
        append_results(section)


if __name__ == "__main__":
    main()
