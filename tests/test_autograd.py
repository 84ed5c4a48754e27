"""An independent cross-check of the engine against PyTorch's autograd (float64).

torch is an optional extra: CI installs it (the README's test command), and
elsewhere this module is skipped without it (tests/extras.py). The cost is
rebuilt in torch from the contract's formulas alone, not from the engine's
code. The contract's delta is per-example (column i is dC_0/dz for example
i), while autograd gives dC/dz of the batch mean C = mean C_0, so
delta = m * dC/dz.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from conftest import (
    HIDDEN_ACTIVATIONS,
    OUTPUTS_FOR_LOSS,
    random_params,
    random_targets,
)
from extras import need

from bpdebug.engine import Network, OptimizerConfig, Params, apply_update, initial_state
from bpdebug.engine.network import EMPTY, frozen

torch = need("torch")

RTOL = 1e-10


def torch_activation(name: str, z: torch.Tensor) -> torch.Tensor:
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "relu":
        return torch.relu(z)
    if name == "leaky_relu":
        return torch.nn.functional.leaky_relu(z, negative_slope=0.01)
    if name == "linear":
        return z
    if name == "softmax":
        return torch.softmax(z, dim=0)  # units are rows, examples are columns
    raise AssertionError(name)


def torch_cost(loss: str, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example C_0, shape (m,), from the contract's table."""
    if loss == "squared_error":
        return ((a - y) ** 2).sum(dim=0)
    if loss == "half_squared_error":
        return 0.5 * ((a - y) ** 2).sum(dim=0)
    if loss == "cross_entropy":
        return -(y * torch.log(a)).sum(dim=0)
    if loss == "binary_cross_entropy":
        return -(y * torch.log(a) + (1 - y) * torch.log(1 - a)).sum(dim=0)
    raise AssertionError(loss)


def torch_pass(
    net: Network,
    params: Params,
    X: np.ndarray,
    Y: np.ndarray,
    hidden: str,
    output: str,
    loss: str,
    l1: float,
    l2: float,
    per_layer: tuple[str, ...] = (),
):  # type: ignore[no-untyped-def]
    """(C, Ws, bs, zs) with gradients filled in by autograd.

    g_l is `output` for l = L and `hidden` otherwise, or `per_layer[l - 1]`."""
    Ws = [torch.tensor(np.array(w), dtype=torch.float64, requires_grad=True) for w in params.W[1:]]
    bs = [torch.tensor(np.array(b), dtype=torch.float64, requires_grad=True) for b in params.b[1:]]
    a = torch.tensor(X, dtype=torch.float64)
    zs = []
    L = len(Ws)
    for l, (W, b) in enumerate(zip(Ws, bs, strict=True), start=1):
        z = W @ a + b[:, None]
        z.retain_grad()
        zs.append(z)
        name = per_layer[l - 1] if per_layer else output if l == L else hidden
        a = torch_activation(name, z)
    C = torch_cost(loss, a, torch.tensor(Y, dtype=torch.float64)).mean()
    for W in Ws:
        C = C + l1 * W.abs().sum() + 0.5 * l2 * (W * W).sum()
    C.backward()
    return C, Ws, bs, zs


CASES = [
    (hidden, output, loss, reg)
    for loss, outputs in OUTPUTS_FOR_LOSS.items()
    for output in outputs
    for hidden in HIDDEN_ACTIVATIONS
    for reg in ((0.0, 0.0), (0.01, 0.1))
]


@pytest.mark.parametrize("hidden,output,loss,reg", CASES)
def test_trace_matches_autograd(
    hidden: str, output: str, loss: str, reg: tuple[float, float]
) -> None:
    l1, l2 = reg
    rng = np.random.default_rng(zlib.crc32(repr((hidden, output, loss, reg)).encode()))
    layers = (3, 4, 3, 3)
    m = 5
    net = Network(layers, hidden, output, loss, l1=l1, l2=l2)
    params = random_params(rng, layers)
    X = rng.normal(size=(3, m))
    Y = random_targets(rng, loss, 3, m)
    trace = net.trace(params, X, Y)
    C, Ws, bs, zs = torch_pass(net, params, X, Y, hidden, output, loss, l1, l2)

    assert trace.cost == pytest.approx(C.item(), rel=RTOL)
    for l in range(1, net.depth + 1):
        np.testing.assert_allclose(trace.z[l], zs[l - 1].detach().numpy(), rtol=RTOL, atol=1e-14)
        np.testing.assert_allclose(trace.grad_W(l), Ws[l - 1].grad.numpy(), rtol=RTOL, atol=1e-13)
        np.testing.assert_allclose(trace.db[l], bs[l - 1].grad.numpy(), rtol=RTOL, atol=1e-13)
        np.testing.assert_allclose(
            trace.delta[l], m * zs[l - 1].grad.numpy(), rtol=RTOL, atol=1e-13
        )
    # and without regularization, dW alone is autograd's data gradient
    if not (l1 or l2):
        for l in range(1, net.depth + 1):
            np.testing.assert_allclose(trace.dW[l], Ws[l - 1].grad.numpy(), rtol=RTOL, atol=1e-13)


MIXED = [
    ("tanh", "relu", "sigmoid", "binary_cross_entropy"),
    ("relu", "tanh", "softmax", "cross_entropy"),
    ("sigmoid", "leaky_relu", "linear", "squared_error"),
    ("linear", "sigmoid", "tanh", "half_squared_error"),
]


@pytest.mark.parametrize("g1,g2,g3,loss", MIXED)
def test_mixed_activations_match_autograd(g1: str, g2: str, g3: str, loss: str) -> None:
    """A scenario's `network.activations`: each layer its own g, the same as autograd."""
    per_layer = (g1, g2, g3)
    rng = np.random.default_rng(zlib.crc32(repr(per_layer).encode()))
    layers, m = (3, 4, 5, 3), 6
    net = Network(layers, "sigmoid", "sigmoid", loss, l2=0.01, per_layer=per_layer)
    params = random_params(rng, layers)
    X = rng.normal(size=(3, m))
    Y = random_targets(rng, loss, 3, m)
    trace = net.trace(params, X, Y)
    C, Ws, bs, zs = torch_pass(net, params, X, Y, "", "", loss, 0.0, 0.01, per_layer)
    assert trace.cost == pytest.approx(C.item(), rel=RTOL)
    for l in range(1, 4):
        np.testing.assert_allclose(trace.grad_W(l), Ws[l - 1].grad.numpy(), rtol=RTOL, atol=1e-13)
        np.testing.assert_allclose(trace.db[l], bs[l - 1].grad.numpy(), rtol=RTOL, atol=1e-13)
        np.testing.assert_allclose(
            trace.delta[l], m * zs[l - 1].grad.numpy(), rtol=RTOL, atol=1e-13
        )


def _torch_optimizer(name: str, tensors: list[torch.Tensor], lr: float):  # type: ignore[no-untyped-def]
    if name == "sgd":
        return torch.optim.SGD(tensors, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(tensors, lr=lr, momentum=0.9)
    return torch.optim.Adam(tensors, lr=lr, betas=(0.9, 0.999), eps=1e-8)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_optimizer_updates_match_torch_optim(name: str) -> None:
    """Five updates with changing gradients: the same parameters as torch.optim."""
    rng = np.random.default_rng(11)
    layers = (3, 4, 2)
    lr = 0.05
    config = OptimizerConfig(name, learning_rate=lr, momentum=0.9, beta1=0.9, beta2=0.999, eps=1e-8)
    params = random_params(rng, layers)
    state = initial_state(config, params)
    tensors = [
        torch.tensor(np.array(x), dtype=torch.float64, requires_grad=True)
        for x in (*params.W[1:], *params.b[1:])
    ]
    opt = _torch_optimizer(name, tensors, lr)
    for _ in range(5):
        gW = (EMPTY, *(frozen(rng.normal(size=w.shape)) for w in params.W[1:]))
        gb = (EMPTY, *(frozen(rng.normal(size=b.shape)) for b in params.b[1:]))
        params, state = apply_update(config, params, gW, gb, state)
        opt.zero_grad()
        for t, g in zip(tensors, (*gW[1:], *gb[1:]), strict=True):
            t.grad = torch.tensor(np.array(g), dtype=torch.float64)
        opt.step()
        for got, t in zip((*params.W[1:], *params.b[1:]), tensors, strict=True):
            np.testing.assert_allclose(got, t.detach().numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam"])
def test_training_run_matches_torch(name: str) -> None:
    """Ten full training steps (pass + update) on a tanh/softmax net agree with torch."""
    rng = np.random.default_rng(12)
    layers = (2, 3, 3)
    lr = 0.1
    net = Network(layers, "tanh", "softmax", "cross_entropy", l2=0.01)
    config = OptimizerConfig(name, learning_rate=lr, momentum=0.9)
    params = random_params(rng, layers)
    state = initial_state(config, params)
    X = rng.normal(size=(2, 6))
    Y = np.eye(3)[:, rng.integers(0, 3, size=6)]
    tensors = [
        torch.tensor(np.array(x), dtype=torch.float64, requires_grad=True)
        for x in (*params.W[1:], *params.b[1:])
    ]
    opt = _torch_optimizer(name, tensors, lr)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    for _ in range(10):
        trace = net.trace(params, X, Y)
        grad_W = (EMPTY, *(trace.grad_W(l) for l in range(1, net.depth + 1)))
        params, state = apply_update(config, params, grad_W, trace.db, state)
        opt.zero_grad()
        W1, W2, b1, b2 = tensors
        a1 = torch.tanh(W1 @ Xt + b1[:, None])
        a2 = torch.softmax(W2 @ a1 + b2[:, None], dim=0)
        C = -(Yt * torch.log(a2)).sum(dim=0).mean() + 0.005 * ((W1 * W1).sum() + (W2 * W2).sum())
        assert trace.cost == pytest.approx(C.item(), rel=1e-10)
        C.backward()
        opt.step()
    for got, t in zip((*params.W[1:], *params.b[1:]), tensors, strict=True):
        np.testing.assert_allclose(got, t.detach().numpy(), rtol=1e-10, atol=1e-13)
