"""Time travel over training updates: forward, back, jump, run until.

The timeline owns the state at the current step. It keeps the cost of every
step it has computed, and full states only at checkpoints; any other step
is rebuilt by replaying updates from the nearest checkpoint before it (as
rr replays a recording). Replay is the same arithmetic on the same arrays,
so the state at step N is bit for bit the same however it was reached.

Memory: checkpoints sit every `spacing` steps. When they outgrow
`memory_budget`, the spacing doubles and every other one is dropped, so
memory stays bounded and a seek replays at most `spacing` updates. Inside
the segment being stepped back through, a second level of checkpoints every
~sqrt(spacing) steps makes each step back cost at most ~sqrt(spacing)
updates: a two-level form of Griewank's checkpointing.

An edited state (`edit`) is pinned: replay passes through it instead of
recomputing it, and the history after it is discarded (a branch).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bpdebug.conditions import breakpoint_hit, describe_nonfinite
from bpdebug.engine import Params, Trace
from bpdebug.scenario.model import Breakpoint, Scenario
from bpdebug.training import Trainer, TrainState

DEFAULT_MEMORY_BUDGET = 160 * 2**20
"""Bytes of checkpointed states a timeline may hold (cost history not included)."""
INITIAL_SPACING = 32
"""Steps between checkpoints before memory pressure widens the spacing."""

NONFINITE = Breakpoint("nonfinite")


@dataclass(frozen=True)
class Stop:
    """Why `run_until` stopped, and where."""

    reason: Literal["breakpoint", "steps", "interrupted"]
    step: int
    breakpoint: Breakpoint | None = None
    detail: str = ""
    """What a person reads: ``cost < 0.05``, ``NaN in z^(2)``."""


class Timeline:
    """The state at the current step of one scenario, and the way to any other."""

    def __init__(self, scenario: Scenario, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> None:
        self.scenario = scenario
        self.trainer = Trainer(scenario)
        self.memory_budget = memory_budget
        """Upper bound on the bytes held by checkpoints."""
        start = self.trainer.initial_state()
        self._state = start
        self._trace: Trace | None = None
        self._checkpoints: dict[int, TrainState] = {0: start}
        self._checkpoint_bytes = start.nbytes()
        self._pinned: dict[int, TrainState] = {}
        self._spacing = INITIAL_SPACING
        self._fine: dict[int, TrainState] = {}
        self._fine_base = -1
        self._costs = np.full(1024, np.nan)
        self._frontier = 0
        self.relu_layers = frozenset(
            l
            for l in range(1, scenario.network.depth + 1)
            if scenario.network.activation_of(l) == "relu"
        )
        """Layers whose units can die (relu)."""
        self.branched_at: int | None = None
        """The step of the latest edit, or None if this history is the scenario's own."""

    # -- where we are ---------------------------------------------------
    @property
    def step(self) -> int:
        """The current step: how many updates have been applied."""
        return self._state.step

    @property
    def state(self) -> TrainState:
        """The training state at the current step."""
        return self._state

    @property
    def trace(self) -> Trace:
        """Forward and backward pass of the current state on its batch (computed once)."""
        if self._trace is None:
            self._trace = self._compute_trace(self._state)
        return self._trace

    @property
    def epoch(self) -> int:
        """The epoch of the current step's batch."""
        return self.trainer.schedule.epoch(self.step)

    @property
    def frontier(self) -> int:
        """The furthest step computed so far."""
        return self._frontier

    @property
    def spacing(self) -> int:
        """Steps between checkpoints now."""
        return self._spacing

    def costs(self) -> np.ndarray:
        """Cost C at steps 0..frontier (NaN where a step's pass was never computed)."""
        return self._costs[: self._frontier + 1]

    def memory(self) -> int:
        """Bytes held by checkpoints, pinned and fine states, and the cost history."""
        fine = sum(s.nbytes() for s in self._fine.values())
        pinned = sum(s.nbytes() for s in self._pinned.values())
        return self._checkpoint_bytes + fine + pinned + self._costs.nbytes

    # -- moving -----------------------------------------------------------
    def forward(self) -> None:
        """Apply one update: step N -> N+1 (and compute the new step's pass)."""
        self._set(*self._step(self._state, self.trace))

    def back(self) -> bool:
        """Rewind one update; False (and no change) at step 0."""
        if self.step == 0:
            return False
        self.seek(self.step - 1)
        return True

    def seek(self, step: int) -> None:
        """Go to step `step` (>= 0), replaying from the nearest saved state."""
        if step < 0:
            raise ValueError("step must be >= 0")
        if step == self.step:
            return
        if step > self.step and step - self.step <= self._spacing:
            self._replay(self._state, step, self._trace)
            return
        coarse = self._nearest_saved(step, fine=False)
        if step < self.step and step - coarse.step > 1 and coarse.step != self._fine_base:
            self._refine(coarse, step)
        base = self._nearest_saved(step)
        self._replay(base, step, self._trace if base is self._state else None)

    def run_until(
        self,
        breakpoints: Sequence[Breakpoint] = (),
        max_steps: int | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Stop:
        """Update until a breakpoint holds at the new state, NaN/inf appears,
        `max_steps` updates were made, or `should_stop()` says so.

        Conditions are tested on each new state (its own pass), never on the
        state it starts from.
        """
        checks = [NONFINITE, *(bp for bp in breakpoints if bp.kind != "nonfinite")]
        made = 0
        while max_steps is None or made < max_steps:
            self.forward()
            made += 1
            trace = self.trace
            for bp in checks:
                if breakpoint_hit(bp, self._state, trace, self.relu_layers):
                    detail = (
                        describe_nonfinite(self._state, trace)
                        if bp.kind == "nonfinite"
                        else bp.describe()
                    )
                    return Stop("breakpoint", self.step, bp, detail)
            if should_stop is not None and should_stop():
                return Stop("interrupted", self.step)
        return Stop("steps", self.step)

    def find_previous(self, breakpoints: Sequence[Breakpoint]) -> Stop | None:
        """The latest step before the current one where a breakpoint holds, or None.

        Replays the history segment by segment, newest first; does not move.
        """
        checks = [NONFINITE, *(bp for bp in breakpoints if bp.kind != "nonfinite")]
        end = self.step
        saved = sorted({**self._checkpoints, **self._pinned})
        starts = [s for s in saved if s < end]
        for start in reversed(starts):
            state = self._pinned.get(start) or self._checkpoints[start]
            found: Stop | None = None
            while state.step < end:
                trace = self._compute_trace(state)
                for bp in checks:
                    if breakpoint_hit(bp, state, trace, self.relu_layers):
                        detail = (
                            describe_nonfinite(state, trace)
                            if bp.kind == "nonfinite"
                            else bp.describe()
                        )
                        found = Stop("breakpoint", state.step, bp, detail)
                        break
                state = self._next(state, trace)
            if found is not None:
                return found
            end = start
        return None

    def state_at(self, step: int) -> TrainState:
        """The state at `step`, without moving the current step."""
        if step == self.step:
            return self._state
        state = self._nearest_saved(step)
        while state.step < step:
            state = self._next(state, self._compute_trace(state))
        return state

    def peek(self, step: int) -> tuple[TrainState, Trace]:
        """The state at `step` and its pass, without moving the current step."""
        if step == self.step:
            return self._state, self.trace
        state = self.state_at(step)
        return state, self._compute_trace(state)

    def edit(self, params: Params) -> None:
        """Replace the current parameters (a branch): later history is discarded."""
        state = TrainState(self.step, params, self._state.opt)
        step = self.step
        self._pinned = {s: p for s, p in self._pinned.items() if s < step}
        self._pinned[step] = state
        for s in [s for s in self._checkpoints if s > step]:
            self._checkpoint_bytes -= self._checkpoints.pop(s).nbytes()
        self._fine.clear()
        self._fine_base = -1
        self._costs[step:] = np.nan
        self._frontier = step
        self.branched_at = step
        self._state = state
        self._trace = None

    # -- internals --------------------------------------------------------
    def _compute_trace(self, state: TrainState) -> Trace:
        trace = self.trainer.trace(state)
        self._record_cost(state.step, trace.cost)
        return trace

    def _record_cost(self, step: int, cost: float) -> None:
        if step >= self._costs.size:
            grown = np.full(max(step + 1, 2 * self._costs.size), np.nan)
            grown[: self._costs.size] = self._costs
            self._costs = grown
        self._costs[step] = cost

    def _next(self, state: TrainState, trace: Trace) -> TrainState:
        pinned = self._pinned.get(state.step + 1)
        return pinned if pinned is not None else self.trainer.advance(state, trace)

    def _step(self, state: TrainState, trace: Trace) -> tuple[TrainState, Trace]:
        """The next state and its pass (a pinned edit if there is one), cost recorded."""
        pinned = self._pinned.get(state.step + 1)
        if pinned is not None:
            return pinned, self._compute_trace(pinned)
        new, new_trace = self.trainer.step(state, trace)
        self._record_cost(new.step, new_trace.cost)
        return new, new_trace

    def _set(self, state: TrainState, trace: Trace | None = None) -> None:
        self._state = state
        self._trace = trace
        if state.step > self._frontier:
            self._frontier = state.step
        if state.step % self._spacing == 0 and state.step not in self._checkpoints:
            self._add_checkpoint(state)

    def _replay(self, state: TrainState, step: int, trace: Trace | None) -> None:
        """Set the current state to `step` by updating forward from `state`."""
        if state.step < step:
            current = trace if trace is not None else self._compute_trace(state)
            while state.step < step:
                state, current = self._step(state, current)
                if state.step % self._spacing == 0 and state.step not in self._checkpoints:
                    self._add_checkpoint(state)
            trace = current
        self._set(state, trace)

    def _nearest_saved(self, step: int, fine: bool = True) -> TrainState:
        """The latest saved state at or before `step` (pinned edits win ties)."""
        best = self._checkpoints[0]
        base = (step // self._spacing) * self._spacing
        while base > 0 and base not in self._checkpoints:
            base -= self._spacing
        best = self._checkpoints.get(base, best)
        for s, state in self._pinned.items():
            if best.step <= s <= step:
                best = state
        if fine:
            for s, state in self._fine.items():
                if best.step < s <= step:
                    best = state
        if best.step < self.step <= step:
            best = self._state
        return best

    def _refine(self, base: TrainState, step: int) -> None:
        """Keep states every ~sqrt(gap) steps from `base` up to `step`, for stepping back."""
        stride = max(1, math.isqrt(step - base.step))
        self._fine = {}
        self._fine_base = base.step
        state = base
        while state.step < step:
            state = self._next(state, self._compute_trace(state))
            if (state.step - base.step) % stride == 0:
                self._fine[state.step] = state

    def _add_checkpoint(self, state: TrainState) -> None:
        self._checkpoints[state.step] = state
        self._checkpoint_bytes += state.nbytes()
        while self._checkpoint_bytes > self.memory_budget and len(self._checkpoints) > 2:
            self._spacing *= 2
            for s in [s for s in self._checkpoints if s % self._spacing]:
                self._checkpoint_bytes -= self._checkpoints.pop(s).nbytes()
