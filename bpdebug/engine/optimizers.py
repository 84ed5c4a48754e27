"""Optimizers: how one update turns gradients into new parameters.

Each is a pure function of (params, gradients, state) that returns new
arrays, so that a recorded state is never changed by a later update. The
state (velocities, moments, the update count t) is part of the training
state and is saved in checkpoints.

- `sgd`: p <- p - lr * g (the contract).
- `momentum`: v <- mu v + g; p <- p - lr v (PyTorch's form; v starts at 0).
- `adam`: m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2;
  p <- p - lr * m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - b1^t),
  v_hat = v / (1 - b2^t) (Kingma & Ba; PyTorch's placement of eps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpdebug.engine.network import EMPTY, Params, frozen

Arrays = tuple[np.ndarray, ...]


@dataclass(frozen=True)
class OptState:
    """Optimizer state after t updates; slots are per-layer arrays like W and b."""

    t: int = 0
    slots: tuple[tuple[str, Arrays], ...] = ()
    """(name, per-layer arrays) pairs, e.g. ("vW", (EMPTY, v1, v2))."""

    def get(self, name: str) -> Arrays:
        """The per-layer arrays of slot `name`."""
        return dict(self.slots)[name]

    def nbytes(self) -> int:
        """Memory held by the slots."""
        return sum(x.nbytes for _, arrays in self.slots for x in arrays)


@dataclass(frozen=True)
class OptimizerConfig:
    """Which optimizer and its hyper-parameters."""

    name: str = "sgd"
    learning_rate: float = 0.1
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8


def initial_state(config: OptimizerConfig, params: Params) -> OptState:
    """The state before the first update: zero velocities and moments."""

    def zeros(arrays: Arrays) -> Arrays:
        return (EMPTY, *tuple(frozen(np.zeros_like(x)) for x in arrays[1:]))

    if config.name == "sgd":
        return OptState()
    if config.name == "momentum":
        return OptState(0, (("vW", zeros(params.W)), ("vb", zeros(params.b))))
    if config.name == "adam":
        return OptState(
            0,
            (
                ("mW", zeros(params.W)),
                ("mb", zeros(params.b)),
                ("vW", zeros(params.W)),
                ("vb", zeros(params.b)),
            ),
        )
    raise ValueError(f"unknown optimizer {config.name!r}")


def apply_update(
    config: OptimizerConfig, params: Params, grad_W: Arrays, grad_b: Arrays, state: OptState
) -> tuple[Params, OptState]:
    """One update: new parameters and state (the inputs are left as they were)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return apply_update_unguarded(config, params, grad_W, grad_b, state)


def apply_update_unguarded(
    config: OptimizerConfig, params: Params, grad_W: Arrays, grad_b: Arrays, state: OptState
) -> tuple[Params, OptState]:
    """`apply_update` for callers that already silenced floating-point warnings."""
    lr = config.learning_rate
    if config.name == "sgd":
        W: list[np.ndarray] = [EMPTY]
        b: list[np.ndarray] = [EMPTY]
        for l in range(1, params.depth + 1):
            w_new = params.W[l] - lr * grad_W[l]
            b_new = params.b[l] - lr * grad_b[l]
            w_new.setflags(write=False)
            b_new.setflags(write=False)
            W.append(w_new)
            b.append(b_new)
        return Params(tuple(W), tuple(b)), OptState(state.t + 1)
    if config.name == "momentum":
        mu = config.momentum
        vW = tuple(frozen(mu * v + g) for v, g in zip(state.get("vW")[1:], grad_W[1:], strict=True))
        vb = tuple(frozen(mu * v + g) for v, g in zip(state.get("vb")[1:], grad_b[1:], strict=True))
        layers = range(1, params.depth + 1)
        Ws = tuple(frozen(params.W[l] - lr * vW[l - 1]) for l in layers)
        bs = tuple(frozen(params.b[l] - lr * vb[l - 1]) for l in layers)
        new_state = OptState(state.t + 1, (("vW", (EMPTY, *vW)), ("vb", (EMPTY, *vb))))
        return Params((EMPTY, *Ws), (EMPTY, *bs)), new_state
    if config.name == "adam":
        return _adam(config, params, grad_W, grad_b, state)
    raise ValueError(f"unknown optimizer {config.name!r}")


def _adam(
    config: OptimizerConfig, params: Params, grad_W: Arrays, grad_b: Arrays, state: OptState
) -> tuple[Params, OptState]:
    b1, b2, eps, lr = config.beta1, config.beta2, config.eps, config.learning_rate
    t = state.t + 1
    c1, c2 = 1.0 - b1**t, 1.0 - b2**t
    new_params: dict[str, list[np.ndarray]] = {}
    slots: list[tuple[str, Arrays]] = []
    for p_name, p_arrays, grads in (("W", params.W, grad_W), ("b", params.b, grad_b)):
        m_prev, v_prev = state.get("m" + p_name), state.get("v" + p_name)
        ms: list[np.ndarray] = [EMPTY]
        vs: list[np.ndarray] = [EMPTY]
        ps: list[np.ndarray] = [EMPTY]
        for l in range(1, params.depth + 1):
            g = grads[l]
            m = frozen(b1 * m_prev[l] + (1.0 - b1) * g)
            v = frozen(b2 * v_prev[l] + (1.0 - b2) * (g * g))
            ps.append(frozen(p_arrays[l] - lr * (m / c1) / (np.sqrt(v / c2) + eps)))
            ms.append(m)
            vs.append(v)
        new_params[p_name] = ps
        slots += [("m" + p_name, tuple(ms)), ("v" + p_name, tuple(vs))]
    order = {"mW": 0, "mb": 1, "vW": 2, "vb": 3}
    slots.sort(key=lambda s: order[s[0]])
    return Params(tuple(new_params["W"]), tuple(new_params["b"])), OptState(t, tuple(slots))
