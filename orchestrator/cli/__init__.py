"""The `orch` command: parse options, call the core, format the answer.

Exit codes: 0 ok, 1 a problem the user can fix (the message says how), 2 a usage error.
"""

from __future__ import annotations

import click

from orchestrator import __version__
from orchestrator.cli.output import warn
from orchestrator.errors import OrchError


class Context:
    """What every command shares: the --root choice and the project it leads to."""

    def __init__(self, root: str | None):
        self.root = root
        self._project = None

    @property
    def project(self):
        if self._project is None:
            from orchestrator.core.project import Project

            self._project = Project.find(self.root)
        return self._project

    def adopt(self, project) -> None:
        """Use a project made by the command itself (init, demo)."""
        self._project = project


class OrchGroup(click.Group):
    """Turns OrchError into a one-line message with exit code 1 and prints warnings the
    core collected, for every subcommand."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except OrchError as e:
            raise click.ClickException(str(e)) from None
        finally:
            obj = ctx.obj
            if isinstance(obj, Context) and obj._project is not None:
                for message in obj._project.warnings:
                    warn(message)
                obj._project.warnings.clear()


@click.group(cls=OrchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    envvar="ORCH_ROOT",
    metavar="DIR",
    help="Project root (the directory holding .task_orchestrator/). Default: the nearest one"
    " at or above the current directory. Also ORCH_ROOT.",
)
@click.version_option(__version__, prog_name="orch")
@click.pass_context
def cli(ctx: click.Context, root: str | None) -> None:
    """orch: sessions, task groups and tasks as Markdown files, with a fast index.

    Records live in .task_orchestrator/ as Markdown with YAML frontmatter; edit them in
    any editor — every command sees your edits. IDs accept any unique prefix.
    """
    ctx.obj = Context(root)


def register() -> None:
    from orchestrator.cli import group, mode, project, session, task

    for module in (project, session, group, task, mode):
        module.register(cli)


def main() -> None:
    cli(prog_name="orch")


register()
