"""The command line respects the user's time: suggestions, full help, exact reports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpdebug.engine import Network, check_gradients
from bpdebug.engine.gradcheck import Entry, GradCheck, LayerCheck
from bpdebug.engine.network import Params
from bpdebug.report import WIDTH, gradcheck_lines, gradcheck_verdict
from bpdebug.scenario import list_bundled, loads_scenario

ROOT = Path(__file__).resolve().parent.parent
XOR = (ROOT / "scenarios" / "xor.toml").read_text(encoding="utf-8")

pytestmark = pytest.mark.cli


def bpdebug(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bpdebug", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )


# -- did you mean ------------------------------------------------------------
@pytest.mark.parametrize(
    "args", [["xr"], ["run", "xr", "--steps", "1"], ["check", "xr"], ["--threads", "1", "xr"]]
)
def test_an_unknown_name_lists_the_bundled_scenarios_closest_first(
    args: list[str], tmp_path: Path
) -> None:
    out = bpdebug(*args, cwd=tmp_path)
    assert out.returncode == 2
    [line] = out.stderr.splitlines()
    assert line.startswith("xr: not a file nor a bundled scenario; did you mean xor? (bundled: ")
    listed = line.split("(bundled: ")[1].removesuffix(")").split(", ")
    assert sorted(listed) == sorted(b.name for b in list_bundled())
    assert listed[0] == "xor"


def test_a_name_close_to_nothing_still_lists_them(tmp_path: Path) -> None:
    out = bpdebug("run", "qqqqqqq.toml", "--steps", "1", cwd=tmp_path)
    assert out.returncode == 2
    [line] = out.stderr.splitlines()
    assert line.startswith("qqqqqqq.toml: not a file nor a bundled scenario (bundled: ")
    assert "did you mean" not in line


@pytest.mark.parametrize(
    ("old", "new", "key", "guess"),
    [
        ("layers = [2, 2, 1]", "layer = [2, 2, 1]", "network.layer", "layers"),
        ("learning_rate = 1.0", "learnig_rate = 1.0", "training.learnig_rate", "learning_rate"),
        ("batch_size = 4", "Batch_Size = 4", "training.Batch_Size", "batch_size"),
        ("[data]", "[dta]", "dta", "data"),
    ],
)
def test_an_unknown_key_gets_the_closest_names(
    tmp_path: Path, old: str, new: str, key: str, guess: str
) -> None:
    assert old in XOR
    (tmp_path / "s.toml").write_text(XOR.replace(old, new), encoding="utf-8")
    out = bpdebug("validate", "s.toml", cwd=tmp_path)
    assert out.returncode == 2
    [line] = out.stderr.splitlines()
    assert line.startswith(f"s.toml: {key}: unknown key (did you mean {guess}?); the keys allowed")


def test_a_key_close_to_nothing_gets_no_guess() -> None:
    with pytest.raises(Exception, match=r"^s\.toml: network\.zzz: unknown key; the keys") as info:
        loads_scenario(XOR.replace("[network]", "[network]\nzzz = 1"), "s.toml")
    assert "did you mean" not in str(info.value)


# -- help --------------------------------------------------------------------
def test_the_top_level_help_shows_every_option_a_user_needs() -> None:
    out = bpdebug("--help")
    assert out.returncode == 0
    for needed in ("--threads N", "--export-dir DIR", "--version", "BPDEBUG_THREADS", "SCENARIO"):
        assert needed in out.stdout, needed
    for command in ("run", "export", "check", "validate", "scenarios"):
        assert f"    {command} " in out.stdout
    assert max(map(len, out.stdout.splitlines())) <= 100


def test_export_dir_with_a_headless_command_is_refused() -> None:
    out = bpdebug("--export-dir", "x", "validate", "xor")
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        "bpdebug: --export-dir is where the debugger's `e` writes; "
        "it does not apply to `bpdebug validate`"
    ]


# -- check --sample ----------------------------------------------------------
@pytest.mark.parametrize("sample", [1, 3, 40])
def test_check_sample_checks_exactly_n_per_layer(sample: int) -> None:
    out = bpdebug("check", "digits", "--sample", str(sample))
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines() if line[:1].isdigit()]
    # digits is 64-32-10: 2080 and 330 parameters, both more than `sample`
    assert [(row[0], row[1], row[3]) for row in rows] == [
        ("1", str(sample), "2080"),
        ("2", str(sample), "330"),
    ]


def test_sample_larger_than_a_layer_checks_all_of_it() -> None:
    rng = np.random.default_rng(1)
    net = Network((3, 4, 2), "tanh", "linear", "squared_error")
    params = Params(
        (np.empty((0, 0)), rng.normal(size=(4, 3)), rng.normal(size=(2, 4))),
        (np.empty((0, 0)), rng.normal(size=4), rng.normal(size=2)),
    )
    result = check_gradients(
        net, params, rng.normal(size=(3, 5)), rng.normal(size=(2, 5)), sample=11
    )
    assert [c.checked for c in result.layers] == [11, 10]
    names = {e.name for e in result.layers[1].entries}
    assert names == {"W", "b"}


# -- the report's verdict and width --------------------------------------------
def _layer(index: int, error: float) -> LayerCheck:
    """A layer whose one entry has relative error `error` (analytic 1, numeric chosen)."""
    numeric = (1 - error) / (1 + error)  # |1 - n| / (1 + n) == error
    return LayerCheck(index, (Entry("W", (0, 0), 1.0, numeric, kink=False),))


def _result(*errors: float) -> GradCheck:
    return GradCheck(1e-5, 0.5, tuple(_layer(i + 1, e) for i, e in enumerate(errors)))


@pytest.mark.parametrize(
    ("errors", "verdict"),
    [
        ((0.0, 1e-9), "all 2 layers good"),
        ((0.0,), "layer 1 good"),
        ((1e-9, 1e-6), "layer 2 suspect, the rest good"),
        ((1e-6, 1e-6), "layers 1 and 2 suspect"),
        ((1e-2, 1e-9), "layer 1 WRONG"),
        ((1e-2, 1e-6, 1e-2), "layers 1 and 3 WRONG, layer 2 suspect"),
        ((1e-6, 1e-9, 1e-6, 1e-9), "layers 1 and 3 suspect, the rest good"),
    ],
)
def test_the_verdict_is_the_shortest_true_sentence(errors: tuple[float, ...], verdict: str) -> None:
    result = _result(*errors)
    assert [c.band for c in result.layers] == [
        "good" if e <= 1e-7 else "suspect" if e <= 1e-4 else "wrong" for e in errors
    ]
    assert gradcheck_verdict(result) == verdict


def test_a_layer_of_kinks_only_is_not_judged() -> None:
    kinked = LayerCheck(1, (Entry("W", (0, 0), 1.0, 0.0, kink=True),))
    result = GradCheck(1e-5, 0.5, (kinked, _layer(2, 0.0)))
    assert gradcheck_verdict(result) == (
        "layer 1 not judged (every nudge crossed a kink), the rest good"
    )


@pytest.mark.parametrize("name", ["xor", "digits", "wide", "spiral"])
def test_check_prints_the_verdict_and_rows_that_fit(name: str) -> None:
    out = bpdebug("check", name, "--sample", "30")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    depth = len([line for line in lines if line[:1].isdigit()])
    assert lines[-1] == f"all {depth} layers good"
    assert all(len(line) <= WIDTH for line in lines[1:]), lines


def test_rows_with_long_numbers_wrap_their_worst_entry_not_the_row() -> None:
    # The widest a row can be: a huge layer and long numbers in the worst entry.
    big = LayerCheck(1, (Entry("W", (12345, 67890), -1.23456789e-300, 9.87654321e-300, False),))
    kinky = LayerCheck(2, (*big.entries, Entry("b", (3,), 1.0, 1.0, kink=True)))
    W = (np.empty((0, 0)), np.empty((100_000, 80)), np.empty((3, 100_000)))
    b = (np.empty((0, 0)), np.empty(100_000), np.empty(3))
    lines = gradcheck_lines(GradCheck(1e-5, 1.0, (big, kinky)), Params(W, b), "x", 0)
    assert all(len(line) <= WIDTH for line in lines[1:]), lines
    layer_rows = [line for line in lines if line[:1].isdigit()]
    assert [row.split()[:2] for row in layer_rows] == [["1", "1"], ["2", "2"]]
    assert any(line.strip().startswith("dW[12345,67890] ") for line in lines)
    assert any("1 of 2 crossed a relu/l1 kink" in line for line in lines)
