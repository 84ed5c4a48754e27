"""Per-example costs C_0 and their gradients dC_0/da, as small value objects.

`a` and `y` are (n_L, m): one column per example. `value` returns C_0 for
each example, shape (m,); the batch cost C is its mean (the contract).
`gradient` returns dC_0/da^(L), shape (n_L, m): column i is example i's own.

Two pairs have fused forms that stay finite where the separate ones would
take log(0): sigmoid + binary_cross_entropy and softmax + cross_entropy.
They compute the same numbers from z instead of a (see `output_cost` and
`output_delta`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from bpdebug.engine.activations import Activation


class Loss(Protocol):
    """A per-example cost with its derivative."""

    @property
    def name(self) -> str:
        """The scenario name."""
        ...

    def value(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """C_0 per example, shape (m,)."""
        ...

    def gradient(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """dC_0/da, shape (n_L, m)."""
        ...


@dataclass(frozen=True)
class SquaredError:
    """C_0 = sum_j (a_j - y_j)^2, 3Blue1Brown's cost; dC_0/da_j = 2 (a_j - y_j)."""

    name: str = "squared_error"

    def value(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        out: np.ndarray = ((a - y) ** 2).sum(axis=0)
        return out

    def gradient(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        out: np.ndarray = 2.0 * (a - y)
        return out


@dataclass(frozen=True)
class HalfSquaredError:
    """C_0 = 1/2 sum_j (a_j - y_j)^2; dC_0/da_j = a_j - y_j."""

    name: str = "half_squared_error"

    def value(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        out: np.ndarray = 0.5 * ((a - y) ** 2).sum(axis=0)
        return out

    def gradient(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        out: np.ndarray = a - y
        return out


@dataclass(frozen=True)
class CrossEntropy:
    """C_0 = -sum_j y_j log a_j; dC_0/da_j = -y_j / a_j (0 where y_j = 0)."""

    name: str = "cross_entropy"

    def value(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(y != 0.0, y * np.log(np.where(y != 0.0, a, 1.0)), 0.0)
        out: np.ndarray = -terms.sum(axis=0)
        return out

    def gradient(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            out: np.ndarray = np.where(y != 0.0, -y / np.where(y != 0.0, a, 1.0), 0.0)
        return out


@dataclass(frozen=True)
class BinaryCrossEntropy:
    """C_0 = -sum_j [y_j log a_j + (1 - y_j) log(1 - a_j)];
    dC_0/da_j = (a_j - y_j) / (a_j (1 - a_j))."""

    name: str = "binary_cross_entropy"

    def value(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            pos = np.where(y != 0.0, y * np.log(np.where(y != 0.0, a, 1.0)), 0.0)
            neg = np.where(y != 1.0, (1.0 - y) * np.log(np.where(y != 1.0, 1.0 - a, 1.0)), 0.0)
        out: np.ndarray = -(pos + neg).sum(axis=0)
        return out

    def gradient(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            out: np.ndarray = (a - y) / (a * (1.0 - a))
        return out


LOSS_TYPES: dict[str, Loss] = {
    loss.name: loss
    for loss in (SquaredError(), HalfSquaredError(), CrossEntropy(), BinaryCrossEntropy())
}
"""Every loss by its scenario name."""


def get_loss(name: str) -> Loss:
    """The loss called `name` (names are validated by the scenario loader)."""
    return LOSS_TYPES[name]


def output_cost(
    activation: Activation, loss: Loss, z: np.ndarray, a: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """C_0 per example, shape (m,), from the output layer's z and a, both (n_L, m).

    The fused pairs use log-sigmoid and log-softmax of z, which stay finite
    where a has rounded to exactly 0 or 1.
    """
    if activation.name == "sigmoid" and loss.name == "binary_cross_entropy":
        # -[y log s(z) + (1-y) log(1 - s(z))] = y softplus(-z) + (1-y) softplus(z)
        out: np.ndarray = (y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)).sum(axis=0)
        return out
    if activation.name == "softmax" and loss.name == "cross_entropy":
        shifted = z - z.max(axis=0, keepdims=True)
        log_a = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
        out = -np.where(y != 0.0, y * log_a, 0.0).sum(axis=0)
        return out
    return loss.value(a, y)


def output_delta(
    activation: Activation,
    loss: Loss,
    z: np.ndarray,
    a: np.ndarray,
    y: np.ndarray,
    fused: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(dC_0/da^(L), delta^(L) = dC_0/dz^(L)), each (n_L, m).

    With `fused`, the two pairs with a shortcut skip the division by a that
    the chain rule takes: sigmoid + binary_cross_entropy gives a - y, and
    softmax + cross_entropy gives a * sum_j y_j - y (a - y for one-hot y).
    Either way the numbers are those of the general rule. Callers silence
    floating-point warnings (a saturated a divides by 0 in dC_0/da).
    """
    dC_da = loss.gradient(a, y)
    if fused and activation.name == "sigmoid" and loss.name == "binary_cross_entropy":
        return dC_da, a - y
    if fused and activation.name == "softmax" and loss.name == "cross_entropy":
        return dC_da, a * y.sum(axis=0, keepdims=True) - y
    return dC_da, activation.backprop(z, a, dC_da)
