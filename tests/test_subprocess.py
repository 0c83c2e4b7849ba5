"""orch as a real process: the demo, exit codes, --root, the console script."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.resources import shipped

ORCH = [sys.executable, "-m", "orchestrator"]


def run(*args: str, cwd: Path | None = None, code: int = 0) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ORCH_ROOT"}
    done = subprocess.run([*ORCH, *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == code, (
        f"orch {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    return done


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_demo_copies_the_sample_into_a_git_repository_and_shows_its_board(tmp_path):
    before = tree_digest(shipped("sample_project"))
    target = tmp_path / "demo"
    done = run("demo", str(target))
    assert f"Demo project: {target.resolve()}" in done.stdout
    assert (
        "Payments API v2" in done.stdout and "Groups" in done.stdout and "Ready (5)" in done.stdout
    )
    assert "Developer docs revamp" in done.stdout, "the paused session is listed"
    log = subprocess.run(
        ["git", "log", "--oneline"], cwd=target, capture_output=True, text=True, check=True
    )
    assert len(log.stdout.splitlines()) == 1
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=target, capture_output=True, text=True, check=True
    )
    assert status.stdout == "", "the index is not something to commit"
    assert tree_digest(shipped("sample_project")) == before, "the sample itself is never changed"
    listed = json.loads(run("task", "list", "--ready", "--json", cwd=target).stdout)
    assert len(listed) == 5


def test_demo_refuses_a_directory_that_is_not_empty(tmp_path):
    (tmp_path / "file").write_text("x")
    done = run("demo", str(tmp_path), code=1)
    assert "is not empty" in done.stderr


def test_a_user_error_exits_1_with_one_line_and_no_traceback(tmp_path):
    run("init", str(tmp_path))
    done = run("--root", str(tmp_path), "task", "show", "t-nope", code=1)
    assert done.stderr.startswith("Error: ")
    assert "Traceback" not in done.stderr


def test_a_usage_error_exits_2(tmp_path):
    done = run("task", "frobnicate", code=2)
    assert "No such command" in done.stderr


def test_a_whole_session_through_processes(tmp_path):
    run("init", str(tmp_path))
    root = ["--root", str(tmp_path)]
    session = json.loads(run(*root, "session", "create", "Release 2.0", "--json").stdout)
    task = json.loads(run(*root, "task", "add", "Tag the release", "--json").stdout)
    run(*root, "task", "done", task["task_id"][:5])
    shown = json.loads(run(*root, "session", "show", session["session_id"], "--json").stdout)
    assert shown["progress_percentage"] == 100.0


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "orch"
    if not script.exists():
        pytest.skip("orch is not installed as a console script in this environment")
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("orch, version ")


def test_a_bug_in_orch_prints_one_line_and_keeps_the_trace(tmp_path, monkeypatch, capsys):
    import orchestrator.cli as cli_module

    def broken(**kwargs):
        raise RuntimeError("something orch did not expect")

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(cli_module, "cli", broken)
    with pytest.raises(SystemExit) as stopped:
        cli_module.main()
    assert stopped.value.code == 3
    err = capsys.readouterr().err
    log = tmp_path / "orch" / "last-error.log"
    assert err.strip() == (
        f"orch: internal error (RuntimeError: something orch did not expect); the trace is in {log}"
    )
    assert "Traceback" in log.read_text() and "something orch did not expect" in log.read_text()


def test_an_index_folder_that_is_a_file_is_explained(tmp_path):
    run("init", str(tmp_path))
    index = tmp_path / ".task_orchestrator" / ".index"
    import shutil as sh

    sh.rmtree(index)
    index.write_text("oops")
    done = run("--root", str(tmp_path), "status", code=1)
    assert "is a file, but orch keeps its index in a folder of that name" in done.stderr
