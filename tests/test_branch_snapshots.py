"""Snapshots record their branch and its path from main; reopening makes them again.

The reference is always a session built afresh the same way (a new
`Branches`), never numbers written down: the reopened history must have
the same W, b, pass and settings, on a branch of the same name and path.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_same_state
from tui_helpers import SCENARIOS

from bpdebug.branches import Branch, Branches
from bpdebug.cli import main
from bpdebug.errors import InputError
from bpdebug.scenario import load_scenario
from bpdebug.snapshot import export, load_snapshot
from bpdebug.snapshot.reopen import reopen
from bpdebug.timeline import Timeline

FORMATS = (".json", ".npz", ".safetensors")


def session_settings() -> tuple[Branches, Branch]:
    """spiral: b1 changes lr and batch size at 10; b2 is an edit of b1 at 14; b3 a new
    optimizer from b2 at 17 (a branch of a branch of a branch)."""
    branches = Branches(load_scenario(SCENARIOS / "spiral.toml"))
    branches.main.timeline.seek(10)
    b1 = branches.branch({"training.learning_rate": 0.02, "training.batch_size": 100})
    b1.timeline.seek(14)
    assert branches.edit_weight(1, 0, 1, 0.5)
    b2 = branches.current
    b2.timeline.seek(17)
    b3 = branches.branch({"training.optimizer": "sgd", "training.learning_rate": 0.3})
    b3.timeline.seek(21)
    return branches, b3


def session_architecture() -> tuple[Branches, Branch]:
    """spiral: b1 is relu from step 0, made while on a branch with another learning rate."""
    branches = Branches(load_scenario(SCENARIOS / "spiral.toml"))
    branches.main.timeline.seek(6)
    branches.branch({"training.l2": 0.01})
    b2 = branches.branch({"network.activation": "relu"})
    b2.timeline.seek(9)
    return branches, b2


def session_edit() -> tuple[Branches, Branch]:
    """xor: two edits at step 7 gather on b1, which then moves on and back; an edit at
    7 again makes b2 of b1."""
    branches = Branches(load_scenario(SCENARIOS / "xor.toml"))
    branches.main.timeline.seek(7)
    branches.edit_weight(1, 0, 1, 0.5)
    branches.edit_weight(2, 0, 0, -1.0)
    b1 = branches.current
    b1.timeline.seek(9)
    b1.timeline.seek(7)
    branches.edit_weight(1, 1, 1, 0.25)
    b2 = branches.current
    b2.timeline.seek(12)
    return branches, b2


SESSIONS = {
    "settings": session_settings,
    "architecture": session_architecture,
    "edit": session_edit,
}


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("kind", SESSIONS)
def test_a_branch_snapshot_reopens_on_its_branch(tmp_path: Path, kind: str, suffix: str) -> None:
    _, branch = SESSIONS[kind]()
    line = branch.timeline
    path = tmp_path / f"snap{suffix}"
    export(line, path)
    snap = load_snapshot(path)
    assert snap.branch == branch.name
    assert [r.name for r in snap.branches or ()] == [b.name for b in branch.path()[1:]]
    # safetensors computes the pass itself: on the branch's batch and settings
    np.testing.assert_array_equal(snap.layers[0].delta, line.trace.delta[1])
    assert snap.learning_rate == line.scenario.training.learning_rate
    reopened, said = reopen(str(path))
    assert f"on branch {branch.name}" in said and "differ" not in said
    got = reopened.branch
    assert got.name == branch.name
    assert [(b.name, b.fork, b.edited) for b in got.path()] == [
        (b.name, b.fork, b.edited) for b in branch.path()
    ]
    for ours, theirs in zip(got.path(), branch.path(), strict=True):
        assert ours.timeline.scenario.training == theirs.timeline.scenario.training
        assert (
            ours.timeline.scenario.network.activations
            == theirs.timeline.scenario.network.activations
        )
        assert ours.timeline.scenario.network.loss == theirs.timeline.scenario.network.loss
    assert reopened.step == line.step
    assert_same_state(reopened.state, line.state)
    np.testing.assert_array_equal(reopened.trace.dW[1], line.trace.dW[1])
    assert reopened.scenario.training == line.scenario.training
    assert reopened.scenario.network.activations == line.scenario.network.activations
    # going on gives the same numbers as the original session going on
    reopened.seek(line.step + 6)
    line.seek(line.step + 6)
    assert_same_state(reopened.state, line.state)
    # main is the scenario's own, untouched
    main = next(b for b in got.path() if b.parent is None).timeline
    main.seek(15)
    fresh = Timeline(load_scenario(main.scenario.path))
    fresh.seek(15)
    assert_same_state(main.state, fresh.state)


def test_the_markdown_report_names_the_path(tmp_path: Path) -> None:
    _, branch = session_settings()
    export(branch.timeline, tmp_path / "s.md")
    text = (tmp_path / "s.md").read_text()
    assert "on branch b3" in text
    assert "from b2 at step 17, optimizer sgd, learning\\_rate 0\\.3" in text


def test_an_edit_only_path_still_reopens_from_its_edits_alone(tmp_path: Path) -> None:
    """Old readers know `edits` and `branched_at`: they still make the same state."""
    _, branch = session_edit()
    export(branch.timeline, tmp_path / "s.json")
    obj = json.loads((tmp_path / "s.json").read_text())
    assert obj["branched_at"] == 7 and len(obj["edits"]) == 3
    del obj["branch"], obj["branches"]
    (tmp_path / "old.json").write_text(json.dumps(obj))
    reopened, said = reopen(str(tmp_path / "old.json"))
    assert "its 3 edits at step 7" in said and "differ" not in said
    assert_same_state(reopened.state, branch.timeline.state)


def test_a_snapshot_before_the_fork_is_the_shared_past(tmp_path: Path) -> None:
    branches, branch = session_settings()
    branch.timeline.seek(5)  # before main's fork at 10: main's own state
    export(branch.timeline, tmp_path / "s.json")
    obj = json.loads((tmp_path / "s.json").read_text())
    assert "edits" not in obj and "branched_at" not in obj  # the edit at 14 is after it
    reopened, _ = reopen(str(tmp_path / "s.json"))
    assert reopened.branch.name == "b3" and reopened.step == 5
    assert_same_state(reopened.state, branches.main.timeline.state_at(5))


def test_the_app_opens_on_the_snapshots_branch(tmp_path: Path) -> None:
    from bpdebug.timeline import finish
    from bpdebug.tui import build_app

    _, branch = session_settings()
    export(branch.timeline, tmp_path / "s.npz")
    app = build_app(str(tmp_path / "s.npz"))
    assert app.reopening is not None
    finish(app.reopening.motion(app.debugger.timeline))  # what the app runs once mounted
    assert app.debugger.branch.name == "b3"
    assert [b.name for b in app.debugger.branches.all] == ["main", "b1", "b2", "b3"]
    assert_same_state(app.debugger.timeline.state, branch.timeline.state)
    app.debugger.branches.switch("main")
    assert app.debugger.new_branch({"training.l2": 0.5}).name == "b4"  # numbered past them


def test_branches_lists_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, branch = session_settings()
    export(branch.timeline, tmp_path / "s.json")
    assert main(["branches", str(tmp_path / "s.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [b.describe() for b in branch.path()[:3]]
    assert lines[3].startswith(branch.describe())  # and any setting it differs in
    assert lines[4:] == ["on b3 at step 21"]
    assert main(["branches", "xor"]) == 0
    assert capsys.readouterr().out == "main: the scenario\n"


def hostile(tmp_path: Path, change: object) -> str:
    """The one-line error `bpdebug branches` and reopening give for a changed record."""
    _, branch = session_settings()
    export(branch.timeline, tmp_path / "s.json")
    obj = json.loads((tmp_path / "s.json").read_text())
    change(obj)  # type: ignore[operator]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(obj))
    with pytest.raises(InputError) as info:
        reopen(str(bad))
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{bad}: ")
    # `branches` replays nothing: only a replay's length is not its business
    assert main(["branches", str(bad)]) == (0 if ": step: " in message else 2)
    return message


def _set(key: str, value: object, i: int = 0) -> object:
    def change(obj: dict) -> None:  # type: ignore[type-arg]
        obj["branches"][i][key] = value

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            _set("changes", {"training.learning_rate": -1.0}),
            "branches[0].changes.training.learning_rate: expected a finite number > 0",
        ),
        (
            _set("changes", {"training.seed": 3}),
            "branches[0].changes.training.seed: not a setting a branch can change",
        ),
        (
            _set("changes", {"training.batch_size": 10**9}),
            "branches[0].changes.training.batch_size",
        ),
        (
            _set("changes", {"training.learning_rate": None}),
            "branches[0].changes.training.learning_rate: expected a number",
        ),
        (
            _set("changes", {"network.activation": "relu"}, 2),
            "branches[2].changes.network.activation: an architecture change",
        ),
        (
            _set("changes", {"training.learning_rate": 0.01}),
            "branches[0].changes: expected settings other than",
        ),
        (_set("fork", -3), "branches[0].fork: expected a whole number >= 0"),
        (_set("fork", 10**12), "step: expected at most"),
        (_set("name", "main"), "branches[0].name: expected a name not already"),
        (_set("name", "b 1\x1b[31m"), "branches[0].name: expected a short name"),
        (_set("colour", "red"), "branches[0].colour: unknown key"),
        (_set("edits", [[14, 9, 0, 0, 1.0]], 1), "branches[1].edits[0]: expected a weight"),
        (
            _set("edits", [[13, 1, 0, 0, 1.0]], 1),
            "branches[1].edits[0]: expected an edit at the fork",
        ),
        (_set("edits", [], 1), "branches[1]: expected changes or edits"),
        (lambda o: o.update(branch="b9"), "branch: expected the last branch of the path, 'b3'"),
        (lambda o: o.pop("branch"), "branch: missing"),
        (lambda o: o.update(branches="nope"), "branches: expected JSON"),
        (
            lambda o: o.update(branches=[o["branches"][0]] * 300),
            "branches: expected at most 256 branches",
        ),
    ],
)
def test_hostile_branch_records_are_one_line(tmp_path: Path, change: object, expected: str) -> None:
    assert expected in hostile(tmp_path, change)


def test_a_hostile_npz_branch_record_is_one_line(tmp_path: Path) -> None:
    _, branch = session_settings()
    export(branch.timeline, tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz") as npz:
        arrays = dict(npz)
    arrays["branches"] = np.array(
        '[{"name": "b1", "fork": 1, "changes": {"training.l2": [1, 2]}, "edits": []}]'
    )
    arrays["branch"] = np.array("b1")
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(InputError) as info:
        load_snapshot(tmp_path / "bad.npz")
    assert str(info.value).startswith(
        f"{tmp_path / 'bad.npz'}: branches[0].changes.training.l2: expected"
    )
