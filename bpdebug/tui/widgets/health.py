"""Layer health over time: a row a layer, with a sparkline of its gradient norm.

Each row: the layer number, a sparkline of log10 |dC/dW^(l)| over the
steps recorded so far (one scale for every layer, so that a vanishing
layer's line sits low), the current grad norm, the update ratio (marked
``!`` when far from 1e-3), the dead and saturated shares and the flag
letters; under the table, the flags' reasons. The definitions and rules are
bpdebug.health's. The numbers need 34 columns; the sparkline takes what is
left and is dropped first when there is no room.
"""

from __future__ import annotations

import math

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from bpdebug.health import Health, HealthRow, flags
from bpdebug.tui.widgets.textpane import TextPane

BARS = "▁▂▃▄▅▆▇█"
"""Sparkline levels, lowest first."""
NUMBER = 8
"""Columns of a number with 3 significant digits (``1.23e-06``)."""
SHARE = 4
"""Columns of a whole percentage (``100%``)."""
MIN_SPARK = 4
"""The narrowest sparkline worth drawing."""
GAP = " "
FALLBACK_WIDTH = 40
"""Width assumed before the widget has been laid out."""

_HEADER = Style(bold=True)
_FLAG = Style(color="red", bold=True)
_FAR = Style(color="yellow", bold=True)
_SPARK = Style(color="cyan")
_OTHER = Style(color="yellow", dim=True)
"""The compared branch's sparkline."""
_DIM = Style(dim=True)


def sparkline(values: np.ndarray, width: int, low: float, high: float) -> str:
    """`values` (n,) drawn in `width` characters on the scale low..high.

    Longer histories are cut into `width` runs of consecutive values, each
    drawn at its mean; NaN values are skipped, and a run with none is blank.
    -inf (a log of 0) is drawn at the bottom.
    """
    if values.size > width:
        runs = np.array_split(values, width)
    else:
        runs = [values[i : i + 1] for i in range(values.size)]
    span = high - low if high > low else 1.0
    out = []
    for run in runs:
        known = run[~np.isnan(run)]
        if not known.size:
            out.append(" ")
            continue
        level = (float(np.clip(known, low, high).mean()) - low) / span
        out.append(BARS[min(int(level * len(BARS)), len(BARS) - 1)])
    return "".join(out)


def health_text(
    health: Health,
    step: int,
    width: int,
    computed: bool = True,
    other: tuple[str, Health] | None = None,
) -> Text:
    """The pane's text at `step`, its table fitted to `width` columns (see the module doc).

    With `computed` False (the debugger's pass has not reached this step's
    gradients yet) it shows the step before, and says so. The update ratio
    is of the update from the step shown, or where that is not computed yet
    of the update that led to it, and the first line says which.

    `other` (a compared branch's name and health) overlays it: under each
    layer's row, that branch's row at the same step (its latest recorded one
    at or before it, as for this branch), its sparkline over the same steps on
    the same scale; where its history has not reached this step, a line says so.
    """
    if not computed:
        if step == 0:
            return Text("layer health: not computed yet (s)", style=_DIM)
        step -= health.stride
    row = health.latest(step)
    if row is None or np.isnan(row.grad_norm).all():
        return Text(f"layer health: not computed at step {step}", style=_DIM)
    own = health.row(step)
    own_ratio = own is not None and not np.isnan(own.update_ratio).all()
    ratio_of = step if own_ratio else step - health.stride
    if ratio_of < 0:  # no update computed yet
        title = f"step {step} · upd/|W|: after update {step}→{step + 1}"
    else:
        title = f"step {step} · upd/|W| of {ratio_of}→{ratio_of + 1}"
    if not computed:
        title += f" · step {step + health.stride}'s pass: not yet"
    found = flags(row)
    letters = ["".join(f.letter for f in found if f.layer == l) for l in range(1, health.depth + 1)]
    layer_w = len(str(health.depth))
    other_row = None
    if other is not None:
        name, other_health = other
        # Its row only where its history has reached this step (not an older one's).
        reached = other_health.steps.size and other_health.steps[-1] + other_health.stride > step
        other_row = other_health.latest(step) if reached else None
        if other_row is not None:
            layer_w = max(layer_w, len(name) + 1)
            title += f" · under each layer: {name}"
    flag_w = max(1, *map(len, letters))
    numbers = layer_w + 3 * len(GAP) + NUMBER + (NUMBER + 2) + 2 * SHARE + flag_w + 2 * len(GAP)
    spark_w = width - numbers - len(GAP)
    spark_w = spark_w if spark_w >= MIN_SPARK else 0
    text = Text(title + "\n", style=_DIM)
    header = ["l".rjust(layer_w)]
    if spark_w:
        header.append(("log|dC/dW|" if spark_w >= 10 else "log")[:spark_w].ljust(spark_w))
    header += ["|dC/dW|".rjust(NUMBER), "upd/|W|".rjust(NUMBER + 2)]
    header += ["dead".rjust(SHARE), "sat".rjust(SHARE), "!".ljust(flag_w)]
    text.append(GAP.join(header).rstrip() + "\n", style=_HEADER)
    logs = _log_norms(health, step) if spark_w else np.empty((0, 0))
    other_logs = (
        _aligned_log_norms(other[1], health, logs.shape[0])
        if spark_w and other is not None
        else np.empty((0, 0))
    )
    both = np.concatenate([logs.ravel(), other_logs.ravel()])
    finite = both[np.isfinite(both)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    for l in range(1, health.depth + 1):
        text.append(str(l).rjust(layer_w))
        if spark_w:
            text.append(GAP)
            text.append(sparkline(logs[:, l - 1], spark_w, low, high).ljust(spark_w), _SPARK)
        far = any(f.layer == l and f.kind.endswith("_updates") for f in found)
        _append_numbers(text, row, l, far)
        text.append(GAP)
        text.append(letters[l - 1], _FLAG)
        text.append("\n")
        if other is not None and other_row is not None:
            text.append(other[0].rjust(layer_w), _DIM)
            if spark_w:
                text.append(GAP)
                line = sparkline(other_logs[:, l - 1], spark_w, low, high)
                text.append(line.ljust(spark_w), _OTHER)
            _append_numbers(text, other_row, l, False, _DIM)
            text.append("\n")
    if other is not None and other_row is None:
        text.append(f"{other[0]} has not reached step {step} (d or D brings it)\n", _DIM)
    for flag in found:
        text.append(flag.letter, _FLAG)
        text.append(f" {flag.reason}\n")
    text.rstrip()
    return text


def _log_norms(health: Health, step: int) -> np.ndarray:
    """log10 of the grad norms at the recorded steps up to `step`: (n, L), -inf for 0."""
    norms = health.grad_norm[: step // health.stride + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs: np.ndarray = np.log10(norms)
    return logs


def _aligned_log_norms(other: Health, health: Health, rows: int) -> np.ndarray:
    """log10 of `other`'s grad norms at the steps of `health`'s first `rows` rows (NaN
    where `other` has none), so that both sparklines span the same steps."""
    steps = np.arange(rows) * health.stride
    index = steps // other.stride
    known = (steps % other.stride == 0) & (index < other.grad_norm.shape[0])
    out = np.full((rows, other.grad_norm.shape[1]), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[known] = np.log10(other.grad_norm[index[known]])
    return out


def _append_numbers(
    text: Text, row: HealthRow, l: int, far: bool, style: Style | None = None
) -> None:
    """Layer `l`'s grad norm, update ratio (``!`` when `far` from 1e-3) and shares."""
    plain = style or Style()
    text.append(GAP + _number(row.grad_norm[l - 1]).rjust(NUMBER), plain)
    ratio = float(row.update_ratio[l - 1])
    text.append(GAP + _number(ratio).rjust(NUMBER), _FAR if far else plain)
    text.append(" !" if far else "  ", _FAR)
    text.append(GAP + _share(row.dead[l - 1]).rjust(SHARE), plain)
    text.append(GAP + _share(row.saturated[l - 1]).rjust(SHARE), plain)


def _number(x: float) -> str:
    """3 significant digits in at most NUMBER columns, ``-`` for not known."""
    return "-" if math.isnan(x) else f"{x:.3g}"


def _share(x: float) -> str:
    """A whole percentage, ``-`` for not applicable."""
    return "-" if math.isnan(x) else f"{x:.0%}"


class HealthView(TextPane):
    """Layer health at the current step: a table a layer, the flags' reasons under it.

    A fixed-height pane that scrolls (see TextPane), so a new step never
    re-lays out the screen.
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._health: Health | None = None
        self._step = 0
        self._computed = True
        self._other: tuple[str, Health] | None = None

    def show(  # type: ignore[override]
        self,
        history: Health,
        step: int,
        computed: bool = True,
        other: tuple[str, Health] | None = None,
    ) -> None:
        """Draw `history` (Timeline.health) at step `step` (the step before if not
        `computed`), with a compared branch's (name, health) under each layer."""
        self._health, self._step, self._computed = history, step, computed
        self._other = other
        self.relayout()

    def lines_for(self, width: int) -> list[Strip]:
        """The table made for `width` columns, then wrapped as any text."""
        if self._health is not None:
            self.text = health_text(
                self._health, self._step, width or FALLBACK_WIDTH, self._computed, self._other
            )
        return super().lines_for(width)
