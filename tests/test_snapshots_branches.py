"""SVG snapshots of branches (issue 11): the cost plot overlaying two histories.

xor to step 40, a branch with learning rate 3 there, on to step 80: the
plot draws b1 (the current branch, the solid line) over main's curve (•)
up to main's step 40, the fork marked Y, and a legend naming both. Update
with `pytest tests/test_snapshots_branches.py --snapshot-update` and look
at every changed SVG before committing it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from test_snapshots import ROOT, SIZED, app_for, go_to

SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def _in_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@SIZED
def test_cost_plot_overlays_branches(
    snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]
) -> None:
    """Two branches in one plot: each its own colour and glyph, the fork marked, a legend."""
    press = [
        *go_to(40),
        "B",  # the branches dialog
        "tab",  # the setting: the learning rate
        "tab",  # its value, "1"
        "backspace",
        "3",
        "enter",  # b1: learning rate 3 from step 40
        *go_to(80),
        "2",  # on a narrow screen, the cost tab
    ]
    assert snap_compare(app_for("xor", tmp_path), press=press, terminal_size=size)
