"""Measure commands with and without the journal daemon (`orch daemon`).

    python bench/journal.py --tasks 10000 [100000] --runs 15 [--engine sqlite|duckdb]

For each size it generates a project of one session under bench/projects/ (git-ignored;
replaced on each run) and measures, in one run, whole processes of `orch status`, `orch
task show ID`, `orch task list --ready --json` and `orch task list --json` with nothing
changed since the last command: without a daemon (every command stats every record file
and lists every folder, in a child it forks as it starts: index/prescan.py); with one (`orch daemon start`) but each command in its own
process (`ORCH_RELAY=0`: it asks the daemon what changed); and with the daemon running
the command in a worker it forks (the default); without a daemon and without the early
scan of index/prescan.py (`ORCH_PRESCAN=0`); the same for `orch task update ID
--priority N` (a commit each), and the floor, `python -c
"import click, sqlite3"`. It prints medians and medians minus the floor, and appends the
table, with the machine and the command line, to bench/RESULTS.md. Targets at 10,000
tasks: reads floor + 30 ms with the daemon, floor + 60 ms without; `task list --json`
≤ 250 ms and `task update` ≤ 100 ms, whole processes.

Also measured, with the daemon: the same `orch task show ID` right after editing one task
file by hand (the daemon names that file; it is read again and committed).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cli_reads import (
    FLOOR,
    HERE,
    ORCH,
    RACY_WAIT_S,
    TitleEditor,
    append_results,
    command,
    ms,
    p95,
    section_header,
    timings_ms,
)
from generate import generate

WITH_TARGET_MS = 30
WITHOUT_TARGET_MS = 60
LIST_TARGET_MS = 250  # `task list --json` of 10,000 tasks, a whole process
UPDATE_TARGET_MS = 100  # `task update`, a whole process

# command, without, journal only, relayed, without − floor, journal − floor, relayed − floor
Row = tuple[str, ...]


def reads(task_id: str) -> dict[str, list[str]]:
    return {
        "`orch status`": [str(ORCH), "status"],
        f"`orch task show {task_id}`": [str(ORCH), "task", "show", task_id],
        "`orch task list --ready --json`": [str(ORCH), "task", "list", "--ready", "--json"],
        "`orch task list --json` (every task)": [str(ORCH), "task", "list", "--json"],
    }


def measure_reads(
    root: Path, task_id: str, runs: int, relay: str, prescan: str = "1"
) -> dict[str, list[float]]:
    """Each read command's times in `root` as things are (daemon or not); `relay` is
    ORCH_RELAY: "0" keeps every command in its own process; `prescan` ORCH_PRESCAN: "0"
    makes a command without a daemon scan for itself (no early scan in a child)."""
    found = {}
    for label, args in reads(task_id).items():
        run = command(args, root, {"ORCH_RELAY": relay, "ORCH_PRESCAN": prescan})
        run()  # warm-up, and the index's token moved on
        run()
        found[label] = timings_ms(run, runs)
    return found


def daemon(root: Path, action: str) -> None:
    done = subprocess.run([str(ORCH), "daemon", action], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"`orch daemon {action}` failed in {root}:\n{done.stderr}")
    print(f"  {done.stdout.strip()}", file=sys.stderr)


class Priorities:
    """`orch task update ID --priority N`, N changing each time: one commit each."""

    def __init__(self, root: Path, task_id: str, relay: str, prescan: str = "1"):
        self.root, self.task_id, self.n = root, task_id, 0
        self.env = {"ORCH_RELAY": relay, "ORCH_PRESCAN": prescan}

    def __call__(self) -> None:
        self.n += 1
        args = [str(ORCH), "task", "update", self.task_id, "--priority", str(1 + self.n % 4)]
        command(args, self.root, self.env)()


def measure(root: Path, shape: dict, runs: int) -> tuple[list[Row], list[str]]:
    task_id = shape["task_id"]
    time.sleep(RACY_WAIT_S)  # files just generated are "racy" and would be re-read
    command([str(ORCH), "reindex"], root)()
    without = measure_reads(root, task_id, runs, "0")
    update_without = timings_ms(Priorities(root, task_id, "0"), runs)
    late = measure_reads(root, task_id, runs, "0", prescan="0")
    late["update"] = timings_ms(Priorities(root, task_id, "0", prescan="0"), runs)
    floor_times = timings_ms(command(FLOOR, root), runs)
    floor = statistics.median(floor_times)
    daemon(root, "start")
    try:
        journal_only = measure_reads(root, task_id, runs, "0")
        relayed = measure_reads(root, task_id, runs, "1")
        update_journal = timings_ms(Priorities(root, task_id, "0"), runs)
        update_with = timings_ms(Priorities(root, task_id, "1"), runs)
        edit = TitleEditor(root / shape["task_file"])
        show = command(reads(task_id)[f"`orch task show {task_id}`"], root)
        after_edit = timings_ms(show, runs, before=edit)
        daemon(root, "status")
    finally:
        daemon(root, "stop")
    rows: list[Row] = []
    for label in reads(task_id):
        found = [without[label], journal_only[label], relayed[label]]
        medians = [statistics.median(times) for times in found]
        target = LIST_TARGET_MS if "every task" in label else None
        rows.append((
            label,
            *(f"{ms(m)} (p95 {ms(p95(t))})" for m, t in zip(medians, found, strict=True)),
            _judged(medians[0], floor, WITHOUT_TARGET_MS, target),
            _judged(medians[1], floor, WITH_TARGET_MS, target),
            _judged(medians[2], floor, WITH_TARGET_MS, target),
        ))  # fmt: skip
    found = [update_without, update_journal, update_with]
    updates = [statistics.median(times) for times in found]
    rows.append((
        f"`orch task update {task_id} --priority N` (a commit each)",
        *(f"{ms(m)} (p95 {ms(p95(t))})" for m, t in zip(updates, found, strict=True)),
        *(_judged(m, floor, None, UPDATE_TARGET_MS) for m in updates),
    ))  # fmt: skip
    notes = [
        f'floor (`python -c "import click, sqlite3"`): {ms(floor)} (p95 {ms(p95(floor_times))})',
        "without a daemon and without the early scan (`ORCH_PRESCAN=0`: each command stats"
        " every file itself), medians and − floor: "
        + "; ".join(
            f"`{label.split('`')[1].replace(task_id, 'ID')}`"
            f" {ms(statistics.median(t))} (+{ms(statistics.median(t) - floor)})"
            for label, t in late.items()
            if label != "update"
        )
        + f"; `orch task update ID --priority N` {ms(statistics.median(late['update']))}",
        f"with the daemon, `orch task show {task_id}` right after a hand edit of one task"
        f" file (re-read and committed): {ms(statistics.median(after_edit))}"
        f" (p95 {ms(p95(after_edit))})",
    ]
    return rows, notes


def _judged(
    median: float, floor: float, over_target: float | None, whole_target: float | None
) -> str:
    """The median less the floor, judged against `over_target`; or, for a target of the
    whole process (`whole_target`), the median itself judged against it."""
    if whole_target is not None:
        verdict = "meets" if median <= whole_target else "misses"
        return f"{ms(median - floor)} (whole: {verdict} ≤ {whole_target} ms)"
    assert over_target is not None
    over = median - floor
    return f"{ms(over)} ({'meets' if over <= over_target else 'misses'} ≤ {over_target} ms)"


def table(rows: list[Row]) -> str:
    lines = [
        "| command | without daemon | daemon, journal only (`ORCH_RELAY=0`) | daemon, run by it |"
        " without − floor | journal only − floor | run by it − floor |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[10_000])
    parser.add_argument("--runs", type=int, default=15, help="runs per median")
    parser.add_argument("--engine", choices=("sqlite", "duckdb"), default="sqlite")
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args(argv)

    section = section_header(args.engine, " — the journal daemon")
    for size in args.tasks:
        root = HERE / "projects" / f"journal-{size}-{args.engine}"
        subprocess.run(["rm", "-rf", str(root)], check=True)
        print(f"{size:,} tasks: generating {root} ...", file=sys.stderr)
        shape = generate(root, size, sessions=1)
        config = root / ".task_orchestrator" / "config.yaml"
        config.write_text(f"index: {args.engine}\n", encoding="utf-8")
        shape["task_file"] = (
            f".task_orchestrator/sessions/{shape['active_session']}/tasks/{shape['task_id']}.md"
        )
        print(f"{size:,} tasks: measuring ...", file=sys.stderr)
        rows, notes = measure(root, shape, args.runs)
        text = (
            f"### {size:,} tasks\n\n"
            f"1 session, {shape['groups']} groups, {shape['tasks']:,} tasks; whole processes,"
            f" nothing changed since the last command; medians and p95 of {args.runs} runs.\n\n"
            f"{table(rows)}\n\n" + "\n".join(f"- {note}" for note in notes) + "\n"
        )
        print(text)
        section += ["", text.rstrip()]
    if not args.no_append:
        append_results(section)


if __name__ == "__main__":
    main()
