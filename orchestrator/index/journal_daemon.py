"""The journal daemon: one process per project that keeps an inotify journal of
.task_orchestrator/ and tells any command what changed since a token (as git asks its
fsmonitor daemon). The client, and the protocol, are in journal_client.py.

The journal is a list of (sequence number, path). Each drain of the kernel's queue that
finds changes takes the next number; a token is (this instance's id, a number), and
"since T" is every path journaled after T's number. The kernel queues an event when the
write happens, so a drain at the moment a question arrives sees every change made
before the question. Between questions the queue is drained as it fills, so a burst (a
checkout of thousands of files) does not overflow it.

What the journal cannot vouch for makes every older token unknown (the caller scans):
a queue overflow, a watched folder moved away with its files, an event from a folder it
does not know, an unmount, a journal grown past its bound. A record folder made (a new
session) is watched before it is listed, and its files are journaled as changed, so it
costs nobody a scan. The daemon exits when its project folder is moved or deleted, or
when its socket or lock file is taken away.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import gc
import json
import os
import selectors
import signal
import socket
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from orchestrator import relay
from orchestrator.errors import OrchError
from orchestrator.index import journal_client as client
from orchestrator.index.engine import FILE_NAME
from orchestrator.index.journal import BLIND_FILESYSTEMS, INotify, Monitor, filesystem_type
from orchestrator.index.journal import F as _F
from orchestrator.layout import Layout

F: Any = _F
# Paths kept at most; past it the oldest are forgotten (their tokens become unknown).
MAX_ENTRIES = 200_000
# Seconds between checks that the project folder, the socket and the lock are still there.
CHECK_EVERY = 2.0
# Seconds a connected client has to ask its question.
QUESTION_TIMEOUT = 1.0
# Seconds between starts of the process holding the index open, when one ends.
HOLD_AGAIN = 5.0
# Tries, 10 ms apart, at the lock a status check may hold for an instant (shared).
LOCK_TRIES = 50


class Gone(Exception):
    """The project folder this daemon watches was moved or deleted: it stops."""


class Journal(Monitor):
    """The inotify watches of Monitor, kept as a journal of numbered changes."""

    def __init__(self, layout: Layout):
        super().__init__(layout)
        self.instance = os.urandom(6).hex()
        self.seq = 0
        self.trusted_from = 0  # tokens with a lower number are unknown
        self.entries: list[tuple[int, str]] = []
        self._watch_tree()  # before any token is given out

    def token(self) -> str:
        return f"{self.instance}:{self.seq}"

    def drain(self) -> None:
        """Journal what the kernel has queued."""
        try:
            events = self.inotify.read(timeout=0)
        except BlockingIOError:
            return
        if not events:
            return
        self.seq += 1
        changed = self.take(events)
        if changed is None:
            self.forget()
            return
        self.entries += [(self.seq, rel) for rel in changed]
        if len(self.entries) > MAX_ENTRIES:
            self.forget()

    def take(self, events: Iterable[Any]) -> list[str] | None:
        """The record files these events say changed, or None if they say something the
        journal cannot vouch for. Raises Gone if the project folder went."""
        changed: list[str] = []
        for event in events:
            if event.mask & (F.Q_OVERFLOW | F.UNMOUNT):
                return None
            folder = self.folders.get(event.wd)
            if folder is None:
                return None
            if event.mask & F.IGNORED:  # its folder was deleted (empty: its files said so)
                del self.folders[event.wd]
                continue
            if event.mask & (F.DELETE_SELF | F.MOVE_SELF):
                if folder == self.layout.rel(self.layout.base):
                    raise Gone(f"{self.layout.base} was moved or deleted")
                if event.mask & F.MOVE_SELF:  # moved with its files: none of them said
                    return None
                continue  # deleted, hence empty: the deletion of each file was an event
            rel = f"{folder}/{event.name}"
            if event.mask & F.ISDIR:
                if not self._holds_records(rel):
                    continue  # .index/, artifacts/, archives/: nothing orch indexes
                if event.mask & F.MOVED_FROM:  # moved away with its files
                    return None
                if event.mask & (F.CREATE | F.MOVED_TO):
                    try:
                        changed += self.adopt(rel)
                    except OSError:  # out of watches: nothing can be vouched for
                        return None
                continue  # an empty record folder deleted
            if self.layout.classify(rel) is not None:
                changed.append(rel)
        return changed

    def adopt(self, rel: str) -> list[str]:
        """Watch a record folder just made (and the record folders inside it), then list
        the files it holds: watched first, so that a file made meanwhile is an event."""
        path = self.layout.root / rel
        self._watch(path)
        found = []
        try:
            with os.scandir(path) as entries:
                names = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
        except (FileNotFoundError, NotADirectoryError):
            return []
        for name, is_dir in names:
            child = f"{rel}/{name}"
            if is_dir and self._holds_records(child):
                found += self.adopt(child)
            elif not is_dir and self.layout.classify(child) is not None:
                found.append(child)
        return found

    def forget(self) -> None:
        """Every token given out so far is unknown: watch the tree as it is now."""
        self._reset()  # drops what is queued, watches every folder again
        if self.broken:
            raise OSError(self.broken)
        self.seq += 1
        self.trusted_from = self.seq
        self.entries = []

    def since(self, token: object) -> list[str] | None:
        """The files changed since `token`, or None if that cannot be told."""
        if not client.is_token(token):
            return None
        assert isinstance(token, str)
        instance, _, number = token.partition(":")
        seq = int(number)
        if instance != self.instance or seq < self.trusted_from or seq > self.seq:
            return None
        start = bisect.bisect_right(self.entries, (seq, "\U0010ffff"))
        return sorted({rel for _, rel in self.entries[start:]})


def refusal(layout: Layout) -> str | None:
    """Why no daemon can keep a journal of this project, or None."""
    if INotify is None:
        return "inotify is not available here (Linux only)"
    kind = filesystem_type(layout.base)
    if kind in BLIND_FILESYSTEMS:
        return (
            f"{layout.base} is on a {kind} file system, whose changes made elsewhere"
            " inotify does not see"
        )
    return None


# Runs a relayed command in a forked process and ends it (cli/worker.py's run): the
# client's connection, its request, the daemon's own descriptors.
Worker = Callable[[socket.socket, dict, list[int]], Any]


class Daemon:
    """The journal served over the project's socket until stopped or gone; with a
    `worker`, also the commands `orch` hands it (relay.py)."""

    def __init__(self, layout: Layout, say: Callable[[str], None], worker: Worker | None = None):
        self.layout, self.say, self.worker = layout, say, worker
        self.base = client.real_base(layout)
        self.index_dir = Path(self.base) / layout.index_dir.name
        self.socket_path = client.socket_path(layout)
        self.stopping = False
        self.pretend_overflow = False
        self.fingerprint = relay.fingerprint() if worker else None
        self.relayed = 0  # commands run by workers
        self._said_stale = False  # the log says it once
        self._lock_fd = -1
        self._info: dict[str, Any] = {}
        self._own: list[Callable[[], int]] = []  # the descriptors a worker closes
        self._holder: int | None = None  # the process holding the index open
        self._held_at = 0.0  # when it started
        self._collected = 0  # self.relayed when the daemon's garbage was last collected

    def run(self) -> None:
        """Serve until SIGTERM/SIGINT, or until the project folder, the socket or the
        lock file goes. Raises OrchError if it cannot start (say why)."""
        why = refusal(self.layout)
        if why:
            raise OrchError(f"no journal daemon for this project: {why}; commands scan instead")
        lock = self._lock_fd = self._lock()
        try:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
            base_id = _identity(self.base)
            journal = Journal(self.layout)
            server = self._listen()
            self._own = [lambda: self._lock_fd, journal.inotify.fileno, server.fileno]
            with contextlib.ExitStack() as cleanup:
                self._hold()
                cleanup.callback(self._end_holder)
                cleanup.callback(journal.close)
                cleanup.callback(self._unlink_socket, _identity(self.socket_path))
                cleanup.callback(server.close)
                self._write_info()
                self.say(f"journal daemon {journal.instance} serving {self.socket_path}")
                self._serve(journal, server, lambda: self._still_there(base_id, lock))
        finally:
            os.close(lock)

    def _lock(self) -> int:
        """Hold the daemon lock for this process's life: the one daemon of the project."""
        self.index_dir.mkdir(exist_ok=True)
        fd = os.open(
            self.index_dir / client.LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600
        )
        for _ in range(LOCK_TRIES):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                time.sleep(0.01)  # a status check holds it shared for an instant
        os.close(fd)
        running = client.running(self.layout)
        who = f" (pid {running.pid})" if running else ""
        raise OrchError(f"a journal daemon already runs for this project{who}")

    def _write_info(self) -> None:
        """What `orch daemon status` reads from the lock file: rewritten as it changes."""
        if not self._info:
            self._info = {"pid": os.getpid(), "started": time.time(),
                          "socket": str(self.socket_path), "relays": self.worker is not None}  # fmt: skip
        self._info["relayed"] = self.relayed
        data = json.dumps(self._info).encode()
        os.pwrite(self._lock_fd, data, 0)  # then cut: a reader never finds the file empty
        os.ftruncate(self._lock_fd, len(data))

    def _listen(self) -> socket.socket:
        """Bind the socket, in place of one a killed daemon left (ours: we hold the lock;
        one of another user's in /tmp is refused)."""
        path = self.socket_path
        with contextlib.suppress(FileNotFoundError):
            if os.lstat(path).st_uid != os.getuid():
                raise OrchError(
                    f"{path} belongs to another user: remove it, or shorten the project's path"
                )
            os.unlink(path)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # only this user may connect
        try:
            server.bind(os.fsdecode(path))
        finally:
            os.umask(old)
        server.listen(64)
        server.setblocking(False)
        return server

    def _serve(
        self, journal: Journal, server: socket.socket, still_there: Callable[[], bool]
    ) -> None:
        selector = selectors.DefaultSelector()
        selector.register(server, selectors.EVENT_READ, "question")
        selector.register(journal.inotify.fileno(), selectors.EVENT_READ, "events")
        # A signal wakes the loop through this pair (its handler only sets `stopping`).
        woken, waker = socket.socketpair()
        waker.setblocking(False)
        selector.register(woken, selectors.EVENT_READ, "signal")
        previous = signal.set_wakeup_fd(waker.fileno())
        self._own += [selector.fileno, woken.fileno, waker.fileno]
        checked = time.monotonic()
        try:
            while not self.stopping:
                ready = selector.select(timeout=CHECK_EVERY)
                if not ready and self.relayed != self._collected:  # idle: collect what
                    self._collected = self.relayed  # the forks froze (gc.freeze)
                    gc.unfreeze()
                    gc.collect()
                for key, _ in ready:
                    if key.data == "signal":
                        woken.recv(64)
                        continue
                    journal.drain()  # on a question too: every change made before it
                    if key.data == "question":
                        self._answer(journal, server)
                if self._holder in _reap():  # the index was rebuilt, or it was killed
                    self._holder = None
                if self._holder is None and time.monotonic() - self._held_at >= HOLD_AGAIN:
                    self._hold()
                if time.monotonic() - checked >= CHECK_EVERY:
                    checked = time.monotonic()
                    if not still_there():
                        self.say("the project folder, the socket or the lock went: stopping")
                        return
        except Gone as gone:
            self.say(f"{gone}: stopping")
        except OSError as error:  # out of inotify watches: nothing can be vouched for
            self.say(f"cannot keep the journal ({error}): stopping")
        finally:
            signal.set_wakeup_fd(previous)
            selector.close()
            woken.close()
            waker.close()

    def _answer(self, journal: Journal, server: socket.socket) -> None:
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            return
        with conn:
            try:
                if not relay.same_user(conn):
                    return  # the socket is this user's alone; anyone else is not heard
                question = relay.parse(_read_request(conn, time.monotonic() + QUESTION_TIMEOUT))
                if not isinstance(question, dict):
                    return
                if "run" in question:
                    self._relay(conn, question)
                    return
                if question.get("pretend") == "overflow":  # tests: what an overflow does
                    journal.forget()
                journal.drain()
                paths = journal.since(question.get("since"))
                answer = {"root": self.base, "token": journal.token(), "paths": paths}
                conn.sendall(json.dumps(answer).encode())
            except (OSError, ValueError):
                return  # a client gone or garbled: its own fallback is the scan

    def _relay(self, conn: socket.socket, request: dict) -> None:
        """Fork a worker for a command `orch` handed over, or say why not (the client
        then runs it itself)."""
        why = self._refusal(request)
        if why:
            conn.sendall(relay.line({"refused": why}))
            return
        # The daemon's objects out of the collector's sight: a collection in the worker
        # would touch every one of them, copying the pages it shares with the daemon.
        gc.freeze()
        pid = os.fork()
        if pid == 0:  # the worker: it never comes back here
            try:
                assert self.worker is not None
                self.worker(conn, request, [own() for own in self._own])
            finally:
                os._exit(1)
        self.relayed += 1
        self._write_info()

    def _refusal(self, request: dict) -> str | None:
        if self.worker is None:
            return "this daemon runs no commands"
        if request.get("groups") != relay.groups():
            return "the command runs with other groups than the daemon (newgrp, sg)"
        if request.get("fingerprint") != self.fingerprint:
            if not self._said_stale:
                self._said_stale = True
                self.say("orch's code changed since this daemon started: commands run"
                         " in their own processes until it is restarted")  # fmt: skip
            return "the daemon runs other code than this orch (restart it)"
        request_ok = (
            isinstance(request.get("run"), list)
            and all(isinstance(a, str) for a in request["run"])
            and isinstance(request.get("cwd"), str)
            and isinstance(request.get("env"), dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in request["env"].items())
            and isinstance(request.get("umask"), int)
        )
        if not request_ok:
            return "a request not understood"
        return None

    def _still_there(self, base_id: tuple[int, int] | None, lock: int) -> bool:
        lock_there = _identity(self.index_dir / client.LOCK_NAME) == _fd_identity(lock)
        socket_there = _identity(self.socket_path) is not None
        base_there = _identity(self.base) == base_id and base_id is not None
        return lock_there and socket_there and base_there

    def _unlink_socket(self, identity: tuple[int, int] | None) -> None:
        """Remove the socket if it is still the one this daemon made."""
        if identity is not None and _identity(self.socket_path) == identity:
            with contextlib.suppress(OSError):
                os.unlink(self.socket_path)

    def _hold(self) -> None:
        """Start the process holding the index open (again, if one ended)."""
        self._holder = _hold_index(self.index_dir, [own() for own in self._own])
        self._held_at = time.monotonic()

    def _end_holder(self) -> None:
        """Stop the process holding the index open (SIGKILL: it has nothing to tidy,
        and may not yet have left this process's handler of SIGTERM), and collect it."""
        if self._holder is not None:
            with contextlib.suppress(OSError):
                os.kill(self._holder, signal.SIGKILL)
                os.waitpid(self._holder, 0)
            self._holder = None

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True


def _read_request(conn: socket.socket, deadline: float) -> bytes:
    """A question's or a command's line (a command's is larger: its environment), read
    by `deadline` (a client that trickles its bytes holds up nobody for longer)."""
    data = b""
    while not data.endswith(b"\n") and len(data) <= relay.REQUEST_MAX:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request came too slowly")
        conn.settimeout(left)
        chunk = conn.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    return data


def _hold_index(index_dir: Path, inherited: list[int]) -> int:
    """Start a process that keeps the SQLite index open, idle, while this daemon runs;
    its pid. SQLite checkpoints the write-ahead log into the database, and deletes it,
    when the last connection closes: with this one open, no command's is the last, so a
    write command's close costs 0.1 ms instead of 9 (at 10,000 tasks), and the log is
    checkpointed by SQLite's own rule (every 1,000 pages) instead. A process of its own,
    forked before this one has any connection: a connection must not cross a fork, and
    the workers this daemon forks hold none of its."""
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:  # the holder: it never comes back from here
        for fd in inherited:  # the daemon's lock among them: a new daemon must get it
            with contextlib.suppress(OSError):
                os.close(fd)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _keep_open(index_dir / FILE_NAME["sqlite"], lambda: os.getppid() == parent)
    finally:
        os._exit(0)


def _keep_open(path: Path, parent_alive: Callable[[], bool]) -> None:
    """Hold `path` open (never creating it), looked at every second, while `parent_alive`
    and until another file takes its place (a rebuilt index: the daemon starts a holder
    for it). The process then ends without closing: a last close deletes the log by its
    name, which may be the new index's by then."""
    import sqlite3
    from urllib.parse import quote

    held, con = None, None  # never let go of: a connection let go of is closed
    while parent_alive():
        there = _identity(path)
        if con is None and there is not None:
            try:
                con = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True)
                # A read maps the shared memory of the log: held from now on.
                con.execute("SELECT count(*) FROM sqlite_master").fetchall()
            except sqlite3.Error:
                os._exit(1)  # not (yet) a database: the daemon starts another holder
            held = there
        elif con is not None and there != held:
            os._exit(0)
        time.sleep(1.0)
    os._exit(0)


def _reap() -> set[int]:
    """Collect the workers (and the holder) that ended; their pids."""
    ended = set()
    with contextlib.suppress(ChildProcessError):
        while pid := os.waitpid(-1, os.WNOHANG)[0]:
            ended.add(pid)
    return ended


def _identity(path: str | os.PathLike) -> tuple[int, int] | None:
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _fd_identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino
