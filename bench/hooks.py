"""Measure what orch's git hooks add to git commands on a generated project.

    python bench/hooks.py --tasks 10000 --runs 15 [--files 10]

Generates bench/projects/hooks-<N>/ (git-ignored here, so its .task_orchestrator/ is a
repository of its own; replaced on each run), installs the hooks (`orch hooks
install`), and measures as medians:

- `git commit` of `--files` edited task files (their status changed, as a person would
  edit them), the pre-commit hook included: it checks the staged files, regenerates the
  touched session's view (all its tasks) and stages it. Target: the hook under 300 ms at
  10,000 tasks; the same commit with `--no-verify` is the baseline, and the difference
  is the hook's cost;
- `git checkout` of a branch where those files differ, the post-checkout hook (index
  update) included, and the same with hooks turned off.

Appends the table, with the machine and the command, to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from cli_reads import ORCH, add_size, append_results, ms, section_header, spread
from generate import fresh_project

from orchestrator.core.project import Project

HERE = Path(__file__).resolve().parent
HOOK_TARGET_MS = 300


def git(cwd: Path, *args: str) -> float:
    """Run git; returns its wall time in ms (and stops the run if it fails)."""
    start = time.perf_counter()
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    took = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        sys.exit(f"git {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return took


def edit(paths: list[Path], status: str) -> None:
    for path in paths:
        text = path.read_text(encoding="utf-8")
        head, sep, rest = text.partition("\nstatus: ")
        rest = rest.split("\n", 1)[1]
        path.write_text(f"{head}{sep}{status}\n{rest}", encoding="utf-8")


def measure(root: Path, shape: dict, runs: int, files: int) -> list[tuple[str, float, str]]:
    repo = root / ".task_orchestrator"
    env_hooks = ["-c", f"core.hooksPath={repo / '.git' / 'hooks'}"]
    subprocess.run([str(ORCH), "--root", str(root), "hooks", "install"], check=True,
                   capture_output=True)  # fmt: skip
    with Project(root).reading() as db:
        ids = [r[0] for r in db.rows(
            "SELECT task_id FROM tasks WHERE session_id = ? ORDER BY task_id LIMIT ?",
            [shape["active_session"], files])]  # fmt: skip
    paths = [next(root.glob(f".task_orchestrator/sessions/*/tasks/{t}.md")) for t in ids]
    rels = [str(p.relative_to(repo)) for p in paths]
    with_hook, without = [], []
    for n in range(runs):
        for verify, times in ((True, with_hook), (False, without)):
            edit(paths, "blocked" if n % 2 else "needs_revision")
            if not verify:
                edit(paths, "failed" if n % 2 else "pending")
            git(repo, "add", *rels)
            args = ["commit", "-q", "-m", f"bench {n}"] + ([] if verify else ["--no-verify"])
            times.append(git(repo, *env_hooks, *args))
    git(repo, "checkout", "-q", "-b", "bench-other")
    edit(paths, "completed")
    git(repo, "add", *rels)
    git(repo, "commit", "-q", "--no-verify", "-m", "other")
    branch_a = subprocess.run(["git", "rev-parse", "--abbrev-ref", "@{-1}"], cwd=repo,
                              capture_output=True, text=True).stdout.strip()  # fmt: skip
    checkout, bare = [], []
    for n in range(runs):
        target = branch_a if n % 2 == 0 else "bench-other"
        checkout.append(git(repo, "checkout", "-q", target))
    for n in range(runs):
        target = branch_a if n % 2 == 0 else "bench-other"
        bare.append(git(repo, "-c", "core.hooksPath=/dev/null", "checkout", "-q", target))
    hook = statistics.median(with_hook) - statistics.median(without)
    return [
        (f"`git commit` of {files} edited task files, with the pre-commit hook",
         spread(with_hook), ""),
        ("the same with `--no-verify`", spread(without), ""),
        ("the pre-commit hook's own cost (difference of the medians)", ms(hook),
         "yes" if hook <= HOOK_TARGET_MS else "no"),
        ("`git checkout` between branches, with post-checkout (index update)",
         spread(checkout), ""),
        ("the same with hooks off", spread(bare), ""),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[10_000])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--files", type=int, default=10, help="task files per commit")
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args(argv)
    section = section_header("sqlite", " — git hooks")
    for size in args.tasks:
        root = HERE / "projects" / f"hooks-{size}"
        shape = fresh_project(root, size)
        os.environ.setdefault("GIT_AUTHOR_NAME", "bench")
        os.environ.setdefault("GIT_AUTHOR_EMAIL", "bench@localhost")
        os.environ.setdefault("GIT_COMMITTER_NAME", "bench")
        os.environ.setdefault("GIT_COMMITTER_EMAIL", "bench@localhost")
        rows = measure(root, shape, args.runs, args.files)
        lines = [
            f"{shape['tasks']:,} tasks, {shape['active_tasks']:,} in the active session (the"
            f" one whose view the hook regenerates); medians and p95 of {args.runs} runs.",
            "",
            "| measurement | median | target <= 300 ms | met |",
            "|---|---:|---|---|",
            *[f"| {label} | {value} |  | {met} |" for label, value, met in rows],
        ]
        add_size(section, size, lines)
    if not args.no_append:
        append_results(section)


if __name__ == "__main__":
    main()
