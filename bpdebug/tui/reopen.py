"""Open what the user named: a scenario, a bundled scenario's name, or a snapshot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bpdebug.engine import Params
from bpdebug.engine.network import EMPTY
from bpdebug.errors import InputError
from bpdebug.export import load_snapshot
from bpdebug.scenario import load_scenario, loads_scenario, resolve_scenario_arg
from bpdebug.scenario.limits import REPLAY_STEPS
from bpdebug.timeline import Timeline

SNAPSHOT_SUFFIXES = (".json", ".npz")


def open_timeline(arg: str) -> tuple[Timeline, str]:
    """A timeline at the step to show first, and a message for the user ("" if none).

    A snapshot carries its scenario's TOML text and its step: the scenario is
    rebuilt from the text and replayed to the step. If the snapshot's W and b
    differ from the replay (it was taken after an edit), they are applied as
    an edit, so the screen shows exactly the snapshot's parameters.
    Raises InputError for anything wrong with the file.
    """
    path = Path(arg)
    if path.suffix.lower() not in SNAPSHOT_SUFFIXES:
        return Timeline(load_scenario(resolve_scenario_arg(arg))), ""
    snap = load_snapshot(path)
    text = snap["scenario"].get("text")
    if text is None:
        raise InputError(path, "scenario.text", "missing; expected the scenario's TOML text")
    try:
        scenario = loads_scenario(text, snap["scenario"]["path"])
    except InputError as error:
        raise InputError(path, "scenario.text", str(error)) from None
    step = int(snap["step"])
    limit = REPLAY_STEPS.value()
    if step > limit:
        raise InputError(
            path,
            "step",
            f"expected at most {limit} updates to replay ({REPLAY_STEPS.note()}), got {step}",
        )
    timeline = Timeline(scenario)
    timeline.seek(step)
    W = (EMPTY, *(np.asarray(layer["W"], dtype=np.float64) for layer in snap["layers"]))
    b = (EMPTY, *(np.asarray(layer["b"], dtype=np.float64) for layer in snap["layers"]))
    params = timeline.state.params
    if len(W) != len(params.W) or any(
        x.shape != y.shape for x, y in zip(W[1:], params.W[1:], strict=False)
    ):
        raise InputError(path, "layers", "the layer sizes do not match the scenario's network")
    same = all(
        np.array_equal(x, y, equal_nan=True)
        for x, y in zip((*W[1:], *b[1:]), (*params.W[1:], *params.b[1:]), strict=True)
    )
    if same:
        return timeline, f"reopened {path} at step {step}"
    timeline.edit(Params(W, b))
    return timeline, (
        f"reopened {path} at step {step}: its parameters differ from the scenario's own "
        "history (it was edited), so they start a branch here"
    )
