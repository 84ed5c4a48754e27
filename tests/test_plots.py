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
    POINT_BACKGROUND,
    POINT_GLYPHS,
    DecisionBoundary,
    boundary_grid,
    data_extent,
)
from bpdebug.tui.widgets.costplot import (
    CURRENT_MARK,
    EDIT_LINE,
    EDIT_MARK,
    HIT_MARK,
    CostPlot,
    downsample,
    log_ticks,
    nice_ticks,
    noisy,
    smooth,
    smoothing_window,
    step_ticks,
)

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
        assert "cost C (log scale)" in plain(plot)
        # Ticks sit at log10 C but are labelled with the costs themselves.
        values, labels = plot.drawn_ticks
        assert labels == ["0.01", "0.1", "1", "10"]
        np.testing.assert_allclose(values, [-2, -1, 0, 1])
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


def significant(label: str) -> int:
    """Significant digits of a tick label: 0.0250 -> 3, 1500 -> 2, 2.5e-5 -> 2."""
    mantissa = label.lstrip("-").split("e")[0]
    digits = mantissa.replace(".", "").lstrip("0")
    return len(digits if "." in mantissa else digits.rstrip("0")) or 1


def y_labels(plot: CostPlot) -> list[str]:
    """The y tick labels as the terminal shows them (text left of each "┤")."""
    return [line.split("┤")[0].strip() for line in plain(plot).splitlines() if "┤" in line]


@pytest.mark.parametrize(
    ("lo", "hi"),
    [
        (0.2501, 0.25057237912),  # two nearly equal costs
        (0.0149, 0.33),
        (0.999, 1.0005),
        (0.10012, 0.10019),  # a span below the 4th digit: the band widens
        (1.0, 1e15),
        (-0.5, 3e-5),
        (1e-6, 5e-5),
        (123_456.0, 123_789.0),
        (0.5, 0.5),
        (0.0, 0.0),
    ],
)
def test_nice_ticks_are_round_short_and_distinct(lo: float, hi: float) -> None:
    """At most 4 significant digits, all different, 1, 2, 2.5 or 5 x 10^k apart, in the range."""
    for count in (2, 3, 5, 6):
        values, labels, (bottom, top) = nice_ticks(lo, hi, count)
        assert len(labels) >= 2
        assert len(set(labels)) == len(labels)
        assert all(significant(label) <= 4 for label in labels), labels
        assert bottom <= lo and top >= hi
        assert bottom - 1e-12 <= values.min() and values.max() <= top + 1e-12
        step = float(np.diff(values)[0])
        np.testing.assert_allclose(np.diff(values), step)
        mantissa = step / 10 ** np.floor(np.log10(step))
        assert min(abs(mantissa - m) for m in (1, 2, 2.5, 5, 10)) < 1e-6
        for label, value in zip(labels, values, strict=True):
            assert float(label) == pytest.approx(value, rel=1e-3, abs=1e-300)


def test_log_ticks_are_labelled_in_costs() -> None:
    """On a log10 axis the labels are costs: decades, then 1-2-5, then round costs."""
    values, labels, _ = log_ticks(-3.2, 0.4, 5)
    assert labels == ["0.001", "0.01", "0.1", "1"]
    np.testing.assert_allclose(values, [-3, -2, -1, 0])
    assert log_ticks(-20, 15, 5)[1] == ["1e-20", "1e-10", "1", "1e10"]
    assert log_ticks(-1.3, -0.2, 5)[1] == ["0.1", "0.2", "0.5"]
    values, labels, (bottom, top) = log_ticks(-0.5, -0.35, 5)  # C from 0.32 to 0.45
    assert bottom <= -0.5 and top >= -0.35
    np.testing.assert_allclose(values, np.log10([float(label) for label in labels]))
    assert all(significant(label) <= 4 for label in labels)


async def test_plot_labels_are_short_in_linear_and_log() -> None:
    """The drawn y labels: two close costs get 4-digit labels, not 10; log mode shows costs."""
    plot = CostPlot()
    async with Holder(plot).run_test(size=(60, 14)) as pilot:
        plot.show(np.array([0.25057237912, 0.2501]), 1)
        await pilot.pause()
        labels = y_labels(plot)
        assert len(labels) >= 2 and len(set(labels)) == len(labels)
        assert all(significant(label) <= 4 for label in labels), labels
        assert plot.drawn_ticks[1] == labels[::-1]  # the terminal lists them top down

        costs = np.geomspace(5.0, 0.002, 300)
        plot.show(costs, 10, log=True)
        await pilot.pause()
        labels = y_labels(plot)
        assert set(labels) <= {"0.001", "0.01", "0.1", "1", "10"}, labels
        assert len(labels) >= 3


def test_smoothing_reduces_noise_and_follows_a_clean_curve() -> None:
    """The moving average is closer to the true curve than the noisy costs, and exact on a line."""
    rng = np.random.default_rng(2)
    n = 2_000
    steps = np.arange(n)
    truth = 0.25 * np.exp(-steps / 500) + 0.01
    noisy_costs = truth + 0.05 * (rng.random(n) - 0.5)
    x, y = smooth(noisy_costs, smoothing_window(n))
    assert 100 <= x.size <= n
    assert np.all(np.diff(x) > 0)
    raw_error = np.std(noisy_costs - truth)
    smooth_error = np.std(y - np.interp(x, steps, truth))
    assert smooth_error < raw_error / 4
    assert np.var(np.diff(y)) < np.var(np.diff(noisy_costs)) / 100

    line = 1.0 - steps / n  # a clean curve: the average of a line is the line
    x, y = smooth(line, smoothing_window(n))
    middle = (x > 100) & (x < n - 100)
    np.testing.assert_allclose(y[middle], np.interp(x[middle], steps, line), atol=1e-3)


def test_smoothing_skips_non_finite_costs() -> None:
    """NaN and inf are left out of each mean; a stretch with no finite cost has no point."""
    costs = np.linspace(1.0, 0.5, 400)
    costs[100:110] = np.nan
    costs[200] = np.inf
    costs[300:] = np.nan
    x, y = smooth(costs, 16)
    assert np.isfinite(y).all()
    assert x.max() < 300
    assert y.min() >= 0.5 and y.max() <= 1.0


def test_smoothing_a_million_steps_is_fast() -> None:
    """One vectorised pass: a million steps in a few ms (the bound is generous for CI)."""
    costs = np.random.default_rng(3).random(1_000_000)
    smooth(costs, smoothing_window(costs.size))  # warm up
    start = time.perf_counter()
    x, y = smooth(costs, smoothing_window(costs.size))
    assert time.perf_counter() - start < 0.05
    assert x.size < 1_000
    assert np.abs(y - 0.5).max() < 0.02


def test_noisy_tells_minibatches_from_a_learning_curve() -> None:
    """A zigzag is noisy; a smooth decay, with rounding jitter on its plateau, is not."""
    rng = np.random.default_rng(4)
    t = np.arange(200)
    assert noisy(np.exp(-t / 30) + 0.05 * rng.random(200))
    assert noisy(np.exp(-t / 30) * (1 + 0.5 * (-1) ** t))  # full batch oscillating
    plateau = np.exp(-t / 10) + 1e-9 * rng.random(200)
    assert not noisy(plateau)
    assert not noisy(np.exp(-t / 30))
    assert not noisy(np.array([0.3, 0.2]))


async def test_noisy_history_gets_faint_points_and_a_smoothed_line() -> None:
    """Minibatch-like costs: raw points first (faint dots), the moving average drawn on top."""
    rng = np.random.default_rng(5)
    n = 2_000
    costs = 0.25 * np.exp(-np.arange(n) / 500) + 0.01 + 0.08 * rng.random(n)
    plot = CostPlot()
    async with Holder(plot).run_test(size=SIZE) as pilot:
        plot.show(costs, 1500)
        await pilot.pause()
        sx, sy = plot.drawn_smooth
        assert sx.size > 0
        data = monitor(plot)
        np.testing.assert_allclose(data.y[0], plot.drawn_y)  # the raw points
        np.testing.assert_allclose(data.y[1], sy)  # the smoothed curve
        assert np.var(np.diff(sy)) < np.var(np.diff(plot.drawn_y)) / 10
        assert f"mean of {smoothing_window(n)} steps" in plain(plot)  # the legend

        clean = 0.7 * np.exp(-np.arange(n) / 150) + 0.02  # full batch: just the curve
        plot.show(clean, 1500)
        await pilot.pause()
        assert plot.drawn_smooth[0].size == 0
        assert plot.legend is None
        assert "mean of" not in plain(plot)


async def test_noisy_history_ending_in_nan_still_says_so() -> None:
    """A blow-up stays visible under smoothing: the title names the last cost, the line is finite"""
    rng = np.random.default_rng(6)
    costs = 0.3 + 0.1 * rng.random(500)
    costs[400:490] = np.geomspace(1.0, 1e30, 90)
    costs[490:] = np.nan
    plot = CostPlot()
    async with Holder(plot).run_test(size=SIZE) as pilot:
        plot.show(costs, 450)
        await pilot.pause()
        assert "cost C (clipped, last NaN)" in plain(plot)
        assert plot.drawn_y.max() == pytest.approx(1e15)  # clipped at LINEAR_LIMIT, as before
        # On a log scale the noise before the blow-up shows, so it is smoothed;
        # the mean stops with the last finite cost and climbs with it.
        plot.show(costs, 450, log=True)
        await pilot.pause()
        assert "cost C (log scale, last NaN)" in plain(plot)
        sx, sy = plot.drawn_smooth
        assert sx.size and np.isfinite(sy).all()
        assert sx.max() < 490
        assert sy.max() > 20  # log10 C: the blow-up is on the curve, not averaged away


async def test_hits_and_edits_are_marked_and_named() -> None:
    """Hits get ▲ at their cost, edits ┊ and ◆; the legend names only the marks that are shown."""
    costs = np.linspace(1.0, 0.1, 100)
    plot = CostPlot()
    async with Holder(plot).run_test(size=SIZE) as pilot:
        plot.show(costs, 80, hits=[50], edits=[20])
        await pilot.pause()
        text = plain(plot)
        for glyph in (CURRENT_MARK, HIT_MARK, EDIT_MARK, EDIT_LINE):
            assert glyph in text
        assert "breakpoint" in text and "edit" in text and "now" in text
        data = monitor(plot)
        hit = next(i for i, m in enumerate(data.marker) if m == [HIT_MARK])
        assert list(data.x[hit]) == [50]
        assert list(data.y[hit]) == pytest.approx([costs[50]])
        edit = next(i for i, m in enumerate(data.marker) if m == [EDIT_MARK])
        assert list(data.x[edit]) == [20]

        plot.show(costs, 80, hits=[50])
        await pilot.pause()
        text = plain(plot)
        assert HIT_MARK in text and "breakpoint" in text
        assert EDIT_MARK not in text and "edit" not in text

        plot.show(costs, 80)
        await pilot.pause()
        assert plot.legend is None
        assert HIT_MARK not in plain(plot)


async def test_a_hit_on_a_non_finite_cost_sits_at_the_top() -> None:
    """A NaN breakpoint has no cost to sit on: its ▲ goes to the top of the plot."""
    costs = np.array([1.0, 0.8, 0.6, np.nan])
    plot = CostPlot()
    async with Holder(plot).run_test(size=SIZE) as pilot:
        plot.show(costs, 3, hits=[3, 99])  # 99 is past the history: not drawn
        await pilot.pause()
        data = monitor(plot)
        hit = next(i for i, m in enumerate(data.marker) if m == [HIT_MARK])
        assert list(data.x[hit]) == [3]
        top = max(plot.drawn_ticks[0])
        assert data.y[hit][0] >= top


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


def at(boundary: DecisionBoundary, line: int, col: int) -> str:
    """The character at (line, col) of the shaded plane, past the axis margin."""
    left, top, _, _ = boundary.plane
    return boundary.render_line(top + line).text[left + col]


async def test_boundary_paints_half_blocks_and_points() -> None:
    """Top half class 1, bottom class 0, two points on the cells their coordinates name."""
    boundary = DecisionBoundary()
    async with Holder(boundary).run_test(size=SIZE) as pilot:
        grid = np.zeros((2, 2))
        boundary.show(grid, np.empty((0, 2)), np.empty(0), EXTENT)  # lays out the axes
        await pilot.pause()
        rows, cols = boundary.grid_shape()
        left, _, lines, _ = boundary.plane
        # The plane is what is left of 80x24 after the tick margin, the x axis and the legend.
        assert (rows, cols) == (2 * (SIZE[1] - 3), SIZE[0] - left) == (2 * lines, cols)
        grid = boundary_grid(lambda X: (X[1:2] > 0).astype(float), EXTENT, rows, cols)
        # Data coordinates chosen to land in plane cells (line 2, column 10), (line 18, column 60).
        points = np.array(
            [
                [-1 + 2 * 10.5 / cols, 1 - 2 * 4.5 / rows],
                [-1 + 2 * 60.5 / cols, 1 - 2 * 36.5 / rows],
            ]
        )
        boundary.show(grid, points, np.array([0, 1]), EXTENT)
        await pilot.pause()

        line = boundary.render_line(2)
        assert len(line.text) == SIZE[0]
        assert at(boundary, 2, 10) == POINT_GLYPHS[0]
        assert line.text[left:].count(HALF_BLOCK) == cols - 1
        assert at(boundary, 18, 60) == POINT_GLYPHS[1]

        # Line 0 is all class 1 (sure): upper and lower halves the strongest orange.
        first = list(boundary.render_line(0))[1]  # past the margin
        assert first.text.startswith(HALF_BLOCK)
        assert first.style is not None
        assert first.style.color is not None and first.style.bgcolor is not None
        assert first.style.color.name == CLASS1_SHADES[-1]
        assert first.style.bgcolor.name == CLASS1_SHADES[-1]
        last = list(boundary.render_line(lines - 1))[1]
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
    """A coarse grid (or one computed before a resize) still fills the plane, same halves."""
    boundary = DecisionBoundary()
    async with Holder(boundary).run_test(size=(20, 6)) as pilot:
        grid = np.array([[1.0, 1.0], [0.0, 0.0]])  # top half class 1
        boundary.show(grid, np.array([[0.5, -0.5]]), np.array([0]), EXTENT)
        await pilot.pause()
        # Too narrow for axes: 5 lines of plane and the legend.
        assert boundary.plane == (0, 0, 5, 20)
        assert len(boundary.render_line(5).text) == 20
        top = next(iter(boundary.render_line(0)))
        bottom = next(iter(boundary.render_line(4)))
        assert top.style is not None and top.style.color is not None
        assert bottom.style is not None and bottom.style.color is not None
        assert top.style.color.name == CLASS1_SHADES[-1]
        assert bottom.style.color.name == CLASS0_SHADES[-1]
        # (0.5, -0.5) is three quarters across and three quarters down (row 7 of 10).
        assert at(boundary, 3, 15) == POINT_GLYPHS[0]

        await pilot.resize_terminal(40, 10)
        await pilot.pause()
        left, _, lines, cols = boundary.plane
        assert boundary.grid_shape() == (2 * lines, cols) == (14, 40 - left)
        assert len(boundary.render_line(9).text) == 40
        assert at(boundary, int(0.75 * 14) // 2, int(0.75 * cols)) == POINT_GLYPHS[0]


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


def plane_text(boundary: DecisionBoundary) -> list[str]:
    """The lines of the shaded plane, without the axis margin."""
    left, top, lines, cols = boundary.plane
    return [boundary.render_line(top + y).text[left : left + cols] for y in range(lines)]


GRID_POINTS = np.array([[x, y] for x in (-0.8, -0.1, 0.6) for y in (-0.7, 0.0, 0.7)])
"""Nine points far enough apart to fall in nine different cells at any size tested."""
GRID_LABELS = np.arange(9) % 2


@pytest.mark.parametrize("size", [(60, 20), (100, 30)])
async def test_boundary_has_axes_a_legend_and_every_point(size: tuple[int, int]) -> None:
    """Ticks with short values on both axes, the axis names, a legend, and each point's glyph."""
    boundary = DecisionBoundary()
    async with Holder(boundary).run_test(size=size) as pilot:
        extent = (-1.0, 1.0, -1.0, 1.0)
        boundary.show(np.zeros((2, 2)), GRID_POINTS, GRID_LABELS, extent)
        await pilot.pause()
        rows, cols = boundary.grid_shape()
        grid = boundary_grid(lambda X: (X[0:1] > 0).astype(float), extent, rows, cols)
        boundary.show(grid, GRID_POINTS, GRID_LABELS, extent)
        await pilot.pause()
        left, _, lines, width = boundary.plane
        assert (2 * lines, width) == (rows, cols)
        screen = [boundary.render_line(y).text for y in range(size[1])]

        # The legend names the glyphs; the bottom axis and the margin carry ticks.
        assert "o class 0 · x class 1 · p(class 1) 0" in screen[-1]
        name, *x_labels = screen[-2].split()
        assert name == "x1"  # the axis name sits under the x2 labels: every tick keeps its own
        x_values = [float(label) for label in x_labels]
        assert len(x_values) >= 3 and "0" in x_labels
        assert x_values == sorted(x_values) and x_values[0] >= -1 and x_values[-1] <= 1
        assert x_values[-1] == 1  # the last tick, at the right edge, is labelled
        assert all(significant(label) <= 3 for label in x_labels)
        assert screen[-3].lstrip().startswith("└") and "┬" in screen[-3]
        assert any(line[: left - 1].strip() == "x2" for line in screen[:2])
        y_labels = [line[: left - 1].strip() for line in screen[:lines] if line[left - 1] == "┤"]
        assert len(y_labels) >= 3 and len(set(y_labels)) == len(y_labels)
        assert all(significant(label) <= 3 for label in y_labels)
        y_values = [float(label) for label in y_labels]
        assert "0" in y_labels and y_values == sorted(y_values, reverse=True)

        # Every point is drawn, with its class's glyph, at the cell its coordinates name.
        plane = plane_text(boundary)
        for (x, y), k in zip(GRID_POINTS, GRID_LABELS, strict=True):
            col = int((x + 1) / 2 * cols)
            row = int((1 - y) / 2 * rows)
            assert plane[row // 2][col] == POINT_GLYPHS[k]
        assert sum(line.count(POINT_GLYPHS[0]) for line in plane) == 5
        assert sum(line.count(POINT_GLYPHS[1]) for line in plane) == 4


async def test_points_stand_out_on_both_classes_and_without_colour(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Points sit in black cells, bold, whatever the shade under them; with NO_COLOR the
    classes still differ by glyph and every point is on the screen."""
    monkeypatch.setenv("NO_COLOR", "1")
    boundary = DecisionBoundary()
    app = Holder(boundary)
    async with app.run_test(size=(60, 20)) as pilot:
        assert app.no_color
        extent = (-1.0, 1.0, -1.0, 1.0)
        boundary.show(np.zeros((2, 2)), GRID_POINTS, GRID_LABELS, extent)
        await pilot.pause()
        rows, cols = boundary.grid_shape()
        # Class 1 on the left, class 0 on the right: each class sits on both shades.
        grid = boundary_grid(lambda X: (X[0:1] < 0).astype(float), extent, rows, cols)
        boundary.show(grid, GRID_POINTS, GRID_LABELS, extent)
        await pilot.pause()
        styles = {
            segment.text: segment.style
            for y in range(boundary.plane[2])
            for segment in boundary.render_line(y)
            if segment.text in POINT_GLYPHS
        }
        assert set(styles) == set(POINT_GLYPHS)
        for style in styles.values():
            assert style is not None and style.bold
            assert style.bgcolor is not None and style.bgcolor.name == POINT_BACKGROUND
            assert style.color is not None and style.color.name != POINT_BACKGROUND
        screen = app.export_screenshot()
        plane = "".join(plane_text(boundary))
        assert plane.count(POINT_GLYPHS[0]) == 5 and plane.count(POINT_GLYPHS[1]) == 4
        assert POINT_GLYPHS[0] in screen and POINT_GLYPHS[1] in screen
        assert "o class 0 · x class 1" in "".join(boundary.render_line(19).text)


async def test_cost_marks_differ_by_shape_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under NO_COLOR the marks are drawn in the text colour (red would turn a dark grey)."""
    monkeypatch.setenv("NO_COLOR", "1")
    plot = CostPlot()
    app = Holder(plot)
    async with app.run_test(size=SIZE) as pilot:
        plot.show(np.linspace(1.0, 0.1, 100), 80, hits=[50], edits=[20])
        await pilot.pause()
        assert app.no_color
        assert set(cast(Any, plot.plt).monitor.color[-1]) == {"default"}
        screen = app.export_screenshot()
        for glyph in (CURRENT_MARK, HIT_MARK, EDIT_MARK, EDIT_LINE):
            assert glyph in screen


async def test_an_empty_history_says_no_cost_is_computed_yet() -> None:
    """Before the pass computes step 0's cost the plot says so (not "no finite cost")."""
    plot = CostPlot()
    async with Holder(plot).run_test(size=SIZE) as pilot:
        plot.show(np.empty(0), 0)
        await pilot.pause()
        assert "no cost computed yet" in plain(plot)
        assert "finite" not in plain(plot)
