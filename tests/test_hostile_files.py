"""Files crafted to hurt: each limit holds before the work starts, and reopening reads nothing else.

One test per class of issue 7's "work and memory are bounded" and "reopening
a snapshot never reads other local files": a corrupt .npz, the total of an
.npz's arrays, a 2 KB snapshot asking for a days-long replay, shapes that
disagree with the scenario, a million one-unit layers, a 64 MB CSV header,
a CSV snapshot reopened without its CSV, and a snapshot naming /etc/passwd.
"""

from __future__ import annotations

import copy
import json
import os
import re
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bpdebug.errors import InputError
from bpdebug.scenario import load_scenario, loads_scenario
from bpdebug.snapshot import export, load_snapshot
from bpdebug.snapshot.reopen import open_timeline, reopen
from bpdebug.timeline import Timeline

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "bpdebug"
XOR = (ROOT / "scenarios" / "xor.toml").read_text(encoding="utf-8")

CSV_SCENARIO = """\
name = "points"
seed = 3

[network]
layers = [2, 3, 1]
loss = "binary_cross_entropy"

[data]
csv = "points.csv"
target_columns = ["label"]

[training]
learning_rate = 0.5
batch_size = 2
"""
POINTS = "x,y,label\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n0.5,0.5,1\n"


def xor_snapshot(folder: Path, step: int = 2, suffix: str = ".json") -> Path:
    """xor at `step`, exported to `folder`, its scenario path fixed (not the clone's)."""
    timeline = Timeline(loads_scenario(XOR, "scenarios/xor.toml"))
    timeline.seek(step)
    return export(timeline, folder / f"xor{suffix}")


def csv_snapshot(folder: Path, step: int = 3) -> tuple[Path, Timeline]:
    """The CSV scenario above at `step`, exported to `folder/out/points.json`."""
    (folder / "points.csv").write_text(POINTS, encoding="utf-8")
    scenario_path = folder / "points.toml"
    scenario_path.write_text(CSV_SCENARIO, encoding="utf-8")
    timeline = Timeline(load_scenario(scenario_path))
    timeline.seek(step)
    (folder / "out").mkdir()
    return export(timeline, folder / "out" / "points.json"), timeline


def refusal(path: Path | str) -> str:
    """The one-line error `open_timeline` (what `bpdebug FILE` runs) gives for `path`."""
    with pytest.raises(InputError) as info:
        open_timeline(str(path))
    message = str(info.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------ a corrupt .npz
def with_compression_method(raw: bytes, member: str, method: int) -> bytes:
    """`raw` (a zip) with `member`'s compression method set to `method` in both headers."""
    out = bytearray(raw)
    name = member.encode()
    for signature, offset, name_at in ((b"PK\x03\x04", 8, 30), (b"PK\x01\x02", 10, 46)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            length = struct.unpack_from("<H", out, start + 28 if name_at == 46 else start + 26)[0]
            if bytes(out[start + name_at : start + name_at + length]) == name:
                struct.pack_into("<H", out, start + offset, method)
            start += 4
    return bytes(out)


@pytest.mark.parametrize("method", [1, 6, 99, 0xFFFF])
def test_an_unknown_compression_method_is_one_line(tmp_path: Path, method: int) -> None:
    """zipfile raises NotImplementedError for these; the loader says the file is unreadable."""
    raw = xor_snapshot(tmp_path, suffix=".npz").read_bytes()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(with_compression_method(raw, "W1.npy", method))
    with zipfile.ZipFile(bad) as archive, pytest.raises(NotImplementedError):
        archive.read("W1.npy")  # the corruption this test is about
    with pytest.raises(InputError) as info:
        load_snapshot(bad)
    assert str(info.value).startswith(f"{bad}: ")
    assert "not supported" in str(info.value) or "unreadable" in str(info.value)


def test_the_total_of_an_npz_is_capped_not_each_array(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten arrays of 0.9 MB each pass a 1 MB per-array cap; the total is what counts."""
    arrays = dict(np.load(xor_snapshot(tmp_path, suffix=".npz"), allow_pickle=False))
    for i in range(10):
        arrays[f"extra{i}"] = np.zeros(112_500)  # 0.9 MB each, zeros compress to nothing
    path = tmp_path / "many.npz"
    np.savez_compressed(path, **arrays)
    monkeypatch.setenv("BPDEBUG_MAX_FILE_BYTES", "1000000")
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as info:
            load_snapshot(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value) == (
        f"{path}: expected arrays of at most 1000000 bytes in all"
        " (the limit; set BPDEBUG_MAX_FILE_BYTES to lift it), got more"
    )
    assert peak < 500_000  # nothing was unpacked
    monkeypatch.setenv("BPDEBUG_MAX_FILE_BYTES", "20000000")
    assert load_snapshot(path).step == 2


def test_an_export_has_the_same_bytes_every_time(tmp_path: Path) -> None:
    """No clock in the .npz: the same step exports to the same bytes (and fuzzing is stable)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = xor_snapshot(tmp_path / "a", 2, ".npz")
    timeline = Timeline(loads_scenario(XOR, "scenarios/xor.toml"))
    timeline.seek(2)
    second = export(timeline, tmp_path / "b" / "xor.npz")
    assert first.read_bytes() == second.read_bytes()
    assert load_snapshot(second).step == 2


# ------------------------------------------------------------------ replay
def test_a_2kb_snapshot_cannot_ask_for_a_days_long_replay(tmp_path: Path) -> None:
    """Below the step limit, but steps x batch x parameters would take days: refused first."""
    doc: dict[str, Any] = json.loads(xor_snapshot(tmp_path).read_text())
    text = (
        "[network]\nlayers = [2, 2500, 2500, 1]\n"
        '[data]\ngenerator = "xor"\nn = 1000\n[training]\nbatch_size = 1000\n'
    )
    doc["scenario"]["text"] = text
    doc["step"] = 999_999
    # The file keeps xor's small arrays: the replay is refused before shapes are compared.
    path = tmp_path / "days.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert path.stat().st_size < 3000
    message = refusal(path)
    assert message.startswith(f"{path}: step: expected a replay of at most 1e+12 multiply-adds")
    assert "BPDEBUG_MAX_REPLAY_WORK" in message


def test_the_replay_work_limit_is_lifted_by_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = xor_snapshot(tmp_path, step=5)
    monkeypatch.setenv("BPDEBUG_MAX_REPLAY_WORK", "100")  # 5 x 4 x 9 = 180
    message = refusal(path)
    assert message == (
        f"{path}: step: expected a replay of at most 100 multiply-adds (updates x batch x"
        " parameters; the limit; set BPDEBUG_MAX_REPLAY_WORK to lift it), got 5 x 4 x 9 = 180"
    )
    monkeypatch.setenv("BPDEBUG_MAX_REPLAY_WORK", "180")
    timeline, _ = reopen(str(path))
    assert timeline.step == 5


def test_shapes_are_checked_against_the_scenario_before_replaying(tmp_path: Path) -> None:
    """Arrays that agree with each other but not with the scenario: refused, no replay."""
    doc: dict[str, Any] = json.loads(xor_snapshot(tmp_path).read_text())
    doc["step"] = 900_000  # a replay would take half a minute; the refusal takes none
    wide = copy.deepcopy(doc)
    wide["scenario"]["text"] = wide["scenario"]["text"].replace(
        "layers = [2, 2, 1]", "layers = [2, 3, 1]"
    )
    wide["scenario"]["text"] = re.sub(
        r"(?ms)^\[\[network\.init\]\].*?(?=^\[data\])", "", wide["scenario"]["text"]
    )
    path = tmp_path / "mismatch.json"
    path.write_text(json.dumps(wide), encoding="utf-8")
    assert refusal(path) == (
        f"{path}: layers[0].W: expected shape (3, 2), as its scenario's network.layers ="
        " [2, 3, 1], got (2, 2)"
    )


# ------------------------------------------------------------------ sizes in a scenario
def test_a_million_one_unit_layers_are_refused_at_once(tmp_path: Path) -> None:
    """3 MB of `1, ` used to take 130 s and 2.7 GB; the count is checked before anything else."""
    text = XOR.replace("layers = [2, 2, 1]", "layers = [2, " + "1, " * 1_000_000 + "1]")
    text = re.sub(r"(?ms)^\[\[network\.init\]\].*?(?=^\[data\])", "", text)
    path = tmp_path / "deep.toml"
    path.write_text(text, encoding="utf-8")
    assert path.stat().st_size > 3_000_000
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert str(info.value) == (
        f"{path}: network.layers: expected at most 1000 layers"
        " (the limit; set BPDEBUG_MAX_LAYERS to lift it), got 1000002"
    )


def test_a_64mb_csv_header_is_refused_before_it_is_split(tmp_path: Path) -> None:
    """A one-line header of 32 million names cost 2.3 GB and printed a 100 MB error line."""
    (tmp_path / "points.csv").write_text("a," * 32_000_000 + "label\n0,1\n", encoding="utf-8")
    path = tmp_path / "s.toml"
    path.write_text(CSV_SCENARIO, encoding="utf-8")
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as info:
            load_scenario(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value) == (
        f"{tmp_path / 'points.csv'}: expected at most 100000 cells in a row"
        " (the limit; set BPDEBUG_MAX_CSV_COLUMNS to lift it), got more in the header"
    )
    assert peak < 400_000_000  # the file's bytes and text, never a cell list


def test_error_messages_quote_a_few_header_names_each_short(tmp_path: Path) -> None:
    names = [f"column_{i}_" + "x" * 100 for i in range(2000)]
    (tmp_path / "points.csv").write_text(",".join(names) + "\n" + ",".join("0" * 2000) + "\n")
    path = tmp_path / "s.toml"
    path.write_text(CSV_SCENARIO, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    message = str(info.value)
    assert len(message) < 400, message
    assert message.endswith("and 1995 more, got 'label'")


def test_init_range_1e308_is_refused_by_validate_too() -> None:
    """U(-1e308, 1e308) overflows numpy; validate used to say ok and every other command crash."""
    text = re.sub(r"(?ms)^\[\[network\.init\]\].*?(?=^\[data\])", "", XOR)
    text = text.replace("[network]\n", '[network]\ninit = "uniform"\ninit_range = 1e308\n')
    with pytest.raises(InputError) as info:
        loads_scenario(text, "s.toml")
    assert str(info.value) == (
        "s.toml: network.init_range: expected a finite number > 0 and <= 1e+06, got 1e+308"
    )


# ------------------------------------------------------------------ reopening reads nothing else
def test_a_csv_snapshot_reopens_without_its_csv(tmp_path: Path) -> None:
    """The snapshot carries the data set: with the CSV gone, every step is the same, bit for bit."""
    path, original = csv_snapshot(tmp_path)
    (tmp_path / "points.csv").unlink()
    (tmp_path / "points.toml").unlink()
    timeline, message = reopen(str(path))
    assert message == f"reopened {path} at step 3"
    assert timeline.scenario.data.source == "csv points.csv (carried by the snapshot)"
    np.testing.assert_array_equal(timeline.scenario.data.inputs, original.scenario.data.inputs)
    for l in range(1, 3):
        np.testing.assert_array_equal(timeline.state.params.W[l], original.state.params.W[l])
    assert timeline.trace.cost == original.trace.cost
    npz = export(original, tmp_path / "out" / "points.npz")
    assert reopen(str(npz))[0].trace.cost == original.trace.cost


def test_a_snapshot_naming_etc_passwd_reads_nothing(tmp_path: Path) -> None:
    """A CSV path in the snapshot's text is never opened; without carried data it is refused."""
    path, _ = csv_snapshot(tmp_path)
    doc = json.loads(path.read_text())
    del doc["data"]
    doc["scenario"]["text"] = doc["scenario"]["text"].replace(
        'csv = "points.csv"', 'csv = "/etc/passwd"'
    )
    doc["scenario"]["path"] = "/etc/x.toml"
    evil = tmp_path / "evil.json"
    evil.write_text(json.dumps(doc), encoding="utf-8")
    opened: list[str] = []

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and isinstance(args[0], str | bytes | os.PathLike):
            opened.append(os.fsdecode(args[0]))

    sys.addaudithook(audit)  # hooks cannot be removed; this one only records
    opened.clear()
    message = refusal(evil)
    seen = [name for name in opened if not name.endswith((".py", ".pyc", ".so"))]
    assert seen == [str(evil)]
    assert message == (
        f"{evil}: scenario.text: /etc/x.toml: data.csv: the data set is not carried along"
        " (data.inputs and data.targets), and no other file is read here; open the scenario"
        " file itself"
    )


def test_carried_data_must_fit_the_network(tmp_path: Path) -> None:
    path, _ = csv_snapshot(tmp_path)
    doc = json.loads(path.read_text())
    doc["data"]["inputs"] = doc["data"]["inputs"][:1]  # one row where the network takes 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    message = refusal(bad)
    assert message.startswith(f"{bad}: ")
    assert "data.inputs" in message


@pytest.mark.cli
def test_a_fifo_named_as_a_snapshot_is_refused_at_once(tmp_path: Path) -> None:
    """`bpdebug pipe.json` with nobody writing: refused, not a silent hang."""
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    out = subprocess.run(
        [str(SCRIPT), fifo.name],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2
    assert out.stderr == "pipe.json: expected a snapshot file, got a named pipe (FIFO)\n"
