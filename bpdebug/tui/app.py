"""The debugger's Textual app: one Debugger as the source of truth, panes that draw it.

Attributes down: after every action the app hands each pane plain arrays
and text (`refresh_view`). Training (`c`) runs in a worker thread in short
chunks under a lock; a timer redraws the status line and the cost plot at a
steady rate while it runs, and the matrices a few times a second, never per
update.

Text from files (the scenario's name and path, export folders, messages
quoting them) reaches the screen only through `literal` and `notify`,
which show it as written: never as markup, control characters escaped.
"""

from __future__ import annotations

import gc
import math
import threading
import time
import weakref
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static, TabbedContent

from bpdebug.breakpoints import SYNTAX as BREAKPOINT_SYNTAX
from bpdebug.breakpoints import parse as parse_breakpoint
from bpdebug.breakpoints import parse_number
from bpdebug.debugger import Debugger
from bpdebug.scenario.limits import BREAKPOINTS
from bpdebug.text import printable
from bpdebug.timeline import Stop

# The screen's sizes and class, re-exported: tests and benchmarks import them from here.
from bpdebug.tui.layout import MIN_SIZE as MIN_SIZE
from bpdebug.tui.layout import NARROW_HEIGHT as NARROW_HEIGHT
from bpdebug.tui.layout import NARROW_WIDTH as NARROW_WIDTH
from bpdebug.tui.layout import PANES
from bpdebug.tui.layout import MainScreen as MainScreen
from bpdebug.tui.literal import literal
from bpdebug.tui.panes import boundary_data, matrix_panes, numpy_literal
from bpdebug.tui.render import chain_text, example_text, network_text, status_text
from bpdebug.tui.screens import BreakpointsScreen, HelpScreen, PromptScreen, TextScreen
from bpdebug.tui.signals import catch_ending_signals, exit_status
from bpdebug.tui.widgets.boundary import DecisionBoundary
from bpdebug.tui.widgets.costplot import CostPlot
from bpdebug.tui.widgets.matrix import MatrixView

FRAME_INTERVAL = 1 / 15
"""Seconds between redraws of the status line and the plot while training runs."""
MATRIX_INTERVAL = 0.5
"""Seconds between redraws of the matrices while training runs."""
CHUNK_SECONDS = 0.02
"""How long the training thread holds the lock before letting the screen read."""


class BpdebugApp(App[int]):
    """Step through backpropagation on one scenario."""

    CSS_PATH = "app.tcss"
    TITLE = "bpdebug"

    BINDINGS = [
        Binding("s", "step_into", "step"),
        Binding("S", "step_back", "back"),
        Binding("n", "next", "next"),
        Binding("N", "rewind", "rewind"),
        Binding("c", "continue", "continue"),
        Binding("C", "reverse_continue", "rev-cont"),
        Binding("g", "goto", "go to"),
        Binding("b", "breakpoints", "break"),
        Binding("e", "export", "export"),
        Binding("k", "gradcheck", "check"),
        Binding("w", "edit", "edit w"),
        Binding("d", "diff", "diff"),
        Binding("y", "copy", "copy", show=False),
        Binding("m", "mark", "mark", show=False),
        Binding("x", "example(1)", "example", show=False),
        Binding("X", "example(-1)", "example back", show=False),
        Binding("v", "next_pane", "pane", show=False),
        Binding("h", "heatmap", "heatmap", show=False),
        Binding("l", "log_scale", "log", show=False),
        Binding("up", "unit(-1)", "unit", show=False),
        Binding("down", "unit(1)", "unit", show=False),
        Binding("left", "input(-1)", "weight", show=False),
        Binding("right", "input(1)", "weight", show=False),
        Binding("1", "show_tab('tab-layer')", "layer tab", show=False),
        Binding("2", "show_tab('tab-chain')", "chain tab", show=False),
        Binding("3", "show_tab('tab-cost')", "cost tab", show=False),
        Binding("4", "show_tab('tab-boundary')", "boundary tab", show=False),
        Binding("question_mark,f1", "help", "help"),
        Binding("q", "quit", "quit"),
    ]

    running: reactive[bool] = reactive(False, bindings=True)
    """Training runs in the worker thread (`c`)."""
    heatmap: reactive[bool] = reactive(False, init=False)
    """Matrices as half-block heatmaps instead of numbers."""
    diff: reactive[bool] = reactive(False, init=False)
    """Matrices show their change since the reference step."""
    log_scale: reactive[bool] = reactive(False, init=False)
    """The cost plot's y axis is log10 C."""

    def __init__(self, debugger: Debugger, export_dir: Path, title: str = "") -> None:
        super().__init__()
        self.debugger = debugger
        """The one source of truth: timeline, phase, selection."""
        self.export_dir = export_dir
        self.lock = threading.RLock()
        """Held by whoever touches the timeline: the training thread or the screen."""
        self.pane = "dW"
        """The selected matrix pane (what `y` copies)."""
        self.sub_title = printable(title)
        self._pause_requested = False
        self._leaving = False
        self._frame_timer: Timer | None = None
        self._last_matrix_draw = 0.0
        self.exported: list[Path] = []
        """Files written by the last export."""
        self._availability: tuple[bool, bool] | None = None
        self._drawn: weakref.WeakKeyDictionary[
            Widget, tuple[tuple[object, ...], tuple[object, ...]]
        ] = weakref.WeakKeyDictionary()
        self.startup_message = ""
        """Shown once when the screen opens (e.g. how a snapshot was reopened)."""

    # -- building ----------------------------------------------------------
    def on_mount(self) -> None:
        if not self.is_headless:  # a real terminal to give back; tests run headless
            catch_ending_signals(self._on_ending_signal, leaving=lambda: self._leaving)
        two_inputs = self.debugger.layers[0] == 2 and self.debugger.layers[-1] <= 2
        self.push_screen(MainScreen(two_inputs))
        if self.startup_message:
            self.notify(self.startup_message, timeout=8)
        self.call_after_refresh(self._settle)

    def _settle(self) -> None:
        # What exists once the screen is up (modules, widgets, the scenario) lives
        # as long as the app: keep it out of the collector's full passes, whose
        # pauses otherwise show up as 100 ms hitches in key-to-frame latency.
        gc.collect()
        gc.freeze()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every action in the command palette (ctrl+p)."""
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.show and binding.action != "quit":
                action = binding.action
                yield SystemCommand(
                    f"{binding.description} ({binding.key})",
                    _ACTION_HELP.get(action, binding.description),
                    lambda action=action: self.run_action(action),
                )
        for action, text in _EXTRA_COMMANDS.items():
            yield SystemCommand(
                text.split(":")[0],
                text,
                lambda action=action: self.run_action(action),
            )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out keys that cannot act now: rewinding at step 0, stepping while running.

        While a dialog is open, the debugger's keys belong to the dialog
        (tab, arrows and letters must not move the selection behind it).
        """
        if action.split("(")[0] in _DEBUGGER_ACTIONS and not isinstance(self.screen, MainScreen):
            return False
        if self.running and action not in ("continue", "help", "quit", "command_palette"):
            return None
        at_start = self.debugger.step == 0
        if action in ("rewind", "reverse_continue") and at_start:
            return None
        if action == "step_back" and at_start and self.debugger.phase_index == 0:
            return None
        return True

    # -- drawing -----------------------------------------------------------
    def refresh_view(self, matrices: bool = True) -> None:
        """Hand every pane its current numbers (attributes down).

        A pane is redrawn only when what it shows can have changed: repainting
        is the expensive part of a key press.
        """
        screen = self.screen
        if not isinstance(screen, MainScreen) or screen.too_small:
            return
        with self.lock:
            debugger = self.debugger
            timeline = debugger.timeline
            scenario = timeline.scenario
            # Everything a pane shows follows from these (params and trace are
            # replaced, never changed, so their identity tells a new state).
            state = (
                debugger.params,
                debugger.trace,
                debugger.phase_index,
                debugger.layer,
                debugger.j,
                debugger.k,
                debugger.example,
                debugger.mark,
                self.diff,
                self.heatmap,
                self.pane,
            )
            for bar in screen.query("#title-bar").results(Static):
                title = (
                    f" bpdebug  {scenario.name}  {scenario.path}    "
                    f"step {debugger.step}  epoch {timeline.epoch}  {debugger.phase.describe()}"
                )
                if not self._unchanged(bar, title):
                    bar.update(literal(title), layout=False)
            for pane in screen.query("#network").results(Static):
                if not self._unchanged(pane, *state[:4], debugger.example):
                    text = network_text(debugger)
                    text.append(f"\n{example_text(debugger)}\n")
                    known = debugger.known("cost", 0)
                    text.append(f"C = {debugger.trace.cost:.6g}" if known else "C = …")
                    pane.update(text)
            for pane in screen.query("#status").results(Static):
                status = status_text(debugger, self.running)
                if not self._unchanged(pane, status.plain):
                    pane.update(status, layout=False)
            costs = timeline.costs()
            for plot in screen.query("#cost").results(CostPlot):
                last = float(costs[-1]) if costs.size else math.nan
                drawn = (costs.size, last, debugger.step, self.log_scale, timeline.branched_at)
                if not self._unchanged(plot, *drawn):
                    plot.show(costs.copy(), debugger.step, log=self.log_scale)
            if matrices:
                self._draw_matrices(screen, state)
                for pane in screen.query("#chain").results(Static):
                    if not self._unchanged(pane, *state):
                        pane.update(chain_text(debugger))
                for boundary in screen.query("#boundary").results(DecisionBoundary):
                    if boundary.size.area:
                        rows, cols = boundary.grid_shape()
                        if not self._unchanged(boundary, debugger.params, rows, cols):
                            boundary.show(*boundary_data(debugger, rows, cols))
            # The footer rebuilds itself on refresh_bindings: only when a key's
            # availability can have changed (see check_action).
            at_start = debugger.step == 0
            availability = (at_start, at_start and debugger.phase_index == 0)
        if availability != self._availability:
            self._availability = availability
            self.refresh_bindings()

    def _unchanged(self, widget: Widget, *shown: object) -> bool:
        """Whether `widget` last drew exactly `shown`; remembers it if not.

        Objects are compared by identity; the remembered tuple keeps them
        alive, so an identity is never reused for another object meanwhile.
        """
        key = tuple(
            x if isinstance(x, (str, int, float, bool, type(None))) else id(x) for x in shown
        )
        previous = self._drawn.get(widget)
        if previous is not None and previous[0] == key:
            return True
        self._drawn[widget] = (key, shown)
        return False

    def _draw_matrices(self, screen: MainScreen, state: tuple[object, ...]) -> None:
        views = {
            name: view for name in PANES for view in screen.query(f"#m-{name}").results(MatrixView)
        }
        fresh = [self._unchanged(view, *state) for view in views.values()]
        if all(fresh):
            return
        panes = matrix_panes(self.debugger, diff=self.diff)
        for name, view in views.items():
            pane = panes[name]
            view.show(
                pane.title,
                pane.values,
                placeholder=pane.placeholder,
                selected=pane.selected,
                heatmap=self.heatmap,
                note=pane.note,
            )
            selected = name == self.pane
            if view.has_class("-selected-pane") != selected:  # restyling is not free
                view.set_class(selected, "-selected-pane")
        self._last_matrix_draw = time.monotonic()

    def watch_heatmap(self) -> None:
        self.refresh_view()

    def watch_diff(self) -> None:
        self.refresh_view()

    def watch_log_scale(self) -> None:
        self.refresh_view(matrices=False)

    # -- moving through time ------------------------------------------------
    def _move(self, move: str, *args: object) -> None:
        with self.lock:
            getattr(self.debugger, move)(*args)
            self.debugger.paused = ""
        self.refresh_view()

    def action_step_into(self) -> None:
        """s: one phase forward."""
        self._move("step_into")

    def action_step_back(self) -> None:
        """S: one phase back."""
        self._move("step_back")

    def action_next(self) -> None:
        """n: one whole update forward."""
        self._move("next")

    def action_rewind(self) -> None:
        """N: one whole update back."""
        self._move("rewind")

    def action_goto(self) -> None:
        """g: ask for a step and jump there."""

        def check(text: str) -> str | None:
            try:
                self.debugger.parse_goto(text)
            except ValueError as error:
                return str(error)
            return None

        def done(answer: str | None) -> None:
            if answer is not None:
                self._move("goto", self.debugger.parse_goto(answer))

        self.push_screen(
            PromptScreen(
                "go to step", f"now at step {self.debugger.step}", str(self.debugger.step), check
            ),
            done,
        )

    def action_continue(self) -> None:
        """c: train until a breakpoint; pressed again, pause."""
        if self.running:
            self._pause_requested = True
            return
        self._pause_requested = False
        self.running = True
        self.debugger.paused = ""
        self._frame_timer = self.set_interval(FRAME_INTERVAL, self._frame)
        self._train()

    @work(thread=True, exclusive=True, group="train")
    def _train(self) -> None:
        stop: Stop | None = None
        while not self._pause_requested:
            deadline = time.monotonic() + CHUNK_SECONDS
            with self.lock:
                stop = self.debugger.continue_(should_stop=partial(self._chunk_over, deadline))
            if stop.reason == "breakpoint":
                break
            time.sleep(0)  # let the screen take the lock
        if self._leaving:
            return  # the app is going away: nothing left to redraw
        self.call_from_thread(self._stopped, stop)

    def _chunk_over(self, deadline: float) -> bool:
        return self._pause_requested or time.monotonic() > deadline

    def _frame(self) -> None:
        due = time.monotonic() - self._last_matrix_draw > MATRIX_INTERVAL
        self.refresh_view(matrices=due)

    def _stopped(self, stop: Stop | None) -> None:
        self.running = False
        if self._frame_timer is not None:
            self._frame_timer.stop()
        if stop is not None and stop.reason != "breakpoint":
            self.debugger.paused = "paused"
        if stop is not None and stop.breakpoint is not None:
            nonfinite = stop.breakpoint.kind == "nonfinite"
            self.notify(
                f"stopped at step {stop.step}: {stop.detail}",
                severity="error" if nonfinite else "information",
            )
        self.refresh_view()

    def action_reverse_continue(self) -> None:
        """C: back to the previous step where a breakpoint holds."""
        with self.lock:
            stop = self.debugger.reverse_continue()
        if stop is None:
            self.notify("no earlier breakpoint hit", severity="warning")
        self.refresh_view()

    # -- selection ---------------------------------------------------------
    def action_unit(self, delta: int) -> None:
        """↑/↓: select unit j."""
        self.debugger.move_unit(delta)
        self.refresh_view()

    def action_input(self, delta: int) -> None:
        """←/→: select unit k of the layer before (the weight w_jk)."""
        self.debugger.move_input(delta)
        self.refresh_view()

    def action_layer(self, delta: int) -> None:
        """tab/shift+tab: select the next/previous layer."""
        depth = self.debugger.depth
        self.debugger.select_layer((self.debugger.layer - 1 + delta) % depth + 1)
        self.refresh_view()

    def action_example(self, delta: int) -> None:
        """x/X: the whole batch, or one example (one column)."""
        self.debugger.cycle_example(delta)
        self.refresh_view()

    def action_next_pane(self) -> None:
        """v: select the next matrix pane."""
        self.pane = PANES[(PANES.index(self.pane) + 1) % len(PANES)]
        self.refresh_view()

    def action_heatmap(self) -> None:
        """h: numbers or heatmap."""
        self.heatmap = not self.heatmap

    def action_diff(self) -> None:
        """d: show the change since the step before (or the marked step)."""
        self.diff = not self.diff

    def action_mark(self) -> None:
        """m: mark this step for `d`."""
        self.debugger.mark = self.debugger.step
        self.notify(f"marked step {self.debugger.step}: d compares with it")
        self.refresh_view()

    def action_log_scale(self) -> None:
        """l: log scale for the cost plot."""
        self.log_scale = not self.log_scale

    # -- tools ---------------------------------------------------------------
    def action_show_tab(self, tab: str) -> None:
        """1-4: switch tabs when the screen is narrow (tab itself moves between layers)."""
        for tabs in self.screen.query("#tabs").results(TabbedContent):
            if tabs.query(f"#{tab}"):
                tabs.active = tab

    def on_tabbed_content_tab_activated(self) -> None:
        """A pane that was hidden has no size until shown: draw it now."""
        self.call_after_refresh(self.refresh_view)

    async def action_quit(self) -> None:
        """q: stop training (if it runs) and leave."""
        self._leave()

    def _on_ending_signal(self, signum: int) -> None:
        """SIGTERM, SIGHUP or SIGQUIT: leave as q does, exit status 128 + signum."""
        self._leave(exit_status(signum))

    def _leave(self, return_code: int = 0) -> None:
        # The training thread stops within one chunk and, seeing _leaving,
        # does not call back into an app that is shutting down.
        self._leaving = True
        self._pause_requested = True
        self.exit(return_code=return_code)

    def on_unmount(self) -> None:
        # However the app ends, the training thread ends too.
        self._leaving = True
        self._pause_requested = True

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

    def action_help(self) -> None:
        """?: keys and notation."""
        self.push_screen(HelpScreen())

    def action_breakpoints(self) -> None:
        """b: add or remove breakpoints."""
        debugger = self.debugger

        def add(text: str) -> str | None:
            most = BREAKPOINTS.value()
            if len(debugger.breakpoints) >= most:
                return f"at most {most} breakpoints ({BREAKPOINTS.note()})"
            try:
                debugger.breakpoints.append(parse_breakpoint(text, debugger.depth))
            except ValueError as error:
                return str(error)
            return None

        def remove(index: int) -> None:
            del debugger.breakpoints[index]

        def describe() -> list[str]:
            return [bp.describe() for bp in debugger.breakpoints]

        self.push_screen(BreakpointsScreen(describe, add, remove, BREAKPOINT_SYNTAX))

    def action_copy(self) -> None:
        """y: copy the selected matrix as a NumPy literal (OSC 52 works over SSH)."""
        with self.lock:
            pane = matrix_panes(self.debugger, diff=self.diff)[self.pane]
        if pane.values is None:
            self.notify(f"{pane.title} is not computed yet", severity="warning")
            return
        self.copy_to_clipboard(numpy_literal(pane.values))
        self.notify(f"copied {pane.title} ({'x'.join(map(str, pane.values.shape))})")

    def action_edit(self) -> None:
        """w: set the selected weight; history branches from this step."""
        debugger = self.debugger
        l, j, k = debugger.layer, debugger.j, debugger.k
        current = float(debugger.params.W[l][j, k])

        def check(text: str) -> str | None:
            try:
                parse_number(text)
            except ValueError as error:
                return str(error)
            return None

        def done(answer: str | None) -> None:
            if answer is None:
                return
            value = parse_number(answer)
            with self.lock:
                debugger.edit_weight(value)
            self.notify(f"w_{j}{k}^({l}) = {value:g}: history branches at step {debugger.step}")
            self.refresh_view()

        self.push_screen(
            PromptScreen(
                f"edit w_{j}{k}^({l}) at step {debugger.step}",
                "the steps after this one are replayed from the new value",
                repr(current),
                check,
            ),
            done,
        )

    def action_gradcheck(self) -> None:
        """k: gradient check of the current state against finite differences."""
        self.notify("checking gradients…")
        self._gradcheck()

    @work(thread=True, exclusive=True, group="check")
    def _gradcheck(self) -> None:
        from bpdebug.engine import check_gradients
        from bpdebug.report import gradcheck_lines

        with self.lock:
            timeline = self.debugger.timeline
            trace = timeline.trace
            network, params, step = timeline.trainer.network, timeline.state.params, timeline.step
            name = timeline.scenario.name
        result = check_gradients(network, params, trace.a[0], trace.Y)
        lines = gradcheck_lines(result, params, name, step)
        verdict = "all layers good or suspect" if result.ok else "a layer is WRONG"
        self.call_from_thread(
            self.push_screen, TextScreen(f"gradient check: {verdict}", "\n".join(lines))
        )

    def action_export(self) -> None:
        """e: JSON + NPZ + Markdown snapshots and an SVG screenshot, never overwriting."""
        from bpdebug.tui.exporting import export_all

        with self.lock:
            try:
                written = export_all(
                    self.debugger.timeline, self.export_dir, self.export_screenshot()
                )
            except OSError as error:
                self.notify(f"export failed: {error}", severity="error", timeout=8)
                return
        self.exported = written
        names = ", ".join(p.name for p in written)
        self.notify(f"exported to {written[0].parent}/: {names}", timeout=8)


_DEBUGGER_ACTIONS = frozenset(
    binding.action.split("(")[0]
    for binding in BpdebugApp.BINDINGS
    if isinstance(binding, Binding) and binding.action not in ("quit", "help")
) | {"layer"}
"""The debugger's own actions: inactive while a dialog is open."""

_ACTION_HELP = {
    "step_into": "one phase: forward layer 1..L, cost, backward L..1, update",
    "step_back": "one phase back in time",
    "next": "one whole update forward",
    "rewind": "one whole update back",
    "continue": "train until a breakpoint; again to pause",
    "reverse_continue": "back to the previous breakpoint hit",
    "goto": "jump to step N",
    "breakpoints": "add or remove breakpoints",
    "export": "write JSON, NPZ, Markdown and SVG into the export folder",
    "gradcheck": "compare backprop with finite differences",
    "edit": "set the selected weight; history branches",
    "diff": "show the change since the previous or marked step",
    "help": "keys and notation",
}

_EXTRA_COMMANDS = {
    "copy": "Copy matrix: the selected matrix as a NumPy literal (y)",
    "mark": "Mark step: d compares with the marked step (m)",
    "example(1)": "Next example: cycle batch / one example (x)",
    "next_pane": "Next pane: select the next matrix pane (v)",
    "heatmap": "Heatmap: numbers or heatmap (h)",
    "log_scale": "Log scale: the cost plot's y axis (l)",
    "layer(1)": "Next layer: select the next layer (tab)",
}
