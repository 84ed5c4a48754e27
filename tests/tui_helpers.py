"""Shared helpers for the Pilot tests: building apps, reading the screen, waiting.

Apps are built the way the command line builds them (`build_app`), from the
bundled scenarios by absolute path, so the tests do not depend on the
working directory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from bpdebug.debugger import Debugger
from bpdebug.tui import build_app
from bpdebug.tui.app import BpdebugApp
from bpdebug.tui.widgets.equation import BlockSpec, EquationView

REPO = Path(__file__).resolve().parent.parent
"""The repository root."""
SCENARIOS = REPO / "scenarios"
"""The bundled scenarios."""
XOR = SCENARIOS / "xor.toml"
"""The contract's XOR scenario (2-2-1 sigmoid, explicit start, lr 1, whole batch)."""

WIDE = (160, 50)
"""A terminal big enough for the three-column layout."""
NARROW = (80, 24)
"""A classic terminal: the panes become tabs."""


def xor_app(tmp_path: Path, scenario: Path = XOR, keep_breakpoints: bool = False) -> BpdebugApp:
    """The app for `scenario`, exporting into `tmp_path / "exports"`.

    The scenario's own breakpoints (xor.toml's `cost < 0.05`) are dropped
    unless `keep_breakpoints`: most tests train past them and add their own.
    """
    app = build_app(str(scenario), export_dir=tmp_path / "exports")
    if not keep_breakpoints:
        app.debugger.breakpoints.clear()
    return app


def whole_pass(d: Debugger) -> Debugger:
    """`d` moved to its step's update phase (everything computed), the output layer selected."""
    while d.phase.kind != "update":
        d.step_into()
    d.select_layer(d.depth)
    return d


def divergent_scenario(tmp_path: Path) -> Path:
    """XOR with a linear output and learning rate 1e6: the cost overflows within ~25 steps."""
    text = XOR.read_text()
    text = text.replace('output = "sigmoid"', 'output = "linear"')
    text = text.replace("learning_rate = 1.0", "learning_rate = 1e6")
    assert 'output = "linear"' in text and "learning_rate = 1e6" in text
    path = tmp_path / "divergent.toml"
    path.write_text(text)
    return path


def status(app: BpdebugApp) -> str:
    """The status line's text as drawn."""
    return str(app.screen.query_one("#status", Static).render())


def title(app: BpdebugApp) -> str:
    """The header's text as drawn (step, epoch, phase)."""
    return str(app.screen.query_one("#title-bar", Static).render())


def drawn(app: BpdebugApp) -> dict[str, BlockSpec]:
    """The operands the centre draws now, by key ("W", "z", "a_prev", "delta", "dW"...)."""
    pane = app.screen.query_one("#equation", EquationView)
    return {spec.key: spec for section in pane.sections for spec in section.blocks}


def record_notifications(app: BpdebugApp) -> list[tuple[str, str]]:
    """Wrap `app.notify`; the returned list fills with (message, severity) as the app notifies."""
    seen: list[tuple[str, str]] = []
    original = app.notify

    def notify(message: str, *args: object, **kwargs: object) -> None:
        seen.append((str(message), str(kwargs.get("severity", "information"))))
        original(message, *args, **kwargs)  # type: ignore[arg-type]

    app.notify = notify  # type: ignore[method-assign]
    return seen


async def wait_until(
    pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 10.0
) -> None:
    """Let the app run until `condition()` holds; fail after `timeout` seconds.

    Polls with a plain sleep: `pilot.pause()` waits for the app to be idle,
    which takes long while a worker keeps it busy.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)
    await pilot.pause()


async def wait_stopped(pilot: Pilot[Any], app: BpdebugApp, timeout: float = 10.0) -> None:
    """Wait for the training worker (`c`) to stop and the screen to catch up."""
    await wait_until(pilot, lambda: not app.main.running, timeout)
    await app.workers.wait_for_complete()
    await pilot.pause()
