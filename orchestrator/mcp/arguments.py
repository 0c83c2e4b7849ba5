"""Argument types the tools share, checked before a tool runs (server.py: Tool.call): a
bad value is refused naming the argument, as a usage error is in the CLI (cli/params.py),
by the core's own rule (core/inputs.py). Bounds given here are told to the client in
the tool's schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, Field, WithJsonSchema

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
]
SessionId = Annotated[
    str,
    AfterValidator(_read_as("session")),
]
Priority = Annotated[int, Field(ge=1, le=5)]
# 3, 2.5, "2h", "90m": core/inputs.effort reads them (and refuses a negative one).
Hours = Annotated[int | float | str, WithJsonSchema({"type": ["number", "string"]})]
Page = Annotated[int, Field(ge=1, le=500)]
SearchPage = Annotated[int, Field(ge=1, le=100)]

# A plan's subtasks as the client is told them; the core reads each (a title alone is
# one too) and says what is wrong with one in its own words (core/inputs.subtask).
SUBTASK_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "description": {"type": "string"},
            "specialist_type": {"type": "string"},
            "dependencies": {
                "type": "array",
                "items": {"type": ["string", "integer"]},
                "description": "Titles, numbers from 1, or task ids",
            },
            "estimated_effort": {"type": ["number", "string"], "description": "Hours"},
        },
        "required": ["title"],
    },
}
Subtasks = Annotated[list[dict[str, Any] | str], WithJsonSchema(SUBTASK_SCHEMA)]
