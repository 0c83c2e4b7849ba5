"""What the index derives from the whole project rather than from one file: the active
session and the shared context agents read of it (active_session), each session's mode
binding, the rows of the role files (session_modes), and the problems of the session
state machine that no single file shows (two sessions active, a create left unfinished).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.index.engine import IndexDB
from orchestrator.model import ACTIVE, CREATING, DEFAULT_MODE, Problem, format_time
from orchestrator.store.mode_file import Mode
from orchestrator.store.sections import without
from orchestrator.store.session_view import NOTES_HEADING, regions_of


def mode_row(mode_id: str, rel: str, mode: Mode, digest: str, root: Path) -> dict[str, Any]:
    """A role file's session_modes row."""
    created, modified = file_times(root / rel)
    return {
        "mode_id": mode_id,
        "mode_name": mode_id.rsplit(".", 1)[0],
        "yaml_file_path": rel,
        "yaml_content_hash": digest,
        "description": mode.description,
        "specialist_roles": json.dumps(mode.specialist_roles),
        "is_valid": mode.is_valid,
        "validation_errors": json.dumps([str(p) for p in mode.problems if p.severity == "error"]),
        # Times of the file, not of this reading, so that a rebuild gives the same rows:
        # the content validated is the one last modified then.
        "last_validated_at": modified,
        "created_at": created,
        "updated_at": modified,
    }


def file_times(path: Path) -> tuple[str | None, str | None]:
    """(created, last modified) of a file, as records write times: its creation where
    the system keeps one (macOS, BSD, Windows), else its modification."""
    try:
        st = os.stat(path)
    except OSError:
        return None, None
    modified = format_time(datetime.fromtimestamp(st.st_mtime, UTC))
    born = getattr(st, "st_birthtime", None)
    created = format_time(datetime.fromtimestamp(born, UTC)) if born else modified
    return created, modified


def derive_project(db: IndexDB) -> dict[str, list[Problem]]:
    """Set the active session (the one activated last, if a hand edit made several) with
    its context, and every mode binding; returns the problems, by path."""
    active = db.query(
        f"SELECT session_id, activated_at, markdown_file_path FROM sessions WHERE status = '{ACTIVE}'"
        " ORDER BY activated_at DESC NULLS LAST, session_id"
    )
    problems = creating_problems(db)
    for extra in active[1:]:
        problems.setdefault(extra["markdown_file_path"], []).append(
            Problem(
                extra["markdown_file_path"],
                f"more than one session is active ({active[0]['session_id']} was activated last"
                f" and is the active one)",
                field="status",
                fix=f"pause one of them (session {extra['session_id']}, for one)",
            )
        )
    modes = {r[0]: bool(r[1]) for r in db.rows("SELECT mode_id, is_valid FROM session_modes")}
    updates = []
    for session_id, mode_id in db.rows("SELECT session_id, mode_id FROM session_mode_bindings"):
        updates.append((json.dumps(mode_binding(mode_id, modes)), session_id, mode_id))
    db.executemany(
        "UPDATE session_mode_bindings SET binding_context = ? WHERE session_id = ? AND mode_id = ?",
        updates,
    )
    db.execute("DELETE FROM active_session")
    if active:
        db.execute(
            "INSERT INTO active_session (id, session_id, activated_at, context_data)"
            " VALUES (1, ?, ?, ?)",
            [
                active[0]["session_id"],
                active[0]["activated_at"],
                json.dumps(active_context(db, active[0]["session_id"], modes)),
            ],
        )
    return problems


def creating_problems(db: IndexDB) -> dict[str, list[Problem]]:
    """Sessions still `creating`: a create is one commit that ends with the session
    active, so one seen in this state was interrupted (a kill) before it finished."""
    problems: dict[str, list[Problem]] = {}
    for session_id, name, path in db.rows(
        f"SELECT session_id, name, markdown_file_path FROM sessions WHERE status = '{CREATING}'"
        " ORDER BY session_id"
    ):
        problems.setdefault(path, []).append(
            Problem(
                path,
                f'session {session_id} "{name}" is still {CREATING}: an interrupted create'
                " left it unfinished",
                field="status",
                fix="the doctor's repair finishes it: active, or paused if another session is"
                " active now",
                severity="warning",
            )
        )
    return problems


def active_context(db: IndexDB, session_id: str, modes: Mapping[str, bool]) -> dict[str, Any]:
    """The shared context agents read of the active session (active_session.context_data):
    what it is about, and the mode it really uses with that mode's specialists."""
    session = db.query(
        "SELECT session_id, name, description, session_type, priority_level, mode_file,"
        " markdown_file_path FROM sessions WHERE session_id = ?",
        [session_id],
    )[0]
    binding = mode_binding(session["mode_file"] or DEFAULT_MODE, modes)
    roles = db.scalar(
        "SELECT specialist_roles FROM session_modes WHERE mode_id = ?", [binding["effective_mode"]]
    )
    return {
        **session,
        "description": own_text(session["description"] or ""),
        "mode_file": binding["mode_file"],
        "effective_mode": binding["effective_mode"],
        "mode_status": binding["status"],
        "specialist_roles": json.loads(roles) if isinstance(roles, str) else roles,
    }


def own_text(body: str) -> str:
    """What a person wrote to describe a session: its session.md body without the
    regions orch generates and without the notes section."""
    lines = body.splitlines(keepends=True)
    for first, last in sorted(regions_of(body).values(), reverse=True):
        del lines[first : last + 1]
    return without("".join(lines), [NOTES_HEADING.removeprefix("## ")])


def mode_binding(requested: str, modes: Mapping[str, bool]) -> dict[str, str]:
    """Which mode a session really uses: the one it names if that file is present and
    valid, else the project's default_roles.yaml, else the one shipped with orch."""
    if "/" in requested or "\\" in requested or requested.startswith("."):
        status = "outside"
    elif requested not in modes:
        status = "missing"
    elif not modes[requested]:
        status = "invalid"
    else:
        return {"mode_file": requested, "effective_mode": requested, "status": "ok"}
    effective = DEFAULT_MODE if modes.get(DEFAULT_MODE) else "(built-in default_roles.yaml)"
    return {"mode_file": requested, "effective_mode": effective, "status": status}
