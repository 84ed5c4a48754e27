"""Matrix blocks, the equation pane and the colour scale: numbers never cut, windows, heatmaps."""

from __future__ import annotations

import numpy as np
import pytest
from rich.color import ColorSystem
from rich.style import Style
from textual.app import App, ComposeResult
from textual.strip import Strip

from bpdebug.summary import summarize
from bpdebug.tui import colors
from bpdebug.tui.widgets.equation import BlockSpec, EquationView, Layout, Section, lay_out
from bpdebug.tui.widgets.matrix import MAX_ROWS, matrix_format, render_block


class EquationApp(App[None]):
    """A screen holding one EquationView and nothing else."""

    def compose(self) -> ComposeResult:
        yield EquationView(id="equation")


def texts(block_lines: list[Strip]) -> list[str]:
    return [line.text for line in block_lines]


def cell_style(value: float, scale: float) -> Style:
    """The style the blocks draw a cell holding `value` with, when the matrix's max |v| is
    `scale`."""
    return colors.STYLES[int(colors.palette_index(value, scale))]


def stands_for(text: str, value: float) -> bool:
    """Whether `text` is `value` written at the precision `text` shows."""
    if text in ("NaN", "inf", "-inf"):
        return str(value) in ("nan", "inf", "-inf") and text.lower() == str(value)
    shown = float(text)
    if "e" in text:
        mantissa, exponent = text.split("e")
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        half = 0.5 * 10.0 ** (int(exponent) - decimals)
    else:
        decimals = len(text.split(".")[1]) if "." in text else 0
        half = 0.5 * 10.0**-decimals if text != "0" else 0.0
    return abs(shown - value) <= half * (1 + 1e-9)


def bg(style: Style) -> object:
    return style.bgcolor


# --- colours ---------------------------------------------------------------


def test_signs_get_different_backgrounds_and_zero_is_neutral() -> None:
    negative, zero, positive = (cell_style(v, 1.0) for v in (-1.0, 0.0, 1.0))
    assert bg(negative) != bg(positive)
    assert zero.bgcolor == colors.BACKGROUNDS[colors.STEPS]
    assert bg(zero) not in (bg(negative), bg(positive))


def test_intensity_grows_with_magnitude() -> None:
    faint, strong = cell_style(0.1, 1.0), cell_style(0.95, 1.0)
    assert bg(faint) != bg(strong)
    # Scale decides the intensity, not the raw value.
    assert cell_style(0.1, 0.1) == cell_style(1.0, 1.0)


def test_nan_and_inf_are_loud_and_distinct() -> None:
    scale_backgrounds = {bg(cell_style(v, 1.0)) for v in np.linspace(-1, 1, 21)}
    nan, inf, neg_inf = (cell_style(v, 1.0) for v in (np.nan, np.inf, -np.inf))
    assert nan.bold and inf.bold
    assert bg(nan) not in scale_backgrounds
    assert bg(inf) not in scale_backgrounds
    assert bg(nan) != bg(inf) == bg(neg_inf)


@pytest.mark.parametrize("system", [ColorSystem.STANDARD, ColorSystem.EIGHT_BIT])
def test_sign_survives_downgrade(system: ColorSystem) -> None:
    """In 16 and 256 colours no negative step looks like a positive one or zero."""

    def downgraded(v: float) -> int | None:
        color = cell_style(v, 1.0).bgcolor
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
    assert colors.legend(0.25).plain.startswith("-0.25 ")


# --- one format per matrix ----------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.5, -0.5, 0.00618], ["0.50000", "-0.50000", "0.00618"]),
        ([0.1, 0.3], ["0.100", "0.300"]),
        ([12.34, -0.5], ["12.340", "-0.500"]),
        ([1234.5, 2.0], ["1234.50", "2.00"]),
        ([1e-9, 0.5], ["1.00e-09", "5.00e-01"]),
        ([8e128, -0.139], ["8.00e+128", "-1.39e-01"]),
        ([0.0, 0.25], ["0", "0.250"]),
        ([np.nan, np.inf, -np.inf, 1.0], ["NaN", "inf", "-inf", "1.00"]),
    ],
)
def test_one_format_per_matrix_with_3_significant_digits(values, expected) -> None:
    """Fixed point with 3 significant digits of the smallest |v|, or scientific when too wide."""
    array = np.array([values])
    fmt = matrix_format(array)
    written = [fmt.text(v) for v in values]
    assert written == expected
    assert fmt.width == max(len(w) for w in written)
    assert all(stands_for(w, v) for w, v in zip(written, values, strict=True) if w != "0")


def test_exact_zero_reads_0_and_no_nonzero_value_rounds_to_zero() -> None:
    values = np.array([[0.0, 1e-4, 0.3, -2.5]])
    fmt = matrix_format(values)
    assert fmt.text(0.0) == "0"
    assert all(float(fmt.text(v)) != 0 for v in values[0, 1:])


def test_summary_names_shape_range_moments_zeros_and_blowups() -> None:
    values = np.array([[0.0, 1.0], [np.nan, np.inf]])
    fields = summarize(values, values.shape).fields
    assert fields[0] == "2x2"
    assert "[0, 1]" in fields
    assert "zeros 1" in fields and "NaN 1!" in fields and "inf 1!" in fields


# --- blocks: windows, outline, heatmaps -------------------------------------------


def test_block_shows_title_indices_rows_and_outlines_the_selected_cell() -> None:
    values = np.array([[0.5, -0.5], [0.25, 0.125]])
    block = render_block("W^(1)", values, 60, selected=(1, 0), marked=True)
    lines = texts(block.lines)
    assert lines[0].startswith("▶ W^(1)")
    assert lines[1].split() == ["0", "1"]
    assert "[ 0.250]" in lines[3]  # right-aligned to "-0.500"
    assert lines[3].startswith("1[")  # the row label, then the outline
    assert [c.value for c in block.cells] == [0.5, -0.5, 0.25, 0.125]


def test_a_wide_matrix_shows_a_window_around_the_selection_and_says_what_is_hidden() -> None:
    values = np.arange(40 * 64, dtype=float).reshape(40, 64) / 7
    block = render_block("W", values, 50, selected=(30, 60))
    lines = texts(block.lines)
    assert all(len(line) <= 50 for line in lines)
    shown_cols = sorted({c.x for c in block.cells})
    assert len(shown_cols) < 64
    assert any(c.value == values[30, 60] for c in block.cells)
    assert len({c.line for c in block.cells}) == MAX_ROWS
    hidden = " ".join(lines)
    assert "more →" not in hidden or "… " in hidden
    assert "← " in hidden and "↑ " in hidden and "↓ " in hidden
    for cell in block.cells:  # every number whole, standing for its value
        row = lines[cell.line]
        assert row[cell.x : cell.x + len(cell.text)] == cell.text
        assert cell.x + len(cell.text) <= 50
        assert stands_for(cell.text, cell.value)


def test_a_big_matrix_heatmap_fills_its_room_and_marks_the_selected_cell() -> None:
    values = np.random.default_rng(0).normal(size=(128, 784))
    block = render_block("W^(1)", values, 70, selected=(5, 300), heatmap=True)
    lines = texts(block.lines)
    assert all(len(line) <= 70 for line in lines)
    assert sum("◆" in line for line in lines) == 1
    assert "783" in lines[1]
    small = render_block("b", np.array([[1.0, -1.0, 0.5, 0.0]]), 60, heatmap=True)
    row = small.lines[2]
    assert row.cell_length > 4 * 4  # a 1x4 matrix gets wide cells, not 4 characters


def test_heatmap_bins_keep_a_single_nan() -> None:
    values = np.zeros((200, 500))
    values[123, 321] = np.nan
    block = render_block("z", values, 40, heatmap=True)
    nan_background = colors.BACKGROUNDS[colors.NAN_INDEX]
    styles = [seg.style for line in block.lines for seg in line if seg.style is not None]
    assert any(nan_background in (style.color, style.bgcolor) for style in styles), (
        "a NaN must survive binning"
    )


# --- the pane ---------------------------------------------------------------------


def test_blocks_flow_side_by_side_and_stack_when_they_do_not_fit() -> None:
    small = np.array([[0.1, 0.2], [0.3, 0.4]])
    blocks = tuple(BlockSpec(f"m{i}", f"M{i}", small) for i in range(3))
    wide = lay_out([Section("y = f(x)", blocks)], 120)
    narrow = lay_out([Section("y = f(x)", blocks)], 30)

    def title_rows(layout: Layout) -> list[int]:
        return [i for i, line in enumerate(layout.lines) if {"M0", "M2"} & set(line.text.split())]

    assert len(title_rows(wide)) == 1  # all three titles on one line
    assert len(title_rows(narrow)) == 2  # stacked
    assert all(line.cell_length <= 30 for line in narrow.lines)


async def test_the_pane_scrolls_to_the_marked_block() -> None:
    app = EquationApp()
    values = np.arange(20.0).reshape(5, 4)
    blocks = tuple(BlockSpec(f"m{i}", f"M{i}", values, marked=i == 5) for i in range(6))
    async with app.run_test(size=(40, 12)) as pilot:
        view = app.query_one(EquationView)
        view.show([Section("many", blocks)])
        await pilot.pause()
        assert view.layout_.marked is not None
        assert view.scroll_offset.y > 0
        seen = [view.render_line(y).text for y in range(view.size.height)]
        assert any("M5" in line for line in seen)


def test_a_relu_layers_a_counts_its_dead_units() -> None:
    """With `units`, the summary counts the rows that are 0 for every example (dead units)."""
    values = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    assert "dead 2/3" in summarize(values, values.shape, units=True).fields
    assert not any(f.startswith("dead") for f in summarize(values, values.shape).fields)
