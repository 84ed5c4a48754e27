"""Benchmark: a million updates of xor in the Textual screen, headless: memory and responsiveness.

Run: `python bench/reliability.py [--updates N] [--size WxH] [--presses P]`.
Opens `bpdebug scenarios/xor.toml` with Textual's Pilot (headless, 160x50 by
default), adds the breakpoint `step N` (N = 1,000,000 by default), presses
`c` and lets the training thread play every update up to it. It reports:

- updates played, seconds, updates per second (overall and per tenth);
- memory: the process's resident set (VmRSS from /proc/self/status, so
  Textual's and NumPy's memory count too, not only Python objects) at the
  start, at every tenth of the run (every 100,000 updates) and at the end,
  with `Timeline.memory()` (the bytes the timeline says it holds) and the
  checkpoint spacing beside it;
- the cost plot while the run goes on: how long each `CostPlot.show` (the
  downsampling and the plotext figure) and each `CostPlot.render` (plotext
  drawing the figure) took, in the first and the last tenth of the run;
- after the run, with the whole history: `CostPlot.show` on it, and
  key-to-frame latency of `n`, `N` and `s` (from the key press to the first
  frame painted after the view was redrawn), against the same keys on a
  fresh app (at step 2, measured first).

Targets: memory growth under 100 MB; with the whole history, CostPlot.show
p95 under 10 ms and CostPlot.render p95 under 50 ms (the plot keeps up with 15
frames a second), and each key's median latency within 2x of a fresh app's
(the p95 and max of 20 presses are noisy: a gen-2 garbage collection during
a frame costs 50-200 ms, more with a long history's many objects).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import RenderableType
from textual._compositor import CompositorUpdate
from textual.pilot import Pilot
from textual.screen import Screen

from bpdebug.scenario.model import Breakpoint
from bpdebug.tui import build_app
from bpdebug.tui.app import BpdebugApp, MainScreen
from bpdebug.tui.widgets.costplot import CostPlot

ROOT = Path(__file__).resolve().parent.parent
XOR = str(ROOT / "scenarios" / "xor.toml")
MB = 2**20
SHOW_MS = 10.0
"""Target p95 of one CostPlot.show (downsampling and the plotext figure)."""
RENDER_MS = 50.0
"""Target p95 of one CostPlot.render (plotext drawing the figure): under a 15/s frame."""


def rss() -> int:
    """Bytes resident in memory for this process (VmRSS of /proc/self/status)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


@contextmanager
def timing(cls: type, name: str) -> Iterator[list[tuple[float, float]]]:
    """Record (start time, seconds) of each call of method `name` of `cls` in the block."""
    own = name in vars(cls)
    original = getattr(cls, name)
    calls: list[tuple[float, float]] = []

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        result = original(*args, **kwargs)
        calls.append((t0, time.perf_counter() - t0))
        return result

    setattr(cls, name, timed)
    try:
        yield calls
    finally:
        if own:
            setattr(cls, name, original)
        else:
            delattr(cls, name)


_PROBED: weakref.WeakKeyDictionary[BpdebugApp, list[float]] = weakref.WeakKeyDictionary()
"""The apps being probed, and where their marks go."""
_watch_view = MainScreen.watch_view


def _marked_watch_view(screen: MainScreen, view: Any) -> None:
    """MainScreen.watch_view, then a mark for the probe of its app (the view was filled)."""
    _watch_view(screen, view)
    marks = _PROBED.get(screen.bpapp)
    if marks is not None:
        marks.append(time.perf_counter())


MainScreen.watch_view = _marked_watch_view  # type: ignore[method-assign,assignment]


class Probe:
    """Timestamps of an app's painted frames and of the moments its view was filled."""

    def __init__(self, app: BpdebugApp) -> None:
        self.paints: list[float] = []
        self.marks: list[float] = []
        display = app._display
        console = app.console

        def painted(screen: Screen[Any], renderable: RenderableType | None) -> None:
            display(screen, renderable)
            if renderable is None or app._batch_count:
                return
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(console)  # what a real terminal would cost
            self.paints.append(time.perf_counter())

        _PROBED[app] = self.marks

    def key_to_frame(self, since: float) -> float:
        """Seconds from `since` to the first paint after the first fill at or after it."""
        mark = next((m for m in self.marks if m >= since), None)
        if mark is None:
            return float("nan")
        return next((p for p in self.paints if p >= mark), float("nan")) - since


@dataclass
class Mark:
    """One row of the memory table."""

    step: int
    seconds: float
    rss: int
    timeline: int
    spacing: int


def ms(samples: list[float]) -> tuple[float, float, float]:
    """(p50, p95, max) of `samples` seconds, in milliseconds."""
    if not samples:
        return (float("nan"),) * 3
    a = np.asarray(samples) * 1e3
    return float(np.percentile(a, 50)), float(np.percentile(a, 95)), float(a.max())


async def key_latencies(
    pilot: Pilot[int], probe: Probe, keys: str, presses: int
) -> dict[str, list[float]]:
    """Key-to-frame seconds of each key in `keys`, `presses` times each, alternating."""
    out: dict[str, list[float]] = {key: [] for key in keys}
    for _ in range(presses):
        for key in keys:
            t0 = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            out[key].append(probe.key_to_frame(t0))
    return out


def plot_show_seconds(app: BpdebugApp, rounds: int) -> tuple[list[float], list[float]]:
    """Seconds of CostPlot.show with the full cost history, and of rendering it."""
    plot = app.screen.query_one("#cost", CostPlot)
    timeline = app.debugger.timeline
    shows: list[float] = []
    renders: list[float] = []
    for _ in range(rounds):
        costs = timeline.costs().copy()
        t0 = time.perf_counter()
        plot.show(costs, timeline.step)
        t1 = time.perf_counter()
        plot.render()
        shows.append(t1 - t0)
        renders.append(time.perf_counter() - t1)
    return shows, renders


async def baseline(size: tuple[int, int], presses: int) -> dict[str, list[float]]:
    """Key-to-frame latency of n, N and s on a fresh xor app (a short history)."""
    app = build_app(XOR)
    probe = Probe(app)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press("n", "n")  # so that N can act
        return await key_latencies(pilot, probe, "nNs", presses)


async def long_run(
    updates: int, size: tuple[int, int], presses: int, report: Callable[[Mark, int], None]
) -> dict[str, Any]:
    """Play `updates` updates of xor with `c`; measure along the way and afterwards."""
    app = build_app(XOR)
    probe = Probe(app)
    every = max(updates // 10, 1)
    marks: list[Mark] = []
    with timing(CostPlot, "show") as shows, timing(CostPlot, "render") as renders:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            d = app.debugger
            d.breakpoints = [Breakpoint("step", float(updates))]
            with app.lock:
                marks.append(Mark(0, 0.0, rss(), d.timeline.memory(), d.timeline.spacing))
            report(marks[-1], marks[0].rss)
            t0 = time.perf_counter()
            # Pilot's press waits for the process to go idle, which it does not while
            # training runs (up to a second per wait): press in a task, measure meanwhile.
            press = asyncio.create_task(pilot.press("c"))  # play every update up to N
            next_mark = every
            while app.main.running or d.step < updates:
                if not app.is_running:
                    raise RuntimeError(f"the app stopped at step {d.step}")
                await asyncio.sleep(0.05)
                if d.step >= next_mark:
                    with app.lock:
                        mark = Mark(
                            d.step,
                            time.perf_counter() - t0,
                            rss(),
                            d.timeline.memory(),
                            d.timeline.spacing,
                        )
                    marks.append(mark)
                    report(mark, marks[0].rss)
                    next_mark = (d.step // every + 1) * every
            elapsed = time.perf_counter() - t0
            await press
            await app.workers.wait_for_complete()
            await pilot.pause()
            played = d.step
            with app.lock:
                final = Mark(played, elapsed, rss(), d.timeline.memory(), d.timeline.spacing)
            if marks[-1].step != played:
                marks.append(final)
                report(final, marks[0].rss)
            tenth = elapsed / 10
            early_shows = [s for t, s in shows if t - t0 < tenth]
            late_shows = [s for t, s in shows if t0 + elapsed - t < tenth and t < t0 + elapsed]
            early_renders = [s for t, s in renders if t - t0 < tenth]
            late_renders = [s for t, s in renders if t0 + elapsed - t < tenth and t < t0 + elapsed]
            run_shows = len([t for t, _ in shows if t0 <= t <= t0 + elapsed])
            after_show, after_render = plot_show_seconds(app, 20)
            latency = await key_latencies(pilot, probe, "nNs", presses)
            return {
                "played": played,
                "elapsed": elapsed,
                "marks": marks,
                "early shows": early_shows,
                "late shows": late_shows,
                "early renders": early_renders,
                "late renders": late_renders,
                "shows/s": run_shows / elapsed,
                "after show": after_show,
                "after render": after_render,
                "latency": latency,
                "paused": d.paused,
                "return code": app.return_code,
            }


def size_arg(text: str) -> tuple[int, int]:
    """WxH, e.g. 160x50."""
    width, _, height = text.lower().partition("x")
    try:
        return int(width), int(height)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None


def row(name: str, value: str, target: str, ok: bool) -> None:
    """One line of the figures table; the verdict only where there is a target."""
    verdict = ("PASS" if ok else "MISS") if target else ""
    print(f"  {name:44} {value:>22} {target:>16}  {verdict}".rstrip())


async def run(args: argparse.Namespace) -> bool:
    size: tuple[int, int] = args.size
    print(
        f"xor: {args.updates:,} updates with c in the TUI, headless at {size[0]}x{size[1]}; "
        "memory = VmRSS of this process"
    )
    print(
        f"  {'step':>10} {'s':>8} {'updates/s':>10} {'RSS MB':>8} {'+RSS MB':>8} "
        f"{'Timeline.memory() MB':>21} {'spacing':>8}"
    )
    last: list[Mark] = []

    def report(mark: Mark, start_rss: int) -> None:
        rate = ""
        if last and mark.seconds > last[-1].seconds:
            rate = f"{(mark.step - last[-1].step) / (mark.seconds - last[-1].seconds):,.0f}"
        print(
            f"  {mark.step:>10,} {mark.seconds:>8.1f} {rate:>10} {mark.rss / MB:>8.1f} "
            f"{(mark.rss - start_rss) / MB:>+8.1f} {mark.timeline / MB:>21.2f} "
            f"{mark.spacing:>8,}",
            flush=True,
        )
        last.append(mark)

    base = await baseline(size, args.presses)  # first: no garbage of the long run around
    r = await long_run(args.updates, size, args.presses, report)
    marks: list[Mark] = r["marks"]
    growth = (marks[-1].rss - marks[0].rss) / MB
    played, elapsed = r["played"], r["elapsed"]

    print()
    print(
        f"  {'figure':44} {'value (p50 / p95 / max)':>22} {'target':>16}\n"
        f"  {'-' * 44} {'-' * 22} {'-' * 16}"
    )
    ok = True

    def check(name: str, value: str, target: str, good: bool) -> None:
        nonlocal ok
        ok = ok and good
        row(name, value, target, good)

    check(
        "updates played",
        f"{played:,}",
        f"{args.updates:,}",
        played == args.updates and r["return code"] is None,
    )
    print(f"  {'time, updates/s':44} {f'{elapsed:.1f} s, {played / elapsed:,.0f}/s':>22}")
    check("memory growth (VmRSS end - start)", f"{growth:+.1f} MB", "< 100 MB", growth < 100)
    print(
        f"  {'Timeline.memory() at the end':44} {marks[-1].timeline / MB:>19.2f} MB"
        f"   (spacing {marks[-1].spacing})"
    )

    def cell(samples: list[float]) -> str:
        p50, p95, top = ms(samples)
        return f"{p50:.1f} / {p95:.1f} / {top:.1f} ms"

    print(f"  {'cost plot redraws while running':44} {r['shows/s']:>20.1f}/s")
    row("CostPlot.show, first tenth of the run", cell(r["early shows"]), "", True)
    check(
        "CostPlot.show, last tenth of the run",
        cell(r["late shows"]),
        f"p95 < {SHOW_MS:g} ms",
        ms(r["late shows"])[1] < SHOW_MS,
    )
    if r["late renders"]:
        row("CostPlot.render, first tenth", cell(r["early renders"]), "", True)
        check(
            "CostPlot.render, last tenth",
            cell(r["late renders"]),
            f"p95 < {RENDER_MS:g} ms",
            ms(r["late renders"])[1] < RENDER_MS,
        )
    else:  # narrow: the plot sits in a tab that is not shown, so it is never drawn
        row("CostPlot.render while running", "not drawn (hidden tab)", "", True)
    check(
        f"CostPlot.show, full history ({played + 1:,} costs)",
        cell(r["after show"]),
        f"p95 < {SHOW_MS:g} ms",
        ms(r["after show"])[1] < SHOW_MS,
    )
    check(
        "CostPlot.render, full history",
        cell(r["after render"]),
        f"p95 < {RENDER_MS:g} ms",
        ms(r["after render"])[1] < RENDER_MS,
    )
    for key in "nNs":
        fresh = ms(base[key])
        check(
            f"key {key} to frame, after the run",
            cell(r["latency"][key]),
            "p50 < 2x fresh",
            ms(r["latency"][key])[0] < 2 * fresh[0],
        )
        row(f"key {key} to frame, fresh app (step 2)", cell(base[key]), "", True)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--updates", type=int, default=1_000_000, help="default 1,000,000")
    parser.add_argument("--size", type=size_arg, default=(160, 50), help="WxH, default 160x50")
    parser.add_argument("--presses", type=int, default=20, help="presses per key for latency")
    args = parser.parse_args()
    start = time.perf_counter()
    ok = asyncio.run(run(args))
    print(f"(bench took {time.perf_counter() - start:.0f} s; {'PASS' if ok else 'MISS'})")


if __name__ == "__main__":
    main()
