"""The `[data]` table: inline rows, a generator, or a CSV file -> a Dataset.

Rows in the file are examples; the Dataset stores columns (the contract's
a[0] and Y, shapes (n_0, N) and (n_L, N)).
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from array import array
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bpdebug.errors import InputError, describe
from bpdebug.scenario import data as gen
from bpdebug.scenario.fields import Fields, Table, index, one_of
from bpdebug.scenario.limits import (
    CSV_COLUMNS,
    DATA_VALUES,
    EXAMPLES,
    NotRegularFile,
    decode_text,
    read_capped,
)
from bpdebug.scenario.model import Dataset

MAX_EXAMPLES = EXAMPLES.default
"""Most examples a generator or CSV file may produce by default (BPDEBUG_MAX_EXAMPLES)."""

MAX_DATA_VALUES = DATA_VALUES.default
"""Most input numbers (examples x input width) by default (BPDEBUG_MAX_DATA_VALUES)."""

MAX_NOISE = 10.0
"""Largest `data.noise` a generator takes."""

INLINE_KEYS = ("inputs", "targets")
GENERATOR_KEYS = ("generator", "n", "noise", "seed", "size")
CSV_KEYS = ("csv", "target_columns", "input_columns")
FORMS = "inputs + targets, generator, or csv"


def _frozen(columns: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(columns, dtype=np.float64)
    out.setflags(write=False)
    return out


def read_data(
    fields: Fields,
    table: Table,
    layers: tuple[int, ...],
    base: Path,
    seed: int,
    given: Dataset | None = None,
    read_files: bool = True,
) -> Dataset:
    """Build the Dataset described by `table` for a network of `layers`.

    `base` is the scenario file's folder (CSV paths are relative to it) and
    `seed` the scenario's seed (the generators' default). `given` is a CSV
    data set a snapshot carries: with it the CSV file is never opened, nor
    without `read_files` (then a CSV data set must be `given`).
    """
    forms = [
        form
        for form, present in (
            ("inputs + targets", "inputs" in table or "targets" in table),
            ("generator", "generator" in table),
            ("csv", "csv" in table),
        )
        if present
    ]
    if len(forms) != 1:
        got = " and ".join(forms) if forms else "none of them"
        fields.fail("data", f"expected exactly one of {FORMS}, got {got}")
    if forms[0] == "generator":
        fields.check_keys(table, "data", GENERATOR_KEYS)
        return _generated(fields, table, layers, seed)
    if forms[0] == "csv":
        fields.check_keys(table, "data", CSV_KEYS)
        if given is not None:
            return _carried(fields, table, layers, given)
        if not read_files:
            fields.fail(
                "data.csv",
                "the data set is not carried along (data.inputs and data.targets), and"
                " no other file is read here; open the scenario file itself",
            )
        return _from_csv(fields, table, layers, base)
    fields.check_keys(table, "data", INLINE_KEYS)
    return _inline(fields, table, layers)


def _inline(fields: Fields, table: Table, layers: tuple[int, ...]) -> Dataset:
    n_in, n_out = layers[0], layers[-1]
    rows_what = "an array of rows, one per example"
    inputs = fields.array(fields.require(table, "data", "inputs", rows_what), "data.inputs")
    targets = fields.array(fields.require(table, "data", "targets", rows_what), "data.targets")
    if not inputs:
        fields.expected("data.inputs", "at least one row", inputs)
    if len(targets) != len(inputs):
        fields.expected("data.targets", f"{len(inputs)} rows (one per row of data.inputs)", targets)
    max_examples, max_values = EXAMPLES.value(), DATA_VALUES.value()
    if len(inputs) > max_examples:
        fields.fail(
            "data.inputs",
            f"expected at most {max_examples} rows ({EXAMPLES.note()}), got {len(inputs)}",
        )
    if len(inputs) * n_in > max_values:
        fields.fail(
            "data.inputs",
            f"expected at most {max_values // n_in} rows of {n_in} inputs"
            f" ({max_values} numbers, {DATA_VALUES.note()}), got {len(inputs)}",
        )
    last = len(layers) - 1
    x = [
        fields.number_row(row, index("data.inputs", i), n_in, f"network.layers[0] = {n_in}")
        for i, row in enumerate(inputs)
    ]
    y = [
        fields.number_row(row, index("data.targets", i), n_out, f"network.layers[{last}] = {n_out}")
        for i, row in enumerate(targets)
    ]
    return Dataset(_frozen(np.array(x).T), _frozen(np.array(y).T), "inline")


def _generated(fields: Fields, table: Table, layers: tuple[int, ...], seed: int) -> Dataset:
    name = fields.choice(table["generator"], "data.generator", gen.GENERATORS)
    n = fields.integer(table.get("n", 200), "data.n", minimum=1)
    max_examples = EXAMPLES.value()
    if n > max_examples:
        fields.fail(
            "data.n", f"expected at most {max_examples} examples ({EXAMPLES.note()}), got {n}"
        )
    # The Playground's slider stops at 0.5; past 10 the points are noise alone,
    # and the cap keeps every generated number finite.
    noise = fields.number(table.get("noise", 0.0), "data.noise", at_least=0.0, at_most=MAX_NOISE)
    data_seed = fields.integer(table.get("seed", seed), "data.seed", minimum=0)
    size = 8
    if "size" in table:
        if name != "digits":
            fields.fail("data.size", f"only used by generator digits, not {name}")
        size = fields.integer(table["size"], "data.size")
        if size not in gen.DIGIT_SIZES:
            fields.expected("data.size", "8 or 28", size)
    width = gen.input_width(name, size)
    last = len(layers) - 1
    if layers[0] != width:
        what = "x, y" if name != "digits" else f"{size}x{size} pixels"
        fields.fail(
            "network.layers[0]",
            f"expected {width} inputs to fit generator {name} ({what}), got {layers[0]}",
        )
    max_values = DATA_VALUES.value()
    if n * width > max_values:
        fields.fail(
            "data.n",
            f"expected at most {max_values // width} examples of {width} inputs"
            f" ({max_values} numbers, {DATA_VALUES.note()}), got {n}",
        )
    classes = gen.class_count(name)
    fits = [1, classes] if classes == 2 else [classes]
    if layers[-1] not in fits:
        how = "1 (a 0/1 column) or 2 (one-hot)" if classes == 2 else f"{classes} (one-hot)"
        fields.fail(
            f"network.layers[{last}]",
            f"expected {how} output units to fit generator {name} ({classes} classes),"
            f" got {layers[-1]}",
        )
    points, labels = gen.generate(name, n, noise, data_seed, size)
    targets = gen.labels_to_targets(labels, layers[-1], classes)
    return Dataset(_frozen(points.T), _frozen(targets), f"generator {name}")


def _column(fields: Fields, value: object, key: str, header: list[str]) -> int:
    """The 0-based index of the column named or numbered by `value`."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < len(header):
            return value
        fields.expected(key, f"a column index from 0 to {len(header) - 1} or a header name", value)
    if isinstance(value, str) and value in header:
        if header.count(value) > 1:
            fields.fail(key, f"column name {describe(value)} appears more than once in the header")
        return header.index(value)
    fields.expected(key, f"a column index or {_some_names(header)}", value)


def _some_names(names: list[str], most: int = 5) -> str:
    """``one of 'a', 'b', 'c'`` for an error message, quoting at most `most` names, each short."""
    quoted = [describe(name, 24) for name in names[:most]]
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return one_of(quoted) + more


def _columns(fields: Fields, value: object, key: str, header: list[str]) -> list[int]:
    items = fields.array(value, key, "an array of header names or 0-based column indexes")
    if not items:
        fields.expected(key, "at least one column", items)
    picked = [_column(fields, item, index(key, i), header) for i, item in enumerate(items)]
    for i, col in enumerate(picked):
        if picked.index(col) != i:
            fields.fail(index(key, i), f"column {describe(header[col])} is listed twice")
    return picked


def _open_csv(fields: Fields, shown: str, resolved: Path) -> tuple[list[str], _Rows]:
    """The header and a reader positioned on the first data row; row 1 is the header.

    The whole file is read (up to FILE_BYTES) and decoded first, so a bad byte
    or a huge file is reported before any row is parsed.
    """
    try:
        raw = read_capped(resolved, shown)
    except FileNotFoundError:
        fields.fail("data.csv", f"no such file: {shown}")
    except NotRegularFile as exc:
        fields.fail("data.csv", f"expected a CSV file, got {exc.kind}: {shown}")
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        fields.fail("data.csv", f"cannot read {shown}: {getattr(exc, 'strerror', None) or exc}")
    text = decode_text(raw, shown)
    del raw
    rows = _Rows(shown, text)
    for _, cells in rows:
        return [cell.strip() for cell in cells], rows
    raise InputError(shown, "", "expected a header row, got an empty file")


class _Rows:
    """The non-blank rows of a CSV text as (row number, cells); csv errors become InputError.

    No row may have more than CSV_COLUMNS cells, and that is checked on the
    raw lines before the csv module splits them: a one-line header of 64 MB
    of commas would otherwise become 32 million strings (gigabytes) first.
    """

    def __init__(self, shown: str, text: str) -> None:
        self.shown = shown
        self.text = text
        """The whole file, decoded."""
        self.max_cells = CSV_COLUMNS.value()
        self._separators = 0  # commas read since the last row was returned
        self._row = 1
        self.reader = csv.reader(self._lines(text))

    def _lines(self, text: str) -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            # Commas inside quotes count too: an upper bound is all this needs.
            self._separators += line.count(",")
            if self._separators >= self.max_cells:
                what = "the header" if self._row == 1 else f"row {self._row}"
                raise InputError(
                    self.shown,
                    "",
                    f"expected at most {self.max_cells} cells in a row ({CSV_COLUMNS.note()}),"
                    f" got more in {what}",
                )
            yield line

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        while True:
            self._separators = 0
            self._row = self.reader.line_num + 1
            try:
                cells = next(self.reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InputError(self.shown, "", f"invalid CSV: {exc}") from None
            if cells:
                yield self.reader.line_num, cells


def _from_csv(fields: Fields, table: Table, layers: tuple[int, ...], base: Path) -> Dataset:
    name = fields.string(table["csv"], "data.csv")
    resolved = base / name
    shown = str(resolved)
    header, rows = _open_csv(fields, shown, resolved)
    target_what = "an array of header names or 0-based column indexes"
    targets = _columns(
        fields,
        fields.require(table, "data", "target_columns", target_what),
        "data.target_columns",
        header,
    )
    if "input_columns" in table:
        inputs = _columns(fields, table["input_columns"], "data.input_columns", header)
        for i, col in enumerate(inputs):
            if col in targets:
                fields.fail(
                    index("data.input_columns", i),
                    f"column {describe(header[col])} is also a target column",
                )
    else:
        inputs = [col for col in range(len(header)) if col not in targets]
    last = len(layers) - 1
    for key, picked, width, layer in (
        ("data.target_columns", targets, layers[-1], last),
        ("data.input_columns", inputs, layers[0], 0),
    ):
        if len(picked) != width:
            names = ", ".join(describe(header[col], 24) for col in picked[:5]) or "none"
            names += f" and {len(picked) - 5} more" if len(picked) > 5 else ""
            plural = "column" if width == 1 else "columns"
            fields.fail(
                key,
                f"expected {width} {plural} (network.layers[{layer}] = {width}),"
                f" got {len(picked)}: {names}",
            )
    max_examples, max_values = EXAMPLES.value(), DATA_VALUES.value()
    fast = _fast_columns(rows.text, len(header), inputs, targets, max_examples, max_values)
    if fast is not None:
        return Dataset(_frozen(fast[0]), _frozen(fast[1]), f"csv {name}")
    # Rows become floats as they are read (8 bytes a number, not a str
    # object each), and the limits are checked row by row.
    x, y = array("d"), array("d")
    examples = 0
    for row_number, cells in rows:
        examples += 1
        if examples > max_examples:
            raise InputError(
                shown, "", f"expected at most {max_examples} rows ({EXAMPLES.note()}), got more"
            )
        if examples * len(inputs) > max_values:
            raise InputError(
                shown,
                "",
                f"expected at most {max_values} input numbers ({DATA_VALUES.note()}),"
                f" got more at row {row_number}",
            )
        if len(cells) != len(header):
            raise InputError(
                shown,
                f"row {row_number}",
                f"expected {len(header)} cells like the header, got {len(cells)}",
            )
        for out, picked in ((x, inputs), (y, targets)):
            for col in picked:
                out.append(_cell(shown, row_number, header[col], cells[col]))
    if not examples:
        raise InputError(shown, "", "expected at least one row of data after the header, got none")
    # Row-major (examples, width) in the buffers; the Dataset stores columns.
    x_cols = np.frombuffer(x, dtype=np.float64).reshape(examples, len(inputs)).T
    y_cols = np.frombuffer(y, dtype=np.float64).reshape(examples, len(targets)).T
    return Dataset(_frozen(x_cols), _frozen(y_cols), f"csv {name}")


def _fast_columns(
    text: str,
    width: int,
    inputs: list[int],
    targets: list[int],
    max_examples: int,
    max_values: int,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The inputs and targets as columns, parsed by numpy's C reader; None to take the slow path.

    numpy's `loadtxt` reads a 64 MB file in about a second where the csv
    module and `float` per cell take forty. It converts each cell as
    `float` does, and it refuses what the slow path refuses (a short row, a
    cell that is not a number) by raising, so on any doubt (an error, a
    non-finite number, a quoted header, a limit within reach) the slow path
    runs and words the error with its row and column.
    """
    header_end = text.find("\n")
    if header_end < 0 or '"' in text[:header_end]:
        return None
    lines = text.count("\n", header_end + 1) + 1
    if lines > max_examples or lines * len(inputs) > max_values:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data"
            table = np.loadtxt(
                io.StringIO(text[header_end + 1 :]),
                delimiter=",",
                comments=None,
                quotechar='"',
                dtype=np.float64,
                ndmin=2,
            )
    except (ValueError, TypeError, OverflowError, IndexError):
        return None
    if table.shape[0] == 0 or table.shape[1] != width:
        return None
    x, y = table[:, inputs].T, table[:, targets].T
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    return x, y


def _carried(fields: Fields, table: Table, layers: tuple[int, ...], given: Dataset) -> Dataset:
    """A snapshot's own copy of its CSV data set, checked against the network; no file is read."""
    name = fields.string(table["csv"], "data.csv")
    examples = given.inputs.shape[-1] if given.inputs.ndim else 0
    last = len(layers) - 1
    for key, values, width, layer in (
        ("data.inputs", given.inputs, layers[0], 0),
        ("data.targets", given.targets, layers[-1], last),
    ):
        if values.shape != (width, examples) or not examples:
            fields.fail(
                key,
                f"expected {width} rows (network.layers[{layer}] = {width}) of the same"
                f" number of examples, got shape {values.shape}",
            )
    return Dataset(
        _frozen(given.inputs), _frozen(given.targets), f"csv {name} (carried by the snapshot)"
    )


def _cell(shown: str, row_number: int, column: str, cell: str) -> float:
    try:
        value = float(cell.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(
            shown,
            f"row {row_number}, column {describe(column, 24)}",
            f"expected a finite number, got {describe(cell)}",
        )
    return value
