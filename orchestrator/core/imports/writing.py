"""Writing the plans of an import: the records not made by an earlier run, with their
parents and dependencies as ids, in one commit."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

from orchestrator.core.imports.plans import Item, Source, as_list, stable_id
from orchestrator.core.project import Project
from orchestrator.graph import cycles
from orchestrator.layout import Layout
from orchestrator.model import ACTIVE, DONE, now
from orchestrator.store.record_file import new_record


def import_plans(
    project: Project,
    kind: str,
    sources: list[Source],
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write the sources' sessions, groups and tasks (those not imported before), in one
    commit. Returns what was made, what was already there, and what could not be mapped.
    `progress` and `project.progress` are told each task; a cancel (progress.Cancelled)
    takes back every file written and commits nothing (Project.writing)."""
    total = sum(len(s.items) for s in sources)
    report: dict[str, Any] = {"source": kind, "sessions": [], "sessions_created": 0,
                              "groups_created": 0, "tasks_created": 0, "tasks_existing": 0,
                              "unmapped": []}  # fmt: skip
    done = 0
    project.progress.check()  # before the first write
    with project.writing(f"import-{kind}") as w:
        w.bulk = total > 100
        layout = w.layout
        active = w.db.scalar("SELECT count(*) FROM active_session")
        for source in sources:
            origin = f"{kind}:{source.key}"
            session_id = stable_id("session", origin)
            report["sessions"].append(session_id)
            if not layout.record_path("session", session_id, session_id).exists():
                status = "paused" if active else ACTIVE
                active = active or 1
                w.save(new_record("session", {
                    "session_id": session_id, "name": source.name, "status": status,
                    "created_at": now(), "activated_at": now() if status == ACTIVE else None,
                    "import_source": origin}, source.description))  # fmt: skip
                report["sessions_created"] += 1
            group_ids = {}
            for name, description in source.groups.items():
                group_id = stable_id("group", f"{origin}:group:{name}")
                group_ids[name] = group_id
                if not layout.record_path("group", session_id, group_id).exists():
                    w.save(new_record("group", {
                        "group_id": group_id, "session_id": session_id, "group_name": name,
                        "created_at": now(), "import_source": f"{origin}:group:{name}"},
                        description))  # fmt: skip
                    report["groups_created"] += 1
            items = unique_keys(source)
            ids, existing = task_ids(layout, session_id, origin, items)
            deps, parents = untangled(source, items, ids)
            for item in items:
                done += 1
                if progress:
                    progress(done, total)
                project.progress.step(done, total, f"task {done} of {total}")
                task_id = ids[item.key]
                if item.key in existing:
                    report["tasks_existing"] += 1
                    continue
                stamped = item.created_at or now()
                meta = {
                    "task_id": task_id, "session_id": session_id, "title": item.title,
                    "status": item.status, "group_id": group_ids.get(item.group) if item.group else None,
                    "parent_task_id": parents.get(task_id), "specialist_type": item.specialist_type,
                    "complexity_level": item.complexity_level, "priority_level": item.priority_level,
                    "estimated_effort": item.effort, "depends_on": deps.get(task_id, []),
                    "created_at": stamped,
                    "completed_at": (item.completed_at or stamped) if item.status == DONE else None,
                    "last_updated_at": now(), "import_source": f"{origin}:{item.key}",
                    **item.extra,
                }  # fmt: skip
                w.save(new_record("task", meta, item.body))
                report["tasks_created"] += 1
            report["unmapped"] += [f"{source.name}: {note}" for note in source.unmapped]
        w.sync()
    return report


def unique_keys(source: Source) -> list[Item]:
    """The items, each key once: a second task with the same id in the source (two
    files, one in tasks/ and one in completed/) is kept as a task of its own."""
    seen: dict[str, int] = {}
    for item in source.items:
        if item.key in seen:
            seen[item.key] += 1
            new = f"{item.key}#{seen[item.key]}"
            source.unmapped.append(
                f"{item.key}: the id is used twice; the second is imported as {new}"
            )
            item.key = new
        else:
            seen[item.key] = 1
    return source.items


def task_ids(
    layout: Layout, session_id: str, origin: str, items: list[Item]
) -> tuple[dict[str, str], set[str]]:
    """The id of each item (salted again if two keys hash alike, or a file of that id
    holds another record), and the keys already imported by an earlier run."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    existing: set[str] = set()
    for item in items:
        mark = f"{origin}:{item.key}"
        candidate = ""
        for salt in range(100):
            candidate = stable_id("task", mark if not salt else f"{mark}#{salt}")
            if candidate in taken:
                continue
            path = layout.record_path("task", session_id, candidate)
            if path.exists():
                if mark in path.read_text(encoding="utf-8", errors="replace"):
                    existing.add(item.key)  # imported before: this very record
                else:
                    continue  # another record has this id
            break
        ids[item.key] = candidate
        taken.add(candidate)
    return ids, existing


def untangled(
    source: Source, items: list[Item], ids: dict[str, str]
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each task's dependencies and parent as ids, without what orch would refuse: a
    reference to a task that is not there, a parent loop, a dependency on a task above
    it in the tree, and dependency cycles (one link of each is left out, and said)."""
    by_id = {ids[i.key]: i for i in items}
    parents: dict[str, str] = {}
    for item in items:
        if item.parent:
            if item.parent in ids and ids[item.parent] != ids[item.key]:
                parents[ids[item.key]] = ids[item.parent]
            else:
                source.unmapped.append(
                    f"{item.key}: parent {item.parent!r} is not among the imported tasks; left out"
                )
    for task_id in list(parents):
        seen, node = {task_id}, parents.get(task_id)
        while node is not None and node not in seen:
            seen.add(node)
            node = parents.get(node)
        if node is not None:  # a loop of parents: this link goes
            source.unmapped.append(f"{by_id[task_id].key}: its parents loop; parent left out")
            del parents[task_id]
    deps: dict[str, list[str]] = {}
    for item in items:
        task_id = ids[item.key]
        above, node = set(), parents.get(task_id)
        while node is not None and node not in above:
            above.add(node)
            node = parents.get(node)
        kept = []
        for dep in as_list(item.deps):
            target = ids.get(str(dep))
            if target is None or target == task_id:
                source.unmapped.append(
                    f"{item.key}: depends on {dep!r}, which is not among the imported tasks; left out"
                )
            elif target in above:
                source.unmapped.append(
                    f"{item.key}: depends on {dep!r}, a task above it in the tree; left out"
                )
            elif target not in kept:
                kept.append(target)
        deps[task_id] = kept
    for _ in range(len(items)):
        edges = {t: list(d) for t, d in deps.items()}
        for child, parent in parents.items():
            edges.setdefault(parent, []).append(child)  # a parent waits for its subtasks
        loops = cycles(edges)
        if not loops:
            break
        for loop in loops:
            for a, b in pairwise(loop):
                if b in deps.get(a, []):
                    deps[a].remove(b)
                    source.unmapped.append(
                        f"{by_id[a].key}: its dependency on {by_id[b].key!r} closes a cycle; left out"
                    )
                    break
    return deps, parents
