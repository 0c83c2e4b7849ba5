"""The daemon's worker: a command that `orch` handed to the journal daemon (launch.py,
relay.py), run in a process the daemon forked for it.

The worker takes the command's standard streams, directory, environment and umask as
its own and runs `orch ARGS` as main() would in a process of its own; only a pager is
left to the `orch` process that asked (it is the one in the terminal's foreground).
WARM lists what the daemon imports before it forks its first worker.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import os
import signal
import socket
import sys
from typing import Any, NoReturn

from orchestrator import relay

# What the relayed commands import (launch.RELAYED), imported once by the daemon: a
# `task update` in a worker spends nothing on importing YAML (~40 ms).
WARM = (
    "orchestrator.cli",
    "orchestrator.cli.output",
    "orchestrator.cli.params",
    "orchestrator.cli.hints",
    "orchestrator.cli.project",
    "orchestrator.cli.task",
    "orchestrator.cli.group",
    "orchestrator.cli.session",
    "orchestrator.cli.mode",
    "orchestrator.cli.search",
    "orchestrator.cli.daily",
    "orchestrator.core.project",
    "orchestrator.core.board",
    "orchestrator.core.tasks",
    "orchestrator.core.groups",
    "orchestrator.core.sessions",
    "orchestrator.core.modes",
    "orchestrator.core.search",
    "orchestrator.core.history",
    "orchestrator.core.next_task",
    "orchestrator.core.queries",
    "orchestrator.index.refresh",
    "orchestrator.git.syncer",
    "orchestrator.core.writer",
    "orchestrator.core.views",
    "orchestrator.store.view_edits",
    "orchestrator.cli.note",
    "yaml",
    "ctypes",
    "hashlib",
    "sqlite3",
    "socket",
    "select",
    "threading",
)

# Seconds a worker waits for the client's go (the client answers at once, or gave up).
GO_TIMEOUT = 5.0


def warm() -> None:
    """Import what the relayed commands need, once, before any worker is forked, and
    read schema/ (the index's tables, the records' patterns), as a first command would."""
    for name in WARM:
        importlib.import_module(name)
    from orchestrator.index import engine
    from orchestrator.store import validation

    engine.warm()
    validation.warm()


def run(conn: Any, request: dict, inherited: list[int]) -> NoReturn:
    """Run the request in this forked process and end it: `conn` is the client's
    connection (its standard input, output and error come with its go), `inherited` the
    daemon's own descriptors (closed here: a worker holds neither its lock nor its
    socket)."""
    gc.disable()  # as cli.main() does for any command: no collection touches shared pages
    code = 1
    try:
        for fd in inherited:
            _close(fd)
        _as_a_command()
        conn.settimeout(GO_TIMEOUT)
        why = _take_place(request)
        if why:  # nothing ran: the client runs the command itself
            conn.sendall(relay.line({"refused": why}))
            os._exit(0)
        conn.sendall(relay.line({"pid": os.getpid()}))
        go, fds, _flags, _addr = socket.recv_fds(conn, 64, 3)
        if go != relay.GO or len(fds) != 3:
            for fd in fds:
                _close(fd)
            os._exit(0)  # the client gave up waiting: it runs the command itself
        conn.settimeout(None)  # a pager waits for a person
        _die_with_the_client(conn)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            _close(fd)
        _reopen_streams(request.get("streams") or [])
        code = _main(request["run"], conn)
    except BaseException:  # a worker ends here, never back in the daemon's loop
        import traceback

        traceback.print_exc()
    finally:
        try:
            conn.sendall(relay.line({"exit": code}))
        finally:
            os._exit(code if 0 <= code < 256 else 1)


def _take_place(request: dict) -> str | None:
    """Take the client's directory, environment (its time zone too) and umask, and check
    its streams' encodings: why the command cannot run here, or None."""
    import codecs
    import time

    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()  # `--due today` is the client's day
        os.umask(int(request["umask"]))
        for stream in request.get("streams") or []:
            if stream:
                codecs.lookup(stream[0])
                codecs.lookup_error(stream[1])
    except (OSError, LookupError, TypeError, ValueError) as error:
        return f"cannot take the command's place: {error}"
    return None


def _main(args: list[str], conn: Any) -> int:
    from orchestrator.cli import main, output

    output.COLOR = output.color_wanted()  # the client's terminal and NO_COLOR
    output.PAGER = lambda text, color: _page(conn, text, color)
    sys.argv = ["orch", *args]
    try:
        main()
        code: Any = 0
    except SystemExit as end:
        code = end.code
    except KeyboardInterrupt:
        code = 130
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # SystemExit("message"), as Python prints it
    return 1


def _page(conn: Any, text: str, color: bool) -> None:
    """A pager is for the client to run: it is in the terminal's foreground."""
    sys.stdout.flush()
    conn.sendall(relay.line({"page": text, "color": color}))
    conn.recv(64)  # its ok, once the pager ended


def _die_with_the_client(conn: Any) -> None:
    """If the `orch` process that asked dies before the command ends (SIGKILL: the
    signals it can catch it passes on), end this worker and its git processes as that
    would have ended them: a process group of its own, killed whole. In a session of its
    own too, without a terminal: no job control stops it (a daemon started with `&` from
    a shell with `stty tostop` would see its workers stopped by their first line)."""
    import select
    import threading

    os.setsid()
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLRDHUP)

    def watch() -> None:
        while True:
            for _fd, event in poller.poll():
                if event & (select.POLLRDHUP | select.POLLHUP | select.POLLERR):
                    os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch, daemon=True).start()


def _as_a_command() -> None:
    """Signals as a process started as `orch` has them (the daemon set its own)."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)


def _reopen_streams(given: list) -> None:
    """sys.stdin, stdout and stderr over descriptors 0, 1 and 2 as the client's Python
    opened them (its encodings and error handlers): line-buffered on a terminal, stderr
    always."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        encoding, errors = "utf-8", "backslashreplace" if fd == 2 else "strict"
        if fd < len(given) and isinstance(given[fd], list) and len(given[fd]) == 2:
            encoding, errors = given[fd]
        raw = io.FileIO(fd, "rb" if fd == 0 else "wb", closefd=False)
        tty = raw.isatty()
        if fd == 0:
            stream: Any = io.TextIOWrapper(io.BufferedReader(raw), encoding=encoding, errors=errors)
        else:
            stream = io.TextIOWrapper(
                io.BufferedWriter(raw), encoding=encoding, errors=errors,
                line_buffering=tty or fd == 2, write_through=fd == 2,
            )  # fmt: skip
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
