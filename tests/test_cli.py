"""The CLI end to end through click's CliRunner, on both index engines."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from tests.conftest import SQLITE_NOW_DUCKDB_SLOW, task_file

SESSION_COLUMNS = {
    "session_id",
    "name",
    "description",
    "session_type",
    "mode_file",
    "status",
    "project_root_path",
    "markdown_file_path",
    "priority_level",
    "total_tasks",
    "completed_tasks",
    "progress_percentage",
    "created_at",
    "activated_at",
}
TASK_COLUMNS = {
    "task_id",
    "session_id",
    "parent_task_id",
    "root_task_id",
    "task_group",
    "level",
    "hierarchy_path",
    "position_in_group",
    "title",
    "description",
    "specialist_type",
    "complexity_level",
    "status",
    "progress_percentage",
    "estimated_effort",
    "actual_effort",
    "depends_on",
    "blocks",
    "related_tasks",
    "created_at",
    "started_at",
    "completed_at",
    "last_updated_at",
}
GROUP_COLUMNS = {
    "group_id",
    "session_id",
    "group_name",
    "description",
    "parent_group_id",
    "group_level",
    "position_in_session",
    "specialist_focus",
    "estimated_effort",
    "priority_level",
    "total_tasks",
    "completed_tasks",
    "progress_percentage",
}


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_a_session_group_and_tasks_from_creation_to_done(orch, project):
    session = orch.json("session", "create", "Payments API", "-d", "Build v2")
    assert set(session) >= SESSION_COLUMNS
    assert session["status"] == "active"
    group = orch.json("group", "create", "Backend", "--focus", "implementer", "--priority", "2")
    assert set(group) >= GROUP_COLUMNS
    parser = orch.json(
        "task",
        "add",
        "Write the parser",
        "--group",
        "backend",
        "--estimate",
        "3h",
        "--specialist",
        "implementer",
        "--complexity",
        "complex",
        "--priority",
        "1",
    )
    assert set(parser) >= TASK_COLUMNS
    assert (parser["task_group"], parser["estimated_effort"], parser["priority_level"]) == (
        "Backend",
        3,
        1,
    )
    lexer = orch.json("task", "add", "Write the lexer", "--parent", parser["task_id"][:6])
    assert lexer["parent_task_id"] == parser["task_id"]
    assert lexer["task_group"] == "Backend", "a subtask joins its parent's group"
    assert lexer["level"] == 1 and lexer["root_task_id"] == parser["task_id"]

    orch("task", "start", lexer["task_id"])
    done = orch.json("task", "done", lexer["task_id"], "--actual", "2")
    assert done["status"] == "completed" and done["actual_effort"] == 2 and done["completed_at"]
    parent = orch.json("task", "show", parser["task_id"])
    assert parent["progress_percentage"] == 100.0, "its only subtask is done"
    assert [s["task_id"] for s in parent["subtasks"]] == [lexer["task_id"]]
    orch("task", "done", parser["task_id"])
    board = orch.json("status")
    assert board["active_session"]["progress_percentage"] == 100.0
    assert board["groups"][0]["completed_tasks"] == 2

    # Every record is a readable Markdown file.
    text = task_file(project, parser["task_id"]).read_text()
    assert text.startswith("---\ntask_id: " + parser["task_id"])
    assert "title: Write the parser\nstatus: completed\n" in text


def test_text_output_lists_tasks_as_a_tree_under_headers(orch):
    orch("session", "create", "S")
    parent = orch.json("task", "add", "Parent task")
    orch("task", "add", "Child task", "--parent", parent["task_id"])
    out = orch("task", "list").stdout
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "PRIO", "TITLE", "GROUP", "SPECIALIST", "EST"]
    assert "  Child task" in lines[2] and "Parent task" in lines[1]


@pytest.mark.parametrize("engine", SQLITE_NOW_DUCKDB_SLOW)
def test_session_lifecycle_commands(orch):
    first = orch.json("session", "create", "First")
    second = orch.json("session", "create", "Second", "--switch")
    assert orch.json("session", "show", first["session_id"])["status"] == "paused"
    orch("session", "activate", first["session_id"])
    assert orch.json("session", "show", second["session_id"])["status"] == "paused"
    assert orch.json("session", "show")["session_id"] == first["session_id"]
    orch("session", "complete", first["session_id"])
    orch("session", "archive", first["session_id"])
    listed = orch.json("session", "list")
    assert [s["session_id"] for s in listed] == [second["session_id"]], "archived ones are hidden"
    assert len(orch.json("session", "list", "--all")) == 2
    orch("session", "cancel", second["session_id"])
    assert (
        orch.json("session", "list", "--status", "cancelled")[0]["session_id"]
        == second["session_id"]
    )


def test_creating_a_session_while_one_is_active_needs_switch(orch):
    active = orch.json("session", "create", "First")
    result = orch("session", "create", "Second", code=1)
    assert f'session {active["session_id"]} "First" is active; switch to pause it' in result.stderr
    assert "(orch session create Second --switch)" in result.stderr


def test_forbidden_transition_lists_the_allowed_ones(orch):
    session = orch.json("session", "create", "S")
    result = orch("session", "archive", session["session_id"], code=1)
    assert "cannot archive session" in result.stderr
    assert "from active a session can go to: paused (pause), completed (complete)" in result.stderr


def test_ids_accept_unique_prefixes_with_or_without_their_letter(orch):
    orch("session", "create", "S")
    task = orch.json("task", "add", "A task")
    hex_part = task["task_id"][2:]
    assert orch.json("task", "show", hex_part[:5])["task_id"] == task["task_id"]
    assert orch.json("task", "show", task["task_id"][:4])["task_id"] == task["task_id"]


# 40 task adds: the DuckDB variant (15 s) runs with the slow ones.
@pytest.mark.parametrize("engine", ["sqlite", pytest.param("duckdb", marks=pytest.mark.slow)])
def test_an_ambiguous_prefix_lists_the_candidates(orch, project):
    orch("session", "create", "S")
    ids = [orch.json("task", "add", f"Task {i}")["task_id"] for i in range(40)]
    # With 40 random ids, some pair shares its first hex digit.
    first_digits = [i[2] for i in ids]
    shared = next(d for d in first_digits if first_digits.count(d) > 1)
    result = orch("task", "show", f"t-{shared}", code=1)
    assert f"'t-{shared}' matches several tasks; type more of the id" in result.stderr
    for task_id in ids:
        if task_id[2] == shared:
            assert task_id in result.stderr


def test_an_unknown_id_is_refused_with_close_matches(orch):
    orch("session", "create", "S")
    task = orch.json("task", "add", "A task")
    typo = task["task_id"][:-1] + ("0" if task["task_id"][-1] != "0" else "1")
    result = orch("task", "show", typo + "9", code=1)
    assert f"no task '{typo}9'; did you mean {task['task_id']}?" in result.stderr


def test_update_changes_fields_and_dependencies(orch):
    orch("session", "create", "S")
    a = orch.json("task", "add", "A")["task_id"]
    b = orch.json("task", "add", "B")["task_id"]
    c = orch.json("task", "add", "C", "--depends-on", f"{a},{b}")
    assert c["depends_on"] == [a, b]
    c = orch.json(
        "task",
        "update",
        c["task_id"],
        "--remove-dep",
        a,
        "--title",
        "C2",
        "--status",
        "blocked",
        "--priority",
        "2",
        "--estimate",
        "5",
        "-d",
        "New text",
    )
    assert (c["title"], c["status"], c["priority_level"], c["estimated_effort"]) == (
        "C2",
        "blocked",
        2,
        5,
    )
    assert c["depends_on"] == [b] and c["description"] == "New text"
    assert orch.json("task", "show", b)["blocks"] == [c["task_id"]]
    c = orch.json("task", "update", c["task_id"], "--no-dependencies")
    assert c["depends_on"] == []


def test_description_can_come_from_standard_input(orch):
    orch("session", "create", "S")
    task = json.loads(
        orch("task", "add", "T", "-d", "-", "--json", input="Line one\n\nLine two\n").stdout
    )
    assert task["description"] == "Line one\n\nLine two"


def test_group_move_keeps_dependencies_and_brings_subtasks(orch):
    orch("session", "create", "S")
    orch("group", "create", "Backend")
    orch("group", "create", "Frontend")
    a = orch.json("task", "add", "A", "--group", "Backend")["task_id"]
    b = orch.json("task", "add", "B", "--group", "Backend", "--depends-on", a)["task_id"]
    sub = orch.json("task", "add", "B1", "--parent", b)["task_id"]
    moved = orch.json("group", "move", b, "--to", "frontend")
    assert sorted(t["task_id"] for t in moved) == sorted([b, sub])
    assert all(t["task_group"] == "Frontend" for t in moved)
    assert orch.json("task", "show", b)["depends_on"] == [a]
    shown = orch.json("group", "show", "Frontend")
    assert [t["task_id"] for t in shown["tasks"]] == [b, sub]


def test_group_move_can_drop_dependencies_that_cross_groups(orch):
    orch("session", "create", "S")
    orch("group", "create", "Backend")
    orch("group", "create", "Frontend")
    a = orch.json("task", "add", "A", "--group", "Backend")["task_id"]
    b = orch.json("task", "add", "B", "--group", "Backend", "--depends-on", a)["task_id"]
    orch("group", "move", b, "--to", "Frontend", "--drop-dependencies")
    assert orch.json("task", "show", b)["depends_on"] == []


def test_task_move_changes_parent_and_group(orch):
    orch("session", "create", "S")
    orch("group", "create", "G1")
    a = orch.json("task", "add", "A")["task_id"]
    b = orch.json("task", "add", "B")["task_id"]
    moved = orch.json("task", "move", b, "--parent", a, "--group", "G1")
    assert moved["parent_task_id"] == a and moved["task_group"] == "G1" and moved["level"] == 1
    back = orch.json("task", "move", b, "--no-parent", "--no-group")
    assert back["parent_task_id"] is None and back["group_id"] is None
    result = orch("task", "move", a, "--parent", b, code=0)
    assert result.exit_code == 0
    result = orch("task", "move", b, "--parent", a, code=1)
    assert "would make a cycle" in result.stderr


def test_group_names_are_unique_within_a_session(orch):
    orch("session", "create", "S")
    orch("group", "create", "Backend")
    result = orch("group", "create", "backend", code=1)
    assert "already has a group named 'Backend'" in result.stderr
    orch("group", "create", "Übersicht")
    result = orch("group", "create", "übersicht", code=1)
    assert "already has a group named 'Übersicht'" in result.stderr, "the same on both engines"
    assert orch.json("group", "show", "ÜBERSICHT")["group_name"] == "Übersicht"


def test_nested_groups_aggregate_their_subgroups(orch):
    orch("session", "create", "S")
    orch("group", "create", "Platform")
    orch("group", "create", "Storage", "--parent", "Platform")
    orch("task", "add", "T1", "--group", "Storage")
    t2 = orch.json("task", "add", "T2", "--group", "Platform")["task_id"]
    orch("task", "done", t2)
    groups = {g["group_name"]: g for g in orch.json("group", "list")}
    assert (groups["Platform"]["total_tasks"], groups["Platform"]["completed_tasks"]) == (2, 1)
    assert groups["Storage"]["group_level"] == 1 and groups["Storage"]["total_tasks"] == 1


def test_start_waits_for_dependencies_unless_forced(orch):
    orch("session", "create", "S")
    a = orch.json("task", "add", "A")["task_id"]
    b = orch.json("task", "add", "B", "--depends-on", a)["task_id"]
    result = orch("task", "start", b, code=1)
    assert f"has unfinished dependencies: {a} (pending)" in result.stderr
    assert orch.json("task", "start", b, "--force")["status"] == "in_progress"


def test_done_waits_for_subtasks_unless_forced(orch):
    orch("session", "create", "S")
    a = orch.json("task", "add", "A")["task_id"]
    sub = orch.json("task", "add", "A1", "--parent", a)["task_id"]
    result = orch("task", "done", a, code=1)
    assert f"has unfinished subtasks: {sub} (pending)" in result.stderr
    assert orch.json("task", "done", a, "--force")["status"] == "completed"


def test_list_filters(orch):
    orch("session", "create", "S")
    orch("group", "create", "G")
    a = orch.json(
        "task", "add", "A", "--group", "G", "--specialist", "tester", "--complexity", "simple"
    )
    orch("task", "add", "B")
    orch("task", "done", a["task_id"])
    ids = lambda *args: [t["task_id"] for t in orch.json("task", "list", *args)]  # noqa: E731
    assert ids("--group", "G") == [a["task_id"]]
    assert ids("--status", "completed") == [a["task_id"]]
    assert ids("--specialist", "tester") == [a["task_id"]]
    assert ids("--complexity", "simple") == [a["task_id"]]
    assert len(ids("--status", "pending,completed")) == 2
    assert len(ids("--limit", "1")) == 1


def test_unknown_specialist_is_allowed_with_a_warning(orch):
    orch("session", "create", "S")
    result = orch("task", "add", "T", "--specialist", "plumber")
    assert "'plumber' is not a specialist role of mode default_roles.yaml" in result.stderr


def test_usage_errors_exit_2(orch):
    assert orch("task", "add", code=2).exit_code == 2
    assert orch("task", "add", "T", "--priority", "9", code=2).exit_code == 2


def test_an_effort_that_is_not_a_duration_is_refused_with_the_formats(orch):
    orch("session", "create", "S")
    result = orch("task", "add", "T", "--estimate", "three", code=2)  # a usage error
    assert "estimated_effort 'three' is not a number of hours; give one of 3, 2.5" in result.stderr


def test_a_bad_value_is_refused_with_the_allowed_ones(orch):
    orch("session", "create", "S")
    result = orch("task", "add", "T", "--status", "done", code=2)  # a usage error
    assert "status 'done' is not one of pending, in_progress, blocked" in result.stderr


def test_commands_outside_a_project_say_how_to_start_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["task", "list"])
    assert result.exit_code == 1
    assert "no .task_orchestrator/ folder in" in result.stderr and "(orch init " in result.stderr


def test_root_is_found_from_a_subdirectory_and_from_orch_root(project, tmp_path, monkeypatch):
    sub = project.root / "src" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    runner = CliRunner()
    assert runner.invoke(cli, ["session", "create", "S"]).exit_code == 0
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCH_ROOT", str(project.root))
    result = runner.invoke(cli, ["session", "list", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["name"] == "S"


def test_a_root_that_does_not_exist_is_refused(tmp_path):
    result = CliRunner().invoke(cli, ["--root", str(tmp_path / "nope"), "status"])
    assert result.exit_code == 1
    assert "does not exist" in result.stderr


def test_init_is_idempotent_and_creates_the_layout(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["init", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    base = tmp_path / "p" / ".task_orchestrator"
    for path in (
        "config.yaml",
        "roles/default_roles.yaml",
        "roles/research_roles.yaml",
        "roles/maintenance_roles.yaml",
        "sessions",
        "archives",
        "exports",
        ".index/.gitignore",
    ):
        assert (base / path).exists(), path
    assert (base / "roles" / "default_roles.yaml").read_bytes() == (
        __import__("orchestrator.resources").resources.shipped("config") / "default_roles.yaml"
    ).read_bytes()
    again = runner.invoke(cli, ["init", str(tmp_path / "p")])
    assert again.exit_code == 0 and "nothing to add" in again.stdout


def test_doctor_exits_0_when_clean(orch):
    orch("session", "create", "S")
    assert "No problems found." in orch("doctor").stdout
    assert orch.json("doctor") == []


def test_reindex_reports_files(orch):
    orch("session", "create", "S")
    orch("task", "add", "T")
    report = orch.json("reindex")
    assert report["files"] == 3 + 2  # 3 shipped modes, session.md, the task
    assert "Indexed 5 files" in orch("reindex").stdout


def test_mode_commands(orch):
    orch("session", "create", "S")
    modes = {m["mode_id"]: m for m in orch.json("mode", "list")}
    assert set(modes) == {"default_roles.yaml", "research_roles.yaml", "maintenance_roles.yaml"}
    assert modes["default_roles.yaml"]["session_count"] == 1
    assert "architect" in modes["default_roles.yaml"]["specialist_roles"]
    shown = orch.json("mode", "show", "research")
    assert shown["mode_id"] == "research_roles.yaml" and "analyst" in shown["roles"]
    assert "research_roles.yaml: valid" in orch("mode", "validate").stdout
    binding = orch.json("mode", "select", "research")
    assert binding["mode_id"] == "research_roles.yaml"
    assert binding["binding_context"]["status"] == "ok"
    assert orch.json("session", "show")["mode_file"] == "research_roles.yaml"


def test_every_read_command_answers_json(sample_orch):
    for args in (
        ["status"],
        ["session", "list"],
        ["session", "show"],
        ["group", "list"],
        ["group", "show", "Design"],
        ["task", "list"],
        ["task", "list", "--ready"],
        ["mode", "list"],
        ["mode", "show", "default"],
        ["doctor"],
    ):
        sample_orch.json(*args)


def test_two_sessions_with_one_name_are_named_by_id(orch):
    first = orch.json("session", "create", "Same")
    second = orch.json("session", "create", "Same", "--switch")
    result = orch("session", "show", "Same", code=1)
    assert "several sessions are named 'Same'; use an id:" in result.stderr
    assert first["session_id"] in result.stderr and second["session_id"] in result.stderr


def test_a_dependency_written_as_text_counts_as_a_list(orch, project):
    orch("session", "create", "S")
    a = orch.json("task", "add", "A")["task_id"]
    b = orch.json("task", "add", "B")["task_id"]
    c = orch.json("task", "add", "C")["task_id"]
    path = task_file(project, c)
    path.write_text(path.read_text().replace("title: C\n", f"title: C\ndepends_on: {a}\n"))
    updated = orch.json("task", "update", c, "--add-dep", b)
    assert updated["depends_on"] == [a, b]
