"""The engine's backward pass against an independent scalar autograd.

The network is rebuilt from the engine's parameters as a graph of
`scalar_autograd.Value`s (one node per weight, bias, z and a, Python floats
only), its cost is differentiated by reverse-mode autodiff, and every number
the engine records is compared with it: the costs, dC/dW (with the
regularization term), dC/db, and per example dC_0/dz^(l) (delta) and
dC_0/da^(L). The first tests check the checker itself on textbook derivatives.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from bpdebug.engine import Network, init_params

try:
    from tests.scalar_autograd import Value, sigmoid, softmax, total
except ImportError:  # pytest put tests/ itself on sys.path
    from scalar_autograd import Value, sigmoid, softmax, total  # type: ignore[no-redef]

RTOL = 1e-9
ATOL = 1e-12

# --- the checker checked -------------------------------------------------------------


def derivative(f, x: float) -> float:
    """df/dx at x by the scalar autograd."""
    v = Value(x)
    f(v).backward()
    return v.grad


@pytest.mark.parametrize("x", [-1.7, -0.3, 0.4, 2.5])
def test_textbook_derivatives(x: float) -> None:
    cases = [
        (lambda v: v * v.exp(), (1.0 + x) * math.exp(x)),  # product rule
        (lambda v: (1.0 + v**2).log(), 2.0 * x / (1.0 + x * x)),  # chain rule
        (lambda v: v.tanh(), 1.0 / math.cosh(x) ** 2),
        (lambda v: sigmoid(v), math.exp(-x) / (1.0 + math.exp(-x)) ** 2),
        (lambda v: 1.0 / (v * v + 1.0), -2.0 * x / (x * x + 1.0) ** 2),  # quotient
        (lambda v: (v - 3.0) ** 3, 3.0 * (x - 3.0) ** 2),
        (lambda v: v * v * v - v / 2.0, 3.0 * x * x - 0.5),  # a node used twice
        (lambda v: (v * 2.0).relu(), 2.0 if x > 0 else 0.0),
        (lambda v: v.leaky_relu(), 1.0 if x > 0 else 0.01),
        (lambda v: (-v).abs(), 1.0 if x > 0 else -1.0),
        (lambda v: 5.0 - v.exp() * v.tanh(), -math.exp(x) * (math.tanh(x) + 1 / math.cosh(x) ** 2)),
    ]
    for f, expected in cases:
        assert derivative(f, x) == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_softmax_jacobian_and_values() -> None:
    zs = [0.3, -1.2, 2.0]
    e = [math.exp(z) for z in zs]
    s = [x / sum(e) for x in e]
    for j in range(3):
        leaves = [Value(z) for z in zs]
        out = softmax(leaves)
        assert out[j].data == pytest.approx(s[j], rel=1e-15)
        out[j].backward()
        for k in range(3):  # da_j/dz_k = a_j (delta_jk - a_k)
            expected = s[j] * ((j == k) - s[k])
            assert leaves[k].grad == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_multivariate_against_finite_differences() -> None:
    def f(x: Value, y: Value) -> Value:
        return (x * y + y.exp()).log() * (x - y).tanh() + (x**2 + y**2) ** 0.5

    p = (0.7, 1.3)
    x, y = Value(p[0]), Value(p[1])
    f(x, y).backward()
    h = 1e-6
    for i, got in enumerate((x.grad, y.grad)):
        hi = [Value(c + (h if k == i else 0.0)) for k, c in enumerate(p)]
        lo = [Value(c - (h if k == i else 0.0)) for k, c in enumerate(p)]
        numeric = (f(*hi).data - f(*lo).data) / (2 * h)
        assert got == pytest.approx(numeric, rel=1e-7)


def test_backward_resets_and_accumulates() -> None:
    x = Value(3.0)
    y = x * x + x  # x reached along three paths
    y.backward()
    y.backward()  # a second pass starts from zero, not from the first one's grads
    assert x.grad == 7.0


# --- the engine checked --------------------------------------------------------------

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]
OUTPUT_LOSS = [
    (out, loss)
    for loss in ("squared_error", "half_squared_error")
    for out in ("sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax")
] + [
    (out, loss)
    for loss in ("cross_entropy", "binary_cross_entropy")
    for out in ("sigmoid", "softmax")
]
SHAPES = [(2, 3, 1), (3, 4, 2), (2, 2, 2, 2)]
REGS = [(0.0, 0.0), (0.03, 0.0), (0.02, 0.07)]
CASES = [
    pytest.param(
        hidden, output, loss, shape, id=f"{hidden}-{output}-{loss}-{'x'.join(map(str, shape))}"
    )
    for hidden in HIDDEN
    for output, loss in OUTPUT_LOSS
    for shape in SHAPES
    if not (output == "softmax" and shape[-1] < 2)  # softmax needs two output units
]

ELEMENTWISE = {
    "sigmoid": sigmoid,
    "tanh": Value.tanh,
    "relu": Value.relu,
    "leaky_relu": Value.leaky_relu,
    "linear": lambda v: v,
}


def per_example_cost(loss: str, a: list[Value], y: list[float]) -> Value:
    """C_0 of one example from its output activations, written from the contract's table."""
    if loss == "squared_error":
        return total((aj - yj) ** 2 for aj, yj in zip(a, y, strict=True))
    if loss == "half_squared_error":
        return 0.5 * total((aj - yj) ** 2 for aj, yj in zip(a, y, strict=True))
    if loss == "cross_entropy":
        return -total(yj * aj.log() for aj, yj in zip(a, y, strict=True))
    assert loss == "binary_cross_entropy"
    return -total(
        yj * aj.log() + (1.0 - yj) * (1.0 - aj).log() for aj, yj in zip(a, y, strict=True)
    )


class Graph:
    """The network as Values: W[l][j][k] and b[l][j] leaves built from engine params."""

    def __init__(self, params, hidden: str, output: str, loss: str) -> None:
        self.depth = params.depth
        self.W = [[]] + [
            [[Value(float(w)) for w in row] for row in params.W[l]]
            for l in range(1, self.depth + 1)
        ]
        self.b = [[]] + [[Value(float(x)) for x in params.b[l]] for l in range(1, self.depth + 1)]
        self.hidden, self.output, self.loss = hidden, output, loss

    def example(
        self, x: list[float], y: list[float]
    ) -> tuple[Value, list[list[Value]], list[Value]]:
        """(C_0, z per layer, a^(L)) for one example."""
        a: list[Value] = [Value(xi) for xi in x]
        zs: list[list[Value]] = [[]]
        for l in range(1, self.depth + 1):
            z = [
                total(w * ak for w, ak in zip(row, a, strict=True)) + bj
                for row, bj in zip(self.W[l], self.b[l], strict=True)
            ]
            zs.append(z)
            name = self.output if l == self.depth else self.hidden
            a = softmax(z) if name == "softmax" else [ELEMENTWISE[name](zj) for zj in z]
        return per_example_cost(self.loss, a, y), zs, a

    def weights(self) -> list[Value]:
        return [w for l in range(1, self.depth + 1) for row in self.W[l] for w in row]


def random_case(shape, output: str, loss: str, m: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 1.0, size=(shape[0], m))
    n = shape[-1]
    if loss == "cross_entropy":
        Y = np.eye(n)[:, rng.integers(0, n, size=m)]
    elif loss == "binary_cross_entropy":
        Y = rng.uniform(0.0, 1.0, size=(n, m))
    else:
        Y = rng.uniform(-1.0, 1.0, size=(n, m))
    params = init_params(shape, "uniform", seed, init_range=1.0)
    return params, X, Y


def close(got, expected) -> None:
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("l1,l2", REGS)
@pytest.mark.parametrize("m", [1, 4])
@pytest.mark.parametrize("hidden,output,loss,shape", CASES)
def test_engine_matches_scalar_autograd(hidden, output, loss, shape, m, l1, l2) -> None:
    seed = zlib.crc32(repr((hidden, output, loss, shape, m, l1, l2)).encode())
    params, X, Y = random_case(shape, output, loss, m, seed)
    L = params.depth
    xs = [[float(v) for v in X[:, i]] for i in range(m)]
    ys = [[float(v) for v in Y[:, i]] for i in range(m)]

    # Batch graph: C = mean C_0 + l1 sum|w| + l2/2 sum w^2, then dC/dW, dC/db.
    g = Graph(params, hidden, output, loss)
    costs = [g.example(x, y)[0] for x, y in zip(xs, ys, strict=True)]
    data_cost = total(costs) / m
    ws = g.weights()
    reg = l1 * total(w.abs() for w in ws) + l2 / 2 * total(w * w for w in ws)
    C = data_cost + reg
    C.backward()

    # Per example: a fresh graph of C_0 alone gives dC_0/dz^(l) and dC_0/da^(L).
    examples = []
    for x, y in zip(xs, ys, strict=True):
        c0, zs, aL = Graph(params, hidden, output, loss).example(x, y)
        c0.backward()
        examples.append((c0, zs, aL))

    for fused in (True, False):
        net = Network(shape, hidden, output, loss, l1=l1, l2=l2, fused=fused)
        trace = net.trace(params, X, Y)
        close(trace.cost, C.data)
        close(trace.data_cost, data_cost.data)
        close(trace.reg_cost, reg.data)
        close(trace.per_example_cost, [c.data for c in costs])
        for l in range(1, L + 1):
            engine_dW = trace.dW[l] + trace.dW_reg[l] if trace.dW_reg[l].size else trace.dW[l]
            close(engine_dW, [[w.grad for w in row] for row in g.W[l]])
            close(trace.grad_W(l), engine_dW)
            close(trace.db[l], [b.grad for b in g.b[l]])
        for i, (c0, zs, aL) in enumerate(examples):
            close(trace.per_example_cost[i], c0.data)
            close(trace.dC_da[:, i], [a.grad for a in aL])
            for l in range(1, L + 1):
                close(trace.delta[l][:, i], [z.grad for z in zs[l]])
