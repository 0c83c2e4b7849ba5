"""Nothing escapes the project (issue 15): a remote name that git would take for an
option, an import zip larger than it says or refused half-way, folders that are symlinks
out of the project, and conflict sides named from the wrong clone after a remote sync.
All with real files, real git repositories and a real bare remote."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Orch
from tests.test_sync import clone_pair, git


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


# -- item 6: no write through a link below .task_orchestrator/ -------------------------------


def orch_dir(root: Path) -> Path:
    return root / ".task_orchestrator"


def session_dir(root: Path) -> Path:
    [folder] = (orch_dir(root) / "sessions").iterdir()
    return folder


def linked(link: Path, target: Path) -> Path:
    """`link` made a symbolic link to the folder `target` (made empty)."""
    target.mkdir(parents=True)
    link.symlink_to(target, target_is_directory=True)
    return target


def test_a_task_is_not_written_through_a_linked_tasks_folder(started, tmp_path):
    root, orch = started
    outside = linked(session_dir(root) / "tasks", tmp_path / "outside")
    before = head(root)
    err = orch("task", "add", "Escape", code=1).stderr
    assert "tasks is a symbolic link" in err and str(outside) in err
    assert "Replace the link with the folder" in err
    assert list(outside.iterdir()) == []
    assert head(root) == before


def test_an_artifact_is_not_written_through_a_linked_artifacts_folder(started, tmp_path):
    from mcp import Client

    from orchestrator.mcp.server import build_server

    root, orch = started
    task_id = orch.json("task", "add", "Report here")["task_id"]
    outside = linked(session_dir(root) / "artifacts", tmp_path / "outside")

    async def report():
        async with Client(build_server(root)) as client:
            return await client.call_tool(
                "orchestrator_complete_subtask",
                {"task_id": task_id, "summary": "Done.", "detailed_work": "Long text."},
            )

    import asyncio

    result = asyncio.run(report())
    assert result.is_error and "artifacts is a symbolic link" in result.content[0].text
    assert list(outside.rglob("*")) == []


@pytest.mark.parametrize("folder", ["exports", "archives"])
def test_exports_and_archives_are_not_written_through_a_link(started, tmp_path, folder):
    root, orch = started
    session_id = session_dir(root).name
    (orch_dir(root) / folder).rmdir()
    outside = linked(orch_dir(root) / folder, tmp_path / "outside")
    if folder == "exports":
        err = orch("export", "--format", "json", code=1).stderr
    else:
        orch("session", "complete", session_id)
        err = orch("session", "archive", session_id, code=1).stderr
    assert f"{folder} is a symbolic link" in err
    assert list(outside.iterdir()) == []


def test_a_linked_session_folder_is_not_indexed_and_doctor_names_it(started, tmp_path):
    root, orch = started
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "session.md").write_text(
        "---\nsession_id: s-linked\nname: From elsewhere\nstatus: paused\n"
        "created_at: '2026-01-01T00:00:00Z'\n---\n"
    )
    (orch_dir(root) / "sessions" / "s-linked").symlink_to(elsewhere, target_is_directory=True)
    names = [s["name"] for s in orch.json("session", "list")]
    assert names == ["Escapes"]  # nothing from outside the project in the index
    err = orch("doctor", code=1).stdout
    assert ".task_orchestrator/sessions/s-linked: a symbolic link" in err
    assert str(elsewhere) in err


def test_a_linked_record_file_is_not_read(started, tmp_path):
    root, orch = started
    task_id = orch.json("task", "add", "Real")["task_id"]
    secret = tmp_path / "secret.md"
    text = task_file_of(root, task_id).read_text().replace(task_id, "t-secret")
    secret.write_text(text.replace("title: Real", "title: Secret"))
    (task_file_of(root, task_id).parent / "t-secret.md").symlink_to(secret)
    assert [t["title"] for t in orch.json("task", "list")] == ["Real"]
    assert "t-secret.md: a symbolic link" in orch("doctor", code=1).stdout


def task_file_of(root: Path, task_id: str) -> Path:
    return next(orch_dir(root).glob(f"sessions/*/tasks/{task_id}.md"))


def test_a_linked_index_folder_is_refused_before_anything_is_written(started, tmp_path):
    root, orch = started
    import shutil

    shutil.rmtree(orch_dir(root) / ".index")
    outside = linked(orch_dir(root) / ".index", tmp_path / "outside")
    err = orch("task", "list", code=1).stderr
    assert ".index is a symbolic link" in err
    assert list(outside.iterdir()) == []


def test_the_orchestrator_folder_itself_may_be_a_link(tmp_path):
    """Where a project keeps its orchestrator folder is its choice: orch works there (as
    a repository of its own) and doctor says so, as a warning."""
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q")
    (tmp_path / "kept").mkdir()
    (root / ".task_orchestrator").symlink_to(tmp_path / "kept", target_is_directory=True)
    orch = Orch(root)
    orch("init")
    orch("session", "create", "Linked")
    orch("task", "add", "Works")
    assert [t["title"] for t in orch.json("task", "list")] == ["Works"]
    assert list((tmp_path / "kept" / "sessions").glob("*/tasks/*.md"))
    out = orch("doctor").stdout  # a warning: exit 0
    assert "the orchestrator folder is a link to" in out


# -- item 7: orch import zip checks every entry and the sizes, then writes, then commits once --

SESSION_MD = (
    "---\nsession_id: {sid}\nname: Imported\nstatus: paused\ncreated_at: '2026-01-01T00:00:00Z'\n"
    "---\n"
)


def make_zip(path: Path, entries: list[tuple[str, bytes]], link: str | None = None) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name == link:
                info.external_attr = 0o120777 << 16  # a symbolic link, its target as data
            archive.writestr(info, data)
    return path


def session_md(sid: str) -> tuple[str, bytes]:
    return f"{sid}/session.md", SESSION_MD.format(sid=sid).encode()


def nothing_imported(root: Path, before: str) -> None:
    assert list((orch_dir(root) / "sessions").glob("s-0000000*")) == []
    assert head(root) == before
    assert git(root, "status", "--porcelain") == ""


def test_a_zip_bomb_is_refused_before_anything_is_written(started, tmp_path):
    root, orch = started
    bomb = make_zip(tmp_path / "bomb.zip", [
        session_md("s-00000001"),
        ("s-00000001/artifacts/t-1/big.bin", bytes(40 * 2**20)),
    ])  # fmt: skip
    assert bomb.stat().st_size < 100_000
    before = head(root)
    err = orch("import", "zip", str(bomb), code=1).stderr
    assert "'s-00000001/artifacts/t-1/big.bin' unpacks to 40 MiB" in err
    assert "more than the 32 MiB a file of an import may have" in err
    nothing_imported(root, before)


def test_a_zip_larger_in_all_than_an_import_may_write_is_refused(started, tmp_path):
    root, orch = started
    files = [(f"s-00000001/artifacts/t-1/part{n}.bin", bytes(30 * 2**20)) for n in range(9)]
    big = make_zip(tmp_path / "big.zip", [session_md("s-00000001"), *files])
    before = head(root)
    err = orch("import", "zip", str(big), code=1).stderr
    assert "more than the 256 MiB one import may write" in err
    nothing_imported(root, before)


def test_a_zip_whose_entry_unpacks_to_more_than_it_declares_is_refused(started, tmp_path):
    root, orch = started
    liar = make_zip(tmp_path / "liar.zip", [
        session_md("s-00000001"), ("s-00000001/artifacts/t-1/big.bin", bytes(2**20)),
    ])  # fmt: skip
    # Both records of the entry's size (its local header and the central directory)
    # now say 10 bytes; the data still unpacks to 1 MiB.
    data = bytearray(liar.read_bytes())
    local = data.rindex(b"PK\x03\x04", 0, data.index(b"big.bin"))
    central = data.rindex(b"PK\x01\x02", 0, data.rindex(b"big.bin"))
    data[local + 22 : local + 26] = (10).to_bytes(4, "little")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    liar.write_bytes(bytes(data))
    before = head(root)
    err = orch("import", "zip", str(liar), code=1).stderr
    assert "entry 's-00000001/artifacts/t-1/big.bin' cannot be unpacked" in err
    nothing_imported(root, before)


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        (("s-00000002//tmp/escaped.txt", b"x"),
         "entry 's-00000002//tmp/escaped.txt' has a path part '' orch does not write"),
        (("s-00000002/tasks/t-x.md", b"/etc/passwd"),
         "entry 's-00000002/tasks/t-x.md' is not a file (a link"),
        (("s-00000001/session.md", b"again"), "entry 's-00000001/session.md' is in the zip twice"),
        (("s-00000001/session.md/t-x.md", b"x"),
         "entry 's-00000001/session.md' is a file, and a folder of other entries"),
    ],
    ids=["absolute", "link", "twice", "file-and-folder"],
)  # fmt: skip
@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_zip_with_one_bad_entry_imports_nothing(started, tmp_path, bad, said):
    root, orch = started
    entries = [session_md("s-00000001"), ("s-00000001/notes.txt", b"kept?"), bad]
    bad_zip = make_zip(tmp_path / "bad.zip", entries, link=bad[0] if "a link" in said else None)
    before = head(root)
    err = orch("import", "zip", str(bad_zip), code=1).stderr
    assert said in err and "nothing was imported" in err
    nothing_imported(root, before)


# -- item 12: after a remote sync, "ours" is this clone's value -------------------------------


def titles_in_conflict(tmp_path: Path) -> tuple[Orch, Orch, str]:
    """Both clones retitle the shared task; A syncs first, then B (whose merge records
    the conflict), then A again (which receives B's merge)."""
    orch_a, orch_b, _, _, task_id = clone_pair(tmp_path)
    orch_a("task", "update", task_id, "--title", "Title from A")
    orch_b("task", "update", task_id, "--title", "Title from B")
    orch_a("sync", "--remote", "origin")
    orch_b("sync", "--remote", "origin")
    orch_a("sync", "--remote", "origin")
    return orch_a, orch_b, task_id


def test_after_a_remote_sync_ours_is_this_clones_value_in_both_clones(tmp_path):
    orch_a, orch_b, _ = titles_in_conflict(tmp_path)
    [in_a] = orch_a.json("conflicts")
    [in_b] = orch_b.json("conflicts")
    assert "ours 'Title from A', theirs 'Title from B'" in in_a["details"][0]
    assert "ours 'Title from B', theirs 'Title from A'" in in_b["details"][0]


@pytest.mark.parametrize(
    ("args", "kept_in_a"),
    [
        (["--strategy", "db_wins"], "Title from A"),
        (["--strategy", "md_wins"], "Title from B"),
        (["--strategy", "merge", "--pick", "title=ours"], "Title from A"),
        (["--strategy", "merge", "--pick", "title=theirs"], "Title from B"),
    ],
    ids=["db_wins", "md_wins", "pick-ours", "pick-theirs"],
)
def test_resolve_after_a_remote_sync_takes_sides_from_this_clone(tmp_path, args, kept_in_a):
    orch_a, _, task_id = titles_in_conflict(tmp_path)
    orch_a("resolve", task_id, *args)
    assert orch_a.json("task", "show", task_id)["title"] == kept_in_a
    assert orch_a.json("conflicts") == []


def test_the_clone_that_merged_keeps_its_own_side_with_db_wins(tmp_path):
    _, orch_b, task_id = titles_in_conflict(tmp_path)
    orch_b("resolve", task_id, "--strategy", "db_wins")
    assert orch_b.json("task", "show", task_id)["title"] == "Title from B"


def test_lines_both_clones_changed_resolve_from_this_clones_side(tmp_path):
    orch_a, orch_b, _, _, task_id = clone_pair(tmp_path)
    orch_a("task", "update", task_id, "--description", "From A.")
    orch_b("task", "update", task_id, "--description", "From B.")
    orch_a("sync", "--remote", "origin")
    orch_b("sync", "--remote", "origin")
    orch_a("sync", "--remote", "origin")
    [conflict] = orch_a.json("conflicts")
    assert conflict["text_conflict"]
    orch_a("resolve", task_id, "--strategy", "db_wins")
    assert orch_a.json("task", "show", task_id)["description"].strip() == "From A."
