"""How soon a subscribed MCP client hears of a change made by someone else.

    python bench/mcp_subscribe.py --runs 11 [--no-append]

An `orch mcp` server over stdio, in a copy of the sample project, with a subscription to
one task (`orch://task/{id}`). Then, each run: another process changes the task
(`orch task update ID --priority N`), and the time from that process's end to the
`notifications/resources/updated` the server sends is taken; and a hand edit (the file
written as an editor saves it), timed from the write to the notification. Medians and
the slowest of --runs. The target (issue 18): within 1 s.
"""

from __future__ import annotations

import argparse
import json
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from cli_reads import append_results, section_header

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="orch-subscribe-"))
    root = work / "sample"
    shutil.copytree(HERE.parent / "sample_project", root, ignore=shutil.ignore_patterns(".index"))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    orch = [sys.executable, "-m", "orchestrator", "--root", str(root)]
    listed = subprocess.run([*orch, "task", "list", "--json"], capture_output=True, text=True,
                            check=True)  # fmt: skip
    task_id = json.loads(listed.stdout)[0]["task_id"]
    path = next(root.glob(f".task_orchestrator/sessions/*/tasks/{task_id}.md"))
    server = subprocess.Popen([*orch, "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    heard: queue.Queue[float] = queue.Queue()

    def listen() -> None:
        for line in server.stdout:
            if b"notifications/resources/updated" in line and task_id.encode() in line:
                heard.put(time.perf_counter())

    def send(message: dict) -> None:
        server.stdin.write((json.dumps(message) + "\n").encode())
        server.stdin.flush()

    threading.Thread(target=listen, daemon=True).start()
    send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
          "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                     "clientInfo": {"name": "bench", "version": "1"}}})  # fmt: skip
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    send({"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe",
          "params": {"uri": f"orch://task/{task_id}"}})  # fmt: skip
    time.sleep(1.0)  # the watcher set up
    by_cli, by_hand = [], []
    for n in range(args.runs):
        while not heard.empty():
            heard.get()
        subprocess.run([*orch, "task", "update", task_id, "--priority", str(n % 5 + 1)],
                       check=True, capture_output=True)  # fmt: skip
        done = time.perf_counter()
        by_cli.append(heard.get(timeout=30) - done)
        time.sleep(0.5)  # the CLI's own follow-up writes (views) heard too
        while not heard.empty():
            heard.get()
        text = path.read_text(encoding="utf-8")
        start = time.perf_counter()
        path.write_text(text.rstrip("\n") + f"\n\nEdited by hand {n}.\n", encoding="utf-8")
        by_hand.append(heard.get(timeout=30) - start)
        time.sleep(0.5)
    server.stdin.close()
    server.wait(timeout=30)
    shutil.rmtree(work, ignore_errors=True)
    lines = [
        "| change | median | slowest |",
        "|---|---:|---:|",
        f"| `orch task update` in another process, from its end (below 0: heard before it returned) | "
        f"{statistics.median(by_cli) * 1000:.0f} ms | {max(by_cli) * 1000:.0f} ms |",
        f"| a hand edit (file written), from the write | "
        f"{statistics.median(by_hand) * 1000:.0f} ms | {max(by_hand) * 1000:.0f} ms |",
    ]
    print("\n".join(lines))
    section = section_header("sqlite", " — MCP subscription: a change told to a subscriber")
    section += ["", f"{args.runs} runs of each.", "", *lines]
    if not args.no_append:
        append_results(section)


if __name__ == "__main__":
    main()
