"""The NaN/inf watch of `run_until` takes a shortcut; these tests prove it stops where
looking at every array would.

`bpdebug.training.surely_finite` judges a state from its cost, its z's and
the parameters of the next update instead of all its arrays. It rests on
facts about the activations, the optimizers and the sums it uses; each is
checked here on extreme numbers, and the whole is checked end to end
against the plain loop (`next`, then `Watch.crossed` on every array).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import HIDDEN_ACTIVATIONS, OPTIMIZERS, OUTPUTS_FOR_LOSS, make_params, make_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from bpdebug.breakpoints import NONFINITE, Watch, holding
from bpdebug.engine import OptimizerConfig, initial_state
from bpdebug.engine.activations import ACTIVATION_TYPES
from bpdebug.engine.optimizers import apply_update_unguarded
from bpdebug.scenario.model import Breakpoint, Scenario
from bpdebug.timeline import Stop, Timeline
from bpdebug.training import TINY, surely_finite

EXTREME = (0.0, 1e-300, 1.0, 36.0, 710.0, 1e154, 1e300, 1.7e308)
"""Finite magnitudes that saturate, overflow exp, or overflow a square."""
BAD = (math.nan, math.inf, -math.inf)


def test_a_finite_z_makes_a_finite_a_for_every_activation() -> None:
    rng = np.random.default_rng(0)
    values = np.array([s * v for v in EXTREME for s in (1.0, -1.0)])
    columns = [
        values.reshape(-1, 1),  # one unit per value, one example
        values.reshape(1, -1),  # one column of many units
        rng.choice(values, size=(5, 40)),  # mixtures in every column
    ]
    for name, activation in ACTIVATION_TYPES.items():
        for z in columns:
            if name == "softmax" and z.shape[0] == 1:
                continue
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                a = activation.raw(z)
            assert np.isfinite(a).all(), f"{name} of a finite z is not finite"


@pytest.mark.parametrize("size", [*range(1, 40), 63, 64, 65, 257])
def test_the_sums_carry_every_nan_and_inf(size: int) -> None:
    """Both ways of summing (Python's for tiny arrays, BLAS's ddot) at every position."""
    for bad in BAD:
        for i in range(size):
            x = np.full(size, 0.5)
            x[i] = bad
            assert not math.isfinite(np.vdot(x, x))
            if size <= TINY:
                assert not math.isfinite(sum(x.ravel().tolist()))
            grid = x.reshape(1, size)  # 2-D, as z and W are
            assert not math.isfinite(np.vdot(grid, grid))


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("where", ["W", "b", "gW", "gb"])
def test_a_nan_or_inf_in_parameters_or_gradients_reaches_the_next_parameters(
    optimizer: str, where: str
) -> None:
    rng = np.random.default_rng(1)
    config = OptimizerConfig(name=optimizer, learning_rate=0.5)
    for bad in BAD:
        for scale in (1.0, 1e300):
            W = rng.normal(size=(3, 2)) * scale
            b = rng.normal(size=3) * scale
            gW, gb = rng.normal(size=(3, 2)) * scale, rng.normal(size=3) * scale
            target = {"W": W, "b": b, "gW": gW, "gb": gb}[where]
            target.flat[rng.integers(target.size)] = bad
            params = make_params([W], [b])
            state = initial_state(config, params)
            for _ in range(2):  # a fresh optimizer state, then one with history
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    after, state = apply_update_unguarded(
                        config, params, (gW[:0], gW), (gb[:0], gb), state
                    )
                finite = all(np.isfinite(x).all() for x in (after.W[1], after.b[1]))
                assert not finite, f"{optimizer}: {bad} in {where} vanished"


def reference_run(scenario: Scenario, breakpoints: tuple[Breakpoint, ...], steps: int) -> Stop:
    """The plain loop: one update, then every array of the new state looked at."""
    timeline = Timeline(scenario)
    watch = Watch(breakpoints, timeline.relu_layers)
    watch.start(timeline.state, timeline.trace)
    for _ in range(steps):
        timeline.next()
        hit = watch.crossed(timeline.state, timeline.trace)
        if hit is not None:
            return Stop.hit(hit)
    return Stop("steps", timeline.step)


@st.composite
def wild_scenarios(draw: st.DrawFn) -> Scenario:
    """Small networks with learning rates and starting weights large enough to blow up."""
    loss = draw(st.sampled_from(sorted(OUTPUTS_FOR_LOSS)))
    output = draw(st.sampled_from(OUTPUTS_FOR_LOSS[loss]))
    hidden = draw(st.lists(st.integers(1, 3), min_size=0, max_size=2))
    n_out = draw(st.integers(2 if output == "softmax" else 1, 3))
    layers = (2, *hidden, n_out)
    m = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    scale = 10.0 ** draw(st.integers(0, 150))
    X = rng.normal(size=(2, m)) * 10.0 ** draw(st.integers(0, 3))
    if loss == "cross_entropy":
        Y = np.eye(n_out)[:, rng.integers(n_out, size=m)]
    elif loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, size=(n_out, m)).astype(float)
    else:
        Y = rng.normal(size=(n_out, m))
    Ws = [rng.normal(size=(layers[l], layers[l - 1])) * scale for l in range(1, len(layers))]
    bs = [rng.normal(size=layers[l]) * scale for l in range(1, len(layers))]
    return make_scenario(
        layers=layers,
        activation=draw(st.sampled_from(HIDDEN_ACTIVATIONS)),
        output=output,
        loss=loss,
        inputs=X,
        targets=Y,
        learning_rate=10.0 ** draw(st.integers(-2, 8)),
        optimizer=draw(st.sampled_from(OPTIMIZERS)),
        l2=draw(st.sampled_from([0.0, 0.0, 1e3])),
        explicit_init=make_params(Ws, bs),
    )


@settings(max_examples=150, deadline=None)
@given(scenario=wild_scenarios(), with_cost_breakpoint=st.booleans())
def test_run_until_stops_where_the_plain_loop_stops(
    scenario: Scenario, with_cost_breakpoint: bool
) -> None:
    breakpoints = (Breakpoint("cost_below", value=1e-3),) if with_cost_breakpoint else ()
    want = reference_run(scenario, breakpoints, 25)
    timeline = Timeline(scenario)
    got = timeline.run_until(breakpoints, max_steps=25)
    assert (got.reason, got.step, got.detail) == (want.reason, want.step, want.detail)
    assert got.breakpoint == want.breakpoint
    assert timeline.step == want.step


@settings(max_examples=150, deadline=None)
@given(scenario=wild_scenarios())
def test_surely_finite_vouches_only_for_states_that_are(scenario: Scenario) -> None:
    """Along a run, whenever the shortcut says finite, every array of the state is."""
    timeline = Timeline(scenario)
    for _ in range(20):
        state, trace = timeline.state, timeline.trace
        after = timeline.trainer.advance(state, trace)
        if surely_finite(trace, after.params):
            assert not holding(NONFINITE, state, trace, timeline.relu_layers)
        timeline.next()


def test_an_inf_z_that_a_sigmoid_hides_still_stops_the_run() -> None:
    """z = inf in a hidden sigmoid layer saturates a to 1: the cost and the next
    parameters stay finite, and only z itself shows it."""
    # W^(1) grows each update (x = 1, target far above), until z^(1) overflows.
    scenario = make_scenario(
        layers=(1, 1, 1),
        activation="sigmoid",
        output="linear",
        loss="squared_error",
        inputs=np.array([[1e300]]),
        targets=np.array([[1.0]]),
        learning_rate=1.0,
        explicit_init=make_params([[[1.0]], [[1.0]]], [[0.0], [0.0]]),
    )
    want = reference_run(scenario, (), 50)
    got = Timeline(scenario).run_until(max_steps=50)
    assert (got.reason, got.step, got.detail) == (want.reason, want.step, want.detail)


def test_an_edit_on_the_way_is_judged_in_full() -> None:
    """A pinned edit is not the update of the state before it: the shortcut steps aside."""
    scenario = make_scenario()
    timeline = Timeline(scenario)
    timeline.seek(3)
    timeline.edit_weight(1, 0, 0, 1e308)
    timeline.seek(0)
    want_timeline = Timeline(scenario)
    want_timeline.seek(3)
    want_timeline.edit_weight(1, 0, 0, 1e308)
    want_timeline.seek(0)
    watch = Watch((), want_timeline.relu_layers)
    watch.start(want_timeline.state, want_timeline.trace)
    want: Stop = Stop("steps", 10)
    for _ in range(10):
        want_timeline.next()
        hit = watch.crossed(want_timeline.state, want_timeline.trace)
        if hit is not None:
            want = Stop.hit(hit)
            break
    got = timeline.run_until(max_steps=10)
    assert (got.reason, got.step, got.detail) == (want.reason, want.step, want.detail)


def overflow_scenario(kind: str) -> Scenario:
    """A run whose step 1 has an inf only in dW^(1) or only in db^(1), its z's and
    cost finite: only the next update's W or b shows it (step 0 is harmless)."""
    if kind == "dW":
        # z = 1e-200 * 1e200 = 1; delta = 2 (1 + 1e150); dW = delta * 1e200 = inf.
        return make_scenario(
            layers=(1, 1),
            output="linear",
            inputs=np.array([[1e-3, 1e200]]),
            targets=np.array([[0.0, -1e150]]),
            learning_rate=1e-30,
            batch_size=1,
            shuffle=False,
            explicit_init=make_params([[[1e-200]]], [[0.0]]),
        )
    # delta^(1) = W^(2) * 2 = 8e307 for each of 3 examples: their sum, db^(1), is inf.
    return make_scenario(
        layers=(1, 1, 1),
        activation="linear",
        output="linear",
        inputs=np.array([[0.0, 0.0, 0.0, 1e-8, 1e-8, 1e-8]]),
        targets=np.array([[0.0, 0.0, 0.0, -0.6, -0.6, -0.6]]),
        learning_rate=1.0,
        batch_size=3,
        shuffle=False,
        explicit_init=make_params([[[1e-300]], [[4e307]]], [[0.0], [0.0]]),
    )


@pytest.mark.parametrize("kind", ["dW", "db"])
def test_an_inf_only_in_a_gradient_stops_the_run_at_its_own_step(kind: str) -> None:
    scenario = overflow_scenario(kind)
    want = reference_run(scenario, (), 10)
    assert (want.reason, want.step, want.detail) == ("breakpoint", 1, f"inf in {kind}^(1)")
    got = Timeline(scenario).run_until(max_steps=10)
    assert (got.reason, got.step, got.detail) == (want.reason, want.step, want.detail)


@pytest.mark.parametrize("stop_at", ["steps", "breakpoint", "interrupted"])
def test_the_pass_a_run_ends_on_is_read_only(stop_at: str) -> None:
    """The passes a run goes through are dropped writable; the one it keeps is frozen."""
    breakpoints = (Breakpoint("step", value=7.0),) if stop_at == "breakpoint" else ()
    timeline = Timeline(make_scenario())
    calls = []

    def should_stop() -> bool:
        calls.append(timeline.step)
        return stop_at == "interrupted" and len(calls) == 5

    stop = timeline.run_until(breakpoints, max_steps=20, should_stop=should_stop)
    assert stop.reason == stop_at
    assert timeline.step == {"steps": 20, "breakpoint": 7, "interrupted": 5}[stop_at]
    trace = timeline.trace
    arrays = [*trace.z[1:], *trace.a[1:], *trace.delta[1:], *trace.dW[1:], *trace.db[1:]]
    arrays += [trace.dC_da, trace.per_example_cost, trace.a[0], trace.Y]
    assert all(not x.flags.writeable for x in arrays)
