"""The headless commands, run as a user runs them: the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpdebug.arguments import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "bpdebug"

pytestmark = pytest.mark.cli


def bpdebug(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the console script; never through the shell."""
    assert SCRIPT.exists(), f"console script not installed at {SCRIPT} (pip install -e .)"
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"},
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


XOR = (ROOT / "scenarios" / "xor.toml").read_text(encoding="utf-8")


def test_version_and_help() -> None:
    from bpdebug import __version__

    out = bpdebug("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"bpdebug {__version__}"
    for command in COMMANDS:
        helped = bpdebug(command, "--help")
        assert helped.returncode == 0, helped.stderr
        assert f"bpdebug {command}" in helped.stdout


def test_python_dash_m_is_the_same_command() -> None:
    a = subprocess.run(
        [sys.executable, "-m", "bpdebug", "validate", "scenarios/xor.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    b = bpdebug("validate", "scenarios/xor.toml")
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout


def test_scenarios_lists_every_bundled_file() -> None:
    out = bpdebug("scenarios")
    assert out.returncode == 0
    names = {line.split()[0] for line in out.stdout.splitlines() if line and line[0] != "("}
    assert names == {p.stem for p in (ROOT / "scenarios").glob("*.toml")}


def test_validate_summarises() -> None:
    out = bpdebug("validate", "scenarios/xor.toml")
    assert out.returncode == 0
    assert "layers 2-2-1 (9 parameters)" in out.stdout
    assert "4 examples" in out.stdout


def test_run_prints_final_cost_equal_to_the_timeline(tmp_path: Path) -> None:
    out = bpdebug("run", "scenarios/xor.toml", "--steps", "300")
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("step 300 ")
    shown = float(last.split("cost ")[1])

    from bpdebug.scenario import load_scenario
    from bpdebug.timeline import Timeline

    timeline = Timeline(load_scenario(ROOT / "scenarios" / "xor.toml"))
    timeline.seek(300)
    assert shown == pytest.approx(timeline.trace.cost, rel=1e-9)
    # Not a terminal: plain progress lines on stderr, no carriage returns.
    assert "\r" not in out.stderr
    assert "step 30 " in out.stderr


def test_run_stops_with_status_3_on_divergence(tmp_path: Path) -> None:
    text = XOR.replace("learning_rate = 1.0", "learning_rate = 1e6").replace(
        'output = "sigmoid"', 'output = "linear"'
    )
    assert "1e6" in text and '"linear"' in text
    scenario = write(tmp_path / "diverge.toml", text)
    out = bpdebug("run", str(scenario), "--steps", "10000")
    assert out.returncode == 3, out.stdout + out.stderr
    message = out.stderr.strip().splitlines()[-1]
    assert message.startswith("bpdebug: ")
    assert ("NaN" in message or "inf" in message) and "at step" in message
    assert "Traceback" not in out.stderr


def test_run_stops_at_scenario_breakpoint(tmp_path: Path) -> None:
    scenario = write(
        tmp_path / "bp.toml",
        XOR + '\n[[debug.breakpoints]]\nkind = "step"\nvalue = 42\n',
    )
    out = bpdebug("run", str(scenario), "--steps", "1000")
    assert out.returncode == 0, out.stderr
    assert "stopped at step 42: breakpoint step 42" in out.stdout
    ignored = bpdebug("run", str(scenario), "--steps", "100", "--ignore-breakpoints")
    assert ignored.stdout.strip().splitlines()[-1].startswith("step 100 ")


def test_export_json_matches_contract_and_refuses_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "xor.json"
    out = bpdebug("export", "scenarios/xor.toml", "--step", "7", "-o", str(target))
    assert out.returncode == 0, out.stderr
    snap = json.loads(target.read_text())
    assert snap["format"] == "bpdebug.snapshot/1"
    assert snap["step"] == 7
    assert [layer["index"] for layer in snap["layers"]] == [1, 2]
    assert np.array(snap["inputs"]).shape == (2, 4)
    assert np.array(snap["layers"][0]["W"]).shape == (2, 2)

    before = target.read_bytes()
    again = bpdebug("export", "scenarios/xor.toml", "--step", "8", "-o", str(target))
    assert again.returncode == 2
    assert "--force" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    assert target.read_bytes() == before
    forced = bpdebug("export", "scenarios/xor.toml", "--step", "8", "-o", str(target), "--force")
    assert forced.returncode == 0
    assert json.loads(target.read_text())["step"] == 8


@pytest.mark.parametrize("suffix", [".npz", ".md"])
def test_export_other_formats(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"snap{suffix}"
    out = bpdebug("export", "xor", "--step", "3", "-o", str(target))
    assert out.returncode == 0, out.stderr
    assert target.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_check_passes_on_bundled_scenarios() -> None:
    for name in ("xor", "chain", "seed_example"):
        out = bpdebug("check", name)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "good" in out.stdout
        assert "wrong" not in out.stdout.split("bands")[0]


def test_check_reports_relu_kinks(tmp_path: Path) -> None:
    scenario = write(
        tmp_path / "kink.toml",
        """
name = "kink"
[network]
layers = [1, 2, 1]
activation = "relu"
output = "linear"
[[network.init]]
W = [[1.0], [-1.0]]
b = [0.0, 0.5]
[[network.init]]
W = [[1.0, 1.0]]
b = [0.0]
[data]
inputs = [[0.0], [1.0]]
targets = [[1.0], [0.0]]
""",
    )
    out = bpdebug("check", str(scenario))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "kink" in out.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "missing.toml", "--steps", "1"], "missing.toml: not a file nor a bundled"),
        (["validate", "BAD"], "bad.toml: network.layers[1]: expected a positive integer, got -3"),
        (["export", "BAD", "-o", "x.json"], "network.layers[1]"),
        (["check", "BAD"], "network.layers[1]"),
        (["BAD"], "network.layers[1]"),
    ],
)
def test_bad_input_is_one_line_and_status_2(tmp_path: Path, args: list[str], expected: str) -> None:
    write(tmp_path / "bad.toml", XOR.replace("layers = [2, 2, 1]", "layers = [2, -3, 1]"))
    args = [a.replace("BAD", "bad.toml") for a in args]
    out = bpdebug(*args, cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert expected in lines[0]
    assert "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "bad.toml"]


def test_bad_option_value_is_status_2() -> None:
    out = bpdebug("run", "xor", "--steps", "-4")
    assert out.returncode == 2
    assert "expected a whole number >= 0" in out.stderr


def test_headless_commands_do_not_import_textual() -> None:
    code = (
        "import sys; from bpdebug.cli import main; "
        "main(['validate', 'scenarios/xor.toml']); main(['run', 'xor', '--steps', '2']); "
        "print(sorted(m for m in ('textual', 'rich', 'plotext') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_works_from_another_folder_with_a_copied_scenario(tmp_path: Path) -> None:
    shutil.copy(ROOT / "scenarios" / "xor.toml", tmp_path / "mine.toml")
    out = bpdebug("run", "mine.toml", "--steps", "5", cwd=tmp_path)
    assert out.returncode == 0, out.stderr


def test_a_closed_pipe_is_not_a_traceback() -> None:
    """`bpdebug scenarios | head -1` where the reader has already gone: status 0, no traceback."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: every write fails with EPIPE
    try:
        out = subprocess.run(
            [str(SCRIPT), "scenarios"],
            cwd=ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert out.returncode == 0
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr
