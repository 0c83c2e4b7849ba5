"""Figures behind two decisions in ARCHITECTURE.md: orch's own frontmatter reader and
writer instead of python-frontmatter, and git subprocesses instead of GitPython.

    python bench/decisions.py --tasks 10000 --runs 5

Needs `python-frontmatter` and `gitpython`, which orch does not depend on: run it from a
virtualenv that has orch and both (`pip install -e . python-frontmatter gitpython`).
Generates bench/projects/decisions-<N>/ and prints a Markdown table of medians (appended,
with the command, to bench/RESULTS.md):

- reading every task file's frontmatter: orch's `split_frontmatter` + `load_yaml` (the
  reindex path, bounded YAML with the C loader) against `frontmatter.loads`;
- changing one field and writing the file back: how many files come out with other lines
  changed too (key order, quoting, line wrapping, the body's trailing newlines) — a
  rewrite that shows in `git diff` and in every merge as a change nobody made;
- `import git` on top of Python's start-up, which every orch command would pay;
- committing one changed file in a repository of N+ files: orch's `Repo.commit`
  (hash-object, update-index on a private index, write-tree, commit-tree, update-ref)
  against GitPython's `index.add` + `index.commit`.
"""

from __future__ import annotations

import argparse
import difflib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from generate import generate

from orchestrator.git.repo import find_repo
from orchestrator.model import Record
from orchestrator.store.record_file import (
    load_yaml,
    render_record,
    split_frontmatter,
)

HERE = Path(__file__).resolve().parent


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def changed_lines(before: str, after: str) -> int:
    a, b = before.splitlines(), after.splitlines()
    return sum(1 for line in difflib.unified_diff(a, b, lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---")))  # fmt: skip


def round_trips(texts: list[str]) -> tuple[int, int, int, int]:
    """(files with more than the one field changed, extra lines) for orch and for
    python-frontmatter, after setting status: blocked in each file."""
    import frontmatter

    ours_files = ours_lines = theirs_files = theirs_lines = 0
    for text in texts:
        meta_text, body = split_frontmatter(text)
        meta = load_yaml(meta_text)
        meta["status"] = "blocked"
        mine = render_record(Record(kind="task", meta=meta, body=body))
        extra = changed_lines(text, mine) - 2  # the status line, out and in
        ours_files += extra > 0
        ours_lines += max(extra, 0)
        post = frontmatter.loads(text)
        post["status"] = "blocked"
        theirs = frontmatter.dumps(post) + "\n"
        extra = changed_lines(text, theirs) - 2
        theirs_files += extra > 0
        theirs_lines += max(extra, 0)
    return ours_files, ours_lines, theirs_files, theirs_lines


def python_ms(code: str, runs: int) -> float:
    return median_ms(lambda: subprocess.run([sys.executable, "-c", code], check=True), runs)


def commits(root: Path, rel: str, runs: int) -> tuple[float, float]:
    import git

    path = root / rel
    original = path.read_text()
    repo = find_repo(root)
    assert repo is not None
    (root / ".index").mkdir(exist_ok=True)
    repo.private_index = root / ".index" / "git-index"  # as orch's syncer does
    n = iter(range(10**6))

    def ours() -> None:
        path.write_text(original + f"\nedit {next(n)}\n")
        repo.commit([rel], "bench: orch commit")

    gp = git.Repo(root)

    def theirs() -> None:
        path.write_text(original + f"\nedit {next(n)}\n")
        gp.index.add([rel])
        gp.index.commit("bench: gitpython commit")

    return median_ms(ours, runs), median_ms(theirs, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import frontmatter

    target = HERE / "projects" / f"decisions-{args.tasks}"
    shutil.rmtree(target, ignore_errors=True)
    generate(target, args.tasks, 5, 8, 1)
    files = sorted((target / ".task_orchestrator").rglob("tasks/*.md"))
    texts = [f.read_text() for f in files]

    ours_read = median_ms(lambda: [load_yaml(split_frontmatter(t)[0]) for t in texts], args.runs)
    theirs_read = median_ms(lambda: [frontmatter.loads(t) for t in texts], args.runs)
    of, ol, tf, tl = round_trips(texts)
    bare = python_ms("pass", args.runs * 3)
    with_git = python_ms("import git", args.runs * 3)

    root = target / ".task_orchestrator"
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}  # fmt: skip
    os.environ.update(env)
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "all"]):
        subprocess.run(["git", *step], cwd=root, check=True)
    ours_commit, theirs_commit = commits(root, files[0].relative_to(root).as_posix(), args.runs * 3)

    n = len(texts)
    rows = [
        ("read the frontmatter of every task file", f"{ours_read:.0f} ms", f"{theirs_read:.0f} ms",
         f"{theirs_read / ours_read:.1f}x"),
        ("set one field, write back: files with other lines changed too", f"{of} of {n}",
         f"{tf} of {n}", f"{ol} against {tl} lines changed that nobody changed"),
        ("`python -c 'import git'` over `python -c pass`", "0 ms", f"{with_git - bare:.0f} ms", ""),
        ("commit one changed file", f"{ours_commit:.0f} ms", f"{theirs_commit:.0f} ms",
         f"{theirs_commit / ours_commit:.1f}x"),
    ]  # fmt: skip
    table = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: decisions ({n} tasks)",
        "",
        f"- command: `python bench/decisions.py --tasks {args.tasks} --runs {args.runs}`",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" python-frontmatter {metadata.version('python-frontmatter')},"
        f" GitPython {__import__('git').__version__}",
        "",
        "| figure (median) | orch | python-frontmatter / GitPython | ratio or note |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
    ]
    text = "\n".join(table)
    print(text)
    with open(HERE / "RESULTS.md", "a") as out:
        out.write("\n" + text)


if __name__ == "__main__":
    main()
