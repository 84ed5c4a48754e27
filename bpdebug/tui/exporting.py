"""The `e` key: every snapshot format and an SVG screenshot, side by side, never overwriting."""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import re
import tempfile
import zipfile
from pathlib import Path

from bpdebug.files import write_atomic
from bpdebug.snapshot import ExportError, export
from bpdebug.timeline import Timeline

SUFFIXES = (".json", ".npz", ".md", ".svg")
"""What one export writes, in this order."""


def export_all(timeline: Timeline, folder: Path, svg: str) -> list[Path]:
    """Write `NAME-stepN.{json,npz,md,svg}` into `folder` (made if missing); all four or none.

    NAME is the scenario file's stem. If any of the four names is taken (by
    anything, a dangling symlink included: it is never written through),
    `-2`, `-3`, ... is added, so no file is ever overwritten. If a file
    cannot be written, the ones written before it are removed and OSError
    says, in one line, which file failed and why.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OSError(f"cannot use {folder} as the export folder: it is a file") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise OSError(f"cannot create the export folder {folder}: {reason}") from None
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(timeline.scenario.path).stem) or "scenario"
    base = f"{stem}-step{timeline.step}"
    for n in itertools.count(1):
        name = base if n == 1 else f"{base}-{n}"
        paths = [folder / f"{name}{suffix}" for suffix in SUFFIXES]
        # lexists: a symlink is a taken name even when what it points to is not there.
        if any(os.path.lexists(p) for p in paths):
            continue
        written: list[Path] = []
        try:
            for path in paths[:3]:
                written.append(export(timeline, path))
            written.append(write_atomic(paths[3], svg.encode("utf-8")))
            return written
        except ExportError as error:  # names its file
            detail = str(error)
        except OSError as error:
            detail = f"cannot write {paths[len(written)]}: {error.strerror or error}"
        for path in written:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        if os.path.lexists(paths[len(written)]):
            continue  # another process took the name since it was free: try the next
        raise OSError(f"{detail} (no file of this export was kept)")
    raise AssertionError("unreachable")  # pragma: no cover - count() never ends


def export_archive(timeline: Timeline, svg: str) -> tuple[str, bytes]:
    """The four files of `export_all` in one zip, for a browser: (``NAME-stepN.zip``, its bytes).

    Under `bpdebug serve` the export is a download, and a browser lets a
    page start only one download per key press (the others are blocked as
    pop-ups), so the four files travel together. They are written by
    `export_all` itself into a private temporary folder, removed at once:
    the same bytes as on disk, and nothing left on the server.
    """
    with tempfile.TemporaryDirectory(prefix="bpdebug-export-") as folder:
        written = export_all(timeline, Path(folder), svg)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in written:
                archive.write(path, path.name)
    return f"{written[0].stem}.zip", buffer.getvalue()
