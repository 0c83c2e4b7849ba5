"""Role files (modes): YAML whose top-level keys are specialist roles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.model import Problem
from orchestrator.store.record_file import load_yaml, normalize, yaml_problem
from orchestrator.store.validation import KeyLines, validate_fields

PLANNER_ROLE = "task_orchestrator"


@dataclass
class Mode:
    """A role file as read: its roles (empty if unreadable) and what is wrong with it."""

    file_name: str
    roles: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    @property
    def specialist_roles(self) -> dict[str, str]:
        planner = self.roles.get(PLANNER_ROLE)
        roles = planner.get("specialist_roles") if isinstance(planner, dict) else None
        return roles if isinstance(roles, dict) else {}


def parse_mode(file_name: str, text: str, rel: str) -> Mode:
    """Read and validate a role file; every error names the file, the key and the line."""
    mode = Mode(file_name, description=leading_comment(text))
    try:
        data = load_yaml(text)
    except Exception as e:
        mode.problems.append(yaml_problem(e, rel, first_line=1))
        return mode
    if not isinstance(data, dict):
        mode.problems.append(
            Problem(
                rel,
                "a role file is a mapping of role names to role definitions",
                line=1,
                fix="see config/default_roles.yaml for the expected shape",
            )
        )
        return mode
    mode.roles = {str(k): normalize(v) for k, v in data.items()}
    lines = KeyLines(text, first_line=1)
    problems, _ = validate_fields("roles", mode.roles, rel, lines)
    mode.problems.extend(problems)
    for name in mode.specialist_roles:
        if name not in mode.roles:
            mode.problems.append(
                Problem(
                    rel,
                    f"{PLANNER_ROLE}.specialist_roles lists {name!r}, which has no definition",
                    line=lines.get((PLANNER_ROLE, "specialist_roles", name)),
                    field=f"{PLANNER_ROLE}.specialist_roles.{name}",
                    fix=f"add a top-level `{name}:` role (role_definition, expertise, approach, output_format)",
                    severity="warning",
                )
            )
    return mode


def leading_comment(text: str) -> str:
    """The first paragraph of the comment block at the top of a role file."""
    words: list[str] = []
    for line in text.splitlines():
        content = line.lstrip("#").strip()
        if not line.startswith("#") or (not content and words):
            break
        if content:
            words.append(content)
    return " ".join(words)
