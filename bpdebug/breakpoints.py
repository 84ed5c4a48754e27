"""Breakpoints: the prompt's syntax, what holds at a state, and when a condition is crossed.

A breakpoint fires when its condition *becomes* true (the crossing), as a
watchpoint in a debugger does: `cost < 0.05` stops once, at the first step
where the cost falls below 0.05, and not on every step after while it stays
there. What "becomes true" means is per member: a breakpoint on any layer
(`grad > 10`) fires when some layer starts to exceed 10, and `dead` fires
when some unit that was alive dies, naming it. NaN/inf is the exception: a
run stops at once on any state that has it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bpdebug.engine import Trace
from bpdebug.scenario.model import Breakpoint, BreakpointKind
from bpdebug.training import TrainState

NONFINITE = Breakpoint("nonfinite")
"""Always watched: a run never goes on past a NaN or an inf."""

SYNTAX = (
    "nan | cost < 0.05 | grad > 10 | grad < 1e-6 @2 | dead | dead @1 | step 100   (@l = layer l)"
)
"""What the breakpoint prompt accepts, as the prompt shows it."""

MAX_STEP = 10**12
"""The largest step number the prompts take: far past any real run, small enough to count."""

Member = tuple[int, ...]
"""What holds, one item of it: () for a plain condition, (layer,) or (layer, unit)."""


@dataclass(frozen=True)
class Hit:
    """A breakpoint that fired at `step`, and what a person reads about it."""

    breakpoint: Breakpoint
    step: int
    detail: str
    """``cost < 0.05: C = 0.04987``, ``dead @1: unit 3 of layer 1``."""


def holding(
    bp: Breakpoint, state: TrainState, trace: Trace, relu_layers: frozenset[int]
) -> frozenset[Member]:
    """What of `bp` holds at `state` (whose pass is `trace`): empty when it does not hold.

    `relu_layers` names the layers whose units can die (dead units are
    looked for there only).
    """
    match bp.kind:
        case "nonfinite":
            finite = trace.all_finite() and state.params.all_finite()
            return frozenset() if finite else frozenset({()})
        case "cost_below":
            return frozenset({()}) if trace.cost < bp.value else frozenset()
        case "grad_norm_above":
            return frozenset((l,) for l in _layers(bp, trace) if trace.grad_norm(l) > bp.value)
        case "grad_norm_below":
            return frozenset((l,) for l in _layers(bp, trace) if trace.grad_norm(l) < bp.value)
        case "dead_unit":
            return frozenset(
                (l, int(u))
                for l in _layers(bp, trace)
                if l in relu_layers
                for u in dead_units(trace, l)
            )
        case "step":
            return frozenset({()}) if state.step == int(bp.value) else frozenset()


def describe(bp: Breakpoint, members: frozenset[Member], state: TrainState, trace: Trace) -> str:
    """What fired, with its numbers: ``cost < 0.05: C = 0.04987``."""
    match bp.kind:
        case "nonfinite":
            return describe_nonfinite(state, trace)
        case "cost_below":
            return f"{bp.describe()}: C = {trace.cost:.6g}"
        case "grad_norm_above" | "grad_norm_below":
            norms = ", ".join(
                f"|dC/dW^({l})| = {trace.grad_norm(l):.4g}" for (l,) in sorted(members)
            )
            return f"{bp.describe()}: {norms}"
        case "dead_unit":
            units = sorted(members)
            named = ", ".join(f"unit {u} of layer {l}" for l, u in units[:4])
            more = f" and {len(units) - 4} more" if len(units) > 4 else ""
            return f"dead: {named}{more} (a = 0 for every example)"
        case "step":
            return bp.describe()


class Watch:
    """Follows breakpoints along a history and says when one is crossed.

    `start` records what holds at the state a run starts from; `crossed`
    then tests each new state against the one before it.
    """

    def __init__(self, breakpoints: Sequence[Breakpoint], relu_layers: frozenset[int]) -> None:
        self.breakpoints = (NONFINITE, *(bp for bp in breakpoints if bp.kind != "nonfinite"))
        self.relu_layers = relu_layers
        self._before: tuple[frozenset[Member], ...] = ()

    def status(self, state: TrainState, trace: Trace) -> tuple[frozenset[Member], ...]:
        """What holds of each breakpoint at `state`."""
        return tuple(holding(bp, state, trace, self.relu_layers) for bp in self.breakpoints)

    def start(self, state: TrainState, trace: Trace) -> None:
        """Remember what holds where the run starts."""
        self._before = self.status(state, trace)

    def crossed(self, state: TrainState, trace: Trace) -> Hit | None:
        """The first breakpoint that fires at `state` (the next state of the run), if any."""
        now = self.status(state, trace)
        before, self._before = self._before, now
        return self.first_crossing(before, now, state, trace, nonfinite_at_once=True)

    def first_crossing(
        self,
        before: tuple[frozenset[Member], ...],
        now: tuple[frozenset[Member], ...],
        state: TrainState,
        trace: Trace,
        nonfinite_at_once: bool = False,
    ) -> Hit | None:
        """The first breakpoint that holds of something in `now` that it did not in `before`."""
        for i, bp in enumerate(self.breakpoints):
            new = now[i] if nonfinite_at_once and bp.kind == "nonfinite" else now[i] - before[i]
            if new:
                return Hit(bp, state.step, describe(bp, new, state, trace))
        return None


def dead_units(trace: Trace, layer: int) -> np.ndarray:
    """Indices of the units of `layer` whose a is 0 for every example of the batch."""
    if trace.depth < layer or layer < 1:
        return np.empty(0, dtype=np.intp)
    dead: np.ndarray = np.flatnonzero(np.all(trace.a[layer] == 0.0, axis=1))
    return dead


def describe_nonfinite(state: TrainState, trace: Trace) -> str:
    """Where the first NaN or inf of a state appears: ``inf in z^(2)`` or ``NaN in W^(1)``."""
    for layer in range(1, state.params.depth + 1):
        for name, arr in (("W", state.params.W[layer]), ("b", state.params.b[layer])):
            if not np.isfinite(arr).all():
                return f"{_kind(arr)} in {name}^({layer})"
    found = trace.first_nonfinite()
    if found is None:
        return "all finite"
    name, layer = found
    if name == "cost":
        return f"{_kind(trace.per_example_cost)} in the cost"
    return f"{_kind(getattr(trace, name)[layer])} in {name}^({layer})"


def _kind(arr: np.ndarray) -> str:
    return "NaN" if np.isnan(arr).any() else "inf"


def _layers(bp: Breakpoint, trace: Trace) -> range:
    return range(bp.layer, bp.layer + 1) if bp.layer else range(1, trace.depth + 1)


# -- the prompt's syntax ------------------------------------------------------

_BREAKPOINT = re.compile(
    r"^\s*(?P<what>nan|inf|nonfinite|cost|grad|dead|step)\s*"
    r"(?P<op>[<>=])?\s*(?P<value>[^\s@]+)?\s*(?:@\s*(?P<layer>\d+))?\s*$",
    re.IGNORECASE,
)


def parse(text: str, depth: int) -> Breakpoint:
    """A Breakpoint from the prompt's short syntax (SYNTAX); ValueError saying what was expected.

    Numbers must be finite, a gradient norm >= 0 and a step a whole number
    from 0 to MAX_STEP.
    """
    match = _BREAKPOINT.match(text)
    if not match:
        raise ValueError(f"expected one of: {SYNTAX}")
    what, op, raw, raw_layer = (
        match["what"].lower(),
        match["op"],
        match["value"],
        match["layer"],
    )
    layer = int(raw_layer) if raw_layer else 0
    if layer > depth:
        raise ValueError(f"layer {layer} does not exist; the network has layers 1..{depth}")
    if what in ("nan", "inf", "nonfinite", "dead"):
        if op is not None or raw is not None:
            example = "dead @1" if what == "dead" else what
            raise ValueError(f"{what} takes no number, e.g. {example}")
        return Breakpoint("nonfinite") if what != "dead" else Breakpoint("dead_unit", layer=layer)
    if raw is None:
        raise ValueError(
            f"{what} needs a number, e.g. {what} {'< 0.05' if what == 'cost' else '100'}"
        )
    if what == "step":
        return Breakpoint("step", value=float(parse_step(raw)))
    value = parse_number(raw)
    if what == "cost":
        if op not in (None, "<"):
            raise ValueError("cost breakpoints stop when the cost falls below: cost < VALUE")
        return Breakpoint("cost_below", value=value)
    if op not in ("<", ">"):
        raise ValueError("expected grad > VALUE or grad < VALUE")
    if value < 0:
        raise ValueError(f"expected a gradient norm >= 0, got {raw}")
    kind: BreakpointKind = "grad_norm_above" if op == ">" else "grad_norm_below"
    return Breakpoint(kind, value=value, layer=layer)


def parse_number(text: str) -> float:
    """A finite number typed by the user (``0.5``, ``-1e-3``); ValueError saying why not."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text.strip()!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {text.strip()!r}")
    return value


def parse_step(text: str) -> int:
    """A step number typed by the user: a whole number from 0 to MAX_STEP; ValueError if not.

    ``1e3`` is 1000; ``1.5``, ``-1`` and ``1e999`` are refused.
    """
    raw = text.strip()
    try:
        step = int(raw)
    except ValueError:
        try:
            number = float(raw)
        except ValueError:
            number = math.nan
        step = int(number) if number.is_integer() else -1
    if not 0 <= step <= MAX_STEP:
        raise ValueError(
            f"expected a step number (a whole number from 0 to {MAX_STEP:,}), got {raw!r}"
        )
    return step
