"""The chain-rule pane and the update phase as text: every number shown is a true one.

`chain_text` and `update_text` are built from a Debugger without an app.
The checks: the factors shown multiply to the product shown (to display
precision), saturated logits show no inf, NaN or false zero, each number
an equation shows is its full-precision operand rounded for display (whose
full-precision forms combine exactly, tests/test_update_rule.py), and the
weight after the update is the Timeline's next weight.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import OPTIMIZERS, make_params, make_scenario
from tui_helpers import whole_pass

from bpdebug.debugger import Debugger
from bpdebug.scenario import load_scenario
from bpdebug.scenario.model import Scenario
from bpdebug.timeline import Timeline
from bpdebug.tui.equations import (
    HYPER_PARAMETERS,
    _evaluate,
    chain_text,
    update_text,
)
from bpdebug.tui.render import fmt
from bpdebug.update_rule import Equation, notation, update_rule_at

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")
NAME = re.compile(r"[A-Za-z_]\w*")


def saturated(activation: str, loss: str, z: float, y: float, **training: float) -> Scenario:
    """A 1-1-1 network whose hidden and output z both equal `z` on its one example."""
    return make_scenario(
        layers=(1, 1, 1),
        activation=activation,
        output=activation,
        loss=loss,
        inputs=np.array([[1.0]]),
        targets=np.array([[y]]),
        explicit_init=make_params([[[z]], [[z]]], [[0.0], [0.0]]),
        **training,  # type: ignore[arg-type]
    )


def debuggers() -> list[Debugger]:
    """Bundled lessons a few steps in, and saturated sigmoid/tanh outputs at step 0."""
    out = []
    for stem in ("xor", "spiral", "digits"):
        d = whole_pass(Debugger(Timeline(load_scenario(SCENARIOS / f"{stem}.toml"))))
        d.goto(3)
        out.append(d)
    for z in (45.0, -45.0, 700.0):
        for y in (0.0, 1.0):
            out.append(
                whole_pass(Debugger(Timeline(saturated("sigmoid", "binary_cross_entropy", z, y))))
            )
    out.append(whole_pass(Debugger(Timeline(saturated("tanh", "squared_error", 30.0, 1.0)))))
    return out


def selections(d: Debugger) -> list[tuple[int, int, int, int]]:
    """A few (layer, j, k, example) of each layer: the corners and the middle."""
    out = []
    m = d.trace.batch_size
    for l in range(1, d.depth + 1):
        rows, cols = d.params.W[l].shape
        out += [(l, 0, 0, 0), (l, rows - 1, cols - 1, m - 1), (l, rows // 2, cols // 2, m // 2)]
    return out


@pytest.mark.parametrize("d", debuggers(), ids=lambda d: d.timeline.scenario.name)
def test_the_factors_shown_multiply_to_the_product_shown(d: Debugger) -> None:
    """fmt(product of the factors) = fmt(product) = the product line's last number."""
    for l, j, k, i in selections(d):
        d.select_layer(l)
        d.j, d.k, d.example = j, k, i
        rule = d.chain_rule()
        assert fmt(math.prod(rule.factors)) == fmt(rule.product)
        assert fmt(rule.dz_dw * rule.dC_dz) == fmt(rule.product)
        text = chain_text(d).plain
        _symbols, line = [x for x in text.splitlines() if x.startswith("       = ")]
        shown = NUMBER.findall(line)
        assert shown == [fmt(x) for x in (*rule.factors, rule.product)], line
        for word in ("inf", "NaN"):
            assert word not in line


@pytest.mark.parametrize("z", [45.0, 100.0, 700.0])
def test_a_saturated_output_shows_true_factors_and_says_where_the_engine_rounded(z: float) -> None:
    """sigmoid + BCE, z >= 45, y = 1: a is 1.0, the engine's delta a - y is 0, the true one not."""
    scenario = make_scenario(
        layers=(1, 1),
        output="sigmoid",
        loss="binary_cross_entropy",
        inputs=np.array([[1.0]]),
        targets=np.array([[1.0]]),
        explicit_init=make_params([[[z]]], [[0.0]]),
    )
    d = whole_pass(Debugger(Timeline(scenario)))
    text = chain_text(d).plain
    assert "inf" not in text and "NaN" not in text
    rule = d.chain_rule()
    assert rule.da_dz is not None and rule.da_dz > 0.0
    assert f"= 1 · {fmt(rule.da_dz)} · (-1) = {fmt(rule.product)}" in text
    assert rule.recorded == 0.0 != rule.dC_dz
    assert "the δ matrices hold δ_0^(1) = 0: the engine computes δ from a = g(z)" in text


def test_no_note_where_the_engine_agrees() -> None:
    """Away from saturation the engine's delta and the one from z read the same: no note."""
    d = whole_pass(Debugger(Timeline(load_scenario(SCENARIOS / "xor.toml"))))
    for l in (1, 2):
        d.select_layer(l)
        assert "the engine computes" not in chain_text(d).plain


def test_the_update_appears_at_the_update_phase_only() -> None:
    """chain_text ends with the update's equations at the update phase, not before."""
    d = whole_pass(Debugger(Timeline(load_scenario(SCENARIOS / "xor.toml"))))
    assert d.phase.kind == "update"
    assert "update 0 → 1 of w_{0,0}^(2)" in chain_text(d).plain
    d.step_back()  # backward, layer 1
    assert "update" not in chain_text(d).plain


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize(("l1", "l2"), [(0.0, 0.0), (0.002, 0.03)])
def test_each_number_in_the_update_is_its_operand_rounded(
    optimizer: str, l1: float, l2: float
) -> None:
    """Equation by equation: the shown digits are the rounding of the operands that combine
    exactly (at full precision) to the value; the last line ends at the next step's weight."""
    timeline = Timeline(make_scenario(optimizer=optimizer, learning_rate=0.3, l1=l1, l2=l2))
    d = whole_pass(Debugger(timeline))
    d.goto(4)
    for l, j, k in [(1, 0, 0), (1, 1, 1), (2, 0, 1)]:
        d.select_layer(l)
        d.j, d.k = j, k
        rule = update_rule_at(timeline, l, j, k)
        lines = update_text(d).plain.splitlines()
        assert lines[0] == f"update 4 → 5 of w_{{{j},{k}}}^({l})  ({rule.summary})"
        numbers = [x for x in lines[1:] if x.startswith("    = ")]
        equations = [e for e in (rule.gradient, *rule.equations) if len(e.operands) > 1]
        assert len(numbers) == len(equations)
        for line, equation in zip(numbers, equations, strict=True):
            last = equation is rule.equations[-1]
            operands = dict(equation.operands)
            full = NUMBER.findall(notation(equation.expression, operands, number=repr))
            *shown, result = NUMBER.findall(line)
            assert len(shown) == len(full), line
            if last:
                check_adds_up(equation, shown, result, line)
                continue
            for digits, exact in zip(shown, full, strict=True):
                x = float(exact)
                assert digits in {exact, fmt(x), f"{x:g}"}, (line, exact)
            assert result == fmt(equation.value), line
        next_w = timeline.state_at(5).params.W[l][j, k]
        assert rule.after == next_w
        *_, result = NUMBER.findall(lines[-1])
        decimals = len(result.split(".")[1])
        assert result == f"{next_w:.{decimals}f}"


def check_adds_up(equation: Equation, shown: list[str], result: str, line: str) -> None:
    """The new w's line: every operand but the settings with the result's decimals, at least
    4 significant digits of each, and the arithmetic on the written digits rounds to the
    written result."""
    decimals = len(result.split(".")[1])
    names = [n for n, _ in equation.operands]
    ordered = NAME.findall(equation.expression)
    written = dict(zip([n for n in ordered if n in names], shown, strict=True))
    values = dict(equation.operands)
    for name, digits in written.items():
        if name in HYPER_PARAMETERS:
            assert digits == f"{values[name]:g}", line
            continue
        assert digits == f"{values[name]:.{decimals}f}", line
        if values[name]:
            assert len(digits.lstrip("-0.").replace(".", "")) >= 4 or decimals >= 17, line
    redone = _evaluate(equation.expression, {n: float(d) for n, d in written.items()})
    assert f"{redone:.{decimals}f}" == result, line
