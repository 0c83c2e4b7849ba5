"""Measure search, export and import on a generated project.

    python bench/moving.py --tasks 10000 --runs 30 [--engine sqlite|duckdb] [--no-append]

Generates bench/projects/moving-<N>-<engine>/ and measures, in one process (as the MCP
server or any long-running caller sees it), medians and p95 of:

- `search()` of the active session for a word in one title in 16 ("refund"), for two
  words, and over every session; target under 20 ms at 10,000 tasks;
- `export()` of the active session as JSON and as Parquet (DuckDB);
- `orch import taskmaster` of a tasks.json of N tasks into a new project (a whole
  process, one commit), then the same again (nothing new: the idempotent pass).

Appends the table, with the machine and the command, to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cli_reads import ORCH, add_size, append_results, section_header
from generate import fresh_project

from orchestrator.core.export import export
from orchestrator.core.project import Project
from orchestrator.core.search import search

HERE = Path(__file__).resolve().parent
SEARCH_TARGET_MS = 20


def timed(call, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def whole(*args: str, cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(ORCH), *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"orch {' '.join(args)} failed:\n{done.stderr}")
    return (time.perf_counter() - start) * 1000


def measure(root: Path, size: int, runs: int) -> list[tuple[str, float, float | None, str]]:
    project = Project(root)
    project.watch_changes()  # as a server: changes from the journal, not a scan
    search(project, "refund")  # warm: imports, the index open once
    rows = []
    for label, kwargs in (
        ('search "refund" (active session)', {"query": "refund"}),
        ('search "refund login" (two words)', {"query": "refund login"}),
        ('search "refund", every session', {"query": "refund", "scope": "all_sessions"}),
    ):
        p50, p95 = timed(lambda kw=kwargs: search(project, **kw), runs)
        rows.append((label, p50, p95, "yes" if p50 <= SEARCH_TARGET_MS else "no"))
    runs_done = iter(range(10**6))  # exports never overwrite: a new path each time
    for fmt in ("json", "parquet"):
        p50, p95 = timed(
            lambda f=fmt: export(project, None, f, f"bench-export-{next(runs_done)}.{f}"),
            max(3, runs // 10),
        )
        rows.append((f"export the active session as {fmt}", p50, p95, ""))
    tm = {"master": {"tasks": [
        {"id": n, "title": f"Task {n}", "description": "Imported.", "status": "pending",
         "priority": "medium", "dependencies": [n - 1] if n > 1 and n % 5 else []}
        for n in range(1, size + 1)]}}  # fmt: skip
    file = root.parent / f"taskmaster-{size}.json"
    file.write_text(json.dumps(tm))
    target = root.parent / f"import-{size}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    whole("init", str(target), cwd=target)
    first = whole("import", "taskmaster", str(file), "--json", cwd=target)
    again = whole("import", "taskmaster", str(file), "--json", cwd=target)
    rows.append((f"`orch import taskmaster` of {size:,} tasks (one commit)", first, None, ""))
    rows.append(("the same again (nothing new)", again, None, ""))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[10_000])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--engine", choices=("sqlite", "duckdb"), default="sqlite")
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args(argv)
    section = section_header(args.engine, " — search, export, import")
    for size in args.tasks:
        root = HERE / "projects" / f"moving-{size}-{args.engine}"
        shape = fresh_project(root, size, args.engine)
        rows = measure(root, size, args.runs)
        lines = [
            f"{shape['tasks']:,} tasks, {shape['active_tasks']:,} in the active session;"
            f" in one process, {args.runs} runs each (exports: fewer).",
            "",
            "| measurement | median | p95 | target | met |",
            "|---|---:|---:|---|---|",
            *[
                f"| {label} | {p50:.1f} ms | {'' if p95 is None else f'{p95:.1f} ms'} |"
                f" {'<= 20 ms' if met else ''} | {met} |"
                for label, p50, p95, met in rows
            ],
        ]
        add_size(section, size, lines)
    if not args.no_append:
        append_results(section)


if __name__ == "__main__":
    main()
