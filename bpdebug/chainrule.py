"""The chain rule for one weight, factor by factor: dC0/dw = dz/dw · da/dz · dC0/da.

3Blue1Brown's "Backpropagation calculus" writes the derivative of one
example's cost C0 with respect to one weight w_jk^(l) as a product of
three factors; the NumPy walk-through computes the same number as one
entry of delta^(l) a^(l-1)^T. This module takes a recorded pass and says
what each factor was, so the screen can show the product next to the
matrix entry it makes.

The factors come from z, not from a = g(z) (`chain_rule_at`): where a
sigmoid's a has rounded to exactly 1.0 (z >= 37), a(1 - a) is 0 and
(a - y)/(a(1 - a)) is inf or NaN, while the true sigma'(z) and dC0/da are
ordinary floats (2.9e-20 and 3.5e19 at z = 45). So the example's deltas are
taken again from z, layer L down to l (one column, the engine's arithmetic
otherwise), and the factors multiply to the delta shown. The engine's own
delta (the matrix, what training uses) is kept beside it as `recorded`;
the two differ beyond rounding only where a has saturated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bpdebug.engine import Network, Params, Trace
from bpdebug.engine.losses import output_layer


@dataclass(frozen=True)
class PathTerm:
    """One path from a^(l)_j to the cost through unit q of layer l+1: w_qj * delta_q."""

    q: int
    weight: float
    delta: float
    """delta_q^(l+1) of the example, from z (see the module's docstring)."""
    recorded: float = math.nan
    """delta_q^(l+1) as the engine recorded it (the matrix's entry)."""


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
    """delta_j^(l) of the example, from z (da_dz * dC_da to a few ulps)."""
    paths: tuple[PathTerm, ...]
    """For a hidden layer: the terms of dC/da_j = sum_q w_qj^(l+1) delta_q^(l+1)."""
    product: float
    """dC_0/dw_jk for the example: dz_dw * dC_dz."""
    batch_mean: float
    """dC/dw_jk = mean over the batch (the contract's dW[l][j, k])."""
    reg: float
    """The regularization part of the update's gradient (0 without l1/l2)."""
    per_example: tuple[float, ...] = field(default=())
    """dC_0/dw_jk of every example in the batch, as the engine computed them (batch_mean's)."""
    recorded: float = math.nan
    """delta_j^(l) of the example as the engine recorded it (the matrix's entry)."""

    @property
    def factors(self) -> tuple[float, ...]:
        """The factors shown, in order: (dz/dw, da/dz, dC0/da), or (dz/dw, delta) for softmax."""
        if self.da_dz is None:
            return (self.dz_dw, self.dC_dz)
        return (self.dz_dw, self.da_dz, self.dC_da)


def chain_rule_at(
    network: Network, params: Params, trace: Trace, l: int, j: int, k: int, i: int
) -> ChainRule:
    """dC_0/dw_jk^(l) for example i, factor by factor, every factor from z.

    `trace` is the pass of `params` (their forward and backward on one
    batch) and `network` the math that made it. The example's deltas are
    recomputed from z for layers L..l (one column: O(parameters));
    `batch_mean`, `per_example` and `recorded` are the engine's numbers.
    """
    L = trace.depth
    column = slice(i, i + 1)
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        out = output_layer(network.activations[L], network.loss)
        factors = out.factors(trace.z[L][:, column], trace.Y[:, column])
        delta = factors.dC_dz  # delta^(q) of example i, (n_q, 1), from q = L down to l
        paths: tuple[PathTerm, ...] = ()
        if l == L:
            dC_da = float(factors.dC_da[j, 0])
            da_dz = None if factors.da_dz is None else float(factors.da_dz[j, 0])
        else:
            for q in range(L - 1, l - 1, -1):
                after = delta
                dC_da_q = params.W[q + 1].T @ after
                delta = network.activations[q].exact_backprop(trace.z[q][:, column], dC_da_q)
            W_next = params.W[l + 1]
            paths = tuple(
                PathTerm(
                    q, float(W_next[q, j]), float(after[q, 0]), float(trace.delta[l + 1][q, i])
                )
                for q in range(W_next.shape[0])
            )
            dC_da = float(dC_da_q[j, 0])
            activation = network.activations[l]
            z = trace.z[l][j : j + 1, column]
            da_dz = float(activation.exact_derivative(z)[0, 0]) if activation.elementwise else None
        dz_dw = float(trace.a[l - 1][k, i])
        dC_dz = float(delta[j, 0])
        per_example = trace.delta[l][j, :] * trace.a[l - 1][k, :]
    return ChainRule(
        layer=l,
        j=j,
        k=k,
        example=i,
        dz_dw=dz_dw,
        da_dz=da_dz,
        dC_da=dC_da,
        dC_dz=dC_dz,
        paths=paths,
        product=dz_dw * dC_dz,
        batch_mean=float(trace.dW[l][j, k]),
        reg=float(trace.dW_reg[l][j, k]) if trace.dW_reg[l].size else 0.0,
        per_example=tuple(float(x) for x in per_example),
        recorded=float(trace.delta[l][j, i]),
    )
