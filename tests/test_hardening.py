"""The faults a real user meets: processes killed mid-write, an index lost or damaged,
malformed files by the thousand, huge files and deep trees, hostile paths and titles,
and agents and people writing at once. Long randomized variants run by hand:
`pytest -m slow tests/test_hardening.py`."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.core.project import Project
from orchestrator.core.sessions import create_session
from orchestrator.core.tasks import add_task, show_task
from orchestrator.errors import OrchError, PathOutsideProject
from orchestrator.git import repo as gitrepo
from orchestrator.index.engine import index_path
from orchestrator.layout import FileRole
from orchestrator.store.record_file import parse_record
from orchestrator.store.session_view import broken_markers
from tests.conftest import edit
from tests.test_sync import Commit, assert_one_commit_per_value, history


def orch(root: Path, *args: str, code: int | None = 0, env=None) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "orchestrator", *args], cwd=root,
                          capture_output=True, text=True, env=env)  # fmt: skip
    if code is not None:
        assert done.returncode == code, f"orch {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    return done


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    orch(root, "init")
    project = Project(root.resolve())
    create_session(project, "Hardening")
    return root.resolve()


# -- killed at random points -----------------------------------------------------------------

# A writer: updates a task's description, adds a note to session.md or rebuilds the
# index, and prints a line after each change that returned (a success its user saw).
# Descriptions open with a unique token line and end with `end TOKEN`: a body cut short
# shows. It prints "ready" once started, so that kills land in the work, not in imports.
BUSY = """
import random, sys
from orchestrator.core.project import Project
from orchestrator.core.tasks import update_task
from orchestrator.core.views import add_note
root, ids, seed = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
rng = random.Random(seed)
print("ready", flush=True)
n = 0
while True:
    n += 1
    token, roll, project = f"r{seed}.{n}", rng.random(), Project.find(root)
    if roll < 0.15:
        project.reindex()
    elif roll < 0.4:
        add_note(project, "learning", token)
        print("note", token, flush=True)
    else:
        task = rng.choice(ids)
        padding = "x" * rng.randint(0, 5000)
        update_task(project, task, description=f"{token}\\n\\n{padding}\\n\\nend {token}")
        print("update", task, token, flush=True)
"""
NOTE_LINE = re.compile(r"- \d{4}-\d{2}-\d{2}: (r\d+\.\d+)")


def start_busy(script: Path, repo: Path, ids: list[str], seed: int, log: Path):
    """A writer in a session of its own: its process group is the writer and the git
    processes it starts, which a kill reaches together, as Ctrl-C in a terminal does."""
    with log.open("w") as out:
        child = subprocess.Popen([sys.executable, str(script), str(repo), ",".join(ids), str(seed)],
                                 stdout=out, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while not log.read_text().startswith("ready"):
        assert child.poll() is None, child.stderr.read().decode()
        assert time.monotonic() < deadline, "the writer did not start"
        time.sleep(0.01)
    return child


def kill_group(child: subprocess.Popen) -> None:
    """SIGKILL a writer's whole process group, then wait until none of it runs (zombies
    aside: the orphans of a killed process are reaped by whoever adopts them)."""
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    deadline = time.monotonic() + 30
    while group_alive(child.pid):
        assert time.monotonic() < deadline, f"process group {child.pid} outlived SIGKILL"
        time.sleep(0.01)
    assert child.returncode == -signal.SIGKILL, child.stderr.read().decode()  # not a crash
    child.stderr.close()


ORCH_INDEX = ".task_orchestrator/.index"


def wait_for_a_lock(repo: Path, child: subprocess.Popen) -> bool:
    """Poll until a git lock file (`*.lock`: an index or a ref being written) exists in
    the repository or orch's index folder while the writer runs (True), or give up after
    a while (False)."""
    folders = [repo / ".git", repo / ".git/refs/heads", repo / ORCH_INDEX]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and child.poll() is None:
        for folder in folders:
            with os.scandir(folder) as entries:
                if any(e.name.endswith(".lock") for e in entries):
                    return True
    return False


def locks_left(repo: Path) -> list[Path]:
    """The git lock files in the repository and in orch's index folder (its private index)."""
    return sorted([*(repo / ".git").rglob("*.lock"), *(repo / ORCH_INDEX).rglob("*.lock")])


def age_the_locks_left(repo: Path) -> None:
    """Date the locks a kill left some seconds back, as they are by a user's next command
    (set, not waited for): orch removes a lock once it is older than STALE_LOCK_AGE and no
    git process works in the repository. A lock of a moment ago is waited for instead;
    tests/test_nothing_lost.py places that case exactly."""
    past = time.time() - 10 * gitrepo.STALE_LOCK_AGE
    for lock in locks_left(repo):
        os.utime(lock, (past, past))


def group_alive(pgid: int) -> bool:
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat_file in proc.glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def assert_whole(repo: Path, round: int) -> None:
    """Every task file and session.md parses, and none is cut short: a description ends
    with the `end TOKEN` its first line calls for, session.md with its footer region."""
    base = repo / ".task_orchestrator/sessions"
    for path in [*base.glob("*/tasks/*.md"), *base.glob("*/session.md")]:
        if path.name == "session.md":
            kind, role = "session", FileRole("session", path.parent.name, path.parent.name)
        else:
            kind, role = "task", FileRole("task", path.stem, path.parent.parent.name)
        text = path.read_text(encoding="utf-8")
        parsed = parse_record(kind, text, path.name, role)
        assert parsed.record is not None, f"round {round}: {path.name} is torn: {parsed.problems}"
        lines = parsed.record.body.strip().splitlines()
        if kind == "session":
            assert broken_markers(parsed.record.body) == [], f"round {round}: {path.name}"
            assert lines[-1] == "<!-- orch:end footer -->", f"round {round}: {path.name} is cut"
        elif lines:
            assert lines[-1] == f"end {lines[0]}", f"round {round}: {path.name} is cut short"


def assert_clean_after_sync(repo: Path, round: int) -> None:
    """`orch sync` commits everything left; says which lock files are left if it does not."""
    orch(repo, "sync")
    left = git(repo, "status", "--porcelain", "--", ".task_orchestrator")
    if left:
        locks = [str(p.relative_to(repo)) for p in locks_left(repo)]
        pytest.fail(f"round {round}: left uncommitted after orch sync:\n{left}locks: {locks}")


def assert_each_success_once(repo: Path, reported: list[list[str]]) -> None:
    """Each change a writer reported is in the history exactly once: the description's
    token line is added by one commit only, to that task's file, a commit naming the
    task; a note's line is added to session.md by one commit and is in it once now.
    A change cut short before its report may be there or not, but never twice."""
    commits = history(repo, ".task_orchestrator/sessions")
    added: dict[str, list[tuple[Commit, str]]] = {}  # token -> (commit, path) adding it
    for commit in commits:
        for path, lines in commit.added.items():
            for line in lines:
                token = m[1] if (m := NOTE_LINE.fullmatch(line)) else line
                if re.fullmatch(r"r\d+\.\d+", token):
                    added.setdefault(token, []).append((commit, path))
    twice = {t: [c.subject for c, _ in found] for t, found in added.items() if len(found) > 1}
    assert twice == {}
    view = next(repo.glob(".task_orchestrator/sessions/*/session.md"))
    notes = Counter(
        m[1] for line in view.read_text().splitlines() if (m := NOTE_LINE.fullmatch(line))
    )
    assert max(notes.values(), default=0) <= 1, notes
    wrong = []
    for kind, *rest in reported:
        token = rest[-1]
        if token not in added:
            wrong.append(f"{kind} {token}: reported, not in the history")
            continue
        commit, path = added[token][0]
        if kind == "update":
            task = rest[0]
            if Path(path).stem != task or f"Orch-Task: {task}" not in commit.trailers:
                wrong.append(f"update {token} of {task}: added to {path} by {commit.subject}")
        elif notes[token] != 1 or "Orch-Op: note-learning" not in commit.trailers:
            wrong.append(f"note {token}: {notes[token]} times in session.md, by {commit.subject}")
    assert wrong == []


def kill_rounds(repo: Path, tmp_path: Path, rounds: int) -> None:
    project = Project(repo)
    ids = [add_task(project, f"Task {n}")["task_id"] for n in range(3)]
    script = tmp_path / "busy.py"
    script.write_text(BUSY)
    rng = random.Random(rounds)
    reported: list[list[str]] = []
    for n in range(rounds):
        log = tmp_path / f"writer-{n}.log"
        child = start_busy(script, repo, ids, n, log)
        # Where the kill lands: a random point of the work, or (every other round) while
        # a git process of the writer holds a lock file, which the kill leaves behind.
        # No assertion depends on it.
        if n % 2 == 0 or not wait_for_a_lock(repo, child):
            time.sleep(rng.random() * 0.8)
        kill_group(child)
        age_the_locks_left(repo)
        reported += [line.split() for line in log.read_text().split("\n")[1:-1]]  # whole lines
        assert_whole(repo, n)
        orch(repo, "status")  # the next command recovers: index, intent, commits
        assert_whole(repo, n)
        assert_clean_after_sync(repo, n)
    assert_each_success_once(repo, reported)
    listed = orch(repo, "task", "list", "--json").stdout
    orch(repo, "reindex")
    assert orch(repo, "task", "list", "--json").stdout == listed  # equals a rebuild


def test_writers_killed_at_random_points_leave_no_torn_file_and_lose_nothing(repo, tmp_path):
    kill_rounds(repo, tmp_path, rounds=6)


@pytest.mark.slow
def test_writers_killed_at_random_points_a_hundred_times(repo, tmp_path):
    kill_rounds(repo, tmp_path, rounds=100)


# -- the index lost or damaged ---------------------------------------------------------------


@pytest.mark.parametrize("damage", ["deleted", "truncated", "another_version"])
def test_a_lost_or_damaged_index_is_rebuilt_with_a_notice(repo, damage):
    project = Project(repo)
    add_task(project, "Survives")
    listed = orch(repo, "task", "list", "--json").stdout
    path = index_path(project.layout.index_dir, project.config.index)
    if damage == "deleted":
        path.unlink()
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
        for extra in path.parent.glob(path.name + "-*"):
            extra.unlink()
    else:
        import sqlite3

        with sqlite3.connect(path) as con:
            con.execute("UPDATE index_meta SET value = 'from another orch' WHERE key = 'version'")
    done = orch(repo, "task", "list", "--json")
    assert done.stdout == listed
    notices = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(notices) == 1 and "rebuilt it from the files" in notices[0], done.stderr


# -- malformed files by the thousand ---------------------------------------------------------


def mutations(good: str, rng: random.Random):
    """Ways people and tools break a record file."""
    lines = good.splitlines(keepends=True)
    yield good[: rng.randint(0, len(good))]  # cut short
    yield good.replace("---", "- --", 1)
    yield "".join(rng.sample(lines, len(lines)))  # shuffled
    yield good.replace(": ", ":", rng.randint(1, 3))
    yield good.replace("  ", "\t")
    yield good.replace("title:", "title: [unclosed", 1)
    yield good.replace(
        "status: pending", f"status: {rng.choice(['', '[]', '{a: 1}', '7', 'null'])}"
    )
    yield good.replace(
        "priority_level: 3", f"priority_level: {rng.choice(['high', '1e400', '-1', '[1]'])}"
    )
    yield good.replace("title:", "title: &a [*a]\nx: *a\ntitle2:", 1)
    yield good.replace("task_id:", "task_id: !!python/object/apply:os.getpid []", 1)
    yield good + "\n---\n" + good  # two records in one
    yield "\ufeff" + good.replace("\n", "\r\n")
    blob = bytearray(good.encode())
    for _ in range(rng.randint(1, 20)):
        blob[rng.randrange(len(blob))] = rng.randrange(256)
    yield blob.decode("utf-8", errors="surrogateescape")


def test_a_thousand_malformed_files_give_clear_errors_never_a_traceback(repo):
    project = Project(repo)
    good_id = add_task(project, "Good", priority_level=3)["task_id"]
    good_path = next(repo.glob(f".task_orchestrator/sessions/*/tasks/{good_id}.md"))
    good = good_path.read_text()
    rng = random.Random(9)
    folder = good_path.parent
    made = 0
    while made < 1000:
        for text in mutations(good, rng):
            if made >= 1000:
                break
            name = f"t-{made:08x}.md"
            (folder / name).write_bytes(text.encode("utf-8", errors="surrogateescape"))
            made += 1
    listed = orch(repo, "task", "list", "--json")  # works, with a warning
    assert good_id in listed.stdout
    problems = json.loads(orch(repo, "doctor", "--json", code=1).stdout)
    assert len({p["path"] for p in problems}) > 500
    assert all(p["message"] and p["path"].startswith(".task_orchestrator/") for p in problems)
    orch(repo, "doctor", "--fix", code=1)
    orch(repo, "search", "good")
    orch(repo, "cleanup")


# -- big files and deep trees ----------------------------------------------------------------


def test_a_hierarchy_fifty_deep_and_a_five_megabyte_task(repo):
    project = Project(repo)
    parent = None
    for depth in range(50):
        parent = add_task(project, f"Level {depth}", parent=parent)["task_id"]
    shown = show_task(project, parent)
    assert shown["level"] == 49
    ready = json.loads(orch(repo, "task", "list", "--ready", "--json").stdout)
    assert [t["task_id"] for t in ready] == [parent]  # only the deepest can start
    body = ("A long line of the report. " * 40 + "\n") * 4500 + "needle at the very end"
    big = add_task(project, "Huge report", description=body)["task_id"]
    assert len(Path(show_task(project, big)["file_path"]).name) > 0
    found = json.loads(orch(repo, "search", "needle", "--json").stdout)
    assert [t["task_id"] for t in found["tasks"]] == [big]
    view = next(repo.glob(".task_orchestrator/sessions/*/session.md")).read_text()
    assert "Level 49" in view and broken_markers(view) == []
    orch(repo, "doctor")


# -- hostile paths and text ------------------------------------------------------------------


def test_paths_cannot_escape_the_project(repo, tmp_path):
    project = Project(repo)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil_roles.yaml").write_text("implementer:\n  role_definition: x\n")
    (repo / ".task_orchestrator/roles/evil_roles.yaml").symlink_to(outside / "evil_roles.yaml")
    said = orch(repo, "session", "create", "Evil", "--mode", "evil", "--switch", code=1).stderr
    assert "outside" in said
    said = orch(repo, "mode", "select", "../../../outside/evil_roles.yaml", code=1).stderr
    assert "outside" in said or "live directly in" in said
    # A person's export goes where they say (an agent's stays in: tests/test_cli_seams.py).
    (repo / "out").symlink_to(outside)
    orch(repo, "export", "-o", "out/x.json")
    assert (outside / "x.json").exists()
    from orchestrator.core.subtasks import complete_subtask

    task = add_task(project, "Report")["task_id"]
    done = complete_subtask(
        project, task, "ok", detailed_work="w", artifact_type="../../../../etc/x"
    )
    artifact = (repo / done["artifact"]).resolve()
    assert artifact.is_relative_to(repo / ".task_orchestrator/sessions")
    assert artifact.parent.name == task
    with pytest.raises(PathOutsideProject):
        project.layout.inside("../escape", what="path")
    with pytest.raises(OrchError):
        Project.find(str(tmp_path / "does-not-exist"))


def test_a_yaml_tag_that_would_run_code_is_reported_and_never_run(repo, tmp_path):
    """A tag an unsafe loader executes (`!!python/object/apply:os.system`) in every kind of
    YAML file orch reads: each file is reported as bad and no command runs (its marker
    file never appears), whatever orch command reads it."""
    project = Project(repo)
    task = add_task(project, "Tagged")["task_id"]
    base = repo / ".task_orchestrator"
    task_path = next(base.glob(f"sessions/*/tasks/{task}.md"))
    session_path = task_path.parent.parent / "session.md"
    role_path = base / "roles/tagged_roles.yaml"
    role_path.write_text("implementer:\n  role_definition: x\n")
    markers = {name: tmp_path / f"ran-{name}" for name in ("task", "session", "role", "config")}

    def tag(name: str) -> str:
        return f'!!python/object/apply:os.system ["touch {markers[name]}"]'

    edit(task_path, "title: Tagged", f"title: {tag('task')}")
    edit(session_path, "name: Hardening", f"name: {tag('session')}")
    edit(role_path, "role_definition: x", f"role_definition: {tag('role')}")
    with (base / "config.yaml").open("a", encoding="utf-8") as config:
        config.write(f"watch_debounce: {tag('config')}\n")
    said = orch(repo, "task", "list").stderr
    said += orch(repo, "status").stderr + orch(repo, "sync").stderr + orch(repo, "reindex").stderr
    said += orch(repo, "mode", "list").stderr
    problems = json.loads(orch(repo, "doctor", "--json", code=1).stdout)
    assert [name for name, marker in markers.items() if marker.exists()] == []
    assert sorted(p["path"] for p in problems) == sorted(
        str(path.relative_to(repo)) for path in (task_path, session_path, role_path)
    )
    assert all("python/object/apply:os.system" in p["message"] for p in problems), problems
    assert "config.yaml:" in said and "using default settings" in said


TOKENS = ["\n", ": ", "---", "#", "<!-- orch:end groups -->", "- [x] ", "'", '"', "&a", "*a",
          "!!", "<", "-->", "{", "["]  # fmt: skip
titles = st.lists(
    st.one_of(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                      max_size=6), st.sampled_from(TOKENS)),
    min_size=1, max_size=8,
).map("".join).filter(lambda t: t.strip())  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=titles.map(lambda t: " ".join(t.splitlines())).filter(str.strip), description=titles)
def test_record_text_cannot_inject_fields_or_break_the_view(repo, title, description):
    project = Project(repo)
    task = add_task(project, title, description=description)
    shown = show_task(project, task["task_id"])
    assert shown["title"] == title.strip()
    assert shown["status"] == "pending" and shown["problems"] == []
    view = next(repo.glob(".task_orchestrator/sessions/*/session.md")).read_text()
    assert broken_markers(view) == []


def test_files_are_written_with_the_users_umask(repo):
    script = (
        "import os, sys\nos.umask(0o027)\n"
        "from orchestrator.core.project import Project\n"
        "from orchestrator.core.tasks import add_task\n"
        "print(add_task(Project.find(sys.argv[1]), 'Private')['file_path'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(repo)], capture_output=True,
                          text=True, check=True)  # fmt: skip
    mode = stat.S_IMODE(os.stat(repo / done.stdout.strip()).st_mode)
    assert mode == 0o640


# -- people and agents at once ---------------------------------------------------------------

CLI_WORKER = """
import sys
from orchestrator.cli import cli
root, worker, ids, updates = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), int(sys.argv[4])
for n in range(updates):
    task_id = ids[(worker + n) % len(ids)] if n % 2 else ids[worker]
    cli(["--root", root, "task", "update", task_id, "--description", f"w{worker} n{n}"],
        standalone_mode=False)
"""


def test_cli_and_mcp_writers_at_once_lose_nothing(repo, tmp_path):
    cli_and_mcp_writers_at_once(repo, tmp_path, updates=20)


@pytest.mark.slow
def test_cli_and_mcp_writers_at_once_fifty_updates_each_lose_nothing(repo, tmp_path):
    cli_and_mcp_writers_at_once(repo, tmp_path, updates=50)


def cli_and_mcp_writers_at_once(repo: Path, tmp_path: Path, updates: int) -> None:
    """Two CLI processes and two MCP servers, `updates` each, on four shared tasks."""
    from mcp import Client, StdioServerParameters

    project = Project(repo)
    ids = [add_task(project, f"Shared {n}")["task_id"] for n in range(4)]
    before = int(git(repo, "rev-list", "--count", "HEAD"))
    script = tmp_path / "cli_worker.py"
    script.write_text(CLI_WORKER)
    workers = [subprocess.Popen([sys.executable, str(script), str(repo), str(w), ",".join(ids),
                                 str(updates)]) for w in (0, 1)]  # fmt: skip

    async def agent(worker: int) -> None:
        params = StdioServerParameters(command=sys.executable,
                                       args=["-m", "orchestrator", "mcp", "--root", str(repo)])  # fmt: skip
        async with Client(params, read_timeout_seconds=120) as client:
            for n in range(updates):
                task_id = ids[(worker + n) % len(ids)] if n % 2 else ids[worker]
                result = await client.call_tool("orchestrator_task_update",
                                                {"task_id": task_id, "description": f"w{worker} n{n}"})  # fmt: skip
                assert not result.is_error, result.content[0].text

    async def agents() -> None:
        await asyncio.gather(agent(2), agent(3))

    asyncio.run(agents())
    assert [w.wait(timeout=300) for w in workers] == [0, 0]
    assert int(git(repo, "rev-list", "--count", "HEAD")) == before + 4 * updates
    assert_one_commit_per_value(repo, {f"w{w} n{n}" for w in range(4) for n in range(updates)})
    assert git(repo, "status", "--porcelain", "--", ".task_orchestrator") == ""
    listed = orch(repo, "task", "list", "--json").stdout
    orch(repo, "reindex")
    assert orch(repo, "task", "list", "--json").stdout == listed
