"""Branches: what-if histories that share their past (issue 11).

A session holds a tree of histories. The first, ``main``, is the
scenario's own. At any step a branch changes training settings (learning
rate, optimizer and its constants, batch size, l1/l2) and continues from
there; one that changes the architecture (the activations, the loss)
starts from step 0 with the same initial weights; a weight edit is a
branch too. No history is ever replaced: each branch is its own
`Timeline` whose past before the fork is its parent's (see
`bpdebug.timeline.Origin`), and the user switches between them.

Decisions:
- A branch at step N shares the parameters of step N; the pass of step N
  and every update from it use the branch's settings.
- The optimizer's state (momentum's v; adam's m, v and t) is kept when the
  optimizer stays the same (with new constants, e.g. a new beta1, it goes
  on from the state it has); another optimizer starts with a fresh state.
- The same batch size keeps the parent's batches, step for step, so two
  branches that differ in the learning rate see the same examples. A new
  batch size starts a new epoch at the fork (shuffled by the scenario's
  seed and the epoch's number, as every epoch is).
- An architecture branch starts at step 0 from the root's initial
  parameters, whatever its initialisation would draw.
- Edits: a weight set by hand at step N makes a branch at N, except on a
  branch made by an edit at N that has not moved past N: the edits of one
  moment gather on one branch.
- Memory: the branches share one checkpoint budget, split evenly.
- Names: ``main``, then ``b1``, ``b2``, ... in order of creation; each
  branch describes itself (``b1: from main at step 200, learning_rate 0.1``).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from bpdebug.engine import initial_state
from bpdebug.scenario import with_settings
from bpdebug.scenario.loader import BRANCH_NETWORK_KEYS
from bpdebug.scenario.model import Scenario
from bpdebug.timeline import DEFAULT_MEMORY_BUDGET, Edit, Origin, Timeline
from bpdebug.training import Trainer, TrainState

ARCHITECTURE = tuple(f"network.{key}" for key in BRANCH_NETWORK_KEYS)
"""Settings that make a branch from step 0."""


@dataclass(eq=False)
class Branch:
    """One history of the session."""

    name: str
    timeline: Timeline
    parent: Branch | None = None
    fork: int = 0
    """The step it leaves its parent at (0 for main)."""
    changes: tuple[tuple[str, object], ...] = ()
    """The settings it changed, as (key, value): ``("training.learning_rate", 0.1)``."""
    edited: bool = False
    """Made by a weight edit (its edits are `timeline.edits` at `fork`)."""
    children: list[Branch] = field(default_factory=list)
    inherited_edits: int = 0
    """How many of `timeline.edits` come from the parent's past (the rest are its own)."""

    def __post_init__(self) -> None:
        self.timeline.branch = self  # so that whatever holds a timeline can name its branch

    @property
    def own_edits(self) -> list[Edit]:
        """The weights set by hand on this branch (at its fork, for an edit branch)."""
        return self.timeline.edits[self.inherited_edits :]

    def path(self) -> list[Branch]:
        """main, ..., this branch: the histories this one's past runs through."""
        return [*reversed(list(self.ancestors())), self]

    def describe(self) -> str:
        """``b1: from main at step 200, learning_rate 0.1``; ``main: the scenario``."""
        if self.parent is None:
            return f"{self.name}: the scenario"
        edits = len(self.own_edits) if self.edited else 0
        return describe_fork(self.name, self.parent.name, self.fork, self.changes, edits)

    def ancestors(self) -> Iterator[Branch]:
        """The parent, its parent, ... up to main."""
        branch = self.parent
        while branch is not None:
            yield branch
            branch = branch.parent


def describe_fork(
    name: str, parent: str, fork: int, changes: Sequence[tuple[str, object]], edits: int
) -> str:
    """``b1: from main at step 200, learning_rate 0.1`` (``, 2 edits``): a branch in words,
    as the dialog, `bpdebug branches` and `compare` say it."""
    what = [f"{key.partition('.')[2]} {_shown(value)}" for key, value in changes]
    if edits:
        what.append("an edit" if edits == 1 else f"{edits} edits")
    return f"{name}: from {parent} at step {fork}, {', '.join(what)}"


def _shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return str(value)


class Branches:
    """The session's histories: `current` is the one the user is on."""

    def __init__(self, scenario: Scenario, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> None:
        self._start(Timeline(scenario, memory_budget))

    @classmethod
    def of(cls, timeline: Timeline) -> Branches:
        """A session whose main history is `timeline` (already built, maybe moved)."""
        branches = cls.__new__(cls)
        branches._start(timeline)
        return branches

    def _start(self, main: Timeline) -> None:
        self.memory_budget = main.memory_budget
        """Bytes of checkpoints all branches together may hold."""
        self.main = Branch("main", main)
        self.all: list[Branch] = [self.main]
        """Every branch, in order of creation."""
        self.current = self.main
        self._made = 0

    @property
    def timeline(self) -> Timeline:
        """The current branch's history."""
        return self.current.timeline

    def get(self, name: str) -> Branch:
        """The branch called `name`; KeyError names the ones there are."""
        for branch in self.all:
            if branch.name == name:
                return branch
        raise KeyError(
            f"no branch {name!r}; the branches are {', '.join(b.name for b in self.all)}"
        )

    def switch(self, name: str) -> Branch:
        """Make branch `name` the current one (it keeps its own step)."""
        self.current = self.get(name)
        return self.current

    # -- making branches --------------------------------------------------
    def branch(self, changes: Mapping[str, object], step: int | None = None) -> Branch:
        """A new branch of the current one with `changes`, from `step` (default: the
        current step; an architecture change always starts at step 0), made current.

        Raises InputError (one line naming the key) for a value the scenario loader
        refuses, ValueError for a change that changes nothing.
        """
        architecture = any(key in ARCHITECTURE for key in changes)
        # An architecture branch starts from the scenario's own start and settings,
        # whatever branch it is made on; any other from the current branch as it is.
        parent = self.main if architecture else self.current
        fork = 0 if architecture else parent.timeline.step if step is None else step
        if fork < 0 or fork > parent.timeline.frontier:
            raise ValueError(f"expected a step from 0 to {parent.timeline.frontier}, got {fork}")
        name = f"b{self._made + 1}"
        scenario = with_settings(parent.timeline.scenario, dict(changes), f"branch {name}")
        before = parent.timeline.scenario
        same_network = (scenario.network.activations, scenario.network.loss) == (
            before.network.activations,
            before.network.loss,
        )
        if same_network and scenario.training == before.training:
            raise ValueError(f"those settings are already {parent.name}'s")
        timeline = self._timeline(parent.timeline, fork, scenario, architecture)
        return self._add(Branch(name, timeline, parent, fork, tuple(changes.items())))

    def edit_weight(self, layer: int, j: int, k: int, value: float) -> bool:
        """Set w_jk^(layer) at the current step, on a new branch (see the module's rule
        on gathering edits). False (and no branch) when the weight has that value."""
        current = self.current
        timeline = current.timeline
        old = float(timeline.state.params.W[layer][j, k])
        if old == value and math.copysign(1, old) == math.copysign(1, value):
            return False
        gather = current.edited and current.fork == timeline.step == timeline.frontier
        if not gather:
            step = timeline.step
            branch_timeline = self._timeline(timeline, step, timeline.scenario, False)
            current = self._add(Branch(f"b{self._made + 1}", branch_timeline, current, step))
            current.edited = True
        return current.timeline.edit_weight(layer, j, k, value)

    def _timeline(
        self, parent: Timeline, fork: int, scenario: Scenario, architecture: bool
    ) -> Timeline:
        """A branch's timeline: `scenario`'s settings from `fork`, its parent's before."""
        at_fork = parent.state_at(fork)
        old = parent.trainer_at(fork)
        trainer = branch_trainer(scenario, fork, parent.trainer_at)
        if architecture:
            params = self.main.timeline.state_at(0).params
            start = TrainState(0, params, initial_state(trainer.optimizer, params))
        elif trainer.optimizer.name == old.optimizer.name:
            start = at_fork
        else:
            start = TrainState(
                fork, at_fork.params, initial_state(trainer.optimizer, at_fork.params)
            )
        return Timeline(
            scenario,
            self.memory_budget,
            origin=None if architecture else Origin(parent, fork),
            trainer=trainer,
            start=start,
        )

    def _add(self, branch: Branch) -> Branch:
        branch.inherited_edits = len(branch.timeline.edits)
        self._made += 1
        self.all.append(branch)
        if branch.parent is not None:
            branch.parent.children.append(branch)
        share = self.memory_budget // len(self.all)
        for each in self.all:
            each.timeline.set_budget(share)
        self.current = branch
        return branch


# -- rebuilding a recorded session (reopening a snapshot) ---------------------
def name_branch(branches: Branches, branch: Branch, name: str) -> None:
    """Give `branch` the name a snapshot recorded; branches made later are numbered past
    it (``b7`` recorded: the next new one is ``b8``). ValueError if another has it."""
    if any(other is not branch and other.name == name for other in branches.all):
        raise ValueError(f"there is already a branch {name!r}")
    branch.name = name
    number = re.fullmatch(r"b([1-9][0-9]{0,8})", name)
    if number is not None:
        branches._made = max(branches._made, int(number.group(1)))


def trainer_along(root: Scenario, path: Sequence[tuple[int, Scenario]], step: int) -> Trainer:
    """The trainer whose pass of state `step` the last history of a path uses, made as
    `Branches._timeline` makes each branch's, without replaying any state.

    `path` holds (fork, scenario) for each branch after main, each leaving the one
    before it. A snapshot that holds only W and b (.safetensors) computes its
    step's pass with it: the batch of a step depends on every batch size the
    path changed to, and where.
    """
    trainers = [Trainer(root)]
    forks = [0]

    def at(k: int, s: int) -> Trainer:
        while k > 0 and s < forks[k]:
            k -= 1
        return trainers[k]

    for fork, scenario in path:
        trainers.append(branch_trainer(scenario, fork, functools.partial(at, len(trainers) - 1)))
        forks.append(fork)
    return at(len(trainers) - 1, step)


def branch_trainer(scenario: Scenario, fork: int, parent_at: Callable[[int], Trainer]) -> Trainer:
    """The trainer of a branch with `scenario`'s settings from `fork`, whose parent's trainer
    of a step is `parent_at(step)`: the parent's batches if the batch size stays, or a new
    epoch at the fork (see the module's decisions)."""
    old = parent_at(fork)
    training, before = scenario.training, old.scenario.training
    if (training.batch_size, training.shuffle) == (before.batch_size, before.shuffle) or fork == 0:
        return Trainer(scenario, (old.schedule.first_step, old.schedule.first_epoch))
    return Trainer(scenario, (fork, parent_at(fork - 1).schedule.epoch(fork - 1) + 1))
