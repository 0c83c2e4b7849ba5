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


def test_log_of_a_group_named_like_the_start_of_a_task_id_shows_the_group(orch):
    task_id = added(orch, "Some task")
    name = task_id[2:4]  # two hex digits: also the start of the task's id
    group = orch.json("group", "create", name)["group_id"]
    out = orch.json("log", name)
    assert (out["kind"], out["id"]) == ("group", group)
    assert orch.json("log", task_id[:6])["kind"] == "task"  # typed with t-: the task


def test_log_of_an_unknown_id_is_an_error_naming_it(orch):
    result = orch("log", "t-00000000", code=1)
    assert "t-00000000" in result.stderr


# -- orch completion -----------------------------------------------------------------------


def complete(words: str, env: dict[str, str] | None = None, shell: str = "bash") -> list[str]:
    """What `orch` answers the shell for the line `words` (the cursor after its last
    word), through click's own protocol: the script's call, made here in process."""
    from click.testing import CliRunner

    from orchestrator.cli import cli

    parts = words.split(" ")
    result = CliRunner().invoke(
        cli,
        [],
        prog_name="orch",
        env={
            "_ORCH_COMPLETE": f"{shell}_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
            **(env or {}),
        },
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script_of_each_shell(orch, shell):
    script = orch("completion", shell).stdout
    assert "_ORCH_COMPLETE" in script and f"{shell}_complete" in script


def test_completion_help_gives_the_install_line_of_each_shell(orch):
    text = orch("completion", "--help").stdout
    assert """echo 'eval "$(orch completion bash)"' >> ~/.bashrc""" in text
    assert """echo 'eval "$(orch completion zsh)"' >> ~/.zshrc""" in text
    assert "orch completion fish > ~/.config/fish/completions/orch.fish" in text


def test_a_task_id_completes_from_the_index(orch):
    task_id = added(orch, "Complete me")
    other = added(orch, "And me")
    root = str(orch.root)
    assert sorted(complete(f"orch --root {root} task show t-")) == sorted(
        [f"plain,{task_id}", f"plain,{other}"]
    )
    assert complete(f"orch --root {root} task done {task_id[:5]}") == [f"plain,{task_id}"]
    # zsh and fish show each id with its title.
    assert complete(f"orch --root {root} task show {task_id}", shell="zsh") == [
        "plain", task_id, "Complete me"
    ]  # fmt: skip
    assert complete(f"orch --root {root} task update {task_id[:4]}", env={"ORCH_ROOT": root})


def test_group_and_session_names_and_ids_complete(orch):
    session = orch.json("session", "list")[0]
    group = orch.json("group", "create", "Backend")["group_id"]
    root = str(orch.root)
    assert complete(f"orch --root {root} task list --group B") == ["plain,Backend"]
    assert complete(f"orch --root {root} task list --group g-") == [f"plain,{group}"]
    assert complete(f"orch --root {root} next --session D") == ["plain,Daily"]
    assert complete(f"orch --root {root} session show s-") == [f"plain,{session['session_id']}"]
    assert f"plain,{group}" in complete(f"orch --root {root} log g")


def test_completion_outside_a_project_offers_nothing_and_says_nothing(tmp_path):
    from click.testing import CliRunner

    from orchestrator.cli import cli

    result = CliRunner().invoke(
        cli, [], prog_name="orch", catch_exceptions=False,
        env={"_ORCH_COMPLETE": "bash_complete", "COMP_WORDS": f"orch --root {tmp_path} task show t-",
             "COMP_CWORD": "5"},
    )  # fmt: skip
    assert (result.exit_code, result.stdout.strip(), result.stderr) == (0, "", "")


def test_a_tab_press_commits_nothing_and_writes_no_index(orch, sqlite_project):
    task_id = added(orch, "Untouched")
    path = task_file(sqlite_project, task_id)
    path.write_text(path.read_text().replace("title: Untouched", "title: Edited outside"))
    before = commit_count(orch.root)
    assert complete(f"orch --root {orch.root} task show {task_id}") == [f"plain,{task_id}"]
    assert commit_count(orch.root) == before  # the edit waits for the next command


# -- orch --help -----------------------------------------------------------------------------


def test_help_lists_every_command_once_under_its_section(orch):
    from orchestrator.cli import COMMANDS, SECTIONS

    text = orch("--help").stdout
    titles = [*SECTIONS, "Other"]
    found = {}
    section = None
    for line in text.splitlines():
        if line.rstrip(":") in titles and line.endswith(":"):
            section = line[:-1]
        elif section and line.startswith("  ") and line.split():
            found.setdefault(line.split()[0], []).append(section)
    assert sorted(found) == sorted(COMMANDS), "every command, and nothing else"
    assert all(len(where) == 1 for where in found.values()), found
    assert found["next"] == ["Work"] and found["sync"] == ["Files and git"]
    assert found["ui"] == ["Servers"] and found["completion"] == ["Setup"]
    assert "Other" not in text.splitlines(), "every command has its section"


def test_a_command_in_no_section_is_listed_under_other(orch, monkeypatch):
    from orchestrator import cli as cli_module
    from orchestrator.cli import daily

    monkeypatch.setitem(cli_module.COMMANDS, "newcomer", "daily")
    monkeypatch.setattr(daily, "newcomer", daily.log, raising=False)
    text = orch("--help").stdout
    assert text.index("Other:") < text.index("  newcomer")
