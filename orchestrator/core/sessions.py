"""Sessions: create, list, show, rename, and move through the spec's state machine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.core import lookup
from orchestrator.core.inputs import checked_name
from orchestrator.core.modes import checked_mode_name
from orchestrator.core.project import Project
from orchestrator.core.rules import (
    OPEN_SQL,
    SESSION_VERB,
    check_session_transition,
    set_session_status,
)
from orchestrator.errors import ActiveSessionExists, Hint, InvalidInput, RecordError
from orchestrator.graph import tree_rows
from orchestrator.model import (
    ACTIVE,
    ARCHIVED,
    CREATING,
    DONE,
    ERROR,
    PAUSED,
    Problem,
    allowed_values,
    now,
)
from orchestrator.store.record_file import new_record
from orchestrator.store.validation import checked_texts

if TYPE_CHECKING:
    from orchestrator.core.writer import Writer
    from orchestrator.index.engine import IndexDB

# The MCP adapter's name for rules.SESSION_VERB (until it imports that one).
VERB = SESSION_VERB


def describe(row: dict[str, Any]) -> str:
    return f'{row["session_id"]} "{row["name"]}"'


def create_session(
    project: Project,
    name: str,
    *,
    description: str | None = None,
    session_type: str = "project",
    mode_file: str | None = None,
    priority_level: int = 3,
    switch: bool = False,
) -> dict[str, Any]:
    """Create a session and make it the active one. Refused while another session is
    active unless `switch`, which pauses that one (every adapter calls this one rule;
    an adapter's default for `switch` is its own). The session is `creating` until its
    files are written, then made active, all in one commit; one left `creating` by a
    crash is finished by the doctor's repair (finish_creating)."""
    checked_texts(description=description)
    name = checked_name("session", name)
    with project.writing("create") as w:
        say_sessions_in_error(w.db, project.warnings)
        active = lookup.active_session(w.db)
        if active is not None and not switch:
            given = {
                "description": description,
                "session_type": session_type if session_type != "project" else None,
                "mode_file": mode_file,
                "priority_level": priority_level if priority_level != 3 else None,
            }
            raise ActiveSessionExists(
                f"session {describe(active)} is active; switch to pause it and start the new"
                " one, or pause it first",
                hint=Hint(
                    "session_create",
                    {"name": name, **{k: v for k, v in given.items() if v}, "switch": True},
                ),
            )
        if mode_file is not None:
            mode_file = checked_mode_name(w, mode_file)
        session_id = w.new_id("session")
        stamp = now()
        record = new_record(
            "session",
            {
                "session_id": session_id,
                "name": name,
                "session_type": session_type,
                "status": CREATING,
                "mode_file": mode_file,
                "mode_bound_at": stamp if mode_file else None,
                "priority_level": priority_level,
                "created_at": stamp,
            },
            description,
        )
        w.save(record)
        w.sync()
        return finish_creating(w, lookup.session(w.db, session_id), switch=switch, at=stamp)


def finish_creating(
    w: Writer, row: dict[str, Any], switch: bool = False, at: str | None = None
) -> dict[str, Any]:
    """Take a session out of `creating`: active, pausing the active one if `switch`; if
    another session is active and not `switch` (a create interrupted, then another
    session activated), active and at once paused, so that nothing the person started
    since is paused. `at`: the time of its activation, if not now (a create's own time).
    The change is the caller's commit."""
    current = lookup.active_session(w.db)
    if current is not None and switch:
        _set_status(w, current, PAUSED, verb=SESSION_VERB[PAUSED])
        current = None
    record = w.load("session", row["session_id"], row["session_id"])
    check_session_transition(row, ACTIVE)
    set_session_status(record.meta, ACTIVE)
    if at is not None:
        record.meta["activated_at"] = at
    if current is not None:
        set_session_status(record.meta, PAUSED)
    w.save(record)
    w.sync()
    return lookup.session(w.db, row["session_id"])


def list_sessions(
    project: Project, status: str | None = None, include_archived: bool = False
) -> list[dict[str, Any]]:
    """Sessions, the active first, then by creation. Archived ones only when asked for
    (or when `status` is archived)."""
    if status is not None and status not in allowed_values("session", "status"):
        raise InvalidInput(
            f"unknown session status {status!r}; use one of {', '.join(allowed_values('session', 'status'))}"
        )
    clauses, params = [], []
    if status is not None:
        clauses.append("status = ?")
        params.append(status)
    elif not include_archived:
        clauses.append(f"status <> '{ARCHIVED}'")
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    with project.reading() as db:
        return with_problems(
            db,
            db.records(
                f"SELECT * FROM sessions{where} ORDER BY status = '{ACTIVE}' DESC,"
                " created_at NULLS FIRST, session_id",
                params,
            ),
        )


def with_problems(db: IndexDB, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sessions, each in the error state (its session.md cannot be read) with `problem`:
    where and what, as the index recorded it when it read the file."""
    broken = [r["markdown_file_path"] for r in rows if r["status"] == ERROR]
    if not broken:
        return rows
    found: dict[str, str] = {}
    for problem in db.query_in(
        "SELECT path, line, message, fix FROM problems WHERE severity = 'error'"
        " AND path IN ({in}) ORDER BY path, line NULLS FIRST, message",
        broken,
    ):
        found.setdefault(problem["path"], str(Problem(**problem)))
    return [
        {
            **r,
            "problem": found.get(
                r["markdown_file_path"], f"{r['markdown_file_path']}: cannot be read"
            ),
        }
        if r["status"] == ERROR
        else r
        for r in rows
    ]


def show_session(project: Project, ref: str | None) -> dict[str, Any]:
    """A session with its groups (as a tree: each nested group under its parent) and mode
    binding; the active one if `ref` is None."""
    with project.reading() as db:
        row = with_problems(db, [lookup.session_or_active(db, ref)])[0]
        sid = row["session_id"]
        row = dict(row)
        groups = db.records(
            "SELECT * FROM task_groups WHERE session_id = ? ORDER BY position_in_session", [sid]
        )
        row["groups"] = [
            g for _, g in tree_rows(groups, "group_id", "parent_group_id", "group_level")
        ]
        row["mode_binding"] = db.record(
            "SELECT * FROM session_mode_bindings WHERE session_id = ?", [sid]
        )
        from orchestrator.core.modes import note_fallback

        note_fallback(project, sid, (row["mode_binding"] or {}).get("binding_context"))
        row["status_counts"] = dict(
            db.rows(
                "SELECT status, count(*) FROM tasks WHERE session_id = ? GROUP BY status ORDER BY status",
                [sid],
            )
        )
        return row


def change_status(project: Project, ref: str, target: str) -> dict[str, Any]:
    """Move a session to `target` if the state machine allows it. Activating a session
    pauses the one that was active."""
    with project.writing(SESSION_VERB.get(target, target)) as w:
        row = lookup.session(w.db, ref)
        if row["status"] == target:
            project.warnings.append(f"session {describe(row)} is already {target}")
            return row
        # Loaded first: a session whose file cannot be used leaves the active one as is.
        try:
            record = w.load("session", row["session_id"], row["session_id"])
        except RecordError:
            if row["status"] != ERROR:
                raise
            (broken,) = with_problems(w.db, [row])  # its state is in a file not readable
            raise RecordError(
                f"session {row['session_id']} is in error: {broken['problem']}; fix its"
                " file first (it then reads as the file says)",
                hint=Hint("doctor"),
            ) from None
        check_session_transition(row, target)
        if target == ACTIVE:
            say_sessions_in_error(w.db, project.warnings)
            current = lookup.active_session(w.db)
            if current is not None:
                _set_status(w, current, PAUSED, verb=SESSION_VERB[PAUSED])
        if target == DONE:
            open_tasks = w.db.scalar(
                f"SELECT count(*) FROM tasks WHERE session_id = ? AND {OPEN_SQL}",
                [row["session_id"]],
            )
            if open_tasks:
                project.warnings.append(
                    f"{open_tasks} task(s) of {describe(row)} are not completed"
                )
        set_session_status(record.meta, target)
        w.save(record)
        w.sync()
        return lookup.session(w.db, row["session_id"])


def rename_session(project: Project, ref: str, name: str) -> dict[str, Any]:
    """Give a session a new name (its id, and so its folder, stays). Names need not be
    unique, but a name another session has is said: it then names neither alone."""
    name = checked_name("session", name)
    with project.writing("rename") as w:
        row = lookup.session(w.db, ref)
        if row["name"] == name:
            project.warnings.append(f"session {describe(row)} already has that name")
            return row
        record = w.load("session", row["session_id"], row["session_id"])
        record.meta["name"] = name
        w.save(record)
        w.sync()
        for other in w.db.rows(
            "SELECT session_id FROM sessions WHERE name = ? AND session_id <> ? ORDER BY session_id",
            [name, row["session_id"]],
        ):
            project.warnings.append(
                f"session {other[0]} is named {name!r} too: use the ids to tell them apart"
            )
        return lookup.session(w.db, row["session_id"])


def say_sessions_in_error(db: IndexDB, warnings: list[str]) -> None:
    """Before a session is made active: the sessions whose file cannot be read, whose
    state is not known (one may have been active, and two would be once it is fixed)."""
    for broken in with_problems(db, db.records(
        f"SELECT * FROM sessions WHERE status = '{ERROR}' ORDER BY session_id"
    )):  # fmt: skip
        warnings.append(
            f"session {broken['session_id']} is in error, so whether it is active is not"
            f" known: {broken['problem']}"
        )


def _set_status(w: Writer, row: dict[str, Any], status: str, verb: str | None = None) -> None:
    """`verb`: what the commit says was done to this session, when it is not the
    operation's own (a create that pauses the active session)."""
    record = w.load("session", row["session_id"], row["session_id"])
    set_session_status(record.meta, status)
    w.save(record, verb=verb)
