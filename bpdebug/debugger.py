"""The debugger's state, apart from any screen: where in the pass we are, what is selected.

A step has phases, in the order the numbers are computed: the batch
(nothing computed yet: the inputs a^(0) = x, the targets y and the
parameters), forward layer 1..L, the cost, backward layer L..1, then the
update. `step_into` moves one phase (past the update to the next step's
batch); `step_back` moves one phase back (before the batch to the previous
step's update). The selected layer follows the phase cursor. A session
opens at step 0's batch, so the first `s` computes z^(1).

This module never imports Textual: the app holds one Debugger and draws it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Literal

from bpdebug.branches import Branch, Branches
from bpdebug.breakpoints import parse_step
from bpdebug.chainrule import ChainRule, chain_rule_at
from bpdebug.engine import Params, Trace
from bpdebug.errors import InputError
from bpdebug.scenario.limits import REPLAY_STEPS, REPLAY_WORK, replay_limit_passed
from bpdebug.scenario.model import Breakpoint
from bpdebug.timeline import Progress, Stop, Timeline, finish

PhaseKind = Literal["input", "forward", "cost", "backward", "update"]


@dataclass(frozen=True)
class Phase:
    """One phase of a step: what has just been computed."""

    kind: PhaseKind
    layer: int
    """The layer computed in this phase (L for the cost, 0 for the batch and the update)."""

    def describe(self) -> str:
        """The phase as the header names it: ``forward, layer 1``, ``cost``, ``update``."""
        match self.kind:
            case "input":
                return "the batch"
            case "forward" | "backward":
                return f"{self.kind}, layer {self.layer}"
            case _:
                return self.kind


def phases(depth: int) -> tuple[Phase, ...]:
    """The 2L + 3 phases of a step of a network with L weighted layers."""
    return (
        Phase("input", 0),
        *(Phase("forward", l) for l in range(1, depth + 1)),
        Phase("cost", depth),
        *(Phase("backward", l) for l in range(depth, 0, -1)),
        Phase("update", 0),
    )


class Debugger:
    """One debugging session: a timeline, a phase cursor and a selection."""

    def __init__(
        self,
        timeline: Timeline,
        breakpoints: tuple[Breakpoint, ...] = (),
        branches: Branches | None = None,
    ) -> None:
        self.branches = Branches.of(timeline) if branches is None else branches
        """The session's histories: `timeline` is main's (bpdebug.branches); `branches`, a
        session whose main it is (reopening a snapshot rebuilds its branches there)."""
        self.phases = phases(timeline.scenario.network.depth)
        self.phase_index = 0
        """Index into `phases`; a new session opens at the batch, before forward layer 1."""
        self.layer = 1
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
        """Why the run last stopped, as the status line says it: ``paused``,
        ``breakpoint cost < 0.05: C = 0.0497``, ``NaN in z^(2)``; empty once time moves."""
        self.last_stop: Stop | None = None
        self.hits: list[int] = []
        """Steps where a run stopped at a breakpoint this session (the cost plot marks them)."""

    # -- where we are -----------------------------------------------------
    @property
    def timeline(self) -> Timeline:
        """The current branch's history."""
        return self.branches.timeline

    @property
    def branch(self) -> Branch:
        """The branch the session is on."""
        return self.branches.current

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
            return layer == 0 or self.phase_index >= layer
        if quantity == "cost":
            return self.phase_index >= L + 1
        return self.phase_index >= L + 2 + (L - layer)

    # -- moving through time ---------------------------------------------
    def step_into(self) -> None:
        """One phase forward; past the update, the next step's batch."""
        if self.phase_index == len(self.phases) - 1:
            self.timeline.next()
            self.phase_index = 0
        else:
            self.phase_index += 1
        self._follow_phase()

    def step_back(self) -> bool:
        """One phase back; before the batch, the step before's update. False at the start."""
        return finish(self.stepping_back())

    def stepping_back(self) -> Generator[Progress, None, bool]:
        """`step_back` as a long motion (crossing into the step before may replay)."""
        if self.phase_index == 0:
            if self.step == 0:
                return False
            yield from self.timeline.seeking(self.step - 1)
            self.phase_index = len(self.phases) - 1
        else:
            self.phase_index -= 1
        self._follow_phase()
        return True

    def next(self) -> bool:
        """One whole update forward, keeping the phase. Always moves."""
        self.timeline.next()
        self._clamp_example()
        return True

    def rewind(self) -> bool:
        """One whole update back, keeping the phase; False at step 0."""
        return finish(self.rewinding())

    def rewinding(self) -> Generator[Progress, None, bool]:
        """`rewind` as a long motion."""
        if self.step == 0:
            return False
        yield from self.timeline.seeking(self.step - 1)
        self._clamp_example()
        return True

    def goto(self, step: int) -> None:
        """Jump to `step`, keeping the phase."""
        finish(self.going_to(step))

    def going_to(self, step: int) -> Generator[Progress, None, bool]:
        """`goto` as a long motion; True if the step changed."""
        moved = step != self.step
        yield from self.timeline.seeking(step)
        self._clamp_example()
        return moved

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
        """Go back to the latest earlier step where a breakpoint was crossed; None if none."""
        return finish(self.reversing())

    def reversing(self) -> Generator[Progress, None, Stop | None]:
        """`reverse_continue` as a long motion: search back, then go there."""
        stop = yield from self.timeline.searching_back(self.breakpoints)
        if stop is not None:
            yield from self.timeline.seeking(stop.step)
            self._after_stop(stop)
        return stop

    def _after_stop(self, stop: Stop) -> None:
        """Where a run or a search stopped: the whole pass of that step is shown (the update
        phase), or for a NaN/inf the phase that computed the first one, its layer selected."""
        self.last_stop = stop
        self.phase_index = len(self.phases) - 1
        if stop.reason == "breakpoint":
            if stop.step not in self.hits:
                self.hits.append(stop.step)
            nonfinite = stop.breakpoint is not None and stop.breakpoint.kind == "nonfinite"
            self.paused = stop.detail if nonfinite else f"breakpoint {stop.detail}"
            if nonfinite:
                self._select_nonfinite()
        else:
            self.paused = ""  # the caller says why it stopped asking (c pressed again)
        self._clamp_example()

    def _select_nonfinite(self) -> None:
        found = self.trace.first_nonfinite()
        if found is not None:
            name, layer = found
            kind = {"z": "forward", "a": "forward", "cost": "cost"}.get(name, "backward")
            self.phase_index = self.phases.index(Phase(kind, layer))  # type: ignore[arg-type]
            self.select_layer(max(1, layer))

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
        i = self.example or 0
        return chain_rule_at(net, self.params, self.trace, self.layer, self.j, self.k, i)

    def edit_weight(self, value: float) -> bool:
        """Set w_jk of the selected layer to `value`, on a branch from this step (the
        history it leaves stays, see Branches.edit_weight).

        False (no branch) when the weight already has that value.
        """
        changed = self.branches.edit_weight(self.layer, self.j, self.k, value)
        if changed:
            self.paused = ""  # why the run stopped was said of the state before the edit
        return changed

    # -- branches -----------------------------------------------------------
    def new_branch(self, changes: dict[str, object]) -> Branch:
        """Continue from this step with `changes` on a new branch (an architecture
        change: from step 0), and go there, at this phase if it is at the same step.
        InputError or ValueError (nothing made) for a setting that cannot be."""
        branch = self.branches.branch(changes)
        self._arrived()
        return branch

    def switch_branch(self, name: str) -> Branch:
        """Go to branch `name`, at the step it was left at; KeyError if there is none."""
        branch = self.branches.switch(name)
        self._arrived()
        return branch

    def on(self, branch: Branch) -> Debugger:
        """This session's phase and selection on `branch`, at the step `branch` is at: what
        the two-branch view and `d` across branches draw. It shares the session's branches:
        moving it moves `branch`, never the current one."""
        other = copy.copy(self)
        other.branches = copy.copy(self.branches)
        other.branches.current = branch
        other.mark = None
        if other.example is not None and other.example >= other.trace.batch_size:
            other.example = None
        return other

    def _arrived(self) -> None:
        """On another history: what was said of the last one no longer holds."""
        self.paused = ""
        self.last_stop = None
        self.mark = None
        self._clamp_example()

    def reference_step(self) -> int | None:
        """The step `d` compares with: the mark, or the step before; None at step 0."""
        if self.mark is not None and self.mark != self.step:
            return self.mark
        return self.step - 1 if self.step > 0 else None
