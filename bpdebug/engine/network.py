"""Forward and backward passes of a fully connected network, in the seeds' notation.

Indices follow the contract: layer 0 is the input, layers 1..L have weights.
Every per-layer tuple here (W, b, z, a, delta, dW, db) is indexed by the
layer number itself, so `trace.delta[2]` is delta^(2); index 0 of the
weighted quantities holds an empty (0, 0) array that is never used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from bpdebug.engine.activations import Activation, get_activation
from bpdebug.engine.losses import Loss, OutputLayer, get_loss, output_layer

EMPTY = np.empty((0, 0))
EMPTY.setflags(write=False)


def frozen(x: np.ndarray) -> np.ndarray:
    """`x` marked read-only, so that recorded values cannot drift."""
    x.setflags(write=False)
    return x


@dataclass(frozen=True)
class Params:
    """Weights and biases: W[l] is (n_l, n_{l-1}), b[l] is (n_l,), for l = 1..L."""

    W: tuple[np.ndarray, ...]
    b: tuple[np.ndarray, ...]

    @property
    def depth(self) -> int:
        """L, the number of weighted layers."""
        return len(self.W) - 1

    def replace(
        self, layer: int, W: np.ndarray | None = None, b: np.ndarray | None = None
    ) -> Params:
        """A copy with layer `layer`'s W and/or b replaced."""
        Ws, bs = list(self.W), list(self.b)
        if W is not None:
            Ws[layer] = frozen(np.array(W, dtype=np.float64))
        if b is not None:
            bs[layer] = frozen(np.array(b, dtype=np.float64))
        return Params(tuple(Ws), tuple(bs))

    def count(self) -> int:
        """The number of scalar parameters."""
        return sum(w.size + b.size for w, b in zip(self.W[1:], self.b[1:], strict=True))

    def all_finite(self) -> bool:
        """Whether every weight and bias is a finite number."""
        every = np.concatenate((*self.W[1:], *self.b[1:]), axis=None)
        with np.errstate(over="ignore", invalid="ignore"):
            total = np.add.reduce(every)
        return bool(np.isfinite(total)) or bool(np.isfinite(every).all())


@dataclass(frozen=True)
class Trace:
    """Everything one forward and backward pass computed, for one batch.

    Shapes (m examples in the batch): a[0] = X is (n_0, m); z[l], a[l] and
    delta[l] are (n_l, m); dW[l] is (n_l, n_{l-1}); db[l] is (n_l,).
    `delta[l]` column i is dC_0/dz^(l) for example i alone; `dW`, `db` are the
    batch means of the per-example gradients (the contract). Regularization
    adds its own gradient `dW_reg` (zero without l1/l2); the update uses
    dW + dW_reg.
    """

    Y: np.ndarray
    """Targets of the batch, (n_L, m)."""
    z: tuple[np.ndarray, ...]
    a: tuple[np.ndarray, ...]
    delta: tuple[np.ndarray, ...]
    dW: tuple[np.ndarray, ...]
    db: tuple[np.ndarray, ...]
    dW_reg: tuple[np.ndarray, ...]
    per_example_cost: np.ndarray
    """C_0 for each example, (m,)."""
    data_cost: float
    """C = mean of C_0 over the batch."""
    reg_cost: float
    """The regularization term l1 sum|W| + l2/2 sum W^2."""
    loss: Loss = field(repr=False)
    """The loss, from which `dC_da` is computed when the pass did not need it."""
    computed_dC_da: np.ndarray | None = field(default=None, repr=False)
    """dC_0/da^(L) if the pass computed it on the way to delta^(L), else None."""

    @cached_property
    def dC_da(self) -> np.ndarray:
        """dC_0/da^(L) per example, (n_L, m): the first factor of the chain rule, read-only.

        A fused output pair (softmax + cross_entropy, sigmoid +
        binary_cross_entropy) trains on delta^(L) = a - y without it, so it
        is computed on first use, from the same a and Y by the same
        `Loss.gradient`: the same numbers as computed with the pass.
        """
        if self.computed_dC_da is not None:
            return self.computed_dC_da
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out = self.loss.gradient(self.a[-1], self.Y)
        out.setflags(write=False)
        return out

    @property
    def cost(self) -> float:
        """The cost the optimizer descends: data_cost + reg_cost."""
        return self.data_cost + self.reg_cost

    @property
    def depth(self) -> int:
        """L, the number of weighted layers."""
        return len(self.z) - 1

    @property
    def batch_size(self) -> int:
        """m, the number of examples (columns) in the batch."""
        return int(self.a[0].shape[1])

    def grad_W(self, layer: int) -> np.ndarray:
        """The full weight gradient the update uses: dW + dW_reg."""
        return self.dW[layer] + self.dW_reg[layer] if self.dW_reg[layer].size else self.dW[layer]

    def grad_norm(self, layer: int) -> float:
        """sqrt(|dW + dW_reg|^2 + |db|^2) of one layer."""
        g = self.grad_W(layer)
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.sqrt(np.sum(g * g) + np.sum(self.db[layer] ** 2)))

    def total_grad_norm(self) -> float:
        """The gradient norm over every parameter of the network."""
        return float(np.sqrt(sum(self.grad_norm(l) ** 2 for l in range(1, self.depth + 1))))

    def freeze(self) -> None:
        """Make every array this pass computed read-only, so that recorded values cannot drift."""
        for arrays in (self.z, self.a, self.delta, self.dW, self.db):
            for x in arrays[1:]:
                x.setflags(write=False)
        if self.computed_dC_da is not None:
            self.computed_dC_da.setflags(write=False)
        self.per_example_cost.setflags(write=False)

    def all_finite(self) -> bool:
        """Whether every recorded number is finite."""
        arrays = (*self.z[1:], *self.a[1:], *self.delta[1:], *self.dW[1:], *self.db[1:])
        # One sum over everything is finite unless some element is not (or the
        # sum overflows, which the exact search below then rules out).
        with np.errstate(over="ignore", invalid="ignore"):
            total = np.add.reduce(np.concatenate(arrays, axis=None))
        if np.isfinite(total) and np.isfinite(self.cost):
            return True
        return self.first_nonfinite() is None

    def first_nonfinite(self) -> tuple[str, int] | None:
        """(quantity, layer) of the first NaN/inf in pass order, or None.

        Forward quantities are searched layer 1..L, then the cost, then the
        backward quantities layer L..1: the order the values were computed.
        """
        for layer in range(1, self.depth + 1):
            for name in ("z", "a"):
                if not np.isfinite(getattr(self, name)[layer]).all():
                    return name, layer
        if not np.isfinite(self.per_example_cost).all() or not np.isfinite(self.cost):
            return "cost", self.depth
        for layer in range(self.depth, 0, -1):
            for name in ("delta", "dW", "db"):
                if not np.isfinite(getattr(self, name)[layer]).all():
                    return name, layer
        return None


class Network:
    """The math of one network shape: activations, loss and regularization.

    Holds no parameters; `trace(params, X, Y)` is a pure function of its inputs.
    g_l is `activation` for layers 1..L-1 and `output` for L, unless
    `per_layer` names g_1..g_L one by one (a scenario's `network.activations`).
    `one_hot` promises one-hot targets (a data set's property, known to its
    trainer), which lets softmax + cross_entropy take delta^(L) = a - y
    without the sum_j y_j it equals.
    """

    def __init__(
        self,
        layers: tuple[int, ...],
        activation: str,
        output: str,
        loss: str,
        l1: float = 0.0,
        l2: float = 0.0,
        fused: bool = True,
        one_hot: bool = False,
        per_layer: Sequence[str] = (),
    ) -> None:
        self.layers = tuple(layers)
        """Units per layer, (n_0, ..., n_L)."""
        depth = len(layers) - 1
        names = tuple(per_layer) or tuple(
            output if l == depth else activation for l in range(1, depth + 1)
        )
        if len(names) != depth:
            raise ValueError(f"{len(names)} activations for {depth} weighted layers")
        self.activations: tuple[Activation, ...] = tuple(
            get_activation(name) for name in (names[0], *names)
        )
        """g_l by layer number; index 0 (the input) is unused."""
        self.loss: Loss = get_loss(loss)
        self.l1 = float(l1)
        self.l2 = float(l2)
        self.fused = fused
        """Use the shortcut delta^(L) of sigmoid+BCE and softmax+CE (same numbers)."""
        self.output: OutputLayer = output_layer(self.activations[-1], self.loss, one_hot)
        """The output activation and the loss as a pair: a^(L), C_0, delta^(L)."""
        self._delta_pair = self.output if fused else OutputLayer(self.activations[-1], self.loss)
        self._no_reg = (EMPTY,) * (depth + 1)

    @property
    def depth(self) -> int:
        """L, the number of weighted layers."""
        return len(self.layers) - 1

    def forward(self, params: Params, X: np.ndarray) -> tuple[tuple[np.ndarray, ...], ...]:
        """(z, a) for every layer; X is a[0], shape (n_0, m)."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            z, a = self._forward(params, X)
            a.append(self.activations[-1].raw(z[-1]))
        return tuple(z), tuple(a)

    def _forward(self, params: Params, X: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """z of layers 0..L and a of layers 0..L-1, for callers inside np.errstate.

        a^(L) is left to the caller: with the targets, the output pair
        computes it together with the cost (`OutputLayer.activate`).
        """
        z: list[np.ndarray] = [EMPTY]
        a: list[np.ndarray] = [X]
        W, b, g = params.W, params.b, self.activations
        L = len(W) - 1
        a_prev = X
        for l in range(1, L + 1):
            z_l = W[l] @ a_prev + b[l][:, None]
            z.append(z_l)
            if l < L:
                a_prev = g[l].raw(z_l)
                a.append(a_prev)
        return z, a

    def regularization(self, params: Params) -> tuple[float, tuple[np.ndarray, ...]]:
        """(l1 sum|W| + l2/2 sum W^2, its gradient l1 sign(W) + l2 W per layer)."""
        if not (self.l1 or self.l2):
            return 0.0, self._no_reg
        cost = 0.0
        grads: list[np.ndarray] = [EMPTY]
        with np.errstate(over="ignore", invalid="ignore"):
            for W in params.W[1:]:
                cost += self.l1 * float(np.abs(W).sum()) + 0.5 * self.l2 * float((W * W).sum())
                grads.append(frozen(self.l1 * np.sign(W) + self.l2 * W))
        return cost, tuple(grads)

    def cost(self, params: Params, X: np.ndarray, Y: np.ndarray) -> float:
        """The batch cost C (data term plus regularization), forward pass only."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            z, _ = self._forward(params, X)
            _, per_example = self.output.activate(z[-1], Y)
            return float(per_example.mean()) + self.regularization(params)[0]

    def trace(self, params: Params, X: np.ndarray, Y: np.ndarray) -> Trace:
        """Forward pass, cost, then backward pass from layer L down to 1.

        See `trace_unguarded`; this one silences floating-point warnings
        (overflow is part of what the debugger shows, not an error).
        """
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self.trace_unguarded(params, X, Y)

    def trace_unguarded(
        self, params: Params, X: np.ndarray, Y: np.ndarray, frozen: bool = True
    ) -> Trace:
        """Forward pass, cost, then backward pass, for callers inside np.errstate.

        X is (n_0, m), Y is (n_L, m). delta^(L) = dC_0/da^(L) * g'(z^(L));
        delta^(l) = (W^(l+1).T @ delta^(l+1)) * g'(z^(l)), summing over the
        paths through layer l+1; dW^(l) = delta^(l) @ a^(l-1).T / m.

        With `frozen` False the arrays are left writable, for a pass that
        only feeds the next update and is dropped (a long run); `Trace.freeze`
        makes them read-only if it is kept after all.
        """
        m = X.shape[1]
        L = self.depth
        W, g = params.W, self.activations
        delta: list[np.ndarray] = [EMPTY] * (L + 1)
        dW: list[np.ndarray] = [EMPTY] * (L + 1)
        db: list[np.ndarray] = [EMPTY] * (L + 1)
        z, a = self._forward(params, X)
        a_L, per_example = self.output.activate(z[L], Y)
        a.append(a_L)
        dC_da, delta[L] = self._delta_pair.delta(z[L], a_L, Y)
        reduce = np.add.reduce
        for l in range(L, 0, -1):
            if l < L:
                delta[l] = g[l].backprop(z[l], a[l], W[l + 1].T @ delta[l + 1])
            dW[l] = delta[l] @ a[l - 1].T / m
            db[l] = reduce(delta[l], axis=1) / m  # the batch mean
        reg_cost, dW_reg = self.regularization(params)
        data_cost = float(reduce(per_example)) / m
        trace = Trace(
            Y=Y,
            z=tuple(z),
            a=tuple(a),
            delta=tuple(delta),
            dW=tuple(dW),
            db=tuple(db),
            dW_reg=dW_reg,
            per_example_cost=per_example,
            data_cost=data_cost,
            reg_cost=reg_cost,
            loss=self.loss,
            computed_dC_da=dC_da,
        )
        if frozen:
            trace.freeze()
        return trace
