"""Fuzz the scenario loader with files made by breaking the bundled scenarios.

Every file either loads or raises InputError, never anything else; the
message is one line that starts with the file's path and names the key
(unless the whole file is bad: TOML syntax, encoding, size). A message of the
loader's catch-all ("cannot load the scenario (...)") is counted as a crash:
it means an exception slipped past validation.

Files fuzzed (counted by `FUZZED` and checked by the last test):
  - structured mutations (wrong types, missing/extra keys, huge and negative
    sizes, NaN/inf, ragged/empty arrays, unknown names): 500
  - literal swaps in the file's text (NaN/inf literals, broken TOML): 400
  - binary junk (random bytes, NUL bytes, invalid UTF-8, truncation): 300
  - hand-made extremes (10,000-deep nesting, 400-digit numbers, MB files): 24
A sample of 50 bad files also goes through `bpdebug validate FILE`.
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import os
import random
import re
import subprocess
import sys
import time
import tomllib
import tracemalloc
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpdebug.scenario import InputError, Scenario, load_scenario, loads_scenario
from bpdebug.timeline import Timeline

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "bpdebug"
BASES = {
    path.stem: path.read_text(encoding="utf-8") for path in sorted(ROOT.glob("scenarios/*.toml"))
}
DOCS = {name: tomllib.loads(text) for name, text in BASES.items()}

WHOLE_FILE = ("invalid TOML: ", "expected UTF-8 text", "expected a file of at most", "no such file")
"""How a message about the whole file (no key) begins."""
CRASH = "cannot load the scenario ("
"""The loader's catch-all: an exception validation missed."""

FUZZED: Counter[str] = Counter()
"""Files loaded per strategy, for the final count."""
OUTCOMES: Counter[str] = Counter()
"""loaded / refused / crash, over every file."""

# derandomize: the same files on every machine and in every folder, CI or not.
SETTINGS = settings(
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


def check_file(path: Path, strategy: str) -> Scenario | InputError:
    """Load `path`; assert the loader's promise; count the file."""
    FUZZED[strategy] += 1
    try:
        scenario = load_scenario(path)
    except InputError as error:
        check_error(error, path)
        OUTCOMES["refused"] += 1
        return error
    OUTCOMES["loaded"] += 1
    data, net = scenario.data, scenario.network
    assert data.inputs.shape == (net.layers[0], data.size)
    assert data.targets.shape == (net.layers[-1], data.size)
    assert 1 <= scenario.training.batch_size <= data.size
    # What validates must also run: build the timeline and make one update.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a mutant may diverge
        Timeline(scenario).run_until(max_steps=1)
    return scenario


def check_error(error: InputError, path: Path) -> None:
    """One line, starting with the path, naming a key unless the whole file is bad."""
    message = str(error)
    if CRASH in message:
        OUTCOMES["crash"] += 1
        raise AssertionError(f"an exception slipped past validation: {message}")
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(f"{path}: "), message
    assert "Traceback" not in message
    if not error.key:
        assert error.message.startswith(WHOLE_FILE), message
    else:
        assert message.startswith(f"{path}: {error.key}: "), message


# ------------------------------------------------------------------ TOML text
def toml_value(value: Any) -> str:
    """`value` as a TOML literal (inline tables, one line)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def toml_document(doc: dict[str, Any]) -> str:
    """`doc` as a TOML file: one `key = value` line per top-level key."""
    return "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in doc.items())


def test_the_serializer_round_trips_every_bundled_scenario() -> None:
    for doc in DOCS.values():
        assert tomllib.loads(toml_document(doc)) == doc


# --------------------------------------------------------- structured mutants
Path_ = tuple[str | int, ...]

SIZES = [0, -1, -3, 1, 2, 3, 10, 64, 100_001, 10**9, 2**63 - 1, -(2**63), 10**30, 10**400]
NAMES = ["sigmoid", "softmax", "relu", "sgd", "adam", "digits", "xor", "he", "cross_entropy"]
NAMES += ["", "Sigmoid", "moons", "nope", "step", "nonfinite", "8", "\x00", "é", "x" * 300]
leaf = st.one_of(
    st.sampled_from(SIZES),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 5e-324]),
    st.booleans(),
    st.sampled_from(NAMES),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.just(datetime.date(1979, 5, 27)),
    st.just(datetime.datetime(1979, 5, 27, 7, 32, tzinfo=datetime.UTC)),
)
junk = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(["W", "b", "kind", "x", "layers", "n"]), children, max_size=3
        ),
    ),
    max_leaves=8,
)


def paths_of(value: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every key path inside `value` (tables and arrays), depth first."""
    out: list[Path_] = []
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    for key, child in items:
        out.append((*prefix, key))
        out += paths_of(child, (*prefix, key))
    return out


def holder(doc: Any, path: Path_) -> Any:
    """The table or array that holds the value at `path`."""
    for key in path[:-1]:
        doc = doc[key]
    return doc


def value_at(doc: Any, path: Path_) -> Any:
    return holder(doc, path)[path[-1]]


def mutate(doc: dict[str, Any], data: st.DataObject) -> None:
    """Apply one mutation, drawn from `data`, to `doc` in place."""
    paths = paths_of(doc)
    op = data.draw(st.sampled_from(["replace", "replace", "delete", "add", "resize", "size"]))
    if op == "size":
        candidates = [
            p for p in paths if "layers" in p or p[-1] in ("n", "batch_size", "size", "seed")
        ]
        path = data.draw(st.sampled_from(candidates or paths))
        holder(doc, path)[path[-1]] = data.draw(st.sampled_from(SIZES))
    elif op == "replace":
        path = data.draw(st.sampled_from(paths))
        holder(doc, path)[path[-1]] = data.draw(junk)
    elif op == "delete":
        path = data.draw(st.sampled_from(paths))
        del holder(doc, path)[path[-1]]
    elif op == "add":
        tables: list[Path_] = [()] + [p for p in paths if isinstance(value_at(doc, p), dict)]
        table = data.draw(st.sampled_from(tables))
        target = value_at(doc, table) if table else doc
        name = data.draw(
            st.sampled_from(["extra", "W", "path", "layers", "csv", "generator", "eval"])
        )
        target[name] = data.draw(junk)
    else:
        arrays = [p for p in paths if isinstance(value_at(doc, p), list)]
        if not arrays:
            return
        path = data.draw(st.sampled_from(arrays))
        array = value_at(doc, path)
        how = data.draw(st.sampled_from(["empty", "drop", "duplicate", "append", "ragged"]))
        if how == "empty":
            array.clear()
        elif how == "drop" and array:
            array.pop(data.draw(st.integers(0, len(array) - 1)))
        elif how == "duplicate" and array:
            array.append(copy.deepcopy(array[0]))
        elif how == "ragged" and array and isinstance(array[0], list):
            array[0].append(0.5)
        else:
            array.append(data.draw(junk))


@settings(SETTINGS, max_examples=500)
@given(name=st.sampled_from(sorted(BASES)), data=st.data())
def test_structured_mutants_load_or_give_one_line(
    tmp_path: Path, name: str, data: st.DataObject
) -> None:
    """Wrong types, missing and extra keys, odd sizes, ragged arrays: loaded or one line."""
    doc = copy.deepcopy(DOCS[name])
    for _ in range(data.draw(st.integers(1, 3))):
        if doc:
            mutate(doc, data)
    path = tmp_path / f"{name}.toml"
    path.write_text(toml_document(doc), encoding="utf-8")
    check_file(path, "structured")


# --------------------------------------------------------------- text mutants
VALUE = re.compile(r"(?m)^(\s*[\w.]+\s*=\s*)(.+?)(\s*(#.*)?)$")
LITERALS = [
    "nan",
    "+nan",
    "-nan",
    "inf",
    "-inf",
    "1e999",
    "-1e999",
    "99999999999999999999999",
    "-3",
    "0",
    "1.5",
    "0x7fffffffffffffff",
    "true",
    '"x"',
    "'x'",
    "[]",
    "[[]]",
    "[[1, 2], [3]]",
    "{}",
    "{W = 1}",
    "1979-05-27",
    "07:32:00",
    '"""a\nb"""',
    '"abc',
    "[1, 2",
    "{a = ",
    "= =",
    "[1, 2,, 3]",
    '"\\q"',
    "1__0",
    "0b102",
    "nan(0)",
    "",
    "\x00",
    "\x7f",
    '"\x01"',
    "🙂",
]


@settings(SETTINGS, max_examples=400)
@given(
    name=st.sampled_from(sorted(BASES)),
    data=st.data(),
    swaps=st.lists(st.sampled_from(LITERALS), min_size=1, max_size=3),
)
def test_literal_swaps_load_or_give_one_line(
    tmp_path: Path, name: str, data: st.DataObject, swaps: list[str]
) -> None:
    """A value literal swapped for NaN, inf, huge numbers, other types or broken TOML."""
    lines = BASES[name].splitlines(keepends=True)
    candidates = [i for i, line in enumerate(lines) if VALUE.match(line)]
    for literal in swaps:
        i = data.draw(st.sampled_from(candidates))
        lines[i] = VALUE.sub(
            lambda m, lit=literal: m.group(1) + lit + m.group(3), lines[i], count=1
        )
    path = tmp_path / f"{name}.toml"
    path.write_bytes("".join(lines).encode("utf-8", "surrogatepass"))
    check_file(path, "text")


# ---------------------------------------------------------------- binary junk
@settings(SETTINGS, max_examples=300)
@given(
    name=st.sampled_from(sorted(BASES)),
    kind=st.sampled_from(["random", "nul", "bad-utf8", "truncate", "splice"]),
    junk_bytes=st.binary(min_size=1, max_size=64),
    at=st.integers(0, 10_000),
)
def test_binary_junk_gives_one_line(
    tmp_path: Path, name: str, kind: str, junk_bytes: bytes, at: int
) -> None:
    """Random bytes, NUL bytes, invalid UTF-8 and truncation: loaded or one line."""
    raw = BASES[name].encode("utf-8")
    at %= len(raw) + 1
    if kind == "random":
        raw = junk_bytes * (1 + at % 50)
    elif kind == "nul":
        raw = raw[:at] + b"\x00" * len(junk_bytes) + raw[at:]
    elif kind == "bad-utf8":
        bad = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xe2\x82"]
        raw = raw[:at] + bad[len(junk_bytes) % len(bad)] + raw[at:]
    elif kind == "truncate":
        raw = raw[:at]
    else:
        raw = raw[:at] + junk_bytes + raw[at:]
    path = tmp_path / f"{name}.toml"
    path.write_bytes(raw)
    check_file(path, "binary")


# ---------------------------------------------------------- hand-made extremes
XOR = BASES["xor"]
DEEP = 10_000
EXTREMES = {
    "deep-arrays": "x = " + "[" * DEEP + "]" * DEEP,
    "deep-inline-tables": "x = " + "{a = " * DEEP + "1" + "}" * DEEP,
    "deep-dotted-table": "[" + ".".join(["a"] * DEEP) + "]\n",
    "deep-array-in-layers": XOR.replace(
        "layers = [2, 2, 1]", "layers = " + "[" * DEEP + "]" * DEEP
    ),
    "deep-table-in-network": XOR.replace("[network]", "[network." + ".".join(["n"] * DEEP) + "]"),
    "deep-array-of-tables": "[[" + ".".join(["a"] * 2000) + "]]\n",
    "huge-layer": XOR.replace("layers = [2, 2, 1]", "layers = [2, 1000000000, 1]"),
    "huge-int": XOR.replace("layers = [2, 2, 1]", "layers = [2, " + "9" * 4000 + ", 1]"),
    "huge-int-rate": XOR.replace("learning_rate = 1.0", "learning_rate = " + "9" * 400),
    "huge-int-weight": XOR.replace("W = [[0.5, -0.5]]", "W = [[0.5, " + "9" * 400 + "]]"),
    "negative-layer": XOR.replace("layers = [2, 2, 1]", "layers = [2, -2, 1]"),
    "too-many-parameters": XOR.replace("layers = [2, 2, 1]", "layers = [2, 90000, 90000, 1]"),
    "many-layers": XOR.replace("layers = [2, 2, 1]", "layers = [" + "2, " * 100_000 + "1]"),
    "huge-n": re.sub(r"(?m)^n = ", "n = 1000000000 #", BASES["spiral"]),
    "huge-batch": re.sub(r"(?m)^batch_size = ", "batch_size = 10000000000 #", BASES["spiral"]),
    "nan-everywhere": re.sub(r"(?m)= [-\d.]+", "= nan", XOR),
    "inf-everywhere": re.sub(r"(?m)= [-\d.]+", "= -inf", XOR),
    "empty-data": XOR.replace("[[0, 0], [0, 1], [1, 0], [1, 1]]", "[]").replace(
        "[[0], [1], [1], [0]]", "[]"
    ),
    "empty-file": "",
    "only-bom": "\ufeff",
}


@pytest.mark.parametrize("name", sorted(EXTREMES))
def test_extreme_files_give_one_line_fast(tmp_path: Path, name: str) -> None:
    """Deep nesting, giant numbers, giant arrays: refused in well under a second, no crash."""
    path = tmp_path / f"{name}.toml"
    path.write_text(EXTREMES[name], encoding="utf-8")
    start = time.perf_counter()
    outcome = check_file(path, "extreme")
    assert time.perf_counter() - start < 5
    assert isinstance(outcome, InputError), f"{name} loaded"


def test_a_few_megabyte_inputs_literal_loads(tmp_path: Path) -> None:
    """A 3.8 MB inline data set is big but legitimate: it loads (and the batch limit holds)."""
    rows = 200_000
    text = XOR.replace("[[0, 0], [0, 1], [1, 0], [1, 1]]", "[" + "[0.25, 0.75], " * rows + "]")
    text = text.replace("[[0], [1], [1], [0]]", "[" + "[1], " * rows + "]")
    text = text.replace("batch_size = 4", "batch_size = 64")
    path = tmp_path / "big.toml"
    path.write_text(text, encoding="utf-8")
    assert 3_000_000 < path.stat().st_size < 64 * 1024 * 1024
    scenario = check_file(path, "extreme")
    assert isinstance(scenario, Scenario) and scenario.data.size == rows


def test_a_file_over_the_size_cap_is_refused_without_reading_it_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BPDEBUG_MAX_SCENARIO_BYTES caps what is read; the default is 8 MiB."""
    path = tmp_path / "huge.toml"
    path.write_text(XOR + "# " + "x" * 3_000_000 + "\n", encoding="utf-8")
    size = path.stat().st_size
    monkeypatch.setenv("BPDEBUG_MAX_SCENARIO_BYTES", "1000000")
    tracemalloc.start()
    try:
        error = check_file(path, "extreme")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(error, InputError)
    assert str(error) == (
        f"{path}: expected a file of at most 1000000 bytes"
        f" (the limit; set BPDEBUG_MAX_SCENARIO_BYTES to lift it), got {size}"
    )
    assert peak < 100_000  # refused on the file's size, before reading
    monkeypatch.setenv("BPDEBUG_MAX_SCENARIO_BYTES", "4000000")
    assert isinstance(check_file(path, "extreme"), Scenario)


def test_a_huge_limit_allocates_nothing_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lifting a limit to 10**18 must not make a 300-byte file cost 10**18 bytes."""
    path = tmp_path / "small.toml"
    path.write_text(XOR, encoding="utf-8")
    for variable in ("BPDEBUG_MAX_SCENARIO_BYTES", "BPDEBUG_MAX_FILE_BYTES"):
        monkeypatch.setenv(variable, str(10**18))
    assert isinstance(check_file(path, "extreme"), Scenario)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/stdin", "/dev/null"])
def test_a_device_is_refused_without_reading(device: str) -> None:
    """An endless or blocking device is not a scenario: refused at once, nothing read."""
    if not Path(device).exists():
        pytest.skip(f"{device} does not exist here")
    with pytest.raises(InputError, match=rf"^{device}: expected a scenario file, got a "):
        load_scenario(device)
    FUZZED["extreme"] += 1


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """Opening a FIFO with no writer blocks forever; it is refused instead, as a scenario or CSV."""
    fifo = tmp_path / "data.fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputError) as info:
        load_scenario(fifo)
    assert str(info.value) == f"{fifo}: expected a scenario file, got a named pipe (FIFO)"
    text = re.sub(
        r"(?ms)^\[data\].*?(?=^\[training\])",
        '[data]\ncsv = "data.fifo"\ntarget_columns = ["y"]\n\n',
        XOR,
    )
    with pytest.raises(InputError) as info:
        loads_scenario(text, tmp_path / "s.toml")
    assert str(info.value) == (
        f"{tmp_path / 's.toml'}: data.csv: expected a CSV file, got a named pipe (FIFO): {fifo}"
    )
    FUZZED["extreme"] += 2


# --------------------------------------------------------------------- limits
def test_a_huge_layer_is_refused_before_allocating() -> None:
    """layers = [2, 10**9, 1] would be 24 GB of weights: refused in microseconds."""
    text = XOR.replace("layers = [2, 2, 1]", f"layers = [2, {10**9}, 1]").replace(
        "[[network.init]]", "#"
    )
    text = re.sub(r"(?m)^[Wb] = .*$", "", text)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(InputError) as info:
            loads_scenario(text, "big.toml")
        elapsed, peak = time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value) == (
        "big.toml: network.layers[1]: expected at most 100000 units in a layer"
        " (the limit; set BPDEBUG_MAX_UNITS to lift it), got 1000000000"
    )
    assert elapsed < 1
    assert peak < 1_000_000


def replace_layers(text: str, layers: str) -> str:
    """`text` (xor) with other layer sizes and no explicit init."""
    text = text.replace("layers = [2, 2, 1]", f"layers = {layers}")
    return re.sub(r"(?ms)^\[\[network\.init\]\].*?(?=^\[data\])", "", text)


@pytest.mark.parametrize(
    ("variable", "limit", "layers", "data", "message"),
    [
        pytest.param(
            "BPDEBUG_MAX_UNITS",
            "3",
            "[2, 4, 1]",
            "",
            "network.layers[1]: expected at most 3 units in a layer"
            " (the limit; set BPDEBUG_MAX_UNITS to lift it), got 4",
            id="units",
        ),
        pytest.param(
            "BPDEBUG_MAX_PARAMETERS",
            "3",
            "[2, 2, 1]",
            "",
            "network.layers: expected at most 3 weights and biases in total"
            " (the limit; set BPDEBUG_MAX_PARAMETERS to lift it), got 9",
            id="parameters",
        ),
        pytest.param(
            "BPDEBUG_MAX_EXAMPLES",
            "3",
            "[2, 2, 1]",
            '[data]\ngenerator = "xor"\nn = 4\n',
            "data.n: expected at most 3 examples (the limit; set BPDEBUG_MAX_EXAMPLES to lift it),"
            " got 4",
            id="examples",
        ),
        pytest.param(
            "BPDEBUG_MAX_DATA_VALUES",
            "3",
            "[2, 2, 1]",
            '[data]\ngenerator = "xor"\nn = 4\n',
            "data.n: expected at most 1 examples of 2 inputs (3 numbers, the limit;"
            " set BPDEBUG_MAX_DATA_VALUES to lift it), got 4",
            id="data-values",
        ),
        pytest.param(
            "BPDEBUG_MAX_BATCH_VALUES",
            "12",
            "[2, 2, 1]",
            "",
            "training.batch_size: expected at most 2 examples per batch, so that a batch times"
            " the 5 units of the network is at most 12 activations (the limit; set"
            " BPDEBUG_MAX_BATCH_VALUES to lift it), got 4",
            id="batch-values",
        ),
        pytest.param(
            "BPDEBUG_MAX_LAYERS",
            "2",
            "[2, 2, 1]",
            "",
            "network.layers: expected at most 2 layers (the limit; set BPDEBUG_MAX_LAYERS"
            " to lift it), got 3",
            id="layers",
        ),
        pytest.param(
            "BPDEBUG_MAX_BREAKPOINTS",
            "1",
            "[2, 2, 1]",
            # xor.toml ships one (cost < 0.05): this makes two
            "[[debug.breakpoints]]\nkind = 'dead_unit'\n",
            "debug.breakpoints: expected at most 1 breakpoints (the limit; set"
            " BPDEBUG_MAX_BREAKPOINTS to lift it), got 2",
            id="breakpoints",
        ),
    ],
)
def test_each_limit_is_lowered_and_lifted_by_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, limit: str, layers: str, data: str, message: str
) -> None:
    """A tiny limit refuses xor-sized input with the message; unset or lifted, it loads."""
    text = replace_layers(XOR, layers)
    if data.startswith("[[debug"):
        text += "\n" + data
    elif data:
        text = re.sub(r"(?ms)^\[data\].*?(?=^\[training\])", data, text).replace(
            "batch_size = 4", "batch_size = 2"
        )
    assert isinstance(loads_scenario(text, "s.toml"), Scenario)
    monkeypatch.setenv(variable, limit)
    with pytest.raises(InputError) as info:
        loads_scenario(text, "s.toml")
    assert str(info.value) == f"s.toml: {message}"
    monkeypatch.setenv(variable, "1_000_000_000_000")
    assert isinstance(loads_scenario(text, "s.toml"), Scenario)


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("BPDEBUG_MAX_EXAMPLES", "expected at most 3 rows (the limit; set BPDEBUG_MAX_EXAMPLES"),
        ("BPDEBUG_MAX_DATA_VALUES", "expected at most 1 rows of 2 inputs (3 numbers, the limit;"),
    ],
)
def test_inline_data_obeys_the_same_limits(
    monkeypatch: pytest.MonkeyPatch, variable: str, message: str
) -> None:
    monkeypatch.setenv(variable, "3")
    with pytest.raises(InputError) as info:
        loads_scenario(XOR, "s.toml")
    assert str(info.value).startswith(f"s.toml: data.inputs: {message}")


def test_the_variable_lifts_the_default_units_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    text = replace_layers(XOR, "[2, 100001, 1]")
    with pytest.raises(InputError, match="BPDEBUG_MAX_UNITS"):
        loads_scenario(text, "s.toml")
    monkeypatch.setenv("BPDEBUG_MAX_UNITS", "200000")
    assert loads_scenario(text, "s.toml").network.layers == (2, 100001, 1)


@pytest.mark.parametrize("value", ["lots", "-5", "0", "1e6", "3.5"])
def test_a_bad_limit_variable_is_one_line(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("BPDEBUG_MAX_UNITS", value)
    with pytest.raises(InputError) as info:
        loads_scenario(XOR, "s.toml")
    assert str(info.value) == (
        f"BPDEBUG_MAX_UNITS: expected a whole number >= 1 (a size limit), got {value!r}"
    )


def test_a_huge_csv_is_refused_at_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CSV is read under the same cap, and its rows under the examples limit."""
    (tmp_path / "points.csv").write_text("x,y,label\n" + "1,2,0\n" * 200_000, encoding="utf-8")
    text = re.sub(
        r"(?ms)^\[data\].*?(?=^\[training\])",
        '[data]\ncsv = "points.csv"\ntarget_columns = ["label"]\n',
        replace_layers(XOR, "[2, 2, 1]"),
    )
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    assert load_scenario(path).data.size == 200_000
    monkeypatch.setenv("BPDEBUG_MAX_FILE_BYTES", "100000")
    with pytest.raises(InputError, match=r"points\.csv: expected a file of at most 100000 bytes"):
        load_scenario(path)
    monkeypatch.delenv("BPDEBUG_MAX_FILE_BYTES")
    monkeypatch.setenv("BPDEBUG_MAX_EXAMPLES", "1000")
    with pytest.raises(InputError, match=r"points\.csv: expected at most 1000 rows \(the limit"):
        load_scenario(path)


# ------------------------------------------------------------------------ CLI
def bad_files(folder: Path, count: int) -> list[Path]:
    """`count` files the loader refuses, made from the bundled ones with a seeded rng."""
    rng = random.Random(4)
    out: list[Path] = []
    while len(out) < count:
        name = rng.choice(sorted(BASES))
        text = BASES[name]
        kind = len(out) % 5
        if kind == 0:  # a literal swapped
            lines = text.splitlines(keepends=True)
            i = rng.choice([i for i, line in enumerate(lines) if VALUE.match(line)])
            literal = rng.choice(LITERALS)
            lines[i] = VALUE.sub(lambda m, lit=literal: m.group(1) + lit + m.group(3), lines[i])
            raw = "".join(lines).encode("utf-8")
        elif kind == 1:  # a key deleted
            doc = copy.deepcopy(DOCS[name])
            path = rng.choice(paths_of(doc))
            del holder(doc, path)[path[-1]]
            raw = toml_document(doc).encode("utf-8")
        elif kind == 2:  # a key added
            doc = copy.deepcopy(DOCS[name])
            doc[rng.choice(["network", "data", "training"])]["bogus"] = rng.choice(SIZES)
            raw = toml_document(doc).encode("utf-8")
        elif kind == 3:  # binary junk
            raw = text.encode("utf-8")
            at = rng.randrange(len(raw))
            raw = raw[:at] + bytes(rng.randrange(256) for _ in range(8)) + b"\xff" + raw[at:]
        else:  # truncated
            raw = text.encode("utf-8")[: rng.randrange(len(text) // 2)]
        path = folder / f"bad{len(out):02d}-{name}.toml"
        path.write_bytes(raw)
        try:
            load_scenario(path)
        except InputError:
            out.append(path)
        else:
            path.unlink()
    return out


@pytest.mark.cli
@pytest.mark.slow
def test_fifty_bad_files_through_bpdebug_validate(tmp_path: Path) -> None:
    """The console script: status 2, one line on stderr naming the file, no traceback."""
    files = bad_files(tmp_path, 50)

    def validate(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), "validate", path.name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(validate, files))
    for path, out in zip(files, results, strict=True):
        assert out.returncode == 2, (path.name, out.stderr)
        lines = out.stderr.splitlines()
        assert len(lines) == 1, (path.name, out.stderr)
        assert lines[0].startswith(f"{path.name}: "), lines[0]
        assert "Traceback" not in out.stderr
        assert out.stdout == ""
    FUZZED["cli"] += len(files)


# ----------------------------------------------------------------------- count
def test_at_least_1000_files_were_fuzzed_with_no_crash() -> None:
    """Runs last: the counts of the whole file (skipped when run piecemeal)."""
    strategies = ("structured", "text", "binary", "extreme")
    if not all(FUZZED[s] for s in strategies):
        pytest.skip("run the whole file to count")
    total = sum(FUZZED[s] for s in strategies)
    print(f"\nfuzzed {total} scenario files: {dict(FUZZED)}; outcomes {dict(OUTCOMES)}")
    assert total >= 1000
    assert OUTCOMES["crash"] == 0
