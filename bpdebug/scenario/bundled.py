"""The scenarios that ship with bpdebug: finding them and listing them."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import NamedTuple

from bpdebug.errors import InputError

_PACKAGE = Path(__file__).resolve().parent.parent


class BundledScenario(NamedTuple):
    """One bundled scenario file, as `bpdebug scenarios` lists it."""

    name: str
    """The file stem, which is also what the command line accepts: `xor`."""
    path: Path
    """Where the file is."""
    description: str
    """Its one-line `description`, or "" if it has none (or cannot be read)."""


def bundled_dir() -> Path | None:
    """The folder of bundled scenarios, or None if this install has none.

    A wheel ships the repository's `scenarios/` as `bpdebug/_scenarios`; a
    checkout or editable install finds `scenarios/` beside the package.
    """
    for folder in (_PACKAGE / "_scenarios", _PACKAGE.parent / "scenarios"):
        if folder.is_dir():
            return folder
    return None


def _description(path: Path) -> str:
    # Listing must not fail because one file is broken; loading it reports why.
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ""
    description = document.get("description", "")
    return description if isinstance(description, str) else ""


def list_bundled() -> list[BundledScenario]:
    """Every bundled scenario, sorted by name."""
    folder = bundled_dir()
    if folder is None:
        return []
    files = sorted(folder.glob("*.toml"), key=lambda path: path.stem)
    return [BundledScenario(path.stem, path, _description(path)) for path in files]


def resolve_scenario_arg(arg: str | Path) -> Path:
    """The file a command-line argument names.

    An existing path wins; otherwise a bundled scenario's name (`xor` or
    `xor.toml`) gives its file; otherwise the path comes back unchanged so
    that loading it reports "no such file" against what the user typed.
    """
    path = Path(arg)
    if path.exists():
        return path
    folder = bundled_dir()
    text = str(arg)
    if folder is not None and text and "/" not in text and "\\" not in text:
        candidate = folder / (text if text.endswith(".toml") else f"{text}.toml")
        if candidate.is_file():
            return candidate
    return path


def closest_bundled(arg: str) -> list[str]:
    """The bundled scenarios' names, the closest to `arg` first (difflib's ratio; ties by name)."""
    stem = Path(arg).name.removesuffix(".toml").lower()

    def likeness(name: str) -> float:
        return difflib.SequenceMatcher(None, stem, name.lower()).ratio()

    return sorted((b.name for b in list_bundled()), key=lambda name: (-likeness(name), name))


def find_scenario_arg(arg: str) -> Path:
    """The file a command-line argument names, or InputError if it names nothing.

    As `resolve_scenario_arg`, but an argument that is neither a file nor a
    bundled scenario is refused with the bundled scenarios, closest first:
    ``xr: not a file nor a bundled scenario; did you mean xor? (bundled:
    xor, chain, ...)``.
    """
    path = resolve_scenario_arg(arg)
    if path.exists():
        return path
    names = closest_bundled(arg)
    if not names:
        raise InputError(arg, "", "no such file")
    stem = Path(arg).name.removesuffix(".toml").lower()
    close = difflib.get_close_matches(stem, [name.lower() for name in names], n=1)
    guess = f"; did you mean {names[0]}?" if close else ""
    raise InputError(
        arg, "", f"not a file nor a bundled scenario{guess} (bundled: {', '.join(names)})"
    )
