"""Serving the board: uvicorn on a socket bound to loopback (or, asked for, beyond it), in
this process, every request needing the token of the URL it prints. `serve` is `orch ui`;
`running` serves on a free port in a thread, for tests and benches, and stops when its
block ends."""

from __future__ import annotations

import ipaddress
import os
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
    base: str  # http://127.0.0.1:PORT/
    token: str
    host: str
    port: int
    board: Board

    @property
    def url(self) -> str:
        """What to open: the board with its token."""
        return f"{self.base}?token={self.token}"


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


def other_addresses(port: int) -> list[str]:
    """How other machines may name a board served on every interface (0.0.0.0)."""
    found: set[str] = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), port, socket.AF_INET):
            address = str(info[4][0])
            if not ipaddress.ip_address(address).is_loopback:
                found.add(address)
    except OSError:
        pass
    return sorted(found)


def prepare(root: Path, host: str, port: int) -> tuple[Served, uvicorn.Server, socket.socket]:
    """The board, its uvicorn server and its socket, not yet serving."""
    import uvicorn

    sock = bind(host, port)
    port = sock.getsockname()[1]
    token = secrets.token_urlsafe(18)
    loopback = is_loopback(host)
    # Beyond loopback other machines name the board by any of its addresses: the token
    # alone keeps others out there.
    hosts = loopback_hosts(host, port) if loopback else None
    board = Board(root)
    app = build_app(board, hosts=hosts, token=token, port=port)
    shown = "127.0.0.1" if host in ("localhost", "0.0.0.0", "::") else host
    base = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/"
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2, lifespan="off")
    server = uvicorn.Server(config)
    board.stopping = lambda: server.should_exit
    return Served(base, token, host, port, board), server, sock


def opener(served: Served) -> Path:
    """A page only this user can read that leads the browser to the board: the token
    never appears in the browser's command line, which every user of the machine sees."""
    folder = served.board.project.layout.index_dir
    path = folder / f"ui-{served.port}.html"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f'<!doctype html><meta http-equiv="refresh" content="0; url={served.url}">'
                f'<a href="{served.url}">orch board</a>\n')  # fmt: skip
    return path


def serve(root: Path, host: str, port: int, say: Callable[[str], None],
          on_start: Callable[[Served], None] | None = None) -> None:  # fmt: skip
    """Serve the board until Ctrl-C."""
    served, server, sock = prepare(root, host, port)
    say(served.url)
    if not is_loopback(host):
        for address in other_addresses(served.port):
            say(f"from other machines: http://{address}:{served.port}/?token={served.token}")
    if on_start is not None:
        on_start(served)
    try:
        server.run(sockets=[sock])
    finally:
        served.board.close()
        sock.close()
        (served.board.project.layout.index_dir / f"ui-{served.port}.html").unlink(missing_ok=True)


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
