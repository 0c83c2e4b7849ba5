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
import time
from pathlib import Path

from orchestrator.layout import Layout

try:  # Linux only: the platform marker in pyproject.toml installs it there
    from inotify_simple import INotify
    from inotify_simple import flags as F
except ImportError:  # pragma: no cover - other systems scan instead
    INotify = None

FOLDER_EVENTS = ("CREATE", "DELETE", "MOVED_FROM", "MOVED_TO", "MODIFY", "ATTRIB",
                 "CLOSE_WRITE", "DELETE_SELF", "MOVE_SELF")  # fmt: skip


# File systems where changes made by other machines or by the host do not reach inotify.
BLIND_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "drvfs", "fuse",
                     "fuseblk", "sshfs", "davfs", "afs", "ceph", "glusterfs", "lustre"}  # fmt: skip
# Seconds between full scans, whatever the journal says: a bound on how long a change the
# kernel did not report (a file system not listed above) can go unseen.
FULL_SCAN_EVERY = 30.0


def filesystem_type(path: Path) -> str | None:
    """The type of the file system holding `path` (from /proc/self/mountinfo), with a
    FUSE subtype reduced to "fuse"; None if it cannot be told."""
    try:
        target = str(path.resolve())
        best, kind = "", None
        with open("/proc/self/mountinfo", encoding="utf-8") as f:
            for line in f:
                fields = line.split()
                mount = fields[4].replace("\\040", " ")
                fstype = fields[fields.index("-") + 1]
                inside = target == mount or target.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(best):
                    best, kind = mount, fstype
        return "fuse" if kind and kind.startswith("fuse.") else kind
    except (OSError, ValueError, IndexError):
        return None


class Monitor:
    def __init__(self, layout: Layout):
        self.layout = layout
        self.inotify = INotify(nonblocking=True)
        self.mask = 0
        for name in FOLDER_EVENTS:
            self.mask |= F[name]
        self.folders: dict[int, str] = {}  # watch descriptor -> folder, relative to the root
        self.trusted = False
        self.broken: str | None = None  # why the journal was given up, if it was
        self.scanned_at = 0.0  # when the last full scan was asked for (monotonic)

    @classmethod
    def start(cls, layout: Layout) -> Monitor | None:
        """A journal of `layout`'s folder, or None where the kernel cannot keep one: no
        inotify (not Linux), no instances left, or a file system whose changes it does
        not see (network shares, FUSE, WSL's Windows drives)."""
        if INotify is None or filesystem_type(layout.base) in BLIND_FILESYSTEMS:
            return None
        try:
            return cls(layout)
        except OSError:  # no inotify instances left (a system limit): scan instead
            return None

    def close(self) -> None:
        self.inotify.close()

    def _watch(self, folder: Path) -> None:
        try:
            wd = self.inotify.add_watch(folder, self.mask)
        except (FileNotFoundError, NotADirectoryError):
            return
        self.folders[wd] = self.layout.rel(folder)

    def _watch_tree(self) -> None:
        """Watch every folder orch reads records from (again: watches are idempotent).
        A folder is watched before it is listed, so a sub-folder made meanwhile is an
        event (and the next check a full scan), never a folder left unwatched."""
        for folder in (self.layout.base, self.layout.roles_dir, self.layout.sessions_dir):
            self._watch(folder)
        try:
            sessions = [Path(e.path) for e in os.scandir(self.layout.sessions_dir) if e.is_dir()]
        except (FileNotFoundError, NotADirectoryError):
            sessions = []
        for session in sessions:
            self._watch(session)
            self._watch(session / "groups")
            self._watch(session / "tasks")

    def changes(self) -> list[str] | None:
        """The files (relative to the root) changed since the last call, or None when
        that cannot be told and every file must be checked (the journal is then reset,
        to be trusted from this call on). Every FULL_SCAN_EVERY seconds the answer is
        None anyway: a safety net for changes the kernel did not report."""
        if self.broken:
            return None
        if time.monotonic() - self.scanned_at > FULL_SCAN_EVERY:
            self._reset()
            return None
        try:
            events = self.inotify.read(timeout=0)
        except BlockingIOError:
            events = []
        except OSError:
            events = None
        if not self.trusted or events is None:
            self._reset()
            return None
        changed: set[str] = set()
        for event in events:
            if event.mask & (F.Q_OVERFLOW | F.IGNORED | F.DELETE_SELF | F.MOVE_SELF):
                self._reset()
                return None
            folder = self.folders.get(event.wd)
            if folder is None:
                self._reset()
                return None
            rel = f"{folder}/{event.name}"
            if event.mask & F.ISDIR:
                if self._holds_records(rel):
                    # A folder of records made, removed or moved: its files were never
                    # watched one by one.
                    self._reset()
                    return None
                continue  # .index/, artifacts/, archives/: nothing orch indexes
            if self.layout.classify(rel) is not None:  # not config.yaml, not swap files
                changed.add(rel)
        return sorted(changed)

    def _holds_records(self, rel: str) -> bool:
        """Whether a folder (relative to the root) is, or holds, one orch reads records
        from: roles/, sessions/, a session's folder, its groups/ or tasks/."""
        parts = rel.split("/")[1:]  # below .task_orchestrator/
        if len(parts) == 1:
            return parts[0] in ("roles", "sessions")
        if parts[0] != "sessions":
            return False
        return len(parts) == 2 or (len(parts) == 3 and parts[2] in ("groups", "tasks"))

    def _reset(self) -> None:
        """Drop what is queued and watch the tree as it is now; the caller scans."""
        try:
            while self.inotify.read(timeout=0):
                pass
        except (BlockingIOError, OSError):
            pass
        try:
            self._watch_tree()
        except OSError as e:
            # Out of watches (fs.inotify.max_user_watches, shared with editors and
            # IDEs) or not allowed: every check is a full scan from now on.
            self.broken = f"inotify: {e.strerror or e}"
            return None
        self.trusted = True
        self.scanned_at = time.monotonic()
        return None

    def distrust(self) -> None:
        """A check based on the journal failed half-way: scan everything next time."""
        self.trusted = False
