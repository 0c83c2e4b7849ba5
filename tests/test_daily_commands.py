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
