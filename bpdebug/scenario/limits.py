"""Size limits that stop a typo (``layers = [2, 1000000000, 1]``) from eating the machine.

Each limit is checked before anything of that size is allocated, and each can
be lifted (or lowered) by an environment variable read at load time, so a
user who really means a bigger network is one ``export`` away from it. The
refusal says both: ``expected at most 100000 units in a layer (the limit;
set BPDEBUG_MAX_UNITS to lift it), got 1000000000``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from bpdebug.errors import InputError, describe


@dataclass(frozen=True)
class Limit:
    """A size limit: its default and the environment variable that overrides it."""

    variable: str
    """The environment variable, e.g. ``BPDEBUG_MAX_UNITS``."""
    default: int
    """The limit when the variable is unset or empty."""

    def value(self) -> int:
        """The limit now: the variable's value if set, else the default.

        A value that is not a whole number >= 1 is an InputError naming the
        variable (one line, exit status 2, like a bad file).
        """
        raw = os.environ.get(self.variable, "").strip()
        if not raw:
            return self.default
        try:
            limit = int(raw)  # accepts 1_000_000 too
        except ValueError:
            limit = 0
        if limit < 1:
            raise InputError(
                self.variable,
                "",
                f"expected a whole number >= 1 (a size limit), got {describe(raw)}",
            )
        return limit

    def note(self) -> str:
        """What a refusal adds after the number: the limit's nature and how to lift it."""
        return f"the limit; set {self.variable} to lift it"


UNITS = Limit("BPDEBUG_MAX_UNITS", 100_000)
"""Most units one layer may have."""
PARAMETERS = Limit("BPDEBUG_MAX_PARAMETERS", 50_000_000)
"""Most weights and biases a network may have in total (400 MB of float64)."""
EXAMPLES = Limit("BPDEBUG_MAX_EXAMPLES", 1_000_000)
"""Most examples a generator or CSV file may produce."""
DATA_VALUES = Limit("BPDEBUG_MAX_DATA_VALUES", 20_000_000)
"""Most input numbers (examples x input width) a data set may hold: 160 MB of float64."""
BATCH_VALUES = Limit("BPDEBUG_MAX_BATCH_VALUES", 50_000_000)
"""Most activations one batch may produce (batch size x units over all layers).

The forward and backward pass keep z, a and delta for every layer, so this
bounds them to a few copies of 400 MB.
"""
REPLAY_STEPS = Limit("BPDEBUG_MAX_REPLAY_STEPS", 1_000_000)
"""Most updates reopening a snapshot may replay to reach its step."""
FILE_BYTES = Limit("BPDEBUG_MAX_FILE_BYTES", 64 * 1024 * 1024)
"""Largest scenario, CSV or snapshot file read (and largest array inside an .npz)."""


def read_capped(path: str | os.PathLike[str], shown: str) -> bytes:
    """The bytes of the file at `path`, refused (InputError naming `shown`) past FILE_BYTES.

    Reads at most one byte more than the limit, so /dev/zero or a
    multi-gigabyte file costs no more memory than the limit. OSError
    propagates for the caller to word.
    """
    limit = FILE_BYTES.value()
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputError(
            shown, "", f"expected a file of at most {limit} bytes ({FILE_BYTES.note()}), got more"
        )
    return data


def decode_text(raw: bytes, shown: str) -> str:
    """`raw` as UTF-8 text (a byte-order mark some editors write is dropped).

    Anything else is an InputError naming `shown` and the first bad byte.
    """
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            shown, "", f"expected UTF-8 text, got byte 0x{raw[exc.start]:02x} at offset {exc.start}"
        ) from None
