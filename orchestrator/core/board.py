"""The board: what `orch status` shows — the active session, its groups, what is in
progress and what is ready."""

from __future__ import annotations

import os
from typing import Any

from orchestrator.core import lookup
from orchestrator.core.groups import in_tree_order
from orchestrator.core.modes import binding_context, note_fallback
from orchestrator.core.project import Project
from orchestrator.core.sessions import with_problems
from orchestrator.core.tasks import READY_ORDER, TASK_FROM, ready_order
from orchestrator.index.broken import broken_files
from orchestrator.model import ACTIVE, ARCHIVED, IN_PROGRESS, Problem


def board(project: Project, ready_limit: int = 10, name_broken: bool = False) -> dict[str, Any]:
    """The active session (or None), its groups with progress (as a tree: each nested
    group under its parent), its tasks in progress (the first `ready_limit`, longest
    started first), its ready tasks, the other sessions, and how many problems
    the files have; with `name_broken`, also what is wrong in each broken file (left out
    of orch's commits until fixed)."""
    with project.reading(names_broken=name_broken) as db:
        broken = [p.__dict__ for p in broken_files(db)] if name_broken else []
        active = lookup.active_session(db)
        groups, mode = [], None
        if active is not None:
            mode = binding_context(db, active["session_id"])
            note_fallback(project, active["session_id"], mode)
            groups = in_tree_order(
                db.records(
                    "SELECT * FROM task_groups WHERE session_id = ? ORDER BY position_in_session",
                    [active["session_id"]],
                )
            )
        others = with_problems(
            db,
            db.records(
                "SELECT session_id, name, status, progress_percentage, total_tasks,"
                " completed_tasks, markdown_file_path"
                f" FROM sessions WHERE status NOT IN ('{ACTIVE}', '{ARCHIVED}')"
                " ORDER BY created_at NULLS FIRST, session_id"
            ),
        )
        counts = dict(db.rows("SELECT severity, count(*) FROM problems GROUP BY severity"))
        status_counts = {}
        if active is not None:
            status_counts = dict(
                db.rows(
                    "SELECT status, count(*) FROM tasks WHERE session_id = ? GROUP BY status ORDER BY status",
                    [active["session_id"]],
                )
            )
        ready, ready_total = [], 0
        working, working_total = [], 0
        if active is not None:
            working = db.records(
                "SELECT task_id, title, specialist_type, started_at FROM tasks"
                f" WHERE session_id = ? AND status = '{IN_PROGRESS}'"
                f" ORDER BY started_at NULLS LAST, task_id LIMIT {int(ready_limit)}",
                [active["session_id"]],
            )
            working_total = status_counts.get(IN_PROGRESS, 0)
            # The ready tasks as task_ready keeps them, with what orders them: their
            # count and the first ones without reading the rows of the others.
            ready_total = db.scalar(
                "SELECT count(*) FROM task_ready WHERE session_id = ?", [active["session_id"]]
            )
            first = [r[0] for r in db.rows(
                "SELECT r.task_id FROM task_ready r LEFT JOIN task_groups g ON g.group_id = r.group_id"
                f" WHERE r.session_id = ? ORDER BY {ready_order('r')} LIMIT {max(int(ready_limit), 0)}",
                [active["session_id"]],
            )]  # fmt: skip
            ready = db.records(
                f"SELECT t.* {TASK_FROM} WHERE t.task_id IN ({', '.join('?' * len(first))})"
                f" ORDER BY {READY_ORDER}",
                first,
            ) if first else []  # fmt: skip
    return {
        "active_session": active,
        "mode": mode,
        "status_counts": status_counts,
        "groups": groups,
        "in_progress": working,
        "in_progress_count": working_total,
        "ready": ready,
        "ready_count": ready_total,
        "other_sessions": others,
        "broken": broken,
        "problems": {
            "errors": counts.get("error", 0),
            "warnings": counts.get("warning", 0),
            "conflicts": counts.get("conflict", 0),
        },
    }


def problems(project: Project) -> list[Problem]:
    """Every problem found in the project's files, by file and line, and the links
    in the orchestrator folder (link_problems)."""
    with project.reading() as db:
        rows = db.records(
            "SELECT DISTINCT path, line, field, severity, message, fix FROM problems"
            " ORDER BY path, line NULLS FIRST, message"
        )
    found = [problem_of(r) for r in rows] + link_problems(project)
    found += project.syncer.problems() + leftover_problems(project)
    return sorted(found, key=lambda p: (p.path, p.line or 0, p.message))


def leftover_problems(project: Project) -> list[Problem]:
    """Temporary files an orch process left when it was killed mid-write: one may hold an
    editor's save taken out of its place in that instant, so they are shown, never
    removed by orch."""
    from orchestrator.store.files import LEFTOVER, find_leftovers

    layout = project.layout
    found = []
    for path in find_leftovers(layout.base):
        match = LEFTOVER.match(path.name)
        if match is None:  # find_leftovers gives only names LEFTOVER matches
            continue
        record = path.with_name(match["name"])
        found.append(Problem(
            layout.rel(path),
            f"left by an orch process killed while writing {layout.rel(record)}: it holds orch's"
            " new text, or a save of yours taken out of its place in that instant",
            fix=f"compare it with {record.name}, copy back what is yours, then delete it",
            severity="warning"))  # fmt: skip
    return found


def link_problems(project: Project) -> list[Problem]:
    """Symbolic links below the orchestrator folder: orch neither reads nor writes
    through them (store/files.py), so what lies behind one is not in the project for
    it. The folder itself may be a link (where the project chose to keep it): said,
    as a warning."""
    from orchestrator.store.files import find_links

    layout = project.layout
    found = []
    if layout.base.is_symlink():
        found.append(Problem(
            layout.rel(layout.base),
            f"the orchestrator folder is a link to {os.readlink(layout.base)}: orch keeps"
            " its files there, and reads and writes nothing through links inside it",
            fix="nothing if you made this link; if not, remove it and initialise the project again",
            severity="warning"))  # fmt: skip
    for path, target in find_links(layout.base):
        found.append(Problem(
            layout.rel(path),
            f"a symbolic link (to {target}): orch neither reads nor writes through links"
            f" inside {layout.rel(layout.base)}/, so that nothing it reads or writes lies"
            " outside the project",
            fix="replace the link with the folder or file it points to (move that into its place)"))  # fmt: skip
    return found


def problem_of(row: dict[str, Any]) -> Problem:
    """A `problems` row of the index as a Problem."""
    return Problem(row["path"], row["message"], row["line"], row["field"], row["fix"],
                   row["severity"])  # fmt: skip
