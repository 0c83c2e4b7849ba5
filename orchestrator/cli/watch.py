"""`orch watch`: sync every edit as it is saved."""

from __future__ import annotations

import contextlib
import gc
import sys

import click

from orchestrator.cli.output import echo


@click.command()
@click.option(
    "--debounce",
    type=click.FloatRange(min=0.01),
    metavar="SECONDS",
    help="Quiet time that ends a burst of changes (default: watch_debounce in config.yaml, 0.3).",
)
@click.pass_obj
def watch(ctx, debounce) -> None:
    """Watch .task_orchestrator/ and sync each burst of changes: index them, apply boxes
    ticked in session.md, regenerate the views and commit. One line per sync; Ctrl-C
    stops."""
    from orchestrator.core.watch import watch as core_watch

    gc.enable()  # a long-running process (main() turns the collector off for commands)
    project = ctx.project
    seconds = debounce if debounce is not None else project.config.watch_debounce

    def say(line: str) -> None:
        echo(line)
        sys.stdout.flush()  # a line as it happens, also into a pipe or a log file

    say(
        f"Watching {project.layout.rel(project.layout.base)}/ (debounce {seconds:g} s);"
        " Ctrl-C stops."
    )
    with contextlib.suppress(KeyboardInterrupt):
        core_watch(project.root, seconds, say)
    say("Stopped.")
