"""The Debugger without a screen: the phase cursor, the selection, the chain rule, breakpoints.

Everything the TUI's keys do goes through these methods, so the numbers are
checked here directly against the recorded pass (the contract's arrays).
"""

from __future__ import annotations

import numpy as np
import pytest
from tui_helpers import SCENARIOS, XOR, divergent_scenario, whole_pass

from bpdebug.breakpoints import parse as parse_breakpoint
from bpdebug.chainrule import ChainRule, chain_rule_at
from bpdebug.debugger import Debugger, Phase, phases
from bpdebug.scenario import load_scenario
from bpdebug.scenario.model import Breakpoint
from bpdebug.timeline import Timeline

QUANTITIES = ("z", "a", "cost", "delta", "dW", "db")


def xor_debugger() -> Debugger:
    """A Debugger on the bundled XOR scenario at step 0's update phase (the whole pass shown)."""
    return whole_pass(Debugger(Timeline(load_scenario(XOR))))


def position(d: Debugger) -> tuple[int, str, int]:
    """(step, phase kind, phase layer)."""
    return d.step, d.phase.kind, d.phase.layer


# --- phases -------------------------------------------------------------------------


def test_phases_run_forward_cost_backward_update():
    """2L + 3 phases: the batch, forward 1..L, the cost, backward L..1, the update."""
    assert phases(2) == (
        Phase("input", 0),
        Phase("forward", 1),
        Phase("forward", 2),
        Phase("cost", 2),
        Phase("backward", 2),
        Phase("backward", 1),
        Phase("update", 0),
    )
    kinds = [(p.kind, p.layer) for p in phases(3)]
    assert kinds == [
        ("input", 0),
        ("forward", 1),
        ("forward", 2),
        ("forward", 3),
        ("cost", 3),
        ("backward", 3),
        ("backward", 2),
        ("backward", 1),
        ("update", 0),
    ]
    assert phases(1)[0].describe() == "the batch"
    assert phases(1)[1].describe() == "forward, layer 1"
    assert phases(1)[3].describe() == "backward, layer 1"


def test_a_new_session_starts_at_step_0_before_anything_is_computed():
    """The cursor starts on step 0's batch, layer 1 selected: the first s computes z^(1)."""
    d = Debugger(Timeline(load_scenario(XOR)))
    assert position(d) == (0, "input", 0)
    assert (d.layer, d.j, d.k, d.example) == (1, 0, 0, None)
    assert d.known("a", 0)
    assert not any(d.known(q, l) for q in QUANTITIES for l in (1, 2))
    d.step_into()
    assert position(d) == (0, "forward", 1)
    assert d.known("z", 1) and not d.known("z", 2)


def test_step_into_and_step_back_round_trip_across_steps():
    """step_into n times then step_back n times returns to the same place, bit for bit."""
    d = xor_debugger()
    W0 = [np.array(w) for w in d.params.W[1:]]
    visited = [position(d)]
    for _ in range(15):
        d.step_into()
        visited.append(position(d))
    assert visited[1] == (1, "input", 0)
    assert visited[2] == (1, "forward", 1)
    assert visited[8] == (2, "input", 0)
    assert visited[-1] == (3, "input", 0)
    for want in reversed(visited[:-1]):
        assert d.step_back()
        assert position(d) == want
    assert all(np.array_equal(a, b) for a, b in zip(d.params.W[1:], W0, strict=True))


def test_step_back_stops_at_step_0s_batch():
    """Before step 0's batch there is nothing: step_back says so and does not move."""
    d = xor_debugger()
    while d.phase_index:
        assert d.step_back()
    assert position(d) == (0, "input", 0)
    assert not d.step_back()
    assert position(d) == (0, "input", 0)


def test_the_selected_layer_follows_the_phase():
    """Each forward or backward phase selects its layer; cost selects L; update keeps it."""
    d = xor_debugger()
    layers = []
    for _ in range(7):
        d.step_into()
        layers.append(d.layer)
    assert layers == [2, 1, 2, 2, 2, 1, 1]  # the batch keeps layer 2


def test_known_follows_the_phase():
    """What each phase has computed: z, a up to the forward layer; delta, dW, db from L down."""
    d = xor_debugger()
    d.step_into()  # step 1, the batch
    assert not any(d.known(q, l) for q in QUANTITIES for l in (1, 2))
    d.step_into()  # step 1, forward layer 1
    table = []
    for _ in range(6):
        table.append({(q, l) for q in QUANTITIES for l in (1, 2) if d.known(q, l)})
        d.step_into()
    za = {("z", 1), ("a", 1)}
    forward = za | {("z", 2), ("a", 2)}
    cost = forward | {("cost", 1), ("cost", 2)}
    back2 = cost | {("delta", 2), ("dW", 2), ("db", 2)}
    back1 = back2 | {("delta", 1), ("dW", 1), ("db", 1)}
    assert table == [za, forward, cost, back2, back1, back1]
    assert d.known("a", 0)  # the input is always known


def test_next_rewind_and_goto_keep_the_phase():
    """Whole updates keep the phase cursor; rewind says False at step 0."""
    d = xor_debugger()
    assert not d.rewind()
    for _ in range(3):
        d.step_into()  # step 1: the batch, forward layer 1, forward layer 2
    d.next()
    assert position(d) == (2, "forward", 2)
    assert d.rewind()
    assert position(d) == (1, "forward", 2)
    d.goto(40)
    assert position(d) == (40, "forward", 2)
    reference = Timeline(load_scenario(XOR))
    reference.seek(40)
    assert np.array_equal(d.params.W[1], reference.state.params.W[1])


# --- selection ------------------------------------------------------------------------


def test_select_layer_clamps_the_layer_and_the_unit():
    """select_layer stays in 1..L and keeps j, k inside the new layer's shape."""
    d = xor_debugger()
    d.select_layer(1)
    d.move_unit(1)
    d.move_input(1)
    assert (d.layer, d.j, d.k) == (1, 1, 1)
    d.select_layer(2)  # W^(2) is 1x2
    assert (d.layer, d.j, d.k) == (2, 0, 1)
    d.select_layer(9)
    assert d.layer == 2
    d.select_layer(0)
    assert d.layer == 1


def test_move_unit_and_input_wrap():
    """j and k wrap around the layer's units."""
    d = xor_debugger()
    d.select_layer(1)
    d.move_unit(-1)
    d.move_input(3)
    assert (d.j, d.k) == (1, 1)


def test_cycle_example_goes_batch_0_to_m_minus_1_and_back():
    """The example selector cycles batch, 0, 1, ..., m-1, batch; -1 goes the other way."""
    d = xor_debugger()
    forward = []
    for _ in range(5):
        d.cycle_example()
        forward.append(d.example)
    assert forward == [0, 1, 2, 3, None]
    backward = []
    for _ in range(5):
        d.cycle_example(-1)
        backward.append(d.example)
    assert backward == [3, 2, 1, 0, None]


# --- the chain rule ---------------------------------------------------------------


def rule_of(d: Debugger) -> ChainRule:
    """The chain rule the screen shows for the debugger's selection (example 0 for the batch)."""
    net = d.timeline.trainer.network
    return chain_rule_at(net, d.params, d.trace, d.layer, d.j, d.k, d.example or 0)


@pytest.mark.parametrize("layer", [1, 2])
def test_chain_rule_factors_multiply_to_the_per_example_gradient(layer):
    """dz/dw * da/dz * dC/da = delta_j a_k for every weight and example; the batch mean is dW."""
    d = xor_debugger()
    d.goto(3)
    d.select_layer(layer)
    trace = d.trace
    rows, cols = d.params.W[layer].shape
    for j in range(rows):
        for k in range(cols):
            for i in range(trace.batch_size):
                d.j, d.k, d.example = j, k, i
                rule = rule_of(d)
                assert (rule.layer, rule.j, rule.k, rule.example) == (layer, j, k, i)
                assert rule.dz_dw == trace.a[layer - 1][k, i]
                assert rule.recorded == trace.delta[layer][j, i]
                assert rule.dC_dz == pytest.approx(rule.recorded, rel=1e-13)
                assert rule.product == rule.dz_dw * rule.dC_dz
                assert rule.da_dz is not None
                product = rule.dz_dw * rule.da_dz * rule.dC_da
                assert product == pytest.approx(rule.product, rel=1e-14, abs=1e-300)
                assert rule.da_dz * rule.dC_da == pytest.approx(rule.dC_dz, rel=1e-14)
                assert rule.batch_mean == trace.dW[layer][j, k]
                assert np.mean(rule.per_example) == pytest.approx(rule.batch_mean)
                assert rule.reg == 0.0


def test_chain_rule_at_the_output_uses_the_loss_gradient():
    """At layer L, dC/da is 2(a - y) for squared error, and there are no paths."""
    d = xor_debugger()
    d.goto(3)
    trace = d.trace
    for i in range(trace.batch_size):
        d.example = i
        rule = rule_of(d)
        assert rule.paths == ()
        assert rule.dC_da == pytest.approx(2 * (trace.a[2][0, i] - trace.Y[0, i]))
        sigma = trace.a[2][0, i]
        assert rule.da_dz == pytest.approx(sigma * (1 - sigma))


def test_chain_rule_in_a_hidden_layer_sums_the_paths():
    """For a hidden unit, dC/da_j = sum over q of w_qj^(l+1) delta_q^(l+1)."""
    d = xor_debugger()
    d.goto(3)
    d.select_layer(1)
    trace = d.trace
    for j in range(2):
        for i in range(trace.batch_size):
            d.j, d.example = j, i
            rule = rule_of(d)
            assert [p.q for p in rule.paths] == [0]
            assert rule.paths[0].weight == d.params.W[2][0, j]
            assert rule.paths[0].recorded == trace.delta[2][0, i]
            assert rule.paths[0].delta == pytest.approx(trace.delta[2][0, i], rel=1e-13)
            assert rule.dC_da == pytest.approx(sum(p.weight * p.delta for p in rule.paths))


def test_chain_rule_for_the_whole_batch_shows_example_0():
    """With no example selected the factors are example 0's; the mean is still the batch's."""
    d = xor_debugger()
    d.goto(3)
    rule = rule_of(d)
    assert rule.example == 0
    assert len(rule.per_example) == 4
    assert rule.batch_mean == d.trace.dW[2][0, 0]


def test_chain_rule_at_a_softmax_output_has_no_scalar_da_dz():
    """Softmax's da/dz is a Jacobian: da_dz is None and the product is a_k * delta_j."""
    d = whole_pass(Debugger(Timeline(load_scenario(SCENARIOS / "digits.toml"))))
    d.goto(2)
    assert d.layer == 2
    trace = d.trace
    for j, k, i in [(0, 0, 0), (3, 7, 5), (9, 31, 31)]:
        d.j, d.k, d.example = j, k, i
        rule = rule_of(d)
        assert rule.da_dz is None
        assert rule.product == trace.a[1][k, i] * rule.dC_dz
        assert rule.dC_dz == pytest.approx(trace.delta[2][j, i], rel=1e-12, abs=1e-15)
        assert rule.batch_mean == trace.dW[2][j, k]
    d.select_layer(1)  # tanh hidden layer: da/dz is a number again, 10 paths
    rule = rule_of(d)
    assert rule.da_dz is not None
    assert len(rule.paths) == 10


# --- breakpoints --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("nan", Breakpoint("nonfinite")),
        ("inf", Breakpoint("nonfinite")),
        ("NonFinite", Breakpoint("nonfinite")),
        ("cost < 0.05", Breakpoint("cost_below", 0.05)),
        ("cost 0.05", Breakpoint("cost_below", 0.05)),
        ("  cost<1e-3  ", Breakpoint("cost_below", 1e-3)),
        ("grad > 10", Breakpoint("grad_norm_above", 10.0)),
        ("grad < 1e-6 @2", Breakpoint("grad_norm_below", 1e-6, layer=2)),
        ("grad > 5 @ 1", Breakpoint("grad_norm_above", 5.0, layer=1)),
        ("dead", Breakpoint("dead_unit")),
        ("dead @1", Breakpoint("dead_unit", layer=1)),
        ("step 100", Breakpoint("step", 100.0)),
        ("STEP 0", Breakpoint("step", 0.0)),
    ],
)
def test_parse_breakpoint_accepts_every_form(text, want):
    """Every form the prompt's syntax line shows becomes the matching Breakpoint."""
    assert parse_breakpoint(text, depth=2) == want


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected one of"),
        ("loss < 1", "expected one of"),
        ("cost < 0.1 extra", "expected one of"),
        ("cost", "cost needs a number"),
        ("step", "step needs a number"),
        ("cost > 0.1", "falls below"),
        ("grad 10", "grad > VALUE or grad < VALUE"),
        ("grad = 10", "grad > VALUE or grad < VALUE"),
        ("step 1.5", "expected a step number"),
        ("step -1", "expected a step number"),
        ("cost < 1e", "expected a number"),
        ("cost < 1..2", "expected a number"),
        ("grad > 1 @3", "layer 3 does not exist"),
        ("dead @7", "layer 7 does not exist"),
    ],
)
def test_parse_breakpoint_rejects_with_a_reason(text, message):
    """A bad breakpoint raises ValueError saying what was expected."""
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("+", r"\+")):
        parse_breakpoint(text, depth=2)


def test_continue_stops_at_a_breakpoint_and_says_why():
    """continue_ stops on the first step where a breakpoint holds and names it in `paused`."""
    d = xor_debugger()
    d.breakpoints.append(Breakpoint("step", 25.0))
    stop = d.continue_()
    assert (stop.reason, stop.step, d.step) == ("breakpoint", 25, 25)
    assert d.paused == "breakpoint step 25"
    assert d.last_stop == stop


def test_continue_can_be_interrupted():
    """should_stop ends a run between updates; the caller says why (`paused` stays empty)."""
    d = xor_debugger()
    calls = []
    stop = d.continue_(should_stop=lambda: len(calls) >= 2 or bool(calls.append(1)))
    assert stop.reason == "interrupted"
    assert d.step == 3
    assert d.paused == ""


def test_continue_stops_on_nan_or_inf_and_selects_its_layer(tmp_path):
    """A divergent run stops at the first non-finite state; `paused` names the quantity."""
    d = Debugger(Timeline(load_scenario(divergent_scenario(tmp_path))))
    d.select_layer(1)
    stop = d.continue_(max_steps=500)
    assert stop.reason == "breakpoint"
    assert stop.breakpoint == Breakpoint("nonfinite")
    assert "NaN" in d.paused or "inf" in d.paused
    found = d.trace.first_nonfinite()
    assert found is not None
    assert d.layer == max(1, found[1])
    assert d.rewind()
    assert np.isfinite(d.trace.cost)


def test_reverse_continue_finds_the_latest_earlier_hit():
    """reverse_continue seeks back to the latest earlier hit; None (and no move) when none."""
    d = xor_debugger()
    d.breakpoints[:] = [Breakpoint("step", 5.0), Breakpoint("step", 12.0)]
    d.goto(20)
    stop = d.reverse_continue()
    assert stop is not None and stop.step == 12 and d.step == 12
    stop = d.reverse_continue()
    assert stop is not None and stop.step == 5 and d.step == 5
    assert d.paused == "breakpoint step 5"
    assert d.reverse_continue() is None
    assert d.step == 5


# --- edits and the diff reference ---------------------------------------------------


def test_edit_weight_branches_history_at_this_step():
    """edit_weight sets w_jk; the timeline branches here and replays from the new value."""
    d = xor_debugger()
    d.goto(3)
    d.select_layer(1)
    d.move_unit(1)
    before = np.array(d.params.W[1])
    d.edit_weight(0.75)
    want = before.copy()
    want[1, 0] = 0.75
    assert np.array_equal(d.params.W[1], want)
    assert d.timeline.branched_at == 3
    assert d.timeline.state_at(4).params.W[1][1, 0] != 0.75
    d.next()
    after_edit = np.array(d.params.W[1])
    d.goto(1)
    d.goto(3)  # replay passes through the edit
    assert np.array_equal(d.params.W[1], want)
    d.goto(4)
    assert np.array_equal(d.params.W[1], after_edit)
    untouched = Timeline(load_scenario(XOR))
    untouched.seek(4)
    assert not np.array_equal(after_edit, untouched.state.params.W[1])


def test_the_next_state_holds_the_updated_weight():
    """w_jk after this step's update is w - lr * dW for plain SGD at lr 1."""
    d = xor_debugger()
    d.goto(2)
    w = d.params.W[2][0, 0]
    assert d.timeline.state_at(3).params.W[2][0, 0] == w - 1.0 * d.trace.dW[2][0, 0]


def test_reference_step_is_the_mark_or_the_step_before():
    """d compares with the marked step, or with the step before when unmarked (or marked here)."""
    d = xor_debugger()
    assert d.reference_step() is None
    d.goto(4)
    assert d.reference_step() == 3
    d.mark = 1
    assert d.reference_step() == 1
    d.goto(1)
    assert d.reference_step() == 0


def test_an_edit_clears_why_the_run_stopped():
    """After a stop, `paused` names the breakpoint; an edit changes the state it spoke of."""
    d = xor_debugger()
    d.breakpoints.append(Breakpoint("step", 3.0))
    d.continue_(max_steps=10)
    assert d.paused == "breakpoint step 3"
    assert not d.edit_weight(float(d.params.W[d.layer][d.j, d.k]))  # the same value
    assert d.paused == "breakpoint step 3"
    assert d.edit_weight(0.75)
    assert d.paused == ""
