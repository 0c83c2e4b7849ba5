"""Small exact file operations: atomic write, removal, content id.

A write, a removal or a folder made below the orchestrator folder (`within`) goes
through real folders only: each folder between `within` and the file is opened with
O_NOFOLLOW, and the file is created and renamed relative to the last one's descriptor,
so a folder (or file) that is a symbolic link cannot carry the write outside the
project, even if it is swapped in while orch works. `within` itself may be a link: the
project's owner chose where its orchestrator folder lives (orch then makes it a
repository of its own), which nothing orch writes or merges can choose for them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from orchestrator.errors import LinkRefused, PathOutsideProject

_FOLDER = os.O_RDONLY | os.O_DIRECTORY


def blob_id(data: bytes) -> str:
    """The git blob id of `data`: lets a file's content be matched with git's history."""
    import hashlib  # not at module level: loading OpenSSL costs 2 ms at every start

    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def write_atomic(path: Path, data: bytes, durable: bool = True, within: Path | None = None) -> None:
    """Replace `path` with `data` so that readers see the old or the new file, never a
    torn one: a temporary file beside it, fsync, rename, fsync of the folder (the fsyncs
    left out when not `durable`, for caches). A new file gets the user's umask; an
    existing file keeps its mode. With `within` (the orchestrator folder), a link on the
    way to `path`, or `path` itself a link, is refused (LinkRefused)."""
    if within is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        folder = os.open(path.parent, _FOLDER)
    else:
        folder = open_folder(path.parent, within)
    try:
        name = path.name
        try:
            mode = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
        except FileNotFoundError:
            mode = None
        if within is not None and mode is not None and stat.S_ISLNK(mode):
            raise LinkRefused(_refusal(path, within, folder, name))
        # The leading dot keeps the scanner (and most editors) from taking it for a record.
        tmp = f".{name}.{os.getpid()}.{os.urandom(3).hex()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666,
                     dir_fd=folder)  # fmt: skip
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if durable:
                    f.flush()
                    os.fsync(f.fileno())
            if mode is not None and not stat.S_ISLNK(mode):
                os.chmod(tmp, stat.S_IMODE(mode), dir_fd=folder)
            os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=folder)
            raise
        if durable:
            os.fsync(folder)
    finally:
        os.close(folder)


def read_unlinked(path: Path) -> bytes:
    """The bytes of the file at `path`; OSError (ELOOP) if it is a link, which would make
    the index hold a file from outside the project."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        return f.read()


def remove_file(path: Path, within: Path) -> None:
    """Remove `path` (a link there is removed as a link); nothing if it is not there.
    Refused if a folder on the way from `within` is a link."""
    try:
        folder = open_folder(path.parent, within, create=False)
    except FileNotFoundError:
        return
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path.name, dir_fd=folder)
    finally:
        os.close(folder)


def remove_tree(path: Path, within: Path) -> None:
    """Remove the folder `path` and everything in it; refused if it, or a folder on the
    way from `within`, is a link (links inside it are removed as links)."""
    folder = open_folder(path.parent, within, create=False)
    try:
        try:
            mode = os.stat(path.name, dir_fd=folder, follow_symlinks=False).st_mode
        except FileNotFoundError:
            return
        if stat.S_ISLNK(mode):
            raise LinkRefused(_refusal(path, within, folder, path.name))
        import shutil

        shutil.rmtree(path.name, dir_fd=folder)
    finally:
        os.close(folder)


def real_folder(path: Path, within: Path, create: bool = True) -> None:
    """Check that `path` is a folder reached from `within` through real folders (made if
    missing and `create`), for a writer that takes a path (DuckDB, a move): raises
    LinkRefused naming the link otherwise."""
    os.close(open_folder(path, within, create))


def find_links(within: Path) -> list[tuple[Path, str]]:
    """(path, target) of every symbolic link below `within` (a git folder there left
    unread), in path order."""
    found = []
    folders = [within]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_symlink():
                        path = Path(entry.path)
                        try:
                            found.append((path, os.readlink(path)))
                        except OSError:
                            found.append((path, "?"))
                    elif entry.is_dir(follow_symlinks=False) and entry.name != ".git":
                        folders.append(Path(entry.path))
        except OSError:
            continue  # gone meanwhile, or unreadable: nothing orch reads there either
    return sorted(found)


def open_folder(path: Path, within: Path, create: bool = True) -> int:
    """A descriptor of the folder `path`, opened from `within` one folder at a time
    without following links (folders missing are made if `create`). Raises LinkRefused
    naming a link on the way, FileNotFoundError if a folder is missing and not `create`."""
    try:
        names = path.relative_to(within).parts
    except ValueError:
        names = ("..",)
    if ".." in names:
        raise PathOutsideProject(f"{path} is not inside {within}: orch writes nothing there")
    fd = os.open(within, _FOLDER)
    try:
        for n, name in enumerate(names):
            try:
                inner = _enter(fd, name)
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, dir_fd=fd)
                inner = _enter(fd, name)
            except LinkRefused:
                raise LinkRefused(
                    _refusal(within.joinpath(*names[: n + 1]), within, fd, name)
                ) from None
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def _enter(folder: int, name: str) -> int:
    try:
        return os.open(name, _FOLDER | os.O_NOFOLLOW, dir_fd=folder)
    except OSError as error:
        # ELOOP: the name is a link (O_NOFOLLOW); ENOTDIR: a link to a file, or a file.
        if error.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(folder, name):
            raise LinkRefused(name) from None
        raise


def _is_link(folder: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _refusal(link: Path, within: Path, folder: int, name: str) -> str:
    try:
        target = os.readlink(name, dir_fd=folder)
    except OSError:
        target = "?"
    shown = Path(within.name, link.relative_to(within)).as_posix()
    return (
        f"{shown} is a symbolic link (to {target}): orch does not write through links"
        f" inside {within.name}/, so that nothing it writes lands outside the project."
        " Replace the link with the folder or file it points to (move that into its"
        " place), then run the command again; `orch doctor` lists every such link"
    )
