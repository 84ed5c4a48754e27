"""Backprop's gradients against centred finite differences of the cost.

Every (hidden activation) x (output valid for the loss) x (loss) x (l1, l2)
combination, on random small nets. The finite difference is computed here,
independently of `check_gradients`, from `Network.cost` alone; then
`check_gradients`'s own bands are tested on a correct, a broken and a
kinked network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from conftest import (
    HIDDEN_ACTIVATIONS,
    OUTPUTS_FOR_LOSS,
    make_params,
    random_params,
    random_targets,
)
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from bpdebug.engine import Network, Params, check_gradients
from bpdebug.engine.activations import Sigmoid

H = 1e-6
"""Finite-difference step. Truncation error ~ h^2 |C'''| ~ 1e-12, rounding ~ 1e-16 C / h ~ 1e-10."""
KINK_MARGIN = 1e-4
"""A relu-family z closer than this to 0 may cross its kink inside the step: skip."""
L1_MARGIN = 1e-4
"""An l1-penalised weight closer than this to 0 may cross |W|'s kink: skip."""
RTOL = 1e-6
"""Pass when |analytic - numeric| <= RTOL * max(1, |analytic|, |numeric|)."""

COMBOS = [
    (hidden, output, loss)
    for loss, outputs in OUTPUTS_FOR_LOSS.items()
    for output in outputs
    for hidden in HIDDEN_ACTIVATIONS
]
RELU_FAMILY = ("relu", "leaky_relu")


def relu_pattern(net: Network, params: Params, X: np.ndarray) -> list[np.ndarray]:
    """For each relu-family layer, which units of which examples have z > 0."""
    z, _ = net.forward(params, X)
    return [z[l] > 0 for l in range(1, net.depth + 1) if net.activations[l].name in RELU_FAMILY]


def min_relu_margin(net: Network, params: Params, X: np.ndarray) -> float:
    """The smallest |z| of any relu-family unit (inf when there are none)."""
    z, _ = net.forward(params, X)
    margins = [
        np.abs(z[l]).min()
        for l in range(1, net.depth + 1)
        if net.activations[l].name in RELU_FAMILY
    ]
    return float(min(margins, default=np.inf))


@dataclass(frozen=True)
class Numeric:
    """Centred differences of one layer, and which entries stayed on one relu branch."""

    dW: np.ndarray
    db: np.ndarray
    smooth_W: np.ndarray
    smooth_b: np.ndarray


def finite_differences(
    net: Network, params: Params, X: np.ndarray, Y: np.ndarray, h: float = H
) -> dict[int, Numeric]:
    """(C(p + h) - C(p - h)) / 2h for every parameter, by layer 1..L.

    A parameter whose +-h nudge flips any relu-family branch is marked not smooth.
    """
    Ws = [w.copy() for w in params.W]
    bs = [b.copy() for b in params.b]
    work = Params(tuple(Ws), tuple(bs))
    base = relu_pattern(net, params, X)

    def same_branches() -> bool:
        return all(
            np.array_equal(p, q) for p, q in zip(relu_pattern(net, work, X), base, strict=True)
        )

    def nudge(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        grad = np.zeros_like(array)
        smooth = np.ones(array.shape, dtype=bool)
        for index in np.ndindex(array.shape):
            original = array[index]
            array[index] = original + h
            c_plus, same_plus = net.cost(work, X, Y), same_branches()
            array[index] = original - h
            c_minus, same_minus = net.cost(work, X, Y), same_branches()
            array[index] = original
            grad[index] = (c_plus - c_minus) / (2 * h)
            smooth[index] = same_plus and same_minus
        return grad, smooth

    out = {}
    for l in range(1, net.depth + 1):
        dW, smooth_W = nudge(Ws[l])
        db, smooth_b = nudge(bs[l])
        out[l] = Numeric(dW, db, smooth_W, smooth_b)
    return out


@dataclass(frozen=True)
class Case:
    hidden: str
    output: str
    loss: str
    l1: float
    l2: float
    layers: tuple[int, ...]
    m: int
    seed: int
    per_layer: tuple[str, ...] = ()
    """g_1..g_L one by one (a scenario's `network.activations`), or () for hidden/output."""


@st.composite
def cases(draw: st.DrawFn) -> Case:
    hidden, output, loss = draw(st.sampled_from(COMBOS))
    depth = draw(st.integers(2, 3))
    units = [draw(st.integers(1, 4)) for _ in range(depth + 1)]
    if output == "softmax":
        units[-1] = max(units[-1], 2)  # the loader's rule: softmax needs 2 units
    per_layer: tuple[str, ...] = ()
    if draw(st.booleans()):  # mixed hidden activations, as imported models have
        hidden_layers = [draw(st.sampled_from(HIDDEN_ACTIVATIONS)) for _ in range(depth - 1)]
        per_layer = (*hidden_layers, output)
    return Case(
        hidden=hidden,
        output=output,
        loss=loss,
        l1=draw(st.sampled_from([0.0, 0.05])),
        l2=draw(st.sampled_from([0.0, 0.1])),
        layers=tuple(units),
        m=draw(st.integers(1, 5)),
        seed=draw(st.integers(0, 2**32 - 1)),
        per_layer=per_layer,
    )


@settings(max_examples=300, deadline=None)
@given(cases())
@example(Case("relu", "softmax", "cross_entropy", 0.05, 0.1, (3, 4, 4, 3), 5, 0))
@example(Case("sigmoid", "sigmoid", "binary_cross_entropy", 0.0, 0.0, (2, 2, 1), 4, 1))
@example(Case("leaky_relu", "linear", "half_squared_error", 0.0, 0.1, (4, 3, 2, 2), 3, 2))
@example(Case("tanh", "softmax", "squared_error", 0.05, 0.0, (2, 3, 3), 2, 3))
@example(
    Case(
        "tanh",
        "sigmoid",
        "binary_cross_entropy",
        0.0,
        0.1,
        (3, 4, 3, 1),
        4,
        4,
        per_layer=("tanh", "leaky_relu", "sigmoid"),
    )
)
def test_trace_gradients_match_finite_differences(case: Case) -> None:
    """grad_W = dW + dW_reg and db equal centred differences of Network.cost."""
    rng = np.random.default_rng(case.seed)
    net = Network(
        case.layers,
        case.hidden,
        case.output,
        case.loss,
        l1=case.l1,
        l2=case.l2,
        per_layer=case.per_layer,
    )
    if case.per_layer:
        assert [g.name for g in net.activations[1:]] == list(case.per_layer)
    params = random_params(rng, case.layers)
    X = rng.uniform(-2.0, 2.0, size=(case.layers[0], case.m))
    Y = random_targets(rng, case.loss, case.layers[-1], case.m)
    assume(min_relu_margin(net, params, X) > KINK_MARGIN)

    trace = net.trace(params, X, Y)
    assert trace.cost == pytest.approx(net.cost(params, X, Y), rel=1e-14, abs=1e-300)
    numeric = finite_differences(net, params, X, Y)
    checked = 0
    for l in range(1, net.depth + 1):
        num = numeric[l]
        smooth_W = num.smooth_W
        if case.l1:
            smooth_W = smooth_W & (np.abs(params.W[l]) > L1_MARGIN)
        for analytic_all, numeric_all, mask, what in (
            (trace.grad_W(l), num.dW, smooth_W, "W"),
            (trace.db[l], num.db, num.smooth_b, "b"),
        ):
            assert analytic_all.shape == numeric_all.shape
            for index in np.argwhere(mask):
                index = tuple(int(i) for i in index)
                a, n = float(analytic_all[index]), float(numeric_all[index])
                assert abs(a - n) <= RTOL * max(1.0, abs(a), abs(n)), (
                    f"{what}^({l}){index}: backprop {a!r} vs finite difference {n!r}"
                )
                checked += 1
        # Every relu-family z is at least 1e-4 from its kink, so a 1e-6 nudge never
        # crosses one: nothing is skipped for that reason.
        assert num.smooth_W.all() and num.smooth_b.all()
    assert checked > 0


def test_delta_is_the_derivative_of_the_per_example_cost_wrt_z() -> None:
    """delta[l][:, i] = dC_0(example i)/dz^(l): nudge z^(1) of one example by hand."""
    rng = np.random.default_rng(5)
    layers = (2, 3, 2)
    net = Network(layers, "tanh", "softmax", "cross_entropy")
    params = random_params(rng, layers)
    X = rng.normal(size=(2, 4))
    Y = random_targets(rng, "cross_entropy", 2, 4)
    trace = net.trace(params, X, Y)
    out = net.activations[2]
    for i in range(4):
        for j in range(3):
            costs = []
            for sign in (1.0, -1.0):
                z1 = trace.z[1][:, i].copy()
                z1[j] += sign * H
                a2 = out(params.W[2] @ np.tanh(z1)[:, None] + params.b[2][:, None])
                costs.append(float(net.loss.value(a2, Y[:, i : i + 1])[0]))
            numeric = (costs[0] - costs[1]) / (2 * H)
            assert trace.delta[1][j, i] == pytest.approx(numeric, rel=1e-6, abs=1e-8)


# -- check_gradients' bands -------------------------------------------------------


def test_check_gradients_good_on_a_correct_network() -> None:
    rng = np.random.default_rng(0)
    layers = (2, 3, 2)
    net = Network(layers, "sigmoid", "softmax", "cross_entropy", l2=0.01)
    params = random_params(rng, layers)
    X = rng.normal(size=(2, 5))
    Y = random_targets(rng, "cross_entropy", 2, 5)
    result = check_gradients(net, params, X, Y)
    assert result.ok
    assert [c.band for c in result.layers] == ["good", "good"]
    assert [c.checked for c in result.layers] == [3 * 2 + 3, 2 * 3 + 2]
    assert all(c.kinks == 0 for c in result.layers)
    assert result.cost == pytest.approx(net.cost(params, X, Y), rel=1e-14)
    # the check leaves the parameters as they were
    for l in (1, 2):
        assert not params.W[l].flags.writeable


@dataclass(frozen=True)
class WrongSigmoid(Sigmoid):
    """A sigmoid whose derivative is 10% too large: a classic backprop bug."""

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return 1.1 * a * (1.0 - a)


def test_check_gradients_wrong_on_a_broken_derivative() -> None:
    """A corrupted hidden derivative puts layer 1 in "wrong"; layer 2 is untouched."""
    rng = np.random.default_rng(0)
    layers = (2, 3, 1)
    net = Network(layers, "sigmoid", "sigmoid", "squared_error")
    net.activations = (net.activations[0], WrongSigmoid(), net.activations[2])
    params = random_params(rng, layers)
    X = rng.normal(size=(2, 4))
    Y = rng.uniform(size=(1, 4))
    result = check_gradients(net, params, X, Y)
    assert not result.ok
    assert result.layers[0].band == "wrong"
    assert result.layers[0].max_rel_error > 1e-4
    assert result.layers[1].band == "good"
    worst = result.layers[0].worst
    assert worst is not None and worst.rel_error == result.layers[0].max_rel_error


def test_check_gradients_reports_a_relu_kink() -> None:
    """A relu unit at z exactly 0: its W and b entries are kinks, left out of the band."""
    # unit 0: z = 1*1 + 0 = 1 (smooth); unit 1: z = 2*1 - 2 = 0 exactly (the kink)
    net = Network((1, 2, 1), "relu", "linear", "squared_error")
    params = make_params([[[1.0], [2.0]], [[0.5, -0.7]]], [[0.0, -2.0], [0.1]])
    X = np.array([[1.0]])
    Y = np.array([[0.3]])
    assert net.forward(params, X)[0][1][1, 0] == 0.0
    result = check_gradients(net, params, X, Y)
    layer1 = result.layers[0]
    kinked = {(e.name, e.index) for e in layer1.entries if e.kink}
    assert kinked == {("W", (1, 0)), ("b", (1,))}
    assert layer1.kinks == 2
    assert layer1.band == "good" and result.layers[1].band == "good"
    assert result.layers[1].kinks == 0
    assert result.ok


def test_check_gradients_all_kinks_is_kink_band() -> None:
    """A layer whose every parameter crosses a kink is banded "kink", not good or wrong."""
    net = Network((1, 1, 1), "relu", "linear", "squared_error")
    params = make_params([[[2.0]], [[1.0]]], [[-2.0], [0.0]])
    result = check_gradients(net, params, np.array([[1.0]]), np.array([[1.0]]))
    assert result.layers[0].band == "kink"
    assert np.isnan(result.layers[0].max_rel_error)
    assert result.ok


def test_check_gradients_flags_l1_weights_at_zero() -> None:
    """Under l1, a weight within h of 0 sits on |W|'s kink and is reported as one."""
    net = Network((2, 1), "linear", "linear", "squared_error", l1=0.1)
    params = make_params([[[0.0, 0.5]]], [[0.0]])
    result = check_gradients(net, params, np.array([[1.0], [1.0]]), np.array([[0.0]]))
    kinked = {(e.name, e.index) for e in result.layers[0].entries if e.kink}
    assert kinked == {("W", (0, 0))}
    assert result.ok


def test_check_gradients_samples_large_layers() -> None:
    rng = np.random.default_rng(0)
    layers = (4, 6, 2)
    net = Network(layers, "tanh", "linear", "squared_error")
    params = random_params(rng, layers)
    result = check_gradients(
        net, params, rng.normal(size=(4, 3)), rng.normal(size=(2, 3)), sample=5
    )
    # 5 of layer 1's 24 + 6 parameters and 5 of layer 2's 12 + 2: W and b drawn together
    assert [c.checked for c in result.layers] == [5, 5]
    for check in result.layers:
        assert len({(e.name, e.index) for e in check.entries}) == 5
    assert result.ok
    X, Y = rng.normal(size=(4, 3)), rng.normal(size=(2, 3))
    small = check_gradients(net, params, X, Y, sample=14)
    assert [c.checked for c in small.layers] == [14, 14]  # layer 2 has exactly 14: all of them
