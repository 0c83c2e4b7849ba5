"""Modes: validation with file, key and line; fallback to the default, never a crash."""

from __future__ import annotations

import json

import pytest

from orchestrator.core import modes, sessions, tasks
from orchestrator.errors import InvalidInput, PathOutsideProject
from orchestrator.resources import shipped
from orchestrator.store.mode_file import parse_mode

BROKEN = """\
# A mode with mistakes in it.
task_orchestrator:
  role_definition: "Planner"
  expertise: ["planning"]
  approach: ["plan"]
  output_format: "a plan"
  specialist_roles:
    builder: "Builds"
    painter: "Paints"
builder:
  role_definition: "You build"
  expertise: "building"
  approach: []
painter: 7
"""


@pytest.mark.parametrize("path", sorted(shipped("config").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_mode_is_valid(path):
    mode = parse_mode(path.name, path.read_text(), path.name)
    assert mode.problems == []
    assert set(mode.specialist_roles) <= set(mode.roles)


def test_the_default_mode_has_the_roles_users_expect():
    path = shipped("config") / "default_roles.yaml"
    mode = parse_mode(path.name, path.read_text(), path.name)
    for role in (
        "architect",
        "implementer",
        "debugger",
        "documenter",
        "reviewer",
        "tester",
        "researcher",
    ):
        assert role in mode.specialist_roles and role in mode.roles
        assert set(mode.roles[role]) >= {
            "role_definition",
            "expertise",
            "approach",
            "output_format",
        }


def test_validation_reports_every_error_with_file_key_and_line():
    mode = parse_mode("broken.yaml", BROKEN, ".task_orchestrator/roles/broken.yaml")
    found = {(p.field, p.line): p.message for p in mode.problems}
    assert not mode.is_valid
    assert (
        found[("builder.expertise", 12)]
        == "builder.expertise: expected a list, found text 'building'"
    )
    assert found[("builder.approach", 13)] == "builder.approach is empty"
    assert found[("builder.output_format", 10)] == "builder.output_format is missing"
    assert found[("painter", 14)] == "painter: expected a mapping of key: value, found a number 7"
    assert all(str(p).startswith(".task_orchestrator/roles/broken.yaml:") for p in mode.problems)
    assert mode.description == "A mode with mistakes in it."


def test_a_listed_role_without_definition_is_a_warning():
    text = (shipped("config") / "default_roles.yaml").read_text()
    text = text.replace(
        '    researcher: "Research and information gathering"\n',
        '    researcher: "Research and information gathering"\n    pilot: "Flies"\n',
    )
    mode = parse_mode("x.yaml", text, "x.yaml")
    assert mode.is_valid
    assert [p.severity for p in mode.problems] == ["warning"]
    assert "lists 'pilot', which has no definition" in mode.problems[0].message


def test_broken_yaml_in_a_mode_is_reported_with_its_line():
    mode = parse_mode("x.yaml", "task_orchestrator:\n  role_definition: [unclosed\n", "x.yaml")
    assert not mode.is_valid and mode.problems[0].line == 3


def write_mode(project, name: str, text: str):
    (project.layout.roles_dir / name).write_text(text)


def test_selecting_an_invalid_mode_is_refused_with_its_errors(project):
    sessions.create_session(project, "S")
    write_mode(project, "broken.yaml", BROKEN)
    with pytest.raises(InvalidInput) as refused:
        modes.select_mode(project, "broken")
    assert "mode broken.yaml is not valid:" in str(refused.value)
    assert "builder.expertise" in str(refused.value)


def test_a_mode_broken_after_binding_falls_back_to_the_default_with_a_warning(project):
    sessions.create_session(project, "S")
    write_mode(project, "team.yaml", (shipped("config") / "research_roles.yaml").read_text())
    modes.select_mode(project, "team")
    write_mode(project, "team.yaml", BROKEN)
    mode, context = modes.session_mode(project)
    assert context == {
        "mode_file": "team.yaml",
        "effective_mode": "default_roles.yaml",
        "status": "invalid",
    }
    assert "architect" in mode.roles
    assert "mode team.yaml is invalid; using default_roles.yaml" in project.warnings[-1]
    listed = {m["mode_id"]: m for m in modes.list_modes(project)}
    assert listed["team.yaml"]["is_valid"] is False
    assert any("builder.expertise" in e for e in listed["team.yaml"]["validation_errors"])
    # Work goes on: tasks can still be added.
    assert tasks.add_task(project, "Still works")["title"] == "Still works"


def test_a_missing_mode_falls_back_and_even_a_missing_default_does_not_crash(project):
    sessions.create_session(project, "S")
    write_mode(project, "team.yaml", (shipped("config") / "research_roles.yaml").read_text())
    modes.select_mode(project, "team")
    (project.layout.roles_dir / "team.yaml").unlink()
    (project.layout.roles_dir / "default_roles.yaml").unlink()
    mode, context = modes.session_mode(project)
    assert context["status"] == "missing"
    assert context["effective_mode"] == "(built-in default_roles.yaml)"
    assert "implementer" in mode.roles
    binding = modes.binding
    with project.reading() as db:
        assert (
            binding(db, sessions.list_sessions(project)[0]["session_id"])["binding_context"][
                "status"
            ]
            == "missing"
        )


def test_mode_paths_cannot_leave_the_roles_folder(project, tmp_path):
    sessions.create_session(project, "S")
    outside = tmp_path / "evil.yaml"
    outside.write_text((shipped("config") / "default_roles.yaml").read_text())
    for name in ("../../evil.yaml", str(outside), "../config.yaml"):
        with pytest.raises((PathOutsideProject, Exception)) as refused:
            modes.select_mode(project, name)
        assert "outside" in str(refused.value) or "no mode" in str(refused.value)
    with pytest.raises(PathOutsideProject):
        modes.validate_modes(project, [str(outside)])


def test_a_mode_file_name_with_a_path_in_a_session_file_is_not_followed(project):
    row = sessions.create_session(project, "S")
    path = project.layout.session_dir(row["session_id"]) / "session.md"
    path.write_text(
        path.read_text().replace("status: active", "status: active\nmode_file: ../../etc/passwd")
    )
    _mode, context = modes.session_mode(project)
    assert context["status"] == "outside" and context["effective_mode"] == "default_roles.yaml"
    with project.reading() as db:
        stored = db.scalar("SELECT binding_context FROM session_mode_bindings")
    assert json.loads(stored)["status"] == "outside"


def test_the_board_and_session_show_say_when_a_mode_falls_back(project, orch):
    orch("session", "create", "S")
    write_mode(project, "team.yaml", (shipped("config") / "research_roles.yaml").read_text())
    orch("mode", "select", "team")
    write_mode(project, "team.yaml", BROKEN)
    board = orch("status")
    assert "mode default_roles.yaml (instead of team.yaml, which is invalid)" in board.stdout
    assert "mode team.yaml is invalid; using default_roles.yaml" in board.stderr
    shown = orch("session", "show")
    assert "team.yaml (invalid: using default_roles.yaml)" in shown.stdout
    assert orch.json("status")["mode"]["status"] == "invalid"


def test_a_mode_in_a_subfolder_of_roles_is_refused(project, orch):
    orch("session", "create", "S")
    (project.layout.roles_dir / "team").mkdir()
    write_mode(project, "team/x.yaml", (shipped("config") / "research_roles.yaml").read_text())
    result = orch("mode", "select", "team/x.yaml", code=1)
    assert "mode files live directly in .task_orchestrator/roles/" in result.stderr
