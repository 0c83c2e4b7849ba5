"""What a command handed to the journal daemon carries: the socket both sides name, the
fingerprint of the code, the wire format.

A Python process spends most of a read command starting: the interpreter, click, orch's
own modules (~50 ms of a ~70 ms `orch task show` at 10,000 tasks). When a journal daemon
runs, it has all of that loaded; `orch` (launch.py) hands it a read command instead of
starting one: its arguments, directory, environment and umask, and its standard input,
output and error as file descriptors (SCM_RIGHTS). The daemon forks a worker that takes
those descriptors as its own and runs the command as `orch` would (cli/worker.py), then
says its exit code. Mercurial's chg does the same for hg.

Only an accelerator, as the journal is: whatever goes wrong before the worker starts (no
daemon, another user's socket, other code, a daemon too busy to answer) and the command
runs in its own process. The daemon runs the code it was started with, so each request
names the code it expects (`fingerprint`); a daemon with other code refuses it.

The wire, one command per connection, each message a line of JSON:
  client  {"run": [args], "cwd", "env", "umask", "fingerprint", "streams"}
  daemon  {"refused": why}                  nothing ran; the client runs the command
          {"pid": worker}                   the worker waits for the client's go
  client  go, with fds 0, 1, 2              (or it closes: the worker ends, nothing ran)
  daemon  {"page": text, "color": bool}     a pager is the client's to run (its terminal)
  client  ok                                after the pager ends
  daemon  {"exit": code}
This module is imported by `orch` before anything else: the standard library only, and
none of its modules that import `re` or `enum` (json, socket, signal: ~15 ms of every
relayed command on a machine where Python starts in 18).
"""

from __future__ import annotations

import os
import sys
import zlib

from orchestrator.names import INDEX_DIR

SOCKET_NAME = "journal.sock"
# A unix socket's path is at most 108 bytes with its final NUL (sun_path).
SOCKET_PATH_MAX = 107
# A request larger than this (its environment, mostly) is not read.
REQUEST_MAX = 1 << 20
GO = b"go\n"
OK = b"ok\n"
# Environment variable: 0 runs every command in its own process, daemon or not.
RELAY_ENV = "ORCH_RELAY"

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def socket_path(base: str) -> str:
    """Where the daemon of the .task_orchestrator folder `base` (links resolved) listens:
    in its .index/, or, when that path is too long for a unix socket, in $XDG_RUNTIME_DIR
    or /tmp under a name made from the folder's hash."""
    index_dir = os.path.join(base, INDEX_DIR)
    inside = os.path.join(index_dir, SOCKET_NAME)
    if len(os.fsencode(inside)) <= SOCKET_PATH_MAX:
        return inside
    import hashlib

    digest = hashlib.sha256(os.fsencode(index_dir)).hexdigest()[:20]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and len(os.fsencode(runtime)) < 60:
        return os.path.join(runtime, f"orch-{digest}.sock")
    return os.path.join("/tmp", f"orch-{os.getuid()}-{digest}.sock")


def listening(base: str) -> str | None:
    """The daemon's socket for `base` if one is there; None: no daemon runs. (One left by
    a killed daemon is there too: connecting to it tells.) Every client looks here first:
    launch.py, before it hands a command over or forks its early scan; a command, before
    it imports the journal's client; the client itself."""
    path = socket_path(base)
    return path if os.path.lexists(path) else None


def same_user(sock) -> bool:
    """Whether the other end of the unix socket `sock` runs as this user: a socket in
    /tmp could be anyone's, and neither a journal's answer nor a command's streams are
    to be trusted to anyone else. False where it cannot be told (no SO_PEERCRED)."""
    import _socket  # not socket: its enums cost `orch` ~3 ms to import
    import struct

    try:
        creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
        return struct.unpack("3i", creds)[1] == os.getuid()
    except (OSError, AttributeError, struct.error):
        return False


def groups() -> list[int]:
    """This process's group and supplementary groups, as both ends compare them."""
    return [os.getgid(), *sorted(os.getgroups())]


def line(message: object) -> bytes:
    """A message of the wire: a line of JSON (as json.dumps writes it, compact)."""
    return "".join(_encoder()(message, 0)).encode("utf-8", "surrogateescape") + b"\n"


def parse(data: bytes) -> object:
    """A message of the wire, from its line (ValueError if it is not one JSON value)."""
    text = data.decode("utf-8", "surrogateescape").strip()
    try:
        value, end = _scanner()(text, 0)
    except (StopIteration, RecursionError):  # nothing, or nested past any message's depth
        raise ValueError(f"not JSON: {text[:40]!r}") from None
    if end != len(text):
        raise ValueError(f"not one JSON value: {text[:40]!r}")
    return value


class _Plain:
    """What json's C scanner reads of a decoder: plain JSON, no hooks."""

    strict = True
    object_hook = object_pairs_hook = None
    parse_float, parse_int = float, int

    @staticmethod
    def parse_constant(name: str) -> object:
        raise ValueError(f"{name} is not part of a message")  # NaN, Infinity


def _encoder():
    # json's own C encoder and scanner, without the json module around them (which
    # imports re, and re imports enum).
    from _json import encode_basestring_ascii, make_encoder

    return make_encoder(
        None, _unwritable, encode_basestring_ascii, None, ":", ",", False, False, True
    )


def _unwritable(value: object) -> object:
    raise TypeError(f"{type(value).__name__} is not part of a message")


def _scanner():
    from _json import make_scanner

    return make_scanner(_Plain())  # type: ignore[arg-type]  # it reads these attributes


def fingerprint() -> str:
    """The code a command would run: the interpreter, the folders of installed packages,
    and the name, size and change time of every file of the package and of the shipped
    schema and config folders. An edit of orch's source (an editable install), an
    upgrade of orch or of a package it imports changes it."""
    folders = [_PACKAGE]
    for name in ("schema", "config"):
        for candidate in (
            os.path.join(_PACKAGE, "_data", name),
            os.path.join(_PACKAGE, "..", name),
        ):
            if os.path.isdir(candidate):
                folders.append(candidate)
                break
    # The folders packages are installed in change as pip adds or removes one (click,
    # PyYAML upgraded): a daemon keeps the versions it imported.
    import site

    installed = [*site.getsitepackages(), site.getusersitepackages()]
    parts = [sys.executable, sys.version, *(f"{p}:{_mtime(p)}" for p in installed)]
    while folders:
        folder = folders.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    folders.append(entry.path)
            elif not entry.name.endswith((".pyc", ".pyo")):
                st = entry.stat(follow_symlinks=False)
                parts.append(f"{entry.path}:{st.st_size}:{st.st_mtime_ns}")
    text = "\n".join(parts).encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(text):08x}-{zlib.adler32(text):08x}-{len(parts)}"


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0
