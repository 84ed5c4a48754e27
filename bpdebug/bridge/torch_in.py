"""Your own PyTorch model in bpdebug: an `nn.Sequential`, or bare weights, as a scenario.

Everything goes through a scenario's TOML text, loaded by the same loader
as any file: what `bpdebug.debug` opens is exactly what `to_scenario` and
`bpdebug import` write, bounded by the same limits, and reopenable from
any snapshot of it.

What is supported, and what each decision is:
- Modules: `nn.Linear` (with its bias), then at most one activation:
  `nn.ReLU`, `nn.Tanh`, `nn.Sigmoid`, `nn.LeakyReLU` with slope 0.01,
  `nn.Identity` (or nothing: a linear layer), and `nn.Softmax` over the
  units (dim 1 or -1) after the last Linear only. Anything else is refused
  with one line naming the module's index and type.
- Logits: a model that ends in a Linear, trained with `cross_entropy`, gets
  softmax as its output activation (what `nn.CrossEntropyLoss` does to
  logits); with `binary_cross_entropy`, sigmoid (`nn.BCEWithLogitsLoss`).
  The numbers are the same; the screen then shows the probabilities.
- Losses are bpdebug's own (the contract's table): `squared_error` is
  sum_j (a_j - y_j)^2 averaged over examples, which is `nn.MSELoss()` times
  the number of output units (the same for one output unit).
- Weights are copied to float64 exactly (every float32 is a float64).
- Data: `inputs` (N, n_0) and `targets` (N, n_L), one row per example as in
  PyTorch and in a scenario's `[data]`; for `cross_entropy`, `targets` may
  also be N class indices, made one-hot.
- Batches: bpdebug's own order (seeded, reshuffled each epoch unless
  `shuffle=False`), not a DataLoader's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bpdebug.bridge import TORCH_ACTIVATIONS, need
from bpdebug.scenario.model import ACTIVATIONS, LOSSES, OPTIMIZERS

MODULE_ACTIVATIONS = {module: name for name, module in TORCH_ACTIVATIONS.items()}
"""`torch.nn` class name -> bpdebug's activation name."""

LEAKY_SLOPE = 0.01
"""bpdebug's leaky_relu slope (the contract), and torch's default."""


class NotImportable(ValueError):
    """A model or weights bpdebug cannot take: one line saying which part and why.

    (The CLI prints it after the file it read, exit 2.)"""


@dataclass(frozen=True)
class Imported:
    """A network read from PyTorch: sizes, activations g_1..g_L and float64 parameters."""

    layers: tuple[int, ...]
    activations: tuple[str, ...]
    W: tuple[np.ndarray, ...]
    """W^(1)..W^(L), each (n_l, n_{l-1})."""
    b: tuple[np.ndarray, ...]
    """b^(1)..b^(L), each (n_l,)."""


def _float64(tensor: Any) -> np.ndarray:
    return np.array(tensor.detach().cpu().double().numpy(), dtype=np.float64)


def from_sequential(model: Any) -> Imported:
    """Read an `nn.Sequential` of Linear layers and activations (see the module's rules)."""
    torch = need("torch", "importing a PyTorch model")
    nn = torch.nn
    if not isinstance(model, nn.Sequential):
        raise NotImportable(f"expected an nn.Sequential, got {type(model).__name__}")
    layers: list[int] = []
    activations: list[str] = []
    Ws: list[np.ndarray] = []
    bs: list[np.ndarray] = []
    pending = False
    """A Linear whose activation has not been seen yet."""
    modules = list(model)
    for i, module in enumerate(modules):
        kind = type(module).__name__
        if isinstance(module, nn.Linear):
            if module.bias is None:
                raise NotImportable(
                    f"module {i} (Linear): bias=False is not supported (every bpdebug layer"
                    " has a bias b^(l))"
                )
            if layers and module.in_features != layers[-1]:
                raise NotImportable(
                    f"module {i} (Linear): takes {module.in_features} inputs, but the layer"
                    f" before has {layers[-1]} units"
                )
            if pending:
                activations.append("linear")
            if not layers:
                layers.append(module.in_features)
            layers.append(module.out_features)
            Ws.append(_float64(module.weight))
            bs.append(_float64(module.bias))
            pending = True
            continue
        name = MODULE_ACTIVATIONS.get(kind)
        if name is None:
            raise NotImportable(
                f"module {i} ({kind}): not supported; bpdebug takes Linear, ReLU, Tanh,"
                " Sigmoid, LeakyReLU(0.01), Identity and Softmax (last)"
            )
        if not pending:
            where = "before the first Linear" if not layers else "right after another activation"
            raise NotImportable(f"module {i} ({kind}): an activation {where}")
        if name == "leaky_relu" and module.negative_slope != LEAKY_SLOPE:
            raise NotImportable(
                f"module {i} (LeakyReLU): slope {module.negative_slope!r}; bpdebug's"
                f" leaky_relu has slope {LEAKY_SLOPE}"
            )
        if name == "softmax":
            if module.dim not in (1, -1):
                raise NotImportable(
                    f"module {i} (Softmax): dim={module.dim!r}; expected dim=1 (over the units"
                    " of each example)"
                )
            if i != len(modules) - 1:
                raise NotImportable(f"module {i} (Softmax): only allowed as the last module")
        activations.append(name)
        pending = False
    if not Ws:
        raise NotImportable("the model has no Linear layer")
    if pending:
        activations.append("linear")
    return Imported(tuple(layers), tuple(activations), tuple(Ws), tuple(bs))


def read_weights(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The tensors of a `.safetensors` file or a `.pt` state dict, as float64 arrays.

    A `.pt` file is read with ``torch.load(weights_only=True)``, which refuses
    to unpickle anything but tensors and plain containers: no code runs.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        need("safetensors", "reading .safetensors weights")
        from safetensors.numpy import load_file

        try:
            raw = load_file(str(path))
        except Exception as error:
            raise NotImportable(f"not a readable .safetensors file ({_one_line(error)})") from None
        return {name: np.asarray(value, dtype=np.float64) for name, value in raw.items()}
    if suffix in (".pt", ".pth"):
        torch = need("torch", "reading .pt weights")
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as error:
            raise NotImportable(f"not a readable state dict ({_one_line(error)})") from None
        if isinstance(state, Mapping) and "state_dict" in state:
            state = state["state_dict"]
        if not isinstance(state, Mapping):
            raise NotImportable(
                f"expected a state dict (names to tensors), got {type(state).__name__}"
            )
        return {
            str(name): _float64(value) for name, value in state.items() if torch.is_tensor(value)
        }
    raise NotImportable(f"expected a .safetensors, .pt or .pth file, got {suffix or 'no suffix'!r}")


def from_state_dict(
    tensors: Mapping[str, np.ndarray], layers: Sequence[int], activations: Sequence[str]
) -> Imported:
    """A network of the given sizes and activations from a state dict's tensors.

    The weights are the 2-D tensors and the biases the 1-D ones, each in the
    file's order (an `nn.Sequential`'s ``0.weight``, ``0.bias``,
    ``2.weight``... or any other names); their shapes must be the layers'.
    """
    depth = len(layers) - 1
    if depth < 1:
        raise NotImportable(f"--layers: expected at least 2 sizes, got {len(layers)}")
    if len(activations) != depth:
        raise NotImportable(
            f"--activations: expected {depth} names (one per weighted layer),"
            f" got {len(activations)}"
        )
    weights = [(name, x) for name, x in tensors.items() if x.ndim == 2]
    biases = [(name, x) for name, x in tensors.items() if x.ndim == 1]
    if len(weights) != depth or len(biases) != depth:
        raise NotImportable(
            f"expected {depth} weight matrices and {depth} bias vectors for layers"
            f" {'-'.join(map(str, layers))}, got {len(weights)} and {len(biases)}"
        )
    for l, ((w_name, W), (b_name, b)) in enumerate(zip(weights, biases, strict=True), 1):
        if W.shape != (layers[l], layers[l - 1]):
            raise NotImportable(
                f"{w_name}: expected shape ({layers[l]}, {layers[l - 1]}) for W^({l}),"
                f" got {tuple(W.shape)}"
            )
        if b.shape != (layers[l],):
            raise NotImportable(
                f"{b_name}: expected shape ({layers[l]},) for b^({l}), got {tuple(b.shape)}"
            )
    return Imported(
        tuple(int(n) for n in layers),
        tuple(activations),
        tuple(W for _, W in weights),
        tuple(b for _, b in biases),
    )


def _as_rows(values: Any, what: str) -> np.ndarray:
    """A tensor, array or nested list as float64 (N, n) rows."""
    if hasattr(values, "detach"):
        values = _float64(values)
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.size == 0:
        raise NotImportable(f"{what}: expected (examples, units) rows, got shape {array.shape}")
    return array


def _targets(targets: Any, loss: str, units: int) -> np.ndarray:
    """(N, n_L) targets; N class indices become one-hot rows for cross_entropy."""
    if hasattr(targets, "detach"):
        targets = targets.detach().cpu().numpy()
    raw = np.asarray(targets)
    if loss == "cross_entropy" and raw.ndim == 1 and raw.dtype.kind in "iu":
        if raw.size and (raw.min() < 0 or raw.max() >= units):
            raise NotImportable(
                f"targets: class indices must be 0..{units - 1}, got {raw.min()}..{raw.max()}"
            )
        one_hot: np.ndarray = np.eye(units)[raw]
        return one_hot
    return _as_rows(raw, "targets")


def _toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, and both forbid raw control bytes)."""
    return json.dumps(text, ensure_ascii=False)


def _toml_floats(values: np.ndarray) -> str:
    """Floats written to round-trip exactly (repr is the shortest exact form)."""
    return "[" + ", ".join(repr(float(x)) for x in values) + "]"


def _toml_matrix(rows: np.ndarray) -> str:
    return "[" + ", ".join(_toml_floats(row) for row in rows) + "]"


def scenario_text(
    net: Imported,
    *,
    loss: str,
    data: Mapping[str, Any] | None = None,
    inputs: Any = None,
    targets: Any = None,
    learning_rate: float = 0.1,
    optimizer: str = "sgd",
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int = 0,
    name: str = "imported",
    source: str = "",
) -> str:
    """The TOML of a scenario that starts from `net`'s weights.

    Data comes either inline (`inputs`, `targets`) or as a `[data]` table
    (`data`, e.g. ``{"generator": "xor", "n": 200}`` or ``{"csv": "points.csv"}``).
    """
    if loss not in LOSSES:
        raise NotImportable(f"loss: expected one of {', '.join(LOSSES)}, got {loss!r}")
    if optimizer not in OPTIMIZERS:
        raise NotImportable(
            f"optimizer: expected one of {', '.join(OPTIMIZERS)}, got {optimizer!r}"
        )
    activations = list(net.activations)
    note = ""
    if activations[-1] == "linear" and loss in ("cross_entropy", "binary_cross_entropy"):
        activations[-1] = "softmax" if loss == "cross_entropy" else "sigmoid"
        torch_loss = "CrossEntropyLoss" if loss == "cross_entropy" else "BCEWithLogitsLoss"
        note = (
            f"# The model ends in logits: {activations[-1]} is its output activation here,"
            f" as torch's {torch_loss} applies it."
        )
    assert all(a in ACTIVATIONS for a in activations)
    for l, (W, b) in enumerate(zip(net.W, net.b, strict=True), 1):
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise NotImportable(f"layer {l}: the weights hold NaN or inf")
    lines = [
        f"# Imported from PyTorch{f' ({source})' if source else ''} by bpdebug.",
        *([note] if note else []),
        f"name = {_toml_string(name)}",
        f"seed = {int(seed)}",
        "",
        "[network]",
        f"layers = [{', '.join(map(str, net.layers))}]",
        f"activations = [{', '.join(_toml_string(a) for a in activations)}]",
        f"loss = {_toml_string(loss)}",
    ]
    for W, b in zip(net.W, net.b, strict=True):
        lines += ["", "[[network.init]]", f"W = {_toml_matrix(W)}", f"b = {_toml_floats(b)}"]
    lines += ["", "[data]"]
    if data is not None:
        for key, value in data.items():
            if isinstance(value, str):
                lines.append(f"{key} = {_toml_string(value)}")
            elif isinstance(value, list):
                items = (repr(v) if isinstance(v, int) else _toml_string(str(v)) for v in value)
                lines.append(f"{key} = [{', '.join(items)}]")
            else:
                lines.append(f"{key} = {value!r}")
    else:
        if inputs is None or targets is None:
            raise NotImportable("expected data: inputs and targets, or a [data] table")
        X = _as_rows(inputs, "inputs")
        Y = _targets(targets, loss, net.layers[-1])
        if X.shape[1] != net.layers[0]:
            raise NotImportable(
                f"inputs: expected {net.layers[0]} columns (the model's inputs), got {X.shape[1]}"
            )
        if Y.shape != (X.shape[0], net.layers[-1]):
            raise NotImportable(
                f"targets: expected shape ({X.shape[0]}, {net.layers[-1]}), got {Y.shape}"
            )
        lines += [f"inputs = {_toml_matrix(X)}", f"targets = {_toml_matrix(Y)}"]
    lines += ["", "[training]", f"learning_rate = {float(learning_rate)!r}"]
    lines.append(f"optimizer = {_toml_string(optimizer)}")
    if batch_size is not None:
        lines.append(f"batch_size = {int(batch_size)}")
    lines.append(f"shuffle = {'true' if shuffle else 'false'}")
    return "\n".join(lines) + "\n"


def model_from_file(spec: str) -> Any:
    """The object NAME of ``FILE.py:NAME``, after running FILE.py as Python.

    This runs the user's own code, as ``python FILE.py`` would (the command's
    help says so); scenarios and snapshots never run code.
    """
    import runpy

    file, _, name = spec.rpartition(":")
    if not file or not name.isidentifier():
        raise NotImportable(f"{spec}: expected FILE.py:NAME (NAME an nn.Sequential in FILE.py)")
    if not Path(file).is_file():
        raise NotImportable(f"{file}: no such file")
    need("torch", "importing a PyTorch model")  # before the file's own `import torch` fails
    try:
        namespace = runpy.run_path(file, run_name="bpdebug_import")
    except SystemExit as done:
        raise NotImportable(f"{file}: exited while being imported (status {done.code})") from None
    except Exception as error:
        kind = type(error).__name__
        raise NotImportable(f"{file}: running it raised {kind}: {_one_line(error)}") from None
    if name not in namespace:
        raise NotImportable(f"{file}: defines no {name!r}")
    return namespace[name]


def data_table(data: str, output: Path, target_columns: Sequence[str] | None) -> dict[str, Any]:
    """The `[data]` table of `--data`: a bundled generator by name, or a CSV file, written
    relative to the scenario's own folder (where the loader looks for it)."""
    from bpdebug.scenario.data import GENERATORS

    if data in GENERATORS:
        if target_columns:
            raise NotImportable("--target-columns: only for CSV data")
        return {"generator": data}
    path = Path(data)
    if path.suffix.lower() != ".csv":
        raise NotImportable(
            f"--data: expected a generator ({', '.join(GENERATORS)}) or a .csv file, got {data!r}"
        )
    if not path.is_file():
        raise NotImportable(f"{data}: no such file")
    if not target_columns:
        raise NotImportable("--target-columns: expected for CSV data (names or 0-based indices)")
    relative = os.path.relpath(path.resolve(), output.resolve().parent)
    columns: list[Any] = [int(c) if c.isdigit() else c for c in target_columns]
    return {"csv": Path(relative).as_posix(), "target_columns": columns}


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:200] if text else type(error).__name__


__all__ = [
    "Imported",
    "NotImportable",
    "from_sequential",
    "from_state_dict",
    "read_weights",
    "scenario_text",
]
