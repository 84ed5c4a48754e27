"""Atomic writes: a file is whole or absent, never overwritten unless asked."""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path
from typing import BinaryIO

import pytest

from bpdebug.files import unique_path, write_atomic, write_atomic_with


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def test_write_atomic_creates_the_file_and_leaves_no_temp(tmp_path: Path) -> None:
    """The bytes land under the name asked for, and nothing else is left in the folder."""
    target = tmp_path / "out.json"
    assert write_atomic(target, b"hello") == target
    assert target.read_bytes() == b"hello"
    assert listing(tmp_path) == ["out.json"]


def test_new_file_gets_the_umask_mode_not_mkstemps_private_one(tmp_path: Path) -> None:
    """mkstemp makes 0o600 files; an export should be as readable as any file the user makes."""
    mask = os.umask(0o022)
    os.umask(mask)
    target = write_atomic(tmp_path / "out.md", b"x")
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_existing_file_is_never_overwritten_without_overwrite(tmp_path: Path) -> None:
    """Create-or-fail: FileExistsError, the old bytes intact, no temp file."""
    target = tmp_path / "out.json"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert listing(tmp_path) == ["out.json"]


def test_overwrite_replaces_and_keeps_the_old_files_mode(tmp_path: Path) -> None:
    """With overwrite the content is replaced; permissions the user set survive."""
    target = tmp_path / "out.json"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_atomic(target, b"new", overwrite=True)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert listing(tmp_path) == ["out.json"]


@pytest.mark.parametrize("overwrite", [False, True])
def test_writer_that_raises_leaves_neither_target_nor_temp(tmp_path: Path, overwrite: bool) -> None:
    """A failure half-way through writing propagates and removes the temp file."""

    def write(f: BinaryIO) -> None:
        f.write(b"half a file")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_atomic_with(tmp_path / "out.npz", write, overwrite=overwrite)
    assert listing(tmp_path) == []


def test_writer_that_raises_leaves_an_existing_target_untouched(tmp_path: Path) -> None:
    """Even when replacing, the old file stays whole until the new one is complete."""
    target = tmp_path / "out.npz"
    target.write_bytes(b"old")

    def write(f: BinaryIO) -> None:
        f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomic_with(target, write, overwrite=True)
    assert target.read_bytes() == b"old"
    assert listing(tmp_path) == ["out.npz"]


def test_missing_folder_raises_and_creates_nothing(tmp_path: Path) -> None:
    """The temp file lives beside the target, so a missing folder fails at once."""
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "nope" / "out.json", b"x")
    assert listing(tmp_path) == []


@pytest.mark.parametrize("code", [errno.EPERM, errno.EOPNOTSUPP])
def test_without_hard_links_falls_back_to_exclusive_create(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """On file systems without hard links (FAT, some FUSE) create-or-fail still holds."""

    def no_link(src: object, dst: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", no_link)
    target = tmp_path / "out.json"
    write_atomic(target, b"first")
    assert target.read_bytes() == b"first"
    with pytest.raises(FileExistsError):
        write_atomic(target, b"second")
    assert target.read_bytes() == b"first"
    assert listing(tmp_path) == ["out.json"]


def test_other_link_errors_propagate_and_clean_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An I/O error while linking is not mistaken for 'no hard links here'."""

    def broken_link(src: object, dst: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "link", broken_link)
    with pytest.raises(OSError, match="Input/output error"):
        write_atomic(tmp_path / "out.json", b"x")
    assert listing(tmp_path) == []


def test_racing_writers_without_overwrite_exactly_one_wins(tmp_path: Path) -> None:
    """Two exports racing for one name: one succeeds, the others get FileExistsError."""
    target = tmp_path / "out.json"
    results: list[str] = []
    start = threading.Barrier(8)

    def worker(i: int) -> None:
        start.wait()
        try:
            write_atomic(target, f"writer {i}".encode())
            results.append("won")
        except FileExistsError:
            results.append("lost")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["lost"] * 7 + ["won"]
    assert target.read_text().startswith("writer ")
    assert listing(tmp_path) == ["out.json"]


def test_unique_path_counts_up_from_2(tmp_path: Path) -> None:
    """stem.suffix first, then stem-2.suffix, stem-3.suffix: never an existing name."""
    first = unique_path(tmp_path, "xor-step5", ".json")
    assert first == tmp_path / "xor-step5.json"
    first.write_text("{}")
    second = unique_path(tmp_path, "xor-step5", ".json")
    assert second == tmp_path / "xor-step5-2.json"
    second.write_text("{}")
    assert unique_path(tmp_path, "xor-step5", "json") == tmp_path / "xor-step5-3.json"
    # Another suffix is a different name.
    assert unique_path(tmp_path, "xor-step5", ".npz") == tmp_path / "xor-step5.npz"
