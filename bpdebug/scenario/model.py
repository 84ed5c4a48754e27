"""The typed, validated form of a scenario file.

Everything past the loader trusts these objects: shapes match, names exist,
numbers are in range. Arrays are float64 and read-only.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, assert_never

import numpy as np

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax")
"""Activation names a scenario may use (`softmax` only for the output layer)."""

LOSSES = ("squared_error", "half_squared_error", "cross_entropy", "binary_cross_entropy")
"""Loss names a scenario may use."""

OPTIMIZERS = ("sgd", "momentum", "adam")
"""Optimizer names a scenario may use."""

INIT_SCHEMES = ("xavier", "he", "uniform", "zeros")
"""Initialisation schemes; explicit `[[network.init]]` tables override them."""

BREAKPOINT_KINDS = (
    "nonfinite",
    "cost_below",
    "grad_norm_above",
    "grad_norm_below",
    "dead_unit",
    "step",
)
"""Kinds of condition that `run until` and breakpoints understand."""

BreakpointKind = Literal[
    "nonfinite", "cost_below", "grad_norm_above", "grad_norm_below", "dead_unit", "step"
]


@dataclass(frozen=True)
class LayerInit:
    """Explicit starting parameters of one weighted layer.

    `W` has shape (n_l, n_{l-1}), `b` has shape (n_l,).
    """

    W: np.ndarray
    b: np.ndarray


@dataclass(frozen=True)
class NetworkSpec:
    """The `[network]` table: sizes, activations, loss and initialisation."""

    layers: tuple[int, ...]
    """Units per layer, input layer first: (n_0, n_1, ..., n_L)."""
    activation: str
    """Activation of the hidden layers 1..L-1 (`network.activation`); with
    `network.activations`, the first hidden layer's. Read a layer's own with
    `activation_of`."""
    output: str
    """Activation of the output layer L."""
    loss: str
    """Per-example cost C_0, one of LOSSES."""
    init: str = "xavier"
    """Initialisation scheme, one of INIT_SCHEMES."""
    init_range: float = 0.5
    """Half-width r of the `uniform` scheme: U(-r, r)."""
    explicit_init: tuple[LayerInit, ...] = ()
    """Exact starting parameters for layers 1..L, or empty."""
    activations: tuple[str, ...] = ()
    """g_1..g_L, one name per weighted layer. A scenario names them with
    `network.activations = [...]`; when it doesn't (or a caller leaves this
    empty), they are `activation` for layers 1..L-1 and `output` for L."""

    def __post_init__(self) -> None:
        if not self.activations:
            names = tuple(
                self.output if l == self.depth else self.activation
                for l in range(1, self.depth + 1)
            )
            object.__setattr__(self, "activations", names)
        elif len(self.activations) != self.depth:
            raise ValueError(f"{len(self.activations)} activations for {self.depth} layers")

    @property
    def depth(self) -> int:
        """L, the number of weighted layers."""
        return len(self.layers) - 1

    @property
    def parameters(self) -> int:
        """How many weights and biases the network has."""
        return parameter_count(self.layers)

    def activation_of(self, layer: int) -> str:
        """The activation name of layer `layer` (1..L)."""
        return self.activations[layer - 1]

    def describe_activations(self) -> str:
        """``tanh/sigmoid`` (hidden/output); ``tanh,relu/sigmoid`` when hidden layers differ."""
        hidden = self.activations[:-1]
        names = hidden[0] if len(set(hidden)) == 1 else ",".join(hidden)
        return f"{names}/{self.output}" if hidden else self.output


@dataclass(frozen=True)
class TrainingSpec:
    """The `[training]` table."""

    learning_rate: float = 0.1
    batch_size: int = 0
    """Examples per update; the loader replaces 0 (absent) with the data set size."""
    optimizer: str = "sgd"
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    l1: float = 0.0
    """L1 strength: the cost gains l1 * sum |W| over all weights (not biases)."""
    l2: float = 0.0
    """L2 strength: the cost gains l2/2 * sum W^2 over all weights (not biases)."""
    shuffle: bool = True
    """Shuffle the examples each epoch (seeded); a whole-data-set batch is never shuffled."""


@dataclass(frozen=True)
class Dataset:
    """Training data as columns, one column per example (the contract's a[0] and Y)."""

    inputs: np.ndarray
    """Shape (n_0, N)."""
    targets: np.ndarray
    """Shape (n_L, N)."""
    source: str
    """Where it came from: "inline", "generator xor", "csv data/points.csv"."""

    @property
    def size(self) -> int:
        """N, the number of examples."""
        return int(self.inputs.shape[1])


@dataclass(frozen=True)
class Breakpoint:
    """A condition that stops `run until` (and the TUI's continue).

    kinds: `nonfinite` (NaN or inf anywhere), `cost_below` (value),
    `grad_norm_above` / `grad_norm_below` (value, layer; layer 0 means any),
    `dead_unit` (layer; 0 means any relu-family layer), `step` (value).
    """

    kind: BreakpointKind
    value: float = 0.0
    layer: int = 0

    def describe(self) -> str:
        """A short phrase for status lines: ``cost < 0.05``."""
        where = f" (layer {self.layer})" if self.layer else ""
        match self.kind:
            case "nonfinite":
                return "NaN or inf"
            case "cost_below":
                return f"cost < {self.value:g}"
            case "grad_norm_above":
                return f"|grad|{where} > {self.value:g}"
            case "grad_norm_below":
                return f"|grad|{where} < {self.value:g}"
            case "dead_unit":
                return f"dead unit{where}"
            case "step":
                return f"step {int(self.value)}"
        assert_never(self.kind)  # pragma: no cover - the match is exhaustive


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: what to build, what to train it on, how to train."""

    name: str
    path: Path
    """The file it came from, as the user named it."""
    text: str
    """The file's TOML text, kept so that a snapshot can rebuild the scenario."""
    network: NetworkSpec
    data: Dataset
    training: TrainingSpec
    seed: int = 0
    description: str = ""
    breakpoints: tuple[Breakpoint, ...] = field(default=())


def parameter_count(layers: Sequence[int]) -> int:
    """Weights and biases of a network with `layers` units per layer: sum of n_l (n_{l-1} + 1)."""
    return sum(n * (n_prev + 1) for n_prev, n in itertools.pairwise(layers))
