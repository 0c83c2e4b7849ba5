"""Small exact file operations: atomic write, content id."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from pathlib import Path


def blob_id(data: bytes) -> str:
    """The git blob id of `data`: lets a file's content be matched with git's history."""
    import hashlib  # not at module level: loading OpenSSL costs 2 ms at every start

    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Replace `path` with `data` so that readers see the old or the new file, never a
    torn one: a temporary file beside it, fsync, rename, fsync of the folder (the fsyncs
    left out when not `durable`, for caches). A new file gets the user's umask; an
    existing file keeps its mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The leading dot keeps the scanner (and most editors) from taking it for a record.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(3).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_beside(path: Path, data: bytes, durable: bool, mode_from: int | None) -> Path:
    """`data` in a new temporary file beside `path` (fsynced if `durable`)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(3).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        if mode_from is not None:
            os.chmod(tmp, mode_from & 0o7777)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def read_held(path: Path) -> tuple[int | None, bytes | None]:
    """Open `path` and read it: (a descriptor on the file read, its bytes), or (None,
    None) if there is no file. The descriptor lets `replace_checked` tell whether the file
    it replaced is the one read."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None, None
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
    path: Path, data: bytes, held: int | None, expected: bytes | None, durable: bool = True
) -> bytes | None:
    """Write `data` to `path` atomically, replacing the file read through `held` (whose
    bytes were `expected`; None: create a file that must not exist yet). Returns None if
    the file replaced was that one, unchanged; else the bytes of the file that was there
    instead (an editor saved in the meantime, in place or by a rename): `data` is on
    disk, and the caller must merge those bytes in and write again, or they are lost.

    The swap is `renameat2(RENAME_EXCHANGE)` where the system has it, so the file taken
    out is exactly the one that was there; elsewhere a plain rename, and only saves
    made in place are seen. `held` is closed here. Raises FileNotFoundError if the file
    was deleted meanwhile (nothing is written then)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = os.fstat(held).st_mode if held is not None else None
        tmp = _temp_beside(path, data, durable, mode)
        try:
            if held is None:
                try:
                    os.link(tmp, path)  # fails if a file appeared: never overwritten
                except FileExistsError:
                    with open(path, "rb") as f:
                        return f.read()
                tmp.unlink()
                other = None
            else:
                other = _swap(tmp, path, held, expected)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    finally:
        if held is not None:
            os.close(held)
    if durable:
        fsync_dir(path.parent)
    return other


def _swap(tmp: Path, path: Path, held: int, expected: bytes | None) -> bytes | None:
    """Put `tmp` in the place of `path`; the bytes of the file taken out if it was not
    the held one as it was read."""
    if exchange(tmp, path):
        taken = os.lstat(tmp)
        mine = os.fstat(held)
        if (taken.st_dev, taken.st_ino) != (mine.st_dev, mine.st_ino):
            other = tmp.read_bytes()  # saved by a rename: the file taken out is theirs
            tmp.unlink()
            return other
        tmp.unlink()
    else:
        if not os.path.lexists(path):
            raise FileNotFoundError(path)
        os.replace(tmp, path)
    now = _read_all(held)  # a save in place went into the very file read
    return None if now == expected else now


_RENAMEAT2: list = []  # the libc function, once looked up ([None] if there is none)


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE). False if the system
    or the file system cannot; FileNotFoundError if `b` is gone."""
    if not _RENAMEAT2:
        _RENAMEAT2.append(_load_renameat2())
    renameat2 = _RENAMEAT2[0]
    if renameat2 is None:
        return False
    import ctypes

    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err == errno.ENOENT:
        raise FileNotFoundError(err, os.strerror(err), str(b))
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False  # this file system cannot swap
    raise OSError(err, os.strerror(err), str(b))


def _load_renameat2():
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


def remove_checked(path: Path, held: int, expected: bytes) -> bytes | None:
    """Delete `path` if it is still the file read through `held` with bytes `expected`.
    Returns None when deleted; else the bytes found instead, and the file is left (put
    back) as it was. `held` is closed here."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(3).hex()}.del")
    try:
        try:
            os.rename(path, tmp)  # whatever is there now is taken out whole
        except FileNotFoundError:
            return None  # gone already
        taken, mine = os.lstat(tmp), os.fstat(held)
        same = (taken.st_dev, taken.st_ino) == (mine.st_dev, mine.st_ino)
        found = _read_all(held) if same else tmp.read_bytes()
        if found == expected:
            tmp.unlink()
            return None
        # Put back what an editor saved meanwhile (unless it saved again since: the newest
        # save stands).
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink()
        return found
    finally:
        os.close(held)
