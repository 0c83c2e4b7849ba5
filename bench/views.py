"""Measure the session.md view: regenerating it for a big session, and the watcher's
latency from a file save to the committed sync.

    python bench/views.py --tasks 1000 10000 --runs 15 [--debounce 0.2]

For each size it generates a project with ONE session holding every task (git-ignored
under bench/projects/, replaced on each run) and appends a table to bench/RESULTS.md:

- regenerating session.md inside a write (`update_task` of one task's status, in
  process): the view read from the checklists the index keeps, the change log, the file
  read, placed and written (target: at most 50 ms for 10,000 tasks); beside it the same
  view rendered from every task (nothing kept), the change log's `git log` alone, and the
  whole `update_task`;
- `orch watch --debounce D`: from a hand edit of one task file to its commit, as seen by
  polling `git rev-parse HEAD` every 5 ms (median and p95 of --runs edits, 1.5 s apart).
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
    section_header,
    spread,
    table,
    timings_ms,
)
from generate import generate

from orchestrator.core import views
from orchestrator.core.project import Project
from orchestrator.core.tasks import update_task
from orchestrator.core.views import change_log, view_of
from orchestrator.model import IN_PROGRESS, PENDING
from orchestrator.store.session_view import place, render

HERE = Path(__file__).resolve().parent
REGEN_TARGET_MS = 50  # for 10,000 tasks in one session (issue 20)


def head(repo: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()


def measure(root: Path, shape: dict, runs: int, debounce: float) -> list[tuple[str, str, str, str]]:
    rows = []
    command([str(ORCH), "status"], root)()  # index and first commit
    project = Project(root)
    session_id = shape["active_session"]
    # The regeneration a write makes (core/views.regenerate: the view from the checklists
    # the index keeps, the change log, session.md read, placed and written), timed inside
    # real `update_task` calls that change one task's status back and forth.
    regens, updates = [], []
    real = views.regenerate

    def timed_regenerate(w, session_ids):
        started = time.perf_counter()
        real(w, session_ids)
        regens.append((time.perf_counter() - started) * 1000)

    views.regenerate = timed_regenerate
    try:
        for n in range(runs + 1):
            started = time.perf_counter()
            update_task(project, shape["task_id"], status=IN_PROGRESS if n % 2 else PENDING,
                        force=True)  # fmt: skip
            updates.append((time.perf_counter() - started) * 1000)
    finally:
        views.regenerate = real
    regens, updates = regens[1:], updates[1:]  # the first fills the kept checklists
    with project.reading() as db:
        body = db.scalar("SELECT count(*) FROM tasks WHERE session_id = ?", [session_id])
        path = project.layout.record_path("session", session_id, session_id)
        text_body = path.read_text(encoding="utf-8").split("\n---\n", 1)[1]

        def regenerate(whole: bool = False) -> None:  # as measured before the kept checklists
            view = view_of(project, db, session_id, whole=whole)
            view.changes = change_log(project, session_id)
            place(text_body, render(view))

        kept = timings_ms(regenerate, runs)
        scratch = timings_ms(lambda: regenerate(whole=True), runs)
        logs = timings_ms(lambda: change_log(project, session_id), runs)
    met = "yes" if statistics.median(kept) <= REGEN_TARGET_MS else "no"
    rows.append((f"regenerate session.md ({body:,} tasks): view, change log, render, place",
                 spread(kept), f"≤ {REGEN_TARGET_MS} ms", met))  # fmt: skip
    rows.append(("… the same, every task rendered (nothing kept)", spread(scratch), "", ""))
    rows.append(("… of which the change log's `git log`", spread(logs), "", ""))
    rows.append(("regeneration inside a write, session.md read and written too",
                 spread(regens), "", ""))  # fmt: skip
    rows.append(("the whole `update_task` (a status), in process", spread(updates), "", ""))

    repo = root / ".task_orchestrator"
    watcher = subprocess.Popen(
        [str(ORCH), "watch", "--debounce", str(debounce)],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(2.0)  # its first sync and its start
        with project.reading() as db:
            task_id = db.scalar(
                "SELECT task_id FROM tasks WHERE session_id = ? ORDER BY task_id LIMIT 1",
                [session_id],
            )
        editor = TitleEditor(project.layout.record_path("task", session_id, task_id))
        latencies = []
        for _ in range(runs):
            before = head(repo)
            editor()
            started = time.perf_counter()
            while head(repo) == before:
                if time.perf_counter() - started > 30:
                    sys.exit("the watcher made no commit within 30 s")
                time.sleep(0.005)
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(1.5)
    finally:
        watcher.terminate()
        watcher.wait()
    rows.append(
        (
            f"`orch watch --debounce {debounce:g}`: save of 1 task file to its commit",
            spread(latencies),
            f"debounce + 1 s = {debounce * 1000 + 1000:,.0f} ms",
            "yes" if statistics.median(latencies) < debounce * 1000 + 1000 else "no",
        )
    )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--runs", type=int, default=15, help="runs per median")
    parser.add_argument("--debounce", type=float, default=0.2, help="orch watch --debounce")
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args(argv)
    section = section_header("sqlite", " — session.md views and the watcher")
    for size in args.tasks:
        root = HERE / "projects" / f"views-{size}"
        shutil.rmtree(root, ignore_errors=True)
        shape = generate(root, size, sessions=1)
        print(f"{size:,} tasks in one session: measuring in {root} ...", file=sys.stderr)
        rows = measure(root, shape, args.runs, args.debounce)
        text = f"### {size:,} tasks, one session\n\nMedians and p95 of {args.runs} runs.\n\n{table(rows)}\n"
        print(text)
        section += ["", text.rstrip()]
    if not args.no_append:
        append_results(section)


if __name__ == "__main__":
    main()
