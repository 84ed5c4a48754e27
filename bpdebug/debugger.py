"""The debugger's state, apart from any screen: where in the pass we are, what is selected.

A step has phases, in the order the numbers are computed:
forward layer 1..L, the cost, backward layer L..1, then the update.
`step_into` moves one phase (past the update to the next step's forward
layer 1); `step_back` moves one phase back (before forward layer 1 to the
previous step's update). The selected layer follows the phase cursor.

This module never imports Textual: the app holds one Debugger and draws it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from bpdebug.engine import Activation, Params, Trace
from bpdebug.errors import InputError
from bpdebug.scenario.limits import REPLAY_STEPS, REPLAY_WORK, replay_limit_passed
from bpdebug.scenario.model import Breakpoint, BreakpointKind
from bpdebug.timeline import Stop, Timeline

PhaseKind = Literal["forward", "cost", "backward", "update"]


@dataclass(frozen=True)
class Phase:
    """One phase of a step: what has just been computed."""

    kind: PhaseKind
    layer: int
    """The layer computed in this phase (L for the cost, 0 for the update)."""

    def describe(self) -> str:
        """The phase in the seeds' notation: ``backward: delta^(1)``."""
        match self.kind:
            case "forward":
                return f"forward: z^({self.layer}), a^({self.layer})"
            case "cost":
                return "cost C"
            case "backward":
                return f"backward: delta^({self.layer})"
            case "update":
                return "update: W <- W - lr * dC/dW"


def phases(depth: int) -> tuple[Phase, ...]:
    """The 2L + 2 phases of a step of a network with L weighted layers."""
    return (
        *(Phase("forward", l) for l in range(1, depth + 1)),
        Phase("cost", depth),
        *(Phase("backward", l) for l in range(depth, 0, -1)),
        Phase("update", 0),
    )


@dataclass(frozen=True)
class PathTerm:
    """One path from a^(l)_j to the cost through unit q of layer l+1: w_qj * delta_q."""

    q: int
    weight: float
    delta: float


@dataclass(frozen=True)
class ChainRule:
    """dC_0/dw_jk^(l) = dz/dw * da/dz * dC/da for one example, and the batch mean.

    For a softmax layer da/dz is a Jacobian, not a number; `da_dz` is then
    None and `dC_dz` (delta) is shown directly.
    """

    layer: int
    j: int
    k: int
    example: int
    dz_dw: float
    """a_k^(l-1) of the example."""
    da_dz: float | None
    """g'(z_j^(l)) of the example (None for softmax)."""
    dC_da: float
    """dC_0/da_j^(l) of the example."""
    dC_dz: float
    """delta_j^(l) of the example."""
    paths: tuple[PathTerm, ...]
    """For a hidden layer: the terms of dC/da_j = sum_q w_qj^(l+1) delta_q^(l+1)."""
    product: float
    """dC_0/dw_jk for the example."""
    batch_mean: float
    """dC/dw_jk = mean over the batch (the contract's dW[l][j, k])."""
    reg: float
    """The regularization part of the update's gradient (0 without l1/l2)."""
    per_example: tuple[float, ...] = field(default=())
    """dC_0/dw_jk of every example in the batch."""


class Debugger:
    """One debugging session: a timeline, a phase cursor and a selection."""

    def __init__(self, timeline: Timeline, breakpoints: tuple[Breakpoint, ...] = ()) -> None:
        self.timeline = timeline
        self.phases = phases(timeline.scenario.network.depth)
        self.phase_index = len(self.phases) - 1
        """Index into `phases`; a new session shows the whole pass (the update phase)."""
        self.layer = timeline.scenario.network.depth
        """The selected weighted layer, 1..L."""
        self.j = 0
        """The selected unit of the selected layer."""
        self.k = 0
        """The selected unit of the layer before (the weight is w_jk)."""
        self.example: int | None = None
        """The selected example (a column of the batch), or None for the whole batch."""
        self.breakpoints: list[Breakpoint] = list(breakpoints)
        self.mark: int | None = None
        """The step `d` compares with; None means the step before."""
        self.paused: str = ""
        """Why the run last stopped, for the status line."""
        self.last_stop: Stop | None = None

    # -- where we are -----------------------------------------------------
    @property
    def depth(self) -> int:
        """L."""
        return self.timeline.scenario.network.depth

    @property
    def layers(self) -> tuple[int, ...]:
        """Units per layer, (n_0, ..., n_L)."""
        return self.timeline.scenario.network.layers

    @property
    def phase(self) -> Phase:
        """The current phase."""
        return self.phases[self.phase_index]

    @property
    def step(self) -> int:
        """The current step."""
        return self.timeline.step

    @property
    def trace(self) -> Trace:
        """The current step's pass."""
        return self.timeline.trace

    @property
    def params(self) -> Params:
        """The current step's parameters."""
        return self.timeline.state.params

    def known(self, quantity: str, layer: int) -> bool:
        """Whether `quantity` ("z", "a", "cost", "delta", "dW", "db") of `layer` is
        computed at the current phase (earlier phases show it as not yet computed)."""
        L = self.depth
        if quantity in ("z", "a"):
            return layer == 0 or self.phase_index >= layer - 1
        if quantity == "cost":
            return self.phase_index >= L
        return self.phase_index >= L + 1 + (L - layer)

    # -- moving through time ---------------------------------------------
    def step_into(self) -> None:
        """One phase forward; past the update, the next step's forward layer 1."""
        if self.phase_index == len(self.phases) - 1:
            self.timeline.forward()
            self.phase_index = 0
        else:
            self.phase_index += 1
        self._follow_phase()

    def step_back(self) -> bool:
        """One phase back; before forward layer 1, the previous step's update."""
        if self.phase_index == 0:
            if not self.timeline.back():
                return False
            self.phase_index = len(self.phases) - 1
        else:
            self.phase_index -= 1
        self._follow_phase()
        return True

    def next(self) -> None:
        """One whole update forward, keeping the phase."""
        self.timeline.forward()
        self._clamp_example()

    def rewind(self) -> bool:
        """One whole update back, keeping the phase; False at step 0."""
        moved = self.timeline.back()
        self._clamp_example()
        return moved

    def goto(self, step: int) -> None:
        """Jump to `step`, keeping the phase."""
        self.timeline.seek(step)
        self._clamp_example()

    def parse_goto(self, text: str) -> int:
        """The step a go-to answer names; ValueError saying why it cannot be gone to.

        A step past the computed history costs one update each to reach, so a
        go-to may replay no more than reopening a snapshot may: at most
        BPDEBUG_MAX_REPLAY_STEPS updates past the furthest step computed so
        far, and at most BPDEBUG_MAX_REPLAY_WORK updates x batch x parameters.
        """
        step = parse_step(text)
        frontier = self.timeline.frontier
        updates = step - frontier
        if updates <= 0:
            return step
        scenario = self.timeline.scenario
        work = updates * scenario.training.batch_size * scenario.network.parameters
        try:
            passed = replay_limit_passed(updates, work)
        except InputError as error:  # a malformed variable
            raise ValueError(str(error)) from None
        ahead = f"step {step:,} is {updates:,} updates past the last computed step {frontier:,}"
        if passed is REPLAY_STEPS:
            raise ValueError(f"{ahead}; expected at most {passed.value():,} ({passed.note()})")
        if passed is REPLAY_WORK:
            raise ValueError(
                f"{ahead}, {work:.3g} multiply-adds (updates x batch x"
                f" parameters); expected at most {passed.value():.3g} ({passed.note()})"
            )
        return step

    def continue_(
        self, should_stop: Callable[[], bool] | None = None, max_steps: int | None = None
    ) -> Stop:
        """Train until a breakpoint (or NaN/inf, or `max_steps`); see Timeline.run_until."""
        stop = self.timeline.run_until(
            self.breakpoints, max_steps=max_steps, should_stop=should_stop
        )
        self._after_stop(stop)
        return stop

    def reverse_continue(self) -> Stop | None:
        """Go back to the latest earlier step where a breakpoint holds; None if none."""
        stop = self.timeline.find_previous(self.breakpoints)
        if stop is not None:
            self.timeline.seek(stop.step)
            self._after_stop(stop)
        return stop

    def _after_stop(self, stop: Stop) -> None:
        self.last_stop = stop
        if stop.reason == "breakpoint":
            nonfinite = stop.breakpoint is not None and stop.breakpoint.kind == "nonfinite"
            self.paused = stop.detail if nonfinite else f"breakpoint {stop.detail}"
            if nonfinite:
                self._select_nonfinite()
        else:
            self.paused = "paused" if stop.reason == "interrupted" else ""
        self._clamp_example()

    def _select_nonfinite(self) -> None:
        found = self.trace.first_nonfinite()
        if found is not None:
            _, layer = found
            self.layer = max(1, layer)

    # -- selection ---------------------------------------------------------
    def _follow_phase(self) -> None:
        if self.phase.layer:
            self.select_layer(self.phase.layer)
        self._clamp_example()

    def select_layer(self, layer: int) -> None:
        """Select weighted layer `layer` (clamped to 1..L), keeping j, k in range."""
        self.layer = min(max(layer, 1), self.depth)
        self.j = min(self.j, self.layers[self.layer] - 1)
        self.k = min(self.k, self.layers[self.layer - 1] - 1)

    def move_unit(self, dj: int) -> None:
        """Select another unit j of the selected layer."""
        self.j = (self.j + dj) % self.layers[self.layer]

    def move_input(self, dk: int) -> None:
        """Select another unit k of the layer before (another weight w_jk)."""
        self.k = (self.k + dk) % self.layers[self.layer - 1]

    def cycle_example(self, delta: int = 1) -> None:
        """Cycle the example selector: batch, 0, 1, ..., m-1, batch."""
        m = self.trace.batch_size
        current = -1 if self.example is None else self.example
        nxt = (current + 1 + delta) % (m + 1) - 1
        self.example = None if nxt < 0 else nxt

    def _clamp_example(self) -> None:
        if self.example is not None and self.example >= self.trace.batch_size:
            self.example = self.trace.batch_size - 1

    # -- what the panes show ----------------------------------------------
    def chain_rule(self) -> ChainRule:
        """The chain rule for the selected weight and example (example 0 for the batch)."""
        net = self.timeline.trainer.network
        trace = self.trace
        l, j, k = self.layer, self.j, self.k
        i = self.example or 0
        return chain_rule_for(trace, self.params.W, net.activations[l], l, j, k, i)

    def edit_weight(self, value: float) -> None:
        """Set w_jk of the selected layer to `value`: history branches from this step."""
        W = np.array(self.params.W[self.layer])
        W[self.j, self.k] = value
        self.timeline.edit(self.params.replace(self.layer, W=W))

    def next_weight(self) -> float:
        """w_jk of the selected layer after this step's update (from the next state)."""
        state = self.timeline.state_at(self.step + 1)
        return float(state.params.W[self.layer][self.j, self.k])

    def reference_step(self) -> int | None:
        """The step `d` compares with: the mark, or the step before; None at step 0."""
        if self.mark is not None and self.mark != self.step:
            return self.mark
        return self.step - 1 if self.step > 0 else None


def chain_rule_for(
    trace: Trace,
    W: tuple[np.ndarray, ...],
    activation: Activation,
    l: int,
    j: int,
    k: int,
    i: int,
) -> ChainRule:
    """dC_0/dw_jk^(l) for example i, factor by factor, from a recorded pass.

    `W` is the weights by layer (for the paths through layer l+1) and
    `activation` is g of layer l (for g'(z)).
    """
    a_prev = trace.a[l - 1]
    delta = trace.delta[l]
    if l == trace.depth:
        dC_da = float(trace.dC_da[j, i])
        paths: tuple[PathTerm, ...] = ()
    else:
        nxt = trace.delta[l + 1]
        paths = tuple(
            PathTerm(q, float(W[l + 1][q, j]), float(nxt[q, i])) for q in range(nxt.shape[0])
        )
        dC_da = float(W[l + 1][:, j] @ nxt[:, i])
    da_dz = (
        float(activation.derivative(trace.z[l][:, i : i + 1], trace.a[l][:, i : i + 1])[j, 0])
        if activation.elementwise
        else None
    )
    per_example = delta[j, :] * a_prev[k, :]
    return ChainRule(
        layer=l,
        j=j,
        k=k,
        example=i,
        dz_dw=float(a_prev[k, i]),
        da_dz=da_dz,
        dC_da=dC_da,
        dC_dz=float(delta[j, i]),
        paths=paths,
        product=float(per_example[i]),
        batch_mean=float(trace.dW[l][j, k]),
        reg=float(trace.dW_reg[l][j, k]) if trace.dW_reg[l].size else 0.0,
        per_example=tuple(float(x) for x in per_example),
    )


BREAKPOINT_SYNTAX = (
    "nan | cost < 0.05 | grad > 10 | grad < 1e-6 @2 | dead | dead @1 | step 100   (@l = layer l)"
)
"""What the breakpoint prompt accepts, as the prompt shows it."""

MAX_STEP = 10**12
"""The largest step number the prompts take: far past any real run, small enough to count."""

_BREAKPOINT = re.compile(
    r"^\s*(?P<what>nan|inf|nonfinite|cost|grad|dead|step)\s*"
    r"(?P<op>[<>=])?\s*(?P<value>[^\s@]+)?\s*(?:@\s*(?P<layer>\d+))?\s*$",
    re.IGNORECASE,
)


def parse_breakpoint(text: str, depth: int) -> Breakpoint:
    """A Breakpoint from the prompt's short syntax (BREAKPOINT_SYNTAX); ValueError if bad.

    The message says what was expected: numbers must be finite, a gradient
    norm >= 0 and a step a whole number from 0 to MAX_STEP.
    """
    match = _BREAKPOINT.match(text)
    if not match:
        raise ValueError(f"expected one of: {BREAKPOINT_SYNTAX}")
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
