"""`orch mcp`: the MCP server AI clients drive orch through (stdio, `mcp` 2.x SDK).

Every tool is a thin adapter: it calls one core operation, and answers with a short
text and the data as structured output. Replies are small by default: lists come in
pages (50 rows, a cursor for the next) of summary fields, long texts are cut with the
file that holds them named, and no reply is larger than REPLY_BUDGET (8 KB) unless asked.
Errors are tool errors whose message says what to do (unknown id: the closest ids;
forbidden transition: the allowed ones).

One server serves one project at a time: the one given by --root (or ORCH_ROOT), else
the one found at or above the directory it was started in, else the one
orchestrator_initialize_session(working_directory) names — never orch's own install
directory. Several servers (one per agent) can share a project: the project lock
serializes their writes and the shared index shows each the others' changes at its
next call.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import CallToolResult, TextContent

from orchestrator import __version__
from orchestrator.core.project import Project
from orchestrator.errors import OrchError, ProjectNotFound, os_error_message

REPLY_BUDGET = 8 * 1024  # bytes a reply (text and structured output) stays under by default
ROWS = 7000  # of which a list of rows may take (the rest: totals, cursor, text, warnings)
PAGE = 50
INSTALL_DIR = Path(__file__).resolve().parent

INSTRUCTIONS = """\
orch keeps sessions, task groups and tasks as Markdown files in the project's
.task_orchestrator/ folder; every change is a git commit.
Workflow: orchestrator_initialize_session(working_directory) -> orchestrator_plan_task
(description, subtasks) -> for each ready subtask: orchestrator_execute_subtask(task_id),
do the work, orchestrator_complete_subtask(task_id, summary, detailed_work) ->
orchestrator_synthesize_results(parent_task_id). orchestrator_get_status says where things
stand. Ids accept any unique prefix. Lists are paged: pass next_cursor back as cursor."""


# -- reply shapes (the tools' output schemas) ------------------------------------------


class TaskPage(TypedDict):
    tasks: list[dict[str, Any]]
    total: int
    next_cursor: str | None
    warnings: NotRequired[list[str]]


class TaskReply(TypedDict, total=False):
    task: dict[str, Any]
    warnings: list[str]


class SessionReply(TypedDict, total=False):
    session: dict[str, Any]
    warnings: list[str]


class SessionList(TypedDict):
    sessions: list[dict[str, Any]]
    warnings: NotRequired[list[str]]


class StatusReply(TypedDict, total=False):
    active_session: dict[str, Any] | None
    mode: str | None
    status_counts: dict[str, int]
    groups: list[dict[str, Any]]
    in_progress: list[dict[str, Any]]
    ready: list[dict[str, Any]]
    ready_count: int
    completed: list[dict[str, Any]]
    other_sessions: list[dict[str, Any]]
    problems: dict[str, int]
    conflicts: list[str]
    next_step: str
    warnings: list[str]


class SearchReply(TypedDict, total=False):
    query: str
    scope: str
    sessions: int
    tasks: list[dict[str, Any]]
    task_total: int
    notes: list[dict[str, Any]]
    next_cursor: str | None
    warnings: list[str]


Data = dict[str, Any]
Reply = Annotated[CallToolResult, Data]


# -- helpers ---------------------------------------------------------------------------


def size_of(data: Any) -> int:
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())


def trimmed(rows: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """The first rows that fit in `budget` bytes of JSON (at least one)."""
    used, kept = 2, []
    for row in rows:
        used += size_of(row) + 1
        if used > budget and kept:
            break
        kept.append(row)
    return kept


def fit(data: Data, budget: int) -> Data:
    """`data` made to fit in `budget` bytes of JSON: the longest list is halved (its
    full length kept beside it as `<key>_total`), the longest text cut, until it fits.
    A safety net under the per-tool limits, which keep most replies well inside."""
    for _ in range(64):
        if size_of(data) <= budget:
            return data
        holder, key = _largest(data)
        if holder is None:
            return data
        value = holder[key]
        if isinstance(value, list):
            holder.setdefault(f"{key}_total", len(value))
            holder[key] = value[: len(value) // 2]
        else:
            holder[key] = value[: len(value) // 2].rstrip() + " …"
    return data


def _largest(data: Data) -> tuple[Any, Any]:
    """The dict and key of the largest shrinkable value (a list of 2+ items or a long
    text), looking into nested dicts and into lists of dicts."""
    best, where = 0, (None, None)
    stack = [data]
    while stack:
        node = stack.pop()
        for key, value in node.items():
            if isinstance(value, dict):
                stack.append(value)
            elif isinstance(value, list):
                if len(value) == 1 and isinstance(value[0], dict):
                    stack.append(value[0])
                elif len(value) > 1 and (size := size_of(value)) > best:
                    best, where = size, (node, key)
            elif isinstance(value, str) and len(value) > 200 and (size := len(value)) > best:
                best, where = size, (node, key)
    return where


def cut(text: str | None, limit: int, where: str | None = None) -> str | None:
    if text is None or len(text) <= limit:
        return text
    tail = f" … [{len(text) - limit} more characters in {where}]" if where else " …"
    return text[:limit].rstrip() + tail


def cleanup_reply(out: Data) -> Data:
    return out | {
        "findings_total": len(out["findings"]),
        "findings": trimmed(out["findings"], ROWS),
    }


def shown_of(shown: int, total: int, noun: str) -> str:
    if shown == total:
        return f"{total} {noun}(s)."
    return f"{total} {noun}(s); the first {shown} shown (the rest would pass 8 KB)."


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["o"]
        if isinstance(offset, int) and 0 <= offset <= 10**9:
            return offset
    except (ValueError, KeyError, TypeError):
        pass
    raise ToolError(f"cursor {cursor!r} is not one this server gave; start again without it")


def task_brief(row: dict[str, Any]) -> dict[str, Any]:
    from orchestrator.core.workflow import summary

    return summary(row)


SESSION_FIELDS = ("session_id", "name", "status", "session_type", "mode_file", "priority_level",
                  "total_tasks", "completed_tasks", "progress_percentage", "created_at",
                  "activated_at", "completed_at", "archived_at", "markdown_file_path")  # fmt: skip


def session_brief(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row.get(key) for key in SESSION_FIELDS}


def split_ids(value: list[str] | str | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.replace(",", " ").split() if part.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


# The core's messages name CLI commands; a client of this server reads the tools instead.
MCP_HINTS = [
    (r"pass --(force|switch)\b", r"pass \1=true"),
    (r"`orch task list` shows them", "orchestrator_task_list shows them"),
    (r"`orch session list` shows them", "orchestrator_session_list shows them"),
    (r"`orch group list` shows them", "orchestrator_get_status shows them"),
    (r"orch session (activate|pause|complete|cancel|archive|create)( ID| NAME)?\b",
     r"orchestrator_session_\1"),
    (r"orchestrator_session_(\w+) (s-\w+)", r"orchestrator_session_\1(session_id='\2')"),
    (r"orch task update (\S+) --status (\w+)", r"orchestrator_task_update(task_id='\1', status='\2')"),
    (r"`?orch doctor`?( lists every problem)?",
     "orchestrator_maintenance_coordinator(action='validate_structure')\1"),
    (r"`orch conflicts`", "orchestrator_conflicts"),
    (r"`orch resolve`", "orchestrator_resolve_conflict"),
    (r"`orch sync`", "orchestrator_sync"),
    (r"orch mode validate", "orchestrator_mode_list"),
    (r"--session\b", "session_id"),
]  # fmt: skip


def for_client(message: str) -> str:
    import re

    for pattern, replacement in MCP_HINTS:
        message = re.sub(pattern, replacement, message)
    return message


def refused_root(path: Path) -> str | None:
    """Why a directory cannot be a project root for the server, or None."""
    if path.is_relative_to(INSTALL_DIR) or INSTALL_DIR.is_relative_to(path / "orchestrator"):
        return f"{path} is orch's own install directory, not a project"
    if path == Path(path.anchor):
        return f"{path} is the root of the file system, not a project"
    return None


# -- the server ------------------------------------------------------------------------


class Orch:
    """The project the server works on, and one call at a time against it (the SDK
    runs tools on worker threads; the project object is not shared between calls)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.lock = threading.RLock()
        self.project: Project | None = None
        # A server started for one project (--root, ORCH_ROOT) serves that one alone: a
        # client's working_directory cannot take it elsewhere.
        self.bound: Path | None = None
        given = root or os.environ.get("ORCH_ROOT")
        if given:
            self.project = Project.find(given)  # a wrong --root fails the start, loudly
            self.bound = self.project.root
        else:
            try:
                found = Project.find(None)
            except ProjectNotFound:
                found = None
            if found is not None and refused_root(found.root) is None:
                self.project = found
        if self.project is not None:
            self.project.watch_changes()

    def use(self, project: Project) -> None:
        if self.project is not None and self.project.monitor is not None:
            self.project.monitor.close()
        self.project = project
        project.watch_changes()

    def need(self) -> Project:
        if self.project is None:
            raise ToolError(
                "no project yet: call orchestrator_initialize_session(working_directory=<the"
                " project directory>) first, or start the server with `orch mcp --root DIR`"
            )
        return self.project

    def call(
        self,
        work: Callable[[Project], tuple[str, Data]],
        needs_project: bool = True,
        budget: int | None = REPLY_BUDGET,
    ):
        with self.lock:
            project = self.need() if needs_project else self.project
            if project is not None:
                project.warnings.clear()
            warnings: list[str] = []
            try:
                text, data = work(project)
            except OrchError as e:
                raise ToolError(for_client(str(e))) from None
            except OSError as e:
                raise ToolError(os_error_message(e)) from None
            finally:
                for used in {id(p): p for p in (project, self.project) if p is not None}.values():
                    warnings += used.warnings
                    used.warnings.clear()
        if warnings:
            data["warnings"] = [for_client(w) for w in dict.fromkeys(warnings)][:10]
            text = cut(text + " Warnings: " + "; ".join(data["warnings"]), 1000)
        if budget is not None:
            data = fit(data, budget - len(text.encode()))
        return CallToolResult(
            content=[TextContent(type="text", text=text)], structured_content=data
        )


def build_server(root: str | os.PathLike | None = None) -> MCPServer:
    """The MCP server over the project at `root` (see the module's docstring)."""
    from orchestrator.core import (
        archive,
        board,
        cleanup,
        conflicts,
        groups,
        modes,
        remote,
        search,
        sessions,
        tasks,
        views,
        workflow,
    )

    orch = Orch(root)
    server = MCPServer(
        "orch",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
        warn_on_duplicate_tools=True,
    )
    tool = server.tool

    # -- sessions ----------------------------------------------------------------------

    @tool()
    def orchestrator_session_create(
        name: str,
        description: str = "",
        project_root: str | None = None,
        mode_file: str | None = None,
        switch: bool = True,
    ) -> Annotated[CallToolResult, SessionReply]:
        """Create a session and make it the active one (the one active before is paused,
        unless switch=false). project_root: the project directory, if not the server's.
        mode_file: a role file in .task_orchestrator/roles/ (default_roles.yaml if none)."""

        def work(p: Project):
            row = sessions.create_session(
                p, name, description=description or None, mode_file=mode_file, switch=switch
            )
            return f"Created session {row['session_id']} {row['name']!r} (active).", {
                "session": session_brief(row)
            }

        with orch.lock:  # the project chosen and the work done in one turn
            if project_root:
                _initialize(project_root)
            return orch.call(work)

    def _status_tool(target: str, verb: str):
        def change(session_id: str) -> Annotated[CallToolResult, SessionReply]:
            def work(p: Project):
                row = sessions.change_status(p, session_id, target)
                return f"Session {row['session_id']} is {row['status']}.", {
                    "session": session_brief(row)
                }

            return orch.call(work)

        change.__doc__ = (
            f"{verb} a session (id, unique id prefix or name). Refused where the spec's"
            " state machine does not allow it; the message lists the allowed moves."
        )
        return change

    for target, verb in (
        ("active", "Activate (the active one is paused)"),
        ("paused", "Pause"),
        ("completed", "Complete"),
        ("cancelled", "Cancel"),
    ):
        name = "activate" if target == "active" else sessions.VERB[target]
        server.add_tool(_status_tool(target, verb), name=f"orchestrator_session_{name}")

    @tool()
    def orchestrator_session_list(
        status_filter: str | None = None, include_archived: bool = False
    ) -> Annotated[CallToolResult, SessionList]:
        """Sessions, the active one first. status_filter: active, paused, completed,
        archived, cancelled, ...; archived sessions only with include_archived."""

        def work(p: Project):
            rows = sessions.list_sessions(p, status_filter, include_archived)
            listed = trimmed([session_brief(r) for r in rows], ROWS)
            return shown_of(len(listed), len(rows), "session"), {
                "sessions": listed,
                "total": len(rows),
            }

        return orch.call(work)

    @tool()
    def orchestrator_session_archive(
        session_id: str, export_format: Literal["markdown", "json", "zip"] = "markdown"
    ) -> Reply:
        """Archive a session and write its export under .task_orchestrator/archives/
        (markdown, json or zip), in one commit. Archived sessions leave the default
        lists and can be activated again."""

        def work(p: Project):
            out = archive.archive_session(p, session_id, export_format)
            return f"Archived {out['session_id']}; export: {out['export']}.", out

        return orch.call(work)

    # -- groups ------------------------------------------------------------------------

    @tool()
    def orchestrator_group_create(
        group_name: str,
        description: str = "",
        specialist_focus: str | None = None,
        parent_group: str | None = None,
        priority_level: int | None = None,
        session_id: str | None = None,
    ) -> Reply:
        """Create a task group in the active session (or session_id); parent_group nests it."""

        def work(p: Project):
            row = groups.create_group(
                p,
                group_name,
                session=session_id,
                description=description,
                specialist_focus=specialist_focus,
                priority_level=priority_level,
                parent=parent_group,
            )
            keep = ("group_id", "session_id", "group_name", "parent_group_id",
                    "specialist_focus", "priority_level", "file_path")  # fmt: skip
            return f"Created group {row['group_id']} {row['group_name']!r}.", {
                "group": {k: row.get(k) for k in keep}
            }

        return orch.call(work)

    @tool()
    def orchestrator_group_move_tasks(
        task_ids: list[str] | str, target_group: str, preserve_dependencies: bool = True
    ) -> Reply:
        """Move tasks (their subtasks follow) into a group of their session, in one
        commit. preserve_dependencies=false drops links between moved and unmoved tasks."""

        def work(p: Project):
            rows = groups.move_tasks(p, split_ids(task_ids), target_group, preserve_dependencies)
            moved = [task_brief(r) for r in rows]
            return f"Moved {len(moved)} task(s) to {target_group!r}.", {
                "moved": trimmed(moved, ROWS),
                "count": len(moved),
            }

        return orch.call(work)

    # -- modes -------------------------------------------------------------------------

    @tool()
    def orchestrator_mode_select(
        mode_file: str, validate_first: bool = True, session_id: str | None = None
    ) -> Reply:
        """Bind a mode (a role file in .task_orchestrator/roles/, e.g. research_roles.yaml
        or "research") to the active session (or session_id)."""

        def work(p: Project):
            row = modes.select_mode(p, mode_file, session_id, validate_first)
            return f"Session {row['session_id']} uses {row['mode_id']}.", {"binding": row}

        return orch.call(work)

    @tool()
    def orchestrator_mode_list(include_invalid: bool = True) -> Reply:
        """The modes in .task_orchestrator/roles/: validity, roles, sessions using each."""

        def work(p: Project):
            rows = modes.list_modes(p, include_invalid)
            keep = ("mode_id", "description", "is_valid", "specialist_roles", "session_count",
                    "validation_errors")  # fmt: skip
            listed = trimmed([{k: r.get(k) for k in keep} for r in rows], ROWS)
            return shown_of(len(listed), len(rows), "mode"), {"modes": listed, "total": len(rows)}

        return orch.call(work)

    # -- discovery and upkeep ----------------------------------------------------------

    @tool()
    def orchestrator_search(
        query: str,
        scope: Literal["active", "all_sessions", "archived"] = "active",
        content_types: list[Literal["tasks", "notes", "decisions", "learnings", "all"]]
        | None = None,
        status: list[str] | None = None,
        group: str | None = None,
        specialist_type: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Annotated[CallToolResult, SearchReply]:
        """Full-text search (every word, also as a prefix) over tasks (title, description,
        results) and session notes (decisions, learnings, next steps); best first, the
        hit shown in a snippet."""

        def work(p: Project):
            offset = decode_cursor(cursor)
            out = search.search(
                p,
                query,
                scope=scope,
                content_types=content_types or ["all"],
                status=status or (),
                group=group,
                specialist_type=specialist_type,
                limit=max(1, min(limit, 100)),
                offset=offset,
            )
            if "tasks" in out:
                out["tasks"] = trimmed(out["tasks"], ROWS // 2)
                shown = offset + len(out["tasks"])
                out["next_cursor"] = encode_cursor(shown) if shown < out["task_total"] else None
            if "notes" in out:
                out["notes"] = trimmed(out["notes"], ROWS // 3)
            found = f"{out.get('task_total', 0)} task(s), {len(out.get('notes', []))} note(s)"
            return f"Found {found} for {query!r}.", out

        return orch.call(work)

    @tool()
    def orchestrator_cleanup(
        scope: Literal["active_session", "all_sessions"] = "active_session", dry_run: bool = True
    ) -> Reply:
        """Find what points nowhere: tasks whose parent or group is gone, dependencies on
        deleted tasks, empty groups, artifacts of deleted tasks. dry_run (the default)
        only lists them; dry_run=false fixes them in one commit."""

        def work(p: Project):
            out = cleanup_reply(cleanup.cleanup(p, scope, apply=not dry_run))
            verb = "would fix" if dry_run else "fixed"
            return f"Cleanup {verb} {out['findings_total']} item(s).", out

        return orch.call(work)

    # -- the orchestration workflow ----------------------------------------------------

    def _initialize(working_directory: str) -> Project:
        from orchestrator.core.setup import init_project

        given = Path(working_directory).expanduser()
        if not given.is_absolute():
            if orch.project is None:
                raise ToolError(
                    f"working_directory {working_directory!r} is relative; give the project's"
                    " absolute path"
                )
            given = orch.project.root / given
        path = given.resolve()  # `..` and symbolic links followed to where they lead
        if orch.bound is not None:
            # Judged before anything is looked at there: a client learns nothing of
            # what lies outside.
            inside = path.is_relative_to(orch.bound)  # the root itself included
            if not inside or (path != orch.bound and (path / ".task_orchestrator").exists()):
                raise ToolError(
                    f"this server serves the project at {orch.bound} alone (started with"
                    f" --root or ORCH_ROOT); working_directory {working_directory!r} is"
                    f" {'another project' if inside else 'outside it'}. Start a server for"
                    " that project: orch mcp --root <its directory>"
                )
            return orch.project
        if not given.is_dir():
            raise ToolError(
                f"working_directory {str(given)!r} is not an existing directory; give the"
                " project's absolute path"
            )
        why = refused_root(path)
        if why:
            raise ToolError(f"{why}; give the project's absolute path as working_directory")
        if orch.project is not None and orch.project.root == path:
            return orch.project
        try:
            project = Project.find(path) if (path / ".task_orchestrator").is_dir() else None
            if project is None:
                project, _ = init_project(path)
        except OrchError as e:
            raise ToolError(for_client(str(e))) from None
        except OSError as e:
            raise ToolError(f"cannot set up {path}: {os_error_message(e)}") from None
        orch.use(project)
        return project

    @tool()
    def orchestrator_initialize_session(
        working_directory: str | None = None, session_name: str = ""
    ) -> Reply:
        """Start orchestrating in a project: working_directory is the project directory
        where .task_orchestrator/ lives (created there if missing). With no session
        active, one is created (named session_name, or after the directory). Returns
        the active session and the planner's role from its mode."""

        def work(p: Project):
            out = workflow.initialize(p, session_name or p.root.name)
            active = out["active_session"]
            where = (
                f"session {active['session_id']} {active['name']!r}" if active else "no session yet"
            )
            return f"Project {p.root}: {where}.", out

        with orch.lock:  # the project chosen and the work done in one turn
            if working_directory:
                _initialize(working_directory)
            return orch.call(work)

    @tool()
    def orchestrator_plan_task(
        description: str,
        subtasks: list[dict[str, Any]] | None = None,
        subtasks_json: str | list[dict[str, Any]] | None = None,
        complexity_level: Literal["simple", "moderate", "complex", "very_complex"] | None = None,
        context: str = "",
        title: str = "",
        group: str | None = None,
        session_id: str | None = None,
    ) -> Reply:
        """Record a piece of work and its breakdown, in one commit: a parent task for the
        description, one subtask per item of `subtasks` (or the legacy JSON text
        `subtasks_json`), each {title, description, specialist_type, dependencies,
        estimated_effort (hours)}. dependencies name subtasks of this plan (title or
        number from 1) or existing tasks (id). Creates a session if none is active."""

        def work(p: Project):
            items = workflow.parse_subtasks(subtasks, subtasks_json)
            out = workflow.plan_task(
                p,
                description,
                items,
                title=title,
                complexity_level=complexity_level,
                context=context,
                session=session_id,
                group=group,
            )
            out["subtasks"] = trimmed(out["subtasks"], ROWS // 2)
            parent = out["parent_task"]
            return (
                f"Planned {parent['task_id']} {parent['title']!r} with {len(items)} subtask(s);"
                f" {len(out['ready'])} ready.",
                out,
            )

        return orch.call(work)

    @tool()
    def orchestrator_execute_subtask(task_id: str, force: bool = False) -> Reply:
        """Start a task (in progress) and get what its specialist needs: the role
        (role_definition, expertise, approach, output_format) from the session's mode,
        the task, its parent, and its dependencies' results. Refused while dependencies
        are unfinished, unless force."""

        def work(p: Project):
            out = workflow.execute_subtask(p, task_id, force=force)
            task = out["task"]
            role = out["specialist"].get("role") or "no specialist"
            return f"{task['task_id']} {task['title']!r} is in progress ({role}).", out

        return orch.call(work)

    @tool()
    def orchestrator_complete_subtask(
        task_id: str,
        summary: str = "",
        detailed_work: str = "",
        file_paths: list[str] | None = None,
        artifact_type: str = "general",
        next_action: Literal["continue", "needs_revision", "blocked", "complete"] = "continue",
        actual_effort: int | None = None,
        results: str = "",
        artifacts: list[str] | str | None = None,
    ) -> Reply:
        """Report a task's outcome: summary goes under `## Results` in its file,
        detailed_work into an artifact file (artifacts/<task_id>/) so replies stay small,
        file_paths are the files touched. next_action: continue or complete (the task is
        completed), needs_revision, blocked. `results` and `artifacts` are the older names
        of summary and file_paths."""

        def work(p: Project):
            paths = [*(file_paths or []), *split_ids(artifacts)]
            out = workflow.complete_subtask(
                p,
                task_id,
                summary or results or "",
                detailed_work=detailed_work,
                file_paths=paths,
                artifact_type=artifact_type,
                next_action=next_action,
                actual_effort=actual_effort,
            )
            task = out["task"]
            return f"{task['task_id']} {task['title']!r} is {task['status']}.", out

        return orch.call(work)

    @tool()
    def orchestrator_synthesize_results(parent_task_id: str) -> Reply:
        """Combine the results of a task's subtasks into its file (`## Synthesis`); the
        task is completed when all its subtasks are finished."""

        def work(p: Project):
            out = workflow.synthesize_results(p, parent_task_id)
            parent = out["parent_task"]
            return (
                f"Synthesized {out['finished']} of {out['total']} subtasks into"
                f" {parent['file_path']} ({parent['status']}).",
                out,
            )

        return orch.call(work)

    @tool()
    def orchestrator_get_status(
        include_completed: bool = False,
    ) -> Annotated[CallToolResult, StatusReply]:
        """Where things stand: the active session and its progress, groups, tasks in
        progress and ready, other sessions, problems and conflicts."""

        def work(p: Project):
            out = workflow.get_status(p, include_completed)
            active = out["active_session"]
            if active:
                text = (
                    f"Session {active['session_id']} {active['name']!r}:"
                    f" {active['completed_tasks']}/{active['total_tasks']} completed,"
                    f" {out['ready_count']} ready."
                )
            else:
                text = "No session is active."
            return text, out

        return orch.call(work)

    @tool()
    def orchestrator_maintenance_coordinator(
        action: Literal[
            "scan_cleanup", "validate_structure", "update_documentation", "prepare_handover"
        ],
        scope: Literal["active_session", "all_sessions"] = "active_session",
    ) -> Reply:
        """Upkeep: scan_cleanup (what cleanup would fix, changing nothing),
        validate_structure (every problem in the files, as `orch doctor`),
        update_documentation (regenerate every session.md view and commit),
        prepare_handover (where the work stands, written to session.md's Next Steps)."""

        def work(p: Project):
            if action == "scan_cleanup":
                out = cleanup_reply(cleanup.cleanup(p, scope, apply=False))
                return f"{out['findings_total']} item(s) to clean up.", out
            if action == "validate_structure":
                found = [
                    {"where": f"{x.path}:{x.line}" if x.line else x.path, "severity": x.severity,
                     "problem": x.message, "fix": x.fix}
                    for x in board.problems(p)
                ]  # fmt: skip
                bad_modes = [m.file_name for m in modes.validate_modes(p) if not m.is_valid]
                out = {"problems_total": len(found), "problems": trimmed(found, ROWS // 2),
                       "invalid_modes": bad_modes}  # fmt: skip
                return f"{len(found)} problem(s); {len(bad_modes)} invalid mode(s).", out
            if action == "update_documentation":
                out = remote.sync(p)
                p.follow_views = False
                return f"Views regenerated; {len(out['commits'])} commit(s).", out
            out = workflow.handover(p)
            return f"Handover written to {out['file']}.", out

        return orch.call(work)

    # -- records -----------------------------------------------------------------------

    @tool()
    def orchestrator_task_create(
        title: str,
        description: str = "",
        group: str | None = None,
        parent_task_id: str | None = None,
        specialist_type: str | None = None,
        complexity_level: Literal["simple", "moderate", "complex", "very_complex"] | None = None,
        priority_level: int | None = None,
        estimated_effort: int | None = None,
        dependencies: list[str] | None = None,
        session_id: str | None = None,
    ) -> Annotated[CallToolResult, TaskReply]:
        """Create a task in the active session (or session_id, or its parent's).
        priority_level: 1 urgent .. 5 someday; estimated_effort in hours."""

        def work(p: Project):
            row = tasks.add_task(
                p,
                title,
                session=session_id,
                group=group,
                parent=parent_task_id,
                description=description,
                specialist_type=specialist_type,
                complexity_level=complexity_level,
                priority_level=priority_level,
                estimated_effort=estimated_effort,
                depends_on=dependencies or (),
            )
            return f"Created {row['task_id']} {row['title']!r}.", {
                "task": task_brief(row) | {"file_path": row["file_path"]}
            }

        return orch.call(work)

    @tool()
    def orchestrator_task_update(
        task_id: str,
        title: str = "",
        status: Literal[
            "pending",
            "in_progress",
            "blocked",
            "needs_revision",
            "completed",
            "failed",
            "cancelled",
        ]
        | None = None,
        description: str = "",
        specialist_type: str | None = None,
        complexity_level: Literal["simple", "moderate", "complex", "very_complex"] | None = None,
        priority_level: int | None = None,
        estimated_effort: int | None = None,
        actual_effort: int | None = None,
        dependencies: list[str] | None = None,
        add_dependencies: list[str] | None = None,
        remove_dependencies: list[str] | None = None,
    ) -> Annotated[CallToolResult, TaskReply]:
        """Change a task's fields (those left empty stay as they are). dependencies
        replaces the list; add_/remove_dependencies edit it. description replaces the
        file's body."""

        def work(p: Project):
            row = tasks.update_task(
                p,
                task_id,
                title=title or None,
                status=status,
                description=description or None,
                specialist_type=specialist_type,
                complexity_level=complexity_level,
                priority_level=priority_level,
                estimated_effort=estimated_effort,
                actual_effort=actual_effort,
                depends_on=dependencies,
                add_dependencies=add_dependencies or (),
                remove_dependencies=remove_dependencies or (),
            )
            return f"Updated {row['task_id']} {row['title']!r} ({row['status']}).", {
                "task": task_brief(row) | {"depends_on": row["depends_on"]}
            }

        return orch.call(work)

    def _task_detail(p: Project, task_id: str, full: bool) -> Data:
        row = tasks.show_task(p, task_id)
        limit = 10**9 if full else 3000
        detail = {k: v for k, v in row.items() if k not in ("subtasks", "blocked_tasks")}
        detail["description"] = cut(row["description"], limit, row["file_path"])
        for key in ("subtasks", "blocked_tasks"):
            rows = row[key]
            detail[key] = rows if full else rows[:20]
            if len(rows) > len(detail[key]):
                detail[f"{key}_total"] = len(rows)
        return detail

    @tool()
    def orchestrator_task_get(
        task_id: str, full: bool = False
    ) -> Annotated[CallToolResult, TaskReply]:
        """A task with its subtasks, dependencies, the tasks it blocks and any problem in
        its file. Long descriptions are cut unless full=true."""

        def work(p: Project):
            detail = _task_detail(p, task_id, full)
            return f"{detail['task_id']} {detail['title']!r} ({detail['status']}).", {
                "task": detail
            }

        return orch.call(work, budget=None if full else REPLY_BUDGET)

    @tool()
    def orchestrator_task_delete(task_id: str, cascade: bool = False) -> Reply:
        """Delete a task's file and its artifacts; its subtasks too with cascade (else
        refused). Tasks that depended on it no longer do. One commit."""

        def work(p: Project):
            out = tasks.delete_task(p, task_id, cascade=cascade)
            return f"Deleted {', '.join(out['deleted'])}.", out

        return orch.call(work)

    @tool()
    def orchestrator_task_cancel(
        task_id: str, reason: str = ""
    ) -> Annotated[CallToolResult, TaskReply]:
        """Cancel a task (it stops blocking others); reason is noted in its file."""

        def work(p: Project):
            row = tasks.cancel_task(p, task_id, reason)
            return f"Cancelled {row['task_id']} {row['title']!r}.", {"task": task_brief(row)}

        return orch.call(work)

    def _task_page(
        status: list[str] | str | None,
        group: str | None,
        specialist_type: str | None,
        parent_task_id: str | None,
        ready: bool,
        session_id: str | None,
        all_sessions: bool,
        limit: int,
        cursor: str | None,
        fields: list[str] | None,
    ):
        from orchestrator.core.workflow import SUMMARY

        def work(p: Project):
            offset = decode_cursor(cursor)
            wanted = None if fields and "all" in fields else (fields or list(SUMMARY))
            total, rows = tasks.page_tasks(
                p,
                limit=max(1, min(limit, 500)),
                offset=offset,
                fields=wanted,
                ready=ready,
                session=session_id,
                all_sessions=all_sessions,
                group=group,
                status=split_ids(status),
                specialist_type=specialist_type,
                parent=parent_task_id,
            )
            shown = trimmed(rows, ROWS)
            end = offset + len(shown)
            data = {"tasks": shown, "total": total,
                    "next_cursor": encode_cursor(end) if end < total else None}  # fmt: skip
            more = " next_cursor gives the next page." if data["next_cursor"] else ""
            return f"Tasks {offset + 1 if shown else 0}–{end} of {total}.{more}", data

        return orch.call(work)

    @tool()
    def orchestrator_task_list(
        status: list[str] | str | None = None,
        group: str | None = None,
        specialist_type: str | None = None,
        parent_task_id: str | None = None,
        ready: bool = False,
        session_id: str | None = None,
        all_sessions: bool = False,
        limit: int = PAGE,
        cursor: str | None = None,
        fields: list[str] | None = None,
    ) -> Annotated[CallToolResult, TaskPage]:
        """Tasks of the active session (or session_id, or all_sessions), filtered; ready:
        pending tasks whose dependencies and subtasks are done, urgent first. Pages of
        `limit` (50) rows with summary fields; pass next_cursor back as cursor. fields:
        the columns wanted (["all"] for every one; a page of wide rows is shorter)."""
        return _task_page(status, group, specialist_type, parent_task_id, ready, session_id,
                          all_sessions, limit, cursor, fields)  # fmt: skip

    @tool()
    def orchestrator_query_tasks(
        status: list[str] | str | None = None,
        specialist_type: str | None = None,
        group: str | None = None,
        parent_task_id: str | None = None,
        ready: bool = False,
        session_id: str | None = None,
        all_sessions: bool = False,
        limit: int = PAGE,
        cursor: str | None = None,
        fields: list[str] | None = None,
    ) -> Annotated[CallToolResult, TaskPage]:
        """The legacy name of orchestrator_task_list (same filters and paging)."""
        return _task_page(status, group, specialist_type, parent_task_id, ready, session_id,
                          all_sessions, limit, cursor, fields)  # fmt: skip

    @tool()
    def orchestrator_sync() -> Reply:
        """Pick up edits made outside orch (editors, git), regenerate the session.md views,
        commit what is not committed, and report conflicts."""

        def work(p: Project):
            out = remote.sync(p)
            p.follow_views = False
            found = f"; conflicts in {', '.join(out['conflicts'])}" if out["conflicts"] else ""
            return f"Synced: {len(out['commits'])} commit(s){found}.", out

        return orch.call(work)

    @tool()
    def orchestrator_resolve_conflict(
        record_id: str,
        strategy: Literal["db_wins", "md_wins", "merge"],
        picks: dict[str, Literal["ours", "theirs", "base"]] | None = None,
    ) -> Reply:
        """Settle a record's merge conflict: db_wins keeps orch's side, md_wins the other
        side, merge takes per-field picks ({"status": "theirs"}). One commit."""

        def work(p: Project):
            out = conflicts.resolve(p, record_id, strategy, picks)
            return f"Resolved {out['record_id']} ({strategy}).", out

        return orch.call(work)

    @tool()
    def orchestrator_note(
        kind: Literal["decision", "learning", "next"], text: str, session_id: str | None = None
    ) -> Reply:
        """Add a dated entry to the session's notes in session.md (Decisions Made, Key
        Learnings or Next Steps)."""

        def work(p: Project):
            out = views.add_note(p, kind, text, session_id)
            return f"Noted in {out['file']}.", out

        return orch.call(work)

    @tool()
    def orchestrator_conflicts() -> Reply:
        """Records in merge conflict, with the fields and lines both sides changed."""

        def work(p: Project):
            found = conflicts.list_conflicts(p)
            listed = trimmed(found, ROWS)
            return shown_of(len(listed), len(found), "record in conflict"), {
                "conflicts": listed,
                "total": len(found),
            }

        return orch.call(work)

    # -- resources: shared context for several agents ---------------------------------

    def _read(work: Callable[[Project], Data]) -> str:
        with orch.lock:
            project = orch.project
            if project is None:
                raise ResourceError("no project yet: call orchestrator_initialize_session first")
            try:
                return json.dumps(work(project), ensure_ascii=False, default=str)
            except OrchError as e:
                raise ResourceError(for_client(str(e))) from None
            except OSError as e:
                raise ResourceError(os_error_message(e)) from None
            finally:
                project.warnings.clear()

    @server.resource(
        "orch://session/active",
        name="active_session",
        description="The active session: its record, mode configuration, groups, active"
        " tasks and the path of its session.md",
        mime_type="application/json",
    )
    def active_session_resource() -> str:
        def work(p: Project) -> Data:
            from orchestrator.core import lookup

            with p.reading() as db:
                row = lookup.active_session(db)
            if row is None:
                return {"session": None, "note": "no session is active"}
            shown = sessions.show_session(p, row["session_id"])
            mode = workflow.planning_context(p)
            with p.reading() as db:
                active = db.records(
                    "SELECT * FROM tasks WHERE session_id = ? AND status IN ('in_progress',"
                    " 'blocked', 'needs_revision') ORDER BY task_id LIMIT 50",
                    [row["session_id"]],
                )
                ready = workflow.ready_tasks(p, db, row["session_id"], limit=20)
            return {
                "session": session_brief(shown),
                "mode": {
                    "mode_file": shown["mode_file"],
                    "binding": shown["mode_binding"],
                    "specialist_roles": mode.get("specialist_roles"),
                },
                "groups": [
                    {
                        k: g.get(k)
                        for k in (
                            "group_id",
                            "group_name",
                            "specialist_focus",
                            "total_tasks",
                            "completed_tasks",
                            "progress_percentage",
                        )
                    }
                    for g in shown["groups"]
                ],
                "active_tasks": [task_brief(t) for t in active],
                "ready_tasks": [task_brief(t) for t in ready],
                "status_counts": shown["status_counts"],
                "markdown_path": shown["markdown_file_path"],
            }

        return _read(work)

    @server.resource(
        "orch://task/{task_id}",
        name="task",
        description="One task: its fields, subtasks, dependencies and the tasks it blocks",
        mime_type="application/json",
    )
    def task_resource(task_id: str) -> str:
        return _read(lambda p: _task_detail(p, task_id, full=False))

    server.orch = orch  # for tests and embedding: the project the server works on
    return server


def client_config(root: Path, command: str) -> dict[str, Any]:
    """The configuration snippets that run this server for `root`, per client."""
    args = ["mcp", "--root", str(root)]
    entry = {"command": command, "args": args}
    return {
        "claude_desktop": {"mcpServers": {"orch": entry}},
        "claude_code": "claude mcp add orch -- " + " ".join([command, *args]),
        "cursor": {"mcpServers": {"orch": entry}},
        "vscode": {"servers": {"orch": {"type": "stdio", **entry}}},
    }


def run(root: str | os.PathLike | None = None) -> None:
    """Serve over stdio until the client closes the connection."""
    import gc

    gc.enable()  # a long-lived process: let the collector run
    build_server(root).run("stdio")
