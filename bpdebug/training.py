"""One scenario's training: the batch each step uses and the update it makes.

Step N (the contract) means N updates have been applied. The state at step
N holds the parameters and optimizer state after N updates; update N+1 uses
the forward and backward pass of state N on batch N.

Batch order: the examples are cut into batches of `batch_size` in order,
the last one smaller if the size does not divide N (nothing is dropped).
With `shuffle` (the default) and more than one batch per epoch, epoch e
uses the permutation drawn from a generator seeded by (seed, e), so the
batch of any step is a pure function of the scenario and the step number,
and no random state needs to be saved. A whole-data-set batch keeps the
file's order.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

from bpdebug.engine import (
    Network,
    OptimizerConfig,
    OptState,
    Params,
    Trace,
    init_params,
    initial_state,
)
from bpdebug.engine.optimizers import optimizer_for
from bpdebug.scenario.model import Scenario

TINY = 16
"""Arrays of at most this many numbers are checked for NaN/inf by Python's sum, not BLAS."""
STATE_OVERHEAD = 600
"""Bytes of the objects around a state's arrays (TrainState, Params, OptState,
their tuples, a checkpoint's dict entry), measured with tracemalloc on xor."""


@dataclass(frozen=True)
class TrainState:
    """The training state at step `step`: parameters and optimizer state."""

    step: int
    params: Params
    opt: OptState

    def nbytes(self) -> int:
        """Memory this state holds: its arrays with their headers, and its containers.

        Array headers and the small objects around them (~1 KB) outweigh the
        data of a small network, so they are counted too: the checkpoint
        budget is a budget of real memory.
        """
        arrays = [*self.params.W[1:], *self.params.b[1:]]
        arrays += [x for _, slot in self.opt.slots for x in slot[1:]]
        return sum(sys.getsizeof(x) for x in arrays) + STATE_OVERHEAD


class Schedule:
    """Which examples each step's batch holds."""

    def __init__(
        self,
        n_examples: int,
        batch_size: int,
        shuffle: bool,
        seed: int,
        first_step: int = 0,
        first_epoch: int = 0,
    ) -> None:
        self.n_examples = n_examples
        self.batch_size = min(batch_size, n_examples)
        self.batches_per_epoch = -(-n_examples // self.batch_size)
        self.shuffle = shuffle and self.batches_per_epoch > 1
        self.seed = seed
        self.first_step = first_step
        """The step whose batch opens epoch `first_epoch` (0 but for a branch that
        changed the batch size: its epochs start afresh at its fork)."""
        self.first_epoch = first_epoch
        self._epoch = -1
        self._order = np.arange(n_examples)

    def epoch(self, step: int) -> int:
        """The epoch (0-based) that step `step`'s batch belongs to."""
        return self.first_epoch + (step - self.first_step) // self.batches_per_epoch

    def indices(self, step: int) -> np.ndarray:
        """Indices of the examples in step `step`'s batch, in column order."""
        epoch, k = divmod(step - self.first_step, self.batches_per_epoch)
        epoch += self.first_epoch
        if self.shuffle and epoch != self._epoch:
            self._order = np.random.default_rng([self.seed, epoch]).permutation(self.n_examples)
            self._epoch = epoch
        return self._order[k * self.batch_size : (k + 1) * self.batch_size]


class Trainer:
    """Builds a scenario's network and makes its updates; holds no history."""

    def __init__(self, scenario: Scenario, epochs_from: tuple[int, int] = (0, 0)) -> None:
        """`epochs_from` (step, epoch): the step whose batch opens that epoch (see Schedule)."""
        self.scenario = scenario
        spec, training = scenario.network, scenario.training
        targets = scenario.data.targets
        self.network = Network(
            spec.layers,
            spec.activation,
            spec.output,
            spec.loss,
            training.l1,
            training.l2,
            one_hot=one_hot(targets),
            per_layer=spec.activations,
        )
        self.optimizer = OptimizerConfig(
            name=training.optimizer,
            learning_rate=training.learning_rate,
            momentum=training.momentum,
            beta1=training.beta1,
            beta2=training.beta2,
            eps=training.eps,
        )
        self._update = optimizer_for(self.optimizer).update
        data = scenario.data
        self.schedule = Schedule(
            data.size, training.batch_size, training.shuffle, scenario.seed, *epochs_from
        )
        self._whole = self.schedule.batches_per_epoch == 1
        self._regularized = bool(training.l1 or training.l2)

    def initial_state(self) -> TrainState:
        """The state at step 0: seeded (or explicit) parameters, fresh optimizer state."""
        spec = self.scenario.network
        params = init_params(
            spec.layers,
            spec.init,
            self.scenario.seed,
            spec.init_range,
            [(i.W, i.b) for i in spec.explicit_init],
        )
        return TrainState(0, params, initial_state(self.optimizer, params))

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """(X, Y) of step `step`: (n_0, m) and (n_L, m) columns."""
        data = self.scenario.data
        if self._whole:
            return data.inputs, data.targets
        idx = self.schedule.indices(step)
        X, Y = data.inputs[:, idx], data.targets[:, idx]
        X.setflags(write=False)
        Y.setflags(write=False)
        return X, Y

    def trace(self, state: TrainState) -> Trace:
        """Forward and backward pass of `state` on its batch."""
        X, Y = self.batch(state.step)
        return self.network.trace(state.params, X, Y)

    def trace_unguarded(self, state: TrainState, frozen: bool = True) -> Trace:
        """`trace`, for callers that already silenced floating-point warnings.

        `frozen` False leaves its arrays writable (see Network.trace_unguarded).
        """
        X, Y = self.batch(state.step)
        return self.network.trace_unguarded(state.params, X, Y, frozen)

    def advance(self, state: TrainState, trace: Trace) -> TrainState:
        """The state after one update from `state`, whose pass is `trace`."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._advance(state, trace)

    def step(self, state: TrainState, trace: Trace) -> tuple[TrainState, Trace]:
        """One update from `state` (whose pass is `trace`), and the new state's pass."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            new = self._advance(state, trace)
            X, Y = self.batch(new.step)
            return new, self.network.trace_unguarded(new.params, X, Y)

    def advance_unguarded(self, state: TrainState, trace: Trace) -> TrainState:
        """`advance`, for callers that already silenced floating-point warnings."""
        return self._advance(state, trace)

    def _advance(self, state: TrainState, trace: Trace) -> TrainState:
        grad_W = trace.dW
        if self._regularized:
            grad_W = tuple(trace.grad_W(l) if l else trace.dW[0] for l in range(len(grad_W)))
        params, opt = self._update(state.params, grad_W, trace.db, state.opt)
        return TrainState(state.step + 1, params, opt)


def one_hot(targets: np.ndarray) -> bool:
    """Whether every column of `targets` (n_L, N) is 0s and one 1 (so it sums to exactly 1)."""
    binary = bool(((targets == 0.0) | (targets == 1.0)).all())
    return binary and bool((targets.sum(axis=0) == 1.0).all())


def surely_finite(trace: Trace, after: Params) -> bool:
    """True only if every number of a state is finite: its W, b and its pass's z, a,
    delta, dW, db and cost (what the NaN/inf breakpoint looks at).

    `trace` is the state's pass and `after` the parameters of the update
    made from it (not an edit). False means "look closer", not "not finite".
    It looks at 3L arrays and a number instead of 7L arrays:

    - sum(x * x) (np.vdot, one BLAS ddot), or sum(x) for an array of at
      most TINY numbers, is finite only if every x is: a NaN or an inf
      makes a NaN or an inf of the sum (an overflow of finite x makes an
      inf too, a false alarm);
    - z finite => a = g(z) finite, for every activation: each one saturates
      (sigmoid, tanh, softmax) or scales (relu, leaky relu, linear);
    - a finite cost => a finite C_0 for every example (their sum);
    - `after` finite => W, b and dW + dW_reg, db of this state finite: each
      optimizer's new value is p - lr * (a step made from the gradient),
      which is NaN or inf when p or the gradient is (adam: inf / inf = NaN);
    - db finite => delta finite (db is delta's row sums over m).

    tests/test_nonfinite_watch.py checks each of these on extreme numbers, and that
    `run_until` stops where looking at every array would.
    """
    if not math.isfinite(trace.cost):
        return False
    for x in (*trace.z[1:], *after.W[1:], *after.b[1:]):
        # sum(x * x) with NaN and inf carried through; a tiny array is summed
        # faster by Python than by a call into BLAS.
        total = sum(x.ravel().tolist()) if x.size <= TINY else np.vdot(x, x)
        if not math.isfinite(total):
            return False
    return True
