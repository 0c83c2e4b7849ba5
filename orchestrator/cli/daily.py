"""`orch next` (the task to do now, with its role) and `orch log` (what happened, from
git): the two questions of a day's work at a terminal."""

from __future__ import annotations

from typing import Any

import click

from orchestrator.cli.completion import any_refs, session_refs
from orchestrator.cli.output import (
    Styled,
    echo,
    emit_json,
    json_option,
    status_text,
    styled_line,
    table,
)


@click.command("next")
@click.option("--start", is_flag=True, help="Also mark it in progress, as `orch task start`.")
@click.option(
    "--session",
    metavar="ID",
    shell_complete=session_refs,
    help="Session (id, unique start of one, or name; default: the active one).",
)
@json_option
@click.pass_obj
def next_(ctx, start: bool, session: str | None, as_json: bool) -> None:
    """The task to do now: the most urgent ready task of the active session (pending,
    its dependencies and subtasks completed; the first of `orch task list --ready`), with
    its specialist's role, its parent and its dependencies' results: what
    orchestrator_execute_subtask gives an agent. Nothing ready: says why (all finished,
    in progress, or what waits on what) and exits 1, so that `orch next --start && ...`
    stops there."""
    from orchestrator.core.next_task import next_task

    out = next_task(ctx.project, session=session, start=start)
    if as_json:
        emit_json(out)
    elif out["task"] is None:
        show_why(out["session"], out["why"])
    else:
        show_next(out)
    if out["task"] is None:
        raise SystemExit(1)


def titled(row: dict[str, Any]) -> str:
    return f'{row["task_id"]} "{row["title"] or "(unknown task)"}"'


def show_next(out: dict[str, Any]) -> None:
    """The task, its role and what it builds on, as a person reads it."""
    task, role, session = out["task"], out["specialist"], out["session"]
    echo(styled_line(Styled(task["title"], bold=True), f"  {task['task_id']}"))
    state = "started: " if out["started"] else ""
    more = out["ready_count"] - 1
    fields = [
        ("status", styled_line(state, status_text(task["status"]))),
        ("priority", f"P{task['priority_level']}"),
        ("group", task["task_group"]),
        (
            "session",
            f'{session["session_id"]} "{session["name"]}"'
            + (f" ({more} more ready)" if more > 0 else " (no other task ready)"),
        ),
        ("specialist", f"{role['role'] or '-'} (mode {out['mode'] or '-'})"),
        ("file", task["file_path"]),
    ]
    table(([k, v] for k, v in fields if v), indent=2)
    if role.get("role_definition"):
        echo(Styled("\nRole", bold=True))
        echo(f"  {role['role_definition']}")
    for key, label in (("expertise", "Expertise"), ("approach", "Approach")):
        if role.get(key):
            echo(Styled(f"\n{label}", bold=True))
            items = role[key] if isinstance(role[key], list) else [role[key]]
            for item in items:
                echo(f"  - {item}")
    if role.get("output_format"):
        echo(Styled("\nOutput", bold=True))
        echo(f"  {role['output_format']}")
    if role.get("note"):
        echo(Styled(f"\n{role['note']}", fg="yellow"))
    if out["parent"]:
        echo(styled_line(Styled("\nParent", bold=True), f"  {titled(out['parent'])}"))
    if out["dependencies"]:
        echo(Styled("\nBuilds on", bold=True))
        for dep in out["dependencies"]:
            echo(styled_line(f"  {titled(dep)} (", status_text(dep["status"]), ")"))
            for line in (dep["results"] or "").splitlines():
                echo(f"    {line}")
    if task["description"]:
        echo(f"\n{task['description']}")
    if out["earlier_results"]:
        echo(Styled("\nEarlier results", bold=True))
        echo(out["earlier_results"])
    if not out["started"]:
        echo(f"\nStart it: orch next --start (or orch task start {task['task_id']})")
    echo(f"When done: orch task done {task['task_id']}")


def show_why(session: dict[str, Any], why: dict[str, Any]) -> None:
    """Why nothing is ready, and the command that moves each thing on."""
    sid = session["session_id"]
    name = f'session {sid} "{session["name"]}"'
    if why["session_closed"]:
        echo(f"Nothing to do: {name} is {session['status']} (orch session list)")
        return
    if not why["total"]:
        echo(f'Nothing to do: {name} has no tasks. Add one: orch task add "Write the parser"')
        return
    if not why["open"]:
        echo(
            f"Nothing to do: all {why['total']} tasks of {name} are finished. Complete it:"
            f" orch session complete {sid}, or add tasks: orch task add TITLE"
        )
        return
    echo(f"Nothing is ready in {name}; {why['open']} of {why['total']} tasks are open:")
    for row in why["in_progress"]:
        echo(styled_line(f"  {titled(row)} is ", status_text(row["status"]),
                         f": when it is done, orch task done {row['task_id']}"))  # fmt: skip
    for row in why["waiting"]:
        echo(f"  {waiting_line(row)}")


def waiting_line(row: dict[str, Any]) -> str:
    """What one open task waits for, in a line."""
    waits = []
    if row["waits_for"]:
        listed = ", ".join(
            f"{titled(d)} ({d['status'] or 'missing'})" for d in row["waits_for"][:3]
        )
        more = len(row["waits_for"]) - 3
        waits.append(f"waits for {listed}" + (f" and {more} more" if more > 0 else ""))
    if row["open_subtasks"]:
        subs = ", ".join(f"{s['task_id']} ({s['status']})" for s in row["open_subtasks"][:3])
        more = len(row["open_subtasks"]) - 3
        waits.append(f"waits for its subtasks {subs}" + (f" and {more} more" if more > 0 else ""))
    if waits:
        return f"{titled(row)} ({row['status']}) {'; '.join(waits)}"
    return (
        f"{titled(row)} is {row['status']}: take it up again with orch task start {row['task_id']}"
    )


@click.command("log")
@click.argument("record_ref", metavar="[ID]", required=False, shell_complete=any_refs)
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    help="At most this many commits, newest first.",
)
@json_option
@click.pass_obj
def log(ctx, record_ref: str | None, limit: int, as_json: bool) -> None:
    """The history of a task, group or session (ID: an id or any unique start of one, a
    session or group name) from git: when, who, what changed (the commit's subject) and
    the short commit id, newest first; orch's commits name the records in their
    trailers, and a person's own commits of the record's file count too. Without ID: the
    project's latest commits of its records, every session (`orch log SESSION` for one)."""
    from orchestrator.core import history

    found = (
        history.history(ctx.project, record_ref, limit=limit)
        if record_ref
        else history.recent(ctx.project, limit=limit)
    )
    if as_json:
        emit_json(found)
        return
    if found["id"]:
        echo(styled_line(Styled(f'{found["kind"]} {found["id"]} "{found["title"]}"', bold=True),
                         f"  {found['file_path']}"))  # fmt: skip
    else:
        echo(Styled(f"Latest commits of {found['file_path']}/ (every session)", bold=True))
    if not found["commits"]:
        echo("  no commits yet")
        return
    table(
        (
            [c["short"], c["date"][:16].replace("T", " "), c["author"], c["subject"]]
            for c in found["commits"]
        ),
        indent=2,
    )
    if found["more"]:
        again = f"orch log {found['id']}" if found["id"] else "orch log"
        echo(f"  ... older commits left out: {again} --limit {limit * 2}")
