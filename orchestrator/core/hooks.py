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

from orchestrator.core.board import problem_of
from orchestrator.core.project import Project
from orchestrator.errors import Hint, InvalidInput, OrchError
from orchestrator.git.repo import Repo
from orchestrator.layout import FileRole, RecordRole
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


def script(place: str) -> str:
    """The hook script: runs a hook that was there before (if any), then orch's for the
    project at `place` (relative to the top of the work tree, so that it holds in every
    worktree), with the interpreter orch is installed in (or `orch` on the PATH if that
    one is gone)."""
    text = (shipped("hooks") / TEMPLATE).read_text(encoding="utf-8")
    return text.replace("@PYTHON@", sys.executable).replace("@PLACE@", place)


# Hook managers whose scripts find their work from their own file name ($0): renamed,
# they would silently do nothing.
DISPATCHERS = ("husky", "lefthook", "pre-commit.com", "overcommit")


def install(project: Project) -> dict[str, Any]:
    repo = _repo(project)
    folder = hooks_dir(repo)
    folder.mkdir(parents=True, exist_ok=True)
    place = os.path.relpath(project.root, repo.top)
    if any(c in place for c in '"$`\\\n'):
        raise OrchError(f"orch's hooks cannot name the project folder {place!r} in a shell script")
    done: dict[str, str] = {}
    for name in HOOKS:
        path = folder / name
        chained = folder / (name + CHAINED)
        if path.exists() and not is_ours(path):
            text = path.read_text(encoding="utf-8", errors="replace")
            manager = next((m for m in DISPATCHERS if m in text), None)
            if manager:
                raise OrchError(
                    f"{path} is run by {manager}, which finds its work from the hook's file"
                    f' name: orch will not rename it. Add `orch hooks run {name} "$@"` to'
                    f" {manager}'s own {name} hook instead"
                )
            if chained.exists():
                raise OrchError(
                    f"{path} is not orch's and {chained.name} exists too; move one of them"
                    " away, then install the hooks again",
                    hint=Hint("hooks_install"),
                )
            path.rename(chained)
            done[name] = f"installed; your hook runs first (kept as {chained.name})"
        else:
            done[name] = "updated" if path.exists() else "installed"
        path.write_text(script(place), encoding="utf-8")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    result = {"hooks_dir": str(folder), "hooks": done}
    if not folder.resolve().is_relative_to(repo.top) and not folder.resolve().is_relative_to(
        repo.git_dir
    ):
        result["note"] = (
            f"{folder} is outside this repository (core.hooksPath): other repositories using"
            " it run these hooks too; orch's part acts only in this one"
        )
    return result


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


def settle_git_environment() -> None:
    """In a linked worktree git hands hooks GIT_DIR (and may hand GIT_INDEX_FILE) relative
    to the work tree's top, where hooks run; orch's git calls run from other folders, so
    both are made absolute, and the work tree named, before any of them."""
    here = Path.cwd()
    if os.environ.get("GIT_DIR"):
        os.environ["GIT_DIR"] = str((here / os.environ["GIT_DIR"]).resolve())
        os.environ.setdefault("GIT_WORK_TREE", str(here))
    if os.environ.get("GIT_INDEX_FILE"):
        os.environ["GIT_INDEX_FILE"] = str((here / os.environ["GIT_INDEX_FILE"]).resolve())


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
    problems, touched, edited_views = check_staged(project)
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
        for line in refresh_views(project, touched - edited_views):
            say(f"orch: {line}")
    return 0


def staged(project: Project, repo: Repo) -> list[tuple[str, str, str | None]]:
    """(status A/M/D, path relative to the project root, staged blob) of the orchestrator
    files staged for this commit."""
    syncer = project.syncer
    done = repo.run(
        "diff", "--cached", "--name-status", "--no-renames", "-z", "--", syncer.prefix,
        literal=False,
    )  # fmt: skip
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


def committed_ids(project: Project, repo: Repo, wanted: dict[str, set[str]]) -> dict[str, set[str]]:
    """Which of the `wanted` record ids (by session) the commit will hold: their files in
    git's index (the staged tree), whatever the working tree has."""
    layout = project.layout
    candidates = []
    for session_id, ids in wanted.items():
        for record_id in ids:
            kind = "task" if record_id.startswith("t-") else "group"
            path = layout.record_path(kind, session_id, record_id)
            candidates.append(project.syncer.to_git(layout.rel(path)))
    found: dict[str, set[str]] = {s: set() for s in wanted}
    if candidates:
        listed = repo.run("ls-files", "-z", "--", *candidates)
        for path in listed.stdout.decode("utf-8", errors="replace").split("\0"):
            role = layout.classify(project.syncer.from_git(path)) if path else None
            if role is not None and role.session_dir in found:
                found[role.session_dir].add(role.record_id)
    return found


# The index's own word for a reference that leads nowhere: re-judged against the commit.
DANGLING = (", which is not a task of this session", ", which is not a group of this session")


def check_staged(project: Project) -> tuple[list[Problem], set[str], set[str]]:
    """The problems of what is about to be committed, the sessions it touches, and those
    whose session.md is part of it (edited by a person: its view is not rewritten now).

    A file staged as the working tree has it (the usual case) is judged from the index
    (syntax, schema, duplicates, cycles); a file staged in part, from its staged text.
    References are judged against the staged tree: a dependency on an untracked file, or
    on a file whose deletion is staged, is refused; one on a file staged but moved away
    in the working tree is not."""
    repo = _repo(project)
    layout = project.layout
    entries = [
        (code, rel, blob, role)
        for code, rel, blob in staged(project, repo)
        if (role := layout.classify(rel)) is not None
    ]
    if not entries:
        return [], set(), set()
    roles = {rel: role for _, rel, _, role in entries}
    touched = {r.session_dir for r in roles.values() if r.session_dir}
    edited_views = {
        r.session_dir for r in roles.values() if isinstance(r, RecordRole) and r.kind == "session"
    }
    present = {rel: blob for code, rel, blob, _ in entries if code != "D"}
    deleted = {rel: role for code, rel, _, role in entries if code == "D"}
    texts: dict[str, str] = {}
    differ = set()
    blobs = repo.read_blobs(sorted({blob for blob in present.values() if blob is not None}))
    for rel, blob in present.items():
        data = blobs.get(blob, b"") if blob is not None else b""  # None: not in git's index
        text = data.decode("utf-8", errors="replace")
        texts[rel] = text
        try:
            if blob_id((layout.root / rel).read_bytes()) != blob:
                differ.add(rel)
        except FileNotFoundError:
            differ.add(rel)
    problems: list[Problem] = []
    parsed = {rel: _parsed(roles[rel], rel, text) for rel, text in texts.items()}
    with project.reading() as db:
        judged = [rel for rel in present if rel not in differ]
        for row in db.query_in(
            "SELECT DISTINCT path, line, field, severity, message, fix FROM problems"
            " WHERE path IN ({in})",
            judged,
        ):
            if not any(d in row["message"] for d in DANGLING):
                problems.append(problem_of(row))
        for rel in differ:
            problems += [p for p in parsed[rel].problems
                         if not any(d in p.message for d in DANGLING)]  # fmt: skip
        orphans = _referring(db, deleted)
    # References are judged against the staged tree, with one look at git's index.
    wanted: dict[str, set[str]] = {}
    for rel, result in parsed.items():
        role = roles[rel]
        record = getattr(result, "record", None)
        if record is not None and isinstance(role, RecordRole) and role.kind in REFERENCES:
            refs = {ref for _, ref in references(record.meta, role.kind)}
            wanted.setdefault(role.session_dir, set()).update(refs)
    for session_id, row, _ in orphans:
        wanted.setdefault(session_id, set()).add(row["id"])
    tree = committed_ids(project, repo, wanted)
    for rel, result in parsed.items():
        problems += _dangling(rel, roles[rel], result, tree)
    problems += _orphaned(orphans, tree, set(present))
    problems.sort(key=lambda p: (p.path, p.line or 0, p.message))
    return problems, touched, edited_views


def _parsed(role: FileRole, rel: str, text: str):
    from orchestrator.store.mode_file import parse_mode
    from orchestrator.store.record_file import parse_record

    if role.kind == "mode":
        return parse_mode(role.record_id, text, rel)
    return parse_record(role.kind, text, rel, role)


REFERENCES = {"task": ("depends_on", "related_tasks", "parent_task_id", "group_id"),
              "group": ("parent_group_id",)}  # fmt: skip


def references(meta: dict[str, Any], kind: str) -> list[tuple[str, str]]:
    """(field, id) of the records a record names."""
    found = []
    for key in REFERENCES.get(kind, ()):
        value = meta.get(key)
        for ref in value if isinstance(value, list) else [value]:
            if ref:
                found.append((key, str(ref)))
    return found


def _dangling(rel: str, role: FileRole, parsed, tree: dict[str, set[str]]) -> list[Problem]:
    """References of a staged record to records the commit will not hold."""
    record = getattr(parsed, "record", None)
    if not isinstance(role, RecordRole) or role.kind not in REFERENCES or record is None:
        return []
    have = tree.get(role.session_dir, set())
    return [
        Problem(rel, f"{key} names {ref}, which this commit does not hold in session"
                f" {role.session_dir} (not added, or its deletion is staged)", field=key,
                fix=f"stage {ref}'s file too, or remove {ref} from {key}")
        for key, ref in references(record.meta, role.kind)
        if ref not in have
    ]  # fmt: skip


def _referring(db, deleted: dict[str, FileRole]) -> list[tuple[str, dict, set[str]]]:
    """(session, task row, ids deleted) of the tasks that name a record whose deletion
    is staged (with what they name, from the index). Modes are skipped: no task names one."""
    gone: dict[str, set[str]] = {}
    for role in deleted.values():
        if not isinstance(role, RecordRole):
            continue
        gone.setdefault(role.session_dir, set()).add(role.record_id)
    found = []
    for session_id, ids in gone.items():
        marks = ", ".join("?" * len(ids))
        for row in db.records(
            "SELECT task_id AS id, file_path, depends_on, related_tasks, parent_task_id,"
            " group_id FROM tasks WHERE session_id = ?"
            f" AND (task_id IN (SELECT task_id FROM task_dependencies WHERE depends_on_task_id"
            f" IN ({marks})) OR parent_task_id IN ({marks}) OR group_id IN ({marks}))",
            [session_id, *ids, *ids, *ids],
        ):
            found.append((session_id, row, ids))
    return found


def _orphaned(orphans, tree: dict[str, set[str]], staged_paths: set[str]) -> list[Problem]:
    """Records the commit keeps unchanged that name a record whose deletion it stages."""
    problems = []
    for session_id, row, ids in orphans:
        have = tree.get(session_id, set())
        if row["file_path"] in staged_paths or row["id"] not in have:
            continue  # its staged text was judged itself, or it goes too
        for key, ref in references(row, "task"):
            if ref in ids and ref not in have:
                problems.append(Problem(
                    row["file_path"], f"{key} names {ref}, whose deletion this commit stages",
                    field=key, fix=f"remove {ref} from {key} and stage that too, or keep"
                    " the file"))  # fmt: skip
    return problems


def refresh_views(project: Project, sessions: set[str]) -> list[str]:
    """Regenerate the views of `sessions` and stage those that changed, when the view
    can only show what the commit holds: not during a commit of chosen paths (`git
    commit PATH` commits a temporary index), nor for a session with changes that are not
    staged (the view would show them)."""
    from orchestrator.core.views import regenerate

    if not sessions:
        return []
    repo = _repo(project)
    layout = project.layout
    index_file = os.environ.get("GIT_INDEX_FILE")
    if index_file and Path(index_file).resolve() not in (
        (repo.git_dir / "index").resolve(),
        (repo.git_dir / "index.lock").resolve(),
    ):
        return ["views left to the next orch command (a commit of chosen paths)"]
    said, wanted = [], set()
    folders = [project.syncer.to_git(layout.rel(layout.session_dir(s))) for s in sessions]
    status = repo.run("status", "--porcelain", "-z", "--", *folders).stdout.decode()
    unstaged = {
        role.session_dir
        for entry in status.split("\0")
        if len(entry) > 3
        and entry[1] != " "
        and (role := layout.classify(project.syncer.from_git(entry[3:]))) is not None
    }
    for session_id in sorted(sessions):
        if session_id in unstaged:
            said.append(f"session {session_id} has changes that are not staged: its view is"
                        " left to the next orch command")  # fmt: skip
        else:
            wanted.add(session_id)
    if not wanted:
        return said
    with project.writing("hook") as w:
        before = set(w.written)
        regenerate(w, wanted)
        written = sorted(set(w.written) - before)
    if written:
        listed = "".join(f"{project.syncer.to_git(rel)}\0" for rel in written).encode()
        repo.run("update-index", "--add", "-z", "--stdin", input=listed)
    return said + [f"{rel}: view refreshed and staged" for rel in written]
