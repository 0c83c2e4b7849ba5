"""MCP's JSON-RPC session, written here rather than taken from the SDK: importing the SDK's
server costs 0.9 s of CPU before the first reply (its pydantic models of every protocol
version), three times a whole start of Backlog.md's server; the protocol a server speaks
is small. The SDK stays what the tests talk to us with, so it checks every message.

A `Session` takes the client's messages one at a time (`receive`) from any transport and
hands what it answers to `send`. Requests run on worker threads, so a ping or a
`notifications/cancelled` is read while a long call runs; a cancelled request gets no
answer (the spec's rule) and its call is told through `Request.cancelled`. What to answer
is the `Handler`'s business (server.py); this module knows only JSON-RPC and the
handshake-era session rules (2024-11-05 to 2025-11-25).
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

# The versions this server speaks, newest first: a client asking for another gets the newest.
PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

Message = dict[str, Any]


class RpcError(Exception):
    """A request answered with a JSON-RPC error (not a tool's own error, which is a
    result with isError)."""

    def __init__(self, code: int, message: str, data: Any = None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


class Handler(Protocol):
    def handle(self, method: str, params: dict[str, Any], request: Request) -> Any: ...


class Request:
    """One request in progress: whether the client cancelled it, and how to tell it how
    far the work is (when the client gave a progress token)."""

    def __init__(self, session: Session, request_id: Any, params: dict[str, Any]):
        self.session = session
        self.id = request_id
        self.cancelled = threading.Event()
        meta = params.get("_meta")
        self.progress_token = meta.get("progressToken") if isinstance(meta, dict) else None

    def progress(self, done: float, total: float | None = None, message: str | None = None):
        if self.progress_token is None or self.cancelled.is_set():
            return
        params: dict[str, Any] = {"progressToken": self.progress_token, "progress": done}
        if total is not None:
            params["total"] = total
        if message:
            params["message"] = message
        self.session.notify("notifications/progress", params)


class Session:
    """One client's connection: requests in, answers and notifications out."""

    def __init__(self, handler: Handler, send: Callable[[Message], None], workers: int = 4):
        self.handler = handler
        self._send = send
        self._write_lock = threading.Lock()
        self._pending: dict[Any, Request] = {}
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="orch-mcp")
        self.protocol_version: str | None = None
        self.closed = False

    # -- what the client sends ----------------------------------------------------------

    def receive(self, message: Any) -> None:
        if isinstance(message, list):  # a batch (2025-03-26): each on its own
            for one in message:
                self.receive(one)
            return
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            self.error(None, INVALID_REQUEST, "not a JSON-RPC 2.0 message")
            return
        method = message.get("method")
        if not isinstance(method, str):
            return  # an answer to a request of ours (we send none): nothing to do
        params = message.get("params") or {}
        if not isinstance(params, dict):
            if "id" in message:
                self.error(message["id"], INVALID_PARAMS, "params must be an object")
            return
        if "id" not in message:
            self._notification(method, params)
            return
        request = Request(self, message["id"], params)
        self._pending[request.id] = request
        self._pool.submit(self._run, request, method, params)

    def _notification(self, method: str, params: dict[str, Any]) -> None:
        if method == "notifications/cancelled":
            request = self._pending.get(params.get("requestId"))
            if request is not None:
                request.cancelled.set()

    def _run(self, request: Request, method: str, params: dict[str, Any]) -> None:
        try:
            result = self.handler.handle(method, params, request)
        except RpcError as e:
            answer: Message = {"code": e.code, "message": e.message}
            if e.data is not None:
                answer["data"] = e.data
            self._answer(request, {"error": answer})
        except Exception as e:  # a bug of ours: said to the client and on stderr
            traceback.print_exc(file=sys.stderr)
            self._answer(request, {"error": {"code": INTERNAL_ERROR, "message": repr(e)}})
        else:
            self._answer(request, {"result": result})

    def _answer(self, request: Request, body: Message) -> None:
        self._pending.pop(request.id, None)
        if not request.cancelled.is_set():  # a cancelled request is not answered
            self.write({"jsonrpc": "2.0", "id": request.id, **body})

    # -- what the server sends ----------------------------------------------------------

    def write(self, message: Message) -> None:
        with self._write_lock:
            if self.closed:
                return
            try:
                self._send(message)
            except (BrokenPipeError, OSError, RuntimeError):
                self.closed = True  # the client is gone: nobody to tell

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.write({"jsonrpc": "2.0", "method": method, "params": params})

    def error(self, request_id: Any, code: int, message: str) -> None:
        self.write({"jsonrpc": "2.0", "id": request_id,
                    "error": {"code": code, "message": message}})  # fmt: skip

    def close(self, wait: bool = True) -> None:
        """Let the calls under way finish (their answers still go out), then stop."""
        self._pool.shutdown(wait=wait, cancel_futures=True)
        self.closed = True


def negotiate(requested: Any) -> str:
    """The protocol version answered to a client's `initialize`."""
    return requested if requested in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0]


def serve_stdio(make_handler: Callable[[Session], Handler]) -> None:
    """Serve one client over stdin/stdout (newline-delimited JSON) until stdin closes.
    Anything else printing to stdout would break the stream: stdout is the protocol's
    alone, and print() goes to stderr."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr

    def send(message: Message) -> None:
        out.write(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode())
        out.write(b"\n")
        out.flush()

    session = Session(None, send)  # type: ignore[arg-type]
    session.handler = make_handler(session)
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            session.error(None, PARSE_ERROR, "not JSON")
            continue
        session.receive(message)
    session.close()
