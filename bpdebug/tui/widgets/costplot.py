"""The cost curve: C against step, smoothed when noisy, with the step, hits and edits marked.

With branches (issue 11), every other branch's curve is drawn beside the
current one's, each in its own colour and glyph, from its fork (where it
leaves its parent, marked Y), and the legend names them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual import events
from textual.app import RenderResult
from textual_plotext import PlotextPlot

TITLE = "cost C"
"""The plot's title when nothing needs saying."""

LINE_COLOR = "cyan+"
"""Plotext colour of the curve (a named colour: legible in 16-colour terminals)."""

RAW_COLOR = "gray"
"""Plotext colour of each step's cost under a smoothed curve: ANSI bright black, faint."""

CURRENT_COLOR = "red+"
"""Plotext colour of the current-step marker."""

HIT_COLOR = "yellow+"
"""Plotext colour of the breakpoint-hit markers."""

EDIT_COLOR = "green+"
"""Plotext colour of the edit markers."""

CURRENT_MARK, HIT_MARK, EDIT_MARK, EDIT_LINE = "●", "▲", "◆", "┊"
"""Glyphs of the marks: they differ by shape, so they read without colour."""

FORK_MARK = "Y"
"""Glyph of a fork: where a branch leaves its parent (in the branch's colour)."""

BRANCH_COLORS = ("cyan+", "yellow", "blue+", "magenta+", "green", "magenta", "blue", "white")
"""Plotext colours of the branches, by order of creation (main first: LINE_COLOR), cycling.
Named colours, so they stay apart in a 16-colour terminal; the glyphs tell them apart
without colour."""

BRANCH_GLYPHS = ("•", "×", "+", "∘", "*", "=", "~", "^")
"""The glyph each branch's curve is drawn with when it is not the current branch (the
current one is the solid line), by order of creation, cycling."""

RAW_MARKER, LINE_MARKER = "braille", "hd"
"""Plotext markers of the raw points (fine dots) and of the curve (quarter blocks)."""

TITLE_MARGIN = 8
"""Columns the y tick labels and frame take from a title's room."""

TICK_SPACING = 12
"""Columns per step tick on the x axis."""

ROWS_PER_TICK = 4
"""Lines per value tick on the y axis."""

LINEAR_LIMIT = 1e15
"""Largest |C| a linear plot draws; beyond it the curve is clipped and the title says so."""

LINEAR_TINY = 1e-20
"""Smallest |C| a linear plot tells from 0."""

SIGNIFICANT = 4
"""Most significant digits of a y tick label."""

SMOOTH_FRACTION = 25
"""The smoothing window is 1/SMOOTH_FRACTION of the history (about 4 % of the plot's width)."""

NOISY_REVERSALS = 0.15
"""Share of drawn points where the curve turns back above which the history counts as noisy."""

LEGEND_MIN_HEIGHT = 8
"""Lines the widget needs before it gives one to the legend."""

FALLBACK_WIDTH, FALLBACK_HEIGHT = 80, 24
"""Size assumed before the widget has been laid out."""


@dataclass(frozen=True)
class Curve:
    """Another branch's costs, drawn beside the current branch's."""

    name: str
    costs: np.ndarray
    """C at steps 0..n-1 (n,), NaN where unknown; drawn from `start` on."""
    start: int
    """The first step drawn: the branch's fork (0 for main)."""
    color: str
    """A plotext colour (one of BRANCH_COLORS)."""
    glyph: str
    """The curve's glyph (one of BRANCH_GLYPHS)."""
    fork: int | None = None
    """Where it leaves its parent (marked FORK_MARK); None for main."""
    revision: int | None = None
    """Its timeline's revision: a redraw with the same one (and the same costs known)
    reuses the curve drawn last time instead of downsampling and smoothing it again.
    None: never reused."""


def branch_style(index: int) -> tuple[str, str]:
    """(colour, glyph) of the branch made `index`-th (main is 0)."""
    return BRANCH_COLORS[index % len(BRANCH_COLORS)], BRANCH_GLYPHS[index % len(BRANCH_GLYPHS)]


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


def describe(value: float) -> str:
    """A non-finite cost as the title spells it."""
    if math.isnan(value):
        return "NaN"
    return "inf" if value > 0 else "-inf"


def smoothing_window(n: int) -> int:
    """Steps averaged by the smoothed curve of an `n`-step history: n / 25, at least 3.

    The window grows with the history so that it always spans about the same
    share of the plot (4 %, a few columns): enough to average minibatch noise
    away, short enough to keep the shape of a learning curve.
    """
    return max(3, round(n / SMOOTH_FRACTION))


def smooth(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Centred moving average of `values` (n,) over about `window` steps: (steps, means).

    Non-finite values are left out of each mean, and the steps around which
    there is none (a stretch of NaN, the steps after a blow-up) get no mean.
    Near the ends the window is cut short rather than padded. The steps are
    summed in buckets of window / 8, and each mean is the sum of the 2r + 1
    buckets around its own over their finite count, so the result has about
    8 n / window points (200 with the default window) and costs one pass over
    the array: about 2 ms for a million steps. Summing per bucket, not one
    running total, keeps a huge cost early on from eating the precision of
    the small ones after it.
    """
    v = np.asarray(values, dtype=float)
    n = v.size
    if n == 0:
        return np.empty(0), np.empty(0)
    window = min(max(window, 1), n)
    size = max(1, window // 8)  # steps per bucket
    buckets = -(-n // size)
    finite = np.isfinite(v)
    sums = np.zeros(buckets * size)
    sums[:n] = np.where(finite, v, 0.0)
    counts = np.zeros(buckets * size)
    counts[:n] = finite
    sums, counts = (
        sums.reshape(buckets, size).sum(axis=1),
        counts.reshape(buckets, size).sum(axis=1),
    )
    reach = min(window // size // 2, (buckets - 1) // 2)  # buckets each side
    kernel = np.ones(2 * reach + 1)
    total, count = np.convolve(sums, kernel, "same"), np.convolve(counts, kernel, "same")
    first = np.arange(buckets) * size
    centre = first + (np.minimum(first + size, n) - 1 - first) / 2
    keep = counts > 0  # no mean where the bucket itself has no finite cost (past a blow-up)
    return centre[keep], total[keep] / count[keep]


def noisy(y: np.ndarray) -> bool:
    """Whether the drawn points `y` (m,) zigzag: turn back at more than NOISY_REVERSALS of them.

    A learning curve turns a few times at most; minibatch noise, or an
    oscillating full-batch run, turns at about every other point. Moves under
    1/1000 of the range (rounding on a plateau) do not count.
    """
    if y.size < 8:
        return False
    d = np.diff(y)
    d = d[np.abs(d) > 1e-3 * (float(y.max()) - float(y.min()))]
    turns = np.count_nonzero(np.sign(d[1:]) != np.sign(d[:-1]))
    return bool(turns > NOISY_REVERSALS * y.size)


def number_label(value: float, place: int) -> str:
    """`value` to the digit of 10**place: 0.025, 1500, 2.5e-5 (exponent past 1e4, under 1e-3)."""
    if value == 0:
        return "0"
    return _number(value, place, math.floor(math.log10(abs(value))))


def _number(value: float, place: int, top: int) -> str:
    """`value` to the digit of 10**place, fixed or with an exponent as the magnitude `top` says."""
    if -3 <= top < 4:
        return f"{value:.{max(0, -place)}f}"
    mantissa, exponent = f"{value:.{max(0, top - place)}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _place(step: float) -> int:
    """Power of ten of the last digit that a multiple of `step` (1, 2, 2.5 or 5 x 10^k) needs."""
    k = math.floor(math.log10(step) + 1e-9)
    return k - 1 if round(step / 10**k, 6) == 2.5 else k


def nice_ticks(
    lo: float, hi: float, count: int, digits: int = SIGNIFICANT
) -> tuple[np.ndarray, list[str], tuple[float, float]]:
    """About `count` round values for an axis over [lo, hi]: (values, labels, (lo', hi')).

    The spacing is 1, 2, 2.5 or 5 x 10^k, never finer than the `digits`-th
    significant digit of the largest value, so labels have at most `digits`
    significant digits and all differ. Of the spacings that put 2 to count + 1
    ticks inside [lo, hi], the one closest to `count` ticks wins (the wider on
    a tie). (lo', hi') is [lo, hi], widened only when no spacing puts two
    ticks inside it (a flat curve gets a band around its value).
    """
    top = max(abs(lo), abs(hi))
    if hi - lo <= 1e-12 * top or top == 0:
        pad = 10.0 ** math.floor(math.log10(top)) / 10 if top else 1.0
        lo, hi = lo - pad, hi + pad
        top = max(abs(lo), abs(hi))
    finest = 10.0 ** (math.floor(math.log10(top)) - digits + 1) * (1 - 1e-9)
    k0 = math.floor(math.log10(max((hi - lo) / max(count, 2), finest)))
    steps = [m * 10.0**k for k in range(k0 - 1, k0 + 3) for m in (1, 2, 2.5, 5)]
    steps = [s for s in steps if 10.0 ** _place(s) >= finest]

    def inside(step: float) -> tuple[int, int]:
        return math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)

    fitting = [s for s in steps if 2 <= inside(s)[1] - inside(s)[0] + 1 <= count + 1]
    if fitting:
        step = min(fitting, key=lambda s: (abs(inside(s)[1] - inside(s)[0] + 1 - count), -s))
        first, last = inside(step)
    else:
        step = steps[0]
        first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
        last = max(last, first + 1)
    # Also covers a tick that the tolerance above let fall a hair outside.
    lo, hi = min(lo, first * step), max(hi, last * step)
    multiples = np.arange(first, last + 1)
    values = multiples * step
    place = _place(step)
    magnitude = math.floor(math.log10(float(np.abs(values).max())))
    labels = [
        "0" if m == 0 else _number(float(v), place, magnitude)
        for m, v in zip(multiples.tolist(), values.tolist(), strict=True)
    ]
    return values, labels, (lo, hi)


def log_ticks(
    lo: float, hi: float, count: int
) -> tuple[np.ndarray, list[str], tuple[float, float]]:
    """About `count` ticks for a log10 axis over [lo, hi] (log10 C): (log10 values, labels, range).

    Whole decades when at least three fit (every 1, 2, 5... decades), else
    1, 2 and 5 in each decade, else (less than a decade) round costs placed
    at their logarithms. Labels are the costs: 0.01, 0.1, 1, 1e-5. The range
    is [lo, hi], widened as nice_ticks widens it in the last case.
    """
    count = max(count, 2)
    decades = np.arange(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)
    if decades.size >= 3:
        every = next(m for m in (1, 2, 5, 10, 20, 50, 100) if decades.size / m <= count)
        decades = decades[decades % every == 0] if decades.size > count else decades
        costs = 10.0**decades
        labels = [number_label(float(c), int(e)) for c, e in zip(costs, decades, strict=True)]
        return decades.astype(float), labels, (lo, hi)
    lows = np.arange(math.floor(lo) - 1, math.ceil(hi) + 1)
    for ms in ((1, 2, 5), (1, 3)):
        steps = [
            (m, int(e)) for e in lows for m in ms if lo - 1e-9 <= math.log10(m) + e <= hi + 1e-9
        ]
        if 2 <= len(steps) <= count + 1:
            values = np.array([math.log10(m) + e for m, e in steps])
            return values, [number_label(m * 10.0**e, e) for m, e in steps], (lo, hi)
    values, labels, (c_lo, c_hi) = nice_ticks(10.0**lo, 10.0**hi, count)
    keep = values > 0
    kept = [label for label, k in zip(labels, keep, strict=True) if k]
    positions = np.log10(values[keep])
    bottom = math.log10(c_lo) if c_lo > 0 else float(positions[0])
    return positions, kept, (min(lo, bottom), max(hi, math.log10(c_hi)))


class CostPlot(PlotextPlot):
    """Cost C against step for the whole history, with the current step, hits and edits marked."""

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
        self.drawn_smooth: tuple[np.ndarray, np.ndarray] = (np.empty(0), np.empty(0))
        """(steps, values) of the last draw's smoothed curve; empty when the history is smooth."""
        self.drawn_current: int | None = None
        """The step marked by the last draw, or None before the first."""
        self.drawn_ticks: tuple[list[float], list[str]] = ([], [])
        """(values, labels) of the y ticks of the last draw (values in log10 C in log mode)."""
        self.legend: Text | None = None
        """The line under the plot naming its marks, or None when there is nothing to name."""
        self._costs: np.ndarray | None = None
        self._current = 0
        self._log = False
        self._hits: Sequence[int] = ()
        self._edits: Sequence[int] = ()
        self._branch_name = ""
        self._line_color = LINE_COLOR
        self._fork: int | None = None
        self._others: Sequence[Curve] = ()
        self._other_cache: dict[str, tuple[object, tuple[np.ndarray, np.ndarray]]] = {}
        """Each other branch's drawn curve and what it was drawn from (`_other_curves`)."""
        self.drawn_others: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        """(steps, values) of each other branch's curve in the last draw, by name."""
        self.drawn_forks: list[tuple[int, float, str]] = []
        """(step, value, branch) of each fork mark in the last draw (value NaN: at the top)."""

    def on_mount(self) -> None:
        """Set the decorations that never change."""
        self.plt.title(TITLE)
        self.plt.xlabel("step")
        self.plt.ylabel("C")

    def on_resize(self, event: events.Resize) -> None:
        """Redraw at the new number of columns."""
        self._draw()

    def show(
        self,
        costs: np.ndarray,
        current: int,
        *,
        log: bool = False,
        hits: Sequence[int] = (),
        edits: Sequence[int] = (),
        name: str = "",
        color: str = LINE_COLOR,
        fork: int | None = None,
        others: Sequence[Curve] = (),
    ) -> None:
        """Draw `costs` (n,), cost at each step (NaN where unknown), and mark step `current`.

        With branches: `name` and `color` are the current branch's (its curve
        is the solid one), `fork` where it leaves its parent, and `others` the
        other branches' curves; the legend names every branch.

        With `log`, plot log10 C, labelled in costs; steps with C <= 0 have no
        logarithm and are left out. `hits` are steps where a breakpoint
        stopped a run (a ▲ at the cost, at the top when the cost is not
        finite), `edits` steps where the history was edited or branched (a
        dotted line ┊ and a ◆ at the cost). When the history zigzags
        (minibatches), each step's cost is drawn as faint dots and a moving
        average on top (see `smooth`).
        """
        self._costs = costs
        self._current = current
        self._log = log
        self._hits = hits
        self._edits = edits
        self._branch_name = name
        self._line_color = color
        self._fork = fork
        self._others = others
        self._draw()

    def render(self) -> RenderResult:
        """The plot, with the legend on a line of its own under it when there is one."""
        legend = self.legend
        width, height = self.size.width, self.size.height
        if legend is None or height < LEGEND_MIN_HEIGHT:
            return super().render()
        # As PlotextPlot.render, one line shorter (its _set_size works around
        # a plotext resizing bug, textual-plotext issue 5).
        self.plt.plotsize(width, height - 1)
        self.plt._set_size(width, height - 1)
        self.plt.theme(self._get_plotext_theme_name(self.app.theme))
        text = Text.from_ansi(self.plt.build().removesuffix("\n"))
        text.append("\n")
        line = legend.copy()
        line.truncate(width)
        text.append_text(line)
        return text

    def _color(self, color: str) -> str:
        """`color`, or the terminal's own text colour under NO_COLOR.

        Textual's NO_COLOR filter turns colours into greys, and red+ becomes
        too dark to see; the marks differ by shape, so they keep full contrast.
        """
        no_color = self.is_attached and self.app.no_color
        return "default" if no_color and color != RAW_COLOR else color

    def _plot_height(self) -> int:
        height = self.content_size.height or FALLBACK_HEIGHT
        return height - 1 if self.legend is not None and height >= LEGEND_MIN_HEIGHT else height

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
        sx, sy = np.empty(0), np.empty(0)
        window = smoothing_window(costs.size)
        if noisy(y):
            sx, sy = smooth(scaled(costs, log), window)
        self.drawn_smooth = (sx, sy)

        others = self._other_curves(width, log)
        last = max(costs.size - 1, current, 1, *(c.costs.size - 1 for c in self._others))
        hits = _marks(self._hits, costs, last, log)
        edits = _marks(self._edits, costs, last, log)
        forks = self._fork_marks(costs, last, log)
        names = self._legend_names(others, bool(forks))
        self.legend = _legend(
            window if sx.size else 0, hits[0].size > 0, edits[0].size > 0, width, names
        )
        self._title(costs, y, log, width)
        plt.ylabel("C")
        plt.xlim(0, last)
        ticks = step_ticks(last, max(2, width // TICK_SPACING))
        plt.xticks([float(t) for t in ticks], [step_label(t) for t in ticks])
        marked = math.nan
        if 0 <= current < costs.size:
            marked = float(scaled(costs[current : current + 1], log)[0])
        if x.size == 0 and not any(ox.size for ox, _, _ in others.values()):
            if costs.size == 0:  # the pass has not computed step 0's cost yet
                hint = "no cost computed yet (s computes it)"
            else:
                hint = "no positive cost yet" if log else "no finite cost yet"
            plt.ylim(0, 1)
            plt.yticks([], [])
            self.drawn_ticks = ([], [])
            plt.text(hint, last / 2, 0.5, alignment="center")
            plt.vline(current, self._color(CURRENT_COLOR))
            self.refresh()
            return
        fork_values = [value for _, value, _ in forks]
        known = [y, sy, [marked], hits[1], edits[1], fork_values]
        known += [oy for _, oy, _ in others.values()]
        values = np.concatenate([np.asarray(v, dtype=float) for v in known])
        values = values[np.isfinite(values)]
        lo, hi = self._label_y(float(values.min()), float(values.max()), log)
        if edits[0].size:
            rows = np.linspace(lo, hi, 2 * self._plot_height())
            plt.scatter(
                np.repeat(edits[0], rows.size).tolist(),
                np.tile(rows, edits[0].size).tolist(),
                marker=EDIT_LINE,
                color=self._color(EDIT_COLOR),
            )
        for ox, oy, curve in others.values():  # under the current branch's curve
            if ox.size:
                plt.plot(
                    ox.tolist(), oy.tolist(), marker=curve.glyph, color=self._color(curve.color)
                )
        line_color = self._color(self._line_color)
        if sx.size:
            plt.scatter(x.tolist(), y.tolist(), marker=RAW_MARKER, color=RAW_COLOR)
            plt.plot(sx.tolist(), sy.tolist(), marker=LINE_MARKER, color=line_color)
        elif x.size:
            plt.plot(x.tolist(), y.tolist(), color=line_color)
        plt.vline(current, self._color(CURRENT_COLOR))
        if math.isfinite(marked):
            plt.scatter([current], [marked], marker=CURRENT_MARK, color=self._color(CURRENT_COLOR))
        for (steps, at), mark, color in (
            (hits, HIT_MARK, HIT_COLOR),
            (edits, EDIT_MARK, EDIT_COLOR),
        ):
            if steps.size:
                at = np.where(np.isfinite(at), at, hi)
                plt.scatter(steps.tolist(), at.tolist(), marker=mark, color=self._color(color))
        for step, value, color in forks:
            at_value = value if math.isfinite(value) else hi
            plt.scatter([step], [at_value], marker=FORK_MARK, color=self._color(color))
        self.refresh()

    def _other_curves(
        self, width: int, log: bool
    ) -> dict[str, tuple[np.ndarray, np.ndarray, Curve]]:
        """(steps, values, curve) of each other branch, from its fork: smoothed when noisy."""
        out = {}
        cache: dict[str, tuple[object, tuple[np.ndarray, np.ndarray]]] = {}
        for curve in self._others:
            # A cost can be filled in without a move (a pass computed on a look), so the
            # count of unknown ones is part of what the curve was drawn from.
            unknown = int(np.count_nonzero(np.isnan(curve.costs)))
            key = (curve.revision, curve.costs.size, unknown, curve.start, log, width)
            kept = self._other_cache.get(curve.name)
            if curve.revision is not None and kept is not None and kept[0] == key:
                out[curve.name] = (*kept[1], curve)  # that branch has not moved: same curve
                cache[curve.name] = kept
                continue
            own = curve.costs[curve.start :]
            ox, oy = downsample(own, width)
            oy = scaled(oy, log)
            keep = np.isfinite(oy)
            ox, oy = ox[keep] + curve.start, oy[keep]
            if noisy(oy):
                ox, oy = smooth(scaled(own, log), smoothing_window(curve.costs.size))
                ox = ox + curve.start
            out[curve.name] = (ox, oy, curve)
            cache[curve.name] = (key, (ox, oy))
        self._other_cache = cache
        self.drawn_others = {name: (ox, oy) for name, (ox, oy, _) in out.items()}
        return out

    def _fork_marks(self, costs: np.ndarray, last: int, log: bool) -> list[tuple[int, float, str]]:
        """(step, value, colour) of each fork: the current branch's and the others'."""
        forks: list[tuple[int, float, str, str]] = []  # step, value, name, colour
        if self._fork is not None:
            value = _value_at(costs, self._fork, log)
            forks.append((self._fork, value, self._branch_name, self._line_color))
        for curve in self._others:
            if curve.fork is not None:
                value = _value_at(curve.costs, curve.fork, log)
                forks.append((curve.fork, value, curve.name, curve.color))
        forks = [f for f in forks if 0 <= f[0] <= last]
        self.drawn_forks = [(step, value, name) for step, value, name, _ in forks]
        return [(step, value, color) for step, value, _, color in forks]

    def _legend_names(
        self, others: dict[str, tuple[np.ndarray, np.ndarray, Curve]], forks: bool
    ) -> list[tuple[str, str, str]]:
        """(glyph, colour, name) of each branch for the legend; none without other branches."""
        if not self._others:
            return []
        names = [("▄", self._line_color, self._branch_name)]
        names += [(curve.glyph, curve.color, curve.name) for _, _, curve in others.values()]
        if forks:
            names.append((FORK_MARK, "", "fork"))
        return names

    def _title(self, costs: np.ndarray, y: np.ndarray, log: bool, width: int) -> None:
        """The title: "cost C", and what the curve cannot show (log scale, clipped, last NaN)."""
        notes = ["log scale"] if log else []
        if not log and np.abs(y).max(initial=0.0) >= LINEAR_LIMIT:
            notes.append("clipped")
        if costs.size and not math.isfinite(float(costs[-1])):
            notes.append(f"last {describe(float(costs[-1]))}")
        # Plotext drops a title wider than the plot: drop notes from the end until it fits.
        while notes and len(f"{TITLE} ({', '.join(notes)})") > width - TITLE_MARGIN:
            notes.pop()
        self.plt.title(f"{TITLE} ({', '.join(notes)})" if notes else TITLE)

    def _label_y(self, lo: float, hi: float, log: bool) -> tuple[float, float]:
        """Round y ticks over [lo, hi], labelled in costs; returns the y range they need.

        Plotext's own labels run to 18 digits for large costs.
        """
        count = max(2, min(6, self._plot_height() // ROWS_PER_TICK))
        if log:
            values, labels, (lo, hi) = log_ticks(lo, hi, count)
        else:
            values, labels, (lo, hi) = nice_ticks(lo, hi, count)
        self.drawn_ticks = (values.tolist(), labels)
        self.plt.ylim(lo, hi)
        self.plt.yticks(values.tolist(), labels)
        return lo, hi


def _marks(
    steps: Sequence[int], costs: np.ndarray, last: int, log: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of the marks at `steps` within 0..last; values NaN where the cost is not."""
    s = np.unique(np.asarray(steps, dtype=int))
    s = s[(s >= 0) & (s <= last)]
    inside = s < costs.size
    values = np.full(s.size, np.nan)
    values[inside] = scaled(costs[s[inside]], log)
    return s, values


def _value_at(costs: np.ndarray, step: int, log: bool) -> float:
    """The cost at `step` as drawn; NaN where it is not known."""
    if 0 <= step < costs.size:
        return float(scaled(costs[step : step + 1], log)[0])
    return math.nan


RICH_COLORS = {
    "magenta+": "bright_magenta",
    "blue+": "bright_blue",
    "yellow": "yellow",
    "green": "green",
    "magenta": "magenta",
    "blue": "blue",
    "white": "white",
    LINE_COLOR: "bright_cyan",
    RAW_COLOR: "bright_black",
    CURRENT_COLOR: "bright_red",
    HIT_COLOR: "bright_yellow",
    EDIT_COLOR: "bright_green",
}
"""The plot's plotext colours as Rich names them, for the legend."""


def _legend(
    window: int,
    hits: bool,
    edits: bool,
    width: int,
    branches: Sequence[tuple[str, str, str]] = (),
) -> Text | None:
    """The key under the plot: the branches (glyph, colour, name; the current one first, in
    bold), smoothing (window steps, 0 if none), now, hits and edits.

    In as many words as fit `width` columns: "mean of 80 steps", else "mean 80".
    """
    if not (window or hits or edits or branches):
        return None
    parts: list[tuple[str, str, str, str, str]] = []  # glyph, colour, words, brief, style
    for i, (glyph, color, name) in enumerate(branches):
        parts.append((glyph, color, f" {name}", f" {name}", "bold" if i == 0 else ""))
    if window:
        parts.append(("▄", LINE_COLOR, f" mean of {window} steps", f" mean {window}", ""))
        parts.append(("⠪", RAW_COLOR, " each step", " step", ""))
    parts.append((CURRENT_MARK, CURRENT_COLOR, " now", " now", ""))
    if hits:
        parts.append((HIT_MARK, HIT_COLOR, " breakpoint", " break", ""))
    if edits:
        parts.append((EDIT_LINE + EDIT_MARK, EDIT_COLOR, " edit", " edit", ""))
    for short in (False, True):
        text = Text(" ")
        for i, (glyph, color, words, brief, style) in enumerate(parts):
            text.append("  " if i else "")
            text.append(glyph, RICH_COLORS.get(color, ""))
            text.append(brief if short else words, style)
        if text.cell_len <= width:
            break
    return text
