"""Gradient check: backprop's gradients against centred finite differences.

For a parameter p the numerical derivative is (C(p + h) - C(p - h)) / 2h,
with C the batch cost including regularization. Each is compared with the
analytic value by the relative error |a - n| / (|a| + |n|) (0 when both are
0), and each layer is placed in CS231n's bands:
<= 1e-7 good, <= 1e-4 suspect, > 1e-4 wrong.

A relu (or leaky relu) unit whose z changes sign between p + h and p - h,
or a weight that crosses 0 under an l1 penalty, makes the cost non-smooth
inside the step, so the finite difference is not the derivative there.
Such parameters are counted as `kinks`, reported, and left out of the band.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bpdebug.engine.network import Network, Params

GOOD = 1e-7
"""Largest relative error called good."""
SUSPECT = 1e-4
"""Largest relative error called suspect; above it, wrong."""
FULL_CHECK_LIMIT = 2000
"""Networks with at most this many parameters are checked in full by default."""
DEFAULT_SAMPLE = 100
"""Parameters checked per layer when a network is larger than FULL_CHECK_LIMIT."""

Band = Literal["good", "suspect", "wrong", "kink"]


@dataclass(frozen=True)
class Entry:
    """One checked parameter: `name` is "W" or "b", `index` its position."""

    name: str
    index: tuple[int, ...]
    analytic: float
    numeric: float
    kink: bool

    @property
    def rel_error(self) -> float:
        """|a - n| / (|a| + |n|), 0 when both are 0."""
        denom = abs(self.analytic) + abs(self.numeric)
        return 0.0 if denom == 0.0 else abs(self.analytic - self.numeric) / denom


@dataclass(frozen=True)
class LayerCheck:
    """The check of one weighted layer."""

    layer: int
    entries: tuple[Entry, ...]

    @property
    def checked(self) -> int:
        """How many parameters were checked."""
        return len(self.entries)

    @property
    def kinks(self) -> int:
        """How many of them crossed a kink (left out of the band)."""
        return sum(e.kink for e in self.entries)

    @property
    def worst(self) -> Entry | None:
        """The smooth entry with the largest relative error (None if all crossed a kink)."""
        smooth = [e for e in self.entries if not e.kink]
        return max(smooth, key=lambda e: e.rel_error) if smooth else None

    @property
    def max_rel_error(self) -> float:
        """The largest relative error among smooth entries."""
        worst = self.worst
        return worst.rel_error if worst else float("nan")

    @property
    def band(self) -> Band:
        """good, suspect or wrong by the smooth entries; kink when none are smooth."""
        worst = self.worst
        if worst is None:
            return "kink"
        err = worst.rel_error
        if not np.isfinite(err) or err > SUSPECT:
            return "wrong"
        return "good" if err <= GOOD else "suspect"


@dataclass(frozen=True)
class GradCheck:
    """A gradient check of every layer at one state."""

    h: float
    cost: float
    layers: tuple[LayerCheck, ...]

    @property
    def ok(self) -> bool:
        """No layer in the wrong band."""
        return all(c.band != "wrong" for c in self.layers)


def _kinked(network: Network, params: Params, X: np.ndarray) -> frozenset[tuple[int, int, int]]:
    """(layer, unit, example) of relu-family units with their z > 0 (the branch taken)."""
    z, _ = network.forward(params, X)
    branches = set()
    for l in range(1, network.depth + 1):
        if network.activations[l].name in ("relu", "leaky_relu"):
            for j, i in zip(*np.nonzero(z[l] > 0.0), strict=True):
                branches.add((l, int(j), int(i)))
    return frozenset(branches)


def _pick(
    n_W: int, n_b: int, sample: int | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the W and b entries of one layer to check: all, or `sample` of them.

    The sample is drawn from the layer's n_W + n_b parameters together, so a
    layer gets exactly `sample` checks (or all of them, if it has fewer).
    """
    if sample is None or n_W + n_b <= sample:
        return np.arange(n_W), np.arange(n_b)
    chosen = np.sort(rng.choice(n_W + n_b, size=sample, replace=False))
    return chosen[chosen < n_W], chosen[chosen >= n_W] - n_W


class CheckStopped(Exception):
    """A gradient check stopped before its end (its `go_on` said so)."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"stopped after {done} of {total} parameters")
        self.done = done
        self.total = total


def check_gradients(
    network: Network,
    params: Params,
    X: np.ndarray,
    Y: np.ndarray,
    h: float = 1e-5,
    sample: int | None = None,
    seed: int = 0,
    go_on: Callable[[int, int], bool] | None = None,
) -> GradCheck:
    """Check every parameter (or `sample` per layer, W and b together, chosen with `seed`).

    X is (n_0, m) and Y is (n_L, m). With `sample` None, networks of at most
    FULL_CHECK_LIMIT parameters are checked in full and larger ones sample
    DEFAULT_SAMPLE parameters per layer. `go_on(done, total)` is asked after
    each parameter (two costs); when it says False the check stops by
    raising CheckStopped.
    """
    trace = network.trace(params, X, Y)
    if sample is None and params.count() > FULL_CHECK_LIMIT:
        sample = DEFAULT_SAMPLE
    rng = np.random.default_rng(seed)
    has_relu = any(a.name in ("relu", "leaky_relu") for a in network.activations[1:])
    Ws = [w.copy() for w in params.W]
    bs = [b.copy() for b in params.b]
    work = Params(tuple(Ws), tuple(bs))
    layers: list[LayerCheck] = []
    picks = [_pick(Ws[l].size, bs[l].size, sample, rng) for l in range(1, network.depth + 1)]
    total = sum(w.size + b.size for w, b in picks)
    done = 0
    # A nudge of a huge weight may overflow: that is a result (a NaN or inf
    # difference, placed in the "wrong" band), not an error.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for l in range(1, network.depth + 1):
            entries: list[Entry] = []
            picked = picks[l - 1]
            for name, array, grad, flat_indices in (
                ("W", Ws[l], trace.grad_W(l), picked[0]),
                ("b", bs[l], trace.db[l], picked[1]),
            ):
                for flat in flat_indices:
                    index = tuple(int(i) for i in np.unravel_index(flat, array.shape))
                    original = array[index]
                    array[index] = original + h
                    c_plus = network.cost(work, X, Y)
                    kink_plus = _kinked(network, work, X) if has_relu else frozenset()
                    array[index] = original - h
                    c_minus = network.cost(work, X, Y)
                    kink_minus = _kinked(network, work, X) if has_relu else frozenset()
                    array[index] = original
                    crossed_l1 = name == "W" and network.l1 > 0.0 and abs(original) < h
                    entries.append(
                        Entry(
                            name=name,
                            index=index,
                            analytic=float(grad[index]),
                            numeric=(c_plus - c_minus) / (2.0 * h),
                            kink=kink_plus != kink_minus or crossed_l1,
                        )
                    )
                    done += 1
                    if go_on is not None and not go_on(done, total):
                        raise CheckStopped(done, total)
            layers.append(LayerCheck(l, tuple(entries)))
    return GradCheck(h=h, cost=trace.cost, layers=tuple(layers))
