"""`orch ui` in a real browser: Debian's Chromium driven by Playwright, against the board
served by uvicorn in this process, on a copy of the sample project in a real git
repository. Every edit is checked where it must land: in the file and in a commit.

The browser tests are skipped where Chromium or Playwright is missing (.ci/run installs
both, and fails rather than skips them); the HTTP tests of the guard run everywhere. The
default run keeps the board's core (open, drag, a refused move, a hand edit live, the
graph and search pages); the rest run in .ci/run's slow step (`pytest -m slow`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from orchestrator.core import tasks
from orchestrator.core.project import Project
from orchestrator.errors import InvalidTransition
from orchestrator.ui.server import running
from tests.conftest import copy_sample, edit, task_file

CHROMIUM = os.environ.get("ORCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = os.environ.get("ORCH_UI_SHOTS")  # a folder to keep the screenshots in
READY = "t-b32e640a"  # "Card provider adapter": pending, nothing open before it
WAITING = "t-9b74302b"  # "Refunds endpoint": waits on t-2a0ccfff, in progress
WAIT = 10_000  # ms; a bound for a loaded machine, not a speed target (bench/ui.py has those)


def browser_ready() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists()


# .ci/run sets ORCH_REQUIRE_BROWSER: there a missing browser fails the tests, never skips them.
REQUIRED = bool(os.environ.get("ORCH_REQUIRE_BROWSER"))
needs_browser = pytest.mark.skipif(not browser_ready() and not REQUIRED,
                                   reason="no Chromium or Playwright here")  # fmt: skip


@pytest.fixture
def board_project(tmp_path) -> Project:
    project = copy_sample(tmp_path / "sample")
    with project.reading():
        pass  # indexed and committed before the page opens
    return project


@pytest.fixture
def served(board_project):
    with running(board_project.root) as served:
        yield served


@pytest.fixture(scope="module")
def browser():
    if not browser_ready():
        if REQUIRED:
            pytest.fail(
                f"ORCH_REQUIRE_BROWSER is set but Chromium ({CHROMIUM}) or Playwright is missing"
            )
        pytest.skip("no Chromium or Playwright here")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, served):
    context = browser.new_context(viewport={"width": 1500, "height": 950})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(served.url)
    page.wait_for_selector("body[data-live=on]", timeout=WAIT)  # live before anything changes
    page.wait_for_selector(".card", timeout=WAIT)
    yield page
    context.close()
    assert errors == [], errors  # the page's script raised nothing


def shot(page, tmp_path: Path, name: str) -> Path:
    folder = Path(SHOTS) if SHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 10_000  # a drawn page, not a blank one
    return path


def last_commit(project: Project) -> str:
    return subprocess.run(["git", "log", "-1", "--format=%B"], cwd=project.root,
                          capture_output=True, text=True, check=True).stdout  # fmt: skip


def commits(project: Project) -> int:
    out = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=project.root,
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return int(out)


def status_in_file(project: Project, task_id: str) -> str:
    text = task_file(project, task_id).read_text(encoding="utf-8")
    return next(
        line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("status:")
    )


def card(page, task_id: str):
    return page.locator(f'.card[data-task-id="{task_id}"]')


@needs_browser
def test_the_board_shows_the_active_session_as_columns_by_status(page, board_project, tmp_path):
    columns = page.locator(".column[data-status]")
    assert columns.evaluate_all("cs => cs.map(c => c.dataset.status)") == [
        "pending", "in_progress", "blocked", "needs_revision", "failed", "completed", "cancelled",
    ]  # fmt: skip
    listed = {t["task_id"]: t["status"] for t in tasks.list_tasks(board_project)}
    shown = page.locator(".card[data-task-id]").evaluate_all(
        "cs => cs.map(c => [c.dataset.taskId, c.closest('.column').dataset.status])"
    )
    assert dict(shown) == listed  # every task of the session, each in its status's column
    ready = card(page, READY)
    assert "ready" in ready.get_attribute("class")
    assert "backend_engineer" in ready.inner_text() and "3h" in ready.inner_text()
    waiting = card(page, WAITING)
    assert "waits on" in waiting.inner_text() and "Payment intents endpoint" in waiting.inner_text()
    assert page.locator("#session-picker option").count() == 2
    assert "9 of 25 done" in page.locator(".board-head").inner_text()
    shot(page, tmp_path, "board.png")


@needs_browser
def test_dragging_a_card_to_completed_writes_the_file_and_commits(page, board_project):
    before = commits(board_project)
    card(page, READY).drag_to(page.locator('.column[data-status="completed"] h2'))
    page.wait_for_selector(f'.column[data-status="completed"] .card[data-task-id="{READY}"][data-status=completed]',
                           timeout=WAIT)  # fmt: skip
    from playwright.sync_api import (
        expect,
    )  # polls in Playwright's own world: no eval in the page's CSP

    expect(page.locator(f'.card[data-task-id="{READY}"] .card-error')).to_have_count(0)
    assert status_in_file(board_project, READY) == "completed"
    assert commits(board_project) == before + 1  # one commit, as `orch task update` makes
    message = last_commit(board_project)
    assert f"Orch-Task: {READY}" in message and "Orch-Op: update" in message


@pytest.mark.slow  # in .ci/run's slow step: the suite keeps to 5 minutes
@needs_browser
def test_the_status_control_moves_a_card_for_keyboard_users(page, board_project):
    before = commits(board_project)
    control = card(page, READY).locator(".status-button")
    control.focus()
    page.keyboard.press("Enter")  # opens the menu, focus on its first status
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    assert commits(board_project) == before  # looking through the statuses moves nothing
    assert page.evaluate("document.activeElement.dataset.status") == "in_progress"
    page.keyboard.press("Enter")
    page.wait_for_selector(
        f'.column[data-status="in_progress"] .card[data-task-id="{READY}"][data-status=in_progress]',
        timeout=WAIT,
    )
    assert status_in_file(board_project, READY) == "in_progress"
    assert commits(board_project) == before + 1
    assert f"Orch-Task: {READY}" in last_commit(board_project)
    # Focus is back on the card's control, for the next move.
    from playwright.sync_api import (
        expect,
    )  # polls in Playwright's own world: no eval in the page's CSP

    expect(card(page, READY).locator(".status-button")).to_be_focused(timeout=WAIT)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    assert page.locator(".status-menu").count() == 0


@needs_browser
def test_a_refused_move_shows_the_cores_message_on_the_card(page, board_project):
    before = commits(board_project)
    card(page, WAITING).drag_to(page.locator('.column[data-status="completed"] h2'))
    note = page.locator(f'.card[data-task-id="{WAITING}"] .card-error')
    note.wait_for(timeout=WAIT)
    with pytest.raises(InvalidTransition) as refused:  # what the CLI would say
        tasks.update_task(board_project, WAITING, status="completed")
    assert note.locator(".message").inner_text() == str(refused.value)
    # Back in its own column, nothing written or committed.
    assert card(page, WAITING).evaluate("c => c.closest('.column').dataset.status") == "pending"
    assert status_in_file(board_project, WAITING) == "pending"
    assert commits(board_project) == before
    # The hint is the forced move: offered as a button, it completes the task.
    note.locator("button.force").click()
    page.wait_for_selector(f'.column[data-status="completed"] .card[data-task-id="{WAITING}"][data-status=completed]',
                           timeout=WAIT)  # fmt: skip
    assert status_in_file(board_project, WAITING) == "completed"


@needs_browser
def test_a_hand_edit_shows_in_the_open_page_without_a_reload(page, board_project):
    page.evaluate("window.__kept = 1")  # gone if the page reloads
    edit(task_file(board_project, READY), "title: Card provider adapter",
         "title: Card provider adapter, edited by hand")  # fmt: skip
    card(page, READY).get_by_text("edited by hand").wait_for(timeout=WAIT)
    assert page.evaluate("window.__kept") == 1


@pytest.mark.slow  # seven pages: in .ci/run's slow step
@needs_browser
def test_seven_tabs_share_one_event_stream_and_all_stay_live(browser, served, board_project):
    """A browser keeps six connections to one server: a stream per tab would hang the
    seventh tab and every request after it."""
    context = browser.new_context()
    tabs = []
    for _ in range(7):
        tab = context.new_page()
        tab.goto(served.url)
        tab.wait_for_selector("body[data-live=on]", timeout=WAIT)
        tabs.append(tab)
    last = tabs[-1]
    last.locator(f'.card[data-task-id="{READY}"] .status-button').click()
    last.locator('.status-menu button[data-status="blocked"]').click()
    for tab in tabs:
        tab.wait_for_selector(f'.column[data-status=blocked] .card[data-task-id="{READY}"]'
                              "[data-status=blocked]", timeout=WAIT)  # fmt: skip
    assert status_in_file(board_project, READY) == "blocked"
    context.close()


@pytest.mark.slow  # in .ci/run's slow step: the suite keeps to 5 minutes
@needs_browser
def test_a_cli_write_shows_live_too(page, board_project):
    other = Project(board_project.root)  # another process's view of the project
    tasks.update_task(other, READY, status="blocked")
    page.wait_for_selector(f'.column[data-status="blocked"] .card[data-task-id="{READY}"][data-status=blocked]',
                           timeout=WAIT)  # fmt: skip
    # Labels, the assignee and a due date come live too; a date gone by is marked overdue.
    from playwright.sync_api import expect

    tasks.update_task(other, READY, labels=["bug"], assignee="ana", due="2000-01-31")
    overdue = page.locator(f'.card[data-task-id="{READY}"] .due.overdue')
    expect(overdue).to_have_text("due 2000-01-31", timeout=WAIT)
    assert "@ana" in card(page, READY).inner_text()
    assert card(page, READY).locator(".label").all_inner_texts() == ["bug"]


@pytest.mark.slow  # in .ci/run's slow step: the suite keeps to 5 minutes
@needs_browser
def test_the_task_page_renders_its_text_links_and_history(page, board_project):
    card(page, WAITING).locator("a.title").click()
    page.wait_for_selector(f'.task-page[data-task-id="{WAITING}"]', timeout=WAIT)
    text = page.locator(".task-page").inner_text()
    assert "Refunds endpoint" in text
    assert page.locator(".related a.task-link", has_text="Payment intents endpoint").count() == 1
    assert page.locator(".history li").count() >= 1
    # Edit the title from the page: the file and a commit change.
    page.locator("#edit-task").click()
    page.locator(".edit-form input[name=title]").fill("Refunds endpoint (v2)")
    page.locator(".edit-form button[type=submit]").click()
    page.wait_for_selector(".task-title:has-text('Refunds endpoint (v2)')", timeout=WAIT)
    assert "title: Refunds endpoint (v2)" in task_file(board_project, WAITING).read_text()
    assert f"Orch-Task: {WAITING}" in last_commit(board_project)


@pytest.mark.slow  # in .ci/run's slow step: the suite keeps to 5 minutes
@needs_browser
def test_a_task_added_from_the_board_lands_in_a_file_and_a_commit(page, board_project):
    page.locator("#add-task").click()
    form = page.locator("#add-form")
    form.locator("input[name=title]").fill("Rate-limit the refunds endpoint")
    form.locator("input[name=estimated_effort]").fill("2h")
    form.locator("button[type=submit]").click()
    page.get_by_text("Rate-limit the refunds endpoint").first.wait_for(timeout=WAIT)
    (added,) = [t for t in tasks.list_tasks(board_project) if t["title"].startswith("Rate-limit")]
    assert added["estimated_effort"] == 2
    assert f"Orch-Task: {added['task_id']}" in last_commit(board_project)


@needs_browser
def test_the_graph_page_draws_the_dependencies_with_ready_tasks_marked(page, tmp_path):
    page.locator("[data-nav=graph]").click()
    page.wait_for_selector(".graph svg", timeout=WAIT)
    nodes = page.locator(".graph svg [data-task-id]")
    assert nodes.count() == 25
    assert page.locator(f'.graph svg .ready[data-task-id="{READY}"]').count() == 1
    assert page.locator(".graph svg .edge").count() > 0
    shot(page, tmp_path, "graph.png")


@needs_browser
def test_the_search_box_finds_tasks_with_snippets(page):
    page.locator("#search-box").fill("refunds")
    page.locator("#search-box").press("Enter")
    page.wait_for_selector(".search-page .hit", timeout=WAIT)
    hits = page.locator(".search-page .hit[data-task-id]")
    assert hits.count() >= 2
    assert page.locator(".search-page mark").first.inner_text().lower().startswith("refund")


@pytest.mark.slow  # in .ci/run's slow step: the suite keeps to 5 minutes
@needs_browser
def test_the_sessions_page_offers_the_allowed_transitions(page, board_project):
    page.locator("[data-nav=sessions]").click()
    paused = page.locator('.session[data-session-id="s-f626d0c8"]')
    paused.wait_for(timeout=WAIT)
    assert sorted(paused.locator(".transitions button").evaluate_all(
        "bs => bs.map(b => b.dataset.status)")) == ["active", "archived", "cancelled"]  # fmt: skip
    paused.locator('button[data-status="active"]').click()
    page.wait_for_selector(
        '.session[data-session-id="s-f626d0c8"] .pill.status-active', timeout=WAIT
    )
    assert (
        "status: active"
        in (board_project.layout.sessions_dir / "s-f626d0c8" / "session.md").read_text()
    )


def request(url: str, method: str = "GET", headers: dict | None = None, body=None, raw=None):
    data = raw if raw is not None else json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def with_token(served) -> dict:
    return {"Cookie": f"orch_ui_token_{served.port}={served.token}"}


def test_a_foreign_host_is_refused(served):
    api = f"{served.base}api/board"
    assert request(api, headers=with_token(served))[0] == 200
    status, answer = request(
        api, headers=with_token(served) | {"Host": f"evil.example:{served.port}"}
    )
    assert status == 403 and "DNS rebinding" in answer["error"]
    assert request(api, headers=with_token(served) | {"Host": f"localhost:{served.port}"})[0] == 200


def test_every_request_needs_the_token_even_on_loopback(served):
    """Another user of the machine, or any process, reaches loopback too."""
    api = f"{served.base}api/board"
    status, answer = request(api)
    assert status == 401 and "token" in answer["error"]
    assert request(f"{api}?token=wrong")[0] == 401
    assert request(f"{api}?token={served.token}")[0] == 200
    assert request(api, headers=with_token(served))[0] == 200
    # The cookie is the board's own: another board's (another port) is no token here.
    other = {"Cookie": f"orch_ui_token_{served.port + 1}={served.token}"}
    assert request(api, headers=other)[0] == 401


def test_a_write_from_another_origin_is_refused_and_changes_nothing(served, board_project):
    url = f"{served.base}api/task/{READY}/status"
    json_body = with_token(served) | {"Content-Type": "application/json"}
    status, answer = request(
        url, "POST", json_body | {"Origin": "http://evil.example"}, {"status": "completed"}
    )
    assert status == 403 and "another site" in answer["error"]
    status, _ = request(url, "POST", with_token(served) | {"Content-Type": "text/plain"},
                        {"status": "completed"})  # fmt: skip
    assert status == 415  # what a plain HTML form could send
    assert status_in_file(board_project, READY) == "pending"
    own = {"Origin": f"http://127.0.0.1:{served.port}"}
    status, answer = request(url, "POST", json_body | own, {"status": "completed"})
    assert status == 200 and answer["data"]["status"] == "completed"


@pytest.mark.parametrize(
    ("path", "method", "body", "says"),
    [
        (f"task/{WAITING}/status", "POST", {"status": "in_progress", "force": "false"}, "force must be true or false"),
        (f"task/{WAITING}/status", "POST", {"status": None}, "status is required"),
        ("tasks", "POST", {"title": ["x"]}, "title must be text"),
        ("tasks", "POST", {"title": "x", "group": 5}, "group must be text"),
        ("tasks", "POST", {"title": "x", "priority_level": "1"}, "priority_level must be a whole number"),
        (f"task/{READY}", "PATCH", {"title": 5}, "title must be text"),
        (f"task/{READY}", "PATCH", {"description": ["x"]}, "description must be text"),
    ],
)  # fmt: skip
def test_a_write_of_the_wrong_type_is_refused_with_what_to_send(
    served, board_project, path, method, body, says
):
    before = commits(board_project)
    headers = with_token(served) | {"Content-Type": "application/json"}
    status, answer = request(f"{served.base}api/{path}", method, headers, body)
    assert status == 422 and says in answer["error"]
    assert commits(board_project) == before


def test_a_huge_or_deep_body_is_refused_unread(served):
    """The size a body announces is refused before a byte of it is read: the client here
    sends the headers and 100 bytes of a 2 MB body, and still gets its answer (a client
    that keeps sending after the refusal meets a closed connection, as HTTP allows)."""
    with socket.create_connection((served.host, served.port), timeout=30) as conn:
        conn.sendall(
            f"POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
            f"Cookie: orch_ui_token_{served.port}={served.token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n".encode()
            + b'{"title": "'
            + b"x" * 89
        )
        answer = b""
        while got := conn.recv(65536):  # the server closes: the rest of the body is unwanted
            answer += got
    assert answer.startswith(b"HTTP/1.1 422") and b"over 1,000,000 bytes" in answer
    headers = with_token(served) | {"Content-Type": "application/json"}
    status, answer = request(f"{served.base}api/tasks", "POST", headers, raw=b"[" * 100_000)
    assert status == 422 and "not JSON" in answer["error"]


def test_an_edit_made_from_an_old_text_is_refused_and_loses_nothing(served, board_project):
    """An agent's report lands while a person's editor form is open: the form's save must
    not erase it."""
    shown = tasks.show_task(board_project, READY)["description"]
    path = task_file(board_project, READY)
    path.write_text(path.read_text() + "\n## Results\n\n- AGENT RESULT\n")
    headers = with_token(served) | {"Content-Type": "application/json"}
    body = {"description": "my rewrite", "description_was": shown}
    status, answer = request(f"{served.base}api/task/{READY}", "PATCH", headers, body)
    assert status == 409 and "changed since it was opened" in answer["error"]
    assert "AGENT RESULT" in path.read_text()
    # Only the title changed in the form: the text is not sent, the agent's result stays.
    status, answer = request(
        f"{served.base}api/task/{READY}", "PATCH", headers, {"title": "Renamed"}
    )
    assert status == 200
    assert "AGENT RESULT" in path.read_text() and "title: Renamed" in path.read_text()


def test_a_board_on_another_loopback_address_answers_its_own_host(board_project):
    with running(board_project.root, host="127.0.0.2") as served:
        assert served.base == f"http://127.0.0.2:{served.port}/"
        assert request(f"{served.base}api/sessions", headers=with_token(served))[0] == 200


def test_beyond_loopback_the_host_may_be_any_but_the_token_is_needed(board_project):
    with running(board_project.root, host="0.0.0.0") as served:
        bare = f"http://127.0.0.1:{served.port}/api/board"
        assert request(bare)[0] == 401
        named = with_token(served) | {"Host": f"my-laptop.local:{served.port}"}
        assert request(bare, headers=named)[0] == 200


def start_orch_ui(root: Path, *args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "ui", "--no-open", "--port", "0", *args],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    return process, process.stdout.readline().strip()


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)  # Ctrl-C
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return err


@pytest.mark.slow  # in .ci/run's slow step: the suite keeps to 5 minutes
@needs_browser
def test_orch_ui_prints_its_url_first_and_ctrl_c_stops_it_cleanly_with_a_page_open(
    board_project, browser
):
    process, first = start_orch_ui(board_project.root)
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[\w-]+", first), first
        context = browser.new_context()
        page = context.new_page()
        page.goto(first)
        page.wait_for_selector("body[data-live=on]", timeout=WAIT)  # an event stream open
    finally:
        err = stop(process)
    context.close()
    assert "Traceback" not in err and "ERROR" not in err, err  # the stream ended, not cancelled


def test_orch_ui_beyond_loopback_warns_and_says_the_other_addresses(board_project):
    process, first = start_orch_ui(board_project.root, "--host", "0.0.0.0")
    try:
        assert first.startswith("http://127.0.0.1:") and "?token=" in first
        port, token = int(first.split(":")[2].split("/")[0]), first.split("token=")[1]
        assert request(f"http://127.0.0.1:{port}/api/sessions?token={token}")[0] == 200
    finally:
        err = stop(process)
    assert "warning: serving beyond loopback" in err
