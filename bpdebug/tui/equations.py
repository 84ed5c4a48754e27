"""Rich text for the chain-rule pane and the update phase, in the seeds' notation.

The chain rule (3Blue1Brown): dC0/dw = dz/dw · da/dz · dC0/da for the
selected weight w_jk^(l) and example, every factor read from z
(`bpdebug.chainrule.chain_rule_at`). The update: the optimizer's rule for
the same weight with its numbers (`bpdebug.update_rule`).

How the numbers relate to what is shown: every number is its float rounded
for display by `render.fmt` (4 significant digits), hyper-parameters
(lr, μ, β1, β2, ε, l1, l2) with Python's ``g`` format, the digits the
scenario gave. Each result is computed from the unrounded operands, so the
arithmetic redone on the shown digits agrees with the shown result to
about its last digit. The last line, the new w, is exact as written: its
numbers get one common number of decimals, enough for 4 significant digits
of the smallest, to tell w before from w after, and for the arithmetic on
the written digits to round to the written result (`adding_up`).
"""

from __future__ import annotations

import ast
import math

from rich.text import Text

from bpdebug.debugger import Debugger
from bpdebug.tui.render import fmt, sup
from bpdebug.update_rule import Equation, UpdateRule, notation, rule_summary, update_rule_at

__all__ = [
    "LOSS_GRADIENT",
    "PRIME",
    "chain_text",
    "rule_summary",
    "update_text",
]

PRIME = {
    "sigmoid": "σ'",
    "tanh": "tanh'",
    "relu": "relu'",
    "leaky_relu": "leaky_relu'",
    "linear": "linear'",
    "softmax": "softmax'",
}
"""g' by activation name, as the chain-rule pane writes it."""

LOSS_GRADIENT = {
    "squared_error": "2(a_{j}^({l}) - y_{j})",
    "half_squared_error": "(a_{j}^({l}) - y_{j})",
    "cross_entropy": "-y_{j}/a_{j}^({l})",
    "binary_cross_entropy": "(-y_{j}/a_{j}^({l}) + (1 - y_{j})/(1 - a_{j}^({l})))",
}
"""dC_0/da_j^(L) by loss name."""

MAX_PATHS = 4
"""Path terms written out before the sum is abbreviated."""

HYPER_PARAMETERS = frozenset({"lr", "mu", "beta1", "beta2", "eps", "l1", "l2"})
"""Names whose numbers are the scenario's settings, written with ``g`` (0.999, not 0.9990)."""

NOISE = 1e-9
"""Relative difference between the engine's delta and the one from z that is more than rounding."""


def factor(x: float) -> str:
    """A number inside a product: negative ones in parentheses."""
    text = fmt(x)
    return f"({text})" if text.startswith("-") else text


def differs(shown: float, recorded: float) -> bool:
    """Whether the engine's number would read differently, by more than rounding noise."""
    if fmt(shown) == fmt(recorded):
        return False
    if math.isfinite(shown) and math.isfinite(recorded):
        return abs(shown - recorded) > NOISE * max(abs(shown), abs(recorded))
    return True


def chain_text(debugger: Debugger) -> Text:
    """The chain-rule pane for the selected weight w_jk^(l); at the update phase, the update too.

    The factors come from z, so they are finite and nonzero wherever the
    true derivative is (sigma'(45) = 2.9e-20, where a(1 - a) = 0), and
    their product is the product shown. Where the engine's own delta (the
    delta matrix, computed from a = g(z)) reads differently, a line says so.
    """
    l, j, k = debugger.layer, debugger.j, debugger.k
    text = Text()
    text.append(f"chain rule for w_{{{j},{k}}}{sup(l)}", style="bold")
    text.append(f"  (unit {j} of layer {l}, from unit {k} of layer {l - 1})\n")
    if not debugger.known("delta", l):
        text.append(
            f"needs delta{sup(l)}: step into the backward pass (s) to layer {l}", style="dim"
        )
        return text
    rule = debugger.chain_rule()
    net = debugger.timeline.scenario.network
    activation = net.activation_of(l)
    m = debugger.trace.batch_size
    i = rule.example
    which = f"example {i}" if debugger.example is not None else f"example {i} of {m}"
    text.append("dC0/dw = dz/dw · da/dz · dC0/da", style="bold")
    text.append(f"   ({which})\n")
    dC_da_name = (
        LOSS_GRADIENT[net.loss].format(j=j, l=l)
        if l == debugger.depth
        else f"Σ_q w_{{q,{j}}}{sup(l + 1)} δ_q{sup(l + 1)}"
    )
    if rule.da_dz is None:
        text.append(
            f"       = a_{k}{sup(l - 1)} · δ_{j}{sup(l)}   (softmax: da/dz is a Jacobian)\n"
        )
    else:
        g = f"{PRIME.get(activation, 'g')}(z_{j}{sup(l)})"
        text.append(f"       = a_{k}{sup(l - 1)} · {g} · {dC_da_name}\n")
    text.append(f"       = {fmt(rule.factors[0])} · ")
    text.append(" · ".join(factor(x) for x in rule.factors[1:]) + " = ")
    text.append(fmt(rule.product), style="bold")
    text.append("\n")
    if rule.paths:
        terms = [f"{factor(p.weight)}·{factor(p.delta)}" for p in rule.paths[:MAX_PATHS]]
        more = f" + … ({len(rule.paths)} paths)" if len(rule.paths) > MAX_PATHS else ""
        text.append(f"dC0/da_{j}{sup(l)} = Σ over layer {l + 1}: ")
        text.append(" + ".join(terms) + more + f" = {fmt(rule.dC_da)}\n")
    rounded = [(f"δ_{j}{sup(l)}", rule.dC_dz, rule.recorded)]
    rounded += [(f"δ_{p.q}{sup(l + 1)}", p.delta, p.recorded) for p in rule.paths]
    notes = [f"{name} = {fmt(got)}" for name, exact, got in rounded if differs(exact, got)]
    if notes:
        text.append(
            f"the δ matrices hold {', '.join(notes)}: the engine computes δ from a = g(z),"
            " which has rounded; the factors here come from z\n",
            style="yellow",
        )
    text.append(f"batch mean dC/dw_{{{j},{k}}}{sup(l)} = ")
    text.append(fmt(rule.batch_mean), style="bold")
    examples = "1 example" if m == 1 else f"{m} examples"
    text.append(f"  (mean of {examples} = dW{sup(l)}[{j},{k}])")
    if rule.reg:
        text.append(f"\n+ regularization {fmt(rule.reg)} = {fmt(rule.batch_mean + rule.reg)}")
    if debugger.phase.kind == "update":
        text.append("\n\n")
        text.append_text(update_text(debugger))
    return text


def adding_up(equation: Equation) -> dict[str, str]:
    """The numbers of the update of w written so that they add up as shown.

    Every operand but the settings gets the same number of decimals: enough
    for 4 significant digits of the smallest and to tell w before from w
    after, and then more until the arithmetic redone on the written digits
    rounds to the written result (a reader checking 0.3754 − 0.0073 would
    otherwise find 0.3681 where the screen says 0.3680).
    """
    operands = dict(equation.operands)
    shown = [abs(x) for n, x in operands.items() if n not in HYPER_PARAMETERS and x]
    if not all(math.isfinite(x) for x in (*shown, equation.value)):
        return {}
    need = max((3 - math.floor(math.log10(x)) for x in shown), default=4)
    before = operands.get("w", equation.value)
    if before != equation.value:
        need = max(need, -math.floor(math.log10(abs(before - equation.value))))
    for decimals in range(max(4, need), 18):
        rounded = {
            n: x if n in HYPER_PARAMETERS else round(x, decimals) for n, x in operands.items()
        }
        redone = _evaluate(equation.expression, rounded)
        if round(redone, decimals) == round(equation.value, decimals):
            texts = {
                n: f"{x:.{decimals}f}" for n, x in rounded.items() if n not in HYPER_PARAMETERS
            }
            texts["="] = f"{equation.value:.{decimals}f}"
            return texts
    return {n: repr(x) for n, x in operands.items()} | {"=": repr(equation.value)}


def _evaluate(expression: str, names: dict[str, float]) -> float:
    """An update expression (our own Python arithmetic: names, numbers, + - * / **, sqrt)."""

    def value(node: ast.expr) -> float:
        match node:
            case ast.Constant(value=float() | int() as number):
                return float(number)
            case ast.Name(id=name):
                return names[name]
            case ast.UnaryOp(op=ast.USub(), operand=inner):
                return -value(inner)
            case ast.BinOp(left=left, op=op, right=right):
                a, b = value(left), value(right)
                match op:
                    case ast.Add():
                        return a + b
                    case ast.Sub():
                        return a - b
                    case ast.Mult():
                        return a * b
                    case ast.Div():
                        return a / b if b else math.inf
                    case ast.Pow():
                        return float(a**b)
            case ast.Call(func=ast.Name(id="sqrt"), args=[inner]):
                return math.sqrt(value(inner))
        raise ValueError(f"not an update expression: {ast.dump(node)}")

    return value(ast.parse(expression, mode="eval").body)


def number(name: str, x: float) -> str:
    """A value as an equation writes it: settings with ``g``, the rest with `fmt`."""
    return f"{x:g}" if name in HYPER_PARAMETERS else fmt(x)


def equation_text(equation: Equation, texts: dict[str, str] | None = None) -> Text:
    """``m ← β1·m + (1 − β1)·g`` and, under it, the same with numbers and the result."""
    operands = dict(equation.operands)
    written = {n: number(n, x) for n, x in operands.items() if not isinstance(x, int)}
    written.update(texts or {})
    arrow = "←" if equation.assigns else "="
    symbol = notation(equation.symbol)
    formula = notation(equation.expression)
    numbers = notation(equation.expression, operands, texts=written)
    result = (texts or {}).get("=", fmt(equation.value))
    text = Text(f"{symbol} {arrow} {formula}")
    if len(operands) > 1:  # a bare name (g = dC/dw) goes straight to its value
        text.append(f"\n    = {numbers}")
    text.append(" = ")
    text.append(result, style="bold")
    return text


def update_text(debugger: Debugger) -> Text:
    """The update phase for the selected weight: the optimizer's rule with its numbers.

    One equation per operation, in the order the engine applies them: the
    gradient g the optimizer is fed (with its l1/l2 terms), then momentum's
    v, or adam's m, v, m̂, v̂ and the step Δw, then w. Each line's result
    is computed from the unrounded values of the lines before, and the last
    is the weight at the next step (see the module's docstring for how the
    shown digits relate to those values).
    """
    l, j, k = debugger.layer, debugger.j, debugger.k
    rule: UpdateRule = update_rule_at(debugger.timeline, l, j, k)
    text = Text()
    text.append(f"update {rule.step} → {rule.step + 1} of w_{{{j},{k}}}{sup(l)}", style="bold")
    text.append(f"  ({rule.summary})\n")
    text.append_text(equation_text(rule.gradient))
    for equation in rule.equations:
        text.append("\n")
        last = equation is rule.equations[-1]
        text.append_text(equation_text(equation, adding_up(equation) if last else None))
    if rule.edited is not None:
        text.append(
            f"\nthen w_{{{j},{k}}}{sup(l)} was set by hand to {fmt(rule.edited)} at step"
            f" {rule.step + 1}",
            style="yellow",
        )
    return text
