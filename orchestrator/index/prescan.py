"""The scan of every record file, made while the command is still importing orch.

Without a journal daemon, a command trusts the index only after a stat of every record
file (signatures.py): ~50 ms at 10,000 files, after ~60 ms of importing click and orch.
Both are bound to one core: imports hold the GIL, and so does a thread's loop of stats
(two threads stat slower than one). So `orch` (launch.py) forks a child before it imports
anything, as git's preload-index stats the index's files from threads while git goes on.
The child compares a scan with the signature snapshot (signatures.early_plan: it imports
no more than os and marshal) and writes the plan to a pipe; the command takes it (take())
in place of making its own.

Only an accelerator. The plan names the snapshot's generation. A snapshot of generation G
holds the signatures of the index at G, written once G's contents are final, and
generations never come back; so the plan is taken only while G is still the index's: it
compared the scan with what the index holds. A file edited by hand after the child's stat
is seen by the next command, as one edited after a command's own scan is. No child (one
core, no fork, a daemon's journal to ask), no snapshot, a dead child or one that has not
answered in a minute, another project, DuckDB: the command scans as before.
ORCH_PRESCAN=0 turns it off.

Imported by `orch` before anything else: the standard library only, and little of it.
"""

from __future__ import annotations

import marshal
import os

TYPE_CHECKING = False  # not typing's: importing typing costs `orch` ~10 ms before the fork
if TYPE_CHECKING:
    from orchestrator.index.engine import IndexDB
    from orchestrator.index.signatures import Plan
    from orchestrator.layout import Layout

ENV = "ORCH_PRESCAN"
ENGINE = "sqlite"  # the engine whose snapshot the child reads (DuckDB's commands scan)
WAIT_S = 60.0  # for the child's plan: a child stopped or hung is killed, and the command scans

# The child started for this process: (pid, the pipe's read end, the project folder).
_child: tuple[int, int, str] | None = None


def start(base: str) -> bool:
    """Fork the child that plans the refresh of the project in `base` (its
    .task_orchestrator folder, links resolved). Says whether it did."""
    global _child
    if _child is not None or os.environ.get(ENV, "1") == "0" or not hasattr(os, "fork"):
        return False
    if _cores() < 2:
        return False  # one core: the child would only take turns with the command
    read, write = os.pipe()
    if min(read, write) <= 2:  # a standard stream was closed: not ours to take
        os.close(read)
        os.close(write)
        return False
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return False
    if pid == 0:  # the child: never back into the caller
        code = 1
        try:
            os.close(read)
            _child_main(base, write)
            code = 0
        except BaseException:  # Ctrl-C, a broken pipe: nothing to say, nowhere to say it
            pass
        finally:
            os._exit(code)
    os.close(write)
    _child = (pid, read, base)
    return True


def _cores() -> float:
    """How many cores this process may use: its CPU affinity, cut by a cgroup's quota
    (a container given one CPU of a larger machine)."""
    if not hasattr(os, "sched_getaffinity"):
        return 1  # not Linux: not measured there, so not done
    cores: float = len(os.sched_getaffinity(0))
    try:
        with open("/sys/fs/cgroup/cpu.max", "rb") as f:  # cgroup v2: "quota period"
            quota, period = f.read().split()[:2]
        if quota != b"max":
            cores = min(cores, int(quota) / int(period))
    except (OSError, ValueError, ZeroDivisionError):
        pass  # no limit, or cgroup v1 (not read: none of our machines use it)
    return cores


def _child_main(base: str, write: int) -> None:
    # Nothing of the command's but the pipe: not its terminal or output (a reader sees
    # the end when the command ends, not when this does), nor a lock or a pipe a caller
    # gave it (`flock L orch status`).
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    if write != 3:
        os.dup2(write, 3)
        write = 3
    os.closerange(4, _fd_limit())
    from orchestrator.index.signatures import early_plan

    found = early_plan(base, ENGINE)
    if found is None:
        return  # no snapshot: the command reads the table
    data = marshal.dumps((base, found.generation, found.clock_ns, found.to_read, found.gone))
    view = memoryview(data)
    while view:
        view = view[os.write(write, view) :]


def _fd_limit() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (OSError, ValueError):
        return 1 << 16


def take(layout: Layout, db: IndexDB) -> Plan | None:
    """The child's plan for the index `db` of `layout`, if one was made and still applies;
    None otherwise (the caller makes its own). Once per process: a later refresh scans."""
    global _child
    if _child is None:
        return None
    pid, read, base = _child
    _child = None
    data = None
    try:
        if db.engine != ENGINE:
            # A SQLite snapshot left from before the switch to DuckDB: without it the next
            # child finds nothing to compare with and ends at once, scanning nothing.
            from orchestrator.index.signatures import snapshot_file

            _quietly(os.unlink, snapshot_file(base, ENGINE))
        elif layout.keep_snapshot and os.path.realpath(layout.base) == base:
            data = _read_all(read, pid)
    finally:
        os.close(read)
    if data is None:
        return None  # the child ends at its next write (a broken pipe), reaped with us
    _quietly(os.waitpid, pid, 0)  # it has closed its end (or was killed): it is ending
    try:
        made_in, generation, clock_ns, to_read, gone = marshal.loads(data)
    except (ValueError, EOFError, TypeError):
        return None  # nothing, or the child died before it said it all
    if made_in != base or generation is None or generation != db.generation():
        return None
    from orchestrator.index.signatures import Plan

    return Plan(to_read, gone, clock_ns, generation)


def _read_all(fd: int, pid: int) -> bytes:
    """All the child writes, up to its end. A child slower than expected is still quicker
    than a scan begun now (it is the same scan, begun sooner), so it is waited for; but
    not for ever: one stopped or hung past WAIT_S is killed, and the command scans."""
    import select
    import time

    poll = select.poll()
    poll.register(fd, select.POLLIN)
    deadline = time.monotonic() + WAIT_S
    chunks: list[bytes] = []
    while poll.poll(max(deadline - time.monotonic(), 0) * 1000):
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
    _quietly(os.kill, pid, 9)  # SIGKILL (the signal module costs its enums to import)
    return b""


def _quietly(call, *args) -> None:
    try:  # noqa: SIM105 - contextlib is not imported yet when `orch` starts
        call(*args)
    except OSError:
        pass
