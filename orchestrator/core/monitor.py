"""A change journal of .task_orchestrator/ for processes that stay up (the MCP server).

A command checks that the index is current by a stat of every record file: 25 ms at
10,000 tasks, more than a server's whole reply may cost. A server instead keeps inotify
watches on the folders orch reads, and at each call drains the events the kernel has
queued since the last one: they name the files changed since, and only those are
compared with the index. The kernel queues an event when the write happens, so a drain
at the start of a call sees every change made before it — an edit saved just before the
call, or another process's write — without waiting on a watcher thread.

Anything the journal cannot vouch for (its first call, a new or removed folder, a queue
overflow, a failed refresh) makes the next check a full scan, after which it is trusted
again. Where inotify is missing (not Linux), `start()` returns None and every check is
the full scan.
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestrator.layout import Layout

try:  # Linux only: the platform marker in pyproject.toml installs it there
    from inotify_simple import INotify
    from inotify_simple import flags as F
except ImportError:  # pragma: no cover - other systems scan instead
    INotify = None

FOLDER_EVENTS = ("CREATE", "DELETE", "MOVED_FROM", "MOVED_TO", "MODIFY", "ATTRIB",
                 "CLOSE_WRITE", "DELETE_SELF", "MOVE_SELF")  # fmt: skip


class Monitor:
    def __init__(self, layout: Layout):
        self.layout = layout
        self.inotify = INotify(nonblocking=True)
        self.mask = 0
        for name in FOLDER_EVENTS:
            self.mask |= F[name]
        self.folders: dict[int, str] = {}  # watch descriptor -> folder, relative to the root
        self.trusted = False

    @classmethod
    def start(cls, layout: Layout) -> Monitor | None:
        if INotify is None:
            return None
        try:
            return cls(layout)
        except OSError:  # no inotify instances left (a system limit): scan instead
            return None

    def close(self) -> None:
        self.inotify.close()

    def _watch_tree(self) -> None:
        """Watch every folder orch reads records from (again: watches are idempotent)."""
        base = self.layout.base
        folders = [base, self.layout.roles_dir, self.layout.sessions_dir]
        try:
            sessions = [e.path for e in os.scandir(self.layout.sessions_dir) if e.is_dir()]
        except FileNotFoundError:
            sessions = []
        for session in sessions:
            folders += [Path(session), Path(session) / "groups", Path(session) / "tasks"]
        for folder in folders:
            try:
                wd = self.inotify.add_watch(folder, self.mask)
            except (FileNotFoundError, NotADirectoryError):
                continue
            self.folders[wd] = self.layout.rel(Path(folder))

    def changes(self) -> list[str] | None:
        """The files (relative to the root) changed since the last call, or None when
        that cannot be told and every file must be checked (the journal is then reset,
        to be trusted from this call on)."""
        try:
            events = self.inotify.read(timeout=0)
        except BlockingIOError:
            events = []
        except OSError:
            events = None
        if not self.trusted or events is None:
            return self._reset()
        changed: set[str] = set()
        for event in events:
            if event.mask & (F.Q_OVERFLOW | F.IGNORED | F.DELETE_SELF | F.MOVE_SELF):
                return self._reset()
            folder = self.folders.get(event.wd)
            if folder is None:
                return self._reset()
            if event.mask & F.ISDIR:
                # A folder made, removed or moved: its files were never watched one by one.
                return self._reset()
            rel = f"{folder}/{event.name}"
            if self.layout.classify(rel) is not None:  # not config.yaml, not swap files
                changed.add(rel)
        return sorted(changed)

    def _reset(self) -> None:
        """Drop what is queued and watch the tree as it is now; the caller scans."""
        try:
            while self.inotify.read(timeout=0):
                pass
        except (BlockingIOError, OSError):
            pass
        self._watch_tree()
        self.trusted = True
        return None

    def distrust(self) -> None:
        """A check based on the journal failed half-way: scan everything next time."""
        self.trusted = False
