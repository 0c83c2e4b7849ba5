"""Keeping the index in step with the files, at a cost that grows with what changed.

signatures.py finds the files that changed (by stat); this module reads them: it hashes
each one, re-parses only those whose content changed, replaces their rows, and recomputes
the derived figures of the sessions they belong to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from orchestrator.index import checklists, readiness, signatures
from orchestrator.index.derive import (
    GROUP_DERIVED,
    GROUP_FACTS,
    SESSION_DERIVED,
    SESSION_FACTS,
    STAMPED,
    TASK_DERIVED,
    TASK_FACTS,
    derive_session,
    estimated_completion,
    group_chains,
    percent,
)
from orchestrator.index.engine import IndexDB
from orchestrator.index.project_state import derive_project, mode_row
from orchestrator.index.rows import dependency_rows, group_row, label_rows, session_row, task_row
from orchestrator.index.signatures import Plan, Signature
from orchestrator.layout import SESSION_FILE, FileRole, Layout
from orchestrator.model import (
    CANCELLED,
    DEFAULT_MODE,
    DONE,
    ERROR,
    ID_KEY,
    TABLE,
    TITLE_KEY,
    Parsed,
    Problem,
    Record,
)
from orchestrator.store.files import blob_id, read_unlinked
from orchestrator.store.mode_file import Mode, parse_mode
from orchestrator.store.record_file import parse_record

SIGNATURE_COLUMNS = ("path", "kind", "record_id", "session_dir", "ctime_ns", "size", "inode",
                     "content_hash", "recorded_ns", "readable")  # fmt: skip


class Stored(NamedTuple):
    ctime_ns: int
    size: int
    inode: int
    content_hash: str
    recorded_ns: int
    kind: str
    record_id: str
    session_dir: str | None
    readable: bool


@dataclass
class Report:
    """What a refresh did."""

    read: list[str] = field(default_factory=list)  # files whose new content was parsed
    removed: list[str] = field(default_factory=list)  # files gone since the last refresh
    # Every file whose signature was recorded: path -> (signature, time it was read).
    recorded: dict[str, tuple[Signature, int]] = field(default_factory=dict)
    # Tasks whose status the files changed: task id -> (status before or None, after).
    statuses: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    # Files removed that held a record: path -> (session id, title) as the index had them
    # (the commit of a deletion names what was deleted).
    titles: dict[str, tuple[str | None, str]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.read or self.removed)


# The facts of a task that decide the shape of the task tree, and with it every derived
# figure but progress and totals: while they stay, an edit is derived by _derive_edited().
# What a group's checklist in session.md is made of (index/checklists.py): a derived
# change of one (a level, a position) changes the list.
SHOWN = frozenset(checklists.SHOWN)
STRUCTURE = ("session_id", "file_path", "parent_task_id", "group_id", "depends_on", "created_at")
# Counts and effort of some tasks by status, folded by _totals() (derive.counts and
# derive.session_effort, in SQL): per status, not CASE per row, half the time of a scan.
BY_STATUS = "SELECT status, count(*), sum(coalesce(estimated_effort, 0)) FROM tasks WHERE"


def same_shape(
    session_id: str, before: dict[str, dict], after: dict[str, dict]
) -> list[str] | None:
    """The tasks of `session_id` edited in place: present before and after, with the same
    STRUCTURE. None if any task of the session was added, removed or moved in the tree."""
    edited = []
    for task_id in before.keys() | after.keys():
        old, new = before.get(task_id), after.get(task_id)
        if session_id not in (old and old["session_id"], new and new["session_id"]):
            continue
        if old is None or new is None or any(old[k] != new[k] for k in STRUCTURE):
            return None
        edited.append(task_id)
    return sorted(edited)


class Indexer:
    """Reads record files into one project's index."""

    def __init__(self, layout: Layout, db: IndexDB):
        self.layout, self.db = layout, db
        self._read_tasks: set[str] = set()  # the tasks whose files this refresh reads
        self._derived_tasks: set[str] = set()  # the tasks whose derived figures it changed

    def stored(self, rels: list[str]) -> dict[str, Stored]:
        """What the index remembers of these files."""
        sql = (
            "SELECT path, ctime_ns, size, inode, content_hash, recorded_ns, kind, record_id,"
            " session_dir, readable FROM file_signatures"
        )
        rows = self.db.rows_in(f"{sql} WHERE path IN ({{in}})", rels)
        return {row[0]: Stored(*row[1:]) for row in rows}

    # -- bringing the index up to date -----------------------------------------------

    def refresh(
        self,
        paths: Iterable[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
        plan: Plan | None = None,
    ) -> Report:
        """Re-read what changed: in every file, in `paths`, or as found by an earlier
        `plan` (made before taking the lock; files read now are read as they are now)."""
        if plan is not None and plan.generation != self.db.generation():
            plan = None  # another process refreshed since the plan was made: look again
        plan = plan or signatures.plan(self.layout, self.db, paths)
        if plan.gone:
            # A file the plan found gone may be back: the plan can be older than this
            # refresh (made before the lock, or by prescan.py's child), and some editors
            # delete a file before writing it again. It is read again, not dropped.
            back = signatures.stat_paths(self.layout, plan.gone)
            if back:
                plan.to_read = dict(sorted({**plan.to_read, **back}.items()))
                plan.gone = [rel for rel in plan.gone if rel not in back]
        if plan.empty:
            return Report()
        stored = self.stored([*plan.to_read, *plan.gone])
        snapshot = plan.snapshot or signatures.load_snapshot(self.layout, self.db.engine)
        if snapshot is not None and snapshot[0] != self.db.generation():
            snapshot = None  # taken from another state of the index
        self._derived_tasks = set()
        with self.db.transaction():
            report = self._apply(plan, stored, progress)
            generation = self.db.new_generation()
        if not self.layout.keep_snapshot:
            signatures.drop_snapshot(self.layout, self.db.engine)
        elif snapshot is not None:
            signatures.write_snapshot_patched(
                self.layout, self.db, snapshot, generation, report.recorded, report.removed
            )
        else:
            with self.db.reading():
                rows = signatures.stored_rows(self.db)
            signatures.write_snapshot(self.layout, self.db, generation, rows)
        return report

    def _apply(self, plan: Plan, stored: dict[str, Stored], progress) -> Report:
        report = Report()
        to_read, gone = list(plan.to_read), list(plan.gone)
        recorded: list[tuple] = []  # file_signatures rows to write
        parsed: dict[str, Any] = {}  # rel -> Parsed (records) or Mode
        digests: dict[str, str] = {}
        touched: dict[str, set[str]] = defaultdict(set)  # kind -> record ids
        sessions: set[str] = set()
        file_problems: dict[str, list[Problem]] = {}
        for n, rel in enumerate(to_read, start=1):
            _ = progress and progress(n, len(to_read))
            if (role := self.layout.classify(rel)) is None:
                continue
            try:
                data: bytes | OSError = read_unlinked(self.layout.root / rel)
            except FileNotFoundError:
                gone.append(rel)
                continue
            except OSError as error:  # a directory, no permission: reported, not fatal
                data = error
            digest = blob_id(data) if isinstance(data, bytes) else f"unreadable {data.errno}"
            old = stored.get(rel)
            if old is not None and old.content_hash == digest:
                readable = old.readable  # same content: only the signature is new
            else:
                result, problems = read_file(role, rel, data)
                parsed[rel] = result
                digests[rel] = digest
                file_problems[rel] = problems
                readable = role.kind == "mode" or result.record is not None
                touched[role.kind].add(role.record_id)
                if role.session_dir:
                    sessions.add(role.session_dir)
                report.read.append(rel)
            signature = plan.to_read[rel]
            report.recorded[rel] = (signature, plan.clock_ns)
            recorded.append((rel, role.kind, role.record_id, role.session_dir, *signature, digest,
                             plan.clock_ns, readable))  # fmt: skip
        for rel in gone:
            if (old := stored.get(rel)) is not None:  # a file the index knew: its record goes
                touched[old.kind].add(old.record_id)
                sessions |= {old.session_dir} if old.session_dir else set()
                file_problems[rel] = []
                report.removed.append(rel)

        changed = [row[0] for row in recorded] + report.removed
        self.db.execute_in("DELETE FROM file_signatures WHERE path IN ({in})", changed)
        self.db.insert_rows("file_signatures", SIGNATURE_COLUMNS, recorded)
        self._delete_problems("parse", "path", list(file_problems))
        self._insert_problems("parse", file_problems)

        report.titles = self._titles(report.removed, stored)
        changed_tasks = sorted(touched.get("task", ()))
        before, lines_before = (
            self._task_shapes(changed_tasks),
            checklists.shown(self.db, changed_tasks),
        )
        self._read_tasks = set(changed_tasks)
        # A session file edited in place (its view regenerated, a note added) keeps the
        # figures derived from its tasks: they are put back rather than derived again.
        edited_sessions = sorted(touched.get("session", ()))
        kept = ("session_id", *SESSION_DERIVED, *STAMPED["sessions"])
        sessions_before = {
            r["session_id"]: r for r in self._select_in("sessions", kept, edited_sessions)
        }
        for kind in ("session", "group", "task"):
            if touched.get(kind):
                sessions |= self._reindex_records(kind, sorted(touched[kind]), parsed)
        if touched.get("mode"):
            self._reindex_modes(sorted(touched["mode"]), parsed, digests)
        after = self._task_shapes(changed_tasks)
        report.statuses = {
            task_id: (before[task_id]["status"] if task_id in before else None, row["status"])
            for task_id, row in after.items()
            if task_id not in before or row["status"] != before[task_id]["status"]
        }
        reshaped = bool(touched.get("group"))
        new_sessions = set(edited_sessions) - set(sessions_before)
        for session_id in sorted(sessions):
            edited = None
            if not reshaped and session_id not in new_sessions:
                edited = same_shape(session_id, before, after)
            if edited is None:
                self._derive(session_id)
                continue
            stamps_moved = False
            if session_id in sessions_before:
                current = self._select_in("sessions", kept, [session_id])
                self._update("sessions", "session_id", current, sessions_before, SESSION_DERIVED)
                # Its view regenerated or a note added: the session's own timestamps are as
                # they were, so its last activity is found from the edited tasks alone
                # (a scan of every task's timestamps costs 80 ms at 10,000 tasks).
                was = sessions_before[session_id]
                stamps_moved = any(row[c] != was[c] for row in current for c in STAMPED["sessions"])
            self._derive_edited(session_id, edited, before, session_edited=stamps_moved)
        checklists.settle(self.db, lines_before, changed_tasks)
        readiness.settle(self.db, sorted({*changed_tasks, *self._derived_tasks}), before, after)
        if touched.get("session") or touched.get("mode"):
            self._derive_project()
        return report

    def _delete_problems(
        self, source: str, column: str | None = None, values: list[str] | None = None
    ) -> None:
        """Forget the problems found by `source`, all or those whose `column` is in `values`."""
        if column is None:
            self.db.execute("DELETE FROM problems WHERE source = ?", [source])
            return
        self.db.execute_in(
            f"DELETE FROM problems WHERE source = ? AND {column} IN ({{in}})",
            values or [],
            [source],
        )

    def _insert_problems(self, source: str, by_path: dict[str, list[Problem]]) -> None:
        rows = []
        for path, problems in by_path.items():
            role = self.layout.classify(path)
            for p in problems:
                rows.append(
                    (
                        p.path,
                        p.line,
                        p.field,
                        p.severity,
                        p.message,
                        p.fix,
                        source,
                        role.record_id if role else None,
                    )
                )
        self.db.insert_rows(
            "problems",
            ("path", "line", "field", "severity", "message", "fix", "source", "record_id"),
            rows,
        )

    def _reindex_records(self, kind: str, ids: list[str], parsed: dict[str, Any]) -> set[str]:
        """Replace the rows of `ids` with their files' facts. When two files claim one id
        (a task file copied into another session), the first path wins and the other is
        reported, so neither vanishes silently: the one whose frontmatter agrees with its
        place wins, else the first path. Returns the sessions involved."""
        table, key = TABLE[kind], ID_KEY[kind]
        claimants: dict[str, list[str]] = defaultdict(list)
        for path, record_id in self.db.rows_in(
            "SELECT path, record_id FROM file_signatures WHERE kind = ? AND readable"
            " AND record_id IN ({in}) ORDER BY path",
            ids,
            [kind],
        ):
            claimants[record_id].append(path)
        # The sessions these records belonged to must be derived again, whether or not
        # the records stay there (a duplicate can move a task to another session).
        sessions = {
            r[0]
            for r in self.db.rows_in(f"SELECT session_id FROM {table} WHERE {key} IN ({{in}})", ids)
        }
        self.db.execute_in(f"DELETE FROM {table} WHERE {key} IN ({{in}})", ids)
        if kind == "task":
            for edges in ("task_dependencies", "task_labels"):
                self.db.execute_in(f"DELETE FROM {edges} WHERE task_id IN ({{in}})", ids)
        if kind == "session":
            self.db.execute_in("DELETE FROM session_mode_bindings WHERE session_id IN ({in})", ids)
        rows, deps, labels, bindings = [], [], [], []
        duplicates: dict[str, list[Problem]] = {}
        root = str(self.layout.root)
        for record_id in ids:
            paths = claimants.get(record_id)
            if not paths:
                continue
            results: dict[str, tuple[Parsed, Record]] = {}
            for path in paths:
                found = parsed.get(path) or self._parse_again(path)
                if found is not None and found.record is not None:
                    results[path] = (found, found.record)
            if not results:
                continue
            # The file whose frontmatter agrees with its place wins over a stray copy; then
            # the first path.
            winner, *losers = sorted(results, key=lambda p: (results[p][0].misplaced, p))
            result, record = results[winner]
            meta = result.index_meta or record.meta
            sessions.add(meta["session_id"])
            if kind == "task":
                rows.append(task_row(meta, record, winner))
                deps += dependency_rows(meta)
                labels += label_rows(meta)
            elif kind == "group":
                rows.append(group_row(meta, record, winner))
            else:
                rows.append(session_row(meta, record, winner, root))
                bindings.append(
                    (record_id, meta.get("mode_file") or DEFAULT_MODE, meta.get("mode_bound_at"))
                )
            for loser in losers:
                duplicates.setdefault(loser, []).append(
                    Problem(
                        loser,
                        f"duplicate {key} {record_id}: {winner} has the same id",
                        field=key,
                        fix="give one of them a new id: rename the file and its id field",
                    )
                )
        if kind == "session":
            errors = self._error_sessions(
                [i for i in ids if i not in {r["session_id"] for r in rows}]
            )
            rows += errors
            sessions |= {r["session_id"] for r in errors}
        self.db.insert(table, rows)
        self.db.insert_rows(
            "task_dependencies", ("task_id", "depends_on_task_id", "session_id"), deps
        )
        self.db.insert_rows("task_labels", ("task_id", "label", "session_id"), labels)
        self.db.insert_rows(
            "session_mode_bindings", ("session_id", "mode_id", "bound_at"), bindings
        )
        self._delete_problems("duplicate", "record_id", ids)
        self._insert_problems("duplicate", duplicates)
        return sessions

    def _titles(
        self, removed: list[str], stored: dict[str, Stored]
    ) -> dict[str, tuple[str | None, str]]:
        """(session id, title) of the records whose file is in `removed`, as the index
        has them still."""
        found: dict[str, tuple[str | None, str]] = {}
        by_kind: dict[str, dict[str, str]] = defaultdict(dict)  # kind -> record id -> path
        for rel in removed:
            old = stored[rel]
            if old.kind in TABLE:
                by_kind[old.kind][old.record_id] = rel
        for kind, paths in by_kind.items():
            key, title = ID_KEY[kind], TITLE_KEY[kind]
            session = "session_id" if kind != "session" else f"{key} AS session_id"
            for row in self._select_in(TABLE[kind], (key, title, session), sorted(paths)):
                found[paths[row[key]]] = (row["session_id"], row[title] or "")
        return found

    def _error_sessions(self, ids: list[str]) -> list[dict[str, Any]]:
        """Rows in the spec's error state for sessions whose session.md is there but
        cannot be read (broken YAML, no name): listed with their problem rather than
        gone, until the file is fixed and read again with the status it gives."""
        rows = []
        root = str(self.layout.root)
        for path, record_id in self.db.rows_in(
            "SELECT path, record_id FROM file_signatures WHERE kind = 'session'"
            " AND NOT readable AND record_id IN ({in}) ORDER BY path",
            ids,
        ):
            meta = {"session_id": record_id, "name": record_id, "status": ERROR}
            rows.append(session_row(meta, Record("session", meta), path, root))
        return rows

    def _parse_again(self, rel: str) -> Parsed | None:
        role = self.layout.classify(rel)
        if role is None:  # not a record file (nothing claims it then)
            return None
        try:
            data: bytes | OSError = (self.layout.root / rel).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            data = error
        return read_file(role, rel, data)[0]

    def _reindex_modes(
        self, names: list[str], parsed: dict[str, Any], digests: dict[str, str]
    ) -> None:
        self.db.execute_in("DELETE FROM session_modes WHERE mode_id IN ({in})", names)
        rows = []
        for rel, mode in parsed.items():
            role = self.layout.classify(rel)
            if role is not None and role.kind == "mode":
                rows.append(mode_row(role.record_id, rel, mode, digests[rel], self.layout.root))
        self.db.insert("session_modes", rows)

    def _derive(self, session_id: str) -> None:
        """Recompute a session's derived figures and write only those that changed."""
        db = self.db

        def select(table: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
            return db.query(
                f"SELECT {', '.join(columns)} FROM {table} WHERE session_id = ?", [session_id]
            )

        sessions = select("sessions", SESSION_FACTS + SESSION_DERIVED)
        session = sessions[0] if sessions else None
        groups = select("task_groups", GROUP_FACTS + GROUP_DERIVED)
        tasks = select("tasks", TASK_FACTS + TASK_DERIVED)

        def locate(ids: set[str]) -> dict[str, str]:
            """Why ids the session refers to are not among its tasks, from its own files
            only (so that the message stays true until one of them changes)."""
            rows = db.rows_in(
                "SELECT record_id FROM file_signatures WHERE kind = 'task' AND readable = FALSE"
                " AND session_dir = ? AND record_id IN ({in})",
                sorted(ids),
                [session_id],
            )
            return {r[0]: "is in a file of this session that cannot be read" for r in rows}

        derived = derive_session(session_id, session, groups, tasks, locate)
        self._update("tasks", "task_id", tasks, derived.tasks, TASK_DERIVED)
        self._update("task_groups", "group_id", groups, derived.groups, GROUP_DERIVED)
        if session is not None and derived.session is not None:
            self._update(
                "sessions", "session_id", [session], {session_id: derived.session}, SESSION_DERIVED
            )
        problems = derived.problems
        session_file = self.layout.session_dir(session_id) / SESSION_FILE
        if session is None and (tasks or groups) and not session_file.exists():
            problems.append(
                Problem(
                    self.layout.rel(session_file),
                    f"session folder {session_id} has no session.md",
                    fix="create it (name: ...) or move the folder's records to another session",
                )
            )
        by_path: dict[str, list[Problem]] = defaultdict(list)
        for p in problems:
            by_path[p.path].append(p)
        self._delete_problems(f"session:{session_id}")
        self._insert_problems(f"session:{session_id}", by_path)

    def _task_shapes(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The STRUCTURE of tasks, with their status, timestamps and derived columns, by
        id (the status: to report the statuses a refresh changed)."""
        columns = dict.fromkeys(("task_id", "status", *STRUCTURE, *STAMPED["tasks"], *TASK_DERIVED))
        rows = self._select_in("tasks", tuple(columns), ids)
        return {row["task_id"]: row for row in rows}

    def _select_in(self, table: str, columns: tuple[str, ...], ids: list[str]) -> list[dict]:
        """Rows of `table` whose first column (its id) is in `ids`."""
        return self.db.query_in(
            f"SELECT {', '.join(columns)} FROM {table} WHERE {columns[0]} IN ({{in}})", ids
        )

    def _derive_edited(
        self,
        session_id: str,
        edited: list[str],
        before: dict[str, dict],
        session_edited: bool = False,
    ) -> None:
        """The derived figures of a session where tasks were edited without changing the
        shape of the tree (see same_shape()): their level, path, position, group and
        blocks stay; progress is recomputed for them and their ancestors, totals for their
        groups and the session. The same figures as _derive(), at the cost of the edited
        tasks and their ancestors rather than of the session."""
        db = self.db
        if not edited and not session_edited:
            return  # only the session's file, and not its timestamps: its figures were put back
        # The edited tasks' rows were written again with no derived figures: give them back
        # the ones they had (the tree did not change), so the counts below see their paths.
        fresh = self._select_in("tasks", ("task_id", *TASK_DERIVED), edited)
        self._update("tasks", "task_id", fresh, {t: before[t] for t in edited}, TASK_DERIVED)
        ancestors = {a for t in edited for a in before[t]["hierarchy_path"].split("/")[2:-1]}
        current = self._select_in(
            "tasks", ("task_id", "status", *TASK_DERIVED), sorted(set(edited) | ancestors)
        )
        values = {}
        for row in current:
            if row["status"] == DONE:
                progress = 100.0
            else:
                prefix = row["hierarchy_path"] + "/"
                total, done, _, _ = self._totals(
                    "session_id = ? AND hierarchy_path >= ? AND hierarchy_path < ?",
                    [session_id, prefix, prefix[:-1] + "0"],
                )
                progress = percent(done, total)
            values[row["task_id"]] = {**row, "progress_percentage": progress}
        self._update("tasks", "task_id", current, values, TASK_DERIVED)

        groups = db.query(
            f"SELECT group_id, parent_group_id, file_path, {', '.join(GROUP_DERIVED)} FROM task_groups"
            " WHERE session_id = ?",
            [session_id],
        )
        chains = group_chains(groups, [])
        hit = {gid for t in edited if (gid := before[t]["group_id"]) in chains}
        affected = {a for g in hit for a in chains[g]}
        group_values = {}
        for gid in affected:
            members = [g for g, chain in chains.items() if gid in chain]
            total, done, effort_done, effort_left = self._totals(
                f"session_id = ? AND group_id IN ({', '.join('?' * len(members))})",
                [session_id, *members],
            )
            row = next(g for g in groups if g["group_id"] == gid)
            group_values[gid] = {
                **{c: row[c] for c in GROUP_DERIVED},
                "estimated_effort": effort_done + effort_left,
                "total_tasks": total,
                "completed_tasks": done,
                "progress_percentage": percent(done, total),
            }
        self._update("task_groups", "group_id", groups, group_values, GROUP_DERIVED)

        session = db.query_one(
            f"SELECT session_id, {', '.join(SESSION_DERIVED)}, activated_at, created_at"
            " FROM sessions WHERE session_id = ?",
            [session_id],
        )
        if session is None:
            return
        total, done, effort_done, effort_left = self._totals("session_id = ?", [session_id])
        latest = self._latest_activity(session, edited, before, session_edited)
        started = session["activated_at"] or session["created_at"]
        self._update("sessions", "session_id", [session], {session_id: {
            "total_tasks": total,
            "completed_tasks": done,
            "progress_percentage": percent(done, total),
            "last_activity_at": latest,
            "estimated_completion_date": estimated_completion(
                started, latest, effort_done, effort_left
            ),
        }}, SESSION_DERIVED)  # fmt: skip

    def _totals(self, where: str, params: list) -> tuple[int, int, float, float]:
        """(tasks, completed, effort completed, effort open) of the counted tasks among
        those `where` selects: cancelled ones are not counted."""
        found = {
            s: (n, e) for s, n, e in self.db.rows(f"{BY_STATUS} {where} GROUP BY status", params)
        }
        done, effort_done = found.pop(DONE, (0, 0))
        found.pop(CANCELLED, None)
        rest = found.values()
        return done + sum(n for n, _ in rest), done, effort_done, sum(e for _, e in rest)

    def _latest_activity(
        self, session: dict[str, Any], edited: list[str], before: dict, read_all: bool = False
    ) -> str | None:
        """A session's last_activity_at after edits to `edited`: the latest of what it was
        and of the edited tasks' timestamps, unless an edit moved the latest one back or
        the session's own timestamps changed (`read_all`): then every timestamp of the session
        is read again."""
        columns = STAMPED["tasks"]
        if read_all:
            edited = []
        was = session["last_activity_at"]
        rows = self._select_in("tasks", ("task_id", *columns), edited)
        now = max((r[c] for r in rows for c in columns if r[c]), default=None)
        if not read_all and was is not None and now is not None and now >= was:
            return now
        if (
            not read_all
            and was is not None
            and all(before[t][c] != was for t in edited for c in columns)
        ):
            return was if now is None else max(was, now)
        stamps = " UNION ALL ".join(
            f"SELECT {column} AS stamp FROM {table} WHERE session_id = ?"
            for table, columns in STAMPED.items()
            for column in columns
        )
        count = sum(len(columns) for columns in STAMPED.values())
        return self.db.scalar(
            f"SELECT max(stamp) FROM ({stamps}) AS s", [session["session_id"]] * count
        )

    def _update(
        self,
        table: str,
        key: str,
        current: list[dict[str, Any]],
        values: dict[str, dict[str, Any]],
        columns: tuple[str, ...],
    ) -> None:
        rows, shown = [], []
        for row in current:
            new = values.get(row[key])
            if new is not None and any(row[c] != new[c] for c in columns):
                rows.append([*(new[c] for c in columns), row[key]])
                # A task whose file was read is settled at the end of the refresh.
                if (
                    table == "tasks"
                    and row[key] not in self._read_tasks
                    and any(row[c] != new[c] for c in SHOWN.intersection(columns))
                ):
                    shown.append(row[key])
        self.db.update_rows(table, key, columns, rows)
        checklists.drop_for(self.db, shown)
        if table == "tasks":  # task_ready keeps a derived figure too (its place in its group)
            self._derived_tasks.update(row[-1] for row in rows)

    def _derive_project(self) -> None:
        """What depends on all sessions (project_state.derive_project), and its problems."""
        problems = derive_project(self.db)
        self._delete_problems("project")
        self._insert_problems("project", problems)


def read_file(role: FileRole, rel: str, data: bytes | OSError) -> tuple[Any, list[Problem]]:
    """(what a file orch reads parses to, its problems): a Parsed record or a Mode.
    `data` is the file's content, or the error that reading it gave."""

    def unreadable(problem: Problem):
        if role.kind == "mode":
            return Mode(role.record_id, problems=[problem]), [problem]
        return Parsed(None, [problem]), [problem]

    if role.naming_problem is not None:
        problem, fix = role.naming_problem
        return unreadable(Problem(rel, problem, fix=fix))
    if isinstance(data, OSError):
        return unreadable(Problem(rel, f"cannot be read: {data.strerror or data}",
                                  fix="make it a readable file, or remove it"))  # fmt: skip
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        return unreadable(Problem(rel, "not UTF-8 text", line=line, fix="save the file as UTF-8"))
    if role.kind == "mode":
        mode = parse_mode(role.record_id, text, rel)
        return mode, mode.problems
    result = parse_record(role.kind, text, rel, role)
    return result, result.problems
