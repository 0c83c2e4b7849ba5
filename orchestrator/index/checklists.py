"""The checklist of each group as session.md's view shows it, kept in the index.

Regenerating the view of a 10,000-task session from every task costs ~100 ms, most of a
write. The index keeps each group's checklist text (`view_checklists`, one row per group
of a session; `group_key` '' for the tasks without a group), and a refresh keeps it true:

- a task whose line changed but not its place (same session, group, parent, level and
  position: a new title, status, specialist or effort) has its line replaced in the kept
  text, found by the `<!-- t-… -->` that ends it;
- anything else that changes a group's list (a task added, removed, moved, a level or a
  position derived anew) drops the group's text, rendered again by the next view.

The text is a function of the tasks' SHOWN columns alone (store/session_view.py's
`checklist`); tests/test_views.py checks the kept text against a render from scratch
after every kind of change.
"""

from __future__ import annotations

from typing import Any

from orchestrator.index.engine import IndexDB

UNGROUPED = ""  # the group_key of the tasks without a group
# What a task's line shows (session_view.task_line: box, title, status, specialist,
# efforts; its id ends it).
LINE = ("title", "status", "specialist_type", "estimated_effort", "actual_effort")
# Where the line stands in its group's list (session_view.checklist lays the tasks out as
# a tree, in this order): a change of one moves lines.
PLACE = ("session_id", "group_id", "parent_task_id", "level", "position_in_group", "created_at")
# What a group's checklist is made of, and what a view reads to render one.
SHOWN = (*PLACE, *LINE)
COLUMNS = ("task_id", *SHOWN)
TASK_ORDER = "ORDER BY position_in_group, created_at NULLS FIRST, task_id"


def shown(db: IndexDB, task_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The SHOWN columns of these tasks, by id (those the index has)."""
    if not task_ids:
        return {}
    rows = db.query_in(
        f"SELECT {', '.join(COLUMNS)} FROM tasks WHERE task_id IN ({{in}})", task_ids
    )
    return {row["task_id"]: row for row in rows}


def key(row: dict[str, Any]) -> tuple[str, str]:
    return row["session_id"], row["group_id"] or UNGROUPED


def settle(db: IndexDB, before: dict[str, dict[str, Any]], task_ids: list[str]) -> None:
    """Bring the kept checklists in line with these tasks' rows as they are now, given
    their SHOWN columns `before` the refresh changed them: patch a line, or drop a group."""
    after = shown(db, task_ids)
    dropped: set[tuple[str, str]] = set()
    patched: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for task_id in task_ids:
        old, new = before.get(task_id), after.get(task_id)
        if old is None or new is None or any(old[c] != new[c] for c in PLACE):
            dropped |= {key(row) for row in (old, new) if row is not None}
        elif any(old[c] != new[c] for c in LINE):
            patched.setdefault(key(new), []).append(new)
    for group in set(patched) - dropped:
        found = db.rows(
            "SELECT checklist FROM view_checklists WHERE session_id = ? AND group_key = ?",
            list(group),
        )
        if not found:
            continue  # not kept: rendered from the rows when a view asks
        text = _patched(found[0][0], patched[group])
        if text is None:
            dropped.add(group)
            continue
        db.execute(
            "UPDATE view_checklists SET checklist = ? WHERE session_id = ? AND group_key = ?",
            [text, *group],
        )
    drop(db, dropped)


def _patched(text: str, rows: list[dict[str, Any]]) -> str | None:
    """`text` with each row's line rendered again at its depth; None if a line is not
    where the text should have it."""
    # session.md's renderer, loaded when a task is written (start-up speed of a read).
    from orchestrator.store.session_view import task_line

    for row in rows:
        anchor = f" <!-- {row['task_id']} -->\n"
        end = text.find(anchor)
        if end == -1:
            return None
        start = text.rfind("\n", 0, end) + 1
        old = text[start:end]
        depth = (len(old) - len(old.lstrip(" "))) // 2
        text = text[:start] + task_line(row, depth) + "\n" + text[end + len(anchor) :]
    return text


def drop(db: IndexDB, groups: set[tuple[str, str]]) -> None:
    """Forget the kept checklists of these (session, group_key) pairs."""
    for session_id, group_key in sorted(groups):
        db.execute(
            "DELETE FROM view_checklists WHERE session_id = ? AND group_key = ?",
            [session_id, group_key],
        )


def drop_for(db: IndexDB, task_ids: list[str]) -> None:
    """Forget the kept checklists of the groups these tasks are in (as the index has
    them now)."""
    if task_ids:
        db.execute_in(
            "DELETE FROM view_checklists WHERE EXISTS (SELECT 1 FROM tasks t"
            " WHERE t.session_id = view_checklists.session_id"
            " AND coalesce(t.group_id, '') = view_checklists.group_key"
            " AND t.task_id IN ({in}))",
            task_ids,
        )


def kept(db: IndexDB, session_id: str, group_ids: list[str], keep: bool) -> dict[str | None, str]:
    """Each group's checklist (None: the tasks without a group), as the index keeps it;
    those it does not keep are rendered from their tasks, and kept if `keep` (only under
    the project lock, so that no refresh changes the rows between the read and the
    store)."""
    texts = {
        (None if group_key == UNGROUPED else group_key): text
        for group_key, text in db.rows(
            "SELECT group_key, checklist FROM view_checklists WHERE session_id = ?", [session_id]
        )
    }
    missing = [g for g in [*group_ids, None] if g not in texts]
    if not missing:
        return texts
    named = [g for g in missing if g is not None]
    where = " OR ".join(
        ([f"group_id IN ({', '.join('?' * len(named))})"] if named else [])
        + (["group_id IS NULL"] if None in missing else [])
    )
    by_group: dict[str | None, list[dict[str, Any]]] = {g: [] for g in missing}
    for task in db.query(
        f"SELECT {', '.join(COLUMNS)} FROM tasks WHERE session_id = ? AND ({where}) {TASK_ORDER}",
        [session_id, *named],
    ):
        by_group[task["group_id"]].append(task)
    from orchestrator.store.session_view import checklist

    rendered = {g: checklist(rows) if rows else "" for g, rows in by_group.items()}
    if keep:
        db.executemany(
            "INSERT INTO view_checklists (session_id, group_key, checklist) VALUES (?, ?, ?)",
            [(session_id, UNGROUPED if g is None else g, text) for g, text in rendered.items()],
        )
    return texts | rendered
