"""`orch session ...`: create, list, show, rename, and the lifecycle."""

from __future__ import annotations

import click

from orchestrator.cli import params
from orchestrator.cli.output import (
    Styled,
    bar,
    echo,
    emit_json,
    json_option,
    read_text_option,
    status_text,
    styled_line,
    table,
    with_guides,
)
from orchestrator.core import sessions as core
from orchestrator.model import ACTIVE, CANCELLED, DEFAULT_MODE, DONE, ERROR, PAUSED


@click.group()
def session() -> None:
    """Sessions: large units of work; one is active at a time.

    Lifecycle: creating -> active <-> paused; active -> completed; paused, completed or
    cancelled -> archived; archived -> active.
    """


def show_done(row: dict, verb: str, as_json: bool) -> None:
    if as_json:
        emit_json(row)
    else:
        echo(
            styled_line(
                f'{verb} session {row["session_id"]} "{row["name"]}" (',
                status_text(row["status"]),
                ")",
            )
        )


@session.command("create")
@click.argument("name")
@click.option("-d", "--description", help="Overview in Markdown ('-' reads standard input).")
@click.option(
    "--type",
    "session_type",
    default="project",
    show_default=True,
    help="Kind of session: project, maintenance, research, ...",
)
@click.option(
    "--mode",
    "mode_file",
    metavar="MODE",
    help="Role file in roles/ to bind (default: default_roles.yaml).",
)
@click.option(
    "--priority",
    type=click.IntRange(1, 5),
    default=3,
    show_default=True,
    help="1 urgent .. 5 someday.",
)
@click.option("--switch", is_flag=True, help="Pause the active session and activate this one.")
@json_option
@click.pass_obj
def create(ctx, name, description, session_type, mode_file, priority, switch, as_json) -> None:
    """Create a session named NAME and make it active."""
    row = core.create_session(
        ctx.project,
        name,
        description=read_text_option(description),
        session_type=session_type,
        mode_file=mode_file,
        priority_level=priority,
        switch=switch,
    )
    show_done(row, "Created", as_json)


@session.command("list")
@click.option(
    "--status", type=params.choice("session", "status"), help="Only sessions in this status."
)
@click.option("--all", "include_archived", is_flag=True, help="Include archived sessions.")
@json_option
@click.pass_obj
def list_(ctx, status, include_archived, as_json) -> None:
    """List sessions, the active one first."""
    rows = core.list_sessions(ctx.project, status=status, include_archived=include_archived)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        echo("No sessions. Create one: orch session create NAME")
        return
    table(
        (
            [
                r["session_id"],
                status_text(r["status"]),
                r["name"],
                bar(r["progress_percentage"], 10),
                f"{r['progress_percentage']:.1f}% ({r['completed_tasks']}/{r['total_tasks']})",
                "" if r["status"] == ERROR else r["mode_file"] or DEFAULT_MODE,
            ]
            for r in rows
        ),
        headers=["ID", "STATUS", "NAME", "PROGRESS", "", "MODE"],
    )
    show_problems(rows)


def show_problems(rows: list[dict]) -> None:
    """Under a list, why each session in the error state is in it (its file's problem)."""
    for r in rows:
        if r.get("problem"):
            echo(Styled(f"{r['session_id']} is in error: {r['problem']}", fg="red"))


@session.command("show")
@click.argument("session_ref", metavar="[ID]", required=False, type=params.SESSION_REF)
@json_option
@click.pass_obj
def show(ctx, session_ref, as_json) -> None:
    """Show a session (default: the active one)."""
    row = core.show_session(ctx.project, session_ref)
    if as_json:
        emit_json(row)
        return
    echo(
        styled_line(
            Styled(row["name"], bold=True), f"  {row['session_id']}  ", status_text(row["status"])
        )
    )
    show_problems([row])
    context = (row["mode_binding"] or {}).get("binding_context") or {}
    mode = row["mode_file"] or DEFAULT_MODE
    if context.get("status", "ok") != "ok":
        mode += f" ({context['status']}: using {context['effective_mode']})"
    fields = [
        ("type", row["session_type"]),
        ("mode", mode),
        ("priority", f"P{row['priority_level']}"),
        (
            "progress",
            styled_line(
                bar(row["progress_percentage"]),
                f" {row['progress_percentage']:.1f}%"
                f" ({row['completed_tasks']}/{row['total_tasks']} tasks)",
            ),
        ),
        ("tasks", ", ".join(f"{n} {s}" for s, n in row["status_counts"].items()) or "none"),
        ("created", row["created_at"]),
        ("activated", row["activated_at"]),
        ("completed", row["completed_at"]),
        ("archived", row["archived_at"]),
        ("last activity", row["last_activity_at"]),
        ("file", row["markdown_file_path"]),
    ]
    table(([k, v if isinstance(v, str) else str(v)] for k, v in fields if v), indent=2)
    if row["groups"]:
        echo(Styled("\nGroups", bold=True))
        table(
            (
                [
                    g["group_id"],
                    prefix + g["group_name"],
                    f"{g['progress_percentage']:.1f}%",
                    f"{g['completed_tasks']}/{g['total_tasks']}",
                ]
                for prefix, g in with_guides(row["groups"], "group_level")
            ),
            indent=2,
        )
    if row["description"]:
        echo(f"\n{row['description']}")


@session.command("rename")
@click.argument("session_ref", metavar="ID", type=params.SESSION_REF)
@click.argument("name")
@json_option
@click.pass_obj
def rename(ctx, session_ref, name, as_json) -> None:
    """Rename session ID to NAME (its id and folder stay; session.md shows the new name)."""
    show_done(core.rename_session(ctx.project, session_ref, name), "Renamed", as_json)


def lifecycle(name: str, target: str, verb: str, doc: str) -> click.Command:
    @click.argument("session_ref", metavar="ID", type=params.SESSION_REF)
    @json_option
    @click.pass_obj
    def command(ctx, session_ref, as_json) -> None:
        row = core.change_status(ctx.project, session_ref, target)
        show_done(row, verb, as_json)

    command.__doc__ = doc
    return session.command(name)(command)


lifecycle(
    "activate",
    ACTIVE,
    "Activated",
    "Make session ID the active one (the current active session is paused).",
)
lifecycle("pause", PAUSED, "Paused", "Pause session ID.")
lifecycle("complete", DONE, "Completed", "Mark session ID completed.")
lifecycle("cancel", CANCELLED, "Cancelled", "Cancel session ID.")


@session.command("archive")
@click.argument("session_ref", metavar="ID", type=params.SESSION_REF)
@click.option("--format", "export_format", type=click.Choice(("markdown", "json", "zip")),
              default="markdown", show_default=True,
              help="The export written to .task_orchestrator/archives/ with it.")  # fmt: skip
@json_option
@click.pass_obj
def archive(ctx, session_ref, export_format, as_json) -> None:
    """Archive session ID (it must be paused, completed or cancelled first) and write its
    export under .task_orchestrator/archives/, in one commit. `orch session activate ID`
    brings it back."""
    from orchestrator.core.archive import archive_session

    result = archive_session(ctx.project, session_ref, export_format)
    if as_json:
        emit_json(result)
        return
    echo(f'Archived session {result["session_id"]} "{result["name"]}"; export:'
               f" {result['export']}")  # fmt: skip
