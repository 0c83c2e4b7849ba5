"""`orch watch` as a user runs it: a real process, real file edits, real commits."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import Orch, task_file

DEBOUNCE = 0.2
# Generous, for a loaded 2-core machine: the watcher must get there, not race a clock
# (bench/watch.py measures the latency).
PATIENCE = 20.0


class Watcher:
    """`orch watch` in a subprocess, its output lines collected as they come."""

    def __init__(self, root: Path):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orchestrator", "--root", str(root), "watch",
             "--debounce", str(DEBOUNCE)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            # Ctrl-C is how it stops: a suite started in the background by a shell
            # without job control (`( cmd & )`) hands its children SIGINT ignored.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        assert self.next_line().startswith("Watching .task_orchestrator/")

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_line(self, timeout: float = PATIENCE) -> str:
        line = self.lines.get(timeout=timeout)
        self.seen.append(line)
        return line

    def quiet_for(self, seconds: float) -> list[str]:
        """The lines printed within `seconds`."""
        end, got = time.monotonic() + seconds, []
        while (left := end - time.monotonic()) > 0:
            try:
                got.append(self.next_line(timeout=left))
            except queue.Empty:
                break
        return got

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=PATIENCE)
        self.quiet_for(0.5)
        return code


def commits(root: Path) -> list[str]:
    done = subprocess.run(["git", "log", "--format=%s"], cwd=root, capture_output=True, text=True)
    return done.stdout.splitlines()


def wait_for(condition, what: str) -> None:
    end = time.monotonic() + PATIENCE
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"the watcher did not {what} within {PATIENCE} s")


@pytest.fixture
def watched(sqlite_project):
    orch = Orch(sqlite_project.root)
    orch("session", "create", "Watched")
    task_id = orch.json("task", "add", "Tick me")["task_id"]
    watcher = Watcher(sqlite_project.root)
    yield sqlite_project, orch, task_id, watcher
    if watcher.process.poll() is None:
        watcher.process.kill()


def test_a_box_ticked_in_session_md_is_synced_and_committed(watched):
    project, orch, task_id, watcher = watched
    [session_md] = list(project.layout.sessions_dir.glob("*/session.md"))
    before = len(commits(project.root))
    text = session_md.read_text(encoding="utf-8")
    session_md.write_text(text.replace("- [ ] Tick me (Pending)", "- [x] Tick me (Pending)"))
    wait_for(
        lambda: "status: completed" in task_file(project, task_id).read_text(), "tick the task"
    )
    wait_for(lambda: len(commits(project.root)) == before + 1, "commit")
    line = watcher.next_line()
    assert "orch: edit" in line and "(" in line  # time, subject, commit id
    assert subprocess.run(["git", "status", "--porcelain"], cwd=project.root,
                          capture_output=True, text=True).stdout == ""  # fmt: skip
    # Its own writes (the view, the index, git) come back as events and sync nothing.
    assert watcher.quiet_for(1.0) == []
    assert len(commits(project.root)) == before + 1
    assert orch.json("task", "show", task_id)["status"] == "completed"
    assert watcher.stop() == 0
    assert watcher.seen[-1] == "Stopped."


def test_five_hundred_files_written_at_once_are_one_sync(watched):
    project, orch, _, watcher = watched
    session_id = orch.json("session", "show")["session_id"]
    tasks_dir = project.layout.session_dir(session_id) / "tasks"
    before = len(commits(project.root))
    # As a checkout would: many files within a few milliseconds. The watcher is stopped
    # meanwhile (its events wait in the kernel's queue), so that the burst reaches it at
    # once however slowly a loaded machine writes the files.
    watcher.process.send_signal(signal.SIGSTOP)
    try:
        for n in range(500):
            (tasks_dir / f"t-bulk{n:04d}.md").write_text(f"---\ntitle: Bulk {n}\n---\n")
    finally:
        watcher.process.send_signal(signal.SIGCONT)
    wait_for(lambda: len(commits(project.root)) > before, "commit")
    line = watcher.next_line()
    assert "orch: edit 500 tasks" in line
    assert watcher.quiet_for(1.5) == []  # and no second sync
    assert commits(project.root)[: len(commits(project.root)) - before] == ["orch: edit 500 tasks"]
    assert len(orch.json("task", "list")) == 501
    assert watcher.stop() == 0
