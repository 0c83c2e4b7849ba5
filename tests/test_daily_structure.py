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


# -- group rename -----------------------------------------------------------------------------


def test_group_rename_keeps_the_file_and_session_md_shows_the_new_name(work):
    orch, project, ids = work
    before = commits(project.root)
    done = orch("group", "rename", "Backend", "Server")
    assert f'Renamed group {ids["Backend"]} to "Server"' in done.stdout
    assert commits(project.root) == before + 1
    assert last_commit(project.root).startswith(f'orch: rename {ids["Backend"]} "Server"')
    assert frontmatter(group_file(project, ids, "Backend"))["group_name"] == "Server"
    view = session_md(project, ids)
    assert "### Server" in view and "### Backend" not in view
    assert orch.json("group", "show", "Server")["group_id"] == ids["Backend"]


def test_group_rename_refuses_a_name_another_group_of_the_session_has(work):
    orch, project, ids = work
    before = commits(project.root)
    refused = orch("group", "rename", "Backend", "docs", code=1)
    assert (
        f"already has a group named 'Docs' ({ids['Docs']}); choose another name" in refused.stderr
    )
    assert commits(project.root) == before
    assert frontmatter(group_file(project, ids, "Backend"))["group_name"] == "Backend"
    # Its own name in other capitals is not another group's.
    assert orch.json("group", "rename", "Backend", "BACKEND")["group_name"] == "BACKEND"


# -- group delete -----------------------------------------------------------------------------


def test_group_delete_refuses_a_group_holding_tasks_and_says_what_to_type(work):
    orch, project, ids = work
    before = commits(project.root)
    refused = orch("group", "delete", "Backend", code=1)
    assert f'group {ids["Backend"]} "Backend" holds 2 task(s)' in refused.stderr
    assert f"(orch group delete {ids['Backend']} --move-tasks-to GROUP)" in refused.stderr
    assert group_file(project, ids, "Backend").exists() and commits(project.root) == before
    as_json = orch("group", "delete", "Backend", "--json", code=1)
    error = json.loads(as_json.stderr)
    assert error["hint"] == f"orch group delete {ids['Backend']} --move-tasks-to GROUP"


def test_group_delete_moves_its_tasks_and_lifts_its_subgroups_in_one_commit(work):
    orch, project, ids = work
    before = commits(project.root)
    done = orch("group", "delete", "Backend", "--move-tasks-to", "Docs")
    assert f'Deleted group {ids["Backend"]} "Backend".' in done.stdout
    assert f"Moved 2 task(s) to Docs ({ids['Docs']})." in done.stdout
    assert f"Moved 1 nested group(s) up to the top level: {ids['API']}" in done.stdout
    assert commits(project.root) == before + 1
    message = last_commit(project.root)
    assert "Orch-Op: delete" in message and f'delete {ids["Backend"]} "Backend"' in message
    assert f"Orch-Task: {ids['Parser']}" in message and f"Orch-Task: {ids['Sub']}" in message
    assert not group_file(project, ids, "Backend").exists()
    for task in ("Parser", "Sub"):
        assert frontmatter(task_file(project, ids[task]))["group_id"] == ids["Docs"]
    assert "parent_group_id" not in frontmatter(group_file(project, ids, "API"))
    assert git(project.root, "status", "--porcelain", "--", ".task_orchestrator") == ""
    listed = orch.json("group", "list")
    assert [(g["group_name"], g["group_level"]) for g in listed] == [("API", 0), ("Docs", 0)]
    assert orch.json("group", "show", "Docs")["total_tasks"] == 3


def test_group_delete_of_a_nested_group_puts_its_subgroups_under_its_parent(work):
    orch, project, ids = work
    inner = orch.json("group", "create", "Inner", "--parent", "API")["group_id"]
    out = orch.json("group", "delete", "API")
    assert out["groups_moved"] == [inner] and out["parent_group_id"] == ids["Backend"]
    assert out["tasks_moved"] == [] and out["moved_to"] is None
    inner_file = group_file(project, ids | {"Inner": inner}, "Inner")
    assert frontmatter(inner_file)["parent_group_id"] == ids["Backend"]
    assert last_commit(project.root).startswith(f'orch: move {inner} "Inner", delete {ids["API"]}')


def test_group_delete_refuses_moving_the_tasks_into_the_group_itself(work):
    orch, project, ids = work
    before = commits(project.root)
    refused = orch("group", "delete", "Backend", "--move-tasks-to", ids["Backend"], code=1)
    assert "cannot move into itself" in refused.stderr and commits(project.root) == before


# -- group move: tasks, or a group's place in the tree -------------------------------------


def test_group_move_nests_a_group_and_takes_it_back_to_the_top(work):
    orch, project, ids = work
    before = commits(project.root)
    done = orch("group", "move", "Docs", "--parent", "API")
    assert f'Moved group {ids["Docs"]} "Docs" under {ids["API"]}' in done.stdout
    assert commits(project.root) == before + 1
    assert frontmatter(group_file(project, ids, "Docs"))["parent_group_id"] == ids["API"]
    levels = {g["group_name"]: g["group_level"] for g in orch.json("group", "list")}
    assert levels == {"Backend": 0, "API": 1, "Docs": 2}
    assert orch.json("group", "move", "Docs", "--top")["parent_group_id"] is None
    assert "parent_group_id" not in frontmatter(group_file(project, ids, "Docs"))
    orch("group", "move", "API", "--parent", "")
    assert "parent_group_id" not in frontmatter(group_file(project, ids, "API"))
    assert commits(project.root) == before + 3


def test_group_move_refuses_a_group_under_its_own_descendant(work):
    orch, project, ids = work
    before = commits(project.root)
    refused = orch("group", "move", "Backend", "--parent", "API", code=1)
    assert (
        f'cannot put group {ids["Backend"]} "Backend" under group {ids["API"]} "API": that'
        " group is inside it ('Backend' > 'API')" in refused.stderr
    )
    itself = orch("group", "move", "API", "--parent", "API", code=1)
    assert "a group cannot hold itself" in itself.stderr
    assert commits(project.root) == before


@pytest.mark.parametrize(
    "args",
    [
        ["Docs"],  # neither --to nor --parent/--top
        ["Docs", "--to", "Backend", "--top"],
        ["Docs", "--to", "Backend", "--parent", "API"],
    ],
)
def test_group_move_needs_exactly_one_of_to_and_parent(work, args):
    orch, project, _ids = work
    before = commits(project.root)
    refused = orch("group", "move", *args, code=2)
    assert "`orch group move TASK... --to GROUP` moves tasks" in refused.stderr
    assert "`orch group move GROUP --parent GROUP` (or --top) nests a group" in refused.stderr
    assert commits(project.root) == before


def test_group_move_nests_one_group_at_a_time(work):
    orch, _project, _ids = work
    refused = orch("group", "move", "Docs", "API", "--top", code=2)
    assert "nest one group at a time" in refused.stderr
    both = orch("group", "move", "Docs", "--parent", "API", "--top", code=2)
    assert "give --parent GROUP or --top, not both" in both.stderr


def test_group_move_with_to_still_moves_tasks(work):
    orch, project, ids = work
    rows = orch.json("group", "move", ids["Parser"], "--to", "Docs")
    assert sorted(r["task_id"] for r in rows) == sorted([ids["Parser"], ids["Sub"]])
    assert frontmatter(task_file(project, ids["Sub"]))["group_id"] == ids["Docs"]


# -- task cancel and delete ------------------------------------------------------------------


def test_task_cancel_with_a_reason_is_one_commit_and_a_note_in_the_file(work):
    orch, project, ids = work
    before = commits(project.root)
    done = orch("task", "cancel", ids["Guide"], "--reason", "docs come later")
    assert f'Cancelled {ids["Guide"]} "Guide" (cancelled)' in done.stdout
    assert commits(project.root) == before + 1
    assert last_commit(project.root).startswith(f'orch: cancel {ids["Guide"]} "Guide"')
    text = task_file(project, ids["Guide"]).read_text(encoding="utf-8")
    assert frontmatter(task_file(project, ids["Guide"]))["status"] == "cancelled"
    assert "## Notes" in text and "cancelled: docs come later" in text


def test_task_cancel_json_and_a_second_cancel_changes_nothing(work):
    orch, project, ids = work
    row = orch.json("task", "cancel", ids["Sub"])
    assert row["task_id"] == ids["Sub"] and row["status"] == "cancelled"
    before = commits(project.root)
    again = orch("task", "cancel", ids["Sub"])
    assert "is already cancelled" in again.stderr and commits(project.root) == before
    missing = orch("task", "cancel", "t-00000000", code=1)
    assert "no task 't-00000000'" in missing.stderr


def test_task_delete_refuses_subtasks_then_deletes_them_with_cascade(work):
    orch, project, ids = work
    parser_file = task_file(project, ids["Parser"])
    before = commits(project.root)
    refused = orch("task", "delete", ids["Parser"], code=1)
    assert f"(orch task delete {ids['Parser']} --cascade)" in refused.stderr
    assert parser_file.exists() and commits(project.root) == before
    out = orch.json("task", "delete", ids["Parser"], "--cascade")
    assert out["deleted"] == [ids["Parser"], ids["Sub"]]
    assert not parser_file.exists() and commits(project.root) == before + 1
    assert "Orch-Op: delete" in last_commit(project.root)
    assert [t["task_id"] for t in orch.json("task", "list")] == [ids["Guide"]]


# -- lists --------------------------------------------------------------------------------------


def test_task_list_of_every_session_names_each_task_s_session(work):
    orch, _project, ids = work
    orch("session", "create", "Spike", "--switch")
    orch("task", "add", "Try it")
    text = orch("task", "list", "--all-sessions").stdout
    header, *lines = text.splitlines()
    assert header.split() == [
        "ID",
        "STATUS",
        "PRIO",
        "TITLE",
        "SESSION",
        "GROUP",
        "SPECIALIST",
        "EST",
    ]
    guide = next(line for line in lines if line.startswith(ids["Guide"]))
    assert "Payments API" in guide and "Docs" in guide
    assert "Spike" in next(line for line in lines if "Try it" in line)
    assert "SESSION" not in orch("task", "list").stdout  # one session: no column


def test_a_list_cut_by_limit_says_how_many_more_on_stderr(work):
    orch, _project, _ids = work
    cut = orch("task", "list", "--limit", "2")
    assert len(cut.stdout.splitlines()) == 3  # the header and two tasks
    assert cut.stderr.strip() == "… 1 more (raise --limit to list them)"
    as_json = orch("task", "list", "--limit", "1", "--json")
    assert len(json.loads(as_json.stdout)) == 1  # still one JSON document
    assert "… 2 more" in as_json.stderr
    lines = orch("task", "list", "--limit", "2", "--jsonl")
    assert [json.loads(line)["title"] for line in lines.stdout.splitlines()] == ["Parser", "Sub"]
    assert "… 1 more" in lines.stderr
    whole = orch("task", "list", "--limit", "3")
    assert "more" not in whole.stderr and "more" not in orch("task", "list").stderr


def test_status_lists_the_tasks_in_progress(work):
    orch, _project, ids = work
    orch("task", "update", ids["Guide"], "--specialist", "documenter")
    orch("task", "start", ids["Guide"])
    board = orch("status").stdout
    assert "In progress (1)" in board
    section = board.split("In progress (1)")[1].split("Ready")[0]
    assert ids["Guide"] in section and "Guide" in section and "documenter" in section
    data = orch.json("status")
    assert [t["task_id"] for t in data["in_progress"]] == [ids["Guide"]]
    assert data["in_progress_count"] == 1
    orch("task", "done", ids["Guide"])
    assert "In progress" not in orch("status").stdout


def test_a_name_written_like_an_id_is_refused_for_groups_and_sessions(work):
    orch, _project, ids = work
    said = orch("session", "rename", ids["session"], "s-7d03b030", code=1).stderr
    assert "written like an id" in said
    assert "written like an id" in orch("group", "rename", "Docs", "G-0123ABCD", code=1).stderr
    assert "written like an id" in orch("group", "create", "t-0123abcd", code=1).stderr
    assert orch.json("session", "show", ids["session"])["name"] == "Payments API"
