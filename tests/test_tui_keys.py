"""Pilot tests: one or more for every key, each asserting the app's state afterwards.

Grouped by feature as the help screen groups the keys: stepping, running,
dialogs, tools, looking, layout. Every test builds its own app with
`build_app` (the command line's factory) on the bundled XOR scenario unless
it says otherwise, and exports into its own temporary folder.
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Input, Label, OptionList, Static, TabbedContent
from tui_helpers import (
    NARROW,
    SCENARIOS,
    WIDE,
    XOR,
    divergent_scenario,
    drawn,
    record_notifications,
    status,
    title,
    wait_stopped,
    wait_until,
    xor_app,
)

from bpdebug.debugger import Debugger
from bpdebug.scenario import load_scenario
from bpdebug.scenario.model import Breakpoint
from bpdebug.snapshot import export
from bpdebug.timeline import Timeline
from bpdebug.tui import build_app
from bpdebug.tui.app import BpdebugApp
from bpdebug.tui.dialogs import BreakpointsScreen, HelpScreen, PromptScreen, TextScreen
from bpdebug.tui.render import network_text, title_text
from bpdebug.tui.widgets.costplot import CostPlot
from bpdebug.tui.widgets.equation import BlockSpec
from bpdebug.tui.widgets.health import health_text


def fresh_timeline() -> Timeline:
    """An independent XOR timeline, to check the app's numbers against."""
    return Timeline(load_scenario(XOR))


def view(app: BpdebugApp, name: str) -> BlockSpec:
    """The drawn operand `name`."""
    return drawn(app)[name]


def heading(app: BpdebugApp) -> str:
    """The centre's first line: the shown phase and the selected value."""
    return str(app.screen.query_one("#equation-head", Static).render()).splitlines()[0]


def jump(app: BpdebugApp, step: int, layer: int | None = None, j: int = 0, k: int = 0) -> None:
    """Set up a test's starting point without keys (each key costs a redraw): step, selection,
    at the step's update phase (every quantity computed)."""
    d = app.debugger
    d.goto(step)
    d.phase_index = len(d.phases) - 1
    d.select_layer(d.layer if layer is None else layer)
    d.j, d.k = j, k
    app.main.sync()


# --- stepping: s S n N ----------------------------------------------------------


async def test_s_walks_every_phase_then_the_next_step(tmp_path):
    """s goes from the batch to forward 1..L, cost, backward L..1, update, then the next
    step's batch; the centre shows each phase's equation, and what is not computed yet is
    a placeholder."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        # A new session opens at step 0's batch, before anything is computed.
        assert (d.step, d.phase.kind, d.layer) == (0, "input", 1)
        assert heading(app).startswith("the batch")
        assert "s: compute z^(1) = W^(1) a^(0) + b^(1)" in status(app)
        seen = []
        for _ in range(8):
            await pilot.press("s")  # one phase forward
            seen.append((d.step, d.phase.kind, d.phase.layer, d.layer, heading(app).split("  ")[0]))
        assert seen == [
            (0, "forward", 1, 1, "forward, layer 1"),
            (0, "forward", 2, 2, "forward, layer 2"),
            (0, "cost", 2, 2, "cost"),
            (0, "backward", 2, 2, "backward, layer 2"),
            (0, "backward", 1, 1, "backward, layer 1"),
            (0, "update", 0, 1, "update, layer 1"),
            (1, "input", 0, 1, "the batch"),
            (1, "forward", 1, 1, "forward, layer 1"),
        ]
        assert np.array_equal(view(app, "z").values, d.trace.z[1])
        assert "C …" in status(app)
        await pilot.press("tab")  # layer 2: its forward pass has not run yet
        assert heading(app).startswith("forward, layer 2")
        assert view(app, "z").values is None
        assert view(app, "z").placeholder == "not yet: forward pass (s)"
        assert np.array_equal(view(app, "W").values, d.params.W[2])


async def test_S_steps_back_across_the_step_boundary_and_stops_at_the_start(tmp_path):
    """S undoes s, crossing into the previous step's update; it is greyed out at step 0's batch."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        assert app.main.check_action("step_back", ()) is None
        d.phase_index = len(d.phases) - 1  # step 0's update
        await pilot.press("s")  # step 1's batch
        assert (d.step, d.phase.kind) == (1, "input")
        await pilot.press("S")  # back across the boundary: step 0's update
        assert (d.step, d.phase.kind) == (0, "update")
        for _ in range(6):
            await pilot.press("S")  # back through backward 1, 2, cost, forward 2, 1, the batch
        assert (d.step, d.phase_index, d.phase.kind) == (0, 0, "input")
        assert app.main.check_action("step_back", ()) is None
        await pilot.press("S")  # greyed out: nothing moves
        assert (d.step, d.phase_index) == (0, 0)
        assert app.main.check_action("step_into", ()) is True


async def test_n_and_N_move_whole_updates_keeping_the_phase(tmp_path):
    """n is one update forward, N one back, both keeping the phase; N is greyed at step 0."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        assert app.main.check_action("rewind", ()) is None
        await pilot.press("N")  # greyed out at step 0
        assert d.step == 0
        await pilot.press("s", "s")  # step 0, forward layer 2
        await pilot.press("n", "n")  # step 2, still forward layer 2
        assert (d.step, d.phase.kind, d.phase.layer) == (2, "forward", 2)
        assert app.main.check_action("rewind", ()) is True
        await pilot.press("N")  # step 1, still forward layer 2
        assert (d.step, d.phase.kind, d.phase.layer) == (1, "forward", 2)
        want = fresh_timeline()
        want.seek(1)
        assert np.array_equal(d.params.W[1], want.state.params.W[1])


# --- running: c C -----------------------------------------------------------------


async def test_c_runs_in_a_worker_and_c_again_pauses(tmp_path):
    """c trains in a worker with the stepping keys greyed out; c again pauses it."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        await pilot.press("c")  # start training
        assert app.main.running
        assert app.main.check_action("next", ()) is None
        assert app.main.check_action("continue", ()) is False  # c is `pause` now
        assert app.main.check_action("pause", ()) is True
        assert "running" in status(app)
        await pilot.press("c")  # pause
        await wait_stopped(pilot, app)
        assert d.step > 0
        assert not app.main.running
        assert d.paused == "paused"
        assert "paused" in status(app)
        assert app.main.check_action("next", ()) is True


async def test_c_stops_at_the_first_step_below_a_cost_breakpoint(tmp_path):
    """A breakpoint `cost < 0.05` typed into the b dialog stops c at the first step below it."""
    app = xor_app(tmp_path)
    notes = record_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        await pilot.press("b")  # open the breakpoints dialog
        await pilot.press(*"cost < 0.05")  # type a breakpoint
        await pilot.press("enter")  # add it
        await pilot.press("escape")  # close the dialog
        assert d.breakpoints == [Breakpoint("cost_below", 0.05)]
        await pilot.press("c")  # run until it holds
        await wait_stopped(pilot, app)
        stop = d.step
        assert d.trace.cost < 0.05
        assert "cost < 0.05" in d.paused
        assert "cost < 0.05" in status(app)
        assert (
            f"stopped at step {stop}: cost < 0.05: C = {d.trace.cost:.6g}",
            "information",
        ) in notes
    check = fresh_timeline()
    check.seek(stop - 1)
    assert check.trace.cost >= 0.05
    check.next()
    assert check.trace.cost == d.trace.cost


async def test_c_pauses_on_nan_or_inf_and_N_still_works(tmp_path):
    """A divergent run (linear output, lr 1e6) pauses on the first NaN/inf and names it."""
    app = xor_app(tmp_path, divergent_scenario(tmp_path))
    notes = record_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        await pilot.press("c")  # run until something overflows
        await wait_stopped(pilot, app)
        stop = d.step
        assert stop > 0
        assert "NaN" in d.paused or "inf" in d.paused
        assert status(app).startswith(f" {d.paused} │")
        assert any(severity == "error" and d.paused in text for text, severity in notes)
        await pilot.press("N")  # rewind to the last finite step
        assert d.step == stop - 1
        assert np.isfinite(d.trace.cost)
        assert d.paused == ""


async def test_C_goes_back_to_the_previous_breakpoint_hit(tmp_path):
    """C seeks back to the latest earlier step where a breakpoint holds."""
    app = xor_app(tmp_path)
    notes = record_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        d.breakpoints.append(Breakpoint("step", 5.0))
        await pilot.press("g")  # go to ...
        await pilot.press("2", "0", "enter")  # ... step 20
        assert d.step == 20
        await pilot.press("C")  # reverse-continue
        assert d.step == 5
        assert "breakpoint step 5" in status(app)
        await pilot.press("C")  # nothing before step 5
        assert d.step == 5
        assert ("no breakpoint crossing before step 5", "warning") in notes


async def test_quit_while_training_stops_the_training_thread(tmp_path):
    """q during c must end training too, or the process never exits (the thread loops on).

    `_train` loops until `_pause_requested`; if quitting does not set it, `c`
    then `q` in a terminal leaves a blank screen and a process that never
    returns to the shell.
    """
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("c")  # start training
        main = app.main
        assert main.running
        await pilot.press("q")  # quit while it runs
    try:
        await asyncio.sleep(0.1)
        before = app.debugger.step
        await asyncio.sleep(0.3)
        assert app.debugger.step == before, "the training thread kept running after quit"
    finally:
        main._pause_requested = True  # stop a leaked thread so that pytest can exit


# --- dialogs: g b w ---------------------------------------------------------------


async def test_g_jumps_to_a_step_and_rejects_bad_input(tmp_path):
    """g asks for a step; a number jumps there, a bad one keeps the dialog open, escape cancels."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        await pilot.press("n")  # step 1, so the prefilled "1" must be replaced, not appended to
        await pilot.press("g")  # open the prompt
        assert isinstance(app.screen, PromptScreen)
        assert app.screen.query_one(Input).value == "1"
        await pilot.press("4", "2", "enter")  # jump to 42
        assert not isinstance(app.screen, PromptScreen)
        assert d.step == 42
        await pilot.press("g")  # open it again
        await pilot.press("a", "b", "c", "enter")  # not a number
        assert isinstance(app.screen, PromptScreen)
        hint = str(app.screen.query_one("#prompt-hint", Label).render())
        assert "a whole number" in hint
        await pilot.press("escape")  # cancel
        assert not isinstance(app.screen, PromptScreen)
        assert d.step == 42


async def test_b_adds_a_breakpoint_rejects_a_bad_one_and_removes(tmp_path):
    """b lists breakpoints; enter adds a typed one, a bad one shows why, delete removes one."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        await pilot.press("b")  # open the dialog
        assert isinstance(app.screen, BreakpointsScreen)
        await pilot.press(*"cost < 0.1", "enter")  # add one
        assert d.breakpoints == [Breakpoint("cost_below", 0.1)]
        listed = app.screen.query_one("#bp-list", OptionList)
        assert str(listed.get_option_at_index(0).prompt) == "cost < 0.1"
        await pilot.press(*"grad >", "enter")  # no number
        assert d.breakpoints == [Breakpoint("cost_below", 0.1)]
        hint = str(app.screen.query_one("#bp-hint", Label).render())
        assert "needs a number" in hint
        await pilot.click("#bp-list", offset=(3, 1))  # select the breakpoint with the mouse
        await pilot.press("delete")  # remove it
        assert d.breakpoints == []
        await pilot.press("escape")  # close
        assert not isinstance(app.screen, BreakpointsScreen)


async def test_w_edits_the_selected_weight_and_branches(tmp_path):
    """w is prefilled with w_jk; a non-number is refused; a new value sets it, and history
    branches at this step."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        jump(app, 3, layer=1, j=1, k=1)  # w_11^(1) at step 3
        current = float(d.params.W[1][1, 1])
        await pilot.press("w")  # open the prompt
        assert isinstance(app.screen, PromptScreen)
        assert app.screen.query_one(Input).value == repr(current)
        await pilot.press(*"inf", "enter")  # not a finite number
        assert isinstance(app.screen, PromptScreen)
        assert "finite" in str(app.screen.query_one("#prompt-hint", Label).render())
        await pilot.press("escape")  # cancel
        assert d.params.W[1][1, 1] == current
        assert d.timeline.branched_at is None
        await pilot.press("w")  # open the prompt again
        await pilot.press(*"0.75", "enter")  # the new value
        assert d.params.W[1][1, 1] == 0.75
        assert d.timeline.branched_at == 3
        assert "edited at step 3" in status(app)
        await pilot.press("n")  # the next update starts from the edited weight
        assert d.step == 4
        assert d.params.W[1][1, 1] != 0.75


async def test_tab_inside_the_edit_prompt_does_not_retarget_the_edit(tmp_path):
    """The weight the w prompt names is the weight that changes, whatever keys come between.

    tab/shift+tab are priority bindings of the app, so they reach it even
    under a dialog: unless refused there, the prompt says w_{0,0}^(2), tab
    moves the selection to layer 1, and enter writes the value into W^(1).
    """
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        jump(app, 0, layer=2)
        await pilot.press("w")  # edit w_{0,0}^(2)
        title = str(app.screen.query_one(".dialog-title", Label).render())
        assert "w_{0,0}^(2)" in title
        await pilot.press("tab")  # inside the dialog: should not touch the layer
        await pilot.press(*"0.75", "enter")  # the new value
        assert d.params.W[2][0, 0] == 0.75
        assert d.params.W[1][0, 0] == 0.1


async def test_tab_inside_the_breakpoints_dialog_reaches_the_list(tmp_path):
    """In the b dialog tab moves focus to the list (not the layer behind), so a breakpoint
    can be removed from the keyboard: tab, down to highlight it, delete.

    check_action must refuse the debugger's own actions under a dialog, but
    not Textual's: the screen's tab binding is `app.focus_next`, an app action.
    """
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("b")  # open the dialog
        await pilot.press(*"step 5", "enter")  # add a breakpoint
        await pilot.press("tab")  # to the list
        assert app.debugger.layer == 1  # the layer behind did not move
        assert isinstance(app.focused, OptionList)
        await pilot.press("down")  # highlight the breakpoint
        await pilot.press("delete")  # remove it
        assert app.debugger.breakpoints == []


# --- tools: e y k -------------------------------------------------------------------


async def test_e_exports_four_files_and_never_overwrites(tmp_path):
    """e writes xor-stepN.json/.npz/.md/.svg; a second e writes -2 names beside them."""
    app = xor_app(tmp_path)
    folder = tmp_path / "exports"
    async with app.run_test(size=WIDE) as pilot:
        jump(app, 3)
        await pilot.press("e")  # export
        first = [folder / f"xor-step3.{ext}" for ext in ("json", "npz", "md", "svg")]
        assert app.exported == first
        assert all(p.is_file() for p in first)
        snap = json.loads(first[0].read_text())
        assert snap["step"] == app.debugger.step == 3
        assert first[3].read_text().lstrip().startswith("<svg")
        contents = [p.read_bytes() for p in first]
        await pilot.press("e")  # export again
        second = [folder / f"xor-step3-2.{ext}" for ext in ("json", "npz", "md", "svg")]
        assert app.exported == second
        assert all(p.is_file() for p in second)
        assert [p.read_bytes() for p in first] == contents
        assert len(list(folder.iterdir())) == 8


async def test_e_into_an_unwritable_folder_notifies_and_writes_nothing(tmp_path):
    """An export folder under a regular file cannot be made: an error notification, no crash."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    app = build_app(str(XOR), export_dir=blocker / "sub")
    notes = record_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("e")  # export
        assert app.is_running
        assert app.exported == []
        assert any(s == "error" and t.startswith("export failed") for t, s in notes)
        await pilot.press("n")  # the app still works
        assert app.debugger.step == 1
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


async def test_y_copies_the_selected_matrix_as_an_exact_numpy_literal(tmp_path):
    """y copies dC/dW of the selected layer as np.array([...]) that reads back bit for bit;
    before the backward pass has computed it, y warns and copies nothing."""
    app = xor_app(tmp_path)
    notes = record_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        jump(app, 2, layer=1)  # the update phase: its first matrix is dC/dW^(1)
        await pilot.press("y")  # copy
        copied = eval(app.clipboard, {"np": np})
        assert copied.shape == (2, 2)
        assert np.array_equal(copied, d.trace.dW[1])
        await pilot.press("S", "S", "S", "S", "S")  # step 2, forward layer 1
        app.main.pane = "dW"  # a pane of another phase: shown as not yet computed
        d.select_layer(1)
        await pilot.press("tab", "shift+tab")  # layer 2 and back: forward 1's operands
        assert app.main.pane == "dW"
        await pilot.press("y")  # copies the phase's result instead: z^(1)
        assert np.array_equal(eval(app.clipboard, {"np": np}), d.trace.z[1])
        d.goto(0)
        await pilot.press("d")  # diff at step 0: nothing to compare with, nothing to copy
        await pilot.press("y")
        assert any(s == "warning" and "not computed yet" in t for t, s in notes)


async def test_k_shows_the_gradient_check(tmp_path):
    """k runs the gradient check in a worker and shows a report where every layer is good."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("k")  # gradient check
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, TextScreen)
        body = str(app.screen.query_one("#report-body", Static).render())
        rows = [line.split() for line in body.splitlines() if line[:1] in ("1", "2")]
        assert [row[0] for row in rows] == ["1", "2"]
        assert all("good" in row for row in rows)
        await pilot.press("escape")  # close the report
        assert not isinstance(app.screen, TextScreen)


# --- looking: d m arrows tab x X h l v --------------------------------------------


async def test_d_shows_the_change_since_the_step_before_or_the_mark(tmp_path):
    """d shows W(now) - W(step before); after m, the change since the marked step."""
    app = xor_app(tmp_path)
    want = fresh_timeline()
    W = [np.array(want.state_at(s).params.W[2]) for s in range(4)]
    async with app.run_test(size=WIDE) as pilot:
        jump(app, 0, layer=2)  # the update phase of layer 2: W^(2) is an operand
        await pilot.press("d")  # diff on, at step 0: nothing to compare with
        assert app.main.diff
        assert view(app, "W").values is None
        assert "no earlier step" in view(app, "W").placeholder
        await pilot.press("n")  # step 1
        assert np.array_equal(view(app, "W").values, W[1] - W[0])
        await pilot.press("m")  # mark step 1
        await pilot.press("n", "n")  # step 3
        assert np.array_equal(view(app, "W").values, W[3] - W[1])
        assert "vs step 1" in view(app, "W").note
        await pilot.press("d")  # diff off
        assert not app.main.diff
        assert np.array_equal(view(app, "W").values, W[3])


async def test_arrows_select_the_weight_and_tab_the_layer(tmp_path):
    """↑/↓ change j, ←/→ change k (both wrapping), tab/shift+tab change the layer (wrapping)."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        jump(app, 0, layer=2)  # the update phase: W and dC/dW of the selected layer
        assert (d.layer, d.j, d.k) == (2, 0, 0)
        await pilot.press("tab")  # layer 2 -> 1 (wraps)
        assert d.layer == 1
        await pilot.press("shift+tab")  # layer 1 -> 2 (wraps)
        assert d.layer == 2
        await pilot.press("tab")  # layer 1, a 2x2 W
        await pilot.press("up")  # j 0 -> 1 (wraps)
        assert (d.j, d.k) == (1, 0)
        await pilot.press("left")  # k 0 -> 1 (wraps)
        assert (d.j, d.k) == (1, 1)
        assert view(app, "W").selected == (1, 1)
        await pilot.press("down")  # j 1 -> 0 (wraps)
        await pilot.press("right")  # k 1 -> 0 (wraps)
        assert (d.j, d.k) == (0, 0)
        assert view(app, "dW").selected == (0, 0)


async def test_x_and_X_cycle_the_example(tmp_path):
    """x cycles batch -> 0 -> 1 -> ..., X the other way (batch -> 3); the example's column
    is selected in every batch-shaped matrix, and the header shows its value in full."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        await pilot.press("s")  # forward layer 1: z, a are 2x4
        assert view(app, "z").values.shape == (2, 4)
        assert view(app, "z").selected == (0, None)
        await pilot.press("x")  # example 0
        assert d.example == 0
        await pilot.press("x")  # example 1
        assert d.example == 1
        for name in ("z", "a", "a_prev"):
            assert view(app, name).selected[1] == 1
        assert view(app, "W").selected == (0, 0)
        assert f"z^(1)[0,1] = {float(d.trace.z[1][0, 1])!r}" in heading(app)
        await pilot.press("X", "X")  # back through example 0 to the batch
        assert d.example is None
        await pilot.press("X")  # wraps to the last example
        assert d.example == 3


async def test_h_cycles_the_matrix_mode_and_l_the_log_scale(tmp_path):
    """h: auto (big matrices as heatmaps) -> numbers -> heatmap -> auto; l plots C on a log axis."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        assert app.main.matrix_mode == "auto"
        assert not any(b.heatmap for b in drawn(app).values())  # xor is small
        await pilot.press("h")  # numbers
        assert app.main.matrix_mode == "numbers"
        await pilot.press("h")  # heatmaps
        assert all(b.heatmap for b in drawn(app).values())
        await pilot.press("h")  # auto again
        assert app.main.matrix_mode == "auto"
        jump(app, 2)  # three costs to plot
        await pilot.pause()
        plot = app.screen.query_one("#cost", CostPlot)
        costs = app.debugger.timeline.costs()
        assert plot.drawn_y == pytest.approx(costs)
        await pilot.press("l")  # log scale on
        assert app.main.log_scale
        assert plot.drawn_y == pytest.approx(np.log10(costs))
        await pilot.press("l")  # off
        assert not app.main.log_scale
        assert plot.drawn_y == pytest.approx(costs)


async def test_a_big_matrix_opens_as_a_heatmap_with_numbers_one_key_away(tmp_path):
    """wide's W^(1) (128x784) is a heatmap in auto mode; h shows numbers around the selection."""
    app = xor_app(tmp_path, SCENARIOS / "wide.toml")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("s")  # forward layer 1
        assert drawn(app)["W"].heatmap
        assert not drawn(app)["b"].heatmap
        await pilot.press("h")  # numbers everywhere
        assert not drawn(app)["W"].heatmap


async def test_v_cycles_the_selected_pane_and_y_copies_it(tmp_path):
    """v moves the mark through the shown operands; the marked block is drawn marked and y
    copies it."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("s")  # forward layer 1: z, W, a^(0), b, a
        assert [k for k, b in drawn(app).items() if b.marked] == ["z"]
        keys = []
        for _ in range(5):
            await pilot.press("v")  # the next operand
            keys.append(app.main.pane)
        assert keys == ["W", "a_prev", "b", "a", "z"]
        await pilot.press("v")  # W
        assert [k for k, b in drawn(app).items() if b.marked] == ["W"]
        await pilot.press("y")  # copy W^(1)
        assert np.array_equal(eval(app.clipboard, {"np": np}), app.debugger.params.W[1])


# --- help, palette, quit ------------------------------------------------------------


async def test_question_mark_and_f1_open_the_help(tmp_path):
    """? and f1 open the help screen; escape closes it."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        for key in ("question_mark", "f1"):
            await pilot.press(key)  # help
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")  # close
            assert not isinstance(app.screen, HelpScreen)


async def test_ctrl_p_lists_the_step_command(tmp_path):
    """ctrl+p opens the command palette, and searching "step" finds the s action."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("ctrl+p")  # the command palette
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"step")  # search
        commands = app.screen.query_one(CommandList)

        def prompts() -> list[str]:
            return [
                str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count)
            ]

        await wait_until(pilot, lambda: any(p.startswith("step (s)") for p in prompts()))
        await pilot.press("escape")  # close
        assert not isinstance(app.screen, CommandPalette)


async def test_q_quits(tmp_path):
    """q ends the app with status 0."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("q")  # quit
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


# --- layout -------------------------------------------------------------------------


async def test_80x24_uses_tabs_and_160x50_does_not(tmp_path):
    """A small terminal gets tabbed panes; a big one gets three columns."""
    app = xor_app(tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        assert len(app.screen.query(TabbedContent)) == 1
        await pilot.press("n")  # the tabbed panes are drawn too
        assert app.debugger.step == 1
        assert view(app, "W").values is not None
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        assert len(app.screen.query(TabbedContent)) == 0
        assert app.screen.query_one("#main")


async def test_resizing_below_40x12_says_too_small_and_recovers(tmp_path):
    """Below 40x12 the screen says it is too small; growing again brings the panes back."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.resize_terminal(39, 30)
        await pilot.pause()
        message = app.screen.query_one("#too-small", Static)
        assert "terminal too small" in str(message.render())
        await pilot.press("n")  # keys still act while the message shows
        await pilot.resize_terminal(40, 12)
        await pilot.pause()
        assert not app.screen.query("#too-small")
        assert len(app.screen.query(TabbedContent)) == 1
        await pilot.resize_terminal(60, 11)
        await pilot.pause()
        assert app.screen.query("#too-small")
        await pilot.resize_terminal(*WIDE)
        await pilot.pause()
        assert not app.screen.query("#too-small")
        assert len(app.screen.query(TabbedContent)) == 0
        assert app.debugger.step == 1
        assert np.array_equal(view(app, "W").values, app.debugger.params.W[1])


# --- reopening a snapshot -----------------------------------------------------------


async def test_a_snapshot_reopens_at_its_step(tmp_path):
    """build_app on an exported JSON opens at the snapshot's step with the same W."""
    timeline = fresh_timeline()
    timeline.seek(7)
    path = export(timeline, tmp_path / "xor-7.json")
    app = build_app(str(path), export_dir=tmp_path / "exports")
    notes = record_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        d = app.debugger
        assert d.step == 7
        for l in (1, 2):
            assert np.array_equal(d.params.W[l], timeline.state.params.W[l])
        assert d.timeline.branched_at is None
        assert any("reopened" in text for text, _ in notes)
        await pilot.press("N")  # the history before the snapshot is there too
        assert d.step == 6


async def test_an_edited_snapshot_reopens_as_a_branch(tmp_path):
    """w then e at step 7; reopening that JSON shows the edited weight, branched at step 7."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        jump(app, 7, layer=2)
        await pilot.press("w", *"0.75", "enter")  # w_{0,0}^(2) = 0.75
        await pilot.press("e")  # export
        json_path = app.exported[0]
    reopened = build_app(str(json_path), export_dir=tmp_path / "exports")
    async with reopened.run_test(size=WIDE) as pilot:
        await pilot.pause()
        d = reopened.debugger
        assert d.step == 7
        assert d.params.W[2][0, 0] == 0.75
        assert d.timeline.branched_at == 7


# --- the header ---------------------------------------------------------------------


async def test_the_header_names_a_bundled_scenario_by_its_short_name(tmp_path):
    """`bpdebug xor` shows `xor`, not a path inside the install; a snapshot shows its file."""
    app = build_app("xor", export_dir=tmp_path / "exports")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        shown = title(app)
        assert " XOR  xor    step 0 · epoch 0 · the batch" in shown
        assert "scenarios" not in shown and "sgd · lr 1" in shown
    timeline = fresh_timeline()
    timeline.seek(2)
    path = export(timeline, tmp_path / "xor-2.json")
    app = build_app(str(path), export_dir=tmp_path / "exports")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        assert " XOR  xor-2.json    step 2 · " in title(app)


@pytest.mark.parametrize("width", [30, 40, 60, 80, 120, 160])
def test_the_header_shortens_but_keeps_the_step_and_the_phase(width):
    """Whatever the width, the header fits it and names the step and the phase whole."""
    d = Debugger(Timeline(load_scenario(SCENARIOS / "vanishing.toml")))
    d.goto(1234)
    for _ in range(4):
        d.step_into()  # forward, layer 4
    text = title_text(d, "vanishing.toml", width).plain
    assert len(text) <= width or text.strip() == "step 1234 · forward, layer 4"
    assert "step 1234" in text and "forward, layer 4" in text


def test_the_network_pane_has_the_same_lines_in_every_phase():
    """It redraws in place (no new layout), so every phase must give it as many lines."""
    d = Debugger(Timeline(load_scenario(XOR)))
    counts = set()
    for _ in range(len(d.phases)):
        counts.add(len(network_text(d).plain.splitlines()))
        d.step_into()
    assert counts == {len(d.layers) + 2}  # the layers, C, the update


def test_health_never_names_an_update_before_step_0():
    """At step 0 no update is computed yet: the pane says which one will be shown."""
    timeline = Timeline(load_scenario(XOR))
    _ = timeline.trace  # step 0's pass, recorded
    first = health_text(timeline.health, 0, 60).plain.splitlines()[0]
    assert first == "step 0 · upd/|W|: after update 0→1"
