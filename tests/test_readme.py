"""The README's commands are the ones CI runs, and they work as written."""

from __future__ import annotations

import re
from pathlib import Path

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
