"""Bad files are reported with path, line and fix, and never vanish silently: every other
file keeps working."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from orchestrator.store.record_file import split_frontmatter
from tests.conftest import edit, task_file


@pytest.fixture
def tasks(sample_orch):
    return sample_orch.json("task", "list")


def problems(orch):
    return json.loads(orch("doctor", "--json", code=None).stdout)


def only_problem(orch, path_end: str):
    found = [p for p in problems(orch) if p["path"].endswith(path_end)]
    assert len(found) == 1, found
    return found[0]


def test_broken_yaml_is_reported_with_its_line_and_the_rest_keeps_working(
    sample, sample_orch, tasks
):
    bad = tasks[0]
    path = task_file(sample, bad["task_id"])
    edit(path, f"title: {bad['title']}", "title: Fix: the parser")  # an unquoted colon
    listed = sample_orch.json("task", "list")
    assert len(listed) == len(tasks) - 1, "the other tasks are all still there"
    result = sample_orch("task", "list")
    assert "1 file(s) could not be read" in result.stderr and "orch doctor" in result.stderr
    problem = only_problem(sample_orch, f"{bad['task_id']}.md")
    assert problem["line"] == 4
    assert problem["message"].startswith("YAML error (column 11): mapping values are not allowed")
    assert 'must be quoted, e.g. title: "Fix: the parser"' in problem["fix"]
    doctor = sample_orch("doctor", code=1).stdout
    assert f"{bad['task_id']}.md:4: YAML error" in doctor
    # The tasks that depend on it say why their dependency is missing.
    dependents = bad["blocks"]
    assert dependents
    for task_id in dependents:
        assert only_problem(sample_orch, f"{task_id}.md")["message"] == (
            f"depends_on names {bad['task_id']}, which is in a file of this session that cannot be read"
        )
    board = sample_orch("status").stdout
    assert f"{1 + len(dependents)} problem(s)" in board and "orch doctor" in board
    assert sample_orch.json("status")["problems"]["errors"] == 1 + len(dependents)


def test_a_broken_file_cannot_be_changed_until_fixed(sample, sample_orch, tasks):
    bad = tasks[0]
    edit(task_file(sample, bad["task_id"]), "---\ntask_id", "---\n\ttask_id")
    path = task_file(sample, bad["task_id"])
    result = sample_orch("task", "update", bad["task_id"], "--title", "x", code=1)
    assert (
        f"task {bad['task_id']} cannot be used: {sample.layout.rel(path)}:2: YAML error"
        in result.stderr
    )
    assert "fix the file first" in result.stderr


def test_missing_title_keeps_the_task_visible(sample, sample_orch, tasks):
    bad = tasks[1]
    edit(task_file(sample, bad["task_id"]), f"title: {bad['title']}\n", "")
    shown = sample_orch.json("task", "show", bad["task_id"])
    assert shown["title"] == f"(no title: {bad['task_id']})"
    problem = only_problem(sample_orch, f"{bad['task_id']}.md")
    assert problem["message"] == "title is missing" and problem["fix"] == "add a line `title: ...`"
    # Said at the frontmatter's opening `---`, like every problem: path:line: problem — fix.
    assert problem["line"] == 1
    said = sample_orch("doctor", code=1).stdout
    assert f"{bad['task_id']}.md:1: title is missing — add a line `title: ...`" in said


def test_wrong_type_and_unknown_status_are_reported_and_replaced_by_defaults(
    sample, sample_orch, tasks
):
    bad = tasks[2]
    path = task_file(sample, bad["task_id"])
    edit(path, f"status: {bad['status']}", "status: complete")
    edit(path, "estimated_effort: ", "estimated_effort: three # ")
    shown = sample_orch.json("task", "show", bad["task_id"])
    assert shown["status"] == "pending" and shown["estimated_effort"] is None
    messages = {
        p["field"]: p for p in problems(sample_orch) if p["path"].endswith(f"{bad['task_id']}.md")
    }
    assert messages["status"]["message"].startswith(
        "status: 'complete' is not one of pending, in_progress"
    )
    assert (
        messages["estimated_effort"]["message"]
        == "estimated_effort: expected a whole number or empty, found text 'three'"
    )
    assert messages["status"]["line"] == 5
    # Fixing it through orch works: the command sets the field it is given.
    sample_orch("task", "update", bad["task_id"], "--status", "completed", "--estimate", "3")
    assert not [p for p in problems(sample_orch) if p["path"].endswith(f"{bad['task_id']}.md")]


def test_a_duplicate_id_is_reported_and_both_files_stay_known(sample, sample_orch, tasks):
    original = task_file(sample, tasks[0]["task_id"])
    other_session = next(
        d for d in sample.layout.sessions_dir.iterdir() if d != original.parent.parent
    )
    copy = other_session / "tasks" / original.name
    copy.write_text(original.read_text())
    # The original (whose frontmatter agrees with its folder) is indexed; the copy is
    # reported, naming the original, whatever the order of their paths.
    duplicates = [p for p in problems(sample_orch) if p["message"].startswith("duplicate task_id")]
    assert len(duplicates) == 1
    assert duplicates[0]["path"] == sample.layout.rel(copy)
    assert (
        duplicates[0]["message"]
        == f"duplicate task_id {tasks[0]['task_id']}: {sample.layout.rel(original)} has the same id"
    )
    assert sample_orch.json("task", "show", tasks[0]["task_id"])["file_path"] == sample.layout.rel(
        original
    )
    # The copy's session_id disagrees with its folder too.
    assert any("does not match the session folder" in p["message"] for p in problems(sample_orch))
    # When the original goes away, the copy takes its place, and both sessions are right.
    original.unlink()
    shown = sample_orch.json("task", "show", tasks[0]["task_id"])
    assert shown["file_path"] == sample.layout.rel(copy)
    assert not [p for p in problems(sample_orch) if p["message"].startswith("duplicate")]
    before = sample_orch.json("session", "list")
    shutil.rmtree(sample.layout.index_dir)
    assert sample_orch.json("session", "list") == before


def test_dangling_references_are_reported(sample, sample_orch, tasks):
    bad = tasks[3]
    path = task_file(sample, bad["task_id"])
    yaml_text, body = split_frontmatter(path.read_text())
    meta = yaml.safe_load(yaml_text)
    meta.update(parent_task_id="t-00000000", group_id="g-00000000", depends_on=["t-11111111"])
    path.write_text(f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{body}")
    messages = sorted(
        p["message"] for p in problems(sample_orch) if p["path"].endswith(f"{bad['task_id']}.md")
    )
    assert "parent_task_id names t-00000000, which is not a task of this session" in messages
    assert "group_id names g-00000000, which is not a group of this session" in messages
    assert "depends_on names t-11111111, which is not a task of this session" in messages
    assert sample_orch.json("task", "show", bad["task_id"])["level"] == 0


def test_a_dependency_cycle_made_by_hand_is_printed(sample, sample_orch):
    sample_orch("session", "create", "Cycle", "--switch")
    a = sample_orch.json("task", "add", "A")["task_id"]
    b = sample_orch.json("task", "add", "B", "--depends-on", a)["task_id"]
    edit(task_file(sample, a), "title: A\n", f"title: A\ndepends_on: [{b}]\n")
    first, second = sorted([a, b])
    cycle = [p for p in problems(sample_orch) if p["message"].startswith("dependency cycle")]
    assert [p["message"] for p in cycle] == [f"dependency cycle: {first} → {second} → {first}"]
    assert cycle[0]["path"].endswith(f"{first}.md")
    assert a not in [t["task_id"] for t in sample_orch.json("task", "list", "--ready")]


def test_a_parent_cycle_made_by_hand_is_broken_and_reported(sample, sample_orch):
    sample_orch("session", "create", "Loop", "--switch")
    a = sample_orch.json("task", "add", "A")["task_id"]
    b = sample_orch.json("task", "add", "B", "--parent", a)["task_id"]
    edit(task_file(sample, a), "title: A\n", f"title: A\nparent_task_id: {b}\n")
    messages = [p["message"] for p in problems(sample_orch)]
    first, second = sorted([a, b])
    assert f"parent_task_id makes a cycle: {first} → {second} → {first}" in messages
    assert len(sample_orch.json("task", "list")) == 2


def test_derived_fields_written_by_hand_are_ignored_with_a_warning(sample, sample_orch, tasks):
    bad = tasks[0]
    edit(task_file(sample, bad["task_id"]), "---\ntask_id", "---\nprogress_percentage: 99\ntask_id")
    problem = only_problem(sample_orch, f"{bad['task_id']}.md")
    assert problem["severity"] == "warning" and problem["line"] == 2
    assert problem["message"] == "progress_percentage is computed by orch and is ignored here"
    assert sample_orch("doctor").exit_code == 0, "warnings alone do not fail doctor"


def test_files_without_frontmatter_or_with_it_unclosed(sample, sample_orch, tasks):
    folder = task_file(sample, tasks[0]["task_id"]).parent
    (folder / "t-plain.md").write_text("Just some notes\n")
    (folder / "t-open.md").write_text("---\ntitle: Open\n\nNo end\n")
    plain = only_problem(sample_orch, "t-plain.md")
    assert (plain["line"], plain["message"]) == (1, "no frontmatter")
    assert only_problem(sample_orch, "t-open.md")["message"] == "the frontmatter is not closed"


def test_an_id_that_disagrees_with_the_file_name_is_reported(sample, sample_orch, tasks):
    bad = tasks[0]
    path = task_file(sample, bad["task_id"])
    copy = path.with_name("t-copied.md")
    copy.write_text(path.read_text())
    problem = only_problem(sample_orch, "t-copied.md")
    assert (
        problem["message"] == f"task_id '{bad['task_id']}' does not match the file name (t-copied)"
    )
    assert sample_orch.json("task", "show", "t-copied")["title"] == bad["title"]


def test_a_session_folder_without_session_md(sample, sample_orch):
    folder = sample.layout.sessions_dir / "s-orphan" / "tasks"
    folder.mkdir(parents=True)
    (folder / "t-lost.md").write_text("---\ntitle: Lost\n---\n")
    problem = only_problem(sample_orch, "s-orphan/session.md")
    assert problem["message"] == "session folder s-orphan has no session.md"
    assert sample_orch.json("task", "show", "t-lost")["title"] == "Lost"


def test_two_active_sessions_by_hand(sample, sample_orch):
    paused = next(s for s in sample_orch.json("session", "list") if s["status"] == "paused")
    edit(sample.root / paused["markdown_file_path"], "status: paused", "status: active")
    found = [p for p in problems(sample_orch) if p["field"] == "status"]
    assert len(found) == 1 and "more than one session is active" in found[0]["message"]
    assert sample_orch.json("status")["active_session"] is not None


def test_a_file_that_is_not_utf8(sample, sample_orch, tasks):
    folder = task_file(sample, tasks[0]["task_id"]).parent
    (folder / "t-latin1.md").write_bytes("---\ntitle: Caf\xe9\n---\n".encode("latin-1"))
    problem = only_problem(sample_orch, "t-latin1.md")
    assert (problem["line"], problem["message"]) == (2, "not UTF-8 text")


def test_editor_droppings_are_ignored(sample, sample_orch, tasks):
    folder = task_file(sample, tasks[0]["task_id"]).parent
    for name in (".t-x.md.swp", "t-x.md~", "#t-x.md#", ".#t-x.md", "notes.txt"):
        (folder / name).write_text("garbage: [")
    assert problems(sample_orch) == []
    assert len(sample_orch.json("task", "list")) == len(tasks)


def test_files_and_folders_not_named_by_an_id_are_reported(sample, sample_orch, tasks):
    folder = task_file(sample, tasks[0]["task_id"]).parent
    (folder / "notes.md").write_text("---\ntitle: Notes\n---\n")
    stray = sample.layout.sessions_dir / "my-session"
    (stray / "tasks").mkdir(parents=True)
    (stray / "session.md").write_text("---\nname: Mine\n---\n")
    (stray / "tasks" / "t-one.md").write_text("---\ntitle: One\n---\n")
    notes = only_problem(sample_orch, "tasks/notes.md")
    assert notes["message"] == "the file name 'notes.md' is not a task id"
    assert notes["fix"] == "rename it to t- and letters, digits, - or _ (e.g. t-notes.md)"
    assert only_problem(sample_orch, "my-session/session.md")["message"] == (
        "the session folder 'my-session' is not named by a session id"
    )
    assert len(sample_orch.json("task", "list")) == len(tasks), "everything else still works"
    assert sample_orch("doctor", code=1).exit_code == 1


def test_a_directory_where_a_task_file_should_be_is_reported(sample, sample_orch, tasks):
    folder = task_file(sample, tasks[0]["task_id"]).parent
    (folder / "t-folder.md").mkdir()
    problem = only_problem(sample_orch, "t-folder.md")
    assert problem["message"].startswith("cannot be read:")
    assert len(sample_orch.json("task", "list")) == len(tasks)


def test_a_key_written_twice_is_an_error_so_no_rewrite_can_lose_one(sample, sample_orch, tasks):
    bad = next(t for t in tasks if t["depends_on"])
    path = task_file(sample, bad["task_id"])
    edit(path, "---\ntask_id", f"---\ndepends_on: [{tasks[0]['task_id']}]\ntask_id")
    text = path.read_text()
    problem = only_problem(sample_orch, f"{bad['task_id']}.md")
    assert problem["message"] == "YAML error (column 1): the key 'depends_on' is written twice"
    assert problem["line"] == text.splitlines().index("depends_on:") + 1
    result = sample_orch("task", "update", bad["task_id"], "--title", "x", code=1)
    assert "fix the file first" in result.stderr
    assert path.read_text() == text, "the file is left as the person wrote it"
