"""Every benchmark, one command: what a newcomer runs to see orch's figures on their machine.

    python bench/run.py --tasks 10000 [--runs 15] [--only cli_reads mcp_calls ...]

Runs, in turn, each script below for the sizes given (each generates its own projects
under bench/projects/ and appends its section, with the machine and the command, to
bench/RESULTS.md); see bench/README.md for what each measures:

- cli_reads.py: CLI reads (list, show, status, ready, search) against the interpreter's
  floor, cold reindex rate, refresh after 1 and 100 edited files;
- journal.py: the same reads with and without the journal daemon (`orch daemon`);
- sync.py: a mutation with its commit, an outside edit, a two-clone merge;
- views.py: session.md regeneration and the watcher;
- hooks.py: what the git hooks add to a commit and a checkout;
- mcp_calls.py: MCP tool calls through a real stdio client, reply sizes, server memory;
- moving.py: search in process, export, import;
- backlog_compare.py: the same data in Backlog.md, side by side (skipped when npm or the
  package cannot be had).

soak.py (writers, editors, a watcher and kills at once; what was lost) is not run here:
it measures reliability, not speed, and is run by hand.

A script that fails stops the run with its output.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = {
    "cli_reads": ["--runs", "{runs}"],
    "journal": ["--runs", "{runs}"],
    "sync": ["--runs", "{runs}"],
    "views": ["--runs", "{runs}"],
    "hooks": ["--runs", "{runs}"],
    "mcp_calls": ["--runs", "{calls}"],
    "moving": ["--runs", "{calls}"],
    "backlog_compare": ["--runs", "{few}"],
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--runs", type=int, default=15, help="runs per median (process timings)")
    parser.add_argument("--only", nargs="+", choices=sorted(SCRIPTS), help="run just these")
    args = parser.parse_args(argv)
    values = {"runs": args.runs, "calls": max(args.runs * 2, 10), "few": max(args.runs // 3, 3)}
    for name in args.only or SCRIPTS:
        extra = [part.format(**values) for part in SCRIPTS[name]]
        command = [sys.executable, str(HERE / f"{name}.py"), "--tasks",
                   *map(str, args.tasks), *extra]  # fmt: skip
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        start = time.perf_counter()
        done = subprocess.run(command, cwd=HERE)
        if done.returncode != 0:
            sys.exit(f"{name} failed (exit {done.returncode})")
        print(f"== {name}: {time.perf_counter() - start:.0f} s", flush=True)
    print(f"Figures appended to {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
