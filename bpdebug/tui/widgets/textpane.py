"""Panes that make their own lines for their width and scroll them by whole lines.

The chain-rule pane, the health pane and the equations change with every
key. As Statics of fixed height they would either hide their last lines
without a scrollbar or re-lay out the whole screen each time. A `LinePane`
makes its lines itself (`lines_for`), sets its own virtual height, and so
shows a scrollbar when the lines are more than the pane, at no cost to the
rest of the screen.
"""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class LinePane(ScrollView, can_focus=False):
    """Lines made for the pane's width (`lines_for`), drawn at the scroll offset."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.lines: list[Strip] = []
        """The lines as made for the current width."""
        self._width = -1

    @property
    def room(self) -> int:
        """Columns the lines may take: the width without the vertical scrollbar."""
        return self.scrollable_content_region.width or self.size.width

    def lines_for(self, width: int) -> list[Strip]:
        """The pane's lines at `width` columns."""
        raise NotImplementedError

    def relayout(self) -> None:
        """Make the lines again for the current width, and draw them."""
        self._width = self.room
        self.lines = self.lines_for(self._width)
        self.virtual_size = Size(self._width, len(self.lines))
        self.refresh()

    def on_resize(self) -> None:
        if self.room != self._width:
            self.relayout()

    def render_line(self, y: int) -> Strip:
        """Line `y` of the pane at the scroll offset."""
        index = self.scroll_offset.y + y
        line = self.lines[index] if index < len(self.lines) else Strip([])
        return line.crop_extend(0, self.room, None).apply_style(self.visual_style.rich_style)


class TextPane(LinePane):
    """Rich text wrapped to the pane's width (words stay whole where they fit)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = Text()
        """What the pane shows."""

    @property
    def plain(self) -> str:
        """The text without styles."""
        return self.text.plain

    def show(self, text: Text) -> None:
        """Replace the text (the scroll position stays where it was, within the new length)."""
        self.text = text
        self.relayout()

    def lines_for(self, width: int) -> list[Strip]:
        if width <= 0:
            return []
        console = self.app.console
        options = console.options.update(width=width, highlight=False)
        return [Strip(line) for line in console.render_lines(self.text, options, pad=False)]
