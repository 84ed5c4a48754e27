"""The centre's equations hold for the operands they show, in every phase of every scenario.

What the screen writes as `z^(1) = W^(1) x + b^(1)` must be what its
matrices satisfy, so each test recomputes the left side from the operands
shown on the right with numpy and compares.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import OPTIMIZERS, make_scenario
from tui_helpers import SCENARIOS

from bpdebug.debugger import Debugger
from bpdebug.operands import PhaseEquation, next_hint, phase_equation, shown_phase
from bpdebug.scenario import load_scenario, loads_scenario
from bpdebug.snapshot.build import snapshot
from bpdebug.timeline import Timeline
from bpdebug.tui.render import network_text

BUNDLED = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
MIXED = """\
name = "mixed"
seed = 3
[network]
layers = [2, 4, 3, 3]
activations = ["tanh", "leaky_relu", "softmax"]
loss = "cross_entropy"
[data]
inputs = [[0, 0], [0, 1], [1, 0], [1, 1], [0.5, 0.2], [0.3, 0.9]]
targets = [[1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 0, 1]]
[training]
batch_size = 3
learning_rate = 0.3
"""
"""Each layer its own activation (`network.activations`), as imported models have."""


def at_phase(d: Debugger, kind: str, layer: int = 0) -> PhaseEquation:
    """Move `d` to the phase (kind, layer) of its step and return the centre."""
    d.phase_index = next(
        i for i, p in enumerate(d.phases) if p.kind == kind and (not layer or p.layer == layer)
    )
    if d.phase.layer:  # as stepping there would: the selection follows the phase
        d.select_layer(d.phase.layer)
    return phase_equation(d)


def values(eq: PhaseEquation, key: str) -> np.ndarray:
    operand = eq.operands[key]
    assert operand.values is not None, f"{operand.title}: {operand.placeholder}"
    return operand.values


def close(a: np.ndarray, b: np.ndarray) -> bool:
    return np.allclose(a, b, rtol=1e-12, atol=1e-15, equal_nan=True)


@pytest.fixture(params=[*BUNDLED, "mixed"])
def debugger(request: pytest.FixtureRequest) -> Debugger:
    if request.param == "mixed":
        scenario = loads_scenario(MIXED, "mixed.toml")
    else:
        scenario = load_scenario(SCENARIOS / f"{request.param}.toml")
    d = Debugger(Timeline(scenario))
    d.goto(2)
    return d


def test_forward_z_is_W_a_plus_b_and_a_is_g_of_z(debugger: Debugger) -> None:
    network = debugger.timeline.trainer.network
    for l in range(1, debugger.depth + 1):
        eq = at_phase(debugger, "forward", l)
        assert eq.lines[0].formula.startswith(f"z^({l}) = W^({l}) ")
        z, W, a_prev, b = (values(eq, k) for k in ("z", "W", "a_prev", "b"))
        assert close(z, W @ a_prev + b)
        assert close(values(eq, "a"), network.activations[l].raw(z))
        if l == 1:
            assert eq.operands["a_prev"].title == "a^(0) = x"


def test_cost_is_the_mean_of_the_per_example_costs(debugger: Debugger) -> None:
    eq = at_phase(debugger, "cost")
    trace = debugger.trace
    c0 = values(eq, "C0")
    assert c0.shape == (1, trace.batch_size)
    assert close(c0[0], trace.per_example_cost)
    assert repr(trace.data_cost) in eq.lines[0].note
    assert close(values(eq, "y"), trace.Y)


def test_backward_delta_and_the_gradients_follow_from_the_operands(debugger: Debugger) -> None:
    L = debugger.depth
    for l in range(L, 0, -1):
        eq = at_phase(debugger, "backward", l)
        delta = values(eq, "delta")
        if "g_prime" in eq.operands and l < L:
            upstream = values(eq, "W_next_T") @ values(eq, "delta_next")
            assert close(delta, upstream * values(eq, "g_prime"))
        elif "g_prime" in eq.operands:
            assert close(delta, values(eq, "dC_da") * values(eq, "g_prime"))
        elif "dC_da" not in eq.operands:  # the fused a - y
            assert eq.lines[0].formula == f"delta^({L}) = a^({L}) − y"
            assert "the engine computes that directly" in eq.lines[0].note
            assert close(delta, values(eq, "a") - values(eq, "y"))
        m = delta.shape[1]
        assert close(values(eq, "dW"), delta @ values(eq, "a_prev").T / m)
        assert close(values(eq, "db")[:, 0], delta.mean(axis=1))


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize(("l1", "l2"), [(0.0, 0.0), (0.002, 0.03)])
def test_update_W_next_is_W_minus_the_step_of_the_rule(
    optimizer: str, l1: float, l2: float
) -> None:
    timeline = Timeline(make_scenario(optimizer=optimizer, learning_rate=0.3, l1=l1, l2=l2))
    d = Debugger(timeline)
    d.goto(3)
    for l in (1, 2):
        eq = at_phase(d, "update")
        d.select_layer(l)
        eq = phase_equation(d)
        assert eq.heading == f"update, layer {l}"
        W, W_next, step = values(eq, "W"), values(eq, "W_next"), values(eq, "step")
        assert np.array_equal(W_next, timeline.state_at(4).params.W[l])
        assert close(W - step, W_next)
        g = values(eq, "g") if (l1 or l2) else values(eq, "dW")
        assert np.array_equal(g, d.trace.grad_W(l))
        lr = 0.3
        if optimizer == "sgd":
            assert close(step, lr * g)
        elif optimizer == "momentum":
            mu = timeline.trainer.optimizer.momentum
            assert close(values(eq, "v"), mu * values(eq, "v_prev") + g)
            assert close(step, lr * values(eq, "v"))
        else:
            opt = timeline.trainer.optimizer
            t = 4
            m_hat, v_hat = values(eq, "mhat"), values(eq, "vhat")
            assert close(m_hat, values(eq, "m") / (1 - opt.beta1**t))
            assert close(v_hat, values(eq, "v") / (1 - opt.beta2**t))
            assert close(step, lr * m_hat / (np.sqrt(v_hat) + opt.eps))
        assert np.array_equal(values(eq, "b_next"), timeline.state_at(4).params.b[l][:, None])


def test_what_the_pass_has_not_computed_is_a_placeholder() -> None:
    d = Debugger(Timeline(load_scenario(SCENARIOS / "xor.toml")))
    eq = phase_equation(d)  # step 0's batch: nothing computed
    assert (eq.kind, eq.heading) == ("input", "the batch")
    assert values(eq, "a_prev").shape == (2, 4)
    d.select_layer(2)  # another layer: its forward equation, not computed yet
    eq = phase_equation(d)
    assert eq.heading == "forward, layer 2"
    assert eq.operands["z"].values is None
    assert eq.operands["z"].placeholder == "not yet: forward pass (s)"
    assert eq.operands["W"].values is not None


def test_another_layer_shows_its_latest_computed_phase() -> None:
    d = Debugger(Timeline(load_scenario(SCENARIOS / "xor.toml")))
    at_phase(d, "backward", 1)
    d.select_layer(2)
    assert shown_phase(d).kind == "backward"  # layer 2's backward is computed
    at_phase(d, "backward", 2)
    d.select_layer(1)
    assert (shown_phase(d).kind, shown_phase(d).layer) == ("forward", 1)  # not yet backward
    at_phase(d, "cost")
    assert shown_phase(d).kind == "cost"
    d.select_layer(1)
    assert shown_phase(d).kind == "forward"


def test_the_hint_names_what_s_computes_next() -> None:
    d = Debugger(Timeline(load_scenario(SCENARIOS / "xor.toml")))
    assert next_hint(d) == "s: compute z^(1) = W^(1) a^(0) + b^(1), a^(1) = σ(z^(1))"
    hints = []
    for _ in range(len(d.phases)):
        d.step_into()
        hints.append(next_hint(d))
    assert hints[0].startswith("s: compute z^(2)")
    assert hints[1].startswith("s: compute the cost")
    assert hints[2].startswith("s: compute delta^(2)")
    assert hints[3].startswith("s: compute delta^(1) = (W^(2)^T delta^(2))")
    assert hints[4].startswith("s: apply update 1, sgd")
    assert hints[5] == "s: step 1 begins: the next batch a^(0) = x"


def test_a_relu_layers_a_is_marked_for_dead_units() -> None:
    d = Debugger(Timeline(load_scenario(SCENARIOS / "wide.toml")))
    assert at_phase(d, "forward", 1).operands["a"].units  # relu
    assert not at_phase(d, "forward", 3).operands["a"].units  # softmax


def test_each_layers_own_activation_reaches_the_screen_and_the_snapshot() -> None:
    d = Debugger(Timeline(loads_scenario(MIXED, "mixed.toml")))
    lines = network_text(d).plain.splitlines()
    assert [line.split()[1:3] for line in lines[1:4]] == [
        ["tanh", "4"],
        ["leaky_relu", "3"],
        ["softmax", "3"],
    ]
    d.step_into()  # forward 1
    d.step_into()  # forward 2: a^(2) = leaky_relu(z^(2))
    assert d.phase.kind == "forward" and d.phase.layer == 2
    assert "leaky_relu" in " ".join(line.formula for line in phase_equation(d).lines)
    layers = snapshot(d.timeline)["layers"]
    assert [layer["activation"] for layer in layers] == ["tanh", "leaky_relu", "softmax"]
