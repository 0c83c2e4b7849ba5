"""Fixtures: real projects in real git repositories, on both index engines."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, settings

from orchestrator.cli import cli
from orchestrator.core.project import Project
from orchestrator.core.setup import init_project
from orchestrator.resources import shipped

ENGINES = ["sqlite", "duckdb"]
# DuckDB (a command costs ten times as much there) in the slow step of .ci/run, SQLite in
# every run: DuckDB's variants were 29% of the default run's time, which must stay within
# 5 minutes on 2 cores. Checks that compare the two engines loop over ENGINES themselves.
SQLITE_NOW_DUCKDB_SLOW = ["sqlite", pytest.param("duckdb", marks=pytest.mark.slow)]

# Property tests judge answers, never speed: no per-example deadline (200 ms by default)
# and no health check on how fast examples are made, which a loaded machine fails.
settings.register_profile("orch", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("orch")


@pytest.fixture(autouse=True)
def git_identity(monkeypatch):
    """Commits work on a machine with no git configuration (CI)."""
    for key, value in (
        ("GIT_AUTHOR_NAME", "orch tests"),
        ("GIT_AUTHOR_EMAIL", "tests@orch.invalid"),
        ("GIT_COMMITTER_NAME", "orch tests"),
        ("GIT_COMMITTER_EMAIL", "tests@orch.invalid"),
    ):
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ORCH_ROOT", raising=False)


def set_engine(root: Path, engine: str) -> None:
    config = root / ".task_orchestrator" / "config.yaml"
    text = config.read_text(encoding="utf-8").replace("index: sqlite", f"index: {engine}")
    config.write_text(text, encoding="utf-8")


def git_init(root: Path) -> None:
    subprocess.run(["git", "init", "--quiet", str(root)], check=True)


@pytest.fixture(params=SQLITE_NOW_DUCKDB_SLOW)  # DuckDB's run of every check: the slow step
def engine(request) -> str:
    return request.param


def make_project(root: Path, engine: str = "sqlite") -> Project:
    """A new, empty project in a new git repository at `root`."""
    root.mkdir()
    git_init(root)
    init_project(root)
    set_engine(root, engine)
    return Project(root.resolve())


@pytest.fixture
def project(tmp_path, engine) -> Project:
    """A new, empty project in a git repository, on each index engine."""
    return make_project(tmp_path / "proj", engine)


@pytest.fixture
def sqlite_project(tmp_path) -> Project:
    """A new, empty project on the default engine (for tests about files, not the index)."""
    root = tmp_path / "proj"
    root.mkdir()
    git_init(root)
    init_project(root)
    return Project(root.resolve())


def copy_sample(target: Path, engine: str = "sqlite") -> Project:
    shutil.copytree(shipped("sample_project"), target, ignore=shutil.ignore_patterns(".index"))
    git_init(target)
    set_engine(target, engine)
    return Project(target.resolve())


@pytest.fixture
def sample(tmp_path, engine) -> Project:
    """A copy of sample_project/ (never the original), on each index engine."""
    return copy_sample(tmp_path / "sample", engine)


class Orch:
    """Runs `orch --root ROOT ...` through click's CliRunner."""

    def __init__(self, root: Path):
        self.root = root
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int | None = 0, input: str | None = None):
        """Run a command; `code` is the exit code it must give (None: any)."""
        result = self.runner.invoke(
            cli, ["--root", str(self.root), *args], input=input, catch_exceptions=False
        )
        assert code is None or result.exit_code == code, (
            f"orch {' '.join(args)} exited {result.exit_code}, expected {code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
        return result

    def json(self, *args: str):
        return json.loads(self(*args, "--json").stdout)


def orch_in(folder: Path, *args: str, code: int | None = 0) -> Result:
    """`orch ARGS` typed in `folder` (the project found from there, relative paths taken
    from there), run in this process: a command each without the start of a Python
    process each (tests/test_subprocess.py runs those)."""
    with contextlib.chdir(folder):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert code is None or result.exit_code == code, (
        f"orch {' '.join(args)} in {folder} exited {result.exit_code}, expected {code}\n"
        f"stdout: {result.stdout}\nstderr: {result.stderr}"
    )
    return result


@pytest.fixture
def orch(project) -> Orch:
    return Orch(project.root)


@pytest.fixture
def sample_orch(sample) -> Orch:
    return Orch(sample.root)


def task_file(project: Project, task_id: str) -> Path:
    found = list(project.layout.sessions_dir.glob(f"*/tasks/{task_id}.md"))
    assert len(found) == 1, found
    return found[0]


def edit(path: Path, old: str, new: str) -> None:
    """Change a file as an editor would (a new mtime, possibly the same size)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def serve_once_forever(path: Path, reply: bytes | None) -> socket.socket:
    """A socket at `path` whose every connection hears `reply` (None: nothing, ever)."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(8)
    held = []

    def run() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            if reply is None:
                held.append(conn)  # says nothing: the client times out
            else:
                with contextlib.suppress(OSError):
                    conn.recv(4096)
                    conn.sendall(reply)
                conn.close()

    threading.Thread(target=run, daemon=True).start()
    return server


def alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in f)
    except FileNotFoundError:
        return False
