"""What a client is told about each tool besides its code: the tool set it belongs to, its
title, its annotations (read-only, destructive, idempotent), a description of each
parameter, and the shape of what it answers. One table, so the size of tools/list is
decided in one place (bench/RESULTS.md has the figures per tool set).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Tool sets, smallest first: `orch mcp --tools core|standard|all` (or ORCH_MCP_TOOLS).
# core: the workflow and reading tasks; standard: every tool the spec names and the task
# record tools; all: standard, the legacy name and orch's own export.
TOOL_SETS = ("core", "standard", "all")
DEFAULT_TOOL_SET = "standard"


@dataclass(frozen=True)
class Entry:
    title: str
    tool_set: str = "standard"  # the smallest set that holds the tool
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = False  # talks to something outside the project (a git remote)
    # The reply's shape where the tool's return annotation does not give one: key -> JSON
    # type (or a list of types).
    output: dict[str, Any] | None = None

    def annotations(self) -> dict[str, Any]:
        """The spec's hints, those that differ from its defaults (not read-only,
        destructive, not idempotent): a writer that destroys nothing must say so.
        openWorldHint (default true) is said only of the one tool that reaches out (sync
        with a remote): stating false on 30 tools cost 680 bytes of every tools/list."""
        if self.read_only:
            hints: dict[str, Any] = {"readOnlyHint": True}
        else:
            hints = {"destructiveHint": self.destructive}
            if self.idempotent:
                hints["idempotentHint"] = True
        if self.open_world:
            hints["openWorldHint"] = True
        return hints


OBJ, ARR, STR, INT = "object", "array", "string", "integer"
NULL_STR = [STR, "null"]

CATALOG: dict[str, Entry] = {
    # -- core: the workflow, and reading tasks --------------------------------------------
    "orchestrator_initialize_session": Entry(
        "Start orchestrating", "core", idempotent=True,
        output={"active_session": [OBJ, "null"], "next_step": STR},
    ),
    "orchestrator_plan_task": Entry(
        "Plan work as subtasks", "core",
        output={"parent_task": OBJ, "subtasks": ARR, "subtasks_total": INT, "ready": ARR,
                "next_step": STR},
    ),
    "orchestrator_execute_subtask": Entry(
        "Start a subtask", "core", idempotent=True,
        output={"task": OBJ, "specialist": OBJ, "next_step": STR},
    ),
    "orchestrator_complete_subtask": Entry(
        "Report a subtask's outcome", "core",
        output={"task": OBJ, "next_step": STR},
    ),
    "orchestrator_synthesize_results": Entry(
        "Combine subtask results", "core", idempotent=True,
        output={"parent_task": OBJ, "next_step": STR},
    ),
    "orchestrator_get_status": Entry(
        "Where things stand", "core", read_only=True,
        output={"active_session": [OBJ, "null"], "in_progress": ARR, "ready": ARR,
                "next_step": STR},
    ),
    "orchestrator_task_list": Entry("List tasks", "core", read_only=True),
    "orchestrator_task_get": Entry("Show a task", "core", read_only=True),
    "orchestrator_search": Entry(
        "Search tasks and notes", "core", read_only=True,
        output={"tasks": ARR, "notes": ARR, "next_cursor": NULL_STR},
    ),
    # -- standard: the spec's other tools and the record tools -------------------------
    "orchestrator_task_create": Entry("Create a task"),
    "orchestrator_task_update": Entry("Change a task", idempotent=True),
    "orchestrator_task_delete": Entry(
        "Delete a task", destructive=True, output={"deleted": ARR, "next_step": STR}
    ),
    "orchestrator_task_cancel": Entry("Cancel a task", destructive=True, idempotent=True),
    "orchestrator_session_create": Entry("Create a session"),
    "orchestrator_session_activate": Entry("Activate a session", idempotent=True),
    "orchestrator_session_pause": Entry("Pause a session", idempotent=True),
    "orchestrator_session_complete": Entry("Complete a session", idempotent=True),
    "orchestrator_session_cancel": Entry("Cancel a session", destructive=True, idempotent=True),
    "orchestrator_session_list": Entry("List sessions", read_only=True),
    "orchestrator_session_archive": Entry(
        "Archive a session", destructive=True, output={"export": STR}
    ),
    "orchestrator_group_create": Entry("Create a task group", output={"group": OBJ}),
    "orchestrator_group_move_tasks": Entry(
        "Move tasks to a group", idempotent=True, output={"moved": ARR, "count": INT}
    ),
    "orchestrator_mode_select": Entry(
        "Bind a mode to a session", idempotent=True, output={"binding": OBJ}
    ),
    "orchestrator_mode_list": Entry(
        "List modes", read_only=True, output={"modes": ARR, "total": INT}
    ),
    "orchestrator_note": Entry("Note a decision or learning", output={"file": STR}),
    "orchestrator_cleanup": Entry(
        "Find or fix stale records", destructive=True, output={"findings": ARR}
    ),
    "orchestrator_maintenance_coordinator": Entry(
        "Maintenance", destructive=True, output={"findings": ARR, "file": STR}
    ),
    "orchestrator_sync": Entry(
        "Commit and exchange", idempotent=True, open_world=True, output={"commits": ARR}
    ),
    "orchestrator_conflicts": Entry(
        "List merge conflicts", read_only=True, output={"conflicts": ARR}
    ),
    "orchestrator_resolve_conflict": Entry(
        "Resolve a merge conflict", destructive=True, output={"record_id": STR}
    ),
    "orchestrator_export": Entry(
        "Export sessions", "all", idempotent=True, output={"path": STR, "sessions": ARR}
    ),
    # -- all: the legacy name, and orch's own export ----------------------
    "orchestrator_query_tasks": Entry("List tasks (legacy name)", "all", read_only=True),
}  # fmt: skip

# Older names of parameters, offered in the `all` tool set only (accepted in every one).
LEGACY_PARAMETERS = frozenset({"subtasks_json", "results", "artifacts", "project_root"})

# What each parameter means, by name: the same name means the same in every tool. Short,
# since every byte of tools/list is read by every agent at every start; a name and type
# that say it all (`title`, an enum) get no more, and what holds for a name in every tool
# (ids, session_id's default, efforts, priorities, cursors) is said once, in the server's
# instructions (server.py: INSTRUCTIONS), which a client reads once per connection.
PARAMETERS = {
    "working_directory": "Project path (set up if missing)",
    "force": "Despite open subtasks or dependencies",
    "fields": 'Columns; ["all"]: every one',
    "dependencies": "Ids it waits for (replaces)",
    "next_action": "continue, complete: done",
    "subtasks_json": "Legacy: subtasks as JSON text",
    "results": "Legacy name of summary",
    "artifacts": "Legacy name of file_paths",
    "ready": "Only ready ones, urgent first",
    "mode_file": "Role file, e.g. research",
    "preserve_dependencies": "Keep links to unmoved tasks",
    "picks": "Per field: ours/theirs/base",
}
