"""Keeping each session's session.md view current, and taking people's edits from it.

- After an operation changes a session (and before its commit), its view is regenerated
  in the same sync: the generated regions are rewritten, the text around them is kept.
- When session.md itself was edited outside orch, ticked or unticked boxes and renamed
  titles in its checklist are applied to the tasks first (a line that cannot be mapped is
  reported); then the view is regenerated from the result.
- Under `orch watch` and `orch sync` (Project.follow_views), other outside edits of a
  session's files regenerate its view too; plain commands leave that to the session's
  next change the view shows (a new priority or description rewrites no view). A
  checkout, pull or merge (files equal to a commit) never does: the view committed with
  them stays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.core import lookup
from orchestrator.core.rules import SESSION_VERB, checked_status, edit_warning, set_status
from orchestrator.errors import Hint, Said
from orchestrator.git.repo import GitError
from orchestrator.git.stale import merge_stale_buffer, stale_note, started_from
from orchestrator.index import checklists
from orchestrator.model import DONE, now
from orchestrator.store.session_view import (
    NOTE_SECTIONS,
    REGIONS,
    SessionView,
    Totals,
    broken_markers,
    place,
    region_insides,
    render,
    render_changelog,
)
from orchestrator.store.validation import checked_texts
from orchestrator.store.view_edits import ViewProblem, move_out, read_edits

if TYPE_CHECKING:
    from orchestrator.core.project import Project
    from orchestrator.core.writer import Writer
    from orchestrator.index.engine import IndexDB

CHANGE_LOG_LENGTH = 15


COMPARED = "actual_effort IS NOT NULL AND coalesce(estimated_effort, 0) <> 0"


def view_of(
    project: Project, db: IndexDB, session_id: str, whole: bool = False, keep: bool = False
) -> SessionView | None:
    """What a session's view shows, from the index; its change log (`change_log`, a git
    call) is left empty for the caller to fill when the view is rewritten.

    Each group's checklist is kept in the index and kept true by every refresh
    (index/checklists.py): a view renders again only the groups a refresh could not
    patch, where the whole of a 10,000-task session takes ~100 ms. `keep` stores what was
    rendered again (under the project lock only). `whole` reads every task instead
    (`view.tasks`), for a caller that maps lines back to tasks."""
    session = db.record("SELECT * FROM sessions WHERE session_id = ?", [session_id])
    if session is None:
        return None
    groups = db.records(
        "SELECT group_id, group_name, parent_group_id, group_level, specialist_focus, priority_level,"
        " total_tasks, completed_tasks, progress_percentage FROM task_groups"
        " WHERE session_id = ? ORDER BY position_in_session, group_id",
        [session_id],
    )
    # last_activity_at is derived from every timestamp of the session and its tasks
    # (index/refresh.py): no scan of the tasks here.
    session["last_activity_at"] = max(
        filter(None, [session.get("last_activity_at"), session.get("created_at")]), default=None
    )
    conflicts = db.scalar(
        "SELECT count(DISTINCT p.path) FROM problems p JOIN file_signatures f ON f.path = p.path"
        " WHERE p.severity = 'conflict' AND f.session_dir = ?",
        [session_id],
    )
    mode = db.record(
        "SELECT b.mode_id, m.mode_name FROM session_mode_bindings b"
        " LEFT JOIN session_modes m ON m.mode_id = b.mode_id WHERE b.session_id = ?",
        [session_id],
    )
    if whole:
        tasks = db.records(
            f"SELECT {', '.join(checklists.COLUMNS)}, started_at FROM tasks"
            f" WHERE session_id = ? {checklists.TASK_ORDER}",
            [session_id],
        )
        view = SessionView(session, groups, tasks, conflicts=conflicts or 0)
    else:
        view = SessionView(session, groups, [], conflicts=conflicts or 0)
        group_ids = [g["group_id"] for g in groups]
        view.checklists = checklists.kept(db, session_id, group_ids, keep)
        view.totals = {
            row[0]: Totals(*row[1:])
            for row in db.rows(
                "SELECT status, count(*), sum(coalesce(estimated_effort, 0)),"
                f" sum(CASE WHEN {COMPARED} THEN 1 ELSE 0 END),"
                f" sum(CASE WHEN {COMPARED} THEN actual_effort ELSE 0 END),"
                f" sum(CASE WHEN {COMPARED} THEN estimated_effort ELSE 0 END)"
                " FROM tasks WHERE session_id = ? GROUP BY status",
                [session_id],
            )
        }
    if mode is not None:
        view.mode_file, view.mode_name = mode["mode_id"], mode["mode_name"]
    return view


def change_log(project: Project, session_id: str) -> list[str]:
    """The latest commits that touched the session's files, newest first."""
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


# The regions a reader sees change when the tasks do; the change log and the footer
# follow along, but alone they do not rewrite the file (a commit would always find its
# change log one commit behind).
VISIBLE = ("header", "overview", "groups")


def regenerate(w: Writer, session_ids: set[str]) -> None:
    """Rewrite the generated regions of these sessions' session.md when what they show
    changed. The frontmatter's text and everything outside the regions stay as written."""
    from orchestrator.errors import RecordError

    for session_id in sorted(s for s in session_ids if s):
        view = view_of(w.project, w.db, session_id, keep=True)
        if view is None:
            continue
        try:
            record = w.load("session", session_id, session_id)
        except RecordError:
            continue  # an unreadable session.md is reported by doctor; not rewritten
        if w.broken(record):
            continue  # nor a broken one: it stays as the person left it until fixed
        if broken_markers(record.body):
            continue  # regions that cannot be told apart: doctor says so, --fix mends
        inside = render(view)
        old = region_insides(record.body)
        if all(old.get(name) == inside[name] for name in VISIBLE) and set(REGIONS) <= set(old):
            continue
        inside["changelog"] = render_changelog(change_log(w.project, session_id))
        body = place(record.body, inside)
        if body != record.body:
            w.save(record, text=w.with_body(record, body), counted=False)


def apply_edits(w: Writer, session_id: str) -> None:
    """Apply the boxes ticked, status words and titles edited in a session's session.md
    to its tasks; say what is not applied (a deleted task line, an edited header).

    The edits are the lines that differ from the version the person started from: the
    newest committed session.md, unless their file is provably an editor's stale buffer
    of an older one (see git/stale.py): then the file is first merged with the newest, so
    what changed meanwhile (notes, other people's text) is kept. Lines that cannot be
    mapped are said in warnings and moved below the list, as the person's text."""
    from orchestrator.errors import RecordError
    from orchestrator.store.record_file import split_frontmatter

    view = view_of(w.project, w.db, session_id, whole=True)
    if view is None:
        return  # the session file cannot be read: doctor says why
    try:
        session = w.load("session", session_id, session_id)
    except RecordError:
        return
    if w.broken(session):
        return  # its edits are read once the file is fixed
    assert session.path is not None  # a loaded record knows its file
    rel = w.layout.rel(session.path)
    text = w.text_of(session)
    started, newest, restored = starting_point(w.project, rel, text)
    base = split_frontmatter(started)[1] if started else place("", render(view))
    tasks = {t["task_id"]: t for t in view.tasks}
    # A view made up for want of history, or an older one restored whole, was not the
    # person's starting point: only its changed task lines are read.
    seen = started is not None and not restored

    def unusable(task_id: str) -> str | None:  # a task whose file cannot be read
        broken = lookup.unusable(w.db, "task", task_id)
        return None if broken is None else str(broken)

    edits, problems = read_edits(session.body, base, tasks, seen=seen, unusable=unusable)
    first_body_line = len(text.splitlines()) - len(session.body.splitlines()) + 1
    for problem in problems:
        where = f"{rel}:{first_body_line + problem.line - 1}: {problem.message}"
        said = f"{where}; moved below the task list, as your text" if problem.moved else where
        w.project.warnings.append(Said(said, problem_hint(problem, session_id)))
    new_text = text
    moved = [p.line for p in problems if p.moved]
    if moved:
        new_text = w.with_body(session, move_out(session.body, moved))
    if started is not None and newest is not None and started != newest:
        merge = merge_stale_buffer(started, newest, new_text)
        new_text = merge.text
        w.project.warnings.append(stale_note(rel, merge))
    if new_text != text:
        w.save(session, text=new_text, counted=False)
    for edit in edits:
        task = tasks[edit.task_id]
        not_applied = f"{rel}: the edit of {edit.task_id}'s line is not applied"
        try:
            record = w.load("task", session_id, edit.task_id)
        except RecordError as error:
            w.project.warnings.append(Said(f"{not_applied}: {error}", error.hint))
            continue
        open_work: list[str] = []  # said once the edit is saved
        if edit.checked is not None or edit.status is not None:
            # The person's decision stands; the rules only say what is still open. A
            # status word says which status; a box, done or not done.
            status = edit.status or checked_status(task, bool(edit.checked))
            warning = edit_warning(w.db, task, status)
            if warning:
                open_work.append(f"{rel}: {warning}")
            elif task["status"] == DONE and status != DONE:
                # Unticking reopens work someone finished: said, so that a view restored
                # from an older commit does not quietly undo what was completed since.
                open_work.append(
                    f'{rel}: {task["task_id"]} "{task["title"]}" was completed; the edit'
                    f" took it back to {status}"
                )
            set_status(record.meta, status)
        if edit.title is not None:
            record.meta["title"] = edit.title
        record.meta["last_updated_at"] = now()
        try:
            w.save(record)
        except RecordError as error:  # its file is broken: one edit waits, not every command
            w.project.warnings.append(Said(f"{not_applied}: {error}", error.hint))
            continue
        w.project.warnings.extend(open_work)


def problem_hint(problem: ViewProblem, session_id: str) -> Hint | None:
    """The call that does what an edit not applied meant: its own, or for a session
    status typed into the header, the move into that status."""
    verb = SESSION_VERB.get(problem.session_status or "")
    if verb is not None:
        return Hint(f"session_{verb}", {"session_id": session_id})
    return problem.hint


def starting_point(project: Project, rel: str, text: str) -> tuple[str | None, str | None, bool]:
    """(the committed version `text` was made from, the newest one, whether `text` is an
    older version restored whole): the older one it is provably a stale buffer of
    (git/stale.py, the rule the syncer follows too), else the newest; (None, None) without
    history. A file equal to an older version is a deliberate revert, made from the
    newest: its lines are the person's edits."""
    if project.config.commit == "off":
        return None, None, False
    try:
        texts, by_orch = project.syncer.history(rel)
    except GitError:
        return None, None, False
    if not texts:
        return None, None, False
    return texts[started_from(texts, text, by_orch)], texts[0], text in texts[1:]


NOTE_KINDS = tuple(NOTE_SECTIONS)


def add_note(project: Project, kind: str, text: str, session: str | None = None) -> dict[str, Any]:
    """Append a dated entry to a session's notes (Decisions Made, Key Learnings or Next
    Steps in its session.md) and commit it."""
    from orchestrator.errors import InvalidInput
    from orchestrator.store import session_view

    if kind not in NOTE_KINDS:
        raise InvalidInput(f"unknown note kind {kind!r}: use {', '.join(NOTE_KINDS)}")
    checked_texts(text=text)
    entry = " ".join(text.split())
    if not entry:
        raise InvalidInput("a note needs some text")
    with project.writing(f"note-{kind}") as w:
        row = lookup.session_or_active(w.db, session)
        record = w.load("session", row["session_id"], row["session_id"])
        body = session_view.add_note(record.body, kind, f"{now()[:10]}: {entry}")
        w.save(record, text=w.with_body(record, body))
    assert record.path is not None  # a loaded record knows its file
    return {"session_id": row["session_id"], "kind": kind, "entry": entry,
            "file": project.layout.rel(record.path)}  # fmt: skip
