"""The README documents every command, and its first commands are the ones CI runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest

from orchestrator.cli import cli
from orchestrator.model import allowed_values, known_fields, record_schema

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[str]:
    ctx = click.Context(group)
    paths = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        path = (*prefix, name)
        if isinstance(command, click.Group):
            paths += command_paths(command, path)
        else:
            paths.append(" ".join(path))
    return paths


@pytest.mark.parametrize("path", command_paths(cli))
def test_every_command_is_in_the_readme(path):
    assert f"orch {path}" in README, f"`orch {path}` is not documented in README.md"


@pytest.mark.parametrize("path", command_paths(cli))
def test_every_command_has_help(path):
    ctx = click.Context(cli)
    command = cli
    for part in path.split():
        command = command.get_command(ctx, part)
    assert command.help and command.help.strip()


def test_the_readme_starts_with_the_setup_and_test_commands_ci_runs():
    first_commands = re.findall(r"^    (\S.*)$", README.split("\n## ", 1)[0], flags=re.M)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert len(first_commands) == 2, first_commands
    setup, tests = first_commands
    assert "pip install" in setup and '".[test]"' in setup and "orch demo" in setup
    assert "pytest" in tests
    assert setup in ci and tests in ci


def test_the_readme_lists_every_task_status():
    for status in allowed_values("task", "status"):
        assert f"`{status}`" in README


def test_the_readme_task_example_uses_the_schema_fields():
    example = re.search(r"```markdown\n---\n(.*?)---\n", README, flags=re.S).group(1)
    keys = [
        line.split(":", 1)[0]
        for line in example.splitlines()
        if line and not line.startswith((" ", "-"))
    ]
    assert set(keys) <= set(known_fields("task"))


def test_the_schemas_are_valid_json_schema():
    import jsonschema

    for kind in ("session", "group", "task", "roles"):
        schema = record_schema(kind)
        jsonschema.validators.validator_for(schema).check_schema(schema)
        json.dumps(schema)
