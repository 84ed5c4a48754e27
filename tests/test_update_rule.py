"""The update phase's equations: the rule actually applied, and numbers that add up.

For every optimizer, with and without l1/l2, each weight's equations are
recomputed here from the terms they show, with the engine's float
operations, and must give exactly the weight the Timeline holds at the next
step. The expressions written on screen (with their numbers at full
precision) are parsed back and evaluated to the same bits.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import OPTIMIZERS, make_scenario

from bpdebug.engine import OptimizerConfig
from bpdebug.engine.optimizers import Equation
from bpdebug.scenario import load_scenario
from bpdebug.timeline import Timeline
from bpdebug.update_rule import SYMBOLS, UpdateRule, notation, rule_summary, update_rule_at

REPO = Path(__file__).resolve().parent.parent
PENALTIES = [(0.0, 0.0), (0.01, 0.0), (0.0, 0.05), (0.003, 0.02)]
"""(l1, l2) pairs: none, each alone, both."""
STEPS = 6


def same(x: float, y: float) -> bool:
    """Bit-for-bit equality of two floats (the sign of 0 included)."""
    return np.float64(x).tobytes() == np.float64(y).tobytes()


def evaluate(expression: str, operands: dict[str, float]) -> float:
    """An equation's Python expression, evaluated on its operands."""
    names = {"sqrt": math.sqrt, "sign": lambda x: float(np.sign(x)), **operands}
    return float(eval(expression, {"__builtins__": {}}, names))


def back_to_python(shown: str) -> str:
    """What `notation` wrote, as Python again: · is *, ^ is **, − is -, √x is sqrt(x), m̂ mhat."""
    text = shown.replace("·", "*").replace("^", "**").replace("−", "-")
    for name, symbol in SYMBOLS.items():
        text = text.replace(symbol, name)
    return re.sub(r"√(\([^()]*\)|[^ )]+)", r"sqrt(\1)", text)


def weights(timeline: Timeline) -> list[tuple[int, int, int]]:
    """Every (l, j, k) of the network."""
    W = timeline.state.params.W
    return [
        (l, j, k)
        for l in range(1, len(W))
        for j in range(W[l].shape[0])
        for k in range(W[l].shape[1])
    ]


def by_hand(rule: UpdateRule, config: OptimizerConfig, timeline: Timeline) -> float:
    """The new weight from the terms the rule shows, with the engine's float operations."""
    lr = config.learning_rate
    state = timeline.state.opt
    g = rule.g
    if config.name == "sgd":
        return rule.before - lr * g
    if config.name == "momentum":
        v_before = state.get("vW")[rule.layer][rule.j, rule.k]
        assert same(rule.value("v"), config.momentum * v_before + g)
        return rule.before - lr * rule.value("v")
    m_before = state.get("mW")[rule.layer][rule.j, rule.k]
    v_before = state.get("vW")[rule.layer][rule.j, rule.k]
    b1, b2, t = config.beta1, config.beta2, state.t + 1
    assert same(rule.value("m"), b1 * m_before + (1.0 - b1) * g)
    assert same(rule.value("v"), b2 * v_before + (1.0 - b2) * (g * g))
    assert same(rule.value("mhat"), rule.value("m") / (1.0 - b1**t))
    assert same(rule.value("vhat"), rule.value("v") / (1.0 - b2**t))
    step = lr * rule.value("mhat") / (math.sqrt(rule.value("vhat")) + config.eps)
    assert same(rule.value("step"), step)
    return rule.before - step


def check_equation(equation: Equation) -> None:
    """Its expression on its operands gives its value, and so does the text on screen."""
    operands = dict(equation.operands)
    assert same(evaluate(equation.expression, operands), equation.value), equation
    shown = notation(equation.expression, operands, number=repr)
    assert same(evaluate(back_to_python(shown), {}), equation.value), shown


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize(("l1", "l2"), PENALTIES)
def test_the_terms_shown_combine_to_the_next_weight(optimizer: str, l1: float, l2: float) -> None:
    """Every weight, steps 0..5: recomputed from the shown terms = the Timeline's next weight."""
    scenario = make_scenario(optimizer=optimizer, learning_rate=0.3, l1=l1, l2=l2)
    timeline = Timeline(scenario)
    config = timeline.trainer.optimizer
    for step in range(STEPS):
        timeline.seek(step)
        trace = timeline.trace
        following = timeline.state_at(step + 1).params.W
        for l, j, k in weights(timeline):
            rule = update_rule_at(timeline, l, j, k)
            want = following[l][j, k]
            assert (rule.optimizer, rule.layer, rule.j, rule.k, rule.step) == (
                optimizer,
                l,
                j,
                k,
                step,
            )
            assert rule.before == timeline.state.params.W[l][j, k]
            assert same(rule.after, want)
            assert same(by_hand(rule, config, timeline), want)
            # g: what the engine fed the optimizer, and what the gradient line says it is
            assert same(rule.g, trace.grad_W(l)[j, k])
            dW, w = trace.dW[l][j, k], rule.before
            assert same(rule.g, dW + (l1 * np.sign(w) + l2 * w) if (l1 or l2) else dW)
            assert dict(rule.gradient.operands)["dW"] == dW
            for equation in (rule.gradient, *rule.equations):
                check_equation(equation)
            assert rule.equations[-1].symbol == "w"


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_the_summary_is_the_rule_applied(optimizer: str) -> None:
    """The one-line rule, evaluated on the update's own terms, gives the new weight."""
    scenario = make_scenario(optimizer=optimizer, learning_rate=0.3, l2=0.01)
    timeline = Timeline(scenario)
    timeline.seek(3)
    config = timeline.trainer.optimizer
    summary = rule_summary(config, 0.0, 0.01)
    assert summary.startswith(f"{optimizer}: ") and summary.endswith("g = dC/dw + l2·w")
    for l, j, k in weights(timeline):
        rule = update_rule_at(timeline, l, j, k)
        assert rule.summary == summary
        values = {
            "w": rule.before,
            "g": rule.g,
            "lr": config.learning_rate,
            "mu": config.momentum,
            "eps": config.eps,
        }
        values.update({e.symbol: e.value for e in rule.equations if e.symbol != "w"})
        if optimizer == "momentum":  # v on the right of "v ← μ·v + g" is the v before
            values["v"] = timeline.state.opt.get("vW")[l][j, k]
        rule_text = summary.removeprefix(f"{optimizer}: ").split(", g = ")[0]
        for assignment in rule_text.split("; "):
            symbol, shown = assignment.split(" ← ")
            values[symbol] = evaluate(back_to_python(shown), values)
        assert same(values["w"], rule.after)


def test_adam_can_move_a_weight_up_against_a_positive_gradient() -> None:
    """The step follows m, which remembers earlier gradients: the rule shows why w rises."""
    timeline = Timeline(load_scenario(REPO / "scenarios" / "spiral.toml"))
    seen = 0
    for step in range(0, 40, 4):
        timeline.seek(step)
        for l, j, k in weights(timeline)[:60]:
            rule = update_rule_at(timeline, l, j, k)
            assert rule.summary.startswith("adam: w ← w − lr·m̂/(√v̂ + ε)")
            if rule.g > 0 and rule.after > rule.before:
                seen += 1
                assert rule.value("m") < 0 and rule.value("step") < 0
            if rule.after != rule.before:
                assert math.copysign(1, rule.before - rule.after) == math.copysign(
                    1, rule.value("step")
                )
    assert seen  # the case the issue saw does occur here


def test_a_hand_edit_at_the_next_step_is_reported() -> None:
    """An edit at step N+1 replaces what the rule computed; the rule says so."""
    timeline = Timeline(make_scenario(optimizer="momentum", learning_rate=0.5))
    timeline.seek(3)
    assert timeline.edit_weight(2, 0, 1, 0.75)
    timeline.seek(2)
    rule = update_rule_at(timeline, 2, 0, 1)
    assert rule.edited == 0.75 and rule.after != 0.75
    assert timeline.state_at(3).params.W[2][0, 1] == 0.75
    assert update_rule_at(timeline, 2, 0, 0).edited is None


def test_notation_writes_symbols_and_numbers() -> None:
    """Greek letters and hats for names, · for products, negative numbers in parentheses."""
    expression = "lr * mhat / (sqrt(vhat) + eps)"
    assert notation(expression) == "lr·m̂/(√v̂ + ε)"
    shown = notation(expression, {"lr": 0.5, "mhat": -0.25, "vhat": 4.0, "eps": 1e-8})
    assert shown == "0.5·(-0.25)/(√4.0 + 1e-08)"
    assert evaluate(back_to_python(shown), {}) == 0.5 * -0.25 / (2.0 + 1e-8)
    assert notation("beta1 * m + (1 - beta1) * g") == "β1·m + (1 − β1)·g"
    assert notation("m / (1 - beta1 ** t)", {"m": 1.0, "beta1": 0.9, "t": 3}) == "1.0/(1 − 0.9^3)"
