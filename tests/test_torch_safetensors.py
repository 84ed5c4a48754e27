"""`.safetensors` snapshots: PyTorch's state-dict names, lossless, and safe to open from others.

Written with safetensors; loaded by PyTorch's ``load_state_dict`` into the
model an exported script builds; read back by bpdebug (no extra needed) to
the same numbers as the JSON snapshot of the step; and every damaged or
hostile file is one InputError line naming the file and the key.
"""

from __future__ import annotations

import json
import os
import random
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from extras import need
from test_torch_check import scenario

from bpdebug.cli import main
from bpdebug.errors import InputError
from bpdebug.snapshot import load_snapshot
from bpdebug.snapshot.reopen import reopen

torch = need("torch")
safetensors_torch = need("safetensors.torch")


def export(tmp_path: Path, scenario_arg: str, step: int, name: str = "snap.safetensors") -> Path:
    out = tmp_path / name
    assert main(["export", scenario_arg, "--step", str(step), "-o", str(out)]) == 0
    return out


def test_the_exported_scripts_model_loads_it(tmp_path: Path) -> None:
    """strict load_state_dict into nn.Sequential(Linear, g, ...); the weights bit for bit."""
    from bpdebug.bridge.torch_ref import build_model

    path = export(tmp_path, "spiral", 9)
    state = safetensors_torch.load_file(str(path))
    assert list(state) == ["0.bias", "0.weight", "2.bias", "2.weight", "4.bias", "4.weight"]
    zeros = [(torch.zeros(8, 2), torch.zeros(8)), (torch.zeros(8, 8), torch.zeros(8))]
    model = build_model(
        [(w.double(), b.double()) for w, b in [*zeros, (torch.zeros(1, 8), torch.zeros(1))]],
        ["tanh", "tanh", "sigmoid"],
    )
    model.load_state_dict(state, strict=True)
    snap = json.loads((export_json(tmp_path, "spiral", 9)).read_text(encoding="utf-8"))
    for l, layer in enumerate(snap["layers"], start=1):
        assert model[2 * (l - 1)].weight.dtype == torch.float64
        assert torch.equal(model[2 * (l - 1)].weight, torch.tensor(layer["W"], dtype=torch.float64))
        assert torch.equal(model[2 * (l - 1)].bias, torch.tensor(layer["b"], dtype=torch.float64))


def export_json(tmp_path: Path, scenario_arg: str, step: int) -> Path:
    out = tmp_path / f"{scenario_arg}-{step}.json"
    assert main(["export", scenario_arg, "--step", str(step), "-o", str(out)]) == 0
    return out


def test_metadata_names_format_step_seed_and_scenario(tmp_path: Path) -> None:
    from safetensors import safe_open

    path = export(tmp_path, "digits", 3)
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
    assert meta["format"] == "bpdebug.snapshot/1"
    assert meta["step"] == "3" and meta["seed"] == "0"
    assert meta["scenario.name"] == "Digits" and meta["scenario.path"].endswith("digits.toml")
    assert meta["scenario.text"].startswith("#") or "[network]" in meta["scenario.text"]
    assert json.loads(meta["activations"]) == ["tanh", "softmax"]


@pytest.mark.parametrize(
    ("optimizer", "l1", "l2"), [("sgd", 0.0, 0.0), ("momentum", 0.01, 0.0), ("adam", 0.0, 0.02)]
)
def test_reading_it_back_gives_the_json_snapshots_numbers(
    optimizer: str, l1: float, l2: float, tmp_path: Path
) -> None:
    """Every array of the step, bit for bit, though the file holds only W and b."""
    path = scenario(tmp_path, "softmax", "cross_entropy", "relu", optimizer, l1, l2, False, 3)
    tensors = load_snapshot(export(tmp_path, str(path), 5)).to_dict()
    json_snap = load_snapshot(export_json(tmp_path, str(path), 5)).to_dict()
    for key in ("step", "epoch", "cost", "data_cost", "reg_cost", "batch_size", "loss"):
        assert tensors[key] == json_snap[key], key
    assert tensors["scenario"] == json_snap["scenario"]
    assert np.array_equal(tensors["inputs"], json_snap["inputs"])
    assert np.array_equal(tensors["targets"], json_snap["targets"])
    for ours, theirs in zip(tensors["layers"], json_snap["layers"], strict=True):
        assert set(ours) == set(theirs)
        for key, value in ours.items():
            assert np.array_equal(value, theirs[key]), key


def test_a_csv_scenario_reopens_without_its_csv(tmp_path: Path) -> None:
    """The data set travels in the metadata, as `data` does in the other formats."""
    rng = np.random.default_rng(1)
    rows = "\n".join(f"{x!r},{y!r},{int(x * y > 0)}" for x, y in rng.normal(size=(12, 2)).tolist())
    (tmp_path / "points.csv").write_text("x,y,label\n" + rows + "\n", encoding="utf-8")
    toml = tmp_path / "csv.toml"
    toml.write_text(
        'name = "csv"\n[network]\nlayers = [2, 3, 1]\nactivation = "tanh"\noutput = "sigmoid"\n'
        'loss = "binary_cross_entropy"\n[data]\ncsv = "points.csv"\ntarget_columns = ["label"]\n'
        '[training]\nbatch_size = 5\noptimizer = "momentum"\n',
        encoding="utf-8",
    )
    path = export(tmp_path, str(toml), 4)
    expected = load_snapshot(path).to_dict()
    (tmp_path / "points.csv").unlink()
    timeline, message = reopen(str(path))
    assert timeline.step == 4 and "reopened" in message
    assert timeline.trace.cost == expected["cost"]
    assert np.array_equal(timeline.state.params.W[1], expected["layers"][0]["W"])


def test_export_rules_and_the_missing_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = export(tmp_path, "xor", 0)
    before = path.read_bytes()
    assert main(["export", "xor", "--step", "3", "-o", str(path)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert path.read_bytes() == before
    assert main(["export", "xor", "--step", "3", "-o", str(path), "--force"]) == 0
    assert load_snapshot(path).step == 3
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    capsys.readouterr()
    assert main(["export", "xor", "-o", str(tmp_path / "new.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'bpdebug[torch]'" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap.safetensors"]
    assert load_snapshot(path).step == 3  # reading needs no extra


def _rebuild(header: dict[str, object], body: bytes) -> bytes:
    raw = json.dumps(header).encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw + body


def _parts(data: bytes) -> tuple[dict[str, object], bytes]:
    n = struct.unpack("<Q", data[:8])[0]
    header: dict[str, object] = json.loads(data[8 : 8 + n])
    return header, data[8 + n :]


def _edit(data: bytes, change: str) -> bytes:
    """A valid file changed one way, as a hostile or damaged file would be."""
    header, body = _parts(data)
    meta = header["__metadata__"]
    assert isinstance(meta, dict)
    entry = header["0.weight"]
    assert isinstance(entry, dict)
    if change == "truncated":
        return data[: len(data) - 9]
    if change == "header length past the end":
        return struct.pack("<Q", 2**62) + data[8:]
    if change == "header not json":
        return struct.pack("<Q", 4) + b"\xff{[x" + data[8:]
    if change == "header a list":
        return _rebuild([1, 2], body)  # type: ignore[arg-type]
    if change == "float32":
        entry["dtype"] = "F32"
    elif change == "offsets past the end":
        entry["data_offsets"] = [0, 10**12]
    elif change == "offsets overlap wrong size":
        entry["data_offsets"] = [0, 8]
    elif change == "shape":
        entry["shape"] = [2, 3]
    elif change == "unknown tensor":
        header["evil"] = dict(entry)
    elif change == "missing tensor":
        del header["0.weight"]
    elif change == "no metadata":
        del header["__metadata__"]
    elif change == "format":
        meta["format"] = "other/2"
    elif change == "step":
        meta["step"] = "-1"
    elif change == "scenario text":
        meta["scenario.text"] = "[network\nlayers = ["
    elif change == "huge layers":
        meta["scenario.text"] = str(meta["scenario.text"]).replace("[2, 2, 1]", "[2, 10000000, 1]")
    elif change == "edits":
        meta["edits"] = "[[0, 1, 0, 0, NaN]]"
    elif change == "data":
        meta["data"] = '{"inputs": [[1, 2], [3]], "targets": [[0, 1]]}'
    elif change == "metadata not strings":
        meta["step"] = 3
    return _rebuild(header, body)


CHANGES = [
    "truncated",
    "header length past the end",
    "header not json",
    "header a list",
    "float32",
    "offsets past the end",
    "offsets overlap wrong size",
    "shape",
    "unknown tensor",
    "missing tensor",
    "no metadata",
    "format",
    "step",
    "scenario text",
    "huge layers",
    "edits",
    "data",
    "metadata not strings",
]


@pytest.mark.parametrize("change", CHANGES)
def test_a_damaged_or_hostile_file_is_one_line_naming_file_and_key(
    change: str, tmp_path: Path
) -> None:
    good = export(tmp_path, "xor", 2).read_bytes()
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(_edit(good, change))
    with pytest.raises(InputError) as caught:
        reopen(str(bad))
    message = str(caught.value)
    assert message.startswith(str(bad) + ": ") and "\n" not in message, message
    if change not in ("truncated", "header length past the end", "header not json"):
        assert caught.value.key or change == "header a list", message


def test_size_is_bounded_before_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = export(tmp_path, "xor", 0)
    monkeypatch.setenv("BPDEBUG_MAX_FILE_BYTES", str(os.path.getsize(path) - 1))
    with pytest.raises(InputError, match="BPDEBUG_MAX_FILE_BYTES"):
        load_snapshot(path)
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="expected a snapshot file"):
        load_snapshot(fifo)


def test_random_damage_never_escapes_as_anything_but_input_error(tmp_path: Path) -> None:
    """Flipped bytes, cut files, spliced headers: InputError or a valid snapshot, nothing else."""
    good = export(tmp_path, "xor", 1).read_bytes()
    rng = random.Random(10)
    bad = tmp_path / "fuzz.safetensors"
    for _ in range(300):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            data[at] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data))]
        bad.write_bytes(bytes(data))
        try:
            load_snapshot(bad)
        except InputError as error:
            assert "\n" not in str(error)


def test_a_script_and_a_safetensors_snapshot_fit_together(tmp_path: Path) -> None:
    """The model a .py export trains to step N+K loads the .safetensors of step N+K."""
    script = tmp_path / "train.py"
    assert main(["export", "circle", "--step", "5", "--steps", "3", "-o", str(script)]) == 0
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(compile(script.read_text(encoding="utf-8"), str(script), "exec"), namespace)
    model = namespace["model"]
    assert isinstance(model, torch.nn.Module)
    trained = {key: value.detach().clone() for key, value in model.state_dict().items()}
    state = safetensors_torch.load_file(str(export(tmp_path, "circle", 8)))
    model.load_state_dict(state, strict=True)
    for key, value in model.state_dict().items():
        assert torch.allclose(value, trained[key], rtol=1e-9, atol=1e-12), key
        assert torch.equal(value, state[key])
