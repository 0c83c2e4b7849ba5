"""Daily use from the terminal: `orch task edit` with a real editor stand-in, `orch next`,
`orch log`, `orch completion` through click's real completion protocol, and the sections
of `orch --help`; real git repositories, SQLite (the index is not the subject)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Orch, task_file


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit_count(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


@pytest.fixture
def orch(sqlite_project) -> Orch:
    run = Orch(sqlite_project.root)
    run("session", "create", "Daily")
    return run


def added(orch: Orch, title: str, *args: str) -> str:
    return orch.json("task", "add", title, *args)["task_id"]


def editor(tmp_path: Path, name: str, *steps: tuple[str, str]) -> str:
    """An editor stand-in: a Python script that, on its n-th call, replaces the first
    line starting with steps[n][0] by steps[n][1] in the file it is given (the last step
    again for later calls), and counts its calls in NAME.calls."""
    script = tmp_path / f"{name}.py"
    calls = tmp_path / f"{name}.calls"
    script.write_text(
        "import pathlib, sys\n"
        f"steps = {list(steps)!r}\n"
        f"calls = pathlib.Path({str(calls)!r})\n"
        "n = int(calls.read_text()) if calls.exists() else 0\n"
        "calls.write_text(str(n + 1))\n"
        "old, new = steps[min(n, len(steps) - 1)]\n"
        "path = pathlib.Path(sys.argv[1])\n"
        "lines = path.read_text().splitlines(keepends=True)\n"
        "i = next(i for i, line in enumerate(lines) if line.startswith(old))\n"
        "lines[i] = new + '\\n'\n"
        "path.write_text(''.join(lines))\n",
        encoding="utf-8",
    )
    return f"{sys.executable} {script}"


def rel_of(path: Path) -> str:
    return path.as_posix().split("/proj/", 1)[1]


def calls(tmp_path: Path, name: str) -> int:
    return int((tmp_path / f"{name}.calls").read_text())


# -- orch task edit ------------------------------------------------------------------------


def test_task_edit_commits_the_saved_file_as_one_commit(
    orch, sqlite_project, tmp_path, monkeypatch
):
    task_id = added(orch, "Write the parser")
    before = commit_count(orch.root)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", editor(tmp_path, "ed", ("title:", "title: Write the lexer")))
    result = orch("task", "edit", task_id[:6])
    assert f'Edited {task_id} "Write the lexer": committed' in result.stdout
    assert commit_count(orch.root) == before + 1
    assert git(orch.root, "log", "-1", "--format=%s") == f'orch: edit {task_id} "Write the lexer"'
    assert git(orch.root, "status", "--porcelain", "--", ".task_orchestrator") == ""
    assert orch.json("task", "show", task_id)["title"] == "Write the lexer"


def test_task_edit_takes_visual_before_editor(orch, tmp_path, monkeypatch):
    task_id = added(orch, "Both set")
    monkeypatch.setenv("VISUAL", editor(tmp_path, "visual", ("title:", "title: By VISUAL")))
    monkeypatch.setenv("EDITOR", editor(tmp_path, "editor", ("title:", "title: By EDITOR")))
    orch("task", "edit", task_id)
    assert orch.json("task", "show", task_id)["title"] == "By VISUAL"
    assert not (tmp_path / "editor.calls").exists()


def test_task_edit_without_a_change_says_so_and_commits_nothing(orch, tmp_path, monkeypatch):
    task_id = added(orch, "Leave me")
    before = commit_count(orch.root)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", editor(tmp_path, "same", ("title:", "title: Leave me")))
    result = orch("task", "edit", task_id)
    assert result.stdout.strip() == f"{task_id}: no change"
    assert commit_count(orch.root) == before


def test_task_edit_shows_the_problem_by_line_and_edits_again_until_fixed(
    orch, sqlite_project, tmp_path, monkeypatch
):
    task_id = added(orch, "Fix me twice")
    before = commit_count(orch.root)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv(
        "EDITOR", editor(tmp_path, "two", ("title:", "title: [oops"), ("title:", "title: Fixed"))
    )
    result = orch("task", "edit", task_id, input="\n")  # Enter: the default, yes
    rel = sqlite_project.layout.rel(task_file(sqlite_project, task_id))
    assert re.search(rf"^{re.escape(rel)}:\d+: YAML error .* — fix", result.stderr, flags=re.M)
    assert "Edit again? [Y/n]" in result.stderr
    assert calls(tmp_path, "two") == 2
    assert "Edited" in result.stdout and '"Fixed": committed' in result.stdout
    assert commit_count(orch.root) == before + 1  # the broken save was never committed
    assert orch.json("task", "show", task_id)["title"] == "Fixed"


def test_task_edit_answered_no_keeps_the_broken_file_uncommitted_and_exits_1(
    orch, sqlite_project, tmp_path, monkeypatch
):
    task_id = added(orch, "Keep my typo")
    before = commit_count(orch.root)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", editor(tmp_path, "bad", ("title:", "title: [oops")))
    result = orch("task", "edit", task_id, input="n\n", code=1)
    path = task_file(sqlite_project, task_id)
    assert "title: [oops\n" in path.read_text()  # as the person saved it
    assert calls(tmp_path, "bad") == 1
    assert (
        "is left as you saved it" in result.stderr and "not committed until fixed" in result.stderr
    )
    assert commit_count(orch.root) == before
    assert git(orch.root, "diff", "--name-only", "--", str(path)) == rel_of(path)  # not staged


def test_task_edit_opens_a_broken_file_named_by_its_id_so_it_can_be_fixed(
    orch, sqlite_project, tmp_path, monkeypatch
):
    task_id = added(orch, "Broken before")
    path = task_file(sqlite_project, task_id)
    path.write_text(path.read_text().replace("title: Broken before", "title: [oops"))
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", editor(tmp_path, "fix", ("title:", "title: Mended")))
    result = orch("task", "edit", task_id)
    assert f'Edited {task_id} "Mended": committed' in result.stdout
    assert git(orch.root, "status", "--porcelain", "--", str(path)) == ""


def test_task_edit_of_an_editor_that_fails_says_the_file_is_kept(orch, tmp_path, monkeypatch):
    task_id = added(orch, "Editor crashes")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", "false")
    result = orch("task", "edit", task_id, code=1)
    assert "Editing failed" in result.stderr and "left as the editor left it" in result.stderr


# -- orch next -----------------------------------------------------------------------------


def test_next_shows_the_most_urgent_ready_task_with_its_role(orch):
    added(orch, "Later", "--priority", "4")
    urgent = added(orch, "Urgent", "--priority", "1", "--specialist", "implementer")
    blocker = added(orch, "Blocker", "--priority", "2")
    added(orch, "Waits", "--priority", "1", "--depends-on", blocker)
    first_ready = orch.json("task", "list", "--ready")[0]["task_id"]
    result = orch("next")
    assert first_ready == urgent
    assert result.stdout.startswith(f"Urgent  {urgent}\n")
    assert "specialist  implementer" in result.stdout
    assert "You are a Senior Software Developer" in result.stdout  # the role's text
    assert f"Start it: orch next --start (or orch task start {urgent})" in result.stdout
    assert orch.json("task", "show", urgent)["status"] == "pending"  # only shown


def test_next_json_is_the_context_execute_subtask_gives_an_agent(orch, sqlite_project):
    from orchestrator.core.subtasks import specialist_context

    task_id = added(orch, "Parse", "--specialist", "tester", "-d", "Read the grammar.")
    out = orch.json("next")
    context = specialist_context(sqlite_project, task_id)
    assert out["task"] == context["task"] and out["specialist"] == context["specialist"]
    assert out["specialist"]["role"] == "tester" and out["specialist"]["role_definition"]
    assert out["task"]["description"] == "Read the grammar."
    assert (out["started"], out["ready_count"], out["why"]) == (False, 1, None)


def test_next_start_marks_it_in_progress_with_one_commit(orch):
    task_id = added(orch, "Go")
    before = commit_count(orch.root)
    result = orch("next", "--start")
    assert "started: in_progress" in result.stdout
    assert orch.json("task", "show", task_id)["status"] == "in_progress"
    assert commit_count(orch.root) == before + 1
    assert git(orch.root, "log", "-1", "--format=%s") == f'orch: start {task_id} "Go"'


def test_next_with_nothing_ready_says_what_waits_on_what_and_exits_1(orch):
    working = added(orch, "Working", "--status", "in_progress")
    waiting = added(orch, "Waiting", "--depends-on", working)
    stuck = added(orch, "Stuck", "--status", "blocked")
    result = orch("next", code=1)
    lines = result.stdout.splitlines()
    assert (
        lines[0].startswith("Nothing is ready in session") and "3 of 3 tasks are open" in lines[0]
    )
    assert (
        f'  {working} "Working" is in_progress: when it is done, orch task done {working}' in lines
    )
    assert f'  {waiting} "Waiting" (pending) waits for {working} "Working" (in_progress)' in lines
    assert f'  {stuck} "Stuck" is blocked: take it up again with orch task start {stuck}' in lines
    out = json.loads(orch("next", "--json", code=1).stdout)
    assert out["task"] is None
    assert [r["task_id"] for r in out["why"]["in_progress"]] == [working]
    waits = {r["task_id"]: [d["task_id"] for d in r["waits_for"]] for r in out["why"]["waiting"]}
    assert waits == {waiting: [working], stuck: []}


def test_next_when_everything_is_finished_says_so_and_exits_1(orch):
    task_id = added(orch, "Only one")
    orch("task", "done", task_id)
    result = orch("next", code=1)
    assert "all 1 tasks of session" in result.stdout and "orch session complete" in result.stdout


def test_next_with_a_parent_waiting_for_its_subtasks_names_them(orch):
    parent = added(orch, "Parent")
    child = added(orch, "Child", "--parent", parent, "--status", "blocked")
    result = orch("next", code=1)
    assert f'{parent} "Parent" (pending) waits for its subtasks {child} (blocked)' in result.stdout


# -- orch log ------------------------------------------------------------------------------


def test_log_of_a_task_lists_its_commits_newest_first_with_short_ids(orch):
    task_id = added(orch, "Trace me")
    orch("task", "start", task_id)
    orch("task", "done", task_id)
    result = orch("log", task_id[:5])
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f'task {task_id} "Trace me"  .task_orchestrator/')
    head = git(orch.root, "rev-parse", "HEAD")
    assert lines[1].split()[0] == head[:9]
    subjects = [line.split("  ")[-1] for line in lines[1:]]
    assert subjects == [f'orch: {op} {task_id} "Trace me"' for op in ("done", "start", "add")]
    assert "orch tests" in lines[1]


def test_log_json_and_limit_say_what_was_left_out(orch):
    task_id = added(orch, "Busy")
    orch("task", "start", task_id)
    orch("task", "done", task_id)
    out = orch.json("log", task_id, "--limit", "2")
    assert [c["ops"] for c in out["commits"]] == [["done"], ["start"]] and out["more"] is True
    assert f"orch log {task_id} --limit 4" in orch("log", task_id, "-n", "2").stdout


def test_log_of_a_session_by_name_and_of_a_group(orch):
    group = orch.json("group", "create", "Backend")["group_id"]
    added(orch, "In backend", "--group", "Backend")
    session_log = orch.json("log", "Daily")
    assert session_log["kind"] == "session" and session_log["commits"]
    assert orch.json("log", group)["kind"] == "group"


def test_log_without_id_lists_the_projects_latest_commits_with_their_records(orch):
    first = added(orch, "One")
    second = added(orch, "Two")
    (orch.root / "README.txt").write_text("not a record\n")
    git(orch.root, "add", "README.txt")
    git(orch.root, "commit", "-qm", "A commit outside orch's folder")
    out = orch.json("log", "--limit", "2")
    assert out["kind"] == "project"
    assert [c["records"][-1] for c in out["commits"]] == [second, first]
    assert "Latest commits of .task_orchestrator/ (every session)" in orch("log").stdout


def test_log_of_an_unknown_id_is_an_error_naming_it(orch):
    result = orch("log", "t-00000000", code=1)
    assert "t-00000000" in result.stderr
