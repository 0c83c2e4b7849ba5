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
from orchestrator.index.engine import IndexDB, index_path
from tests.conftest import Orch, alive, copy_sample, edit, set_engine, task_file
from tests.test_index import read_at

ORCH = [sys.executable, "-m", "orchestrator"]
CORES = prescan._cores  # the real one: the tests' fixture gives start() two cores


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
def no_child_left(monkeypatch):
    """Two cores for prescan.start() here, whatever the machine; no child left over."""
    monkeypatch.setattr(prescan, "_cores", lambda: 2)
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
    refreshed the index. A plan of the old generation that calls the new file gone is
    refused, and the command scans."""
    project, orch = fresh
    stale = signatures.early_plan(base_of(project), "sqlite")
    assert stale is not None
    run(project.root, "task", "add", "Added meanwhile", ORCH_RELAY="0", ORCH_PRESCAN="0")
    added = [
        p
        for p in project.layout.sessions_dir.glob("*/tasks/*.md")
        if "Added meanwhile" in p.read_text()
    ]
    assert len(added) == 1
    stale.gone = [project.layout.rel(added[0])]
    hand(stale, base_of(project))
    seen = taken(monkeypatch)
    titles = [t["title"] for t in orch.json("task", "list")]
    assert seen == [None]
    assert "Added meanwhile" in titles


def test_a_file_the_plan_found_gone_but_there_again_is_kept(fresh, monkeypatch):
    """An editor that deletes a file before writing it again, seen by the child between
    the two: the refresh looks at the file again before it drops it from the index."""
    project, orch = fresh
    task = orch.json("task", "list")[0]
    path = task_file(project, task["task_id"])
    text = path.read_text(encoding="utf-8")
    path.unlink()
    plan = signatures.early_plan(base_of(project), "sqlite")  # the child's scan, in between
    path.write_text(text.replace(task["title"], "Saved again", 1), encoding="utf-8")
    assert plan is not None and plan.gone == [project.layout.rel(path)]
    hand(plan, base_of(project))
    seen = taken(monkeypatch)
    assert orch.json("task", "show", task["task_id"])["title"] == "Saved again"
    assert len(seen) == 1 and isinstance(seen[0], signatures.Plan), "the child's plan was taken"
    assert task["task_id"] in [t["task_id"] for t in orch.json("task", "list")]


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


@pytest.mark.parametrize("forged", ["started", "made"], ids=["started-for", "made-for"])
def test_another_projects_plan_is_not_taken(fresh, tmp_path, monkeypatch, forged):
    """A child started for another folder, or a plan that says it was made for one."""
    project, orch = fresh
    other = str(tmp_path / "other" / ".task_orchestrator")
    plan = signatures.early_plan(base_of(project), "sqlite")
    assert plan is not None
    read, write = os.pipe()
    made_for = other if forged == "made" else base_of(project)
    os.write(
        write, marshal.dumps((made_for, plan.generation, plan.clock_ns, plan.to_read, plan.gone))
    )
    os.close(write)
    prescan._child = (os.getpid(), read, other if forged == "started" else base_of(project))
    seen = taken(monkeypatch)
    orch("status")
    assert seen == [None]


def test_a_plan_is_not_taken_for_duckdb_and_the_left_sqlite_snapshot_goes(fresh, monkeypatch):
    project, orch = fresh
    left = signatures.snapshot_file(base_of(project), "sqlite")
    assert os.path.exists(left)
    plan = signatures.early_plan(base_of(project), "sqlite")
    set_engine(project.root, "duckdb")
    orch("status")  # builds the DuckDB index (a rebuild takes no plan)
    hand(plan, base_of(project))
    seen = taken(monkeypatch)
    orch("status")
    assert seen == [None]
    assert not os.path.exists(left), "the next child would scan for nothing"
    assert signatures.early_plan(base_of(project), "sqlite") is None


def test_a_plan_is_not_taken_where_the_snapshot_is_not_kept(fresh):
    """keep_snapshot is off while a daemon's journal answers: no snapshot to trust."""
    project, _orch = fresh
    plan = signatures.early_plan(base_of(project), "sqlite")
    hand(plan, base_of(project))
    project.layout.keep_snapshot = False
    db = IndexDB("sqlite", index_path(project.layout.index_dir, "sqlite"), writable=False)
    try:
        assert prescan.take(project.layout, db) is None
    finally:
        db.close()


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


TRACED = """
import atexit, sys
from orchestrator.index import prescan
said = []
real = prescan.take
def spy(layout, db):
    found = real(layout, db)
    said.append("taken" if found is not None else "refused")
    return found
prescan.take = spy
atexit.register(lambda: sys.stderr.write(f"early plan: {said}\\n"))
sys.argv = ["orch", *sys.argv[1:]]
from orchestrator.launch import main
main()
"""


@pytest.mark.skipif(CORES() < 2, reason="fewer than two cores: no child is forked")
def test_orch_as_a_process_takes_the_childs_plan(fresh):
    """The whole path in a real `orch` process: launch.py forks the child, the command
    takes its plan, and shows the hand edit it found."""
    project, orch = fresh
    task = orch.json("task", "list")[0]
    edit(task_file(project, task["task_id"]), f"title: {task['title']}", "title: Seen early")
    environment = {k: v for k, v in os.environ.items() if k not in ("ORCH_ROOT", "ORCH_PRESCAN")}
    done = subprocess.run(
        [sys.executable, "-c", TRACED, "task", "show", task["task_id"], "--json"],
        cwd=project.root, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["title"] == "Seen early"
    assert "early plan: ['taken']" in done.stderr


def child_fds(pid: int) -> dict[int, str]:
    folder = Path(f"/proc/{pid}/fd")
    return {int(fd.name): os.readlink(fd) for fd in folder.iterdir()}


def test_the_child_holds_nothing_of_the_commands_but_its_pipe(fresh, tmp_path, monkeypatch):
    """Its standard streams are /dev/null and every other descriptor is closed: a lock
    or a pipe handed to `orch` is not held past the command."""
    project, _orch = fresh
    held = open(tmp_path / "a lock the caller holds", "w")  # noqa: SIM115 - held across the fork
    ready = tmp_path / "ready"

    def wait_here(_base, _engine):  # runs in the child: says it is there, then waits
        ready.write_text("")
        time.sleep(600)

    monkeypatch.setattr(signatures, "early_plan", wait_here)
    try:
        assert prescan.start(base_of(project))
        pid = prescan._child[0]
        deadline = time.monotonic() + 60  # only ends a hang
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        fds = child_fds(pid)
        assert sorted(fds) == [0, 1, 2, 3], fds
        assert {fds[0], fds[1], fds[2]} == {os.devnull}
        assert fds[3].startswith("pipe:")
        assert str(tmp_path / "a lock the caller holds") not in fds.values()
    finally:
        held.close()
        os.kill(prescan._child[0], 9)
        os.waitpid(prescan._child[0], 0)


@pytest.mark.parametrize("size", [10, 20_000], ids=["small", "over-a-pipe"])
def test_a_child_whose_command_ended_without_its_plan_ends_too(fresh, size):
    """The command can end before it asks (an error, a signal, a command that reads no
    index): the child ends when done, or at its write to the pipe nobody reads (a plan
    larger than a pipe holds blocks it until then)."""
    project, _orch = fresh
    script = (
        "import os, time\n"
        "from orchestrator.index import prescan, signatures\n"
        "prescan._cores = lambda: 2\n"
        f"signatures.early_plan = lambda base, engine: signatures.Plan("
        f"{{f'.task_orchestrator/x/{{n:08}}.md': (n, n, n) for n in range({size})}}, [], 0, 'g')\n"
        f"assert prescan.start({base_of(project)!r})\n"
        "pid, read, _ = prescan._child\n"
        "print(pid, flush=True)\n"
        + (
            # Until the pipe is full: the child is then blocked in its write.
            "import array, fcntl, termios\n"
            "full, waiting = fcntl.fcntl(read, fcntl.F_GETPIPE_SZ), array.array('i', [0])\n"
            "deadline = time.monotonic() + 60\n"
            "while waiting[0] < full and time.monotonic() < deadline:\n"
            "    fcntl.ioctl(read, termios.FIONREAD, waiting)\n"
            "    time.sleep(0.01)\n"
            "assert waiting[0] >= full, waiting\n"
            if size > 10
            else ""
        )
        + "os._exit(0)\n"
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
    monkeypatch.setattr(prescan, "_cores", lambda: 1)
    assert not prescan.start(base_of(project))
    assert prescan._child is None


@pytest.mark.parametrize(
    ("quota", "cores"), [(b"max 100000\n", 4), (b"150000 100000\n", 1.5), (None, 4)]
)
def test_cores_are_the_affinity_cut_by_a_cgroup_quota(monkeypatch, tmp_path, quota, cores):
    """A container given 1.5 CPUs of a 4-core machine gets no child."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3})
    limit = tmp_path / "cpu.max"
    if quota is not None:
        limit.write_bytes(quota)
    real_open = open

    def opened(path, *args, **kwargs):
        return real_open(limit if path == "/sys/fs/cgroup/cpu.max" else path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", opened)
    assert CORES() == cores
