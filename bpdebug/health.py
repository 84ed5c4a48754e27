"""Layer health over time: gradient norms, update sizes, dead and saturated units, flags.

For each weighted layer l (1..L) at step t, from the state at step t and its
pass (the contract's `dW`, `a`, `z` on step t's batch):

- grad norm ‖dC/dW^(l)‖_F: the Frobenius norm of the contract's dW^(l), the
  backpropagated gradient of the data cost. Regularization's own gradient is
  left out: it does not travel back through the layers, and would hide a
  vanishing signal behind the weights' own pull towards 0.
- weight norm ‖W^(l)‖_F.
- update ratio ‖W_{t+1} − W_t‖_F / ‖W_t‖_F: how much of the weights update
  t+1 changes, known once that update is computed. Practitioners aim near
  GUIDE_RATIO = 1e-3 (CS231n's "ratio of the updates to the values"). An
  edit by hand is not an update: the ratio is the optimizer's step alone.
- dead share: the fraction of layer l's units whose a is exactly 0 for every
  example of the batch. Only relu units die: with z <= 0 for every input a
  unit's relu'(z) is 0, so no gradient reaches its weights and it stays
  dead. leaky_relu keeps slope 0.01 and never dies. NaN for any other
  activation.
- saturated share: the fraction of units whose derivative g'(z) is under
  SATURATION_SLOPE = 0.01 for every example of the batch, so that the error
  passing back through them shrinks 100-fold or more. sigmoid'(z) =
  σ(1 − σ) = 0.01 at σ = (1 ± √0.96)/2, i.e. |z| = 2 atanh(√0.96) ≈ 4.585;
  tanh'(z) = 1 − tanh² = 0.01 at |z| = atanh(√0.99) ≈ 2.993. NaN for any
  other activation.

NaN means "not applicable or not known" throughout.

Flags at a step (see `flags`), each with a one-line reason:
- vanishing: a layer below L whose grad norm is under VANISHING_SHARE (1%)
  of layer L's;
- exploding: a layer below L whose grad norm is over EXPLODING_FACTOR (100)
  times layer L's, or any layer whose grad norm is over EXPLODING_NORM (1000);
- dead: over half a layer's units dead;
- saturated: over half a hidden layer's units saturated (an output unit near
  0 or 1 is often a confident right answer, so the output is not flagged);
- tiny updates: an update ratio under RATIO_LOW (1e-5), the layer barely
  learns; huge updates: over RATIO_HIGH (0.1), steps too large.

`HealthHistory` records these numbers per step in one growable array, NaN
where not computed, within a memory budget; `Health` is its read-only view.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bpdebug.engine import Params, Trace

SATURATION_SLOPE = 0.01
"""A unit is saturated where its activation's derivative is under this for every example."""
SATURATED_Z = {
    "sigmoid": 2 * math.atanh(math.sqrt(1 - 4 * SATURATION_SLOPE)),
    "tanh": math.atanh(math.sqrt(1 - SATURATION_SLOPE)),
}
"""|z| beyond which g'(z) < SATURATION_SLOPE: sigmoid ≈ 4.585, tanh ≈ 2.993."""
DYING = frozenset({"relu"})
"""Activations whose units can die (a = 0 for every input)."""

GUIDE_RATIO = 1e-3
"""The update ratio practitioners aim near."""
RATIO_LOW = 1e-5
"""Below this update ratio a layer barely learns."""
RATIO_HIGH = 1e-1
"""Above this update ratio the steps are too large."""
VANISHING_SHARE = 0.01
"""A layer below L whose grad norm is under this share of layer L's is vanishing."""
EXPLODING_FACTOR = 100.0
"""A layer below L whose grad norm is over this many times layer L's is exploding."""
EXPLODING_NORM = 1e3
"""A grad norm over this is exploding, whatever the other layers do."""
MAJORITY = 0.5
"""A dead or saturated share over this is flagged."""

FIELDS = ("grad_norm", "weight_norm", "update_ratio", "dead", "saturated")
"""The numbers recorded per layer and step, in the order of the history's middle axis."""
GRAD, WEIGHT, RATIO, DEAD, SATURATED = range(len(FIELDS))

HEALTH_BUDGET = 32 * 2**20
"""Bytes the history may hold before it keeps only every other recorded step."""
INITIAL_ROWS = 1024
"""Steps the history has room for before it first grows."""

FlagKind = Literal["vanishing", "exploding", "dead", "saturated", "tiny_updates", "huge_updates"]
LETTERS: dict[FlagKind, str] = {
    "vanishing": "V",
    "exploding": "E",
    "dead": "D",
    "saturated": "S",
    "tiny_updates": "<",
    "huge_updates": ">",
}
"""The one-character mark of each flag in a table's flag column."""


@dataclass(frozen=True)
class Flag:
    """A sign of trouble at one layer and step, and why."""

    layer: int
    kind: FlagKind
    reason: str
    """One line of plain English: ``layer 1: gradient 2.1e-06 is 0.03% of layer 8's ...``."""

    @property
    def letter(self) -> str:
        """The flag's mark in a table's flag column (LETTERS)."""
        return LETTERS[self.kind]


@dataclass(frozen=True)
class HealthRow:
    """The health of every layer at one step: arrays of shape (L,), index l - 1 for layer l."""

    step: int
    grad_norm: np.ndarray
    weight_norm: np.ndarray
    update_ratio: np.ndarray
    dead: np.ndarray
    saturated: np.ndarray


@dataclass(frozen=True)
class Health:
    """Layer health at the recorded steps up to the frontier, read-only.

    Every array is (n, L): row i is step `steps[i]`, column l - 1 is layer l.
    `steps` is 0, stride, 2 stride, ... (the stride is 1 until the history
    outgrows its budget).
    """

    activations: tuple[str, ...]
    """The activation of layers 1..L."""
    steps: np.ndarray
    grad_norm: np.ndarray
    weight_norm: np.ndarray
    update_ratio: np.ndarray
    dead: np.ndarray
    saturated: np.ndarray

    @property
    def depth(self) -> int:
        """L, the number of weighted layers."""
        return len(self.activations)

    @property
    def stride(self) -> int:
        """Steps between recorded rows."""
        return int(self.steps[1] - self.steps[0]) if self.steps.size > 1 else 1

    def row(self, step: int) -> HealthRow | None:
        """The row of `step` (NaN where not recorded), or None past the frontier.

        With a stride above 1, the row of the latest kept step before `step`.
        """
        i = step // self.stride
        if not 0 <= i < self.steps.size:
            return None
        return HealthRow(
            int(self.steps[i]),
            self.grad_norm[i],
            self.weight_norm[i],
            self.update_ratio[i],
            self.dead[i],
            self.saturated[i],
        )

    def latest(self, step: int) -> HealthRow | None:
        """`row(step)`, with the ratio of the update that made `step` where the update
        from `step` is not computed yet (the debugger's current step)."""
        row, before = self.row(step), self.row(step - self.stride)
        if row is None or before is None or not np.isnan(row.update_ratio).all():
            return row
        return dataclasses.replace(row, update_ratio=before.update_ratio)

    def known_steps(self) -> np.ndarray:
        """The steps whose grad norms were recorded, in order."""
        known: np.ndarray = self.steps[~np.isnan(self.grad_norm).any(axis=1)]
        return known

    def flags(self, step: int) -> tuple[Flag, ...]:
        """The flags at `step` (its recorded row), layer by layer (see the module doc)."""
        row = self.row(step)
        return () if row is None else flags(row)


def flags(row: HealthRow) -> tuple[Flag, ...]:
    """The flags of one step's row, layer by layer, in the module doc's order."""
    L = row.grad_norm.size
    last = float(row.grad_norm[L - 1])
    found: list[Flag] = []
    for l in range(1, L + 1):
        grad = float(row.grad_norm[l - 1])
        found += _gradient_flags(l, L, grad, last)
        dead, saturated = float(row.dead[l - 1]), float(row.saturated[l - 1])
        if dead > MAJORITY:
            reason = f"layer {l}: {dead:.0%} of units dead (a = 0 for every example)"
            found.append(Flag(l, "dead", reason))
        if saturated > MAJORITY and l < L:
            found.append(
                Flag(
                    l,
                    "saturated",
                    f"layer {l}: {saturated:.0%} of units saturated "
                    f"(g'(z) < {SATURATION_SLOPE:g} for every example)",
                )
            )
        ratio = float(row.update_ratio[l - 1])
        if ratio < RATIO_LOW:
            found.append(
                Flag(
                    l,
                    "tiny_updates",
                    f"layer {l}: update/|W| {ratio:.3g} < {RATIO_LOW:g}: barely learning",
                )
            )
        elif ratio > RATIO_HIGH:
            found.append(
                Flag(
                    l,
                    "huge_updates",
                    f"layer {l}: update/|W| {ratio:.3g} > {RATIO_HIGH:g}: steps too large",
                )
            )
    return tuple(found)


def _gradient_flags(l: int, L: int, grad: float, last: float) -> list[Flag]:
    """Vanishing or exploding at layer `l` (grad norm `grad`; layer L's is `last`)."""
    if math.isnan(grad):  # not known
        return []
    if grad > EXPLODING_NORM:
        reason = f"layer {l}: gradient exploding: {grad:.3g} > {EXPLODING_NORM:g}"
        return [Flag(l, "exploding", reason)]
    if l == L or not (math.isfinite(last) and last > 0):
        return []
    share = grad / last
    if share < VANISHING_SHARE:
        return [
            Flag(
                l,
                "vanishing",
                f"layer {l}: gradient vanishing: {grad:.3g} is {share * 100:.2g}% "
                f"of layer {L}'s (< {VANISHING_SHARE:.0%})",
            )
        ]
    if share > EXPLODING_FACTOR:
        return [
            Flag(
                l,
                "exploding",
                f"layer {l}: gradient exploding: {grad:.3g} is {share:.3g}x "
                f"layer {L}'s (> {EXPLODING_FACTOR:g}x)",
            )
        ]
    return []


class HealthHistory:
    """Layer health per step of one history, in one growable (rows, FIELDS, L) array.

    Row i holds step i * stride, NaN where not computed. When the array
    would outgrow `budget` bytes the stride doubles and every other row is
    dropped, so memory stays bounded (as the timeline's checkpoints do).

    A row costs a few passes over each layer's W, dW, a and z: about a
    tenth of a small network's update, so a long run records one every few
    steps (see Timeline.run_until). Callers silence floating-point warnings
    (np.errstate), as the fast training loop already does.
    """

    def __init__(
        self, layers: Sequence[int], activations: Sequence[str], budget: int = HEALTH_BUDGET
    ) -> None:
        self.activations = tuple(activations)
        """The activation of layers 1..L."""
        L = len(self.activations)
        self._max_rows = max(budget // (len(FIELDS) * L * 8), 2)
        self._rows = np.full((min(INITIAL_ROWS, self._max_rows), len(FIELDS), L), np.nan)
        self._stride = 1
        kinds = list(enumerate(self.activations, 1))
        self._dying = [l for l, g in kinds if g in DYING]
        self._saturating = [(l, SATURATED_Z[g]) for l, g in kinds if g in SATURATED_Z]

    @property
    def stride(self) -> int:
        """Steps between recorded rows: 1 until the history outgrows its budget."""
        return self._stride

    def nbytes(self) -> int:
        """Bytes of the history's array."""
        return self._rows.nbytes

    def view(self, last: int) -> Health:
        """The recorded rows of steps 0..`last`, read-only."""
        n = min(last // self._stride + 1, self._rows.shape[0])
        rows = self._rows[:n]
        fields = []
        for k in range(len(FIELDS)):
            field = rows[:, k, :]
            field.setflags(write=False)
            fields.append(field)
        steps = np.arange(n) * self._stride
        steps.setflags(write=False)
        return Health(self.activations, steps, *fields)

    def record_pass(self, step: int, params: Params, trace: Trace) -> None:
        """Record the grad and weight norms, dead and saturated shares of state `step`."""
        i = self._row(step)
        if i is None:
            return
        row = self._rows[i]
        row[GRAD] = [math.sqrt(np.vdot(dW, dW)) for dW in trace.dW[1:]]
        row[WEIGHT] = [math.sqrt(np.vdot(W, W)) for W in params.W[1:]]
        for l in self._dying:
            a = trace.a[l]
            # A relu's a is >= 0 (or NaN): a row sums to 0 exactly where every a is 0.
            row[DEAD, l - 1] = np.count_nonzero(a @ np.ones(a.shape[1]) == 0.0) / a.shape[0]
        for l, limit in self._saturating:
            z = trace.z[l]
            nearest = np.minimum.reduce(np.abs(z), axis=1)
            row[SATURATED, l - 1] = np.count_nonzero(nearest > limit) / z.shape[0]

    def record_update(self, step: int, before: Params, after: Params) -> None:
        """Record the update ratio of the update from state `step` (`before`) to `after`."""
        i = self._row(step)
        if i is None:
            return
        for l in range(1, len(self.activations) + 1):
            W = before.W[l]
            change = after.W[l] - W
            moved, norm = math.sqrt(np.vdot(change, change)), math.sqrt(np.vdot(W, W))
            self._rows[i, RATIO, l - 1] = moved / norm if norm else math.inf if moved else math.nan

    def adopt(self, other: HealthHistory, step: int) -> None:
        """Take `other`'s rows of the steps before `step` (a branch's shared history)."""
        if step <= 0:
            return
        self._stride = other._stride
        n = -(-step // other._stride)
        self._rows = np.full((max(other._rows.shape[0], 2), *other._rows.shape[1:]), np.nan)
        self._rows[:n] = other._rows[:n]

    def truncate(self, step: int) -> None:
        """Forget what was recorded at `step` and after (a branch replaced that history)."""
        self._rows[-(-step // self._stride) :] = np.nan

    def _row(self, step: int) -> int | None:
        """The row of `step`, grown or thinned to exist; None if the stride skips `step`."""
        while step // self._stride >= self._max_rows:
            self._thin()
        if step % self._stride:
            return None
        i = step // self._stride
        if i >= self._rows.shape[0]:
            size = min(max(i + 1, 2 * self._rows.shape[0]), self._max_rows)
            grown = np.full((size, *self._rows.shape[1:]), np.nan)
            grown[: self._rows.shape[0]] = self._rows
            self._rows = grown
        return i

    def _thin(self) -> None:
        """Double the stride: keep every other row."""
        kept = self._rows[::2].copy()
        self._rows[: kept.shape[0]] = kept
        self._rows[kept.shape[0] :] = np.nan
        self._stride *= 2
