"""What each pane shows, as plain arrays and strings: no widgets here.

The app turns the Debugger's state into these small records and hands
them down to the widgets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from rich.text import Text

from bpdebug.branchdiff import differences, summary
from bpdebug.debugger import Debugger
from bpdebug.operands import Operand, PhaseEquation, phase_equation
from bpdebug.tui import colors
from bpdebug.tui.widgets.equation import BlockSpec, Section
from bpdebug.tui.widgets.matrix import HEATMAP_CELLS

MODES = ("auto", "numbers", "heatmap")
"""How matrices are drawn (`h` cycles): big ones as heatmaps, all as numbers, all as heatmaps."""


@dataclass(frozen=True)
class Centre:
    """What the centre pane shows: the equation, its operands as blocks, and lines above."""

    equation: PhaseEquation
    header: list[Text]
    sections: list[Section]
    operands: dict[str, Operand]
    """The operands as drawn (differences in diff mode), by key."""
    pane: str
    """The marked operand's key (what `y` copies)."""
    selected: Text = field(default_factory=Text)
    """The selected cell of the marked operand, in full precision (the header's end)."""


def centre(
    debugger: Debugger,
    pane: str,
    mode: str = "auto",
    diff: bool = False,
    against: Debugger | None = None,
) -> Centre:
    """The shown phase's equations with every operand, the selection and the pane marked.

    With `diff`, every operand shows its change since the reference step
    (the marked step, or the step before), computed the same way there; with
    `against` too (the session on the compared branch, `Debugger.on`), its
    difference from the same operand on that branch at the same step, and a
    line naming the largest differences of the whole network.
    """
    equation = phase_equation(debugger)
    operands = dict(equation.operands)
    note = ""
    largest: Text | None = None
    if diff and against is not None:
        operands, note = _across(debugger, against, operands)
        largest = _largest_line(debugger, against)
    elif diff:
        operands, note = _differences(debugger, operands)
    with_values = [key for key, operand in operands.items() if operand.values is not None]
    if pane not in with_values:
        pane = with_values[0] if with_values else next(iter(operands), "")
    select = {"j": debugger.j, "k": debugger.k, "ex": debugger.example, "one": 0}
    sections = []
    for line in equation.lines:
        blocks = []
        for original in line.operands:
            operand = operands[original.key]
            values = operand.values
            heatmap = mode == "heatmap" or (
                mode == "auto" and values is not None and values.size > HEATMAP_CELLS
            )
            row, col = select.get(operand.rows), select.get(operand.cols)
            if operand.rows == "one":
                row = 0 if col is not None else None
            blocks.append(
                BlockSpec(
                    operand.key,
                    operand.title,
                    values,
                    operand.placeholder,
                    (row, col),
                    heatmap,
                    operand.key == pane,
                    note,
                    operand.units and not diff,
                )
            )
        sections.append(Section(line.formula, tuple(blocks), line.note))
    selected = _selected_value(operands.get(pane), select)
    header = [
        Text.assemble(_heading(equation), "  ", selected),
        Text.assemble(colors.legend(), ("  (per matrix)  [ ] selected  ▶ copied by y", "dim")),
    ]
    if largest is not None:
        header.append(largest)
    return Centre(equation, header, sections, operands, pane, selected)


def _heading(equation: PhaseEquation) -> Text:
    return Text(equation.heading, style="bold underline")


def _selected_value(operand: Operand | None, select: dict[str, int | None]) -> Text:
    """The selected cell of the marked operand in full precision (repr: it reads back exactly)."""
    if operand is None or operand.values is None:
        return Text("")
    row, col = select.get(operand.rows), select.get(operand.cols)
    if operand.rows == "one":
        row = 0
    if operand.cols == "one":
        col = 0
    if row is None or col is None:
        axis = "row" if row is not None else "column"
        index = row if row is not None else col
        if index is None:
            return Text(f"{operand.title}: select a cell (↑↓ ←→, x picks an example)", style="dim")
        return Text(f"{operand.title}: {axis} {index} selected; x picks an example", style="dim")
    value = float(operand.values[row, col])
    where = f"[{row}]" if operand.cols == "one" else f"[{row},{col}]"
    return Text.assemble((f"{operand.title}{where} = ", "bold"), repr(value))


def _differences(
    debugger: Debugger, operands: dict[str, Operand]
) -> tuple[dict[str, Operand], str]:
    """Each operand minus the same operand at the reference step (or why not)."""
    ref_step = debugger.reference_step()
    if ref_step is None:
        return {
            key: replace(o, values=None, placeholder="no earlier step to compare")
            for key, o in operands.items()
        }, ""
    state, trace = debugger.timeline.peek(ref_step)
    before = phase_equation(debugger, state, trace).operands
    out = {}
    for key, operand in operands.items():
        ref = before.get(key)
        if operand.values is None:
            out[key] = operand
        elif ref is None or ref.values is None or ref.values.shape != operand.values.shape:
            out[key] = replace(
                operand, values=None, placeholder=f"step {ref_step}'s batch has another shape"
            )
        else:
            out[key] = replace(
                operand, title=f"Δ{operand.title}", values=operand.values - ref.values
            )
    return out, f"vs step {ref_step}"


def _across(
    debugger: Debugger, against: Debugger, operands: dict[str, Operand]
) -> tuple[dict[str, Operand], str]:
    """Each operand minus the same operand on the compared branch at the same step."""
    theirs = against.branch.name
    if against.step != debugger.step:
        why = f"{theirs} is at step {against.step:,}, not {debugger.step:,}"
        return {k: replace(o, values=None, placeholder=why) for k, o in operands.items()}, ""
    before = phase_equation(against).operands
    out = {}
    for key, operand in operands.items():
        ref = before.get(key)
        if operand.values is None:
            out[key] = operand
        elif ref is None or ref.values is None:
            out[key] = replace(operand, values=None, placeholder=f"{theirs} has no {operand.title}")
        elif ref.values.shape != operand.values.shape:
            out[key] = replace(
                operand, values=None, placeholder=f"{theirs}'s batch has another shape"
            )
        else:
            with np.errstate(invalid="ignore", over="ignore"):
                values = operand.values - ref.values
            out[key] = replace(operand, title=f"Δ{operand.title}", values=values)
    return out, f"{debugger.branch.name} − {theirs}"


KNOWN_AS = {"W": "z", "a": "a", "delta": "delta", "dW": "dW"}
"""The pass's quantity that says when a compared quantity is computed (W: from the start)."""


def _largest_line(debugger: Debugger, against: Debugger) -> Text:
    """``vs b1, largest: dC/dW^(1)[0,1] +0.0123, ...`` over what the pass has computed."""
    theirs = against.branch.name
    if against.step != debugger.step:
        return Text(f"vs {theirs}: it is at step {against.step:,}", style="dim")
    found = differences(
        (debugger.params, debugger.trace), (against.params, against.trace), debugger.depth
    )
    known = [d for d in found if d.quantity == "W" or debugger.known(KNOWN_AS[d.quantity], d.layer)]
    return Text(summary(known, theirs), style="bold")


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
