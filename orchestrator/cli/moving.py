"""`orch export` and `orch import`: sessions out to other formats, work in from other tools."""

from __future__ import annotations

import os
import sys

import click

from orchestrator.cli import params
from orchestrator.cli.output import Styled, echo, emit_json, json_option


@click.command()
@click.argument("session_ref", metavar="[SESSION]", required=False, type=params.SESSION_REF)
@click.option("--format", "export_format", type=click.Choice(("markdown", "json", "zip", "parquet")),
              default="json", show_default=True)  # fmt: skip
@click.option("-o", "--output", metavar="PATH",
              help="Where to write it: any new path, or - for standard output (default: a new"
              " file in .task_orchestrator/exports/; parquet writes a folder of files).")  # fmt: skip
@click.option("--all", "all_sessions", is_flag=True, help="Every session, not one.")
@json_option
@click.pass_obj
def export(ctx, session_ref, export_format, output, all_sessions, as_json) -> None:
    """Export SESSION (default: the active one) as one Markdown document, JSON
    (schema/export.schema.json), a zip of its files (`orch import zip` brings it back)
    or Parquet tables (sessions, task_groups, tasks, task_dependencies) for analysis."""
    from orchestrator.core.export import export as core_export
    from orchestrator.core.export import export_data

    if output == "-":
        if as_json:
            raise click.UsageError("-o - writes the export to standard output: leave out --json")
        if export_format == "parquet":
            raise click.BadParameter(
                "a Parquet export is a folder of files: give a folder", param_hint="-o"
            )
        _ids, data = export_data(ctx.project, session_ref, export_format, all_sessions)
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    # A path a person types is theirs to choose, taken from where they typed it.
    where = os.path.abspath(os.path.expanduser(output)) if output else None
    result = core_export(
        ctx.project, session_ref, export_format, where, all_sessions, confined=False
    )
    if as_json:
        emit_json(result)
        return
    counts = ", ".join(f"{v} {k}" for k, v in result["counts"].items())
    echo(f"Exported {len(result['sessions'])} session(s) to {result['path']} ({counts})")


@click.group("import")
def import_() -> None:
    """Bring work in from Backlog.md, Task Master, the legacy MCP Task Orchestrator, or an
    orch zip export. One commit each; running it again adds only what is new."""


def _report(result: dict, as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    echo(
        f"Imported from {result['source']}: {result['sessions_created']} session(s),"
        f" {result['groups_created']} group(s), {result['tasks_created']} task(s) created;"
        f" {result['tasks_existing']} task(s) were already here."
    )
    for note in result["unmapped"]:
        echo(Styled(f"  not mapped: {note}", fg="yellow"), err=True)


def _run(ctx, kind: str, sources: list, as_json: bool) -> None:
    from orchestrator.core.imports import import_plans

    total = sum(len(s.items) for s in sources)
    if total > 200 and not as_json:
        with click.progressbar(length=total, label="Importing", file=sys.stderr) as bar:
            last = [0]

            def progress(done: int, _total: int) -> None:
                bar.update(done - last[0])
                last[0] = done

            result = import_plans(ctx.project, kind, sources, progress)
    else:
        result = import_plans(ctx.project, kind, sources)
    _report(result, as_json)


@import_.command("backlog")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--labels-as-groups", is_flag=True,
              help="Put each task in a group named after its first label.")  # fmt: skip
@json_option
@click.pass_obj
def backlog(ctx, directory, labels_as_groups, as_json) -> None:
    """A Backlog.md project (the folder holding backlog/): its tasks and completed tasks
    become a session; statuses, priorities, dependencies and subtasks are kept."""
    from orchestrator.core.imports import read_backlog

    _run(ctx, "backlog", read_backlog(directory, labels_as_groups, ctx.project.root), as_json)


@import_.command("taskmaster")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@json_option
@click.pass_obj
def taskmaster(ctx, file, as_json) -> None:
    """A Task Master tasks.json: each tag a session; subtasks (5.2), dependencies,
    priority, details and test strategy kept."""
    from orchestrator.core.imports import read_taskmaster

    _run(ctx, "taskmaster", read_taskmaster(file, ctx.project.root), as_json)


@import_.command("legacy")
@click.argument("database", type=click.Path(exists=True, dir_okay=False))
@json_option
@click.pass_obj
def legacy(ctx, database, as_json) -> None:
    """The legacy MCP Task Orchestrator's SQLite database: each task breakdown a parent
    task with its subtasks, in a session "Legacy"."""
    from orchestrator.core.imports import read_legacy

    _run(ctx, "legacy", read_legacy(database, ctx.project.root), as_json)


@import_.command("zip")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@json_option
@click.pass_obj
def zip_(ctx, file, as_json) -> None:
    """An orch zip export or archive: its sessions' files back as they were."""
    from orchestrator.core.imports import import_zip

    result = import_zip(ctx.project, file)
    if as_json:
        emit_json(result)
        return
    echo(
        f"Imported {len(result['sessions'])} session(s) from {file}: {result['files_written']}"
        f" file(s) written; {result['sessions_existing']} session(s) were already here"
        f" ({result['files_existing']} of their files, left as they are)."
    )
