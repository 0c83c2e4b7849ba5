"""The three-way merge of one record file: two versions (ours, theirs) against their base.

One pure function for every place two edits of a record meet: a tool write racing an
editor save, a stale editor buffer, the git merge driver between clones.

The frontmatter merges field by field; a missing key is a value too ("absent"), so a
deletion on one side is kept when the other side left the key alone:

- both sides agree, or only one side changed the field: that value;
- both changed a list: a set merge (a removal on either side is kept, additions of both
  are added: ours' order, then theirs' additions);
- both changed a mapping: the same rules key by key (a conflict inside is a conflict of
  the top-level key);
- both changed a timestamp: the later one (`last_updated_at`, `completed_at`, ...), or
  the earlier for `started_at`;
- otherwise a conflict: the field keeps ours' value and the file records the three under
  `orch_conflict: {key: {base: ..., ours: ..., theirs: ...}}`, null standing for a side
  where the key is absent. `resolve_text` settles it.

A merge between clones (`orch sync --remote`) names the clone that merged (`clone`): its
entries carry `ours_clone: <clone id>` and its body conflicts open with
`<<<<<<< ours (clone <clone id>)`. The file is committed and reaches the other clone as
it is; read there (`oriented`, `resolve_text`), ours and theirs are swapped, so "ours"
always means the reading clone's own value and "theirs" the remote's.

When the merged fields are exactly one side's, that side's YAML is kept byte for byte
(comments, quoting). The body merges as lines with `git merge-file --diff3`; generated
regions (`<!-- orch:begin NAME -->` .. `<!-- orch:end NAME -->`) are regenerated later,
so they take ours' content and never conflict. A side whose frontmatter cannot be read
makes the whole file merge as lines.

`resolve_text` settles what a merge left: every field and body block by one side, or
field by field as picked (body blocks then keep both sides).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import InvalidInput
from orchestrator.model import CONFLICT_CLONE_KEY, CONFLICT_KEY
from orchestrator.store.record_file import (
    frontmatter,
    line_ending,
    load_yaml,
    normalize,
    split_frontmatter,
)
from orchestrator.store.regions import markers

# Timestamps both sides set: not a conflict. A start keeps the earlier moment, a touch
# or an end the later one (two agents completing a task at once both completed it).
EARLIER_STAMPS = ("started_at",)
LATER_STAMPS = ("last_updated_at", "updated_at", "completed_at", "last_activity")
SIDES = ("ours", "theirs", "base")
STRATEGIES = ("ours", "theirs", "merge")

_ABSENT: Any = object()  # a key the mapping does not have


class ConflictChoiceError(InvalidInput, ValueError):
    """resolve_text was asked for a strategy or pick it cannot apply."""


@dataclass
class MergeResult:
    """A merged record file and what is left to settle in it."""

    text: str  # the merged file text
    conflicts: list[str]  # frontmatter keys in conflict (recorded in the text under CONFLICT_KEY)
    body_conflict: bool  # the body holds diff3 conflict markers

    @property
    def clean(self) -> bool:
        return not self.conflicts and not self.body_conflict

    def unsettled(self) -> str:
        """What is left to settle, in words: a field keeps ours and records theirs; lines
        both sides changed keep neither, both stand between conflict markers."""
        said = []
        if self.conflicts:
            said.append(
                f"both sides changed {', '.join(self.conflicts)}: kept ours, recorded theirs"
            )
        if self.body_conflict:
            said.append("both sides changed the same lines: conflict markers in the body")
        return "; ".join(said)


@dataclass
class _Side:
    header: str  # the frontmatter block as written, both `---` lines included
    meta: dict[Any, Any]
    body: str


def merge_texts(base: str | None, ours: str, theirs: str, clone: str | None = None) -> MergeResult:
    """Merge two versions of a record file against their common base (None: the file
    was added on both sides). Conflicts are written into the text, never raised; the
    result says which fields and whether the body conflict; `clone` (a merge between
    clones) names the clone whose side "ours" is. Raises RuntimeError only if git
    merge-file fails (e.g. on a binary file)."""
    if ours == theirs or base == theirs:
        return _result(ours)
    if base == ours:
        return _result(theirs)
    sides = [_parse(text) for text in (ours, theirs)]
    base_side = _Side("", {}, "") if base is None else _parse(base)
    o, t = sides
    if base_side is None or o is None or t is None:
        return _result(_merge_lines(base or "", ours, theirs, clone))
    header = _merge_headers(base_side, o, t, clone)
    return _result(header + _merge_bodies(base_side.body, o.body, t.body, clone))


def ours_label(clone: str | None) -> str:
    """How a body conflict's ours side is labelled: with the clone that merged, if any."""
    return f"ours (clone {clone})" if clone else "ours"


def oriented(entry: Any, clone: str | None) -> Any:
    """A conflict entry as `clone` (this clone) sees it: one a merge in another clone
    recorded has ours and theirs swapped, so that ours is this clone's value."""
    if not isinstance(entry, dict) or entry.get(CONFLICT_CLONE_KEY) in (None, clone):
        return entry
    return {**entry, "ours": entry.get("theirs"), "theirs": entry.get("ours")}


def find_conflicts(text: str) -> tuple[list[str], bool]:
    """The keys recorded under CONFLICT_KEY, and whether the body holds conflict markers
    (the whole text is searched when the frontmatter cannot be read). Never raises."""
    side = _parse(text)
    if side is None:
        return [], _has_markers(text)
    return [str(key) for key in side.meta.get(CONFLICT_KEY) or {}], _has_markers(side.body)


def resolve_text(
    text: str, strategy: str, picks: dict[str, str] | None = None, clone: str | None = None
) -> str:
    """Settle the conflicts of a merged record file and drop CONFLICT_KEY.

    "ours" / "theirs": every conflicting field and body block takes that side (a field
    recorded as null is removed). "merge": each field takes the side named in
    picks[key] ("ours", "theirs" or "base"), and body blocks keep ours' lines then
    theirs' lines not already in ours'. Sides are `clone`'s (this clone's): what a
    merge in another clone recorded is taken with its sides swapped (`oriented`).
    Raises ConflictChoiceError (a ValueError) for an unknown strategy or pick, or a
    field left without a pick."""
    if strategy not in STRATEGIES:
        raise ConflictChoiceError(
            f"unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}"
        )
    if picks and strategy != "merge":
        raise ConflictChoiceError("picks apply to the merge strategy only")
    side = _parse(text)
    records = (side.meta.get(CONFLICT_KEY) if side else None) or {}
    chosen = _chosen_sides(records, strategy, picks or {})
    if side is None:
        return _resolve_markers(text, strategy, clone)
    if CONFLICT_KEY not in side.meta:
        return side.header + _resolve_markers(side.body, strategy, clone)
    meta = {key: value for key, value in side.meta.items() if key != CONFLICT_KEY}
    for key, pick in chosen.items():
        entry = oriented(records[key], clone)
        if not isinstance(entry, dict) or pick not in entry:
            raise ConflictChoiceError(
                f"{CONFLICT_KEY}.{key} has no {pick!r} value: expected base, ours, theirs"
            )
        if entry[pick] is None:
            meta.pop(key, None)
        else:
            meta[key] = entry[pick]
    return frontmatter(meta, line_ending(side.header)) + _resolve_markers(
        side.body, strategy, clone
    )


def _chosen_sides(records: dict, strategy: str, picks: dict[str, str]) -> dict[Any, str]:
    if strategy != "merge":
        return {key: strategy for key in records}
    by_name = {str(key): key for key in records}
    unknown = sorted(set(picks) - set(by_name))
    if unknown:
        raise ConflictChoiceError(
            f"no conflict on {', '.join(unknown)} (conflicts: {', '.join(by_name)})"
        )
    bad = {name: pick for name, pick in picks.items() if pick not in SIDES}
    if bad:
        raise ConflictChoiceError(
            ", ".join(f"{name}={pick!r}" for name, pick in bad.items())
            + ": a pick is one of ours, theirs, base"
        )
    missing = [name for name in by_name if name not in picks]
    if missing:
        raise ConflictChoiceError(
            "conflicting fields need a choice: choose "
            + ", ".join(f"{name}=ours|theirs|base" for name in missing)
        )
    return {by_name[name]: pick for name, pick in picks.items()}


# Frontmatter


def _parse(text: str) -> _Side | None:
    """A record file split into header text, fields and body; None if unreadable."""
    try:
        yaml_text, body = split_frontmatter(text)
        meta = load_yaml(yaml_text)
        meta = {} if meta is None else normalize(meta)
    except Exception:  # FrontmatterError, any yaml.YAMLError, a bad date
        return None
    # An orch_conflict that is not a mapping was not written by this module: the file
    # is merged as lines rather than guessing what it means.
    if not isinstance(meta, dict) or not isinstance(meta.get(CONFLICT_KEY) or {}, dict):
        return None
    return _Side(text[: len(text) - len(body)], meta, body)


def _merge_headers(base: _Side, ours: _Side, theirs: _Side, clone: str | None = None) -> str:
    if ours.header == theirs.header or base.header == theirs.header:
        return ours.header
    if base.header == ours.header:
        return theirs.header
    fields = [side.meta for side in (base, ours, theirs)]
    merged, conflicts = _merge_mappings(
        *({k: v for k, v in meta.items() if k != CONFLICT_KEY} for meta in fields)
    )
    # Earlier unresolved conflicts are kept: where the records themselves clash, ours'
    # record wins, or theirs' if ours has none.
    records = [meta.get(CONFLICT_KEY) or {} for meta in fields]
    merged_records, clashes = _merge_mappings(*records)
    for key in clashes:
        merged_records.setdefault(key, records[2][key])  # records[2]: theirs'
    for key in conflicts:
        merged_records[key] = {
            side: meta.get(key)
            for side, meta in zip(("base", "ours", "theirs"), fields, strict=True)
        }
        if clone:
            merged_records[key][CONFLICT_CLONE_KEY] = clone
    if merged_records:
        merged[CONFLICT_KEY] = merged_records
    if _same(merged, ours.meta):
        return ours.header
    if _same(merged, theirs.meta):
        return theirs.header
    return frontmatter(merged, line_ending(ours.header))


def _merge_mappings(base: dict, ours: dict, theirs: dict) -> tuple[dict, list]:
    """The merged mapping (ours' key order, then keys only theirs has) and the keys
    that conflict."""
    merged, conflicts = {}, []
    for key in [*ours, *(k for k in theirs if k not in ours)]:
        value, conflicted = _merge_value(
            key, base.get(key, _ABSENT), ours.get(key, _ABSENT), theirs.get(key, _ABSENT)
        )
        if conflicted:
            conflicts.append(key)
        if value is not _ABSENT:
            merged[key] = value
    return merged, conflicts


def _merge_value(key: Any, base: Any, ours: Any, theirs: Any) -> tuple[Any, bool]:
    """One field's merged value (_ABSENT for none) and whether it conflicts."""
    if _same(ours, theirs) or _same(base, theirs):
        return ours, False
    if _same(base, ours):
        return theirs, False
    if _listish(ours, theirs):
        merged = _merge_lists(*(_as_list(v) for v in (base, ours, theirs)))
        # Emptied: the side that is not a list says how (absent or null).
        if not merged and not isinstance(ours, list):
            return ours, False
        if not merged and not isinstance(theirs, list):
            return theirs, False
        return merged, False
    if isinstance(ours, dict) and isinstance(theirs, dict):
        mapping, conflicts = _merge_mappings(base if isinstance(base, dict) else {}, ours, theirs)
        return (ours, True) if conflicts else (mapping, False)
    if isinstance(ours, str) and isinstance(theirs, str):
        if key in LATER_STAMPS:
            return max(ours, theirs), False
        if key in EARLIER_STAMPS:
            return min(ours, theirs), False
    return ours, True


def _merge_lists(base: list, ours: list, theirs: list) -> list:
    """A set merge: base items both sides kept, plus what either added."""
    merged: list = []
    for item in ours:
        if not (_has(base, item) and not _has(theirs, item)) and not _has(merged, item):
            merged.append(item)
    for item in theirs:
        if not _has(base, item) and not _has(merged, item):
            merged.append(item)
    return merged


def _same(a: Any, b: Any) -> bool:
    """Equality that tells 1 from 1.0 from True (Python's == does not), with NaN equal
    to itself, so that a change of type is a change."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return a == b or (a != a and b != b)


def _has(items: list, item: Any) -> bool:
    return any(_same(item, other) for other in items)


def _listish(ours: Any, theirs: Any) -> bool:
    """Both lists, or one a list and the other absent or null (an empty list)."""
    sides = (ours, theirs)
    return any(isinstance(v, list) for v in sides) and all(
        isinstance(v, list) or v is None or v is _ABSENT for v in sides
    )


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


# Body


def _merge_bodies(base: str, ours: str, theirs: str, clone: str | None = None) -> str:
    if ours == theirs or base == theirs:
        return ours
    if base == ours:
        return theirs
    insides = {**_region_insides(base), **_region_insides(theirs), **_region_insides(ours)}
    base, ours, theirs = (_with_insides(body, insides) for body in (base, ours, theirs))
    return _merge_lines(base, ours, theirs, clone)


def _regions(lines: list[str]) -> list[tuple[str, int, int]]:
    """(name, begin line, end line) of each generated region."""
    regions: list[tuple[str, int, int]] = []
    found = list(markers(lines))
    done = -1
    for at, (i, kind, name) in enumerate(found):
        if kind != "begin" or i <= done:
            continue
        j = next((j for j, k, n in found[at + 1 :] if k == "end" and n == name), None)
        if j is not None:
            regions.append((name, i, j))
            done = j
    return regions


def _region_insides(body: str) -> dict[str, list[str]]:
    lines = body.splitlines(keepends=True)
    return {name: lines[i + 1 : j] for name, i, j in reversed(_regions(lines))}


def _with_insides(body: str, insides: dict[str, list[str]]) -> str:
    lines = body.splitlines(keepends=True)
    out, done = [], 0
    for name, i, j in _regions(lines):
        out += [*lines[done : i + 1], *insides[name]]
        done = j
    return "".join(out + lines[done:])


def _merge_lines(base: str, ours: str, theirs: str, clone: str | None = None) -> str:
    """git's own diff3 line merge; conflicts are left as markers in the text."""
    with tempfile.TemporaryDirectory(prefix="orch-merge-") as tmp:
        paths = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(tmp, name)
            path.write_bytes(text.encode("utf-8", "surrogateescape"))
            paths.append(str(path))
        labels = ["-L", ours_label(clone), "-L", "base", "-L", "theirs"]
        done = subprocess.run(
            ["git", "merge-file", "-p", "--diff3", *labels, *paths],
            capture_output=True,
            check=False,
        )
    if not 0 <= done.returncode <= 127:
        error = done.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"git merge-file failed ({done.returncode}): {error}")
    return done.stdout.decode("utf-8", "surrogateescape")


def _has_markers(body: str) -> bool:
    lines = body.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("<<<<<<< ")), None)
    return start is not None and any(line.startswith(">>>>>>> ") for line in lines[start + 1 :])


def _resolve_markers(body: str, strategy: str, clone: str | None = None) -> str:
    """Replace each diff3 conflict block with the side(s) the strategy keeps, ours being
    `clone`'s side (a block another clone's merge labelled has its sides swapped)."""
    lines = body.splitlines(keepends=True)
    out, i = [], 0
    while i < len(lines):
        block = _conflict_block(lines, i) if lines[i].startswith("<<<<<<< ") else None
        if block is None:
            out.append(lines[i])
            i += 1
            continue
        swapped = _merged_by(lines[i]) not in (None, clone)
        ours, theirs, i = block
        if swapped:
            ours, theirs = theirs, ours
        if strategy == "ours":
            out += ours
        elif strategy == "theirs":
            out += theirs
        else:
            out += ours + [line for line in theirs if line not in ours]
    return "".join(out)


def _merged_by(opening: str) -> str | None:
    """The clone named in a block's opening marker (`<<<<<<< ours (clone c-1a2b)`)."""
    found = re.fullmatch(r"<<<<<<< ours \(clone (\S+)\)\s*", opening)
    return found[1] if found else None


def _conflict_block(lines: list[str], start: int) -> tuple[list[str], list[str], int] | None:
    """(ours' lines, theirs' lines, the line after the block) of the block that starts
    at `start`; None if it is not a complete one."""
    sections: dict[str, list[str]] = {"ours": [], "base": [], "theirs": []}
    current = "ours"
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line.startswith("<<<<<<< "):
            return None
        if line.startswith(">>>>>>> ") and current == "theirs":
            return sections["ours"], sections["theirs"], i + 1
        if line.startswith("||||||| ") and current == "ours":
            current = "base"
        elif line.rstrip("\r\n") == "=======" and current != "theirs":
            current = "theirs"
        else:
            sections[current].append(line)
    return None


def _result(text: str) -> MergeResult:
    return MergeResult(text, *find_conflicts(text))
