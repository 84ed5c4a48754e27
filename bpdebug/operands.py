"""The equation a phase computes, with every operand as a labelled matrix.

The centre of the screen follows the phase cursor and shows what the pass
computes there, in the seeds' notation (3Blue1Brown; the NumPy
walk-through), each operand with its numbers:

- the batch (before forward layer 1): a^(0) = x and the targets y;
- forward l: z^(l) = W^(l) a^(l-1) + b^(l), then a^(l) = g(z^(l));
- the cost: C_0 per example from a^(L) and y (the loss's own formula),
  and C = mean C_0 (plus the regularization term);
- backward L: delta^(L) = dC_0/da^(L) ⊙ g'(z^(L)), or the fused
  a^(L) - y when the engine takes that shortcut (said so); backward l < L:
  delta^(l) = (W^(l+1)^T delta^(l+1)) ⊙ g'(z^(l)); then
  dC/dW^(l) = delta^(l) a^(l-1)^T / m and dC/db^(l) = mean delta^(l);
- the update of layer l: the optimizer's rule with its state, W before,
  the step and W after (and the same for b).

Every matrix is what the engine computed (a, z, delta, dW, db of the
trace; the optimizer's state), or the engine's own function of it (g'(z)
by the activation's `derivative`, as `backprop` multiplies it; the next
state by `Trainer.advance`), so a product checked by eye is the product
that was computed. No UI toolkit here: `bpdebug.tui.widgets.matrix` draws
these.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from bpdebug.debugger import Debugger, Phase
from bpdebug.engine import Trace
from bpdebug.training import Trainer, TrainState
from bpdebug.update_rule import rule_summary

Axis = str
"""What a matrix axis counts: "j" units of the selected layer l, "k" units of
layer l-1, "q" units of layer l+1, "out" units of the output layer L when it
is not the selected one, "ex" examples of the batch, "one" a single row or
column. The selection (j, k, the example) marks the axes it names."""

G_NAMES = {
    "sigmoid": "σ",
    "tanh": "tanh",
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "linear": "linear",
    "softmax": "softmax",
}
"""g by activation name, as the equations write it."""

LOSS_FORMULAS = {
    "squared_error": "C_0 = Σ_j (a_j^(L) − y_j)²",
    "half_squared_error": "C_0 = ½ Σ_j (a_j^(L) − y_j)²",
    "cross_entropy": "C_0 = −Σ_j y_j log a_j^(L)",
    "binary_cross_entropy": "C_0 = −Σ_j [y_j log a_j^(L) + (1 − y_j) log(1 − a_j^(L))]",
}
"""The per-example cost of each loss (the contract's table)."""


@dataclass(frozen=True)
class Operand:
    """One matrix of an equation: its title in the seeds' notation and its values (or why not)."""

    key: str
    """Stable name of the operand within its phase kind ("W", "a_prev", "delta"...)."""
    title: str
    values: np.ndarray | None
    """Always 2-D: a vector (n,) is a column (n, 1); None when not computed yet."""
    rows: Axis
    cols: Axis
    placeholder: str = ""
    """Why there are no values, e.g. "not yet: forward pass (s)"."""
    units: bool = False
    """Rows are the units of a relu layer's a: a row of zeros is a dead unit (the summary
    counts them)."""


@dataclass(frozen=True)
class Line:
    """One equation and its operands, result first."""

    formula: str
    operands: tuple[Operand, ...]
    note: str = ""
    """A sentence under the formula (the fused shortcut, the cost's value)."""


@dataclass(frozen=True)
class PhaseEquation:
    """What the centre shows: a heading, the equations with their operands."""

    heading: str
    """E.g. ``forward, layer 1``."""
    lines: tuple[Line, ...]
    kind: str = ""
    """The shown phase's kind: "input", "forward", "cost", "backward" or "update"."""
    layer: int = 0
    """The layer the equations are about."""
    operands: dict[str, Operand] = field(default_factory=dict)
    """Every operand by key (a key appears once even if two lines use it)."""


def sup(layer: int) -> str:
    """The layer superscript: ``^(2)``."""
    return f"^({layer})"


def _column(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, 1) if x.ndim == 1 else x


def shown_phase(debugger: Debugger) -> Phase:
    """The phase the centre shows: the cursor's, or the selected layer's latest computed one.

    Selecting another layer than the cursor's shows that layer's forward
    equation until its backward one is computed (and its update at the
    update phase); what the pass has not computed yet is a placeholder.
    """
    phase, l, L = debugger.phase, debugger.layer, debugger.depth
    if phase.kind == "update":
        return Phase("update", l)
    if phase.kind == "input":
        return phase if l == 1 else Phase("forward", l)
    if phase.kind == "cost" and l == L:
        return phase
    if phase.kind == "backward" and l >= phase.layer:
        return Phase("backward", l)
    return Phase("forward", l)


def phase_equation(
    debugger: Debugger, state: TrainState | None = None, trace: Trace | None = None
) -> PhaseEquation:
    """The equations of the shown phase with their operands, at the current step.

    `state` and `trace` replace the current step's (the diff mode builds the
    reference step's operands the same way, to subtract them).
    """
    timeline = debugger.timeline
    state = timeline.state if state is None else state
    trace = debugger.trace if trace is None else trace
    phase = shown_phase(debugger)
    trainer = timeline.trainer_at(state.step)  # a branch's past is computed by its parent's
    builder = _Builder(debugger, trainer, state, trace, phase.layer or debugger.layer)
    match phase.kind:
        case "input":
            lines, heading = builder.batch(), "the batch"
        case "forward":
            lines, heading = builder.forward(), f"forward, layer {builder.l}"
        case "cost":
            lines, heading = builder.cost(), "cost"
        case "backward":
            lines, heading = builder.backward(), f"backward, layer {builder.l}"
        case _:
            lines, heading = builder.update(), f"update, layer {builder.l}"
    operands: dict[str, Operand] = {}
    for line in lines:
        for operand in line.operands:
            operands.setdefault(operand.key, operand)
    return PhaseEquation(heading, tuple(lines), phase.kind, builder.l, operands)


class _Builder:
    """The lines of each phase kind for layer `l`."""

    def __init__(
        self, debugger: Debugger, trainer: Trainer, state: TrainState, trace: Trace, l: int
    ) -> None:
        self.debugger, self.trainer, self.state, self.trace = debugger, trainer, state, trace
        self.l = l
        self.L = debugger.depth
        self.network = trainer.network

    # -- helpers -----------------------------------------------------------
    def known(self, quantity: str, layer: int) -> bool:
        return self.debugger.known(quantity, layer)

    def operand(
        self,
        key: str,
        title: str,
        values: np.ndarray | None,
        rows: Axis,
        cols: Axis,
        known: bool = True,
        where: str = "forward",
    ) -> Operand:
        if not known or values is None:
            return Operand(key, title, None, rows, cols, f"not yet: {where} pass (s)")
        return Operand(key, title, _column(np.asarray(values)), rows, cols)

    def g_name(self, layer: int) -> str:
        return G_NAMES.get(self.network.activations[layer].name, "g")

    def a_prev(self, l: int) -> Operand:
        title = "a^(0) = x" if l == 1 else f"a{sup(l - 1)}"
        return self.operand("a_prev", title, self.trace.a[l - 1], "k", "ex", self.known("a", l - 1))

    def weights(self, l: int) -> tuple[Operand, Operand]:
        params = self.state.params
        return (
            self.operand("W", f"W{sup(l)}", params.W[l], "j", "k"),
            self.operand("b", f"b{sup(l)}", params.b[l], "j", "one"),
        )

    def targets(self) -> Operand:
        rows = "j" if self.l == self.L else "out"
        return self.operand("y", "y", self.trace.Y, rows, "ex")

    # -- phases ------------------------------------------------------------
    def batch(self) -> list[Line]:
        W, b = self.weights(1)
        m = self.trace.batch_size
        return [
            Line(
                f"the batch: a^(0) = x, {m} example{'s as columns' if m != 1 else ' as a column'},"
                " targets y",
                (self.a_prev(1), self.targets()),
            ),
            Line("layer 1's parameters at the start of the step: W^(1), b^(1)", (W, b)),
        ]

    def forward(self) -> list[Line]:
        l, trace = self.l, self.trace
        known = self.known("z", l)
        W, b = self.weights(l)
        z = self.operand("z", f"z{sup(l)}", trace.z[l], "j", "ex", known)
        a = self.operand("a", f"a{sup(l)}", trace.a[l], "j", "ex", known)
        if self.network.activations[l].name == "relu":
            a = replace(a, units=True)
        prev = "x" if l == 1 else f"a{sup(l - 1)}"
        return [
            Line(f"z{sup(l)} = W{sup(l)} {prev} + b{sup(l)}", (z, W, self.a_prev(l), b)),
            Line(f"a{sup(l)} = {self.g_name(l)}(z{sup(l)})", (a,)),
        ]

    def cost(self) -> list[Line]:
        L, trace = self.L, self.trace
        known = self.known("cost", 0)
        c0 = self.operand("C0", "C_0", trace.per_example_cost.reshape(1, -1), "one", "ex", known)
        a = self.operand("a", f"a{sup(L)}", trace.a[L], "j", "ex", self.known("a", L))
        formula = LOSS_FORMULAS.get(self.network.loss.name, "C_0").replace("(L)", f"({L})")
        m = trace.batch_size
        note = ""
        if known:
            note = f"C = mean of C_0 over {m} example{'s' if m != 1 else ''} = {trace.data_cost!r}"
            if self.network.l1 or self.network.l2:
                note += (
                    f"; + regularization l1 Σ|W| + l2/2 ΣW² = {trace.reg_cost!r};"
                    f" C = {trace.cost!r}"
                )
        return [Line(formula, (c0, a, self.targets()), note)]

    def backward(self) -> list[Line]:
        l, L, trace = self.l, self.L, self.trace
        known = self.known("delta", l)

        def op(key: str, title: str, values: np.ndarray | None, rows: Axis, cols: Axis) -> Operand:
            return self.operand(key, title, values, rows, cols, known, "backward")

        delta = op("delta", f"delta{sup(l)}", trace.delta[l], "j", "ex")
        activation = self.network.activations[l]
        g_prime = f"{self.g_name(l)}'(z{sup(l)})"
        if l == L and trace.computed_dC_da is None:
            pair = f"{activation.name} + {self.network.loss.name}"
            first = Line(
                f"delta{sup(L)} = a{sup(L)} − y",
                (delta, op("a", f"a{sup(L)}", trace.a[L], "j", "ex"), self.targets()),
                f"{pair}: dC_0/da{sup(L)} ⊙ {g_prime} simplifies to a − y; the engine computes"
                " that directly",
            )
        elif l == L and not activation.elementwise:
            first = Line(
                f"delta{sup(L)} = J_{self.g_name(L)}(z{sup(L)})^T dC_0/da{sup(L)}",
                (
                    delta,
                    op("dC_da", f"dC_0/da{sup(L)}", trace.dC_da if known else None, "j", "ex"),
                    op("a", f"a{sup(L)}", trace.a[L], "j", "ex"),
                ),
                "softmax mixes its units: its derivative is a Jacobian per example",
            )
        else:
            derivative = activation.derivative(trace.z[l], trace.a[l]) if known else None
            gp = op("g_prime", g_prime, derivative, "j", "ex")
            if l == L:
                first = Line(
                    f"delta{sup(L)} = dC_0/da{sup(L)} ⊙ {g_prime}",
                    (
                        delta,
                        op("dC_da", f"dC_0/da{sup(L)}", trace.dC_da if known else None, "j", "ex"),
                        gp,
                    ),
                )
            else:
                upstream = self.known("delta", l + 1)
                Wt = self.operand(
                    "W_next_T", f"W{sup(l + 1)}^T", self.state.params.W[l + 1].T, "j", "q"
                )
                d_next = self.operand(
                    "delta_next",
                    f"delta{sup(l + 1)}",
                    trace.delta[l + 1],
                    "q",
                    "ex",
                    upstream,
                    "backward",
                )
                first = Line(
                    f"delta{sup(l)} = (W{sup(l + 1)}^T delta{sup(l + 1)}) ⊙ {g_prime}",
                    (delta, Wt, d_next, gp),
                )
        m = trace.batch_size
        gradients = Line(
            f"dC/dW{sup(l)} = delta{sup(l)} a{sup(l - 1)}^T / m,   dC/db{sup(l)} = mean"
            f" delta{sup(l)}   (m = {m})",
            (
                op("dW", f"dC/dW{sup(l)}", trace.dW[l], "j", "k"),
                self.a_prev(l),
                op("db", f"dC/db{sup(l)}", trace.db[l], "j", "one"),
            ),
        )
        return [first, gradients]

    def update(self) -> list[Line]:
        l, trace, state = self.l, self.trace, self.state
        optimizer = self.trainer.optimizer
        after = self.trainer.advance(state, trace)
        W, b = self.weights(l)
        lines: list[Line] = []
        g_W = trace.grad_W(l)
        dW = self.operand("dW", f"dC/dW{sup(l)}", trace.dW[l], "j", "k")
        if self.network.l1 or self.network.l2:
            terms = " + ".join(
                t for t, s in (("l1 sign(W)", self.network.l1), ("l2 W", self.network.l2)) if s
            )
            lines.append(
                Line(f"g = dC/dW{sup(l)} + {terms}", (self.operand("g", "g", g_W, "j", "k"), dW))
            )
        else:
            lines.append(Line(f"g = dC/dW{sup(l)}", (dW,)))
        W_next = self.operand("W_next", f"W{sup(l)} next", after.params.W[l], "j", "k")
        step = self.operand("step", "ΔW", state.params.W[l] - after.params.W[l], "j", "k")
        lr = f"{optimizer.learning_rate:g}"
        match optimizer.name:
            case "momentum":
                v = self.operand("v", "v", after.opt.get("vW")[l], "j", "k")
                v0 = self.operand("v_prev", "v before", state.opt.get("vW")[l], "j", "k")
                lines.append(Line(f"v ← μ·v + g   (μ = {optimizer.momentum:g})", (v, v0)))
                lines.append(Line(f"W ← W − lr·v   (lr = {lr})", (W_next, W, step)))
            case "adam":
                t = after.opt.t
                b1, b2 = optimizer.beta1, optimizer.beta2
                m_new, v_new = after.opt.get("mW")[l], after.opt.get("vW")[l]
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    m_hat, v_hat = m_new / (1.0 - b1**t), v_new / (1.0 - b2**t)
                lines.append(
                    Line(
                        f"m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²   (β1 = {b1:g},"
                        f" β2 = {b2:g})",
                        (
                            self.operand("m", "m", m_new, "j", "k"),
                            self.operand("v", "v", v_new, "j", "k"),
                        ),
                    )
                )
                lines.append(
                    Line(
                        f"m̂ = m/(1 − β1^t),   v̂ = v/(1 − β2^t)   (t = {t})",
                        (
                            self.operand("mhat", "m̂", m_hat, "j", "k"),
                            self.operand("vhat", "v̂", v_hat, "j", "k"),
                        ),
                    )
                )
                lines.append(
                    Line(
                        f"W ← W − ΔW,   ΔW = lr·m̂/(√v̂ + ε)   (lr = {lr}, ε = {optimizer.eps:g})",
                        (W_next, W, step),
                    )
                )
            case _:
                lines.append(Line(f"W ← W − lr·g   (lr = {lr})", (W_next, W, step)))
        b_next = self.operand("b_next", f"b{sup(l)} next", after.params.b[l], "j", "one")
        db = self.operand("db", f"dC/db{sup(l)}", trace.db[l], "j", "one")
        lines.append(Line(f"b{sup(l)} the same way, fed dC/db{sup(l)}", (b_next, b, db)))
        return lines


def next_hint(debugger: Debugger, brief: bool = False) -> str:
    """What `s` computes next, in one line: ``s: compute z^(1) = W^(1) a^(0) + b^(1)``.

    `brief` names the quantities without their formulas, for a narrow
    status line: ``s: compute z^(1), a^(1)``.
    """
    index = debugger.phase_index + 1
    if index == len(debugger.phases):
        more = "" if brief else ": the next batch a^(0) = x"
        return f"s: step {debugger.step + 1} begins{more}"
    phase = debugger.phases[index]
    l, L = phase.layer, debugger.depth
    g = G_NAMES.get(debugger.timeline.trainer.network.activations[max(l, 1)].name, "g")
    match phase.kind:
        case "forward" if brief:
            return f"s: compute z{sup(l)}, a{sup(l)}"
        case "forward":
            prev = "a^(0)" if l == 1 else f"a{sup(l - 1)}"
            return (
                f"s: compute z{sup(l)} = W{sup(l)} {prev} + b{sup(l)}, a{sup(l)} = {g}(z{sup(l)})"
            )
        case "cost":
            return (
                "s: compute C_0 and C"
                if brief
                else ("s: compute the cost C_0 per example and C = mean C_0")
            )
        case "backward" if brief:
            return f"s: compute delta{sup(l)}, dC/dW{sup(l)}, dC/db{sup(l)}"
        case "backward" if l == L:
            return f"s: compute delta{sup(L)} = dC_0/dz{sup(L)}, then dC/dW{sup(L)}, dC/db{sup(L)}"
        case "backward":
            return (
                f"s: compute delta{sup(l)} = (W{sup(l + 1)}^T delta{sup(l + 1)}) ⊙ {g}'(z{sup(l)}),"
                f" then dC/dW{sup(l)}, dC/db{sup(l)}"
            )
        case _:
            trainer = debugger.timeline.trainer
            if brief:
                return f"s: apply update {debugger.step + 1} ({trainer.optimizer.name})"
            network = trainer.network
            rule = rule_summary(trainer.optimizer, network.l1, network.l2)
            return f"s: apply update {debugger.step + 1}, {rule}"
