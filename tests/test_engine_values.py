"""Engine values worked out by hand, in the seeds' notation.

Each test writes its arithmetic out, so that a reader can hold it next to
3Blue1Brown's chain rule or the NumPy walk-through and see the same numbers.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import make_params, random_params, random_targets

from bpdebug.engine import ACTIVATION_TYPES, LOSS_TYPES, Network, get_activation, get_loss
from bpdebug.engine.activations import LEAKY_SLOPE

EXACT = {"rtol": 1e-12, "atol": 0.0}
"""Tolerance for a hand computation that follows the same arithmetic."""


def s(z: float) -> float:
    """The sigmoid, by hand."""
    return 1.0 / (1.0 + math.exp(-z))


def ds(z: float) -> float:
    """sigma'(z) = sigma(z) (1 - sigma(z)), by hand."""
    return s(z) * (1.0 - s(z))


# -- (a) the NumPy walk-through ------------------------------------------------

WALK_W = [[0.1, 0.3], [0.2, 0.4]]
WALK_B = [0.1, 0.1]
WALK_A_PREV = [0.5, 0.2]


def walkthrough_backward(
    d_next: np.ndarray, w_next: np.ndarray, z_curr: np.ndarray, a_prev: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The walk-through's Snippet 2, verbatim apart from the names of the helpers."""
    g_prime = s_vec(z_curr) * (1 - s_vec(z_curr))
    d_curr = np.dot(w_next.T, d_next) * g_prime
    dw = np.dot(d_curr, a_prev.T)
    db = d_curr
    return d_curr, dw, db


def s_vec(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def test_walkthrough_forward_layer() -> None:
    """z = W a_prev + b and a = sigma(z) for the walk-through's example layer."""
    net = Network((2, 2), "sigmoid", "sigmoid", "squared_error")
    params = make_params([WALK_W], [WALK_B])
    X = np.array(WALK_A_PREV)[:, None]
    z, a = net.forward(params, X)
    z_0 = 0.1 * 0.5 + 0.3 * 0.2 + 0.1  # = 0.21
    z_1 = 0.2 * 0.5 + 0.4 * 0.2 + 0.1  # = 0.28
    assert z_0 == pytest.approx(0.21, rel=1e-15) and z_1 == pytest.approx(0.28, rel=1e-15)
    np.testing.assert_allclose(z[1], [[z_0], [z_1]], **EXACT)
    np.testing.assert_allclose(
        a[1], [[1 / (1 + math.exp(-z_0))], [1 / (1 + math.exp(-z_1))]], **EXACT
    )
    assert z[1].shape == (2, 1) and a[1].shape == (2, 1)


def test_walkthrough_backward_snippet_is_the_hidden_rule() -> None:
    """Snippet 2 (d_next = [0.1, 0.2]) equals the engine's hidden-layer rule, by hand."""
    z = np.array([[0.21], [0.28]])
    d_next = np.array([[0.1], [0.2]])
    W = np.array(WALK_W)
    d_curr, dw, db = walkthrough_backward(d_next, W, z, np.array(WALK_A_PREV)[:, None])
    # W.T @ d_next = [0.1*0.1 + 0.2*0.2, 0.3*0.1 + 0.4*0.2] = [0.05, 0.11]
    by_hand = np.array([[0.05 * ds(0.21)], [0.11 * ds(0.28)]])
    np.testing.assert_allclose(d_curr, by_hand, **EXACT)
    np.testing.assert_allclose(
        dw,
        [[by_hand[0, 0] * 0.5, by_hand[0, 0] * 0.2], [by_hand[1, 0] * 0.5, by_hand[1, 0] * 0.2]],
        **EXACT,
    )
    np.testing.assert_array_equal(db, d_curr)
    sigmoid = get_activation("sigmoid")
    engine_rule = sigmoid.backprop(z, sigmoid(z), W.T @ d_next)
    np.testing.assert_allclose(engine_rule, by_hand, **EXACT)


def test_walkthrough_two_layer_network_by_hand() -> None:
    """[2, 2, 2] sigmoid net, both layers the walk-through's W and b, target y = [1, 0].

    delta^(2) = 2 (a^(2) - y) sigma'(z^(2)) is worked out by hand, then
    delta^(1) = W2.T @ delta^(2) * sigma'(z^(1)), and dW, db from them.
    """
    net = Network((2, 2, 2), "sigmoid", "sigmoid", "squared_error")
    params = make_params([WALK_W, WALK_W], [WALK_B, WALK_B])
    X = np.array([[0.5], [0.2]])
    Y = np.array([[1.0], [0.0]])
    trace = net.trace(params, X, Y)

    z1 = [0.1 * 0.5 + 0.3 * 0.2 + 0.1, 0.2 * 0.5 + 0.4 * 0.2 + 0.1]  # [0.21, 0.28]
    a1 = [s(z1[0]), s(z1[1])]
    z2 = [0.1 * a1[0] + 0.3 * a1[1] + 0.1, 0.2 * a1[0] + 0.4 * a1[1] + 0.1]
    a2 = [s(z2[0]), s(z2[1])]
    d2 = [2 * (a2[0] - 1.0) * ds(z2[0]), 2 * (a2[1] - 0.0) * ds(z2[1])]
    # W2.T @ d2: column k of W2 collects the paths out of unit k of layer 1.
    d1 = [(0.1 * d2[0] + 0.2 * d2[1]) * ds(z1[0]), (0.3 * d2[0] + 0.4 * d2[1]) * ds(z1[1])]
    cost = (a2[0] - 1.0) ** 2 + (a2[1] - 0.0) ** 2

    np.testing.assert_allclose(trace.z[1][:, 0], z1, **EXACT)
    np.testing.assert_allclose(trace.a[1][:, 0], a1, **EXACT)
    np.testing.assert_allclose(trace.z[2][:, 0], z2, **EXACT)
    np.testing.assert_allclose(trace.a[2][:, 0], a2, **EXACT)
    assert trace.cost == pytest.approx(cost, rel=1e-12)
    np.testing.assert_allclose(trace.dC_da[:, 0], [2 * (a2[0] - 1.0), 2 * a2[1]], **EXACT)
    np.testing.assert_allclose(trace.delta[2][:, 0], d2, **EXACT)
    np.testing.assert_allclose(trace.delta[1][:, 0], d1, **EXACT)
    # dW^(l)_jk = delta^(l)_j a^(l-1)_k (m = 1), db^(l) = delta^(l)
    np.testing.assert_allclose(
        trace.dW[2], [[d2[0] * a1[0], d2[0] * a1[1]], [d2[1] * a1[0], d2[1] * a1[1]]], **EXACT
    )
    np.testing.assert_allclose(
        trace.dW[1], [[d1[0] * 0.5, d1[0] * 0.2], [d1[1] * 0.5, d1[1] * 0.2]], **EXACT
    )
    np.testing.assert_allclose(trace.db[2], d2, **EXACT)
    np.testing.assert_allclose(trace.db[1], d1, **EXACT)
    # And the walk-through's own snippet, fed the engine's delta^(2), gives its delta^(1).
    d_curr, dw, _ = walkthrough_backward(trace.delta[2], params.W[2], trace.z[1], X)
    np.testing.assert_allclose(trace.delta[1], d_curr, **EXACT)
    np.testing.assert_allclose(trace.dW[1], dw, **EXACT)


# -- (b) 3Blue1Brown's one-neuron-per-layer chain --------------------------------


def test_3b1b_chain_by_hand() -> None:
    """1-1-1-1 sigmoid chain: dC/dw^(L) = a^(L-1) sigma'(z^(L)) 2(a^(L) - y), iterated back."""
    w = {1: 0.8, 2: -1.3, 3: 2.1}
    b = {1: 0.2, 2: 0.5, 3: -0.4}
    x, y = 0.7, 1.0
    net = Network((1, 1, 1, 1), "sigmoid", "sigmoid", "squared_error")
    params = make_params([[[w[1]]], [[w[2]]], [[w[3]]]], [[b[1]], [b[2]], [b[3]]])
    trace = net.trace(params, np.array([[x]]), np.array([[y]]))

    a = {0: x}
    z = {}
    for l in (1, 2, 3):
        z[l] = w[l] * a[l - 1] + b[l]
        a[l] = s(z[l])
    dC_da = {3: 2 * (a[3] - y)}  # dC_0/da^(L)
    dC_dw, dC_db = {}, {}
    for l in (3, 2, 1):
        dC_dw[l] = a[l - 1] * ds(z[l]) * dC_da[l]
        dC_db[l] = ds(z[l]) * dC_da[l]
        dC_da[l - 1] = w[l] * ds(z[l]) * dC_da[l]  # sensitivity to the previous activation

    assert trace.cost == pytest.approx((a[3] - y) ** 2, rel=1e-12)
    for l in (1, 2, 3):
        assert trace.z[l][0, 0] == pytest.approx(z[l], rel=1e-12)
        assert trace.a[l][0, 0] == pytest.approx(a[l], rel=1e-12)
        assert trace.dW[l][0, 0] == pytest.approx(dC_dw[l], rel=1e-12)
        assert trace.db[l][0] == pytest.approx(dC_db[l], rel=1e-12)
        assert trace.delta[l][0, 0] == pytest.approx(dC_db[l], rel=1e-12)
    # Layer L-1's sensitivity is the next layer's rule: W^(l+1).T @ delta^(l+1).
    assert (params.W[3].T @ trace.delta[3])[0, 0] == pytest.approx(dC_da[2], rel=1e-12)


# -- (c) the batch mean ------------------------------------------------------------


@pytest.mark.parametrize(
    "loss,output",
    [
        ("squared_error", "sigmoid"),
        ("cross_entropy", "softmax"),
        ("binary_cross_entropy", "sigmoid"),
    ],
)
def test_batch_gradients_are_means_of_single_example_ones(loss: str, output: str) -> None:
    """m = 3: dW, db are the means of three m = 1 passes; delta column i is example i's."""
    rng = np.random.default_rng(3)
    layers = (3, 4, 2)
    net = Network(layers, "tanh", output, loss, l2=0.0)
    params = random_params(rng, layers)
    X = rng.normal(size=(3, 3))
    Y = random_targets(rng, loss, 2, 3)
    batch = net.trace(params, X, Y)
    singles = [net.trace(params, X[:, i : i + 1], Y[:, i : i + 1]) for i in range(3)]
    for l in (1, 2):
        np.testing.assert_allclose(
            batch.dW[l], sum(t.dW[l] for t in singles) / 3, rtol=1e-12, atol=1e-15
        )
        np.testing.assert_allclose(
            batch.db[l], sum(t.db[l] for t in singles) / 3, rtol=1e-12, atol=1e-15
        )
        for i, t in enumerate(singles):
            np.testing.assert_allclose(batch.delta[l][:, i], t.delta[l][:, 0], **EXACT)
            np.testing.assert_allclose(batch.z[l][:, i], t.z[l][:, 0], **EXACT)
    np.testing.assert_allclose(batch.per_example_cost, [t.cost for t in singles], **EXACT)
    assert batch.cost == pytest.approx(np.mean([t.cost for t in singles]), rel=1e-12)
    assert batch.batch_size == 3


def test_trace_shapes_follow_the_contract() -> None:
    """z, a, delta are (n_l, m); dW is (n_l, n_{l-1}); db is (n_l,); all read-only."""
    rng = np.random.default_rng(0)
    layers = (3, 5, 4, 2)
    net = Network(layers, "relu", "softmax", "cross_entropy", l2=0.1)
    params = random_params(rng, layers)
    trace = net.trace(params, rng.normal(size=(3, 6)), random_targets(rng, "cross_entropy", 2, 6))
    assert trace.depth == 3
    for l in range(1, 4):
        for name in ("z", "a", "delta"):
            assert getattr(trace, name)[l].shape == (layers[l], 6)
            assert not getattr(trace, name)[l].flags.writeable
        assert trace.dW[l].shape == (layers[l], layers[l - 1])
        assert trace.dW_reg[l].shape == (layers[l], layers[l - 1])
        assert trace.db[l].shape == (layers[l],)
        assert not trace.dW[l].flags.writeable and not trace.db[l].flags.writeable
        np.testing.assert_array_equal(trace.dW_reg[l], 0.1 * params.W[l])
        np.testing.assert_array_equal(trace.grad_W(l), trace.dW[l] + 0.1 * params.W[l])
    assert trace.per_example_cost.shape == (6,)
    assert trace.dC_da.shape == (2, 6)


def test_regularization_by_hand() -> None:
    """reg = l1 sum|W| + l2/2 sum W^2 over weights only; its gradient l1 sign(W) + l2 W."""
    net = Network((2, 2, 1), "sigmoid", "sigmoid", "squared_error", l1=0.1, l2=0.2)
    params = make_params([[[1.0, -2.0], [0.0, 3.0]], [[-0.5, 0.5]]], [[9.0, 9.0], [9.0]])
    trace = net.trace(params, np.array([[1.0], [0.0]]), np.array([[1.0]]))
    abs_sum = 1 + 2 + 0 + 3 + 0.5 + 0.5  # = 7, biases excluded
    sq_sum = 1 + 4 + 0 + 9 + 0.25 + 0.25  # = 14.5
    assert trace.reg_cost == pytest.approx(0.1 * abs_sum + 0.5 * 0.2 * sq_sum, rel=1e-12)
    assert trace.cost == pytest.approx(trace.data_cost + trace.reg_cost, rel=1e-15)
    np.testing.assert_allclose(
        trace.dW_reg[1], [[0.1 + 0.2, -0.1 - 0.4], [0.0, 0.1 + 0.6]], **EXACT
    )
    np.testing.assert_allclose(trace.dW_reg[2], [[-0.1 - 0.1, 0.1 + 0.1]], **EXACT)
    assert net.cost(params, np.array([[1.0], [0.0]]), np.array([[1.0]])) == pytest.approx(
        trace.cost, rel=1e-14
    )


# -- (d) activations and losses ---------------------------------------------------

ZS = np.array([[-3.0, -0.5, 0.0, 0.5, 3.0]])


@pytest.mark.parametrize(
    "name,value,derivative",
    [
        ("sigmoid", [s(z) for z in ZS[0]], [ds(z) for z in ZS[0]]),
        ("tanh", [math.tanh(z) for z in ZS[0]], [1 - math.tanh(z) ** 2 for z in ZS[0]]),
        ("relu", [0.0, 0.0, 0.0, 0.5, 3.0], [0.0, 0.0, 0.0, 1.0, 1.0]),  # 0 at z = 0
        ("leaky_relu", [-0.03, -0.005, 0.0, 0.5, 3.0], [0.01, 0.01, 0.01, 1.0, 1.0]),
        ("linear", [-3.0, -0.5, 0.0, 0.5, 3.0], [1.0, 1.0, 1.0, 1.0, 1.0]),
    ],
)
def test_elementwise_activation_values(
    name: str, value: list[float], derivative: list[float]
) -> None:
    """g(z) and g'(z) at z = -3, -0.5, 0, 0.5, 3; backprop is g'(z) * dC/da."""
    g = get_activation(name)
    a = g(ZS)
    np.testing.assert_allclose(a, [value], rtol=1e-14, atol=0.0)
    np.testing.assert_allclose(g.derivative(ZS, a), [derivative], rtol=1e-14, atol=0.0)
    upstream = np.array([[1.5, -2.0, 0.25, 4.0, -1.0]])
    np.testing.assert_allclose(
        g.backprop(ZS, a, upstream), upstream * np.array([derivative]), rtol=1e-14, atol=0.0
    )
    assert g.elementwise


def test_leaky_slope_is_the_contracts() -> None:
    assert LEAKY_SLOPE == 0.01
    g = get_activation("leaky_relu")
    z = np.array([[-100.0]])
    assert g(z)[0, 0] == pytest.approx(-1.0, rel=1e-15)


def test_activation_registry_is_the_contracts() -> None:
    assert set(ACTIVATION_TYPES) == {"sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"}
    assert set(LOSS_TYPES) == {
        "squared_error",
        "half_squared_error",
        "cross_entropy",
        "binary_cross_entropy",
    }


def test_softmax_values_by_hand() -> None:
    """softmax([1, 2, 3]) = e^z / (e^1 + e^2 + e^3), column by column."""
    z = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    a = get_activation("softmax")(z)
    total = math.exp(1) + math.exp(2) + math.exp(3)
    np.testing.assert_allclose(
        a[:, 0], [math.exp(1) / total, math.exp(2) / total, math.exp(3) / total], **EXACT
    )
    np.testing.assert_allclose(a[:, 1], [1 / 3, 1 / 3, 1 / 3], **EXACT)
    np.testing.assert_allclose(a.sum(axis=0), [1.0, 1.0], **EXACT)


def test_softmax_backprop_is_the_jacobian_product() -> None:
    """dC/dz = J^T dC/da with J_jk = da_j/dz_k = a_j (delta_jk - a_k), per column."""
    rng = np.random.default_rng(1)
    softmax = get_activation("softmax")
    z = rng.normal(size=(4, 3))
    a = softmax(z)
    upstream = rng.normal(size=(4, 3))
    got = softmax.backprop(z, a, upstream)
    assert not softmax.elementwise
    for i in range(3):
        col = a[:, i]
        J = np.diag(col) - np.outer(col, col)
        np.testing.assert_allclose(got[:, i], J.T @ upstream[:, i], rtol=1e-12, atol=1e-15)
        # and J by finite differences of softmax itself
        h = 1e-6
        J_fd = np.column_stack(
            [
                (softmax((z[:, i] + h * e)[:, None]) - softmax((z[:, i] - h * e)[:, None]))[:, 0]
                / (2 * h)
                for e in np.eye(4)
            ]
        )
        np.testing.assert_allclose(J_fd, J, rtol=1e-6, atol=1e-9)


A = np.array([[0.2, 0.9], [0.7, 0.05]])
Y_ = np.array([[0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize(
    "name,value,gradient",
    [
        # C_0 = sum_j (a_j - y_j)^2;  dC_0/da = 2 (a - y)
        ("squared_error", [0.2**2 + 0.3**2, 0.1**2 + 0.05**2], [[0.4, -0.2], [-0.6, 0.1]]),
        # C_0 = 1/2 sum_j (a_j - y_j)^2;  dC_0/da = a - y
        (
            "half_squared_error",
            [0.5 * (0.2**2 + 0.3**2), 0.5 * (0.1**2 + 0.05**2)],
            [[0.2, -0.1], [-0.3, 0.05]],
        ),
        # C_0 = -sum_j y_j log a_j;  dC_0/da = -y / a (0 where y = 0)
        ("cross_entropy", [-math.log(0.7), -math.log(0.9)], [[0.0, -1 / 0.9], [-1 / 0.7, 0.0]]),
        # C_0 = -sum_j [y log a + (1-y) log(1-a)];  dC_0/da = (a - y) / (a (1 - a))
        (
            "binary_cross_entropy",
            [-math.log(0.8) - math.log(0.7), -math.log(0.9) - math.log(0.95)],
            [[0.2 / (0.2 * 0.8), -0.1 / (0.9 * 0.1)], [-0.3 / (0.7 * 0.3), 0.05 / (0.05 * 0.95)]],
        ),
    ],
)
def test_loss_values_and_gradients_by_hand(
    name: str, value: list[float], gradient: list[list[float]]
) -> None:
    loss = get_loss(name)
    np.testing.assert_allclose(loss.value(A, Y_), value, rtol=1e-13, atol=0.0)
    np.testing.assert_allclose(loss.gradient(A, Y_), gradient, rtol=1e-13, atol=0.0)
    assert loss.value(A, Y_).shape == (2,)


def test_cross_entropy_with_soft_targets_by_hand() -> None:
    a = np.array([[0.5], [0.3], [0.2]])
    y = np.array([[0.25], [0.25], [0.5]])
    loss = get_loss("cross_entropy")
    want = -(0.25 * math.log(0.5) + 0.25 * math.log(0.3) + 0.5 * math.log(0.2))
    assert loss.value(a, y)[0] == pytest.approx(want, rel=1e-14)
    np.testing.assert_allclose(loss.gradient(a, y)[:, 0], [-0.5, -0.25 / 0.3, -2.5], **EXACT)


@pytest.mark.parametrize(
    "output,loss", [("sigmoid", "binary_cross_entropy"), ("softmax", "cross_entropy")]
)
@pytest.mark.parametrize("one_hot", [True, False])
def test_fused_paths_equal_the_general_rule(output: str, loss: str, one_hot: bool) -> None:
    """The fused delta^(L) and cost equal the chain-rule path to 1e-12 relative."""
    rng = np.random.default_rng(7)
    layers = (3, 4, 3)
    fused = Network(layers, "tanh", output, loss, l2=0.01)
    general = Network(layers, "tanh", output, loss, l2=0.01, fused=False)
    params = random_params(rng, layers, scale=1.5)
    X = rng.normal(size=(3, 5))
    one_hot_Y = np.eye(3)[:, rng.integers(0, 3, size=5)]
    Y = one_hot_Y if one_hot else random_targets(rng, loss, 3, 5)
    t_fused, t_general = fused.trace(params, X, Y), general.trace(params, X, Y)
    assert t_fused.cost == pytest.approx(t_general.cost, rel=1e-12)
    np.testing.assert_allclose(
        t_fused.per_example_cost, t_general.per_example_cost, rtol=1e-12, atol=0.0
    )
    for l in (1, 2):
        for name in ("delta", "dW", "db"):
            got, want = getattr(t_fused, name)[l], getattr(t_general, name)[l]
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("z", [1000.0, -1000.0, 800.0, -745.5])
def test_sigmoid_and_softmax_do_not_overflow(z: float) -> None:
    """sigma and softmax at |z| ~ 1000 are finite, exact, and warn about nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = get_activation("sigmoid")(np.array([[z]]))
        assert a[0, 0] == (1.0 if z > 0 else 0.0) or 0 < a[0, 0] < 1e-300
        zs = np.array([[z, 0.0], [0.0, z], [-z, -z]])
        p = get_activation("softmax")(zs)
        assert np.isfinite(p).all()
        np.testing.assert_allclose(p.sum(axis=0), [1.0, 1.0], **EXACT)
        big = 0 if z > 0 else 2  # the unit holding the largest z takes all the mass
        assert p[big, 0] == 1.0


@pytest.mark.parametrize("z", [1000.0, -1000.0])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.3])
def test_fused_binary_cross_entropy_at_saturation(z: float, y: float) -> None:
    """C_0 = y softplus(-z) + (1-y) softplus(z) and delta = sigma(z) - y, no warning.

    At z = +1000, softplus(z) = 1000 and softplus(-z) = 0 (to double precision).
    """
    net = Network((1, 1), "sigmoid", "sigmoid", "binary_cross_entropy")
    params = make_params([[[1.0]]], [[0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trace = net.trace(params, np.array([[z]]), np.array([[y]]))
        cost = net.cost(params, np.array([[z]]), np.array([[y]]))
    want = (1 - y) * 1000.0 if z > 0 else y * 1000.0
    assert trace.cost == pytest.approx(want, rel=1e-12)
    assert cost == pytest.approx(want, rel=1e-12)
    assert trace.delta[1][0, 0] == pytest.approx((1.0 if z > 0 else 0.0) - y, abs=1e-300)
    assert np.isfinite(trace.dW[1]).all() and np.isfinite(trace.db[1]).all()


@pytest.mark.parametrize("z", [1000.0, -1000.0])
def test_fused_cross_entropy_at_saturation(z: float) -> None:
    """log-softmax keeps C_0 finite when a rounds to 0: C_0 = -sum y (z - logsumexp z)."""
    net = Network((3, 3), "linear", "softmax", "cross_entropy")
    params = make_params([np.eye(3)], [[0.0, 0.0, 0.0]])
    X = np.array([[z], [0.0], [-z]])
    Y = np.array([[0.2], [0.3], [0.5]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trace = net.trace(params, X, Y)
        cost = net.cost(params, X, Y)
    # log a = z - max(z) up to exp(-1000) = 0: log a = [0, -1000, -2000] for z = 1000.
    log_a = np.array([0.0, -1000.0, -2000.0]) if z > 0 else np.array([-2000.0, -1000.0, 0.0])
    want = -(0.2 * log_a[0] + 0.3 * log_a[1] + 0.5 * log_a[2])
    assert trace.cost == pytest.approx(want, rel=1e-12)
    assert cost == pytest.approx(want, rel=1e-12)
    a = np.exp(log_a)
    np.testing.assert_allclose(trace.delta[1][:, 0], a - Y[:, 0], rtol=1e-12, atol=0.0)
    assert trace.all_finite()


# -- the answers from z, for the chain rule's display ------------------------------

Z_GRID = np.array([[-3.0, -0.7, -1e-3, 0.0, 2e-3, 0.4, 1.5, 4.0]])
"""Logits away from saturation, where the answers from a and from z must agree."""


@pytest.mark.parametrize("name", sorted(ACTIVATION_TYPES))
def test_answers_from_z_agree_with_the_engines_away_from_saturation(name: str) -> None:
    """exact_derivative, residual, reciprocals and exact_backprop vs derivative, a - y,
    1/a, 1/(1 - a) and backprop, to 1e-12, where nothing has rounded away."""
    g = get_activation(name)
    z = np.vstack([Z_GRID, Z_GRID[:, ::-1] * 0.5])  # two units: softmax needs >= 2
    a = g(z)
    y = np.array([[0.0] * 8, [1.0] * 8])
    close = {"rtol": 1e-12, "atol": 1e-300}  # the forms from a lose digits as a nears 1
    np.testing.assert_allclose(g.exact_derivative(z), g.derivative(z, a), **close)
    np.testing.assert_allclose(g.residual(z, y), a - y, rtol=1e-12, atol=1e-16)
    dC_da = np.array([[0.3, -1.2, 2.0, 0.5, -0.1, 0.7, 1.1, -2.5], [1.0] * 8])
    np.testing.assert_allclose(g.exact_backprop(z, dC_da), g.backprop(z, a, dC_da), **close)
    if name in ("sigmoid", "softmax"):
        inverse_a, inverse_complement = g.reciprocals(z)
        np.testing.assert_allclose(inverse_a, 1.0 / a, **close)
        np.testing.assert_allclose(inverse_complement, 1.0 / (1.0 - a), rtol=1e-12)


@pytest.mark.parametrize("z", [40.0, 45.0, 100.0, 700.0])
def test_answers_from_z_keep_what_a_rounds_away(z: float) -> None:
    """sigmoid(z) and tanh(z) are exactly 1.0 here; 1 - a and g'(z) from z are not 0."""
    for name, complement, slope in (
        ("sigmoid", math.exp(-z) / (1 + math.exp(-z)), math.exp(-z) / (1 + math.exp(-z)) ** 2),
        ("tanh", 2 * math.exp(-2 * z) / (1 + math.exp(-2 * z)), None),
    ):
        g = get_activation(name)
        zz = np.array([[z]])
        assert g(zz)[0, 0] == 1.0
        if name == "tanh" and z > 350:
            continue  # 1 - tanh(z) is below the smallest float: 0 is its rounding
        assert g.residual(zz, np.array([[1.0]]))[0, 0] == pytest.approx(-complement, rel=1e-14)
        if slope is not None:
            assert g.exact_derivative(zz)[0, 0] == pytest.approx(slope, rel=1e-14)
    softmax = get_activation("softmax")
    zz = np.array([[z], [0.0]])
    assert softmax(zz)[0, 0] == 1.0 or z < 37
    complement = math.exp(-z) / (1 + math.exp(-z))  # 1 - a_0 = e^0 / (e^z + e^0)
    assert softmax.residual(zz, np.array([[1.0], [0.0]]))[0, 0] == pytest.approx(
        -complement, rel=1e-14
    )
