"""The one place the CLI says a core error's hint (errors.Hint) as a command line:
`error: <message> (orch task done t-1 --force)`.

Each operation of errors.OPERATIONS maps to the words of its command, the hint arguments
it takes as positional arguments (with the metavar shown when a hint leaves one out), and
the arguments it takes as options. A test renders every operation and has click parse it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import Hint, OrchError


@dataclass(frozen=True)
class Command:
    words: str  # the subcommand path, with any fixed flags ("doctor --fix")
    positional: tuple[tuple[str, str], ...] = ()  # (hint argument, metavar if missing)
    options: dict[str, str] = field(default_factory=dict)  # hint argument -> --flag
    tail: str = ""  # options to fill in, after the arguments ("--move-tasks-to GROUP")


COMMANDS = {
    "init": Command("init", (("root", "DIR"),)),
    "task_list": Command("task list"),
    "task_start": Command("task start", (("task_id", "ID"),), {"force": "--force"}),
    "task_update": Command(
        "task update", (("task_id", "ID"),), {"status": "--status", "force": "--force"}
    ),
    "task_complete": Command("task done", (("task_id", "ID"),), {"force": "--force"}),
    "task_move": Command("task move", (("task_id", "ID"),), {"no_parent": "--no-parent"}),
    "task_delete": Command("task delete", (("task_id", "ID"),), {"cascade": "--cascade"}),
    "session_list": Command("session list"),
    "session_create": Command(
        "session create",
        (("name", "NAME"),),
        {
            "description": "--description",
            "session_type": "--type",
            "mode_file": "--mode",
            "priority_level": "--priority",
            "switch": "--switch",
        },
    ),
    "session_activate": Command("session activate", (("session_id", "ID"),)),
    "session_pause": Command("session pause", (("session_id", "ID"),)),
    "session_complete": Command("session complete", (("session_id", "ID"),)),
    "session_cancel": Command("session cancel", (("session_id", "ID"),)),
    "session_archive": Command("session archive", (("session_id", "ID"),)),
    "group_list": Command("group list"),
    "group_delete": Command("group delete", (("group_id", "GROUP"),), tail="--move-tasks-to GROUP"),
    "doctor": Command("doctor"),
    "doctor_fix": Command("doctor --fix"),
    "conflicts": Command("conflicts"),
    "resolve": Command("resolve", (("record_id", "ID"),), {"strategy": "--strategy"}),
    "sync": Command("sync", (), {"remote": "--remote"}),
    "mode_list": Command("mode list"),
    "mode_validate": Command("mode validate", (("mode_file", "MODE"),)),
    "hooks_install": Command("hooks install"),
}


def command_args(hint: Hint) -> list[str]:
    """The hint as the arguments of `orch` (without the program name)."""
    command = COMMANDS[hint.op]
    args = command.words.split()
    for key, metavar in command.positional:
        value = hint.args.get(key)
        args.append(metavar if value is None else str(value))
    for key, flag in command.options.items():
        value = hint.args.get(key)
        if value is True:
            args.append(flag)
        elif value is not None and value is not False:
            args += [flag, str(value)]
    return args + command.tail.split()


def rendered(hint: Hint) -> str:
    """The hint as a command line a person can paste."""
    return "orch " + " ".join(shlex.quote(arg) for arg in command_args(hint))


def command_of(error: OrchError | str) -> str | None:
    """An error's or a warning's hint as a command line, if it has one the CLI knows."""
    hint: Any = getattr(error, "hint", None)
    return rendered(hint) if isinstance(hint, Hint) and hint.op in COMMANDS else None


def message(error: OrchError | str) -> str:
    """An error's message or a warning's text, with its hint as a command in brackets (if
    it has one the CLI knows)."""
    command = command_of(error)
    return f"{error} ({command})" if command else str(error)
