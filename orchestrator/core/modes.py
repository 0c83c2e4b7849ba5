"""Modes: role files in .task_orchestrator/roles/ that a session binds (`mode_file`).

A session whose mode file is missing or invalid falls back to the project's
default_roles.yaml (or the one shipped with orch) with a warning; it never fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.core import lookup
from orchestrator.core.project import Project
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.layout import MODE_SUFFIXES
from orchestrator.model import DEFAULT_MODE, now
from orchestrator.resources import shipped

if TYPE_CHECKING:
    from orchestrator.core.writer import Writer
    from orchestrator.store.mode_file import Mode


def available(project: Project) -> list[str]:
    roles = project.layout.roles_dir
    if not roles.is_dir():
        return []
    return sorted(
        p.name for p in roles.iterdir() if p.suffix in MODE_SUFFIXES and not p.name.startswith(".")
    )


def mode_path(project: Project, name: str) -> Path:
    """The role file a user means by `name`: a file name in roles/ ("research_roles.yaml"),
    the same without its ending ("research_roles", "research"), or a path inside roles/."""
    roles = project.layout.roles_dir
    if "/" in name or "\\" in name:
        path = project.layout.inside(name, base=roles, what="mode file")
        if path.parent != roles.resolve():
            raise InvalidInput(
                f"mode files live directly in {project.layout.rel(roles)}/, not in {name!r}"
            )
        if path.is_file():
            return path
    else:
        for candidate in (name, f"{name}.yaml", f"{name}_roles.yaml", f"{name}.yml"):
            path = project.layout.inside(candidate, base=roles, what="mode file")
            if path.is_file():
                return path
    names = ", ".join(available(project)) or "none"
    raise NotFound(f"no mode {name!r} in {project.layout.rel(roles)}/ (available: {names})")


def load_mode(project: Project, path: Path) -> Mode:
    rel = project.layout.rel(path) if path.is_relative_to(project.root) else str(path)
    from orchestrator.store.mode_file import parse_mode  # a read of the index needs no parser

    return parse_mode(path.name, path.read_text(encoding="utf-8", errors="replace"), rel)


def checked_mode_name(w: Writer, name: str, validate: bool = True) -> str:
    """The file name of a mode a session may bind; refused if missing or (when
    `validate`) invalid, with every error listed."""
    path = mode_path(w.project, name)
    if validate:
        mode = load_mode(w.project, path)
        if not mode.is_valid:
            errors = "\n".join(f"  {p}" for p in mode.problems if p.severity == "error")
            raise InvalidInput(f"mode {path.name} is not valid:\n{errors}")
    return path.name


def list_modes(project: Project, include_invalid: bool = True) -> list[dict[str, Any]]:
    """Modes in roles/, with validity and how many sessions use each."""
    with project.reading() as db:
        rows = db.records(
            "SELECT m.*, (SELECT count(*) FROM session_mode_bindings b WHERE b.mode_id = m.mode_id)"
            " AS session_count FROM session_modes m ORDER BY m.mode_id"
        )
    return [r for r in rows if include_invalid or r["is_valid"]]


def show_mode(project: Project, name: str) -> dict[str, Any]:
    path = mode_path(project, name)
    mode = load_mode(project, path)
    return {
        "mode_id": path.name,
        "mode_name": path.stem,
        "yaml_file_path": project.layout.rel(path),
        "description": mode.description,
        "is_valid": mode.is_valid,
        "specialist_roles": mode.specialist_roles,
        "roles": mode.roles,
        "problems": [str(p) for p in mode.problems],
    }


def validate_modes(project: Project, files: list[str] | None = None) -> list[Mode]:
    """Validate the given role files (paths inside the project, or mode names), or all
    of roles/."""
    if not files:
        paths = [project.layout.roles_dir / name for name in available(project)]
    else:
        paths = []
        for given in files:
            candidate = Path(given).expanduser()
            if candidate.is_file():
                paths.append(project.layout.inside(candidate.resolve(), what="mode file"))
            else:
                paths.append(mode_path(project, given))
    return [load_mode(project, path) for path in paths]


def select_mode(
    project: Project, name: str, session: str | None = None, validate_first: bool = True
) -> dict[str, Any]:
    """Bind a mode to a session (the active one by default)."""
    with project.writing("select-mode") as w:
        row = lookup.session_or_active(w.db, session)
        file_name = checked_mode_name(w, name, validate=validate_first)
        record = w.load("session", row["session_id"], row["session_id"])
        record.meta["mode_file"] = file_name
        record.meta["mode_bound_at"] = now()
        w.save(record)
        w.sync()
        return binding(w.db, row["session_id"])


def binding(db, session_id: str) -> dict[str, Any]:
    row = db.record("SELECT * FROM session_mode_bindings WHERE session_id = ?", [session_id])
    if row is None:
        raise NotFound(
            f"session {session_id} has no mode binding (its session.md may be unreadable)"
        )
    return row


def session_mode(project: Project, session: str | None = None) -> tuple[Mode, dict[str, Any]]:
    """The mode a session really uses (after any fallback) and its binding; a fallback
    adds a warning saying why."""
    with project.reading() as db:
        row = lookup.session_or_active(db, session)
        modes = {r[0]: bool(r[1]) for r in db.rows("SELECT mode_id, is_valid FROM session_modes")}
    # Imported here: project_state brings session.md's parser, which a read never needs.
    from orchestrator.index.project_state import mode_binding

    context = mode_binding(row["mode_file"] or DEFAULT_MODE, modes)
    note_fallback(project, row["session_id"], context)
    effective = context["effective_mode"]
    path = (
        project.layout.roles_dir / effective
        if effective in modes
        else shipped("config") / DEFAULT_MODE
    )
    return load_mode(project, path), context


def binding_context(db, session_id: str) -> dict[str, Any] | None:
    """How a session's mode binding resolved ({mode_file, effective_mode, status})."""
    row = db.record(
        "SELECT binding_context FROM session_mode_bindings WHERE session_id = ?", [session_id]
    )
    return row["binding_context"] if row else None


def note_fallback(project: Project, session_id: str, context: dict[str, Any] | None) -> None:
    """Warn when a session's mode is missing or invalid and another one stands in."""
    if context and context.get("status", "ok") != "ok":
        project.warnings.append(
            f"session {session_id}: mode {context['mode_file']} is {context['status']};"
            f" using {context['effective_mode']} (validating the mode says why)"
        )
