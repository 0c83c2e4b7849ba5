"""Read commands handed to the journal daemon (launch.py, relay.py, cli/worker.py) answer
exactly as in a process of their own: the same output, errors and exit code, from any
folder, seeing every edit; and whatever goes wrong before the daemon's worker starts
(no daemon, a killed one, other code, a socket that hangs up or never answers), the
command runs in its own process instead.

Every `orch` here is a real process (`python -m orchestrator`) talking to a real daemon."""

from __future__ import annotations

import contextlib
import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator import launch, relay
from orchestrator.core import daemon
from orchestrator.core.project import Project
from orchestrator.index import journal_daemon
from tests.conftest import alive, copy_sample, edit, serve_once_forever, task_file

pytestmark = pytest.mark.skipif(journal_daemon.INotify is None, reason="inotify: Linux only")

TIMEOUT = 120  # seconds for one command: generous, for a loaded machine


def orch(*args: str, cwd: Path, relayed: bool = True, **env: str) -> tuple[int, str, str]:
    """`orch ARGS` as a process: exit code, standard output, standard error."""
    environment = {k: v for k, v in os.environ.items() if k != "ORCH_ROOT"}
    environment.update({relay.RELAY_ENV: "1" if relayed else "0", **env})
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def project(tmp_path):
    """The sample project with its daemon running (killed at the end)."""
    sample = copy_sample(tmp_path / "sample")
    assert orch("status", cwd=sample.root, relayed=False)[0] == 0  # indexed and committed
    found = daemon.start(sample.layout)
    assert found.running and found.answering and found.relays, found
    yield sample
    with contextlib.suppress(ProcessLookupError):
        os.killpg(found.pid, signal.SIGKILL)


def relayed(project: Project) -> int:
    """How many commands the project's daemon ran."""
    return daemon.status(project.layout).relayed


def a_task(project: Project) -> str:
    code, out, _ = orch("task", "list", "--json", cwd=project.root, relayed=False)
    assert code == 0
    import json

    return json.loads(out)[0]["task_id"]


READS = [
    ["status"],
    ["status", "--json"],
    ["task", "list"],
    ["task", "list", "--json"],
    ["task", "list", "--ready", "--jsonl"],
    ["task", "show", "TASK"],
    ["task", "show", "TASK", "--json"],
    ["task", "show", "t-nosuchtask"],  # exit 1, its message on stderr
    ["task", "list", "--bogus"],  # exit 2, a usage error
    ["task", "list", "--json", "--status", "bogus"],  # exit 2, as JSON on stderr
    ["session", "list"],
    ["group", "list"],
    ["mode", "list"],
    ["search", "parser"],
    ["log", "-n", "3"],
    ["next", "--json"],
    ["task", "show", "--help"],
]


def test_read_commands_answer_as_in_their_own_process(project):
    task_id = a_task(project)
    before = relayed(project)
    for args in READS:
        args = [task_id if a == "TASK" else a for a in args]
        here = orch(*args, cwd=project.root, relayed=False)
        there = orch(*args, cwd=project.root)
        assert there == here, args
    assert relayed(project) - before == len(READS)


def test_from_a_subfolder_and_from_outside_with_ORCH_ROOT(project, tmp_path):
    task_id = a_task(project)
    before = relayed(project)
    inside = project.layout.sessions_dir
    assert orch("task", "show", task_id, cwd=inside) == orch(
        "task", "show", task_id, cwd=inside, relayed=False
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    root = str(project.root)
    assert orch("status", cwd=outside, ORCH_ROOT=root) == orch(
        "status", cwd=outside, relayed=False, ORCH_ROOT=root
    )
    assert orch("--root", root, "task", "list", cwd=outside) == orch(
        "--root", root, "task", "list", cwd=outside, relayed=False
    )
    assert relayed(project) - before == 3


def test_an_edit_by_hand_is_seen_by_the_next_relayed_command(project):
    task_id = a_task(project)
    path = task_file(project, task_id)
    title = next(line for line in path.read_text().splitlines() if line.startswith("title:"))
    edit(path, title, "title: Renamed by hand in an editor")
    code, out, _ = orch("task", "show", task_id, cwd=project.root)
    assert code == 0 and "Renamed by hand in an editor" in out
    # ... and the commit the read made of it is in git once.
    log = subprocess.run(
        ["git", "log", "--format=%s", "--", str(path)], cwd=project.root,
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert orch("task", "show", task_id, cwd=project.root)[0] == 0
    again = subprocess.run(
        ["git", "log", "--format=%s", "--", str(path)], cwd=project.root,
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert again == log


def commits(project: Project) -> list[str]:
    return subprocess.run(
        ["git", "log", "--format=%s"], cwd=project.root, capture_output=True, text=True,
        check=True,
    ).stdout.splitlines()  # fmt: skip


def test_writes_run_by_the_daemon_are_one_commit_each_and_answer_as_here(project):
    task_id = a_task(project)
    before, made = relayed(project), len(commits(project))
    code, out, err = orch("task", "update", task_id, "--priority", "1", cwd=project.root)
    assert (code, err) == (0, "") and task_id in out
    assert "priority_level: 1" in task_file(project, task_id).read_text()
    code, out, _ = orch("task", "add", "Made through the daemon", "--json", cwd=project.root)
    assert code == 0
    import json

    added = json.loads(out)["task_id"]
    assert task_file(project, added).exists()
    assert orch("task", "update", added, "--priority", "9", cwd=project.root) == orch(
        "task", "update", added, "--priority", "9", cwd=project.root, relayed=False
    )  # a usage error, alike
    assert relayed(project) - before == 3
    assert len(commits(project)) - made == 2  # each write once in git
    assert orch("status", cwd=project.root, relayed=False)[0] == 0
    assert orch("daemon", "status", cwd=project.root)[0] == 0
    assert relayed(project) == before + 3


def daemon_children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(p) for p in (task / "children").read_text().split()}
    return found


def blocked_on_a_lock(pid: int) -> bool:
    """Whether process `pid` waits for a lock (a "->" line of /proc/locks)."""
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields and str(pid) in fields:
            return True
    return False


@contextlib.contextmanager
def an_update_waiting_for_the_lock(project: Project, task_id: str):
    """`orch task update` handed to the daemon, its worker waiting for the project lock
    held here: yields the `orch` process and the worker's pid."""
    import time

    daemon_pid = daemon.status(project.layout).pid
    with project.lock():
        client = subprocess.Popen(
            [sys.executable, "-m", "orchestrator", "task", "update", task_id, "--priority", "1"],
            cwd=project.root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env={**os.environ, relay.RELAY_ENV: "1"},
            start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + TIMEOUT
            workers: set[int] = set()
            while not any(blocked_on_a_lock(w) for w in workers):
                assert time.monotonic() < deadline and client.poll() is None
                time.sleep(0.02)
                workers = daemon_children(daemon_pid)
            # The daemon's other child, the process holding the index open, waits for none.
            (worker,) = [w for w in workers if blocked_on_a_lock(w)]
            yield client, worker
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(client.pid, signal.SIGKILL)


def test_a_client_killed_takes_its_worker_with_it_and_nothing_is_written(project):
    """SIGKILL cannot be passed on: the worker sees its client gone and ends itself, and
    its git processes, as the client's own would have ended."""
    import time

    task_id = a_task(project)
    path = task_file(project, task_id)
    text, made = path.read_bytes(), commits(project)
    with an_update_waiting_for_the_lock(project, task_id) as (client, worker):
        os.killpg(client.pid, signal.SIGKILL)
        client.wait()
        deadline = time.monotonic() + TIMEOUT
        while Path(f"/proc/{worker}").exists() and alive(worker):
            assert time.monotonic() < deadline, "the worker outlived its client"
            time.sleep(0.02)
    assert path.read_bytes() == text and commits(project) == made
    assert orch("status", cwd=project.root)[0] == 0  # the daemon serves on


def paged_on_a_terminal(project: Project, tmp_path: Path, relayed: bool) -> str:
    """`orch task list` on a terminal of 3 lines: what its pager was given."""
    paged = tmp_path / f"paged-{relayed}.txt"
    pager = tmp_path / "pager.sh"
    pager.write_text('#!/bin/sh\ncat > "$PAGED"\n')
    pager.chmod(0o755)
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "orchestrator", "task", "list"],
            cwd=project.root, stdin=follower, stdout=follower, stderr=subprocess.PIPE,
            timeout=TIMEOUT,
            env={**os.environ, "PAGER": str(pager), "PAGED": str(paged), "LINES": "3",
                 "COLUMNS": "100", relay.RELAY_ENV: "1" if relayed else "0"},
        )  # fmt: skip
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 0, done.stderr
    return paged.read_text()


def test_a_long_list_on_a_terminal_is_paged_by_the_orch_process(project, tmp_path):
    """The pager needs the terminal's foreground: the worker hands the text back."""
    before = relayed(project)
    there = paged_on_a_terminal(project, tmp_path, relayed=True)
    assert relayed(project) == before + 1
    here = paged_on_a_terminal(project, tmp_path, relayed=False)
    assert there == here and "\x1b[1mID" in there  # in colour: the terminal is the worker's


def test_a_daemon_killed_leaves_a_socket_and_the_command_runs_here(project):
    task_id = a_task(project)
    found = daemon.status(project.layout)
    os.killpg(found.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(found.pid, 0)
    assert os.path.lexists(found.socket)
    assert orch("task", "show", task_id, cwd=project.root) == orch(
        "task", "show", task_id, cwd=project.root, relayed=False
    )


def test_a_daemon_with_other_code_refuses_and_nothing_runs_there(project, monkeypatch):
    monkeypatch.setattr(relay, "fingerprint", lambda: "other-code")
    before = relayed(project)
    assert launch.relay_command(["--root", str(project.root), "status"]) is None
    assert relayed(project) == before
    log = (project.layout.index_dir / "journal.log").read_text()
    assert "orch's code changed since this daemon started" in log


@pytest.mark.parametrize("hang_up", [True, False], ids=["hangs-up", "never-answers"])
def test_a_socket_that_hangs_up_or_never_answers_means_the_command_runs_here(
    tmp_path, monkeypatch, hang_up
):
    sample = copy_sample(tmp_path / "sample")
    (sample.layout.index_dir).mkdir(exist_ok=True)
    path = Path(relay.socket_path(os.path.realpath(sample.layout.base)))
    server = serve_once_forever(path, b"" if hang_up else None)
    monkeypatch.setattr(launch, "START_TIMEOUT", 0.3)
    try:
        assert launch.relay_command(["--root", str(sample.root), "status"]) is None
        if hang_up:  # the same as a process (one that never answers costs it 2 s)
            assert orch("status", cwd=sample.root) == orch("status", cwd=sample.root, relayed=False)
    finally:
        server.close()


@pytest.mark.parametrize(
    "args, relayed_here",
    [
        (["status"], True),
        (["task", "show", "t-1"], True),
        (["--root", "/x", "task", "list"], True),
        (["--root=/x", "search", "y"], True),
        (["task", "update", "t-1"], True),
        (["next", "--start"], True),
        (["task", "edit", "t-1"], False),
        (["task", "add", "x", "--description", "-"], "stdin"),
        (["task", "add", "x", "--description=-"], "stdin"),
        (["task", "add", "x", "-d-"], "stdin"),
        (["--version"], False),
        (["--help"], False),
        (["daemon", "run"], False),
        ([], False),
    ],
)
def test_which_commands_are_handed_over(args, relayed_here):
    _root, words = launch._split(args)
    if relayed_here == "stdin":  # handed over unless standard input is a terminal
        relayed_here = not os.isatty(0)
    assert (words is not None and launch._relayed(words, args)) == relayed_here


def test_the_fingerprint_changes_with_the_code(tmp_path, monkeypatch):
    package = tmp_path / "orchestrator"
    package.mkdir()
    (package / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(relay, "_PACKAGE", str(package))
    first = relay.fingerprint()
    assert relay.fingerprint() == first
    (package / "a.py").write_text("x = 22\n")
    assert relay.fingerprint() != first


def test_ctrl_c_in_the_pager_is_the_pager_s_and_the_command_ends_well(project, tmp_path):
    """As click's own pager has it: Ctrl-C while paging does not abort the command."""
    import time

    marks = {name: tmp_path / name for name in ("paging", "go-on", "paged")}
    pager = tmp_path / "pager.sh"
    pager.write_text(
        f"#!/bin/sh\ntouch {marks['paging']}\n"
        f"while [ ! -e {marks['go-on']} ]; do sleep 0.02; done\ncat > {marks['paged']}\n"
    )
    pager.chmod(0o755)
    leader, follower = pty.openpty()
    client = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "task", "list"],
        cwd=project.root, stdin=follower, stdout=follower, stderr=subprocess.PIPE,
        env={**os.environ, "PAGER": str(pager), "LINES": "3", relay.RELAY_ENV: "1"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + TIMEOUT
        while not marks["paging"].exists():
            assert time.monotonic() < deadline and client.poll() is None
            time.sleep(0.02)
        client.send_signal(signal.SIGINT)
        time.sleep(0.2)  # not a race to win: the handler must have nothing to do
        marks["go-on"].touch()
        _, err = client.communicate(timeout=TIMEOUT)
    finally:
        with contextlib.suppress(ProcessLookupError):
            client.kill()
        os.close(follower)
        os.close(leader)
    assert client.returncode == 0, err
    assert "ID" in marks["paged"].read_text()


def test_a_signal_passed_on_ends_the_client_by_that_signal(project):
    """SIGTERM to `orch` reaches its worker (waiting for the project lock here); the
    worker dies of it, nothing is written, and `orch` ends by SIGTERM too."""
    task_id = a_task(project)
    path = task_file(project, task_id)
    text, made = path.read_bytes(), commits(project)
    with an_update_waiting_for_the_lock(project, task_id) as (client, _worker):
        client.send_signal(signal.SIGTERM)
        client.wait(timeout=TIMEOUT)
    assert client.returncode == -signal.SIGTERM
    assert path.read_bytes() == text and commits(project) == made


def test_the_client_s_time_zone_decides_today(project):
    """`--due today` is the day where the person is, not where the daemon was started."""
    import json
    from datetime import datetime, timedelta, timezone

    for hours, zone in ((14, "Etc/GMT-14"), (-12, "Etc/GMT+12")):
        before = datetime.now(timezone(timedelta(hours=hours))).date().isoformat()
        code, out, err = orch(
            "task", "add", f"Due in {zone}", "--due", "today", "--json", cwd=project.root, TZ=zone
        )
        after = datetime.now(timezone(timedelta(hours=hours))).date().isoformat()
        assert code == 0, err
        assert json.loads(out)["due"] in (before, after), zone


def test_other_groups_are_refused_and_the_command_runs_here(project, monkeypatch):
    monkeypatch.setattr(os, "getgroups", lambda: [4242])  # as after `newgrp`
    before = relayed(project)
    assert launch.relay_command(["--root", str(project.root), "status"]) is None
    assert relayed(project) == before


def test_a_closed_standard_stream_means_the_command_runs_here(project):
    before = relayed(project)
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", "status"], cwd=project.root,
        capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, relay.RELAY_ENV: "1"}, preexec_fn=lambda: os.close(0),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert relayed(project) == before
