"""A task's artifacts (core/artifacts.py): listed and read as every adapter serves them,
never outside the task's folder, never through a link, never a FIFO."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestrator.core.artifacts import (
    TEXT_LIMIT,
    artifact_files,
    artifact_path,
    artifacts_of,
    file_text,
    mime_of,
)
from orchestrator.core.project import Project
from orchestrator.core.sessions import create_session
from orchestrator.core.subtasks import complete_subtask
from orchestrator.core.tasks import add_task
from orchestrator.errors import InvalidInput, NotFound, PathOutsideProject


@pytest.fixture
def task(sqlite_project: Project) -> dict:
    create_session(sqlite_project, "Reports")
    return add_task(sqlite_project, "Write the report")


def folder_of(project: Project, task: dict) -> Path:
    folder = project.layout.artifacts_dir(task["session_id"], task["task_id"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_report_left_by_completing_a_task_is_listed_and_read(sqlite_project, task):
    done = complete_subtask(sqlite_project, task["task_id"], "ok", detailed_work="All of it.",
                            artifact_type="design")  # fmt: skip
    name = Path(done["artifact"]).name
    [listed] = artifacts_of(sqlite_project, task["task_id"])
    assert listed["name"] == name and listed["mime"] == "text/markdown"
    path = artifact_path(sqlite_project, task["task_id"], name)
    assert listed["size"] == path.stat().st_size
    assert "All of it." in file_text(sqlite_project, path)


def test_the_listing_names_every_regular_file_with_subfolders_sorted(sqlite_project, task):
    folder = folder_of(sqlite_project, task)
    (folder / "b.json").write_text("{}")
    (folder / "a.md").write_text("# A\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "x.md").write_text("x")
    assert artifacts_of(sqlite_project, task["task_id"]) == [
        {"name": "a.md", "size": 4, "mime": "text/markdown"},
        {"name": "b.json", "size": 2, "mime": "application/json"},
        {"name": "sub/x.md", "size": 1, "mime": "text/markdown"},
    ]
    assert (
        file_text(sqlite_project, artifact_path(sqlite_project, task["task_id"], "sub/x.md")) == "x"
    )


def test_a_task_with_no_artifacts_lists_none(sqlite_project, task):
    assert artifacts_of(sqlite_project, task["task_id"]) == []


def test_an_unknown_task_is_not_found(sqlite_project, task):
    with pytest.raises(NotFound, match="no task"):
        artifacts_of(sqlite_project, "t-00000000")
    with pytest.raises(NotFound, match="no task"):
        artifact_path(sqlite_project, "t-00000000", "a.md")


def test_a_name_with_dot_dot_is_refused(sqlite_project, task):
    folder = folder_of(sqlite_project, task)
    (folder.parent / "t-other").mkdir()
    (folder.parent / "t-other" / "x.md").write_text("another task's")
    for name in ("../t-other/x.md", "../../session.md", "/etc/passwd"):
        with pytest.raises(PathOutsideProject, match="points outside"):
            artifact_path(sqlite_project, task["task_id"], name)


def test_a_symlink_is_not_listed_and_not_followed_out(sqlite_project, task, tmp_path):
    folder = folder_of(sqlite_project, task)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for agents")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "y.md").write_text("y")
    (folder / "real.md").write_text("r")
    (folder / "link.txt").symlink_to(secret)
    (folder / "linked").symlink_to(tmp_path / "elsewhere")
    assert [a["name"] for a in artifacts_of(sqlite_project, task["task_id"])] == ["real.md"]
    for name in ("link.txt", "linked/y.md"):
        with pytest.raises(PathOutsideProject):
            artifact_path(sqlite_project, task["task_id"], name)


def test_a_linked_artifacts_folder_lists_nothing_and_serves_nothing(sqlite_project, task, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "z.md").write_text("z")
    folder = sqlite_project.layout.artifacts_dir(task["session_id"], task["task_id"])
    folder.parent.mkdir(parents=True)
    folder.symlink_to(outside)
    assert artifacts_of(sqlite_project, task["task_id"]) == []
    with pytest.raises(PathOutsideProject):
        artifact_path(sqlite_project, task["task_id"], "z.md")


def test_a_fifo_is_refused_and_not_listed(sqlite_project, task):
    folder = folder_of(sqlite_project, task)
    os.mkfifo(folder / "pipe.md")
    assert artifacts_of(sqlite_project, task["task_id"]) == []
    path = artifact_path(sqlite_project, task["task_id"], "pipe.md")
    with pytest.raises(InvalidInput, match=r"pipe\.md is not a regular file"):
        file_text(sqlite_project, path)


def test_a_folder_and_a_missing_file_are_refused(sqlite_project, task):
    folder = folder_of(sqlite_project, task)
    (folder / "sub").mkdir()
    with pytest.raises(InvalidInput, match="is not a regular file"):
        file_text(sqlite_project, artifact_path(sqlite_project, task["task_id"], "sub"))
    with pytest.raises(NotFound, match=r"gone\.md does not exist"):
        file_text(sqlite_project, artifact_path(sqlite_project, task["task_id"], "gone.md"))


def test_a_binary_file_is_returned_as_bytes(sqlite_project, task):
    folder = folder_of(sqlite_project, task)
    (folder / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    path = artifact_path(sqlite_project, task["task_id"], "image.png")
    assert file_text(sqlite_project, path) == b"\x89PNG\r\n\x1a\n\xff\xfe"


def test_a_zip_is_bytes_whatever_it_holds(sqlite_project, task):
    folder = folder_of(sqlite_project, task)
    (folder / "export.zip").write_bytes(b"PK plain ascii")
    path = artifact_path(sqlite_project, task["task_id"], "export.zip")
    assert mime_of(path) == "application/zip"
    assert file_text(sqlite_project, path) == b"PK plain ascii"


def test_a_long_text_is_cut_at_the_limit_and_says_how_much_is_left(sqlite_project, task):
    folder = folder_of(sqlite_project, task)
    (folder / "long.md").write_text("a" * (TEXT_LIMIT + 10))
    text = file_text(sqlite_project, artifact_path(sqlite_project, task["task_id"], "long.md"))
    assert isinstance(text, str) and text.startswith("a" * TEXT_LIMIT)
    assert text.endswith("long.md: 10 bytes]")


def test_the_listing_of_a_task_looked_up_already_is_the_same(sqlite_project, task):
    (folder_of(sqlite_project, task) / "a.md").write_text("a")
    assert artifact_files(sqlite_project, task["session_id"], task["task_id"]) == artifacts_of(
        sqlite_project, task["task_id"]
    )


def test_the_mcp_server_serves_and_links_artifacts_by_the_same_rules(sqlite_project, task):
    from mcp.shared.exceptions import MCPError

    from orchestrator.mcp.server import build_server
    from tests.mcp_agent import Agent, connected

    first = task["task_id"]
    done = complete_subtask(sqlite_project, first, "ok", detailed_work="The design.")
    os.mkfifo(folder_of(sqlite_project, task) / "pipe.md")
    after = add_task(sqlite_project, "Build on it", depends_on=[first])["task_id"]
    name = Path(done["artifact"]).name

    async def body(agent: Agent):
        client = agent.client
        started = await client.call_tool("orchestrator_execute_subtask", {"task_id": after})
        links = {str(c.uri) for c in started.content if c.type == "resource_link"}
        assert {f"orch://artifact/{first}/{name}"} == {u for u in links if "artifact" in u}
        report = (await client.read_resource(f"orch://artifact/{first}/{name}")).contents[0]
        assert report.mime_type == "text/markdown" and "The design." in report.text
        with pytest.raises(MCPError, match="points outside"):
            await client.read_resource(f"orch://artifact/{first}/../../session.md")
        with pytest.raises(MCPError, match=r"pipe\.md is not a regular file"):
            await client.read_resource(f"orch://artifact/{first}/pipe.md")
        with pytest.raises(MCPError, match="no task"):
            await client.read_resource("orch://artifact/t-00000000/x.md")

    connected(build_server(sqlite_project.root), body)
