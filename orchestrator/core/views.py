"""Keeping each session's session.md view current, and taking people's edits from it.

- After an operation changes a session (and before its commit), its view is regenerated
  in the same sync: the generated regions are rewritten, the text around them is kept.
- When session.md itself was edited outside orch, ticked or unticked boxes and renamed
  titles in its checklist are applied to the tasks first (a line that cannot be mapped is
  reported); then the view is regenerated from the result.
- Other outside edits of a session's files regenerate its view too. A checkout, pull or
  merge (files equal to a commit) does not: the view committed with them stays, and the
  next change regenerates it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.model import DONE, IN_PROGRESS, PENDING, now
from orchestrator.store.session_view import (
    SessionView,
    ViewProblem,
    move_out,
    place,
    read_edits,
    render,
)

if TYPE_CHECKING:
    from orchestrator.core.project import Project, Writer
    from orchestrator.index.engine import IndexDB

CHANGE_LOG_LENGTH = 15


def view_of(project: Project, db: IndexDB, session_id: str) -> SessionView | None:
    session = db.record("SELECT * FROM sessions WHERE session_id = ?", [session_id])
    if session is None:
        return None
    groups = db.records(
        "SELECT group_id, group_name, group_level, specialist_focus, priority_level,"
        " total_tasks, completed_tasks, progress_percentage FROM task_groups"
        " WHERE session_id = ? ORDER BY position_in_session, group_id",
        [session_id],
    )
    tasks = db.records(
        "SELECT task_id, title, status, group_id, parent_task_id, specialist_type,"
        " estimated_effort, started_at FROM tasks WHERE session_id = ?"
        " ORDER BY position_in_group, created_at NULLS FIRST, task_id",
        [session_id],
    )
    latest = db.scalar("SELECT max(last_updated_at) FROM tasks WHERE session_id = ?", [session_id])
    session["last_activity_at"] = max(
        filter(None, [session.get("last_activity_at"), session.get("created_at"), latest]),
        default=None,
    )
    conflicts = db.scalar(
        "SELECT count(DISTINCT p.path) FROM problems p JOIN file_signatures f ON f.path = p.path"
        " WHERE p.severity = 'conflict' AND f.session_dir = ?",
        [session_id],
    )
    return SessionView(session, groups, tasks, change_log(project, session_id), conflicts or 0)


def change_log(project: Project, session_id: str) -> list[str]:
    """The latest commits that touched the session's files, newest first."""
    from orchestrator.gitrepo import GitError

    syncer = project.syncer
    if project.config.commit == "off":
        return []
    try:
        repo = syncer.repo()
        if repo is None:
            return []
        folder = syncer.to_git(project.layout.rel(project.layout.session_dir(session_id)))
        done = repo.run(
            "log",
            f"-n{CHANGE_LOG_LENGTH}",
            "--date=format:%Y-%m-%d %H:%M",
            "--format=%ad `%h` %s",
            "--",
            folder,
            check=False,
        )
    except GitError:
        return []
    return (
        done.stdout.decode("utf-8", errors="replace").splitlines() if done.returncode == 0 else []
    )


def regenerate(w: Writer, session_ids: set[str]) -> None:
    """Rewrite the generated regions of these sessions' session.md (when they changed)."""
    from orchestrator.errors import RecordError

    for session_id in sorted(s for s in session_ids if s):
        view = view_of(w.project, w.db, session_id)
        if view is None:
            continue
        try:
            record = w.load("session", session_id, session_id)
        except RecordError:
            continue  # an unreadable session.md is reported by doctor; not rewritten
        body = place(record.body, render(view))
        if body != record.body:
            record.body = body
            w.save(record, counted=False)


def apply_edits(w: Writer, session_id: str) -> list[ViewProblem]:
    """Apply the boxes ticked and titles edited in a session's session.md to its tasks.
    Returns the lines that could not be mapped (also said as warnings)."""
    from orchestrator.errors import RecordError
    from orchestrator.store.record_file import split_frontmatter

    view = view_of(w.project, w.db, session_id)
    path = w.layout.record_path("session", session_id, session_id)
    try:
        body = split_frontmatter(path.read_text(encoding="utf-8"))[1]
    except (OSError, ValueError):
        return []
    tasks = {t["task_id"]: t for t in view.tasks} if view else {}
    edits, problems = read_edits(body, tasks, render(view)["groups"] if view else "")
    rel = w.layout.rel(path)
    for problem in problems:
        w.project.warnings.append(
            f"{rel}:{body_line(path, problem.line)}: {problem.message}; moved below the task"
            " list, as your text"
        )
    if problems:
        try:
            session = w.load("session", session_id, session_id)
        except RecordError:
            return problems
        session.body = move_out(session.body, [p.line for p in problems])
        w.save(session, counted=False)
    for edit in edits:
        task = tasks[edit.task_id]
        try:
            record = w.load("task", session_id, edit.task_id)
        except RecordError as error:
            w.project.warnings.append(str(error))
            continue
        meta = record.meta
        if edit.checked is not None:
            set_checked(meta, task, edit.checked)
        if edit.title is not None:
            meta["title"] = edit.title
        meta["last_updated_at"] = now()
        w.save(record)
    return problems


def set_checked(meta: dict[str, Any], task: dict[str, Any], checked: bool) -> None:
    """A ticked box completes the task; an unticked one takes it back to in progress if
    it had started, else to pending."""
    from orchestrator.core.tasks import set_status

    if checked:
        set_status(meta, DONE)
    else:
        set_status(meta, IN_PROGRESS if task.get("started_at") else PENDING)


def body_line(path, line_in_body: int) -> int:
    """A line of a file's body as a line of the file."""
    text = path.read_text(encoding="utf-8")
    closing = text.splitlines().index("---", 1) if "\n---" in text else 0
    return closing + 1 + line_in_body


NOTE_KINDS = ("decision", "learning", "next")


def add_note(project: Project, kind: str, text: str, session: str | None = None) -> dict[str, Any]:
    """Append a dated entry to a session's notes (Decisions Made, Key Learnings or Next
    Steps in its session.md) and commit it."""
    from orchestrator.core import lookup
    from orchestrator.errors import InvalidInput
    from orchestrator.store import session_view

    if kind not in NOTE_KINDS:
        raise InvalidInput(f"unknown note kind {kind!r}: use {', '.join(NOTE_KINDS)}")
    entry = " ".join(text.split())
    if not entry:
        raise InvalidInput("a note needs some text")
    with project.writing(f"note-{kind}") as w:
        row = lookup.session_or_active(w.db, session)
        record = w.load("session", row["session_id"], row["session_id"])
        record.body = session_view.add_note(record.body, kind, f"{now()[:10]}: {entry}")
        w.save(record)
    return {"session_id": row["session_id"], "kind": kind, "entry": entry,
            "file": project.layout.rel(record.path)}  # fmt: skip
