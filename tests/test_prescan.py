"""The early scan (index/prescan.py) only saves time: a plan made by the child is taken
only while the index is still at the generation it was made against, and whatever goes
wrong with the child, the command scans for itself and answers as a rebuild would.

Also here: a plan made without the lock while another process refreshes does not drop
the file that process added (the generation is read before the scan)."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.core.project import Project
from orchestrator.index import prescan, signatures
from tests.conftest import Orch, alive, copy_sample, edit, task_file
from tests.test_index import read_at

ORCH = [sys.executable, "-m", "orchestrator"]


def run(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`orch ARGS` as a process of its own in `root`, as a person types it (no daemon)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("ORCH_ROOT", "ORCH_PRESCAN")}
    environment.update(env)
    # The timeout only ends a hang (a child holding the output open); no speed is asserted.
    done = subprocess.run(
        [*ORCH, *args], cwd=root, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"orch {' '.join(args)}: {done.stderr}"
    return done


def base_of(project: Project) -> str:
    return os.path.realpath(project.layout.base)


def hand(plan: signatures.Plan | None, base: str) -> None:
    """Make `plan` this process's early plan, as the child would have written it."""
    read, write = os.pipe()
    if plan is not None:
        os.write(
            write, marshal.dumps((base, plan.generation, plan.clock_ns, plan.to_read, plan.gone))
        )
    os.close(write)
    prescan._child = (os.getpid(), read, base)  # waitpid on ourselves fails: ignored


def taken(monkeypatch) -> list[object]:
    """What prescan.take() gives each time it is asked, from now on."""
    seen: list[object] = []
    real = prescan.take

    def spy(layout, db):
        seen.append(found := real(layout, db))
        return found

    monkeypatch.setattr(prescan, "take", spy)
    return seen


@pytest.fixture(autouse=True)
def no_child_left():
    yield
    if prescan._child is not None:  # a test that did not take its plan
        os.close(prescan._child[1])
        prescan._child = None


@pytest.fixture
def fresh(tmp_path) -> tuple[Project, Orch]:
    """A copy of the sample on SQLite (the engine the child plans for), its index and
    signature snapshot up to date."""
    project = copy_sample(tmp_path / "project", "sqlite")
    orch = Orch(project.root)
    orch("status")
    return project, orch


def test_the_childs_plan_is_taken_and_the_command_does_not_scan(fresh, monkeypatch):
    project, orch = fresh
    task = orch.json("task", "list")[0]
    edit(task_file(project, task["task_id"]), f"title: {task['title']}", "title: Edited by hand")
    assert prescan.start(base_of(project))  # a real child: forked, scanning
    seen = taken(monkeypatch)

    def no_scan(_base):
        raise AssertionError("the command scanned: the child's plan was not taken")

    monkeypatch.setattr(signatures, "scan_base", no_scan)
    assert orch.json("task", "show", task["task_id"])["title"] == "Edited by hand"
    assert len(seen) == 1 and isinstance(seen[0], signatures.Plan)
    assert list(seen[0].to_read) == [project.layout.rel(task_file(project, task["task_id"]))]


def test_a_plan_from_before_another_refresh_is_not_taken(fresh, monkeypatch):
    """The child planned against the snapshot; then another process added a task and
    refreshed the index. The plan (which lacks the new file, so would call it gone) is
    refused, and the command scans."""
    project, orch = fresh
    stale = signatures.early_plan(base_of(project), "sqlite")
    assert stale is not None
    run(project.root, "task", "add", "Added meanwhile", ORCH_RELAY="0", ORCH_PRESCAN="0")
    hand(stale, base_of(project))
    seen = taken(monkeypatch)
    titles = [t["title"] for t in orch.json("task", "list")]
    assert seen == [None]
    assert "Added meanwhile" in titles


@pytest.mark.parametrize("written", [b"", b"\x00garbled", None], ids=["nothing", "garbled", "cut"])
def test_a_child_that_died_or_said_nothing_leaves_the_command_to_scan(fresh, monkeypatch, written):
    project, orch = fresh
    task = orch.json("task", "list")[0]
    edit(task_file(project, task["task_id"]), f"title: {task['title']}", "title: Seen anyway")
    base = base_of(project)
    read, write = os.pipe()
    if written is None:  # the plan cut short: the child was killed while writing
        plan = signatures.early_plan(base, "sqlite")
        assert plan is not None
        whole = marshal.dumps((base, plan.generation, plan.clock_ns, plan.to_read, plan.gone))
        written = whole[: len(whole) // 2]
    os.write(write, written)
    os.close(write)
    prescan._child = (os.getpid(), read, base)
    seen = taken(monkeypatch)
    assert orch.json("task", "show", task["task_id"])["title"] == "Seen anyway"
    assert seen == [None]


def test_another_projects_plan_is_not_taken(fresh, tmp_path, monkeypatch):
    project, orch = fresh
    other = tmp_path / "other" / ".task_orchestrator"
    plan = signatures.early_plan(base_of(project), "sqlite")
    hand(plan, str(other))  # made for, and said to be of, another folder
    seen = taken(monkeypatch)
    orch("status")
    assert seen == [None]


def test_without_a_snapshot_the_child_says_nothing(fresh):
    project, _orch = fresh
    signatures.drop_snapshot(project.layout, "sqlite")
    assert signatures.early_plan(base_of(project), "sqlite") is None


def test_a_racy_file_in_the_snapshot_is_planned_to_be_read(fresh, monkeypatch):
    """A file read in the clock tick of its write is checked by content next time: the
    child's plan says so as the command's own would."""
    project, orch = fresh
    task = orch.json("task", "list")[0]
    path = task_file(project, task["task_id"])
    path.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    read_at(monkeypatch, path.stat().st_ctime_ns, orch, "status")  # in its tick: racy
    rel = project.layout.rel(path)
    generation, _folders, racy = signatures.load_snapshot(project.layout, "sqlite")
    assert racy == [rel]
    plan = signatures.early_plan(base_of(project), "sqlite")
    assert plan is not None and plan.generation == generation and list(plan.to_read) == [rel]


def test_a_plan_made_while_another_process_refreshes_keeps_the_file_it_added(fresh, monkeypatch):
    """A read scans without the lock. Another process adds a task and refreshes the index
    after that scan, before the read looks at the index: the read's plan, against the
    index as it is now, would call the new file gone. It is made against the generation
    read before the scan, so the refresh that would apply it makes another."""
    project, orch = fresh
    real_scan = signatures.scan
    calls = []

    def scan_then_another_adds(layout):
        found = real_scan(layout)
        if not calls:
            calls.append(1)
            run(
                project.root,
                "task",
                "add",
                "Added during the scan",
                ORCH_RELAY="0",
                ORCH_PRESCAN="0",
            )
        return found

    monkeypatch.setattr(signatures, "scan", scan_then_another_adds)
    titles = [t["title"] for t in orch.json("task", "list")]
    assert calls and "Added during the scan" in titles
    monkeypatch.undo()
    assert "Added during the scan" in [t["title"] for t in orch.json("task", "list")]


def test_orch_as_a_process_answers_as_a_rebuild_with_and_without_the_early_scan(fresh):
    project, orch = fresh
    task = orch.json("task", "list")[0]
    edit(task_file(project, task["task_id"]), f"title: {task['title']}", "title: Typed by hand")
    early = run(project.root, "task", "list", "--json", ORCH_RELAY="0")
    late = run(project.root, "task", "list", "--json", ORCH_RELAY="0", ORCH_PRESCAN="0")
    assert json.loads(early.stdout) == json.loads(late.stdout)
    assert "Typed by hand" in early.stdout
    new = task_file(project, task["task_id"]).with_name("t-byhand01.md")
    new.write_text(
        task_file(project, task["task_id"]).read_text(encoding="utf-8")
        .replace(f"task_id: {task['task_id']}", "task_id: t-byhand01")
        .replace("title: Typed by hand", "title: A new file"),
        encoding="utf-8",
    )  # fmt: skip
    shown = json.loads(run(project.root, "task", "show", "t-byhand01", "--json").stdout)
    assert shown["title"] == "A new file"
    orch("reindex")
    rebuilt = run(project.root, "task", "list", "--json", ORCH_RELAY="0", ORCH_PRESCAN="0")
    assert json.loads(run(project.root, "task", "list", "--json").stdout) == json.loads(
        rebuilt.stdout
    )


def test_a_reader_of_the_output_sees_its_end_when_the_command_ends(fresh):
    """The child does not hold the command's output open: `orch status | head -1` ends."""
    project, _orch = fresh
    done = subprocess.run(
        f"{sys.executable} -m orchestrator status | head -1",
        shell=True,
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "ORCH_ROOT"},
    )
    assert done.returncode == 0 and done.stdout.strip()


def test_a_child_whose_command_ended_without_its_plan_ends_too(fresh, tmp_path):
    """The command can end before it asks (an error, a signal): the child ends at its
    write to the pipe nobody reads, or when done, and is no one's to wait for."""
    project, _orch = fresh
    script = (
        "import os, sys\n"
        "from orchestrator.index import prescan\n"
        f"assert prescan.start({base_of(project)!r})\n"
        "print(prescan._child[0], flush=True)\n"
        "os._exit(0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    child = int(done.stdout)
    deadline = time.monotonic() + 60  # only ends a hang: the child needs milliseconds
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def test_no_child_on_one_core_or_when_turned_off(fresh, monkeypatch):
    project, _orch = fresh
    monkeypatch.setenv("ORCH_PRESCAN", "0")
    assert not prescan.start(base_of(project))
    monkeypatch.delenv("ORCH_PRESCAN")
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
    assert not prescan.start(base_of(project))
    assert prescan._child is None
