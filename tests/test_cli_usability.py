"""The command line respects the user's time: suggestions, full help, exact reports."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bpdebug.arguments import COMMANDS
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
    for command in COMMANDS:
        assert f"    {command} " in out.stdout
    assert max(map(len, out.stdout.splitlines())) <= 100


def test_run_help_says_what_happens_without_steps() -> None:
    out = bpdebug("run", "--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    assert "without --steps, train until a breakpoint is crossed or NaN/inf appears" in text
    assert "at most 100,000 updates" in text and "Ctrl-C" in text


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


# -- progress ----------------------------------------------------------------
class _Terminal(io.StringIO):
    """Standard error as a terminal."""

    def isatty(self) -> bool:
        return True


def test_the_bar_shows_rate_and_eta_and_ends_its_line() -> None:
    from bpdebug.console import Console, Progress

    err = _Terminal()
    progress = Progress(1000, Console(io.StringIO(), err))
    progress.update(0, 0, 1.0, force=True)
    time.sleep(0.15)
    progress.update(250, 250, 0.5)  # a quarter done: ETA about three times the time so far
    progress.update(1000, 1000, 0.25, force=True)
    progress.close()
    frames = err.getvalue().split("\r")[1:]
    assert frames[1].startswith("[" + "#" * 6 + "." * 18 + "] step 250  cost 0.5  ")
    assert "updates/s  ETA 0:00" in frames[1]
    assert frames[-1].startswith("[" + "#" * 24 + "] step 1000  cost 0.25  ")
    assert "ETA" not in frames[-1] and frames[-1].endswith("\n")


def test_an_unknown_end_has_no_bar_and_no_eta() -> None:
    from bpdebug.console import Console, Progress

    err = _Terminal()
    progress = Progress(None, Console(io.StringIO(), err))
    progress.update(7, 7, 0.5, force=True)
    progress.close()
    [frame] = err.getvalue().split("\r")[1:]
    assert frame.startswith("step 7  cost 0.5  ") and "updates/s" in frame
    assert "[" not in frame and "ETA" not in frame


def test_a_replay_shorter_than_its_delay_says_nothing() -> None:
    from bpdebug.console import Console, Progress

    for err in (_Terminal(), io.StringIO()):
        progress = Progress(100, Console(io.StringIO(), err), replay=True, delay=60.0)
        for done in range(101):
            progress.update(done, done, force=done == 100)
        progress.close()
        assert err.getvalue() == ""
    err = io.StringIO()
    progress = Progress(100, Console(io.StringIO(), err), replay=True, delay=0.0)
    for done in range(1, 101):
        progress.update(done, done)
    assert err.getvalue().splitlines()[0].startswith("replaying 10 / 100 updates  ")
    assert len(err.getvalue().splitlines()) == 10


def test_a_long_replay_shows_its_progress_as_plain_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Progress shows once a replay has run REPLAY_PROGRESS_DELAY seconds; set to 0 here,
    so that the test does not depend on how fast this machine replays."""
    import bpdebug.cli as cli

    monkeypatch.setattr(cli, "REPLAY_PROGRESS_DELAY", 0.0)
    out, err = io.StringIO(), io.StringIO()
    status = cli._main(
        ["export", "xor", "--step", "600", "-o", str(tmp_path / "x.json")], cli.Console(out, err)
    )
    assert status == 0, err.getvalue()
    lines = err.getvalue().splitlines()
    assert lines
    assert all(line.startswith("replaying ") and " / 600 updates  " in line for line in lines)
    assert lines[-1].startswith("replaying 600 / 600 updates")


def test_a_short_export_prints_no_progress(tmp_path: Path) -> None:
    out = bpdebug("export", "xor", "--step", "100", "-o", str(tmp_path / "x.json"))
    assert out.returncode == 0 and out.stderr == ""


# -- run without --steps, and Ctrl-C ------------------------------------------
def test_run_without_steps_stops_at_the_first_crossing(tmp_path: Path) -> None:
    text = XOR + '\n[[debug.breakpoints]]\nkind = "cost_below"\nvalue = 0.1\n'
    (tmp_path / "bp.toml").write_text(text, encoding="utf-8")
    out = bpdebug("run", "bp.toml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    first, last = out.stdout.splitlines()
    assert first.startswith("stopped at step ") and ": breakpoint cost < 0.1: C = " in first
    step = int(first.split()[3].rstrip(":"))
    assert last.startswith(f"step {step}  ")
    assert float(last.split("cost ")[1]) < 0.1


def test_run_without_steps_and_no_breakpoints_stops_at_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bpdebug.cli as cli

    monkeypatch.setattr(cli, "RUN_CAP", 40)
    out, err = io.StringIO(), io.StringIO()
    status = cli._main(["run", "wide"], cli.Console(out, err))  # wide has no breakpoint
    assert status == 0
    assert out.getvalue().startswith("step 40  epoch ")
    assert err.getvalue().splitlines()[-1] == (
        "bpdebug: no NaN/inf in 40 updates, the most run makes without --steps (no breakpoints)"
    )


def test_ctrl_c_stops_the_run_after_a_whole_update_and_says_where() -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "bpdebug", "run", "digits", "--steps", "1000000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    first = child.stderr.readline()  # the first progress line: the run is under way
    assert first.startswith("step ")
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 130
    [result] = stdout.splitlines()
    step = int(result.split()[1])
    assert stderr.splitlines()[-1] == f"bpdebug: interrupted (Ctrl-C) at step {step}"
    assert "Traceback" not in stderr

    from bpdebug.scenario import find_scenario_arg, load_scenario
    from bpdebug.timeline import Timeline

    timeline = Timeline(load_scenario(find_scenario_arg("digits")))
    timeline.seek(step)
    assert float(result.split("cost ")[1]) == pytest.approx(timeline.trace.cost, rel=1e-9)
