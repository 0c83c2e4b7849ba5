"""Derived figures of one session, computed from its facts (ARCHITECTURE.md, "On disk").

Never written to files, so they can never conflict in a merge:
  tasks:  task_group, level, root_task_id, hierarchy_path, position_in_group,
          progress_percentage, blocks, markdown_section
  groups: group_level, position_in_session, estimated_effort, total_tasks,
          completed_tasks, progress_percentage
  session: total_tasks, completed_tasks, progress_percentage, last_activity_at,
           estimated_completion_date

Progress is recursive. Cancelled tasks are not work to do and count nowhere. A task's
progress is 100 when it is completed, else the share of its completed descendants; a
group's is the share of completed tasks in it and in its subgroups; a session's the share
of completed tasks in it.

A session's estimated completion date is its pace so far carried forward: the estimated
effort of its completed tasks per calendar day since it was activated, counted up to its
last activity (not to the time of indexing, so a rebuild gives the same date), into the
estimated effort still open (`estimated_completion`). session.md shows the same column.

The same function serves an incremental refresh and a full rebuild, which is why both give
identical answers.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.graph import cycles, show_cycle
from orchestrator.model import CANCELLED, DONE, Problem

# The facts derive_session reads (and the index rows it is given must hold).
TASK_FACTS = ("task_id", "parent_task_id", "group_id", "status", "estimated_effort", "depends_on",
              "file_path", "created_at", "started_at", "completed_at", "last_updated_at")  # fmt: skip
GROUP_FACTS = ("group_id", "group_name", "parent_group_id", "file_path", "created_at", "updated_at")
SESSION_FACTS = ("session_id", "created_at", "activated_at", "completed_at", "archived_at")
TASK_DERIVED = (
    "task_group",
    "level",
    "root_task_id",
    "hierarchy_path",
    "position_in_group",
    "progress_percentage",
    "blocks",
    "markdown_section",
)
GROUP_DERIVED = (
    "group_level",
    "position_in_session",
    "estimated_effort",
    "total_tasks",
    "completed_tasks",
    "progress_percentage",
)
SESSION_DERIVED = ("total_tasks", "completed_tasks", "progress_percentage", "last_activity_at",
                   "estimated_completion_date")  # fmt: skip

# The timestamps whose latest is a session's last_activity_at, by table.
STAMPED = {
    "sessions": ("created_at", "activated_at", "completed_at", "archived_at"),
    "task_groups": ("created_at", "updated_at"),
    "tasks": ("created_at", "started_at", "completed_at", "last_updated_at"),
}


@dataclass
class Derived:
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    session: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)


def percent(done: int, total: int) -> float:
    return round(100.0 * done / total, 1) if total else 0.0


# How far ahead an estimated completion date is still given (100 years).
ETA_HORIZON_DAYS = 36525


def estimated_completion(
    started: str | None, as_of: str | None, effort_done: float, effort_left: float
) -> str | None:
    """The date (YYYY-MM-DD) a session's open work is done at its pace so far: the
    estimated effort completed per calendar day from `started` (its activation) to
    `as_of` (its last activity), both days counted, into `effort_left`. None while there
    is no pace (no estimated work completed, no dates), no estimated work left, or the
    date is over ETA_HORIZON_DAYS away."""
    from datetime import date, timedelta

    if effort_left <= 0 or effort_done <= 0 or not started or not as_of:
        return None
    try:
        first, last = date.fromisoformat(started[:10]), date.fromisoformat(as_of[:10])
    except ValueError:
        return None
    days = max((last - first).days, 0) + 1
    needed = math.ceil(effort_left * days / effort_done)
    if needed > ETA_HORIZON_DAYS:  # no date worth saying (and past year 9999 none exists)
        return None
    return (last + timedelta(days=needed)).isoformat()


def session_effort(tasks: list[dict[str, Any]]) -> tuple[float, float]:
    """(estimated effort completed, estimated effort still open) of counted tasks."""
    done = left = 0.0
    for t in tasks:
        if counts(t):
            if t["status"] == DONE:
                done += t["estimated_effort"] or 0
            else:
                left += t["estimated_effort"] or 0
    return done, left


def break_cycles(
    parent: dict[str, str | None], what: str, path_of: Callable[[str], str], problems: list[Problem]
) -> None:
    """Cut every loop in a parent relation (a hand edit can make one), at its smallest id,
    and report it."""
    edges = {node: [p] for node, p in parent.items() if p is not None}
    for cycle in cycles(edges):
        breaker = cycle[0]
        parent[breaker] = None
        problems.append(
            Problem(
                path_of(breaker),
                f"{what} makes a cycle: {show_cycle(cycle)}",
                field=what,
                fix=f"change {what} of one of these so that the chain ends",
            )
        )


def depths(parent: dict[str, str | None]) -> dict[str, list[str]]:
    """For each node its chain from the root down to itself (parent must be acyclic)."""
    chains: dict[str, list[str]] = {}
    for node in parent:
        pending = []
        current: str | None = node
        while current is not None and current not in chains:
            pending.append(current)
            current = parent[current]
        base = chains[current] if current is not None else []
        for item in reversed(pending):
            base = [*base, item]
            chains[item] = base
    return chains


def group_chains(groups: list[dict[str, Any]], problems: list[Problem]) -> dict[str, list[str]]:
    """Each group's chain of groups from the top down to itself. A parent that is not a
    group of the session, or a loop of parents, is reported and cut."""
    by_id = {g["group_id"]: g for g in groups}
    parent: dict[str, str | None] = {}
    for g in groups:
        p = g["parent_group_id"]
        if p is not None and (p not in by_id or p == g["group_id"]):
            problems.append(
                Problem(
                    g["file_path"],
                    f"parent_group_id names {p}, which is not a group of this session",
                    field="parent_group_id",
                    fix="remove parent_group_id or correct the id",
                )
            )
            p = None
        parent[g["group_id"]] = p
    break_cycles(parent, "parent_group_id", lambda gid: by_id[gid]["file_path"], problems)
    return depths(parent)


def counts(task: dict[str, Any]) -> bool:
    """Whether a task is work to do: cancelled tasks count nowhere."""
    return bool(task["status"] != CANCELLED)


def task_references(
    tasks: list[dict[str, Any]],
    locate: Callable[[set[str]], dict[str, str]],
    problems: list[Problem],
) -> tuple[dict[str, str | None], dict[str, list[str]]]:
    """Each task's parent and its dependencies within the session. A reference that points
    nowhere is dropped and reported once per file, with where the id is (`locate`)."""
    task_by_id = {t["task_id"]: t for t in tasks}
    unknown: dict[str, list[tuple[str, str]]] = defaultdict(list)  # missing id -> (task, field)
    parent: dict[str, str | None] = {}
    for t in tasks:
        p = t["parent_task_id"]
        if p is not None and (p not in task_by_id or p == t["task_id"]):
            if p == t["task_id"]:
                problems.append(
                    Problem(
                        t["file_path"],
                        "parent_task_id is the task itself",
                        field="parent_task_id",
                        fix="remove parent_task_id",
                    )
                )
            else:
                unknown[p].append((t["task_id"], "parent_task_id"))
            p = None
        parent[t["task_id"]] = p
    deps: dict[str, list[str]] = {}
    for t in tasks:
        raw = t["depends_on"]
        listed = json.loads(raw) if raw and raw != "[]" else []
        for d in listed:
            if d not in task_by_id:
                unknown[d].append((t["task_id"], "depends_on"))
        deps[t["task_id"]] = [d for d in listed if d in task_by_id]
    if unknown:
        whereabouts = locate(set(unknown))
        for missing, users in sorted(unknown.items()):
            for tid, key in users:
                where = whereabouts.get(missing, "is not a task of this session")
                problems.append(
                    Problem(
                        task_by_id[tid]["file_path"],
                        f"{key} names {missing}, which {where}",
                        field=key,
                        fix=f"remove {missing} from {key} or correct the id",
                    )
                )
    return parent, deps


def check_waits(
    parent: dict[str, str | None],
    deps: dict[str, list[str]],
    chains: dict[str, list[str]],
    task_path: Callable[[str], str],
    problems: list[Problem],
) -> None:
    """Report dependencies that can never be met: on an ancestor, or around a loop."""
    for tid, listed in deps.items():
        above = chains[tid][:-1]
        for d in listed:
            if d in above:
                problems.append(
                    Problem(
                        task_path(tid),
                        f"depends_on names {d}, which is above it in the task tree"
                        " (a parent is done only after its subtasks, so this never becomes ready)",
                        field="depends_on",
                        fix=f"remove {d} from depends_on",
                    )
                )
    # A task waits for its dependencies and a parent for its subtasks: a loop through
    # either never ends. (Waiting for an ancestor is reported above, on its own.)
    waits = {tid: [d for d in listed if d not in chains[tid][:-1]] for tid, listed in deps.items()}
    parent_edges = {(p, tid) for tid, p in parent.items() if p is not None}
    for p, tid in parent_edges:
        waits[p].append(tid)
    for cycle in cycles(waits):
        problems.append(
            Problem(
                task_path(cycle[0]),
                f"dependency cycle: {show_cycle(cycle, parent_edges)}",
                field="depends_on",
                fix="remove one of these dependencies",
            )
        )


def check_group_names(groups: list[dict[str, Any]], problems: list[Problem]) -> None:
    """Report a group whose name (case aside) an older group of the session already has."""
    first_named: dict[str, str] = {}
    for g in sorted(groups, key=lambda g: (g["created_at"] or "", g["group_id"])):
        other = first_named.setdefault(g["group_name"].casefold(), g["group_id"])
        if other != g["group_id"]:
            problems.append(
                Problem(
                    g["file_path"],
                    f"group_name {g['group_name']!r} is also the name of {other}",
                    field="group_name",
                    fix="give each group of a session its own name",
                )
            )


def task_groups(
    tasks: list[dict[str, Any]], group_ids: set[str], problems: list[Problem]
) -> dict[str, str | None]:
    """Each task's group; a group_id that is not a group of the session is reported and
    treated as none."""
    task_group: dict[str, str | None] = {}
    for t in tasks:
        gid = t["group_id"]
        if gid is not None and gid not in group_ids:
            problems.append(
                Problem(
                    t["file_path"],
                    f"group_id names {gid}, which is not a group of this session",
                    field="group_id",
                    fix="set group_id to a group of this session, or remove it",
                )
            )
            gid = None
        task_group[t["task_id"]] = gid
    return task_group


def descendant_counts(
    task_by_id: dict[str, dict[str, Any]],
    children: dict[str, list[str]],
    chains: dict[str, list[str]],
) -> dict[str, tuple[int, int]]:
    """Each task's (counted, completed) descendants, deepest first so that children are
    done before parents."""
    below: dict[str, tuple[int, int]] = {}
    for tid in sorted(task_by_id, key=lambda x: -len(chains[x])):
        total = done = 0
        for child in children.get(tid, ()):
            child_total, child_done = below[child]
            total += child_total
            done += child_done
            if counts(task_by_id[child]):
                total += 1
                done += task_by_id[child]["status"] == DONE
        below[tid] = (total, done)
    return below


def task_figures(
    session_id: str,
    tasks: list[dict[str, Any]],
    parent: dict[str, str | None],
    deps: dict[str, list[str]],
    chains: dict[str, list[str]],
    task_group: dict[str, str | None],
    group_names: dict[str, str],
) -> dict[str, dict[str, Any]]:
    """Each task's derived figures: hierarchy, blocks, position in its group, progress."""
    task_by_id = {t["task_id"]: t for t in tasks}
    children: dict[str, list[str]] = defaultdict(list)
    for tid, p in parent.items():
        if p is not None:
            children[p].append(tid)
    blocks: dict[str, list[str]] = defaultdict(list)
    for tid, listed in deps.items():
        for d in listed:
            blocks[d].append(tid)
    position: dict[str, int] = {}
    seen_in_group: dict[str | None, int] = defaultdict(int)
    for t in sorted(tasks, key=lambda t: (t["created_at"] or "", t["task_id"])):
        gid = task_group[t["task_id"]]
        seen_in_group[gid] += 1
        position[t["task_id"]] = seen_in_group[gid]
    below = descendant_counts(task_by_id, children, chains)
    # session.md's reader, loaded when figures are derived (start-up speed of a read).
    from orchestrator.store.session_view import UNGROUPED_HEADING

    figures: dict[str, dict[str, Any]] = {}
    for tid, t in task_by_id.items():
        chain = chains[tid]
        total, done = below[tid]
        gid = task_group[tid]
        figures[tid] = {
            "task_group": group_names[gid] if gid else None,
            "level": len(chain) - 1,
            "root_task_id": chain[0],
            "hierarchy_path": "/" + "/".join([session_id, *chain]),
            "position_in_group": position[tid],
            "progress_percentage": 100.0 if t["status"] == DONE else percent(done, total),
            "blocks": json.dumps(sorted(blocks[tid])) if tid in blocks else "[]",
            # The heading session.md lists the task under: its group's, or the one of
            # the tasks without a group.
            "markdown_section": group_names[gid] if gid else UNGROUPED_HEADING,
        }
    return figures


def group_figures(
    groups: list[dict[str, Any]],
    chains_of_group: dict[str, list[str]],
    task_group: dict[str, str | None],
    task_by_id: dict[str, dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Each group's derived figures: its own tasks plus those of its subgroups."""
    own: dict[str, list[int]] = {g["group_id"]: [0, 0, 0] for g in groups}  # total, done, effort
    for tid, gid in task_group.items():
        t = task_by_id[tid]
        if gid is None or not counts(t):
            continue
        own[gid][0] += 1
        own[gid][1] += t["status"] == DONE
        own[gid][2] += t["estimated_effort"] or 0
    totals = {gid: [0, 0, 0] for gid in own}
    for gid, chain in chains_of_group.items():
        for ancestor in chain:
            for i in range(3):
                totals[ancestor][i] += own[gid][i]
    figures: dict[str, dict[str, Any]] = {}
    group_order = sorted(groups, key=lambda g: (g["created_at"] or "", g["group_id"]))
    for pos, g in enumerate(group_order, start=1):
        gid = g["group_id"]
        total, done, effort = totals[gid]
        figures[gid] = {
            "group_level": len(chains_of_group[gid]) - 1,
            "position_in_session": pos,
            "estimated_effort": effort,
            "total_tasks": total,
            "completed_tasks": done,
            "progress_percentage": percent(done, total),
        }
    return figures


def session_figures(
    session: dict[str, Any], groups: list[dict[str, Any]], tasks: list[dict[str, Any]]
) -> dict[str, Any]:
    """The session's derived figures: its counted tasks and its latest timestamp."""
    live = [t for t in tasks if counts(t)]
    done = sum(t["status"] == DONE for t in live)
    stamps = [session[k] for k in STAMPED["sessions"] if session[k]]
    stamps += [g[k] for g in groups for k in STAMPED["task_groups"] if g[k]]
    stamps += [t[k] for t in tasks for k in STAMPED["tasks"] if t[k]]
    latest = max(stamps) if stamps else None
    effort_done, effort_left = session_effort(live)
    started = session["activated_at"] or session["created_at"]
    return {
        "total_tasks": len(live),
        "completed_tasks": done,
        "progress_percentage": percent(done, len(live)),
        "last_activity_at": latest,
        "estimated_completion_date": estimated_completion(
            started, latest, effort_done, effort_left
        ),
    }


def derive_session(
    session_id: str,
    session: dict[str, Any] | None,
    groups: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    locate: Callable[[set[str]], dict[str, str]],
) -> Derived:
    """Every derived figure of one session from the facts of its rows, and the problems
    found on the way (each reported once, in a stable order)."""
    out = Derived()
    task_by_id = {t["task_id"]: t for t in tasks}
    task_path = lambda tid: task_by_id[tid]["file_path"]  # noqa: E731

    parent, deps = task_references(tasks, locate, out.problems)
    break_cycles(parent, "parent_task_id", task_path, out.problems)
    chains = depths(parent)
    check_waits(parent, deps, chains, task_path, out.problems)
    chains_of_group = group_chains(groups, out.problems)
    check_group_names(groups, out.problems)
    group_names = {g["group_id"]: g["group_name"] for g in groups}
    task_group = task_groups(tasks, set(group_names), out.problems)

    out.tasks = task_figures(session_id, tasks, parent, deps, chains, task_group, group_names)
    out.groups = group_figures(groups, chains_of_group, task_group, task_by_id)
    if session is not None:
        out.session = session_figures(session, groups, tasks)
    return out
