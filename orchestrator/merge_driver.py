"""Clones configured before orch 0.2 name `python -m orchestrator.merge_driver` in their
git config; the driver lives in orchestrator/git/merge_driver.py now."""

import sys

from orchestrator.git.merge_driver import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
