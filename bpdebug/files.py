"""Writing files so that they are whole or absent, never half-written.

Every write goes to a temporary file in the target's own folder (so the final
rename never crosses a file system), is flushed to disk, and only then takes
the target's name. Without `overwrite`, the name is taken with a hard link,
which the operating system refuses if the name exists: two exports racing
for one name cannot overwrite each other.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

NO_HARD_LINKS = frozenset(
    code
    for code in (
        errno.EPERM,
        getattr(errno, "ENOTSUP", None),
        getattr(errno, "EOPNOTSUPP", None),
        errno.EXDEV,
    )
    if code is not None
)
"""errno values of `os.link` on file systems without hard links (FAT, some FUSE and SMB)."""


def _read_umask() -> int:
    # Python offers no way to read the umask without setting it; doing so
    # once, at import, keeps the brief window out of any worker thread.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_atomic(path: str | os.PathLike[str], data: bytes, *, overwrite: bool = False) -> Path:
    """Write `data` to `path` whole or not at all; see `write_atomic_with`."""

    def write(f: BinaryIO) -> None:
        f.write(data)

    return write_atomic_with(path, write, overwrite=overwrite)


def write_atomic_with(
    path: str | os.PathLike[str],
    write: Callable[[BinaryIO], None],
    *,
    overwrite: bool = False,
) -> Path:
    """Let `write` fill a temporary file, then give it the name `path`.

    Without `overwrite`, raises FileExistsError if `path` exists and leaves it
    untouched. Any error (from `write` too) removes the temporary file and
    propagates. A new file gets the usual permissions (0o666 minus the
    umask); a replaced one keeps its own.
    """
    target = Path(path)
    folder = target.parent
    fd, tmp_name = tempfile.mkstemp(prefix="." + target.name, suffix=".tmp", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        _set_mode(tmp, target if overwrite else None)
        if overwrite:
            os.replace(tmp, target)
        else:
            _create_from(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_folder(folder)
    return target


def unique_path(folder: str | os.PathLike[str], stem: str, suffix: str) -> Path:
    """The first of `stem.suffix`, `stem-2.suffix`, `stem-3.suffix`, ... not yet in `folder`.

    `suffix` may be given with or without its dot. Another process may take
    the name before it is written: write it without `overwrite` and ask again
    on FileExistsError.
    """
    base = Path(folder)
    dot = suffix if suffix.startswith(".") or not suffix else "." + suffix
    for n in itertools.count(1):
        candidate = base / (f"{stem}{dot}" if n == 1 else f"{stem}-{n}{dot}")
        if not os.path.lexists(candidate):
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover - count() never ends


def _create_from(tmp: Path, target: Path) -> None:
    """Give `tmp`'s content the name `target`, failing if `target` exists."""
    try:
        os.link(tmp, target)
    except OSError as error:
        if error.errno not in NO_HARD_LINKS:
            raise
        # No hard links here: claim the name with an exclusive create, then
        # rename over our own empty placeholder.
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        try:
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                target.unlink()
            raise
    else:
        tmp.unlink()


def _set_mode(tmp: Path, replacing: Path | None) -> None:
    """mkstemp makes files private (0o600); give `tmp` the mode a plain open() would."""
    mode = 0o666 & ~_UMASK
    if replacing is not None:
        with contextlib.suppress(OSError):
            mode = replacing.stat().st_mode & 0o7777
    with contextlib.suppress(OSError):  # e.g. file systems without Unix permissions
        os.chmod(tmp, mode)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (best effort: not every system can open a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
