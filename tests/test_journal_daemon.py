"""The journal daemon (`orch daemon`) only accelerates: with it running, every change
(by hand, by orch, by git) is seen, and whatever goes wrong with it (killed, restarted,
overflowed, a stale or garbage-speaking socket, an unknown token) the command scans,
and its answers equal those of an index rebuilt from the files.

The daemon is a real process; the commands run in this process (CliRunner), so that
what they look at can be counted."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import namedtuple
from pathlib import Path

import pytest

from orchestrator.core import daemon
from orchestrator.core.project import Project
from orchestrator.errors import OrchError
from orchestrator.index import journal_client, journal_daemon, signatures
from orchestrator.index.engine import IndexDB, index_path
from orchestrator.index.journal import F
from orchestrator.layout import Layout
from tests.conftest import Orch, alive, copy_sample, edit, git_init, serve_once_forever, task_file

pytestmark = pytest.mark.skipif(journal_daemon.INotify is None, reason="inotify: Linux only")

DEADLINE = 30.0  # seconds: generous, for a loaded machine


def wait_for(condition, what: str, deadline: float = DEADLINE):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        found = condition()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"waited {deadline:g} s for {what}")


def kill_group(pid: int) -> None:
    """SIGKILL the daemon's whole process group (its own session), and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


@pytest.fixture
def started():
    """Start daemons for layouts; each is killed (SIGKILL) at the end of the test."""
    pids: list[int] = []

    def start(layout: Layout) -> int:
        found = daemon.start(layout)
        assert found.running and found.answering, found
        pids.append(found.pid)
        return found.pid

    yield start
    for pid in pids:
        kill_group(pid)


@pytest.fixture
def sample(tmp_path) -> Project:
    return copy_sample(tmp_path / "sample")


@pytest.fixture
def scans(monkeypatch) -> list[int]:
    """Counts the full scans of the record folders made in this process."""
    calls: list[int] = []
    real = signatures.scan

    def counting(layout):
        calls.append(1)
        return real(layout)

    monkeypatch.setattr(signatures, "scan", counting)
    return calls


def answers(orch: Orch) -> str:
    """What the commands answer, as one text (the project's place taken out)."""
    said = json.dumps(
        {
            "tasks": orch.json("task", "list", "--all-sessions"),
            "status": orch.json("status"),
            "ready": orch.json("task", "list", "--ready"),
        },
        sort_keys=True,
    )
    return said.replace(str(orch.root), "<root>")


def rebuilt(root: Path, into: Path) -> str:
    """The answers of a copy of the project's files, indexed from scratch."""
    shutil.copytree(
        root / ".task_orchestrator",
        into / ".task_orchestrator",
        ignore=shutil.ignore_patterns(".index"),
    )
    git_init(into)
    Orch(into)("reindex", "--json")
    return answers(Orch(into)).replace(str(into.resolve()), "<root>").replace(str(into), "<root>")


def index(project: Project, writable: bool = False) -> IndexDB:
    """The project's index as it is, not brought up to date (as reading() would)."""
    return IndexDB("sqlite", index_path(project.layout.index_dir, "sqlite"), writable)


def token(project: Project) -> str | None:
    """The daemon's token the index holds."""
    db = index(project)
    try:
        return db.meta(journal_client.TOKEN_KEY)
    finally:
        db.close()


def first_task(project: Project) -> tuple[str, Path]:
    with project.reading() as db:
        (task_id,) = db.rows("SELECT task_id FROM tasks ORDER BY task_id LIMIT 1")[0]
    return task_id, task_file(project, task_id)


# -- the journal is used ---------------------------------------------------------------


def test_with_the_daemon_a_command_looks_only_at_the_files_changed(
    sample, started, scans, monkeypatch
):
    orch = Orch(sample.root)
    started(sample.layout)
    orch("status")  # the first question: unknown (no token yet), so a scan
    assert scans == [1]
    assert token(sample) is not None
    task_id, path = first_task(sample)
    edit(path, "title: ", "title: Edited ")
    looked_at: list[list[str]] = []
    real = signatures.stat_paths
    monkeypatch.setattr(
        signatures,
        "stat_paths",
        lambda layout, rels: looked_at.append(list(rels)) or real(layout, rels),
    )
    scans.clear()
    shown = orch.json("task", "show", task_id)
    assert shown["title"].startswith("Edited ")
    assert scans == [], "no scan of every file"
    # The edited file, and at most the session.md views the first command regenerated
    # after it took its token: not one other task file.
    (looked,) = looked_at
    assert [p for p in looked if "/tasks/" in p] == [sample.layout.rel(path)]
    assert all(p.endswith("/session.md") for p in looked if "/tasks/" not in p)


def test_without_a_daemon_every_command_scans(sample, scans):
    orch = Orch(sample.root)
    orch("status")
    orch("status")
    assert len(scans) == 2
    assert token(sample) is None


# -- every change is seen ----------------------------------------------------------------


def test_edits_by_hand_by_orch_and_by_git_checkouts_are_all_seen(sample, started, tmp_path):
    orch = Orch(sample.root)
    started(sample.layout)
    orch("status")
    task_id, path = first_task(sample)
    edit(path, "title: ", "title: By hand ")
    assert orch.json("task", "show", task_id)["title"].startswith("By hand ")
    added = orch.json("task", "add", "Added with the daemon running")["task_id"]
    orch("task", "update", added, "--priority", "1")
    assert orch.json("task", "show", added)["priority_level"] == 1
    git = ["git", "-C", str(sample.root)]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "everything", "--no-verify"], check=True)
    everything = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True)
    path.unlink()  # deleted by hand (and its deletion committed by orch)
    assert task_id not in {t["task_id"] for t in orch.json("task", "list", "--all-sessions")}
    commit = everything.stdout.decode().strip()
    subprocess.run([*git, "checkout", "-q", commit, "--", ".task_orchestrator"], check=True)
    assert orch.json("task", "show", task_id)["title"].startswith("By hand ")
    assert answers(orch) == rebuilt(sample.root, tmp_path / "copy")


def test_a_new_session_folder_is_seen_without_a_scan(sample, started, scans):
    orch = Orch(sample.root)
    started(sample.layout)
    orch("status")
    session = sample.layout.sessions_dir / "s-byhand"
    (session / "tasks").mkdir(parents=True)
    (session / "session.md").write_text(
        "---\nsession_id: s-byhand\nname: Made by hand\nstatus: paused\n---\n", encoding="utf-8"
    )
    (session / "tasks" / "t-byhand.md").write_text(
        "---\ntask_id: t-byhand\ntitle: A task made by hand\n---\n", encoding="utf-8"
    )
    scans.clear()
    assert orch.json("task", "show", "t-byhand")["title"] == "A task made by hand"
    assert scans == []


# -- whatever goes wrong, the scan --------------------------------------------------------


@pytest.mark.slow
def test_daemon_killed_mid_burst_and_restarted_answers_equal_a_rebuild(sample, started, tmp_path):
    orch = Orch(sample.root)
    pid = started(sample.layout)
    orch("status")
    files = sorted(sample.layout.sessions_dir.glob("*/tasks/*.md"))
    done = threading.Event()

    def burst() -> None:
        n = 0
        while not done.is_set() or n < 200:
            edit(files[n % len(files)], "title: ", f"title: {n} ")
            n += 1

    writer = threading.Thread(target=burst)
    writer.start()
    for _ in range(5):
        orch("task", "list", "--all-sessions", "--json")
    kill_group(pid)
    for _ in range(5):  # a stale socket: refused, each command scans
        orch("task", "list", "--all-sessions", "--json")
    started(sample.layout)
    for _ in range(5):
        orch("task", "list", "--all-sessions", "--json")
    done.set()
    writer.join()
    assert answers(orch) == rebuilt(sample.root, tmp_path / "copy")


def test_daemon_killed_between_edits_and_restarted_answers_equal_a_rebuild(
    sample, started, tmp_path
):
    """The default run's version of the burst above: an edit before, between and after
    a SIGKILL of the daemon's process group and its restart, a command after each."""
    orch = Orch(sample.root)
    pid = started(sample.layout)
    orch("status")
    files = sorted(sample.layout.sessions_dir.glob("*/tasks/*.md"))
    edit(files[0], "title: ", "title: Before ")
    orch("status")
    edit(files[1], "title: ", "title: Unasked ")  # no command asks before the kill
    kill_group(pid)
    edit(files[2], "title: ", "title: Down ")
    orch("status")
    started(sample.layout)
    edit(files[3], "title: ", "title: After ")
    assert answers(orch) == rebuilt(sample.root, tmp_path / "copy")


def test_killed_daemon_leaves_a_socket_that_refuses_and_commands_scan(sample, started, scans):
    orch = Orch(sample.root)
    pid = started(sample.layout)
    orch("status")
    kill_group(pid)
    assert journal_client.socket_path(sample.layout).exists()  # left behind
    task_id, path = first_task(sample)
    edit(path, "title: ", "title: While down ")
    scans.clear()
    assert orch.json("task", "show", task_id)["title"].startswith("While down ")
    assert scans == [1]
    started(sample.layout)  # takes the stale socket's place
    edit(path, "title: ", "title: Again ")
    assert orch.json("task", "show", task_id)["title"].startswith("Again ")


def test_edits_while_the_daemon_is_down_are_seen_by_the_next_one(sample, started, scans):
    orch = Orch(sample.root)
    started(sample.layout)
    orch("status")
    daemon.stop(sample.layout)
    task_id, path = first_task(sample)
    edit(path, "title: ", "title: Down ")
    started(sample.layout)  # another instance: the index's token is unknown to it
    scans.clear()
    assert orch.json("task", "show", task_id)["title"].startswith("Down ")
    assert scans == [1]
    scans.clear()
    orch("status")
    assert scans == [], "its token is kept after the scan"


def test_an_overflow_makes_the_next_command_scan(sample, started, scans):
    orch = Orch(sample.root)
    started(sample.layout)
    orch("status")
    task_id, path = first_task(sample)
    before = token(sample)
    edit(path, "title: ", "title: Overflowed ")
    said = journal_client.ask(sample.layout, before)
    assert sample.layout.rel(path) in said.paths
    # What the daemon does on IN_Q_OVERFLOW, asked for by a test hook.
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(str(journal_client.socket_path(sample.layout)))
    sock.sendall(b'{"pretend": "overflow", "since": null}\n')
    sock.recv(4096)
    sock.close()
    assert journal_client.ask(sample.layout, before).paths is None
    scans.clear()
    assert orch.json("task", "show", task_id)["title"].startswith("Overflowed ")
    assert scans == [1]


@pytest.mark.parametrize(
    "garbage", [b'{"since": NaN}\n', b"[" * 100_000 + b"\n", b"\xff\xfe not json\n"]
)
def test_a_garbled_question_is_not_answered_and_the_daemon_stays(sample, started, garbage):
    """JSON's NaN, nesting past any message's depth, bytes that are no JSON: the
    connection is dropped, and the daemon answers the next question."""
    pid = started(sample.layout)
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(str(journal_client.socket_path(sample.layout)))
    sock.sendall(garbage)
    assert sock.recv(4096) == b""  # dropped unanswered
    sock.close()
    assert alive(pid)
    assert journal_client.ask(sample.layout, None).token is not None


def test_an_unknown_token_means_a_scan(sample, started, scans):
    orch = Orch(sample.root)
    started(sample.layout)
    orch("status")
    task_id, path = first_task(sample)
    db = index(sample, writable=True)
    db.set_meta(journal_client.TOKEN_KEY, "0123456789ab:3")
    db.close()
    edit(path, "title: ", "title: Unknown ")
    scans.clear()
    assert orch.json("task", "show", task_id)["title"].startswith("Unknown ")
    assert scans == [1]


@pytest.mark.parametrize(
    "reply",
    [
        b"\x00\xffgarbage",
        b'{"root": "/elsewhere", "token": "a:1", "paths": []}',
        b'{"root": "ROOT", "token": "no-number", "paths": []}',
        b'{"root": "ROOT", "token": "a:1", "paths": [1, 2]}',
        b'{"root": "ROOT", "token": "a:1", "paths": [',
        b'["ROOT", "a:1"]',
    ],
    ids=["garbage", "another-folder", "bad-token", "bad-paths", "cut-short", "not-an-object"],
)
def test_an_answer_not_well_formed_is_no_answer(reply):
    assert journal_client.parse_answer(reply.replace(b"ROOT", b"/p"), "/p").token is None


def test_a_well_formed_answer_is_believed():
    said = journal_client.parse_answer(b'{"root": "/p", "token": "a:1", "paths": ["x"]}', "/p")
    assert (said.token, said.paths) == ("a:1", ["x"])


@pytest.mark.parametrize("reply", [b"\x00\xffgarbage", None], ids=["garbage", "silent"])
def test_a_socket_speaking_nonsense_means_a_scan(sample, scans, reply):
    orch = Orch(sample.root)
    sample.layout.index_dir.mkdir(exist_ok=True)
    path = journal_client.socket_path(sample.layout)
    server = serve_once_forever(path, reply)
    try:
        orch("status")
        task_id, file = first_task(sample)
        edit(file, "title: ", "title: Nonsense ")
        scans.clear()
        assert orch.json("task", "show", task_id)["title"].startswith("Nonsense ")
        assert scans == [1]
        assert token(sample) is None
    finally:
        server.close()


def test_a_well_formed_answer_from_the_socket_is_believed(sample, scans):
    """The other side of the test above: what the client believes is exactly the
    protocol (so the fallbacks above are fallbacks, not a broken client)."""
    orch = Orch(sample.root)
    orch("status")
    sample.layout.index_dir.mkdir(exist_ok=True)
    base = journal_client.real_base(sample.layout)
    reply = json.dumps({"root": base, "token": "feed:7", "paths": None}).encode()
    server = serve_once_forever(journal_client.socket_path(sample.layout), reply)
    try:
        scans.clear()
        orch("status")  # unknown: a scan, then the token is kept
        assert scans == [1]
        assert token(sample) == "feed:7"
    finally:
        server.close()


# -- one daemon per project, gone with its project ----------------------------------------


def test_two_daemons_started_at_once_one_wins(sample):
    args = [sys.executable, "-m", "orchestrator", "--root", str(sample.root), "daemon", "run"]
    first = subprocess.Popen(args, stderr=subprocess.PIPE, start_new_session=True)
    second = subprocess.Popen(args, stderr=subprocess.PIPE, start_new_session=True)
    try:
        loser = wait_for(
            lambda: next((p for p in (first, second) if p.poll() is not None), None),
            "one of the two to give up",
        )
        assert loser.returncode == 1
        assert "already runs" in loser.stderr.read().decode()
        winner = second if loser is first else first
        assert winner.poll() is None
        wait_for(lambda: journal_client.ask(sample.layout, None).token, "the winner's answer")
        assert journal_client.running(sample.layout).pid == winner.pid
    finally:
        for process in (first, second):
            kill_group(process.pid)


@pytest.mark.slow  # the daemon looks every CHECK_EVERY (2 s); a deletion it hears at once
def test_the_daemon_stops_when_its_project_folder_is_moved(sample, started, tmp_path):
    pid = started(sample.layout)
    sample.root.rename(tmp_path / "moved")
    wait_for(lambda: not alive(pid), "the daemon to stop")
    moved = Orch(tmp_path / "moved")
    assert moved.json("status")["active_session"] is not None


def test_the_daemon_stops_when_its_project_is_deleted(sample, started):
    pid = started(sample.layout)
    shutil.rmtree(sample.layout.base)
    wait_for(lambda: not alive(pid), "the daemon to stop")


def test_stop_ends_it_and_removes_its_socket(sample, started):
    pid = started(sample.layout)
    stopped = daemon.stop(sample.layout)
    assert stopped is not None and stopped.pid == pid
    assert not daemon.status(sample.layout).running
    assert not journal_client.socket_path(sample.layout).exists()
    assert daemon.stop(sample.layout) is None


def holding(daemon_pid: int, path: Path) -> int | None:
    """The daemon's child process that has the file at `path` (this very file) open."""
    try:
        children = Path(f"/proc/{daemon_pid}/task/{daemon_pid}/children").read_text().split()
    except OSError:
        return None
    target = os.stat(path)
    for child in map(int, children):
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{child}/fd").iterdir():
                st = os.stat(fd)
                if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
                    return child
    return None


def test_the_daemon_holds_the_index_open_so_no_command_closes_it_last(sample, started, tmp_path):
    """A process of the daemon's keeps the SQLite index open: a command's close is then
    never the last, which would checkpoint the write-ahead log into the database and
    delete it (9 ms of a write at 10,000 tasks). The log stays; answers are unchanged;
    a rebuilt index (another file) is held in its turn, and the holder ends with the
    daemon, stopped or killed."""
    orch = Orch(sample.root)
    db_path = index_path(sample.layout.index_dir, "sqlite")
    orch("status")  # the index exists before the daemon looks for it
    pid = started(sample.layout)
    holder = wait_for(lambda: holding(pid, db_path), "the index held open")
    task_id, _ = first_task(sample)
    orch("task", "update", task_id, "--priority", "2")
    assert Path(f"{db_path}-wal").exists()  # no close was the last
    assert answers(orch) == rebuilt(sample.root, tmp_path / "rebuilt")
    orch("reindex")  # a new file in the index's place: another holder for it
    wait_for(lambda: not alive(holder), "the old holder to end")
    holder = wait_for(lambda: holding(pid, db_path), "the new index held open")
    orch("task", "update", task_id, "--priority", "3")
    assert Path(f"{db_path}-wal").exists()
    assert index(sample).rows("PRAGMA integrity_check") == [("ok",)]
    assert answers(orch) == rebuilt(sample.root, tmp_path / "rebuilt again")
    daemon.stop(sample.layout)
    assert not alive(holder)
    pid = started(sample.layout)
    holder = wait_for(lambda: holding(pid, db_path), "the index held open again")
    os.kill(pid, signal.SIGKILL)  # the daemon alone, not its group
    wait_for(lambda: not alive(holder), "the holder to end with its daemon")


def test_blind_file_systems_are_refused_with_the_reason(sample, monkeypatch):
    monkeypatch.setattr(journal_daemon, "filesystem_type", lambda path: "nfs4")
    with pytest.raises(OrchError, match="nfs4 file system"):
        daemon.start(sample.layout)
    assert "nfs4" in daemon.status(sample.layout).refused
    daemon.autostart(sample.layout)  # refused before: not tried again
    assert journal_client.running(sample.layout) is None


def test_a_long_project_path_puts_the_socket_elsewhere(tmp_path, started, scans):
    root = tmp_path / ("p" * 100)
    project = copy_sample(root)
    path = journal_client.socket_path(project.layout)
    assert not path.is_relative_to(root) and len(os.fsencode(path)) <= 107
    started(project.layout)
    orch = Orch(project.root)
    orch("status")
    task_id, file = first_task(project)
    edit(file, "title: ", "title: Long ")
    scans.clear()
    assert orch.json("task", "show", task_id)["title"].startswith("Long ")
    assert scans == []


def test_a_linked_task_orchestrator_folder_is_journaled_where_it_points(tmp_path, started, scans):
    real = copy_sample(tmp_path / "real")
    root = tmp_path / "linked"
    root.mkdir()
    git_init(root)
    (root / ".task_orchestrator").symlink_to(real.layout.base)
    project = Project(root)
    started(project.layout)
    orch = Orch(root)
    orch("status")
    task_id, file = first_task(project)
    edit(file, "title: ", "title: Linked ")
    scans.clear()
    assert orch.json("task", "show", task_id)["title"].startswith("Linked ")
    assert scans == []


# -- settings ------------------------------------------------------------------------------


def test_journal_auto_starts_the_daemon_on_first_use(sample):
    config = sample.layout.config_file
    config.write_text(config.read_text(encoding="utf-8") + "journal: auto\n", encoding="utf-8")
    Orch(sample.root)("status")
    found = wait_for(lambda: journal_client.running(sample.layout), "the daemon to start")
    try:
        log = sample.layout.index_dir / journal_client.LOG_NAME
        wait_for(lambda: "serving" in log.read_text(encoding="utf-8"), "its log")
    finally:
        kill_group(found.pid)


def test_journal_off_starts_nothing(sample):
    Orch(sample.root)("status")
    assert journal_client.running(sample.layout) is None
    assert not (sample.layout.index_dir / journal_client.LOG_NAME).exists()


def test_a_bad_journal_setting_is_said_with_its_file_and_field(sample):
    config = sample.layout.config_file
    config.write_text(config.read_text(encoding="utf-8") + "journal: sometimes\n", encoding="utf-8")
    said = Orch(sample.root)("status").stderr
    assert f"{config}: journal: 'sometimes' is not one of off, auto" in said


def test_doctor_says_whether_the_daemon_runs(sample, started):
    orch = Orch(sample.root)
    assert "Journal daemon: not running" in orch("doctor", code=None).stderr
    pid = started(sample.layout)
    said = orch("doctor", code=None).stderr
    assert f"Journal daemon: running (pid {pid}, since " in said and " MB" in said


# -- the journal's own rules ----------------------------------------------------------------

Event = namedtuple("Event", "wd mask cookie name")


@pytest.fixture
def journal(sample):
    kept = journal_daemon.Journal(sample.layout)
    yield kept
    kept.close()


def wd_of(journal, rel: str) -> int:
    return next(wd for wd, folder in journal.folders.items() if folder == rel)


def test_the_journal_names_changed_record_files_only(journal, sample):
    session = next(p for p in sample.layout.sessions_dir.iterdir())
    tasks = sample.layout.rel(session / "tasks")
    wd = wd_of(journal, tasks)
    taken = journal.take([Event(wd, F.MODIFY, 0, "t-1.md"), Event(wd, F.CREATE, 0, ".t-1.md.swp")])
    assert taken == [f"{tasks}/t-1.md"]


@pytest.mark.parametrize(
    "mask, name",
    [(F.Q_OVERFLOW, ""), (F.MOVED_FROM | F.ISDIR, "tasks"), (F.MOVE_SELF, ""), (F.UNMOUNT, "")],
    ids=["overflow", "folder-moved-away", "watched-folder-moved", "unmount"],
)
def test_what_the_journal_cannot_vouch_for_is_unknown(journal, sample, mask, name):
    session = next(p for p in sample.layout.sessions_dir.iterdir())
    wd = wd_of(journal, sample.layout.rel(session))
    assert journal.take([Event(wd, mask, 0, name)]) is None


def test_an_event_of_a_folder_the_journal_does_not_know_is_unknown(journal):
    assert journal.take([Event(999_999, F.MODIFY, 0, "t-1.md")]) is None


def test_tokens_before_a_forget_are_unknown(journal):
    old = journal.token()
    journal.forget()
    assert journal.since(old) is None
    assert journal.since(journal.token()) == []
    assert journal.since("another:1") is None
    assert journal.since(f"{journal.instance}:{journal.seq + 1}") is None


def test_autostart_tries_no_start_again_soon_after_one(sample, monkeypatch):
    """A daemon still starting, or one that failed, is not started again by every
    command of a burst."""
    spawned: list[Layout] = []
    monkeypatch.setattr(daemon, "spawn", spawned.append)
    sample.layout.index_dir.mkdir(exist_ok=True)
    log = sample.layout.index_dir / journal_client.LOG_NAME
    log.write_text("just started\n", encoding="utf-8")
    daemon.autostart(sample.layout)
    assert spawned == []
    long_ago = time.time() - daemon.AUTOSTART_QUIET - 1
    os.utime(log, (long_ago, long_ago))
    daemon.autostart(sample.layout)
    assert spawned == [sample.layout]
