"""`orch completion bash|zsh|fish`, and what the shell completes: ids of tasks, groups and
sessions, and group and session names, read from the index (core/completions.py).

click's own protocol does the work: the printed script calls `orch` again with
`_ORCH_COMPLETE=<shell>_complete` and the words typed, and click asks the parameter
under the cursor (the `shell_complete=` callbacks below) for its values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from orchestrator.cli.output import echo

if TYPE_CHECKING:  # imported when a shell asks (start-up speed of every other command)
    from click.shell_completion import CompletionItem

COMPLETE_VAR = "_ORCH_COMPLETE"
# How each shell loads the script: the lines of `orch completion --help` and the README.
INSTALL = {
    "bash": """echo 'eval "$(orch completion bash)"' >> ~/.bashrc""",
    "zsh": """echo 'eval "$(orch completion zsh)"' >> ~/.zshrc""",
    "fish": "orch completion fish > ~/.config/fish/completions/orch.fish",
}


def _root(ctx: click.Context) -> str | None:
    """The --root given on the line being completed (or ORCH_ROOT): click parsed it
    into the top command's parameters without running the command."""
    return ctx.find_root().params.get("root")


def _completer(
    *kinds: str,
) -> Callable[[click.Context, click.Parameter, str], list[CompletionItem]]:
    """A `shell_complete=` callback offering values of `kinds` (core/completions.py)."""

    def complete(
        ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        from orchestrator.core.completions import completions

        found = completions(_root(ctx), kinds, incomplete)
        return [CompletionItem(value, help=about or None) for value, about in found]

    return complete


task_refs = _completer("task")
group_refs = _completer("group_name", "group")
session_refs = _completer("session", "session_name")
any_refs = _completer("task", "group", "session", "group_name", "session_name")
# What an argument of each kind of record offers (cli/params.py's RecordRef).
COMPLETERS = {"task": task_refs, "group": group_refs, "session": session_refs}


HELP = (
    "Print the completion script for SHELL: commands, options, and task, group and"
    " session ids and names from the project's index. Load it once per shell:\n\n\b\n"
    + "\n".join(f"  {shell + ':':6} {line}" for shell, line in INSTALL.items())
)


@click.command(help=HELP)
@click.argument("shell", type=click.Choice(sorted(INSTALL)))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    from click.shell_completion import get_completion_class

    completer = get_completion_class(shell)
    assert completer is not None  # one of click's own shells, by the Choice above
    top = ctx.find_root().command
    echo(completer(top, {}, "orch", COMPLETE_VAR).source())
