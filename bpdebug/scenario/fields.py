"""Typed reads from a parsed TOML document, each failure an InputError naming the key.

Key paths are written the way a user would find the value in the file:
``network.layers[2]``, ``network.init[1].W``, ``debug.breakpoints[0].kind``.
Indexes count from 0, like the arrays they index.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Sequence
from typing import NoReturn

from bpdebug.errors import InputError, describe

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")

Table = dict[str, object]
"""A TOML table as tomllib returns it."""


def sub(key: str, name: str) -> str:
    """The key path of `name` inside the table at `key`."""
    return f"{key}.{name}" if key else name


def key_name(name: str, limit: int = 40) -> str:
    """A key as TOML would write it: bare if it can be, else quoted with escapes; kept short."""
    if not _BARE_KEY.fullmatch(name):
        name = json.dumps(name, ensure_ascii=False)
    return name if len(name) <= limit else name[: limit - 3] + "..."


def index(key: str, i: int) -> str:
    """The key path of item `i` of the array at `key`."""
    return f"{key}[{i}]"


def one_of(options: Sequence[str]) -> str:
    """``one of a, b, c`` for an error message."""
    return "one of " + ", ".join(options)


def count(n: int, noun: str) -> str:
    """``1 number``, ``2 numbers``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def did_you_mean(name: str, options: Sequence[str]) -> str:
    """`` (did you mean layers?)`` with the options closest to `name`, or "" if none is close.

    Closeness is difflib's ratio (at least 0.6, as `difflib.get_close_matches`;
    the closest first, ties in the file's order, at most three); case is
    ignored, so `Layers` suggests `layers`.
    """
    wanted = name.lower()
    scored = [
        (difflib.SequenceMatcher(None, wanted, option.lower()).ratio(), -i, option)
        for i, option in enumerate(options)
    ]
    close = [option for ratio, _, option in sorted(scored, reverse=True) if ratio >= 0.6][:3]
    if not close:
        return ""
    return f" (did you mean {' or '.join(key_name(option) for option in close)}?)"


def is_number(value: object) -> bool:
    """True for TOML integers and floats; TOML booleans are not numbers."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class Fields:
    """Reads typed values out of one file's tables; every error names that file."""

    def __init__(self, path: str) -> None:
        self.path = path
        """The file, as the user named it."""

    def fail(self, key: str, message: str) -> NoReturn:
        """Raise the one-line error for `key`."""
        raise InputError(self.path, key, message)

    def expected(self, key: str, what: str, value: object) -> NoReturn:
        """Raise ``key: expected <what>, got <value>``."""
        self.fail(key, f"expected {what}, got {describe(value)}")

    def table(self, value: object, key: str) -> Table:
        """`value` as a table."""
        if not isinstance(value, dict):
            self.expected(key, "a table", value)
        return value

    def array(self, value: object, key: str, what: str = "an array") -> list[object]:
        """`value` as an array."""
        if not isinstance(value, list):
            self.expected(key, what, value)
        return value

    def check_keys(self, table: Table, key: str, allowed: Sequence[str]) -> None:
        """Refuse any key of `table` that is not in `allowed`."""
        for name in table:
            if name not in allowed:
                where = f"in [{key}]" if key else "at the top level"
                keys = ", ".join(allowed)
                guess = did_you_mean(name, allowed)
                self.fail(
                    sub(key, key_name(name)),
                    f"unknown key{guess}; the keys allowed {where} are {keys}",
                )

    def require(self, table: Table, key: str, name: str, what: str) -> object:
        """The value of required key `name`, or an error saying what belongs there."""
        if name not in table:
            self.fail(sub(key, name), f"missing required key; expected {what}")
        return table[name]

    def string(self, value: object, key: str, *, one_line: bool = False) -> str:
        """`value` as a string (a one-line string if asked)."""
        if not isinstance(value, str):
            self.expected(key, "a string", value)
        if one_line and ("\n" in value or "\r" in value):
            self.expected(key, "a one-line string", value)
        return value

    def choice(self, value: object, key: str, options: Sequence[str]) -> str:
        """`value` as one of the names in `options`."""
        if not isinstance(value, str) or value not in options:
            self.expected(key, one_of(options), value)
        return value

    def boolean(self, value: object, key: str) -> bool:
        """`value` as a boolean (true or false)."""
        if not isinstance(value, bool):
            self.expected(key, "true or false", value)
        return value

    def integer(
        self, value: object, key: str, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        """`value` as an integer in [minimum, maximum]; floats such as 2.0 are refused."""
        if minimum == 1 and maximum is None:
            what = "a positive integer"
        elif minimum == 0 and maximum is None:
            what = "a non-negative integer"
        elif minimum is not None and maximum is not None:
            what = f"an integer from {minimum} to {maximum}"
        else:
            what = "an integer"
        if not isinstance(value, int) or isinstance(value, bool):
            self.expected(key, what, value)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.expected(key, what, value)
        return value

    def number(
        self,
        value: object,
        key: str,
        *,
        at_least: float | None = None,
        above: float | None = None,
        below: float | None = None,
        at_most: float | None = None,
    ) -> float:
        """`value` as a finite float (integers accepted) within the given bounds."""
        bounds = []
        if at_least is not None:
            bounds.append(f">= {at_least:g}")
        if above is not None:
            bounds.append(f"> {above:g}")
        if below is not None:
            bounds.append(f"< {below:g}")
        if at_most is not None:
            bounds.append(f"<= {at_most:g}")
        what = "a finite number" + (" " + " and ".join(bounds) if bounds else "")
        if not is_number(value):
            self.expected(key, what, value)
        try:
            number = float(value)  # type: ignore[arg-type]  # is_number checked it
        except OverflowError:  # an integer literal beyond float range, e.g. 400 digits
            self.expected(key, what, value)
        if not math.isfinite(number):
            self.expected(key, what, value)
        if (
            (at_least is not None and number < at_least)
            or (above is not None and number <= above)
            or (below is not None and number >= below)
            or (at_most is not None and number > at_most)
        ):
            self.expected(key, what, value)
        return number

    def number_row(self, value: object, key: str, width: int, note: str) -> list[float]:
        """`value` as an array of exactly `width` finite numbers; `note` explains the width."""
        row = self.array(value, key, f"an array of {count(width, 'number')} ({note})")
        if len(row) != width:
            self.expected(key, f"{count(width, 'number')} ({note})", row)
        return self.numbers(row, key)

    def numbers(self, row: list[object], key: str) -> list[float]:
        """Every item of `row` as a finite float; the first bad one is named by its index."""
        # The common all-good row skips building a key and a message per number
        # (a data set of a million numbers is read ten times faster).
        try:
            out = [float(item) for item in row if type(item) is float or type(item) is int]
        except OverflowError:
            out = []
        if len(out) == len(row) and all(map(math.isfinite, out)):
            return out
        return [self.number(item, index(key, j)) for j, item in enumerate(row)]

    def number_matrix(
        self, value: object, key: str, shape: tuple[int, int], note: str
    ) -> list[list[float]]:
        """`value` as `shape[0]` rows of `shape[1]` finite numbers.

        A wrong outer length or ragged rows are reported at `key` itself, with
        the expected shape and `note` (which says where the shape comes from).
        """
        rows_expected, cols_expected = shape
        what = f"a {rows_expected} x {cols_expected} array ({note})"
        outer = self.array(value, key, what)
        rows = [
            self.array(row, index(key, i), f"an array of {count(cols_expected, 'number')} ({note})")
            for i, row in enumerate(outer)
        ]
        lengths = [len(row) for row in rows]
        if len(set(lengths)) > 1:
            self.fail(key, f"expected {what}, got ragged rows of lengths {lengths}")
        if len(rows) != rows_expected or (lengths and lengths[0] != cols_expected):
            got = f"{len(rows)} x {lengths[0] if lengths else 0}"
            self.fail(key, f"expected {what}, got {got}")
        return [self.numbers(row, index(key, i)) for i, row in enumerate(rows)]
