"""The git history of one record (core/history.py): the commits whose trailers name it
and a person's own commits of its file, newest first, each once, in real repositories."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from orchestrator.core.groups import create_group
from orchestrator.core.history import history
from orchestrator.core.project import Project
from orchestrator.core.sessions import create_session
from orchestrator.core.tasks import add_task, done_task, start_task, update_task
from orchestrator.errors import InvalidInput, NotFound
from tests.conftest import edit


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def ops(found: dict) -> list[list[str]]:
    return [c["ops"] for c in found["commits"]]


@pytest.fixture
def session(sqlite_project: Project) -> dict:
    return create_session(sqlite_project, "History")


def test_a_task_created_started_and_done_has_three_commits_newest_first(sqlite_project, session):
    task = add_task(sqlite_project, "Trace me")
    start_task(sqlite_project, task["task_id"])
    done_task(sqlite_project, task["task_id"])
    found = history(sqlite_project, task["task_id"])
    assert {k: found[k] for k in ("kind", "id", "title", "file_path", "more")} == {
        "kind": "task", "id": task["task_id"], "title": "Trace me",
        "file_path": task["file_path"], "more": False,
    }  # fmt: skip
    assert ops(found) == [["done"], ["start"], ["add"]]
    newest = found["commits"][0]
    assert newest["commit"] == git(sqlite_project.root, "rev-parse", "HEAD")
    assert newest["short"] == newest["commit"][:9]
    assert newest["author"] == "orch tests"
    assert datetime.fromisoformat(newest["date"]).tzinfo is not None
    assert newest["subject"] == f'orch: done {task["task_id"]} "Trace me"'
    assert sqlite_project.warnings == []


def test_a_hand_commit_of_the_task_file_is_in_its_history(sqlite_project, session):
    task = add_task(sqlite_project, "Edited by hand")
    start_task(sqlite_project, task["task_id"])
    path = sqlite_project.root / task["file_path"]
    edit(path, "title: Edited by hand", "title: Edited by a person")
    git(sqlite_project.root, "commit", "-qm", "Retitle it myself", "--", task["file_path"])
    done_task(sqlite_project, task["task_id"])
    found = history(sqlite_project, task["task_id"])
    assert [c["subject"] for c in found["commits"]][1] == "Retitle it myself"
    assert ops(found) == [["done"], [], ["start"], ["add"]]
    assert found["title"] == "Edited by a person"


def test_a_commit_whose_trailer_names_it_counts_though_it_touched_no_file(sqlite_project, session):
    task = add_task(sqlite_project, "Named")
    start_task(sqlite_project, task["task_id"])
    git(sqlite_project.root, "commit", "-q", "--allow-empty", "-m",
        f"Decided to keep it\n\nOrch-Task: {task['task_id']}")  # fmt: skip
    edit(sqlite_project.root / task["file_path"], "title: Named", "title: Named again")
    git(sqlite_project.root, "commit", "-qm", "By hand", "--", task["file_path"])
    subjects = [c["subject"] for c in history(sqlite_project, task["task_id"])["commits"]]
    assert subjects[:3] == [
        "By hand",
        "Decided to keep it",
        f'orch: start {task["task_id"]} "Named"',
    ]
    assert len(subjects) == len(set(subjects)) == 4


def test_an_id_that_starts_another_id_names_only_its_own_commits(sqlite_project, session):
    root = sqlite_project.root
    model = root / add_task(sqlite_project, "Model")["file_path"]
    for task_id in ("t-12", "t-1"):  # t-12 first: while it is alone, t-1 is its prefix
        text = model.read_text(encoding="utf-8")
        text = text.replace(model.stem, task_id).replace("title: Model", f"title: Task {task_id}")
        (model.parent / f"{task_id}.md").write_text(text, encoding="utf-8")
        history(sqlite_project, model.stem)  # a command: commits the new file as an edit
    update_task(sqlite_project, "t-12", title="Twelve")
    found = history(sqlite_project, "t-1")
    assert found["id"] == "t-1" and found["file_path"].endswith("/t-1.md")
    assert len(found["commits"]) == 1 and ops(found) == [["edit"]]
    assert "t-12" not in found["commits"][0]["subject"]
    assert len(history(sqlite_project, "t-12")["commits"]) == 2


def test_a_line_that_only_looks_like_a_trailer_names_nothing(sqlite_project, session):
    task = add_task(sqlite_project, "Quoted")
    git(sqlite_project.root, "commit", "-q", "--allow-empty", "-m",
        f"Quote a message\n\nOrch-Task: {task['task_id']}\n\nwas its last line once.")  # fmt: skip
    assert ops(history(sqlite_project, task["task_id"])) == [["add"]]


def test_a_group_and_a_session_have_their_own_history(sqlite_project, session):
    group = create_group(sqlite_project, "Backend")
    task = add_task(sqlite_project, "In the group", group="Backend")
    update_task(sqlite_project, task["task_id"], title="Still in the group")
    found = history(sqlite_project, group["group_id"])
    assert found["kind"] == "group" and found["title"] == "Backend"
    assert ops(found) == [["create"]]
    by_name = history(sqlite_project, "History")
    assert by_name["kind"] == "session" and by_name["id"] == session["session_id"]
    assert by_name["file_path"].endswith("/session.md")
    # The session is named by every commit of its records: the newest first.
    assert ops(by_name)[:3] == [["update"], ["add"], ["create"]]
    assert history(sqlite_project, session["session_id"]) == by_name


def test_an_unknown_id_is_not_found_with_the_ids_close_to_it(sqlite_project, session):
    task = add_task(sqlite_project, "Known")
    typo = task["task_id"][:-1] + ("0" if task["task_id"][-1] != "0" else "1")
    with pytest.raises(NotFound, match=f"did you mean {task['task_id']}"):
        history(sqlite_project, typo)
    with pytest.raises(NotFound, match="no task group 'g-nothing'"):
        history(sqlite_project, "g-nothing")
    with pytest.raises(InvalidInput, match="empty id"):
        history(sqlite_project, " ")


def test_limit_caps_the_list_and_more_says_there_were_more(sqlite_project, session):
    task = add_task(sqlite_project, "Busy")
    for n in range(4):
        update_task(sqlite_project, task["task_id"], title=f"Busy {n}")
    two = history(sqlite_project, task["task_id"], limit=2)
    assert ops(two) == [["update"], ["update"]] and two["more"]
    everything = history(sqlite_project, task["task_id"], limit=5)
    assert len(everything["commits"]) == 5 and not everything["more"]
    assert everything["commits"][:2] == two["commits"]
    assert history(sqlite_project, task["task_id"], limit=0)["more"]


def test_without_a_repository_there_are_no_commits_and_a_warning_says_why(sqlite_project, session):
    task = add_task(sqlite_project, "Untracked")
    shutil.rmtree(sqlite_project.root / ".git")
    project = Project(sqlite_project.root)
    found = history(project, task["task_id"])
    assert found["commits"] == [] and not found["more"] and found["title"] == "Untracked"
    assert any("not in a git repository" in w for w in project.warnings), project.warnings
    assert not (sqlite_project.root / ".git").exists()  # a read makes no repository


def test_a_repository_with_no_commit_yet_gives_no_commits_and_says_so(sqlite_project, session):
    task = add_task(sqlite_project, "Before any commit")
    root = sqlite_project.root
    shutil.rmtree(root / ".git")
    git(root.parent, "init", "-q", str(root))
    project = Project(root)
    found = history(project, task["task_id"])
    assert found["commits"] == []
    assert any("no commits yet" in w for w in project.warnings), project.warnings
