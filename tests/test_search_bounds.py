"""Search over a pasted log (issue 15, item 9): a body of a megabyte repeating the word
searched for is found, with a short snippet, and the work a snippet costs does not grow
with the number of hits. No test here times anything: each counts the work done."""

from __future__ import annotations

import re
import sqlite3

from mcp import Client

from orchestrator.core.search import search, snippet
from orchestrator.core.sessions import create_session
from orchestrator.core.tasks import add_task
from orchestrator.core.views import add_note
from orchestrator.mcp.server import build_server
from tests.test_mcp import run

MEGABYTE = 2**20
# A snippet is a dozen words from a window of a few hundred characters around the hit;
# 1,000 characters is far above that and far below any body here.
SNIPPET_CHARS = 1000


def pasted_log(size: int, tail: str = "") -> str:
    """About `size` characters of log, "error" every third word, then `tail`."""
    line = "10:00:01 error error retry 7 error refused\n"
    return line * (size // len(line)) + tail


class Counted:
    """A compiled pattern that counts the searches asked of it."""

    def __init__(self, pattern: re.Pattern):
        self.pattern, self.searches = pattern, 0

    def search(self, *args):
        self.searches += 1
        return self.pattern.search(*args)


def test_a_snippet_searches_a_bounded_number_of_words_whatever_the_text():
    # The hit is the last of 300,000 words: cutting the snippet must not test them all.
    text = "word " * 300_000 + "needle after the haystack"
    counted = Counted(re.compile(r"(?<![^\W_])needle", re.I))
    shown = snippet(text, [counted])
    assert "**needle**" in shown and shown.startswith("…")
    assert len(shown) <= SNIPPET_CHARS
    assert counted.searches <= 1 + 12  # the first hit, then one per word shown


def test_a_snippet_of_a_text_full_of_hits_is_a_dozen_words():
    shown = snippet(pasted_log(MEGABYTE), [re.compile(r"(?<![^\W_])error", re.I)])
    assert shown.startswith("10:00:01 **error** **error** retry 7 **error** refused")
    assert shown.endswith("…") and len(shown.split()) == 12


def test_sqlite_does_not_ask_fts5_for_snippets(sqlite_project, monkeypatch):
    # FTS5's snippet() scores every hit of a column against every other: a body of
    # 100,000 hits held a search for minutes. bm25 and MATCH are linear; snippets are
    # cut in Python from a window (the tests above).
    project = sqlite_project
    create_session(project, "logs")
    add_task(project, "Flaky upload", description=pasted_log(20_000))
    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args, **kwargs):
        con = connect(*args, **kwargs)
        con.set_trace_callback(statements.append)
        return con

    monkeypatch.setattr(sqlite3, "connect", traced)
    found = search(project, "error")
    assert [t["title"] for t in found["tasks"]] == ["Flaky upload"]
    assert any("MATCH" in s for s in statements)
    assert not [s for s in statements if re.search(r"\b(snippet|highlight)\s*\(", s, re.I)]


def test_a_megabyte_log_is_found_with_a_short_snippet(project):
    create_session(project, "logs")
    log = add_task(project, "Flaky upload: the log",
                   description=pasted_log(MEGABYTE, "the needle at the end"))  # fmt: skip
    add_task(project, "Error budget for uploads")
    add_task(project, "Write the changelog", description="Nothing to do with logs.")
    found = search(project, "error")
    assert {t["title"] for t in found["tasks"]} == {"Flaky upload: the log", "Error budget for uploads"}  # fmt: skip
    by_title = {t["title"]: t["snippet"] for t in found["tasks"]}
    shown = by_title["Flaky upload: the log"]
    assert shown.startswith("10:00:01 **error** **error** retry") and len(shown) <= SNIPPET_CHARS
    assert by_title["Error budget for uploads"] == "**Error** budget for uploads"
    needle = search(project, "needle")["tasks"]
    assert [t["task_id"] for t in needle] == [log["task_id"]]
    assert needle[0]["snippet"].startswith("…") and "**needle** at the end" in needle[0]["snippet"]
    assert search(project, "error refused needle")["task_total"] == 1


def test_a_megabyte_note_is_found_with_a_short_snippet(project):
    create_session(project, "logs")
    add_note(project, "learning", pasted_log(MEGABYTE).replace("\n", " ") + "then a needle")
    notes = search(project, "needle", content_types="notes")["notes"]
    assert len(notes) == 1 and notes[0]["kind"] == "learning"
    assert "**needle**" in notes[0]["snippet"] and len(notes[0]["snippet"]) <= SNIPPET_CHARS
    assert len(notes[0]["text"]) <= SNIPPET_CHARS


def test_mcp_search_over_a_megabyte_log_answers(project):
    create_session(project, "logs")
    add_task(project, "Flaky upload: the log", description=pasted_log(MEGABYTE))

    async def go():
        async with Client(build_server(project.root), read_timeout_seconds=600) as client:
            return await client.call_tool("orchestrator_search", {"query": "error refused"})

    result = run(go())
    assert not result.is_error, result.content[0].text
    (task,) = result.structured_content["tasks"]
    assert "**refused**" in task["snippet"] and len(task["snippet"]) <= SNIPPET_CHARS
