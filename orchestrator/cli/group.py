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
@click.argument("refs", metavar="TASK...|GROUP", nargs=-1, required=True)
@click.option("--to", "target", metavar="GROUP", help="Move the TASKs into GROUP.")
@click.option("--parent", metavar="GROUP",
              help="Nest GROUP inside this group ('' for the top level).")  # fmt: skip
@click.option("--top", is_flag=True, help="Make GROUP a top-level group.")
@click.option(
    "--drop-dependencies",
    is_flag=True,
    help="With --to: drop dependency links between the moved tasks and the tasks left"
    " behind (by default every dependency is kept).",
)
@json_option
@click.pass_obj
def move(ctx, refs, target, parent, top, drop_dependencies, as_json) -> None:
    """Move tasks (with their subtasks) into another group of their session, or nest a
    group under another one (or at the top level):

    \b
      orch group move t-1a2b t-3c4d --to Backend
      orch group move API --parent Backend
      orch group move API --top"""
    nesting = parent is not None or top
    if (target is None) == (not nesting):
        raise click.UsageError(
            "say what to move: `orch group move TASK... --to GROUP` moves tasks,"
            " `orch group move GROUP --parent GROUP` (or --top) nests a group"
        )
    if not nesting:
        task_refs = [params.TASK_REF.convert(r, None, click.get_current_context()) for r in refs]
        rows = core.move_tasks(
            ctx.project, task_refs, target, preserve_dependencies=not drop_dependencies
        )
        if as_json:
            emit_json(rows)
        else:
            name = rows[0]["task_group"] if rows else target
            echo(f"Moved {len(rows)} task(s) to {name}: " + ", ".join(r["task_id"] for r in rows))
        return
    if top and parent:
        raise click.UsageError("give --parent GROUP or --top, not both")
    if len(refs) != 1 or drop_dependencies:
        raise click.UsageError(
            "nest one group at a time: `orch group move GROUP --parent GROUP` (or --top)"
        )
    ref = params.GROUP_REF.convert(refs[0], None, click.get_current_context())
    row = core.nest_group(ctx.project, ref, parent or None)
    if as_json:
        emit_json(row)
    elif row["parent_group_id"]:
        echo(f'Moved group {row["group_id"]} "{row["group_name"]}" under {row["parent_group_id"]}')
    else:
        echo(f'Moved group {row["group_id"]} "{row["group_name"]}" to the top level')


@group.command("rename")
@click.argument("group_ref", metavar="GROUP", type=params.GROUP_REF)
@click.argument("name")
@click.option(
    "--session", metavar="ID", help="Session to look the name up in (default: the active one)."
)
@json_option
@click.pass_obj
def rename(ctx, group_ref, name, session, as_json) -> None:
    """Rename GROUP to NAME (its id and file stay; session.md shows the new name)."""
    row = core.rename_group(ctx.project, group_ref, name, session=session)
    if as_json:
        emit_json(row)
    else:
        echo(f'Renamed group {row["group_id"]} to "{row["group_name"]}"')


@group.command("delete")
@click.argument("group_ref", metavar="GROUP", type=params.GROUP_REF)
@click.option("--move-tasks-to", metavar="GROUP",
              help="Move its tasks (with their subtasks) to GROUP first.")  # fmt: skip
@click.option(
    "--session", metavar="ID", help="Session to look the name up in (default: the active one)."
)
@json_option
@click.pass_obj
def delete(ctx, group_ref, move_tasks_to, session, as_json) -> None:
    """Delete GROUP, in one commit. A group holding tasks is refused unless
    --move-tasks-to names where they go. Groups nested in it move up to its parent."""
    out = core.delete_group(ctx.project, group_ref, move_tasks_to=move_tasks_to, session=session)
    if as_json:
        emit_json(out)
        return
    echo(f'Deleted group {out["group_id"]} "{out["group_name"]}".')
    if out["tasks_moved"]:
        echo(
            f"Moved {len(out['tasks_moved'])} task(s) to {out['moved_to_name']} ({out['moved_to']})."
        )
    if out["groups_moved"]:
        where = out["parent_group_id"] or "the top level"
        echo(f"Moved {len(out['groups_moved'])} nested group(s) up to {where}: "
             + ", ".join(out["groups_moved"]))  # fmt: skip
