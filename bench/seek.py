"""Benchmark: seek latency and history memory of the timeline.

Run: `python bench/seek.py [--xor-steps N] [--wide-steps N] [--seeks K]`.
Builds a history (xor: 100,000 updates; wide: 10,000), then seeks to random
steps, steps back one update at a time, and reports p50/p95 latency and the
bytes the timeline holds. The baseline, measured in the same run, is the
time of one update: a seek costs at most `spacing` of them. Targets: p95 <= 20
ms (xor), <= 250 ms (wide) within 200 MB.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bpdebug.scenario import load_scenario
from bpdebug.timeline import Timeline

ROOT = Path(__file__).resolve().parent.parent


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    return float(np.percentile(samples, 50) * 1e3), float(np.percentile(samples, 95) * 1e3)


def bench(name: str, steps: int, seeks: int) -> None:
    """Build `steps` of history for scenario `name`, then time seeks and steps back."""
    timeline = Timeline(load_scenario(ROOT / "scenarios" / f"{name}.toml"))
    start = time.perf_counter()
    timeline.seek(steps)
    build = time.perf_counter() - start
    per_update = build / steps
    rng = np.random.default_rng(0)
    jumps: list[float] = []
    for target in rng.integers(0, steps + 1, size=seeks):
        t0 = time.perf_counter()
        timeline.seek(int(target))
        timeline.trace  # noqa: B018 - a seek is done when the pass can be shown
        jumps.append(time.perf_counter() - t0)
    timeline.seek(steps)
    backs: list[float] = []
    for _ in range(min(seeks, steps)):
        t0 = time.perf_counter()
        timeline.back()
        timeline.trace  # noqa: B018
        backs.append(time.perf_counter() - t0)
    j50, j95 = percentiles(jumps)
    b50, b95 = percentiles(backs)
    mib = timeline.memory() / 2**20
    print(
        f"{name:5} history {steps:>7} updates  one update {per_update * 1e3:7.3f} ms  "
        f"spacing {timeline.spacing:4}  memory {mib:7.1f} MiB"
    )
    print(
        f"      seek  p50 {j50:8.2f} ms  p95 {j95:8.2f} ms  "
        f"(p95 = {j95 / 1e3 / per_update:6.1f} updates)"
    )
    print(
        f"      back  p50 {b50:8.2f} ms  p95 {b95:8.2f} ms  "
        f"(p95 = {b95 / 1e3 / per_update:6.1f} updates)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xor-steps", type=int, default=100_000)
    parser.add_argument("--wide-steps", type=int, default=10_000)
    parser.add_argument("--seeks", type=int, default=200)
    args = parser.parse_args()
    bench("xor", args.xor_steps, args.seeks)
    bench("wide", args.wide_steps, args.seeks)
    print("targets: xor seek p95 <= 20 ms; wide seek p95 <= 250 ms within 200 MB")


if __name__ == "__main__":
    main()
