"""`orch task ...`: add, list, show, update, start, done, move."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import click

from orchestrator.cli import params
from orchestrator.cli.completion import group_refs, session_refs, task_refs
from orchestrator.cli.output import (
    Styled,
    echo,
    emit_json,
    emit_json_stream,
    emit_json_text,
    hours,
    json_option,
    read_text_option,
    status_text,
    styled_line,
    table,
    tree_order,
    warn,
)
from orchestrator.core import tasks as core
from orchestrator.core.inputs import split_ids
from orchestrator.core.task_fields import ACCEPTANCE, DUE_FORMATS, due_of
from orchestrator.model import allowed_values
from orchestrator.store.sections import without

# Efforts and choices are checked as they are parsed (cli/params.py) and passed through
# as typed; the core reads them with the same rules (core/inputs.py).
EFFORT_HELP = "in hours: 3, 2.5, 3h, 90m, 1.5h or 2d (stored as whole hours, halves up)."
DUE = params.Checked("date", due_of)


def shown(row: dict, verb: str, as_json: bool) -> None:
    if as_json:
        emit_json(row)
    else:
        echo(
            styled_line(
                f'{verb} {row["task_id"]} "{row["title"]}" (', status_text(row["status"]), ")"
            )
        )


@click.group()
def task() -> None:
    """Tasks: the units of work, in a session, optionally in a group, with subtasks
    (--parent) and dependencies (--depends-on)."""


@task.command("add")
@click.argument("title")
@click.option(
    "--session",
    metavar="ID",
    shell_complete=session_refs,
    help="Session (default: the parent's, or the active one).",
)
@click.option(
    "--group",
    metavar="GROUP",
    shell_complete=group_refs,
    help="Group name or id (default: the parent's group).",
)
@click.option(
    "--parent", metavar="TASK", shell_complete=task_refs, help="Make it a subtask of TASK."
)
@click.option("-d", "--description", help="Description in Markdown ('-' reads standard input).")
@click.option("--specialist", metavar="ROLE", help="Specialist role: architect, implementer, ...")
@click.option("--complexity", type=click.Choice(allowed_values("task", "complexity_level")))
@click.option("--priority", type=click.IntRange(1, 5), help="1 urgent .. 5 someday (default 3).")
@click.option(
    "--estimate", type=params.HOURS, metavar="HOURS", help=f"Estimated effort {EFFORT_HELP}"
)
@click.option(
    "--depends-on",
    "depends_on",
    metavar="TASK",
    shell_complete=task_refs,
    multiple=True,
    help="A task this one waits for (repeat, or separate with commas).",
)
@click.option(
    "--status", type=params.choice("task", "status"), help="Initial status (default pending)."
)
@click.option("--label", "labels", metavar="LABEL", multiple=True,
              help="A label (repeat, or separate with commas): bug, ui, docs ...")  # fmt: skip
@click.option("--assignee", metavar="NAME", help="Who does it.")
@click.option("--due", type=DUE, metavar="DATE", help=f"Due date: {DUE_FORMATS}.")
@click.option("--acceptance", metavar="TEXT", multiple=True,
              help="An acceptance criterion (repeat): a checklist in the task's text.")  # fmt: skip
@json_option
@click.pass_obj
def add(
    ctx,
    title,
    session,
    group,
    parent,
    description,
    specialist,
    complexity,
    priority,
    estimate,
    depends_on,
    status,
    labels,
    assignee,
    due,
    acceptance,
    as_json,
) -> None:
    """Add a task titled TITLE."""
    row = core.add_task(
        ctx.project,
        title,
        session=session,
        group=group,
        parent=parent,
        description=read_text_option(description),
        specialist_type=specialist,
        complexity_level=complexity,
        priority_level=priority,
        estimated_effort=estimate,
        depends_on=split_ids(depends_on),
        status=status,
        labels=labels,
        assignee=assignee,
        due=due,
        acceptance=acceptance,
    )
    shown(row, "Added", as_json)


@task.command("list")
@click.option(
    "--session",
    metavar="ID",
    shell_complete=session_refs,
    help="Session (default: the active one).",
)
@click.option("--all-sessions", is_flag=True, help="Tasks of every session.")
@click.option(
    "--group", metavar="GROUP", shell_complete=group_refs, help="Only tasks of this group."
)
@click.option("--status", type=params.choices("task", "status"), multiple=True,
              help="Only tasks in this status (repeat, or separate with commas).")  # fmt: skip
@click.option("--specialist", metavar="ROLE", help="Only tasks for this specialist.")
@click.option("--complexity", type=params.choice("task", "complexity_level"),
              help="Only tasks of this complexity.")  # fmt: skip
@click.option(
    "--parent", metavar="TASK", shell_complete=task_refs, help="Only the subtasks of TASK."
)
@click.option(
    "--ready",
    is_flag=True,
    help="Only pending tasks whose dependencies and subtasks are all completed, urgent first.",
)
@click.option("--label", "labels", metavar="LABEL", multiple=True,
              help="Only tasks with this label (repeat, or separate with commas: all of them).")  # fmt: skip
@click.option("--assignee", metavar="NAME", help="Only tasks assigned to NAME.")
@click.option("--overdue", is_flag=True, help="Only unfinished tasks due before today.")
@click.option("--limit", type=click.IntRange(1), help="At most this many tasks.")
@json_option
@click.option("--jsonl", "as_lines", is_flag=True,
              help="Print one JSON object a line (JSON Lines), as the tasks are found.")  # fmt: skip
@click.pass_obj
def list_(
    ctx, session, all_sessions, group, status, specialist, complexity, parent, ready, labels,
    assignee, overdue, limit, as_json, as_lines,
) -> None:  # fmt: skip
    """List tasks (of the active session unless told otherwise). Piped, --json and
    --jsonl write each task as it is found; on a terminal, a long list opens in a pager."""
    filters = dict(session=session, all_sessions=all_sessions, group=group,
                   status=split_ids(status), specialist_type=specialist, complexity_level=complexity,
                   parent=parent, ready=ready, limit=limit, labels=labels, assignee=assignee,
                   overdue=overdue)  # fmt: skip
    if as_lines or (as_json and not sys.stdout.isatty()):
        streamed = [0]
        emit_json_stream(counted(core.list_tasks_streamed(ctx.project, **filters), streamed),
                         lines=as_lines)  # fmt: skip
        say_more(ctx, filters, streamed[0])
        return
    if as_json:
        emit_json_text(core.list_tasks_json(ctx.project, **filters))
        say_more(ctx, filters, limit or 0)
        return
    rows = core.list_tasks(ctx.project, **filters)
    if not rows:
        echo(
            "No tasks match."
            if (
                status
                or group
                or ready
                or parent
                or specialist
                or complexity
                or labels
                or assignee
                or overdue
            )
            else 'No tasks. Add one: orch task add "Write the parser"'
        )
        return
    ordered = [(0, r) for r in rows] if ready else tree_order(rows)
    listed = {r["task_id"] for r in rows}
    looped = [r["task_id"] for d, r in ordered if d == 0 and r["parent_task_id"] in listed]
    if looped:
        warn(
            f"{', '.join(looped)}: the parents (parent_task_id) make a loop; listed at the top"
            " level with its subtasks (`orch doctor` says how to fix it)"
        )
    names = {}
    if all_sessions:
        from orchestrator.core.queries import session_names  # only then (start-up speed)

        names = session_names(ctx.project)
    extra = field_columns(rows)
    headers = ["ID", "STATUS", "PRIO", "TITLE", "GROUP", "SPECIALIST", "EST"]
    if all_sessions:
        headers.insert(4, "SESSION")
    headers += [header for header, _ in extra]
    table(
        (
            [
                r["task_id"],
                status_text(r["status"]),
                f"P{r['priority_level']}",
                "  " * depth + r["title"],
                *([names.get(r["session_id"], r["session_id"])] if all_sessions else []),
                r["task_group"] or "",
                r["specialist_type"] or "",
                hours(r["estimated_effort"]),
                *(show(r) for _, show in extra),
            ]
            for depth, r in ordered
        ),
        headers=headers,
        page=True,
    )
    say_more(ctx, filters, len(rows))


def counted(items: Iterator[str], count: list[int]) -> Iterator[str]:
    """`items` passed on as they come, counted in count[0]."""
    for item in items:
        count[0] += 1
        yield item


def say_more(ctx, filters: dict, listed: int) -> None:
    """Under a list cut by --limit, on standard error (standard output stays the list,
    valid JSON with --json): how many tasks it left out."""
    limit = filters["limit"]
    if limit and listed >= limit:
        from orchestrator.core.queries import tasks_beyond  # only then (start-up speed)

        more = tasks_beyond(ctx.project, **filters)
        if more:
            echo(f"… {more} more (raise --limit to list them)", err=True)


# Columns a listing shows only when some task has them: header, cell.
FIELD_COLUMNS = (
    ("labels", "LABELS", lambda r: ",".join(r["labels"] or [])),
    ("assignee", "ASSIGNEE", lambda r: r["assignee"] or ""),
    ("due", "DUE", lambda r: r["due"] or ""),
)


def field_columns(rows: list[dict]) -> list[tuple[str, Callable[[dict], str]]]:
    """The optional columns (labels, assignee, due) some row of `rows` has a value in."""
    return [(head, cell) for key, head, cell in FIELD_COLUMNS if any(r[key] for r in rows)]


@task.command("show")
@click.argument("task_ref", metavar="TASK", type=params.TASK_REF)
@json_option
@click.pass_obj
def show(ctx, task_ref, as_json) -> None:
    """Show a task with its dependencies, subtasks and description."""
    row = core.show_task(ctx.project, task_ref)
    if as_json:
        emit_json(row)
        return
    echo(styled_line(Styled(row["title"], bold=True), f"  {row['task_id']}"))
    effort = f"estimated {hours(row['estimated_effort']) or '-'}, actual {hours(row['actual_effort']) or '-'}"
    fields = [
        ("status", status_text(row["status"])),
        ("progress", f"{row['progress_percentage']:.1f}%"),
        ("session", row["session_id"]),
        ("group", f"{row['task_group']} ({row['group_id']})" if row["group_id"] else None),
        ("parent", row["parent_task_id"]),
        ("specialist", row["specialist_type"]),
        ("complexity", row["complexity_level"]),
        ("priority", f"P{row['priority_level']}"),
        ("labels", ", ".join(row["labels"] or [])),
        ("assignee", row["assignee"]),
        ("due", row["due"]),
        (
            "acceptance",
            "{done}/{total}".format(**row["acceptance"]) if row["acceptance"]["total"] else None,
        ),
        ("effort", effort),
        ("created", row["created_at"]),
        ("started", row["started_at"]),
        ("completed", row["completed_at"]),
        ("updated", row["last_updated_at"]),
        ("file", row["file_path"]),
    ]
    table(([k, v if isinstance(v, str) else str(v)] for k, v in fields if v), indent=2)
    for label, items in (
        ("Depends on", row["dependencies"]),
        ("Blocks", row["blocked_tasks"]),
        ("Subtasks", row["subtasks"]),
    ):
        if items:
            echo(Styled(f"\n{label}", bold=True))
            table(
                (
                    [t["task_id"], status_text(t["status"]), t["title"] or "(unknown task)"]
                    for t in items
                ),
                indent=2,
            )
    if row["acceptance"]["total"]:
        echo(Styled("\nAcceptance criteria", bold=True))
        for item in row["acceptance"]["items"]:
            echo(f"  [{'x' if item['done'] else ' '}] {item['text']}")
    for p in row["problems"]:
        echo(
            Styled(
                f"\n{p['path']}:{p['line'] or ''}: {p['message']} — {p['fix']}",
                fg="red" if p["severity"] == "error" else "yellow",
            )
        )
    # The criteria are listed above; the rest of the text follows.
    text = (
        without(row["description"], [ACCEPTANCE])
        if row["acceptance"]["total"]
        else row["description"]
    )
    if text:
        echo(f"\n{text}")


@task.command("update")
@click.argument("task_ref", metavar="TASK", type=params.TASK_REF)
@click.option("--title")
@click.option("--status", type=params.choice("task", "status"),
              help=", ".join(allowed_values("task", "status")))  # fmt: skip
@click.option("-d", "--description", help="New description ('-' reads standard input).")
@click.option("--specialist", metavar="ROLE", help="Specialist role ('' clears it).")
@click.option("--complexity", type=click.Choice(allowed_values("task", "complexity_level")))
@click.option("--priority", type=click.IntRange(1, 5))
@click.option(
    "--estimate", type=params.HOURS, metavar="HOURS", help=f"Estimated effort {EFFORT_HELP}"
)
@click.option("--actual", type=params.HOURS, metavar="HOURS", help=f"Actual effort {EFFORT_HELP}")
@click.option(
    "--depends-on",
    "depends_on",
    metavar="TASK",
    shell_complete=task_refs,
    multiple=True,
    help="Replace the dependencies with these (repeat or comma-separate).",
)
@click.option("--no-dependencies", is_flag=True, help="Remove every dependency.")
@click.option(
    "--add-dep", metavar="TASK", shell_complete=task_refs, multiple=True, help="Add a dependency."
)
@click.option(
    "--remove-dep",
    metavar="TASK",
    shell_complete=task_refs,
    multiple=True,
    help="Remove a dependency.",
)
@click.option("--label", "labels", metavar="LABEL", multiple=True,
              help="Replace the labels with these (repeat or comma-separate).")  # fmt: skip
@click.option("--no-labels", is_flag=True, help="Remove every label.")
@click.option("--add-label", metavar="LABEL", multiple=True, help="Add a label.")
@click.option("--remove-label", metavar="LABEL", multiple=True, help="Remove a label.")
@click.option("--assignee", metavar="NAME", help="Who does it ('' clears it).")
@click.option("--due", type=DUE, metavar="DATE", help=f"Due date: {DUE_FORMATS} ('' clears it).")
@click.option(
    "--force",
    is_flag=True,
    help="Set the status even if subtasks or dependencies are unfinished.",
)
@json_option
@click.pass_obj
def update(
    ctx,
    task_ref,
    title,
    status,
    description,
    specialist,
    complexity,
    priority,
    estimate,
    actual,
    depends_on,
    no_dependencies,
    add_dep,
    remove_dep,
    labels,
    no_labels,
    add_label,
    remove_label,
    assignee,
    due,
    force,
    as_json,
) -> None:
    """Change a task's fields. Completing a task whose subtasks or dependencies are
    unfinished, or starting one whose dependencies are, needs --force."""
    deps = [] if no_dependencies else (split_ids(depends_on) if depends_on else None)
    if no_labels and labels:
        raise click.UsageError("--label and --no-labels ask for opposite things: give one")
    row = core.update_task(
        ctx.project,
        task_ref,
        title=title,
        status=status,
        description=read_text_option(description),
        specialist_type=specialist,
        complexity_level=complexity,
        priority_level=priority,
        estimated_effort=estimate,
        actual_effort=actual,
        depends_on=deps,
        add_dependencies=split_ids(add_dep),
        remove_dependencies=split_ids(remove_dep),
        force=force,
        labels=[] if no_labels else (labels or None),
        add_labels=add_label,
        remove_labels=remove_label,
        assignee=assignee,
        due=due,
    )
    shown(row, "Updated" if row["changed"] else "Nothing to change in", as_json)


@task.command("start")
@click.argument("task_ref", metavar="TASK", type=params.TASK_REF)
@click.option("--force", is_flag=True, help="Start even if dependencies are unfinished.")
@json_option
@click.pass_obj
def start(ctx, task_ref, force, as_json) -> None:
    """Mark a task in progress."""
    shown(core.start_task(ctx.project, task_ref, force=force), "Started", as_json)


@task.command("done")
@click.argument("task_ref", metavar="TASK", type=params.TASK_REF)
@click.option("--actual", type=params.HOURS, metavar="HOURS", help=f"Actual effort {EFFORT_HELP}")
@click.option(
    "--force", is_flag=True, help="Complete even if subtasks or dependencies are unfinished."
)
@json_option
@click.pass_obj
def done(ctx, task_ref, actual, force, as_json) -> None:
    """Mark a task completed (refused while its subtasks or dependencies are unfinished,
    unless --force)."""
    shown(
        core.done_task(ctx.project, task_ref, actual_effort=actual, force=force),
        "Completed",
        as_json,
    )


@task.command("move")
@click.argument("task_ref", metavar="TASK", type=params.TASK_REF)
@click.option(
    "--group",
    metavar="GROUP",
    shell_complete=group_refs,
    help="Move it (and its subtasks in the same group) to GROUP.",
)
@click.option("--no-group", "ungroup", is_flag=True, help="Take it out of its group.")
@click.option(
    "--parent", metavar="TASK", shell_complete=task_refs, help="Make it a subtask of TASK."
)
@click.option("--no-parent", is_flag=True, help="Make it a top-level task.")
@json_option
@click.pass_obj
def move(ctx, task_ref, group, ungroup, parent, no_parent, as_json) -> None:
    """Move a task to another group and/or parent (dependencies are kept)."""
    row = core.move_task(
        ctx.project, task_ref, group=group, ungroup=ungroup, parent=parent, no_parent=no_parent
    )
    shown(row, "Moved", as_json)


@task.command("cancel")
@click.argument("task_ref", metavar="TASK", type=params.TASK_REF)
@click.option("--reason", metavar="TEXT", help="Why: written under Notes in its file.")
@json_option
@click.pass_obj
def cancel(ctx, task_ref, reason, as_json) -> None:
    """Cancel a task: its parent no longer waits for it (tasks that depend on it still
    do). The reason, if given, goes under Notes in its file."""
    shown(core.cancel_task(ctx.project, task_ref, reason=reason), "Cancelled", as_json)


@task.command("delete")
@click.argument("task_ref", metavar="TASK", type=params.TASK_REF)
@click.option("--cascade", is_flag=True, help="Delete its subtasks with it.")
@json_option
@click.pass_obj
def delete(ctx, task_ref, cascade, as_json) -> None:
    """Delete a task's file and its artifacts; tasks that depended on it no longer do.
    Refused while it has subtasks, unless --cascade."""
    out = core.delete_task(ctx.project, task_ref, cascade=cascade)
    if as_json:
        emit_json(out)
        return
    echo(f"Deleted {', '.join(out['deleted'])}.")


@task.command("edit")
@click.argument("task_ref", metavar="TASK", type=params.TASK_REF)
@click.pass_obj
def edit(ctx, task_ref) -> None:
    """Open a task's file in your editor ($VISUAL, else $EDITOR, else vi or another
    editor found). When it closes the file is checked as the index checks it: a problem
    is shown as `path:line: problem` and you are asked to edit again; answering no leaves
    the file as you saved it (not committed until fixed) and exits 1. A good file is
    indexed and committed as one commit; an unchanged one makes none."""
    from orchestrator.core import editing

    project = ctx.project
    target = editing.start_edit(project, task_ref)
    while True:
        try:
            click.edit(filename=str(target.path))
        except click.ClickException as e:
            raise click.ClickException(
                f"{e.message}; {target.file_path} is left as the editor left it"
                " (the next orch command indexes and commits it, or reports its problems)"
            ) from None
        problems = editing.problems(project, target)
        if not problems:
            break
        for problem in problems:
            echo(Styled(str(problem), fg="red"), err=True)
        try:
            again = click.confirm("Edit again?", default=True, err=True)
        except click.Abort:  # no answer (end of input): as a no, the file is kept
            again = False
        if not again:
            raise click.ClickException(
                f"{target.file_path} is left as you saved it, with the problem(s) above: it is"
                f" not committed until fixed (`orch task edit {target.task_id}` again, or any"
                " editor; `orch doctor` lists it meanwhile)"
            )
    out = editing.finish_edit(project, target)
    if not out["changed"]:
        echo(f"{out['task_id']}: no change")
    elif out["commits"]:
        commits = ", ".join(c[:9] for c in out["commits"])
        echo(f'Edited {out["task_id"]} "{out["title"]}": committed {commits}')
    else:
        echo(f'Edited {out["task_id"]} "{out["title"]}": indexed (commit: {out["commit_mode"]})')
