"""A pane of rich text, wrapped to its width and scrolled by whole lines.

The chain-rule pane changes with every key; as a Static of fixed height it
would either hide its last lines without a scrollbar or re-lay out the whole
screen each time. This pane wraps the text itself (words stay whole where
they fit), sets its own virtual height, and so shows a scrollbar when the
text is longer than the pane, at no cost to the rest of the screen.
"""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class TextPane(ScrollView, can_focus=False):
    """Rich text wrapped to the pane's width; the mouse wheel scrolls it."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = Text()
        """What the pane shows."""
        self._lines: list[Strip] = []
        self._width = -1

    @property
    def plain(self) -> str:
        """The text without styles."""
        return self.text.plain

    @property
    def room(self) -> int:
        """Columns the lines may take: the width without the vertical scrollbar."""
        return self.scrollable_content_region.width or self.size.width

    def show(self, text: Text) -> None:
        """Replace the text (the scroll position stays where it was, within the new length)."""
        self.text = text
        self._wrap()
        self.refresh()

    def on_resize(self) -> None:
        if self.room != self._width:
            self._wrap()
            self.refresh()

    def _wrap(self) -> None:
        self._width = self.room
        if self._width <= 0:
            self._lines = []
            return
        console = self.app.console
        options = console.options.update(width=self._width, highlight=False)
        self._lines = [Strip(line) for line in console.render_lines(self.text, options, pad=False)]
        self.virtual_size = Size(self._width, len(self._lines))

    def render_line(self, y: int) -> Strip:
        """Line `y` of the pane at the scroll offset."""
        index = self.scroll_offset.y + y
        line = self._lines[index] if index < len(self._lines) else Strip([])
        return line.crop_extend(0, self.room, None).apply_style(self.visual_style.rich_style)
