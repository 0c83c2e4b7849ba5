"""Small exact file operations: atomic write, content id."""

from __future__ import annotations

import contextlib
import os
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
