"""Option values checked while the command line is parsed, by the core's own rule for each
(core/inputs.py): a bad value is then a usage error, exit code 2, naming the option —
as click's own types make it — and not a problem found later, exit code 1. The value is
passed on as typed; the core reads it again with the same rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from orchestrator.cli import completion
from orchestrator.core.inputs import checked_choice, effort, record_ref, split_ids
from orchestrator.errors import InvalidInput

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem


class Checked(click.ParamType):
    """A value that `check` accepts (it raises InvalidInput for one it does not)."""

    def __init__(self, name: str, check: Callable[[str], Any]):
        self.name = name
        self.check = check

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            self.check(value)
        except InvalidInput as e:
            self.fail(str(e), param, ctx)
        return value


def choice(kind: str, key: str) -> Checked:
    """One of the values the schema allows for `key` of a `kind` record."""
    return Checked(key, lambda value: checked_choice(kind, key, value))


def choices(kind: str, key: str) -> Checked:
    """One or several of them, separated by commas (as `split_ids` reads them)."""
    return Checked(key, lambda value: [checked_choice(kind, key, v) for v in split_ids(value)])


HOURS = Checked("hours", effort)


class RecordRef(Checked):
    """A reference to a record (core/inputs.py's `record_ref`), passed on as that reads
    it: a blank one is a usage error; an id of orch's typed in capitals is lower-cased."""

    def __init__(self, kind: str):
        super().__init__("id", lambda value: record_ref(kind, value))
        self.kind = kind

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return self.check(value)
        except InvalidInput as e:
            self.fail(str(e), param, ctx)

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        """Every TASK, GROUP and SESSION argument completes from the index
        (cli/completion.py), whichever command it belongs to."""
        return completion.COMPLETERS[self.kind](ctx, param, incomplete)


TASK_REF = RecordRef("task")
GROUP_REF = RecordRef("group")
SESSION_REF = RecordRef("session")
