"""HealthView: what a person reads in the layer-health pane, at 34, 40 and 80 columns."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from bpdebug.scenario import load_scenario
from bpdebug.timeline import Timeline
from bpdebug.tui.widgets.health import BARS, HealthView

ROOT = Path(__file__).resolve().parent.parent


class HealthApp(App[None]):
    """A screen holding one HealthView and nothing else."""

    def compose(self) -> ComposeResult:
        yield HealthView(id="health")


def screen_lines(view: HealthView) -> list[str]:
    """The text of every line of the widget as drawn, from the table's header on (the
    lines above it say which step and which update the table shows)."""
    lines = [view.render_line(y).text.rstrip() for y in range(view.size.height)]
    header = next((i for i, line in enumerate(lines) if "|dC/dW|" in line), 0)
    return lines[header:]


def title(view: HealthView) -> str:
    """The widget's lines above the table."""
    lines = [view.render_line(y).text.rstrip() for y in range(view.size.height)]
    return " ".join(lines[: next(i for i, line in enumerate(lines) if "|dC/dW|" in line)])


def vanishing_at(steps: int) -> Timeline:
    timeline = Timeline(load_scenario(ROOT / "scenarios" / "vanishing.toml"))
    timeline.run_until(max_steps=steps)
    return timeline


@pytest.mark.parametrize("width", [34, 40, 80])
async def test_every_number_fits_and_the_sparkline_goes_first(width: int) -> None:
    """At each width every layer's row holds its whole numbers; the sparkline only where
    there is room for it."""
    timeline = vanishing_at(300)
    row = timeline.health.row(300)
    assert row is not None
    app = HealthApp()
    async with app.run_test(size=(width, 30)) as pilot:
        view = app.query_one(HealthView)
        view.show(timeline.health, 300)
        await pilot.pause()
        lines = screen_lines(view)
    assert lines[0].split()[0] == "l" and "|dC/dW|" in lines[0] and "upd/|W|" in lines[0]
    for l in range(1, 9):
        line = lines[l]
        assert len(line) <= width
        assert line.startswith(f"{l} ")
        assert f"{row.grad_norm[l - 1]:.3g}" in line.split()
        assert f"{row.update_ratio[l - 1]:.3g}" in line.replace("!", " ").split()
        assert any(bar in line for bar in BARS) == (width > 34)
    # Layer 1 is flagged vanishing, and its ratio is marked far from 1e-3.
    assert lines[1].rstrip().endswith("V<")
    assert "!" in lines[1]
    reasons = "\n".join(lines[9:])
    assert "V layer 1: gradient vanishing" in reasons
    assert "< layer 1: update/|W|" in reasons


async def test_the_sparkline_draws_the_vanishing_layers_low() -> None:
    timeline = vanishing_at(300)
    app = HealthApp()
    async with app.run_test(size=(80, 30)) as pilot:
        view = app.query_one(HealthView)
        view.show(timeline.health, 300)
        await pilot.pause()
        lines = screen_lines(view)
    spark_1, spark_8 = lines[1].split()[1], lines[8].split()[1]
    assert set(spark_1) <= set(BARS[:2]) and set(spark_8) <= set(BARS[-2:])


async def test_stepping_shows_the_last_update_and_nothing_before_a_pass() -> None:
    timeline = Timeline(load_scenario(ROOT / "scenarios" / "dying_relu.toml"))
    app = HealthApp()
    async with app.run_test(size=(40, 20)) as pilot:
        view = app.query_one(HealthView)
        view.show(timeline.health, 0)
        await pilot.pause()
        assert screen_lines(view)[0] == "layer health: not computed at step 0"
        view.show(timeline.health, 0, computed=False)  # the debugger before step 0's pass
        await pilot.pause()
        assert "not computed yet" in screen_lines(view)[0]
        _ = timeline.trace  # the pass of step 0, recorded
        timeline.next()
        view.show(timeline.health, 1)
        await pilot.pause()
        lines = screen_lines(view)
        said = title(view)
    ratio = timeline.health.row(0).update_ratio[1]  # type: ignore[union-attr]
    # Step 1's own update is not computed: the ratio shown is the one that made step 1,
    # and the line above the table says so.
    assert f"{ratio:.3g}" in lines[2].replace("!", " ").split()
    assert "step 1 · upd/|W| of 0→1" in said


async def test_a_compared_branch_shows_its_row_under_each_layer() -> None:
    """The overlay: under each layer, the compared branch's numbers at the same step, and its
    sparkline over the same steps; a branch that has not reached the step says so."""
    from bpdebug.branches import Branches

    branches = Branches(load_scenario(ROOT / "scenarios" / "vanishing.toml"))
    main = branches.main.timeline
    main.run_until(max_steps=100)
    b1 = branches.branch({"training.learning_rate": 50.0})
    b1.timeline.run_until(max_steps=100)  # to step 200
    main.run_until(max_steps=100)  # main to 200 too
    other = main.health.latest(200)
    assert other is not None
    app = HealthApp()
    async with app.run_test(size=(80, 40)) as pilot:
        view = app.query_one(HealthView)
        view.show(b1.timeline.health, 200, other=("main", main.health))
        await pilot.pause()
        lines = screen_lines(view)
        assert "under each layer: main" in title(view)
        for l in range(1, 9):
            own, theirs = lines[2 * l - 1], lines[2 * l]
            assert own.split()[0] == str(l)
            assert theirs.split()[0] == "main"
            numbers = theirs.split()[-4:]
            assert numbers[0] == f"{other.grad_norm[l - 1]:.3g}"
            assert numbers[1] == f"{other.update_ratio[l - 1]:.3g}"
            # both sparklines span steps 0..200: they are the same before the fork (step 100)
            spark = own.split()[1], theirs.split()[1]
            assert set(spark[0]) <= set(BARS) and set(spark[1]) <= set(BARS)
            assert spark[0][: len(spark[0]) // 2 - 1] == spark[1][: len(spark[1]) // 2 - 1]
        # a branch behind this step: one line, no stale numbers
        fresh = Branches(load_scenario(ROOT / "scenarios" / "vanishing.toml"))
        fresh.main.timeline.seek(150)
        view.show(b1.timeline.health, 200, other=("main", fresh.main.timeline.health))
        await pilot.pause()
        text = "\n".join(view.render_line(y).text for y in range(view.size.height))
        assert "main has not reached step 200 (d or D brings it)" in text
        assert "under each layer" not in text
