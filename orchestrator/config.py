"""Project settings: .task_orchestrator/config.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ENGINES = ("sqlite", "duckdb")

TEMPLATE = """\
# orch settings for this project.
#
# index: the engine of the rebuildable index kept in .index/ (not in git).
#   sqlite (default): fast start, safe with several processes at once.
#   duckdb: columnar; the same answers.
index: sqlite
"""


@dataclass
class Config:
    """Settings with their defaults; `warnings` says what was ignored and why."""

    index: str = "sqlite"
    warnings: list[str] = field(default_factory=list)


def load_config(path: Path) -> Config:
    """Read config.yaml. A missing file means defaults; a broken one means defaults and a
    warning, never a crash (the files it configures are still readable)."""
    config = Config()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return config
    import yaml

    try:
        data = yaml.load(text, Loader=yaml.CSafeLoader) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        config.warnings.append(f"{where}: not valid YAML ({problem}); using default settings")
        return config
    if not isinstance(data, dict):
        config.warnings.append(f"{path}: expected key: value settings; using defaults")
        return config
    engine = data.get("index", config.index)
    if engine in ENGINES:
        config.index = engine
    else:
        config.warnings.append(
            f"{path}: index: {engine!r} is not one of {', '.join(ENGINES)}; using sqlite"
        )
    return config
