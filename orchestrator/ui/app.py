"""The board's web application: a page (static/index.html and its script) and a JSON API
over the core, one core function per route, as the CLI calls them: a move on the board is
`update_task`, a session's button `change_status`, the search box `search`. Refusals
come back with the core's own message and hint; the page shows them where they happened.

`/api/events` streams server-sent events from the change feed (core/feed.py): each open
page hears of every change to the project's files and fetches what it shows again.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from orchestrator.core import kanban, search, sessions, tasks
from orchestrator.core.feed import ChangeFeed
from orchestrator.core.project import Project
from orchestrator.errors import (
    OPERATIONS,
    AmbiguousId,
    ChangedMeanwhile,
    InvalidInput,
    InvalidTransition,
    NotFound,
    OrchError,
    os_error_message,
)
from orchestrator.ui.markdown import to_html

STATIC = Path(__file__).parent / "static"
# The HTTP status of each kind of refusal; any other error of the core is a 400.
STATUS = {NotFound: 404, AmbiguousId: 409, InvalidTransition: 409, ChangedMeanwhile: 409,
          InvalidInput: 422}  # fmt: skip
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'"
    " 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none';"
    " form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
PING_S = 15.0  # a comment on an idle event stream, so proxies and browsers keep it open
LOOK_S = 0.25  # how often an idle stream looks whether the server is stopping


class Board:
    """The project the board serves, and one call at a time against it, all on one
    thread of their own (the index's connection belongs to the thread that opened it;
    a page's requests come on many)."""

    def __init__(self, root: Path):
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="orch-ui-calls")
        self.project: Project = self.worker.submit(Project.find, root).result()
        # A server asks the kernel what changed, not every file (index/journal.py).
        self.worker.submit(self.project.watch_changes).result()
        self.feed = ChangeFeed(self.project.layout.base)
        # Whether the server is stopping (set by server.py): open event streams then end.
        self.stopping: Callable[[], bool] = lambda: False

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)` on the board's thread, awaited."""
        return await asyncio.wrap_future(self.worker.submit(fn, *args))

    def close(self) -> None:
        self.feed.close()
        self.worker.shutdown(wait=True, cancel_futures=True)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Response:
        """`fn(project, *args, **kwargs)` as a JSON reply: `{"data", "warnings"}`, or
        `{"error", "hint", "warnings"}` with the status of the refusal."""
        try:
            data, status = {"data": fn(self.project, *args, **kwargs)}, 200
        except OrchError as e:
            data, status = refusal(e), STATUS.get(type(e), 400)
        except OSError as e:
            data, status = {"error": os_error_message(e)}, 500
        finally:
            warnings = [str(w) for w in self.project.finish_command()]
        return reply(data | {"warnings": warnings}, status)


def refusal(error: OrchError) -> dict[str, Any]:
    """A core error as the page shows it: the message, and the call that would succeed
    (its operation, arguments and what it does in words)."""
    hint = error.hint
    said = None
    if hint is not None:
        said = {"op": hint.op, "args": hint.args, "does": OPERATIONS.get(hint.op, "")}
    return {"error": str(error), "hint": said}


def reply(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False, default=str)
    return Response(body, status, media_type="application/json", headers=HEADERS)


MAX_BODY = 1_000_000  # bytes: a task's text is far less; a bigger body is refused unread


async def body_of(request: Request) -> Body:
    """A write's JSON object, read up to MAX_BODY bytes."""
    size = request.headers.get("content-length", "")
    if size.isdigit() and int(size) > MAX_BODY:
        raise InvalidInput(f"the request's body is over {MAX_BODY:,} bytes")
    chunks, read = [], 0
    async for chunk in request.stream():
        read += len(chunk)
        if read > MAX_BODY:
            raise InvalidInput(f"the request's body is over {MAX_BODY:,} bytes")
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks) or b"{}")
    except (ValueError, RecursionError):
        raise InvalidInput("the request's body is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput("the request's body is not a JSON object")
    return Body(data)


class Body:
    """A write's fields, each checked for the type the core takes (a title is text, a
    force is true or false): JSON's other types are refused, never coerced."""

    def __init__(self, data: dict[str, Any]):
        self.data = data

    def text(self, name: str, required: bool = False, empty: bool = False) -> str | None:
        """Text, or None if not given (nor given empty, unless `empty`: a text cleared)."""
        value = self.data.get(name)
        if value is None or (value == "" and not empty):
            if required:
                raise InvalidInput(f"{name} is required")
            return None
        if not isinstance(value, str):
            raise InvalidInput(f"{name} must be text, not {type(value).__name__}")
        return value

    def flag(self, name: str) -> bool:
        value = self.data.get(name, False)
        if not isinstance(value, bool):
            raise InvalidInput(f"{name} must be true or false, not {value!r}")
        return value

    def whole(self, name: str) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{name} must be a whole number, not {value!r}")
        return value


def number(request: Request, name: str, default: int) -> int:
    text = request.query_params.get(name)
    try:
        return int(text) if text else default
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number, not {text!r}") from None


async def page(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers=HEADERS)


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ("board.js", "live.js", "board.css", "favicon.svg"):
        return reply({"error": f"no file {name!r}"}, 404)
    return FileResponse(STATIC / name, headers=HEADERS)


def build_app(board: Board, *, hosts: set[str] | None, token: str | None, port: int) -> Any:
    """The web application over `board`, behind the guard (ui/guard.py)."""
    from orchestrator.ui.guard import Guard

    async def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Response:
        """`fn(project, ...)` on the board's thread; its arguments may be parsed there too
        (a bad one is then refused like any other input)."""
        return await board.run(lambda: board.call(fn, *args, **kwargs))

    async def written(request: Request, fn: Callable[[Project, Body], Any]) -> Response:
        try:
            data = await body_of(request)
        except OrchError as e:
            return reply(refusal(e) | {"warnings": []}, STATUS.get(type(e), 400))
        return await run(lambda project: fn(project, data))

    async def board_page(request: Request) -> Response:
        q = request.query_params
        limits = {}
        for part in filter(None, q.get("limits", "").split(",")):
            status, _, size = part.partition(":")
            if size.isdigit():
                limits[status] = int(size)
        return await run(kanban.board_columns, session=q.get("session") or None,
                         group=q.get("group") or None, limits=limits,
                         label=q.get("label") or None, assignee=q.get("assignee") or None)  # fmt: skip

    async def column(request: Request) -> Response:
        q = request.query_params
        return await run(lambda project: kanban.column_page(
            project, q.get("session", ""), q.get("status", ""), group=q.get("group") or None,
            offset=number(request, "offset", 0), limit=number(request, "limit", kanban.PAGE),
            label=q.get("label") or None, assignee=q.get("assignee") or None))  # fmt: skip

    async def task(request: Request) -> Response:
        return await run(task_page, request.path_params["task_id"])

    async def move(request: Request) -> Response:
        task_id = request.path_params["task_id"]
        return await written(request, lambda project, body: tasks.update_task(
            project, task_id, status=body.text("status", required=True),
            force=body.flag("force")))  # fmt: skip

    async def edit(request: Request) -> Response:
        task_id = request.path_params["task_id"]
        return await written(request, lambda project, body: tasks.update_task(
            project, task_id, title=body.text("title"),
            description=body.text("description", empty=True),
            description_was=body.text("description_was", empty=True)))  # fmt: skip

    async def add(request: Request) -> Response:
        return await written(request, lambda project, body: tasks.add_task(
            project, body.text("title", required=True) or "", session=body.text("session"),
            group=body.text("group"), description=body.text("description"),
            specialist_type=body.text("specialist_type"),
            priority_level=body.whole("priority_level"),
            estimated_effort=body.text("estimated_effort")))  # fmt: skip

    async def graph(request: Request) -> Response:
        return await run(graph_page, request.query_params.get("session") or None)

    async def find(request: Request) -> Response:
        q = request.query_params
        return await run(lambda project: search.search(
            project, q.get("q", ""), scope=q.get("scope") or "active",
            limit=number(request, "limit", 50), offset=number(request, "offset", 0)))  # fmt: skip

    async def session_list(request: Request) -> Response:
        return await run(kanban.sessions_page)

    async def session_move(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        return await written(request, lambda project, body: sessions.change_status(
            project, session_id, body.text("status", required=True) or ""))  # fmt: skip

    async def artifact(request: Request) -> Response:
        return await board.run(board_artifact, board, request.path_params["task_id"],
                               request.path_params["name"])  # fmt: skip

    async def events(request: Request) -> Response:
        return StreamingResponse(stream(board, request), media_type="text/event-stream",
                                 headers=HEADERS)  # fmt: skip

    routes = [
        Route("/", page),
        Route("/static/{name}", static),
        Route("/api/board", board_page),
        Route("/api/column", column),
        Route("/api/task/{task_id}", task),
        Route("/api/task/{task_id}", edit, methods=["PATCH"]),
        Route("/api/task/{task_id}/status", move, methods=["POST"]),
        Route("/api/tasks", add, methods=["POST"]),
        Route("/api/graph", graph),
        Route("/api/search", find),
        Route("/api/sessions", session_list),
        Route("/api/session/{session_id}/status", session_move, methods=["POST"]),
        Route("/api/artifact/{task_id}/{name:path}", artifact),
        Route("/api/events", events),
    ]
    return Guard(Starlette(routes=routes), hosts, token, port)


def task_page(project: Project, ref: str) -> dict[str, Any]:
    """A task as its page shows it: show_task's answer, its text as HTML, its artifacts
    and its history from git."""
    from orchestrator.core.artifacts import artifacts_of
    from orchestrator.core.history import history

    row = tasks.show_task(project, ref)
    row["html"] = to_html(row.get("description"))
    row["artifacts"] = artifacts_of(project, row["task_id"])
    row["history"] = history(project, row["task_id"])
    row["statuses"] = list(kanban.COLUMNS)
    return row


def graph_page(project: Project, session: str | None) -> dict[str, Any]:
    """A session's dependency graph drawn as SVG, with how many tasks are ready."""
    from orchestrator.ui.graph import svg

    found = kanban.dependency_graph(project, session)
    found["svg"] = svg(found["nodes"], found["edges"])
    found["ready"] = sum(1 for n in found["nodes"] if n["ready"])
    found["count"] = len(found["nodes"])
    del found["nodes"], found["edges"]
    return found


def board_artifact(board: Board, task_id: str, name: str) -> Response:
    """An artifact's bytes, as text or as an image; never as a page the browser runs."""
    from orchestrator.core.artifacts import artifact_path, file_text

    try:  # on the board's one thread, as every call
        path = artifact_path(board.project, task_id, name)
        content = file_text(board.project, path, limit=None)  # whole: an image, a zip
    except OrchError as e:
        return reply(refusal(e), STATUS.get(type(e), 400))
    finally:
        board.project.finish_command()
    images = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
    kind = images.get(Path(name).suffix.lower(), "text/plain; charset=utf-8")
    data = content.encode() if isinstance(content, str) else content
    return Response(data, media_type=kind, headers=HEADERS | {"Content-Security-Policy": "sandbox"})


async def stream(board: Board, request: Request) -> Any:
    """Server-sent events: `change` with the changed paths, whenever the feed tells."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[list[str]] = asyncio.Queue()

    def told(paths: list[str]) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, paths)

    stop = board.feed.listen(told)
    try:
        # Told once the watcher is receiving events: a change made after this is seen.
        await run_in_threadpool(board.feed.ready.wait, 5.0)
        yield "retry: 1000\nevent: ready\ndata: {}\n\n"
        idle = 0.0
        while not board.stopping():  # the server stopping: the stream ends, not cancelled
            try:
                paths = await asyncio.wait_for(queue.get(), LOOK_S)
            except TimeoutError:
                idle += LOOK_S
                if idle >= PING_S:
                    idle = 0.0
                    yield ": ping\n\n"
                continue
            idle = 0.0
            while not queue.empty():  # a burst told twice is fetched once
                paths = sorted({*paths, *queue.get_nowait()})
            yield f"event: change\ndata: {json.dumps({'paths': paths})}\n\n"
    finally:
        stop()
