"""Project settings: .task_orchestrator/config.yaml."""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from orchestrator.store.record_file import load_yaml

ENGINES = ("sqlite", "duckdb")
COMMIT_MODES = ("every-sync", "batch", "off")
JOURNAL_MODES = ("off", "auto")
# A config.yaml changed this recently is not cached (two writes in one clock tick).
FRESH_NS = 2_000_000_000

TEMPLATE = """\
# orch settings for this project.
#
# index: the engine of the rebuildable index kept in .index/ (not in git).
#   sqlite (default): fast start, safe with several processes at once.
#   duckdb: columnar; the same answers.
index: sqlite
#
# commit: how changes reach git (README: "Commits, conflicts and remote sync").
#   every-sync (default): one commit per change, made by the command that changed it.
#   batch: changes wait until commit_window seconds after the first uncommitted one;
#     the next change after that (or `orch sync`) commits them all together.
#   off: orch only writes files; you commit them yourself.
commit: every-sync
commit_window: 60
#
# watch_debounce: seconds of quiet that end a burst of changes for `orch watch` (an
#   editor's save, a checkout of 500 files: one sync each).
watch_debounce: 0.3
#
# journal: the journal daemon, which tells each command what changed instead of a stat
#   of every record file (README: "The journal daemon"). One process per project.
#   off (default): none unless you start it (`orch daemon start`).
#   auto: the first command that finds none starts it in the background.
journal: off
"""


@dataclass
class Config:
    """Settings with their defaults; `warnings` says what was ignored and why."""

    index: str = "sqlite"
    commit: str = "every-sync"
    commit_window: float = 60.0
    watch_debounce: float = 0.3
    journal: str = "off"
    warnings: list[str] = field(default_factory=list)


def load_config(path: Path, cache: Path | None = None) -> Config:
    """Read config.yaml. A missing file means defaults; a broken one means defaults and a
    warning, never a crash (the files it configures are still readable).

    With `cache` (a JSON file in .index/), the parsed settings are kept there and used
    while config.yaml keeps its stat signature: a command then does not import PyYAML
    (~10 ms) just to learn which index engine to open."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Config()
    signature = [st.st_ctime_ns, st.st_size, st.st_ino]
    if cache is not None:
        try:
            cached = json.loads(cache.read_text(encoding="utf-8"))
            if cached["signature"] == signature:
                return Config(**cached["config"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    config = parse_config(path)
    if cache is not None and time.time_ns() - st.st_ctime_ns > FRESH_NS:
        with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
            cache.write_text(
                json.dumps({"signature": signature, "config": asdict(config)}), encoding="utf-8"
            )
    return config


def parse_config(path: Path) -> Config:
    config = Config()
    import yaml

    try:
        data = load_yaml(path.read_text(encoding="utf-8"), unique_keys=False) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        config.warnings.append(f"{where}: not valid YAML ({problem}); using default settings")
        return config
    if not isinstance(data, dict):
        config.warnings.append(f"{path}: expected key: value settings; using defaults")
        return config
    _mode(config, data, path, "commit", COMMIT_MODES)
    for key in ("commit_window", "watch_debounce"):
        value = data.get(key, getattr(config, key))
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            setattr(config, key, float(value))
        else:
            config.warnings.append(
                f"{path}: {key}: {value!r} is not a number of seconds;"
                f" using {getattr(config, key):g}"
            )
    _mode(config, data, path, "journal", JOURNAL_MODES)
    _mode(config, data, path, "index", tuple(ENGINES))
    return config


def _mode(config: Config, data: dict, path: Path, key: str, modes: tuple[str, ...]) -> None:
    """Set the setting `key` to the file's value when it is one of `modes`; else keep the
    default and say so, naming the file and the field."""
    value = data.get(key, getattr(config, key))
    if value is False:  # YAML reads a bare `off` as false
        value = "off"
    if value in modes:
        setattr(config, key, value)
    else:
        config.warnings.append(
            f"{path}: {key}: {value!r} is not one of {', '.join(modes)};"
            f" using {getattr(config, key)}"
        )
