"""Optimizer updates against their formulas, written out element by element.

sgd: p <- p - lr g (the contract).
momentum (PyTorch's form): v <- mu v + g; p <- p - lr v, v starting at 0.
adam (Kingma & Ba, eps outside the square root as PyTorch places it):
  m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2;
  p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_params, readonly

from bpdebug.engine import OptimizerConfig, Params, apply_update, initial_state
from bpdebug.engine.network import EMPTY
from bpdebug.engine.optimizers import Adam, Momentum, Sgd, optimizer_for

EXACT = {"rtol": 1e-13, "atol": 1e-300}

# One weighted layer of 2x2 plus a second of 1x2, with gradients that change
# sign and size from update to update.
W0 = [[[0.5, -0.25], [1.0, 2.0]], [[-1.5, 0.75]]]
B0 = [[0.1, -0.2], [0.3]]
GRADS = [
    ([[[0.2, -0.4], [0.0, 1.0]], [[-0.3, 0.6]]], [[0.05, -0.1], [0.7]]),
    ([[[-0.1, 0.3], [0.5, -2.0]], [[0.2, 0.1]]], [[0.0, 0.4], [-0.2]]),
    ([[[0.3, 0.3], [-0.5, 0.25]], [[1.0, -1.0]]], [[-0.3, 0.2], [0.1]]),
    ([[[1e-3, -5.0], [0.0, 0.0]], [[0.0, 3.0]]], [[0.0, 0.0], [1e-4]]),
]


def grads(k: int) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """The k-th gradients as (grad_W, grad_b) per-layer tuples, index 0 unused, read-only."""
    gW, gb = GRADS[k]
    return (EMPTY, *(readonly(g) for g in gW)), (EMPTY, *(readonly(g) for g in gb))


def start() -> Params:
    return make_params(W0, B0)


def all_values(params: Params) -> list[float]:
    """W^(1), W^(2), b^(1), b^(2) flattened in that order."""
    return [float(x) for x in np.concatenate([np.ravel(a) for a in (*params.W[1:], *params.b[1:])])]


def all_grads(k: int) -> list[float]:
    """The k-th gradients flattened in the order of `all_values`."""
    gW, gb = GRADS[k]
    return [float(x) for x in np.concatenate([np.ravel(a) for a in (*gW, *gb)])]


def test_sgd_one_update() -> None:
    """p - lr g: W^(1)_00 = 0.5 - 0.1 * 0.2 = 0.48, and so on for every entry."""
    config = OptimizerConfig("sgd", learning_rate=0.1)
    params, state = apply_update(config, start(), *grads(0), initial_state(config, start()))
    assert params.W[1][0, 0] == pytest.approx(0.5 - 0.1 * 0.2, rel=1e-15)
    assert params.b[2][0] == pytest.approx(0.3 - 0.1 * 0.7, rel=1e-15)
    want = [p - 0.1 * g for p, g in zip(all_values(start()), all_grads(0), strict=True)]
    np.testing.assert_allclose(all_values(params), want, **EXACT)
    assert state.t == 1 and state.slots == ()


def test_sgd_several_updates() -> None:
    config = OptimizerConfig("sgd", learning_rate=0.3)
    params, state = start(), initial_state(config, start())
    p = all_values(params)
    for k in range(4):
        params, state = apply_update(config, params, *grads(k), state)
        p = [x - 0.3 * g for x, g in zip(p, all_grads(k), strict=True)]
    np.testing.assert_allclose(all_values(params), p, **EXACT)
    assert state.t == 4


@pytest.mark.parametrize("mu", [0.9, 0.5])
def test_momentum_updates(mu: float) -> None:
    """v_1 = g_1 (v_0 = 0), p_1 = p_0 - lr g_1; v_2 = mu v_1 + g_2, p_2 = p_1 - lr v_2; ..."""
    lr = 0.05
    config = OptimizerConfig("momentum", learning_rate=lr, momentum=mu)
    params, state = start(), initial_state(config, start())
    assert [name for name, _ in state.slots] == ["vW", "vb"]
    p = all_values(params)
    v = [0.0] * len(p)
    for k in range(4):
        params, state = apply_update(config, params, *grads(k), state)
        v = [mu * vi + g for vi, g in zip(v, all_grads(k), strict=True)]
        p = [pi - lr * vi for pi, vi in zip(p, v, strict=True)]
        np.testing.assert_allclose(all_values(params), p, **EXACT)
        got_v = [
            float(x)
            for x in np.concatenate(
                [np.ravel(a) for a in (*state.get("vW")[1:], *state.get("vb")[1:])]
            )
        ]
        np.testing.assert_allclose(got_v, v, **EXACT)
        assert state.t == k + 1
    # the first update is plain sgd, whatever mu is
    first, _ = apply_update(config, start(), *grads(0), initial_state(config, start()))
    assert first.W[1][0, 1] == pytest.approx(-0.25 - lr * -0.4, rel=1e-15)


@pytest.mark.parametrize("b1,b2,eps", [(0.9, 0.999, 1e-8), (0.5, 0.9, 1e-3)])
def test_adam_updates(b1: float, b2: float, eps: float) -> None:
    """Kingma & Ba with bias correction, eps added after the square root."""
    lr = 0.01
    config = OptimizerConfig("adam", learning_rate=lr, beta1=b1, beta2=b2, eps=eps)
    params, state = start(), initial_state(config, start())
    assert [name for name, _ in state.slots] == ["mW", "mb", "vW", "vb"]
    p = all_values(params)
    m = [0.0] * len(p)
    v = [0.0] * len(p)
    for k in range(4):
        t = k + 1
        params, state = apply_update(config, params, *grads(k), state)
        g = all_grads(k)
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g, strict=True)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g, strict=True)]
        p = [
            pi - lr * (mi / (1 - b1**t)) / (math.sqrt(vi / (1 - b2**t)) + eps)
            for pi, mi, vi in zip(p, m, v, strict=True)
        ]
        np.testing.assert_allclose(all_values(params), p, **EXACT)
        n_w = sum(a.size for a in params.W[1:])  # all_values lists W^(1), W^(2), then b
        for name, want in (("mW", m[:n_w]), ("mb", m[n_w:]), ("vW", v[:n_w]), ("vb", v[n_w:])):
            got = np.concatenate([np.ravel(a) for a in state.get(name)[1:]])
            np.testing.assert_allclose(got, want, **EXACT)
        assert state.t == t


def test_adam_first_step_is_lr_times_sign() -> None:
    """At t = 1, m_hat = g and v_hat = g^2, so each step is lr g / (|g| + eps) ~ lr sign(g)."""
    config = OptimizerConfig("adam", learning_rate=0.01, eps=1e-8)
    params, _ = apply_update(config, start(), *grads(0), initial_state(config, start()))
    # W^(1)_00: g = 0.2 -> 0.5 - 0.01 * 0.2 / (0.2 + 1e-8)
    assert params.W[1][0, 0] == pytest.approx(0.5 - 0.01 * 0.2 / (0.2 + 1e-8), rel=1e-14)
    # W^(1)_10: g = 0 -> no move at all (0 / (0 + eps))
    assert params.W[1][1, 0] == 1.0


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_updates_leave_their_inputs_alone(name: str) -> None:
    """Read-only inputs are accepted and unchanged; outputs are new read-only arrays."""
    config = OptimizerConfig(name, learning_rate=0.1)
    params = start()
    state = initial_state(config, params)
    before = [a.copy() for a in (*params.W[1:], *params.b[1:])]
    for k in range(3):
        gW, gb = grads(k)
        g_before = [g.copy() for g in (*gW[1:], *gb[1:])]
        slots_before = [(n, [x.copy() for x in arrays[1:]]) for n, arrays in state.slots]
        new_params, new_state = apply_update(config, params, gW, gb, state)
        for a, b in zip((*params.W[1:], *params.b[1:]), before, strict=True):
            assert not a.flags.writeable
            np.testing.assert_array_equal(a, b)
        for g, b in zip((*gW[1:], *gb[1:]), g_before, strict=True):
            np.testing.assert_array_equal(g, b)
        for (n, arrays), (_, saved) in zip(state.slots, slots_before, strict=True):
            for x, y in zip(arrays[1:], saved, strict=True):
                np.testing.assert_array_equal(x, y, err_msg=n)
        for a in (*new_params.W[1:], *new_params.b[1:]):
            assert not a.flags.writeable
            assert not any(np.shares_memory(a, old) for old in (*params.W[1:], *params.b[1:]))
        for _, arrays in new_state.slots:
            assert all(not x.flags.writeable for x in arrays[1:])
        assert state.t == k and new_state.t == k + 1
        params, state = new_params, new_state
        before = [a.copy() for a in (*params.W[1:], *params.b[1:])]


def test_initial_state_is_zero_and_unknown_name_is_an_error() -> None:
    config = OptimizerConfig("adam")
    params = start()
    state = initial_state(config, params)
    assert state.t == 0
    for name, arrays in state.slots:
        like = params.W if name.endswith("W") else params.b
        assert arrays[0].size == 0
        for x, p in zip(arrays[1:], like[1:], strict=True):
            assert x.shape == p.shape and not x.any()
    assert state.nbytes() == 2 * 8 * (4 + 2 + 2 + 1)  # m and v of W (6 floats) and b (3)
    assert initial_state(OptimizerConfig("sgd"), params).slots == ()
    with pytest.raises(ValueError, match="unknown optimizer"):
        initial_state(OptimizerConfig("rmsprop"), params)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_explain_gives_each_weight_of_update_bit_for_bit(name: str) -> None:
    """`explain` for one weight ends in the very float `update` puts in W, update after update.

    The learning rate 0.3 is not a power of two, so a different grouping of
    lr * m_hat / (sqrt(v_hat) + eps) would show in the last bits.
    """
    config = OptimizerConfig(name, learning_rate=0.3, momentum=0.7, beta1=0.8, beta2=0.99)
    optimizer = optimizer_for(config)
    params, state = start(), initial_state(config, start())
    for k in range(len(GRADS)):
        gW, gb = grads(k)
        new_params, new_state = optimizer.update(params, gW, gb, state)
        for l in (1, 2):
            for (j, i), w in np.ndenumerate(params.W[l]):
                equations = optimizer.explain(float(w), float(gW[l][j, i]), state, l, j, i)
                assert equations[-1].symbol == "w"
                got, want = np.float64(equations[-1].value), new_params.W[l][j, i]
                assert got.tobytes() == want.tobytes(), (name, k, l, j, i)
                slots = {e.symbol: e.value for e in equations if e.assigns and e.symbol != "w"}
                for symbol, value in slots.items():  # momentum's v, adam's m and v
                    assert value == new_state.get(symbol + "W")[l][j, i]
        params, state = new_params, new_state


def test_optimizer_for_builds_the_named_rule() -> None:
    """Each config name gives the object of that name, with the config's hyper-parameters."""
    config = OptimizerConfig("adam", learning_rate=0.2, beta1=0.5, beta2=0.75, eps=1e-3)
    assert optimizer_for(config) == Adam(0.2, 0.5, 0.75, 1e-3)
    assert optimizer_for(OptimizerConfig("momentum", 0.1, momentum=0.3)) == Momentum(0.1, 0.3)
    assert optimizer_for(OptimizerConfig("sgd", 0.4)) == Sgd(0.4)
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimizer_for(OptimizerConfig("rmsprop"))
