"""The Python API (`bpdebug.load`): the timeline's own numbers, moved like the debugger."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tui_helpers import SCENARIOS

import bpdebug
from bpdebug.errors import InputError
from bpdebug.scenario import load_scenario
from bpdebug.snapshot import ExportError
from bpdebug.timeline import Timeline


def test_load_by_name_and_by_path_open_the_same_scenario_at_step_0() -> None:
    by_name = bpdebug.load("xor")
    by_path = bpdebug.load(SCENARIOS / "xor.toml")
    assert by_name.step == by_path.step == 0
    assert by_name.scenario.text == by_path.scenario.text
    assert by_name.cost == by_path.cost


def test_the_session_shows_the_timelines_numbers_bit_for_bit() -> None:
    s = bpdebug.load(SCENARIOS / "spiral.toml")
    reference = Timeline(load_scenario(SCENARIOS / "spiral.toml"))
    reference.seek(37)
    assert s.seek(37).step == 37
    want = reference.trace
    got = s.trace
    for l in (1, 2, 3):
        for name in ("z", "a", "delta", "dW", "db"):
            assert np.array_equal(getattr(got, name)[l], getattr(want, name)[l]), (name, l)
        assert np.array_equal(s.W[l], reference.state.params.W[l])
        assert np.array_equal(s.b[l], reference.state.params.b[l])
    assert np.array_equal(got.a[0], want.a[0]) and np.array_equal(got.y, want.Y)
    assert got.cost == s.cost == want.cost
    assert np.array_equal(got.per_example_cost, want.per_example_cost)


def test_next_and_back_chain_and_any_route_gives_the_same_state() -> None:
    s = bpdebug.load("spiral")
    straight = s.next(12).W[1].copy()
    assert s.step == 12
    assert s.back(5).step == 7
    assert s.back(100).step == 0  # not past step 0
    assert np.array_equal(s.seek(12).W[1], straight)
    assert np.array_equal(s.next().back().W[1], straight)


def test_arrays_are_the_histories_read_only_ones() -> None:
    s = bpdebug.load("xor").seek(3)
    with pytest.raises(ValueError):
        s.W[1][0, 0] = 5.0
    with pytest.raises(ValueError):
        s.trace.delta[2][0, 0] = 5.0


def test_layers_are_numbered_as_in_the_notation() -> None:
    s = bpdebug.load("xor")
    assert len(s.W) == 2 and len(s.trace.a) == 3
    assert s.trace.a[0].shape == (2, 4)  # the batch: one column per example
    assert [w.shape for w in s.W] == [(2, 2), (1, 2)]
    with pytest.raises(IndexError, match=r"W\^\(l\) has layers 1\.\.2, not 0"):
        s.W[0]
    with pytest.raises(IndexError, match="not 3"):
        s.trace.z[3]


def test_reprs_summarise_arrays_in_one_line_each() -> None:
    s = bpdebug.load("xor")
    assert repr(s).startswith("<bpdebug session 'XOR' at step 0, C = ")
    assert "2-2-1 sigmoid/sigmoid, squared_error, sgd lr 1>" in repr(s)
    lines = repr(s.trace).splitlines()
    assert lines[0] == f"Trace of step 0: batch of 4, C = {s.cost!r}"
    assert lines[1].startswith("  a^(0) 2x4 [0, 1] μ 0.5")
    assert len(lines) == 2 + 5 * 2  # a^(0), then z, a, delta, dW, db per layer
    w1 = s.W[1]
    assert repr(s.W).splitlines()[0] == (
        f"W^(1) 2x2 [{w1.min():.3g}, {w1.max():.3g}] μ {w1.mean():.3g} σ {w1.std():.3g}"
        f" ‖·‖ {np.linalg.norm(w1):.3g}"
    )


def test_a_blow_up_is_flagged_in_the_repr(tmp_path: Path) -> None:
    text = (SCENARIOS / "xor.toml").read_text(encoding="utf-8")
    path = tmp_path / "hot.toml"
    path.write_text(text.replace("learning_rate = 1.0", "learning_rate = 1e300"))
    s = bpdebug.load(path).seek(3)
    assert "NaN" in repr(s.trace) or "inf" in repr(s.trace)


def test_export_is_the_commands_export(tmp_path: Path) -> None:
    s = bpdebug.load("xor").seek(5)
    out = s.export(tmp_path / "x.json")
    assert out.is_file()
    with pytest.raises(ExportError, match="exists"):
        s.export(tmp_path / "x.json")
    s.next().export(tmp_path / "x.json", force=True)
    again = bpdebug.load_snapshot(tmp_path / "x.json")
    assert again.step == 6
    assert np.array_equal(again.W[1], s.W[1]) and np.array_equal(again.W[2], s.W[2])


def test_load_snapshot_refuses_a_scenario_and_load_a_bad_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected a snapshot"):
        bpdebug.load_snapshot(SCENARIOS / "xor.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('[network]\nlayers = [2, "x"]\n')
    with pytest.raises(InputError) as info:
        bpdebug.load(bad)
    assert "network.layers[1]" in str(info.value) and "\n" not in str(info.value)


def test_seek_refuses_a_negative_step() -> None:
    with pytest.raises(ValueError, match="expected a step >= 0, got -1"):
        bpdebug.load("xor").seek(-1)


def test_a_snapshot_of_a_branch_opens_on_that_branch(tmp_path: Path) -> None:
    from bpdebug.debugger import Debugger

    d = Debugger(Timeline(load_scenario(SCENARIOS / "xor.toml")))
    d.goto(10)
    d.new_branch({"training.learning_rate": 3.0})
    d.goto(15)
    s = bpdebug.Session(d.timeline)  # the app's history, as a session
    s.export(tmp_path / "b.json")
    again = bpdebug.load_snapshot(tmp_path / "b.json")
    assert again.branch == "b1" and again.step == 15
    assert repr(again).startswith("<bpdebug session 'XOR' at step 15 on b1, C = ")
    assert repr(again).endswith("sgd lr 3>")
    assert np.array_equal(again.W[1], d.timeline.state.params.W[1])
    assert repr(again.back(10)).endswith("sgd lr 1>")  # before the fork: main's settings
