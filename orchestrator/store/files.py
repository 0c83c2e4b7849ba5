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
import re
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
    folder = _folder_of(path, within)
    try:
        mode = _mode_of(folder, path, within)
        tmp = _temp_in(folder, path.name, data, durable, mode)
        try:
            os.replace(tmp, path.name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            _unlink(folder, tmp)
            raise
        if durable:
            os.fsync(folder)
    finally:
        os.close(folder)


def _folder_of(path: Path, within: Path | None, create: bool = True) -> int:
    """A descriptor of the folder holding `path` (through real folders only, from
    `within`, if given)."""
    if within is not None:
        return open_folder(path.parent, within, create)
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path.parent, _FOLDER)


def _mode_of(folder: int, path: Path, within: Path | None) -> int | None:
    """The mode of the file at `path` (None: none there); LinkRefused if it is a link and
    `within` is given."""
    try:
        mode = os.stat(path.name, dir_fd=folder, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        if within is not None:
            raise LinkRefused(_refusal(path, within, folder, path.name))
        return None
    return mode


def _temp_in(folder: int, name: str, data: bytes, durable: bool, mode: int | None) -> str:
    """`data` in a new temporary file in `folder`, beside `name` (fsynced if `durable`,
    with `mode` if given); its name."""
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
        if mode is not None:
            os.chmod(tmp, stat.S_IMODE(mode), dir_fd=folder)
    except BaseException:
        _unlink(folder, tmp)
        raise
    return tmp


def _unlink(folder: int, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=folder)


def read_held(path: Path, within: Path | None = None) -> tuple[int | None, bytes | None]:
    """Open `path` and read it: (a descriptor on the file read, its bytes), or (None,
    None) if there is no file. The descriptor lets `replace_checked` tell whether the file
    it replaces is the one read. With `within`, a link on the way is refused."""
    try:
        folder = _folder_of(path, within, create=False)
    except FileNotFoundError:
        return None, None
    try:
        _mode_of(folder, path, within)
        try:
            fd = os.open(path.name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder)
        except FileNotFoundError:
            return None, None
    finally:
        os.close(folder)
    try:
        return fd, _read_all(fd)
    except BaseException:
        os.close(fd)
        raise


def _read_all(fd: int) -> bytes:
    chunks, at = [], 0
    while chunk := os.pread(fd, 1 << 20, at):
        chunks.append(chunk)
        at += len(chunk)
    return b"".join(chunks)


def replace_checked(
    path: Path,
    data: bytes,
    held: int | None,
    expected: bytes | None,
    durable: bool = True,
    within: Path | None = None,
) -> bytes | None:
    """Write `data` to `path` atomically, replacing the file read through `held` (whose
    bytes were `expected`; None: create a file that must not exist yet). Returns None if
    it did. If the file there was not that one as read (an editor saved meanwhile, in
    place or by a rename), their file is left in place (put back at once, so it is never
    only in memory) and its bytes are returned: read it again, merge, and write again.

    The swap is `renameat2(RENAME_EXCHANGE)` where the system has it, so the file taken
    out is exactly the one that was there; elsewhere a plain rename, and only saves
    made in place are seen (returned after `data` was written over them). `held` is
    closed here. FileNotFoundError if the file was deleted meanwhile (nothing written);
    IsADirectoryError if something not a file stands there; links as `write_atomic`."""
    try:
        folder = _folder_of(path, within)
        try:
            mode = _mode_of(folder, path, within)
            if mode is not None and not stat.S_ISREG(mode):
                raise IsADirectoryError(errno.EISDIR, "not a file", str(path))
            if held is not None:
                mode = os.fstat(held).st_mode
            tmp = _temp_in(folder, path.name, data, durable, mode)
            try:
                if held is None:
                    other = _create(folder, tmp, path.name)
                else:
                    other = _swap(folder, tmp, path.name, held, expected)
            finally:
                _unlink(folder, tmp)
            if durable and other is None:
                os.fsync(folder)
            return other
        finally:
            os.close(folder)
    finally:
        if held is not None:
            os.close(held)


def _create(folder: int, tmp: str, name: str) -> bytes | None:
    """Give the new file `tmp` the name `name` unless a file has it already (its bytes
    are returned then, and it is left as it is)."""
    try:
        os.link(tmp, name, src_dir_fd=folder, dst_dir_fd=folder, follow_symlinks=False)
    except FileExistsError:
        return _read_name(folder, name)
    return None


def _read_name(folder: int, name: str) -> bytes:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder)
    try:
        return _read_all(fd)
    finally:
        os.close(fd)


def _swap(folder: int, tmp: str, name: str, held: int, expected: bytes | None) -> bytes | None:
    """Put `tmp` in the place of `name` if what stands there is the held file as read;
    else leave (or put back) what stands there, and return its bytes."""
    if not exchange(folder, tmp, name):
        try:
            os.stat(name, dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, "deleted meanwhile", name) from None
        os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
        now = _read_all(held)  # a save in place went into the very file read
        return None if now == expected else now
    try:
        taken = os.stat(tmp, dir_fd=folder, follow_symlinks=False)
        mine = os.fstat(held)
        same = (taken.st_dev, taken.st_ino) == (mine.st_dev, mine.st_ino)
        if same and _read_all(held) == expected:
            return None
    except BaseException:
        exchange(folder, tmp, name)  # stopped before knowing: what was there goes back
        raise
    # Saved by a rename (the file taken out is theirs) or in place meanwhile: theirs goes
    # straight back, and orch's file is the one thrown away.
    exchange(folder, tmp, name)
    if not stat.S_ISREG(taken.st_mode):
        raise IsADirectoryError(errno.EISDIR, "not a file", name)
    return _read_name(folder, name)


_RENAMEAT2: list = []  # the libc function, once looked up ([None] if there is none)


def exchange(folder: int, a: str, b: str) -> bool:
    """Swap two names in `folder` atomically (Linux renameat2 RENAME_EXCHANGE). False if
    the system or the file system cannot; FileNotFoundError if `b` is gone."""
    if not _RENAMEAT2:
        _RENAMEAT2.append(_load_renameat2())
    renameat2 = _RENAMEAT2[0]
    if renameat2 is None:
        return False
    import ctypes

    rename_exchange = 2
    if renameat2(folder, os.fsencode(a), folder, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err == errno.ENOENT:
        raise FileNotFoundError(err, os.strerror(err), b)
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False  # this file system cannot swap
    raise OSError(err, os.strerror(err), b)


def _load_renameat2():
    import sys

    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None  # a C library older than glibc 2.28
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    function.argtypes += [ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def remove_checked(
    path: Path, held: int, expected: bytes, within: Path | None = None
) -> bytes | None:
    """Delete `path` if it is still the file read through `held` with bytes `expected`.
    Returns None when deleted; else the bytes found instead, and the file is left (put
    back) as it was. `held` is closed here; links as `write_atomic` does."""
    try:
        folder = _folder_of(path, within, create=False)
    except FileNotFoundError:
        os.close(held)
        return None
    tmp = f".{path.name}.{os.getpid()}.{os.urandom(3).hex()}.del"
    try:
        try:
            os.rename(path.name, tmp, src_dir_fd=folder, dst_dir_fd=folder)
        except FileNotFoundError:
            return None  # gone already
        taken, mine = os.stat(tmp, dir_fd=folder, follow_symlinks=False), os.fstat(held)
        if (taken.st_dev, taken.st_ino) == (mine.st_dev, mine.st_ino):
            found = _read_all(held)
        elif stat.S_ISREG(taken.st_mode):
            fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder)
            try:
                found = _read_all(fd)
            finally:
                os.close(fd)
        else:
            found = b""  # not a file: put back as it was, and the removal refused
        if found == expected:
            _unlink(folder, tmp)
            return None
        # Put back what an editor saved meanwhile (unless it saved again since: the
        # newest save stands).
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path.name, src_dir_fd=folder, dst_dir_fd=folder, follow_symlinks=False)
        _unlink(folder, tmp)
        return found
    finally:
        os.close(folder)
        os.close(held)


def read_unlinked(path: Path) -> bytes:
    """The bytes of the file at `path`; OSError (ELOOP) if it is a link, which would make
    the index hold a file from outside the project."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        return f.read()


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


# The temporary files beside a record: `.NAME.PID.XXXXXX.tmp` (a write) and `.del` (a
# removal), named after the process that made them.
LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{6}\.(?:tmp|del)$")


def find_leftovers(within: Path, skip: tuple[str, ...] = (".git", ".index")) -> list[Path]:
    """Temporary files below `within` whose process is gone: left by an orch killed
    between two steps of a write. Each holds either orch's new text or a file orch had
    just taken out of its place (an editor's save, in the instant it was swapped)."""
    found = []
    folders = [within]
    while folders:
        folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in skip:
                    folders.append(Path(entry.path))
            elif (match := LEFTOVER.match(entry.name)) and not _alive(int(match["pid"])):
                found.append(Path(entry.path))
    return sorted(found)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's
    return True


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
        " place), then run the command again; the doctor lists every such link"
    )
