"""Reading a snapshot back: every key checked, one-line errors naming the file and key."""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from bpdebug.errors import InputError, describe
from bpdebug.scenario.limits import (
    FILE_BYTES,
    LAYERS,
    NotRegularFile,
    open_capped,
    read_capped,
)

if TYPE_CHECKING:
    pass

from bpdebug.snapshot.branching import parse_path
from bpdebug.snapshot.build import FORMAT, LAYER_ARRAYS, MAX_EDITS, SHAPES, Snapshot

_CONSTANTS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def load_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    """A .json, .npz or .safetensors snapshot, validated and typed (float64 ndarrays).

    A .safetensors file holds only W and b; its pass (z, a, delta, dW, db)
    is computed from its scenario (bpdebug.snapshot.tensors).

    Raises InputError naming the file and the key for anything wrong: an
    unreadable, truncated or corrupt file, another format tag, a missing
    key, a value of the wrong type, more than BPDEBUG_MAX_LAYERS layers, or
    an array whose shape disagrees with the layer sizes. Nothing but the
    file itself is read, and only if it is a regular file.
    """
    name = os.fspath(path)
    suffix = Path(name).suffix.lower()
    if suffix not in (".json", ".npz", ".safetensors"):
        raise InputError(
            name,
            "",
            f"cannot read a {suffix or 'suffix-less'} file; expected .json, .npz or .safetensors",
        )
    try:
        if suffix == ".safetensors":
            from bpdebug.snapshot.tensors import read_safetensors

            return read_safetensors(name, read_capped(name, name))
        if suffix == ".json":
            return Snapshot.from_dict(
                _parse(_JsonFields(name, _read_json(name, read_capped(name, name))))
            )
        with open_capped(name, name) as handle:
            return Snapshot.from_dict(_load_npz(name, handle))
    except NotRegularFile as error:
        raise InputError(name, "", f"expected a snapshot file, got {error.kind}") from None
    except OSError as error:
        raise InputError(name, "", str(error.strerror or error)) from None


def _load_npz(name: str, handle: IO[bytes]) -> dict[str, Any]:
    """The snapshot in the open .npz file `handle`; every failure is an InputError."""
    try:
        loaded = np.load(handle, allow_pickle=False)
    except Exception as error:
        # A damaged archive can make zipfile and numpy raise nearly anything
        # (NotImplementedError for an unknown compression method, struct.error,
        # UnicodeDecodeError for a member's name, ...): all mean the same here.
        raise InputError(name, "", f"not a readable .npz archive ({_one_line(error)})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise InputError(name, "", "expected an .npz archive, found a single .npy array")
    with loaded:
        fields = _NpzFields(name, loaded)
        fields.check_total_size()
        return _parse(fields)


def _read_json(name: str, data: bytes) -> dict[str, Any]:
    """The top-level object of a JSON snapshot (NaN/Infinity accepted, see the module doc)."""
    try:
        obj = json.loads(data, parse_constant=_CONSTANTS.__getitem__)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise InputError(name, "", f"not valid JSON, truncated? ({error.msg} at {where})") from None
    except (ValueError, RecursionError) as error:  # not UTF-8; nested too deep
        raise InputError(name, "", f"not a JSON text ({_one_line(error)})") from None
    if not isinstance(obj, dict):
        raise InputError(name, "", f"expected a JSON object, got {describe(obj)}")
    return obj


class _Fields:
    """A snapshot file's values by contract key (layer 0 = top level), and where they sit."""

    def __init__(self, name: str) -> None:
        self.name = name

    def where(self, key: str, layer: int = 0) -> str:
        """The key path an error message names."""
        raise NotImplementedError

    def find(self, key: str, layer: int = 0) -> tuple[str, object] | None:
        """(key path, value) or None if absent."""
        raise NotImplementedError

    def depth(self) -> int:
        """L, the number of weighted layers the file holds."""
        raise NotImplementedError

    def get(self, key: str, layer: int = 0) -> tuple[str, object]:
        """(key path, value); a missing key is an error."""
        found = self.find(key, layer)
        if found is None:
            detail = "; not a bpdebug snapshot" if key == "format" else ""
            raise self.error(self.where(key, layer), "missing" + detail)
        return found

    def error(self, where: str, message: str) -> InputError:
        """The one-line error for the value at `where`."""
        return InputError(self.name, where, message)


class _JsonFields(_Fields):
    """Fields of a JSON snapshot: ``scenario.name``, ``layers[0].W``, ..."""

    def __init__(self, name: str, obj: dict[str, Any]) -> None:
        super().__init__(name)
        self.obj = obj
        self._layers: list[dict[str, Any]] | None = None

    def where(self, key: str, layer: int = 0) -> str:
        return f"layers[{layer - 1}].{key}" if layer else key

    def find(self, key: str, layer: int = 0) -> tuple[str, object] | None:
        where = self.where(key, layer)
        holder = self.obj
        if layer:
            holder = self.layers()[layer - 1]
        elif "." in key:
            outer, key = key.split(".", 1)
            inner = self.obj.get(outer)
            if inner is None:
                return None
            if not isinstance(inner, dict):
                raise self.error(outer, f"expected an object, got {describe(inner)}")
            holder = inner
        return (where, holder[key]) if key in holder else None

    def layers(self) -> list[dict[str, Any]]:
        """The `layers` list, checked to hold objects with index 1..L in order."""
        if self._layers is None:
            layers = self.get("layers")[1]
            if not isinstance(layers, list) or not layers:
                raise self.error("layers", f"expected a non-empty list, got {describe(layers)}")
            for i, layer in enumerate(layers):
                if not isinstance(layer, dict):
                    raise self.error(f"layers[{i}]", f"expected an object, got {describe(layer)}")
                index = layer.get("index")
                if type(index) is not int or index != i + 1:
                    got = "nothing" if index is None else describe(index)
                    message = f"expected {i + 1} (layers 1..L in order), got {got}"
                    raise self.error(f"layers[{i}].index", message)
            self._layers = layers
        return self._layers

    def depth(self) -> int:
        return len(self.layers())


class _NpzFields(_Fields):
    """Fields of an .npz snapshot: ``scenario_name``, ``W1``, ``activations[0]``, ..."""

    def __init__(self, name: str, npz: Any) -> None:
        super().__init__(name)
        self.npz = npz
        self.files = set(npz.files)
        self._activations: list[str] | None = None

    def where(self, key: str, layer: int = 0) -> str:
        if key == "activation":
            return f"activations[{layer - 1}]"
        return f"{key}{layer}" if layer else key.replace(".", "_")

    def find(self, key: str, layer: int = 0) -> tuple[str, object] | None:
        where = self.where(key, layer)
        if key == "activation":
            return where, self.activations()[layer - 1]
        if where not in self.files:
            return None
        value = self.read(where)
        return where, value.item() if value.ndim == 0 else value

    def read(self, key: str) -> np.ndarray:
        """The array stored as `key`; object arrays are refused, never unpickled.

        `check_total_size` has bounded what the archive can unpack to.
        """
        try:
            value = self.npz[key]
        except ValueError as error:
            if "pickle" in str(error):
                raise self.error(key, "holds pickled Python objects; refusing to load it") from None
            raise self.error(key, f"unreadable ({_one_line(error)})") from None
        except Exception as error:  # a damaged member: see _load_npz
            raise self.error(key, f"unreadable, truncated? ({_one_line(error)})") from None
        if not isinstance(value, np.ndarray):  # pragma: no cover - np.load gives arrays
            raise self.error(key, "expected an array")
        return value

    def check_total_size(self) -> None:
        """Refuse an archive whose arrays add up to more than FILE_BYTES, before unpacking any.

        Both the zip's word (each member's unpacked size) and each .npy
        header's (shape x item size) are added up: a few kilobytes of zeros
        can unpack to gigabytes, and a header can claim a shape its data
        does not have.
        """
        limit = FILE_BYTES.value()
        declared = claimed = 0
        for info in self.npz.zip.infolist():
            declared += info.file_size
            if declared > limit:
                break
            claimed += self._header_bytes(info.filename)
            if claimed > limit:
                break
        if declared > limit or claimed > limit:
            raise self.error(
                "",
                f"expected arrays of at most {limit} bytes in all ({FILE_BYTES.note()}), got more",
            )

    def _header_bytes(self, member: str) -> int:
        """The bytes the .npy header of `member` says its array holds (0 if unreadable)."""
        try:
            with self.npz.zip.open(member) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        except Exception:  # reading the array itself reports what is wrong with it
            return 0
        return math.prod(shape) * dtype.itemsize

    def activations(self) -> list[str]:
        """The `activations` array: one name per layer 1..L."""
        if self._activations is None:
            value = self.get("activations")[1]
            if not (isinstance(value, np.ndarray) and value.dtype.kind == "U"):
                raise self.error("activations", "expected a 1-D array of strings")
            if value.ndim != 1 or value.size == 0:
                raise self.error("activations", f"expected one name per layer, shape {value.shape}")
            self._activations = [str(v) for v in value]
        return self._activations

    def depth(self) -> int:
        return len(self.activations())


def _parse(fields: _Fields) -> dict[str, Any]:
    """Check every key of a snapshot and return it in `snapshot_arrays` form."""
    fmt = _text(fields, "format")
    if fmt != FORMAT:
        raise fields.error(fields.where("format"), f"expected {FORMAT!r}, got {describe(fmt)}")
    scenario = {"name": _text(fields, "scenario.name"), "path": _text(fields, "scenario.path")}
    if fields.find("scenario.text") is not None:
        scenario["text"] = _text(fields, "scenario.text")
    snap: dict[str, Any] = {
        "format": fmt,
        "scenario": scenario,
        "step": _count(fields, "step"),
        "loss": _text(fields, "loss"),
        "learning_rate": _number(fields, "learning_rate"),
        "optimizer": _text(fields, "optimizer"),
        "cost": _number(fields, "cost"),
    }
    arrays = {(key, 0): _array(fields, key, 0, 2) for key in ("inputs", "targets")}
    snap["inputs"], snap["targets"] = arrays["inputs", 0], arrays["targets", 0]
    if fields.find("data.inputs") is not None or fields.find("data.targets") is not None:
        for key in ("data.inputs", "data.targets"):
            arrays[key, 0] = _array(fields, key, 0, 2)
        snap["data"] = {"inputs": arrays["data.inputs", 0], "targets": arrays["data.targets", 0]}
    depth, most = fields.depth(), LAYERS.value()
    if depth > most:
        raise fields.error(
            fields.where("layers"), f"expected at most {most} layers ({LAYERS.note()}), got {depth}"
        )
    layers = []
    for l in range(1, depth + 1):
        layer: dict[str, Any] = {"index": l, "activation": _text(fields, "activation", l)}
        names = (*LAYER_ARRAYS, "dW_reg") if fields.find("dW_reg", l) else LAYER_ARRAYS
        for key in names:
            layer[key] = arrays[key, l] = _array(fields, key, l, len(SHAPES[key]))
        layers.append(layer)
    snap["layers"] = layers
    _check_shapes(fields, arrays, len(layers))
    for key, read in (
        ("epoch", _count),
        ("data_cost", _number),
        ("reg_cost", _number),
        ("batch_size", _count),
        ("bpdebug_version", _text),
        ("branched_at", _count),
        ("branch", _text),
    ):
        if fields.find(key) is not None:
            snap[key] = read(fields, key)
    if fields.find("edits") is not None:
        snap["edits"] = _edits(fields)
    _branches(fields, snap)
    return snap


def _branches(fields: _Fields, snap: dict[str, Any]) -> None:
    """The branch and its path (bpdebug.snapshot.branching): both or neither, the path
    ending at the branch."""
    found = fields.find("branches")
    branch = snap.get("branch")
    if found is None:
        if branch is not None:
            raise fields.error(fields.where("branches"), f"missing; the branch is {branch!r}")
        return
    where, value = found
    records = parse_path(fields.name, where, value)
    if not records:
        raise fields.error(where, "expected at least one branch (main has no record)")
    if branch is None:
        raise fields.error(fields.where("branch"), "missing; the snapshot records branches")
    if branch != records[-1].name:
        raise fields.error(
            fields.where("branch"),
            f"expected the last branch of the path, {records[-1].name!r}, got {branch!r}",
        )
    snap["branches"] = records


def _edits(fields: _Fields) -> np.ndarray:
    """The edit rows [step, layer, j, k, value]: whole numbers where they count, at most
    MAX_EDITS (what they name is checked against the scenario when reopening)."""
    edits = _array(fields, "edits", 0, 2)
    where = fields.where("edits")
    if edits.shape[1] != 5:
        raise fields.error(
            where, f"expected rows [step, layer, j, k, value], got shape {edits.shape}"
        )
    if edits.shape[0] > MAX_EDITS:
        raise fields.error(where, f"expected at most {MAX_EDITS:,} edits, got {edits.shape[0]:,}")
    index = edits[:, :4]
    if not (np.isfinite(index).all() and (index >= 0).all() and (index == np.floor(index)).all()):
        raise fields.error(where, "expected whole numbers >= 0 for step, layer, j and k")
    if not np.isfinite(edits[:, 4]).all():
        raise fields.error(where, "expected finite values")
    if (np.diff(edits[:, 0]) < 0).any():
        raise fields.error(where, "expected edits oldest first (steps in order)")
    return edits


def _check_shapes(fields: _Fields, arrays: dict[tuple[str, int], np.ndarray], depth: int) -> None:
    """Every array's shape against the sizes n_0..n_L and m most arrays agree on.

    Sizes come from a vote, so the one wrong array is the one reported
    (a wrong W^(1) does not make b^(1), z^(1), ... look wrong instead).
    """
    symbolic: dict[tuple[str, int], tuple[int | str, ...]] = {
        ("inputs", 0): (0, "m"),
        ("targets", 0): (depth, "m"),
        ("data.inputs", 0): (0, "N"),
        ("data.targets", 0): (depth, "N"),
    }
    for key, l in arrays:
        if l:
            symbolic[key, l] = tuple(l + d if isinstance(d, int) else d for d in SHAPES[key])
    votes: dict[int | str, Counter[int]] = {}
    for k, x in arrays.items():
        for slot, size in zip(symbolic[k], x.shape, strict=True):
            votes.setdefault(slot, Counter())[size] += 1
    sizes = {slot: counts.most_common(1)[0][0] for slot, counts in votes.items()}
    for (key, l), x in arrays.items():
        expected = tuple(sizes[slot] for slot in symbolic[key, l])
        if x.shape != expected:
            names = ", ".join(f"n_{s}" if isinstance(s, int) else s for s in symbolic[key, l])
            message = f"expected shape ({names}) = {expected}, got {x.shape}"
            raise fields.error(fields.where(key, l), message)


def _text(fields: _Fields, key: str, layer: int = 0) -> str:
    where, value = fields.get(key, layer)
    if not isinstance(value, str):
        raise fields.error(where, f"expected a string, got {describe(value)}")
    return value


def _number(fields: _Fields, key: str, layer: int = 0) -> float:
    where, value = fields.get(key, layer)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fields.error(where, f"expected a number, got {describe(value)}")
    return float(value)


def _count(fields: _Fields, key: str, layer: int = 0) -> int:
    where, value = fields.get(key, layer)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise fields.error(where, f"expected an integer >= 0, got {describe(value)}")
    return value


def _array(fields: _Fields, key: str, layer: int, ndim: int) -> np.ndarray:
    where, value = fields.get(key, layer)
    what = "a matrix of numbers (rows of equal length)" if ndim == 2 else "a list of numbers"
    try:
        x = np.asarray(value)
    except (ValueError, TypeError, OverflowError):  # ragged rows, huge integers
        raise fields.error(where, f"expected {what}") from None
    if x.dtype.kind not in "iuf" or x.ndim != ndim or x.size == 0:
        got = (
            f"an array of shape {x.shape} and type {x.dtype}"
            if isinstance(value, np.ndarray)
            else describe(value)
        )
        raise fields.error(where, f"expected {what}, got {got}")
    return np.array(x, dtype=np.float64)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
