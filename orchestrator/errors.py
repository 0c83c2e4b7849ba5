"""The errors orch raises for things a person can fix.

Every message names what is wrong (file, line, field or id) and what to do about it, in
words that belong to no adapter. Where another call would succeed, the error carries it as a
`Hint`: an operation and its arguments. Each adapter renders the hint in its own vocabulary
(the CLI as a command line with flags, the MCP server as a tool call) and never parses the
message (ARCHITECTURE.md, "Errors and hints").
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Hint:
    """A call that would succeed (or show what is needed): `op` names a core operation
    (the keys of OPERATIONS), `args` its arguments by their spec names."""

    op: str
    args: dict[str, Any] = field(default_factory=dict)


# The operations a hint may name, with what each does in words and, in brackets, the
# arguments a hint may give (by their spec names; a bool is a switch). Adapters map every
# one to their own command or tool (a test checks that the CLI knows them all). The names
# are stable: adapters and their tests depend on them.
OPERATIONS = {
    "init": "create a project here [root]",
    "task_list": "list the tasks",
    "task_start": "start a task [task_id, force]",
    "task_update": "change a task's fields or status [task_id, status, force]",
    "task_complete": "complete a task [task_id, force]",
    "task_move": "move a task to another group or parent [task_id]",
    "task_delete": "delete a task [task_id, cascade]",
    "session_list": "list the sessions",
    "session_create": "create a session [name, switch]",
    "session_activate": "activate a session [session_id]",
    "session_pause": "pause a session [session_id]",
    "session_complete": "complete a session [session_id]",
    "session_cancel": "cancel a session [session_id]",
    "session_archive": "archive a session (with an export) [session_id]",
    "group_list": "list the task groups",
    "group_delete": "delete a task group, moving its tasks to another group [group_id]",
    "doctor": "list every problem in the files",
    "doctor_fix": "repair what can be repaired",
    "conflicts": "list the recorded merge conflicts",
    "resolve": "resolve a merge conflict [record_id, strategy]",
    "sync": "commit what is not yet committed; with a remote, exchange with it [remote]",
    "mode_list": "list the specialist modes",
    "mode_validate": "validate a mode file and say what is wrong [mode_file]",
    "hooks_install": "install orch's git hooks",
}


class Said(str):
    """A warning's text with the call that would help, as an error carries one: code that
    treats warnings as text keeps working, and each adapter renders `hint` its own way."""

    hint: Hint | None

    def __new__(cls, text: str, hint: Hint | None = None) -> Said:
        said = super().__new__(cls, text)
        said.hint = hint
        return said


# How many warnings of one kind are said one by one; the rest are counted.
NAMED_WARNINGS = 10


def first_few(said: list[str], what: str) -> list[str]:
    """Warnings of one kind (a bulk edit, many broken files): the first NAMED_WARNINGS,
    and a line counting the rest (`and 12 more <what>`)."""
    if len(said) <= NAMED_WARNINGS:
        return said
    return [*said[:NAMED_WARNINGS], f"and {len(said) - NAMED_WARNINGS} more {what}"]


class OrchError(Exception):
    """An error a person can act on; str(error) is the whole message, `hint` (or None)
    the call that would succeed."""

    def __init__(self, message: str = "", hint: Hint | None = None):
        super().__init__(message)
        self.hint = hint


class ProjectNotFound(OrchError):
    """No .task_orchestrator/ folder where one was looked for."""


class PathOutsideProject(OrchError):
    """A path given by a user points outside the project (.., absolute, a symlink out)."""


class LinkRefused(OrchError):
    """A symbolic link below .task_orchestrator/ where orch would write through it."""


class NotFound(OrchError):
    """No session, group, task or mode with that id or name."""


class AmbiguousId(OrchError):
    """An id prefix that matches more than one record."""


class InvalidInput(OrchError):
    """A value given on the command line (or by a tool call) that orch cannot accept."""


class InvalidTransition(OrchError):
    """A status change the rules do not allow (core/rules.py): a session move the state
    machine forbids, a task completed or started while what it needs is still open."""


class ChangedMeanwhile(OrchError):
    """A change made against a version of a record that is no longer the file's: someone
    (an editor, an agent) wrote it since. Nothing is written; the caller still holds its
    text."""


class ActiveSessionExists(OrchError):
    """Creating or activating a session while another is active, without asking to switch."""


class DependencyCycle(InvalidInput):
    """A dependency or parent link that would make a cycle."""


class RecordError(OrchError):
    """A record file orch cannot use as it is (broken YAML, no frontmatter, changed under us)."""


# The refusals of a file system that are about the machine, not about orch's files: said
# in words, with what to do, and never taken for damage (nothing is deleted or rebuilt).
STORAGE_ERRNOS = {
    errno.ENOSPC: ("the disk is full", "free some space and run the command again"),
    errno.EDQUOT: ("the disk quota is used up", "free some space or raise the quota, then run the command again"),
    errno.EROFS: ("the file system is read-only", "remount it read-write, or work on a copy"),
}  # fmt: skip


def os_error_message(error: OSError) -> str:
    """An OSError as one line for a person: what happened, to which file, what to do."""
    strerror = error.strerror or (os.strerror(error.errno) if error.errno else str(error))
    if error.errno in STORAGE_ERRNOS:
        what, fix = STORAGE_ERRNOS[error.errno]
        where = f": cannot write {error.filename}" if error.filename else ""
        return f"{what}{where} ({strerror}); {fix}"
    return f"{strerror}: {error.filename}" if error.filename else strerror
