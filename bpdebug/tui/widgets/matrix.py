"""A matrix drawn with Textual's line API, as coloured numbers or a heatmap.

Big matrices (a 128x784 W) are why this is not a DataTable: `show()` only
classifies the values into the colour scale with numpy, and `render_line`
builds (and caches) only the pieces of lines that are on screen, so a frame
costs the visible cells and a repaint with nothing new costs almost nothing.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import NDArray
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from bpdebug.tui import colors

CELL_WIDTH: Final = 7
"""Characters of one number (e.g. "+0.731", "+1.2e-5"); cells are one blank column apart."""
HEADER_LINES: Final = 2
"""Lines above the first matrix row: the title line, then column indices or the legend."""
CHUNK: Final = 32
"""Matrix columns per cached piece of a line."""
HEATMAP_WIDE: Final = 64
"""Above this many columns a heatmap cell is one character wide instead of two."""

_BOLD = Style(bold=True)
_DIM = Style(dim=True)
_SELECTED = Style(reverse=True, bold=True, underline=True)
_GAP = Segment(" ")


def format_value(value: float) -> str:
    """`value` in at most `CELL_WIDTH` characters, always with its sign and magnitude readable."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    # Compare rounded values so that 9.9996 does not print as "+10.000".
    if abs(value) >= 0.001 and abs(round(value, 3)) < 10:
        return f"{value:+.3f}"
    if abs(round(value, 3)) >= 10 and abs(round(value, 2)) < 100:
        return f"{value:+.2f}"
    if abs(round(value, 2)) >= 100 and abs(round(value, 1)) < 1000:
        return f"{value:+.1f}"
    # Exponents without padding: "+1.2e-5", and one digit fewer past e±9.
    mantissa, exponent = f"{value:+.1e}".split("e")
    if abs(int(exponent)) < 10:
        return f"{mantissa}e{int(exponent)}"
    mantissa, exponent = f"{value:+.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _as_rows(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """`values` as a 2-D array: a vector (n,) becomes a column (n, 1)."""
    if values.ndim >= 2:
        return values.reshape(values.shape[0], math.prod(values.shape[1:]))
    return values.reshape(-1, 1)


class MatrixView(ScrollView, can_focus=False):
    """One matrix in the diverging colour scale; it scrolls to keep the selected cell in view.

    It never takes focus: the arrow keys select a unit and a weight (the
    screen's keys), and the mouse wheel still scrolls.
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
        self.matrix_title = ""
        """Title in the seeds' notation, e.g. `dC/dW^(2)`."""
        self.values: NDArray[np.float64] | None = None
        """The shown values as rows x columns (a vector as a column), or None."""
        self.scale = 1.0
        """The |v| drawn at full intensity."""
        self.selected: tuple[int, int] | None = None
        """The highlighted cell (row j, column k), if any."""
        self.heatmap = False
        """True: half-block heatmap, two rows per line; False: coloured numbers."""
        self.note = ""
        """Extra context on the title line, e.g. "example 3"."""
        self.placeholder = ""
        """Shown dimmed instead of the matrix when there are no values."""
        self._shape_text = ""
        self._rows = self._columns = 0
        self._index: NDArray[np.intp] | None = None
        self._pieces: dict[tuple[int, int | None], Strip] = {}
        self._visible: LRUCache[tuple[int, int, int, Style], Strip] = LRUCache(1024)

    def show(
        self,
        title: str,
        values: NDArray[np.floating] | None,
        *,
        placeholder: str = "",
        scale: float | None = None,
        selected: tuple[int, int] | None = None,
        heatmap: bool = False,
        note: str = "",
    ) -> None:
        """Replace what is drawn.

        `values` is a matrix (rows x columns) or a vector (n,), drawn as a
        column; None shows `placeholder` instead. `scale` is the |v| drawn at
        full intensity (None: the largest finite |v|, or 1 if all are zero).
        `selected` is a (row, column) cell to highlight and scroll into view.
        """
        self.matrix_title = title
        self.placeholder = placeholder
        self.selected = selected
        self.heatmap = heatmap
        self.note = note
        self._pieces.clear()
        self._visible.clear()
        if values is None:
            self.values = self._index = None
            self._shape_text = ""
            self._rows = self._columns = 0
            self.virtual_size = Size(
                max(self._title_line().cell_length, cell_len(placeholder)), HEADER_LINES
            )
        else:
            raw = np.asarray(values, dtype=np.float64)
            self._shape_text = "x".join(str(n) for n in raw.shape) or "1"
            self.values = _as_rows(raw)
            self._rows, self._columns = (int(n) for n in self.values.shape)
            if scale is None or not math.isfinite(scale) or scale <= 0:
                finite = np.abs(self.values[np.isfinite(self.values)])
                scale = float(finite.max()) if finite.size else 0.0
            self.scale = scale or 1.0
            self._index = colors.palette_index(self.values, self.scale)
            self.virtual_size = Size(
                max(
                    self._content_width(),
                    self._title_line().cell_length,
                    colors.legend().cell_len if heatmap else 0,
                ),
                HEADER_LINES + self._body_lines(),
            )
        self.refresh()
        if selected is not None and self.values is not None:
            self.call_after_refresh(self._scroll_to_selected)

    # Geometry ------------------------------------------------------------

    def _cell_width(self) -> int:
        if not self.heatmap:
            return CELL_WIDTH + 1
        return 1 if self._columns > HEATMAP_WIDE else 2

    def _label_width(self) -> int:
        return len(str(self._rows - 1))

    def _content_width(self) -> int:
        gap = 1 if self.heatmap else 0
        return self._label_width() + gap + self._columns * self._cell_width()

    def _body_lines(self) -> int:
        return (self._rows + 1) // 2 if self.heatmap else self._rows

    def cell_region(self, row: int, column: int) -> Region:
        """Where cell (row, column) is in the virtual (scrollable) content."""
        line = row // 2 if self.heatmap else row
        x = self._label_width() + (1 if self.heatmap else 0) + column * self._cell_width()
        return Region(x, HEADER_LINES + line, self._cell_width(), 1)

    def _scroll_to_selected(self) -> None:
        if self.selected is not None and self.values is not None:
            self.scroll_to_region(self.cell_region(*self.selected), animate=False, immediate=True)

    # Drawing -------------------------------------------------------------
    #
    # A body line is cut into pieces: its row label, then CHUNK columns each.
    # Pieces are built the first time they are on screen and kept until the
    # next show(), so a frame builds nothing and a scroll builds only the
    # pieces it uncovers (a 784-column row is never formatted in full).

    def render_line(self, y: int) -> Strip:
        """Line `y` of the widget: the content at the scroll offset, as wide as the widget."""
        scroll_x, scroll_y = self.scroll_offset
        # Unstyled cells (gaps, labels) take the widget's colours, which follow the theme.
        base = self.visual_style.rich_style
        key = (scroll_y + y, scroll_x, self.size.width, base)
        strip = self._visible.get(key)
        if strip is None:
            strip = self._compose_line(scroll_y + y, scroll_x, self.size.width).apply_style(base)
            self._visible.set(key, strip)
        return strip

    def _compose_line(self, y: int, x: int, width: int) -> Strip:
        """Content line `y` cropped to columns x .. x + width."""
        if y < HEADER_LINES or self.values is None:
            return self._piece(y, None).crop(x, x + width)
        left = self._label_width() + (1 if self.heatmap else 0)
        span = CHUNK * self._cell_width()
        first = max(0, (x - left) // span)
        last = min((self._columns - 1) // CHUNK, (x + width - 1 - left) // span)
        pieces = [self._piece(y, chunk) for chunk in range(first, last + 1)]
        start = left + first * span
        if x < left:
            pieces.insert(0, self._piece(y, None))
            start = 0
        return Strip.join(pieces).crop(x - start, x - start + width)

    def _piece(self, y: int, chunk: int | None) -> Strip:
        strip = self._pieces.get((y, chunk))
        if strip is None:
            strip = self._pieces[y, chunk] = self._build_piece(y, chunk)
        return strip

    def _title_line(self) -> Strip:
        """The title, the shape, the note and the scale, e.g. "a^(1)  2x4  example 3  scale 0.9"."""
        segments = [Segment(self.matrix_title, _BOLD)]
        segments.extend(Segment(f"  {part}") for part in (self._shape_text, self.note) if part)
        if self.values is not None:
            segments.append(Segment(f"  scale {self.scale:.3g}", _DIM))
        return Strip(segments)

    def _build_piece(self, y: int, chunk: int | None) -> Strip:
        """Piece `chunk` of content line `y`; chunk None is a header line or a row label."""
        if y == 0:
            return self._title_line()
        if self.values is None or self._index is None:
            return Strip([Segment(self.placeholder, _DIM)]) if y == 1 else Strip([])
        if y == 1:
            return self._legend_line() if self.heatmap else self._column_indices()
        line = y - HEADER_LINES
        if not 0 <= line < self._body_lines():
            return Strip([])
        if chunk is None:
            row = 2 * line if self.heatmap else line
            label = f"{row:>{self._label_width()}}" + (" " if self.heatmap else "")
            return Strip([Segment(label, _DIM)])
        columns = range(chunk * CHUNK, min(self._columns, (chunk + 1) * CHUNK))
        if self.heatmap:
            return self._heatmap_piece(self._index, line, columns)
        return self._number_piece(self.values, self._index, line, columns)

    def _column_indices(self) -> Strip:
        text = " " * self._label_width() + "".join(
            f" {k:>{CELL_WIDTH}}" for k in range(self._columns)
        )
        return Strip([Segment(text, _DIM)], len(text))

    def _legend_line(self) -> Strip:
        return Strip(list(colors.legend().render(self.app.console)))

    def _number_piece(
        self, values: NDArray[np.float64], index: NDArray[np.intp], j: int, columns: range
    ) -> Strip:
        """Row j's numbers in `columns`, each after a one-column gap."""
        styles = colors.STYLES
        cut = slice(columns.start, columns.stop)
        row_values, row_indices = values[j, cut].tolist(), index[j, cut].tolist()
        segments: list[Segment] = []
        for k, value, i in zip(columns, row_values, row_indices, strict=True):
            style = styles[i]
            if self.selected == (j, k):
                style += _SELECTED
            segments.append(_GAP)
            segments.append(Segment(f"{format_value(value):>{CELL_WIDTH}}", style))
        return Strip(segments, len(columns) * (CELL_WIDTH + 1))

    def _heatmap_piece(self, index: NDArray[np.intp], line: int, columns: range) -> Strip:
        """Rows 2*line (upper half of each character) and 2*line + 1 (lower half)."""
        width = self._cell_width()
        block = "▀" * width
        cut = slice(columns.start, columns.stop)
        upper = index[2 * line, cut].tolist()
        lower: list[int | None] = [None] * len(upper)
        if 2 * line + 1 < self._rows:
            lower = list(index[2 * line + 1, cut].tolist())
        selected = self.selected
        segments: list[Segment] = []
        for k, up, low in zip(columns, upper, lower, strict=True):
            if selected is not None and selected[1] == k and selected[0] // 2 == line:
                marked = up if selected[0] % 2 == 0 or low is None else low
                segments.append(Segment("X" * width, colors.STYLES[marked] + _SELECTED))
            else:
                segments.append(Segment(block, colors.half_block_style(up, low)))
        return Strip(segments, len(columns) * width)
