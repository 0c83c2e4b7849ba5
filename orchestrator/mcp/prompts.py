"""The prompts: the workflow's steps as messages a person picks from a client's menu (they
appear as slash commands in Claude Code and VS Code). Each is filled from the project as
it is now: the roles of the active session's mode, the next ready task, a task's
results, where the session stands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrator.core import queries, workflow
from orchestrator.core.project import Project
from orchestrator.errors import InvalidInput
from orchestrator.mcp.replies import cut, task_detail
from orchestrator.mcp.served import Served

PROMPTS: list[dict[str, Any]] = [
    {"name": "plan-work", "title": "Plan work",
     "description": "Break a piece of work into subtasks for the session's specialists",
     "arguments": [{"name": "goal", "description": "What is to be done", "required": True}]},
    {"name": "run-next-subtask", "title": "Run the next subtask",
     "description": "Start the most urgent ready subtask, do it in its role, report it",
     "arguments": []},
    {"name": "review-subtask", "title": "Review a subtask",
     "description": "Review a subtask's results; complete it or send it back",
     "arguments": [{"name": "task_id", "description": "The subtask", "required": True}]},
    {"name": "handover", "title": "Hand over",
     "description": "Where the session stands, for the next agent or person",
     "arguments": []},
]  # fmt: skip


def listed() -> list[dict[str, Any]]:
    return PROMPTS


def get(served: Served, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """prompts/get: the prompt's one user message, filled from the project."""
    make = MAKERS.get(name)
    if make is None:
        known = ", ".join(p["name"] for p in PROMPTS)
        raise InvalidInput(f"no prompt {name!r}; the prompts are: {known}")
    spec = next(p for p in PROMPTS if p["name"] == name)
    for argument in spec["arguments"]:
        if argument["required"] and not str(arguments.get(argument["name"]) or "").strip():
            raise InvalidInput(f"prompt {name} needs the argument {argument['name']}")
    with served.read() as project:
        text = make(project, arguments)
    return {
        "description": spec["description"],
        "messages": [{"role": "user", "content": {"type": "text", "text": text}}],
    }


def plan_work(project: Project, arguments: dict[str, Any]) -> str:
    context = workflow.planning_context(project)
    roles = context.get("specialist_roles") or []
    names = ", ".join(r if isinstance(r, str) else str(r.get("name", r)) for r in roles)
    return (
        f"Plan this work with orch: {arguments['goal']}\n\n"
        "1. Call orchestrator_get_status to see the active session and what is open.\n"
        "2. Break the work into subtasks a specialist can each finish in one sitting"
        f" (specialist_type one of: {names or 'implementer, tester, reviewer'}), with"
        " dependencies between them by title or number, and an estimated_effort in hours.\n"
        "3. Call orchestrator_plan_task(description, subtasks) once, with the whole"
        " breakdown.\n4. Follow the reply's next_step."
    )


def run_next_subtask(project: Project, arguments: dict[str, Any]) -> str:
    work = queries.active_session_work(project, in_hand=5, ready=1)
    if work is None:
        return "No session is active: call orchestrator_initialize_session first."
    if not work["ready"]:
        taken = ", ".join(t["task_id"] for t in work["in_hand"]) or "none"
        return (
            "No subtask is ready to start (tasks in hand: " + taken + ")."
            " Call orchestrator_get_status to see what blocks the rest."
        )
    task = work["ready"][0]
    return (
        f"Run subtask {task['task_id']} ({task['title']!r}).\n\n"
        f"1. Call orchestrator_execute_subtask(task_id='{task['task_id']}'): it starts the"
        " task and gives your role, the task and its dependencies' results.\n"
        "2. Do the work as that role describes.\n"
        f"3. Call orchestrator_complete_subtask(task_id='{task['task_id']}', summary=...,"
        " detailed_work=..., file_paths=[...]).\n4. Follow the reply's next_step."
    )


def review_subtask(project: Project, arguments: dict[str, Any]) -> str:
    task = task_detail(project, str(arguments["task_id"]), full=False)
    results = cut(task.get("results") or task.get("description") or "", 3000)
    return (
        f"Review subtask {task['task_id']} ({task['title']!r}, {task['status']}).\n\n"
        f"What it reports:\n{results or '(nothing yet)'}\n\n"
        "Check the work against the task. Then call orchestrator_complete_subtask("
        f"task_id='{task['task_id']}', summary=<your verdict>, next_action='complete') if it"
        " holds, or next_action='needs_revision' with what must change."
    )


def handover(project: Project, arguments: dict[str, Any]) -> str:
    status = workflow.get_status(project, False)
    active = status.get("active_session")
    if not active:
        return "No session is active. Call orchestrator_get_status for the other sessions."
    doing = ", ".join(f"{t['task_id']} {t['title']!r}" for t in status["in_progress"][:10])
    ready = ", ".join(t["task_id"] for t in status["ready"][:10])
    return (
        f"Hand over session {active['session_id']} {active['name']!r}:"
        f" {active['completed_tasks']}/{active['total_tasks']} tasks completed.\n"
        f"In progress: {doing or 'none'}. Ready: {ready or 'none'}.\n\n"
        "Write a handover: what was done, what is in progress and its state, decisions"
        " made and why, and what to do next. Record it with orchestrator_note(kind='next',"
        " text=...) for each next step and orchestrator_note(kind='decision', ...) for each"
        " decision, so the next agent finds it in session.md."
    )


MAKERS: dict[str, Callable[[Project, dict[str, Any]], str]] = {
    "plan-work": plan_work,
    "run-next-subtask": run_next_subtask,
    "review-subtask": review_subtask,
    "handover": handover,
}
