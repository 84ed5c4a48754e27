"""The timeline: the state at step N is the same bit for bit however it is reached.

A straight run (forward N times on a fresh timeline) is the reference; every
other path (seek, back, small memory budgets that thin the checkpoints,
random walks, edits) must land on the same arrays, compared with
np.array_equal on every W, b, optimizer slot and trace array.
"""

from __future__ import annotations

import math
import warnings
from functools import cache

import numpy as np
import pytest
from conftest import (
    OPTIMIZERS,
    XOR_X,
    XOR_Y,
    assert_same_state,
    assert_same_trace,
    make_params,
    make_scenario,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from bpdebug.breakpoints import dead_units, describe_nonfinite
from bpdebug.engine import Trace
from bpdebug.scenario.model import Breakpoint, Scenario
from bpdebug.timeline import INITIAL_SPACING, Timeline
from bpdebug.training import Schedule, Trainer, TrainState

N_EXAMPLES = 11
BATCH = 4  # 11 = 4 + 4 + 3: three batches an epoch, the last one smaller
REF_STEPS = 160


@cache
def minibatch_scenario(optimizer: str) -> Scenario:
    """(3, 4, 2) tanh -> linear, 11 examples in shuffled batches of 4, l1 and l2 on."""
    rng = np.random.default_rng(42)
    return make_scenario(
        layers=(3, 4, 2),
        activation="tanh",
        output="linear",
        loss="squared_error",
        inputs=rng.normal(size=(3, N_EXAMPLES)),
        targets=rng.normal(size=(2, N_EXAMPLES)),
        learning_rate=0.01 if optimizer == "adam" else 0.05,
        batch_size=BATCH,
        optimizer=optimizer,
        l1=1e-3,
        l2=1e-2,
        shuffle=True,
        seed=7,
    )


@cache
def straight_run(optimizer: str, steps: int = REF_STEPS) -> tuple[tuple[TrainState, Trace], ...]:
    """(state, trace) at steps 0..steps, reached by forward() alone on a fresh timeline."""
    t = Timeline(minibatch_scenario(optimizer))
    out = [(t.state, t.trace)]
    for _ in range(steps):
        t.next()
        out.append((t.state, t.trace))
    return tuple(out)


def assert_at(t: Timeline, optimizer: str, step: int) -> None:
    """The timeline sits at `step` with the straight run's state and trace there."""
    assert t.step == step
    state, trace = straight_run(optimizer)[step]
    assert_same_state(t.state, state)
    assert_same_trace(t.trace, trace)


def state_bytes(t: Timeline) -> int:
    return t.state.nbytes()


def cost_history_bound(t: Timeline) -> int:
    """An upper bound on the cost and health histories' bytes: each doubles from 1024 rows
    as it grows, a cost row one float and a health row 5 floats a layer."""
    floats_per_row = 1 + 5 * t.scenario.network.depth
    return 8 * floats_per_row * max(1024, 2 * (t.frontier + 1))


# -- same state, whatever the path ---------------------------------------------------


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_seek_lands_on_the_straight_run(optimizer: str) -> None:
    n = 131  # past four checkpoints, not on one
    t = Timeline(minibatch_scenario(optimizer))
    t.seek(n)
    assert_at(t, optimizer, n)
    t.seek(n + 20)  # past, then back one update at a time
    for _ in range(20):
        assert t.back()
    assert_at(t, optimizer, n)
    t.seek(0)
    assert_at(t, optimizer, 0)
    t.seek(n)
    assert_at(t, optimizer, n)
    t.seek(n + 1)
    assert t.back()
    assert_at(t, optimizer, n)
    t.seek(40)  # a long jump back lands inside a checkpoint segment
    assert_at(t, optimizer, 40)
    t.seek(REF_STEPS)
    assert_at(t, optimizer, REF_STEPS)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_peek_sees_the_straight_run_without_moving(optimizer: str) -> None:
    t = Timeline(minibatch_scenario(optimizer))
    t.seek(50)
    here = t.state
    for step in (131, 3, 50, 49, 64):
        state, trace = t.peek(step)
        want_state, want_trace = straight_run(optimizer)[step]
        assert_same_state(state, want_state)
        assert_same_trace(trace, want_trace)
        assert t.step == 50 and t.state is here
    assert_at(t, optimizer, 50)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_stepping_back_through_segments(optimizer: str) -> None:
    """back() from the frontier down to 0 visits every straight-run state in turn."""
    t = Timeline(minibatch_scenario(optimizer))
    t.seek(100)
    for step in range(99, -1, -1):
        assert t.back()
        assert_at(t, optimizer, step)
    assert not t.back()


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_tiny_memory_budget_widens_spacing_and_keeps_the_states(optimizer: str) -> None:
    """A budget of a few states forces the spacing to double; states stay the same."""
    probe = Timeline(minibatch_scenario(optimizer))
    budget = 4 * state_bytes(probe)
    t = Timeline(minibatch_scenario(optimizer), memory_budget=budget)
    one_state = state_bytes(t)
    t.seek(REF_STEPS)
    assert t.spacing > INITIAL_SPACING
    assert t.spacing & (t.spacing - 1) == 0  # it doubles
    assert_at(t, optimizer, REF_STEPS)
    # Going forward only: checkpoints (and the pinned start) stay within budget + one state.
    assert t.memory() <= budget + one_state + cost_history_bound(t)
    for target in (REF_STEPS - 1, 3, 97, 96, 95, 150, 0, 64, 63):
        t.seek(target)
        assert_at(t, optimizer, target)
        # Stepping back keeps a second level of ~sqrt(spacing) states in the current
        # segment (timeline.py's docstring); those come on top of the checkpoints.
        fine_level = (math.isqrt(t.spacing) + 2) * one_state
        assert t.memory() <= budget + one_state + fine_level + cost_history_bound(t)


def _walk(optimizer: str, budget: int | None, ops: list[tuple[str, int]]) -> None:
    t = Timeline(minibatch_scenario(optimizer), **({"memory_budget": budget} if budget else {}))
    for op, n in ops:
        if op == "forward" and t.step < REF_STEPS:
            t.next()
        elif op == "back":
            before = t.step
            assert t.back() == (before > 0)
            assert t.step == max(before - 1, 0)
        else:
            t.seek(n)
        assert_at(t, optimizer, t.step)


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("forward"), st.just(0)),
        st.tuples(st.just("back"), st.just(0)),
        st.tuples(st.just("seek"), st.integers(0, REF_STEPS)),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(optimizer=st.sampled_from(OPTIMIZERS), tiny=st.booleans(), ops=OPS)
def test_random_walks_land_on_the_straight_run(
    optimizer: str, tiny: bool, ops: list[tuple[str, int]]
) -> None:
    """Any sequence of forward / back / seek sees the straight run's state at each step."""
    budget = 3 * state_bytes(Timeline(minibatch_scenario(optimizer))) if tiny else None
    _walk(optimizer, budget, ops)


def test_back_at_zero_returns_false_and_stays() -> None:
    t = Timeline(make_scenario())
    before = t.state
    assert t.back() is False
    assert t.step == 0 and t.state is before
    t.next()
    assert t.back() is True and t.step == 0
    assert_same_state(t.state, before)


def test_seek_below_zero_is_an_error() -> None:
    with pytest.raises(ValueError):
        Timeline(make_scenario()).seek(-1)


def test_costs_hold_each_visited_steps_cost() -> None:
    optimizer = "momentum"
    t = Timeline(minibatch_scenario(optimizer))
    for step in range(40):
        cost = t.trace.cost  # reading the trace records its cost
        assert t.costs()[step] == cost
        t.next()
    t.seek(120)
    _ = t.trace
    costs = t.costs()
    assert costs.shape == (121,)
    want = [trace.cost for _, trace in straight_run(optimizer)[:121]]
    np.testing.assert_array_equal(costs, want)  # replayed steps were recorded too
    t.seek(10)
    assert t.costs().shape == (121,)  # going back does not shorten the history


def test_trace_is_that_of_the_state_on_its_batch() -> None:
    """Step N's trace is the pass of state N on batch N (the contract's 'Steps')."""
    scenario = minibatch_scenario("sgd")
    trainer = Trainer(scenario)
    for step in (0, 1, 2, 3, 17):
        state, trace = straight_run("sgd")[step]
        X, Y = trainer.batch(step)
        np.testing.assert_array_equal(trace.a[0], X)
        np.testing.assert_array_equal(trace.Y, Y)
        assert_same_trace(trace, trainer.network.trace(state.params, X, Y))
        if step:
            prev_state, prev_trace = straight_run("sgd")[step - 1]
            assert_same_state(trainer.advance(prev_state, prev_trace), state)


# -- run_until ------------------------------------------------------------------------


def test_run_until_cost_below() -> None:
    t = Timeline(make_scenario(learning_rate=2.0))
    stop = t.run_until([Breakpoint("cost_below", 0.2)], max_steps=5000)
    assert stop.reason == "breakpoint" and stop.breakpoint == Breakpoint("cost_below", 0.2)
    assert stop.step == t.step and t.trace.cost < 0.2
    assert np.all(t.costs()[1 : stop.step] >= 0.2)  # the first step that qualifies
    assert stop.detail == f"cost < 0.2: C = {t.trace.cost:.6g}"


def test_run_until_step_and_max_steps() -> None:
    t = Timeline(make_scenario())
    stop = t.run_until([Breakpoint("step", 17)])
    assert (stop.reason, stop.step, t.step) == ("breakpoint", 17, 17)
    stop = t.run_until(max_steps=5)
    assert (stop.reason, stop.step) == ("steps", 22)
    # conditions are tested on new states only: standing on step 22, "step 22" is not hit
    stop = t.run_until([Breakpoint("step", 22)], max_steps=3)
    assert (stop.reason, stop.step) == ("steps", 25)


def test_run_until_should_stop() -> None:
    t = Timeline(make_scenario())
    calls = []
    stop = t.run_until(should_stop=lambda: calls.append(1) or len(calls) >= 4)
    assert (stop.reason, stop.step) == ("interrupted", 4)


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_run_until_grad_norm_above(layer: int) -> None:
    norms = [
        max(trace.grad_norm(l) for l in ((1, 2) if layer == 0 else (layer,)))
        for _, trace in straight_run("sgd")
    ]
    threshold = float(np.median(norms[1:60]))
    want = next(k for k in range(1, len(norms)) if norms[k] > threshold)
    t = Timeline(minibatch_scenario("sgd"))
    stop = t.run_until([Breakpoint("grad_norm_above", threshold, layer)], max_steps=REF_STEPS)
    assert stop.reason == "breakpoint" and stop.step == want


def dead_unit_scenario() -> Scenario:
    """XOR on a (2, 3, 1) relu net whose unit 2 has z = -1 for every input: dead from the start."""
    params = make_params(
        [[[1.0, -1.0], [-1.0, 1.0], [0.0, 0.0]], [[1.0, 1.0, 1.0]]], [[0.5, 0.5, -1.0], [0.0]]
    )
    return make_scenario(
        layers=(2, 3, 1),
        activation="relu",
        output="linear",
        learning_rate=0.1,
        explicit_init=params,
    )


def test_run_until_dead_unit_fires_only_when_a_unit_dies() -> None:
    """Unit 2 of layer 1 is dead from step 0: `dead` has nothing new to report.

    A breakpoint fires on the crossing (a unit that was alive dies), so a
    unit dead from the start never stops a run; the stop names the unit.
    """
    t = Timeline(dead_unit_scenario())
    np.testing.assert_array_equal(dead_units(t.trace, 1), [2])
    stop = t.run_until([Breakpoint("dead_unit")], max_steps=10)
    assert (stop.reason, stop.step) == ("steps", 10)
    np.testing.assert_array_equal(t.trace.a[1][2], [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(t.trace.dW[1][2], [0.0, 0.0])  # it cannot recover
    # kill unit 0 of layer 1 by hand at step 10, then run again from step 9
    params = t.state.params
    b = np.array(params.b[1])
    b[0] = -1.0  # with x in {0, 1}^2 and w_00 = w_01 = -1, z_0 <= -1 for every input
    t.graft(params.replace(1, W=np.array([[-1.0, -1.0], *params.W[1][1:]]), b=b))
    t.seek(9)
    stop = t.run_until([Breakpoint("dead_unit", layer=1)], max_steps=10)
    assert (stop.reason, stop.step) == ("breakpoint", 10)
    assert stop.detail.startswith("dead: unit 0 of layer 1")
    # layer 2 is linear: its units are not relu and never count as dead
    stop = t.run_until([Breakpoint("dead_unit", layer=2)], max_steps=10)
    assert (stop.reason, stop.step) == ("steps", 20)


def diverging_scenario() -> Scenario:
    """A linear net on squared error with learning_rate 1e3: every update overshoots."""
    return make_scenario(layers=(2, 3, 1), activation="linear", output="linear", learning_rate=1e3)


def test_run_until_stops_at_the_first_nonfinite_step() -> None:
    t = Timeline(diverging_scenario())
    stop = t.run_until(max_steps=1000)
    assert stop.reason == "breakpoint" and stop.breakpoint is not None
    assert stop.breakpoint.kind == "nonfinite"
    assert not t.trace.all_finite()
    assert np.isfinite(t.costs()[: stop.step]).all()  # every earlier step was finite
    assert "inf" in stop.detail or "NaN" in stop.detail
    # where: a quantity of a layer (``inf in z^(2)``) or the cost
    assert "^(" in stop.detail or "cost" in stop.detail
    found = t.trace.first_nonfinite()
    assert found is not None
    if found[0] == "cost":
        assert "cost" in stop.detail
    else:
        assert f"{found[0]}^({found[1]})" in stop.detail


def test_run_until_nonfinite_emits_no_runtime_warning() -> None:
    """Divergence is reported by the Stop, not by numpy warnings on stderr.

    Fails while Trace.all_finite (and Params.all_finite) sum every element
    outside np.errstate: once z holds +inf and -inf, np.add.reduce warns
    "invalid value encountered in reduce" (and a large finite sum would warn
    "overflow"), escaping the engine's otherwise silenced arithmetic.
    """
    t = Timeline(diverging_scenario())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stop = t.run_until(max_steps=1000)
    assert stop.breakpoint is not None and stop.breakpoint.kind == "nonfinite"


def test_describe_nonfinite_names_the_layer() -> None:
    trainer = Trainer(make_scenario(layers=(2, 2, 1), activation="linear", output="linear"))
    state = trainer.initial_state()
    W2 = state.params.W[2].copy()
    W2[0, 1] = np.nan
    broken = TrainState(0, state.params.replace(2, W=W2), state.opt)
    with np.errstate(invalid="ignore", over="ignore"):
        assert describe_nonfinite(broken, trainer.trace(broken)) == "NaN in W^(2)"
        huge = TrainState(0, state.params.replace(1, W=np.full((2, 2), 1e308)), state.opt)
        assert describe_nonfinite(huge, trainer.trace(huge)) == "inf in z^(1)"
        assert describe_nonfinite(state, trainer.trace(state)) == "all finite"


# -- find_previous -------------------------------------------------------------------


def test_find_previous_finds_the_last_hit_before_now() -> None:
    t = Timeline(minibatch_scenario("sgd"))
    t.seek(100)
    here = t.state
    stop = t.find_previous([Breakpoint("step", 5)])
    assert stop is not None and stop.step == 5
    norms = [trace.total_grad_norm() for _, trace in straight_run("sgd")]
    threshold = float(np.median(norms[:100]))
    # with layer 0 ("any layer") the condition is per layer; take the max over layers
    per_layer = [max(trace.grad_norm(1), trace.grad_norm(2)) for _, trace in straight_run("sgd")]
    want = max(k for k in range(100) if per_layer[k] > threshold)
    stop = t.find_previous([Breakpoint("grad_norm_above", threshold)])
    assert stop is not None and stop.step == want
    assert t.find_previous([Breakpoint("cost_below", -1.0)]) is None
    assert t.find_previous([Breakpoint("step", 100)]) is None  # not before the current step
    assert t.step == 100 and t.state is here  # it does not move


SOLVED_XOR = make_params([[[20.0, 20.0], [-20.0, -20.0]], [[20.0, 20.0]]], [[-10.0, 30.0], [-30.0]])
"""XOR solved by hand: cost ~ 2e-9."""


@pytest.mark.parametrize("at", [0, 32, 5])
def test_find_previous_sees_an_edited_state(at: int) -> None:
    """After graft() at step k, find_previous examines the edited state at k, not the old one.

    Fails at checkpoint steps (0 and multiples of the spacing): find_previous
    starts each segment from `self._checkpoints.get(start) or self._pinned[start]`,
    so a checkpoint left at k from before the edit wins over the pinned edit.
    """
    t = Timeline(make_scenario())
    t.seek(at)
    t.graft(SOLVED_XOR)
    for _ in range(3):
        t.next()
    assert t.trace.cost < 1e-3
    stop = t.find_previous([Breakpoint("cost_below", 1e-3)])
    # the cost crosses 1e-3 at the edited step itself; step 0 has no step before it
    assert (stop.step if stop else None) == (at or None)


# -- edit: branching -------------------------------------------------------------------


def straight_from(trainer: Trainer, state: TrainState, steps: int) -> list[TrainState]:
    """States state.step..state.step+steps by the trainer alone."""
    out = [state]
    for _ in range(steps):
        out.append(trainer.advance(out[-1], trainer.trace(out[-1])))
    return out


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("k", [10, 32])  # 32 is a checkpoint step
def test_edit_branches_history(optimizer: str, k: int) -> None:
    scenario = minibatch_scenario(optimizer)
    t = Timeline(scenario)
    t.seek(k + 30)
    t.seek(k)
    old = t.state
    edited = old.params.replace(1, W=old.params.W[1] * 1.5)
    t.graft(edited)
    assert t.branched_at == k and t.step == k and t.frontier == k
    assert t.state.params is edited and t.state.opt is old.opt
    want = straight_from(Trainer(scenario), TrainState(k, edited, old.opt), 40)
    for i in range(1, 41):
        t.next()
        assert_same_state(t.state, want[i])
    # back below k, then forward again past k: the edit is replayed, not the old history
    t.seek(k - 3)
    assert_same_state(t.state, straight_run(optimizer)[k - 3][0])
    for i in range(-2, 12):
        t.next()
        expected = straight_run(optimizer)[k + i][0] if i < 0 else want[i]
        assert_same_state(t.state, expected)
    t.seek(0)
    t.seek(k + 40)  # one long jump through the edited state
    assert_same_state(t.state, want[40])
    t.seek(k + 5)
    assert_same_state(t.state, want[5])


def test_edit_drops_the_old_future_from_costs() -> None:
    t = Timeline(make_scenario())
    t.seek(20)
    t.seek(10)
    t.graft(SOLVED_XOR)
    assert t.costs().shape == (11,)
    assert t.trace.cost < 1e-3
    assert t.costs()[10] == t.trace.cost


def test_costs_right_after_edit_are_not_stale() -> None:
    """Before anything reads the new trace, costs() must not show the pre-edit cost.

    Fails while edit() clears costs from step + 1 on but keeps the old cost at
    `step` itself: costs() then shows a number the edited state never had.
    """
    t = Timeline(make_scenario())
    old_cost = t.trace.cost
    t.graft(SOLVED_XOR)
    assert t.costs()[0] != old_cost


# -- the batch schedule ----------------------------------------------------------------


@pytest.mark.parametrize("n,size", [(11, 4), (12, 4), (5, 1), (7, 6)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_each_epoch_covers_every_example_once(n: int, size: int, shuffle: bool) -> None:
    schedule = Schedule(n, size, shuffle, seed=3)
    per_epoch = -(-n // size)
    assert schedule.batches_per_epoch == per_epoch
    orders = []
    for epoch in range(4):
        batches = [schedule.indices(epoch * per_epoch + k) for k in range(per_epoch)]
        sizes = [len(b) for b in batches]
        assert sizes[:-1] == [size] * (per_epoch - 1)
        assert sizes[-1] == n - size * (per_epoch - 1)  # smaller when size does not divide n
        order = np.concatenate(batches)
        assert sorted(order.tolist()) == list(range(n))
        assert all(schedule.epoch(epoch * per_epoch + k) == epoch for k in range(per_epoch))
        orders.append(order)
    if not shuffle:
        assert all(np.array_equal(o, np.arange(n)) for o in orders)
    elif n > 5:
        assert any(not np.array_equal(o, orders[0]) for o in orders[1:])


def test_schedule_is_a_pure_function_of_the_step() -> None:
    """Asking for batches out of order gives the same batches as asking in order."""
    a, b = Schedule(11, 4, True, seed=9), Schedule(11, 4, True, seed=9)
    in_order = [a.indices(s).copy() for s in range(30)]
    for s in [29, 0, 14, 3, 3, 28, 15, 1]:
        np.testing.assert_array_equal(b.indices(s), in_order[s])
    other_seed = Schedule(11, 4, True, seed=10)
    assert any(not np.array_equal(other_seed.indices(s), in_order[s]) for s in range(6))


@pytest.mark.parametrize("batch_size", [4, 10])
def test_whole_batch_keeps_data_order(batch_size: int) -> None:
    """A batch of the whole data set (or more) is the data set in file order, every step."""
    trainer = Trainer(make_scenario(batch_size=batch_size, shuffle=True))
    for step in (0, 1, 5):
        X, Y = trainer.batch(step)
        np.testing.assert_array_equal(X, XOR_X)
        np.testing.assert_array_equal(Y, XOR_Y)


def test_minibatch_columns_are_the_scheduled_examples() -> None:
    scenario = minibatch_scenario("sgd")
    trainer = Trainer(scenario)
    for step in range(6):
        idx = trainer.schedule.indices(step)
        X, Y = trainer.batch(step)
        np.testing.assert_array_equal(X, scenario.data.inputs[:, idx])
        np.testing.assert_array_equal(Y, scenario.data.targets[:, idx])
        assert not X.flags.writeable and not Y.flags.writeable


def test_initial_state_uses_explicit_init() -> None:
    scenario = dead_unit_scenario()
    state = Timeline(scenario).state
    assert state.step == 0 and state.opt.t == 0
    for l in (1, 2):
        np.testing.assert_array_equal(state.params.W[l], scenario.network.explicit_init[l - 1].W)
        np.testing.assert_array_equal(state.params.b[l], scenario.network.explicit_init[l - 1].b)


def test_same_scenario_same_seed_same_start() -> None:
    a, b = Timeline(minibatch_scenario("adam")), Timeline(minibatch_scenario("adam"))
    assert_same_state(a.state, b.state)
    other = Timeline(make_scenario(layers=(3, 4, 2), seed=8))
    assert not np.array_equal(other.state.params.W[1], a.state.params.W[1])
