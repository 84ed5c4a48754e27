"""The README's commands are the ones CI runs, and they work as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _block_after(marker: str) -> str:
    match = re.search(re.escape(marker) + r".*?```sh\n(.*?)\n```", README, re.S)
    assert match, f"no sh block after {marker!r} in README.md"
    return match.group(1).strip()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    command = _block_after("<!-- test-command")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1].strip() == command


def test_install_command_opens_the_xor_scenario() -> None:
    command = _block_after("## Install and run")
    assert command.endswith("bpdebug scenarios/xor.toml")
    assert "pip install ." in command
    assert (ROOT / "scenarios" / "xor.toml").is_file()


def test_the_python_example_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's API example, word for word, in an empty folder (it exports a file)."""
    match = re.search(r"## From Python.*?```python\n(.*?)\n```", README, re.S)
    assert match, "no python block in the README's 'From Python' section"
    monkeypatch.chdir(tmp_path)
    exec(compile(match.group(1), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "<bpdebug session 'XOR' at step 100, C = 0.2500145447191454" in printed
    assert (tmp_path / "xor-109.json").is_file()


def test_the_pytorch_example_writes_a_scenario_that_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from extras import need

    from bpdebug.scenario import load_scenario

    need("torch")
    match = re.search(r"## Your own PyTorch model.*?```python\n(.*?)\n```", README, re.S)
    assert match, "no python block in the README's PyTorch section"
    monkeypatch.chdir(tmp_path)
    exec(compile(match.group(1), "README.md", "exec"), {})
    scenario = load_scenario(tmp_path / "mine.toml")
    assert scenario.network.activations == ("tanh", "relu", "softmax")
    assert scenario.data.size == 90 and scenario.training.batch_size == 30
