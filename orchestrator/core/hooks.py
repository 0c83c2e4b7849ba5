"""Git hooks: a commit that would break the store is refused, and the index follows
every checkout, merge and rebase.

- pre-commit: checks the staged versions of .task_orchestrator/ files (what is about to
  be committed, not what is in the working tree) with the same validator as `orch
  doctor`; refuses the commit with its messages on any error; else regenerates the
  session.md views of the sessions touched and stages them.
- post-merge, post-checkout, post-rewrite: bring the index up to date (only the files
  that changed are read again).

Inside a hook orch never commits (the user's git command is running): it writes and
stages files, and leaves its own commits to the next command.

`install()` writes a small script per hook into the repository's hooks folder (where
`core.hooksPath` says, if set). A hook already there is kept: it is renamed
`<hook>.orch-chained` and run first by orch's script; `uninstall()` puts it back.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any

from orchestrator.core.project import Project
from orchestrator.errors import InvalidInput, OrchError
from orchestrator.gitrepo import Repo
from orchestrator.model import Problem
from orchestrator.resources import shipped
from orchestrator.store.files import blob_id

HOOKS = ("pre-commit", "post-merge", "post-checkout", "post-rewrite")
MARK = "# orch hook"  # the line that tells orch's scripts from others
CHAINED = ".orch-chained"
TEMPLATE = "orch-hook"


# -- installing --------------------------------------------------------------------------


def hooks_dir(repo: Repo) -> Path:
    """Where git looks for hooks: core.hooksPath if set, else .git/hooks."""
    given = repo.out("rev-parse", "--git-path", "hooks")
    path = Path(given)
    return path if path.is_absolute() else (repo.top / path)


def _repo(project: Project) -> Repo:
    from orchestrator.core.remote import checked_repo

    return checked_repo(project)


def is_ours(path: Path) -> bool:
    try:
        return MARK in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def script() -> str:
    """The hook script: runs a hook that was there before (if any), then orch's, with
    the interpreter orch is installed in (or `orch` on the PATH if that one is gone)."""
    text = (shipped("hooks") / TEMPLATE).read_text(encoding="utf-8")
    return text.replace("@PYTHON@", sys.executable)


def install(project: Project) -> dict[str, Any]:
    repo = _repo(project)
    folder = hooks_dir(repo)
    folder.mkdir(parents=True, exist_ok=True)
    done: dict[str, str] = {}
    for name in HOOKS:
        path = folder / name
        chained = folder / (name + CHAINED)
        if path.exists() and not is_ours(path):
            if chained.exists():
                raise OrchError(
                    f"{path} is not orch's and {chained.name} exists too; move one of them"
                    " away, then run `orch hooks install` again"
                )
            path.rename(chained)
            done[name] = f"installed; your hook runs first (kept as {chained.name})"
        else:
            done[name] = "updated" if path.exists() else "installed"
        path.write_text(script(), encoding="utf-8")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return {"hooks_dir": str(folder), "hooks": done}


def uninstall(project: Project) -> dict[str, Any]:
    repo = _repo(project)
    folder = hooks_dir(repo)
    done: dict[str, str] = {}
    for name in HOOKS:
        path = folder / name
        chained = folder / (name + CHAINED)
        if path.exists() and is_ours(path):
            path.unlink()
            done[name] = "removed"
            if chained.exists():
                chained.rename(path)
                done[name] = "removed; your own hook is back"
        elif path.exists():
            done[name] = "not orch's: left alone"
    return {"hooks_dir": str(folder), "hooks": done}


# -- running -----------------------------------------------------------------------------


def run(project: Project, name: str, args: list[str], say) -> int:
    """Run hook `name`; `say` prints a line (to stderr). Returns the exit code."""
    if name not in HOOKS:
        raise InvalidInput(f"unknown hook {name!r}: orch has {', '.join(HOOKS)}")
    project.syncer.hold = True
    if name != "pre-commit":
        with project.reading():
            pass  # the index follows the files the checkout, merge or rebase wrote
        if project.refreshed:
            say(f"orch: index updated ({project.refreshed} file(s) read again)")
        return 0
    problems, touched = check_staged(project)
    errors = [p for p in problems if p.severity != "warning"]
    for problem in problems:
        say(str(problem))
    if errors:
        say(
            f"orch: commit refused: {len(errors)} problem(s) in the staged .task_orchestrator/"
            " files. Fix them and stage the fix (orch doctor lists every problem; orch doctor"
            " --fix repairs what it can), or commit with --no-verify to skip this check."
        )
        return 1
    if touched and not os.environ.get("PRE_COMMIT"):  # the pre-commit framework: check only
        for rel in refresh_views(project, touched):
            say(f"orch: {rel}: view refreshed and staged")
    return 0


def staged(project: Project, repo: Repo) -> list[tuple[str, str, str | None]]:
    """(status A/M/D, path relative to the project root, staged blob) of the orchestrator
    files staged for this commit."""
    syncer = project.syncer
    prefix = syncer.prefix
    done = repo.run(
        "diff", "--cached", "--name-status", "--no-renames", "-z", "--", prefix, literal=False
    )
    fields = done.stdout.decode("utf-8", errors="replace").split("\0")
    changes = [(fields[i], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]
    kept = [(code[0], path) for code, path in changes if code]
    blobs: dict[str, str] = {}
    present = [path for code, path in kept if code != "D"]
    if present:
        listed = repo.run("ls-files", "-s", "-z", "--", *present)
        for entry in listed.stdout.decode("utf-8", errors="replace").split("\0"):
            if entry:
                info, path = entry.split("\t", 1)
                blobs[path] = info.split()[1]
    return [(code, syncer.from_git(path), blobs.get(path)) for code, path in kept]


def check_staged(project: Project) -> tuple[list[Problem], set[str]]:
    """The problems of the staged orchestrator files and the sessions they touch.

    A staged file that is also what the working tree holds (the usual case) is judged
    from the index, which checks it against every other file (references, duplicates,
    cycles). A file staged in part is parsed from its staged text, and its references
    checked against the index."""
    repo = _repo(project)
    layout = project.layout
    entries = [(c, rel, b) for c, rel, b in staged(project, repo) if layout.classify(rel)]
    if not entries:
        return [], set()
    touched = {r.session_dir for _, rel, _ in entries if (r := layout.classify(rel)).session_dir}
    differ = {}
    for code, rel, blob in entries:
        if code == "D":
            continue
        try:
            working = blob_id((layout.root / rel).read_bytes())
        except FileNotFoundError:
            working = None
        if working != blob:
            differ[rel] = blob
    deleted = {layout.classify(rel).record_id for code, rel, _ in entries if code == "D"}
    problems: list[Problem] = []
    with project.reading() as db:
        judged = [rel for _, rel, _ in entries if rel not in differ]
        rows = db.query_in(
            "SELECT DISTINCT path, line, field, severity, message, fix FROM problems"
            " WHERE path IN ({in})",
            judged,
        )
        if deleted:
            # What a deletion breaks shows in the other files of its session.
            for row in db.query(
                "SELECT DISTINCT path, line, field, severity, message, fix FROM problems"
                " WHERE severity = 'error'"
            ):
                role = layout.classify(row["path"])
                if (
                    role is not None
                    and role.session_dir in touched
                    and row["path"] not in judged
                    and any(d in row["message"] for d in deleted)
                ):
                    rows.append(row)
        rows.sort(key=lambda r: (r["path"], r["line"] or 0, r["message"]))
        problems += [_problem(r) for r in rows]
        texts = repo.read_blobs(list(differ.values()))
        for rel, blob in differ.items():
            text = texts.get(blob, b"").decode("utf-8", errors="replace")
            problems += _staged_problems(project, db, rel, text)
    return problems, touched


def _problem(row: dict[str, Any]) -> Problem:
    return Problem(row["path"], row["message"], row["line"], row["field"], row["fix"],
                   row["severity"])  # fmt: skip


def _staged_problems(project: Project, db, rel: str, text: str) -> list[Problem]:
    """A staged text's own problems, and references it makes that lead nowhere."""
    from orchestrator.store.mode_file import parse_mode
    from orchestrator.store.record_file import parse_record

    role = project.layout.classify(rel)
    if role.kind == "mode":
        return parse_mode(role.record_id, text, rel).problems
    parsed = parse_record(role.kind, text, rel, role)
    problems = list(parsed.problems)
    record = parsed.record
    if record is None or role.kind == "session":
        return problems
    meta, sid = record.meta, role.session_dir
    refs: list[tuple[str, str, str]] = []  # (field, id, table kind)
    if role.kind == "task":
        deps = meta.get("depends_on") or []
        refs += [("depends_on", d, "task") for d in (deps if isinstance(deps, list) else [deps])]
        if meta.get("parent_task_id"):
            refs.append(("parent_task_id", meta["parent_task_id"], "task"))
        if meta.get("group_id"):
            refs.append(("group_id", meta["group_id"], "group"))
    elif meta.get("parent_group_id"):
        refs.append(("parent_group_id", meta["parent_group_id"], "group"))
    for key, ref, kind in refs:
        table, id_key = ("tasks", "task_id") if kind == "task" else ("task_groups", "group_id")
        if not db.scalar(
            f"SELECT count(*) FROM {table} WHERE {id_key} = ? AND session_id = ?", [str(ref), sid]
        ):
            problems.append(
                Problem(
                    rel,
                    f"{key} names {ref}, which is not a {kind} of this session",
                    field=key,
                    fix=f"remove {ref} from {key} or correct the id",
                )
            )
    return problems


def refresh_views(project: Project, sessions: set[str]) -> list[str]:
    """Regenerate the views of `sessions` and stage those that changed. A session.md
    with changes of its own that are not staged is left alone (staging it would sweep
    them into this commit)."""
    from orchestrator.core.views import regenerate

    repo = _repo(project)
    layout = project.layout
    files = {sid: layout.rel(layout.record_path("session", sid, sid)) for sid in sessions}
    unstaged = repo.run(
        "diff", "--name-only", "-z", "--", *[project.syncer.to_git(f) for f in files.values()]
    )
    skipped = {project.syncer.from_git(p) for p in unstaged.stdout.decode().split("\0") if p}
    wanted = {sid for sid, rel in files.items() if rel not in skipped}
    if not wanted:
        return []
    with project.writing("hook") as w:
        before = set(w.written)
        regenerate(w, wanted)
        written = sorted(set(w.written) - before)
    if written:
        listed = "".join(f"{project.syncer.to_git(rel)}\0" for rel in written).encode()
        repo.run("update-index", "--add", "-z", "--stdin", input=listed)
    return written
