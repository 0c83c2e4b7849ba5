"""Measure orch's read commands, its cold rebuild and its freshness check on big projects.

    python bench/cli_reads.py --tasks 1000 10000 --runs 15 [--engine sqlite|duckdb]

For each size it generates a project under bench/projects/ (git-ignored; replaced on each
run), measures the figures below as medians, prints a Markdown table per size and
appends them, with the machine and the command line, to bench/RESULTS.md.

- floor: `python -c "import click, sqlite3"`, the cost of any Python CLI at all;
- `orch task list --json`, `orch task show ID`, `orch status`: wall time of the process,
  and the same minus the floor (target: within 60 ms of the floor at 10,000 tasks);
- cold `orch reindex`, in ms and files/second (target: 10,000 files in under 5 s);
- freshness after editing one task file: `with project.reading(): pass` in-process with
  `commit: off` (the index refresh; target: under 30 ms at 10,000 tasks), the same with
  the edit committed (the default), and `orch task show ID` right after the edit;
- in-process `list_tasks` and `show_task` with nothing changed, for context.
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from generate import generate

from orchestrator.core.project import Project
from orchestrator.core.tasks import list_tasks, show_task

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
RESULTS_HEADER = """\
# orch benchmark results

Figures appended by the scripts in `bench/` (see bench/README.md; `python bench/run.py`
runs them all): medians, and p95 where given, of wall times on generated projects. Each
section records the machine and the exact command line, so results from different
machines or commits can be told apart.
"""
ORCH = Path(sys.executable).parent / "orch"
FLOOR = [sys.executable, "-c", "import click, sqlite3"]
REINDEX_RUNS = 3
# orch re-reads a file modified within 2 s of its last refresh (the "racy git" rule);
# waiting that long after generating keeps the first reads from re-hashing every file.
RACY_WAIT_S = 2.1
READ_TARGET_MS = 60  # a read command, above the floor
FRESH_TARGET_MS = 30  # an in-process freshness check after one edit
# 10,000 files in under 5 s. Judged from 10,000 files up: below that, starting Python
# weighs more than reading the files and a rate says little.
REINDEX_TARGET = 3_000  # files per second

Row = tuple[str, str, str, str]  # measurement, median, target, met


def timings_ms(
    action: Callable[[], object], runs: int, before: Callable[[], object] | None = None
) -> list[float]:
    """The wall times of `action` over `runs` calls, in milliseconds, sorted; `before`,
    if given, runs untimed before each call."""
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def median_ms(
    action: Callable[[], object], runs: int, before: Callable[[], object] | None = None
) -> float:
    """The median wall time of `action` over `runs` calls, in milliseconds."""
    return statistics.median(timings_ms(action, runs, before))


def p95(times: list[float]) -> float:
    return times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def spread(times: list[float]) -> str:
    """A table cell: the median of these times, and their p95."""
    ordered = sorted(times)
    return f"{ms(statistics.median(ordered))} (p95 {ms(p95(ordered))})"


def command(
    args: list[str], cwd: Path, env_set: dict[str, str] | None = None
) -> Callable[[], None]:
    """A function running `args` in `cwd` (with `env_set` in its environment) with stdout
    discarded; it stops the benchmark with orch's error message if the command fails."""
    env = {k: v for k, v in os.environ.items() if k != "ORCH_ROOT"} | (env_set or {})

    def run() -> None:
        done = subprocess.run(
            args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        if done.returncode != 0:
            sys.exit(f"`{shlex.join(args)}` failed in {cwd}:\n{done.stderr}")

    return run


class TitleEditor:
    """Changes one task's title in its file, as a person would in an editor: the file
    stays valid, its size changes and its mtime moves even on a coarse clock."""

    def __init__(self, path: Path):
        self.path, self.edits = path, 0

    def __call__(self) -> None:
        self.edits += 1
        before = self.path.stat().st_mtime_ns
        text = self.path.read_text(encoding="utf-8")
        # The suffix grows by one character per edit: the size always changes.
        suffix = f" (edit {'I' * self.edits})"
        text = re.sub(r"^(title: .*?)(?: \(edit I+\))?$", rf"\1{suffix}", text, count=1, flags=re.M)
        self.path.write_text(text, encoding="utf-8")
        if self.path.stat().st_mtime_ns <= before:
            os.utime(self.path, ns=(before + 1000, before + 1000))


def ms(value: float) -> str:
    return f"{value:,.1f} ms"


def met(ok: bool) -> str:
    return "yes" if ok else "no"


def measure(root: Path, shape: dict, runs: int) -> list[Row]:
    """Every figure for one generated project, as table rows."""
    project = Project(root)
    task_id = shape["task_id"]
    files = shape["sessions"] + shape["groups"] + shape["tasks"]
    files += len(list(project.layout.roles_dir.glob("*.yaml")))
    rows: list[Row] = []

    time.sleep(RACY_WAIT_S)
    reindex = median_ms(command([str(ORCH), "reindex"], root), REINDEX_RUNS)
    rate = files / (reindex / 1000)
    fast = met(rate >= REINDEX_TARGET) if files >= 10_000 else "n/a"
    rows.append((f"cold `orch reindex` ({files:,} files)", ms(reindex), "10,000 files < 5 s", fast))
    rows.append(("cold reindex rate", f"{rate:,.0f} files/s", f">= {REINDEX_TARGET:,}", fast))

    floor = median_ms(command(FLOOR, root), runs)
    rows.append(('floor: `python -c "import click, sqlite3"`', ms(floor), "", ""))
    show_args = [str(ORCH), "task", "show", task_id]
    reads = {
        "`orch task list --json`": [str(ORCH), "task", "list", "--json"],
        f"`orch task show {task_id}`": show_args,
        "`orch status`": [str(ORCH), "status"],
        "`orch task list --ready --json`": [str(ORCH), "task", "list", "--ready", "--json"],
        "`orch search refund --json`": [str(ORCH), "search", "refund", "--json"],
    }
    for label, args in reads.items():
        run = command(args, root)
        run()  # warm-up: the OS file cache, Python's bytecode cache
        times = timings_ms(run, runs)
        wall = statistics.median(times)
        over = wall - floor
        rows.append((label, f"{ms(wall)} (p95 {ms(p95(times))})", "", ""))
        rows.append(
            (f"{label} − floor", ms(over), f"<= {READ_TARGET_MS} ms", met(over <= READ_TARGET_MS))
        )

    list_tasks(project)  # warm-up: imports, schema cache
    listed = timings_ms(lambda: list_tasks(project), runs)
    rows.append(("in-process `list_tasks` (no change)", spread(listed), "", ""))
    shown = timings_ms(lambda: show_task(project, task_id), runs)
    rows.append(("in-process `show_task` (no change)", spread(shown), "", ""))

    unchanged_times = timings_ms(read_nothing(project), runs)
    unchanged = statistics.median(unchanged_times)
    rows.append(
        ("in-process `project.reading()`, nothing changed", spread(unchanged_times), "", "")
    )
    edit = TitleEditor(project.layout.record_path("task", shape["active_session"], task_id))
    # The index refresh alone: with `commit: off` the edit is not committed.
    config = project.layout.config_file
    settings = config.read_text(encoding="utf-8")
    config.write_text(settings + "commit: off\n", encoding="utf-8")
    project = Project(root)  # reads the new setting
    fresh_times = timings_ms(read_nothing(project), runs, before=edit)
    fresh = statistics.median(fresh_times)
    with project.reading() as db:
        many = [r[0] for r in db.rows(
            "SELECT task_id FROM tasks WHERE session_id = ? ORDER BY task_id LIMIT 100",
            [shape["active_session"]])]  # fmt: skip
    editors = [TitleEditor(project.layout.record_path("task", shape["active_session"], t))
               for t in many]  # fmt: skip
    fresh_many = timings_ms(
        read_nothing(project), max(3, runs // 3), before=lambda: [e() for e in editors]
    )
    config.write_text(settings, encoding="utf-8")
    project = Project(root)
    rows.append(
        (
            "in-process `project.reading()` after editing 1 task file (`commit: off`)",
            spread(fresh_times),
            f"< {FRESH_TARGET_MS} ms",
            met(fresh < FRESH_TARGET_MS),
        )
    )
    rows.append(("… of which the refresh (minus nothing changed)", ms(fresh - unchanged), "", ""))
    synced = timings_ms(read_nothing(project), runs, before=edit)
    rows.append(
        (
            "… the same committing the edit (`commit: every-sync`, the default)",
            spread(synced),
            "",
            "",
        )
    )
    rows.append(("in-process `project.reading()` after editing 100 task files (`commit: off`)",
                 spread(fresh_many), "", ""))  # fmt: skip
    after_edit = timings_ms(command(show_args, root), runs, before=edit)
    rows.append(
        (
            f"`orch task show {task_id}` after editing 1 task file (committed)",
            spread(after_edit),
            "",
            "",
        )
    )
    return rows


def read_nothing(project: Project) -> Callable[[], None]:
    """Open a fresh index and close it: the freshness check every command starts with."""

    def read() -> None:
        with project.reading():
            pass

    read()  # warm-up
    return read


def table(rows: list[Row]) -> str:
    lines = ["| measurement | median | target | met |", "|---|---:|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def engine_version(engine: str) -> str:
    if engine == "duckdb":
        import duckdb

        return f"duckdb {duckdb.__version__}"
    import sqlite3

    return f"sqlite (SQLite {sqlite3.sqlite_version})"


def code_version() -> str:
    """The git commit measured, and whether orchestrator/ had uncommitted changes."""
    try:
        git = ["git", "-C", str(HERE.parent)]
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "orchestrator"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {commit}" + (" + uncommitted changes in orchestrator/" if dirty else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--runs", type=int, default=15, help="runs per median")
    parser.add_argument("--engine", choices=("sqlite", "duckdb"), default="sqlite")
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args(argv)

    section = section_header(args.engine)
    for size in args.tasks:
        root = HERE / "projects" / f"tasks-{size}-{args.engine}"
        shutil.rmtree(root, ignore_errors=True)
        shape = generate(root, size)
        (root / ".task_orchestrator" / "config.yaml").write_text(
            f"index: {args.engine}\n", encoding="utf-8"
        )
        print(f"{size:,} tasks: measuring in {root} ...", file=sys.stderr)
        rows = measure(root, shape, args.runs)
        text = (
            f"### {size:,} tasks\n\n"
            f"{shape['sessions']} sessions (1 active), {shape['groups']} groups,"
            f" {shape['tasks']:,} tasks, {shape['active_tasks']:,} in the active session;"
            f" medians and p95 of {args.runs} runs (reindex: {REINDEX_RUNS}).\n\n{table(rows)}\n"
        )
        print(text)
        section += ["", text.rstrip()]
    if not args.no_append:
        append_results(section)


def section_header(engine: str, title: str = "") -> list[str]:
    """The head of a RESULTS.md section: when, the command, the machine, the code. Also
    compiles orch's modules: pip writes bytecode when it installs a package, but an
    editable install run with PYTHONDONTWRITEBYTECODE (as in some sandboxes) never does,
    and every orch process would compile its modules again; start-up is measured as
    users have it."""
    compileall.compile_dir(HERE.parent / "orchestrator", quiet=1)
    return [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{title}",
        "",
        f"- command: `{shlex.join(sys.orig_argv)}`",
        f"- machine: {platform.platform()}; {cpu_model()}; {os.cpu_count()} cores;"
        f" Python {platform.python_version()}",
        f"- engine: {engine_version(engine)}",
        f"- code: {code_version()}",
    ]


def add_size(section: list[str], size: int, lines: list[str]) -> None:
    """Print one project size's table and add it to the RESULTS.md section."""
    print(f"\n### {size:,} tasks\n")
    print("\n".join(lines))
    section += ["", f"### {size:,} tasks", "", *lines]


def append_results(section: list[str]) -> None:
    if not RESULTS.exists():
        RESULTS.write_text(RESULTS_HEADER, encoding="utf-8")
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("\n" + "\n".join(section) + "\n")
    print(f"appended to {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
