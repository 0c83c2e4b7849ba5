"""`orch mode ...`: the specialist role files a session binds."""

from __future__ import annotations

import click

from orchestrator.cli.output import Styled, echo, emit_json, json_option, styled_line, table
from orchestrator.core import modes as core


@click.group()
def mode() -> None:
    """Modes: YAML role files in .task_orchestrator/roles/ (architect, implementer, ...).

    A session binds one; if it is missing or invalid, the session falls back to
    default_roles.yaml with a warning.
    """


@mode.command("list")
@click.option("--valid-only", is_flag=True, help="Leave out modes that fail validation.")
@json_option
@click.pass_obj
def list_(ctx, valid_only, as_json) -> None:
    """List the modes in roles/."""
    rows = core.list_modes(ctx.project, include_invalid=not valid_only)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        echo("No modes in roles/. `orch init` copies the shipped ones.")
        return
    table(
        (
            [
                r["mode_id"],
                Styled("valid", fg="green") if r["is_valid"] else Styled("invalid", fg="red"),
                str(r["session_count"]),
                ", ".join(r["specialist_roles"]),
            ]
            for r in rows
        ),
        headers=["MODE", "", "SESSIONS", "SPECIALIST ROLES"],
    )


@mode.command("show")
@click.argument("name")
@json_option
@click.pass_obj
def show(ctx, name, as_json) -> None:
    """Show a mode's roles."""
    data = core.show_mode(ctx.project, name)
    if as_json:
        emit_json(data)
        return
    state = "valid" if data["is_valid"] else "invalid"
    echo(styled_line(Styled(data["mode_id"], bold=True), f"  ({state})  {data['yaml_file_path']}"))
    if data["description"]:
        echo(data["description"])
    for role, spec in data["roles"].items():
        if not isinstance(spec, dict):
            continue
        purpose = data["specialist_roles"].get(
            role, "planner" if role == "task_orchestrator" else ""
        )
        echo(styled_line("\n", Styled(role, bold=True), f"  — {purpose}" if purpose else ""))
        echo(f"  {spec.get('role_definition', '')}")
        echo(f"  output: {spec.get('output_format', '')}")
    for problem in data["problems"]:
        echo(Styled(problem, fg="red"), err=True)


@mode.command("validate")
@click.argument("files", nargs=-1, metavar="[FILE|MODE]...")
@json_option
@click.pass_obj
def validate(ctx, files, as_json) -> None:
    """Validate role files (default: all of roles/). Exits 1 if one is invalid."""
    modes = core.validate_modes(ctx.project, list(files))
    if as_json:
        emit_json(
            [
                {
                    "mode_id": m.file_name,
                    "is_valid": m.is_valid,
                    "problems": [p.__dict__ for p in m.problems],
                }
                for m in modes
            ]
        )
    else:
        for m in modes:
            verdict = Styled("valid", fg="green") if m.is_valid else Styled("invalid", fg="red")
            echo(styled_line(f"{m.file_name}: ", verdict))
            for p in m.problems:
                echo(Styled(f"  {p}", fg="red" if p.severity == "error" else "yellow"))
    if not all(m.is_valid for m in modes):
        raise SystemExit(1)


@mode.command("select")
@click.argument("name")
@click.option("--session", metavar="ID", help="Session (default: the active one).")
@click.option("--no-validate", is_flag=True, help="Bind even if the file does not validate.")
@json_option
@click.pass_obj
def select(ctx, name, session, no_validate, as_json) -> None:
    """Bind mode NAME to a session."""
    binding = core.select_mode(ctx.project, name, session=session, validate_first=not no_validate)
    if as_json:
        emit_json(binding)
    else:
        echo(f"Session {binding['session_id']} now uses mode {binding['mode_id']}")
