"""Rich text for the debugger's panes, built from plain numbers (no widgets here).

Every symbol follows the seeds' notation: a^(l), z^(l), delta^(l), w_jk^(l),
dC/dw = dz/dw * da/dz * dC/da.
"""

from __future__ import annotations

import math

from rich.text import Text

from bpdebug.debugger import Debugger
from bpdebug.update_rule import rule_summary


def fmt(x: float, width: int = 0) -> str:
    """A number as the panes write it: 4 significant digits, NaN and inf spelled out."""
    if math.isnan(x):
        text = "NaN"
    elif math.isinf(x):
        text = "inf" if x > 0 else "-inf"
    elif x == 0.0:
        text = "0"  # also -0.0, whose sign means nothing to a reader
    elif abs(x) >= 1e4 or abs(x) < 1e-3:
        text = f"{x:.3e}"
    else:
        text = f"{x:.4g}" if abs(x) >= 1 else f"{x:.4f}"
    return text.rjust(width) if width else text


def sup(layer: int) -> str:
    """The layer superscript of the notation: ``^(2)``."""
    return f"^({layer})"


def network_text(debugger: Debugger) -> Text:
    """Layers 0..L with sizes and activations, the phase cursor and the selected layer."""
    net = debugger.timeline.scenario.network
    phase = debugger.phase
    text = Text()
    names = ["input", *(net.activation_of(l) for l in range(1, len(net.layers)))]
    name_width = max(len(n) for n in names)
    unit_width = max(len(str(u)) for u in net.layers)
    for l, units in enumerate(net.layers):
        name = names[l]
        marker = "  "
        if phase.kind in ("forward", "backward") and phase.layer == l:
            marker = "▶ " if phase.kind == "forward" else "◀ "
        line = f"{marker}{l} {name:<{name_width}} {units:>{unit_width}}"
        style = "reverse bold" if l == debugger.layer else ""
        text.append(line, style=style)
        text.append("\n")
    cost_marker = "▶ " if phase.kind == "cost" else "  "
    text.append(f"{cost_marker}C {net.loss}\n", style="bold" if phase.kind == "cost" else "")
    if phase.kind == "update":
        text.append("▶ update\n", style="bold")
    return text


def example_text(debugger: Debugger) -> str:
    """The example selector's state: ``example: all (4)`` or ``example: 2 of 4``."""
    m = debugger.trace.batch_size
    if debugger.example is None:
        return f"example: all ({m})"
    return f"example: {debugger.example} of {m}"


def status_text(debugger: Debugger, running: bool, busy: str = "") -> Text:
    """The status line: step, what runs or why it stopped, cost, |grad|, lr, epoch, phase.

    What a person must not miss comes first, so a narrow terminal cuts
    only the end.
    """
    timeline = debugger.timeline
    text = Text(f" step {debugger.step}")
    if busy:
        text.append(f" │ {busy}", style="bold green")
    elif running:
        text.append(" │ running (c pauses)", style="bold green")
    elif debugger.paused:
        bad = "NaN" in debugger.paused or "inf" in debugger.paused
        text.append(f" │ {debugger.paused}", style="bold red" if bad else "bold yellow")
    edits = timeline.edits
    if edits:
        steps = sorted({e.step for e in edits})
        where = ", ".join(map(str, steps[:3])) + (", …" if len(steps) > 3 else "")
        text.append(f" │ edited at step {where}", style="bold magenta")
    elif timeline.branched_at is not None:
        text.append(f" │ branched at step {timeline.branched_at}", style="bold magenta")
    if busy:
        return text
    trace = debugger.trace
    parts = [
        f"cost {fmt(trace.cost)}" if debugger.known("cost", 0) else "cost …",
        f"|grad| {fmt(trace.total_grad_norm())}" if debugger.known("db", 1) else "|grad| …",
        f"lr {timeline.scenario.training.learning_rate:g}",
        f"epoch {timeline.epoch}",
        debugger.phase.describe(),
    ]
    if debugger.phase.kind == "update":
        trainer = timeline.trainer
        rule = rule_summary(trainer.optimizer, trainer.network.l1, trainer.network.l2)
        parts[-1] = f"update {rule}"
    text.append(" │ " + " │ ".join(parts))
    return text
