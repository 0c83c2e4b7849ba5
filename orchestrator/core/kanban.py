"""The board by status (`orch ui`): a session's tasks as columns, a page at a time, each
card with what blocks it; the session's groups with their progress; its dependency graph;
the moves a session's state allows. Reads only: a move on the board is update_task, a
session's button change_status, as the CLI calls them."""

from __future__ import annotations

from typing import Any

from orchestrator.core import lookup
from orchestrator.core.groups import in_tree_order
from orchestrator.core.project import Project
from orchestrator.core.rules import OPEN_SQL, UNMET_SQL
from orchestrator.core.sessions import SESSION_VERB, with_problems
from orchestrator.core.task_fields import field_filter
from orchestrator.core.tasks import READY_CLAUSE
from orchestrator.errors import Hint, InvalidInput, NotFound
from orchestrator.index.derive import group_chains
from orchestrator.index.engine import IndexDB
from orchestrator.model import (
    ACTIVE,
    ARCHIVED,
    BLOCKED,
    CANCELLED,
    DONE,
    FAILED,
    IN_PROGRESS,
    NEEDS_REVISION,
    PENDING,
    session_transitions,
)

# The columns, in the order work moves through them.
COLUMNS = (PENDING, IN_PROGRESS, BLOCKED, NEEDS_REVISION, FAILED, DONE, CANCELLED)
PAGE = 50
MOST = 500  # the largest page a caller may ask for
# A card: what the board shows of a task, and whether it waits on open subtasks.
CARD = (
    "t.task_id, t.title, t.status, t.specialist_type, t.complexity_level, t.priority_level,"
    " t.estimated_effort, t.actual_effort, t.group_id, g.group_name, t.parent_task_id,"
    " p.title AS parent_title, t.level, t.progress_percentage, t.labels, t.assignee, t.due,"
    f" (SELECT count(*) FROM tasks c WHERE c.parent_task_id = t.task_id AND c.{OPEN_SQL})"
    f" AS open_subtasks, CASE WHEN {READY_CLAUSE} THEN 1 ELSE 0 END AS ready"
)
CARD_FROM = (
    "FROM tasks t LEFT JOIN task_groups g ON g.group_id = t.group_id"
    " LEFT JOIN tasks p ON p.task_id = t.parent_task_id"
)
CARD_ORDER = (
    "t.priority_level, g.position_in_session NULLS LAST, t.position_in_group,"
    " t.created_at NULLS FIRST, t.task_id"
)


def board_columns(
    project: Project,
    session: str | None = None,
    group: str | None = None,
    limit: int = PAGE,
    limits: dict[str, int] | None = None,
    label: str | None = None,
    assignee: str | None = None,
) -> dict[str, Any]:
    """A session's board (the active one if `session` is None; the newest if none is
    active): every session for a picker, the session's groups as a tree with their
    progress, and one column per status holding its count and its first `limit` cards
    (`limits` per status, for a page that has shown more). `group`: that group's tasks
    and those of the groups nested in it; `label`, `assignee`: only the tasks having it
    (a label list, "bug,ui", asks for all)."""
    with project.reading() as db:
        sessions = with_problems(db, _newest_first(db))
        row = _session(db, session, sessions)
        if row is None:
            return {"session": None, "sessions": sessions, "groups": [], "columns": []}
        groups = in_tree_order(
            db.records(
                "SELECT group_id, group_name, parent_group_id, group_level, total_tasks,"
                " completed_tasks, progress_percentage FROM task_groups WHERE session_id = ?"
                " ORDER BY position_in_session",
                [row["session_id"]],
            )
        )
        within = _within(db, row["session_id"], group, groups)
        fields = field_filter(label or (), assignee)
        columns = []
        for status in COLUMNS:
            size = min(max((limits or {}).get(status, limit), 0), MOST)
            columns.append(_column(db, row["session_id"], status, within, 0, size, fields))
        choices = _choices(db, row["session_id"])
    return {
        "session": row,
        "sessions": sessions,
        "groups": groups,
        "group": group,
        "label": label,
        "assignee": assignee,
        **choices,
        "columns": columns,
        "transitions": session_moves(row["status"]),
    }


def column_page(
    project: Project,
    session: str,
    status: str,
    group: str | None = None,
    offset: int = 0,
    limit: int = PAGE,
    label: str | None = None,
    assignee: str | None = None,
) -> dict[str, Any]:
    """More cards of one column: `limit` cards from `offset` ("show more"), filtered as
    board_columns filters them."""
    if status not in COLUMNS:
        raise InvalidInput(
            f"unknown status {status!r}; the board's columns are {', '.join(COLUMNS)}"
        )
    with project.reading() as db:
        row = lookup.session(db, session)
        groups = db.records(
            "SELECT group_id, parent_group_id FROM task_groups WHERE session_id = ?",
            [row["session_id"]],
        )
        within = _within(db, row["session_id"], group, groups)
        return _column(
            db, row["session_id"], status, within, max(offset, 0), min(max(limit, 0), MOST),
            field_filter(label or (), assignee),
        )  # fmt: skip


def _newest_first(db: IndexDB) -> list[dict[str, Any]]:
    """Every session for a picker: the active one, then the others newest first, the
    archived last."""
    return db.records(
        "SELECT session_id, name, status, progress_percentage, total_tasks, completed_tasks"
        f" FROM sessions ORDER BY status = '{ACTIVE}' DESC, status = '{ARCHIVED}',"
        " created_at DESC NULLS LAST, session_id"
    )


def _session(db: IndexDB, ref: str | None, sessions: list[dict[str, Any]]) -> dict[str, Any] | None:
    if ref:
        return dict(lookup.session(db, ref))
    active = lookup.active_session(db)
    if active is not None:
        return dict(active)
    return dict(sessions[0]) if sessions else None


def _within(
    db: IndexDB, session_id: str, group: str | None, groups: list[dict[str, Any]]
) -> list[str] | None:
    """The ids of `group` and of every group nested in it (None: no group asked for)."""
    if not group:
        return None
    top = lookup.group(db, group, session_id)["group_id"]
    # The index's own rule for which groups a group holds (a loop made by hand included).
    return [g for g, chain in group_chains(groups, []).items() if top in chain]


def _choices(db: IndexDB, session_id: str) -> dict[str, list[str]]:
    """The labels and the assignees the session's tasks have: what the board filters by."""
    return {
        "labels": [r[0] for r in db.rows(
            "SELECT DISTINCT label FROM task_labels WHERE session_id = ? ORDER BY label",
            [session_id])],
        "assignees": [r[0] for r in db.rows(
            "SELECT DISTINCT assignee FROM tasks WHERE session_id = ? AND assignee IS NOT NULL"
            " ORDER BY assignee", [session_id])],
    }  # fmt: skip


def _column(
    db: IndexDB,
    session_id: str,
    status: str,
    within: list[str] | None,
    offset: int,
    limit: int,
    fields: tuple[list[str], list[Any]] = ([], []),
) -> dict[str, Any]:
    where, params = "t.session_id = ? AND t.status = ?", [session_id, status]
    if within is not None:
        where += f" AND t.group_id IN ({', '.join('?' * len(within))})"
        params += within
    for clause in fields[0]:
        where += f" AND {clause}"
    params += fields[1]
    count = db.scalar(f"SELECT count(*) FROM tasks t WHERE {where}", params)
    cards = db.records(
        f"SELECT {CARD} {CARD_FROM} WHERE {where} ORDER BY {CARD_ORDER} LIMIT {limit} OFFSET {offset}",
        params,
    ) if limit else []  # fmt: skip
    return {"status": status, "count": count, "offset": offset, "cards": with_blockers(db, cards)}


def with_blockers(db: IndexDB, cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each card with the dependencies it still waits on (`blocked_by`: id, title, status;
    a missing task counts, as core/rules.py says)."""
    ids = [c["task_id"] for c in cards]
    waits: dict[str, list[dict[str, Any]]] = {}
    if ids:
        for dep in db.records(
            "SELECT d.task_id, d.depends_on_task_id AS dep_id, dt.title, dt.status"
            " FROM task_dependencies d LEFT JOIN tasks dt ON dt.task_id = d.depends_on_task_id"
            f" WHERE d.task_id IN ({', '.join('?' * len(ids))})"
            f" AND (dt.status IS NULL OR dt.{UNMET_SQL}) ORDER BY d.depends_on_task_id",
            ids,
        ):
            waits.setdefault(dep["task_id"], []).append(
                {"task_id": dep["dep_id"], "title": dep["title"], "status": dep["status"]}
            )
    for card in cards:
        card["blocked_by"] = waits.get(card["task_id"], [])
        card["ready"] = bool(card["ready"])  # READY_CLAUSE: what `task list --ready` lists
    return cards


def session_moves(status: str) -> list[dict[str, str]]:
    """The transitions a session in `status` allows: each target status with the verb
    of its command (activate, pause, complete, cancel, archive)."""
    return [
        {"status": target, "verb": SESSION_VERB.get(target, target)}
        for target in session_transitions().get(status, ())
    ]


def sessions_page(project: Project) -> list[dict[str, Any]]:
    """Every session, archived ones included, each with the moves its state allows."""
    with project.reading() as db:
        rows = with_problems(
            db,
            db.records(
                "SELECT session_id, name, status, description, progress_percentage,"
                " total_tasks, completed_tasks, created_at, activated_at, completed_at"
                f" FROM sessions ORDER BY status = '{ACTIVE}' DESC, created_at DESC NULLS LAST,"
                " session_id"
            ),
        )
    return [dict(r, transitions=session_moves(r["status"])) for r in rows]


def dependency_graph(project: Project, session: str | None = None) -> dict[str, Any]:
    """A session's tasks (the active one's by default) and the dependencies between them:
    `nodes` with their status and whether each is ready, `edges` as (task, depends on)."""
    with project.reading() as db:
        row = _session(db, session, _newest_first(db))
        if row is None:
            raise NotFound("no session yet: create one first", hint=Hint("session_create"))
        sid = row["session_id"]
        nodes = with_blockers(
            db,
            db.records(
                f"SELECT {CARD} {CARD_FROM} WHERE t.session_id = ? ORDER BY {CARD_ORDER}", [sid]
            ),
        )
        edges = db.rows(
            "SELECT d.task_id, d.depends_on_task_id FROM task_dependencies d"
            " JOIN tasks t ON t.task_id = d.task_id WHERE t.session_id = ?"
            " ORDER BY d.task_id, d.depends_on_task_id",
            [sid],
        )
    return {
        "session": {k: row[k] for k in ("session_id", "name", "status")},
        "nodes": nodes,
        "edges": [tuple(e) for e in edges],
    }
