"""git's merge driver for orch's record files, registered by `orch git install`:

    [merge "orch"]
        driver = /path/to/python -m orchestrator.git.merge_driver %O %A %B %P

git calls it for a `.task_orchestrator/**/*.md` file both branches changed. It merges the
two versions field by field (store/merge.py) and writes the result over %A. Fields both
branches changed to different values are kept as ours and recorded under orch_conflict,
so the file stays valid YAML and the merge completes; lines both changed in the body get
conflict markers there. `orch conflicts` lists both and `orch resolve` settles them. It
exits 0 then (git commits the merge), and 1 only when markers would land in the
frontmatter (a side's YAML could not be read): git then stops for a person to fix it.

`orch sync --remote` names its clone in MERGE_CLONE_ENV: the conflicts of that merge
then say whose side "ours" is (store/merge.py), for the other clones that receive them.

A module of its own so that git starts no more of orch than the merge needs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Set by `orch sync --remote` for its `git merge`: the id of the clone that merges.
MERGE_CLONE_ENV = "ORCH_MERGE_CLONE"


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(
            "usage: python -m orchestrator.git.merge_driver BASE OURS THEIRS PATH", file=sys.stderr
        )
        return 2
    base_file, ours_file, theirs_file, name = argv
    clone = os.environ.get(MERGE_CLONE_ENV) or None
    try:
        from orchestrator.store.merge import merge_texts

        base, ours, theirs = (Path(f).read_bytes().decode("utf-8") for f in argv[:3])
        # git passes an empty base when the file was added on both sides.
        result = merge_texts(base or None, ours, theirs, clone)
    except Exception as error:  # whatever it is, git's own line merge is the way out
        print(f"orch: {name}: cannot merge by fields ({error}); merged as lines", file=sys.stderr)
        from orchestrator.store.merge import ours_label

        done = subprocess.run(
            ["git", "merge-file", "--diff3", "-L", ours_label(clone), "-L", "base", "-L", "theirs",
             ours_file, base_file, theirs_file],
        )  # fmt: skip
        return 1 if done.returncode else 0
    Path(ours_file).write_bytes(result.text.encode("utf-8"))
    if result.body_conflict and not readable(result.text):
        # A side's frontmatter could not be read, and the line merge left markers in it:
        # a conflict for a person, which git stops the merge for.
        print(
            f"orch: {name}: conflicting lines in the frontmatter; fix them by hand", file=sys.stderr
        )
        return 1
    if not result.clean:
        print(
            f"orch: {name}: {result.unsettled()} (settle it with `orch conflicts` and"
            " `orch resolve`)",
            file=sys.stderr,
        )
    return 0


def readable(text: str) -> bool:
    from orchestrator.store.record_file import load_yaml, split_frontmatter

    try:
        return isinstance(load_yaml(split_frontmatter(text)[0]), dict)
    except Exception:
        return False


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
