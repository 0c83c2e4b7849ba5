"""`orch task list` writes what it finds as it finds it: --json and --jsonl stream their
objects to a pipe (a program starts on the first before orch has found the last), and
the text list opens in a pager on a terminal when it is longer than the screen."""

from __future__ import annotations

import io
import json
import os
import pty
import sys

import pytest

from orchestrator.cli import cli
from orchestrator.index.engine import IndexDB
from tests.conftest import Orch

MANY = 1500  # with ~700 bytes a task, far more than a pipe's 64 KiB buffer holds


def many_tasks(project, count: int) -> None:
    """`count` tasks in the active session, written as files (a command each would take
    minutes), then indexed by the next command."""
    orch = Orch(project.root)
    orch("session", "create", "Big")
    session = orch.json("session", "show")["session_id"]
    folder = project.layout.session_dir(session) / "tasks"
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (folder / f"t-{n:08x}.md").write_text(
            f"---\ntask_id: t-{n:08x}\nsession_id: {session}\ntitle: Task {n} {'x' * 400}\n"
            f"status: pending\ncreated_at: '2026-12-01T00:00:{n % 60:02d}.000Z'\n---\n"
        )
    orch("status")


def test_jsonl_is_one_object_a_line_and_the_same_tasks_as_json(project):
    many_tasks(project, 30)
    orch = Orch(project.root)
    listed = orch.json("task", "list")
    lines = orch("task", "list", "--jsonl").stdout.splitlines()
    assert [json.loads(line) for line in lines] == listed
    assert len(listed) == 30
    ready = orch("task", "list", "--ready", "--jsonl").stdout.splitlines()
    assert [json.loads(line) for line in ready] == orch.json("task", "list", "--ready")


def test_nothing_listed_is_an_empty_array_or_no_line(project):
    orch = Orch(project.root)
    orch("session", "create", "Empty")
    assert orch("task", "list", "--json").stdout.strip() == "[]"
    assert orch("task", "list", "--jsonl").stdout == ""


@pytest.mark.parametrize("flag", ["--jsonl", "--json"])
def test_the_first_tasks_are_written_before_the_last_is_found(sqlite_project, monkeypatch, flag):
    """The index hands its rows over one by one (IndexDB.json_rows); by the time it hands
    over the last, the first are already on standard output."""
    many_tasks(sqlite_project, MANY)
    out = io.StringIO()
    written_when: list[int] = []  # what stdout held as each row was handed over
    real = IndexDB.json_rows

    def watched(self, *args, **kwargs):
        for row in real(self, *args, **kwargs):
            written_when.append(len(out.getvalue()))
            yield row

    monkeypatch.setattr(IndexDB, "json_rows", watched)
    monkeypatch.setattr(sys, "stdout", out)
    cli.main(["--root", str(sqlite_project.root), "task", "list", flag], standalone_mode=False)
    assert len(written_when) == MANY
    assert written_when[0] == len("" if flag == "--jsonl" else "[")  # nothing before the first
    assert written_when[-1] > MANY // 2 * 400  # most of it out before the last was found
    text = out.getvalue()
    tasks = [json.loads(x) for x in text.splitlines()] if flag == "--jsonl" else json.loads(text)
    assert sorted(t["task_id"] for t in tasks) == [f"t-{n:08x}" for n in range(MANY)]


def test_a_long_list_on_a_terminal_opens_in_the_pager(sqlite_project):
    project = sqlite_project
    many_tasks(project, 80)
    pager = "import sys; lines = sys.stdin.read().splitlines(); print('PAGED', len(lines))"
    env = {**os.environ, "PAGER": f'{sys.executable} -c "{pager}"', "LINES": "24", "COLUMNS": "200"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: orch on a terminal
        command = ["-m", "orchestrator", "--root", str(project.root), "task", "list"]
        os.execvpe(sys.executable, [sys.executable, *command], env)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    paged = int(out.split(b"PAGED ")[1].split()[0])
    assert paged > 80 and b"t-0000004f" not in out  # the tasks went to the pager, not the screen
