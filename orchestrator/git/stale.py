"""The one rule for a file saved from a stale editor buffer, and its merge.

An editor that has a record open while orch (an agent) changes it saves its old buffer
over orch's change. Such a save is told apart from a deliberate edit by what it holds:
none of the changes made since an older committed version, and some of that version's
text where they were made (`stale_base`). It is then merged with the newest version, so
the agent's change and the person's edit are both kept (`merge_stale_buffer`). The
syncer (edits it commits) and the session view (ticks read from session.md) ask this
module, and only this module, what a file was started from.
"""

from __future__ import annotations

import difflib

from orchestrator.errors import Hint, Said
from orchestrator.store.merge import MergeResult, merge_texts

# How many committed versions of a file to look through for the one a stale editor
# buffer started from.
STALE_DEPTH = 10


def stale_base(texts: list[str], mine: str) -> int | None:
    """Which older version (of `texts`, newest first) `mine` is provably an editor's stale
    buffer of, or None.

    It is one of version i when it holds none of the new text of any change made since
    i (a file made from the newest holds some: at least the newest's last_updated_at),
    and still has i's text on at least one of those changes. Where several versions are,
    the one whose changes it touched least (it has i's text on the most of them), the
    oldest on a tie. A change it touched too merges as a conflict. A file equal to a
    version is a deliberate revert: None."""
    if mine in texts or len(texts) < 2:
        return None
    newest, lines = texts[0].splitlines(), mine.splitlines()
    new_kept = _kept_lines(newest, lines)
    best: tuple[int, int] | None = None  # (changes touched, -i)
    for i in range(1, len(texts)):
        older = texts[i].splitlines()
        old_kept = _kept_lines(older, lines)
        changes = [
            op
            for op in difflib.SequenceMatcher(None, older, newest, autojunk=False).get_opcodes()
            if op[0] != "equal"
        ]
        if not changes:
            continue
        touched = 0
        for _tag, i1, i2, j1, j2 in changes:
            old = [k for k in range(i1, i2) if older[k].strip()]
            new = [k for k in range(j1, j2) if newest[k].strip()]
            if any(new_kept[k] for k in new) or (
                old and not new and not any(old_kept[k] for k in old)
            ):
                break  # it has this change (a deletion: it lacks what was deleted)
            touched += bool(old) and not all(old_kept[k] for k in old)
        else:
            if touched < len(changes) and (best is None or (touched, -i) <= best):
                best = (touched, -i)
    return None if best is None else -best[1]


def started_from(texts: list[str], mine: str, newest_by_orch: bool = True) -> int:
    """Which of `texts` (newest first) `mine` was made from: the older version it is a
    stale buffer of, else the newest (0). Only orch's change can be lost to a stale
    buffer: when the newest version is a person's edit (`newest_by_orch` False), a later
    save is that person's (or another's) word and is taken as it is. A file equal to an
    older version is a deliberate revert, made from the newest."""
    if not newest_by_orch:
        return 0
    return stale_base(texts, mine) or 0


def merge_stale_buffer(started: str, newest: str, mine: str) -> MergeResult:
    """`mine`, saved from a buffer holding `started`, merged with `newest`: the changes
    made since `started` are kept beside the person's edits."""
    return merge_texts(started, newest, mine)


def stale_note(rel: str, result: MergeResult) -> str:
    """What a person hears when their save was merged as a stale buffer."""
    note = (
        f"{rel}: saved from an older version (a stale editor buffer?); merged with the"
        " newest, so the changes made since are kept"
    )
    if not result.clean:
        what = ", ".join(result.conflicts) or "the text"
        return Said(f"{note} (conflict in {what}: see the conflicts list)", Hint("conflicts"))
    return note


def _kept_lines(older: list[str], lines: list[str]) -> list[bool]:
    """Which lines of `older` stand unchanged in `lines`."""
    kept = [False] * len(older)
    for tag, i1, i2, _j1, _j2 in difflib.SequenceMatcher(
        None, older, lines, autojunk=False
    ).get_opcodes():
        if tag == "equal":
            kept[i1:i2] = [True] * (i2 - i1)
    return kept
