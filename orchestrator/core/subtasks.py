"""The subtask workflow an AI client runs: plan work into subtasks, hand each to a
specialist with the context it needs, take its results back, and combine them.

Results live where people read them: in the task's own file, under `## Results` (one
dated entry per report), and long reports as artifact files under
`sessions/<session>/artifacts/<task>/`, linked from that entry.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import Any

from orchestrator.core import lookup
from orchestrator.core.inputs import checked_choice, effort, one_line
from orchestrator.core.modes import session_mode
from orchestrator.core.next_step import (
    complete_call,
    count_ready,
    execute_call,
    next_step,
    ready_tasks,
    step_for,
)
from orchestrator.core.progress import Progress
from orchestrator.core.project import Project
from orchestrator.core.rules import (
    CLOSED,
    FINISHED,
    check_execute,
    check_transition,
    describe,
    set_status,
    what_is_open,
)
from orchestrator.core.sessions import create_session
from orchestrator.core.tasks import (
    LIST_ORDER,
    TASK_FROM,
    start_task,
    warn_unknown_specialist,
)
from orchestrator.errors import DependencyCycle, Hint, InvalidInput, InvalidTransition
from orchestrator.graph import cycles
from orchestrator.model import BLOCKED, DONE, NEEDS_REVISION, PENDING, now
from orchestrator.store.record_file import new_record
from orchestrator.store.regions import fenced
from orchestrator.store.sections import entries, latest_entry, section, set_section, without
from orchestrator.store.validation import checked_texts

RESULTS = "Results"
SYNTHESIS = "Synthesis"
CONTEXT = "Context"
# What an agent's report asks for next -> the status the task goes to.
NEXT_ACTIONS = {
    "continue": DONE,
    "complete": DONE,
    NEEDS_REVISION: NEEDS_REVISION,
    BLOCKED: BLOCKED,
}
# The commit message's verb for each status a report leaves a task in.
REPORT_OP = {DONE: "complete", NEEDS_REVISION: "revise", BLOCKED: "block"}
# The fields that describe a task in a list (a reply an agent can afford).
SUMMARY = ("task_id", "title", "status", "task_group", "specialist_type", "priority_level")
# How much of a long text goes into a reply; the rest stays in the file it names.
EXCERPT = 1500


def summary(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: row.get(key) for key in SUMMARY}


def excerpt(text: str | None, limit: int = EXCERPT) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


# The fields that describe a session in a reply: one list for every tool and resource.
SESSION_FIELDS = ("session_id", "name", "status", "session_type", "mode_file", "priority_level",
                  "total_tasks", "completed_tasks", "progress_percentage", "created_at",
                  "activated_at", "completed_at", "archived_at", "markdown_file_path")  # fmt: skip


def session_brief(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: row.get(key) for key in SESSION_FIELDS}


ROLE_KEYS = ("role_definition", "expertise", "approach", "output_format")


# -- plan --------------------------------------------------------------------------------


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
    With no session active, one is created for the work (as the spec's adapter does).

    The reply lists the subtasks in the order the task list gives a parent's subtasks
    (so a page of it continues the list), the plan's own ready subtasks, and the next
    step naming the first of them. `project.progress` is told each subtask written; a
    cancel (progress.Cancelled) takes back every file of the plan, and the session made
    for it, and commits nothing (Project.writing)."""
    checked_texts(description=description, title=title, context=context)
    one_line(title=title)
    description = (description or "").strip()
    if not description:
        raise InvalidInput("describe the work to plan (description)")
    items = list(subtasks)
    checked_choice("task", "complexity_level", complexity_level)
    heading = (title or description.splitlines()[0]).strip()
    heading = heading if len(heading) <= 80 else heading[:77].rstrip() + "..."
    project.progress.check()  # a plan cancelled before it starts writes nothing at all
    with project.writing("plan") as w:
        db = w.db
        row = lookup.session(db, session) if session else lookup.active_session(db)
        if row is not None and row["status"] in CLOSED:
            raise InvalidTransition(
                f'session {row["session_id"]} "{row["name"]}" is {row["status"]}: its work was'
                " closed; plan in the active session (leave session_id out) or another one",
                hint=Hint("session_list"),
            )
        created = None
        if row is None:
            created = create_session(project, heading, description=description)
            row = created
        session_id = row["session_id"]
        group_id = lookup.group(db, group, session_id)["group_id"] if group else None
        parent_id, ids = _new_ids(w, len(items))
        edges = _plan_edges(project, db, items, ids, session_id)
        body = description + (f"\n\n## {CONTEXT}\n\n{context.strip()}" if context else "")
        parent_meta = {"task_id": parent_id, "session_id": session_id, "title": heading,
                       "group_id": group_id, "complexity_level": complexity_level}  # fmt: skip
        _save_plan(w, parent_meta, body, items, ids, edges, project.progress)
        w.sync()
        parent = lookup.task(db, parent_id)
        rows = db.records(
            f"SELECT t.* {TASK_FROM} WHERE t.parent_task_id = ? ORDER BY {LIST_ORDER}",
            [parent_id],
        )
        ready = ready_tasks(project, db, session_id, limit=10, parent=parent_id)
        ready_total = count_ready(project, db, session_id, parent=parent_id)
        session_row = lookup.session(db, session_id)
        step = (
            step_for(db, ready[0])
            if ready
            else "no subtask of the plan is ready yet (each waits for a task outside it):"
            f" {next_step(project, db, session_id)}"
        )
    return {
        "session": session_brief(session_row),
        "session_created": created is not None,
        "parent_task": summary(parent) | {"file_path": parent["file_path"]},
        "subtasks": [summary(r) | {"depends_on": r["depends_on"]} for r in rows],
        "subtasks_total": len(rows),
        "ready": [summary(r) for r in ready],
        "ready_total": ready_total,
        "next_step": step,
    }


def _new_ids(w, count: int) -> tuple[str, list[str]]:
    """Fresh ids for a plan's parent and its `count` subtasks, all different."""
    parent_id = w.new_id("task")
    ids: list[str] = []
    for _ in range(count):
        new = w.new_id("task")
        while new in ids or new == parent_id:
            new = w.new_id("task")
        ids.append(new)
    return parent_id, ids


def _plan_edges(
    project: Project, db, items: list[Mapping[str, Any]], ids: list[str], session_id: str
) -> dict[str, list[str]]:
    """Each subtask's dependencies as task ids (subtask -> what it waits for); refuses a
    dependency that names nothing and any cycle, and warns of unknown specialists."""
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
        warn_unknown_specialist(project, db, session_id, item["specialist_type"])
    titles = {task_id: item["title"] for item, task_id in zip(items, ids, strict=True)}
    for loop in cycles(edges):
        shown = " -> ".join(f"{titles.get(t, t)!r}" for t in loop)
        raise DependencyCycle(f"the plan's dependencies make a cycle: {shown}")
    return edges


def _save_plan(
    w,
    parent: dict[str, Any],
    body: str,
    items: list[Mapping[str, Any]],
    ids: list[str],
    edges: dict[str, list[str]],
    progress: Progress,
) -> None:
    """Write the plan's parent task (`parent`: its fields) and its subtasks, telling
    `progress` of each subtask written."""
    stamp = now()
    w.save(
        new_record(
            "task",
            parent
            | {
                "status": PENDING,
                "specialist_type": None,
                "estimated_effort": sum(i["estimated_effort"] or 0 for i in items) or None,
                "created_at": stamp,
                "last_updated_at": stamp,
            },
            body,
        )
    )
    for n, (item, task_id) in enumerate(zip(items, ids, strict=True), 1):
        w.save(
            new_record(
                "task",
                {
                    "task_id": task_id,
                    "session_id": parent["session_id"],
                    "title": item["title"],
                    "status": PENDING,
                    "group_id": parent["group_id"],
                    "parent_task_id": parent["task_id"],
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
        progress.step(n, len(items), f"subtask {n} of {len(items)} written")


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


# -- execute -----------------------------------------------------------------------------


def execute_subtask(project: Project, ref: str, force: bool = False) -> dict[str, Any]:
    """Start a task (in progress) and return what its specialist needs: the role from
    the session's mode, the task, its earlier results, its parent, and the results of
    its dependencies. Refused, unless `force`, where core/rules.py says the work is not
    to be done now: dependencies unfinished, the task finished, its subtasks open, its
    session completed or cancelled."""
    with project.writing("start") as w:
        row = lookup.task(w.db, ref)
        check_execute(w.db, row, lookup.session(w.db, row["session_id"]), force)
        row = start_task(project, row["task_id"], force=force)
    return specialist_context(project, row["task_id"])


# A Markdown link's target: `[name](target)`.
_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def rooted_links(text: str, file_path: str) -> str:
    """`text` of the file `file_path` with its relative links made relative to the
    project root: a report links its artifacts from the task's file
    (`../artifacts/...`), which an agent given the text alone cannot follow. Code is
    left as written (fenced blocks, inline code spans), and so is a link that would lead
    out of the project or that is not a plain path (`<...>`, a URL, an anchor)."""
    folder = posixpath.dirname(file_path)

    def rooted(match: re.Match[str]) -> str:
        target = match["target"]
        if target.startswith(("/", "#", "<")) or re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target):
            return match[0]
        joined = posixpath.normpath(posixpath.join(folder, target))
        return match[0] if joined.startswith("..") else f"]({joined})"

    def line_rooted(line: str) -> str:
        parts = re.split(r"(`+[^`]*`+)", line)  # inline code spans kept as they are
        return "".join(p if p.startswith("`") else _LINK.sub(rooted, p) for p in parts)

    lines = text.splitlines(keepends=True)
    return "".join(
        line if in_code else line_rooted(line)
        for line, in_code in zip(lines, fenced(lines), strict=True)
    )


def reported(task: Mapping[str, Any], limit: int, newest_headed: bool = True) -> str:
    """Every report under a task's `## Results`, the newest first, each with its heading
    (its date and the status it left; the newest without it unless `newest_headed`: a
    dependency's status says it), links from the project root, cut at `limit`
    characters. A task done through its subtasks reports in its `## Synthesis`."""
    body = task["description"] or ""
    found = entries(section(body, RESULTS) or section(body, SYNTHESIS))[::-1]
    if found and not newest_headed:
        found[0] = latest_entry(found[0])
    return excerpt(rooted_links("\n\n".join(found), task["file_path"]), limit)


def specialist_context(project: Project, task_id: str) -> dict[str, Any]:
    """What the specialist of a task needs: its role, the task, its parent and the
    results of its dependencies, each cut to a size an agent can afford."""
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
            "parent_task_id": task["parent_task_id"],
        },
        # What it was told before (a revision's reason, what blocked it), newest first.
        "earlier_results": reported(task, EXCERPT),
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
                "results": reported(d, 800 if deps_total <= 4 else 300, newest_headed=False),
                "file_path": d["file_path"],
            }
            for d in deps[:12]
        ],
        "dependencies_total": deps_total,
        "next_step": f"when done: {complete_call(task['task_id'])}",
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
    actual_effort: int | float | str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Take a specialist's report: a dated entry under the task's `## Results` (the
    summary, links to the artifact and the files touched), the long text as an
    artifact file, and the task's new status from `next_action` (continue or complete:
    completed; needs_revision; blocked). Completing follows core/rules.py: refused while
    the task's subtasks or dependencies are open unless `force`. One commit."""
    checked_texts(summary=summary_text, artifact_type=artifact_type)
    summary_text = (summary_text or "").strip()
    if not summary_text:
        raise InvalidInput("say what was done (summary)")
    if next_action not in NEXT_ACTIONS:
        raise InvalidInput(f"next_action {next_action!r} is not one of {', '.join(NEXT_ACTIONS)}")
    actual_effort = effort(actual_effort, "actual_effort")
    status = NEXT_ACTIONS[next_action]
    files = [str(p).strip() for p in file_paths if str(p).strip()]
    checked_texts(**{f"file_paths[{n}]": path for n, path in enumerate(files)})
    with project.writing(REPORT_OP[status]) as w:
        row = lookup.task(w.db, ref)
        task_id, session_id = row["task_id"], row["session_id"]
        check_transition(w.db, row, status, force)
        if row["status"] in FINISHED and status == DONE:
            project.warnings.append(f"{describe(row)} was already {row['status']}; result added")
        record = w.load("task", session_id, task_id)
        artifact = None
        if detailed_work and detailed_work.strip():
            folder = w.layout.artifacts_dir(session_id, task_id)
            path = folder / f"{next_number(folder):02d}-{_slug(artifact_type)}.md"
            text = f"# {row['title']}: {artifact_type or 'work'}\n\n{detailed_work.strip()}\n"
            artifact = w.write_file(path, text.encode("utf-8"))
        stamp = now()
        entry = _report_entry(stamp, status, summary_text, task_id, artifact, files)
        record.body = "\n" + set_section(record.body.lstrip("\n"), RESULTS, entry, True)
        set_status(record.meta, status)
        if actual_effort is not None:
            record.meta["actual_effort"] = actual_effort
        record.meta["last_updated_at"] = stamp
        w.save(record)
        w.sync()
        return _after_report(project, w.db, lookup.task(w.db, task_id), artifact)


def _report_entry(
    stamp: str, status: str, text: str, task_id: str, artifact: str | None, files: list[str]
) -> str:
    """A report's entry under `## Results`: when, the status, the summary and links."""
    entry = [f"### {stamp[:10]} {stamp[11:16]} UTC · {status}", "", text]
    if artifact or files:
        entry.append("")
    if artifact:
        name = artifact.rsplit("/", 1)[-1]
        entry.append(f"- Details: [{name}](../artifacts/{task_id}/{name})")
    if files:
        entry.append("- Files: " + ", ".join(f"`{f}`" for f in files))
    return "\n".join(entry)


def _after_report(
    project: Project, db, done: dict[str, Any], artifact: str | None
) -> dict[str, Any]:
    """The reply to a report: the task, the session's progress, what is ready next, and
    the next step (see `_step_after_report`)."""
    session_id = done["session_id"]
    ready = ready_tasks(project, db, session_id, limit=5)
    session_row = lookup.session(db, session_id)
    return {
        "task": summary(done)
        | {
            "file_path": done["file_path"],
            "session_id": session_id,
            "parent_task_id": done["parent_task_id"],
        },
        "artifact": artifact,
        "session_progress": {
            "completed_tasks": session_row["completed_tasks"],
            "total_tasks": session_row["total_tasks"],
            "progress_percentage": session_row["progress_percentage"],
        },
        "ready": [summary(r) for r in ready],
        "next_step": _step_after_report(project, db, done),
    }


def _step_after_report(project: Project, db, done: Mapping[str, Any]) -> str:
    """After a report: a task to revise or blocked is taken up again once its report is
    acted on (execute gives the report back among its earlier results); a finished one
    hands on to the next subtask of its parent, the parent's synthesis, or the
    session's next work (`next_step`)."""
    task_id = done["task_id"]
    if done["status"] == NEEDS_REVISION:
        return (
            f"revise it: {execute_call(task_id)} starts it again with this report among its"
            " earlier results; then report with orchestrator_complete_subtask"
        )
    if done["status"] == BLOCKED:
        return f"clear what blocks it (the report says what), then {execute_call(task_id)} starts it again"
    return next_step(project, db, done["session_id"], done["parent_task_id"])


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
            raise InvalidInput(f"{describe(parent)} has no subtasks to combine; plan some first")
        finished = [c for c in children if c["status"] in FINISHED]
        open_ = [c for c in children if c["status"] not in FINISHED]
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
        # Completed by the rule every path follows: nothing it needs is still open.
        if record.meta.get("status") != DONE and not what_is_open(w.db, parent, DONE):
            set_status(record.meta, DONE)
        record.meta["last_updated_at"] = now()
        w.save(record)
        w.sync()
        row = lookup.task(w.db, parent["task_id"])
        step = next_step(
            project,
            w.db,
            row["session_id"],
            row["task_id"] if open_ else row["parent_task_id"],
        )
    out = {
        "parent_task": summary(row)
        | {"file_path": row["file_path"], "session_id": row["session_id"]},
        "completed": sum(c["status"] == DONE for c in children),
        "finished": len(finished),
        "total": len(children),
        "open": [summary(c) for c in open_[:20]],
        "open_total": len(open_),
        "synthesis": excerpt(text, 3000),
        "next_step": step,
    }
    if open_:
        out["next_step"] = (
            f"{len(open_)} subtask(s) still open; the parent stays {row['status']} until they"
            f" finish: {step}"
        )
    return out
