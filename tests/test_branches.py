"""Branches: a changed setting (or a weight edit) continues on a new history; none is lost.

The reference for a branch is built by hand from the trainer alone: the
parent's states up to the fork, then the branch's trainer from the fork's
state (with the optimizer's state kept or fresh), on the batches the
module's rules give. Every route to a step must give the same bits.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_same_state
from tui_helpers import SCENARIOS

from bpdebug.branches import Branches
from bpdebug.engine import initial_state
from bpdebug.errors import InputError
from bpdebug.scenario import load_scenario, with_settings
from bpdebug.timeline import Timeline
from bpdebug.training import Trainer, TrainState

FORK, LATER = 13, 31

CHANGES = [
    ("xor", {"training.learning_rate": 0.25}),
    ("xor", {"training.optimizer": "adam", "training.learning_rate": 0.05}),
    ("spiral", {"training.beta1": 0.5}),
    ("spiral", {"training.optimizer": "momentum", "training.momentum": 0.8}),
    ("digits", {"training.momentum": 0.5}),
    ("digits", {"training.l2": 0.01}),
    ("spiral", {"training.l1": 0.001}),
    ("spiral", {"training.eps": 1e-4}),
    ("spiral", {"training.batch_size": 45}),
    ("circle", {"training.batch_size": 7, "training.learning_rate": 0.3}),
]


def by_hand(name: str, changes: dict[str, object], fork: int, step: int) -> TrainState:
    """The branch's state at `step`, from the trainers alone (the module's rules)."""
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    parent = Trainer(scenario)
    state = parent.initial_state()
    while state.step < fork:
        state = parent.advance(state, parent.trace(state))
    changed = with_settings(scenario, changes, "test")
    if changed.training.batch_size == scenario.training.batch_size:
        own = Trainer(changed)
    else:  # a new batch size opens a new epoch at the fork
        own = Trainer(changed, (fork, parent.schedule.epoch(fork - 1) + 1))
    if own.optimizer.name != parent.optimizer.name:
        state = TrainState(fork, state.params, initial_state(own.optimizer, state.params))
    while state.step < step:
        state = own.advance(state, own.trace(state))
    return state


@pytest.mark.parametrize(("name", "changes"), CHANGES, ids=lambda x: str(x))
def test_a_branch_is_the_same_at_every_step_however_it_is_reached(
    name: str, changes: dict[str, object]
) -> None:
    branches = Branches(load_scenario(SCENARIOS / f"{name}.toml"))
    main = branches.main.timeline
    main.seek(FORK + 5)  # the parent has moved past the fork
    main.seek(FORK)
    b1 = branches.branch(changes)
    assert branches.current is b1 and b1.name == "b1" and b1.fork == FORK
    line = b1.timeline
    assert line.step == FORK
    # straight on
    line.seek(LATER)
    want = by_hand(name, changes, FORK, LATER)
    assert_same_state(line.state, want)
    # back before the fork (the shared past) and forward again
    line.seek(FORK - 4)
    assert_same_state(line.state, main.state_at(FORK - 4))
    line.seek(LATER)
    assert_same_state(line.state, want)
    # step by step back, then a jump from step 0, then a run
    for _ in range(3):
        line.back()
    assert_same_state(line.state, by_hand(name, changes, FORK, LATER - 3))
    line.seek(0)
    line.run_until(max_steps=LATER)
    assert_same_state(line.state, want)
    # the parent's history is its own
    fresh = Timeline(load_scenario(SCENARIOS / f"{name}.toml"))
    fresh.seek(LATER)
    main.seek(LATER)
    assert_same_state(main.state, fresh.state)
    assert not np.array_equal(main.state.params.W[1], line.state.params.W[1])


def test_the_shared_past_has_the_parents_costs_and_its_own_after() -> None:
    branches = Branches(load_scenario(SCENARIOS / "xor.toml"))
    branches.main.timeline.seek(20)
    branches.main.timeline.seek(10)
    b1 = branches.branch({"training.learning_rate": 3.0})
    costs = b1.timeline.costs()
    np.testing.assert_array_equal(costs[:10], branches.main.timeline.costs()[:10])
    assert len(costs) == 11  # the fork's own pass is the branch's
    b1.timeline.seek(15)
    assert not np.allclose(b1.timeline.costs()[11:16], branches.main.timeline.costs()[11:16])


def test_a_new_batch_size_starts_a_new_epoch_at_the_fork() -> None:
    branches = Branches(load_scenario(SCENARIOS / "spiral.toml"))  # 300 examples, batches of 30
    branches.main.timeline.seek(15)  # epoch 1, halfway
    b1 = branches.branch({"training.batch_size": 100})
    line = b1.timeline
    assert line.epoch == 2
    line.seek(17)
    assert line.epoch == 2
    line.seek(18)
    assert line.epoch == 3
    line.seek(14)
    assert line.epoch == 1 and line.trace.batch_size == 30  # the shared past keeps its batches
    line.seek(15)
    assert line.trace.batch_size == 100


def test_another_optimizer_starts_fresh_and_the_same_one_goes_on() -> None:
    branches = Branches(load_scenario(SCENARIOS / "spiral.toml"))  # adam
    branches.main.timeline.seek(9)
    kept = branches.branch({"training.learning_rate": 0.001})
    assert kept.timeline.state.opt is branches.main.timeline.state_at(9).opt
    branches.switch("main")
    fresh = branches.branch({"training.optimizer": "sgd"})
    assert fresh.timeline.state.opt.t == 0 and fresh.timeline.state.opt.slots == ()
    np.testing.assert_array_equal(
        fresh.timeline.state.params.W[2], branches.main.timeline.state_at(9).params.W[2]
    )


def test_an_architecture_branch_starts_at_step_0_from_the_same_weights() -> None:
    branches = Branches(load_scenario(SCENARIOS / "spiral.toml"))
    branches.main.timeline.seek(40)
    b1 = branches.branch({"network.activation": "relu"})
    assert b1.fork == 0 and b1.parent is branches.main
    line = b1.timeline
    assert line.step == 0
    assert line.scenario.network.activations == ("relu", "relu", "sigmoid")
    start = branches.main.timeline.state_at(0)
    for l in (1, 2, 3):
        np.testing.assert_array_equal(line.state.params.W[l], start.params.W[l])
    line.seek(25)
    want = Trainer(line.scenario)
    state = TrainState(0, start.params, initial_state(want.optimizer, start.params))
    while state.step < 25:
        state = want.advance(state, want.trace(state))
    assert_same_state(line.state, state)
    b2 = branches.branch({"network.loss": "squared_error"})
    assert b2.fork == 0 and b2.timeline.scenario.network.loss == "squared_error"
    assert b2.timeline.scenario.network.activations == ("tanh", "tanh", "sigmoid")  # main's


def test_edits_make_a_branch_and_the_edits_of_one_moment_gather() -> None:
    branches = Branches(load_scenario(SCENARIOS / "xor.toml"))
    main = branches.main.timeline
    main.seek(7)
    before = main.state
    assert branches.edit_weight(1, 0, 1, 0.5)
    b1 = branches.current
    assert b1.name == "b1" and b1.edited and b1.fork == 7
    assert branches.edit_weight(2, 0, 0, -1.0)  # same step, not moved: same branch
    assert branches.current is b1 and len(b1.timeline.edits) == 2
    assert not branches.edit_weight(2, 0, 0, -1.0)  # already that value
    assert b1.describe() == "b1: from main at step 7, 2 edits"
    b1.timeline.seek(9)
    b1.timeline.seek(7)
    assert branches.edit_weight(1, 1, 1, 0.25)  # moved on since: a new branch
    assert branches.current.name == "b2" and branches.current.parent is b1
    b2 = branches.current
    assert [(e.layer, e.value) for e in b1.own_edits] == [(1, 0.5), (2, -1.0)]
    assert [(e.layer, e.value) for e in b2.own_edits] == [(1, 0.25)]
    assert len(b2.timeline.edits) == 3  # its past holds b1's two
    assert [b.name for b in b2.path()] == ["main", "b1", "b2"]
    assert b2.timeline.branch is b2 and main.branch is branches.main
    assert main.state is before  # main never moved, and keeps its history
    main.seek(30)
    fresh = Timeline(load_scenario(SCENARIOS / "xor.toml"))
    fresh.seek(30)
    assert_same_state(main.state, fresh.state)


def test_branches_are_listed_named_and_switched() -> None:
    branches = Branches(load_scenario(SCENARIOS / "xor.toml"))
    branches.main.timeline.seek(5)
    b1 = branches.branch({"training.learning_rate": 0.5})
    b1.timeline.seek(12)
    branches.switch("main")
    assert branches.timeline is branches.main.timeline and branches.timeline.step == 5
    b2 = branches.branch({"training.l2": 0.01}, step=2)
    assert [b.describe() for b in branches.all] == [
        "main: the scenario",
        "b1: from main at step 5, learning_rate 0.5",
        "b2: from main at step 2, l2 0.01",
    ]
    assert branches.main.children == [b1, b2]
    assert branches.switch("b1").timeline.step == 12  # each keeps its own step
    with pytest.raises(KeyError, match="no branch 'b9'; the branches are main, b1, b2"):
        branches.switch("b9")


def test_a_bad_setting_is_one_line_naming_the_branch_and_the_key() -> None:
    branches = Branches(load_scenario(SCENARIOS / "xor.toml"))
    with pytest.raises(InputError) as info:
        branches.branch({"training.learning_rate": -1.0})
    assert str(info.value) == (
        "branch b1: training.learning_rate: expected a finite number > 0, got -1.0"
    )
    with pytest.raises(InputError, match=r"branch b1: training\.seed: not a setting a branch"):
        branches.branch({"training.seed": 3})
    with pytest.raises(ValueError, match="already main's"):
        branches.branch({"training.learning_rate": 1.0})
    assert branches.all == [branches.main]


def test_branches_share_the_checkpoint_budget() -> None:
    budget = 400_000
    branches = Branches(load_scenario(SCENARIOS / "spiral.toml"), memory_budget=budget)
    branches.main.timeline.seek(3000)
    for lr in (0.02, 0.005):
        branches.switch("main")
        branches.main.timeline.seek(1000)
        branch = branches.branch({"training.learning_rate": lr})
        branch.timeline.seek(3000)
    own = sum(b.timeline._checkpoint_bytes for b in branches.all)
    assert own <= budget
    for b in branches.all:
        assert b.timeline.memory_budget == budget // 3
    # and thinning kept every branch's history exact
    b2 = branches.get("b2").timeline
    b2.seek(2500)
    want = by_hand("spiral", {"training.learning_rate": 0.005}, 1000, 2500)
    assert_same_state(b2.state, want)


def test_a_branch_of_a_branch_keeps_its_parents_settings() -> None:
    branches = Branches(load_scenario(SCENARIOS / "spiral.toml"))
    branches.main.timeline.seek(5)
    b1 = branches.branch({"training.learning_rate": 0.02})
    b1.timeline.seek(8)
    b2 = branches.branch({"training.l2": 0.01})
    assert b2.parent is b1
    training = b2.timeline.scenario.training
    assert (training.learning_rate, training.l2) == (0.02, 0.01)
    assert b2.describe() == "b2: from b1 at step 8, l2 0.01"
    # an architecture branch starts from the scenario's own settings and weights
    b3 = branches.branch({"network.activation": "relu"})
    assert b3.parent is branches.main and b3.fork == 0
    assert b3.timeline.scenario.training == branches.main.timeline.scenario.training
    assert b3.timeline.scenario.network.activations == ("relu", "relu", "sigmoid")


def test_the_equations_of_a_step_before_the_fork_use_the_settings_it_was_made_with() -> None:
    from bpdebug.debugger import Debugger
    from bpdebug.operands import phase_equation

    d = Debugger(Timeline(load_scenario(SCENARIOS / "xor.toml")))
    d.goto(6)
    d.new_branch({"training.learning_rate": 3.0})
    d.phase_index = len(d.phases) - 1  # the update phase
    timeline = d.timeline
    for step, lr in ((5, 1.0), (6, 3.0)):
        state, trace = timeline.peek(step)
        eq = phase_equation(d, state, trace)
        W, W_next = eq.operands["W"].values, eq.operands["W_next"].values
        dW = eq.operands["dW"].values
        assert W is not None and W_next is not None and dW is not None
        np.testing.assert_allclose(W_next, W - lr * dW, rtol=0, atol=1e-15)
        want = timeline.state_at(step + 1).params.W[d.layer]
        np.testing.assert_array_equal(W_next, want)
