"""The chain rule's factors, read from z: exact where the true value is a float.

At a saturated output (sigmoid(45) is exactly 1.0 in floating point) the
factors computed from a are 0, inf or NaN; `chain_rule_at` takes them from
z. Each saturated case is checked against the same formula evaluated with
Python's `decimal` at 800 digits, and the factors must multiply to the
delta shown. Unsaturated cases are checked against the engine's recorded
numbers and against centred finite differences of one example's cost.
"""

from __future__ import annotations

import math
import sys
from decimal import Decimal, localcontext

import numpy as np
import pytest
from conftest import HIDDEN_ACTIVATIONS, OUTPUTS_FOR_LOSS, make_params, random_params

from bpdebug.chainrule import ChainRule, chain_rule_at
from bpdebug.engine import Network, Params, Trace

PRECISION = 800
"""Decimal digits of the reference values: enough that 1 + e^-700 keeps its e^-700."""
ULPS = 4
"""How far a factor may sit from the reference, in units in the last place."""


def close(got: float, want: Decimal, ulps: int = ULPS) -> bool:
    """|got - want| within `ulps` ulps of want (or of the smallest subnormal near 0)."""
    ref = float(want)
    tolerance = ulps * max(math.ulp(ref), math.ulp(0.0))
    return math.isfinite(got) and abs(Decimal(got) - want) <= Decimal(tolerance)


def one_unit(activation: str, loss: str, z: float, y: float) -> tuple[ChainRule, Trace]:
    """w^(1) of a 1-1 network whose one example has input 1, so z = w, and target y."""
    net = Network((1, 1), activation, activation, loss)
    params = make_params([[[z]]], [[0.0]])
    trace = net.trace(params, np.array([[1.0]]), np.array([[y]]))
    assert trace.z[1][0, 0] == z
    return chain_rule_at(net, params, trace, 1, 0, 0, 0), trace


def exp(x: float | Decimal) -> Decimal:
    """e^x to PRECISION digits."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return Decimal(x).exp()


def dec(x: float) -> Decimal:
    """A float's exact value as a Decimal."""
    return Decimal(x)


SATURATED = [45.0, -45.0, 100.0, -100.0, 700.0, -700.0]
"""Logits whose sigmoid has rounded to exactly 0 or 1 (or nearly: |z| >= 37 suffices)."""


@pytest.mark.parametrize("z", SATURATED)
@pytest.mark.parametrize("y", [0.0, 1.0, 0.25])
def test_sigmoid_bce_factors_at_saturated_logits_are_exact(z: float, y: float) -> None:
    """sigma'(z) = e^-|z|/(1+e^-|z|)^2, dC0/da = -y(1+e^-z) + (1-y)(1+e^z), delta = sigma(z) - y."""
    rule, trace = one_unit("sigmoid", "binary_cross_entropy", z, y)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        t = exp(-abs(z))
        slope = t / (1 + t) ** 2
        dC_da = -dec(y) * (1 + exp(-z)) + (1 - dec(y)) * (1 + exp(z))
        delta = 1 / (1 + exp(-z)) - dec(y)
    assert rule.da_dz is not None
    assert rule.da_dz != 0.0  # the true slope is a normal float at |z| <= 700
    assert close(rule.da_dz, slope)
    assert close(rule.dC_da, dC_da)
    assert close(rule.dC_dz, delta)
    assert rule.dC_dz != 0.0  # sigma(z) - y is never 0 for these
    assert close(rule.da_dz * rule.dC_da, Decimal(rule.dC_dz), ulps=2 * ULPS)
    assert rule.dz_dw == 1.0 and rule.product == rule.dC_dz
    assert rule.recorded == trace.delta[1][0, 0]  # the engine's a - y, kept beside it


def test_the_engine_rounds_what_the_chain_rule_keeps() -> None:
    """At z = 45 and y = 1 the engine's delta is a - y = 1.0 - 1 = 0; the true one is -2.9e-20."""
    rule, trace = one_unit("sigmoid", "binary_cross_entropy", 45.0, 1.0)
    assert trace.a[1][0, 0] == 1.0 and trace.delta[1][0, 0] == 0.0
    assert rule.recorded == 0.0
    assert rule.dC_dz == pytest.approx(-math.exp(-45.0), rel=1e-15)


@pytest.mark.parametrize("z", [20.0, -20.0, 100.0, -100.0, 300.0, -300.0])
@pytest.mark.parametrize("y", [1.0, -1.0, 0.5])
def test_tanh_squared_error_factors_at_saturated_logits_are_exact(z: float, y: float) -> None:
    """tanh'(z) = 4 e^-2|z|/(1+e^-2|z|)^2 and dC0/da = 2(tanh z - y), from z."""
    rule, trace = one_unit("tanh", "squared_error", z, y)
    assert abs(trace.a[1][0, 0]) == 1.0  # saturated: 1 - a^2 is 0 in the engine
    with localcontext() as ctx:
        ctx.prec = PRECISION
        t = exp(-2 * abs(z))
        slope = 4 * t / (1 + t) ** 2
        dC_da = 2 * ((1 - exp(-2 * dec(z))) / (1 + exp(-2 * dec(z))) - dec(y))
        delta = slope * dC_da
    assert rule.da_dz is not None and rule.da_dz != 0.0
    assert close(rule.da_dz, slope)
    assert close(rule.dC_da, dC_da)
    assert rule.dC_da != 0.0
    assert close(rule.dC_dz, delta)
    if abs(delta) >= Decimal(sys.float_info.min):  # a normal float: no underflow to 0
        assert rule.dC_dz != 0.0


@pytest.mark.parametrize(
    ("z", "y"),
    [
        ([50.0, 0.0, -3.0], [1.0, 0.0, 0.0]),
        ([50.0, 0.0, -3.0], [0.0, 1.0, 0.0]),
        ([-700.0, 0.0, 2.0], [1.0, 0.0, 0.0]),
        ([40.0, 40.0, -10.0], [1.0, 0.0, 0.0]),
        ([-30.0, 45.0, 2.0], [0.25, 0.5, 0.25]),
    ],
)
def test_softmax_cross_entropy_delta_at_saturated_logits_is_exact(
    z: list[float], y: list[float]
) -> None:
    """delta_j = a_j sum(y) - y_j, and dC0/da_j = -y_j / a_j, with a and 1 - a from z."""
    net = Network((3, 3), "linear", "softmax", "cross_entropy")
    params = make_params([np.diag(z)], [[0.0, 0.0, 0.0]])
    trace = net.trace(params, np.ones((3, 1)), np.array(y)[:, None])
    with localcontext() as ctx:
        ctx.prec = PRECISION
        e = [exp(x) for x in z]
        a = [x / sum(e) for x in e]
        total = sum(dec(x) for x in y)
    for j in range(3):
        rule = chain_rule_at(net, params, trace, 1, j, j, 0)
        assert rule.da_dz is None  # softmax: da/dz is a Jacobian, delta is shown directly
        with localcontext() as ctx:
            ctx.prec = PRECISION
            delta = a[j] * total - dec(y[j])
            dC_da = -dec(y[j]) / a[j]
        assert close(rule.dC_dz, delta)
        assert close(rule.dC_da, dC_da)
        assert rule.factors == (rule.dz_dw, rule.dC_dz)


def test_a_saturated_hidden_unit_keeps_its_slope() -> None:
    """A hidden sigmoid at z = 45: the engine's a(1 - a) is 0, sigma'(45) is not."""
    net = Network((1, 1, 1), "sigmoid", "sigmoid", "squared_error")
    params = make_params([[[45.0]], [[0.5]]], [[0.0], [0.0]])
    trace = net.trace(params, np.array([[1.0]]), np.array([[0.0]]))
    rule = chain_rule_at(net, params, trace, 1, 0, 0, 0)
    assert trace.delta[1][0, 0] == 0.0 and rule.recorded == 0.0
    with localcontext() as ctx:
        ctx.prec = PRECISION
        t = exp(-45)
        slope = t / (1 + t) ** 2
    assert rule.da_dz is not None and close(rule.da_dz, slope)
    (path,) = rule.paths
    assert path.weight == 0.5 and path.recorded == trace.delta[2][0, 0]
    assert path.delta == pytest.approx(path.recorded, rel=1e-15)  # unsaturated output
    assert rule.dC_da == 0.5 * path.delta
    assert rule.dC_dz == rule.da_dz * rule.dC_da != 0.0


def textbook(activation: str, loss: str, z: float, y: float) -> tuple[Decimal, Decimal, Decimal]:
    """(da/dz, dC0/da, delta) by the textbook formulas from a = g(z), in PRECISION digits."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        if activation == "sigmoid":
            a = 1 / (1 + exp(-z))
            slope = a * (1 - a)
        else:
            a = (1 - exp(-2 * dec(z))) / (1 + exp(-2 * dec(z)))
            slope = 1 - a * a
        Y = dec(y)
        dC_da = {
            "squared_error": lambda: 2 * (a - Y),
            "half_squared_error": lambda: a - Y,
            "cross_entropy": lambda: -Y / a,
            "binary_cross_entropy": lambda: -Y / a + (1 - Y) / (1 - a),
        }[loss]()
        return slope, dC_da, slope * dC_da


PAIRS = [
    ("sigmoid", loss, z, y)
    for loss in ("squared_error", "half_squared_error", "cross_entropy", "binary_cross_entropy")
    for z in SATURATED
    for y in (0.0, 1.0, 0.25)
] + [
    ("tanh", loss, z, y)
    for loss in ("squared_error", "half_squared_error")
    for z in (20.0, -20.0, 100.0, -300.0, 700.0)
    for y in (1.0, -1.0, 0.5)
]


@pytest.mark.parametrize(("activation", "loss", "z", "y"), PAIRS)
def test_every_saturated_output_pair_against_the_textbook_formulas(
    activation: str, loss: str, z: float, y: float
) -> None:
    """g'(z), dC0/da and delta against g'(a), dC0/da(a) and their product at 800 digits.

    Where the true value is past the largest float (none here) it could not
    be shown; where it is below the smallest subnormal, 0 is its rounding.
    """
    rule, _ = one_unit(activation, loss, z, y)
    slope, dC_da, delta = textbook(activation, loss, z, y)
    assert rule.da_dz is not None
    assert close(rule.da_dz, slope)
    assert close(rule.dC_da, dC_da)
    assert close(rule.dC_dz, delta, ulps=2 * ULPS)
    for got, want in ((rule.da_dz, slope), (rule.dC_da, dC_da), (rule.dC_dz, delta)):
        assert (got != 0.0) == (abs(want) >= Decimal(math.ulp(0.0)) / 2)  # nonzero where exact


# --- away from saturation: the engine's numbers and finite differences ---------------

COMBOS = [
    (hidden, output, loss)
    for loss, outputs in OUTPUTS_FOR_LOSS.items()
    for output in outputs
    for hidden in HIDDEN_ACTIVATIONS
]


def random_case(
    hidden: str, output: str, loss: str, seed: int
) -> tuple[Network, Params, np.ndarray, np.ndarray]:
    """A 3-4-3-2 network (3 output units for softmax) with targets that suit the loss."""
    rng = np.random.default_rng(seed)
    layers = (3, 4, 3, 3 if output == "softmax" else 2)
    net = Network(layers, hidden, output, loss)
    params = random_params(rng, layers)
    X = rng.normal(size=(layers[0], 5))
    if loss == "cross_entropy":
        Y = np.eye(layers[-1])[:, rng.integers(0, layers[-1], size=5)]
    elif loss == "binary_cross_entropy":
        Y = rng.uniform(0.0, 1.0, size=(layers[-1], 5))
    else:
        Y = rng.normal(size=(layers[-1], 5))
    return net, params, X, Y


def example_cost(net: Network, params: Params, X: np.ndarray, Y: np.ndarray, i: int) -> float:
    """C_0 of example i alone (the batch cost of a batch of one)."""
    return net.cost(params, X[:, i : i + 1], Y[:, i : i + 1])


def nudged(params: Params, l: int, j: int, k: int, h: float) -> Params:
    """`params` with w_jk^(l) moved by h."""
    W = np.array(params.W[l])
    W[j, k] += h
    return params.replace(l, W=W)


@pytest.mark.parametrize(("hidden", "output", "loss"), COMBOS)
def test_factors_agree_with_the_engine_and_finite_differences(
    hidden: str, output: str, loss: str
) -> None:
    """Away from saturation: the engine's delta to 1e-12, and dC0/dw to a centred difference."""
    net, params, X, Y = random_case(hidden, output, loss, seed=len(hidden + output + loss))
    trace = net.trace(params, X, Y)
    h = 1e-6
    for l in range(1, net.depth + 1):
        rows, cols = params.W[l].shape
        for j, k, i in [(0, 0, 0), (rows - 1, cols - 1, 4), (rows // 2, cols // 2, 2)]:
            rule = chain_rule_at(net, params, trace, l, j, k, i)
            assert rule.dC_dz == pytest.approx(trace.delta[l][j, i], rel=1e-12, abs=1e-15)
            assert rule.recorded == trace.delta[l][j, i]
            assert rule.product == rule.dz_dw * rule.dC_dz
            assert rule.batch_mean == trace.dW[l][j, k]
            if rule.da_dz is not None:
                assert rule.da_dz * rule.dC_da == pytest.approx(rule.dC_dz, rel=1e-13, abs=1e-16)
            for p in rule.paths:
                assert p.delta == pytest.approx(p.recorded, rel=1e-12, abs=1e-15)
            if rule.paths:
                assert rule.dC_da == pytest.approx(
                    sum(p.weight * p.delta for p in rule.paths), rel=1e-12, abs=1e-15
                )
            up = example_cost(net, nudged(params, l, j, k, h), X, Y, i)
            down = example_cost(net, nudged(params, l, j, k, -h), X, Y, i)
            numeric = (up - down) / (2 * h)
            assert rule.product == pytest.approx(numeric, rel=1e-5, abs=1e-7)


def test_the_batch_mean_is_the_mean_of_the_engines_per_example_products() -> None:
    """`per_example` and `batch_mean` are the engine's dW: the matrix the update uses."""
    net, params, X, Y = random_case("tanh", "sigmoid", "squared_error", seed=3)
    trace = net.trace(params, X, Y)
    rule = chain_rule_at(net, params, trace, 2, 1, 2, 0)
    want = trace.delta[2][1, :] * trace.a[1][2, :]
    assert rule.per_example == tuple(want)
    assert np.mean(rule.per_example) == pytest.approx(rule.batch_mean, rel=1e-14)
