"""What each pane shows, as plain arrays and strings: no widgets here.

The app turns the Debugger's state into these small records and hands
them down to the widgets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bpdebug.debugger import Debugger
from bpdebug.engine import Params, Trace


@dataclass(frozen=True)
class MatrixPane:
    """One matrix pane: a title in the seeds' notation and its values (or why not)."""

    title: str
    values: np.ndarray | None
    placeholder: str = ""
    selected: tuple[int, int] | None = None
    note: str = ""


TITLES = {
    "W": "W^({l})",
    "z": "z^({l})",
    "a": "a^({l})",
    "delta": "delta^({l})",
    "dW": "dC/dW^({l})",
    "db": "dC/db^({l})",
}
"""Pane titles by quantity, in the notation of the seeds."""


def matrix_panes(debugger: Debugger, diff: bool = False) -> dict[str, MatrixPane]:
    """The six panes of the selected layer: W, z, a, delta, dC/dW, dC/db.

    With an example selected, z, a and delta show its column only. With
    `diff`, every pane shows its change since the reference step (the
    marked step, or the step before).
    """
    l, j, k, i = debugger.layer, debugger.j, debugger.k, debugger.example
    current = _quantities(debugger.params, debugger.trace, l)
    reference: dict[str, np.ndarray] = {}
    ref_step = debugger.reference_step() if diff else None
    if ref_step is not None:
        state, ref = debugger.timeline.peek(ref_step)
        reference = _quantities(state.params, ref, l)
    panes: dict[str, MatrixPane] = {}
    for name, values in current.items():
        title = TITLES[name].format(l=l)
        quantity = "z" if name in ("W", "z", "a") else name
        if name != "W" and not debugger.known(quantity if name != "a" else "a", l):
            where = "forward" if name in ("z", "a") else "backward"
            panes[name] = MatrixPane(title, None, placeholder=f"not yet: {where} pass (s)")
            continue
        note = ""
        shown = values
        if diff:
            if ref_step is None:
                panes[name] = MatrixPane(title, None, placeholder="no earlier step to compare")
                continue
            before = reference[name]
            if before.shape != values.shape:
                panes[name] = MatrixPane(
                    title, None, placeholder=f"step {ref_step}'s batch has another shape"
                )
                continue
            shown = values - before
            title = f"Δ{title}"
            note = f"vs step {ref_step}"
        selected: tuple[int, int] | None = (j, k) if name in ("W", "dW") else (j, 0)
        if name in ("z", "a", "delta") and i is not None:
            shown = shown[:, i : i + 1]
            note = f"example {i}" + (f", {note}" if note else "")
        elif name in ("z", "a", "delta"):
            selected = None
        panes[name] = MatrixPane(title, shown, selected=selected, note=note)
    return panes


def _quantities(params: Params, trace: Trace, l: int) -> dict[str, np.ndarray]:
    """Layer l's six pane quantities, by pane name."""
    return {
        "W": params.W[l],
        "z": trace.z[l],
        "a": trace.a[l],
        "delta": trace.delta[l],
        "dW": trace.dW[l],
        "db": trace.db[l],
    }


def boundary_data(
    debugger: Debugger, rows: int, cols: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """(grid, points, labels, extent) of the decision-boundary pane for a 2-input network.

    The grid is the network's output for class 1 over the input plane at
    the current parameters; points are the data set's inputs.
    """
    from bpdebug.tui.widgets.boundary import boundary_grid, data_extent

    timeline = debugger.timeline
    data = timeline.scenario.data
    network, params = timeline.trainer.network, debugger.params
    extent = data_extent(data.inputs)

    def forward(X: np.ndarray) -> np.ndarray:
        _, a = network.forward(params, X)
        return a[-1]

    grid = boundary_grid(forward, extent, max(rows, 2), max(cols, 2))
    targets = data.targets
    labels = (targets[0] > 0.5) if targets.shape[0] == 1 else (np.argmax(targets, axis=0) == 1)
    return grid, data.inputs.T, labels.astype(int), extent


def numpy_literal(values: np.ndarray) -> str:
    """`values` as a NumPy literal that reads back exactly: ``np.array([[0.1, 0.2]])``."""

    def number(x: float) -> str:
        if math.isnan(x):
            return "np.nan"
        if math.isinf(x):
            return "np.inf" if x > 0 else "-np.inf"
        return repr(float(x))

    def nested(a: np.ndarray) -> str:
        if a.ndim == 1:
            return "[" + ", ".join(number(x) for x in a) + "]"
        return "[" + ",\n ".join(nested(row) for row in a) + "]"

    return f"np.array({nested(np.asarray(values))})"
