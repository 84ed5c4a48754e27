"""The decision boundary of a 2-input network over its input plane, with the data on top.

Each terminal line shows two grid rows: "▀" with the upper row's colour in
front and the lower row's colour behind, as in TensorFlow Playground but
drawn in half blocks. When the pane has room, x2 ticks run down the left,
x1 ticks along the bottom, and a legend line names the marks and shades:

     x2│
    1.0┤▀▀▀▀▀▀▀▀▀▀▀▀▀
       │▀▀ o ▀▀▀▀▀ x ▀
    0.0┤▀▀▀▀▀▀▀▀▀▀▀▀▀
       └┬─────┬─────┬─
    x1 0.0   0.5  1.0
    o class 0 · x class 1 · p(class 1) 0 ██████ 1
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.strip import Strip
from textual.widget import Widget

from bpdebug.tui.widgets.costplot import nice_ticks

Extent = tuple[float, float, float, float]
"""(xmin, xmax, ymin, ymax) of the input plane, in data coordinates."""

NEUTRAL = "#f0f0f0"
"""The colour of p = 0.5: the network cannot tell."""

CLASS0_SHADES = ("#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2b7bba")
"""Blues from unsure to sure of class 0. Downgraded to 16 colours the sure
end becomes cyan; the dark point colours stay readable on every shade."""

CLASS1_SHADES = ("#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#e6550d")
"""Oranges from unsure to sure of class 1 (bright yellow, bright red, yellow in 16 colours)."""

PALETTE = (*reversed(CLASS0_SHADES), NEUTRAL, *CLASS1_SHADES)
"""Colour by level: level round(10 p), 0 = sure of class 0, 5 = neutral, 10 = sure of class 1."""

POINT_GLYPHS = ("o", "x")
"""The character of a data point by class, so the classes differ without colour."""

POINT_COLORS = (CLASS0_SHADES[1], CLASS1_SHADES[1])
"""Light class colours of the point glyphs, drawn bold on POINT_BACKGROUND."""

POINT_BACKGROUND = "#000000"
"""Every point sits in a black cell: it stands out on each shade, in 16 colours and in grey."""

HALF_BLOCK = "▀"

PLAIN = Style()
"""Style of the ticks and words: a Style, not None, which Textual's NO_COLOR filter needs."""

AXES_MIN_WIDTH, AXES_MIN_HEIGHT = 24, 8
"""The smallest widget that gets tick labels (a smaller one is all plane)."""

LEGEND_MIN_HEIGHT = 5
"""The smallest height that gets a legend line."""

TICK_DIGITS = 3
"""Significant digits of a tick label."""

COLUMNS_PER_TICK, LINES_PER_TICK = 10, 3
"""Room each tick wants on the x and the y axis."""


def boundary_grid(
    forward: Callable[[np.ndarray], np.ndarray], extent: Extent, rows: int, cols: int
) -> np.ndarray:
    """The network's class-1 output at the centre of each cell of a (rows, cols) grid.

    `forward` takes inputs X (2, m) and returns outputs (n_L, m); with one
    output unit that unit is used, with two or more unit 1 (the probability
    of class 1). Row 0 is the top of the plane (y = ymax), column 0 its left.
    """
    xmin, xmax, ymin, ymax = extent
    xs = xmin + (np.arange(cols) + 0.5) * (xmax - xmin) / cols
    ys = ymax - (np.arange(rows) + 0.5) * (ymax - ymin) / rows
    gx, gy = np.meshgrid(xs, ys)  # (rows, cols) each, row-major like the screen
    out = np.asarray(forward(np.stack([gx.ravel(), gy.ravel()])))
    unit = 0 if out.shape[0] == 1 else 1
    grid: np.ndarray = out[unit].reshape(rows, cols)
    return grid


def data_extent(inputs: np.ndarray, pad: float = 0.1) -> Extent:
    """The plane around `inputs` (2, N): their range widened by `pad` of its span on each side."""
    if inputs.size == 0:
        return (-1.0, 1.0, -1.0, 1.0)
    lo, hi = inputs.min(axis=1), inputs.max(axis=1)
    # A flat range (one point, or all points on a line) still gets some room.
    span = np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - pad * span, hi + pad * span
    return (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))


def levels(grid: np.ndarray) -> np.ndarray:
    """Palette level 0..10 of each cell of `grid` (rows, cols); NaN counts as unsure."""
    p = np.clip(np.nan_to_num(np.asarray(grid, dtype=float), nan=0.5), 0.0, 1.0)
    level: np.ndarray = np.rint(p * (len(PALETTE) - 1)).astype(int)
    return level


def resample(level: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """`level` (r, c) stretched or shrunk to (rows, cols), each cell taking the nearest old one."""
    r = ((np.arange(rows) + 0.5) * level.shape[0] / rows).astype(int)
    c = ((np.arange(cols) + 0.5) * level.shape[1] / cols).astype(int)
    out: np.ndarray = level[np.ix_(r, c)]
    return out


def ticks(lo: float, hi: float, cells: int, per_tick: int) -> list[tuple[int, str]]:
    """(cell, label) of round values in [lo, hi] along `cells` cells of that span, in order."""
    if not hi > lo or cells < 1:
        return []
    values, labels, _ = nice_ticks(lo, hi, max(2, cells // per_tick), digits=TICK_DIGITS)
    out: list[tuple[int, str]] = []
    for value, label in zip(values.tolist(), labels, strict=True):
        cell = min(int((value - lo) / (hi - lo) * cells), cells - 1)
        if lo <= value <= hi and (not out or out[-1][0] != cell):
            out.append((cell, label))
    return out


class DecisionBoundary(Widget):
    """Where a 2-input network says class 0 or class 1, shaded by its confidence, with the data."""

    DEFAULT_CSS = """
    DecisionBoundary {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._strips: list[Strip] = []
        self._shown: tuple[np.ndarray, np.ndarray, np.ndarray, Extent] | None = None
        # Style of every (upper, lower) level pair; lower None is an odd last row.
        self._cell_styles = {
            (upper, lower): Style(
                color=PALETTE[upper], bgcolor=None if lower is None else PALETTE[lower]
            )
            for upper in range(len(PALETTE))
            for lower in (*range(len(PALETTE)), None)
        }
        self._point_styles = tuple(
            Style(color=color, bgcolor=POINT_BACKGROUND, bold=True) for color in POINT_COLORS
        )
        self.plane: tuple[int, int, int, int] = (0, 0, 0, 0)
        """(left, top, lines, columns) of the shaded plane within the widget, after show()."""

    def layout_of(self, width: int, height: int) -> tuple[int, int, int, bool, bool]:
        """(left margin, plane lines, plane columns, axes?, legend?) for a widget of this size."""
        legend = height >= LEGEND_MIN_HEIGHT
        axes = width >= AXES_MIN_WIDTH and height >= AXES_MIN_HEIGHT
        lines = height - legend - 2 * axes
        if not axes:
            return 0, lines, width, axes, legend
        if self._shown is None:
            return 5, lines, width - 5, axes, legend  # labels unknown before show(): 4 characters
        _, _, _, (_, _, ymin, ymax) = self._shown
        labels = [label for _, label in ticks(ymin, ymax, lines, LINES_PER_TICK)]
        left = max(len(label) for label in (*labels, "x2")) + 1
        return left, lines, width - left, axes, legend

    def grid_shape(self) -> tuple[int, int]:
        """(rows, cols) of the grid that fills the plane: two rows per line, less the axes."""
        size = self.content_size
        _, lines, cols, _, _ = self.layout_of(size.width, size.height)
        return (2 * max(lines, 0), max(cols, 0))

    def show(
        self, grid: np.ndarray, points: np.ndarray, labels: np.ndarray, extent: Extent
    ) -> None:
        """Draw `grid` (rows, cols) of class-1 probabilities and `points` (N, 2) with `labels` (N,).

        Grid row 0 is the top (y = ymax); `extent` maps data coordinates to
        cells. Points outside the extent are not drawn. A grid of another
        shape than grid_shape() is stretched to fit (nearest cell).
        """
        self._shown = (levels(grid), points, labels, extent)
        self._build()

    def on_resize(self, event: events.Resize) -> None:
        """Stretch the last grid to the new size until the app sends one that fits."""
        self._build()

    def _build(self) -> None:
        """Turn the last show() into strips: the only work done outside show() is on resize."""
        if self._shown is None:
            return
        level, points, labels, extent = self._shown
        size = self.content_size
        left, lines, cols, axes, legend = self.layout_of(size.width, size.height)
        rows = 2 * max(lines, 0)
        if rows and cols > 0 and level.shape != (rows, cols):
            level = resample(level, rows, cols)
        rows, cols = level.shape
        self.plane = (left, 0, (rows + 1) // 2, cols)
        glyphs: dict[tuple[int, int], Segment] = {}
        xmin, xmax, ymin, ymax = extent
        if points.size and xmax > xmin and ymax > ymin and rows and cols:
            col = np.floor((points[:, 0] - xmin) / (xmax - xmin) * cols).astype(int)
            row = np.floor((ymax - points[:, 1]) / (ymax - ymin) * rows).astype(int)
            inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
            classes = (np.asarray(labels) > 0.5).astype(int)
            for r, c, k in zip(row[inside], col[inside], classes[inside], strict=True):
                glyphs[int(r) // 2, int(c)] = Segment(POINT_GLYPHS[k], self._point_styles[k])
        plane = [self._line(level, y, glyphs) for y in range((rows + 1) // 2)]
        if axes:
            plane = self._with_axes(plane, left, cols, extent)
        if legend:
            plane.append(self._legend(size.width))
        self._strips = plane
        self.refresh()

    def _with_axes(self, plane: list[Strip], left: int, cols: int, extent: Extent) -> list[Strip]:
        """`plane` with x2 ticks in a `left`-column margin, and the x1 axis and its ticks below."""
        xmin, xmax, ymin, ymax = extent
        axis = PLAIN
        lines = len(plane)
        y_ticks = {
            lines - 1 - cell: label for cell, label in ticks(ymin, ymax, lines, LINES_PER_TICK)
        }
        free = next((y for y in range(lines) if y not in y_ticks), None)
        if free is not None:  # the axis name, as high as the ticks let it
            y_ticks[free] = "x2"
        out = []
        for y, strip in enumerate(plane):
            label = y_ticks.get(y)
            mark = "┤" if label is not None and label != "x2" else "│"
            margin = Segment(f"{label or '':>{left - 1}}{mark}", axis)
            out.append(Strip([margin, *strip], left + strip.cell_length))
        x_ticks = ticks(xmin, xmax, cols, COLUMNS_PER_TICK)
        rule = ["─"] * cols
        text = [" "] * (left + cols)
        end = -1
        name_left = left >= 3  # the axis name under the x2 labels, so every tick keeps its label
        last = left + cols - (0 if name_left else 3)
        for col, label in x_ticks:
            rule[col] = "┬"
            start = max(min(left + col - len(label) // 2, last - len(label)), end + 1, 0)
            if start + len(label) <= last:
                text[start : start + len(label)] = label
                end = start + len(label)
        if name_left:
            text[:2] = "x1"
        else:
            text[-2:] = "x1"
        out.append(Strip([Segment(" " * (left - 1) + "└" + "".join(rule), axis)], left + cols))
        out.append(Strip([Segment("".join(text), axis)], left + cols))
        return out

    def _legend(self, width: int) -> Strip:
        """One line naming the marks and the shades, in as many words as fit `width`."""
        ramp = [Segment("█", Style(color=color)) for color in PALETTE]
        for form in range(3):
            parts = [
                Segment(POINT_GLYPHS[0], self._point_styles[0]),
                Segment((" class 0", " 0", " 0")[form] + " · ", PLAIN),
                Segment(POINT_GLYPHS[1], self._point_styles[1]),
                Segment((" class 1", " 1", " 1")[form], PLAIN),
            ]
            if form < 2:
                parts += [Segment(" · p(class 1) 0 ", PLAIN), *ramp, Segment(" 1", PLAIN)]
            strip = Strip(parts)
            if strip.cell_length <= width:
                break
        return strip

    def _line(self, level: np.ndarray, y: int, glyphs: dict[tuple[int, int], Segment]) -> Strip:
        """Terminal line `y`: grid rows 2y (upper half) and 2y + 1 (lower half)."""
        upper = level[2 * y].tolist()
        lower = level[2 * y + 1].tolist() if 2 * y + 1 < len(level) else [None] * len(upper)
        segments: list[Segment] = []
        run_style: Style | None = None
        run = 0
        for x, key in enumerate(zip(upper, lower, strict=True)):
            glyph = glyphs.get((y, x))
            style = None if glyph else self._cell_styles[key]
            if run and style is not run_style:
                segments.append(Segment(HALF_BLOCK * run, run_style))
                run = 0
            if glyph:
                segments.append(glyph)
            else:
                run_style = style
                run += 1
        if run:
            segments.append(Segment(HALF_BLOCK * run, run_style))
        return Strip(segments, len(upper))

    def render_line(self, y: int) -> Strip:
        """Line `y` of the last show(), cut or padded to the widget's width."""
        width = self.content_size.width
        if y >= len(self._strips):
            return Strip.blank(width, self.rich_style)
        return self._strips[y].crop_extend(0, width, self.rich_style)
