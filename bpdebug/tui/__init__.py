"""The Textual screen of bpdebug. Only this package imports Textual."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bpdebug.tui.app import BpdebugApp


def build_app(arg: str, export_dir: Path = Path("exports")) -> BpdebugApp:
    """The app for a scenario file, a bundled scenario's name or a snapshot (.json).

    One factory serves the command line and the tests. Raises InputError
    for a bad file (before anything is drawn).
    """
    from bpdebug.debugger import Debugger
    from bpdebug.tui.app import BpdebugApp
    from bpdebug.tui.reopen import open_timeline

    timeline, message = open_timeline(arg)
    debugger = Debugger(timeline, timeline.scenario.breakpoints)
    app = BpdebugApp(debugger, export_dir, title=str(timeline.scenario.path))
    app.startup_message = message
    return app


def run_app(arg: str, export_dir: Path = Path("exports")) -> int:
    """Run the debugger until the user quits; returns the exit status."""
    app = build_app(arg, export_dir)
    result = app.run()
    return int(result or 0)
