"""One-line summaries of arrays, like lovely-tensors' repr: the screen's matrices and the
Python API's reprs share them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Summary:
    """A matrix in one line, like lovely-tensors' repr: shape, range, moments, flags."""

    fields: tuple[str, ...]
    """Each a few words (``min -0.12``); a block wraps them to its width, never cuts one."""


def summarize(values: NDArray[np.float64], shape: tuple[int, ...], units: bool = False) -> Summary:
    """Shape, [min, max], mean μ, std σ, norm ‖·‖, zeros and NaN/inf counts of `values`;
    with `units` (a relu layer's a), the dead units: rows that are 0 for every example."""
    finite = values[np.isfinite(values)]
    fields = ["x".join(map(str, shape))]
    if finite.size:
        with np.errstate(over="ignore", invalid="ignore"):  # a blow-up's norm may overflow
            fields += [
                f"[{finite.min():.3g}, {finite.max():.3g}]",
                f"μ {finite.mean():.3g}",
                f"σ {finite.std():.3g}",
                f"‖·‖ {math.sqrt(float(np.dot(finite, finite))):.3g}",
            ]
    zeros = int(np.count_nonzero(values == 0))
    if zeros:
        fields.append(f"zeros {zeros}")
    if units:
        dead = int(np.count_nonzero((values == 0).all(axis=1)))
        fields.append(f"dead {dead}/{values.shape[0]}")
    nan, inf = int(np.isnan(values).sum()), int(np.isinf(values).sum())
    if nan:
        fields.append(f"NaN {nan}!")
    if inf:
        fields.append(f"inf {inf}!")
    return Summary(tuple(fields))


def describe(values: NDArray[np.float64], units: bool = False) -> str:
    """`summarize` as one line: ``4x2 [-0.12, 0.96] μ 0.31 σ 0.4 ‖·‖ 1.3``."""
    return " ".join(summarize(values, values.shape, units).fields)
