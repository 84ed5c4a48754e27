"""The centre of the screen: the phase's equations, each followed by its operands as blocks.

Blocks flow left to right, each as wide as its numbers need, and start a
new row when the next one does not fit whole beside them; a block wider
than the pane shows a window around the selected cell (see
`matrix.render_block`).
The pane scrolls vertically by whole lines, so nothing is cut sideways.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

from bpdebug.tui.widgets.matrix import Block, Cell, matrix_format, natural_width, render_block
from bpdebug.tui.widgets.textpane import LinePane

GAP: Final = 3
"""Columns between two blocks side by side."""

_FORMULA = Style(bold=True)
_NOTE = Style(dim=True, italic=True)


@dataclass(frozen=True)
class BlockSpec:
    """One operand to draw: its title and values, and how."""

    key: str
    title: str
    values: NDArray[np.float64] | None
    placeholder: str = ""
    selected: tuple[int | None, int | None] = (None, None)
    heatmap: bool = False
    marked: bool = False
    """The selected pane (what `y` copies)."""
    note: str = ""
    units: bool = False
    """Rows are a relu layer's units: the summary counts the dead ones."""


@dataclass(frozen=True)
class Section:
    """An equation, a sentence under it, and its operands."""

    formula: str
    blocks: tuple[BlockSpec, ...]
    note: str = ""


@dataclass
class Layout:
    """The pane's lines for one width, with where each number and the marked block are."""

    lines: list[Strip] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    """Every number drawn, in pane coordinates (line, x)."""
    marked: Region | None = None
    """Where the marked block is."""
    marked_section: int = 0
    """The line where the marked block's equation starts."""
    marked_first: bool = False
    """The marked block is the first of its row, right under its equation."""


def lay_out(sections: list[Section], width: int) -> Layout:
    """The pane's lines at `width` columns: each section's formula, note and blocks."""
    width = max(width, 20)
    layout = Layout()
    for section in sections:
        if layout.lines:
            layout.lines.append(Strip([]))
        section_top = len(layout.lines)
        if any(spec.marked for spec in section.blocks):
            layout.marked_section = section_top
        for line in textwrap.wrap(section.formula, width) or [""]:
            layout.lines.append(Strip([Segment(line, _FORMULA)]))
        if section.note:
            for line in textwrap.wrap(section.note, width):
                layout.lines.append(Strip([Segment(line, _NOTE)]))
        row: list[tuple[BlockSpec, Block]] = []
        used = 0
        first = True
        for spec in section.blocks:
            shown = None if spec.heatmap else spec.values
            fmt = None if shown is None else matrix_format(shown)  # once, for width and block
            want = natural_width(spec.values, spec.title, spec.heatmap, spec.placeholder, fmt)
            room = width - used - (GAP if row else 0)
            if row and room < want:
                _flush(layout, row, first)
                row, used, room, first = [], 0, width, False
            block = render_block(
                spec.title,
                spec.values,
                min(want, room),
                placeholder=spec.placeholder,
                selected=spec.selected,
                heatmap=spec.heatmap,
                marked=spec.marked,
                note=spec.note,
                units=spec.units,
                fmt=fmt,
            )
            row.append((spec, block))
            used += (GAP if used else 0) + block.width
        if row:
            _flush(layout, row, first)
    return layout


def _flush(layout: Layout, row: list[tuple[BlockSpec, Block]], first: bool) -> None:
    """Put a row of blocks side by side under the lines so far (`first`: the section's first)."""
    top = len(layout.lines) + 1
    layout.lines.append(Strip([]))
    height = max(len(block.lines) for _, block in row)
    x = 0
    for spec, block in row:
        layout.cells += [Cell(top + c.line, x + c.x, c.text, c.value) for c in block.cells]
        if spec.marked:
            layout.marked = Region(x, top, block.width, len(block.lines))
            layout.marked_first = first and x == 0
        x += block.width + GAP
    for y in range(height):
        pieces: list[Strip] = []
        for i, (_, block) in enumerate(row):
            line = block.lines[y] if y < len(block.lines) else Strip([])
            pieces.append(line.crop_extend(0, block.width, None))
            if i < len(row) - 1:
                pieces.append(Strip([Segment(" " * GAP)]))
        layout.lines.append(Strip.join(pieces))


class EquationView(LinePane):
    """The phase's equations and operands; it scrolls to keep the marked block in view."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.sections: list[Section] = []
        self.layout_: Layout = Layout()
        """The lines as laid out at the current width, with where the numbers are."""

    def show(self, sections: list[Section]) -> None:
        """Replace what is drawn and keep the marked block in view."""
        self.sections = sections
        self.relayout()
        if self.size.area:  # laid out already: scroll now, in the same frame
            self._scroll_to_marked()
        if not self._marked_in_view():  # the new height is not laid out yet: after it is
            self.call_after_refresh(self._scroll_to_marked)

    def lines_for(self, width: int) -> list[Strip]:
        self.layout_ = lay_out(self.sections, width or 80)
        return self.layout_.lines

    def _wanted(self) -> Region | None:
        """What to keep in view: the marked block with its equation above it if both fit,
        else the block alone."""
        marked = self.layout_.marked
        if marked is None:
            return None
        top = self.layout_.marked_section
        if marked.bottom - top <= self.size.height or self.layout_.marked_first:
            # the equation above its first operand, even when the block does not fit whole
            height = min(marked.bottom - top, self.size.height)
            return Region(0, top, marked.right, height)
        return marked

    def _marked_in_view(self) -> bool:
        wanted = self._wanted()
        top, height = self.scroll_offset.y, self.size.height
        return (
            wanted is None
            or (top <= wanted.y and wanted.bottom <= top + height)
            or (wanted.height > height and wanted.y == top)
        )

    def _scroll_to_marked(self) -> None:
        wanted = self._wanted()
        if wanted is not None:
            self.scroll_to_region(wanted, animate=False, immediate=True, top=False)
