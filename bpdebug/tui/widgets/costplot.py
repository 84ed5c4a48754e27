"""The cost curve: C against step, with the step on screen marked."""

from __future__ import annotations

import math

import numpy as np
from textual import events
from textual_plotext import PlotextPlot

TITLE = "cost C"
"""The plot's title when nothing needs saying."""

LINE_COLOR = "cyan+"
"""Plotext colour of the curve (a named colour: legible in 16-colour terminals)."""

CURRENT_COLOR = "red+"
"""Plotext colour of the current-step marker."""

TITLE_MARGIN = 8
"""Columns the y tick labels and frame take from a title's room."""

TICK_SPACING = 12
"""Columns per step tick on the x axis."""

LINEAR_LIMIT = 1e15
"""Largest |C| a linear plot draws; beyond it the curve is clipped and the title says so."""

LINEAR_TINY = 1e-20
"""Smallest |C| a linear plot tells from 0."""

FALLBACK_WIDTH, FALLBACK_HEIGHT = 80, 24
"""Size assumed before the widget has been laid out."""


def downsample(costs: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The points to draw for `costs` (n,) on `width` columns: (steps, costs), finite only.

    Short histories come back whole. Longer ones are cut into at most `width`
    buckets of consecutive steps, and each bucket gives its min and its max in
    step order, so spikes survive and the global min and max are always drawn.
    The work is a few vectorised passes over the array (about 1 ms for a
    million finite steps), whatever its length.
    """
    y = np.asarray(costs, dtype=float)
    n = y.size
    width = max(width, 1)
    if n <= 2 * width:
        x = np.flatnonzero(np.isfinite(y))
        return x, y[x]
    k = -(-n // width)  # steps per bucket
    whole = n // k
    lo, hi, seen = _extremes(y[: whole * k].reshape(whole, k))
    if whole * k < n:
        t_lo, t_hi, t_seen = _extremes(y[whole * k :].reshape(1, -1))
        lo, hi, seen = np.append(lo, t_lo), np.append(hi, t_hi), np.append(seen, t_seen)
    start = np.arange(lo.size) * k
    pairs = np.stack([start + np.minimum(lo, hi), start + np.maximum(lo, hi)], axis=1)
    # np.unique sorts (the buckets already are) and merges a bucket's min and
    # max when they are the same step.
    x = np.unique(pairs[seen])
    return x, y[x]


def _extremes(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of `blocks` (b, k): column of the min, of the max, and whether any is finite."""
    finite = np.isfinite(blocks)
    if finite.all():
        return blocks.argmin(axis=1), blocks.argmax(axis=1), np.ones(len(blocks), dtype=bool)
    lo = np.where(finite, blocks, np.inf).argmin(axis=1)
    hi = np.where(finite, blocks, -np.inf).argmax(axis=1)
    return lo, hi, finite.any(axis=1)


def step_ticks(last: int, count: int) -> list[int]:
    """Round step numbers from 0 to `last` for the x axis, about `count` of them."""
    if last <= 0:
        return [0]
    raw = last / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    spacing = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    ticks = list(range(0, last + 1, int(spacing)))
    return ticks if len(ticks) > 1 else [0, last]


def step_label(step: int) -> str:
    """A step number short enough for a tick: 250k, 1.5M."""
    if step >= 1_000_000 and step % 100_000 == 0:
        return f"{step / 1_000_000:g}M"
    if step >= 10_000 and step % 1_000 == 0:
        return f"{step // 1_000}k"
    return str(step)


def scaled(costs: np.ndarray, log: bool) -> np.ndarray:
    """`costs` (n,) as plotext can draw them: log10 C (NaN where C <= 0), or C kept in range.

    Plotext draws nothing once values or their spread pass about 1e28 or fall
    below about 1e-25, and overflows near 1e308, so a linear plot clips at
    LINEAR_LIMIT and treats magnitudes under LINEAR_TINY as 0.
    """
    c = np.asarray(costs, dtype=float)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(c > 0, np.log10(np.where(c > 0, c, 1.0)), np.nan)
    c = np.clip(c, -LINEAR_LIMIT, LINEAR_LIMIT)
    return np.where(np.abs(c) < LINEAR_TINY, 0.0, c)


def tick_labels(values: np.ndarray) -> list[str]:
    """Labels just precise enough that neighbouring ticks differ (3 to 9 digits)."""
    for digits in range(3, 10):
        labels = [f"{v:.{digits}g}" for v in values]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def describe(value: float) -> str:
    """A non-finite cost as the title spells it."""
    if math.isnan(value):
        return "NaN"
    return "inf" if value > 0 else "-inf"


class CostPlot(PlotextPlot):
    """Cost C against step for the whole history, with the current step marked."""

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        # Plotext's "clear" theme draws in the terminal's own colours, so the
        # plot follows the app's background and survives a 16-colour terminal.
        self.theme = "clear"
        self.drawn_x: np.ndarray = np.empty(0, dtype=int)
        """Steps handed to plotext by the last draw."""
        self.drawn_y: np.ndarray = np.empty(0)
        """Values handed to plotext by the last draw (log10 C in log mode)."""
        self.drawn_current: int | None = None
        """The step marked by the last draw, or None before the first."""
        self._costs: np.ndarray | None = None
        self._current = 0
        self._log = False

    def on_mount(self) -> None:
        """Set the decorations that never change."""
        self.plt.title(TITLE)
        self.plt.xlabel("step")
        self.plt.ylabel("C")

    def on_resize(self, event: events.Resize) -> None:
        """Redraw at the new number of columns."""
        self._draw()

    def show(self, costs: np.ndarray, current: int, *, log: bool = False) -> None:
        """Draw `costs` (n,), cost at each step (NaN where unknown), and mark step `current`.

        With `log`, plot log10 C; steps with C <= 0 have no logarithm and are left out.
        """
        self._costs = costs
        self._current = current
        self._log = log
        self._draw()

    def _draw(self) -> None:
        if self._costs is None:
            return
        costs, current, log = self._costs, self._current, self._log
        plt = self.plt
        plt.clear_data()
        width = self.content_size.width or FALLBACK_WIDTH
        x, y = downsample(costs, width)
        y = scaled(y, log)
        keep = np.isfinite(y)
        x, y = x[keep], y[keep]
        self.drawn_x, self.drawn_y, self.drawn_current = x, y, current
        plt.ylabel("log10 C" if log else "C")

        notes = []
        if not log and np.abs(y).max(initial=0.0) >= LINEAR_LIMIT:
            notes.append("clipped")
        if costs.size and not math.isfinite(float(costs[-1])):
            notes.append(f"last {describe(float(costs[-1]))}")
        title = f"{TITLE} ({', '.join(notes)})" if notes else TITLE
        # Plotext drops a title wider than the plot, so keep at least "cost C".
        plt.title(title if len(title) <= width - TITLE_MARGIN else TITLE)

        last = max(costs.size - 1, current, 1)
        plt.xlim(0, last)
        ticks = step_ticks(last, max(2, width // TICK_SPACING))
        plt.xticks([float(t) for t in ticks], [step_label(t) for t in ticks])
        marked = math.nan
        if 0 <= current < costs.size:
            marked = float(scaled(costs[current : current + 1], log)[0])
        if x.size == 0:
            hint = "no positive cost yet" if log else "no finite cost yet"
            plt.ylim(0, 1)
            plt.yticks([], [])
            plt.text(hint, last / 2, 0.5, alignment="center")
        else:
            plt.plot(x.tolist(), y.tolist(), color=LINE_COLOR)
            self._label_y(y, marked)
        plt.vline(current, CURRENT_COLOR)
        if math.isfinite(marked):
            plt.scatter([current], [marked], marker="●", color=CURRENT_COLOR)
        self.refresh()

    def _label_y(self, y: np.ndarray, marked: float) -> None:
        """Y ticks over the drawn values and the marked one, with short labels.

        Plotext's own labels run to 18 digits for large costs.
        """
        lo, hi = float(y.min()), float(y.max())
        if math.isfinite(marked):
            lo, hi = min(lo, marked), max(hi, marked)
        height = self.content_size.height or FALLBACK_HEIGHT
        values = np.linspace(lo, hi, max(2, min(5, height // 4)))
        self.plt.yticks(values.tolist(), tick_labels(values))
