"""`orch hooks`: git hooks that keep broken records out of the history and the index in
step with checkouts, merges and rebases."""

from __future__ import annotations

import click

from orchestrator.cli.output import echo, emit_json, json_option


@click.group()
def hooks() -> None:
    """Git hooks: pre-commit checks staged records and refreshes session.md views;
    post-merge, post-checkout and post-rewrite update the index."""


def _report(result: dict, as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    echo(f"Hooks folder: {result['hooks_dir']}")
    for name, what in result["hooks"].items():
        echo(f"  {name}: {what}")
    if result.get("note"):
        echo(f"Note: {result['note']}")


@hooks.command("install")
@json_option
@click.pass_obj
def install(ctx, as_json) -> None:
    """Install orch's hooks into the repository holding .task_orchestrator/ (where
    core.hooksPath points, if set). A hook already there is kept and run first."""
    from orchestrator.core.hooks import install as core_install

    _report(core_install(ctx.project), as_json)


@hooks.command("uninstall")
@json_option
@click.pass_obj
def uninstall(ctx, as_json) -> None:
    """Remove orch's hooks (only orch's), putting back any hook they had kept."""
    from orchestrator.core.hooks import uninstall as core_uninstall

    _report(core_uninstall(ctx.project), as_json)


@hooks.command("run", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def run(ctx, name: str, args: tuple[str, ...]) -> None:
    """Run hook NAME as git would (what the installed scripts call): pre-commit,
    post-merge, post-checkout or post-rewrite."""
    from orchestrator.core.hooks import run as core_run
    from orchestrator.core.hooks import settle_git_environment
    from orchestrator.errors import ProjectNotFound

    settle_git_environment()
    try:
        project = ctx.project
    except ProjectNotFound as e:  # the project moved or was removed: never block git
        echo(f"orch {name} hook: {e}; skipped", err=True)
        return
    code = core_run(project, name, list(args), lambda line: echo(line, err=True))
    if code:
        raise SystemExit(code)
