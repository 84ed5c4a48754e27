"""Stress tests of the screen: resizing while training, divergence, and time-travel fuzz.

Issue 4, "Terminal and long runs" and the TUI side of "Numerical faults":

- resizing from 200x60 down past the 40x12 minimum and back, many times,
  while `c` trains: no exception, a "terminal too small" message below the
  minimum, the panes back above it, and the keys still act;
- a scenario with learning rate 100 run with `c`: the run pauses by itself on
  the first NaN/inf, names it, and rewinding or jumping before it works;
- random key sequences (n N s S g c C w) on the bundled scenarios: afterwards
  the state and pass on screen equal, bit for bit, a straight replay of the
  same history (the same edits at the same steps) on a fresh Timeline;
- long runs: the memory a timeline reports grows with what it really holds, so
  its checkpoint budget bounds real memory.

The one-million-update run lives in `bench/reliability.py` (minutes, not CI).
"""

from __future__ import annotations

import gc
import random
import re
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_same_state, assert_same_trace
from textual.events import Resize
from textual.geometry import Size
from textual.pilot import Pilot
from textual.widgets import Input, Static, TabbedContent
from tui_helpers import (
    NARROW,
    SCENARIOS,
    WIDE,
    XOR,
    drawn,
    status,
    title,
    wait_stopped,
    wait_until,
    xor_app,
)

from bpdebug.scenario import load_scenario
from bpdebug.scenario.model import Breakpoint
from bpdebug.timeline import Edit, Timeline
from bpdebug.tui.app import MIN_SIZE, NARROW_HEIGHT, BpdebugApp
from bpdebug.tui.dialogs import PromptScreen
from bpdebug.tui.widgets.costplot import CostPlot


def alive(app: BpdebugApp) -> bool:
    """The app is running and has not set an exit status (an exception sets 1)."""
    return app.is_running and app.return_code is None


def too_small(app: BpdebugApp) -> bool:
    """The "terminal too small" message is on screen instead of the panes."""
    found = app.screen.query("#too-small")
    if not found:
        return False
    message = str(found.first(Static).render())
    return "terminal too small" in message and not app.screen.query("#status")


# --- resizing while training ------------------------------------------------------

RESIZE_CYCLE = [
    (200, 60),
    (80, 24),
    (40, 12),  # the minimum itself: panes, as tabs
    (39, 11),
    (30, 8),
    (1, 1),
]
"""One cycle: from 200x60 down past the minimum to a single cell (the next cycle
brings it straight back to 200x60)."""

RESIZE_CYCLES = 30


async def resize(pilot: Pilot[int], app: BpdebugApp, width: int, height: int) -> None:
    """`pilot.resize_terminal`, but waiting for the screen to follow rather than for
    the process to go idle: while `c` trains it never does, and every Pilot wait
    then takes its full second."""
    size = Size(width, height)
    app._driver._size = size  # type: ignore[union-attr]  # the headless driver's size
    app.post_message(Resize(size, size))
    small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
    narrow = width < app.main.columns_width() or height < NARROW_HEIGHT

    def settled() -> bool:
        screen = app.screen
        if app.size != size or bool(screen.query("#too-small")) != small:
            return False
        if small:
            return True
        return len(screen.query(TabbedContent)) == int(narrow) and bool(screen.query("#status"))

    deadline = time.monotonic() + 10
    while not settled() and time.monotonic() < deadline and alive(app):
        await pilot.pause(0.01)
    await pilot.pause(0.01)


@pytest.mark.slow
async def test_resizing_repeatedly_while_c_trains_never_crashes(tmp_path):
    """30 cycles of 200x60 -> 80x24 -> 40x12 -> 39x11 -> 30x8 -> 1x1 while `c` trains
    xor: the app stays up, says "terminal too small" below 40x12 exactly, draws its
    panes (tabs when narrow) above it, keeps training throughout, and answers keys
    afterwards."""
    app = xor_app(tmp_path)
    async with app.run_test(size=(200, 60)) as pilot:
        d = app.debugger
        await pilot.press("c")  # train with no breakpoint: runs until paused
        await wait_until(pilot, lambda: d.step > 0)
        survived = 0
        for cycle in range(RESIZE_CYCLES):
            for width, height in RESIZE_CYCLE:
                await resize(pilot, app, width, height)
                where = f"cycle {cycle} at {width}x{height}"
                assert alive(app), where
                assert app.main.running, where
                if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
                    assert too_small(app), where
                else:
                    assert not app.screen.query("#too-small"), where
                    assert "running" in status(app), where
                    narrow = width < app.main.columns_width() or height < NARROW_HEIGHT
                    assert len(app.screen.query(TabbedContent)) == int(narrow), where
                    assert len(app.screen.query("#main")) == int(not narrow), where
                survived += 1
        assert survived == RESIZE_CYCLES * len(RESIZE_CYCLE)
        await resize(pilot, app, 200, 60)  # back to the start
        assert alive(app)
        assert not app.screen.query("#too-small")
        assert app.screen.query("#main")
        before = d.step
        await wait_until(pilot, lambda: d.step > before)  # still training
        await pilot.press("c")  # pause
        await wait_stopped(pilot, app)
        stopped = d.step
        await pilot.press("n")  # a key still acts after all that
        assert d.step == stopped + 1
        assert f"step {stopped + 1} " in title(app)
        assert np.array_equal(drawn(app)["W"].values, d.params.W[d.layer])
        await pilot.resize_terminal(30, 8)  # too small while paused: keys still act
        assert too_small(app)
        await pilot.press("N")  # rewind behind the message
        await pilot.resize_terminal(200, 60)
        assert d.step == stopped
        assert f"step {stopped} " in title(app)
        assert alive(app)


# --- long runs ------------------------------------------------------------------


@pytest.mark.slow
def test_timeline_memory_counts_what_the_checkpoints_really_hold():
    """What Timeline.memory() (the figure the checkpoint budget is held to) gains over
    8,000 more xor updates is within 2x of the memory they really add (tracemalloc: Python
    objects and NumPy buffers).

    Guards f50792c (TrainState.nbytes in bpdebug/training.py). Before it, a checkpoint
    was counted as its array data, 72 bytes for xor, but holds ~1 KB
    (array headers, tuples, the Params/OptState/TrainState objects), so 250
    checkpoints added ~270 KiB while memory() counted 18 KiB, and the 160 MB default
    budget would have let xor's checkpoints reach ~2.4 GB before the spacing widened.
    """
    timeline = Timeline(load_scenario(XOR))
    # Past one-time allocations, and past the cost history's growth to 16,384 entries,
    # so that what follows adds checkpoints (and nothing else that lasts).
    timeline.run_until(max_steps=8_200)
    gc.collect()
    tracemalloc.start()
    try:
        before, counted_before = tracemalloc.get_traced_memory()[0], timeline.memory()
        timeline.run_until(max_steps=8_000)  # to step 16,200: 250 more checkpoints
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    counted = timeline.memory() - counted_before
    assert held <= 2 * counted, (
        f"8,000 more updates made the timeline hold {held / 2**10:.0f} KiB more, "
        f"but memory() counts {counted / 2**10:.0f} KiB more"
    )


# --- divergence -----------------------------------------------------------------

XOR_LINEAR_LR100 = (
    XOR.read_text()
    .replace('output = "sigmoid"', 'output = "linear"')
    .replace("learning_rate = 1.0", "learning_rate = 100")
)
"""XOR with a linear output and learning rate 100: the cost overflows to inf (step 67)."""

LINEAR_REGRESSION_LR100 = """
name = "Linear regression, lr 100"
seed = 0
[network]
layers = [1, 1]
activation = "linear"
output = "linear"
loss = "squared_error"
[data]
inputs = [[0.0], [1.0], [2.0], [3.0]]
targets = [[1.0], [3.0], [5.0], [7.0]]
[training]
learning_rate = 100
"""
"""y = 2x + 1 by one linear unit with learning rate 100: every update overshoots further."""

NONFINITE = re.compile(r"^(NaN|inf) in (?:(W|b|z|a|delta|dW|db)\^\((\d+)\)|the cost)$")
"""What the pause reason must look like: ``inf in z^(2)`` or ``NaN in the cost``."""


@pytest.mark.parametrize(
    "text", [XOR_LINEAR_LR100, LINEAR_REGRESSION_LR100], ids=["xor-linear", "linreg"]
)
async def test_learning_rate_100_pauses_on_the_first_nonfinite_step_and_rewinds(tmp_path, text):
    """`c` with learning rate 100 pauses by itself at the first step whose state or pass
    holds NaN/inf, names the quantity and layer, selects that layer, says it on the
    status line and stays up; N and g before it show finite numbers again, and `c`
    from there stops at the same step."""
    assert "learning_rate = 100" in text
    path = tmp_path / "diverge.toml"
    path.write_text(text)
    app = xor_app(tmp_path, path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        assert d.breakpoints == []  # nothing but the NaN/inf check can stop it
        await pilot.press("c")  # run until something overflows
        await wait_stopped(pilot, app, timeout=30)
        stop = d.step
        assert alive(app)
        found = NONFINITE.match(d.paused)
        assert found, f"pause reason {d.paused!r} does not name NaN/inf and where"
        if found[3] is not None:
            assert d.layer == int(found[3])  # the layer named is the one selected
        assert status(app).startswith(f" {d.paused} │")
        assert not (d.trace.all_finite() and d.params.all_finite())
        # The cost plot survives an inf/NaN cost and draws only finite points.
        plot = app.screen.query_one("#cost", CostPlot)
        assert plot.drawn_current == stop
        assert np.isfinite(plot.drawn_y).all()

        # It is the first such step: a fresh timeline is finite just before it.
        check = Timeline(load_scenario(path))
        check.seek(stop - 1)
        assert check.trace.all_finite() and check.state.params.all_finite()

        await pilot.press("N")  # rewind one update: the last finite step
        assert d.step == stop - 1
        assert d.paused == ""
        assert_finite_on_screen(app)
        assert_same_state(d.timeline.state, check.state)

        await pilot.press("g", *str(stop // 2), "enter")  # jump well before the blow-up
        assert d.step == stop // 2
        assert_finite_on_screen(app)
        assert "paused" not in status(app)

        await pilot.press("c")  # run again: the same step stops it
        await wait_stopped(pilot, app, timeout=30)
        assert d.step == stop
        assert NONFINITE.match(d.paused)
        assert alive(app)


def assert_finite_on_screen(app: BpdebugApp) -> None:
    """The current state, its pass and every matrix pane drawn are finite numbers."""
    d = app.debugger
    assert d.params.all_finite()
    assert d.trace.all_finite()
    assert np.isfinite(d.trace.cost)
    blocks = drawn(app)
    for key, block in blocks.items():
        if block.values is not None:
            assert np.isfinite(block.values).all(), key
    if "W" in blocks:
        assert np.array_equal(blocks["W"].values, d.params.W[d.layer])


# --- rewind/jump fuzz -------------------------------------------------------------

FUZZ_SCENARIOS = ("xor", "chain", "spiral", "digits")
FUZZ_SEQUENCES = 30
FUZZ_KEYS = 15
FUZZ_SIZE = NARROW
"""Tabs: only the visible pane is drawn, so a key costs a third of the wide layout."""
FUZZ_WEIGHTS = {
    "n": 4,
    "N": 3,
    "s": 4,
    "S": 3,
    "g": 2,
    "c": 2,
    "C": 1,
    "w": 2,
    "tab": 1,
    "down": 1,
    "right": 1,
}
"""How often each key is drawn (tab, down and right pick the weight `w` edits)."""


def straight_replay(path: Path, edits: list[Edit], step: int) -> tuple[Timeline, np.ndarray]:
    """A fresh Timeline of `path` moved to `step` by next() alone, making each edit at
    its step in the order it was made; and the costs C of steps 0..step on the way."""
    timeline = Timeline(load_scenario(path))
    costs = []
    for s in range(step + 1):
        if s:
            timeline.next()
        for e in edits:
            if e.step == s:
                timeline.edit_weight(e.layer, e.j, e.k, e.value)
        costs.append(timeline.trace.cost)
    return timeline, np.array(costs)


async def answer(pilot: Pilot[int], app: BpdebugApp, text: str) -> None:
    """Fill the open prompt with `text` and press enter (typing it key by key costs a
    Pilot idle-wait per character and tests nothing more)."""
    assert isinstance(app.screen, PromptScreen)
    app.screen.query_one(Input).value = text
    await pilot.press("enter")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(FUZZ_SEQUENCES))
async def test_random_keys_show_the_same_state_as_a_straight_replay(tmp_path, seed):
    """15 random keys (n N s S g c C w, and tab down right) on a bundled scenario; after
    each, the step and phase are where the keys say; at the end, the state (parameters
    and optimizer slots), the pass and the cost history on screen equal a straight
    replay of the same history, bit for bit. Every other round of the four scenarios squeezes the
    checkpoint budget to two states, so the checkpoint spacing widens and seeks and
    rewinds replay long segments."""
    rng = random.Random(seed)
    name = FUZZ_SCENARIOS[seed % len(FUZZ_SCENARIOS)]
    path = SCENARIOS / f"{name}.toml"
    app = xor_app(tmp_path, path)
    keys, weights = list(FUZZ_WEIGHTS), list(FUZZ_WEIGHTS.values())
    edits: list[Edit] = []
    log: list[str] = []
    async with app.run_test(size=FUZZ_SIZE) as pilot:
        d = app.debugger
        d.breakpoints = []  # only the `step K` of each c below
        if (seed // len(FUZZ_SCENARIOS)) % 2:
            d.timeline.memory_budget = 2 * d.timeline.state.nbytes()
        last = len(d.phases) - 1
        step, phase = 0, 0  # where the keys should have taken us: step 0's batch
        stop_at: int | None = None  # the `step K` breakpoint, once c has set one
        for _ in range(FUZZ_KEYS):
            key = rng.choices(keys, weights)[0]
            if key == "n":
                await pilot.press("n")  # one update forward
                step += 1
            elif key == "N":
                await pilot.press("N")  # one update back (greyed out at step 0)
                step = max(step - 1, 0)
            elif key == "s":
                await pilot.press("s")  # one phase forward
                step, phase = (step + 1, 0) if phase == last else (step, phase + 1)
            elif key == "S":
                await pilot.press("S")  # one phase back (greyed out at the very start)
                if phase:
                    phase -= 1
                elif step:
                    step, phase = step - 1, last
            elif key == "g":
                target = rng.randint(0, 150)
                key = f"g{target}"
                await pilot.press("g")  # open the prompt
                await answer(pilot, app, str(target))  # go to step `target`
                step = target
            elif key == "c":
                stop_at = step + rng.randint(1, 40)
                key = f"c{stop_at}"
                d.breakpoints = [Breakpoint("step", float(stop_at))]
                await pilot.press("c")  # run to the breakpoint
                await wait_stopped(pilot, app, timeout=30)
                step, phase = stop_at, last  # a stop shows the step's whole pass
            elif key == "C":
                await pilot.press("C")  # back to the previous breakpoint hit, if any
                if stop_at is not None and stop_at < step:
                    step, phase = stop_at, last
            elif key in ("tab", "down", "right"):
                await pilot.press(key)  # another layer, unit j or input k (for w)
            else:
                value = round(rng.uniform(-3.0, 3.0), 3)
                edit = Edit(d.step, d.layer, d.j, d.k, value)
                key = f"w{edit.layer},{edit.j},{edit.k}={value}"
                await pilot.press("w")  # open the prompt
                await answer(pilot, app, str(value))  # set w_jk^(l)
                # A branch drops the edits made later in the old history.
                edits = [e for e in edits if e.step <= edit.step] + [edit]
            log.append(key)
            where = f"{name} seed {seed}: keys {' '.join(log)}"
            assert not isinstance(app.screen, PromptScreen), where
            assert alive(app), where
            assert (d.step, d.phase_index) == (step, phase), where
            if key.startswith("w"):
                assert d.params.W[edit.layer][edit.j, edit.k] == edit.value, where
        await pilot.pause()
        shown_state, shown_trace = d.timeline.state, d.trace
        shown_costs = d.timeline.costs().copy()
        frontier = d.timeline.frontier

    want, _ = straight_replay(path, edits, step)
    assert_same_state(shown_state, want.state)
    assert_same_trace(shown_trace, want.trace)
    # The cost plot's history: every step up to the furthest one computed, as replayed.
    _, costs = straight_replay(path, edits, frontier)
    known = np.isfinite(shown_costs)
    assert known[:frontier].all(), f"{where}: steps {np.flatnonzero(~known[:frontier])} missing"
    assert np.array_equal(shown_costs[known], costs[known]), where
