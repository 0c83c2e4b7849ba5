"""Measure what git sync costs: a mutation with its commit, an outside edit synced, and a
merge of two clones that diverged.

    python bench/sync.py --tasks 1000 10000 --runs 15 [--merge-runs 3] [--engine sqlite|duckdb]

For each size it generates a project under bench/projects/ (git-ignored, so the project's
.task_orchestrator/ is a repository of its own; replaced on each run), measures the
figures below as medians and p95, prints a Markdown table per size and appends them,
with the machine and the command line, to bench/RESULTS.md.

- first sync: the first command in the generated project commits every file (once);
- `orch task update ID --priority N`: wall time of the process, index update and commit
  included (target: under 100 ms at 10,000 tasks), and the same with `commit: off`,
  which leaves the cost of the commit itself as the difference;
- in-process `update_task` with its commit: the core alone, without process start-up;
- `orch task show ID` after a hand edit of one task file: the refresh, the stale-buffer
  check and the `edit` commit;
- two clones of the project, each making 100 task edits (50 tasks edited on both sides,
  in different fields, so the merge driver runs for each; 50 on one side only), then
  `orch sync --remote origin` in the second: fetch, merge, reindex, push. Median of
  `--merge-runs` fresh pairs; nothing in conflict afterwards is checked, not assumed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cli_reads import (
    ORCH,
    TitleEditor,
    append_results,
    command,
    ms,
    section_header,
    spread,
    table,
    timings_ms,
)
from generate import generate

from orchestrator.core.project import Project
from orchestrator.core.tasks import update_task

HERE = Path(__file__).resolve().parent
MUTATION_TARGET_MS = 100
EDITS_PER_CLONE = 100
SHARED_EDITS = 50  # of them, on tasks the other clone edits too


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"git {' '.join(args)} failed in {cwd}:\n{done.stderr}")
    return done.stdout.strip()


def set_commit_mode(root: Path, engine: str, mode: str) -> None:
    (root / ".task_orchestrator" / "config.yaml").write_text(
        f"index: {engine}\ncommit: {mode}\n", encoding="utf-8"
    )


class PriorityCycler:
    """`orch task update ID --priority N` with N changing every run, so every run writes."""

    def __init__(self, root: Path, task_id: str):
        self.root, self.task_id, self.n = root, task_id, 0

    def __call__(self) -> None:
        self.n += 1
        command(
            [str(ORCH), "task", "update", self.task_id, "--priority", str(self.n % 5 + 1)],
            self.root,
        )()


def active_tasks(project: Project, session_id: str) -> list[str]:
    with project.reading() as db:
        return [
            r[0]
            for r in db.rows(
                "SELECT task_id FROM tasks WHERE session_id = ? ORDER BY task_id", [session_id]
            )
        ]


def measure(root: Path, shape: dict, runs: int, engine: str) -> list[tuple[str, str, str, str]]:
    rows = []
    started = time.perf_counter()
    command([str(ORCH), "status"], root)()
    first = (time.perf_counter() - started) * 1000
    files = shape["sessions"] + shape["groups"] + shape["tasks"]
    rows.append((f"first command: index and commit all {files:,} files", ms(first), "", ""))
    repo = root / ".task_orchestrator"
    commits_before = int(git(repo, "rev-list", "--count", "HEAD"))

    task_id = shape["task_id"]
    cycler = PriorityCycler(root, task_id)
    cycler()  # warm-up
    walls = timings_ms(cycler, runs)
    wall = statistics.median(walls)
    ok = wall < MUTATION_TARGET_MS
    rows.append(
        (
            "`orch task update ID --priority N` (with its commit)",
            spread(walls),
            f"< {MUTATION_TARGET_MS} ms",
            "yes" if ok else "no",
        )
    )
    commits = int(git(repo, "rev-list", "--count", "HEAD")) - commits_before
    if commits != runs + 1:
        sys.exit(f"expected {runs + 1} commits from the updates, found {commits}")

    set_commit_mode(root, engine, "off")
    command([str(ORCH), "status"], root)()
    offs = timings_ms(cycler, runs)
    off = statistics.median(offs)
    rows.append(("… the same with `commit: off`", spread(offs), "", ""))
    rows.append(("… so the commit costs", ms(wall - off), "", ""))
    set_commit_mode(root, engine, "every-sync")
    command([str(ORCH), "sync"], root)()

    project = Project(root)
    n = iter(range(10**9))
    update_task(project, task_id, priority_level=1)
    inproc = timings_ms(lambda: update_task(project, task_id, priority_level=next(n) % 5 + 1), runs)
    rows.append(("in-process `update_task` (with its commit)", spread(inproc), "", ""))

    other = active_tasks(project, shape["active_session"])[1]
    editor = TitleEditor(project.layout.record_path("task", shape["active_session"], other))
    after_edit = timings_ms(command([str(ORCH), "task", "show", other], root), runs, editor)
    rows.append(
        ("`orch task show ID` after a hand edit (synced and committed)", spread(after_edit), "", "")
    )
    if git(repo, "status", "--porcelain"):
        sys.exit("the project has uncommitted changes after the runs")
    return rows


def merge_pair(root: Path, shape: dict, work: Path) -> float:
    """Two clones of the project diverge by 100 task edits each; returns the wall time
    of `orch sync --remote origin` in the second (fetch, merge, reindex, push)."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    remote = work / "remote.git"
    git(work, "clone", "-q", "--bare", str(root / ".task_orchestrator"), str(remote))
    clones = []
    for name in ("a", "b"):
        clone = work / name
        git(work, "clone", "-q", str(remote), str(clone / ".task_orchestrator"))
        clones.append(clone)
    a, b = clones
    for clone in clones:
        command([str(ORCH), "git", "install"], clone)()
    command([str(ORCH), "sync", "--remote", "origin"], a)()
    command([str(ORCH), "sync", "--remote", "origin"], b)()
    ids = active_tasks(Project(a), shape["active_session"])
    shared = ids[:SHARED_EDITS]
    only_a = ids[SHARED_EDITS : SHARED_EDITS + EDITS_PER_CLONE - SHARED_EDITS]
    only_b = ids[EDITS_PER_CLONE : EDITS_PER_CLONE + EDITS_PER_CLONE - SHARED_EDITS]
    pa, pb = Project(a), Project(b)
    for task_id in [*shared, *only_a]:
        update_task(pa, task_id, priority_level=5, description="Edited in clone A.")
    for task_id in [*shared, *only_b]:
        update_task(pb, task_id, estimated_effort=7)
    command([str(ORCH), "sync", "--remote", "origin"], a)()
    started = time.perf_counter()
    command([str(ORCH), "sync", "--remote", "origin"], b)()
    elapsed = (time.perf_counter() - started) * 1000
    with Project(b).reading() as db:
        conflicts = db.scalar("SELECT count(*) FROM problems WHERE severity = 'conflict'")
        found = {
            r[0]: r[1:]
            for r in db.rows_in(
                "SELECT task_id, priority_level, estimated_effort FROM tasks WHERE task_id IN ({in})",
                [*shared, *only_a, *only_b],
            )
        }
    lost = [t for t in shared if found[t] != (5, 7)]
    lost += [t for t in only_a if found[t][0] != 5] + [t for t in only_b if found[t][1] != 7]
    if conflicts or lost:
        sys.exit(f"the merge lost edits: {conflicts} conflicts; not merged: {lost}")
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--runs", type=int, default=15, help="runs per median")
    parser.add_argument("--merge-runs", type=int, default=3, help="clone pairs per median")
    parser.add_argument("--engine", choices=("sqlite", "duckdb"), default="sqlite")
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args(argv)
    section = section_header(args.engine, " — git sync")
    section.insert(4, f"- git: {git(HERE, 'version')}")
    for size in args.tasks:
        root = HERE / "projects" / f"sync-{size}-{args.engine}"
        shutil.rmtree(root, ignore_errors=True)
        shape = generate(root, size)
        set_commit_mode(root, args.engine, "every-sync")
        print(f"{size:,} tasks: measuring in {root} ...", file=sys.stderr)
        rows = measure(root, shape, args.runs, args.engine)
        merges = [
            merge_pair(root, shape, HERE / "projects" / f"merge-{size}")
            for _ in range(args.merge_runs)
        ]
        rows.append(
            (
                f"`orch sync --remote` merging 2 clones × {EDITS_PER_CLONE} task edits"
                f" ({SHARED_EDITS} tasks edited in both)",
                spread(merges),
                "",
                "",
            )
        )
        text = (
            f"### {size:,} tasks\n\n"
            f"{shape['tasks']:,} tasks, {shape['active_tasks']:,} in the active session;"
            f" medians and p95 of {args.runs} runs (merge: {args.merge_runs} fresh clone pairs).\n\n"
            f"{table(rows)}\n"
        )
        print(text)
        section += ["", text.rstrip()]
    if not args.no_append:
        append_results(section)


if __name__ == "__main__":
    main()
