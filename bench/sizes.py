"""Latency against project size: orch with and without the journal daemon, and Backlog.md.

    python bench/sizes.py --tasks 1000 10000 100000 --runs 9 [--backlog-runs 3] [--no-append]

For each size, a project of one session (bench/generate.py) under bench/projects/,
measured in one run with nothing changed since the last command (whole processes,
medians of --runs):

- `orch task show ID`, `orch status`, `orch task list --ready --json`, `orch task list
  --json`: without a daemon (every record file stat-ed, by the child each command forks as
  it starts: index/prescan.py), then with one (`orch daemon
  start`), each command in its own process asking the journal (`ORCH_RELAY=0`), and run
  by the daemon (the default);
- the floor, `python -c "import click, sqlite3"`;
- Backlog.md's `backlog task view N --plain` on the same tasks written as Backlog.md
  files (when npm can install it: bench/backlog_compare.py), medians of --backlog-runs
  (one run at 100,000 tasks, where each takes half a minute); with --keep-backlog, the
  figures of the last bench/sizes.json (Backlog.md has not changed since);
- the layout: the same number of tasks in five sessions (five folders of a fifth each),
  `orch task show` and `orch status` without a daemon, beside one folder.

Writes the figures to bench/sizes.json (bench/plot.py draws them: bench/latency.svg) and
appends a table to bench/RESULTS.md. Targets (issue 20): floor + 30 ms with the journal at
10,000 tasks, floor + 40 ms at 100,000; one folder of 10,000 no dearer than five of 2,000.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from backlog_compare import BACKLOG, backlog_version, install, wall, write_backlog
from cli_reads import (
    FLOOR,
    HERE,
    ORCH,
    RACY_WAIT_S,
    append_results,
    command,
    ms,
    section_header,
    timings_ms,
)
from generate import generate
from journal import daemon, measure_reads, reads

FIGURES = HERE / "sizes.json"


def project(size: int, sessions: int) -> tuple[Path, dict]:
    """A new project of `size` tasks in `sessions` sessions, indexed and committed."""
    root = HERE / "projects" / f"sizes-{size}-{sessions}"
    subprocess.run(["rm", "-rf", str(root)], check=True)
    print(f"{size:,} tasks in {sessions} session(s): generating {root} ...", file=sys.stderr)
    shape = generate(root, size, sessions=sessions)
    time.sleep(RACY_WAIT_S)  # files just generated are "racy" and would be re-read
    command([str(ORCH), "reindex"], root)()
    command([str(ORCH), "status"], root)()  # the first command commits every file once
    return root, shape


def medians(times: dict[str, list[float]]) -> dict[str, float]:
    return {label: round(statistics.median(values), 1) for label, values in times.items()}


def measure_size(size: int, runs: int, backlog_runs: int, kept_backlog: dict) -> dict:
    root, shape = project(size, 1)
    task_id = shape["task_id"]
    found: dict = {"tasks": size, "without": medians(measure_reads(root, task_id, runs, "0"))}
    found["floor"] = round(statistics.median(timings_ms(command(FLOOR, root), runs)), 1)
    daemon(root, "start")
    try:
        found["journal"] = medians(measure_reads(root, task_id, runs, "0"))
        found["with"] = medians(measure_reads(root, task_id, runs, "1"))
    finally:
        daemon(root, "stop")
    if kept_backlog and size in kept_backlog:
        found["backlog"], found["backlog_version"] = kept_backlog[size]
    elif backlog_runs and install():
        numbers = write_backlog(root)
        view = [str(BACKLOG), "task", "view", f"task-{numbers[task_id]}", "--plain"]
        print(f"{size:,} tasks: Backlog.md ...", file=sys.stderr)
        runs_here = backlog_runs if size < 100_000 else 1  # ~30 s a run at 100,000
        found["backlog"] = {"view": round(wall(view, root, runs_here), 1), "runs": runs_here}
        found["backlog_version"] = backlog_version()
    subprocess.run(["rm", "-rf", str(root)], check=True)
    return found


def measure_layout(size: int, runs: int) -> dict:
    """`orch task show` and `orch status` without a daemon: one folder of `size` tasks
    against five of a fifth, measured in turn in one run."""
    layouts = {n: project(size, n) for n in (1, 5)}
    wanted = ("`orch status`", "`orch task show")
    found: dict[str, dict[str, list[float]]] = {"one": {}, "five": {}}
    for _ in range(3):  # interleaved rounds: a machine that slows down slows both alike
        for n, name in ((1, "one"), (5, "five")):
            root, shape = layouts[n]
            for label, args in reads(shape["task_id"]).items():
                if label.startswith(wanted):
                    key = label.split(" t-")[0].rstrip("`") + "`"
                    run = command(args, root, {"ORCH_RELAY": "0"})
                    run()
                    found[name].setdefault(key, []).extend(timings_ms(run, max(1, runs // 3)))
    for root, _shape in layouts.values():
        subprocess.run(["rm", "-rf", str(root)], check=True)
    return {"tasks": size, "one": medians(found["one"]), "five": medians(found["five"])}


def table(sizes: list[dict]) -> str:
    lines = [
        "| tasks | command | without daemon | daemon's journal | run by the daemon"
        " | journal − floor | run by it − floor | floor | Backlog.md `task view` |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sizes:
        for label, off in s["without"].items():
            journal, on = s["journal"][label], s["with"][label]
            backlog = ms(s["backlog"]["view"]) if "backlog" in s and "show" in label else ""
            lines.append(
                f"| {s['tasks']:,} | {label} | {ms(off)} | {ms(journal)} | {ms(on)}"
                f" | {ms(journal - s['floor'])} | {ms(on - s['floor'])} | {ms(s['floor'])}"
                f" | {backlog} |"
            )
    return "\n".join(lines)


def layout_table(layout: dict) -> str:
    n = layout["tasks"]
    lines = [
        f"| command | one session of {n:,} | five sessions of {n // 5:,} | one / five |",
        "|---|---:|---:|---:|",
    ]
    for label, one in layout["one"].items():
        five = layout["five"][label]
        lines.append(f"| {label} | {ms(one)} | {ms(five)} | {one / five:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--runs", type=int, default=9, help="runs per median")
    parser.add_argument("--backlog-runs", type=int, default=3, help="0: no Backlog.md")
    parser.add_argument("--keep-backlog", action="store_true",
                        help="take Backlog.md's figures from the last bench/sizes.json")  # fmt: skip
    parser.add_argument("--layout", type=int, default=10_000, help="tasks of the layout test")
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args(argv)

    kept_backlog = {}
    if args.keep_backlog and FIGURES.exists():  # Backlog.md's figures of the last run
        for s in json.loads(FIGURES.read_text())["sizes"]:
            if "backlog" in s:
                kept_backlog[s["tasks"]] = (s["backlog"], s.get("backlog_version"))
    sizes = [measure_size(size, args.runs, args.backlog_runs, kept_backlog) for size in args.tasks]
    layout = measure_layout(args.layout, args.runs)
    FIGURES.write_text(json.dumps({"sizes": sizes, "layout": layout}, indent=1) + "\n")
    section = section_header("sqlite", " — latency against project size")
    text = (
        "Whole processes, nothing changed since the last command; medians of"
        f" {args.runs} runs (Backlog.md: {args.backlog_runs}). Figures in bench/sizes.json;"
        f" `python bench/plot.py` draws them.\n\n{table(sizes)}\n\n"
        f"The layout, without a daemon, interleaved rounds:\n\n{layout_table(layout)}\n"
    )
    print(text)
    section += ["", text.rstrip()]
    if not args.no_append:
        append_results(section)


if __name__ == "__main__":
    main()
