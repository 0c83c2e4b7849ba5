"""The board (`orch ui`) on a big session, in a real browser.

    python bench/ui.py --tasks 2000 10000 --runs 11 [--no-append]

A project of each --tasks size, all its tasks in one session (bench/generate.py), served by `orch ui`'s
server in this process, opened in Debian's Chromium through Playwright. Medians of --runs:

- open: from the navigation's start to the first frame painted with the seven columns
  and their first page of cards, timed in the page (a new browser context each run: no
  cache); beside it the same as Playwright sees it, which adds its polling;
- the board's JSON (`GET /api/board`), from another client;
- show more: a column's next page, from the click to the cards drawn;
- move: a status picked in a card's status menu, to the card shown in its new column with
  the status the server committed (the file written and the commit made before the
  answer); the server's own time for the POST is given beside it;
- live: a task file saved by hand, to its new title shown in the open page.

Targets (issue 19): usable within 1 s of opening; a move committed and shown within 300 ms;
an outside edit shown within 1 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from cli_reads import add_size, append_results, section_header
from generate import generate

from orchestrator.core.kanban import PAGE
from orchestrator.core.project import Project
from orchestrator.ui.server import running

CHROMIUM = "/usr/bin/chromium"
# In the page: the time from the next click to `selector` matching (window.__shown, ms).
WATCH = """selector => {
  window.__shown = null;
  let clicked = null;
  document.addEventListener("click", (e) => { clicked = e.timeStamp; }, { capture: true, once: true });
  const seen = new MutationObserver(() => {
    if (clicked !== null && document.querySelector(selector)) {
      window.__shown = performance.now() - clicked;
      seen.disconnect();
    }
  });
  seen.observe(document.body, { subtree: true, childList: true, attributes: true });
}"""


# Before the page's own scripts: the time from the navigation's start to the first frame
# painted with every column and a card in it (window.__opened, ms).
OPENED = """(() => {
  const seen = new MutationObserver(() => {
    if (document.querySelector(".column[data-status=cancelled]") && document.querySelector(".column .card")) {
      seen.disconnect();
      requestAnimationFrame(() => setTimeout(() => { window.__opened = performance.now(); }, 0));
    }
  });
  document.addEventListener("DOMContentLoaded", () =>
    seen.observe(document.body, { subtree: true, childList: true }));
})();"""


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms (slowest {max(values) * 1000:.0f})"


def measure(root: Path, runs: int) -> list[str]:
    from playwright.sync_api import sync_playwright

    rows = []
    with running(root) as served, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        opens, waited = [], []
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1500, "height": 950})
            context.add_init_script(OPENED)
            page = context.new_page()
            start = time.perf_counter()
            page.goto(served.url)
            page.wait_for_selector(".column[data-status=cancelled]")
            page.wait_for_selector(".column .card")
            page.wait_for_function("() => window.__opened !== undefined")
            waited.append(time.perf_counter() - start)
            opens.append(page.evaluate("window.__opened") / 1000)
            context.close()
        rows.append(("open the board (first page of every column)", ms(opens), "≤ 1 s"))
        rows.append(("… the same as Playwright sees it (its own polling added)", ms(waited), ""))

        api = []
        for _ in range(runs):
            start = time.perf_counter()
            with urllib.request.urlopen(f"{served.base}api/board?token={served.token}") as response:
                size = len(response.read())
            api.append(time.perf_counter() - start)
        rows.append((f"`GET /api/board` ({size:,} bytes)", ms(api), ""))

        context = browser.new_context(viewport={"width": 1500, "height": 950})
        page = context.new_page()
        page.goto(served.url)
        page.wait_for_selector("body[data-live=on]")
        page.wait_for_selector(".column .card")
        biggest = max(
            page.locator(".column").evaluate_all(
                "cs => cs.map(c => [Number(c.querySelector('.count').textContent), c.dataset.status])"
            )
        )[1]
        more = []
        for _ in range(min(runs, 5)):
            shown = page.locator(f".column[data-status={biggest}] .card").count()
            start = time.perf_counter()
            page.locator(f".column[data-status={biggest}] button.more").click()
            page.locator(f".column[data-status={biggest}] .card").nth(shown).wait_for()
            more.append(time.perf_counter() - start)
        rows.append((f"show {PAGE} more ({biggest})", ms(more), ""))

        moves, posts = [], []
        page.on("requestfinished", lambda r: posts.append(r.timing["responseEnd"] - r.timing["requestStart"])
                if r.method == "POST" else None)  # fmt: skip
        for i in range(runs):
            target = "blocked" if i % 2 == 0 else biggest
            source = biggest if target == "blocked" else "blocked"
            card = page.locator(f".column[data-status={source}] .card").first
            task_id = card.get_attribute("data-task-id")
            card.locator(".status-button").click()
            shown = (f'.column[data-status={target}] .card[data-task-id="{task_id}"]'
                     f"[data-status={target}]")  # fmt: skip
            # Timed in the page, from the click to the card drawn with its committed status
            # (Playwright's own polling would add its latency).
            page.evaluate(WATCH, shown)
            card.locator(f'.status-menu button[data-status="{target}"]').click()
            page.wait_for_selector(shown)
            page.wait_for_function("() => window.__shown !== null")
            moves.append(page.evaluate("window.__shown") / 1000)
            time.sleep(0.5)  # the change events of this move told and fetched
        rows.append(("move a card (status menu → committed and shown)", ms(moves), "≤ 300 ms"))
        rows.append(
            (
                "… of which the POST (`update_task` and its commit)",
                ms([p / 1000 for p in posts]),
                "",
            )
        )

        lives = []
        project = Project(root)
        for i in range(runs):
            card = page.locator(".column .card").first
            task_id = card.get_attribute("data-task-id")
            path = next(project.layout.sessions_dir.glob(f"*/tasks/{task_id}.md"))
            text = path.read_text(encoding="utf-8")
            title = next(line for line in text.splitlines() if line.startswith("title:"))
            new = f"title: edited by hand {i}"
            start = time.perf_counter()
            path.write_text(text.replace(title, new, 1), encoding="utf-8")
            page.wait_for_selector(
                f'.card[data-task-id="{task_id}"] .title:text-is("edited by hand {i}")'
            )
            lives.append(time.perf_counter() - start)
        rows.append(("a hand edit shown in the open page", ms(lives), "≤ 1 s"))
        context.close()
        browser.close()
    lines = ["| what | median (slowest) | target |", "|---|---:|---|"]
    lines += [f"| {what} | {value} | {target} |" for what, value, target in rows]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[10_000])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    section = section_header("sqlite", " — `orch ui`, the board in Chromium")
    for size in args.tasks:
        work = Path(tempfile.mkdtemp(prefix="orch-ui-"))
        try:
            root = work / "project"
            generate(root, size, sessions=1)
            subprocess.run(["git", "init", "-q", str(root)], check=True)
            with Project(root).reading():
                pass  # indexed and committed: the board opens on a project in use
            add_size(section, size, measure(root, args.runs))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if not args.no_append:
        append_results(section)


if __name__ == "__main__":
    main()
