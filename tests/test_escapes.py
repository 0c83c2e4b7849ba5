"""Nothing escapes the project (issue 15): a remote name that git would take for an
option, an import zip larger than it says or refused half-way, folders that are symlinks
out of the project, and conflict sides named from the wrong clone after a remote sync.
All with real files, real git repositories and a real bare remote."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import Orch


def git(root: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if check:
        assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def started(sqlite_project) -> tuple[Path, Orch]:
    orch = Orch(sqlite_project.root)
    orch("session", "create", "Escapes")
    return sqlite_project.root, orch


# -- item 8: a remote name is never an option ------------------------------------------------


def test_a_remote_name_that_is_an_option_runs_nothing(started, tmp_path):
    root, orch = started
    marker = tmp_path / "injected"
    before = head(root)
    err = orch("sync", "--remote", f"--upload-pack=touch {marker};false", code=1).stderr
    assert not marker.exists()
    assert "never starts with '-'" in err
    assert head(root) == before


def test_a_remote_that_is_a_path_or_url_and_not_a_configured_remote_is_refused(started, tmp_path):
    root, orch = started
    bare = tmp_path / "elsewhere.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(root, "remote", "add", "origin", str(tmp_path / "origin.git"))
    err = orch("sync", "--remote", str(bare), code=1).stderr
    assert "not a remote of this repository (its remotes: origin)" in err
    assert "git remote add" in err
    assert git(bare, "rev-parse", "--all") == ""  # nothing was pushed there
