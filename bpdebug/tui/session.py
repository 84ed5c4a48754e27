"""The machinery of the debugger's screen: its layout, its view, and the long work.

`MainScreen` (main.py) adds the actions, one per key. Keys come from the
table in keys.py; a dialog pushed on top takes them out of the chain by
itself. Every action changes the Debugger (under the app's lock) and then
`sync`s the reactive `view`, from which the panes redraw.

Nothing slow runs on the event loop. A motion through time (`s`, `S`, `n`,
`N`, `g`, `C`, the replay after `w`, reopening a snapshot) is a generator
of (done, total) updates: the screen runs it for up to `SYNC_BUDGET`
seconds at once, and if it is not done by then a worker thread finishes it
in chunks, with a progress line and Esc to cancel, which leaves the step
where it was. Training (`c`) runs in a worker the same way; while it runs
only keys that move time wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from bpdebug.debugger import Debugger
from bpdebug.timeline import Progress
from bpdebug.tui.keys import TIME, bindings
from bpdebug.tui.render import network_text
from bpdebug.tui.view import SLOW, View, draw, progress_text
from bpdebug.tui.widgets.boundary import DecisionBoundary
from bpdebug.tui.widgets.costplot import CostPlot
from bpdebug.tui.widgets.equation import EquationView
from bpdebug.tui.widgets.health import HealthView
from bpdebug.tui.widgets.textpane import TextPane

if TYPE_CHECKING:
    from bpdebug.tui.app import BpdebugApp

CENTRE_WIDTH = 76
"""Columns the centre needs beside the two other columns: a forward equation's blocks."""
RIGHT_WIDTH = 40
"""Columns the right column (cost, health, boundary) needs to read."""
NARROW_HEIGHT = 34
"""Below this many rows the panes become tabs (so does a width without room for all three)."""
MIN_SIZE = (40, 12)
"""Below this the screen says it is too small instead of drawing panes."""
FRAME_INTERVAL = 1 / 15
"""Seconds between redraws of the status line and the plot while work runs."""
MATRIX_INTERVAL = 0.5
"""Seconds between redraws of the matrices while training runs."""
CHUNK_SECONDS = 0.02
"""How long a worker holds the lock before letting the screen read."""
SYNC_BUDGET = 0.05
"""How long a motion may run on the event loop before a worker takes it over."""
BESIDE_WIDTH = 38
"""Columns each branch's equations need to sit side by side in the two-branch view."""

Motion = Generator[Progress, None, Any]


class SessionScreen(Screen[None]):
    """Three columns when wide, tabs when narrow; the view and the workers."""

    BINDINGS = bindings()  # type: ignore[assignment]

    narrow: reactive[bool] = reactive(False, recompose=True)
    too_small: reactive[bool] = reactive(False, recompose=True)
    view: reactive[View] = reactive(View, init=False, repaint=False)
    """Where the session stands; the panes redraw from it."""
    running: reactive[bool] = reactive(False, bindings=True, repaint=False)
    """Training runs in a worker (`c`)."""
    pane: reactive[str] = reactive("", init=False, repaint=False)
    """The selected operand (what `y` copies); empty: the phase's result."""
    matrix_mode: reactive[str] = reactive("auto", init=False, repaint=False)
    """How matrices are drawn: "auto" (big ones as heatmaps), "numbers" or "heatmap"."""
    diff: reactive[bool] = reactive(False, init=False, repaint=False)
    """Matrices show their change since the reference step."""
    log_scale: reactive[bool] = reactive(False, init=False, repaint=False)
    """The cost plot's y axis is log10 C."""
    busy: reactive[str] = reactive("", bindings=True, repaint=False)
    """The long motion or check in progress (empty: none); set when it starts and ends."""
    compare: reactive[str] = reactive("", init=False, repaint=False)
    """The branch `d` and the two-branch view compare with ("": none; d compares steps)."""
    beside: reactive[bool] = reactive(False, init=False, recompose=True)
    """The two-branch view: the centre shows the equations on both branches."""

    def __init__(self, debugger: Debugger, two_inputs: bool) -> None:
        super().__init__()
        self.debugger = debugger
        """The one source of truth: timeline, phase, selection."""
        self.two_inputs = two_inputs
        self._drawn: View | None = None
        self._stale: set[str] = set()
        self._available: tuple[bool, ...] = ()
        self.busy_text = ""
        """The worker's latest progress line; the status line shows it each frame."""
        self._matrices_at = 0.0
        self._timer: Timer | None = None
        self._pause_requested = False
        self._cancel_requested = False
        self._cancelled_message = ""
        self._brought: tuple[str, int] | None = None
        """The (branch, step) the compared branch was last sent to (not again if esc stopped it)."""

    @property
    def bpapp(self) -> BpdebugApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    @property
    def debugger_lock(self) -> threading.RLock:
        """The app's lock on the debugger: held by whoever touches the timeline."""
        return self.bpapp.lock

    def compose(self) -> ComposeResult:
        if self.too_small:
            yield Static(
                f"terminal too small: bpdebug needs at least {MIN_SIZE[0]}x{MIN_SIZE[1]}",
                id="too-small",
            )
            return
        yield Static(id="title-bar")
        equation: Widget = EquationView(id="equation")
        if self.beside:
            equation = self._two_branches()
        if self.narrow:
            with TabbedContent(id="tabs"):
                with TabPane("1 pass", id="tab-layer"), Vertical(id="center"):
                    yield Static(id="network-line")
                    yield Static(id="equation-head")
                    yield equation
                    if not self.beside:  # at 80x24 the two branches need its rows
                        yield TextPane(id="chain")
                with TabPane("2 cost", id="tab-cost"):
                    yield CostPlot(id="cost")
                with TabPane("3 health", id="tab-health"):
                    yield HealthView(id="health")
                if self.two_inputs:
                    with TabPane("4 boundary", id="tab-boundary"):
                        yield DecisionBoundary(id="boundary")
        else:
            with Horizontal(id="main"):
                with Vertical(id="left"):
                    yield Static(id="network")
                with Vertical(id="center"):
                    yield Static(id="equation-head")
                    yield equation
                    yield TextPane(id="chain")
                with Vertical(id="right"):
                    yield CostPlot(id="cost")
                    yield HealthView(id="health")
                    if self.two_inputs:
                        yield DecisionBoundary(id="boundary")
        yield Static(id="status")
        yield Footer()

    def _two_branches(self) -> Widget:
        """The two-branch view's equations: side by side when each gets a forward equation's
        narrowest blocks (38 columns), else one above the other."""
        width = self.app.size.width
        if not self.narrow:
            width -= self.columns_width() - CENTRE_WIDTH + 4
        box = Horizontal if width >= 2 * BESIDE_WIDTH else Vertical
        return box(
            EquationView(id="equation", classes="branch-pane"),
            EquationView(id="equation-other", classes="branch-pane"),
            id="two-branches",
        )

    def on_mount(self) -> None:
        self.call_after_refresh(self.redraw)

    def on_resize(self) -> None:
        width, height = self.app.size
        self.too_small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.narrow = width < self.columns_width() or height < NARROW_HEIGHT
        self.call_after_refresh(self.redraw)

    def columns_width(self) -> int:
        """The width the three columns need: the network's, the centre's and the right one's."""
        left = max(len(line) for line in network_text(self.debugger).plain.splitlines()) + 4
        return max(left, 22) + CENTRE_WIDTH + RIGHT_WIDTH

    def on_tabbed_content_tab_activated(self) -> None:
        """A pane that was hidden has no size until shown: draw it now."""
        self.call_after_refresh(self.redraw)

    def notify(  # type: ignore[override]
        self,
        message: str,
        *,
        severity: SeverityLevel = "information",
        timeout: float | None = None,
    ) -> None:
        """Notify through the app: plain text, never markup."""
        self.app.notify(message, severity=severity, timeout=timeout)

    def said(self, message: str) -> None:
        """Show what a motion reports when it ends (reopening a snapshot)."""
        self.notify(message, timeout=8)

    # -- the view --------------------------------------------------------------
    def sync(self) -> None:
        """Set `view` from the debugger and the screen's toggles (the panes follow)."""
        with self.debugger_lock:
            compare = self.compare
            if compare and compare not in {b.name for b in self.debugger.branches.all}:
                compare = ""  # a session reopened without it
            self.view = View.of(
                self.debugger,
                compare,
                beside=self.beside and bool(compare),
                pane=self.pane,
                matrix_mode=self.matrix_mode,
                diff=self.diff,
                log_scale=self.log_scale,
                running=self.running,
                busy=self.busy_text or self.busy,
                size=(self.size.width, self.size.height),
            )

    def _watch_toggle(self) -> None:
        """A toggle changed: the view follows."""
        self.sync()

    watch_pane = watch_matrix_mode = watch_diff = watch_log_scale = watch_compare = _watch_toggle

    def watch_beside(self) -> None:
        """The two-branch view on or off: a new layout, drawn whole."""
        self.call_after_refresh(self.redraw)

    def redraw(self) -> None:
        """Draw every pane again (after a new layout)."""
        self._drawn = None
        self.sync()
        self.watch_view(self.view)

    def watch_view(self, view: View) -> None:
        """Redraw the panes that read what changed since they were last drawn."""
        if self.too_small or not self.is_attached:
            return
        due = view.panes_to_draw(self._drawn) | self._stale
        now = time.monotonic()
        if self.running and now - self._matrices_at < MATRIX_INTERVAL:
            self._stale |= due & SLOW  # while training runs, a few times a second
            due -= SLOW
        elif due & SLOW:
            self._stale.clear()
            self._matrices_at = now
        if due:
            with self.debugger_lock:
                draw(self, self.debugger, view, due)
        self._drawn = view
        at_start = view.step == 0
        available = (view.running, bool(view.busy), at_start, at_start and view.phase == 0)
        if available != self._available:  # the footer rebuilds: only when it can change
            self._available = available
            self.refresh_bindings()
        if view.compare and (view.diff or view.beside) and view.compare_at[0] != view.step:
            self.call_later(self.bring_compared)

    def bring_compared(self) -> None:
        """Bring the compared branch to the current step (a replay: in a worker when slow),
        so that d and the two-branch view compare the same step; once per (branch, step),
        so that esc stops it for good."""
        view = self.view
        if self.running or self.busy or not view.compare or not (view.diff or view.beside):
            return
        step = view.step
        if view.compare_at[0] == step or self._brought == (view.compare, step):
            return
        self._brought = (view.compare, step)
        timeline = self.debugger.branches.get(view.compare).timeline
        self.move(
            f"bringing {view.compare} to step {step:,}: replaying",
            timeline.seeking(step),
            cancelled=f"{view.compare} stays at step {timeline.step:,}: d compares no other step",
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out keys that cannot act now: time waits for a run or a replay; no rewind at 0."""
        if action == "cancel":
            return True if self.busy else None
        if action == "gradcheck" and self.busy:
            return None
        if action in TIME and (self.running or self.busy):
            return None
        if action == "continue":  # while training runs, c is `pause`
            return False if self.running else (None if self.busy else True)
        if action == "pause":
            return self.running
        at_start = self.debugger.step == 0
        if action in ("rewind", "reverse_continue") and at_start:
            return None
        if action == "step_back" and at_start and self.debugger.phase_index == 0:
            return None
        return True

    # -- long motions ------------------------------------------------------------
    def move(
        self,
        label: str,
        motion: Motion,
        done: Callable[[Any], None] | None = None,
        cancelled: str = "",
    ) -> None:
        """Run `motion`; past SYNC_BUDGET seconds a worker finishes it (esc cancels).

        `done` gets the motion's result on the event loop once it finished;
        a cancelled motion leaves the step where it was, calls nothing and
        says `cancelled` (by default: LABEL cancelled: still at step N).
        """
        deadline = time.monotonic() + SYNC_BUDGET
        progress: Progress = (0, 0)
        with self.debugger_lock:
            self.debugger.paused = ""
            try:
                while time.monotonic() < deadline:
                    progress = next(motion)
            except StopIteration as end:
                self._finish(done, end.value)
                return
        self._cancel_requested = False
        self.busy_text = progress_text(label, *progress, 0.0)
        self.busy = label
        self._start_timer()
        self._cancelled_message = cancelled
        self._move_in_worker(label, motion, done, progress)

    @work(thread=True, exclusive=True, group="motion")
    def _move_in_worker(
        self, label: str, motion: Motion, done: Callable[[Any], None] | None, progress: Progress
    ) -> None:
        worker = get_current_worker()
        started = time.monotonic()
        finished, result = False, None
        while not finished:
            deadline = time.monotonic() + CHUNK_SECONDS
            with self.debugger_lock:
                if self._cancel_requested or worker.is_cancelled or self.bpapp.leaving:
                    motion.close()  # the step stays where it was
                    break
                try:
                    while time.monotonic() < deadline:
                        progress = next(motion)
                except StopIteration as end:
                    finished, result = True, end.value
            self.busy_text = progress_text(label, *progress, time.monotonic() - started)
            time.sleep(0)  # let the screen take the lock
        if not self.bpapp.leaving:
            self.app.call_from_thread(self._moved, finished, result, done, label)

    def _moved(
        self, finished: bool, result: Any, done: Callable[[Any], None] | None, label: str
    ) -> None:
        self.busy = self.busy_text = ""
        self._stop_timer()
        if finished:
            self._finish(done, result)
        else:
            step = self.debugger.step
            self.notify(self._cancelled_message or f"{label} cancelled: still at step {step}")
            self.sync()

    def _finish(self, done: Callable[[Any], None] | None, result: Any) -> None:
        if done is not None:
            done(result)
        self.sync()

    def _start_timer(self) -> None:
        if self._timer is None:
            self._timer = self.set_interval(FRAME_INTERVAL, self._frame)

    def _stop_timer(self) -> None:
        if self._timer is not None and not (self.running or self.busy):
            self._timer.stop()
            self._timer = None

    def _frame(self) -> None:
        self.sync()

    def action_cancel(self) -> None:
        """esc: cancel the motion or check in progress (the step stays where it was)."""
        self._cancel_requested = True
        self.workers.cancel_group(self, "motion")
        self.workers.cancel_group(self, "check")

    # -- training --------------------------------------------------------------
    def action_continue(self) -> None:
        """c: train until a breakpoint is crossed."""
        self._pause_requested = False
        self.debugger.paused = ""
        self.running = True
        self._start_timer()
        self._train()

    @work(thread=True, exclusive=True, group="train")
    def _train(self) -> None:
        stop = None
        while not (self._pause_requested or self.bpapp.leaving):
            deadline = time.monotonic() + CHUNK_SECONDS
            with self.debugger_lock:
                stop = self.debugger.continue_(should_stop=partial(self._chunk_over, deadline))
            if stop.reason == "breakpoint":
                break
            time.sleep(0)  # let the screen take the lock
        if not self.bpapp.leaving:
            self.app.call_from_thread(self._stopped, stop)

    def action_pause(self) -> None:
        """c while training runs: pause."""
        self._pause_requested = True

    def _chunk_over(self, deadline: float) -> bool:
        return self._pause_requested or self.bpapp.leaving or time.monotonic() > deadline

    def _stopped(self, stop: Any) -> None:
        self.running = False
        self._stop_timer()
        if stop is not None and stop.reason != "breakpoint":
            self.debugger.paused = "paused"
        if stop is not None and stop.breakpoint is not None:
            nonfinite = stop.breakpoint.kind == "nonfinite"
            self.notify(
                f"stopped at step {stop.step}: {stop.detail}",
                severity="error" if nonfinite else "information",
            )
        self.sync()

    def stop_work(self) -> None:
        """Ask every worker to stop (the app is leaving)."""
        self._pause_requested = True
        self._cancel_requested = True
