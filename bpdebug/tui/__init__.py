"""The Textual screen of bpdebug. Only this package imports Textual."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bpdebug.branches import Branches
    from bpdebug.timeline import Timeline
    from bpdebug.tui.app import BpdebugApp


def build_app(arg: str, export_dir: Path = Path("exports")) -> BpdebugApp:
    """The app for a scenario file, a bundled scenario's name or a snapshot (.json, .npz,
    .safetensors).

    One factory serves the command line and the tests. Raises InputError
    for a bad file (before anything is drawn). A snapshot's file is read
    and checked here; its replay to its step and edits runs once the screen
    is up, in a worker that esc can cancel (`Reopening.motion`).
    """
    from bpdebug.snapshot.reopen import open_timeline

    timeline, reopening = open_timeline(arg)
    session = None if reopening is None else reopening.session
    title = source_name(timeline.scenario.path, reopening)
    app = app_for(timeline, title, export_dir, session)
    app.reopening = reopening
    return app


def app_for(
    timeline: Timeline,
    title: str,
    export_dir: Path = Path("exports"),
    branches: Branches | None = None,
) -> BpdebugApp:
    """The app on a timeline already built (a scenario from a file, or from `bpdebug.debug`),
    with the scenario's breakpoints; `title` names it in the header. `branches`: the
    session `timeline` is main of (a reopened snapshot's, which it rebuilds)."""
    from bpdebug.debugger import Debugger
    from bpdebug.tui.app import BpdebugApp

    debugger = Debugger(timeline, timeline.scenario.breakpoints, branches)
    return BpdebugApp(debugger, export_dir, title=title)


def source_name(path: Path | str, reopening: object | None = None) -> str:
    """How the header names what was opened: a bundled scenario by its short name
    (``xor``), a snapshot by its file name, any other scenario by its file name."""
    from bpdebug.scenario.bundled import bundled_dir

    if reopening is not None:
        return Path(reopening.path).name  # type: ignore[attr-defined]
    path = Path(path)
    folder = bundled_dir()
    if folder is not None and path.resolve().parent == folder.resolve():
        return path.stem
    return path.name


def run_app(arg: str, export_dir: Path = Path("exports")) -> int:
    """Run the debugger until it ends; returns the exit status.

    0 after q; 1 after a crash inside the app (Textual has printed the
    traceback); 128 + N after signal N ended it (SIGHUP 129, SIGQUIT 131,
    SIGTERM 143; see `bpdebug.tui.signals`).
    """
    app = build_app(arg, export_dir)
    app.run()
    # Textual sets return_code to 1 when an exception ends the app.
    return app.return_code or 0
