"""Two branches at the same step, compared: W, a, delta and dW of every layer (issue 11).

`d` on the screen shows each operand of one branch minus the same operand
of another; this module says, for the whole network, where the two
histories differ most. No UI toolkit here.

The difference is always ours minus theirs (the current branch minus the
compared one), per element. A quantity whose shapes differ (a new batch
size gives another batch) has no difference, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from bpdebug.engine import Params, Trace

QUANTITIES = ("W", "a", "delta", "dW")
"""What is compared in every layer, in this order: the weights, the activations,
the errors delta = dC_0/dz and the gradient dC/dW (without its l1/l2 part)."""


@dataclass(frozen=True)
class Difference:
    """One quantity of one layer on two branches: ours − theirs."""

    layer: int
    quantity: str
    """One of QUANTITIES."""
    values: np.ndarray | None
    """ours − theirs, the quantity's shape ((n_l, n_{l-1}) for W and dW, (n_l, m) for a and
    delta); None when the shapes differ."""
    why_not: str = ""
    """Why there is no difference (another batch size), else empty."""

    @cached_property
    def largest(self) -> tuple[tuple[int, int], float] | None:
        """The index and value of the largest |ours − theirs| (the first one on a tie), or
        None when there is no difference to look at or it is all zero. A NaN counts as
        largest: where one branch blew up is the difference to see first."""
        values = self.values
        if values is None or values.size == 0:
            return None
        size = np.abs(values)
        size = np.where(np.isnan(size), np.inf, size)
        flat = int(np.argmax(size))
        if size.flat[flat] == 0:
            return None
        row, col = np.unravel_index(flat, values.shape)
        return (int(row), int(col)), float(values.flat[flat])

    def name(self) -> str:
        """``W^(1)``, ``dC/dW^(2)``, ``delta^(1)``."""
        return f"{'dC/dW' if self.quantity == 'dW' else self.quantity}^({self.layer})"


def differences(
    ours: tuple[Params, Trace], theirs: tuple[Params, Trace], depth: int
) -> list[Difference]:
    """Every quantity of every layer 1..`depth`, ours − theirs (see `Difference`)."""
    out = []
    for layer in range(1, depth + 1):
        for quantity in QUANTITIES:
            a, b = _pick(ours, quantity, layer), _pick(theirs, quantity, layer)
            if a.shape != b.shape:
                why = f"shapes differ: {_shape(a)} here, {_shape(b)} there (another batch size)"
                out.append(Difference(layer, quantity, None, why))
            else:
                with np.errstate(invalid="ignore", over="ignore"):
                    out.append(Difference(layer, quantity, a - b))
    return out


def largest(found: list[Difference], count: int = 3) -> list[Difference]:
    """The `count` differences whose largest element is largest in size, largest first
    (NaN first of all); those that are all zero are left out."""
    ranked = [d for d in found if d.largest is not None]

    def size(d: Difference) -> float:
        value = d.largest[1] if d.largest is not None else 0.0
        return np.inf if np.isnan(value) else abs(value)

    return sorted(ranked, key=size, reverse=True)[:count]


def summary(found: list[Difference], theirs: str, count: int = 3) -> str:
    """One line naming the largest differences: ``vs b1, largest: dC/dW^(1)[0,1] +0.0123,
    W^(2)[0,0] -0.00412, ...``; or that they are the same."""
    top = largest(found, count)
    if not top:
        shapes = [d for d in found if d.values is None]
        same = "no difference" + (" where the shapes agree" if shapes else "")
        return f"vs {theirs}: {same}"
    parts = []
    for d in top:
        assert d.largest is not None  # kept by `largest`
        (row, col), value = d.largest
        parts.append(f"{d.name()}[{row},{col}] {value:+.3g}")
    return f"vs {theirs}, largest: {', '.join(parts)}"


def _pick(side: tuple[Params, Trace], quantity: str, layer: int) -> np.ndarray:
    params, trace = side
    match quantity:
        case "W":
            return np.asarray(params.W[layer])
        case "a":
            return np.asarray(trace.a[layer])
        case "delta":
            return np.asarray(trace.delta[layer])
        case _:
            return np.asarray(trace.dW[layer])


def _shape(values: np.ndarray) -> str:
    return "x".join(map(str, values.shape))
