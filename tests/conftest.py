"""Shared helpers for the engine, gradient, optimizer and timeline tests.

Scenarios are built directly from `bpdebug.scenario.model` dataclasses (no
TOML), so these tests depend on the engine and the timeline only, never on
the loader.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bpdebug.engine import Params, Trace
from bpdebug.engine.network import EMPTY
from bpdebug.scenario.model import (
    Breakpoint,
    Dataset,
    LayerInit,
    NetworkSpec,
    Scenario,
    TrainingSpec,
)
from bpdebug.training import TrainState

XOR_X = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]])
"""XOR inputs as columns, (2, 4)."""
XOR_Y = np.array([[0.0, 1.0, 1.0, 0.0]])
"""XOR targets as columns, (1, 4)."""

HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "linear")
"""Activations a hidden layer may use (softmax is output-only)."""

OUTPUTS_FOR_LOSS = {
    "squared_error": ("sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"),
    "half_squared_error": ("sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"),
    # The contract pairs each log loss with one output; the loader also
    # accepts the other squashing output, and the math holds for both.
    "cross_entropy": ("softmax", "sigmoid"),
    "binary_cross_entropy": ("sigmoid", "softmax"),
}
"""Output activations valid for each loss."""

OPTIMIZERS = ("sgd", "momentum", "adam")


def readonly(x: np.ndarray | Sequence[object]) -> np.ndarray:
    """A float64 copy of `x`, marked read-only (as the loader hands arrays on)."""
    out = np.array(x, dtype=np.float64)
    out.setflags(write=False)
    return out


def make_params(Ws: Sequence[object], bs: Sequence[object]) -> Params:
    """Params for layers 1..L from lists of W (n_l, n_{l-1}) and b (n_l,)."""
    return Params((EMPTY, *(readonly(W) for W in Ws)), (EMPTY, *(readonly(b) for b in bs)))


def random_params(rng: np.random.Generator, layers: Sequence[int], scale: float = 1.0) -> Params:
    """W and b ~ U(-scale, scale) for a network of `layers` units."""
    Ws = [
        rng.uniform(-scale, scale, size=(layers[l], layers[l - 1])) for l in range(1, len(layers))
    ]
    bs = [rng.uniform(-scale, scale, size=layers[l]) for l in range(1, len(layers))]
    return make_params(Ws, bs)


def random_targets(rng: np.random.Generator, loss: str, n: int, m: int) -> np.ndarray:
    """Targets (n, m) that suit `loss`: probability columns, [0, 1] values, or reals."""
    if loss == "cross_entropy":
        y = rng.uniform(0.0, 1.0, size=(n, m))
        return y / y.sum(axis=0, keepdims=True)
    if loss == "binary_cross_entropy":
        return rng.uniform(0.0, 1.0, size=(n, m))
    return rng.normal(size=(n, m))


def make_scenario(
    layers: Sequence[int] = (2, 2, 1),
    activation: str = "sigmoid",
    output: str = "sigmoid",
    loss: str = "squared_error",
    inputs: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    learning_rate: float = 1.0,
    batch_size: int = 0,
    optimizer: str = "sgd",
    l1: float = 0.0,
    l2: float = 0.0,
    shuffle: bool = True,
    seed: int = 0,
    init: str = "xavier",
    explicit_init: Params | None = None,
    breakpoints: Sequence[Breakpoint] = (),
    **training: float,
) -> Scenario:
    """A validated-looking Scenario, as the loader would build it.

    Defaults to the contract's XOR example. `batch_size` 0 means the whole
    data set (the loader's substitution). `explicit_init` gives the exact
    starting parameters. Extra keyword arguments go to TrainingSpec
    (momentum, beta1, beta2, eps).
    """
    X = readonly(XOR_X if inputs is None else inputs)
    Y = readonly(XOR_Y if targets is None else targets)
    explicit: tuple[LayerInit, ...] = ()
    if explicit_init is not None:
        explicit = tuple(
            LayerInit(explicit_init.W[l], explicit_init.b[l])
            for l in range(1, explicit_init.depth + 1)
        )
    return Scenario(
        name="test",
        path=Path("test.toml"),
        text="",
        network=NetworkSpec(
            tuple(layers), activation, output, loss, init=init, explicit_init=explicit
        ),
        data=Dataset(X, Y, "inline"),
        training=TrainingSpec(
            learning_rate=learning_rate,
            batch_size=batch_size or X.shape[1],
            optimizer=optimizer,
            l1=l1,
            l2=l2,
            shuffle=shuffle,
            **training,  # type: ignore[arg-type]
        ),
        seed=seed,
        breakpoints=tuple(breakpoints),
    )


def state_arrays(state: TrainState) -> list[tuple[str, np.ndarray]]:
    """Every array of a training state, named: W, b and each optimizer slot."""
    out = [(f"W{l}", state.params.W[l]) for l in range(1, state.params.depth + 1)]
    out += [(f"b{l}", state.params.b[l]) for l in range(1, state.params.depth + 1)]
    for name, arrays in state.opt.slots:
        out += [(f"{name}{l}", x) for l, x in enumerate(arrays) if l]
    return out


def trace_arrays(trace: Trace) -> list[tuple[str, np.ndarray]]:
    """Every array a trace recorded, named, plus its cost as a 0-d array."""
    out: list[tuple[str, np.ndarray]] = [("X", trace.a[0]), ("Y", trace.Y)]
    for name in ("z", "a", "delta", "dW", "db", "dW_reg"):
        out += [(f"{name}{l}", x) for l, x in enumerate(getattr(trace, name)) if l]
    out += [("dC_da", trace.dC_da), ("per_example_cost", trace.per_example_cost)]
    out += [("cost", np.array(trace.cost))]
    return out


def assert_same_state(got: TrainState, want: TrainState) -> None:
    """Bit-for-bit equality of two training states (step, t, every array)."""
    assert got.step == want.step
    assert got.opt.t == want.opt.t
    assert [n for n, _ in got.opt.slots] == [n for n, _ in want.opt.slots]
    for (name, x), (_, y) in zip(state_arrays(got), state_arrays(want), strict=True):
        assert np.array_equal(x, y, equal_nan=True), f"{name} differs at step {got.step}"


def assert_same_trace(got: Trace, want: Trace) -> None:
    """Bit-for-bit equality of two traces (every recorded array and the cost)."""
    for (name, x), (_, y) in zip(trace_arrays(got), trace_arrays(want), strict=True):
        assert np.array_equal(x, y, equal_nan=True), f"trace {name} differs"


@pytest.fixture
def xor_scenario() -> Scenario:
    """The contract's XOR scenario: [2, 2, 1] sigmoid, squared error, lr 1, whole batch."""
    return make_scenario()
