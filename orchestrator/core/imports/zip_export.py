"""Moving back in a session exported as zip (orch export --format zip, or an archive):
every entry checked before anything is written, then every file that is not here yet."""

from __future__ import annotations

import contextlib
import re
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any

from orchestrator.core.progress import Cancelled
from orchestrator.core.project import Project
from orchestrator.errors import InvalidInput
from orchestrator.layout import is_id
from orchestrator.store.files import real_folder, remove_tree

# What one zip import may unpack. Record files are a few KB and artifacts are reports:
# these leave room for large sessions, and stop a zip bomb (300 KB that unpacks to
# 300 MB) before anything is written. README.md ("Moving in") says them too.
ZIP_FILE_LIMIT = 32 * 2**20  # bytes of one file, unpacked
ZIP_TOTAL_LIMIT = 256 * 2**20  # bytes of all files, unpacked
ZIP_FILES_LIMIT = 250_000  # files
NAME_LIMIT = 255  # bytes of a file or folder name (the file system's own limit)


def read_zip(file: str | Path) -> dict[str, list[tuple[str, bytes]]]:
    """The files of an orch zip export, by session id, each entry checked before any
    file is written: its name (`<session id>/<path>`, no `..`, no hidden or empty
    part), its type (a file, not a link or a device; not encrypted), that it is there
    once and is not also a folder, and its size — the sizes the zip declares first,
    then the bytes it really unpacks to (declared sizes can lie). Raises InvalidInput
    naming the entry and what is wrong."""
    path = Path(file).expanduser()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as e:
        raise InvalidInput(f"{file} is not a zip file orch can read ({e})") from None

    def refused(name: str, problem: str) -> InvalidInput:
        return InvalidInput(f"{file}: entry {name!r} {problem}; nothing was imported")

    with archive:
        entries = [info for info in archive.infolist() if not info.is_dir()]
        if len(entries) > ZIP_FILES_LIMIT:
            raise InvalidInput(
                f"{file} holds {len(entries):,} files, more than the {ZIP_FILES_LIMIT:,} one"
                " import takes; import its sessions from smaller zips (nothing was imported)"
            )
        names: set[str] = set()
        folders: set[str] = set()
        declared = 0
        for info in entries:
            name = info.filename
            problem = _entry_name_problem(name)
            kind = stat.S_IFMT(info.external_attr >> 16)
            if problem is None and kind not in (0, stat.S_IFREG):
                problem = "is not a file (a link, a device or a pipe)"
            if problem is None and info.flag_bits & 0x1:
                problem = "is encrypted"
            if problem is None and name in names:
                problem = "is in the zip twice"
            if problem is None and info.file_size > ZIP_FILE_LIMIT:
                problem = (
                    f"unpacks to {_mb(info.file_size)}, more than the {_mb(ZIP_FILE_LIMIT)}"
                    " a file of an import may have"
                )
            if problem is not None:
                raise refused(name, problem)
            names.add(name)
            parts = name.split("/")
            folders.update("/".join(parts[:n]) for n in range(1, len(parts)))
            declared += info.file_size
        both = sorted(names & folders)
        if both:
            raise refused(both[0], "is a file, and a folder of other entries")
        if declared > ZIP_TOTAL_LIMIT:
            raise InvalidInput(
                f"{file} unpacks to {_mb(declared)}, more than the {_mb(ZIP_TOTAL_LIMIT)} one"
                " import may write; import its sessions from smaller zips (nothing was imported)"
            )
        by_session: dict[str, list[tuple[str, bytes]]] = {}
        total = 0
        for info in entries:
            # Never more than the limits, whatever the entry says of itself.
            room = min(ZIP_FILE_LIMIT, ZIP_TOTAL_LIMIT - total)
            try:
                with archive.open(info) as stream:
                    data = stream.read(room + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as e:
                raise refused(info.filename, f"cannot be unpacked ({e})") from None
            if len(data) > room:
                raise refused(info.filename, "unpacks to more than the import limits allow")
            total += len(data)
            session_id, _, rel = info.filename.partition("/")
            by_session.setdefault(session_id, []).append((rel, data))
    return by_session


def _entry_name_problem(name: str) -> str | None:
    session_id, _, rel = name.partition("/")
    if not is_id("session", session_id) or not rel:
        return "is not a file of an orch session export (<session id>/<path>)"
    for part in rel.split("/"):
        if not part or part in (".", "..") or part.startswith("."):
            return f"has a path part {part!r} orch does not write (empty, . or .., or hidden)"
        if "\\" in part or any(ord(c) < 32 or ord(c) == 127 for c in part):
            return "has a backslash or a control character in its name"
        if len(part.encode("utf-8", "surrogateescape")) > NAME_LIMIT:
            return f"has a name longer than {NAME_LIMIT} bytes"
    return None


def _mb(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB" if size % 2**20 else f"{size // 2**20:,} MiB"


def import_zip(project: Project, file: str | Path) -> dict[str, Any]:
    """Bring back sessions exported as zip (orch export --format zip, or an archive): their
    files as they were, in one commit. Every entry is checked first (read_zip). Like the
    other imports it can run again: a file already here is left as it is (changed here
    or not), and only the files that are missing are written. `project.progress` is
    told each file written; a cancel takes back every file and commits nothing."""
    by_session = read_zip(file)
    project.progress.check()  # before the first write
    report: dict[str, Any] = {"source": "zip", "sessions": sorted(by_session), "files_written": 0,
              "files_existing": 0, "sessions_existing": 0, "paused": []}  # fmt: skip
    with project.writing("import-zip") as w:
        base = w.layout.base
        missing: dict[str, list[tuple[str, bytes]]] = {}
        for session_id, files in sorted(by_session.items()):  # every check before a write
            folder = w.layout.session_dir(session_id)
            try:
                real_folder(folder, base, create=False)  # a link there is refused, named
            except FileNotFoundError:
                missing[session_id] = files
                continue
            report["sessions_existing"] += 1
            missing[session_id] = [(rel, data) for rel, data in files
                                   if not (folder / rel).exists()]  # fmt: skip
            report["files_existing"] += len(files) - len(missing[session_id])
        active = w.db.scalar("SELECT count(*) FROM active_session")
        made: list[Path] = []
        total, written = sum(len(files) for files in missing.values()), 0
        try:
            for session_id, files in missing.items():
                folder = w.layout.session_dir(session_id)
                if not folder.exists():
                    made.append(folder)
                for rel, data in files:
                    if (
                        rel == "session.md"
                        and active
                        and re.search(rb"(?m)^status: active\s*$", data)
                    ):
                        # Another session is active here: this one comes back paused.
                        data = re.sub(rb"(?m)^status: active\s*$", b"status: paused", data, count=1)
                        report["paused"].append(session_id)
                    w.write_file(folder / rel, data)
                    report["files_written"] += 1
                    written += 1
                    project.progress.step(written, total, f"{written} of {total} files written")
        except Cancelled:
            raise  # Writer.discard takes back each file it wrote, and only those
        except BaseException:
            # A write failed (a full disk): the sessions it made go again, so that the
            # commit that follows holds none of them (files it added to a session that was
            # here stay: running it again adds the rest).
            for folder in made:
                with contextlib.suppress(OSError):
                    remove_tree(folder, base)
            raise
        w.sync()
    return report
