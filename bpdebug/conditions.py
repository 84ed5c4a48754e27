"""Breakpoint conditions, tested against one state and its forward/backward pass."""

from __future__ import annotations

import numpy as np

from bpdebug.engine import Trace
from bpdebug.scenario.model import Breakpoint
from bpdebug.training import TrainState


def _layers(bp: Breakpoint, trace: Trace) -> range:
    return range(bp.layer, bp.layer + 1) if bp.layer else range(1, trace.depth + 1)


def dead_units(trace: Trace, layer: int) -> np.ndarray:
    """Indices of relu units of `layer` whose a is 0 for every example of the batch."""
    if trace.depth < layer or layer < 1:
        return np.empty(0, dtype=np.intp)
    dead: np.ndarray = np.flatnonzero(np.all(trace.a[layer] == 0.0, axis=1))
    return dead


def breakpoint_hit(
    bp: Breakpoint, state: TrainState, trace: Trace, relu_layers: frozenset[int]
) -> bool:
    """Whether `bp` holds at `state`, whose pass is `trace`.

    `relu_layers` names the layers whose activation is relu (dead units are
    looked for there only).
    """
    match bp.kind:
        case "nonfinite":
            return not (trace.all_finite() and state.params.all_finite())
        case "cost_below":
            return trace.cost < bp.value
        case "grad_norm_above":
            return any(trace.grad_norm(l) > bp.value for l in _layers(bp, trace))
        case "grad_norm_below":
            return any(trace.grad_norm(l) < bp.value for l in _layers(bp, trace))
        case "dead_unit":
            return any(
                dead_units(trace, l).size > 0 for l in _layers(bp, trace) if l in relu_layers
            )
        case "step":
            return state.step == int(bp.value)


def describe_nonfinite(state: TrainState, trace: Trace) -> str:
    """Where the first NaN or inf of a state appears: ``inf in z^(2)`` or ``NaN in W^(1)``."""
    for layer in range(1, state.params.depth + 1):
        for name, arr in (("W", state.params.W[layer]), ("b", state.params.b[layer])):
            if not np.isfinite(arr).all():
                return f"{_kind(arr)} in {name}^({layer})"
    found = trace.first_nonfinite()
    if found is None:
        return "all finite"
    name, layer = found
    if name == "cost":
        return f"{_kind(trace.per_example_cost)} in the cost"
    return f"{_kind(getattr(trace, name)[layer])} in {name}^({layer})"


def _kind(arr: np.ndarray) -> str:
    return "NaN" if np.isnan(arr).any() else "inf"
