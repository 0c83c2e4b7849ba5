"""The MCP server: the tools of tools/<area>.py described by catalog.py, the resources
of resources.py and the prompts of prompts.py, answered over protocol.py's session.

`build_server(root, tools=..., read_only=...)` makes one; `run()` serves it over stdio.
A server is also a transport the SDK's `mcp.Client` connects to in process (tests,
embedding): `Client(build_server(root))`.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import sys
import typing
from collections.abc import Callable
from typing import Any, ClassVar

from typing_extensions import is_typeddict

from orchestrator import __version__
from orchestrator.core.progress import QUIET
from orchestrator.errors import InvalidInput, OrchError
from orchestrator.mcp import catalog, prompts, resources
from orchestrator.mcp.context import Context
from orchestrator.mcp.errors import ResourceError, ToolError, argument_errors, tool_error
from orchestrator.mcp.protocol import (
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    Request,
    RpcError,
    negotiate,
    serve_stdio,
)
from orchestrator.mcp.replies import ToolResult
from orchestrator.mcp.served import Served
from orchestrator.mcp.tools import (
    export,
    groups,
    maintenance,
    modes,
    search,
    sessions,
    tasks,
    workflow,
)

INSTRUCTIONS = """\
orch keeps sessions, task groups and tasks as Markdown files in the project's
.task_orchestrator/ folder; every change is a git commit.
Workflow: orchestrator_initialize_session(working_directory) -> orchestrator_plan_task
(description, subtasks) -> for each ready subtask: orchestrator_execute_subtask(task_id),
do the work, orchestrator_complete_subtask(task_id, summary, detailed_work) ->
orchestrator_synthesize_results(parent_task_id). orchestrator_get_status says where things
stand. Every reply's next_step says what to do next.
Parameters mean the same in every tool: task_id and other ids accept any unique start of
one; session_id (an id, its start or the name) defaults to the active session; group is a
group's id or name; specialist_type names a role of the session's mode; efforts are hours
(3, 2.5, "2h", "90m"); priority_level is 1 (urgent) to 5 (someday); labels are text, comma
separated ("bug,ui"; a task list gives the tasks having all); due is a date, YYYY-MM-DD,
today, tomorrow or +3d; "" clears an assignee or a due date. Lists are paged: pass
a reply's next_cursor back as cursor."""

TOOLS: list[Callable[..., Any]] = [
    *workflow.TOOLS,
    *tasks.TOOLS,
    *search.TOOLS,
    *sessions.TOOLS,
    *groups.TOOLS,
    *modes.TOOLS,
    *maintenance.TOOLS,
    *export.TOOLS,
]


def tool_set_of(name: str | None) -> str:
    """The tool set asked for (`--tools`, else ORCH_MCP_TOOLS, else the default)."""
    chosen = (name or os.environ.get("ORCH_MCP_TOOLS") or catalog.DEFAULT_TOOL_SET).lower()
    if chosen not in catalog.TOOL_SETS:
        raise InvalidInput(
            f"tool set {chosen!r} is not one of {', '.join(catalog.TOOL_SETS)}"
            " (--tools or ORCH_MCP_TOOLS)"
        )
    return chosen


def offered(tool_set: str, read_only: bool) -> list[Callable[..., Any]]:
    """The tools a server with this tool set (and read-only or not) offers."""
    rank = catalog.TOOL_SETS.index(tool_set)
    return [
        tool
        for tool in TOOLS
        if catalog.TOOL_SETS.index(catalog.CATALOG[tool.__name__].tool_set) <= rank
        and (catalog.CATALOG[tool.__name__].read_only or not read_only)
    ]


# -- tools -------------------------------------------------------------------------------


def parameters(tool: Callable[..., Any], hints: dict[str, Any] | None = None) -> list[str]:
    """The parameters a client passes to `tool` (all but the Context); `hints`: its
    annotations, if already read."""
    if hints is None:
        hints = inspect.get_annotations(tool, eval_str=True)
    return [name for name in inspect.signature(tool).parameters if hints.get(name) is not Context]


class Tool:
    """One tool: its function, what the catalog says of it, and (made on first use, so
    a start builds none) the model that checks its arguments and its listing."""

    def __init__(self, function: Callable[..., Any]):
        self.function = function
        self.name = function.__name__
        self.entry = catalog.CATALOG[self.name]
        self.hints = inspect.get_annotations(function, eval_str=True)
        self.parameters = parameters(function, self.hints)
        self._model: Any = None
        self._listing: dict[str, Any] | None = None

    def model(self) -> Any:
        if self._model is None:
            from pydantic import ConfigDict, Field, create_model

            fields: dict[str, Any] = {}
            for name, param in inspect.signature(self.function).parameters.items():
                if name not in self.parameters:
                    continue
                default = ... if param.default is inspect.Parameter.empty else param.default
                said = catalog.PARAMETERS.get(name)
                fields[name] = (self.hints.get(name, Any), Field(default, description=said))
            config = ConfigDict(arbitrary_types_allowed=True)
            self._model = create_model(f"{self.name}_arguments", __config__=config, **fields)
        return self._model

    def listing(self, legacy: bool = True) -> dict[str, Any]:
        """What tools/list says of the tool (`legacy`: with the older parameter names)."""
        if self._listing is None:
            doc = inspect.cleandoc(self.function.__doc__ or "")
            self._listing = {
                "name": self.name,
                "title": self.entry.title,
                "description": " ".join(doc.split()),
                "inputSchema": compact(self.model().model_json_schema()),
                "outputSchema": self.output_schema(),
                "annotations": self.entry.annotations(),
            }
        if legacy:
            return self._listing
        schema = self._listing["inputSchema"]
        kept = {k: v for k, v in schema["properties"].items() if k not in catalog.LEGACY_PARAMETERS}
        return self._listing | {"inputSchema": schema | {"properties": kept}}

    def output_schema(self) -> dict[str, Any]:
        """The shape of the structured reply: the catalog's keys, else the TypedDict of
        the return annotation."""
        from pydantic import TypeAdapter

        returned = self.hints.get("return")
        shape = typing.get_args(returned)[1] if typing.get_args(returned) else None
        if self.entry.output is None and shape is not None and is_typeddict(shape):
            return shallow(compact(TypeAdapter(shape).json_schema(), inputs=False))
        keys = dict(self.entry.output or {})
        return {"type": "object", "properties": {k: {"type": t} for k, t in keys.items()}}

    def call(self, served: Served, request: Request | None, arguments: dict[str, Any]) -> Any:
        from pydantic import ValidationError

        unknown = sorted(set(arguments) - set(self.parameters))
        if unknown:
            raise ToolError(
                f"{self.name} takes no argument {', '.join(map(repr, unknown))}; its"
                f" arguments are: {', '.join(self.parameters) or 'none'}",
                candidates=self.parameters,
            )
        try:
            given = self.model().model_validate(self._json_texts(arguments))
        except ValidationError as error:
            raise argument_errors(self.name, error.errors(), self.parameters) from None
        ctx = Context(served, request)
        served.local.call_progress = ctx.progress
        try:
            return self.function(ctx, **{name: getattr(given, name) for name in self.parameters})
        finally:
            served.local.call_progress = QUIET

    def _json_texts(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Lists and objects some clients send as JSON text, read as what they hold
        (where the parameter takes no text itself)."""
        properties = self.listing()["inputSchema"].get("properties", {})
        out = dict(arguments)
        for name, value in arguments.items():
            if not isinstance(value, str) or value.strip()[:1] not in ("[", "{"):
                continue
            if "string" in json_types(properties.get(name, {})):
                continue
            with contextlib.suppress(ValueError):
                out[name] = json.loads(value)
        return out


def json_types(schema: dict[str, Any]) -> set[str]:
    kinds = schema.get("type", [])
    found = set(kinds if isinstance(kinds, list) else [kinds])
    for option in schema.get("anyOf", []):
        found |= json_types(option)
    return found


def compact(schema: Any, inputs: bool = True) -> Any:
    """A JSON schema without what a client does not need, for a tools/list a third of
    the generated size: no generated titles, no defaults that say "nothing" (None, "",
    false), no `"additionalProperties": true`, `null` left out of an optional value's
    types (leaving it out is how a client says none), and `anyOf` of plain types said as
    one list of types."""
    if isinstance(schema, list):
        return [compact(s, inputs) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" or (key == "default" and value in (None, "", False, [])):
            continue
        if key == "additionalProperties" and value is True:
            continue
        if key in ("properties", "$defs"):
            out[key] = {name: compact(s, inputs) for name, s in value.items()}
        else:
            out[key] = compact(value, inputs)
    options = [o for o in out.get("anyOf", []) if not inputs or o != {"type": "null"}]
    if "anyOf" in out and len(options) == 1:
        del out["anyOf"]
        out = options[0] | out
    elif options and all(set(o) == {"type"} and isinstance(o["type"], str) for o in options):
        del out["anyOf"]
        out["type"] = [o["type"] for o in options]
    elif "anyOf" in out:
        out["anyOf"] = options
    if inputs and isinstance(out.get("type"), list) and "null" in out["type"]:
        kinds = [k for k in out["type"] if k != "null"]
        out["type"] = kinds[0] if len(kinds) == 1 else kinds
    return out


def shallow(schema: dict[str, Any]) -> dict[str, Any]:
    """An output schema with each key's JSON type (the rows' fields are the tools'
    business: `fields` and the text say them). `warnings`, which any reply may carry,
    is left to the object's open properties."""
    properties = {
        key: {"type": value["type"] if "type" in value else sorted(json_types(value))}
        for key, value in schema.get("properties", {}).items()
        if key != "warnings"
    }
    return {"type": "object", "properties": properties}


# -- the server --------------------------------------------------------------------------


class OrchServer:
    """The protocol's handler over one project's `Served` state (`orch`, for tests and
    embedding): tools, resources, prompts and completions."""

    def __init__(self, orch: Served, tool_set: str = catalog.DEFAULT_TOOL_SET):
        self.orch = orch
        self.tool_set = tool_set
        self.tools = {t.__name__: Tool(t) for t in offered(tool_set, orch.read_only)}
        orch.tools = {name: tool.parameters for name, tool in self.tools.items()}
        self.subscriptions = resources.Subscriptions(orch)

    # -- the protocol's methods ------------------------------------------------------------

    def handle(self, method: str, params: dict[str, Any], request: Request) -> Any:
        answer = self.METHODS.get(method)
        if answer is None:
            raise RpcError(METHOD_NOT_FOUND, f"method not found: {method}")
        return answer(self, params, request)

    def initialize(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        request.session.protocol_version = negotiate(params.get("protocolVersion"))
        return {
            "protocolVersion": request.session.protocol_version,
            "capabilities": {
                "tools": {"listChanged": False},
                "resources": {"subscribe": True, "listChanged": False},
                "prompts": {"listChanged": False},
                "completions": {},
                "logging": {},
            },
            "serverInfo": {"name": "orch", "title": "orch", "version": __version__},
            "instructions": INSTRUCTIONS,
        }

    def list_tools(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        legacy = self.tool_set == "all"
        return {"tools": [tool.listing(legacy) for tool in self.tools.values()]}

    def call_tool(self, params: dict[str, Any], request: Request | None) -> ToolResult:
        name = params.get("name")
        tool = self.tools.get(name) if isinstance(name, str) else None
        if tool is None:
            more = " (this server is read-only)" if self.orch.read_only else ""
            raise RpcError(
                INVALID_PARAMS,
                f"unknown tool {name!r}{more}; the {self.tool_set} tool set offers:"
                f" {', '.join(self.tools)}",
            )
        arguments = params.get("arguments", {})
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise RpcError(INVALID_PARAMS, f"{name}: arguments must be an object")
        try:
            result = tool.call(self.orch, request, arguments)
        except ToolError as error:
            return failed(error)
        except (OrchError, OSError) as error:
            return failed(tool_error(error, self.orch.tools))
        version = request.session.protocol_version if request is not None else None
        if version is not None and version < "2025-06-18":  # no resource links before it
            result["content"] = [c for c in result["content"] if c["type"] != "resource_link"]
        return result

    def list_resources(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        return {"resources": resources.listed(self.orch)}

    def list_templates(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        return {"resourceTemplates": resources.TEMPLATES}

    def read_resource(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        try:
            return {"contents": [resources.read(self.orch, str(params.get("uri", "")))]}
        except ResourceError as error:
            raise RpcError(INVALID_PARAMS, str(error)) from None

    def subscribe(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        self.subscriptions.add(str(params.get("uri", "")), request.session)
        return {}

    def unsubscribe(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        self.subscriptions.remove(str(params.get("uri", "")))
        return {}

    def list_prompts(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        return {"prompts": prompts.listed()}

    def get_prompt(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        try:
            return prompts.get(self.orch, str(params.get("name")), params.get("arguments") or {})
        except (ToolError, OrchError) as error:
            raise RpcError(INVALID_PARAMS, str(error)) from None

    def complete(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        ref, argument = params.get("ref") or {}, params.get("argument") or {}
        if not isinstance(ref, dict) or not isinstance(argument, dict):
            raise RpcError(INVALID_PARAMS, "ref and argument must be objects")
        values = resources.completions(self.orch, ref, argument)
        return {"completion": {"values": values[:100], "total": len(values),
                               "hasMore": len(values) > 100}}  # fmt: skip

    def nothing(self, params: dict[str, Any], request: Request) -> dict[str, Any]:
        return {}

    METHODS: ClassVar[dict[str, Callable[..., Any]]] = {
        "initialize": initialize,
        "logging/setLevel": nothing,
        "tools/list": list_tools,
        "tools/call": call_tool,
        "resources/list": list_resources,
        "resources/templates/list": list_templates,
        "resources/read": read_resource,
        "resources/subscribe": subscribe,
        "resources/unsubscribe": unsubscribe,
        "prompts/list": list_prompts,
        "prompts/get": get_prompt,
        "completion/complete": complete,
    }

    # -- in process: the server as a transport of the SDK's client -------------------------

    async def __aenter__(self) -> Any:
        from orchestrator.mcp.in_process import connect

        self._connection = connect(self)
        return await self._connection.__aenter__()

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._connection.__aexit__(*exc)


def failed(error: ToolError) -> ToolResult:
    """A tool error as the result the client reads: the message as text, and the
    structured error (message, hint, candidates)."""
    return {
        "content": [{"type": "text", "text": error.message}],
        "structuredContent": error.structured(),
        "isError": True,
    }


def build_server(
    root: str | os.PathLike | None = None,
    tools: str | None = None,
    read_only: bool = False,
) -> OrchServer:
    """The MCP server over the project at `root` (see the package's docstring)."""
    return OrchServer(Served(root, read_only), tool_set_of(tools))


def run(
    root: str | os.PathLike | None = None, tools: str | None = None, read_only: bool = False
) -> None:
    """Serve over stdio until the client closes the connection."""
    import gc

    gc.enable()  # a long-lived process: let the collector run
    server = build_server(root, tools, read_only)
    try:
        serve_stdio(server)
    finally:
        server.subscriptions.close()
    sys.stderr.flush()
