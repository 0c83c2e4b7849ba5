"""`orch`: hand a command to the project's journal daemon, or run it here.

With a daemon running (`orch daemon start`), a command of RELAYED is run by a worker the
daemon forks, with this process's standard streams, directory and environment
(relay.py has the protocol; cli/worker.py the worker): no interpreter of its own to
warm up, no click or orch to import. Anything else, or anything that goes wrong before
the worker starts, runs here as before. ORCH_RELAY=0 turns it off.

Imports only the standard library (and relay.py) until it knows it runs the command
itself: this module is what every `orch` process starts with.
"""

from __future__ import annotations

import os
import sys

from orchestrator import relay
from orchestrator.names import ORCH_DIR

# The commands a worker may run: those that take no terminal input (a worker is not in
# the terminal's foreground process group: `task edit` and its editor run here) and are
# safe to run here instead when the daemon does not take them, which is true of every
# command before its worker starts. The first words after the global options.
TASK_COMMANDS = ("show", "list", "add", "update", "start", "done", "cancel", "move", "delete")
RELAYED = {
    ("status",),
    ("search",),
    ("log",),
    ("next",),
    ("note",),
    *(("task", c) for c in TASK_COMMANDS),
    *(("group", c) for c in ("list", "show", "create", "rename", "move", "delete")),
    *(("session", c) for c in ("list", "show", "create", "rename", "archive")),
    ("mode", "list"),
    ("mode", "show"),
}
# Seconds to wait for the daemon's worker to start before running the command here.
START_TIMEOUT = 2.0


def main() -> None:
    args = sys.argv[1:]
    code = relay_command(args)
    if code is not None:
        raise SystemExit(code)
    prescan(args)
    from orchestrator.cli import main as run_here

    run_here()


def prescan(args: list[str]) -> None:
    """Start the scan of the project's files before this process imports orch
    (index/prescan.py), for a command of RELAYED and where no daemon keeps a journal."""
    root, words = _split(args)
    if words is None or not _listed(words) or "_ORCH_COMPLETE" in os.environ:
        return
    base = _base(root)
    if base is None or relay.listening(base) is not None:
        return
    from orchestrator.index import prescan

    prescan.start(base)


def relay_command(args: list[str]) -> int | None:
    """The exit code of `orch ARGS` run by the daemon's worker, or None when this process
    must run it (no daemon, a command not relayed, the daemon refused or did not start it)."""
    if os.environ.get(relay.RELAY_ENV, "1") == "0":
        return None
    root, words = _split(args)
    if words is None or not _relayed(words, args):
        return None
    base = _base(root)
    path = relay.listening(base) if base is not None else None
    if path is None:
        return None
    return _run_by_daemon(path, args)


def _split(args: list[str]) -> tuple[str | None, list[str] | None]:
    """The --root given (or ORCH_ROOT) and the arguments after the global options; None
    for arguments this module does not parse (click will)."""
    root = os.environ.get("ORCH_ROOT") or None
    i = 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] == "--root" and i + 1 < len(args):
            root, i = args[i + 1], i + 2
        elif args[i].startswith("--root="):
            root, i = args[i].partition("=")[2], i + 1
        else:
            return root, None  # --help, --version, or a mistake: click's to answer
    return root, args[i:]


def _listed(words: list[str]) -> bool:
    return tuple(words[:1]) in RELAYED or tuple(words[:2]) in RELAYED


def _relayed(words: list[str], args: list[str]) -> bool:
    if not _listed(words):
        return False
    if "_ORCH_COMPLETE" in os.environ:
        return False
    # `-` reads standard input: from a terminal that is a person typing, to this process.
    return not any(map(_reads_input, args)) or not os.isatty(0)


def _reads_input(arg: str) -> bool:
    """Whether an argument is `-` as a value: `-`, `--opt=-`, `-o-`."""
    return (
        arg == "-"
        or arg.endswith("=-")
        or (len(arg) > 2 and arg[0] == "-" != arg[1] and arg[-1] == "-")
    )


def _base(root: str | None) -> str | None:
    """The project's .task_orchestrator folder, links resolved, as layout.find_root finds
    the project (a mistake in --root is left to it to explain)."""
    if root:
        here = os.path.realpath(os.path.expanduser(root))
        if os.path.basename(here) == ORCH_DIR:
            here = os.path.dirname(here)
        candidates = [here]
    else:
        try:
            here = os.path.realpath(os.getcwd())
        except OSError:
            return None
        candidates = [here]
        while os.path.dirname(candidates[-1]) != candidates[-1]:
            candidates.append(os.path.dirname(candidates[-1]))
    for directory in candidates:
        base = os.path.join(directory, ORCH_DIR)
        if os.path.isdir(base):
            return os.path.realpath(base)
    return None


def _run_by_daemon(path: str, args: list[str]) -> int | None:
    # _socket, not socket: the module's enums cost a command ~3 ms to import.
    import _socket
    import struct

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        if sock.fileno() <= 2:  # a standard stream is closed: it would be this socket
            return None
        sock.settimeout(START_TIMEOUT)
        try:
            sock.connect(path)
            if not relay.same_user(sock):  # not given our streams
                return None
            umask = os.umask(0o022)
            os.umask(umask)
            request = {
                "run": args,
                "cwd": os.getcwd(),
                "env": dict(os.environ),
                "umask": umask,
                "groups": relay.groups(),
                "fingerprint": relay.fingerprint(),
                "streams": [
                    [s.encoding, s.errors] if s else None
                    for s in (sys.stdin, sys.stdout, sys.stderr)
                ],
            }
            sock.sendall(relay.line(request))
            reader = _Lines(sock)
            first = reader.message()
            if not isinstance(first, dict) or not isinstance(first.get("pid"), int):
                return None  # refused, or gone before it started: nothing ran
            # The streams go with the go, to a worker that waits for them: never left in
            # the socket of a daemon that does not read (a pipe held open for ever).
            fds = struct.pack("3i", 0, 1, 2)
            sock.sendmsg([relay.GO], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        except (OSError, ValueError):
            return None  # nothing ran: the worker waits for the go, or was never made
        sock.settimeout(None)
        return _follow(sock, reader, first["pid"])
    finally:
        sock.close()


def _follow(sock, reader: _Lines, pid: int) -> int:
    """Pass on the signals a person sends this process (Ctrl-C) to the worker and its git
    processes, run the pager it asks for, and return its exit code; if the worker ends
    without one after a signal passed on, end by that signal, as the command would have."""
    # _signal, not signal: the module's enums cost ~7 ms to import. (No stubs of its own.)
    import _signal as signal  # type: ignore[import-not-found]

    passed: list[int] = []
    paging = [False]

    def forward(signum: int, _frame: object) -> None:
        if paging[0] and signum == signal.SIGINT:
            return  # Ctrl-C in the pager is the pager's (as click's own pager has it)
        passed.append(signum)
        try:
            os.killpg(pid, signum)  # the worker leads its own group once it runs
        except OSError:
            _quietly(os.kill, pid, signum)  # already gone

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, forward)
    while True:
        try:
            message = reader.message()
        except (OSError, ValueError):
            message = None
        if not isinstance(message, dict):
            if passed:  # killed by what was passed on: say so as that signal would
                signal.signal(passed[-1], signal.SIG_DFL)
                os.kill(os.getpid(), passed[-1])
            sys.stderr.write(
                f"orch: the daemon's worker (pid {pid}) ended before it said how the command"
                " went; see .task_orchestrator/.index/journal.log, and run it again\n"
            )
            return 1
        if "page" in message:
            import click

            paging[0] = True
            try:
                click.echo_via_pager(str(message["page"]), color=bool(message.get("color")))
            finally:
                paging[0] = False
            _quietly(sock.sendall, relay.OK)  # the worker is gone: its end is read next
        elif isinstance(message.get("exit"), int):
            return message["exit"]


def _quietly(call, *args) -> None:
    """call(*args), an OSError ignored. Not contextlib.suppress: contextlib imports
    collections and functools, ~6 ms of every relayed command."""
    try:  # noqa: SIM105
        call(*args)
    except OSError:
        pass


class _Lines:
    """The daemon's messages, a line of JSON each."""

    def __init__(self, sock):
        self.sock, self.buffer = sock, b""

    def message(self) -> object:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return relay.parse(line)
