"""`orch search` and `orch cleanup`."""

from __future__ import annotations

import click

from orchestrator.cli import params
from orchestrator.cli.output import Styled, echo, emit_json, json_option, status_text, table
from orchestrator.core.search import CONTENT_TYPES, MARK, SCOPES


def highlighted(snippet: str) -> Styled | str:
    """A snippet with the words found in bold (they come marked **like this**)."""
    parts = snippet.split(MARK[0])
    if len(parts) < 3:
        return snippet.replace(MARK[0], "")
    return Styled([(part, {"bold": True, "fg": "yellow"} if n % 2 else {})
                   for n, part in enumerate(parts) if part])  # fmt: skip


@click.command()
@click.argument("query")
@click.option("--scope", type=click.Choice(SCOPES), default="active", show_default=True,
              help="The active session, every session, or the archived ones.")  # fmt: skip
@click.option("--type", "content_types", type=click.Choice(CONTENT_TYPES), multiple=True,
              help="What to search: tasks, notes (all session notes), decisions, learnings,"
              " all (the default). Repeat for several.")  # fmt: skip
@click.option("--status", "statuses", type=params.choice("task", "status"), multiple=True,
              help="Only tasks with this status (repeat).")  # fmt: skip
@click.option("--group", help="Only tasks of this group (name or id).")
@click.option("--specialist", help="Only tasks of this specialist type.")
@click.option("--label", "labels", metavar="LABEL", multiple=True,
              help="Only tasks with this label (repeat, or separate with commas: all of them).")  # fmt: skip
@click.option("--assignee", metavar="NAME", help="Only tasks assigned to NAME.")
@click.option("-n", "--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@json_option
@click.pass_obj
def search(ctx, query, scope, content_types, statuses, group, specialist, labels, assignee, limit,
           as_json) -> None:  # fmt: skip
    """Search tasks (title, description, results) and session notes for every word of
    QUERY (each also as a prefix: "pars" finds "parser"); best matches first."""
    from orchestrator.core.search import search as core_search

    found = core_search(ctx.project, query, scope=scope, content_types=content_types or ("all",),
                        status=statuses, group=group, specialist_type=specialist, labels=labels,
                        assignee=assignee, limit=limit)  # fmt: skip
    if as_json:
        emit_json(found)
        return
    tasks, notes = found.get("tasks"), found.get("notes")
    if tasks is not None:
        shown = len(tasks)
        more = f" (the best {shown} shown)" if found["task_total"] > shown else ""
        echo(f"{found['task_total']} task(s) match{more}:")
        table([(t["task_id"], status_text(t["status"]), t["title"], highlighted(t["snippet"]))
               for t in tasks], indent=2)  # fmt: skip
    if notes is not None:
        echo(f"{len(notes)} note(s) match:")
        table([(n["kind"], n["session"], highlighted(n["snippet"])) for n in notes], indent=2)


@click.command()
@click.option("--scope", type=click.Choice(("active_session", "all_sessions")),
              default="active_session", show_default=True)  # fmt: skip
@click.option("--apply", "apply_", is_flag=True,
              help="Do it (in one commit); without it, only say what would be done.")  # fmt: skip
@click.option("--empty-groups", is_flag=True,
              help="With --apply, also delete the groups that have no tasks (they are only"
              " reported otherwise: a group is often made before its tasks).")  # fmt: skip
@json_option
@click.pass_obj
def cleanup(ctx, scope, apply_, empty_groups, as_json) -> None:
    """Find what points nowhere: tasks whose parent or group is not in their session,
    dependencies on tasks that are not, empty groups, artifacts of deleted tasks, index
    sync states and rows of files that are gone (what `orch doctor` reports of them). A
    dry run unless --apply; empty groups are deleted only with --empty-groups."""
    from orchestrator.core.cleanup import cleanup as core_cleanup

    result = core_cleanup(ctx.project, scope, apply=apply_, empty_groups=empty_groups)
    if as_json:
        emit_json(result)
        return
    findings = result["findings"]
    if not findings:
        echo("Nothing to clean up.")
        return
    kept: list[dict] = []  # fixed only when asked, and not asked
    todo: list[dict] = []
    for f in findings:
        (kept if f["on_request"] and not (apply_ and f["applied"]) else todo).append(f)
    if todo:
        echo(f"{'Fixed' if apply_ else 'Would fix'} {len(todo)} item(s):")
        table([(f["kind"], f.get("task_id") or f.get("group_id") or f.get("path") or "",
                f["problem"], f"→ {f['action']}") for f in todo], indent=2)  # fmt: skip
    if kept:
        echo(f"{len(kept)} empty group(s), deleted only with --apply --empty-groups:")
        table([(f["group_id"], f["problem"]) for f in kept], indent=2)
    if not apply_ and todo:
        echo("Run again with --apply to do it (one commit).")
