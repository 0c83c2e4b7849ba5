"""Which tasks are ready: the rule, and the table every refresh keeps by it.

A task is ready when it is pending, every task it depends on is completed (a missing one
counts as not), and none of its subtasks is open. Counting the ready tasks of a session
by that rule costs a look at the dependencies and subtasks of every pending task: 20 ms
at 10,000 tasks, ten times that at 100,000, for every `orch status`. So the index keeps
the answer in `task_ready` (schema/index.sql), and each refresh settles it for the tasks
a change can make ready or not: the tasks read or removed, their parents before and
after, the tasks that depend on them, and the tasks whose place in their group a refresh
changed (task_ready keeps what orders them). A rebuild reads every task, so it settles
all. Queries ask `task_ready` (core/tasks.READY_CLAUSE); this module is the rule's one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.model import CANCELLED, DONE, PENDING

if TYPE_CHECKING:
    from orchestrator.index.engine import IndexDB

# The SQL conditions "the task is open" and "the dependency is unmet" (prefix a table
# alias: f"t.{OPEN_SQL}"; a dependency whose task is missing is unmet too).
OPEN_SQL = f"status NOT IN ('{DONE}', '{CANCELLED}')"
UNMET_SQL = f"status <> '{DONE}'"
# The rule, over `tasks t`.
READY_RULE = (
    f"t.status = '{PENDING}'"
    " AND NOT EXISTS (SELECT 1 FROM task_dependencies d"
    "   LEFT JOIN tasks dt ON dt.task_id = d.depends_on_task_id"
    f"   WHERE d.task_id = t.task_id AND (dt.status IS NULL OR dt.{UNMET_SQL}))"
    f" AND NOT EXISTS (SELECT 1 FROM tasks c WHERE c.parent_task_id = t.task_id AND c.{OPEN_SQL})"
)


# What task_ready keeps of each ready task: enough to count a session's and to order
# them (core/tasks.ready_order) without reading the tasks' rows, 1 KB each, for the
# first ten of 30,000 (80 ms at 100,000 tasks, against 30).
KEPT = ("task_id", "session_id", "priority_level", "group_id", "position_in_group", "created_at")


def settle(db: IndexDB, changed: list[str], *shapes: dict[str, dict[str, Any]]) -> None:
    """Bring task_ready up to date after the rows of the tasks `changed` were written
    again (or removed), or their derived figures changed; `shapes`: their rows before and
    after (by id), for their parents."""
    if not changed:
        return
    parents = {row["parent_task_id"] for rows in shapes for row in rows.values()}
    dependents = db.rows_in(
        "SELECT task_id FROM task_dependencies WHERE depends_on_task_id IN ({in})", changed
    )
    affected = sorted({*changed, *(p for p in parents if p), *(r[0] for r in dependents)})
    db.execute_in("DELETE FROM task_ready WHERE task_id IN ({in})", affected)
    db.execute_in(
        f"INSERT INTO task_ready ({', '.join(KEPT)}) SELECT {', '.join(f't.{c}' for c in KEPT)}"
        f" FROM tasks t WHERE t.task_id IN ({{in}}) AND {READY_RULE}",
        affected,
    )
