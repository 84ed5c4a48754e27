"""Building a snapshot: the contract's object for one step of a timeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bpdebug import __version__
from bpdebug.snapshot.branching import BranchRecord, parse_path, record_path

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


@dataclass(frozen=True)
class ScenarioRef:
    """The scenario a snapshot was taken of: its name, its path as named, its TOML."""

    name: str
    path: str
    text: str | None = None
    """The scenario's TOML (written since snapshots could reopen; None in older ones)."""


@dataclass(frozen=True, eq=False)
class LayerSnapshot:
    """One weighted layer l of a snapshot, every array float64 in the contract's shape."""

    index: int
    activation: str
    W: np.ndarray
    """(n_l, n_{l-1})"""
    b: np.ndarray
    """(n_l,)"""
    z: np.ndarray
    """(n_l, m)"""
    a: np.ndarray
    """(n_l, m)"""
    delta: np.ndarray
    """(n_l, m)"""
    dW: np.ndarray
    """(n_l, n_{l-1})"""
    db: np.ndarray
    """(n_l,)"""
    dW_reg: np.ndarray | None = None
    """The l1/l2 part of the update's gradient (only with regularization)."""


@dataclass(frozen=True, eq=False)
class Snapshot:
    """One step of a scenario, typed: what `snapshot_arrays` builds and `load_snapshot` reads.

    `to_dict` gives the contract's JSON layout (arrays still ndarrays); the
    optional fields are the extensions the README lists, None when absent.
    """

    scenario: ScenarioRef
    step: int
    loss: str
    learning_rate: float
    optimizer: str
    cost: float
    inputs: np.ndarray
    """a^(0) of the step's batch, (n_0, m)."""
    targets: np.ndarray
    """Y of the step's batch, (n_L, m)."""
    layers: tuple[LayerSnapshot, ...]
    epoch: int | None = None
    data_cost: float | None = None
    reg_cost: float | None = None
    batch_size: int | None = None
    bpdebug_version: str | None = None
    branched_at: int | None = None
    edits: np.ndarray | None = None
    """(n, 5) rows [step, layer, j, k, value], oldest first."""
    data: tuple[np.ndarray, np.ndarray] | None = None
    """The whole data set (inputs (n_0, N), targets (n_L, N)) of a CSV scenario."""
    branch: str | None = None
    """The branch the snapshot is on (None: main; bpdebug.snapshot.branching)."""
    branches: tuple[BranchRecord, ...] | None = None
    """Its path after main, one record per branch (None: main)."""
    format: str = FORMAT

    def to_dict(self) -> dict[str, Any]:
        """The contract's object (arrays as ndarrays), extensions only where present."""
        scenario: dict[str, Any] = {"name": self.scenario.name, "path": self.scenario.path}
        if self.scenario.text is not None:
            scenario["text"] = self.scenario.text
        layers = []
        for layer in self.layers:
            entry: dict[str, Any] = {"index": layer.index, "activation": layer.activation}
            entry.update((name, getattr(layer, name)) for name in LAYER_ARRAYS)
            if layer.dW_reg is not None:
                entry["dW_reg"] = layer.dW_reg
            layers.append(entry)
        out: dict[str, Any] = {
            "format": self.format,
            "scenario": scenario,
            "step": self.step,
            "loss": self.loss,
            "learning_rate": self.learning_rate,
            "optimizer": self.optimizer,
            "cost": self.cost,
            "inputs": self.inputs,
            "targets": self.targets,
            "layers": layers,
        }
        for key in EXTENSIONS:
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.edits is not None:
            out["edits"] = self.edits
        if self.data is not None:
            out["data"] = {"inputs": self.data[0], "targets": self.data[1]}
        if self.branches is not None:
            out["branches"] = [record.to_plain() for record in self.branches]
        return out

    @classmethod
    def from_dict(cls, snap: dict[str, Any]) -> Snapshot:
        """The typed form of a checked dict in `to_dict`'s layout."""
        scenario = snap["scenario"]
        layers = tuple(
            LayerSnapshot(
                index=int(layer["index"]),
                activation=str(layer["activation"]),
                dW_reg=layer.get("dW_reg"),
                **{name: layer[name] for name in LAYER_ARRAYS},
            )
            for layer in snap["layers"]
        )
        data = snap.get("data")
        records = snap.get("branches")
        return cls(
            scenario=ScenarioRef(scenario["name"], scenario["path"], scenario.get("text")),
            step=snap["step"],
            loss=snap["loss"],
            learning_rate=snap["learning_rate"],
            optimizer=snap["optimizer"],
            cost=snap["cost"],
            inputs=snap["inputs"],
            targets=snap["targets"],
            layers=layers,
            edits=snap.get("edits"),
            data=None if data is None else (data["inputs"], data["targets"]),
            branches=None if records is None else _records(records),
            format=snap.get("format", FORMAT),
            **{key: snap.get(key) for key in EXTENSIONS},
        )


def _records(value: Any) -> tuple[BranchRecord, ...]:
    """Records as `parse_path` gives them, or as `to_dict` writes them (plain, checked)."""
    if all(isinstance(record, BranchRecord) for record in value):
        return tuple(value)
    return parse_path("snapshot", "branches", value)


EXTENSIONS = (
    "epoch",
    "data_cost",
    "reg_cost",
    "batch_size",
    "bpdebug_version",
    "branched_at",
    "branch",
)
"""The scalar extensions of the contract's snapshot, in the order they are written."""


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
    # Edits and a graft after this step (a branch seen before its fork) do not
    # make this state: an old reader would refuse them, and they say nothing of it.
    edits = [e for e in timeline.edits if e.step <= timeline.step]
    marks = [e.step for e in edits]
    if timeline.grafted_at is not None and timeline.grafted_at <= timeline.step:
        marks.append(timeline.grafted_at)
    if marks:
        snap["branched_at"] = max(marks)
    if edits:
        snap["edits"] = np.array(
            [[e.step, e.layer, e.j, e.k, e.value] for e in edits], dtype=np.float64
        )
    branch = timeline.branch
    if branch is not None and branch.parent is not None:
        snap["branch"] = branch.name
        snap["branches"] = [record.to_plain() for record in record_path(branch)]
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
