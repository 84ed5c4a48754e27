"""Layer health (bpdebug.health): its numbers by hand, its flags on the lesson scenarios,
its history through runs and edits, and `bpdebug run --report`."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_params, make_scenario, random_params

from bpdebug.health import SATURATED_Z, HealthHistory
from bpdebug.report import WIDTH, health_lines
from bpdebug.scenario import load_scenario
from bpdebug.timeline import HEALTH_EVERY, Timeline

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "bpdebug"


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_saturation_thresholds_are_where_the_slope_is_one_hundredth() -> None:
    z = SATURATED_Z["sigmoid"]
    assert sigmoid(z) * (1 - sigmoid(z)) == pytest.approx(0.01, rel=1e-12)
    assert 1 - math.tanh(SATURATED_Z["tanh"]) ** 2 == pytest.approx(0.01, rel=1e-12)
    assert SATURATED_Z["sigmoid"] == pytest.approx(4.585, abs=1e-3)
    assert SATURATED_Z["tanh"] == pytest.approx(2.993, abs=1e-3)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_norms_and_update_ratio_by_hand(optimizer: str) -> None:
    """Step 0's row against numpy on the state at step 0, its pass and the state at step 1."""
    params = random_params(np.random.default_rng(3), (2, 3, 2, 1))
    t = Timeline(make_scenario(layers=(2, 3, 2, 1), optimizer=optimizer, explicit_init=params))
    first, trace = t.state, t.trace
    t.next()
    second = t.state
    row = t.health.row(0)
    assert row is not None and row.step == 0
    for l in (1, 2, 3):
        W0, W1 = first.params.W[l], second.params.W[l]
        assert row.grad_norm[l - 1] == pytest.approx(np.sqrt((trace.dW[l] ** 2).sum()), rel=1e-12)
        assert row.weight_norm[l - 1] == pytest.approx(np.sqrt((W0**2).sum()), rel=1e-12)
        by_hand = np.sqrt(((W1 - W0) ** 2).sum()) / np.sqrt((W0**2).sum())
        assert row.update_ratio[l - 1] == pytest.approx(by_hand, rel=1e-12)
    # Step 1's update is not computed yet: its ratio is not known.
    assert np.isnan(t.health.row(1).update_ratio).all()  # type: ignore[union-attr]
    assert not np.isnan(t.health.row(1).grad_norm).any()  # type: ignore[union-attr]


def test_dead_and_saturated_units_by_their_definitions() -> None:
    """relu units 0 and 2 are dead (b = -10 beats any XOR input); sigmoid unit 0 of
    layer 2 is saturated for every example (z >= 10), unit 1 only for some (z = 5x)."""
    params = make_params(
        [[[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [2.0, 0.5]], [[0, 0, 0, 0], [5, 0, 0, 0]]],
        [[-10.0, 0.0, -10.0, 0.0], [10.0, 0.0]],
    )
    t = Timeline(
        make_scenario(
            layers=(2, 4, 2),
            activation="relu",
            output="sigmoid",
            explicit_init=params,
            targets=np.zeros((2, 4)),
        )
    )
    trace = t.trace
    row = t.health.row(0)
    assert row is not None
    assert row.dead[0] == np.all(trace.a[1] == 0, axis=1).mean() == 0.5
    assert np.isnan(row.dead[1])  # sigmoid units cannot die
    assert np.isnan(row.saturated[0])  # relu units do not saturate
    limit = SATURATED_Z["sigmoid"]
    assert row.saturated[1] == np.all(np.abs(trace.z[2]) > limit, axis=1).mean() == 0.5


def test_leaky_relu_never_counts_as_dead() -> None:
    params = make_params([[[0.0, 0.0]], [[1.0]]], [[-10.0], [0.0]])
    t = Timeline(make_scenario(layers=(2, 1, 1), activation="leaky_relu", explicit_init=params))
    _ = t.trace  # the current pass, recorded
    assert np.isnan(t.health.row(0).dead).all()  # type: ignore[union-attr]


def test_vanishing_scenario_flags_its_first_layers() -> None:
    t = Timeline(load_scenario(ROOT / "scenarios" / "vanishing.toml"))
    t.run_until(max_steps=500)
    row = t.health.row(500)
    assert row is not None
    L = row.grad_norm.size
    assert L == 8
    assert row.grad_norm[0] < 1e-3 * row.grad_norm[-1]
    assert (np.diff(row.grad_norm) > 0).all()  # it shrinks at every layer going back
    flagged = {(f.layer, f.kind) for f in t.health.flags(500)}
    assert {(l, "vanishing") for l in (1, 2, 3)} <= flagged
    assert (1, "tiny_updates") in flagged
    assert not any(kind == "vanishing" for layer, kind in flagged if layer >= 6)


def test_dying_relu_scenario_loses_its_units() -> None:
    t = Timeline(load_scenario(ROOT / "scenarios" / "dying_relu.toml"))
    _ = t.trace  # the current pass, recorded
    assert t.health.row(0).dead[1] < 0.5  # type: ignore[union-attr]
    assert not any(f.kind == "dead" for f in t.health.flags(0))
    t.run_until(max_steps=500)
    health = t.health
    assert health.row(500).dead[1] == 1.0  # type: ignore[union-attr]
    assert (2, "dead") in {(f.layer, f.kind) for f in health.flags(500)}
    # On the way there the first updates were flagged as too large.
    t.seek(1)
    assert any(f.kind == "huge_updates" for f in t.health.flags(0))


def test_a_long_run_records_the_same_rows_as_stepping() -> None:
    """run_until keeps every HEALTH_EVERY-th row and the last, equal to the step-by-step ones."""
    scenario = load_scenario(ROOT / "scenarios" / "dying_relu.toml")
    fast, slow = Timeline(scenario), Timeline(scenario)
    fast.run_until(max_steps=25)
    for _ in range(25):
        slow.next()
    _ = slow.trace  # the current pass, recorded
    a, b = fast.health, slow.health
    for step in (0, HEALTH_EVERY, 2 * HEALTH_EVERY, 25):
        for name in ("grad_norm", "weight_norm", "dead", "saturated"):
            np.testing.assert_array_equal(getattr(a, name)[step], getattr(b, name)[step])
        if step < 25:
            np.testing.assert_array_equal(a.update_ratio[step], b.update_ratio[step])
    # The run computed the update after the state it stopped at; stepping has not yet.
    assert not np.isnan(a.update_ratio[25]).any() and np.isnan(b.update_ratio[25]).all()
    assert np.isnan(a.grad_norm[HEALTH_EVERY + 1]).all()  # skipped by the long run


def test_an_edit_truncates_the_health_history() -> None:
    t = Timeline(load_scenario(ROOT / "scenarios" / "xor.toml"))
    t.run_until(max_steps=30)
    t.seek(10)
    before = t.health.row(10)
    assert before is not None
    old_ratio, old_grad = before.update_ratio.copy(), before.grad_norm.copy()
    ratio_9 = t.health.update_ratio[9].copy()
    assert t.edit_weight(1, 0, 0, 3.0)
    health = t.health
    assert health.steps[-1] == 10  # the frontier is the edit
    assert np.isnan(health.grad_norm[10]).all() and np.isnan(health.update_ratio[10]).all()
    np.testing.assert_array_equal(health.update_ratio[9], ratio_9)  # the update before stays
    _ = t.trace  # the current pass, recorded
    t.next()
    row = t.health.row(10)
    assert row is not None
    assert not np.isnan(row.update_ratio).any()
    assert (row.grad_norm != old_grad).any() and (row.update_ratio != old_ratio).any()


def test_the_view_is_read_only_and_memory_counts_it() -> None:
    t = Timeline(load_scenario(ROOT / "scenarios" / "xor.toml"))
    before = t.memory()
    t.run_until(max_steps=2000)
    health = t.health
    with pytest.raises(ValueError):
        health.grad_norm[0, 0] = 1.0
    # The cost history and the health history (5 floats a layer a row) both doubled.
    assert t.memory() - before >= 8 * (1 + 5 * 2) * 1024


def test_a_small_budget_keeps_every_other_row() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "xor.toml")
    t = Timeline(scenario)
    t.run_until(max_steps=64)
    small = HealthHistory((2, 2, 1), ("sigmoid", "sigmoid"), budget=5 * 2 * 8 * 16)
    for step in range(65):
        state, trace = t.peek(step)
        small.record_pass(step, state.params, trace)
    assert small.nbytes() <= 5 * 2 * 8 * 16
    assert small.stride == 8
    view = small.view(64)
    np.testing.assert_array_equal(view.steps, np.arange(0, 65, 8)[: view.steps.size])
    full = Timeline(scenario)
    for _ in range(40):
        full.next()
    np.testing.assert_array_equal(view.row(43).grad_norm, full.health.grad_norm[40])  # type: ignore[union-attr]


def test_report_lines_fit_and_say_not_known() -> None:
    t = Timeline(load_scenario(ROOT / "scenarios" / "vanishing.toml"))
    t.run_until(max_steps=300)
    lines = health_lines(t.health, "Vanishing\x1b[31m", t.step)
    assert all(len(line) <= WIDTH for line in lines), [line for line in lines if len(line) > WIDTH]
    assert lines[0] == "layer health  Vanishing\\x1b[31m  step 300"
    assert "layer  step 0    step 150  step 300" in lines
    assert any(line.startswith("  V layer 1: gradient vanishing") for line in lines)
    t.seek(5)
    t.edit_weight(1, 0, 0, 1.0)
    assert health_lines(t.health, "v", 5)[1] == "not recorded at this step"


# -- the command line ---------------------------------------------------------------


def bpdebug(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the console script as test_cli does; never through the shell."""
    assert SCRIPT.exists(), f"console script not installed at {SCRIPT} (pip install -e .)"
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"},
    )


@pytest.mark.cli
def test_run_report_prints_the_table_after_the_result() -> None:
    out = bpdebug("run", "dying_relu", "--steps", "200", "--report")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("step 200  epoch 200  cost 0.69")
    assert lines[1] == "layer health  Dying relu  step 200"
    assert lines[2].split() == [
        "layer", "activation", "|dC/dW|", "|W|", "update/|W|", "dead", "sat", "flags"
    ]  # fmt: skip
    assert lines[4].split()[:2] == ["2", "relu"] and lines[4].split()[5] == "100%"
    assert "  D layer 2: 100% of units dead (a = 0 for every example)" in lines
    plain = bpdebug("run", "dying_relu", "--steps", "200")
    assert plain.stdout.splitlines() == lines[:1]


@pytest.mark.cli
@pytest.mark.parametrize(
    "args",
    [("nonesuch.toml", "--steps", "5", "--report"), ("xor", "--steps", "-1", "--report")],
)
def test_run_report_bad_input_is_status_2(args: tuple[str, ...]) -> None:
    out = bpdebug("run", *args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stdout == ""
    assert out.stderr.strip().splitlines()[-1].startswith(("bpdebug", "nonesuch"))
