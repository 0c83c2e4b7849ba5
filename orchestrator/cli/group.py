"""`orch group ...`: task groups within a session."""

from __future__ import annotations

import click

from orchestrator.cli import params
from orchestrator.cli.output import (
    Styled,
    bar,
    echo,
    emit_json,
    hours,
    json_option,
    read_text_option,
    status_text,
    styled_line,
    table,
    with_guides,
)
from orchestrator.core import groups as core


@click.group()
def group() -> None:
    """Task groups: named parts of a session (backend, docs, ...), each with its progress.

    A group is named by its name (within the session) or its id.
    """


@group.command("create")
@click.argument("name")
@click.option("--session", metavar="ID", help="Session (default: the active one).")
@click.option("-d", "--description", help="Description in Markdown ('-' reads standard input).")
@click.option(
    "--focus", "specialist_focus", metavar="ROLE", help="Main specialist role of the group."
)
@click.option("--priority", type=click.IntRange(1, 5), help="1 urgent .. 5 someday (default 3).")
@click.option("--parent", metavar="GROUP", help="Nest the group inside GROUP.")
@json_option
@click.pass_obj
def create(ctx, name, session, description, specialist_focus, priority, parent, as_json) -> None:
    """Create a group named NAME."""
    row = core.create_group(
        ctx.project,
        name,
        session=session,
        description=read_text_option(description),
        specialist_focus=specialist_focus,
        priority_level=priority,
        parent=parent,
    )
    if as_json:
        emit_json(row)
    else:
        echo(
            f'Created group {row["group_id"]} "{row["group_name"]}" in session {row["session_id"]}'
        )


@group.command("list")
@click.option("--session", metavar="ID", help="Session (default: the active one).")
@click.option("--all-sessions", is_flag=True, help="Groups of every session.")
@json_option
@click.pass_obj
def list_(ctx, session, all_sessions, as_json) -> None:
    """List groups with their progress, each nested group under its parent."""
    rows = core.list_groups(ctx.project, session=session, all_sessions=all_sessions)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        echo('No groups. Create one: orch group create "Backend"')
        return
    table(
        (
            [
                r["group_id"],
                prefix + r["group_name"],
                bar(r["progress_percentage"], 12),
                f"{r['progress_percentage']:.1f}%",
                f"{r['completed_tasks']}/{r['total_tasks']}",
                r["specialist_focus"] or "",
                f"P{r['priority_level']}",
                hours(r["estimated_effort"]),
            ]
            for prefix, r in with_guides(rows, "group_level")
        ),
        headers=["ID", "NAME", "PROGRESS", "", "DONE", "FOCUS", "PRIO", "EST"],
    )


@group.command("show")
@click.argument("group_ref", metavar="GROUP", type=params.GROUP_REF)
@click.option(
    "--session", metavar="ID", help="Session to look the name up in (default: the active one)."
)
@json_option
@click.pass_obj
def show(ctx, group_ref, session, as_json) -> None:
    """Show a group and its tasks, each subtask under its parent."""
    row = core.show_group(ctx.project, group_ref, session=session)
    if as_json:
        emit_json(row)
        return
    echo(
        styled_line(
            Styled(row["group_name"], bold=True),
            f"  {row['group_id']}  session {row['session_id']}",
        )
    )
    echo(
        styled_line(
            "  ",
            bar(row["progress_percentage"]),
            f" {row['progress_percentage']:.1f}% ({row['completed_tasks']}/{row['total_tasks']}"
            f" tasks)  focus {row['specialist_focus'] or '-'}  P{row['priority_level']}"
            f"  est {hours(row['estimated_effort']) or '-'}",
        )
    )
    if row["description"]:
        echo(f"\n{row['description']}\n")
    if row["subgroups"]:
        echo("  subgroups: " + ", ".join(g["group_name"] for g in row["subgroups"]))
    table(
        (
            [
                t["task_id"],
                status_text(t["status"]),
                prefix + t["title"] + elsewhere(t),
                t["specialist_type"] or "",
                hours(t["estimated_effort"]),
            ]
            for prefix, t in with_guides(row["tasks"], "depth")
        ),
        indent=2,
    )


def elsewhere(task: dict) -> str:
    """What a group's listing says of a subtask it shows as a top: its parent is not
    above it there (it is in another group, or gone)."""
    parent = task["parent_task_id"]
    return f"  (subtask of {parent})" if parent and not task["depth"] else ""


@group.command("move")
@click.argument("task_refs", metavar="TASK...", nargs=-1, required=True, type=params.TASK_REF)
@click.option("--to", "target", metavar="GROUP", required=True, help="The group to move them into.")
@click.option(
    "--drop-dependencies",
    is_flag=True,
    help="Drop dependency links between the moved tasks and the tasks left behind"
    " (by default every dependency is kept).",
)
@json_option
@click.pass_obj
def move(ctx, task_refs, target, drop_dependencies, as_json) -> None:
    """Move tasks (with their subtasks) into another group of their session."""
    rows = core.move_tasks(
        ctx.project, task_refs, target, preserve_dependencies=not drop_dependencies
    )
    if as_json:
        emit_json(rows)
    else:
        name = rows[0]["task_group"] if rows else target
        echo(f"Moved {len(rows)} task(s) to {name}: " + ", ".join(r["task_id"] for r in rows))
