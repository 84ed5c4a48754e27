"""Snapshots: the contract's JSON, its .npz and .md forms, and reading them back."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

import bpdebug
import bpdebug.snapshot.write
from bpdebug.errors import InputError
from bpdebug.scenario.model import Dataset, NetworkSpec, Scenario, TrainingSpec
from bpdebug.snapshot import ExportError, export, flatten, load_snapshot, snapshot
from bpdebug.timeline import Timeline

X = np.array([[0, 0, 1, 1], [0, 1, 0, 1]], dtype=float)
Y = np.array([[0, 1, 1, 0]], dtype=float)
XOR_TEXT = 'name = "XOR"\n[network]\nlayers = [2, 2, 1]\n'
CONTRACT_KEYS = [
    "format",
    "scenario",
    "step",
    "loss",
    "learning_rate",
    "optimizer",
    "cost",
    "inputs",
    "targets",
    "layers",
]
LAYER_KEYS = ["index", "activation", "W", "b", "z", "a", "delta", "dW", "db"]


def xor_timeline(
    step: int = 0,
    *,
    activation: str = "sigmoid",
    learning_rate: float = 1.0,
    l2: float = 0.0,
) -> Timeline:
    """The contract's 2-2-1 XOR scenario, moved to `step`."""
    scenario = Scenario(
        "XOR",
        Path("scenarios/xor.toml"),
        XOR_TEXT,
        NetworkSpec((2, 2, 1), activation, activation, "squared_error"),
        Dataset(X, Y, "inline"),
        TrainingSpec(learning_rate, 4, "sgd", l2=l2),
        seed=0,
    )
    timeline = Timeline(scenario)
    timeline.seek(step)
    return timeline


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("step", [0, 5])
def test_json_has_the_contracts_keys_shapes_and_exact_numbers(tmp_path: Path, step: int) -> None:
    """Every contract key in order, every array in the contract's shape, every float bit-exact."""
    timeline = xor_timeline(step)
    path = export(timeline, tmp_path / "snap.json")
    snap = read_json(path)
    trace, params = timeline.trace, timeline.state.params

    assert list(snap)[: len(CONTRACT_KEYS)] == CONTRACT_KEYS
    assert snap["format"] == "bpdebug.snapshot/1"
    assert snap["scenario"] == {"name": "XOR", "path": "scenarios/xor.toml", "text": XOR_TEXT}
    assert snap["step"] == step
    assert (snap["loss"], snap["learning_rate"], snap["optimizer"]) == ("squared_error", 1.0, "sgd")
    assert snap["cost"] == trace.cost
    assert snap["epoch"] == step
    assert snap["bpdebug_version"] == bpdebug.__version__

    inputs, targets = np.array(snap["inputs"]), np.array(snap["targets"])
    assert inputs.shape == (2, 4) and np.array_equal(inputs, X)  # (n_0, m): examples are columns
    assert targets.shape == (1, 4) and np.array_equal(targets, Y)

    assert [layer["index"] for layer in snap["layers"]] == [1, 2]
    sizes = (2, 2, 1)
    for layer in snap["layers"]:
        l = layer["index"]
        assert list(layer) == LAYER_KEYS  # no dW_reg without regularization
        assert layer["activation"] == "sigmoid"
        expected = {
            "W": (params.W[l], (sizes[l], sizes[l - 1])),
            "b": (params.b[l], (sizes[l],)),
            "z": (trace.z[l], (sizes[l], 4)),
            "a": (trace.a[l], (sizes[l], 4)),
            "delta": (trace.delta[l], (sizes[l], 4)),
            "dW": (trace.dW[l], (sizes[l], sizes[l - 1])),
            "db": (trace.db[l], (sizes[l],)),
        }
        for key, (array, shape) in expected.items():
            got = np.array(layer[key], dtype=np.float64)
            assert got.shape == shape, key
            assert np.array_equal(got, array), key  # exact: repr round-trips float64


def test_step_5_differs_from_step_0() -> None:
    """The snapshot follows the timeline: five SGD updates moved W^(1) and the cost."""
    at0, at5 = snapshot(xor_timeline(0)), snapshot(xor_timeline(5))
    assert at0["layers"][0]["W"] != at5["layers"][0]["W"]
    assert at0["cost"] != at5["cost"]


def test_snapshot_dict_is_what_the_json_file_holds(tmp_path: Path) -> None:
    """`snapshot()` (used by other commands) and the written file agree exactly."""
    timeline = xor_timeline(3)
    path = export(timeline, tmp_path / "snap.json")
    assert read_json(path) == snapshot(timeline)


def test_json_is_readable_one_row_per_line(tmp_path: Path) -> None:
    """Rows of a matrix sit on one line each, not one number per line."""
    text = export(xor_timeline(0), tmp_path / "snap.json").read_text()
    assert "  [0.0, 0.0, 1.0, 1.0],\n  [0.0, 1.0, 0.0, 1.0]\n" in text


def test_npz_has_flat_names_loads_without_pickle_and_equals_the_json(tmp_path: Path) -> None:
    """Same values as the JSON under W1, b1, ..., with strings as 0-d unicode arrays."""
    timeline = xor_timeline(5)
    snap = read_json(export(timeline, tmp_path / "snap.json"))
    with np.load(export(timeline, tmp_path / "snap.npz"), allow_pickle=False) as npz:
        names = set(npz.files)
        arrays = {name: npz[name] for name in names}
    per_layer = {f"{key}{l}" for key in LAYER_KEYS[2:] for l in (1, 2)}
    assert names >= per_layer | {"format", "scenario_name", "scenario_path", "scenario_text"}
    assert names >= {"step", "epoch", "cost", "learning_rate", "loss", "optimizer"}
    assert names >= {"activations", "inputs", "targets"}
    assert all(a.dtype != object for a in arrays.values())
    assert arrays["format"].shape == () and str(arrays["format"]) == "bpdebug.snapshot/1"
    assert str(arrays["scenario_text"]) == XOR_TEXT
    assert str(arrays["scenario_path"]) == "scenarios/xor.toml"
    assert int(arrays["step"]) == 5 and float(arrays["cost"]) == snap["cost"]
    assert arrays["activations"].tolist() == ["sigmoid", "sigmoid"]
    assert np.array_equal(arrays["inputs"], snap["inputs"])
    assert np.array_equal(arrays["targets"], snap["targets"])
    for layer in snap["layers"]:
        for key in LAYER_KEYS[2:]:
            stored = arrays[f"{key}{layer['index']}"]
            assert stored.dtype == np.float64
            assert np.array_equal(stored, np.array(layer[key])), (key, layer["index"])


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_load_snapshot_reads_back_what_export_wrote(tmp_path: Path, suffix: str) -> None:
    """Both formats read back to the same values, arrays as float64 ndarrays."""
    timeline = xor_timeline(5)
    expected = snapshot(timeline)
    loaded = load_snapshot(export(timeline, tmp_path / f"snap{suffix}")).to_dict()
    assert set(loaded) == set(expected)
    assert loaded["scenario"] == expected["scenario"]
    for key in ("format", "step", "loss", "learning_rate", "optimizer", "cost", "epoch"):
        assert loaded[key] == expected[key], key
    assert np.array_equal(loaded["inputs"], expected["inputs"])
    for got, want in zip(loaded["layers"], expected["layers"], strict=True):
        assert got["index"] == want["index"] and got["activation"] == want["activation"]
        for key in LAYER_KEYS[2:]:
            assert isinstance(got[key], np.ndarray)
            assert np.array_equal(got[key], np.array(want[key])), key


def test_regularization_adds_dw_reg_to_every_format(tmp_path: Path) -> None:
    """With l2, each layer carries dW_reg = l2 W and the cost includes the penalty."""
    timeline = xor_timeline(2, l2=0.1)
    snap = read_json(export(timeline, tmp_path / "snap.json"))
    trace = timeline.trace
    assert snap["cost"] == trace.cost == trace.data_cost + trace.reg_cost
    assert snap["reg_cost"] == trace.reg_cost > 0
    for layer in snap["layers"]:
        assert np.array_equal(layer["dW_reg"], trace.dW_reg[layer["index"]])
    loaded = load_snapshot(export(timeline, tmp_path / "snap.npz"))
    assert np.array_equal(loaded.layers[1].dW_reg, trace.dW_reg[2])
    assert "dC_reg/dW^(1)" in export(timeline, tmp_path / "snap.md").read_text()


def test_markdown_report_uses_the_notation_and_shows_the_cost(tmp_path: Path) -> None:
    """A person reading the .md sees each layer in the seeds' notation and the exact cost."""
    timeline = xor_timeline(5)
    text = export(timeline, tmp_path / "snap.md").read_text()
    assert text.startswith("# XOR: step 5\n")
    assert f"cost C = {timeline.trace.cost!r}" in text
    for l in (1, 2):
        assert f"## Layer {l} (sigmoid)" in text
        for notation in (f"W^({l})", f"b^({l})", f"z^({l})", f"a^({l})", f"delta^({l})"):
            assert f"### {notation}" in text
        assert f"### dC/dW^({l})" in text and f"### dC/db^({l})" in text
    w1 = timeline.state.params.W[1]
    assert f"{w1[0, 0]:.6g}" in text  # the numbers themselves, rounded


def test_markdown_truncates_a_784_by_128_matrix(tmp_path: Path) -> None:
    """A digits-sized layer shows its top-left 12 x 12 corner and says so."""
    rng = np.random.default_rng(0)
    scenario = Scenario(
        "digits",
        Path("digits.toml"),
        "",
        NetworkSpec((784, 128, 10), "relu", "softmax", "cross_entropy"),
        Dataset(rng.random((784, 16)), np.eye(10)[:, rng.integers(0, 10, 16)], "inline"),
        TrainingSpec(0.1, 16, "sgd"),
    )
    text = export(Timeline(scenario), tmp_path / "snap.md").read_text()
    assert "### W^(1)  (128 x 784)" in text
    assert "Showing rows 1-12 of 128, columns 1-12 of 784." in text
    assert len(text) < 60_000
    assert max(len(line) for line in text.splitlines()) < 200


def test_refuses_to_overwrite_without_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An existing file is left byte for byte as it was; --force replaces it."""
    monkeypatch.chdir(tmp_path)
    Path("out.json").write_text("precious")
    with pytest.raises(ExportError) as caught:
        export(xor_timeline(0), "out.json")
    assert str(caught.value) == "out.json: exists; pass --force to overwrite"
    assert Path("out.json").read_text() == "precious"
    assert os.listdir(tmp_path) == ["out.json"]

    export(xor_timeline(0), "out.json", force=True)
    assert read_json(Path("out.json"))["format"] == "bpdebug.snapshot/1"
    assert os.listdir(tmp_path) == ["out.json"]


def test_unknown_suffix_is_an_error_naming_the_formats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suffix picks the format; anything else is refused before writing."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExportError) as caught:
        export(xor_timeline(0), "out.txt")
    assert (
        str(caught.value)
        == "out.txt: unknown snapshot format '.txt'; expected .json, .npz, .md or .safetensors"
    )
    assert os.listdir(tmp_path) == []


def test_missing_folder_is_a_one_line_error(tmp_path: Path) -> None:
    """The OSError becomes one line with the file and the reason."""
    target = tmp_path / "no" / "out.json"
    with pytest.raises(ExportError) as caught:
        export(xor_timeline(0), target)
    assert str(caught.value) == f"{target}: No such file or directory"


def test_no_temp_files_after_success_or_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder holds exactly the exports: nothing half-written, no .tmp files."""
    timeline = xor_timeline(1)
    for suffix in (".json", ".npz", ".md"):
        export(timeline, tmp_path / f"snap{suffix}")
    assert sorted(os.listdir(tmp_path)) == ["snap.json", "snap.md", "snap.npz"]

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bpdebug.snapshot.write, "write_npz", disk_full)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExportError) as caught:
        export(timeline, "full.npz")
    assert str(caught.value) == "full.npz: No space left on device"
    with pytest.raises(ExportError):
        export(timeline, "snap.json")  # exists
    assert sorted(os.listdir(tmp_path)) == ["snap.json", "snap.md", "snap.npz"]


def diverged_timeline() -> Timeline:
    """Linear units with learning rate 100: the cost is inf at step 4 and NaN from step 5."""
    timeline = xor_timeline(5, activation="linear", learning_rate=100.0)
    assert np.isnan(timeline.trace.z[1]).any()
    return timeline


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_nan_and_inf_are_written_and_read_back(tmp_path: Path, suffix: str) -> None:
    """NaN stays NaN in the same places; inf stays inf (JSON's NaN/Infinity tokens)."""
    timeline = diverged_timeline()
    loaded = load_snapshot(export(timeline, tmp_path / f"nan{suffix}"))
    assert np.isnan(loaded.cost)
    for l in (1, 2):
        for key in ("z", "delta", "dW"):
            want = getattr(timeline.trace, key)[l]
            assert np.array_equal(getattr(loaded.layers[l - 1], key), want, equal_nan=True)

    timeline.seek(4)
    assert timeline.trace.cost == np.inf
    assert load_snapshot(export(timeline, tmp_path / f"inf{suffix}")).cost == np.inf


def test_nan_uses_pythons_json_tokens(tmp_path: Path) -> None:
    """The documented choice: bare NaN / Infinity tokens, readable by json.loads."""
    text = export(diverged_timeline(), tmp_path / "nan.json").read_text()
    assert '"cost": NaN' in text
    assert np.isnan(json.loads(text)["cost"])


# -- load_snapshot errors -------------------------------------------------
def written(tmp_path: Path, edit: Any = None, name: str = "snap.json") -> Path:
    """An XOR step-0 JSON snapshot, changed by `edit(obj)` before writing."""
    obj = snapshot(xor_timeline(0))
    if edit is not None:
        edit(obj)
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return path


def load_error(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_snapshot(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


def test_truncated_json_is_an_input_error(tmp_path: Path) -> None:
    """Half a file: the message names the file and where the JSON stops."""
    path = written(tmp_path)
    path.write_bytes(path.read_bytes()[:300])
    message = load_error(path)
    assert message.startswith(f"{path}: not valid JSON, truncated? (")
    assert "line 1 column 301" in message


def test_wrong_format_tag_names_the_key(tmp_path: Path) -> None:
    """A newer (or foreign) format is refused by its tag."""
    path = written(tmp_path, lambda s: s.update(format="bpdebug.snapshot/2"))
    message = load_error(path)
    assert message == f"{path}: format: expected 'bpdebug.snapshot/1', got 'bpdebug.snapshot/2'"


def test_missing_format_says_it_is_not_a_snapshot(tmp_path: Path) -> None:
    path = written(tmp_path, lambda s: s.pop("format"))
    assert load_error(path) == f"{path}: format: missing; not a bpdebug snapshot"


def test_wrong_w_shape_names_the_layer_and_both_shapes(tmp_path: Path) -> None:
    """A W^(1) with an extra column is the one array reported, not its neighbours."""

    def widen(snap: dict[str, Any]) -> None:
        snap["layers"][0]["W"] = [[*row, 0.5] for row in snap["layers"][0]["W"]]

    path = written(tmp_path, widen)
    message = load_error(path)
    assert message == f"{path}: layers[0].W: expected shape (n_1, n_0) = (2, 2), got (2, 3)"


def test_wrong_row_count_of_w_is_blamed_on_w(tmp_path: Path) -> None:
    """Layer sizes come from what most arrays agree on, so an extra row of W is W's fault."""

    def extra_row(snap: dict[str, Any]) -> None:
        snap["layers"][1]["W"].append([1.0, 2.0])

    path = written(tmp_path, extra_row)
    assert (
        load_error(path) == f"{path}: layers[1].W: expected shape (n_2, n_1) = (1, 2), got (2, 2)"
    )


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda s: s.pop("cost"), "cost: missing"),
        (lambda s: s.update(step=-1), "step: expected an integer >= 0, got -1"),
        (lambda s: s.update(cost="low"), "cost: expected a number, got 'low'"),
        (
            lambda s: s["layers"].reverse(),
            "layers[0].index: expected 1 (layers 1..L in order), got 2",
        ),
        (lambda s: s["layers"][0].pop("delta"), "layers[0].delta: missing"),
        (
            lambda s: s["layers"][0].update(z=[[1.0], [1.0, 2.0]]),
            "layers[0].z: expected a matrix of numbers (rows of equal length)",
        ),
        (lambda s: s.update(inputs=[["a", "b"]]), "inputs: expected a matrix of numbers"),
        (lambda s: s.update(scenario=[]), "scenario: expected an object, got an array of 0"),
        (
            lambda s: s.update(targets=[[0.0, 1.0, 1.0]]),
            "targets: expected shape (n_2, m) = (1, 4)",
        ),
    ],
)
def test_other_damage_names_file_and_key(tmp_path: Path, edit: Any, expected: str) -> None:
    path = written(tmp_path, edit)
    assert load_error(path).startswith(f"{path}: {expected}")


def test_not_an_object_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    assert load_error(path) == f"{path}: expected a JSON object, got an array of 2"
    assert (
        load_error(tmp_path / "gone.json") == f"{tmp_path / 'gone.json'}: No such file or directory"
    )
    md = export(xor_timeline(0), tmp_path / "snap.md")
    assert "expected .json, .npz or .safetensors" in load_error(md)


def npz_arrays() -> dict[str, np.ndarray]:
    from bpdebug.snapshot import snapshot_arrays

    return flatten(snapshot_arrays(xor_timeline(0)))


def test_npz_wrong_shape_names_the_flat_key(tmp_path: Path) -> None:
    arrays = npz_arrays()
    arrays["W2"] = np.zeros((1, 3))
    path = tmp_path / "bad.npz"
    np.savez(path, **cast(dict[str, Any], arrays))
    assert load_error(path) == f"{path}: W2: expected shape (n_2, n_1) = (1, 2), got (1, 3)"


UNPICKLED: list[str] = []


def _record_unpickling() -> str:
    UNPICKLED.append("ran")
    return "payload"


class Payload:
    """An object whose unpickling would run code (it only records that it did)."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return _record_unpickling, ()


def test_pickled_object_array_in_npz_is_refused_not_executed(tmp_path: Path) -> None:
    """An object array needs unpickling, i.e. running code: refuse it, naming the key."""
    arrays: dict[str, np.ndarray] = dict(npz_arrays())
    arrays["W1"] = np.array([Payload(), Payload()], dtype=object)
    path = tmp_path / "evil.npz"
    np.savez(path, allow_pickle=True, **arrays)
    pickle.dumps(Payload())  # the payload is a real pickle
    message = load_error(path)
    assert message == f"{path}: W1: holds pickled Python objects; refusing to load it"
    assert UNPICKLED == []


def test_truncated_npz_and_plain_pickle_are_input_errors(tmp_path: Path) -> None:
    good = export(xor_timeline(0), tmp_path / "good.npz")
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:500])
    assert "not a readable .npz archive" in load_error(cut)

    fake = tmp_path / "fake.npz"
    fake.write_bytes(pickle.dumps(Payload()))
    assert "not a readable .npz archive" in load_error(fake)
    assert UNPICKLED == []


def test_npz_with_foreign_format_tag(tmp_path: Path) -> None:
    arrays = npz_arrays()
    arrays["format"] = np.array("other/1")
    path = tmp_path / "other.npz"
    np.savez(path, **cast(dict[str, Any], arrays))
    assert load_error(path) == f"{path}: format: expected 'bpdebug.snapshot/1', got 'other/1'"


def test_export_and_files_never_import_the_ui_toolkits() -> None:
    """Headless export must not pay for (or need) textual, rich or plotext."""
    import subprocess
    import sys

    code = (
        "import sys, bpdebug.snapshot, bpdebug.files; "
        "print(sorted(m for m in ('textual', 'rich', 'plotext') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert out.stdout.strip() == "[]"
