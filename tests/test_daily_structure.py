"""Daily use from the terminal (issue 21): cancel a task, rename, nest and delete groups,
rename a session, and the lists that say more — each typed as a person would, each a
single commit whose files hold the change."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import Orch, task_file


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=True)
    return done.stdout.decode()


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def frontmatter(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])


@pytest.fixture
def work(sqlite_project):
    """A session with groups Backend > API and Docs; Parser (with its subtask Sub) in
    Backend, Guide in Docs."""
    orch = Orch(sqlite_project.root)
    ids = {"session": orch.json("session", "create", "Payments API")["session_id"]}
    for name, parent in (("Backend", None), ("API", "Backend"), ("Docs", None)):
        extra = ["--parent", parent] if parent else []
        ids[name] = orch.json("group", "create", name, *extra)["group_id"]
    ids["Parser"] = orch.json("task", "add", "Parser", "--group", "Backend")["task_id"]
    ids["Sub"] = orch.json("task", "add", "Sub", "--parent", ids["Parser"])["task_id"]
    ids["Guide"] = orch.json("task", "add", "Guide", "--group", "Docs")["task_id"]
    return orch, sqlite_project, ids


def group_file(project, ids: dict, name: str) -> Path:
    return project.layout.session_dir(ids["session"]) / "groups" / f"{ids[name]}.md"


def session_md(project, ids: dict) -> str:
    return (project.layout.session_dir(ids["session"]) / "session.md").read_text(encoding="utf-8")


def last_commit(root: Path) -> str:
    return git(root, "log", "-1", "--format=%B")


# -- names that do not match ----------------------------------------------------------------


def test_a_misspelled_group_name_suggests_the_closest(work):
    orch, _project, _ids = work
    shown = orch("group", "show", "bakend", code=1)
    assert "no task group named 'bakend'; did you mean 'Backend'?" in shown.stderr
    listed = orch("task", "list", "--group", "Dcos", code=1)
    assert "did you mean 'Docs'?" in listed.stderr


def test_a_misspelled_session_name_suggests_the_closest(work):
    orch, _project, _ids = work
    shown = orch("session", "show", "Payments APO", code=1)
    assert "no session named 'Payments APO'; did you mean 'Payments API'?" in shown.stderr


def test_a_name_close_to_nothing_still_points_to_the_list(work):
    orch, _project, _ids = work
    shown = orch("group", "show", "Zzzzzz", code=1)
    assert "did you mean" not in shown.stderr and "(orch group list)" in shown.stderr
