"""`.safetensors` snapshots: the parameters under PyTorch's names, the rest as metadata.

The tensors are W and b of every layer, float64, named as the state dict of
bpdebug's model in PyTorch (`bpdebug.bridge.torch_parameter_name`: W^(1) is
``0.weight``, b^(1) ``0.bias``, W^(2) ``2.weight``...), and nothing else,
so an exported script's model (or any ``nn.Sequential`` of the same shape)
takes them with ``model.load_state_dict(safetensors.torch.load_file(f))``.
The metadata (strings only, the format's rule) holds what reopening needs:
``format``, ``step``, ``seed``, ``epoch``, ``scenario.name``,
``scenario.path``, ``scenario.text`` (the TOML), ``loss``, ``optimizer``,
``learning_rate``, ``cost``, ``data_cost``, ``reg_cost``, ``batch_size``,
``activations`` and ``layers`` (JSON lists), ``bpdebug_version``, and when
they apply ``branched_at``, ``edits`` (JSON rows), ``data`` (JSON: a CSV
scenario's whole data set), ``branch`` and ``branches`` (JSON: the branch's
path, bpdebug.snapshot.branching). Numbers are written with repr, so they read
back bit for bit.

Decisions:

- Writing uses ``safetensors.numpy`` (the torch extra; no torch needed).
- Reading needs no extra: the format is an 8-byte little-endian header
  length, a JSON header and the tensors' raw little-endian bytes, so it is
  read here with json and numpy after every length and offset has been
  checked against the file, which was read whole within
  BPDEBUG_MAX_FILE_BYTES: a hostile header cannot make it allocate or read
  past the file. Only float64 tensors of the expected names are accepted.
- The file holds no z, a, delta or gradients (they would not load into the
  model): reading one rebuilds its scenario from ``scenario.text`` (no
  other file is opened, as for any snapshot) and computes step N's pass of
  the stored parameters on step N's batch, which the scenario alone fixes
  (on a branch: the scenario with the path's changes, and the batch the
  path's batch sizes give step N, `bpdebug.branches.trainer_along`).
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from bpdebug import __version__
from bpdebug.bridge import need, torch_parameter_name
from bpdebug.errors import InputError, describe
from bpdebug.snapshot.build import FORMAT, LAYER_ARRAYS, Snapshot

if TYPE_CHECKING:
    from bpdebug.timeline import Timeline

HEADER_LENGTH_BYTES = 8
_INTEGER = re.compile(r"0|[1-9][0-9]{0,17}")


def safetensors_bytes(timeline: Timeline) -> bytes:
    """The `.safetensors` file of the timeline's step. Raises MissingExtra without safetensors."""
    need("safetensors", "bpdebug export -o FILE.safetensors")
    import safetensors.numpy as st_numpy

    from bpdebug.snapshot.build import snapshot_arrays

    snap = snapshot_arrays(timeline)
    scenario = timeline.scenario
    tensors: dict[str, np.ndarray] = {}
    for layer in snap["layers"]:
        l = layer["index"]
        tensors[torch_parameter_name(l, "W")] = np.ascontiguousarray(layer["W"], dtype="<f8")
        tensors[torch_parameter_name(l, "b")] = np.ascontiguousarray(layer["b"], dtype="<f8")
    metadata = {
        "format": FORMAT,
        "step": str(snap["step"]),
        "seed": str(scenario.seed),
        "epoch": str(snap["epoch"]),
        "scenario.name": snap["scenario"]["name"],
        "scenario.path": snap["scenario"]["path"],
        "scenario.text": snap["scenario"]["text"],
        "loss": snap["loss"],
        "optimizer": snap["optimizer"],
        "learning_rate": repr(snap["learning_rate"]),
        "cost": repr(snap["cost"]),
        "data_cost": repr(snap["data_cost"]),
        "reg_cost": repr(snap["reg_cost"]),
        "batch_size": str(snap["batch_size"]),
        "activations": json.dumps([layer["activation"] for layer in snap["layers"]]),
        "layers": json.dumps(list(scenario.network.layers)),
        "bpdebug_version": __version__,
    }
    if "branched_at" in snap:
        metadata["branched_at"] = str(snap["branched_at"])
    if "edits" in snap:
        metadata["edits"] = json.dumps(snap["edits"].tolist())
    if "data" in snap:
        data = {key: value.tolist() for key, value in snap["data"].items()}
        metadata["data"] = json.dumps(data)
    if "branches" in snap:
        metadata["branch"] = snap["branch"]
        metadata["branches"] = json.dumps(snap["branches"])
    out: bytes = st_numpy.save(tensors, metadata=metadata)
    return out


def read_safetensors(name: str, data: bytes) -> Snapshot:
    """The snapshot in `data`, the bytes of the `.safetensors` file `name`; see the module doc.

    Raises InputError naming the file and the header key or tensor for
    anything wrong.
    """
    header, body = _split(name, data)
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in meta.items()
    ):
        raise InputError(name, "__metadata__", "expected strings by name; not a bpdebug snapshot")
    fields = _Metadata(name, meta)
    if fields.text("format") != FORMAT:
        raise fields.error("format", f"expected {FORMAT!r}, got {describe(meta['format'])}")
    scenario = _scenario(fields)
    sizes = scenario.network.layers
    depth = len(sizes) - 1
    expected = {
        torch_parameter_name(l, kind): (sizes[l], sizes[l - 1]) if kind == "W" else (sizes[l],)
        for l in range(1, depth + 1)
        for kind in ("W", "b")
    }
    unknown = sorted(set(header) - set(expected))
    if unknown:
        raise InputError(
            name,
            unknown[0],
            f"unexpected tensor; expected {', '.join(expected)} (network.layers {list(sizes)})",
        )
    tensors = {
        key: _tensor(name, key, header.get(key), shape, body) for key, shape in expected.items()
    }
    return _snapshot(fields, scenario, tensors)


def _split(name: str, data: bytes) -> tuple[dict[str, Any], memoryview]:
    """(header, tensor bytes) of a safetensors file, every length checked first."""
    if len(data) < HEADER_LENGTH_BYTES:
        raise InputError(name, "", f"expected a safetensors file, got {len(data)} bytes")
    length = int.from_bytes(data[:HEADER_LENGTH_BYTES], "little")
    if length > len(data) - HEADER_LENGTH_BYTES:
        raise InputError(
            name,
            "",
            f"header of {length} bytes claimed, but the file holds {len(data)} bytes; truncated?",
        )
    raw = data[HEADER_LENGTH_BYTES : HEADER_LENGTH_BYTES + length]
    try:
        header = json.loads(raw.decode("utf-8"))  # NaN, Infinity: json reads them
    except (ValueError, RecursionError) as error:  # not UTF-8, not JSON, nested too deep
        raise InputError(name, "", f"header is not JSON ({_one_line(error)})") from None
    if not isinstance(header, dict):
        raise InputError(name, "", f"expected a JSON object as header, got {describe(header)}")
    return header, memoryview(data)[HEADER_LENGTH_BYTES + length :]


def _tensor(
    name: str, key: str, entry: Any, shape: tuple[int, ...], body: memoryview
) -> np.ndarray:
    """Tensor `key` of shape `shape` (float64), its header `entry` checked against the body."""
    if entry is None:
        raise InputError(name, key, "missing")
    if not isinstance(entry, dict):
        raise InputError(name, key, f"expected a tensor entry, got {describe(entry)}")
    if entry.get("dtype") != "F64":
        raise InputError(name, key, f"expected dtype F64, got {describe(entry.get('dtype'))}")
    got = entry.get("shape")
    if not isinstance(got, list) or [type(n) for n in got] != [int] * len(got):
        raise InputError(name, f"{key}.shape", f"expected a list of sizes, got {describe(got)}")
    if tuple(got) != shape:
        raise InputError(name, f"{key}.shape", f"expected {list(shape)}, got {describe(got)}")
    offsets = entry.get("data_offsets")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or [type(n) for n in offsets] != [int, int]
        or not 0 <= offsets[0] <= offsets[1] <= len(body)
        or offsets[1] - offsets[0] != math.prod(shape) * 8
    ):
        raise InputError(
            name,
            f"{key}.data_offsets",
            f"expected [begin, begin + {math.prod(shape) * 8}] inside the {len(body)} bytes"
            f" of tensors, got {describe(offsets)}",
        )
    begin, end = offsets
    return np.frombuffer(body[begin:end], dtype="<f8").astype(np.float64).reshape(shape)


class _Metadata:
    """The header's metadata, each value parsed with errors naming ``__metadata__.key``."""

    def __init__(self, name: str, meta: dict[str, str]) -> None:
        self.name = name
        self.meta = meta

    def error(self, key: str, message: str) -> InputError:
        return InputError(self.name, f"__metadata__.{key}", message)

    def text(self, key: str) -> str:
        if key not in self.meta:
            detail = "; not a bpdebug snapshot" if key == "format" else ""
            raise self.error(key, "missing" + detail)
        return self.meta[key]

    def count(self, key: str) -> int:
        value = self.text(key)
        if not _INTEGER.fullmatch(value):
            raise self.error(key, f"expected a whole number >= 0, got {describe(value)}")
        return int(value)

    def number(self, key: str) -> float:
        value = self.text(key)
        try:
            return float(value)
        except ValueError:
            raise self.error(key, f"expected a number, got {describe(value)}") from None

    def json(self, key: str) -> Any:
        try:
            return json.loads(self.text(key))  # NaN, Infinity: json reads them
        except (ValueError, RecursionError) as error:
            raise self.error(key, f"expected JSON ({_one_line(error)})") from None

    def matrix(self, key: str, value: Any) -> np.ndarray:
        try:
            x = np.asarray(value)
        except (ValueError, TypeError, OverflowError):  # ragged rows, huge integers
            x = np.asarray(None)
        if x.dtype.kind not in "iuf" or x.ndim != 2 or x.size == 0:
            raise self.error(key, "expected a matrix of numbers (rows of equal length)")
        return np.array(x, dtype=np.float64)


def _scenario(fields: _Metadata) -> Any:
    """The scenario rebuilt from ``scenario.text`` (and ``data``), reading no other file."""
    from bpdebug.scenario import loads_scenario
    from bpdebug.scenario.model import Dataset

    text = fields.text("scenario.text")
    carried = None
    if "data" in fields.meta:
        data = fields.json("data")
        if not isinstance(data, dict) or set(data) != {"inputs", "targets"}:
            raise fields.error("data", 'expected {"inputs": ..., "targets": ...}')
        inputs = fields.matrix("data", data["inputs"])
        targets = fields.matrix("data", data["targets"])
        if inputs.shape[1] != targets.shape[1]:
            raise fields.error("data", "expected inputs and targets of as many examples")
        carried = Dataset(inputs, targets, "snapshot")
    try:
        return loads_scenario(text, fields.text("scenario.path"), carried, read_files=False)
    except InputError as error:
        raise fields.error("scenario.text", str(error)) from None


def _snapshot(fields: _Metadata, scenario: Any, tensors: dict[str, np.ndarray]) -> Snapshot:
    """The typed snapshot: the stored W and b, and step N's pass of them on step N's batch."""
    from bpdebug.branches import trainer_along
    from bpdebug.engine import Params
    from bpdebug.engine.network import EMPTY, frozen
    from bpdebug.snapshot.branching import parse_path, path_scenarios
    from bpdebug.snapshot.build import LayerSnapshot, ScenarioRef

    step = fields.count("step")
    records = None
    if "branches" in fields.meta or "branch" in fields.meta:
        records = parse_path(fields.name, "__metadata__.branches", fields.text("branches"))
        if not records or fields.text("branch") != records[-1].name:
            raise fields.error("branch", "expected the name of the last branch of a non-empty path")
    scenarios = path_scenarios(fields.name, "__metadata__.branches", scenario, records or ())
    forks = [record.fork for record in records or ()]
    trainer = trainer_along(scenario, list(zip(forks, scenarios[1:], strict=True)), step)
    scenario = trainer.scenario
    depth = scenario.network.depth
    W = (EMPTY, *(frozen(tensors[torch_parameter_name(l, "W")]) for l in range(1, depth + 1)))
    b = (EMPTY, *(frozen(tensors[torch_parameter_name(l, "b")]) for l in range(1, depth + 1)))
    params = Params(W, b)
    X, Y = trainer.batch(step)
    trace = trainer.network.trace(params, X, Y)
    regularized = bool(scenario.training.l1 or scenario.training.l2)
    layers = tuple(
        LayerSnapshot(
            index=l,
            activation=scenario.network.activation_of(l),
            dW_reg=trace.dW_reg[l] if regularized else None,
            **dict(
                zip(
                    LAYER_ARRAYS,
                    (W[l], b[l], trace.z[l], trace.a[l], trace.delta[l], trace.dW[l], trace.db[l]),
                    strict=True,
                )
            ),
        )
        for l in range(1, depth + 1)
    )
    edits = _edits(fields) if "edits" in fields.meta else None
    # A CSV scenario's data set, carried as in the other formats.
    data = (scenario.data.inputs, scenario.data.targets) if "data" in fields.meta else None
    return Snapshot(
        scenario=ScenarioRef(
            fields.text("scenario.name"), fields.text("scenario.path"), scenario.text
        ),
        step=step,
        loss=scenario.network.loss,
        learning_rate=scenario.training.learning_rate,
        optimizer=scenario.training.optimizer,
        cost=float(trace.cost),
        inputs=X,
        targets=Y,
        layers=layers,
        epoch=trainer.schedule.epoch(step),
        data_cost=float(trace.data_cost),
        reg_cost=float(trace.reg_cost),
        batch_size=trainer.schedule.batch_size,
        bpdebug_version=fields.meta.get("bpdebug_version"),
        branched_at=fields.count("branched_at") if "branched_at" in fields.meta else None,
        edits=edits,
        data=data,
        branch=None if records is None else records[-1].name,
        branches=records,
    )


def _edits(fields: _Metadata) -> np.ndarray:
    """The edit rows [step, layer, j, k, value], checked as the other formats' (read._edits)."""
    from bpdebug.snapshot.build import MAX_EDITS

    edits = fields.matrix("edits", fields.json("edits"))
    if edits.shape[1] != 5:
        raise fields.error("edits", f"expected rows [step, layer, j, k, value], got {edits.shape}")
    if edits.shape[0] > MAX_EDITS:
        raise fields.error("edits", f"expected at most {MAX_EDITS:,} edits, got {edits.shape[0]:,}")
    index = edits[:, :4]
    if not (np.isfinite(index).all() and (index >= 0).all() and (index == np.floor(index)).all()):
        raise fields.error("edits", "expected whole numbers >= 0 for step, layer, j and k")
    if not np.isfinite(edits[:, 4]).all():
        raise fields.error("edits", "expected finite values")
    if (np.diff(edits[:, 0]) < 0).any():
        raise fields.error("edits", "expected edits oldest first (steps in order)")
    return edits


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
