"""Two branches compared at one step (bpdebug.branchdiff), against numbers made by hand.

The reference states come from the trainers alone (no timeline, no branch):
xor trained 3 updates, then 2 more with learning rate 1 (main) or 3 (the
branch); the differences are taken element by element in plain Python.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from tui_helpers import SCENARIOS, XOR

from bpdebug.branchdiff import QUANTITIES, Difference, differences, largest, summary
from bpdebug.branches import Branches
from bpdebug.scenario import load_scenario, with_settings
from bpdebug.training import Trainer


def by_hand(lr: float, fork: int, step: int):  # type: ignore[no-untyped-def]
    """XOR's (params, trace) at `step`, with learning rate `lr` from `fork` on."""
    scenario = load_scenario(XOR)
    trainer = Trainer(scenario)
    state = trainer.initial_state()
    while state.step < fork:
        state = trainer.advance(state, trainer.trace(state))
    own = Trainer(with_settings(scenario, {"training.learning_rate": lr}, "test"))
    while state.step < step:
        state = own.advance(state, own.trace(state))
    return state.params, own.trace(state)


def test_every_quantity_of_every_layer_is_ours_minus_theirs() -> None:
    branches = Branches(load_scenario(XOR))
    branches.main.timeline.seek(3)
    b1 = branches.branch({"training.learning_rate": 3.0})
    b1.timeline.seek(5)
    branches.main.timeline.seek(5)
    ours = (b1.timeline.state.params, b1.timeline.trace)
    theirs = (branches.main.timeline.state.params, branches.main.timeline.trace)
    found = differences(ours, theirs, 2)
    assert [(d.layer, d.quantity) for d in found] == [(l, q) for l in (1, 2) for q in QUANTITIES]

    p_b, t_b = by_hand(3.0, 3, 5)
    p_m, t_m = by_hand(1.0, 3, 5)
    for d in found:
        mine = {"W": p_b.W, "a": t_b.a, "delta": t_b.delta, "dW": t_b.dW}[d.quantity][d.layer]
        main = {"W": p_m.W, "a": t_m.a, "delta": t_m.delta, "dW": t_m.dW}[d.quantity][d.layer]
        assert d.values is not None and d.values.shape == mine.shape
        for (r, c), value in np.ndenumerate(d.values):
            assert value == float(mine[r, c]) - float(main[r, c])
        # the largest by a plain scan
        best, where = -1.0, (0, 0)
        for (r, c), value in np.ndenumerate(d.values):
            if abs(value) > best:
                best, where = abs(value), (r, c)
        assert d.largest == (where, float(d.values[where]))
        assert best > 0  # two learning rates for two updates: every number moved


def test_largest_ranks_by_size_and_the_summary_names_them() -> None:
    zero = Difference(1, "W", np.zeros((2, 2)))
    small = Difference(1, "dW", np.array([[0.0, -0.5], [0.25, 0.0]]))
    big = Difference(2, "a", np.array([[3.0, -4.0]]))
    assert zero.largest is None
    assert small.largest == ((0, 1), -0.5)
    assert [d.name() for d in largest([zero, small, big])] == ["a^(2)", "dC/dW^(1)"]
    assert summary([zero, small, big], "b1") == "vs b1, largest: a^(2)[0,1] -4, dC/dW^(1)[0,1] -0.5"
    assert summary([zero], "main") == "vs main: no difference"


def test_nan_is_the_largest_difference() -> None:
    blown = Difference(2, "delta", np.array([[1.0, math.nan]]))
    other = Difference(1, "W", np.array([[100.0]]))
    assert blown.largest is not None and blown.largest[0] == (0, 1)
    assert math.isnan(blown.largest[1])
    assert largest([other, blown])[0] is blown


def test_another_batch_size_has_no_difference_for_a_and_delta() -> None:
    branches = Branches(load_scenario(SCENARIOS / "spiral.toml"))  # batches of 30
    branches.main.timeline.seek(4)
    b1 = branches.branch({"training.batch_size": 100})
    ours = (b1.timeline.state.params, b1.timeline.trace)
    theirs = (branches.main.timeline.state.params, branches.main.timeline.trace)
    found = {(d.layer, d.quantity): d for d in differences(ours, theirs, 3)}
    assert found[(1, "a")].values is None
    assert found[(1, "a")].why_not == ("shapes differ: 8x100 here, 8x30 there (another batch size)")
    # the same parameters at the fork: W equal, no difference to name
    assert found[(1, "W")].largest is None
    assert found[(2, "dW")].values is not None


@pytest.mark.parametrize("count", [1, 2])
def test_summary_says_as_many_as_asked(count: int) -> None:
    ds = [Difference(1, "W", np.array([[float(i + 1)]])) for i in range(3)]
    ds = [Difference(i + 1, "W", d.values) for i, d in enumerate(ds)]
    assert summary(ds, "b2", count).count("W^(") == count
