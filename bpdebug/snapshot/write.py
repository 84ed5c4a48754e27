"""Writing a snapshot: .json (streamed), .npz (deterministic) or .md, whole or not at all."""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from bpdebug.files import write_atomic, write_atomic_with
from bpdebug.text import printable

if TYPE_CHECKING:
    from bpdebug.timeline import Timeline

from bpdebug.snapshot.build import LAYER_ARRAYS, plain, snapshot_arrays

NPZ_DATE = (1980, 1, 1, 0, 0, 0)
"""The date of every .npz member (the zip format's earliest)."""
MD_ROWS = MD_COLUMNS = 12
"""The largest corner of a matrix the Markdown report prints."""


class ExportError(Exception):
    """A snapshot that could not be written; `str(error)` is one line naming the file."""


def export(timeline: Timeline, path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write the current step's snapshot to `path`; the suffix picks .json, .npz, .md or
    .safetensors (bpdebug.snapshot.tensors).

    Never overwrites an existing file unless `force`. Raises ExportError.
    """
    name = os.fspath(path)
    suffix = Path(name).suffix.lower()
    if suffix not in (".json", ".npz", ".md", ".safetensors"):
        found = f"unknown snapshot format {suffix!r}" if suffix else "no file suffix"
        raise ExportError(f"{name}: {found}; expected .json, .npz, .md or .safetensors")
    if not force and os.path.lexists(name):
        raise ExportError(f"{name}: exists; pass --force to overwrite")
    if suffix == ".safetensors":
        from bpdebug.snapshot.tensors import safetensors_bytes

        data = safetensors_bytes(timeline)  # MissingExtra without safetensors
        try:
            return write_atomic(name, data, overwrite=force)
        except FileExistsError:
            raise ExportError(f"{name}: exists; pass --force to overwrite") from None
        except OSError as error:
            raise ExportError(f"{name}: {error.strerror or error}") from None
    snap = snapshot_arrays(timeline)
    try:
        if suffix == ".npz":
            arrays = flatten(snap)

            def write(f: IO[bytes]) -> None:
                write_npz(f, arrays)

            return write_atomic_with(name, write, overwrite=force)
        if suffix == ".json":

            def write_json(f: IO[bytes]) -> None:
                for chunk in json_chunks(snap):
                    f.write(chunk.encode("utf-8", "surrogatepass"))

            return write_atomic_with(name, write_json, overwrite=force)
        return write_atomic(name, to_markdown(snap).encode("utf-8"), overwrite=force)
    except FileExistsError:
        raise ExportError(f"{name}: exists; pass --force to overwrite") from None
    except OSError as error:
        raise ExportError(f"{name}: {error.strerror or error}") from None


def write_npz(f: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
    """`arrays` as a compressed .npz, as `np.savez_compressed` writes it but without a clock.

    Every member gets the same fixed date, so one step exports to the same
    bytes every time (diffable, reproducible); numpy reads it as any .npz.
    """
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, value in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=NPZ_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, value, allow_pickle=False)


def to_json(value: Any) -> str:
    """JSON text with one line per matrix row (json.dumps(indent=...) gives one per number)."""
    return "".join(json_chunks(value))


def json_chunks(value: Any, level: int = 0) -> Iterator[str]:
    """`to_json`'s text in pieces of at most one matrix row, so a big snapshot streams to disk.

    `value` may hold ndarrays (written as nested lists of floats) or plain
    lists. Building the whole text first cost gigabytes for a 10-million
    weight network; a row at a time costs one row.
    """
    pad = " " * level
    if isinstance(value, np.ndarray) and value.ndim == 2:
        value = list(value)  # its rows, each written on one line below
    if isinstance(value, dict) and value:
        yield "{\n"
        for i, (key, item) in enumerate(value.items()):
            yield f",\n{pad} " if i else f"{pad} "
            yield f"{json.dumps(key)}: "
            yield from json_chunks(item, level + 1)
        yield "\n" + pad + "}"
    elif isinstance(value, list) and value and isinstance(value[0], dict | list | np.ndarray):
        yield "[\n"
        for i, item in enumerate(value):
            yield f",\n{pad} " if i else f"{pad} "
            yield from json_chunks(item, level + 1)
        yield "\n" + pad + "]"
    else:
        yield json.dumps(plain(value), ensure_ascii=False)


def flatten(snap: dict[str, Any]) -> dict[str, np.ndarray]:
    """The .npz arrays of a snapshot (`snapshot_arrays` form): no object arrays."""
    out: dict[str, np.ndarray] = {"format": np.array(snap["format"])}
    for key in ("name", "path", "text"):
        if key in snap["scenario"]:
            out[f"scenario_{key}"] = np.array(str(snap["scenario"][key]))
    for key in ("loss", "optimizer", "bpdebug_version", "branch"):
        if key in snap:
            out[key] = np.array(str(snap[key]))
    for key in ("step", "epoch", "batch_size", "branched_at"):
        if key in snap:
            out[key] = np.array(snap[key], dtype=np.int64)
    for key in ("cost", "learning_rate", "data_cost", "reg_cost"):
        if key in snap:
            out[key] = np.array(snap[key], dtype=np.float64)
    out["inputs"] = np.asarray(snap["inputs"], dtype=np.float64)
    out["targets"] = np.asarray(snap["targets"], dtype=np.float64)
    for key, value in snap.get("data", {}).items():
        out[f"data_{key}"] = np.asarray(value, dtype=np.float64)
    if "edits" in snap:
        out["edits"] = np.asarray(snap["edits"], dtype=np.float64)
    if "branches" in snap:  # JSON text in a string array: no object arrays in an .npz
        out["branches"] = np.array(json.dumps(plain(snap["branches"])))
    out["activations"] = np.array([str(layer["activation"]) for layer in snap["layers"]])
    for layer in snap["layers"]:
        for name in (*LAYER_ARRAYS, "dW_reg"):
            if name in layer:
                out[f"{name}{layer['index']}"] = np.asarray(layer[name], dtype=np.float64)
    return out


def to_markdown(snap: dict[str, Any]) -> str:
    """A report for people, in the seeds' notation; big matrices show their top-left corner."""
    m = snap["inputs"].shape[1]
    lines = [
        f"# {_md_text(snap['scenario']['name'])}: step {snap['step']}",
        "",
        f"- scenario file: {_md_text(snap['scenario']['path'])}",
        f"- step {snap['step']} (epoch {snap.get('epoch', '?')}), batch of m = {m} examples",
        f"- loss {snap['loss']}, optimizer {snap['optimizer']}, "
        f"learning rate {snap['learning_rate']!r}",
        f"- cost C = {snap['cost']!r}",
    ]
    if snap.get("reg_cost"):
        lines.append(f"  (data {snap['data_cost']!r} + regularization {snap['reg_cost']!r})")
    if "edits" in snap:
        for step, l, j, k, value in snap["edits"][:MD_ROWS].tolist():
            lines.append(
                f"- edited by hand: w_{int(j)}{int(k)}^({int(l)}) = {value!r} at step {int(step)}"
            )
        if len(snap["edits"]) > MD_ROWS:
            lines.append(f"- … {len(snap['edits']) - MD_ROWS} more edits")
    elif "branched_at" in snap:
        lines.append(f"- parameters edited by hand at step {snap['branched_at']}")
    if "branches" in snap:
        from bpdebug.snapshot.branching import describe_path, parse_path

        lines.append(f"- on branch {_md_text(snap['branch'])}, whose path from main is:")
        for line in describe_path(parse_path("snapshot", "branches", snap["branches"])):
            lines.append(f"  - {_md_text(line)}")
    lines += ["", "Numbers are rounded to 6 significant digits; .json and .npz hold them exactly."]
    lines += _matrix_section("a^(0) = x, the inputs", snap["inputs"])
    lines += _matrix_section("y, the targets", snap["targets"])
    for layer in snap["layers"]:
        l, g = layer["index"], layer["activation"]
        lines += ["", f"## Layer {l} ({g})"]
        lines += _matrix_section(f"W^({l})", layer["W"])
        lines += _matrix_section(f"b^({l})", layer["b"][:, None])
        lines += _matrix_section(f"z^({l}) = W^({l}) a^({l - 1}) + b^({l})", layer["z"])
        lines += _matrix_section(f"a^({l}) = {g}(z^({l}))", layer["a"])
        lines += _matrix_section(
            f"delta^({l}) = dC_0/dz^({l}), one column per example", layer["delta"]
        )
        lines += _matrix_section(f"dC/dW^({l}) = delta^({l}) a^({l - 1})^T / m", layer["dW"])
        lines += _matrix_section(
            f"dC/db^({l}) = mean of delta^({l}) over the batch", layer["db"][:, None]
        )
        if "dW_reg" in layer:
            lines += _matrix_section(f"dC_reg/dW^({l}), added to dC/dW^({l})", layer["dW_reg"])
    return "\n".join(lines) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>&])")


def _md_text(text: str) -> str:
    """Text from a file as literal Markdown: no control characters, no markup, no HTML."""
    return _MD_SPECIAL.sub(r"\\\1", printable(str(text)))


def _matrix_section(title: str, x: np.ndarray) -> list[str]:
    """A heading, a truncation note if needed, and `x` as a fenced block of aligned numbers."""
    rows, cols = x.shape
    shown = x[:MD_ROWS, :MD_COLUMNS]
    cells = [[f"{v:.6g}" for v in row] for row in shown.tolist()]
    width = max(len(c) for row in cells for c in row)
    block = [
        "  ".join(c.rjust(width) for c in row) + (" ..." if cols > MD_COLUMNS else "")
        for row in cells
    ]
    if rows > MD_ROWS:
        block.append("...")
    out = ["", f"### {title}  ({rows} x {cols})", ""]
    if rows > MD_ROWS or cols > MD_COLUMNS:
        shape = (
            f"rows 1-{min(rows, MD_ROWS)} of {rows}, columns 1-{min(cols, MD_COLUMNS)} of {cols}"
        )
        out += [f"Showing {shape}.", ""]
    return [*out, "```", *block, "```"]
