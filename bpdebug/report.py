"""Plain-text reports shared by the command line and the debugger's screen.

Each report is a list of lines, every one printable (`bpdebug.text.printable`):
the scenario's name comes from a file and may hold control characters. The
table's lines fit WIDTH columns, so that they never wrap in an 80-column
terminal nor in the debugger's report dialog.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bpdebug.engine import GradCheck, Params
from bpdebug.engine.gradcheck import GOOD, SUSPECT, Entry, LayerCheck
from bpdebug.health import GUIDE_RATIO, SATURATION_SLOPE, Health, flags
from bpdebug.text import printable

WIDTH = 76
"""Most columns of a line of the table: the debugger's report dialog is about 76 wide."""
INDENT = " " * 7
"""Where a row's continuation lines start (under the `checked` column)."""


def gradcheck_verdict(result: GradCheck) -> str:
    """The shortest true sentence about a gradient check.

    ``all 2 layers good``, ``layer 2 suspect, the rest good``, ``layer 1
    WRONG``, ``layers 1 and 3 WRONG, layer 2 suspect``. A layer whose every
    nudge crossed a relu/l1 kink is "not judged".
    """
    by_band: dict[str, list[int]] = {"wrong": [], "suspect": [], "kink": [], "good": []}
    for layer in result.layers:
        by_band[layer.band].append(layer.layer)
    total = len(result.layers)
    if len(by_band["good"]) == total:
        return "layer 1 good" if total == 1 else f"all {total} layers good"
    parts = []
    if by_band["wrong"]:
        parts.append(f"{_layers(by_band['wrong'])} WRONG")
    if by_band["suspect"]:
        parts.append(f"{_layers(by_band['suspect'])} suspect")
    if by_band["kink"]:
        parts.append(f"{_layers(by_band['kink'])} not judged (every nudge crossed a kink)")
    if not by_band["wrong"] and by_band["good"]:
        parts.append("the rest good")
    return ", ".join(parts)


def _layers(numbers: list[int]) -> str:
    """``layer 2``, ``layers 1 and 3``, ``layers 1, 2 and 4``."""
    if len(numbers) == 1:
        return f"layer {numbers[0]}"
    return "layers " + ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"


def gradcheck_lines(result: GradCheck, params: Params, name: str, step: int) -> list[str]:
    """The gradient-check table, one row a layer (no line wider than WIDTH), and the legend."""
    lines = [
        f"gradient check  {printable(name)}  step {step}  h={result.h:g}  cost {result.cost:.10g}"
    ]
    header = ("layer", "checked", "rel error", "band")
    rows = [
        (
            str(layer.layer),
            f"{layer.checked} of {params.W[layer.layer].size + params.b[layer.layer].size}",
            f"{layer.max_rel_error:.2e}",
            layer.band,
        )
        for layer in result.layers
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(4)]
    widths[0] = len(INDENT) - 2  # the continuation lines start under `checked`

    def cells(row: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))

    lines.append(f"{cells(header)}  worst: backprop vs numeric")
    for layer, row in zip(result.layers, rows, strict=True):
        worst = _worst(layer.worst)
        line = f"{cells(row)}  {worst}".rstrip()
        if len(line) <= WIDTH:
            lines.append(line)
        else:
            lines += [cells(row).rstrip(), INDENT + worst]
        if layer.kinks:
            lines.append(f"{INDENT}{_kinks(layer)}")
    lines += [
        "rel error: a layer's largest |a-n|/(|a|+|n|), a backprop, n numeric;",
        f"bands (CS231n): <= {GOOD:g} good, <= {SUSPECT:g} suspect, > {SUSPECT:g} wrong",
    ]
    return lines


def _worst(entry: Entry | None) -> str:
    """``dW[0,1] -0.0123457 vs -0.0123458``, or "" when every nudge crossed a kink."""
    if entry is None:
        return ""
    where = ",".join(map(str, entry.index))
    return f"d{entry.name}[{where}] {entry.analytic:.6g} vs {entry.numeric:.6g}"


def _kinks(layer: LayerCheck) -> str:
    return f"{layer.kinks} of {layer.checked} crossed a relu/l1 kink (not counted)"


def health_lines(health: Health, name: str, step: int) -> list[str]:
    """The layer-health report at `step`: a table a layer, the grad norm's trend, the flags.

    No line is wider than WIDTH. Not known or not applicable is ``-``.
    """
    lines = [f"layer health  {printable(name)}  step {step}"]
    row = health.row(step)
    if row is None or math.isnan(row.grad_norm[0]):
        return [*lines, "not recorded at this step"]
    found = flags(row)
    header = ("layer", "activation", "|dC/dW|", "|W|", "update/|W|", "dead", "sat", "flags")
    rows = [
        (
            str(l),
            health.activations[l - 1],
            _number(row.grad_norm[l - 1]),
            _number(row.weight_norm[l - 1]),
            _number(row.update_ratio[l - 1]),
            _share(row.dead[l - 1]),
            _share(row.saturated[l - 1]),
            "".join(f.letter for f in found if f.layer == l),
        )
        for l in range(1, health.depth + 1)
    ]
    lines += _table(header, rows)
    lines += _trend(health, step)
    if found:
        lines.append("flags:")
        lines += [f"  {f.letter} {f.reason}" for f in found]
    else:
        lines.append("no flags")
    lines += [
        "|dC/dW|, |W|: Frobenius norms of dW and W at this step",
        f"update/|W|: |W(t+1) - W(t)| / |W(t)|, the next update's size; aim ~{GUIDE_RATIO:g}",
        f"dead: relu units with a = 0, sat: units with g'(z) < {SATURATION_SLOPE:g}, "
        "for every example",
    ]
    return lines


def _trend(health: Health, step: int) -> list[str]:
    """|dC/dW| of each layer at the first, middle and last recorded steps up to `step`."""
    known = health.known_steps()
    known = known[known <= step]
    if known.size < 2:
        return []
    picks = sorted({int(known[0]), int(known[np.abs(known - step / 2).argmin()]), int(known[-1])})
    header = ("layer", *(f"step {s}" for s in picks))
    rows = [
        (str(l), *(_number(health.grad_norm[s // health.stride, l - 1]) for s in picks))
        for l in range(1, health.depth + 1)
    ]
    return ["|dC/dW| over the run:", *_table(header, rows)]


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Left-aligned columns two spaces apart, trailing spaces dropped."""
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in (header, *rows)
    ]


def _number(x: float) -> str:
    """3 significant digits, ``-`` for NaN."""
    return "-" if math.isnan(x) else f"{x:.3g}"


def _share(x: float) -> str:
    """A share as a whole percentage, ``-`` for NaN."""
    return "-" if math.isnan(x) else f"{x:.0%}"
