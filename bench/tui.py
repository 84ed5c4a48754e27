"""Benchmark: the Textual screen's first frame, key-to-frame latency and training throughput.

Run: `python bench/tui.py [--rounds R] [--presses P] [--seconds S]`. Drives the
app headless with Textual's Pilot at 160x50 and measures, each against a
baseline taken in the same run:

1. First frame of `bpdebug scenarios/xor.toml` (building the app, scenario
   loading included, until the first frame painted after the panes were
   filled) against a bare App with one Static; median of R rounds after a
   warm-up. Also the cost of `import bpdebug.tui.app` against `import
   textual.app` and the whole cold start (interpreter start to first frame),
   each in fresh interpreters.
2. Key-to-frame latency of `n` and `s` on xor and wide, p50/p95 from
   `pilot.press` to: the first frame painted after the action redrew the
   panes ("first paint"), the last frame painted before the screen went idle
   ("last paint"), and `pilot.press` + `pilot.pause()` returning
   ("press+pause"; it has Pilot's own floor, since `pause` sleeps in 20 ms
   slices until the process is idle, so the table judges it minus the bare
   no-op's p50). Baselines: the bare app's no-op binding (press+pause) and a
   binding that updates its Static (paints).
3. `c` on xor for S seconds: updates per second and cost-plot redraws per
   second (CostPlot.show calls, and CostPlot.render calls, i.e. plots that
   reached the screen), against `Timeline.run_until` without the app.

Headless Textual skips the terminal write, so each painted frame is also
encoded to its ANSI string here (the work a real terminal would cost us).
Targets: first frame <= 1.5x bare; key-to-frame p95 <= 50 ms (xor), <= 150 ms
(wide); >= 5,000 updates/s with >= 10 plot redraws/s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import RenderableType
from textual._compositor import CompositorUpdate
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from bpdebug.scenario import load_scenario
from bpdebug.timeline import Timeline
from bpdebug.tui import build_app
from bpdebug.tui.app import BpdebugApp, MainScreen
from bpdebug.tui.widgets.costplot import CostPlot

ROOT = Path(__file__).resolve().parent.parent
SIZE = (160, 50)
XOR = str(ROOT / "scenarios" / "xor.toml")
WIDE = str(ROOT / "scenarios" / "wide.toml")


class BareApp(App[None]):
    """The baseline: one Static, a no-op key and a key that updates the Static."""

    BINDINGS = [Binding("n", "nothing", "nothing"), Binding("u", "update", "update")]

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.marks: list[float] = []
        """perf_counter() after each `u` changed the screen."""

    def compose(self) -> ComposeResult:
        yield Static("bare", id="text")

    def on_mount(self) -> None:
        self.marks.append(time.perf_counter())

    def action_nothing(self) -> None:
        """n: nothing at all."""

    def action_update(self) -> None:
        """u: new text in the Static."""
        self.count += 1
        self.query_one("#text", Static).update(f"bare {self.count}")
        self.marks.append(time.perf_counter())


_PROBED: weakref.WeakKeyDictionary[App[Any], list[float]] = weakref.WeakKeyDictionary()
"""The apps being probed, and where their marks go."""
_watch_view = MainScreen.watch_view


def _marked_watch_view(screen: MainScreen, view: Any) -> None:
    """MainScreen.watch_view, then a mark for the probe of its app (the view was filled)."""
    _watch_view(screen, view)
    marks = _PROBED.get(screen.app)
    if marks is not None:
        marks.append(time.perf_counter())


MainScreen.watch_view = _marked_watch_view  # type: ignore[method-assign,assignment]


class Probe:
    """Timestamps of an app's painted frames and of the moments its view was filled.

    `paints`: after each compositor update reached `App._display` (and was
    encoded for the terminal). `marks`: for bpdebug, after each
    `watch_view` on the main screen; for the bare app, its own marks.
    """

    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.paints: list[float] = []
        self.marks: list[float] = app.marks if isinstance(app, BareApp) else []
        display = app._display
        console = app.console

        def painted(screen: Screen[Any], renderable: RenderableType | None) -> None:
            display(screen, renderable)
            if renderable is None or app._batch_count:
                return
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(console)
            self.paints.append(time.perf_counter())

        setattr(app, "_display", painted)  # noqa: B010 - instance hook on a method
        if isinstance(app, BpdebugApp):
            _PROBED[app] = self.marks

    def first_paint_after(self, since: float) -> float:
        """Time of the first paint that follows the first mark at or after `since`."""
        mark = next((m for m in self.marks if m >= since), None)
        if mark is None:
            return float("nan")
        return next((p for p in self.paints if p >= mark), float("nan"))


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    return float(np.percentile(samples, 50) * 1e3), float(np.percentile(samples, 95) * 1e3)


# -- 1. first frame --------------------------------------------------------------
async def first_frame(make: Callable[[], App[Any]]) -> tuple[float, float]:
    """Seconds from creating the app to (its first filled frame, pilot.pause() after mount)."""
    t0 = time.perf_counter()
    app = make()
    probe = Probe(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        settled = time.perf_counter() - t0
    return probe.first_paint_after(t0) - t0, settled


def subprocess_seconds(code: str, rounds: int) -> float:
    """Median over `rounds` fresh interpreters of the float `code` prints."""
    times = []
    for _ in range(rounds):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        )
        times.append(float(out.stdout.split()[-1]))
    return statistics.median(times)


def import_seconds(module: str, rounds: int) -> float:
    """Median seconds `import module` takes in a fresh interpreter."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return subprocess_seconds(code, rounds)


COLD = """
import asyncio, time
t0 = time.perf_counter()
async def main():
    {make}
    async with app.run_test(size={size}) as pilot:
        await pilot.pause()
        print(time.perf_counter() - t0)
asyncio.run(main())
"""


def cold_start(make: str, rounds: int) -> float:
    """Median seconds from a fresh interpreter's first line to pilot.pause() after mount."""
    return subprocess_seconds(COLD.format(make=make, size=SIZE), rounds)


# -- 2. key to frame -------------------------------------------------------------
async def key_latency(make: Callable[[], App[Any]], key: str, presses: int) -> dict[str, float]:
    """p95 (and p50) ms from `pilot.press(key)` to: the first frame painted after the
    view was redrawn ("first"), the last frame painted before the screen went idle
    ("last"), and `pilot.press` + `pilot.pause()` returning ("pause")."""
    app = make()
    probe = Probe(app)
    samples: dict[str, list[float]] = {"first": [], "last": [], "pause": []}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for _ in range(presses):
            t0 = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            t1 = time.perf_counter()
            samples["pause"].append(t1 - t0)
            samples["first"].append(probe.first_paint_after(t0) - t0)
            last = max((p for p in probe.paints if t0 <= p <= t1), default=float("nan"))
            samples["last"].append(last - t0)
    out: dict[str, float] = {}
    for name, values in samples.items():
        if not np.isnan(values).any():
            out[f"{name} p50"], out[f"{name} p95"] = percentiles(values)
    return out


# -- 3. continue -----------------------------------------------------------------
@contextmanager
def counting(cls: type, name: str) -> Iterator[list[int]]:
    """Count calls of method `name` of `cls` (all instances) while the block runs."""
    own = name in vars(cls)
    original = getattr(cls, name)
    calls = [0]

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    setattr(cls, name, counted)
    try:
        yield calls
    finally:
        if own:
            setattr(cls, name, original)
        else:
            delattr(cls, name)


async def continue_rate(seconds: float) -> dict[str, float]:
    """Updates/s, plot shows/s, plot renders/s and frames/s while `c` runs on xor."""
    with counting(CostPlot, "show") as shows, counting(CostPlot, "render") as renders:
        app = build_app(XOR)
        app.debugger.breakpoints.clear()  # xor.toml's cost < 0.05 would stop it at 1289
        probe = Probe(app)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            step0, shows0, renders0 = app.debugger.step, shows[0], renders[0]
            t0 = time.perf_counter()
            await pilot.press("c")
            await asyncio.sleep(seconds)
            step1, shows1, renders1 = app.debugger.step, shows[0], renders[0]
            elapsed = time.perf_counter() - t0
            await pilot.press("c")
            deadline = time.monotonic() + 10
            while app.main.running and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            frames = sum(t0 <= p <= t0 + elapsed for p in probe.paints)
    return {
        "updates/s": (step1 - step0) / elapsed,
        "shows/s": (shows1 - shows0) / elapsed,
        "renders/s": (renders1 - renders0) / elapsed,
        "frames/s": frames / elapsed,
    }


def headless_rate(seconds: float) -> float:
    """Updates/s of Timeline.run_until on xor, no app, for about `seconds`."""
    scenario = load_scenario(XOR)
    probe = Timeline(scenario)
    t0 = time.perf_counter()
    probe.run_until(max_steps=1000)
    steps = max(1000, int(1000 / (time.perf_counter() - t0) * seconds))
    timeline = Timeline(scenario)
    t0 = time.perf_counter()
    timeline.run_until(max_steps=steps)
    return steps / (time.perf_counter() - t0)


# -- report ------------------------------------------------------------------------
Row = tuple[str, str, str, str]


def row(name: str, value: float, unit: str, target: float, at_most: bool = True) -> Row:
    ok = value <= target if at_most else value >= target
    sign = "<=" if at_most else ">="
    fmt = ".2f" if unit == "x" else ".1f" if value < 100 else ",.0f"
    return name, f"{value:{fmt}} {unit}", f"{sign} {target:,g} {unit}", "PASS" if ok else "MISS"


async def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []

    def bpdebug_xor() -> App[Any]:
        return build_app(XOR)

    def bpdebug_wide() -> App[Any]:
        return build_app(WIDE)

    # 1. first frame: a warm-up of each, then alternating rounds
    await first_frame(BareApp)
    await first_frame(bpdebug_xor)
    bare: list[tuple[float, float]] = []
    ours: list[tuple[float, float]] = []
    for _ in range(args.rounds):
        bare.append(await first_frame(BareApp))
        ours.append(await first_frame(bpdebug_xor))
    b_paint, b_pause = (statistics.median(x) * 1e3 for x in zip(*bare, strict=True))
    o_paint, o_pause = (statistics.median(x) * 1e3 for x in zip(*ours, strict=True))
    print(f"first frame (median of {args.rounds})   painted    pause() returned")
    print(f"  bare App + Static          {b_paint:7.1f} ms   {b_pause:7.1f} ms")
    print(f"  bpdebug xor                {o_paint:7.1f} ms   {o_pause:7.1f} ms")
    rows.append(row("first frame xor / bare (painted)", o_paint / b_paint, "x", 1.5))
    rows.append(row("first frame xor / bare (pause)", o_pause / b_pause, "x", 1.5))

    imp_textual = import_seconds("textual.app", args.rounds) * 1e3
    imp_ours = import_seconds("bpdebug.tui.app", args.rounds) * 1e3
    cold_bare = cold_start(
        "from textual.app import App\n    from textual.widgets import Static\n"
        "    class Bare(App[None]):\n"
        "        def compose(self):\n            yield Static('bare')\n"
        "    app = Bare()",
        args.rounds,
    )
    cold_ours = cold_start(
        f"from bpdebug.tui import build_app; app = build_app({XOR!r})", args.rounds
    )
    print(f"import (fresh interpreter, median of {args.rounds})")
    print(f"  import textual.app         {imp_textual:7.1f} ms")
    print(
        f"  import bpdebug.tui.app     {imp_ours:7.1f} ms   "
        f"({imp_ours / imp_textual:.2f}x, +{imp_ours - imp_textual:.0f} ms)"
    )
    print("cold start (interpreter start to pause() after mount)")
    print(f"  bare App + Static          {cold_bare * 1e3:7.1f} ms")
    print(
        f"  bpdebug xor                {cold_ours * 1e3:7.1f} ms   ({cold_ours / cold_bare:.2f}x)"
    )

    # 2. key to frame
    print(f"key to frame ({args.presses} presses, ms)  first paint      last paint     press+pause")
    print(f"{'':30}  p50     p95     p50     p95     p50     p95")
    cases: list[tuple[str, Callable[[], App[Any]], str, float]] = [
        ("bare no-op", BareApp, "n", 0.0),
        ("bare update", BareApp, "u", 0.0),
        ("xor n", bpdebug_xor, "n", 50.0),
        ("xor s", bpdebug_xor, "s", 50.0),
        ("wide n", bpdebug_wide, "n", 150.0),
        ("wide s", bpdebug_wide, "s", 150.0),
    ]
    floor = 0.0
    judged: list[tuple[str, dict[str, float], float]] = []
    for label, make, key, target in cases:
        r = await key_latency(make, key, args.presses)
        cells = [
            f"{r[f'{m} p50']:7.1f} {r[f'{m} p95']:7.1f}"
            if f"{m} p50" in r
            else f"{'-':>7} {'-':>7}"
            for m in ("first", "last", "pause")
        ]
        print(f"  {label:28} {'  '.join(cells)}")
        if label == "bare no-op":
            floor = r["pause p50"]
        if target:
            judged.append((label, r, target))
    print(f"  (press+pause includes Pilot's floor: bare no-op p50 {floor:.1f} ms)")
    for label, r, target in judged:
        rows.append(row(f"{label} key to first paint p95", r["first p95"], "ms", target))
        rows.append(row(f"{label} key to last paint p95", r["last p95"], "ms", target))
        rows.append(row(f"{label} press+pause p95 - floor", r["pause p95"] - floor, "ms", target))

    # 3. continue
    c = await continue_rate(args.seconds)
    headless = headless_rate(1.0)
    print(f"continue on xor for {args.seconds:g} s")
    print(
        f"  app {c['updates/s']:,.0f} updates/s   headless run_until {headless:,.0f} updates/s"
        f"   ratio {c['updates/s'] / headless:.2f}"
    )
    print(
        f"  plot show() {c['shows/s']:.1f}/s   plot render() {c['renders/s']:.1f}/s   "
        f"frames painted {c['frames/s']:.1f}/s"
    )
    rows.append(row("c xor updates/s", c["updates/s"], "/s", 5000, at_most=False))
    rows.append(row("c xor plot renders/s", c["renders/s"], "/s", 10, at_most=False))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--presses", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = asyncio.run(run(args))
    print()
    print(f"{'figure':36} {'value':>12} {'target':>14}")
    for name, value, target, verdict in rows:
        print(f"{name:36} {value:>12} {target:>14}  {verdict}")
    print(f"(bench took {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
