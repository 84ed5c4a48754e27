"""The small values that a timeline's motions take and give.

A long motion (a seek, a search back, reopening a snapshot) is a generator
that does one update per item and yields `Progress`; `finish` runs one to
its end. `Stop` says why a run stopped; `Edit` is one weight set by hand.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Literal, TypeVar

from bpdebug.breakpoints import Hit
from bpdebug.scenario.model import Breakpoint

Progress = tuple[int, int]
"""(updates done, updates in all) of a long motion."""
T = TypeVar("T")


@dataclass(frozen=True)
class Stop:
    """Why `run_until` stopped, and where."""

    reason: Literal["breakpoint", "steps", "interrupted"]
    step: int
    breakpoint: Breakpoint | None = None
    detail: str = ""
    """What a person reads: ``cost < 0.05: C = 0.0499``, ``NaN in z^(2)``."""

    @classmethod
    def hit(cls, hit: Hit) -> Stop:
        """The stop at a breakpoint that fired."""
        return cls("breakpoint", hit.step, hit.breakpoint, hit.detail)


@dataclass(frozen=True)
class Edit:
    """One weight set by hand: w_jk^(layer) = value at step `step` (a branch)."""

    step: int
    layer: int
    j: int
    k: int
    value: float


def finish(motion: Generator[Progress, None, T]) -> T:
    """Run a long motion to its end and return its result."""
    while True:
        try:
            next(motion)
        except StopIteration as end:
            return end.value  # type: ignore[no-any-return]
