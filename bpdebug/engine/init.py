"""Seeded initialisation of weights and biases.

Schemes (n_in = n_{l-1}, n_out = n_l):
- `xavier`: W ~ U(-r, r) with r = sqrt(6 / (n_in + n_out)) (Glorot & Bengio), b = 0.
- `he`: W ~ N(0, 2 / n_in) (He et al., for relu), b = 0.
- `uniform`: W and b ~ U(-range, range).
- `zeros`: W = 0, b = 0 (every unit of a layer stays identical: a lesson in symmetry).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bpdebug.engine.network import EMPTY, Params, frozen


def init_params(
    layers: Sequence[int],
    scheme: str,
    seed: int,
    init_range: float = 0.5,
    explicit: Sequence[tuple[np.ndarray, np.ndarray]] = (),
) -> Params:
    """Starting parameters for a network of `layers` units, repeatable from `seed`.

    `explicit` (one (W, b) per weighted layer, already validated) wins over
    the scheme.
    """
    rng = np.random.default_rng(seed)
    Ws: list[np.ndarray] = [EMPTY]
    bs: list[np.ndarray] = [EMPTY]
    for l in range(1, len(layers)):
        n_in, n_out = layers[l - 1], layers[l]
        b = np.zeros(n_out)
        if explicit:
            W = np.array(explicit[l - 1][0], dtype=np.float64)
            b = np.array(explicit[l - 1][1], dtype=np.float64)
        elif scheme == "xavier":
            r = np.sqrt(6.0 / (n_in + n_out))
            W = rng.uniform(-r, r, size=(n_out, n_in))
        elif scheme == "he":
            W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))
        elif scheme == "uniform":
            W = rng.uniform(-init_range, init_range, size=(n_out, n_in))
            b = rng.uniform(-init_range, init_range, size=n_out)
        elif scheme == "zeros":
            W = np.zeros((n_out, n_in))
        else:
            raise ValueError(f"unknown init scheme {scheme!r}")
        Ws.append(frozen(W))
        bs.append(frozen(b))
    return Params(tuple(Ws), tuple(bs))
