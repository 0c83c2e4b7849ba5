"""Argument types the tools share, checked by the SDK before a tool runs: a bad value is
refused naming the argument, as a usage error is in the CLI (cli/params.py), by the
core's own rule (core/inputs.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field

from orchestrator.core.inputs import record_ref
from orchestrator.errors import InvalidInput


def _read_as(kind: str) -> Callable[[str], str]:
    def read(value: str) -> str:
        try:
            return record_ref(kind, value)
        except InvalidInput as error:
            raise ValueError(str(error)) from None  # what pydantic reports as the reason

    return read


TaskId = Annotated[
    str,
    AfterValidator(_read_as("task")),
    Field(description="A task's id, or a unique start of it."),
]
SessionId = Annotated[
    str,
    AfterValidator(_read_as("session")),
    Field(description="A session's id or name, or a unique start of its id."),
]
