"""`orch ui`: the board in the browser, served on loopback."""

from __future__ import annotations

import contextlib

import click

from orchestrator.cli.output import echo, warn


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8642, show_default=True,
              help="Port to serve on; 0 picks a free one.")  # fmt: skip
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to serve on. Loopback by default: only this machine reaches the board."
    " Any other address (0.0.0.0: every interface) lets other machines in. Either way"
    " every request needs the token in the URL printed.",
)
@click.option("--no-open", is_flag=True, help="Do not open the board in a browser.")
@click.pass_obj
def ui(ctx, port: int, host: str, no_open: bool) -> None:
    """Serve a live board of the project in the browser and print its URL.

    The active session's tasks as columns by status (a picker for the other sessions),
    each task's page with its text, artifacts and git history, the dependency graph, the
    search box and the sessions with their transitions. Drag a card (or use its status
    control) to change a task's status: the same rules, messages and commit as
    `orch task update`. Edits made anywhere (an editor, the CLI, an agent) show within a
    second. Ctrl-C stops it.
    """
    from orchestrator.ui.server import is_loopback, opener, serve

    root = ctx.project.root  # the board opens its own (on its own thread)

    def started(served) -> None:
        if not is_loopback(host):
            warn(
                f"serving beyond loopback on {host}: anyone who can reach port"
                f" {served.port} and has the token in the URL can read and change this"
                " project"
            )
        echo("Ctrl-C stops it.")
        if not no_open:
            import webbrowser

            webbrowser.open(opener(served).as_uri())

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the server has stopped
        serve(root, host, port, say=lambda line: echo(line), on_start=started)
