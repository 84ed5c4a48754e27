"""Rich text for the debugger's panes, built from plain numbers (no widgets here).

Every symbol follows the seeds' notation: a^(l), z^(l), delta^(l), w_jk^(l),
dC/dw = dz/dw * da/dz * dC/da.
"""

from __future__ import annotations

import math

from rich.text import Text

from bpdebug.debugger import Debugger, Phase
from bpdebug.operands import next_hint
from bpdebug.text import printable


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


def cursor(phase: Phase, layer: int) -> str:
    """The phase cursor beside layer `layer`: ▶ forward (and the batch at 0), ◀ backward, or ""."""
    if phase.kind == "input" and layer == 0:
        return "▶"
    if phase.kind in ("forward", "backward") and phase.layer == layer:
        return "▶" if phase.kind == "forward" else "◀"
    return ""


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
        marker = (cursor(phase, l) or " ") + " "
        line = f"{marker}{l} {name:<{name_width}} {units:>{unit_width}}"
        style = "reverse bold" if l == debugger.layer else ""
        text.append(line, style=style)
        text.append("\n")
    cost_marker = "▶ " if phase.kind == "cost" else "  "
    text.append(f"{cost_marker}C {net.loss}\n", style="bold" if phase.kind == "cost" else "")
    # Always a line, marked or not: the pane keeps its height, so it redraws in place.
    marked = phase.kind == "update"
    text.append(("▶ " if marked else "  ") + "update\n", style="bold" if marked else "dim")
    return text


def network_line(debugger: Debugger, width: int = 0) -> Text:
    """The network on one line for narrow screens: ``0 input 2 │ ▶1 sigmoid 2 │ … │ C loss``,
    then the example selector if it fits in `width` columns (0: always)."""
    net = debugger.timeline.scenario.network
    phase = debugger.phase
    text = Text()
    for l, units in enumerate(net.layers):
        name = "input" if l == 0 else net.activation_of(l)
        selected = "reverse bold" if l == debugger.layer else ""
        text.append(f"{cursor(phase, l)}{l} {name} {units}", style=selected)
        text.append(" │ ", style="dim")
    text.append(("▶" if phase.kind == "cost" else "") + f"C {net.loss}")
    if phase.kind == "update":
        text.append(" │ ▶update", style="bold")
    example = f"   {example_text(debugger)}"
    if not width or text.cell_len + len(example) <= width:
        text.append(example, style="dim")
    return text


def example_text(debugger: Debugger) -> str:
    """The example selector's state: ``example: all (4)`` or ``example: 2 of 4``."""
    m = debugger.trace.batch_size
    if debugger.example is None:
        return f"example: all ({m})"
    return f"example: {debugger.example} of {m}"


def title_text(debugger: Debugger, source: str, width: int) -> Text:
    """The header: where we are (step, epoch, phase) and what runs (the optimizer, lr).

    It shortens instead of being cut: the file name, then the optimizer,
    then the epoch, then the program's name give way; the step and the
    phase always stay.
    """
    timeline = debugger.timeline
    trainer = timeline.trainer
    name = printable(timeline.scenario.name)  # text from a file: control characters escaped
    where = f"step {debugger.step}"
    branch = debugger.branch.name
    if branch != "main":  # on a branch, the header says which (a branch name is ours: b1)
        where = f"{branch} · {where}"
    epoch = f"epoch {timeline.epoch}"
    phase = debugger.phase.describe()
    # The trainer of this step: before a branch's fork it is its parent's.
    optimizer = f"{trainer.optimizer.name} · lr {trainer.optimizer.learning_rate:g}"
    layouts = (
        (f" bpdebug  {name}  {source}", f"{where} · {epoch} · {phase}", optimizer),
        (f" bpdebug  {name}", f"{where} · {epoch} · {phase}", optimizer),
        (f" bpdebug  {name}", f"{where} · {epoch} · {phase}", ""),
        (f" {name}", f"{where} · {epoch} · {phase}", ""),
        ("", f" {where} · {phase}", ""),
    )
    for left, middle, right in layouts:
        text = f"{left}    {middle}" if left else middle
        room = width - len(text) - 1
        if right and room >= len(right) + 2:
            return Text(text + " " * (room - len(right)) + right + " ")
        if not right and len(text) <= width:
            return Text(text)
    return Text(layouts[-1][1])


def status_text(debugger: Debugger, running: bool, busy: str = "", width: int = 0) -> Text:
    """The status line: what runs or why it stopped, what `s` computes next, C, |grad|.

    What a person must not miss comes first. Parts that do not fit in
    `width` columns (0: no limit) are left out whole, from the end, so no
    number is ever cut (a shorter part after one left out may still
    fit); the step and the phase are the header's.
    """
    timeline = debugger.timeline
    parts: list[tuple[tuple[str, ...], str]] = []  # each: its forms, longest first; its style
    if busy:
        parts.append(((busy,), "bold green"))
    elif running:
        parts.append((("running (c pauses)",), "bold green"))
    elif debugger.paused:
        bad = "NaN" in debugger.paused or "inf" in debugger.paused
        parts.append(((debugger.paused,), "bold red" if bad else "bold yellow"))
    edits = timeline.edits
    if edits:
        steps = sorted({e.step for e in edits})
        where = ", ".join(map(str, steps[:3])) + (", …" if len(steps) > 3 else "")
        parts.append(((f"edited at step {where}",), "bold magenta"))
    elif timeline.branched_at is not None:
        parts.append(((f"branched at step {timeline.branched_at}",), "bold magenta"))
    if not busy:
        if not running:
            parts.append(((next_hint(debugger), next_hint(debugger, brief=True)), "bold"))
        trace = debugger.trace
        parts.append(((f"C {fmt(trace.cost)}" if debugger.known("cost", 0) else "C …",), ""))
        known = debugger.known("db", 1)
        grad = f"|grad| {fmt(trace.total_grad_norm())}" if known else "|grad| …"
        parts.append(((grad,), ""))
    text = Text(" ")
    for forms, style in parts:
        separator = " │ " if text.cell_len > 1 else ""
        room = width - text.cell_len - len(separator) if width else None
        form = next((f for f in forms if room is None or len(f) <= room), None)
        if form is None:
            continue  # left out whole; a shorter part after it may still fit
        text.append(separator)
        text.append(form, style=style)
    return text
