"""Activation functions g and their derivatives, as small value objects.

Each activation maps z (n, m) to a = g(z) (n, m), and maps dC_0/da (n, m) back
to dC_0/dz (n, m). For element-wise activations that is the seeds'
`g'(z) * dC_0/da`; softmax couples the units of a column, so it applies its
full Jacobian (column by column) instead.

Two families of methods: `derivative` and `backprop` are what the engine
trains with (g'(z) from a, as the seeds write sigma(z)(1 - sigma(z))), and
their numbers never change. `exact_derivative`, `residual`, `reciprocals`
and `exact_backprop` answer the same questions from z alone, so that they
stay exact where a = g(z) has rounded to its limit (sigmoid(45) is exactly
1.0 in floating point, so a(1 - a) is 0 while sigma'(45) is 2.9e-20): the
chain-rule pane shows these.
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

    def exact_derivative(self, z: np.ndarray) -> np.ndarray:
        """g'(z) from z alone, (n, m): nonzero wherever the true value is a nonzero float."""
        ...

    def residual(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """a - y from z, (n, m): exact even where a has rounded to a limit equal to y."""
        ...

    def reciprocals(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(1/a, 1/(1 - a)) from z, each (n, m): what the log losses' dC_0/da divides by."""
        ...

    def exact_backprop(self, z: np.ndarray, dC_da: np.ndarray) -> np.ndarray:
        """dC_0/dz from dC_0/da, each (n, m), with da/dz taken from z (`exact_derivative`)."""
        ...


def _sigmoid_pair(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sigma(z), sigma(-z)) = (a, 1 - a), each to a few ulps at any z.

    Both come from t = e^-|z| in (0, 1], so neither is the difference of two
    numbers near 1: 1 - sigma(45) is 2.9e-20 here, not 0.
    """
    t = np.exp(-np.abs(z))
    big = 1.0 / (1.0 + t)  # sigma(|z|)
    small = t / (1.0 + t)  # sigma(-|z|)
    positive = z >= 0.0
    return np.where(positive, big, small), np.where(positive, small, big)


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

    def exact_derivative(self, z: np.ndarray) -> np.ndarray:
        return self.derivative(z, self.raw(z))  # exact already where g' reads z alone

    def residual(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.raw(z) - y
        return out

    def reciprocals(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = self.raw(z)
        with np.errstate(divide="ignore"):
            return 1.0 / a, 1.0 / (1.0 - a)

    def exact_backprop(self, z: np.ndarray, dC_da: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.exact_derivative(z) * dC_da
        return out

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

    def exact_derivative(self, z: np.ndarray) -> np.ndarray:
        """sigma'(z) = e^-|z| / (1 + e^-|z|)^2: 9.9e-305 at |z| = 700, where a(1 - a) is 0."""
        t = np.exp(-np.abs(z))
        out: np.ndarray = t / ((1.0 + t) * (1.0 + t))
        return out

    def residual(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """a - y, as (1 - y) - sigma(-z) where a > 1/2, so a target of 1 leaves -sigma(-z)."""
        a, complement = _sigmoid_pair(z)
        out: np.ndarray = np.where(z > 0.0, (1.0 - y) - complement, a - y)
        return out

    def reciprocals(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """1/a = 1 + e^-z and 1/(1 - a) = 1 + e^z (inf only past the largest float)."""
        with np.errstate(over="ignore"):
            return 1.0 + np.exp(-z), 1.0 + np.exp(z)


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

    def exact_derivative(self, z: np.ndarray) -> np.ndarray:
        """tanh'(z) = sech^2 z = 4 e^-2|z| / (1 + e^-2|z|)^2, where 1 - a^2 would be 0."""
        t = np.exp(-2.0 * np.abs(z))
        out: np.ndarray = 4.0 * t / ((1.0 + t) * (1.0 + t))
        return out

    def residual(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """a - y, through 1 - a = 2 sigma(-2z) and 1 + a = 2 sigma(2z) where |a| > 1/2."""
        a = np.tanh(z)
        with np.errstate(over="ignore"):
            up, down = _sigmoid_pair(2.0 * z)  # (1 + a) / 2 and (1 - a) / 2
        out: np.ndarray = np.where(
            a > 0.5, (1.0 - y) - 2.0 * down, np.where(a < -0.5, 2.0 * up - (1.0 + y), a - y)
        )
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

    def exact_derivative(self, z: np.ndarray) -> np.ndarray:
        """The Jacobian's diagonal a_j (1 - a_j), with 1 - a_j summed from the other units."""
        a, complement, _, _ = _softmax_parts(z)
        out: np.ndarray = a * complement
        return out

    def residual(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """a - y, as (1 - y) - (1 - a) where a > 1/2."""
        a, complement, _, _ = _softmax_parts(z)
        out: np.ndarray = np.where(a > 0.5, (1.0 - y) - complement, a - y)
        return out

    def reciprocals(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """1/a_j = sum_k e^(z_k - z_j) and 1/(1 - a_j), without dividing by a rounded a."""
        _, _, inv_a, inv_complement = _softmax_parts(z)
        return inv_a, inv_complement

    def exact_backprop(self, z: np.ndarray, dC_da: np.ndarray) -> np.ndarray:
        """dC/dz_j = a_j sum_k a_k (dC/da_j - dC/da_k), the Jacobian product with no 1 - a_j.

        It equals `backprop` (sum_k a_k = 1) but keeps its precision where one
        a_j has rounded to 1. It builds an (n, n, m) array: meant for a few columns.
        """
        a = self(z)
        differences = dC_da[:, None, :] - dC_da[None, :, :]  # [j, k] = dC/da_j - dC/da_k
        out: np.ndarray = a * np.einsum("km,jkm->jm", a, differences)
        return out


def _softmax_parts(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(a, 1 - a, 1/a, 1/(1 - a)) of softmax, column by column, each (n, m), n >= 2.

    1 - a_j is the sum of the other units' shares rather than 1 minus a
    rounded a_j; the top unit's 1/(1 - a) is scaled by the second-largest z
    so that the sum it divides by cannot underflow.
    """
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        columns = np.arange(z.shape[1])
        top = np.zeros(z.shape, dtype=bool)
        top[z.argmax(axis=0), columns] = True
        z_max = z.max(axis=0)
        e = np.exp(z - z_max)  # 1 at the top unit
        total = e.sum(axis=0)
        rest = np.where(top, 0.0, e).sum(axis=0)  # total - 1, without the cancellation
        others = np.where(top, rest, total - e)  # sum over k != j of e_k (>= 1 off the top)
        second = np.where(top, -np.inf, z).max(axis=0)
        rest_scaled = np.where(top, 0.0, np.exp(z - second)).sum(axis=0)  # >= 1
        top_inverse = total * np.exp(z_max - second) / rest_scaled
        return (
            e / total,
            others / total,
            total * np.exp(z_max - z),
            np.where(top, top_inverse, total / others),
        )


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
