"""`orch daemon`: the journal daemon that spares every command its scan of the files."""

from __future__ import annotations

import gc

import click

from orchestrator.cli.output import echo, emit_json, json_option


@click.group()
def daemon() -> None:
    """The project's journal daemon: one background process keeping an inotify journal
    of .task_orchestrator/, so that each command asks it what changed instead of a stat
    of every record file. Only an accelerator: without it, commands scan."""


def describe(found) -> str:
    """One line saying whether the daemon runs, and what it costs."""
    if not found.running:
        why = f" (refused: {found.refused})" if found.refused else ""
        return (
            f"Journal daemon: not running{why}; start it with `orch daemon start`, or let"
            " commands start it: `journal: auto` in config.yaml"
        )
    memory = f", {found.memory_mb:g} MB" if found.memory_mb is not None else ""
    answering = "" if found.answering else ", not answering"
    relays = f"; runs commands ({found.relayed} so far)" if found.relays else ""
    return (
        f"Journal daemon: running (pid {found.pid}, since {found.started}{memory}{answering});"
        f" socket {found.socket}{relays}"
    )


@daemon.command("start")
@json_option
@click.pass_obj
def start(ctx, as_json: bool) -> None:
    """Start the daemon in the background (its own session; its output in
    .task_orchestrator/.index/journal.log), or say that it runs already."""
    from orchestrator.core.daemon import start as core_start

    found = core_start(ctx.project.layout)
    if as_json:
        emit_json(found.as_dict())
    else:
        echo(describe(found))


@daemon.command("stop")
@click.pass_obj
def stop(ctx) -> None:
    """Stop the daemon; commands scan the files again."""
    from orchestrator.core.daemon import stop as core_stop

    found = core_stop(ctx.project.layout)
    echo(f"Stopped the journal daemon (pid {found.pid})." if found else "No journal daemon ran.")


@daemon.command("status")
@json_option
@click.pass_obj
def status(ctx, as_json: bool) -> None:
    """Say whether the daemon runs: its pid, since when, its memory, its socket."""
    from orchestrator.core.daemon import status as core_status

    found = core_status(ctx.project.layout)
    if as_json:
        emit_json(found.as_dict())
    else:
        echo(describe(found))


@daemon.command("run")
@click.pass_obj
def run(ctx) -> None:
    """Run the daemon in the foreground until SIGTERM or Ctrl-C (what `start` runs in
    the background; for a service manager). It also runs the commands `orch` hands it,
    each in a process forked from it (ORCH_RELAY=0 in a command's environment keeps that
    command in its own process)."""
    from orchestrator.cli import worker
    from orchestrator.core.daemon import serve

    gc.enable()  # a process that stays up (main() turns the collector off for commands)
    worker.warm()
    serve(ctx.project.layout, worker.run)
