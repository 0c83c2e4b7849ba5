"""Measure search over a task whose body is a big pasted log (issue 15, item 9).

    python bench/search_bounds.py --sizes 0.25 0.5 1 --runs 3 [--engines sqlite duckdb]

For each engine and body size (in MB) it makes bench/projects/search-<size>-<engine>/
(git-ignored; replaced on each run): a new project, one session, a few ordinary tasks
and one task whose description is a log in which the word "error" comes back every
few words (the hostile case: FTS5's snippet() scored every hit against every other,
hits² work). It times `orch search error --json` (the whole process) and the MCP tool
`orchestrator_search` called through the SDK's client in process (`mcp.Client(server)`,
as tests/test_mcp.py does; in a child process, so a call that hangs can be stopped).
With --others it also times, at each size, the commands that read or rewrite the same
body: `orch task show`, `orch task list`, `orch export`, and `orch task update` of
another task (which regenerates session.md and commits). A call over --timeout seconds
is stopped and shown as "> N s". Prints Markdown tables of medians and appends them,
with the machine, the command line and the commit, to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cli_reads import ORCH, append_results, engine_version, section_header

import orchestrator

HERE = Path(__file__).resolve().parent
WORD = "error"
TARGET_S = 1.0  # issue 15: under a second for a 1 MB body


def log_body(megabytes: float) -> str:
    """A pasted log of about `megabytes` MB in which WORD is every third word or so."""
    size = int(megabytes * 1024 * 1024)
    lines, total, i = [], 0, 0
    while total < size:
        line = f"10:{i // 60 % 60:02d}:{i % 60:02d} {WORD} {WORD} retry {i} {WORD} refused\n"
        lines.append(line)
        total += len(line)
        i += 1
    return "".join(lines)


def make_project(root: Path, engine: str, body: str) -> tuple[str, str]:
    """A project holding the log task; returns its id and an ordinary task's id."""
    import shutil

    from orchestrator.core.project import Project
    from orchestrator.core.sessions import create_session
    from orchestrator.core.setup import init_project
    from orchestrator.core.tasks import add_task

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", str(root)], check=True)
    init_project(root)
    config = root / ".task_orchestrator" / "config.yaml"
    config.write_text(config.read_text().replace("index: sqlite", f"index: {engine}"))
    project = Project(root.resolve())
    create_session(project, "pasted logs")
    other = add_task(project, "Retry the upload on error", description="Back off.")["task_id"]
    add_task(project, "Write the changelog", description="Nothing to do with logs.")
    log = add_task(project, "Flaky upload: the log", description=body)["task_id"]
    return log, other


def timed(args: list[str], cwd: Path, timeout: float) -> float | None:
    """Seconds `args` took in `cwd`, or None if stopped after `timeout`."""
    started = time.perf_counter()
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed in {cwd}:\n{done.stderr}")
    return time.perf_counter() - started


def mcp_child(root: Path, runs: int) -> None:
    """(In a child process) call orchestrator_search `runs` times; print the seconds."""
    from mcp import Client

    from orchestrator.mcp.server import build_server

    async def go() -> list[float]:
        times = []
        async with Client(build_server(root), read_timeout_seconds=3600) as client:
            await client.call_tool("orchestrator_task_list", {})  # the index, built
            for _ in range(runs):
                started = time.perf_counter()
                result = await client.call_tool("orchestrator_search", {"query": WORD})
                times.append(time.perf_counter() - started)
                assert not result.is_error, result.content[0].text
        return times

    print(json.dumps(asyncio.run(go())))


def mcp_times(root: Path, runs: int, timeout: float) -> list[float | None]:
    args = [sys.executable, __file__, "--mcp-child", str(root), "--runs", str(runs)]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout * runs + 30)
    except subprocess.TimeoutExpired:
        return [None]
    if done.returncode != 0:
        sys.exit(f"the MCP child failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def cell(times: list[float | None], timeout: float) -> str:
    if any(t is None for t in times):
        return f"> {timeout:,.0f} s"
    return f"{statistics.median(times):,.2f} s"


def measure(engine: str, size: float, args) -> tuple[list[str], list[str]]:
    root = HERE / "projects" / f"search-{size:g}-{engine}"
    body = log_body(size)
    log, other = make_project(root, engine, body)
    orch = [str(ORCH), "--root", str(root)]
    timed([*orch, "task", "list"], root, args.timeout)  # the index, built and fresh
    cli = []
    for _ in range(args.runs):
        cli.append(timed([*orch, "search", WORD, "--json"], root, args.timeout))
        if cli[-1] is None:
            break
    mcp = mcp_times(root, args.runs, args.timeout)
    hits = body.count(WORD)
    row = (f"| {engine} | {len(body) / 2**20:.2f} MB | {hits:,} | {cell(cli, args.timeout)}"
           f" | {cell(mcp, args.timeout)} |")  # fmt: skip
    others = []
    if args.others:
        commands = {
            "task show (the log task)": ["task", "show", log],
            "task list": ["task", "list"],
            "export (json)": ["export"],
            "task start of another task (rewrites session.md, commits)": ["task", "start", other],
        }
        for name, command in commands.items():
            took = [timed([*orch, *command], root, args.timeout)]
            others.append(
                f"| {engine} | {len(body) / 2**20:.2f} MB | {name} | {cell(took, args.timeout)} |"
            )
    return [row], others


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "duckdb"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--others", action="store_true", help="also time show, list, export")
    parser.add_argument("--mcp-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.mcp_child:
        return mcp_child(args.mcp_child, args.runs)

    rows, others = [], []
    for engine in args.engines:
        for size in args.sizes:
            row, other = measure(engine, size, args)
            print(*row, *other, sep="\n", flush=True)
            rows += row
            others += other
    section = section_header(args.engines[0], " — search over a pasted log (issue 15 item 9)")
    section[4] = "- engines: " + "; ".join(engine_version(e) for e in args.engines)
    measured = Path(orchestrator.__file__).resolve().parents[1]
    if measured != HERE.parent:  # PYTHONPATH pointing at another checkout (say, an old commit)
        section[5] = f"- code: orchestrator/ from {measured}"
    section += [
        "",
        f'One task\'s body is a log in which "{WORD}" is every third word; `orch search {WORD}`'
        f" (the whole process) and the MCP tool in process; medians of {args.runs} runs"
        f" (target: under {TARGET_S:g} s at 1 MB).",
        "",
        "| engine | body | hits | orch search | MCP search |",
        "|---|---:|---:|---:|---:|",
        *rows,
    ]
    if others:
        section += ["", "The same body through other commands (one run each):", "",
                    "| engine | body | command | time |", "|---|---:|---|---:|", *others]  # fmt: skip
    print("\n".join(section[section.index("") :]))
    append_results(section)


if __name__ == "__main__":
    main()
