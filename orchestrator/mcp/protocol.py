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
        # Set once the call commits: a cancel after that cannot undo it, so the answer
        # goes out all the same (the spec lets a server answer what it finished).
        self.answer_anyway = threading.Event()
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
    """One client's connection: requests in, answers and notifications out.

    Tool calls and the other requests that use the project run one at a time, in the
    order they came (an agent that sends complete, then synthesize, without waiting gets
    them in that order); the cheap ones (lists, ping) are answered beside them, so a
    long call never leaves a ping unanswered."""

    # Requests that use the project: run in order, one at a time.
    IN_ORDER = frozenset({"tools/call", "resources/read", "prompts/get", "completion/complete"})

    def __init__(self, handler: Handler, send: Callable[[Message], None], workers: int = 4):
        self.handler = handler
        self._send = send
        self._write_lock = threading.Lock()
        self._pending: dict[Any, Request] = {}
        self._calls = ThreadPoolExecutor(1, thread_name_prefix="orch-mcp-call")
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="orch-mcp")
        self.protocol_version: str | None = None
        self.closed = False

    # -- what the client sends ----------------------------------------------------------

    def receive(self, message: Any) -> None:
        if isinstance(message, list):  # batches left the protocol in 2025-06-18
            self.error(None, INVALID_REQUEST, "batches are not supported; send one message a line")
            return
        if not isinstance(message, dict):
            self.error(None, INVALID_REQUEST, "a message is a JSON object")
            return
        has_id = "id" in message
        request_id = message.get("id")
        if has_id and not valid_id(request_id):
            self.error(None, INVALID_REQUEST, "a request id is a string or an integer")
            return
        method = message.get("method")
        if message.get("jsonrpc") != "2.0" or (has_id and not isinstance(method, str)):
            if has_id or method is not None:
                self.error(request_id, INVALID_REQUEST, 'not a JSON-RPC 2.0 request ("jsonrpc",'
                           ' "method")')  # fmt: skip
            return  # (an answer to a request of ours: we send none)
        if not isinstance(method, str):
            return
        params = message.get("params", {})
        if not isinstance(params, dict):
            if has_id:
                self.error(request_id, INVALID_PARAMS, "params must be an object")
            return
        if not has_id:
            self._notification(method, params)
            return
        if method == "ping":  # answered at once, whatever runs
            self.write({"jsonrpc": "2.0", "id": request_id, "result": {}})
            return
        request = Request(self, request_id, params)
        self._pending[request.id] = request
        pool = self._calls if method in self.IN_ORDER else self._pool
        pool.submit(self._run, request, method, params)

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
        # A cancelled request is not answered, unless it was past taking anything back.
        if not request.cancelled.is_set() or request.answer_anyway.is_set():
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
            except (TypeError, ValueError) as e:  # a value JSON cannot carry: a bug of ours
                traceback.print_exc(file=sys.stderr)
                if "id" in message:
                    self._send({"jsonrpc": "2.0", "id": message["id"],
                                "error": {"code": INTERNAL_ERROR, "message": repr(e)}})  # fmt: skip

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.write({"jsonrpc": "2.0", "method": method, "params": params})

    def error(self, request_id: Any, code: int, message: str) -> None:
        self.write({"jsonrpc": "2.0", "id": request_id,
                    "error": {"code": code, "message": message}})  # fmt: skip

    def close(self) -> None:
        """Finish every request already received (their answers still go out), then
        stop."""
        self._calls.shutdown(wait=True)
        self._pool.shutdown(wait=True)
        self.closed = True


def valid_id(value: Any) -> bool:
    """A request id as MCP allows it: a string or an integer (not a bool, not null)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def encode(message: Message) -> bytes:
    """A message as one line of JSON: UTF-8 as it is where it can be, escaped where a
    lone surrogate (from a client's own text) could not be encoded; no NaN."""
    try:
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(message, separators=(",", ":"), allow_nan=False).encode()


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def negotiate(requested: Any) -> str:
    """The protocol version answered to a client's `initialize`."""
    return requested if requested in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0]


def serve_stdio(handler: Handler) -> None:
    """Serve one client over stdin/stdout (newline-delimited JSON) until stdin closes.
    Anything else printing to stdout would break the stream: stdout is the protocol's
    alone, and print() goes to stderr. No message, however malformed, ends the loop."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr

    def send(message: Message) -> None:
        out.write(encode(message) + b"\n")
        out.flush()

    session = Session(handler, send)
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            message = json.loads(line, parse_constant=_no_constant)
        except (ValueError, RecursionError):  # not JSON, NaN, nested past the stack
            session.error(None, PARSE_ERROR, "not a JSON message")
            continue
        try:
            session.receive(message)
        except Exception:  # a bug of ours: the next message is still served
            traceback.print_exc(file=sys.stderr)
    session.close()
