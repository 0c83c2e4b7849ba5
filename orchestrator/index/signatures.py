"""Which record files changed since the index last read them, by stat alone.

Every command starts here, so this is the hot path of a project of 10,000 files:
  * the scan lists each folder through a descriptor and stats each file relative to it;
  * the signatures the index holds (file_signatures, the truth) are also kept in a
    snapshot file next to it, grouped by folder as the scan groups them, so that "did
    anything change?" is one dict comparison done in C. The snapshot carries the index's
    generation (a token changed by every refresh that writes) and is used only when the
    two match; otherwise the table is read and the snapshot written again.

A signature is (ctime, size, inode), as git compares ctime too: the change time moves on
every write, also one made in place with the old mtime put back (editors and tools that
preserve times), and no one can set it by hand. A file changed so close to when it was
read that a second write could share its ctime (coarse file-system clocks: the "racy
git" problem) is checked by content the next time.
"""

from __future__ import annotations

import gc
import marshal
import os
import stat
import time

from orchestrator.names import (
    INDEX_DIR,
    KIND_FOLDER,
    MODE_SUFFIXES,
    ORCH_DIR,
    ROLES_DIR,
    SESSION_FILE,
    SESSIONS_DIR,
    SKIPPED_FIRST,
)

# Types only: the early scan (prescan.py) imports this module in a process that has
# imported nothing else, where pathlib, typing or dataclasses would cost more than it saves.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path
    from typing import Any

    from orchestrator.index.engine import IndexDB
    from orchestrator.layout import Layout

# (ctime_ns, size, inode): plain tuples, as a scan makes ten thousand of them.
Signature = tuple[int, int, int]
Folders = dict[str, dict[str, Signature]]  # folder (relative to the root) -> name -> signature
# (index generation, signatures, racy paths); a new index has no generation yet
Snapshot = tuple[str | None, Folders, list[str]]

FINE_CLOCK_NS = 20_000_000  # above the kernel's coarse clock tick (1-10 ms)
COARSE_CLOCK_NS = 2_000_000_000  # file systems that store whole seconds (FAT: 2 s)


def is_racy(ctime_ns: int, read_ns: int) -> bool:
    """Whether a file with this ctime, read at `read_ns`, could have been written again
    since within the same clock tick (same ctime, possibly same size). A file dated far
    in the future (a clock set back since) is not: a new write would give it today's
    date."""
    window = COARSE_CLOCK_NS if ctime_ns % 1_000_000_000 == 0 else FINE_CLOCK_NS
    return read_ns - window <= ctime_ns <= read_ns + COARSE_CLOCK_NS


class Plan:
    """What a refresh has to do: files to read (new, changed or racy) and files gone."""

    __slots__ = ("clock_ns", "generation", "gone", "snapshot", "to_read")

    def __init__(
        self,
        to_read: dict[str, Signature],  # path relative to the root -> its signature now
        gone: list[str],
        clock_ns: int,  # when the scan began: the time the files are read "at"
        generation: str | None = None,  # the state of the index the plan was made against
        snapshot: Snapshot | None = None,  # the snapshot the plan was made from, if any
    ):
        self.to_read, self.gone, self.clock_ns = to_read, gone, clock_ns
        self.generation, self.snapshot = generation, snapshot

    @property
    def empty(self) -> bool:
        return not self.to_read and not self.gone


class collector_paused:  # a class, not contextlib's: see TYPE_CHECKING above
    """Ten thousand signature tuples make no reference cycles: the cyclic collector would
    only walk them again and again while they are made (a server keeps it on otherwise)."""

    def __enter__(self) -> None:
        self.enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *_exc: object) -> None:
        if self.enabled:
            gc.enable()


def scan(layout: Layout) -> Folders:
    """Signatures of every file orch reads, by folder (empty folders left out). Links
    are not followed (a folder or file that is one is left out, and `orch doctor` lists
    it): what the index holds comes from inside the project."""
    return scan_base(os.fspath(layout.base))


def scan_base(base: str) -> Folders:
    """scan() of the project whose .task_orchestrator folder is `base`."""
    folders: Folders = {}
    _scan_folder(os.path.join(base, ROLES_DIR), f"{ORCH_DIR}/{ROLES_DIR}", MODE_SUFFIXES, folders)
    sessions_dir = os.path.join(base, SESSIONS_DIR)
    try:
        fd = os.open(sessions_dir, _REAL_FOLDER)
    except OSError:  # missing, or a link
        return folders
    try:
        with os.scandir(fd) as entries:
            sessions = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
    finally:
        os.close(fd)
    for name in sessions:
        if name.startswith("."):
            continue
        folder = f"{ORCH_DIR}/{SESSIONS_DIR}/{name}"
        try:
            st = os.stat(os.path.join(sessions_dir, name, SESSION_FILE), follow_symlinks=False)
            if stat.S_ISREG(st.st_mode):
                folders[folder] = {SESSION_FILE: (st.st_ctime_ns, st.st_size, st.st_ino)}
        except (FileNotFoundError, NotADirectoryError):
            pass
        for sub in KIND_FOLDER.values():
            path = os.path.join(sessions_dir, name, sub)
            _scan_folder(path, f"{folder}/{sub}", (".md",), folders)
    return folders


# A folder opened for listing, refused (ELOOP) if it is a link.
_REAL_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def _scan_folder(path: str, rel: str, suffixes: tuple[str, ...], folders: Folders) -> None:
    # Listing through a descriptor makes each stat relative to it (fstatat) instead of
    # resolving the whole path again: a quarter faster over 10,000 files.
    try:
        fd = os.open(path, _REAL_FOLDER)
    except OSError:  # missing, a file, or a link
        return
    found: dict[str, Signature] = {}
    try:
        with os.scandir(fd) as entries:
            for entry in entries:
                name = entry.name
                # Inlined is_record_name(): record files end in .md or .yaml already.
                if not name.endswith(suffixes) or name[0] in SKIPPED_FIRST:
                    continue
                if entry.is_symlink():
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:  # deleted just now
                    continue
                found[name] = (st.st_ctime_ns, st.st_size, st.st_ino)
    finally:
        os.close(fd)
    if found:
        folders[rel] = found


def stat_paths(layout: Layout, rels: Iterable[str]) -> dict[str, Signature]:
    """Signatures of the files at `rels`, as scan() would find them: a file that is a
    link, or lies in a folder that is one, is left out (as if not there)."""
    found = {}
    real: dict[str, bool] = {}  # folder -> no link on the way from the orchestrator folder
    for rel in rels:
        folder = rel.rpartition("/")[0]
        if folder not in real:
            real[folder] = _no_link(layout, folder)
        if not real[folder]:
            continue
        try:
            st = os.stat(layout.root / rel, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if stat.S_ISLNK(st.st_mode):
            continue
        found[rel] = (st.st_ctime_ns, st.st_size, st.st_ino)
    return found


def _no_link(layout: Layout, folder: str) -> bool:
    parts = folder.split("/")
    if parts[0] != ORCH_DIR:
        return False
    path = layout.base
    for name in parts[1:]:
        path = path / name
        try:
            if stat.S_ISLNK(os.stat(path, follow_symlinks=False).st_mode):
                return False
        except OSError:
            return True  # missing: its files are simply not there
    return True


def snapshot_path(layout: Layout, engine: str) -> Path:
    return layout.index_dir / _snapshot_name(engine)


def snapshot_file(base: str, engine: str) -> str:
    """snapshot_path() of the project whose .task_orchestrator folder is `base`."""
    return os.path.join(base, INDEX_DIR, _snapshot_name(engine))


def _snapshot_name(engine: str) -> str:
    return f"signatures-{engine}.marshal"


STORED = "SELECT path, ctime_ns, size, inode, recorded_ns FROM file_signatures"


def stored_rows(db: IndexDB, rels: list[str] | None = None) -> list[tuple]:
    """(path, ctime_ns, size, inode, recorded_ns) of the given files, or of all."""
    if rels is None:
        return db.rows(STORED)
    return db.rows_in(f"{STORED} WHERE path IN ({{in}})", rels)


def snapshot_from_rows(generation: str | None, rows: list[tuple]) -> Snapshot:
    """The snapshot of file_signatures rows (see stored_rows) read at `generation`."""
    folders: Folders = {}
    racy = []
    for path, ctime_ns, size, inode, recorded_ns in rows:
        folder, name = path.rsplit("/", 1)
        folders.setdefault(folder, {})[name] = (ctime_ns, size, inode)
        if is_racy(ctime_ns, recorded_ns):
            racy.append(path)
    return generation, folders, sorted(racy)


def write_snapshot(
    layout: Layout, db: IndexDB, generation: str | None, rows: list[tuple[Any, ...]]
) -> None:
    """Keep the signatures of `rows` (read together with `generation`) for the next
    command. Best effort: a snapshot that cannot be written only costs time."""
    _write(layout, db.engine, snapshot_from_rows(generation, rows))


def write_snapshot_patched(
    layout: Layout,
    db: IndexDB,
    snapshot: Snapshot,
    generation: str,
    recorded: dict[str, tuple[Signature, int]],
    removed: list[str],
) -> None:
    """The snapshot a refresh started from, with what it recorded and removed: the same
    as write_snapshot() from the whole table, without reading it again."""
    _loaded.pop(str(snapshot_path(layout, db.engine)), None)  # changed in place below
    _, folders, racy = snapshot
    racy_now = [rel for rel in racy if rel not in recorded and rel not in removed]
    for rel in removed:
        folder, name = rel.rsplit("/", 1)
        files = folders.get(folder)
        if files is not None:
            files.pop(name, None)
            if not files:
                del folders[folder]
    for rel, (signature, read_ns) in recorded.items():
        folder, name = rel.rsplit("/", 1)
        folders.setdefault(folder, {})[name] = signature
        if is_racy(signature[0], read_ns):
            racy_now.append(rel)
    _write(layout, db.engine, (generation, folders, sorted(racy_now)))


# Snapshots this process wrote or read, by file, with the file's signature then: a
# process that stays up (a server) reads its own snapshot back from memory. A file
# written since by another process has another inode, and is read again.
_loaded: dict[str, tuple[Signature, Snapshot]] = {}


def drop_snapshot(layout: Layout, engine: str) -> None:
    """Forget the snapshot: the next command without a journal reads the table once."""
    path = snapshot_path(layout, engine)
    _loaded.pop(str(path), None)
    try:  # noqa: SIM105 - contextlib is not for this module (see TYPE_CHECKING)
        os.unlink(path)
    except OSError:
        pass


def _write(layout: Layout, engine: str, snapshot: Snapshot) -> None:
    if not layout.keep_snapshot:
        drop_snapshot(layout, engine)
        return
    from orchestrator.store.files import write_atomic

    path = snapshot_path(layout, engine)
    _loaded.pop(str(path), None)
    try:
        write_atomic(path, marshal.dumps(snapshot), durable=False)
        st = os.stat(path)
        _loaded[str(path)] = ((st.st_ctime_ns, st.st_size, st.st_ino), snapshot)
    except OSError:
        pass  # a snapshot that cannot be written only costs time


def load_snapshot(layout: Layout, engine: str) -> Snapshot | None:
    if not layout.keep_snapshot:
        return None
    return _load(str(snapshot_path(layout, engine)))


def _load(path: str) -> Snapshot | None:
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            signature = (st.st_ctime_ns, st.st_size, st.st_ino)
            kept = _loaded.get(path)
            if kept is not None and kept[0] == signature:
                return kept[1]
            # loads(read()): marshal.load on a file object reads in small pieces, 7x slower.
            generation, folders, racy = marshal.loads(f.read())
        _loaded[path] = (signature, (generation, folders, racy))
        return generation, folders, racy
    except (OSError, ValueError, EOFError, TypeError):
        return None


def early_plan(base: str, engine: str) -> Plan | None:
    """The plan of a process with no index open (prescan.py), made against the snapshot:
    as of its generation, the index's when it was written. None without a snapshot.

    Whoever takes the plan checks that generation is still the index's. A snapshot of
    generation G holds the index's signatures at G (written once they are final), and
    generations never come back: the plan then compared the scan with what the index
    holds."""
    clock_ns = time.time_ns()
    snapshot = _load(snapshot_file(base, engine))
    if snapshot is None or snapshot[0] is None:
        return None
    with collector_paused():
        return _against_snapshot(scan_base(base), snapshot, clock_ns)


def plan(layout: Layout, db: IndexDB, paths: Iterable[str] | None = None) -> Plan:
    """Find what changed since the last refresh: among every file, or among `paths`
    (relative to the root). Reads no record file and writes nothing but the snapshot."""
    with collector_paused():
        return _plan(layout, db, paths)


def _plan(layout: Layout, db: IndexDB, paths: Iterable[str] | None) -> Plan:
    clock_ns = time.time_ns()
    if paths is not None:
        rels = sorted(set(paths))
        with db.reading():
            generation, rows = db.generation(), stored_rows(db, rels)
        found = _compare(stat_paths(layout, rels), rows, clock_ns)
        found.generation = generation
        return found
    # The generation before the scan: a refresh that writes after this changes it, and
    # whoever uses the plan then makes another (refresh()). Read after the scan, it could
    # be a refresh's that added a file the scan missed, and the plan would drop that file.
    generation = db.generation()
    folders = scan(layout)
    snapshot = load_snapshot(layout, db.engine)
    if snapshot is not None and snapshot[0] == generation:
        return _against_snapshot(folders, snapshot, clock_ns)
    with db.reading():
        now = db.generation()  # the rows' own, for the snapshot made of them
        held: list[tuple[Any, ...]] | None = None
        if layout.keep_snapshot:
            held = stored_rows(db)
            found = _compare_folders_rows(folders, held, clock_ns)
        else:  # no snapshot to make (a server's journal): the table is never held whole
            found = _compare_folders_rows(folders, db.stream(STORED), clock_ns)
    found.generation = generation
    if found.empty and held is not None:
        write_snapshot(layout, db, now, held)
    return found


def _against_snapshot(folders: Folders, snapshot: Snapshot, clock_ns: int) -> Plan:
    """The plan of a scan against the snapshot (at the snapshot's generation)."""
    generation, known, racy = snapshot
    if folders == known and not racy:
        return Plan({}, [], clock_ns, generation, snapshot)
    found = _compare_folders(folders, known, racy, clock_ns)
    found.generation, found.snapshot = generation, snapshot
    return found


def _compare_folders_rows(folders: Folders, rows: Iterable[tuple], clock_ns: int) -> Plan:
    """_compare() of a whole scan, walking the rows against the folders as scanned: no
    second map of every path (at 100,000 files, tens of MB less at the peak)."""
    to_read: dict[str, Signature] = {}
    gone = []
    seen: dict[str, set[str]] = {}
    for path, ctime_ns, size, inode, recorded_ns in rows:
        folder, _, name = path.rpartition("/")
        sig = folders.get(folder, {}).get(name)
        if sig is None:
            gone.append(path)
            continue
        seen.setdefault(folder, set()).add(name)
        if sig != (ctime_ns, size, inode) or is_racy(sig[0], recorded_ns):
            to_read[path] = sig
    for folder, files in folders.items():
        known = seen.get(folder, ())
        for name, sig in files.items():
            if name not in known:
                to_read[f"{folder}/{name}"] = sig
    return Plan(dict(sorted(to_read.items())), sorted(gone), clock_ns)


def _compare(scanned: dict[str, Signature], rows: list[tuple], clock_ns: int) -> Plan:
    known = {row[0]: row[1:] for row in rows}
    to_read = {}
    for rel, sig in scanned.items():
        old = known.get(rel)
        if old is None or sig != old[:3] or is_racy(sig[0], old[3]):
            to_read[rel] = sig
    gone = sorted(rel for rel in known if rel not in scanned)
    return Plan(dict(sorted(to_read.items())), gone, clock_ns)


def _compare_folders(folders: Folders, known: Folders, racy: list[str], clock_ns: int) -> Plan:
    to_read: dict[str, Signature] = {}
    gone = []
    for folder in folders.keys() | known.keys():
        now, before = folders.get(folder, {}), known.get(folder, {})
        if now == before:
            continue
        # Set operations on the items: in C, for the thousands of files of a folder.
        for name, sig in now.items() - before.items():
            to_read[f"{folder}/{name}"] = sig
        gone += [f"{folder}/{name}" for name in before.keys() - now.keys()]
    for rel in racy:
        folder, name = rel.rsplit("/", 1)
        racy_sig = folders.get(folder, {}).get(name)
        if racy_sig is not None:
            to_read.setdefault(rel, racy_sig)
    return Plan(dict(sorted(to_read.items())), sorted(gone), clock_ns)
