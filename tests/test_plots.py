"""The cost plot and the decision boundary: what they hand plotext and what they paint."""

from __future__ import annotations

import time
from typing import Any, cast

import numpy as np
import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widget import Widget

from bpdebug.tui.widgets.boundary import (
    CLASS0_SHADES,
    CLASS1_SHADES,
    HALF_BLOCK,
    POINT_GLYPHS,
    DecisionBoundary,
    boundary_grid,
    data_extent,
)
from bpdebug.tui.widgets.costplot import CostPlot, downsample, step_ticks

SIZE = (80, 24)


class Holder(App[None]):
    """A screen holding one widget, filling it."""

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


def monitor(plot: CostPlot) -> Any:
    """Plotext's record of what the plot was given (one signal per plot/scatter call)."""
    return cast(Any, plot.plt).monitor


def plain(plot: CostPlot) -> str:
    """The plot as the terminal would show it, without colours."""
    text = plot.render()
    assert isinstance(text, Text)
    return text.plain


# -- cost plot ---------------------------------------------------------------


async def test_costs_are_handed_to_plotext_and_current_step_marked() -> None:
    """Ten costs go to plotext unchanged; step 4 gets a vertical line and a point."""
    costs = np.linspace(1.0, 0.1, 10)
    plot = CostPlot()
    async with Holder(plot).run_test(size=SIZE) as pilot:
        plot.show(costs, 4)
        await pilot.pause()
        np.testing.assert_array_equal(plot.drawn_x, np.arange(10))
        np.testing.assert_allclose(plot.drawn_y, costs)
        data = monitor(plot)
        np.testing.assert_allclose(data.y[0], costs)
        assert plot.drawn_current == 4
        assert 4 in data.vcoord[0]
        assert list(data.x[1]) == [4]
        assert list(data.y[1]) == pytest.approx([costs[4]])
        text = plain(plot)
        assert "cost C" in text
        assert "step" in text


async def test_rewind_moves_the_marker() -> None:
    """After a rewind the marker is at the new step and the later history is still drawn."""
    costs = np.linspace(1.0, 0.1, 10)
    plot = CostPlot()
    async with Holder(plot).run_test(size=SIZE) as pilot:
        plot.show(costs, 9)
        plot.show(costs, 2)
        await pilot.pause()
        assert monitor(plot).vcoord[0] == [2]
        assert plot.drawn_x.max() == 9


async def test_log_mode_plots_log10() -> None:
    """log=True plots log10 C and says so; C <= 0 is left out instead of crashing."""
    costs = np.array([10.0, 1.0, 0.1, 0.0, -1.0, 0.01])
    plot = CostPlot()
    async with Holder(plot).run_test(size=SIZE) as pilot:
        plot.show(costs, 5, log=True)
        await pilot.pause()
        np.testing.assert_array_equal(plot.drawn_x, [0, 1, 2, 5])
        np.testing.assert_allclose(plot.drawn_y, [1.0, 0.0, -1.0, -2.0])
        assert "log10 C" in plain(plot)
        plot.show(costs, 5)
        np.testing.assert_allclose(plot.drawn_y, costs)


async def test_a_million_steps_are_downsampled_keeping_extremes() -> None:
    """1,000,000 costs: at most 2 points per column, the spike and the minimum included."""
    rng = np.random.default_rng(0)
    costs = np.exp(-np.arange(1_000_000) / 2e5) + 0.01 * rng.random(1_000_000)
    costs[123_457] = 50.0  # a spike one step wide
    costs[987_654] = -0.5  # the global minimum
    plot = CostPlot()
    async with Holder(plot).run_test(size=SIZE) as pilot:
        width = plot.content_size.width
        start = time.perf_counter()
        plot.show(costs, 500_000)
        elapsed = time.perf_counter() - start
        await pilot.pause()
        assert 0 < plot.drawn_x.size <= 2 * width
        assert plot.drawn_y.max() == costs.max()
        assert plot.drawn_y.min() == costs.min()
        assert 123_457 in plot.drawn_x
        assert np.all(np.diff(plot.drawn_x) > 0)
        assert elapsed < 0.25  # generous: about 2 ms on a laptop
        plot.render()


def test_downsample_matches_brute_force() -> None:
    """Random histories with NaN: every bucket's finite extremes, in step order, nothing else."""
    rng = np.random.default_rng(1)
    for _ in range(100):
        n, width = int(rng.integers(1, 400)), int(rng.integers(1, 30))
        costs = rng.random(n)
        costs[rng.random(n) < 0.2] = np.nan
        costs[rng.random(n) < 0.05] = np.inf
        x, y = downsample(costs, width)
        finite = np.isfinite(costs)
        assert len(x) <= 2 * width
        np.testing.assert_array_equal(costs[x], y)
        assert np.isfinite(y).all()
        if finite.any():
            assert y.max() == costs[finite].max()
            assert y.min() == costs[finite].min()


async def test_nan_costs_are_skipped() -> None:
    """Unknown (NaN) and infinite costs are not drawn; a non-finite last cost is named."""
    costs = np.array([1.0, np.nan, 0.5, np.inf, 0.25, np.nan])
    plot = CostPlot()
    async with Holder(plot).run_test(size=SIZE) as pilot:
        plot.show(costs, 2)
        await pilot.pause()
        np.testing.assert_array_equal(plot.drawn_x, [0, 2, 4])
        np.testing.assert_allclose(monitor(plot).y[0], [1.0, 0.5, 0.25])
        assert "cost C (last NaN)" in plain(plot)
        plot.show(costs[:4], 3)
        await pilot.pause()
        assert "cost C (last inf)" in plain(plot)


async def test_all_nan_history_shows_a_hint() -> None:
    """No finite cost yet: an empty plot with a hint, in linear and log mode."""
    plot = CostPlot()
    async with Holder(plot).run_test(size=SIZE) as pilot:
        plot.show(np.full(5, np.nan), 0)
        await pilot.pause()
        assert plot.drawn_x.size == 0
        assert "no finite cost yet" in plain(plot)
        plot.show(np.zeros(3), 1, log=True)
        await pilot.pause()
        assert "no positive cost yet" in plain(plot)
        plot.show(np.empty(0), 0)
        await pilot.pause()
        plot.render()


async def test_huge_costs_are_clipped_not_lost() -> None:
    """Costs near the float limit: plotext still draws axes, clipped in linear, whole in log."""
    costs = np.array([1.0, 1e300, 1.7e308, 0.5])
    plot = CostPlot()
    async with Holder(plot).run_test(size=SIZE) as pilot:
        plot.show(costs, 2)
        await pilot.pause()
        text = plain(plot)
        assert "cost C (clipped)" in text
        assert "┤" in text
        plot.show(costs, 2, log=True)
        await pilot.pause()
        assert plot.drawn_y.max() == pytest.approx(np.log10(1.7e308))
        assert "┤" in plain(plot)


def test_step_ticks_are_round() -> None:
    """X ticks fall on round steps and there are always at least two."""
    assert step_ticks(999_999, 6) == [0, 200_000, 400_000, 600_000, 800_000]
    assert step_ticks(9, 6) == [0, 2, 4, 6, 8]
    assert step_ticks(37, 2) == [0, 37]


# -- decision boundary ---------------------------------------------------------

EXTENT = (-1.0, 1.0, -1.0, 1.0)


def test_boundary_grid_columns_follow_x() -> None:
    """A network that says class 1 where x > 0 lights the right half of the grid."""
    grid = boundary_grid(lambda X: (X[0:1] > 0).astype(float), EXTENT, 6, 8)
    assert grid.shape == (6, 8)
    assert (grid[:, 4:] == 1).all()
    assert (grid[:, :4] == 0).all()


def test_boundary_grid_row_zero_is_the_top() -> None:
    """A network that says class 1 where y > 0 lights the top rows (row 0 is y max)."""
    grid = boundary_grid(lambda X: (X[1:2] > 0).astype(float), EXTENT, 6, 8)
    assert (grid[:3] == 1).all()
    assert (grid[3:] == 0).all()


def test_boundary_grid_uses_unit_one_of_several_outputs() -> None:
    """With two output units the second (probability of class 1) is the one shown."""

    def softmax_like(X: np.ndarray) -> np.ndarray:
        p = (X[0] > 0).astype(float)
        return np.stack([1 - p, p])

    grid = boundary_grid(softmax_like, EXTENT, 2, 4)
    np.testing.assert_array_equal(grid, [[0, 0, 1, 1], [0, 0, 1, 1]])


def test_boundary_grid_evaluates_cell_centres() -> None:
    """Forward sees X (2, rows*cols) of cell centres, in row-major screen order."""
    seen: list[np.ndarray] = []

    def record(X: np.ndarray) -> np.ndarray:
        seen.append(X)
        return np.zeros((1, X.shape[1]))

    boundary_grid(record, (0.0, 4.0, 0.0, 2.0), 2, 4)
    np.testing.assert_allclose(seen[0][0], [0.5, 1.5, 2.5, 3.5] * 2)
    np.testing.assert_allclose(seen[0][1], [1.5] * 4 + [0.5] * 4)


def test_data_extent_pads_the_range() -> None:
    """The data's range widened by pad of the span; a flat axis still gets room."""
    inputs = np.array([[0.0, 1.0, 2.0], [5.0, 5.0, 5.0]])
    assert data_extent(inputs) == pytest.approx((-0.2, 2.2, 4.9, 5.1))
    assert data_extent(np.empty((2, 0))) == (-1.0, 1.0, -1.0, 1.0)


async def test_boundary_paints_half_blocks_and_points() -> None:
    """Top half class 1, bottom class 0, two points on the cells their coordinates name."""
    boundary = DecisionBoundary()
    async with Holder(boundary).run_test(size=SIZE) as pilot:
        rows, cols = boundary.grid_shape()
        assert (rows, cols) == (2 * SIZE[1], SIZE[0])
        grid = boundary_grid(lambda X: (X[1:2] > 0).astype(float), EXTENT, rows, cols)
        # Data coordinates chosen to land in cell (line 2, column 10) and (line 20, column 70).
        points = np.array([[-1 + 10.5 / 40, 1 - 4.5 / 24], [-1 + 70.5 / 40, 1 - 40.5 / 24]])
        boundary.show(grid, points, np.array([0, 1]), EXTENT)
        await pilot.pause()

        line = boundary.render_line(2)
        assert len(line.text) == cols
        assert line.text[10] == POINT_GLYPHS[0]
        assert line.text.count(HALF_BLOCK) == cols - 1
        assert boundary.render_line(20).text[70] == POINT_GLYPHS[1]

        # Line 0 is all class 1 (sure): upper and lower halves the strongest orange.
        first = next(iter(boundary.render_line(0)))
        assert first.text.startswith(HALF_BLOCK)
        assert first.style is not None
        assert first.style.color is not None and first.style.bgcolor is not None
        assert first.style.color.name == CLASS1_SHADES[-1]
        assert first.style.bgcolor.name == CLASS1_SHADES[-1]
        last = next(iter(boundary.render_line(rows // 2 - 1)))
        assert last.style is not None and last.style.color is not None
        assert last.style.color.name == CLASS0_SHADES[-1]


async def test_boundary_splits_a_line_between_two_rows() -> None:
    """A boundary between grid rows 0 and 1 shows in one line: orange in front, blue behind."""
    boundary = DecisionBoundary()
    async with Holder(boundary).run_test(size=(10, 4)) as pilot:
        grid = np.zeros((8, 10))
        grid[0] = 1.0
        boundary.show(grid, np.empty((0, 2)), np.empty(0), EXTENT)
        await pilot.pause()
        segment = next(iter(boundary.render_line(0)))
        assert segment.style is not None
        assert segment.style.color is not None and segment.style.bgcolor is not None
        assert segment.style.color.name == CLASS1_SHADES[-1]
        assert segment.style.bgcolor.name == CLASS0_SHADES[-1]


async def test_boundary_stretches_a_grid_of_another_size() -> None:
    """A coarse grid (or one computed before a resize) still fills the widget, same halves."""
    boundary = DecisionBoundary()
    async with Holder(boundary).run_test(size=(20, 6)) as pilot:
        grid = np.array([[1.0, 1.0], [0.0, 0.0]])  # top half class 1
        boundary.show(grid, np.array([[0.5, -0.5]]), np.array([0]), EXTENT)
        await pilot.pause()
        assert len(boundary.render_line(5).text) == 20
        top = next(iter(boundary.render_line(0)))
        bottom = next(iter(boundary.render_line(5)))
        assert top.style is not None and top.style.color is not None
        assert bottom.style is not None and bottom.style.color is not None
        assert top.style.color.name == CLASS1_SHADES[-1]
        assert bottom.style.color.name == CLASS0_SHADES[-1]
        # (0.5, -0.5) is three quarters across and three quarters down.
        assert boundary.render_line(4).text[15] == POINT_GLYPHS[0]

        await pilot.resize_terminal(40, 10)
        await pilot.pause()
        assert boundary.grid_shape() == (20, 40)
        assert len(boundary.render_line(9).text) == 40
        assert boundary.render_line(7).text[30] == POINT_GLYPHS[0]


async def test_boundary_renders_in_an_app() -> None:
    """At 80x24 the widget paints the whole screen, NaN outputs and outside points included."""
    boundary = DecisionBoundary()
    async with Holder(boundary).run_test(size=SIZE) as pilot:
        screen = pilot.app.export_screenshot()  # before any show(): blank, no error
        rows, cols = boundary.grid_shape()
        rng = np.random.default_rng(0)
        inputs = rng.normal(size=(2, 50))
        extent = data_extent(inputs)
        grid = boundary_grid(lambda X: 1 / (1 + np.exp(-X[0:1] * X[1:2])), extent, rows, cols)
        grid[0, 0] = np.nan
        points = np.vstack([inputs.T, [[100.0, 100.0]]])
        labels = np.append((inputs[0] * inputs[1] > 0).astype(int), 1)
        boundary.show(grid, points, labels, extent)
        await pilot.pause()
        screen = pilot.app.export_screenshot()
        assert HALF_BLOCK in screen
        assert POINT_GLYPHS[0] in screen
        assert POINT_GLYPHS[1] in screen
