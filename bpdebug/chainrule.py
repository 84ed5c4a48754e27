"""The chain rule for one weight, factor by factor: dC0/dw = dz/dw · da/dz · dC0/da.

3Blue1Brown's "Backpropagation calculus" writes the derivative of one
example's cost C0 with respect to one weight w_jk^(l) as a product of
three factors; the NumPy walk-through computes the same number as one
entry of delta^(l) a^(l-1)^T. This module takes a recorded pass and says
what each factor was, so the screen can show the product next to the
matrix entry it makes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bpdebug.engine import Activation, Trace


@dataclass(frozen=True)
class PathTerm:
    """One path from a^(l)_j to the cost through unit q of layer l+1: w_qj * delta_q."""

    q: int
    weight: float
    delta: float


@dataclass(frozen=True)
class ChainRule:
    """dC_0/dw_jk^(l) = dz/dw * da/dz * dC/da for one example, and the batch mean.

    For a softmax layer da/dz is a Jacobian, not a number; `da_dz` is then
    None and `dC_dz` (delta) is shown directly.
    """

    layer: int
    j: int
    k: int
    example: int
    dz_dw: float
    """a_k^(l-1) of the example."""
    da_dz: float | None
    """g'(z_j^(l)) of the example (None for softmax)."""
    dC_da: float
    """dC_0/da_j^(l) of the example."""
    dC_dz: float
    """delta_j^(l) of the example."""
    paths: tuple[PathTerm, ...]
    """For a hidden layer: the terms of dC/da_j = sum_q w_qj^(l+1) delta_q^(l+1)."""
    product: float
    """dC_0/dw_jk for the example."""
    batch_mean: float
    """dC/dw_jk = mean over the batch (the contract's dW[l][j, k])."""
    reg: float
    """The regularization part of the update's gradient (0 without l1/l2)."""
    per_example: tuple[float, ...] = field(default=())
    """dC_0/dw_jk of every example in the batch."""


def chain_rule_for(
    trace: Trace,
    W: tuple[np.ndarray, ...],
    activation: Activation,
    l: int,
    j: int,
    k: int,
    i: int,
) -> ChainRule:
    """dC_0/dw_jk^(l) for example i, factor by factor, from a recorded pass.

    `W` is the weights by layer (for the paths through layer l+1) and
    `activation` is g of layer l (for g'(z)).
    """
    a_prev = trace.a[l - 1]
    delta = trace.delta[l]
    if l == trace.depth:
        dC_da = float(trace.dC_da[j, i])
        paths: tuple[PathTerm, ...] = ()
    else:
        nxt = trace.delta[l + 1]
        paths = tuple(
            PathTerm(q, float(W[l + 1][q, j]), float(nxt[q, i])) for q in range(nxt.shape[0])
        )
        dC_da = float(W[l + 1][:, j] @ nxt[:, i])
    da_dz = (
        float(activation.derivative(trace.z[l][:, i : i + 1], trace.a[l][:, i : i + 1])[j, 0])
        if activation.elementwise
        else None
    )
    per_example = delta[j, :] * a_prev[k, :]
    return ChainRule(
        layer=l,
        j=j,
        k=k,
        example=i,
        dz_dw=float(a_prev[k, i]),
        da_dz=da_dz,
        dC_da=dC_da,
        dC_dz=float(delta[j, i]),
        paths=paths,
        product=float(per_example[i]),
        batch_mean=float(trace.dW[l][j, k]),
        reg=float(trace.dW_reg[l][j, k]) if trace.dW_reg[l].size else 0.0,
        per_example=tuple(float(x) for x in per_example),
    )
