"""The spec's session state machine, every pair of statuses."""

from __future__ import annotations

import pytest

from orchestrator.core import sessions
from orchestrator.errors import ActiveSessionExists, InvalidTransition
from orchestrator.model import allowed_values, session_transitions
from tests.conftest import edit

SPEC = {  # the spec's ALLOWED_TRANSITIONS, written out again on purpose
    "creating": {"active", "cancelled"},
    "active": {"paused", "completed", "cancelled"},
    "paused": {"active", "archived", "cancelled"},
    "completed": {"archived"},
    "archived": {"active"},
    "cancelled": {"archived"},
    "error": {"active", "cancelled"},
}
TARGETS = ["active", "paused", "completed", "cancelled", "archived"]  # what commands move to


def test_the_schema_holds_the_spec_transitions():
    assert {k: set(v) for k, v in session_transitions().items()} == SPEC
    assert set(allowed_values("session", "status")) == set(SPEC)


def session_in(project, status: str) -> str:
    """A session whose file says `status` (set by hand, as a person could)."""
    row = sessions.create_session(project, f"In {status}")
    path = project.layout.session_dir(row["session_id"]) / "session.md"
    edit(path, "status: active", f"status: {status}")
    return row["session_id"]


@pytest.mark.parametrize("start", sorted(SPEC))
@pytest.mark.parametrize("target", TARGETS)
def test_transition(sqlite_project, start, target):
    session_id = session_in(sqlite_project, start)
    if start == target:
        row = sessions.change_status(sqlite_project, session_id, target)
        assert row["status"] == start
        assert f"is already {target}" in sqlite_project.warnings[-1]
    elif target in SPEC[start]:
        row = sessions.change_status(sqlite_project, session_id, target)
        assert row["status"] == target
    else:
        with pytest.raises(InvalidTransition) as refused:
            sessions.change_status(sqlite_project, session_id, target)
        allowed = ", ".join(sorted(SPEC[start]))
        message = str(refused.value)
        assert f"it is {start}; from {start} a session can go to:" in message
        for status in allowed.split(", "):
            assert status in message
        assert sessions.show_session(sqlite_project, session_id)["status"] == start


def test_activating_a_session_pauses_the_active_one(sqlite_project):
    first = sessions.create_session(sqlite_project, "First")
    second = sessions.create_session(sqlite_project, "Second", switch=True)
    assert sessions.show_session(sqlite_project, first["session_id"])["status"] == "paused"
    sessions.change_status(sqlite_project, first["session_id"], "active")
    statuses = {r["session_id"]: r["status"] for r in sessions.list_sessions(sqlite_project)}
    assert statuses == {first["session_id"]: "active", second["session_id"]: "paused"}


def test_at_most_one_session_is_active(sqlite_project):
    sessions.create_session(sqlite_project, "First")
    with pytest.raises(ActiveSessionExists):
        sessions.create_session(sqlite_project, "Second")
    assert [r["status"] for r in sessions.list_sessions(sqlite_project)] == ["active"]


def test_transitions_stamp_their_times(sqlite_project):
    row = sessions.create_session(sqlite_project, "S")
    assert row["activated_at"] == row["created_at"]
    row = sessions.change_status(sqlite_project, row["session_id"], "completed")
    assert row["completed_at"] >= row["created_at"]
    row = sessions.change_status(sqlite_project, row["session_id"], "archived")
    assert row["archived_at"] >= row["completed_at"]


def test_completing_a_session_with_open_tasks_warns(sqlite_project):
    from orchestrator.core import tasks

    row = sessions.create_session(sqlite_project, "S")
    tasks.add_task(sqlite_project, "Open")
    sessions.change_status(sqlite_project, row["session_id"], "completed")
    assert "1 task(s) of" in sqlite_project.warnings[-1]
