"""Plain-text reports shared by the command line and the debugger's screen.

Each report is a list of lines, every one printable (`bpdebug.text.printable`):
the scenario's name comes from a file and may hold control characters.
"""

from __future__ import annotations

from bpdebug.engine import GradCheck, Params
from bpdebug.engine.gradcheck import GOOD, SUSPECT
from bpdebug.text import printable


def gradcheck_lines(result: GradCheck, params: Params, name: str, step: int) -> list[str]:
    """The gradient-check table, one line a layer, with the bands' legend."""
    lines = [
        f"gradient check  {printable(name)}  step {step}  h={result.h:g}  cost {result.cost:.10g}"
    ]
    rows = [("layer", "params", "checked", "max rel error", "band", "worst")]
    for layer in result.layers:
        worst = layer.worst
        where = (
            f"d{worst.name}{list(worst.index)}: backprop {worst.analytic:.6g}, "
            f"numeric {worst.numeric:.6g}"
            if worst
            else ""
        )
        if layer.kinks:
            where += f"  ({layer.kinks} crossed a relu/l1 kink, not counted)"
        rows.append(
            (
                str(layer.layer),
                str(params.W[layer.layer].size + params.b[layer.layer].size),
                str(layer.checked),
                f"{layer.max_rel_error:.2e}",
                layer.band,
                where,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        cells = "  ".join(c.ljust(w) for c, w in zip(row[:5], widths, strict=True))
        lines.append(f"{cells}  {row[5]}".rstrip())
    lines.append(
        f"bands (CS231n): <= {GOOD:g} good, <= {SUSPECT:g} suspect, > {SUSPECT:g} wrong; "
        "relative error |a-n|/(|a|+|n|)"
    )
    return lines
