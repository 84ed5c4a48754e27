"""Activation functions g and their derivatives, as small value objects.

Each activation maps z (n, m) to a = g(z) (n, m), and maps dC_0/da (n, m) back
to dC_0/dz (n, m). For element-wise activations that is the seeds'
`g'(z) * dC_0/da`; softmax couples the units of a column, so it applies its
full Jacobian (column by column) instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

LEAKY_SLOPE = 0.01
"""Slope of leaky_relu for z < 0 (the contract's value)."""


class Activation(Protocol):
    """An activation g with the rule that carries gradients back through it."""

    @property
    def name(self) -> str:
        """The scenario name."""
        ...

    @property
    def elementwise(self) -> bool:
        """True when g acts on each unit alone, so that da/dz is a number per unit."""
        ...

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """a = g(z), same shape as z."""
        ...

    def raw(self, z: np.ndarray) -> np.ndarray:
        """g(z) for callers that already silenced floating-point warnings (the network)."""
        ...

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """da/dz unit by unit, g'(z), same shape as z (diagonal of the Jacobian)."""
        ...

    def backprop(self, z: np.ndarray, a: np.ndarray, dC_da: np.ndarray) -> np.ndarray:
        """dC_0/dz from dC_0/da, each (n, m)."""
        ...


@dataclass(frozen=True)
class _Elementwise:
    """Shared backprop rule of the element-wise activations: g'(z) * dC/da."""

    name: str
    elementwise = True

    def backprop(self, z: np.ndarray, a: np.ndarray, dC_da: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.derivative(z, a) * dC_da
        return out

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self.raw(z)

    def raw(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError


@dataclass(frozen=True)
class Sigmoid(_Elementwise):
    """sigma(z) = 1 / (1 + e^-z); sigma'(z) = sigma(z) (1 - sigma(z))."""

    name: str = "sigmoid"

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return sigmoid(z)

    def raw(self, z: np.ndarray) -> np.ndarray:
        out: np.ndarray = 1.0 / (1.0 + np.exp(-z))  # see sigmoid() for z < -709
        return out

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return a * (1.0 - a)


@dataclass(frozen=True)
class Tanh(_Elementwise):
    """tanh(z); tanh'(z) = 1 - tanh(z)^2."""

    name: str = "tanh"

    def raw(self, z: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.tanh(z)
        return out

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        out: np.ndarray = 1.0 - a * a
        return out


@dataclass(frozen=True)
class Relu(_Elementwise):
    """max(0, z); derivative 1 for z > 0 and 0 for z <= 0 (the contract's choice at 0)."""

    name: str = "relu"

    def raw(self, z: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.maximum(z, 0.0)
        return out

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return (z > 0.0).astype(np.float64)


@dataclass(frozen=True)
class LeakyRelu(_Elementwise):
    """z for z > 0, 0.01 z otherwise; derivative 1 or 0.01."""

    name: str = "leaky_relu"

    def raw(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0.0, z, LEAKY_SLOPE * z)

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return np.where(z > 0.0, 1.0, LEAKY_SLOPE)


@dataclass(frozen=True)
class Linear(_Elementwise):
    """The identity; derivative 1."""

    name: str = "linear"

    def raw(self, z: np.ndarray) -> np.ndarray:
        return z.copy()

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return np.ones_like(z)


@dataclass(frozen=True)
class Softmax:
    """softmax over the units of each column: a_j = e^{z_j} / sum_k e^{z_k}.

    Its Jacobian da_j/dz_k = a_j (delta_jk - a_k) is not diagonal, so
    dC/dz_k = a_k (dC/da_k - sum_j a_j dC/da_j), column by column.
    """

    name: str = "softmax"
    elementwise = False

    def __call__(self, z: np.ndarray) -> np.ndarray:
        shifted = z - z.max(axis=0, keepdims=True)  # e^z overflows past z ~ 709
        e = np.exp(shifted)
        out: np.ndarray = e / e.sum(axis=0, keepdims=True)
        return out

    def raw(self, z: np.ndarray) -> np.ndarray:
        return self(z)

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return a * (1.0 - a)

    def backprop(self, z: np.ndarray, a: np.ndarray, dC_da: np.ndarray) -> np.ndarray:
        out: np.ndarray = a * (dC_da - (a * dC_da).sum(axis=0, keepdims=True))
        return out


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z), exact at any z.

    For z < -709, e^-z overflows to inf and the quotient is the correct 0.0;
    the overflow warning that would print is silenced here.
    """
    with np.errstate(over="ignore"):
        out: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return out


ACTIVATION_TYPES: dict[str, Activation] = {
    a.name: a for a in (Sigmoid(), Tanh(), Relu(), LeakyRelu(), Linear(), Softmax())
}
"""Every activation by its scenario name."""


def get_activation(name: str) -> Activation:
    """The activation called `name` (names are validated by the scenario loader)."""
    return ACTIVATION_TYPES[name]
