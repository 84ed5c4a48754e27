"""The debugger's main screen: one action per key of keys.py.

Each action changes the Debugger under the app's lock and then `sync`s the
screen's view; motions through time go through `move`, which hands
anything slow to a worker. Messages say exactly what happened, in the
shortest true sentence.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TypeVar

from textual import work
from textual.widgets import TabbedContent

from bpdebug.breakpoints import parse_number
from bpdebug.timeline import Progress, Stop
from bpdebug.tui.branching import BranchChoice, BranchesScreen
from bpdebug.tui.dialogs import (
    BreakpointsScreen,
    ConfirmScreen,
    HelpScreen,
    PromptScreen,
    TextScreen,
)
from bpdebug.tui.panes import MODES, centre, numpy_literal
from bpdebug.tui.session import MIN_SIZE as MIN_SIZE
from bpdebug.tui.session import NARROW_HEIGHT as NARROW_HEIGHT
from bpdebug.tui.session import SessionScreen
from bpdebug.tui.view import progress_text

T = TypeVar("T")

FAR_UPDATES = 10_000
"""A go-to that replays more updates than this past the computed history asks first."""


def _call(function: Callable[[], T]) -> Generator[Progress, None, T]:
    """A quick motion as a generator, so every motion takes the same path."""
    yield from ()
    return function()


class MainScreen(SessionScreen):
    """The debugger's screen: what each key does."""

    # -- moving through time ------------------------------------------------
    def action_step_into(self) -> None:
        """s: one phase forward."""
        self.move("stepping", _call(self.debugger.step_into))

    def action_step_back(self) -> None:
        """S: one phase back."""
        self.move("replaying", self.debugger.stepping_back())

    def action_next(self) -> None:
        """n: one whole update forward."""
        self.move("next", _call(self.debugger.next))

    def action_rewind(self) -> None:
        """N: one whole update back."""
        self.move("replaying", self.debugger.rewinding())

    def action_goto(self) -> None:
        """g: ask for a step and go there (asking first if it is far past the history)."""
        debugger = self.debugger

        def answered(answer: str | None) -> None:
            if answer is None:
                return
            step = debugger.parse_goto(answer)
            with self.debugger_lock:
                frontier = debugger.timeline.frontier
                seconds = self._seconds_per_update()
            ahead = step - frontier
            if ahead <= FAR_UPDATES:
                self._go(step)
                return
            question = (
                f"step {step:,} is {ahead:,} updates past the furthest step computed"
                f" ({frontier:,}): about {_duration(ahead * seconds)} of replay."
                "\nesc cancels it at any time."
            )
            self.app.push_screen(
                ConfirmScreen(question, yes="replay", no="stay"),
                lambda yes: self._go(step) if yes else None,
            )

        self.app.push_screen(
            PromptScreen(
                "go to step",
                f"now at step {debugger.step:,}; computed up to {debugger.timeline.frontier:,}",
                str(debugger.step),
                debugger.parse_goto,
            ),
            answered,
        )

    def _go(self, step: int) -> None:
        self.move("replaying", self.debugger.going_to(step))

    def _seconds_per_update(self) -> float:
        """One update's time, measured from the current state for ~30 ms (nothing is kept).

        The first update warms caches up and is not counted.
        """
        timeline = self.debugger.timeline
        trainer, state, trace = timeline.trainer, timeline.state, timeline.trace
        state, trace = trainer.step(state, trace)
        started = time.perf_counter()
        made = 0
        while made < 2 or (made < 200 and time.perf_counter() - started < 0.03):
            state, trace = trainer.step(state, trace)
            made += 1
        return (time.perf_counter() - started) / made

    def action_reverse_continue(self) -> None:
        """C: back to the latest earlier step where a breakpoint was crossed."""

        def done(stop: Stop | None) -> None:
            if stop is None:
                self.notify(
                    f"no breakpoint crossing before step {self.debugger.step}", severity="warning"
                )
            else:
                self.notify(f"back at step {stop.step}: {stop.detail}")

        self.move("searching back", self.debugger.reversing(), done)

    # -- selection (works while training runs) --------------------------------
    def action_unit(self, delta: int) -> None:
        """↑/↓: select unit j."""
        self.debugger.move_unit(delta)
        self.sync()

    def action_input(self, delta: int) -> None:
        """←/→: select unit k of the layer before (the weight w_jk)."""
        self.debugger.move_input(delta)
        self.sync()

    def action_layer(self, delta: int) -> None:
        """tab/shift+tab: select the next/previous layer."""
        depth = self.debugger.depth
        self.debugger.select_layer((self.debugger.layer - 1 + delta) % depth + 1)
        self.sync()

    def action_example(self, delta: int) -> None:
        """x/X: the whole batch, or one example (one column)."""
        with self.debugger_lock:
            self.debugger.cycle_example(delta)
        self.sync()

    def action_next_pane(self) -> None:
        """v: select the next matrix of the shown equations (one not computed yet is skipped)."""
        with self.debugger_lock:
            shown = centre(self.debugger, self.pane)
        keys = [key for key, operand in shown.operands.items() if operand.values is not None]
        if keys:
            at = keys.index(shown.pane) if shown.pane in keys else -1
            self.pane = keys[(at + 1) % len(keys)]

    def action_heatmap(self) -> None:
        """h: matrices auto (big ones as heatmaps), all as numbers, all as heatmaps."""
        self.matrix_mode = MODES[(MODES.index(self.matrix_mode) + 1) % len(MODES)]
        self.notify(f"matrices: {self.matrix_mode}", timeout=2)

    def action_diff(self) -> None:
        """d: show the change since the step before (or the marked step), or, with a
        compared branch (B, then c), the difference from that branch at this step."""
        self._brought = None  # esc stopped bringing the compared branch here: d tries again
        self.diff = not self.diff

    def action_beside(self) -> None:
        """D: the two-branch view: this layer's equation on this branch and the compared one."""
        if not self.beside and not self.compare:
            other = self._default_compared()
            if other is None:
                self.notify("one branch only: B makes another", severity="warning")
                return
            self.compare = other
            self.notify(f"comparing with {other} (B, then c, picks another)")
        self._brought = None
        self.beside = not self.beside

    def _default_compared(self) -> str | None:
        """The branch to compare with when none was picked: the parent, else the newest child."""
        branch = self.debugger.branch
        if branch.parent is not None:
            return branch.parent.name
        others = [b for b in self.debugger.branches.all if b is not branch]
        return others[-1].name if others else None

    def action_branches(self) -> None:
        """B: list the branches; switch, pick the one d compares with, or make a new one."""
        with self.debugger_lock:
            branches = tuple(self.debugger.branches.all)
            current = self.debugger.branch
        self.app.push_screen(
            BranchesScreen(branches, current, self.compare, self._make_branch), self._chosen
        )

    def _make_branch(self, changes: dict[str, object]) -> str:
        """Make a branch of the current one (InputError or ValueError: nothing made).

        Measured at most ~80 ms (wide's first pass at the fork), so it runs here.
        """
        before = self.debugger.branch.name
        with self.debugger_lock:
            branch = self.debugger.new_branch(changes)
        if self.compare in ("", branch.name):
            self.compare = before
        return branch.name

    def _chosen(self, choice: BranchChoice | None) -> None:
        """What the branches dialog was closed with."""
        if choice is None:
            return
        debugger = self.debugger
        if choice.action == "compare":
            self.compare = choice.name
            self._brought = None
            if choice.name:
                self.notify(f"d compares with {choice.name} at the same step (D: side by side)")
            else:
                self.notify("d compares with the step before (or the marked one)")
            return
        if choice.action == "switch" and choice.name != debugger.branch.name:
            before = debugger.branch.name
            with self.debugger_lock:
                debugger.switch_branch(choice.name)
            if self.compare == choice.name:
                self.compare = before  # still two branches to compare: swapped
        branch = debugger.branch
        made = "made " if choice.action == "made" else "on "
        self.notify(f"{made}{branch.describe()} · step {branch.timeline.step:,}")
        self.sync()

    def action_mark(self) -> None:
        """m: mark this step for `d`."""
        self.debugger.mark = self.debugger.step
        self.notify(f"marked step {self.debugger.step}: d compares with it")
        self.sync()

    def action_log_scale(self) -> None:
        """l: log scale for the cost plot."""
        self.log_scale = not self.log_scale

    def action_show_tab(self, tab: str) -> None:
        """1-4: switch tabs when the screen is narrow."""
        for tabs in self.query("#tabs").results(TabbedContent):
            if tabs.query(f"#{tab}"):
                tabs.active = tab

    # -- tools ----------------------------------------------------------------
    def action_help(self) -> None:
        """?: keys and notation."""
        self.app.push_screen(HelpScreen())

    def action_breakpoints(self) -> None:
        """b: add or remove breakpoints (a run in progress follows each change)."""
        current = tuple(self.debugger.breakpoints)
        self.app.push_screen(BreakpointsScreen(current, self.debugger.depth))

    def action_copy(self) -> None:
        """y: copy the selected matrix as a NumPy literal (OSC 52 works over SSH)."""
        with self.debugger_lock:
            shown = centre(self.debugger, self.pane, diff=self.diff)
        pane = shown.operands.get(shown.pane)
        if pane is None or pane.values is None:
            title = pane.title if pane is not None else "the matrix"
            self.notify(f"{title} is not computed yet", severity="warning")
            return
        self.app.copy_to_clipboard(numpy_literal(pane.values))
        self.notify(f"copied {pane.title} ({'x'.join(map(str, pane.values.shape))})")

    def action_edit(self) -> None:
        """w: set the selected weight on a branch from this step (the history left stays)."""
        debugger = self.debugger
        l, j, k, step = debugger.layer, debugger.j, debugger.k, debugger.step
        current = float(debugger.params.W[l][j, k])
        name = f"w_{{{j},{k}}}^({l})"

        def answered(answer: str | None) -> None:
            if answer is None:
                return
            value = parse_number(answer)
            with self.debugger_lock:
                changed = debugger.edit_weight(value)
            if not changed:
                self.notify(f"{name} is already {value!r}: nothing changed")
                return
            branch = debugger.branch.name
            self.notify(f"{name} = {value!r} at step {step}, on branch {branch} (B lists them)")
            self.sync()

        self.app.push_screen(
            PromptScreen(
                f"edit {name} at step {step}",
                "later steps are computed again from the new value",
                repr(current),
                parse_number,
            ),
            answered,
        )

    def action_gradcheck(self) -> None:
        """k: gradient check of the current state against finite differences (esc cancels)."""
        self._cancel_requested = False
        self.busy_text = "checking gradients · esc cancels"
        self.busy = "checking gradients"
        self._start_timer()
        self._gradcheck()

    @work(thread=True, exclusive=True, group="check")
    def _gradcheck(self) -> None:
        from textual.worker import get_current_worker

        from bpdebug.engine import CheckStopped, check_gradients
        from bpdebug.report import gradcheck_lines, gradcheck_verdict

        worker = get_current_worker()
        started = time.monotonic()
        with self.debugger_lock:
            timeline = self.debugger.timeline
            trace = timeline.trace
            network, params, step = timeline.trainer.network, timeline.state.params, timeline.step
            name = timeline.scenario.name

        def go_on(done: int, total: int) -> bool:
            seconds = time.monotonic() - started
            self.busy_text = progress_text(
                "checking gradients:", done, total, seconds, "parameters"
            )
            return not (self._cancel_requested or worker.is_cancelled or self.bpapp.leaving)

        try:
            result = check_gradients(network, params, trace.a[0], trace.Y, go_on=go_on)
        except CheckStopped as stopped:
            if not self.bpapp.leaving:
                message = f"gradient check cancelled after {stopped.done} of {stopped.total}"
                self.app.call_from_thread(self._checked, message, None)
            return
        lines = gradcheck_lines(result, params, name, step)
        title = f"gradient check at step {step}: {gradcheck_verdict(result)}"
        self.app.call_from_thread(self._checked, title, lines)

    def _checked(self, title: str, lines: list[str] | None) -> None:
        self.busy = self.busy_text = ""
        self._stop_timer()
        self.sync()
        if lines is None:
            self.notify(title)
        else:
            self.app.push_screen(TextScreen(title, "\n".join(lines)))

    def action_export(self) -> None:
        """e: JSON + NPZ + Markdown snapshots and an SVG screenshot, never overwriting.

        In a browser (`bpdebug serve`) the four files arrive as one .zip
        download and nothing is written on the server's disk.
        """
        self._export(self.app.export_screenshot(), self.app.is_web)

    @work(thread=True, group="export")
    def _export(self, svg: str, download: bool) -> None:
        """Write the export (`export_all`) or, for a browser, deliver it as one zip."""
        from bpdebug.tui.exporting import export_all, export_archive

        written: list[Path] = []
        try:
            with self.debugger_lock:
                timeline = self.debugger.timeline
                if download:
                    name, data = export_archive(timeline, svg)
                else:
                    written = export_all(timeline, self.bpapp.export_dir, svg)
                edits = tuple(timeline.edits)
        except OSError as error:
            self.app.call_from_thread(
                self.notify, f"export failed: {error}", severity="error", timeout=10
            )
            return
        self.bpapp.exported_edits = edits
        if download:
            self.app.call_from_thread(self._deliver, name, data)
            return
        self.bpapp.exported = written
        names = ", ".join(p.name for p in written)
        self.app.call_from_thread(self.notify, f"exported to {written[0].parent}/: {names}")

    def _deliver(self, name: str, data: bytes) -> None:
        self.app.deliver_binary(
            io.BytesIO(data), save_filename=name, mime_type="application/zip", name="export"
        )
        self.notify(f"exported {name} (json, npz, md, svg): your browser downloads it")

    async def action_quit(self) -> None:
        """q: leave; asks first when an edited branch has not been exported."""
        edits = tuple(self.debugger.timeline.edits)
        if not edits or edits == self.bpapp.exported_edits:
            self.bpapp.leave()
            return
        steps = ", ".join(str(s) for s in sorted({e.step for e in edits}))
        self.app.push_screen(
            ConfirmScreen(
                f"quit? this history was edited (step {steps}) and not exported since;"
                " e exports it.",
                yes="quit",
                no="stay",
            ),
            lambda yes: self.bpapp.leave() if yes else None,
        )


def _duration(seconds: float) -> str:
    """``40 s``, ``12 min``, ``18 h``."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"
