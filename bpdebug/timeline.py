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

An edited state (`edit_weight`) is pinned: replay passes through it instead
of recomputing it, and the history after it is discarded (a branch). The
edits are kept as data (`edits`), so a snapshot can carry them and
reopening it can make the same history again.

Long motions come in two forms: a generator (`seeking`, `searching_back`)
that does one update per item and yields (done, total), so a caller can
show progress, release a lock between chunks and stop at any item, leaving
the current step where it was; and a plain method (`seek`,
`find_previous`) that runs the generator to its end.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpdebug.breakpoints import Watch, holding
from bpdebug.engine import Params, Trace
from bpdebug.health import Health, HealthHistory

# The small values the motions take and give, importable from here too.
from bpdebug.motion import Edit as Edit
from bpdebug.motion import Progress as Progress
from bpdebug.motion import Stop as Stop
from bpdebug.motion import finish as finish
from bpdebug.scenario.model import Breakpoint, Scenario
from bpdebug.training import Trainer, TrainState, surely_finite

DEFAULT_MEMORY_BUDGET = 160 * 2**20
"""Bytes of checkpointed states a timeline may hold (cost and health histories not included)."""
INITIAL_SPACING = 32
"""Steps between checkpoints before memory pressure widens the spacing."""
HEALTH_EVERY = 10
"""A long run (`run_until`) records layer health every this many steps (and
where it stops): at every step it would cost a tenth of a small network's update."""


@dataclass(frozen=True)
class Origin:
    """Where a branch's history leaves its parent's (see `Timeline`)."""

    parent: Timeline
    step: int
    """The fork. The branch shares the parent's states before it and the parameters
    at it; from the pass of this step on (so update step+1 onward) its own settings
    hold."""


class Timeline:
    """The state at the current step of one scenario, and the way to any other.

    A branch's timeline (`origin` given, see bpdebug.branches) is one whose
    scenario's settings hold from its fork on: before the fork it replays
    its parent's states with its parent's trainer (sharing the parent's
    saved states, which are immutable), at the fork it starts from the
    parent's parameters (with the optimizer's state kept, or fresh for
    another optimizer: `start`), and after it trains with its own trainer.
    So a branch's step N is bit for bit the same however it is reached, and
    the parent's history is untouched.
    """

    def __init__(
        self,
        scenario: Scenario,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        origin: Origin | None = None,
        trainer: Trainer | None = None,
        start: TrainState | None = None,
    ) -> None:
        self.scenario = scenario
        """The scenario whose settings hold from the fork on (all along for a root)."""
        self._trainer = trainer or Trainer(scenario)
        self.origin = origin
        self.memory_budget = memory_budget
        """Upper bound on the bytes held by checkpoints."""
        if start is None:
            start = self._trainer.initial_state()
        self._state = start
        self._trace: Trace | None = None
        self._checkpoints: dict[int, TrainState] = {start.step: start}
        self._checkpoint_bytes = start.nbytes()
        self._pinned: dict[int, TrainState] = {}
        self._spacing = INITIAL_SPACING
        self._fine: dict[int, TrainState] = {}
        self._fine_base = -1
        self._costs = np.full(1024, np.nan)
        network = scenario.network
        self._health = HealthHistory(
            network.layers, [network.activation_of(l) for l in range(1, network.depth + 1)]
        )
        self._frontier = start.step
        self.relu_layers = frozenset(
            l
            for l in range(1, scenario.network.depth + 1)
            if scenario.network.activation_of(l) == "relu"
        )
        """Layers whose units can die (relu)."""
        self.edits: list[Edit] = []
        """The weights set by hand in this history, oldest first."""
        self.revision = 0
        """Counts changes of the current state (a move or a branch): a screen redraws on it."""
        self.grafted_at: int | None = None
        """The step whose parameters were replaced whole (`graft`), if any."""
        self.branch: Any = None
        """The `bpdebug.branches.Branch` this history is, once a session holds it."""
        if origin is not None:
            self._share_before(origin, start)

    def _share_before(self, origin: Origin, start: TrainState) -> None:
        """Take the parent's history before the fork: its saved states (shared, not
        copied), edits, costs and health; pin the branch's own state at the fork."""
        parent, fork = origin.parent, origin.step
        if start.step != fork:
            raise ValueError(f"a branch at step {fork} must start there, not at {start.step}")
        for s, state in parent._checkpoints.items():
            if s < fork:
                self._checkpoints[s] = state  # shared: the parent counts its bytes
        self._pinned = {s: p for s, p in parent._pinned.items() if s < fork}
        self._pinned[fork] = start
        self.edits = [e for e in parent.edits if e.step <= fork]
        if parent.grafted_at is not None and parent.grafted_at <= fork:
            self.grafted_at = parent.grafted_at
        self._record_cost(fork, math.nan)
        self._costs[:fork] = parent._costs[:fork]
        self._health.adopt(parent._health, fork)

    # -- whose arithmetic ---------------------------------------------------
    @property
    def trainer(self) -> Trainer:
        """The trainer of the current step: its batch, network and optimizer."""
        return self.trainer_at(self._state.step)

    def trainer_at(self, step: int) -> Trainer:
        """The trainer whose pass of state `step` and update from it this history makes:
        a branch's own from its fork on, its parent's before."""
        origin = self.origin
        if origin is not None and step < origin.step:
            return origin.parent.trainer_at(step)
        return self._trainer

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

    @property
    def health(self) -> Health:
        """Layer health at steps 0..frontier, read-only (bpdebug.health; NaN where not known)."""
        return self._health.view(self._frontier)

    def memory(self) -> int:
        """Bytes held by checkpoints, pinned and fine states, and the cost and health histories."""
        fine = sum(s.nbytes() for s in self._fine.values())
        pinned = sum(s.nbytes() for s in self._pinned.values())
        histories = self._costs.nbytes + self._health.nbytes()
        return self._checkpoint_bytes + fine + pinned + histories

    # -- moving -----------------------------------------------------------
    @property
    def branched_at(self) -> int | None:
        """The step of the latest edit, or None if this history is the scenario's own."""
        steps = [e.step for e in self.edits]
        if self.grafted_at is not None:
            steps.append(self.grafted_at)
        return max(steps, default=None)

    def next(self) -> bool:
        """Apply one update: step N -> N+1 (and compute the new step's pass). Always moves."""
        self._set(*self._step(self._state, self.trace))
        return True

    def back(self) -> bool:
        """Rewind one update; False (and no change) at step 0."""
        if self.step == 0:
            return False
        self.seek(self.step - 1)
        return True

    def seek(self, step: int) -> None:
        """Go to step `step` (>= 0), replaying from the nearest saved state."""
        finish(self.seeking(step))

    def seeking(self, step: int) -> Generator[Progress, None, None]:
        """`seek`, one update per item; stopped early, the current step stays as it was.

        What a stopped seek computed is kept (checkpoints, costs), so going
        there again costs less.
        """
        if step < 0:
            raise ValueError("step must be >= 0")
        if step == self.step:
            return
        if step > self.step and step - self.step <= self._spacing:
            yield from self._replaying(self._state, step, self._trace)
            return
        coarse = self._nearest_saved(step, fine=False)
        refine = step < self.step and step - coarse.step > 1 and coarse.step != self._fine_base
        base = coarse if refine else self._nearest_saved(step)
        total = step - base.step
        if refine:
            yield from self._refining(coarse, step, total)
            base = self._nearest_saved(step)
        yield from self._replaying(base, step, self._trace if base is self._state else None, total)

    def run_until(
        self,
        breakpoints: Sequence[Breakpoint] = (),
        max_steps: int | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Stop:
        """Update until a breakpoint is crossed, NaN/inf appears, `max_steps`
        updates were made, or `should_stop()` says so.

        A breakpoint fires on the first new state where it holds and the one
        before did not (see bpdebug.breakpoints); the state the run starts
        from is only the "before" of the first update.

        Speed: the NaN/inf watch, always on, is judged by `surely_finite`
        from the cost, the z's and the next update's parameters (computed
        one update ahead, then used as the next state); only when that
        cannot vouch for a state is every array looked at. The update after
        the last is computed and dropped. The passes of the states run
        through are made read-only only for the state the run ends on (the
        others are dropped): `should_stop` may read `trace` but not keep it.
        Layer health is recorded every HEALTH_EVERY steps and where the run
        stops.
        """
        watch = Watch(breakpoints, self.relu_layers)
        before = watch.status(self._state, self.trace)
        nonfinite, *others = watch.breakpoints
        relu = self.relu_layers
        trainer, pinned = self.trainer, self._pinned
        # A branch run from before its fork passes from its parent's trainer to its own.
        shared = self.origin.step if self.origin is not None else 0
        made = 0
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                state, trace = self._state, self.trace
                ahead = pinned.get(state.step + 1) or self._advance_unguarded(state, trace)
                while max_steps is None or made < max_steps:
                    state = ahead
                    if state.step <= shared:
                        trainer = self.trainer_at(state.step)
                    trace = trainer.trace_unguarded(state, frozen=False)
                    self._record_cost(state.step, trace.cost)
                    self._set(state, trace)
                    made += 1
                    edited = pinned.get(state.step + 1)
                    ahead = edited or trainer.advance_unguarded(state, trace)
                    if state.step % HEALTH_EVERY == 0:
                        self._record_health(state, trace, None if edited else ahead)
                    finite = edited is None and surely_finite(trace, ahead.params)
                    if others or not finite:
                        now = (
                            frozenset() if finite else holding(nonfinite, state, trace, relu),
                            *(holding(bp, state, trace, relu) for bp in others),
                        )
                        hit = watch.first_crossing(before, now, state, trace, True)
                        if hit is not None:
                            return Stop.hit(hit)
                        before = now
                    if should_stop is not None and should_stop():
                        return Stop("interrupted", self.step)
            return Stop("steps", self.step)
        finally:
            if made and state.step % HEALTH_EVERY:
                # Where the run stops its health is known, the update after it included.
                update = ahead.step > state.step and ahead is not pinned.get(ahead.step)
                self._record_health(state, trace, ahead if update else None)
            if self._trace is not None:
                self._trace.freeze()

    def find_previous(self, breakpoints: Sequence[Breakpoint]) -> Stop | None:
        """The latest step before the current one where a breakpoint was crossed, or None."""
        return finish(self.searching_back(breakpoints))

    def searching_back(
        self, breakpoints: Sequence[Breakpoint]
    ) -> Generator[Progress, None, Stop | None]:
        """`find_previous`, one update per item; it never moves the current step.

        A crossing at step s needs s - 1, so step 0 is never one. The history
        is replayed segment by segment, newest first; a segment's first state
        is judged once the segment before it gives its "before".
        """
        watch = Watch(breakpoints, self.relu_layers)
        end = self.step
        saved = sorted({**self._checkpoints, **self._pinned})
        starts = [s for s in saved if s < end]
        done = 0
        Seen = tuple[TrainState, tuple[frozenset[tuple[int, ...]], ...]]
        later: Seen | None = None
        for start in reversed(starts):
            state = self._pinned.get(start) or self._checkpoints[start]
            # What holds at each state, not its pass: a segment can be thousands
            # of states long; the pass of a crossing is computed again to name it.
            seen: list[Seen] = []
            while state.step < end:
                trace = self._compute_trace(state)
                seen.append((state, watch.status(state, trace)))
                state = self._next(state, trace)
                done += 1
                yield done, self.step
            if later is not None:
                seen.append(later)
            for (_, before), (state, now) in reversed(list(itertools.pairwise(seen))):
                if any(n - b for n, b in zip(now, before, strict=True)):
                    trace = self._compute_trace(state)
                    hit = watch.first_crossing(before, now, state, trace)
                    if hit is not None:
                        return Stop.hit(hit)
            later = seen[0]
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

    def edit_weight(self, layer: int, j: int, k: int, value: float) -> bool:
        """Set w_jk^(layer) at the current step: a branch, later history discarded.

        False (and nothing changes) when the weight already has that value.
        """
        W = self._state.params.W[layer]
        if W[j, k] == value and math.copysign(1, W[j, k]) == math.copysign(1, value):
            return False
        changed = np.array(W)
        changed[j, k] = value
        self._branch(self._state.params.replace(layer, W=changed))
        self.edits.append(Edit(self.step, layer, j, k, value))
        return True

    def graft(self, params: Params) -> None:
        """Replace all parameters at the current step (a branch with no edit record).

        For states that come whole from elsewhere, such as a snapshot that
        predates edit records; the history before this step stays the
        scenario's own.
        """
        self._branch(params)
        self.grafted_at = self.step

    def _branch(self, params: Params) -> None:
        """Pin `params` at the current step; the history after it is discarded."""
        if self.origin is not None and self.step < self.origin.step:
            raise ValueError(
                f"step {self.step} is shared with the parent history (the branch starts at"
                f" {self.origin.step}): change it on a new branch"
            )
        self.edits = [e for e in self.edits if e.step <= self.step]
        if self.grafted_at is not None and self.grafted_at > self.step:
            self.grafted_at = None
        state = TrainState(self.step, params, self._state.opt)
        step = self.step
        self._pinned = {s: p for s, p in self._pinned.items() if s < step}
        self._pinned[step] = state
        for s in [s for s in self._checkpoints if s > step]:
            self._checkpoint_bytes -= self._checkpoints.pop(s).nbytes()
        self._fine.clear()
        self._fine_base = -1
        self._costs[step:] = np.nan
        self._health.truncate(step)
        self._frontier = step
        self._state = state
        self._trace = None
        self.revision += 1

    # -- internals --------------------------------------------------------
    def _compute_trace(self, state: TrainState) -> Trace:
        trace = self.trainer_at(state.step).trace(state)
        self._record(state, trace)
        return trace

    def _record(self, state: TrainState, trace: Trace) -> None:
        """Keep the cost and the layer health of `state`, whose pass is `trace`."""
        self._record_cost(state.step, trace.cost)
        self._record_health(state, trace)

    def _record_cost(self, step: int, cost: float) -> None:
        if step >= self._costs.size:
            grown = np.full(max(step + 1, 2 * self._costs.size), np.nan)
            grown[: self._costs.size] = self._costs
            self._costs = grown
        self._costs[step] = cost

    def _record_health(
        self, state: TrainState, trace: Trace, after: TrainState | None = None
    ) -> None:
        """Keep `state`'s layer health, and the ratio of its update to `after` if given."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self._health.record_pass(state.step, state.params, trace)
            if after is not None:
                self._health.record_update(state.step, state.params, after.params)

    def _advance_unguarded(self, state: TrainState, trace: Trace) -> TrainState:
        """The optimizer's update from `state`, its ratio recorded (warnings silenced)."""
        new = self.trainer_at(state.step).advance_unguarded(state, trace)
        self._health.record_update(state.step, state.params, new.params)
        return new

    def _next(self, state: TrainState, trace: Trace) -> TrainState:
        pinned = self._pinned.get(state.step + 1)
        if pinned is not None:
            return pinned
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._advance_unguarded(state, trace)

    def _step(self, state: TrainState, trace: Trace) -> tuple[TrainState, Trace]:
        """The next state and its pass (a pinned edit if there is one), cost and health recorded."""
        pinned = self._pinned.get(state.step + 1)
        if pinned is not None:
            return pinned, self._compute_trace(pinned)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            new = self._advance_unguarded(state, trace)
            new_trace = self.trainer_at(new.step).trace_unguarded(new)
            self._record(new, new_trace)
        return new, new_trace

    def _set(self, state: TrainState, trace: Trace | None = None) -> None:
        self.revision += 1
        self._state = state
        self._trace = trace
        if state.step > self._frontier:
            self._frontier = state.step
        if state.step % self._spacing == 0 and state.step not in self._checkpoints:
            self._add_checkpoint(state)

    def _replaying(
        self, state: TrainState, step: int, trace: Trace | None, total: int = 0
    ) -> Generator[Progress, None, None]:
        """Set the current state to `step` by updating forward from `state`; the
        current state changes only at the end."""
        total = total or step - state.step
        if state.step < step:
            current = trace if trace is not None else self._compute_trace(state)
            while state.step < step:
                yield total - (step - state.step), total
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

    def _refining(self, base: TrainState, step: int, total: int) -> Generator[Progress, None, None]:
        """Keep states every ~sqrt(gap) steps from `base` up to `step`, for stepping back.

        The fine states replace the old ones only when all are computed.
        """
        stride = max(1, math.isqrt(step - base.step))
        fine: dict[int, TrainState] = {}
        state = base
        while state.step < step:
            yield state.step - base.step, total
            state = self._next(state, self._compute_trace(state))
            if (state.step - base.step) % stride == 0:
                fine[state.step] = state
        self._fine = fine
        self._fine_base = base.step

    def _add_checkpoint(self, state: TrainState) -> None:
        self._checkpoints[state.step] = state
        self._checkpoint_bytes += state.nbytes()
        self._fit_budget()

    def _fit_budget(self) -> None:
        """Widen the spacing until this history's own checkpoints fit its budget."""
        own = self.origin.step if self.origin is not None else 0
        while self._checkpoint_bytes > self.memory_budget and len(self._checkpoints) > 2:
            self._spacing *= 2
            for s in [s for s in self._checkpoints if s % self._spacing and s != own]:
                dropped = self._checkpoints.pop(s)
                if s > own:  # a state shared with the parent is the parent's to count
                    self._checkpoint_bytes -= dropped.nbytes()

    def set_budget(self, memory_budget: int) -> None:
        """Give this history a new checkpoint budget (branches share one), thinning now."""
        self.memory_budget = memory_budget
        self._fit_budget()
