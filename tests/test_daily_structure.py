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


# -- session rename -------------------------------------------------------------------------


def test_session_rename_is_one_commit_and_session_md_shows_the_new_name(work):
    orch, project, ids = work
    before = commits(project.root)
    done = orch("session", "rename", "Payments API", "Payments v2")
    assert f'Renamed session {ids["session"]} "Payments v2"' in done.stdout
    assert commits(project.root) == before + 1
    assert last_commit(project.root).startswith(f'orch: rename {ids["session"]} "Payments v2"')
    session_file = project.layout.session_dir(ids["session"]) / "session.md"
    assert frontmatter(session_file)["name"] == "Payments v2"
    assert "# Payments v2" in session_md(project, ids)
    assert orch.json("session", "show")["name"] == "Payments v2"


def test_session_rename_json_and_a_name_another_session_has_is_said(work):
    orch, project, ids = work
    other = orch.json("session", "create", "Spike", "--switch")["session_id"]
    done = orch("session", "rename", other, "Payments API", "--json")
    row = json.loads(done.stdout)
    assert row["session_id"] == other and row["name"] == "Payments API"
    assert f"session {ids['session']} is named 'Payments API' too" in done.stderr
    warned = orch("session", "rename", other, "Payments API")
    assert "already has that name" in warned.stderr
    before = commits(project.root)
    again = orch("session", "rename", ids["session"], "Payments API")
    assert "already has that name" in again.stderr and commits(project.root) == before


def test_session_rename_refuses_a_blank_name(work):
    orch, project, ids = work
    before = commits(project.root)
    refused = orch("session", "rename", ids["session"], "  ", code=1)
    assert "a session needs a name" in refused.stderr
    assert commits(project.root) == before
