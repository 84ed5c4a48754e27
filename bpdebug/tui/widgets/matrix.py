"""One matrix drawn as a block of lines: numbers that are never cut, or a heatmap.

A block is a title line, a line of column indices, the rows (each with its
index), a line saying what is hidden, and a summary. It is as wide as its
numbers need and never wider than the room it is given: when the matrix
does not fit, a window of whole rows and columns around the selected cell
is shown and the rest is announced (``… 60 more →``), so no number is ever
cropped. Titles, indices and row labels are part of every window, so they
stay put while the cells move.

Numbers: one format per matrix (`matrix_format`), fixed-point with enough
decimals for 3 significant digits of its smallest nonzero |value|, or
scientific with 3 significant digits when that would be wider than
`MAX_FIXED_WIDTH`. Exact zeros read ``0``, so a dead unit differs from a
tiny gradient.

Heatmap: each character is one cell, or a bin of cells when the matrix has
more rows or columns than the room (the bin takes its most extreme value,
so a single NaN or outlier still shows); small matrices get wide cells so
the map fills its room.

The selected cell is outlined the same way in any colour system: ``[`` and
``]`` in the gaps on either side (◆ in a heatmap), its row and column
indices drawn in reverse video.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from functools import cache
from typing import Final

import numpy as np
from numpy.typing import NDArray
from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from bpdebug.summary import Summary, summarize
from bpdebug.tui import colors

MAX_FIXED_WIDTH: Final = 9
"""A fixed-point format wider than this (sign included) switches to scientific."""
MAX_DECIMALS: Final = 5
"""A fixed-point format needing more decimals than this switches to scientific."""
MAX_ROWS: Final = 12
"""Rows of numbers a block shows at most before announcing the rest."""
MAX_HEAT_LINES: Final = 12
"""Lines a heatmap takes at most (two matrix rows per line past that, by half blocks)."""
MAX_HEAT_CELL: Final = 12
"""Characters per cell a small matrix's heatmap takes at most."""
MIN_WIDTH: Final = 24
"""The narrowest block: room for its title and the summary's fields."""
LEGEND_WIDTH: Final = 36
"""Columns a heatmap's colour key takes (``-0.239 ▇▇▇▇▇ 0 ▇▇▇▇▇ 0.239  NaN inf``)."""
HEATMAP_CELLS: Final = 2048
"""Above this many cells a matrix opens as a heatmap (mode "auto")."""

_BOLD = Style(bold=True)
_DIM = Style(dim=True)
_MARK = Style(bold=True, reverse=True)
_OUTLINE = Style(bold=True)
_TITLE_SELECTED = Style(bold=True, reverse=True)


@dataclass(frozen=True)
class NumberFormat:
    """How every number of one matrix is written."""

    decimals: int
    """Digits after the point (fixed) or of the mantissa (scientific)."""
    scientific: bool
    width: int
    """Characters of the widest number (all are right-aligned to it)."""

    def text(self, x: float) -> str:
        """`x` in this format: ``-0.00618``, ``6.18e-03``, ``0``, ``NaN``, ``-inf``."""
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x == 0.0:
            return "0"
        return f"{x:.{self.decimals}e}" if self.scientific else f"{x:.{self.decimals}f}"


def matrix_format(values: NDArray[np.float64]) -> NumberFormat:
    """The one format of a matrix: 3 significant digits of its smallest nonzero |value|."""
    magnitudes = np.abs(values[np.isfinite(values) & (values != 0)])
    special = 4 if np.isinf(values).any() else (3 if np.isnan(values).any() else 1)
    if magnitudes.size == 0:
        return NumberFormat(0, False, special)
    small, large = float(magnitudes.min()), float(magnitudes.max())
    decimals = max(0, 2 - math.floor(math.log10(small)))
    extremes = [
        x
        for x in (
            float(values[np.isfinite(values)].min()),
            float(values[np.isfinite(values)].max()),
        )
        if x
    ]
    fixed = NumberFormat(decimals, False, 0)
    width = max(len(fixed.text(x)) for x in extremes)
    if width <= MAX_FIXED_WIDTH and decimals <= MAX_DECIMALS and large < 1e6:
        return NumberFormat(decimals, False, max(width, special))
    science = NumberFormat(2, True, 0)
    return NumberFormat(2, True, max(max(len(science.text(x)) for x in extremes), special))


@dataclass(frozen=True)
class Cell:
    """Where one number was drawn in a block (for the tests that read the screen)."""

    line: int
    x: int
    text: str
    value: float


@dataclass
class Block:
    """One matrix laid out for a given width: its lines and where its numbers are."""

    lines: list[Strip]
    width: int
    cells: list[Cell]


def _window(count: int, room: int, selected: int | None) -> tuple[int, int]:
    """(first, stop) of at most `room` items out of `count` that include `selected`."""
    if count <= room:
        return 0, count
    first = 0 if selected is None or selected < room else selected - room + 1
    return first, first + room


def _wrap(fields: tuple[str, ...], width: int) -> list[str]:
    """`fields` joined by spaces into lines of at most `width`, never splitting one (a field
    like ``μ 0.113`` holds a space, so textwrap would cut it)."""
    lines: list[str] = []
    for item in fields:
        if lines and len(lines[-1]) + 1 + len(item) <= width:
            lines[-1] += " " + item
        else:
            lines.append(item)
    return lines


def natural_width(
    values: NDArray[np.float64] | None,
    title: str,
    heatmap: bool,
    placeholder: str = "",
    fmt: NumberFormat | None = None,
) -> int:
    """The width a block wants: every column at its format's width, or a filled heatmap."""
    if values is None:
        return max(MIN_WIDTH, len(title) + 2, len(placeholder) + 2)
    rows, cols = (int(n) for n in values.shape)
    label = len(str(rows - 1)) + 1
    if heatmap:
        return max(MIN_WIDTH, LEGEND_WIDTH, label + min(cols * MAX_HEAT_CELL, 96))
    cell = max((fmt or matrix_format(values)).width, len(str(cols - 1)))
    return max(MIN_WIDTH, len(title) + 2, label + cols * (cell + 1) + 1)


def render_block(
    title: str,
    values: NDArray[np.float64] | None,
    width: int,
    *,
    placeholder: str = "",
    selected: tuple[int | None, int | None] = (None, None),
    heatmap: bool = False,
    marked: bool = False,
    note: str = "",
    units: bool = False,
    fmt: NumberFormat | None = None,
) -> Block:
    """The block of `values` (2-D) in at most `width` columns.

    `selected` is (row, column), either None for none; `marked` draws the
    title as the selected pane's; `units` counts dead units in the summary.
    `fmt` is `matrix_format(values)` when the caller has it already.
    """
    head = [Segment("▶ " if marked else "  "), Segment(title, _TITLE_SELECTED if marked else _BOLD)]
    if note and cell_len(f"  {title}  {note}") <= width:  # whole or not at all: never "step 5"
        head.append(Segment(f"  {note}", _DIM))
    if values is None:
        said = [
            Strip([Segment("  " + line, _DIM)]) for line in textwrap.wrap(placeholder, width - 2)
        ]
        return Block([Strip(head), *said], width, [])
    summary = summarize(values, values.shape, units)
    if heatmap:
        return _heatmap_block(Strip(head), values, width, selected, summary)
    return _number_block(
        Strip(head), values, width, selected, summary, fmt or matrix_format(values)
    )


def _scale(values: NDArray[np.float64]) -> float:
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


def _number_block(
    head: Strip,
    values: NDArray[np.float64],
    width: int,
    selected: tuple[int | None, int | None],
    summary: Summary,
    fmt: NumberFormat,
) -> Block:
    rows, cols = values.shape
    label = len(str(rows - 1))
    cell = max(fmt.width, len(str(cols - 1)))  # as wide as the widest number or column index
    step = cell + 1
    room = max(1, (width - label - 2) // step)
    c0, c1 = _window(cols, room, selected[1])
    r0, r1 = _window(rows, MAX_ROWS, selected[0])
    window = values[r0:r1, c0:c1]
    index = colors.palette_index(window, _scale(values))
    lines = [head]
    indices: list[Segment] = [Segment(" " * label)]
    for k in range(c0, c1):
        style = _MARK if k == selected[1] else _DIM
        indices += [Segment(" "), Segment(f"{k:>{cell}}", style)]
    lines.append(Strip(indices))
    cells: list[Cell] = []
    sel_row, sel_col = selected
    for r in range(r0, r1):
        y = len(lines)
        segments = [Segment(f"{r:>{label}}", _MARK if r == sel_row else _DIM)]
        x = label
        row_values = window[r - r0].tolist()
        row_index = index[r - r0].tolist()
        outline_next = False
        for k, value, i in zip(range(c0, c1), row_values, row_index, strict=True):
            is_selected = r == sel_row and k == sel_col
            gap = "[" if is_selected else ("]" if outline_next else " ")
            segments.append(Segment(gap, _OUTLINE if gap != " " else None))
            text = fmt.text(value)
            segments.append(Segment(f"{text:>{cell}}", colors.STYLES[i]))
            cells.append(Cell(y, x + 1 + cell - len(text), text, value))
            x += step
            outline_next = is_selected
        segments.append(Segment("]" if outline_next else " ", _OUTLINE if outline_next else None))
        lines.append(Strip(segments))
    used = max(label + 1 + (c1 - c0) * step, MIN_WIDTH)
    hidden = _hidden(r0, r1, rows, c0, c1, cols)
    return _finish(lines, values, used, width, cells, summary, hidden)


def _hidden(r0: int, r1: int, rows: int, c0: int, c1: int, cols: int) -> list[str]:
    """What a window leaves out: ``← 8 more``, ``… 56 more →``, ``↑ 4 more``, ``↓ 116 more``."""
    parts = []
    if c0:
        parts.append(f"← {c0} more")
    if c1 < cols:
        parts.append(f"… {cols - c1} more →")
    if r0:
        parts.append(f"↑ {r0} more")
    if r1 < rows:
        parts.append(f"↓ {rows - r1} more")
    return parts


def _finish(
    lines: list[Strip],
    values: NDArray[np.float64],
    used: int,
    width: int,
    cells: list[Cell],
    summary: Summary,
    hidden: list[str] | None = None,
) -> Block:
    """Add what is hidden and the summary, each wrapped to the block's width."""
    block_width = min(width, max(used, max(s.cell_length for s in lines)))
    for text in _wrap(tuple(hidden or ()), max(block_width, MIN_WIDTH)):
        lines.append(Strip([Segment(text, _BOLD)]))
    for text in _wrap(summary.fields, max(block_width, MIN_WIDTH)):
        lines.append(Strip([Segment(text, _DIM)]))
    block_width = max(s.cell_length for s in lines)
    return Block(lines, min(block_width, max(width, MIN_WIDTH)), cells)


def _pool(index: NDArray[np.intp], rows: int, cols: int) -> NDArray[np.intp]:
    """Palette indices binned to at most rows x cols, each bin keeping its most extreme one."""
    steps = colors.STEPS
    special = index >= colors.NAN_INDEX
    # Encode so that a larger code is more extreme; NaN and inf above every finite level.
    code = np.where(special, 4 * steps + index, 2 * np.abs(index - steps) + (index > steps))
    r_edges = np.linspace(0, index.shape[0], rows + 1).astype(int)[:-1]
    c_edges = np.linspace(0, index.shape[1], cols + 1).astype(int)[:-1]
    pooled = np.maximum.reduceat(np.maximum.reduceat(code, r_edges, axis=0), c_edges, axis=1)
    level, positive = pooled // 2, pooled % 2 == 1
    finite = np.where(positive, steps + level, steps - level)
    return np.where(pooled >= 4 * steps + colors.NAN_INDEX, pooled - 4 * steps, finite).astype(
        np.intp
    )


def _heatmap_block(
    head: Strip,
    values: NDArray[np.float64],
    width: int,
    selected: tuple[int | None, int | None],
    summary: Summary,
) -> Block:
    rows, cols = values.shape
    label = len(str(rows - 1))
    room = max(1, width - label - 1)
    scale = _scale(values)
    index = colors.palette_index(values, scale)
    shown_cols = min(cols, room)
    cell = max(1, min(MAX_HEAT_CELL, room // shown_cols)) if cols <= room else 1
    half = rows > MAX_HEAT_LINES
    shown_rows = min(rows, 2 * MAX_HEAT_LINES) if half else rows
    pooled = _pool(index, shown_rows, shown_cols)
    r_edges = np.linspace(0, rows, shown_rows + 1).astype(int)
    c_edges = np.linspace(0, cols, shown_cols + 1).astype(int)
    sel_r = None if selected[0] is None else int(np.searchsorted(r_edges, selected[0], "right") - 1)
    sel_c = None if selected[1] is None else int(np.searchsorted(c_edges, selected[1], "right") - 1)
    lines = [head]
    last = f"{cols - 1}"
    ticks = " " * (label + 1) + "0"
    span = shown_cols * cell
    if cols > 1 and span > len(last) + 2:
        ticks += " " * (span - 1 - len(last)) + last
    lines.append(Strip([Segment(ticks, _DIM)]))
    step = 2 if half else 1
    tall = 1 if half else max(1, min(3, MAX_HEAT_LINES // rows))  # a small matrix fills its room
    for line in range(0, shown_rows, step):
        for repeat in range(tall):
            name = f"{r_edges[line]:>{label}} " if repeat == 0 else " " * (label + 1)
            segments = [Segment(name, _DIM)]
            for c in range(shown_cols):
                up = int(pooled[line, c])
                low = int(pooled[line + 1, c]) if half and line + 1 < shown_rows else None
                here = repeat == tall // 2 and sel_c == c and sel_r is not None
                if here and line <= sel_r < line + step:  # type: ignore[operator]
                    chosen = up if (sel_r == line or low is None) else low
                    mark = " " * ((cell - 1) // 2) + "◆" + " " * (cell - 1 - (cell - 1) // 2)
                    segments.append(Segment(mark, colors.STYLES[chosen] + _BOLD))
                elif half:
                    segments.append(Segment("▀" * cell, colors.half_block_style(up, low)))
                else:
                    segments.append(Segment(" " * cell, Style(bgcolor=colors.BACKGROUNDS[up])))
            lines.append(Strip(segments))
    lines.append(Strip(list(colors.legend(scale).render(_console()))))
    return _finish(lines, values, label + 1 + span, width, [], summary)


@cache
def _console() -> Console:
    """A console to render one-line rich Text with (its styles are Style objects: no theme)."""
    return Console(color_system=None, width=1000)
