"""MatrixView and the colour scale: what the lines say, and that big matrices stay cheap."""

from __future__ import annotations

import time

import numpy as np
import pytest
from rich.color import ColorSystem
from rich.style import Style
from textual.app import App, ComposeResult
from textual.strip import Strip

from bpdebug.tui import colors
from bpdebug.tui.widgets.matrix import HEADER_LINES, MatrixView, format_value


class MatrixApp(App[None]):
    """A screen holding one MatrixView and nothing else."""

    def compose(self) -> ComposeResult:
        yield MatrixView(id="matrix")


def lines(view: MatrixView) -> list[str]:
    """The text of every line currently on screen."""
    return [view.render_line(y).text for y in range(view.size.height)]


def bg(style: Style) -> object:
    return style.bgcolor


# --- colours ---------------------------------------------------------------


def test_signs_get_different_backgrounds_and_zero_is_neutral() -> None:
    negative, zero, positive = (colors.cell_style(v, 1.0) for v in (-1.0, 0.0, 1.0))
    assert bg(negative) != bg(positive)
    assert zero.bgcolor == colors.BACKGROUNDS[colors.STEPS]
    assert bg(zero) not in (bg(negative), bg(positive))


def test_intensity_grows_with_magnitude() -> None:
    faint, strong = colors.cell_style(0.1, 1.0), colors.cell_style(0.95, 1.0)
    assert bg(faint) != bg(strong)
    # Scale decides the intensity, not the raw value.
    assert colors.cell_style(0.1, 0.1) == colors.cell_style(1.0, 1.0)


def test_nan_and_inf_are_loud_and_distinct() -> None:
    scale_backgrounds = {bg(colors.cell_style(v, 1.0)) for v in np.linspace(-1, 1, 21)}
    nan, inf, neg_inf = (colors.cell_style(v, 1.0) for v in (np.nan, np.inf, -np.inf))
    assert nan.bold and inf.bold
    assert bg(nan) not in scale_backgrounds
    assert bg(inf) not in scale_backgrounds
    assert bg(nan) != bg(inf) == bg(neg_inf)


@pytest.mark.parametrize("system", [ColorSystem.STANDARD, ColorSystem.EIGHT_BIT])
def test_sign_survives_downgrade(system: ColorSystem) -> None:
    """In 16 and 256 colours no negative step looks like a positive one or zero."""

    def downgraded(v: float) -> int | None:
        color = colors.cell_style(v, 1.0).bgcolor
        assert color is not None
        return color.downgrade(system).number

    negatives = {downgraded(-m) for m in np.linspace(0.05, 1, 20)}
    positives = {downgraded(m) for m in np.linspace(0.05, 1, 20)}
    specials = {downgraded(v) for v in (0.0, np.nan, np.inf)}
    assert downgraded(-1.0) != downgraded(1.0)
    assert not negatives & positives
    assert not (negatives | positives) & specials
    assert len(specials) == 3


def test_legend_mentions_both_ends() -> None:
    text = colors.legend().plain
    assert "-max" in text and "+max" in text and "NaN" in text


def test_format_value_stays_readable() -> None:
    assert format_value(0.25) == "+0.250"
    assert format_value(-1.5) == "-1.500"
    assert format_value(0.0) == "0"
    assert format_value(1234.5) == "+1.2e3"
    assert format_value(-0.0000123) == "-1.2e-5"
    assert format_value(999.9999) == "+1.0e3"  # not "+1000.0"
    assert format_value(9.9996) == "+10.00"  # not "+10.000"
    assert format_value(-4.5e-12) == "-4e-12"
    assert all(len(format_value(v)) <= 7 for v in (1e-300, -2e200, 123.45, -99.996, 0.0009))
    assert format_value(0.001) == "+0.001"
    assert (format_value(np.nan), format_value(np.inf), format_value(-np.inf)) == (
        "NaN",
        "inf",
        "-inf",
    )


# --- widget ----------------------------------------------------------------


async def test_numbers_title_and_shape() -> None:
    app = MatrixApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(MatrixView)
        values = np.array([[0.731, -0.192, 0.0, 2.5], [-1.0, 0.5, 1e-5, 1234.0]])
        view.show("a^(1)", values, note="example 3")
        await pilot.pause()
        text = lines(view)
        assert text[0].startswith("a^(1)  2x4  example 3")
        assert "scale 1.23e+03" in text[0]
        assert "+0.731" in text[HEADER_LINES] and "-0.192" in text[HEADER_LINES]
        assert "+1.0e-5" in text[HEADER_LINES + 1]
        assert view.virtual_size.height == HEADER_LINES + 2
        assert view.virtual_size.width == max(1 + 4 * 8, len(text[0].rstrip()))


async def test_vector_is_a_column_and_selected_cell_is_reversed() -> None:
    app = MatrixApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(MatrixView)
        view.show("dC/db^(2)", np.array([0.1, -0.2, 0.3]), selected=(1, 0))
        await pilot.pause()
        text = lines(view)
        assert text[0].startswith("dC/db^(2)  3")
        assert "-0.200" in text[HEADER_LINES + 1]
        assert view.virtual_size.height == HEADER_LINES + 3
        styles = [s.style for s in view.render_line(HEADER_LINES + 1) if "-0.200" in s.text]
        assert styles and styles[0] is not None and styles[0].reverse


async def test_placeholder_when_no_values() -> None:
    app = MatrixApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(MatrixView)
        view.show("delta^(2)", None, placeholder="not yet computed: run the backward pass (s)")
        await pilot.pause()
        text = lines(view)
        assert text[0].startswith("delta^(2)")
        assert "not yet computed: run the backward pass (s)" in text[1]
        dim = [s.style for s in view.render_line(1) if s.text.startswith("not yet")]
        assert dim and dim[0] is not None and dim[0].dim


async def test_nan_and_inf_are_printed() -> None:
    app = MatrixApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(MatrixView)
        view.show("z^(2)", np.array([[np.nan, np.inf, -np.inf, 1.0]]))
        await pilot.pause()
        row = lines(view)[HEADER_LINES]
        assert "NaN" in row and " inf" in row and "-inf" in row and "+1.000" in row
        assert "scale 1" in lines(view)[0]  # infinities do not set the scale


async def test_heatmap_halves_the_lines() -> None:
    app = MatrixApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(MatrixView)
        values = np.linspace(-1, 1, 7 * 5).reshape(7, 5)
        view.show("W^(1)", values)
        await pilot.pause()
        assert view.virtual_size.height == HEADER_LINES + 7
        view.show("W^(1)", values, heatmap=True)
        await pilot.pause()
        assert view.virtual_size.height == HEADER_LINES + 4
        text = lines(view)
        assert "▀" in text[HEADER_LINES]
        assert "+1.000" not in "".join(text)
        assert "-max" in text[1]  # the legend replaces the column indices


async def test_big_matrix_renders_only_visible_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """wide.toml's W^(1) is 128x784: show() and a frame must stay cheap."""
    app = MatrixApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(MatrixView)
        values = np.random.default_rng(0).standard_normal((128, 784))
        built: list[tuple[int, int | None]] = []
        original = view._build_piece

        def counting(y: int, chunk: int | None) -> Strip:
            built.append((y, chunk))
            return original(y, chunk)

        monkeypatch.setattr(view, "_build_piece", counting)

        for heatmap in (False, True):
            view.scroll_to(x=0, y=0, animate=False, immediate=True)
            built.clear()
            start = time.perf_counter()
            view.show("W^(1)", values, heatmap=heatmap)
            shown = time.perf_counter() - start
            start = time.perf_counter()
            await pilot.pause()
            painted = time.perf_counter() - start
            height = view.size.height
            assert {y for y, _ in built} == set(range(height))
            # Each visible line builds its label and the few chunks under 80 columns.
            assert len(built) <= height * 5
            expected_lines = 128 // 2 if heatmap else 128
            assert view.virtual_size.height == HEADER_LINES + expected_lines
            assert view.virtual_size.width >= 784 * (1 if heatmap else 8)

            built.clear()
            start = time.perf_counter()
            view.scroll_to(x=500, y=40, animate=False, immediate=True)
            await pilot.pause()
            scrolled = time.perf_counter() - start
            assert view.scroll_offset == (500, 40)
            assert {y for y, _ in built} <= set(range(40, 40 + height)) | {0, 1}
            assert 0 < len(built) <= height * 5

            built.clear()
            view.refresh()
            await pilot.pause()
            assert built == []  # a repaint with nothing new builds nothing
            print(
                f"\n128x784 heatmap={heatmap}: show {shown * 1000:.1f} ms, "
                f"first paint {painted * 1000:.1f} ms, scroll+paint {scrolled * 1000:.1f} ms"
            )
            assert shown < 1.0 and painted < 1.0 and scrolled < 1.0


async def test_selected_cell_scrolls_into_view() -> None:
    app = MatrixApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(MatrixView)
        values = np.zeros((128, 784))
        view.show("W^(1)", values, selected=(100, 700))
        await pilot.pause()
        assert view.scroll_offset.y > 0 and view.scroll_offset.x > 0
        assert view.window_region.contains_region(view.cell_region(100, 700))


async def test_it_never_takes_focus_and_keeps_the_selected_cell_in_view() -> None:
    """The arrow keys belong to the screen (they select j and k): the view cannot be
    focused, and showing a selected cell far down and right scrolls it into view."""
    app = MatrixApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(MatrixView)
        view.focus()
        assert not view.has_focus and not view.can_focus
        view.show("W^(1)", np.ones((60, 30)), selected=(50, 25))
        await pilot.pause()
        region = view.cell_region(50, 25)
        x, y = view.scroll_offset
        width, height = view.scrollable_content_region.size
        assert x <= region.x and region.right <= x + width
        assert y <= region.y and region.bottom <= y + height
        assert x > 0 and y > 0
