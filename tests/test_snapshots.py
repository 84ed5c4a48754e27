"""SVG snapshots of what a person sees, at 80x24 and 160x50.

Each test pins one screen: the start (the batch), each phase kind
(forward, cost, backward, adam's update), the chain-rule pane, a big layer
as a heatmap (wide), the layer-health pane, the screen after a rewind, the
decision boundary and the help. Fixed scenario, seed and size; no training thread, no clock. Update
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


SIZED = pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")


def go_to(step: int) -> list[str]:
    """The keys of `g STEP enter`."""
    return ["g", *str(step), "enter"]


@SIZED
def test_start(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    """Opening xor: step 0's batch, nothing computed yet, the hint says what s computes."""
    assert snap_compare(app_for("xor", tmp_path), terminal_size=size)


@SIZED
def test_forward(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    """Forward layer 1: z^(1) = W^(1) x + b^(1) with its four operands, then a^(1)."""
    assert snap_compare(app_for("xor", tmp_path), press=["s"], terminal_size=size)


@SIZED
def test_cost(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    """The cost phase: C_0 per example from a^(2) and y, and C = mean C_0."""
    press = ["s", "s", "s"]  # forward 1, forward 2, the cost
    assert snap_compare(app_for("xor", tmp_path), press=press, terminal_size=size)


@SIZED
def test_mid_backward_pass(
    snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]
) -> None:
    """Step 1 at backward layer 1: delta^(1) = (W^(2)^T delta^(2)) ⊙ σ'(z^(1)), then dC/dW^(1)."""
    press = [
        "n",  # one whole update: step 1, still at the batch
        *["s"] * 5,  # forward 1, 2, the cost, backward 2, backward 1
    ]
    assert snap_compare(app_for("xor", tmp_path), press=press, terminal_size=size)


@SIZED
def test_chain_rule_pane(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    """The chain rule for a hidden weight, w_{0,1}^(1), with its sum over paths."""
    press = [
        *["s"] * 5,  # to backward layer 1: delta^(1) is computed
        "right",  # the weight from unit 1 of layer 0: w_{0,1}^(1)
        "x",  # example 0 alone ...
        "x",  # ... then example 1, input (0, 1), so that a_1^(0) = 1
    ]
    assert snap_compare(app_for("xor", tmp_path), press=press, terminal_size=size)


@SIZED
def test_adam_update(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    """Spiral's update phase at step 6: adam's m, v, m̂, v̂, then W next, W and ΔW."""
    press = [*go_to(7), "S"]  # step 7's batch, one phase back: step 6's update
    assert snap_compare(app_for("spiral", tmp_path), press=press, terminal_size=size)


@SIZED
def test_big_layer(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    """wide's forward layer 1: W^(1) is 128x784, drawn as a heatmap with its summary."""
    assert snap_compare(app_for("wide", tmp_path), press=["s"], terminal_size=size)


@SIZED
def test_health(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    """vanishing after 300 updates: the first layers' gradients flagged V in the health pane."""
    press = [*go_to(300), "3"]  # on a narrow screen, the health tab
    assert snap_compare(app_for("vanishing", tmp_path), press=press, terminal_size=size)


@SIZED
def test_after_rewind(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    """Forty steps taken, then three rewound: the plot marks step 37 on a longer curve."""
    press = [
        *go_to(40),
        "N",  # rewind one update
        "N",
        "N",  # now at step 37
        "2",  # on a narrow screen, the cost tab
    ]
    assert snap_compare(app_for("xor", tmp_path), press=press, terminal_size=size)


@SIZED
def test_decision_boundary(
    snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]
) -> None:
    """Spiral after 300 updates: the output over the input plane with the data on top."""
    press = [*go_to(300), "4"]  # on a narrow screen, the boundary tab
    assert snap_compare(app_for("spiral", tmp_path), press=press, terminal_size=size)


@SIZED
def test_help(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    """The help screen: every key, the notation and the symbols; esc or q closes it."""
    assert snap_compare(app_for("xor", tmp_path), press=["question_mark"], terminal_size=size)
