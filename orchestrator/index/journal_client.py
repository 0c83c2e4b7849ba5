"""Asking the journal daemon what changed since a token (the daemon: journal_daemon.py).

A command proves its index fresh by a stat of every record file (signatures.py). When a
journal daemon runs for the project (`orch daemon start`), the command asks it first,
over a unix socket, "what changed since token T?", T being the token the index was last
made equal to the files under (kept in index_meta). The answer names the files changed
since, and only those are looked at; or it is "unknown" and the command scans, as
without a daemon. A token is the daemon's instance id and a sequence number.

This module is imported by every command, so it is small: a plain socket with a short
timeout, JSON, no asyncio, no inotify. Anything unexpected (no daemon, no socket, a
refused connection, a timeout, another user's socket, a garbled answer, a daemon that
watches another folder) is "no answer", and the command does its full scan: correctness
never depends on the daemon.

The protocol, one question per connection:
  asked   {"since": "<instance>:<seq>" | null}\\n
  answer  {"root": "<the .task_orchestrator folder, resolved>", "token": "<instance>:<seq>",
           "paths": [<paths relative to the project root>] | null}
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket

from orchestrator import relay
from orchestrator.layout import Layout

# index_meta key: the daemon's token the index was last made equal to the files under.
TOKEN_KEY = "journal_token"
# A command that finds nothing changed keeps the index's token, unless the daemon named
# more files than this (each looked at again by every command until the token moves).
ADVANCE_AFTER = 50
# Seconds a command waits for an answer before it scans instead: long next to an
# answer (well under a millisecond), short next to a scan that would be slowed down.
TIMEOUT = 0.1
# Files of the daemon in .index/.
SOCKET_NAME = relay.SOCKET_NAME
LOCK_NAME = "journal.lock"  # held (flock) by the running daemon; holds its pid and start
LOG_NAME = "journal.log"
REFUSED_NAME = "journal.refused"  # why the daemon would not start here (autostart skips)
ANSWER_MAX = 64 << 20  # bytes: an answer larger than this is not believed


@dataclass
class Answer:
    """The daemon's answer: its token now and the files changed since the token asked
    about (None: unknown, scan them all). `token` is None when no daemon answered; then
    `absent` says whether none runs (no socket, or a refused connection)."""

    token: str | None = None
    paths: list[str] | None = None
    absent: bool = False


def real_base(layout: Layout) -> str:
    """The .task_orchestrator folder the daemon watches, as both sides name it: with any
    link resolved (a .task_orchestrator that is a link is watched where it points)."""
    return os.path.realpath(layout.base)


def socket_path(layout: Layout) -> Path:
    """Where the daemon listens (relay.socket_path: the rule `orch` finds it by too)."""
    return Path(relay.socket_path(real_base(layout)))


def ask(layout: Layout, since: str | None, timeout: float = TIMEOUT) -> Answer:
    """Ask the project's daemon what changed since token `since`. Never raises: no
    answer is an Answer without a token."""
    path = relay.listening(real_base(layout))
    if path is None:
        return Answer(absent=True)
    # Only now: `socket` costs a command without a daemon a few ms to import.
    import socket

    deadline = time.monotonic() + timeout
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
            return Answer(absent=True)  # none runs (a killed one's socket refuses)
        if not relay.same_user(sock):
            return Answer()
        sock.sendall(relay.line({"since": since}))
        data = _read_all(sock, deadline)
    except (OSError, ValueError):
        return Answer()
    finally:
        sock.close()
    return parse_answer(data, real_base(layout)) if data is not None else Answer()


def _read_all(sock: socket.socket, deadline: float) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        chunk = sock.recv(1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > ANSWER_MAX:
            return None


def parse_answer(data: bytes, base: str) -> Answer:
    """An answer as received, believed only if it is whole and well formed and comes from
    the daemon of the folder `base`; otherwise no answer."""
    try:
        answer = json.loads(data)
    except ValueError:
        return Answer()
    if not isinstance(answer, dict) or answer.get("root") != base:
        return Answer()
    token, paths = answer.get("token"), answer.get("paths")
    if not is_token(token):
        return Answer()
    if paths is not None and not (
        isinstance(paths, list) and all(isinstance(p, str) for p in paths)
    ):
        return Answer()
    return Answer(token, paths)


def is_token(token: object) -> bool:
    if not isinstance(token, str):
        return False
    instance, _, seq = token.partition(":")
    return bool(instance) and seq.isdigit()


@dataclass
class Running:
    """A daemon that runs for a project, as its lock file says."""

    pid: int
    started: float  # seconds since the epoch
    socket: str
    relays: bool = False  # it runs the commands `orch` hands it (relay.py)
    relayed: int = 0  # how many so far


def running(layout: Layout) -> Running | None:
    """The project's daemon if one runs (it holds its lock file), else None."""
    import fcntl

    path = Path(real_base(layout)) / layout.index_dir.name / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # held: a daemon runs
            pass
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            info = json.loads(os.read(fd, 4096))
            return Running(int(info["pid"]), float(info["started"]), str(info["socket"]),
                           bool(info.get("relays")), int(info.get("relayed", 0)))  # fmt: skip
        return None
    finally:
        os.close(fd)
