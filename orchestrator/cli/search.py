"""`orch search` and `orch cleanup`."""

from __future__ import annotations

import click

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
@click.option("--status", "statuses", multiple=True, help="Only tasks with this status (repeat).")
@click.option("--group", help="Only tasks of this group (name or id).")
@click.option("--specialist", help="Only tasks of this specialist type.")
@click.option("-n", "--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@json_option
@click.pass_obj
def search(ctx, query, scope, content_types, statuses, group, specialist, limit, as_json) -> None:
    """Search tasks (title, description, results) and session notes for every word of
    QUERY (each also as a prefix: "pars" finds "parser"); best matches first."""
    from orchestrator.core.search import search as core_search

    found = core_search(ctx.project, query, scope=scope, content_types=content_types or ("all",),
                        status=statuses, group=group, specialist_type=specialist, limit=limit)  # fmt: skip
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
@json_option
@click.pass_obj
def cleanup(ctx, scope, apply_, as_json) -> None:
    """Find what points nowhere: tasks whose parent or group is gone, dependencies on
    deleted tasks, empty groups, artifacts of deleted tasks, index sync states and rows
    of files that are gone. A dry run unless --apply."""
    from orchestrator.core.cleanup import cleanup as core_cleanup

    result = core_cleanup(ctx.project, scope, apply=apply_)
    if as_json:
        emit_json(result)
        return
    findings = result["findings"]
    if not findings:
        echo("Nothing to clean up.")
        return
    verb = "Fixed" if apply_ else "Would fix"
    echo(f"{verb} {len(findings)} item(s):")
    table([(f["kind"], f.get("task_id") or f.get("group_id") or f.get("path") or "",
            f["problem"], f"→ {f['action']}") for f in findings], indent=2)  # fmt: skip
    if not apply_:
        echo("Run again with --apply to do it (one commit).")
