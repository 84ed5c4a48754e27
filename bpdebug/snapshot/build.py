"""Building a snapshot: the contract's object for one step of a timeline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bpdebug import __version__

if TYPE_CHECKING:
    from bpdebug.timeline import Timeline

FORMAT = "bpdebug.snapshot/1"
"""The `format` tag of every snapshot this version writes and reads."""
LAYER_ARRAYS = ("W", "b", "z", "a", "delta", "dW", "db")
"""Per-layer arrays of the contract, in the order they are written."""

MAX_EDITS = 10_000
"""Most edits a snapshot may carry (each is a weight a person set by hand)."""
SHAPES: dict[str, tuple[int | str, ...]] = {
    "W": (0, -1),
    "b": (0,),
    "z": (0, "m"),
    "a": (0, "m"),
    "delta": (0, "m"),
    "dW": (0, -1),
    "db": (0,),
    "dW_reg": (0, -1),
}


def snapshot_arrays(timeline: Timeline) -> dict[str, Any]:
    """The snapshot of the timeline's current step, with arrays as float64 ndarrays.

    Same keys as `snapshot`; inputs is (n_0, m), targets (n_L, m), and each
    layer's W (n_l, n_{l-1}), b (n_l,), z, a, delta (n_l, m), dW, db.
    """
    scenario, trace = timeline.scenario, timeline.trace
    params, spec, training = timeline.state.params, scenario.network, scenario.training
    regularized = bool(training.l1 or training.l2)
    layers: list[dict[str, Any]] = []
    for l in range(1, trace.depth + 1):
        layer: dict[str, Any] = {"index": l, "activation": spec.activation_of(l)}
        values = [params.W[l], params.b[l], trace.z[l], trace.a[l], trace.delta[l]]
        values += [trace.dW[l], trace.db[l]]
        layer.update(zip(LAYER_ARRAYS, values, strict=True))
        if regularized:
            layer["dW_reg"] = trace.dW_reg[l]
        layers.append(layer)
    snap: dict[str, Any] = {
        "format": FORMAT,
        "scenario": {"name": scenario.name, "path": str(scenario.path), "text": scenario.text},
        "step": timeline.step,
        "loss": spec.loss,
        "learning_rate": float(training.learning_rate),
        "optimizer": training.optimizer,
        "cost": float(trace.cost),
        "inputs": trace.a[0],
        "targets": trace.Y,
        "layers": layers,
        "epoch": timeline.epoch,
        "data_cost": float(trace.data_cost),
        "reg_cost": float(trace.reg_cost),
        "batch_size": timeline.trainer.schedule.batch_size,
        "bpdebug_version": __version__,
    }
    if timeline.branched_at is not None:
        snap["branched_at"] = timeline.branched_at
    if timeline.edits:
        snap["edits"] = np.array(
            [[e.step, e.layer, e.j, e.k, e.value] for e in timeline.edits], dtype=np.float64
        )
    if scenario.data.source.startswith("csv"):
        # The snapshot carries a CSV data set, so that reopening it reads no
        # other file (and works where the CSV is not).
        snap["data"] = {"inputs": scenario.data.inputs, "targets": scenario.data.targets}
    return snap


def snapshot(timeline: Timeline) -> dict[str, Any]:
    """The contract's JSON object for the timeline's current step (plain lists and floats)."""
    plain_snapshot: dict[str, Any] = plain(snapshot_arrays(timeline))
    return plain_snapshot


def plain(value: Any) -> Any:
    """`value` with every ndarray replaced by nested lists of Python floats."""
    if isinstance(value, np.ndarray):
        return np.asarray(value, dtype=np.float64).tolist()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
