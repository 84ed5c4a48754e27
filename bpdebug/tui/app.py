"""The debugger's Textual app: it holds the session and the main screen does the rest.

The app owns what outlives a screen: the Debugger (the one source of
truth) and the lock that the screen and its worker threads take to touch
it, the export folder, the signals that end the program, and notifications
(always plain text: they quote names and paths from files).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.notifications import SeverityLevel
from textual.screen import Screen

from bpdebug.debugger import Debugger
from bpdebug.snapshot.reopen import Reopening
from bpdebug.text import printable
from bpdebug.timeline import Edit
from bpdebug.tui.dialogs import BreakpointsScreen
from bpdebug.tui.keys import KEYS
from bpdebug.tui.main import MIN_SIZE as MIN_SIZE
from bpdebug.tui.main import NARROW_HEIGHT as NARROW_HEIGHT
from bpdebug.tui.main import MainScreen as MainScreen
from bpdebug.tui.signals import catch_ending_signals, exit_status


class BpdebugApp(App[int]):
    """Step through backpropagation on one scenario."""

    CSS_PATH = "app.tcss"
    TITLE = "bpdebug"

    def __init__(self, debugger: Debugger, export_dir: Path, title: str = "") -> None:
        super().__init__()
        self.debugger = debugger
        """The one source of truth: timeline, phase, selection."""
        self.export_dir = export_dir
        self.lock = threading.RLock()
        """Held by whoever touches the timeline: a worker thread or the screen."""
        self.sub_title = printable(title)
        self.leaving = False
        """The app is ending: workers stop within one chunk and call nothing back."""
        self.exported: list[Path] = []
        """Files written by the last export."""
        self.exported_edits: tuple[Edit, ...] = ()
        """The edits of the history the last export wrote (q asks before losing others)."""
        self.reopening: Reopening | None = None
        """A snapshot to bring the timeline to once the screen is up."""

    @property
    def main(self) -> MainScreen:
        """The debugger's screen (under any dialog)."""
        return self.get_screen("main")  # type: ignore[return-value]

    def on_mount(self) -> None:
        if not self.is_headless:  # a real terminal to give back; tests run headless
            catch_ending_signals(self._on_ending_signal, leaving=lambda: self.leaving)
        two_inputs = self.debugger.layers[0] == 2 and self.debugger.layers[-1] <= 2
        main = MainScreen(self.debugger, two_inputs)
        self.install_screen(main, "main")
        self.push_screen("main")
        if self.reopening is not None:
            name = self.reopening.path.name
            main.move(
                f"reopening {name}: replaying",
                self.reopening.motion(self.debugger.timeline),
                main.said,
                # Cancelled on the way it may have made some of the snapshot's branches.
                cancelled=(
                    f"reopening {name} cancelled short of step {self.reopening.step}"
                    " (the header shows where you are)"
                ),
            )
        self.call_after_refresh(self._settle)

    def _settle(self) -> None:
        # What exists once the screen is up (modules, widgets, the scenario) lives
        # as long as the app: keep it out of the collector's full passes, whose
        # pauses otherwise show up as 100 ms hitches in key-to-frame latency.
        gc.collect()
        gc.freeze()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every key of the debugger in the command palette (ctrl+p), from the one table."""
        yield from super().get_system_commands(screen)
        main = self.main
        for key in KEYS:
            if key.name in ("quit", "cancel") or key.action.startswith("show_tab"):
                continue
            yield SystemCommand(
                f"{key.label} ({key.display()})",
                key.help,
                lambda action=key.action: main.run_action(action),
            )

    def on_breakpoints_screen_changed(self, event: BreakpointsScreen.Changed) -> None:
        """The breakpoints dialog changed the list: the debugger (and a run) follow it."""
        with self.lock:
            self.debugger.breakpoints = list(event.breakpoints)

    def leave(self, return_code: int = 0) -> None:
        """End the app: workers stop within one chunk, then Textual exits."""
        self.leaving = True
        self.exit(return_code=return_code)

    def _on_ending_signal(self, signum: int) -> None:
        """SIGTERM, SIGHUP or SIGQUIT: leave as q does, exit status 128 + signum."""
        self.leave(exit_status(signum))

    def on_unmount(self) -> None:
        # However the app ends, the worker threads end too.
        self.leaving = True

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Show a notification, its text as written (Textual's default is markup).

        Notifications quote paths and names from files, so every one is
        plain text unless a caller asks for markup, and control characters
        are always escaped (`printable`). Thread-safe, like Textual's.
        """
        super().notify(
            printable(message),
            title=printable(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )
