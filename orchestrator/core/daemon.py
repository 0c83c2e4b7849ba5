"""`orch daemon start|stop|status|run`: the project's journal daemon
(index/journal_daemon.py), which tells every command what changed since it last looked
so that it need not stat every record file. One background process per project, in its
own session, its output in .index/journal.log. With `journal: auto` in config.yaml a
command starts it on first use (`autostart`); the default, `journal: off`, starts no
process nobody asked for.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import OrchError
from orchestrator.index import journal_client as client
from orchestrator.layout import Layout

if TYPE_CHECKING:
    from orchestrator.index.journal_daemon import Worker

# Seconds `orch daemon start` waits for the new daemon's first answer, and `stop` for
# it to end: generous, for a loaded machine.
START_WAIT = 15.0
STOP_WAIT = 15.0
# Seconds after a start (the log written) in which autostart tries none again: a daemon
# still starting, or one that failed (out of inotify watches), is not started by every
# command in a burst.
AUTOSTART_QUIET = 10.0


@dataclass
class DaemonStatus:
    """Whether the project's daemon runs, and what it costs."""

    running: bool
    pid: int | None = None
    started: str | None = None  # ISO 8601, UTC
    memory_mb: float | None = None  # resident, from /proc
    socket: str | None = None
    answering: bool = False  # it answered a question just now
    refused: str | None = None  # why it would not start here, if it said so
    log: str | None = None
    relays: bool = False  # it runs the commands `orch` hands it (relay.py)
    relayed: int = 0  # how many it ran

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _index_dir(layout: Layout) -> Path:
    return Path(client.real_base(layout)) / layout.index_dir.name


def status(layout: Layout) -> DaemonStatus:
    """The daemon of the project at `layout`: running or not, with its pid, since when,
    its memory and whether it answers."""
    index_dir = _index_dir(layout)
    refused = None
    with contextlib.suppress(OSError):
        refused = (index_dir / client.REFUSED_NAME).read_text(encoding="utf-8").strip() or None
    log = str(index_dir / client.LOG_NAME)
    found = client.running(layout)
    if found is None:
        return DaemonStatus(False, refused=refused, log=log)
    started = datetime.fromtimestamp(found.started, UTC).isoformat(timespec="seconds")
    answering = client.ask(layout, None, timeout=1.0).token is not None
    return DaemonStatus(True, found.pid, started, memory_mb(found.pid), found.socket, answering,
                        refused, log, found.relays, found.relayed)  # fmt: skip


def memory_mb(pid: int) -> float | None:
    """The resident memory of process `pid` in MB (VmRSS in /proc), or None."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def start(layout: Layout, wait: float = START_WAIT) -> DaemonStatus:
    """Start the daemon in the background and wait for its first answer. Refused, with
    the reason, where it cannot vouch for changes (see journal_daemon.refusal)."""
    from orchestrator.index.journal_daemon import refusal

    why = refusal(layout)
    if why:
        _note_refusal(layout, why)
        raise OrchError(f"no journal daemon for this project: {why}; every command scans instead")
    now = status(layout)
    if now.running:
        return now
    with contextlib.suppress(FileNotFoundError):
        (_index_dir(layout) / client.REFUSED_NAME).unlink()
    process = spawn(layout)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if client.ask(layout, None, timeout=1.0).token is not None:
            return status(layout)
        if process.poll() is not None:
            now = status(layout)
            if now.running:  # another start won the race: that one serves
                return now
            raise OrchError(f"the journal daemon did not start: {_last_line(layout)}")
        time.sleep(0.02)
    raise OrchError(f"the journal daemon gave no answer in {wait:g} s; see {status(layout).log}")


def spawn(layout: Layout) -> subprocess.Popen:
    """`orch daemon run` for this project, detached: its own session (a Ctrl-C in the
    terminal does not reach it), no terminal, its output appended to .index/journal.log."""
    index_dir = _index_dir(layout)
    index_dir.mkdir(parents=True, exist_ok=True)
    root = str(Path(client.real_base(layout)).parent)
    # -P: nothing imported from the project's folder, the daemon's working directory (a
    # repository's files are not code to run; its workers import what they need later).
    args = [sys.executable, "-P", "-m", "orchestrator", "--root", root, "daemon", "run"]
    env = {k: v for k, v in os.environ.items() if k != "ORCH_LOCK_HELD"}
    with open(index_dir / client.LOG_NAME, "ab") as log:
        os.utime(log.fileno())  # when it was last started (autostart waits after it)
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, close_fds=True, env=env, cwd=root)  # fmt: skip


def autostart(layout: Layout) -> None:
    """For a command that found no daemon under `journal: auto`: start one in the
    background, without waiting (this command scans). Not where it was refused before
    (`orch daemon start` tries again)."""
    index_dir = _index_dir(layout)
    if (index_dir / client.REFUSED_NAME).exists():
        return
    with contextlib.suppress(OSError):
        if time.time() - (index_dir / client.LOG_NAME).stat().st_mtime < AUTOSTART_QUIET:
            return
    from orchestrator.index.journal_daemon import refusal

    why = refusal(layout)
    if why:
        _note_refusal(layout, why)
        return
    with contextlib.suppress(OSError):
        spawn(layout)


def stop(layout: Layout, wait: float = STOP_WAIT) -> DaemonStatus | None:
    """Stop the daemon (SIGTERM, and wait for it to end). Returns what ran, or None."""
    found = status(layout)
    if not found.running or found.pid is None:
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(found.pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while client.running(layout) is not None:
        if time.monotonic() > deadline:
            raise OrchError(f"the journal daemon (pid {found.pid}) did not stop in {wait:g} s")
        time.sleep(0.02)
    return found


def serve(layout: Layout, worker: Worker | None = None) -> None:
    """Run the daemon in this process until stopped (what `start` runs in the
    background); with a `worker`, it also runs the commands `orch` hands it.
    Refused where it cannot vouch for changes; the reason is kept for autostart and the
    doctor."""
    from orchestrator.index.journal_daemon import Daemon, refusal

    why = refusal(layout)
    if why:
        _note_refusal(layout, why)

    def say(line: str) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        print(f"{stamp} [{os.getpid()}] {line}", flush=True)

    Daemon(layout, say, worker).run()


def _note_refusal(layout: Layout, why: str) -> None:
    with contextlib.suppress(OSError):
        index_dir = _index_dir(layout)
        index_dir.mkdir(parents=True, exist_ok=True)
        (index_dir / client.REFUSED_NAME).write_text(why + "\n", encoding="utf-8")


def _last_line(layout: Layout) -> str:
    try:
        lines = (_index_dir(layout) / client.LOG_NAME).read_text(encoding="utf-8").splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "no log"
