"""The orchestration workflow an AI client runs: plan work into subtasks, hand each to a
specialist with the context it needs, take its results back, and combine them.

These are the spec's legacy tools (initialize, plan, execute, complete, synthesize,
status, maintenance) as core operations; the MCP server is one adapter over them.

Results live where people read them: in the task's own file, under `## Results` (one
dated entry per report), and long reports as artifact files under
`sessions/<session>/artifacts/<task>/`, linked from that entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from orchestrator.core import lookup
from orchestrator.core.project import Project
from orchestrator.core.rules import set_status
from orchestrator.core.tasks import (
    MAX_EFFORT,
    READY_ORDER,
    TASK_FROM,
    checked_choice,
    checked_number,
    describe,
    start_task,
    task_filter,
    unfinished,
)
from orchestrator.errors import DependencyCycle, InvalidInput
from orchestrator.graph import cycles
from orchestrator.model import CANCELLED, DONE, PENDING, now
from orchestrator.store.record_file import new_record
from orchestrator.store.sections import latest_entry, section, set_section, without
from orchestrator.store.validation import checked_texts

RESULTS = "Results"
SYNTHESIS = "Synthesis"
CONTEXT = "Context"
# What an agent's report asks for next -> the status the task goes to.
NEXT_ACTIONS = {
    "continue": DONE,
    "complete": DONE,
    "needs_revision": "needs_revision",
    "blocked": "blocked",
}
# The commit message's verb for each status a report leaves a task in.
REPORT_OP = {DONE: "complete", "needs_revision": "revise", "blocked": "block"}
# The fields that describe a task in a list (a reply an agent can afford).
SUMMARY = ("task_id", "title", "status", "task_group", "specialist_type", "priority_level")
# How much of a long text goes into a reply; the rest stays in the file it names.
EXCERPT = 1500


def summary(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: row.get(key) for key in SUMMARY}


def excerpt(text: str | None, limit: int = EXCERPT) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


# -- the planner's context ---------------------------------------------------------------


def initialize(project: Project, session_name: str) -> dict[str, Any]:
    """Make sure a session is active (creating one named `session_name` if none is, as
    the spec's compatibility adapter does) and return the planning context."""
    from orchestrator.core.sessions import create_session

    with project.reading() as db:
        active = lookup.active_session(db)
    if active is None:
        create_session(
            project, session_name, description="Created by orchestrator_initialize_session."
        )
    return planning_context(project) | {"session_created": active is None}


def planning_context(project: Project) -> dict[str, Any]:
    """What an orchestrating agent needs before planning: the active session (if any),
    its mode's planner role and the specialists it may assign."""
    from orchestrator.core.modes import session_mode
    from orchestrator.store.mode_file import PLANNER_ROLE

    with project.reading() as db:
        active = lookup.active_session(db)
    out: dict[str, Any] = {
        "project_root": str(project.root),
        "active_session": _session_brief(active) if active else None,
    }
    if active is None:
        out["next_step"] = (
            "no session is active: orchestrator_plan_task creates one for the work, or"
            " orchestrator_session_create names one"
        )
        return out
    mode, context = session_mode(project, active["session_id"])
    planner = mode.roles.get(PLANNER_ROLE) or {}
    out["mode"] = context.get("effective_mode")
    out["planner"] = {key: planner.get(key) for key in ROLE_KEYS if planner.get(key)}
    out["specialist_roles"] = mode.specialist_roles
    out["next_step"] = (
        "plan the work with orchestrator_plan_task (description, subtasks), then run each"
        " ready subtask with orchestrator_execute_subtask"
    )
    return out


def _session_brief(row: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("session_id", "name", "status", "mode_file", "total_tasks", "completed_tasks",
            "progress_percentage", "markdown_file_path")  # fmt: skip
    return {key: row.get(key) for key in keys}


ROLE_KEYS = ("role_definition", "expertise", "approach", "output_format")


# -- plan --------------------------------------------------------------------------------


def effort_hours(value: Any, where: str) -> int | None:
    """An effort estimate in whole hours from 3, "3", "3h", "3 hours", "90m", "1.5 h"."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{where}: estimated_effort must be a number of hours")
    if isinstance(value, int | float):
        hours = float(value)
    else:
        match = re.fullmatch(
            r"\s*(\d+(?:\.\d+)?)\s*(h|hr|hrs|hours?|m|min|mins|minutes?|d|days?)?\s*",
            str(value),
            flags=re.I,
        )
        if not match:
            raise InvalidInput(
                f'{where}: estimated_effort {value!r} is not a duration; give hours (3, "3h",'
                ' "90m")'
            )
        hours = float(match.group(1))
        unit = (match.group(2) or "h").lower()
        if unit.startswith("m"):
            hours /= 60
        elif unit.startswith("d"):
            hours *= 8
    if hours < 0:
        raise InvalidInput(f"{where}: estimated_effort cannot be negative")
    if hours > MAX_EFFORT:
        raise InvalidInput(f"{where}: estimated_effort {value!r} is more than {MAX_EFFORT:,} hours")
    return max(1, round(hours)) if hours else 0


def _checked_item(n: int, item: Any) -> dict[str, Any]:
    where = f"subtask {n}"
    if isinstance(item, str):
        item = {"title": item}
    if not isinstance(item, Mapping):
        raise InvalidInput(f"{where}: expected an object with a title, got {type(item).__name__}")
    for key in ("title", "description", "specialist_type", "specialist"):
        checked_texts(**{f"{where} {key}": item.get(key)})
    title = str(item.get("title") or "").strip()
    if not title:
        raise InvalidInput(f"{where}: a subtask needs a title")
    deps = item.get("dependencies", item.get("depends_on")) or []
    if isinstance(deps, str | int):
        deps = [deps]
    if not isinstance(deps, list):
        raise InvalidInput(f"{where} ({title!r}): dependencies must be a list")
    complexity = item.get("complexity_level")
    checked_choice("task", "complexity_level", complexity)
    priority = item.get("priority_level", item.get("priority"))
    checked_number(f"{where}: priority", priority, 1, 5)
    return {
        "title": title,
        "description": str(item.get("description") or "").strip(),
        "specialist_type": (str(item.get("specialist_type") or item.get("specialist") or "").strip()
                            or None),
        "dependencies": [str(d).strip() for d in deps if str(d).strip()],
        "estimated_effort": effort_hours(item.get("estimated_effort"), where),
        "complexity_level": complexity,
        "priority_level": priority,
    }  # fmt: skip


def parse_subtasks(subtasks: Any = None, subtasks_json: Any = None) -> list[dict[str, Any]]:
    """The subtasks of a plan, given as a list or as the legacy JSON text."""
    import json

    if subtasks_json:
        if subtasks:
            raise InvalidInput("give the subtasks once: as subtasks or as subtasks_json, not both")
        try:
            # (an MCP client's SDK may have decoded the JSON text already)
            subtasks = (
                json.loads(subtasks_json) if isinstance(subtasks_json, str) else subtasks_json
            )
        except json.JSONDecodeError as e:
            raise InvalidInput(
                f"subtasks_json is not valid JSON: line {e.lineno} column {e.colno}: {e.msg}"
            ) from None
    if isinstance(subtasks, Mapping) and "subtasks" in subtasks:
        subtasks = subtasks["subtasks"]
    if not isinstance(subtasks, list) or not subtasks:
        raise InvalidInput(
            "a plan needs subtasks: a list of {title, description, specialist_type,"
            " dependencies, estimated_effort}"
        )
    return [_checked_item(n, item) for n, item in enumerate(subtasks, 1)]


def plan_task(
    project: Project,
    description: str,
    subtasks: Iterable[Mapping[str, Any]],
    *,
    title: str | None = None,
    complexity_level: str | None = None,
    context: str | None = None,
    session: str | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    """Record a piece of work and its breakdown: a parent task holding the description
    and one subtask per item, all in one commit. A subtask's dependencies name other
    subtasks of the plan (by title or by number, from 1) or existing tasks (by id).
    With no session active, one is created for the work (as the spec's adapter does)."""
    from orchestrator.core.sessions import create_session
    from orchestrator.core.tasks import _warn_unknown_specialist

    checked_texts(description=description, title=title, context=context)
    description = (description or "").strip()
    if not description:
        raise InvalidInput("describe the work to plan (description)")
    items = list(subtasks)
    checked_choice("task", "complexity_level", complexity_level)
    heading = (title or description.splitlines()[0]).strip()
    heading = heading if len(heading) <= 80 else heading[:77].rstrip() + "..."
    with project.writing("plan") as w:
        db = w.db
        row = lookup.session(db, session) if session else lookup.active_session(db)
        created = None
        if row is None:
            created = create_session(project, heading, description=description)
            row = created
        session_id = row["session_id"]
        group_id = lookup.group(db, group, session_id)["group_id"] if group else None
        parent_id = w.new_id("task")
        ids: list[str] = []
        for _ in items:
            new = w.new_id("task")
            while new in ids or new == parent_id:
                new = w.new_id("task")
            ids.append(new)
        by_title: dict[str, list[str]] = {}
        for item, task_id in zip(items, ids, strict=True):
            by_title.setdefault(item["title"].casefold(), []).append(task_id)
        edges: dict[str, list[str]] = {}
        for n, (item, task_id) in enumerate(zip(items, ids, strict=True), 1):
            edges[task_id] = [
                _plan_dependency(db, ref, n, item, ids, by_title, session_id)
                for ref in item["dependencies"]
            ]
            if task_id in edges[task_id]:
                raise DependencyCycle(f"subtask {n} ({item['title']!r}) depends on itself")
            _warn_unknown_specialist(project, db, session_id, item["specialist_type"])
        titles = {task_id: item["title"] for item, task_id in zip(items, ids, strict=True)}
        for loop in cycles(edges):
            shown = " -> ".join(f"{titles.get(t, t)!r}" for t in loop)
            raise DependencyCycle(f"the plan's dependencies make a cycle: {shown}")
        stamp = now()
        body = description + (f"\n\n## {CONTEXT}\n\n{context.strip()}" if context else "")
        w.save(
            new_record(
                "task",
                {
                    "task_id": parent_id,
                    "session_id": session_id,
                    "title": heading,
                    "status": PENDING,
                    "group_id": group_id,
                    "specialist_type": None,
                    "complexity_level": complexity_level,
                    "estimated_effort": sum(i["estimated_effort"] or 0 for i in items) or None,
                    "created_at": stamp,
                    "last_updated_at": stamp,
                },
                body,
            )
        )
        for item, task_id in zip(items, ids, strict=True):
            w.save(
                new_record(
                    "task",
                    {
                        "task_id": task_id,
                        "session_id": session_id,
                        "title": item["title"],
                        "status": PENDING,
                        "group_id": group_id,
                        "parent_task_id": parent_id,
                        "specialist_type": item["specialist_type"],
                        "complexity_level": item["complexity_level"],
                        "priority_level": item["priority_level"],
                        "estimated_effort": item["estimated_effort"],
                        "depends_on": list(dict.fromkeys(edges[task_id])),
                        "created_at": now(),
                        "last_updated_at": stamp,
                    },
                    item["description"],
                )
            )
        w.sync()
        parent = lookup.task(db, parent_id)
        rows = {
            r["task_id"]: r
            for r in db.records(
                f"SELECT * FROM tasks WHERE task_id IN ({', '.join('?' * len(ids))})", ids
            )
        }
        ready = ready_tasks(project, db, session_id, limit=10)
        session_row = lookup.session(db, session_id)
    return {
        "session": _session_brief(session_row),
        "session_created": created is not None,
        "parent_task": summary(parent) | {"file_path": parent["file_path"]},
        "subtasks": [summary(rows[t]) | {"depends_on": rows[t]["depends_on"]} for t in ids],
        "ready": [summary(r) for r in ready],
        "next_step": "run a ready subtask with orchestrator_execute_subtask(task_id)",
    }


def _plan_dependency(
    db,
    ref: str,
    n: int,
    item: Mapping[str, Any],
    ids: list[str],
    by_title: Mapping[str, list[str]],
    session_id: str,
) -> str:
    """What a subtask's dependency names: a subtask of the plan (number or title) or an
    existing task of the session (id or prefix)."""
    where = f"subtask {n} ({item['title']!r})"
    text = ref.lstrip("#")
    if text.isdigit():
        number = int(text)
        if not 1 <= number <= len(ids):
            raise InvalidInput(
                f"{where} depends on subtask {number}, but the plan has {len(ids)} subtasks"
            )
        return ids[number - 1]
    named = by_title.get(ref.casefold())
    if named:
        if len(named) > 1:
            raise InvalidInput(
                f"{where} depends on {ref!r}, but several subtasks have that title; use its"
                " number (1 for the first subtask)"
            )
        return named[0]
    try:
        row = lookup.task(db, ref)
    except Exception as e:
        raise InvalidInput(
            f"{where} depends on {ref!r}: no subtask of the plan has that title, and {e}"
        ) from None
    if row["session_id"] != session_id:
        raise InvalidInput(
            f"{where} depends on {describe(row)}, which is in session {row['session_id']};"
            f" a task can only depend on tasks of its own session ({session_id})"
        )
    return row["task_id"]


def ready_tasks(project: Project, db, session_id: str, limit: int = 10) -> list[dict[str, Any]]:
    where, params = task_filter(project, db, session=session_id, ready=True)
    return db.records(
        f"SELECT t.* {TASK_FROM} {where} ORDER BY {READY_ORDER} LIMIT {int(limit)}", params
    )


# -- execute -----------------------------------------------------------------------------


def execute_subtask(project: Project, ref: str, force: bool = False) -> dict[str, Any]:
    """Start a task (in progress) and return what its specialist needs: the role from
    the session's mode, the task, its parent, and the results of its dependencies."""
    row = start_task(project, ref, force=force)
    return specialist_context(project, row["task_id"])


def specialist_context(project: Project, task_id: str) -> dict[str, Any]:
    from orchestrator.core.modes import session_mode

    with project.reading() as db:
        task = lookup.task(db, task_id)
        deps = db.records(
            "SELECT t.task_id, t.title, t.status, t.description, t.file_path"
            " FROM task_dependencies d JOIN tasks t ON t.task_id = d.depends_on_task_id"
            " WHERE d.task_id = ? ORDER BY t.task_id",
            [task_id],
        )
        deps_total = len(deps)
        parent = (
            db.record(
                "SELECT task_id, title, description FROM tasks WHERE task_id = ?",
                [task["parent_task_id"]],
            )
            if task["parent_task_id"]
            else None
        )
    mode, binding = session_mode(project, task["session_id"])
    role_name = task["specialist_type"]
    role = mode.roles.get(role_name) if role_name else None
    specialist: dict[str, Any] = {"role": role_name}
    if isinstance(role, Mapping):
        specialist |= {key: role.get(key) for key in ROLE_KEYS if role.get(key)}
    else:
        known = ", ".join(mode.specialist_roles) or "none"
        specialist["note"] = (
            f"mode {binding.get('effective_mode')} has no role {role_name!r} (roles: {known});"
            " work from the task's description"
            if role_name
            else f"the task names no specialist_type (roles of mode {binding.get('effective_mode')}: {known})"
        )
    description = without(task["description"], (RESULTS, SYNTHESIS))
    return {
        "task": summary(task)
        | {
            "description": excerpt(description, 4000),
            "complexity_level": task["complexity_level"],
            "estimated_effort": task["estimated_effort"],
            "file_path": task["file_path"],
            "session_id": task["session_id"],
        },
        "specialist": specialist,
        "mode": binding.get("effective_mode"),
        "parent": (
            {
                "task_id": parent["task_id"],
                "title": parent["title"],
                "description": excerpt(without(parent["description"], (RESULTS, SYNTHESIS)), 800),
            }
            if parent
            else None
        ),
        "dependencies": [
            {
                "task_id": d["task_id"],
                "title": d["title"],
                "status": d["status"],
                "results": excerpt(
                    latest_entry(section(d["description"] or "", RESULTS)),
                    800 if deps_total <= 4 else 300,
                ),
                "file_path": d["file_path"],
            }
            for d in deps[:12]
        ],
        "dependencies_total": deps_total,
        "next_step": (
            f"when done: orchestrator_complete_subtask(task_id={task['task_id']!r}, summary=...,"
            " detailed_work=..., file_paths=[...])"
        ),
    }


# -- complete ----------------------------------------------------------------------------


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")
    return slug[:40] or "work"


def next_number(folder) -> int:
    """The number of a task's next artifact: one past the highest, so a deleted report
    never makes the next one take an older one's name."""
    numbers = [0]
    if folder.is_dir():
        for entry in folder.iterdir():
            head = entry.name.split("-", 1)[0]
            if head.isdigit():
                numbers.append(int(head))
    return max(numbers) + 1


def complete_subtask(
    project: Project,
    ref: str,
    summary_text: str,
    *,
    detailed_work: str | None = None,
    file_paths: Iterable[str] = (),
    artifact_type: str = "general",
    next_action: str = "continue",
    actual_effort: int | None = None,
) -> dict[str, Any]:
    """Take a specialist's report: a dated entry under the task's `## Results` (the
    summary, links to the artifact and the files touched), the long text as an
    artifact file, and the task's new status from `next_action` (continue or complete:
    completed; needs_revision; blocked). One commit."""
    checked_texts(summary=summary_text, artifact_type=artifact_type)
    summary_text = (summary_text or "").strip()
    if not summary_text:
        raise InvalidInput("say what was done (summary)")
    if next_action not in NEXT_ACTIONS:
        raise InvalidInput(f"next_action {next_action!r} is not one of {', '.join(NEXT_ACTIONS)}")
    checked_number("actual_effort", actual_effort)
    status = NEXT_ACTIONS[next_action]
    files = [str(p).strip() for p in file_paths if str(p).strip()]
    checked_texts(**{f"file_paths[{n}]": path for n, path in enumerate(files)})
    with project.writing(REPORT_OP[status]) as w:
        row = lookup.task(w.db, ref)
        task_id, session_id = row["task_id"], row["session_id"]
        if status == DONE:
            open_subtasks = unfinished(
                w.db, "SELECT task_id, title, status FROM tasks WHERE parent_task_id = ?", [task_id]
            )
            if open_subtasks:
                listed = ", ".join(f"{s['task_id']} ({s['status']})" for s in open_subtasks)
                raise InvalidInput(
                    f"{describe(row)} has unfinished subtasks: {listed}; complete them first,"
                    " or report with next_action=blocked"
                )
        if row["status"] in (DONE, CANCELLED) and status == DONE:
            project.warnings.append(f"{describe(row)} was already {row['status']}; result added")
        record = w.load("task", session_id, task_id)
        artifact = None
        if detailed_work and detailed_work.strip():
            folder = w.layout.session_dir(session_id) / "artifacts" / task_id
            path = folder / f"{next_number(folder):02d}-{_slug(artifact_type)}.md"
            text = f"# {row['title']}: {artifact_type or 'work'}\n\n{detailed_work.strip()}\n"
            artifact = w.write_file(path, text.encode("utf-8"))
        stamp = now()
        entry = [f"### {stamp[:10]} {stamp[11:16]} UTC · {status}", "", summary_text]
        if artifact or files:
            entry.append("")
        if artifact:
            name = artifact.rsplit("/", 1)[-1]
            entry.append(f"- Details: [{name}](../artifacts/{task_id}/{name})")
        if files:
            entry.append("- Files: " + ", ".join(f"`{f}`" for f in files))
        record.body = "\n" + set_section(record.body.lstrip("\n"), RESULTS, "\n".join(entry), True)
        set_status(record.meta, status)
        if actual_effort is not None:
            record.meta["actual_effort"] = actual_effort
        record.meta["last_updated_at"] = stamp
        w.save(record)
        w.sync()
        done = lookup.task(w.db, task_id)
        ready = ready_tasks(project, w.db, session_id, limit=5)
        session_row = lookup.session(w.db, session_id)
        parent_hint = None
        if done["parent_task_id"]:
            left = w.db.scalar(
                f"SELECT count(*) FROM tasks WHERE parent_task_id = ? AND status NOT IN ('{DONE}', '{CANCELLED}')",
                [done["parent_task_id"]],
            )
            if not left:
                parent_hint = (
                    f"every subtask of {done['parent_task_id']} is finished:"
                    f" orchestrator_synthesize_results(parent_task_id={done['parent_task_id']!r})"
                )
    out = {
        "task": summary(done) | {"file_path": done["file_path"]},
        "artifact": artifact,
        "session_progress": {
            "completed_tasks": session_row["completed_tasks"],
            "total_tasks": session_row["total_tasks"],
            "progress_percentage": session_row["progress_percentage"],
        },
        "ready": [summary(r) for r in ready],
    }
    if parent_hint:
        out["next_step"] = parent_hint
    elif ready:
        out["next_step"] = (
            f"next ready task: orchestrator_execute_subtask(task_id={ready[0]['task_id']!r})"
        )
    return out


# -- synthesize --------------------------------------------------------------------------


def synthesize_results(project: Project, parent_ref: str) -> dict[str, Any]:
    """Combine the results of a task's subtasks into its own file (`## Synthesis`), and
    complete it when every subtask is finished. One commit."""
    with project.writing("synthesize") as w:
        parent = lookup.task(w.db, parent_ref)
        children = w.db.records(
            "SELECT task_id, title, status, specialist_type, description FROM tasks"
            " WHERE parent_task_id = ? ORDER BY position_in_group, created_at, task_id",
            [parent["task_id"]],
        )
        if not children:
            raise InvalidInput(
                f"{describe(parent)} has no subtasks to combine; plan some with"
                " orchestrator_plan_task"
            )
        finished = [c for c in children if c["status"] in (DONE, CANCELLED)]
        open_ = [c for c in children if c["status"] not in (DONE, CANCELLED)]
        parts = [
            f"{sum(c['status'] == DONE for c in children)} of {len(children)} subtasks completed"
            f" ({now()[:16].replace('T', ' ')} UTC)."
        ]
        for child in children:
            results = section(child["description"] or "", RESULTS)
            who = f" · {child['specialist_type']}" if child["specialist_type"] else ""
            parts.append(f"### {child['title']} ({child['status']}{who}) — {child['task_id']}")
            parts.append(latest_entry(results) or "_No results reported._")
        text = "\n\n".join(parts)
        record = w.load("task", parent["session_id"], parent["task_id"])
        record.body = "\n" + set_section(record.body.lstrip("\n"), SYNTHESIS, text)
        if not open_ and record.meta.get("status") != DONE:
            set_status(record.meta, DONE)
        record.meta["last_updated_at"] = now()
        w.save(record)
        w.sync()
        row = lookup.task(w.db, parent["task_id"])
    out = {
        "parent_task": summary(row) | {"file_path": row["file_path"]},
        "completed": sum(c["status"] == DONE for c in children),
        "finished": len(finished),
        "total": len(children),
        "open": [summary(c) for c in open_[:20]],
        "open_total": len(open_),
        "synthesis": excerpt(text, 3000),
    }
    if open_:
        out["next_step"] = (
            f"{len(open_)} subtask(s) still open; the parent stays {row['status']} until they finish"
        )
    return out


# -- status and upkeep -------------------------------------------------------------------


def get_status(
    project: Project, include_completed: bool = False, limit: int = 10
) -> dict[str, Any]:
    """The active session with its progress, groups, tasks in progress and ready, the
    other sessions, and problems and conflicts."""
    with project.reading():  # one check of the files for all that follows
        return _status(project, include_completed, limit)


def _status(project: Project, include_completed: bool, limit: int) -> dict[str, Any]:
    from orchestrator.core.board import board
    from orchestrator.core.conflicts import list_conflicts

    state = board(project, ready_limit=limit)
    active = state["active_session"]
    out: dict[str, Any] = {
        "active_session": _session_brief(active) if active else None,
        "mode": (state["mode"] or {}).get("effective_mode"),
        "status_counts": state["status_counts"],
        "groups": [
            {
                key: g.get(key)
                for key in (
                    "group_id",
                    "group_name",
                    "total_tasks",
                    "completed_tasks",
                    "progress_percentage",
                )
            }
            for g in state["groups"]
        ],
        "ready": [summary(r) for r in state["ready"]],
        "ready_count": state["ready_count"],
        "other_sessions": [
            {key: s.get(key) for key in ("session_id", "name", "status", "progress_percentage")}
            for s in state["other_sessions"][:limit]
        ],
        "problems": state["problems"],
        "conflicts": [c["record_id"] for c in list_conflicts(project)]
        if state["problems"]["conflicts"]
        else [],
    }
    if active is not None:
        with project.reading() as db:
            sid = active["session_id"]
            out["in_progress"] = [
                summary(r)
                for r in db.records(
                    f"SELECT t.* {TASK_FROM} WHERE t.session_id = ? AND t.status = 'in_progress'"
                    f" ORDER BY t.started_at NULLS LAST, t.task_id LIMIT {int(limit)}",
                    [sid],
                )
            ]
            if include_completed:
                out["completed"] = [
                    summary(r) | {"completed_at": r["completed_at"]}
                    for r in db.records(
                        f"SELECT t.* {TASK_FROM} WHERE t.session_id = ? AND t.status = '{DONE}'"
                        f" ORDER BY t.completed_at DESC NULLS LAST, t.task_id LIMIT {int(limit)}",
                        [sid],
                    )
                ]
    else:
        out["next_step"] = (
            "no session is active: orchestrator_initialize_session or orchestrator_session_create"
        )
    return out


def handover(project: Project, session: str | None = None) -> dict[str, Any]:
    """Write where the work stands into the session's Next Steps (session.md): progress,
    what is in progress, what is ready, what is blocked. One commit."""
    from orchestrator.core.views import add_note

    with project.reading() as db:
        row = lookup.session_or_active(db, session)
        sid = row["session_id"]

        def titled(status: str) -> list[str]:
            return [
                f"{r['task_id']} {r['title']}"
                for r in db.records(
                    "SELECT task_id, title FROM tasks WHERE session_id = ? AND status = ?"
                    " ORDER BY priority_level, task_id LIMIT 5",
                    [sid, status],
                )
            ]

        in_progress, blocked = titled("in_progress"), titled("blocked")
        ready = [f"{r['task_id']} {r['title']}" for r in ready_tasks(project, db, sid, limit=5)]
    parts = [
        f"Handover: {row['completed_tasks']} of {row['total_tasks']} tasks completed"
        f" ({row['progress_percentage']:.0f}%)"
    ]
    for label, items in (("in progress", in_progress), ("ready next", ready), ("blocked", blocked)):
        if items:
            parts.append(f"{label}: " + "; ".join(items))
    note = add_note(project, "next", ". ".join(parts) + ".", session=sid)
    return {"session_id": sid, "handover": note["entry"], "file": note["file"]}
