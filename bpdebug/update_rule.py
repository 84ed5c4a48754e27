"""How one update moved one weight: the optimizer's rule, with its numbers.

For the weight w_jk^(l) at step N, the equations update N+1 applied, in
order: the gradient it was fed, g = dC/dw (plus l1 sign(w) + l2 w with
regularization, as `Trace.grad_W` adds them), then the optimizer's own
(`Optimizer.explain`): v for momentum; m, v, m-hat, v-hat and the step Δw
for adam; the last one is the new w. Every value is computed with the
engine's float operations in the engine's order, so the last one is
W^(l)[j, k] of the state at step N+1 bit for bit, and evaluating an
equation's expression on its operands gives its value exactly.

`notation` writes an expression the way the screen does (β1·m + (1 − β1)·g),
with symbols or with numbers. No UI toolkit here: the TUI's
`bpdebug.tui.equations` styles these.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from bpdebug.engine import Equation, OptimizerConfig, Trace, optimizer_for
from bpdebug.timeline import Timeline
from bpdebug.training import Trainer, TrainState

__all__ = [
    "Equation",
    "UpdateRule",
    "explain_update",
    "gradient_equation",
    "notation",
    "rule_summary",
    "update_rule_at",
]

SYMBOLS = {
    "dW": "dC/dw",
    "mu": "μ",
    "beta1": "β1",
    "beta2": "β2",
    "eps": "ε",
    "mhat": "m̂",
    "vhat": "v̂",
    "step": "Δw",
}
"""How each name of an expression is written on screen (others as they are)."""

OPERATORS = {"*": "·", "**": "^", "-": " − ", "+": " + ", "/": "/", "(": "(", ")": ")"}
"""How each operator of an expression is written on screen."""

_TOKEN = re.compile(r"sqrt\(\w+\)|\*\*|[A-Za-z_]\w*|\d+(?:\.\d+)?|[-+*/()]")


@dataclass(frozen=True)
class UpdateRule:
    """The update of w_jk^(l) from step `step` to step + 1, equation by equation."""

    optimizer: str
    """The optimizer's scenario name."""
    summary: str
    """`rule_summary` of the optimizer, e.g. ``adam: w ← w − lr·m̂/(√v̂ + ε), g = dC/dw``."""
    layer: int
    j: int
    k: int
    step: int
    """N: the update takes the state at step N to step N + 1."""
    t: int
    """The optimizer's update count after this update (adam's t)."""
    before: float
    """w_jk^(l) at step N."""
    gradient: Equation
    """g = dC/dw (+ regularization): what the optimizer is fed."""
    equations: tuple[Equation, ...]
    """The optimizer's equations in order; the last one assigns the new w."""
    edited: float | None = None
    """The value w_jk^(l) was set to by hand at step N + 1, replacing `after` (or None)."""

    @property
    def after(self) -> float:
        """w_jk^(l) after the update (at step N + 1, unless `edited`)."""
        return self.equations[-1].value

    @property
    def g(self) -> float:
        """The gradient the optimizer was fed for this weight."""
        return self.gradient.value

    def value(self, symbol: str) -> float:
        """The value of the equation that assigns `symbol` (``"g"``, ``"m"``, ``"vhat"``...)."""
        for equation in (self.gradient, *self.equations):
            if equation.symbol == symbol:
                return equation.value
        raise KeyError(symbol)


def gradient_equation(dW: float, w: float, l1: float, l2: float, g: float) -> Equation:
    """g = dC/dw (+ l1 sign(w) + l2 w), whose value `g` the engine computed.

    Only the penalties in use are written; the engine also adds the unused
    one, as 0 (0 · sign(w) or 0 · w), which changes no value.
    """
    if not (l1 or l2):
        return Equation("g", "dW", (("dW", dW),), g, assigns=False)
    terms = [t for t, strength in (("l1 * sign(w)", l1), ("l2 * w", l2)) if strength]
    penalty = " + ".join(terms)
    expression = f"dW + ({penalty})" if len(terms) > 1 else f"dW + {penalty}"
    operands = (("dW", dW), *((n, x) for n, x in (("l1", l1), ("l2", l2)) if x), ("w", w))
    return Equation("g", expression, operands, g, assigns=False)


def explain_update(
    trainer: Trainer, state: TrainState, trace: Trace, l: int, j: int, k: int
) -> UpdateRule:
    """The update `trainer` makes from `state` (whose pass is `trace`) for w_jk^(l)."""
    network, config = trainer.network, trainer.optimizer
    optimizer = optimizer_for(config)
    w = float(state.params.W[l][j, k])
    g = float(trace.grad_W(l)[j, k])  # dW, or dW + dW_reg as Trainer feeds it
    gradient = gradient_equation(float(trace.dW[l][j, k]), w, network.l1, network.l2, g)
    return UpdateRule(
        optimizer=optimizer.name,
        summary=rule_summary(config, network.l1, network.l2),
        layer=l,
        j=j,
        k=k,
        step=state.step,
        t=state.opt.t + 1,
        before=w,
        gradient=gradient,
        equations=optimizer.explain(w, g, state.opt, l, j, k),
    )


def update_rule_at(timeline: Timeline, l: int, j: int, k: int) -> UpdateRule:
    """The update from the timeline's current step for w_jk^(l), with any edit at the next step."""
    rule = explain_update(timeline.trainer, timeline.state, timeline.trace, l, j, k)
    edits = [
        e.value for e in timeline.edits if (e.step, e.layer, e.j, e.k) == (rule.step + 1, l, j, k)
    ]
    if edits:
        return replace(rule, edited=edits[-1])
    return rule


def rule_summary(config: OptimizerConfig, l1: float = 0.0, l2: float = 0.0) -> str:
    """The optimizer's rule in one line: ``adam: w ← w − lr·m̂/(√v̂ + ε), g = dC/dw``."""
    optimizer = optimizer_for(config)
    rule = "; ".join(f"{symbol} ← {notation(expr)}" for symbol, expr in optimizer.summary)
    gradient = gradient_equation(0.0, 0.0, l1, l2, 0.0)
    return f"{optimizer.name}: {rule}, g = {notation(gradient.expression)}"


def notation(
    expression: str,
    values: Mapping[str, float] | None = None,
    number: Callable[[float], str] = repr,
    texts: Mapping[str, str] | None = None,
) -> str:
    """`expression` as the screen writes it; with `values`, those names become numbers.

    ``beta1 * m + (1 - beta1) * g`` reads ``β1·m + (1 − β1)·g``; given
    values for beta1, m and g it reads ``0.9·(-0.0123) + (1 − 0.9)·0.0477``
    with `number` formatting each, or `texts` giving a name's number ready
    written (negative numbers in parentheses).
    """

    def name(token: str) -> str:
        if texts is not None and token in texts:
            text = texts[token]
        elif values is not None and token in values:
            x = values[token]
            text = str(x) if isinstance(x, int) else number(x)
        else:
            return SYMBOLS.get(token, token)
        return f"({text})" if text.startswith("-") else text

    out = []
    for token in _TOKEN.findall(expression):
        if token.startswith("sqrt("):
            out.append("√" + name(token[5:-1]))
        elif token in OPERATORS:
            out.append(OPERATORS[token])
        elif token[0].isdigit():
            out.append(token)
        else:
            out.append(name(token))
    return "".join(out)
