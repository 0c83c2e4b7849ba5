"""The errors orch raises for things a person can fix.

Every message names what is wrong (file, line, field or id) and what to do about it.
Adapters turn them into one line: the CLI into exit code 1, the MCP server into a tool error.
"""

from __future__ import annotations


class OrchError(Exception):
    """An error a person can act on; str(error) is the whole message."""


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
    """A session status change the state machine does not allow."""


class ActiveSessionExists(OrchError):
    """Creating or activating a session while another is active, without asking to switch."""


class DependencyCycle(InvalidInput):
    """A dependency or parent link that would make a cycle."""


class RecordError(OrchError):
    """A record file orch cannot use as it is (broken YAML, no frontmatter, changed under us)."""
