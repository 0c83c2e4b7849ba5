"""The one place errors become what a client reads: an OrchError's message with its hint
rendered as the tool call that would succeed, an OSError as one line of what to do.

A hint names a core operation and its arguments by the spec's names (orchestrator/
errors.py); HINT_CALLS says which tool does that operation here, with which arguments
fixed and which renamed. A hint this server has no tool for, or whose arguments its tool
does not take, is said in words instead (errors.OPERATIONS gives them).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import OPERATIONS, Hint, OrchError, os_error_message


class ToolError(Exception):
    """A tool call that failed for a reason the client can act on: answered as a result
    with isError, its text the message, and in structured form the message, the call
    that would succeed (`hint`) and the names a misspelled value may have meant
    (`candidates`)."""

    def __init__(self, message: str, hint: str | None = None, candidates: list[str] | None = None):
        super().__init__(message)
        self.message, self.hint, self.candidates = message, hint, candidates or []

    def structured(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message}
        if self.hint:
            error["hint"] = self.hint
        if self.candidates:
            error["candidates"] = self.candidates
        return {"error": error}


class ResourceError(Exception):
    """A resource that cannot be read: answered as a JSON-RPC error naming why."""


@dataclass(frozen=True)
class ToolCall:
    """How a hint's operation is called here: the tool, the arguments it always gets,
    and the hint arguments whose parameter has another name."""

    tool: str
    fixed: dict[str, Any] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)


HINT_CALLS = {
    "task_list": ToolCall("orchestrator_task_list"),
    "init": ToolCall("orchestrator_initialize_session", renamed={"root": "working_directory"}),
    "task_start": ToolCall("orchestrator_execute_subtask"),
    "task_update": ToolCall("orchestrator_task_update"),
    "task_complete": ToolCall("orchestrator_task_update", fixed={"status": "completed"}),
    "task_move": ToolCall(
        "orchestrator_group_move_tasks",
        renamed={"task_id": "task_ids", "group": "target_group", "group_id": "target_group"},
    ),
    "task_delete": ToolCall("orchestrator_task_delete"),
    "session_list": ToolCall("orchestrator_session_list", renamed={"status": "status_filter"}),
    "session_create": ToolCall("orchestrator_session_create"),
    "session_activate": ToolCall("orchestrator_session_activate"),
    "session_pause": ToolCall("orchestrator_session_pause"),
    "session_complete": ToolCall("orchestrator_session_complete"),
    "session_cancel": ToolCall("orchestrator_session_cancel"),
    "session_archive": ToolCall("orchestrator_session_archive"),
    # No tool lists groups alone; the status shows the active session's groups.
    "group_list": ToolCall("orchestrator_get_status"),
    "doctor": ToolCall(
        "orchestrator_maintenance_coordinator", fixed={"action": "validate_structure"}
    ),
    "conflicts": ToolCall("orchestrator_conflicts"),
    "resolve": ToolCall("orchestrator_resolve_conflict"),
    "sync": ToolCall("orchestrator_sync"),
    "mode_list": ToolCall("orchestrator_mode_list"),
    # The list reports each mode file's problems: what validating one shows.
    "mode_validate": ToolCall("orchestrator_mode_list"),
}
# Operations no tool here does (doctor --fix repairs files by rules the server does not
# offer; git hooks are installed from a shell; groups are deleted by a person): said in
# words.
IN_WORDS = frozenset({"doctor_fix", "hooks_install", "group_delete"})


def value_text(value: Any) -> str:
    """An argument as a client writes it in a call: strings quoted, JSON for the rest."""
    return repr(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def render_hint(hint: Hint, tools: Mapping[str, Collection[str]]) -> str:
    """`hint` as the tool call that would succeed (`tools`: the parameters of each tool
    served), or in words where no served tool takes it."""
    route = HINT_CALLS.get(hint.op)
    if route is not None and route.tool in tools:
        args = {route.renamed.get(k, k): v for k, v in hint.args.items()}
        args |= {k: v for k, v in route.fixed.items() if k not in args}
        if set(args) <= set(tools[route.tool]):
            listed = ", ".join(f"{k}={value_text(v)}" for k, v in args.items())
            return f"call {route.tool}({listed})"
    # OPERATIONS names the arguments in brackets for a reader of the table; here they follow.
    words = OPERATIONS.get(hint.op, hint.op.replace("_", " ")).split(" [")[0]
    listed = ", ".join(f"{k}={value_text(v)}" for k, v in hint.args.items())
    return f"{words}: {listed}" if listed else words


def said(warning: str, tools: Mapping[str, Collection[str]]) -> str:
    """A core warning as the client reads it: its text, and its hint (errors.Said) as a
    call."""
    hint = getattr(warning, "hint", None)
    return f"{warning} ({render_hint(hint, tools)})" if hint is not None else str(warning)


def message(error: Exception, tools: Mapping[str, Collection[str]]) -> str:
    """What the client reads for `error`: an OrchError's message and its hint, an
    OSError's one line."""
    if isinstance(error, OSError):
        return os_error_message(error)
    text = str(error)
    hint = getattr(error, "hint", None)
    if hint is not None:
        text = f"{text} ({render_hint(hint, tools)})"
    return text


def tool_error(error: OrchError | OSError, tools: Mapping[str, Collection[str]]) -> ToolError:
    """`error` as the tool error a client reads: the message with its hint, and both
    apart in the structured error."""
    hint = getattr(error, "hint", None)
    rendered = render_hint(hint, tools) if hint is not None else None
    candidates = [str(c) for c in getattr(error, "candidates", None) or []]
    return ToolError(message(error, tools), rendered, candidates)


def resource_error(
    error: OrchError | OSError, tools: Mapping[str, Collection[str]]
) -> ResourceError:
    """`error` as the resource error a client reads."""
    return ResourceError(message(error, tools))


def argument_errors(tool: str, errors: list[Any], known: Collection[str]) -> ToolError:
    """Arguments that do not fit a tool's schema (pydantic's `errors()`), said one per
    argument in plain words, with the value given, instead of the validator's report."""
    said = []
    for error in errors:
        name = ".".join(str(part) for part in error.get("loc", ())) or "arguments"
        if error.get("type") == "missing":
            said.append(f"{name} is required")
            continue
        given = json.dumps(error.get("input"), default=str)
        if len(given) > 60:
            given = given[:57] + "..."
        said.append(f"{name}: {error.get('msg', 'not valid')} (given {given})")
    return ToolError(
        f"{tool}: {'; '.join(said)}; its arguments are: {', '.join(known)}",
        candidates=list(known),
    )
