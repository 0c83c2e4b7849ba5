"""The orchestration workflow: initialize, plan, execute, complete, synthesize, status,
and the session's notes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from orchestrator.core import subtasks as subtask_ops
from orchestrator.core import views, workflow
from orchestrator.core.inputs import parse_subtasks
from orchestrator.mcp import next_steps
from orchestrator.mcp.arguments import Hours, Subtasks, TaskId
from orchestrator.mcp.context import Context
from orchestrator.mcp.replies import (
    ROWS,
    Reply,
    StatusReply,
    ToolResult,
    cut,
    encode_cursor,
    trimmed,
)
from orchestrator.mcp.resources import execute_links
from orchestrator.mcp.served import served


def orchestrator_initialize_session(
    ctx: Context, working_directory: str | None = None, session_name: str = ""
) -> Reply:
    """Start here: serve the project at working_directory (set up if missing); a session
    is made active."""
    # The project chosen and the work done in one turn.
    with served(ctx).call(working_directory=working_directory) as call:
        p = call.project
        out = workflow.initialize(p, session_name or p.root.name)
        active = out["active_session"]
        where = f"session {active['session_id']} {active['name']!r}" if active else "no session yet"
        return call.reply(f"Project {p.root}: {where}.", out)


def orchestrator_plan_task(
    ctx: Context,
    description: str,
    subtasks: Subtasks | None = None,
    subtasks_json: str | list[dict[str, Any]] | None = None,
    complexity_level: Literal["simple", "moderate", "complex", "very_complex"] | None = None,
    context: str = "",
    title: str = "",
    group: str | None = None,
    session_id: str | None = None,
) -> Reply:
    """Record work and its subtasks in one commit (a session is made if none is active)."""
    with served(ctx).call() as call:
        items = parse_subtasks(subtasks, subtasks_json)
        out = subtask_ops.plan_task(
            call.project,
            description,
            items,
            title=title,
            complexity_level=complexity_level,
            context=context,
            session=session_id,
            group=group,
        )
        parent, session = out["parent_task"], out["session"]
        out["subtasks"] = trimmed(out["subtasks"], ROWS // 2)
        text = (
            f"Planned {parent['task_id']} {parent['title']!r} in session"
            f" {session['session_id']} with {out['subtasks_total']} subtask(s);"
            f" ready: {ids_of(out['ready'], out['ready_total'])}."
        )
        shown = len(out["subtasks"])
        if shown < out["subtasks_total"]:
            out["next_cursor"] = encode_cursor(shown)
            # The task list filters by the active session unless told another.
            other = session["status"] != "active"
            where = f", session_id={session['session_id']!r}" if other else ""
            out["more"] = (
                f"the first {shown} of {out['subtasks_total']} subtasks are shown;"
                f" orchestrator_task_list(parent_task_id={parent['task_id']!r}{where},"
                f" cursor={out['next_cursor']!r}) lists the rest"
            )
            text += f" The {out['more']}."
        return call.reply(text, out)


def orchestrator_execute_subtask(ctx: Context, task_id: TaskId, force: bool = False) -> Reply:
    """Start a task; returns its role and the results it builds on. Refused while
    its dependencies or subtasks are open."""
    with served(ctx).call() as call:
        out = subtask_ops.execute_subtask(call.project, task_id, force=force)
        links = execute_links(call.project, out)
        return call.reply(handover_text(out), out, links=links)


def orchestrator_complete_subtask(
    ctx: Context,
    task_id: TaskId,
    summary: str = "",
    detailed_work: str = "",
    file_paths: list[str] | None = None,
    artifact_type: str = "general",
    next_action: Literal["continue", "needs_revision", "blocked", "complete"] = "continue",
    actual_effort: Hours | None = None,
    results: str = "",
    artifacts: list[str] | str | None = None,
    force: bool = False,
) -> Reply:
    """Report a task's outcome: summary into its file, detailed_work into an artifact."""
    with served(ctx).call() as call:
        out = subtask_ops.complete_subtask(
            call.project,
            task_id,
            summary or results or "",
            detailed_work=detailed_work,
            file_paths=[*(file_paths or []), *listed_paths(artifacts)],
            artifact_type=artifact_type,
            next_action=next_action,
            actual_effort=actual_effort,
            force=force,
        )
        task = out["task"]
        parent = f", parent {task['parent_task_id']}" if task["parent_task_id"] else ""
        return call.reply(
            f"{task['task_id']} {task['title']!r} is {task['status']} (session"
            f" {task['session_id']}{parent}); ready: {ids_of(out['ready'])}.",
            out,
        )


def orchestrator_synthesize_results(ctx: Context, parent_task_id: TaskId) -> Reply:
    """Combine a task's subtask results; completes it when all are finished."""
    with served(ctx).call() as call:
        out = subtask_ops.synthesize_results(call.project, parent_task_id)
        parent = out["parent_task"]
        still = f"; open: {ids_of(out['open'], out['open_total'])}" if out["open"] else ""
        return call.reply(
            f"Synthesized {out['finished']} of {out['total']} subtasks of"
            f" {parent['task_id']} (session {parent['session_id']}) into"
            f" {parent['file_path']} ({parent['status']}){still}.",
            out,
        )


def orchestrator_get_status(
    ctx: Context, include_completed: bool = False
) -> Annotated[ToolResult, StatusReply]:
    """The active session's progress, tasks in progress and ready, other sessions,
    problems."""
    with served(ctx).call() as call:
        out = workflow.get_status(call.project, include_completed)
        active = out["active_session"]
        if active:
            text = (
                f"Session {active['session_id']} {active['name']!r}:"
                f" {active['completed_tasks']}/{active['total_tasks']} completed,"
                f" ready: {ids_of(out['ready'], out['ready_count'])}."
            )
        else:
            text = "No session is active."
        return call.reply(text, out)


def orchestrator_note(
    ctx: Context,
    kind: Literal["decision", "learning", "next"],
    text: str,
    session_id: str | None = None,
) -> Reply:
    """Add a dated decision, learning or next step to session.md."""
    with served(ctx).call() as call:
        out = views.add_note(call.project, kind, text, session_id)
        out["next_step"] = next_steps.STATUS
        return call.reply(f"Noted in {out['file']}.", out)


TOOLS: list[Callable[..., Any]] = [
    orchestrator_initialize_session,
    orchestrator_plan_task,
    orchestrator_execute_subtask,
    orchestrator_complete_subtask,
    orchestrator_synthesize_results,
    orchestrator_get_status,
    orchestrator_note,
]


def ids_of(rows: list[dict[str, Any]], total: int | None = None, shown: int = 5) -> str:
    """Tasks named by id in a reply's text: the first `shown`, and how many more."""
    if not rows:
        return "none"
    named = ", ".join(r["task_id"] for r in rows[:shown])
    more = (total if total is not None else len(rows)) - min(len(rows), shown)
    return f"{named} and {more} more" if more > 0 else named


def handover_text(out: dict[str, Any]) -> str:
    """What execute's text says, for a client that reads only the text: the task and
    the ids around it, the role in a line or two, and the dependencies' results, each
    cut (under 1,500 characters in all)."""
    task, role, parent = out["task"], out["specialist"], out["parent"]
    lines = [
        f"{task['task_id']} {task['title']!r} is in progress (session {task['session_id']}"
        + (f", parent {parent['task_id']} {cut(parent['title'], 60)!r}" if parent else "")
        + ")."
    ]
    if role.get("role_definition"):
        lines.append(
            f"Role {role['role']}: {cut(in_one_line(role['role_definition']), 240)}"
            + (
                f" Output: {cut(in_one_line(role['output_format']), 160)}"
                if role.get("output_format")
                else ""
            )
        )
    else:
        lines.append(f"Role: {cut(role.get('note') or role.get('role') or 'none', 200)}")
    for dep in out["dependencies"][:4]:
        said = cut(in_one_line(dep["results"]), 150) or "no results reported"
        lines.append(f"Dependency {dep['task_id']} ({dep['status']}): {said}")
    if out["dependencies_total"] > 4:
        lines.append(f"And {out['dependencies_total'] - 4} more dependencies (in the data).")
    if out["earlier_results"]:
        lines.append(f"Earlier results: {cut(in_one_line(out['earlier_results']), 200)}")
    return cut("\n".join(lines), 1450) or ""


def in_one_line(text: str | None) -> str:
    """`text` with its line breaks and runs of spaces made single spaces (for a reply's
    text; not core/inputs.one_line, which refuses a title that spans lines)."""
    return " ".join((text or "").split())


def listed_paths(value: list[str] | str | None) -> list[str]:
    """File paths as an older client gives them: a list, or one text of paths split by
    commas or lines (never by spaces: a path may hold one)."""
    if value is None:
        return []
    parts = value.replace(",", "\n").splitlines() if isinstance(value, str) else value
    return [p.strip() for p in parts if p.strip()]
