"""No number on screen is cut: every bundled scenario, at 80x24, 120x36 and 160x50.

The screen is read back as the terminal would show it (the compositor's
lines). For every number a matrix block drew, the screen holds its whole
text at its place, the characters either side are not part of a number,
and the text stands for the value at the precision it shows. The title
and the status line fit the width, so nothing on them is cut either.
"""

from __future__ import annotations

import re

import pytest
from test_matrix_widget import stands_for
from tui_helpers import SCENARIOS, xor_app

from bpdebug.tui.widgets.equation import EquationView

SIZES = [(80, 24), (120, 36), (160, 50)]
BUNDLED = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
NUMBER_CHAR = re.compile(r"[0-9.eE+\-]")


def screen_lines(app) -> list[str]:  # type: ignore[no-untyped-def]
    """The screen's text, line by line, as the terminal shows it."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def check_numbers(app) -> int:  # type: ignore[no-untyped-def]
    """Assert every drawn matrix number is whole on screen; return how many were checked."""
    lines = screen_lines(app)
    width = app.size.width
    assert len(lines[0]) <= width and lines[0].strip(), "the title is drawn"
    checked = 0
    for view in app.screen.query(EquationView):
        region = view.scrollable_content_region  # the scrollbar may hide what is beyond
        if not region.area:
            continue  # on a hidden tab
        top = view.scroll_offset.y
        for cell in view.layout_.cells:
            y = cell.line - top
            if not 0 <= y < region.height:
                continue  # scrolled out of view: not on screen
            assert cell.x + len(cell.text) <= region.width, cell
            line = lines[region.y + y]
            x = region.x + cell.x
            assert line[x : x + len(cell.text)] == cell.text, (line, cell)
            before = line[x - 1] if x > 0 else " "
            after = line[x + len(cell.text)] if x + len(cell.text) < len(line) else " "
            assert not NUMBER_CHAR.match(before) and not NUMBER_CHAR.match(after), (line, cell)
            assert stands_for(cell.text, cell.value), cell
            checked += 1
    return checked


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", BUNDLED)
async def test_no_number_on_screen_is_cut(tmp_path, name: str, size: tuple[int, int]) -> None:
    """Through a whole step (every phase) and after training a little."""
    app = xor_app(tmp_path, SCENARIOS / f"{name}.toml")
    async with app.run_test(size=size) as pilot:
        d = app.debugger
        checked = 0
        for _ in range(len(d.phases)):
            await pilot.pause()
            checked += check_numbers(app)
            await pilot.press("s")  # the next phase
        await pilot.press("n", "n", "n")  # a few updates later, at the update phase
        await pilot.press("h")  # numbers everywhere, big matrices too
        await pilot.pause()
        checked += check_numbers(app)
        assert checked > 0
