"""Fuzz `load_snapshot` with broken .json and .npz snapshots, and run a sample through the TUI path.

Every file either loads or raises InputError, never anything else; the
message is one line that starts with the file's path and names the key
unless the whole file is bad (not JSON, not a zip, too big). NaN values are
valid (a diverging run must be exportable and reopened). A pickled .npz is
refused and its payload never runs.

Files fuzzed (counted by `FUZZED` and checked by the last test):
  - JSON structured mutations (wrong types, missing/extra keys, shapes,
    NaN, format tag): 400
  - JSON truncated or spliced with junk bytes: 200
  - .npz with arrays replaced, dropped, reshaped, retyped: 150
  - .npz truncated or spliced with junk bytes: 100
  - hand-made (deep nesting, pickles, zip bombs, size cap, missing): 15
A sample of 20 bad files also goes through `bpdebug FILE` (the TUI path).
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
import pickle
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpdebug.errors import InputError
from bpdebug.scenario import loads_scenario
from bpdebug.snapshot import Snapshot, export, load_snapshot
from bpdebug.timeline import Timeline

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "bpdebug"

WHOLE_FILE = (
    "not valid JSON",
    "not a JSON text",
    "expected a JSON object",
    "not a readable .npz archive",
    "expected an .npz archive",
    "expected a file of at most",
    "expected arrays of at most",
    "expected a snapshot file, got",
    "cannot read a",
    "No such file",  # OSError's own words
    "Is a directory",
)
"""How a message about the whole file (no key) begins."""

FUZZED: Counter[str] = Counter()
OUTCOMES: Counter[str] = Counter()
# derandomize: the same files on every machine and in every folder, CI or not.
SETTINGS = settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


def _make_bases() -> dict[str, bytes]:
    """xor at step 3 and spiral at step 2, each as .json and .npz.

    The bytes must not depend on where the clone lives (the scenario path
    is written into the snapshot) or on the clock (export writes no
    timestamps), or the derandomized fuzzing would flip other bytes in
    every folder.
    """
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, step in (("xor", 3), ("spiral", 2)):
            text = (ROOT / "scenarios" / f"{name}.toml").read_text(encoding="utf-8")
            timeline = Timeline(loads_scenario(text, f"scenarios/{name}.toml"))
            timeline.seek(step)
            for suffix in (".json", ".npz"):
                path = Path(folder) / f"{name}{suffix}"
                out[name + suffix] = export(timeline, path).read_bytes()
    return out


BASE_FILES = _make_bases()
JSON_DOCS = {k: json.loads(v) for k, v in BASE_FILES.items() if k.endswith(".json")}
NPZ_ARRAYS = {
    k: dict(np.load(io.BytesIO(v), allow_pickle=False))
    for k, v in BASE_FILES.items()
    if k.endswith(".npz")
}


def check_file(path: Path, strategy: str) -> Snapshot | InputError:
    """Load `path`; assert load_snapshot's promise; count the file."""
    FUZZED[strategy] += 1
    try:
        snap = load_snapshot(path)
    except InputError as error:
        OUTCOMES["refused"] += 1
        message = str(error)
        assert "\n" not in message and "\r" not in message, message
        assert message.startswith(f"{path}: "), message
        if error.key:
            assert message.startswith(f"{path}: {error.key}: "), message
        else:
            assert error.message.startswith(WHOLE_FILE), message
        return error
    except BaseException as error:
        OUTCOMES["crash"] += 1
        raise AssertionError(f"{path.name}: {type(error).__name__}: {error}") from error
    OUTCOMES["loaded"] += 1
    for layer in snap.layers:
        assert layer.W.dtype == np.float64
        assert layer.W.shape[0] == layer.b.shape[0]
    return snap


# ------------------------------------------------------------------ JSON
leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 10**400, 2**63, math.nan, math.inf, -math.inf, 1e308]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["bpdebug.snapshot/1", "bpdebug.snapshot/2", "sigmoid", "", "NaN"]),
)
junk = st.recursive(
    leaf,
    lambda c: st.one_of(
        st.lists(c, max_size=4), st.dictionaries(st.sampled_from(["W", "a", "x"]), c, max_size=2)
    ),
    max_leaves=8,
)


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Key paths into `value`, skipping inside number arrays past their first row."""
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = list(enumerate(value))[:2]
    else:
        return out
    for key, child in items:
        out.append((*prefix, key))
        out += paths_of(child, (*prefix, key))
    return out


def value_at(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def mutate_json(doc: dict[str, Any], data: st.DataObject) -> None:
    """One mutation, drawn from `data`, applied to `doc` in place."""
    paths = paths_of(doc)
    path = data.draw(st.sampled_from(paths))
    parent, key = value_at(doc, path[:-1]), path[-1]
    op = data.draw(st.sampled_from(["replace", "delete", "add", "reshape", "nan", "format"]))
    if op == "replace":
        parent[key] = data.draw(junk)
    elif op == "delete":
        del parent[key]
    elif op == "add" and isinstance(parent, dict):
        parent[data.draw(st.sampled_from(["extra", "W", "dW_reg", "branched_at"]))] = data.draw(
            junk
        )
    elif op == "reshape" and isinstance(parent[key], list):
        how = data.draw(st.sampled_from(["empty", "drop", "dup", "ragged", "transpose"]))
        arr = parent[key]
        if how == "empty":
            arr.clear()
        elif how == "drop" and arr:
            arr.pop()
        elif how == "dup" and arr:
            arr.append(copy.deepcopy(arr[0]))
        elif how == "ragged" and arr and isinstance(arr[0], list):
            arr[0].append(0.5)
        elif how == "transpose" and arr and isinstance(arr[0], list):
            parent[key] = [list(col) for col in zip(*arr, strict=False)]
    elif op == "nan":  # valid: a diverged run holds NaN
        value = parent[key]
        if isinstance(value, list) and value and isinstance(value[0], list) and value[0]:
            value[0][0] = math.nan
        elif isinstance(value, list) and value:
            value[0] = math.nan
        elif isinstance(value, float):
            parent[key] = math.nan
    elif op == "format":
        doc["format"] = data.draw(st.sampled_from(["bpdebug.snapshot/0", "", "BPDEBUG.SNAPSHOT/1"]))


@settings(SETTINGS, max_examples=400)
@given(base=st.sampled_from(sorted(JSON_DOCS)), data=st.data())
def test_json_mutants_load_or_give_one_line(tmp_path: Path, base: str, data: st.DataObject) -> None:
    """Wrong types, missing and extra keys, wrong shapes, NaN, format tags: loaded or one line."""
    doc = copy.deepcopy(JSON_DOCS[base])
    for _ in range(data.draw(st.integers(1, 3))):
        if isinstance(doc, dict) and doc:
            mutate_json(doc, data)
    path = tmp_path / base
    path.write_text(json.dumps(doc), encoding="utf-8")
    check_file(path, "json-structured")


@settings(SETTINGS, max_examples=200)
@given(
    base=st.sampled_from(sorted(JSON_DOCS)),
    kind=st.sampled_from(["truncate", "splice", "random", "nul"]),
    junk_bytes=st.binary(min_size=1, max_size=32),
    at=st.integers(0, 10**6),
)
def test_json_truncated_or_junk_gives_one_line(
    tmp_path: Path, base: str, kind: str, junk_bytes: bytes, at: int
) -> None:
    raw = BASE_FILES[base]
    at %= len(raw) + 1
    if kind == "truncate":
        raw = raw[:at]
    elif kind == "splice":
        raw = raw[:at] + junk_bytes + raw[at:]
    elif kind == "random":
        raw = junk_bytes * (1 + at % 100)
    else:
        raw = raw[:at] + b"\x00" + raw[at:]
    path = tmp_path / base
    path.write_bytes(raw)
    check_file(path, "json-bytes")


def test_nan_and_inf_values_are_valid(tmp_path: Path) -> None:
    """A diverged run's snapshot holds NaN and inf: it must load, values intact."""
    doc = copy.deepcopy(JSON_DOCS["xor.json"])
    doc["cost"] = math.nan
    layer = doc["layers"][0]
    layer["W"][0][0], layer["z"][1][2], layer["delta"][0][0] = math.nan, math.inf, -math.inf
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    snap = check_file(path, "json-structured")
    assert isinstance(snap, Snapshot)
    assert math.isnan(snap.cost) and math.isnan(snap.layers[0].W[0, 0])
    assert snap.layers[0].z[1, 2] == math.inf
    arrays = dict(NPZ_ARRAYS["xor.npz"])
    arrays["W1"] = np.full_like(arrays["W1"], np.nan)
    npz = tmp_path / "nan.npz"
    np.savez(npz, allow_pickle=False, **arrays)
    snap = check_file(npz, "npz-structured")
    assert isinstance(snap, Snapshot) and np.isnan(snap.layers[0].W).all()


# ------------------------------------------------------------------- .npz
def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    np.savez(path, allow_pickle=True, **arrays)


@settings(SETTINGS, max_examples=150)
@given(base=st.sampled_from(sorted(NPZ_ARRAYS)), data=st.data())
def test_npz_mutants_load_or_give_one_line(tmp_path: Path, base: str, data: st.DataObject) -> None:
    """Arrays dropped, reshaped, retyped (strings, bools, objects): loaded or one line."""
    arrays = dict(NPZ_ARRAYS[base])
    for _ in range(data.draw(st.integers(1, 3))):
        key = data.draw(st.sampled_from(sorted(arrays)))
        op = data.draw(
            st.sampled_from(["drop", "scalar", "string", "bool", "reshape", "transpose", "object"])
        )
        x = arrays[key]
        if op == "drop":
            del arrays[key]
        elif op == "scalar":
            arrays[key] = np.array(data.draw(st.sampled_from([1.5, -1, math.nan, 2**62])))
        elif op == "string":
            arrays[key] = np.array(data.draw(st.sampled_from(["x", "bpdebug.snapshot/1", ""])))
        elif op == "bool":
            arrays[key] = np.ones(x.shape, dtype=bool)
        elif op == "reshape":
            arrays[key] = x.reshape(-1)[: max(x.size - 1, 0)]
        elif op == "transpose":
            arrays[key] = x.T.copy() if x.ndim == 2 else x[None]
        else:
            arrays[key] = np.array([1, "x", None], dtype=object)
    path = tmp_path / base
    write_npz(path, arrays)
    check_file(path, "npz-structured")


@settings(SETTINGS, max_examples=100)
@given(
    base=st.sampled_from(sorted(NPZ_ARRAYS)),
    kind=st.sampled_from(["truncate", "splice", "flip", "random"]),
    junk_bytes=st.binary(min_size=1, max_size=32),
    at=st.integers(0, 10**6),
)
def test_npz_truncated_or_junk_gives_one_line(
    tmp_path: Path, base: str, kind: str, junk_bytes: bytes, at: int
) -> None:
    raw = BASE_FILES[base]
    at %= len(raw)
    if kind == "truncate":
        raw = raw[:at]
    elif kind == "splice":
        raw = raw[:at] + junk_bytes + raw[at:]
    elif kind == "flip":
        raw = raw[:at] + bytes([raw[at] ^ (junk_bytes[0] or 1)]) + raw[at + 1 :]
    else:
        raw = junk_bytes * (1 + at % 100)
    path = tmp_path / base
    path.write_bytes(raw)
    check_file(path, "npz-bytes")


# -------------------------------------------------------------- hand-made
MARKER_NAME = "payload-ran"


class Payload:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return open, (self.marker, "w")


def test_a_pickled_npz_is_refused_and_its_payload_never_runs(tmp_path: Path) -> None:
    """A pickle named .npz, and an .npz whose W1 is a pickled object array: both refused."""
    marker = tmp_path / MARKER_NAME
    pickle.loads(pickle.dumps(Payload(marker))).close()  # the payload works...
    assert marker.exists()
    marker.unlink()  # ...when something unpickles it

    plain = tmp_path / "plain.npz"
    plain.write_bytes(pickle.dumps({"format": Payload(marker)}))
    error = check_file(plain, "extreme")
    assert isinstance(error, InputError) and "not a readable .npz archive" in str(error)

    arrays: dict[str, Any] = dict(NPZ_ARRAYS["xor.npz"])
    arrays["W1"] = np.array([Payload(marker), Payload(marker)], dtype=object)
    inside = tmp_path / "inside.npz"
    write_npz(inside, arrays)
    error = check_file(inside, "extreme")
    assert str(error) == f"{inside}: W1: holds pickled Python objects; refusing to load it"

    arrays = dict(NPZ_ARRAYS["xor.npz"])
    arrays["format"] = np.array(Payload(marker), dtype=object)
    tag = tmp_path / "tag.npz"
    write_npz(tag, arrays)
    error = check_file(tag, "extreme")
    assert str(error) == f"{tag}: format: holds pickled Python objects; refusing to load it"
    assert not marker.exists()


def test_deeply_nested_json_is_one_line(tmp_path: Path) -> None:
    for i, text in enumerate(
        [
            "[" * 100_000 + "]" * 100_000,
            '{"a": ' * 100_000 + "1" + "}" * 100_000,
            json.dumps(JSON_DOCS["xor.json"]).replace(
                '"inputs": [', '"inputs": [' + "[" * 5000 + "1" + "]" * 5000 + ", ", 1
            ),
        ]
    ):
        path = tmp_path / f"deep{i}.json"
        path.write_text(text, encoding="utf-8")
        assert isinstance(check_file(path, "extreme"), InputError)


def test_json_over_the_size_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(BASE_FILES["spiral.json"] + b" " * 2_000_000)
    assert isinstance(check_file(path, "extreme"), Snapshot)
    monkeypatch.setenv("BPDEBUG_MAX_FILE_BYTES", "1000000")
    error = check_file(path, "extreme")
    assert str(error) == (
        f"{path}: expected a file of at most 1000000 bytes"
        f" (the limit; set BPDEBUG_MAX_FILE_BYTES to lift it), got {path.stat().st_size}"
    )


def test_an_npz_bomb_is_refused_before_decompressing(tmp_path: Path) -> None:
    """200 MB of zeros compress to 200 KB; the declared size is refused first."""
    arrays: dict[str, Any] = dict(NPZ_ARRAYS["xor.npz"])
    arrays["z1"] = np.zeros((2, 12_500_000))
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, **arrays)
    assert path.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        error = check_file(path, "extreme")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(error) == (
        f"{path}: expected arrays of at most 67108864 bytes in all"
        " (the limit; set BPDEBUG_MAX_FILE_BYTES to lift it), got more"
    )
    assert peak < 10_000_000


def test_an_npy_header_that_lies_about_its_shape_is_refused(tmp_path: Path) -> None:
    """A 10**12-element header over a few bytes of data would allocate 8 TB when read."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}
    )
    buf.write(b"\0" * 64)
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in NPZ_ARRAYS["xor.npz"].items():
            if key != "W1":
                with archive.open(f"{key}.npy", "w") as f:
                    np.lib.format.write_array(f, value, allow_pickle=False)
        archive.writestr("W1.npy", buf.getvalue())
    error = check_file(path, "extreme")
    assert isinstance(error, InputError)
    assert str(error).startswith(f"{path}: expected arrays of at most")


def test_other_suffixes_and_missing_files(tmp_path: Path) -> None:
    for name in ("snap.txt", "snap", "missing.json", "missing.npz"):
        path = tmp_path / name
        if "missing" not in name:
            path.write_bytes(BASE_FILES["xor.json"])
        error = check_file(path, "extreme")
        assert isinstance(error, InputError)
    folder = tmp_path / "folder.json"
    folder.mkdir()
    assert isinstance(check_file(folder, "extreme"), InputError)


# ---------------------------------------------------------------- the TUI path
def bad_snapshots(folder: Path, count: int) -> list[Path]:
    """`count` snapshots load_snapshot refuses, made with a seeded rng."""
    rng = random.Random(7)
    out: list[Path] = []
    while len(out) < count:
        base = rng.choice(sorted(BASE_FILES))
        raw = BASE_FILES[base]
        kind = len(out) % 5
        if kind == 0:  # truncated
            raw = raw[: rng.randrange(len(raw))]
        elif kind == 1 and base.endswith(".json"):  # wrong format tag
            doc = copy.deepcopy(JSON_DOCS[base])
            doc["format"] = "bpdebug.snapshot/9"
            raw = json.dumps(doc).encode()
        elif kind == 2 and base.endswith(".json"):  # wrong shape
            doc = copy.deepcopy(JSON_DOCS[base])
            doc["layers"][rng.randrange(len(doc["layers"]))]["W"].pop()
            raw = json.dumps(doc).encode()
        elif kind == 3 and base.endswith(".json"):  # missing key
            doc = copy.deepcopy(JSON_DOCS[base])
            del doc[rng.choice(["step", "cost", "inputs", "layers", "scenario"])]
            raw = json.dumps(doc).encode()
        else:  # junk spliced in
            at = rng.randrange(len(raw))
            raw = raw[:at] + bytes(rng.randrange(256) for _ in range(16)) + raw[at:]
        path = folder / f"bad{len(out):02d}-{base}"
        path.write_bytes(raw)
        try:
            load_snapshot(path)
        except InputError:
            out.append(path)
        else:
            path.unlink()
    return out


@pytest.mark.cli
@pytest.mark.slow
def test_twenty_bad_snapshots_through_the_tui_exit_2_before_drawing(tmp_path: Path) -> None:
    """`bpdebug FILE.json` (the TUI path), not a terminal: status 2, one line, no screen."""
    files = bad_snapshots(tmp_path, 20)

    def open_it(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), path.name],
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(open_it, files))
    for path, out in zip(files, results, strict=True):
        assert out.returncode == 2, (path.name, out.stderr[-500:])
        lines = out.stderr.splitlines()
        assert len(lines) == 1, (path.name, out.stderr[-500:])
        assert lines[0].startswith(f"{path.name}: ")
        assert "Traceback" not in out.stderr
        assert out.stdout == ""  # nothing drawn
    FUZZED["tui"] += len(files)


def test_a_snapshot_with_a_huge_step_is_refused_quickly(tmp_path: Path) -> None:
    """Reopening replays to `step`: a step past BPDEBUG_MAX_REPLAY_STEPS is refused at once."""
    doc = copy.deepcopy(JSON_DOCS["xor.json"])
    doc["step"] = 10**9
    path = tmp_path / "far.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    start = time.perf_counter()
    try:
        out = subprocess.run(
            [str(SCRIPT), path.name],
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=3,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still replaying after {time.perf_counter() - start:.0f} s")
    assert out.returncode == 2
    assert "BPDEBUG_MAX_REPLAY_STEPS" in out.stderr and "step" in out.stderr


# ------------------------------------------------------------------ count
def test_at_least_800_snapshots_were_fuzzed_with_no_crash() -> None:
    """Runs last: the counts of the whole file (skipped when run piecemeal)."""
    strategies = ("json-structured", "json-bytes", "npz-structured", "npz-bytes", "extreme")
    if not all(FUZZED[s] for s in strategies):
        pytest.skip("run the whole file to count")
    total = sum(FUZZED[s] for s in strategies)
    print(f"\nfuzzed {total} snapshot files: {dict(FUZZED)}; outcomes {dict(OUTCOMES)}")
    assert total >= 800
    assert OUTCOMES["crash"] == 0
