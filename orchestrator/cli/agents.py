"""`orch agents`: the orch section of AGENTS.md, CLAUDE.md and the like, for AI agents."""

from __future__ import annotations

import click

from orchestrator.cli.output import echo, emit_json, json_option
from orchestrator.core.agents import FILES

NOT_COMMITTED = "Not committed: these files are yours; commit them with your own changes."
# What each action of core.agents.update_files is said as.
SAID = {
    "created": "created",
    "added": "section added at the end",
    "updated": "section updated",
    "unchanged": "unchanged (not rewritten)",
    "removed": "section removed",
    "deleted": "section removed; nothing else was in it: file deleted",
    "absent": "no section to remove",
}
WRITTEN = {"created", "added", "updated", "removed", "deleted"}


@click.command()
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Choice(FILES),
    help="Write this file (repeat for several), at the project root. Default: AGENTS.md,"
    " CLAUDE.md if it exists, and any other of these that already holds the section.",
)
@click.option("--print", "print_only", is_flag=True, help="Print the section; write nothing.")
@click.option("--remove", is_flag=True, help="Take the section out again (default: of every file"
              " that holds it).")  # fmt: skip
@json_option
@click.pass_context
def agents(ctx: click.Context, files, print_only: bool, remove: bool, as_json: bool) -> None:
    """Write how to use orch here (the MCP workflow, the commands, the rules) into
    AGENTS.md, and CLAUDE.md if there is one, for the AI agents that read them.

    The section lies between <!-- orch:begin agents --> and <!-- orch:end agents -->;
    run it again to update it: only that section changes, a file already current is not
    touched, your own text around it is kept as it is. A file without the section gets it
    at its end; a missing file is created. The files are yours: orch does not commit them.
    """
    from orchestrator.core.agents import chosen_files, section, update_files

    if print_only and remove:
        raise click.UsageError("--print writes nothing; it cannot be given with --remove")
    core_tools = _server_takes_tools(ctx)
    if print_only:
        text = section(core_tools=core_tools)
        if as_json:
            emit_json({"section": text})
        else:
            for line in text.splitlines():
                echo(line)
        return
    project = ctx.obj.project
    names = chosen_files(project.root, files, remove)
    results = update_files(project.root, names, remove=remove, core_tools=core_tools)
    if as_json:
        emit_json({"files": results, "committed": False})
        return
    if not results:
        echo("No file holds orch's section: nothing to remove.")
    for result in results:
        echo(f"{result['file']}: {SAID.get(result['action'], result['action'])}")
    if any(r["action"] in WRITTEN for r in results):
        echo(NOT_COMMITTED)


def _server_takes_tools(ctx: click.Context) -> bool:
    """Whether this orch's `orch mcp` has --tools, so that the section names it only
    where it works."""
    root = ctx.find_root()
    mcp = root.command.get_command(root, "mcp") if isinstance(root.command, click.Group) else None
    return mcp is not None and any("--tools" in p.opts for p in mcp.params)
