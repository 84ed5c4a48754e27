"""Never freeze, never contradict (issue 8): long work in workers, keys answered meanwhile.

Each test drives the app as a person would, with the keys named in the
comments, and checks the state the screen shows.
"""

from __future__ import annotations

import json
import re
import threading

import numpy as np
from textual.widgets import Footer, Input
from tui_helpers import (
    NARROW,
    SCENARIOS,
    WIDE,
    XOR,
    drawn,
    record_notifications,
    status,
    wait_stopped,
    wait_until,
    xor_app,
)

from bpdebug.scenario import load_scenario
from bpdebug.scenario.model import Breakpoint
from bpdebug.snapshot import export
from bpdebug.timeline import Timeline
from bpdebug.tui import build_app
from bpdebug.tui.dialogs import ConfirmScreen, PromptScreen
from bpdebug.tui.widgets.equation import EquationView
from bpdebug.tui.widgets.textpane import TextPane


async def start_long_goto(pilot, app, step: int = 400_000) -> None:
    """g, a far step, enter, then y to the question: the replay runs in a worker."""
    await pilot.press("g")  # go to ...
    await pilot.press("ctrl+a", "ctrl+k", *str(step), "enter")  # ... a step far ahead
    assert isinstance(app.screen, ConfirmScreen)  # far past the history: asks first
    await pilot.press("y")  # yes, replay
    await wait_until(pilot, lambda: app.main.busy != "")


async def test_esc_cancels_a_long_goto_and_the_step_stays(tmp_path):
    """g 400000 shows progress; esc stops it and the step is where it was."""
    app = xor_app(tmp_path)
    notes = record_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        d.goto(3)
        app.main.sync()
        await start_long_goto(pilot, app)
        await wait_until(pilot, lambda: "replaying" in status(app) and "/s" in status(app))
        assert "/ 399,997 updates" in status(app) and "esc cancels" in status(app)
        await pilot.press("escape")  # cancel
        await wait_until(pilot, lambda: app.main.busy == "")
        assert d.step == 3
        assert "replaying cancelled: still at step 3" in [text for text, _ in notes]
        assert "replaying" not in status(app)


async def test_keys_are_answered_during_a_replay(tmp_path):
    """While g replays, ↓, x, tab and h act at once; time keys wait (greyed out)."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        await start_long_goto(pilot, app)
        layer = d.layer
        await pilot.press("down")  # select the next unit
        await pilot.press("x")  # one example
        await pilot.press("tab")  # the next layer
        await pilot.press("h")  # the next matrix mode
        assert app.main.busy  # still replaying
        assert d.example == 0 and d.layer == layer % d.depth + 1
        assert app.main.matrix_mode == "numbers"
        assert app.main.check_action("next", ()) is None  # n waits
        assert app.main.check_action("goto", ()) is None
        await pilot.press("n")  # ignored while the replay runs
        assert d.step == 0
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.main.busy == "")


async def test_a_short_goto_asks_nothing_and_a_refused_one_says_why(tmp_path):
    """g 50 goes at once; g past BPDEBUG_MAX_REPLAY_STEPS is refused in the dialog."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("g", "ctrl+a", "ctrl+k", "5", "0", "enter")  # go to step 50
        assert app.debugger.step == 50 and not isinstance(app.screen, ConfirmScreen)
        await pilot.press("g", "ctrl+a", "ctrl+k", *"2000000", "enter")  # past the limit
        assert isinstance(app.screen, PromptScreen)
        hint = str(app.screen.query_one("#prompt-hint").render())
        assert "BPDEBUG_MAX_REPLAY_STEPS" in hint
        await pilot.press("escape")
        assert app.debugger.step == 50


async def test_the_far_jump_question_can_be_declined(tmp_path):
    """n to the question stays where the user was."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("g", "ctrl+a", "ctrl+k", *"500000", "enter")
        assert isinstance(app.screen, ConfirmScreen)
        question = str(app.screen.query_one(".dialog-title").render())
        assert "500,000 updates past the furthest step computed (0)" in question
        await pilot.press("n")  # stay
        assert app.debugger.step == 0 and not app.main.busy


async def test_looking_around_while_c_trains(tmp_path):
    """While c runs: tab ↓ → x v h l and ? act; the footer offers c pause; a breakpoint
    added with b stops the run."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        await pilot.press("c")  # continue
        assert app.main.running
        await pilot.press("tab", "down", "right", "x", "v", "h", "l")  # look around
        assert (d.layer, d.j, d.k, d.example) == (2, 0, 1, 0)  # layer 2 has one unit
        assert app.main.pane == "W_next"  # a run shows the update: after dC/dW^(2), W^(2) next
        assert app.main.matrix_mode == "numbers" and app.main.log_scale and app.main.running
        await pilot.pause()
        shown = [str(key.render()) for key in app.screen.query_one(Footer).query("FooterKey")]
        assert any("pause" in text for text in shown)
        assert not any("continue" in text for text in shown)
        await pilot.press("question_mark")  # help opens over the run
        await pilot.press("escape")
        await pilot.press("b")  # the breakpoints dialog, over the run
        # Typed keys reach a dialog at once, but Pilot waits for an idle app before
        # each press, which a running worker keeps busy: fill the input in one go.
        target = d.step + 150_000  # far enough that the two presses below never pass it
        app.screen.query_one("#bp-input", Input).value = f"step {target}"
        await pilot.press("enter", "escape")  # add it, close
        assert d.step < target and app.main.running
        await wait_stopped(pilot, app, timeout=180)
        assert d.step == target
        assert f"breakpoint step {target}" in status(app)


async def test_a_breakpoint_fires_once_per_crossing(tmp_path):
    """cost < 0.05 stops where the cost falls below; c then trains on instead of one step."""
    app = xor_app(tmp_path, keep_breakpoints=True)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        assert d.breakpoints == [Breakpoint("cost_below", 0.05)]  # xor.toml ships it
        await pilot.press("c")
        await wait_stopped(pilot, app, timeout=60)
        first = d.step
        costs = d.timeline.costs()
        assert costs[first] < 0.05 <= costs[first - 1]  # the crossing
        await pilot.press("c")  # go on: the cost stays below, nothing new is crossed
        await pilot.pause(0.5)
        await pilot.press("c")  # pause
        await wait_stopped(pilot, app)
        assert d.step > first + 1 and d.paused == "paused"
        await pilot.press("C")  # reverse-continue finds the crossing again
        await wait_until(pilot, lambda: d.step == first)


async def test_arrows_move_the_selection_and_keep_it_in_view_at_80x24(tmp_path):
    """On digits (64 inputs) at 80x24, → moves k: W^(1)'s window follows the selected cell,
    which is drawn whole and outlined on screen."""
    app = build_app(str(SCENARIOS / "digits.toml"), export_dir=tmp_path)
    async with app.run_test(size=NARROW) as pilot:
        d = app.debugger
        await pilot.press("s")  # forward layer 1: W^(1) is 32x64
        await pilot.press("v")  # mark W^(1): the pane scrolls to it
        for _ in range(40):
            await pilot.press("right")  # select input k = 40
        await pilot.press("down", "down")  # unit j = 2
        await pilot.pause()
        assert (d.j, d.k) == (2, 40)
        assert drawn(app)["W"].selected == (2, 40)
        view = app.screen.query_one("#equation", EquationView)
        want = float(d.params.W[1][2, 40])
        cells = [c for c in view.layout_.cells if c.value == want]
        assert cells, "the selected weight is drawn"
        cell = cells[0]
        top = view.scroll_offset.y
        assert top <= cell.line < top + view.size.height  # in view
        line = view.render_line(cell.line - top).text
        assert line[: cell.x].rstrip().endswith("[")  # numbers are right-aligned in the cell
        assert line[cell.x + len(cell.text)] == "]"


async def test_w_with_the_same_value_changes_nothing(tmp_path):
    """w then enter on the prefilled value: no branch, and the message says so."""
    app = xor_app(tmp_path)
    notes = record_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("w", "enter")  # keep the value
        assert app.debugger.timeline.edits == []
        assert any("nothing changed" in text for text, _ in notes)
        assert "edited" not in status(app)


async def test_q_asks_before_losing_an_unexported_edit(tmp_path):
    """q after w asks; n stays; e exports; then q quits at once."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("w", "ctrl+a", "ctrl+k", *"0.75", "enter")  # edit
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # stay
        assert app.is_running
        await pilot.press("e")  # export
        await wait_until(pilot, lambda: app.exported != [])
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running)


async def test_reopening_an_edited_snapshot_restores_its_history(tmp_path):
    """Edits at steps 3 and 6, export at 9: reopening replays both edits; S back before
    step 3 shows the scenario's own weights, and the status names the edit steps."""
    timeline = Timeline(load_scenario(XOR))
    timeline.seek(3)
    timeline.edit_weight(1, 0, 1, 2.5)
    timeline.seek(6)
    timeline.edit_weight(2, 0, 0, -1.25)
    timeline.seek(9)
    path = export(timeline, tmp_path / "edited.json")
    own = Timeline(load_scenario(XOR))
    app = build_app(str(path), export_dir=tmp_path)
    notes = record_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        await wait_until(pilot, lambda: d.step == 9 and not app.main.busy)
        np.testing.assert_array_equal(d.params.W[1], timeline.state.params.W[1])
        np.testing.assert_array_equal(d.params.W[2], timeline.state.params.W[2])
        assert "edited at step 3, 6" in status(app)
        assert (f"reopened {path} at step 9 with its 2 edits at steps 3, 6", "information") in notes
        d.goto(2)  # before the first edit: the scenario's own history
        np.testing.assert_array_equal(d.params.W[1], own.state_at(2).params.W[1])
        d.goto(4)  # between them: the first edit only
        np.testing.assert_array_equal(d.params.W[1], timeline.state_at(4).params.W[1])
        assert not np.array_equal(d.params.W[1], own.state_at(4).params.W[1])


async def test_the_adam_update_adds_up_to_the_next_value_shown(tmp_path):
    """spiral (adam) at the update phase: the new w's line, redone on its written digits,
    gives its written result, which is the weight the next step shows."""
    app = build_app(str(SCENARIOS / "spiral.toml"), export_dir=tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        await pilot.press("g", "ctrl+a", "ctrl+k", "7", "enter")  # step 7, its batch
        await pilot.press("S")  # one phase back: step 6's update
        assert d.step == 6 and d.phase.kind == "update"
        chain = app.screen.query_one("#chain", TextPane).plain
        assert "adam: w ← w − lr·m̂/(√v̂ + ε)" in chain
        *_, rule, numbers = [line.strip() for line in chain.splitlines() if line.strip()]
        assert rule == "w ← w − Δw"
        w, step, result = re.findall(r"-?\d+\.\d+", numbers)
        decimals = len(result.split(".")[1])
        assert f"{float(w) - float(step):.{decimals}f}" == result
        await pilot.press("n")  # the next step
        assert f"{float(d.params.W[d.layer][d.j, d.k]):.{decimals}f}" == result


async def test_esc_cancels_a_gradient_check(tmp_path, monkeypatch):
    """k checks with a progress line; esc stops it. The check is held after each parameter
    until the test has pressed esc, so that no machine is fast enough to finish first."""
    import bpdebug.engine

    release = threading.Event()
    original = bpdebug.engine.check_gradients

    def held(*args, go_on, **kwargs):
        def gated(done: int, total: int) -> bool:
            keep = go_on(done, total)
            release.wait(10)
            return keep

        return original(*args, go_on=gated, **kwargs)

    monkeypatch.setattr(bpdebug.engine, "check_gradients", held)
    app = xor_app(tmp_path)
    notes = record_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("k")  # gradient check
        await wait_until(pilot, lambda: "parameters" in status(app))
        assert "checking gradients: 1 / 9 parameters" in status(app)
        assert "esc cancels" in status(app)
        await pilot.press("escape")
        release.set()
        await wait_until(pilot, lambda: not app.main.busy)
        assert ("gradient check cancelled after 2 of 9", "information") in notes
        assert "checking" not in status(app)


async def test_esc_while_reopening_a_far_snapshot_leaves_step_0(tmp_path):
    """A snapshot at step 300,000 reopens in a worker; esc leaves the scenario at step 0."""
    path = export(Timeline(load_scenario(XOR)), tmp_path / "far.json")
    snap = json.loads(path.read_text())
    snap["step"] = 300_000  # as far as a snapshot of step 300,000 asks to replay
    path.write_text(json.dumps(snap))
    app = build_app(str(path), export_dir=tmp_path)
    notes = record_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        await wait_until(pilot, lambda: "reopening far.json: replaying" in status(app))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not app.main.busy)
        assert app.debugger.step == 0
        said = "reopening far.json cancelled short of step 300000 (the header shows where you are)"
        assert (said, "information") in notes
