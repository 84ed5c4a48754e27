"""The `e` key: every snapshot format and an SVG screenshot, side by side, never overwriting."""

from __future__ import annotations

import re
from pathlib import Path

from bpdebug.export import ExportError, export
from bpdebug.files import write_atomic
from bpdebug.timeline import Timeline

SUFFIXES = (".json", ".npz", ".md")


def export_all(timeline: Timeline, folder: Path, svg: str) -> list[Path]:
    """Write `NAME-stepN.{json,npz,md,svg}` into `folder` (made if missing).

    NAME is the scenario file's stem. If any of the four names is taken,
    `-2`, `-3`, ... is added, so no file is ever overwritten. Raises OSError
    with a one-line message when the folder cannot be written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(timeline.scenario.path).stem) or "scenario"
    base = f"{stem}-step{timeline.step}"
    n = 1
    while True:
        name = base if n == 1 else f"{base}-{n}"
        paths = [folder / f"{name}{suffix}" for suffix in (*SUFFIXES, ".svg")]
        if not any(p.exists() for p in paths):
            break
        n += 1
    written: list[Path] = []
    try:
        for path in paths[:3]:
            written.append(export(timeline, path))
        written.append(write_atomic(paths[3], svg.encode("utf-8")))
    except ExportError as error:
        raise OSError(str(error)) from None
    return written
