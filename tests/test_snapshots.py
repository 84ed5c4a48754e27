"""SVG snapshots of what a person sees, at 80x24 and 160x50.

Each test pins one screen: the start, the middle of a backward pass, the
chain-rule pane, the screen after a rewind, the decision boundary and the
help. Fixed scenario, seed and size; no training thread, no clock. Update
with `pytest tests/test_snapshots.py --snapshot-update` and look at every
changed SVG before committing it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bpdebug.tui import build_app

ROOT = Path(__file__).resolve().parent.parent
SIZES = [(80, 24), (160, 50)]

SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def _in_repo_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The title bar shows the scenario path as given: keep it "scenarios/...".
    monkeypatch.chdir(ROOT)


def app_for(name: str, tmp_path: Path) -> Any:
    return build_app(f"scenarios/{name}.toml", export_dir=tmp_path / "exports")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_start(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    """Opening xor: step 0, the whole pass computed, the output layer selected."""
    assert snap_compare(app_for("xor", tmp_path), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_mid_backward_pass(
    snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]
) -> None:
    """Step 1 at backward: delta^(2): forward values shown, delta^(1) not yet computed."""
    press = [
        "n",  # one whole update: step 1, still at the update phase
        "s",  # into step 2's forward layer 1 ...
        "S",  # ... and back: step 1's update phase
        "S",  # backward: delta^(1)
        "S",  # backward: delta^(2)
    ]
    assert snap_compare(app_for("xor", tmp_path), press=press, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_chain_rule_pane(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    """The chain rule for a hidden weight, w_01^(1), with its sum over paths."""
    press = [
        "tab",  # select layer 1 (wraps from layer 2)
        "right",  # the weight from unit 1 of layer 0: w_01^(1)
        "x",  # show example 0 alone ...
        "x",  # ... then example 1, input (0, 1), so that a_1^(0) = 1
        "2",  # on a narrow screen, the chain-rule tab
    ]
    assert snap_compare(app_for("xor", tmp_path), press=press, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_after_rewind(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    """Forty steps taken, then three rewound: the plot marks step 37 on a longer curve."""
    press = [
        "g",  # go to ...
        "4",
        "0",
        "enter",  # ... step 40
        "N",  # rewind one update
        "N",
        "N",  # now at step 37
        "3",  # on a narrow screen, the cost tab
    ]
    assert snap_compare(app_for("xor", tmp_path), press=press, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_decision_boundary(
    snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]
) -> None:
    """Spiral after 300 updates: the output over the input plane with the data on top."""
    press = [
        "g",  # go to ...
        "3",
        "0",
        "0",
        "enter",  # ... step 300
        "4",  # on a narrow screen, the boundary tab
    ]
    assert snap_compare(app_for("spiral", tmp_path), press=press, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    """The help screen: every key and the notation."""
    assert snap_compare(app_for("xor", tmp_path), press=["question_mark"], terminal_size=size)
