"""Serving the board: uvicorn on a socket bound to loopback (or, asked for, beyond it with
a token), in this process. `serve` is `orch ui`; `running` serves on a free port in a
thread, for tests and benches, and stops when its block ends."""

from __future__ import annotations

import ipaddress
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import InvalidInput
from orchestrator.ui.app import Board, build_app
from orchestrator.ui.guard import LOOPBACK, loopback_hosts

if TYPE_CHECKING:
    import uvicorn

DEFAULT_PORT = 8642


@dataclass
class Served:
    url: str  # what to open, with the token when one is needed
    host: str
    port: int
    token: str | None
    board: Board


def is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket at host:port (port 0: a free one), or a clear refusal."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        why = "is in use" if e.errno in (98, 48) else f"cannot be used ({e.strerror})"
        raise InvalidInput(
            f"port {port} on {host} {why}: pass --port N (--port 0 picks a free one)"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def prepare(root: Path, host: str, port: int) -> tuple[Served, uvicorn.Server, socket.socket]:
    """The board, its uvicorn server and its socket, not yet serving."""
    import uvicorn

    sock = bind(host, port)
    port = sock.getsockname()[1]
    loopback = is_loopback(host)
    token = None if loopback else secrets.token_urlsafe(18)
    hosts = loopback_hosts(port) if loopback else None
    board = Board(root)
    app = build_app(board, hosts=hosts, token=token)
    shown = "127.0.0.1" if host in ("127.0.0.1", "localhost") else host
    if ":" in shown:
        shown = f"[{shown}]"
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1, lifespan="off")
    return Served(url, host, port, token, board), uvicorn.Server(config), sock


def serve(root: Path, host: str, port: int, say: Callable[[str], None],
          on_start: Callable[[Served], None] | None = None) -> None:  # fmt: skip
    """Serve the board until Ctrl-C."""
    served, server, sock = prepare(root, host, port)
    say(served.url)
    if on_start is not None:
        on_start(served)
    try:
        server.run(sockets=[sock])
    finally:
        served.board.close()
        sock.close()


@contextmanager
def running(root: Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[Served]:
    """The board served in a thread of this process while the block runs."""
    served, server, sock = prepare(root, host, port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not getattr(server, "started", False):
            if not thread.is_alive():
                raise RuntimeError("the board's server stopped while starting")
            thread.join(0.01)
        yield served
    finally:
        server.should_exit = True
        thread.join(10)
        served.board.close()
        sock.close()
