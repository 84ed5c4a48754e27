"""Per-example costs C_0 and their gradients dC_0/da, as small value objects.

`a` and `y` are (n_L, m): one column per example. `value` returns C_0 for
each example, shape (m,); the batch cost C is its mean (the contract).
`gradient` returns dC_0/da^(L), shape (n_L, m): column i is example i's own.

The output activation and the loss meet in `OutputLayer`, which answers
for the pair: C_0, delta^(L), and the chain rule's factors dC_0/da, da/dz
and dC_0/dz taken from z (`factors`). Pairs with a shortcut override it
(`FUSED_PAIRS`): sigmoid + binary_cross_entropy and softmax + cross_entropy
take their costs from log-sigmoid and log-softmax of z, which stay finite
where the separate forms would take log(0), and their delta^(L) is a - y;
sigmoid + cross_entropy trains by the general rule but shows its delta,
-y (1 - a), in one piece from z.
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

    def gradient_from_z(self, activation: Activation, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """dC_0/da, shape (n_L, m), with a = g(z) read from z: exact where a has rounded."""
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

    def gradient_from_z(self, activation: Activation, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        out: np.ndarray = 2.0 * activation.residual(z, y)
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

    def gradient_from_z(self, activation: Activation, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return activation.residual(z, y)


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

    def gradient_from_z(self, activation: Activation, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """-y_j (1/a_j), with 1/a from z (1 + e^-z for sigmoid)."""
        inverse_a, _ = activation.reciprocals(z)
        with np.errstate(invalid="ignore", over="ignore"):
            out: np.ndarray = np.where(y != 0.0, -y * inverse_a, 0.0)
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

    def gradient_from_z(self, activation: Activation, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """-y_j / a_j + (1 - y_j) / (1 - a_j), with 1/a = 1 + e^-z and 1/(1 - a) = 1 + e^z
        for sigmoid: finite wherever the true value is, unlike (a - y) / (a (1 - a))."""
        inverse_a, inverse_complement = activation.reciprocals(z)
        with np.errstate(invalid="ignore", over="ignore"):
            out: np.ndarray = np.where(y != 0.0, -y * inverse_a, 0.0) + np.where(
                y != 1.0, (1.0 - y) * inverse_complement, 0.0
            )
        return out


LOSS_TYPES: dict[str, Loss] = {
    loss.name: loss
    for loss in (SquaredError(), HalfSquaredError(), CrossEntropy(), BinaryCrossEntropy())
}
"""Every loss by its scenario name."""


def get_loss(name: str) -> Loss:
    """The loss called `name` (names are validated by the scenario loader)."""
    return LOSS_TYPES[name]


@dataclass(frozen=True)
class OutputFactors:
    """The chain rule at the output layer, each (n_L, m), every factor read from z.

    `dC_dz` (delta^(L)) is computed in one piece, so it stays finite where
    a factor overflows (1/(1 - a) past z = 709); elsewhere it equals
    `da_dz * dC_da` to a few ulps.
    """

    dC_da: np.ndarray
    """dC_0/da^(L)."""
    da_dz: np.ndarray | None
    """g'(z^(L)), or None where da/dz is a Jacobian (softmax)."""
    dC_dz: np.ndarray
    """delta^(L) = dC_0/dz^(L)."""


@dataclass(frozen=True)
class OutputLayer:
    """The output activation g_L and the loss together: C_0, delta^(L), the chain rule.

    This is the general pair, which applies the chain rule as written:
    delta^(L) = g'(z) * dC_0/da (softmax: its Jacobian). `cost` and `delta`
    are the numbers the engine trains with; `factors` the ones the chain
    rule shows, from z. `FUSED_PAIRS` holds the pairs that answer otherwise.
    """

    activation: Activation
    loss: Loss
    one_hot: bool = False
    """Every target column is one-hot (0s and one 1), so sum_j y_j is exactly 1."""

    def cost(self, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """C_0 per example, shape (m,), from z and a, both (n_L, m)."""
        return self.loss.value(a, y)

    def activate(self, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a^(L) = g_L(z), C_0 per example): (n_L, m) and (m,), the numbers of `cost`.

        For callers that already silenced floating-point warnings.
        """
        a = self.activation.raw(z)
        return a, self.cost(z, a, y)

    def delta(
        self, z: np.ndarray, a: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """(dC_0/da^(L), delta^(L)), each (n_L, m), as the engine computes them (from a).

        A fused pair's delta^(L) skips dC_0/da, and gives None for it
        (`loss.gradient(a, y)` is its value). Callers silence floating-point
        warnings (a saturated a divides by 0 in dC_0/da).
        """
        dC_da = self.loss.gradient(a, y)
        return dC_da, self.activation.backprop(z, a, dC_da)

    def factors(self, z: np.ndarray, y: np.ndarray) -> OutputFactors:
        """dC_0/da, da/dz and delta^(L) from z and y, (n_L, m): exact where a has rounded.

        For a few columns (softmax's Jacobian builds an (n, n, m) array).
        """
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            dC_da = self.loss.gradient_from_z(self.activation, z, y)
            da_dz = self.activation.exact_derivative(z) if self.activation.elementwise else None
            return OutputFactors(dC_da, da_dz, self.exact_delta(z, y, dC_da))

    def exact_delta(self, z: np.ndarray, y: np.ndarray, dC_da: np.ndarray) -> np.ndarray:
        """delta^(L) from z, (n_L, m), given dC_0/da from `Loss.gradient_from_z`."""
        return self.activation.exact_backprop(z, dC_da)


class SigmoidBinaryCrossEntropy(OutputLayer):
    """sigmoid + binary_cross_entropy: C_0 = y softplus(-z) + (1-y) softplus(z); delta = a - y."""

    def cost(self, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        # -[y log s(z) + (1-y) log(1 - s(z))] = y softplus(-z) + (1-y) softplus(z)
        out: np.ndarray = (y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)).sum(axis=0)
        return out

    def delta(
        self, z: np.ndarray, a: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray | None, np.ndarray]:
        return None, a - y

    def exact_delta(self, z: np.ndarray, y: np.ndarray, dC_da: np.ndarray) -> np.ndarray:
        return self.activation.residual(z, y)


class SigmoidCrossEntropy(OutputLayer):
    """sigmoid + cross_entropy: delta = -y (1 - a), which stays finite where 1/a overflows."""

    def exact_delta(self, z: np.ndarray, y: np.ndarray, dC_da: np.ndarray) -> np.ndarray:
        out: np.ndarray = y * self.activation.residual(z, np.ones_like(y))  # a - 1 = -(1 - a)
        return out


class SoftmaxCrossEntropy(OutputLayer):
    """softmax + cross_entropy: C_0 = -sum_j y_j log-softmax(z)_j; delta = a sum_j y_j - y."""

    def cost(self, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        return self.activate(z, y)[1]

    def activate(self, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # a = e^shifted / total and log a = shifted - log(total) share e^shifted and
        # its sum: the same numbers as Softmax and a log-softmax of their own.
        shifted = z - z.max(axis=0, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=0, keepdims=True)
        log_a = shifted - np.log(total)
        out: np.ndarray = -np.where(y != 0.0, y * log_a, 0.0).sum(axis=0)
        return e / total, out

    def delta(
        self, z: np.ndarray, a: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray | None, np.ndarray]:
        if self.one_hot:
            return None, a - y  # = a * 1.0 - y, bit for bit
        return None, a * y.sum(axis=0, keepdims=True) - y

    def exact_delta(self, z: np.ndarray, y: np.ndarray, dC_da: np.ndarray) -> np.ndarray:
        # a s - y = s (a - y) + y (s - 1), s = sum_j y_j: a - y when the targets sum to 1
        s = y.sum(axis=0, keepdims=True)
        out: np.ndarray = s * self.activation.residual(z, y) + y * (s - 1.0)
        return out


FUSED_PAIRS: dict[tuple[str, str], type[OutputLayer]] = {
    ("sigmoid", "binary_cross_entropy"): SigmoidBinaryCrossEntropy,
    ("sigmoid", "cross_entropy"): SigmoidCrossEntropy,
    ("softmax", "cross_entropy"): SoftmaxCrossEntropy,
}
"""Output pairs that answer with their own forms, by (activation, loss) name."""


def output_layer(activation: Activation, loss: Loss, one_hot: bool = False) -> OutputLayer:
    """The pair g_L + loss: a fused one from `FUSED_PAIRS`, or the general chain rule.

    `one_hot` promises that every target column it will be given is one-hot.
    """
    pair = FUSED_PAIRS.get((activation.name, loss.name), OutputLayer)
    return pair(activation, loss, one_hot)
