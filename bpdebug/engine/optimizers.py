"""Optimizers: how one update turns gradients into new parameters.

Each optimizer is a small object with its rule beside its arithmetic:
`initial_state`, `update` (a pure function of params, gradients and state
that returns new arrays, so that a recorded state is never changed by a
later update) and `explain`, the same update for one weight, operation by
operation, as `Equation`s a reader can check. The state (velocities,
moments, the update count t) is part of the training state and is saved
in checkpoints.

- `sgd`: w <- w - lr g (the contract).
- `momentum`: v <- mu v + g; w <- w - lr v (PyTorch's form; v starts at 0).
- `adam`: m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2;
  w <- w - lr * m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - b1^t),
  v_hat = v / (1 - b2^t) (Kingma & Ba; PyTorch's placement of eps).

g is the gradient the update is fed: dC/dW, plus l1 sign(W) + l2 W with
regularization (see `Trace.grad_W`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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
        for slot, arrays in self.slots:  # two or four slots: a scan beats building a dict
            if slot == name:
                return arrays
        raise KeyError(name)

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


@dataclass(frozen=True)
class Equation:
    """One operation of an update of one weight: `symbol` <- `expression` = `value`.

    `expression` is Python arithmetic over the names in `operands`, written
    in the order the engine evaluates it, so that evaluating it gives
    `value` bit for bit. A name on the right that is also the symbol (the
    `m` of ``m <- beta1 * m + (1 - beta1) * g``) is its value before.
    """

    symbol: str
    expression: str
    operands: tuple[tuple[str, float], ...]
    value: float
    assigns: bool = True
    """True for state that the update replaces (<-), False for a definition (=)."""


class Optimizer(Protocol):
    """An update rule: its state, its arithmetic on arrays, and one weight's equations."""

    @property
    def name(self) -> str:
        """The scenario name."""
        ...

    @property
    def summary(self) -> tuple[tuple[str, str], ...]:
        """The rule in brief, (symbol, expression) per assignment: (("w", "w - lr * g"),)."""
        ...

    def initial_state(self, params: Params) -> OptState:
        """The state before the first update."""
        ...

    def update(
        self, params: Params, grad_W: Arrays, grad_b: Arrays, state: OptState
    ) -> tuple[Params, OptState]:
        """One update of every W and b (callers silence floating-point warnings)."""
        ...

    def explain(
        self, w: float, g: float, state: OptState, l: int, j: int, k: int
    ) -> tuple[Equation, ...]:
        """The update of w_jk^(l) = `w` fed gradient `g`, from `state`: the last equation is w."""
        ...


def _zeros(arrays: Arrays) -> Arrays:
    return (EMPTY, *tuple(frozen(np.zeros_like(x)) for x in arrays[1:]))


@dataclass(frozen=True)
class Sgd:
    """Plain gradient descent: w <- w - lr g."""

    learning_rate: float
    name = "sgd"
    summary = (("w", "w - lr * g"),)

    def initial_state(self, params: Params) -> OptState:
        return OptState()

    def update(
        self, params: Params, grad_W: Arrays, grad_b: Arrays, state: OptState
    ) -> tuple[Params, OptState]:
        lr = self.learning_rate
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

    def explain(
        self, w: float, g: float, state: OptState, l: int, j: int, k: int
    ) -> tuple[Equation, ...]:
        lr = self.learning_rate
        with np.errstate(over="ignore", invalid="ignore"):
            w_new = np.float64(w) - lr * np.float64(g)
        return (_equation("w", "w - lr * g", w_new, w=w, lr=lr, g=g),)


@dataclass(frozen=True)
class Momentum:
    """Heavy ball, PyTorch's form: v <- mu v + g; w <- w - lr v (v starts at 0)."""

    learning_rate: float
    momentum: float
    name = "momentum"
    summary = (("v", "mu * v + g"), ("w", "w - lr * v"))

    def initial_state(self, params: Params) -> OptState:
        return OptState(0, (("vW", _zeros(params.W)), ("vb", _zeros(params.b))))

    def update(
        self, params: Params, grad_W: Arrays, grad_b: Arrays, state: OptState
    ) -> tuple[Params, OptState]:
        lr, mu = self.learning_rate, self.momentum
        vW_prev, vb_prev = state.get("vW"), state.get("vb")
        vW: list[np.ndarray] = [EMPTY]
        vb: list[np.ndarray] = [EMPTY]
        W: list[np.ndarray] = [EMPTY]
        b: list[np.ndarray] = [EMPTY]
        for l in range(1, params.depth + 1):
            v_W = frozen(mu * vW_prev[l] + grad_W[l])
            v_b = frozen(mu * vb_prev[l] + grad_b[l])
            vW.append(v_W)
            vb.append(v_b)
            W.append(frozen(params.W[l] - lr * v_W))
            b.append(frozen(params.b[l] - lr * v_b))
        new_state = OptState(state.t + 1, (("vW", tuple(vW)), ("vb", tuple(vb))))
        return Params(tuple(W), tuple(b)), new_state

    def explain(
        self, w: float, g: float, state: OptState, l: int, j: int, k: int
    ) -> tuple[Equation, ...]:
        lr, mu = self.learning_rate, self.momentum
        v0 = state.get("vW")[l][j, k]  # float64, as `update`
        with np.errstate(over="ignore", invalid="ignore"):
            v = mu * v0 + g
            w_new = w - lr * v
        return (
            _equation("v", "mu * v + g", v, mu=mu, v=v0, g=g),
            _equation("w", "w - lr * v", w_new, w=w, lr=lr, v=v),
        )


@dataclass(frozen=True)
class Adam:
    """Kingma & Ba with bias correction; eps outside the square root, as PyTorch places it."""

    learning_rate: float
    beta1: float
    beta2: float
    eps: float
    name = "adam"
    summary = (("w", "w - lr * mhat / (sqrt(vhat) + eps)"),)

    def initial_state(self, params: Params) -> OptState:
        return OptState(
            0,
            (
                ("mW", _zeros(params.W)),
                ("mb", _zeros(params.b)),
                ("vW", _zeros(params.W)),
                ("vb", _zeros(params.b)),
            ),
        )

    def update(
        self, params: Params, grad_W: Arrays, grad_b: Arrays, state: OptState
    ) -> tuple[Params, OptState]:
        b1, b2, eps, lr = self.beta1, self.beta2, self.eps, self.learning_rate
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

    def explain(
        self, w: float, g: float, state: OptState, l: int, j: int, k: int
    ) -> tuple[Equation, ...]:
        b1, b2, eps, lr = self.beta1, self.beta2, self.eps, self.learning_rate
        t = state.t + 1
        m0, v0 = state.get("mW")[l][j, k], state.get("vW")[l][j, k]  # float64, as `update`
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            m = b1 * m0 + (1.0 - b1) * g
            v = b2 * v0 + (1.0 - b2) * (g * g)
            m_hat = m / (1.0 - b1**t)
            v_hat = v / (1.0 - b2**t)
            step = lr * m_hat / (np.sqrt(v_hat) + eps)  # (lr m_hat) / (...), as `update` groups it
            w_new = w - step
        return (
            _equation("m", "beta1 * m + (1 - beta1) * g", m, beta1=b1, m=m0, g=g),
            _equation("v", "beta2 * v + (1 - beta2) * (g * g)", v, beta2=b2, v=v0, g=g),
            _equation("mhat", "m / (1 - beta1 ** t)", m_hat, m=m, beta1=b1, t=t),
            _equation("vhat", "v / (1 - beta2 ** t)", v_hat, v=v, beta2=b2, t=t),
            _equation(
                "step",
                "lr * mhat / (sqrt(vhat) + eps)",
                step,
                lr=lr,
                mhat=m_hat,
                vhat=v_hat,
                eps=eps,
            ),
            _equation("w", "w - step", w_new, w=w, step=step),
        )


_DEFINITIONS = ("mhat", "vhat", "step")
"""Symbols that name a value rather than replace a state (= rather than <-)."""


def _equation(
    symbol: str, expression: str, value: float | np.floating, **operands: float | np.floating
) -> Equation:
    """An Equation with plain Python numbers (numpy scalars converted; t stays an int)."""
    numbers = tuple((n, x if isinstance(x, int) else float(x)) for n, x in operands.items())
    return Equation(symbol, expression, numbers, float(value), symbol not in _DEFINITIONS)


def optimizer_for(config: OptimizerConfig) -> Optimizer:
    """The optimizer object `config` names, with its hyper-parameters."""
    if config.name == "sgd":
        return Sgd(config.learning_rate)
    if config.name == "momentum":
        return Momentum(config.learning_rate, config.momentum)
    if config.name == "adam":
        return Adam(config.learning_rate, config.beta1, config.beta2, config.eps)
    raise ValueError(f"unknown optimizer {config.name!r}")


def initial_state(config: OptimizerConfig, params: Params) -> OptState:
    """The state before the first update: zero velocities and moments."""
    return optimizer_for(config).initial_state(params)


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
    return optimizer_for(config).update(params, grad_W, grad_b, state)
