"""Pilot tests of branches on the screen (issue 11): make, list, switch, compare, overlay.

Every number checked here is checked against a reference made without the
app: the trainers alone (`by_hand`), or the branches' own timelines.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.widgets import Input, Label, OptionList, Select
from tui_helpers import NARROW, WIDE, XOR, drawn, title, wait_until, xor_app

from bpdebug.branchdiff import differences, summary
from bpdebug.engine import initial_state
from bpdebug.scenario import load_scenario, with_settings
from bpdebug.training import Trainer, TrainState
from bpdebug.tui.app import BpdebugApp
from bpdebug.tui.branching import BranchesScreen
from bpdebug.tui.render import fmt
from bpdebug.tui.widgets.costplot import CostPlot
from bpdebug.tui.widgets.equation import EquationView


def by_hand(changes: dict[str, object], fork: int, step: int) -> TrainState:
    """XOR's state at `step`: main's trainer to `fork`, then one with `changes`."""
    scenario = load_scenario(XOR)
    trainer = Trainer(scenario)
    state = trainer.initial_state()
    while state.step < fork:
        state = trainer.advance(state, trainer.trace(state))
    own = Trainer(with_settings(scenario, changes, "test"))
    while state.step < step:
        state = own.advance(state, own.trace(state))
    return state


def at_update(app: BpdebugApp, step: int) -> None:
    """Go to `step`'s update phase without keys (every quantity computed)."""
    d = app.debugger
    d.goto(step)
    d.phase_index = len(d.phases) - 1
    app.main.sync()


async def make_branch(pilot, app: BpdebugApp, value: str, setting_downs: int = 0) -> None:  # type: ignore[no-untyped-def]
    """B, pick the setting `setting_downs` below the learning rate, type `value`, enter."""
    await pilot.press("B")  # the branches dialog, the list focused
    assert isinstance(app.screen, BranchesScreen)
    await pilot.press("tab")  # the setting
    if setting_downs:
        await pilot.press("enter")  # open the select
        await pilot.press(*["down"] * setting_downs, "enter")
    await pilot.press("tab")  # the value, filled with the setting's value now
    app.screen.query_one("#branch-value", Input).value = ""
    await pilot.press(*value, "enter")
    await pilot.pause()


def plain(markup: object) -> str:
    """A border title's text (Textual keeps it as markup, its brackets escaped)."""
    return Text.from_markup(str(markup)).plain


def rows(app: BpdebugApp) -> list[str]:
    """The branches dialog's list as drawn."""
    options = app.screen.query_one("#branch-list", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_B_makes_a_branch_lists_it_and_switches_back(tmp_path):
    """A learning rate of 3 from step 10: the header names b1 and its lr, the numbers are
    the branch's, the list shows both with their steps and costs; enter on main goes back."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        at_update(app, 10)
        await make_branch(pilot, app, "3")
        assert not isinstance(app.screen, BranchesScreen)
        assert d.branch.describe() == "b1: from main at step 10, learning_rate 3"
        assert "b1 · step 10" in title(app) and "lr 3" in title(app)
        for _ in range(5):
            await pilot.press("n")  # on b1: steps 11..15
        want = by_hand({"training.learning_rate": 3.0}, 10, 15)
        await pilot.press("tab")  # layer 2 (the update phase shows its W)
        np.testing.assert_array_equal(drawn(app)["W"].values, want.params.W[2])
        main = d.branches.main.timeline
        assert main.step == 10  # main stays where it was left

        await pilot.press("B")
        b1_cost = float(d.timeline.costs()[15])
        main_cost = float(main.costs()[10])
        assert rows(app) == [
            f"  main: the scenario · step 10 · C {fmt(main_cost)} · d compares with it",
            f"▶ b1: from main at step 10, learning_rate 3 · step 15 · C {fmt(b1_cost)} · here",
        ]
        await pilot.press("up", "enter")  # main, switch
        assert d.branch.name == "main" and d.step == 10
        assert "b1" not in title(app) and "lr 1" in title(app)
        np.testing.assert_array_equal(drawn(app)["W"].values, main.state.params.W[2])


async def test_a_refused_value_is_one_line_in_the_dialog_and_nothing_is_made(tmp_path):
    """The core's message, as text (brackets from the user are not markup); the dialog stays."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        await make_branch(pilot, app, "-1")
        hint = str(app.screen.query_one("#branch-hint", Label).render())
        assert hint == "branch b1: training.learning_rate: expected a finite number > 0, got -1"
        app.screen.query_one("#branch-value", Input).value = ""
        await pilot.press(*"[/]", "enter")  # not TOML: a bare name, refused by the core
        hint = str(app.screen.query_one("#branch-hint", Label).render())
        assert hint.startswith("branch b1: training.learning_rate: expected") and "[/]" in hint
        app.screen.query_one("#branch-value", Input).value = ""
        await pilot.press("1", "enter")  # main's own learning rate
        hint = str(app.screen.query_one("#branch-hint", Label).render())
        assert hint == "those settings are already main's"
        assert isinstance(app.screen, BranchesScreen)
        await pilot.press("escape")
        assert len(d.branches.all) == 1 and d.branch.name == "main"


async def test_an_architecture_branch_starts_at_step_0_from_the_same_weights(tmp_path):
    """The loss picked in the dialog (11 below the learning rate): b1 starts at step 0."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        at_update(app, 7)
        await make_branch(pilot, app, "half_squared_error", setting_downs=11)
        assert d.branch.describe() == "b1: from main at step 0, loss half_squared_error"
        assert d.step == 0 and "b1 · step 0" in title(app)
        for _ in range(3):
            await pilot.press("n")
        scenario = with_settings(load_scenario(XOR), {"network.loss": "half_squared_error"}, "t")
        trainer = Trainer(scenario)
        start = Trainer(load_scenario(XOR)).initial_state()
        state = TrainState(0, start.params, initial_state(trainer.optimizer, start.params))
        for _ in range(3):
            state = trainer.advance(state, trainer.trace(state))
        np.testing.assert_array_equal(d.params.W[1], state.params.W[1])
        assert d.branches.main.timeline.step == 7


async def test_an_edit_is_a_branch_in_the_list(tmp_path):
    """w at step 5 makes b1 (an edit); B lists it under main."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        at_update(app, 5)
        await pilot.press("w")
        app.screen.query_one(Input).value = ""
        await pilot.press(*"0.5", "enter")
        await pilot.press("B")
        assert [r.split(" · ")[0] for r in rows(app)] == [
            "  main: the scenario",
            "▶ b1: from main at step 5, an edit",
        ]


async def test_d_across_branches_shows_ours_minus_theirs_at_the_same_step(tmp_path):
    """After a branch, d compares with its parent: the parent is brought to this step, each
    operand is b1's minus main's, and a line names the largest differences."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        at_update(app, 10)
        await make_branch(pilot, app, "3")  # d now compares with main
        for _ in range(4):
            await pilot.press("n")  # b1 at step 14, main still at 10
        await pilot.press("d")
        main = d.branches.main.timeline
        await wait_until(pilot, lambda: main.step == 14)
        ours = by_hand({"training.learning_rate": 3.0}, 10, 14)
        theirs = by_hand({}, 10, 14)
        W = drawn(app)["W"]
        assert W.title == "ΔW^(1)" and W.note == "b1 − main"
        np.testing.assert_array_equal(W.values, ours.params.W[1] - theirs.params.W[1])
        trainer = Trainer(load_scenario(XOR))
        found = differences(
            (ours.params, trainer.trace(ours)), (theirs.params, trainer.trace(theirs)), 2
        )
        head = str(app.screen.query_one("#equation-head").render()).splitlines()
        assert head[-1] == summary(found, "main")
        assert head[-1].startswith("vs main, largest: ")
        await pilot.press("B", "c")  # c on b1, the branch we are on: no comparison
        assert app.main.compare == ""
        assert drawn(app)["W"].note == "vs step 13"  # back to the step before


async def test_D_shows_the_equation_on_both_branches(tmp_path):
    """The two-branch view: each pane titled with its branch, each with its own numbers; side
    by side at 160x50 and at 80x24."""
    for size in (WIDE, NARROW):
        app = xor_app(tmp_path)
        async with app.run_test(size=size) as pilot:
            d = app.debugger
            at_update(app, 10)
            await make_branch(pilot, app, "3")
            for _ in range(2):
                await pilot.press("n")
            await pilot.press("D")  # compares with main (the parent), brought to step 12
            main = d.branches.main.timeline
            await wait_until(pilot, lambda main=main: main.step == 12)
            here = app.screen.query_one("#equation", EquationView)
            there = app.screen.query_one("#equation-other", EquationView)
            assert here.parent is there.parent and here.parent is not None
            assert type(here.parent).__name__ == "Horizontal"  # side by side
            assert (
                plain(here.border_title) == "b1 · step 12 · from main at step 10, learning_rate 3"
            )
            assert plain(there.border_title) == "main · step 12 · the scenario"
            specs = {s.key: s for sec in there.sections for s in sec.blocks}
            np.testing.assert_array_equal(specs["W"].values, by_hand({}, 0, 12).params.W[1])
            want = by_hand({"training.learning_rate": 3.0}, 10, 12)
            np.testing.assert_array_equal(drawn(app)["W"].values, want.params.W[1])
            await pilot.press("D")
            assert not app.screen.query("#equation-other")


def test_branches_part_where_their_paths_fork(tmp_path):
    """The shared past of two branches ends at the earlier fork after their common branch."""
    from bpdebug.branches import Branches
    from bpdebug.tui.view import parting

    branches = Branches(load_scenario(XOR))
    branches.main.timeline.seek(10)
    b1 = branches.branch({"training.learning_rate": 3.0})
    b1.timeline.seek(20)
    b2 = branches.branch({"training.learning_rate": 0.5})
    branches.switch("main")
    branches.main.timeline.seek(5)
    b3 = branches.branch({"training.l2": 0.01})
    b4 = branches.branch({"network.loss": "half_squared_error"})
    main = branches.main
    assert [parting(main, b) for b in (b1, b2, b3, b4)] == [10, 10, 5, 0]
    assert (parting(b1, b2), parting(b2, b1), parting(b2, b3), parting(b1, main)) == (
        20,
        20,
        5,
        10,
    )


async def test_the_cost_plot_overlays_every_branch_from_its_fork(tmp_path):
    """main's and b2's curves from where they part from b1's, beside it; forks marked; a
    legend of names."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        d = app.debugger
        at_update(app, 30)
        at_update(app, 10)
        await make_branch(pilot, app, "3")  # b1 at 10
        at_update(app, 20)
        await make_branch(pilot, app, "0.5")  # b2 from b1 at 20
        at_update(app, 25)
        await pilot.press("B", "up", "enter")  # back on b1
        assert d.branch.name == "b1"
        plot = app.screen.query_one("#cost", CostPlot)
        main_costs = d.branches.main.timeline.costs()
        steps, values = plot.drawn_others["main"]  # from where b1 leaves it: one shared past
        np.testing.assert_array_equal(steps, np.arange(10, 31))
        np.testing.assert_array_equal(values, main_costs[10:31])
        b2 = d.branches.get("b2").timeline.costs()
        steps, values = plot.drawn_others["b2"]
        np.testing.assert_array_equal(steps, np.arange(20, 26))
        np.testing.assert_array_equal(values, b2[20:26])
        assert [(s, n) for s, _, n in plot.drawn_forks] == [(10, "b1"), (20, "b2")]
        assert plot.legend is not None
        assert plot.legend.plain.startswith(" ▄ b1  • main  + b2  Y fork")
        await pilot.press("B")
        assert isinstance(app.screen.query_one("#branch-setting", Select), Select)
