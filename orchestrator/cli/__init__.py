"""The `orch` command: parse options, call the core, format the answer.

Exit codes: 0 ok, 1 a problem the user can fix (the message says how), 2 a usage error,
3 a bug in orch (the trace is written to ~/.cache/orch/last-error.log). With `--json`,
an error is JSON on standard error: {"error": message, "hint": command or null}. A reader
that stops reading (`orch task list | head -1`) ends the command quietly, exit code 0.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from typing import TYPE_CHECKING, NoReturn

import click

from orchestrator import __version__
from orchestrator.cli.output import Styled, echo, warn
from orchestrator.errors import OrchError, os_error_message
from orchestrator.store.validation import escaped

if TYPE_CHECKING:
    from orchestrator.core.project import Project


class Context:
    """What every command shares: the --root choice and the project it leads to."""

    def __init__(self, root: str | None):
        self.root = root
        self._project: Project | None = None

    @property
    def project(self) -> Project:
        if self._project is None:
            from orchestrator.core.project import Project

            self._project = Project.find(self.root)
        return self._project

    def adopt(self, project) -> None:
        """Use a project made by the command itself (init, demo)."""
        self._project = project


# Subcommand -> the module defining it: a command imports only its own module (and
# the core it needs), so that `orch task list` starts fast.
COMMANDS = {
    "init": "project",
    "demo": "project",
    "status": "project",
    "reindex": "project",
    "doctor": "project",
    "session": "session",
    "group": "group",
    "task": "task",
    "mode": "mode",
    "sync": "sync",
    "conflicts": "sync",
    "resolve": "sync",
    "git": "sync",
    "note": "note",
    "watch": "watch",
    "daemon": "daemon",
    "mcp": "mcp",
    "ui": "ui",
    "hooks": "hooks",
    "search": "search",
    "cleanup": "search",
    "export": "moving",
    "import": "moving",
    "agents": "agents",
    "next": "daily",
    "log": "daily",
    "completion": "completion",
}

# The sections of `orch --help`, in order; a command in none is listed under "Other".
SECTIONS = {
    "Work": ("task", "group", "session", "next", "status", "log", "note", "search"),
    "Files and git": (
        *("sync", "resolve", "conflicts", "doctor", "reindex", "cleanup"),
        *("hooks", "git", "export", "import"),
    ),
    "Servers": ("mcp", "ui", "watch", "daemon"),
    "Setup": ("init", "demo", "agents", "mode", "completion"),
}


# ctx.meta key: whether the command line asked for JSON (errors are then JSON too).
JSON_ASKED = "orch.json"


class OrchGroup(click.Group):
    """Loads subcommands on demand, turns OrchError into a one-line message with exit
    code 1 (JSON with --json), and prints the warnings the core collected."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Before click parses it: a usage error of the subcommand is answered as JSON too.
        given = args[: args.index("--")] if "--" in args else args
        ctx.meta[JSON_ASKED] = "--json" in given
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        import importlib

        module = importlib.import_module(f"orchestrator.cli.{COMMANDS[name]}")
        # A command named as a Python builtin or keyword is defined with a trailing _.
        return getattr(module, name, None) or getattr(module, f"{name}_")

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands by section (SECTIONS), each with its first line of help."""
        listed = set(self.list_commands(ctx))
        sections = [(title, [n for n in names if n in listed]) for title, names in SECTIONS.items()]
        placed = {n for _, names in sections for n in names}
        sections.append(("Other", sorted(listed - placed)))
        width = formatter.width - 6 - max(map(len, listed), default=0)
        for title, names in sections:
            rows = []
            for name in names:
                command = self.get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(width)))
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except OrchError as e:  # messages quote titles and file names: data, shown escaped
            from orchestrator.cli import hints  # only to say something (start-up speed)

            if ctx.meta.get(JSON_ASKED):
                json_error(ctx, str(e), hints.command_of(e), 1)
            raise click.ClickException(escaped(hints.message(e))) from None
        except click.ClickException as e:
            if ctx.meta.get(JSON_ASKED):
                usage = getattr(e, "ctx", None)  # a usage error's command: its help is the hint
                words = usage.command_path.split()[1:] if isinstance(usage, click.Context) else None
                hint = " ".join(["orch", *words, "--help"]) if words is not None else None
                json_error(ctx, e.format_message(), hint, e.exit_code)
            raise
        except BrokenPipeError as e:
            if output_closed():
                quiet_exit(ctx)
            raise click.ClickException(escaped(os_error_message(e))) from None
        except OSError as e:  # the machine said no: permissions, a full disk, a file as folder
            if ctx.meta.get(JSON_ASKED):
                json_error(ctx, os_error_message(e), None, 1)
            raise click.ClickException(escaped(os_error_message(e))) from None
        finally:
            obj = ctx.obj
            if isinstance(obj, Context) and obj._project is not None:
                if obj._project.warnings:
                    from orchestrator.cli import hints  # only to say something

                    for message in obj._project.warnings:
                        warn(hints.message(message))
                obj._project.warnings.clear()


def json_error(ctx: click.Context, message: str, hint: str | None, code: int) -> NoReturn:
    """An error as JSON on standard error (ASCII: control characters in quoted data
    stay escapes), and the exit code it has as text."""
    echo(json.dumps({"error": message, "hint": hint}), err=True)
    ctx.exit(code)


def output_closed() -> bool:
    """Whether the reader of standard output is gone (`orch task list | head -1`): a pipe
    whose reading end is closed reports an error to poll. Other broken pipes (a git
    process that died) stay errors."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & select.POLLERR for _fd, event in poller.poll(0))
    except (AttributeError, ValueError, OSError):  # no poll, or no real file (a test runner)
        return False


def quiet_exit(ctx: click.Context) -> NoReturn:
    """End without a word once the reader has gone: what is still buffered for standard
    output goes nowhere, so that Python's last flush finds no broken pipe to report."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    ctx.exit(0)


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


def main() -> None:
    # A command lives for milliseconds and makes no garbage cycles worth collecting;
    # the collector would run dozens of times over the 10,000 signatures of a scan.
    # Commands that stay up (a server, a watcher) turn it back on.
    gc.disable()
    try:
        cli(prog_name="orch")
    except Exception as e:  # a bug in orch: one line here, the whole story in a file
        log = report_crash(e)
        echo(
            Styled(
                f"orch: internal error ({type(e).__name__}: {e}); the trace is in {log}", fg="red"
            ),
            err=True,
        )
        raise SystemExit(3) from None


def report_crash(error: Exception) -> str:
    """Write the traceback of an unexpected error to a log file and return its path."""
    import os
    import tempfile
    import traceback

    directory = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(directory, "orch", "last-error.log")
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    except OSError:
        path = os.path.join(tempfile.gettempdir(), "orch-last-error.log")
    with open(path, "w", encoding="utf-8") as f:
        traceback.print_exception(error, file=f)
    return path
