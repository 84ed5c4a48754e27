"""Open what the user named: a scenario, a bundled scenario's name, or a snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bpdebug.engine import Params
from bpdebug.engine.network import EMPTY
from bpdebug.errors import InputError
from bpdebug.export import load_snapshot
from bpdebug.scenario import load_scenario, loads_scenario, resolve_scenario_arg
from bpdebug.scenario.limits import REPLAY_STEPS, REPLAY_WORK, replay_limit_passed
from bpdebug.scenario.model import Dataset, Scenario
from bpdebug.timeline import Timeline

SNAPSHOT_SUFFIXES = (".json", ".npz")


def open_timeline(arg: str) -> tuple[Timeline, str]:
    """A timeline at the step to show first, and a message for the user ("" if none).

    A snapshot carries its scenario's TOML text, its step and, for a CSV
    scenario, its data set: the scenario is rebuilt from those alone (no
    other file is read, whatever paths the snapshot names), checked against
    the snapshot's shapes and replay limits, and only then replayed to the
    step. If the snapshot's W and b differ from the replay (it was taken
    after an edit), they are applied as an edit, so the screen shows exactly
    the snapshot's parameters. Raises InputError for anything wrong with
    the file.
    """
    path = Path(arg)
    if path.suffix.lower() not in SNAPSHOT_SUFFIXES:
        return Timeline(load_scenario(resolve_scenario_arg(arg))), ""
    snap = load_snapshot(path)
    scenario = _scenario_of(path, snap)
    step = int(snap["step"])
    _check_replay(path, step, scenario)
    _check_fits(path, snap, scenario)
    timeline = Timeline(scenario)
    timeline.seek(step)
    W = (EMPTY, *(np.asarray(layer["W"], dtype=np.float64) for layer in snap["layers"]))
    b = (EMPTY, *(np.asarray(layer["b"], dtype=np.float64) for layer in snap["layers"]))
    params = timeline.state.params
    same = all(
        np.array_equal(x, y, equal_nan=True)
        for x, y in zip((*W[1:], *b[1:]), (*params.W[1:], *params.b[1:]), strict=True)
    )
    if same:
        return timeline, f"reopened {path} at step {step}"
    timeline.graft(Params(W, b))
    return timeline, (
        f"reopened {path} at step {step}: its parameters differ from the scenario's own "
        "history (it was edited), so they start a branch here"
    )


def _scenario_of(path: Path, snap: dict[str, Any]) -> Scenario:
    """The snapshot's scenario, rebuilt from its text and carried data without reading files."""
    text = snap["scenario"].get("text")
    if text is None:
        raise InputError(path, "scenario.text", "missing; expected the scenario's TOML text")
    carried = None
    if "data" in snap:
        data = snap["data"]
        carried = Dataset(data["inputs"], data["targets"], "snapshot")
    try:
        return loads_scenario(text, snap["scenario"]["path"], carried, read_files=False)
    except InputError as error:
        raise InputError(path, "scenario.text", str(error)) from None


def _check_fits(path: Path, snap: dict[str, Any], scenario: Scenario) -> None:
    """The snapshot's layer sizes and batch against its scenario's, before any replay."""
    layers = scenario.network.layers
    if len(snap["layers"]) != len(layers) - 1:
        raise InputError(
            path,
            "layers",
            f"expected {len(layers) - 1} layers, as its scenario's network.layers ="
            f" {list(layers)}, got {len(snap['layers'])}",
        )
    for l, layer in enumerate(snap["layers"], start=1):
        expected = (layers[l], layers[l - 1])
        if layer["W"].shape != expected:
            raise InputError(
                path,
                f"layers[{l - 1}].W",
                f"expected shape {expected}, as its scenario's network.layers ="
                f" {list(layers)}, got {layer['W'].shape}",
            )
    batch = scenario.training.batch_size
    m = snap["inputs"].shape[1]
    if snap["inputs"].shape[0] != layers[0] or m > batch:
        raise InputError(
            path,
            "inputs",
            f"expected {layers[0]} rows of at most {batch} examples (the scenario's"
            f" batch), got shape {snap['inputs'].shape}",
        )


def _check_replay(path: Path, step: int, scenario: Scenario) -> None:
    """Refuse a replay to `step` past the limits: in updates, and in updates x batch x size."""
    parameters = scenario.network.parameters
    batch = scenario.training.batch_size
    work = step * batch * parameters
    passed = replay_limit_passed(step, work)
    if passed is REPLAY_STEPS:
        raise InputError(
            path,
            "step",
            f"expected at most {passed.value()} updates to replay ({passed.note()}), got {step}",
        )
    if passed is REPLAY_WORK:
        raise InputError(
            path,
            "step",
            f"expected a replay of at most {passed.value():.3g} multiply-adds (updates x batch x"
            f" parameters; {passed.note()}), got {step} x {batch} x {parameters} = {work:.3g}",
        )
