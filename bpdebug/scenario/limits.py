"""Size limits that stop a typo (``layers = [2, 1000000000, 1]``) from eating the machine.

Each limit is checked before anything of that size is allocated, and each can
be lifted (or lowered) by an environment variable read at load time, so a
user who really means a bigger network is one ``export`` away from it. The
refusal says both: ``expected at most 100000 units in a layer (the limit;
set BPDEBUG_MAX_UNITS to lift it), got 1000000000``.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

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
LAYERS = Limit("BPDEBUG_MAX_LAYERS", 1_000)
"""Most layers (counting the input layer) a network may have."""
PARAMETERS = Limit("BPDEBUG_MAX_PARAMETERS", 8_000_000)
"""Most weights and biases a network may have in total (64 MB of float64 a copy).

Training keeps several copies (W and b, dW and db, the next parameters,
adam's m and v, a checkpoint, the debugger's comparison step); with
BATCH_VALUES, this keeps the worst accepted file under about 2 GB
(`bench/limits.py`).
"""
EXAMPLES = Limit("BPDEBUG_MAX_EXAMPLES", 1_000_000)
"""Most examples a generator or CSV file may produce."""
DATA_VALUES = Limit("BPDEBUG_MAX_DATA_VALUES", 20_000_000)
"""Most input numbers (examples x input width) a data set may hold: 160 MB of float64."""
BATCH_VALUES = Limit("BPDEBUG_MAX_BATCH_VALUES", 8_000_000)
"""Most activations one batch may produce (batch size x units over all layers).

The forward and backward pass keep z, a and delta for every layer, and the
debugger a second pass for comparison; see PARAMETERS.
"""
BREAKPOINTS = Limit("BPDEBUG_MAX_BREAKPOINTS", 100)
"""Most breakpoints a scenario may list (each is tested after every update)."""
CSV_COLUMNS = Limit("BPDEBUG_MAX_CSV_COLUMNS", 100_000)
"""Most cells in one row of a CSV file, the header included."""
REPLAY_STEPS = Limit("BPDEBUG_MAX_REPLAY_STEPS", 1_000_000)
"""Most updates reopening a snapshot may replay to reach its step."""
REPLAY_WORK = Limit("BPDEBUG_MAX_REPLAY_WORK", 10**12)
"""Most work reopening a snapshot may replay: updates x batch size x parameters.

One unit is about one multiply-add of the forward or backward pass; 10**12
is a couple of minutes on one laptop core, however the file's numbers are
chosen (a 2 KB snapshot can otherwise ask for weeks).
"""
FILE_BYTES = Limit("BPDEBUG_MAX_FILE_BYTES", 64 * 1024 * 1024)
"""Largest CSV or snapshot file read, and largest total of the arrays inside an .npz."""
SCENARIO_BYTES = Limit("BPDEBUG_MAX_SCENARIO_BYTES", 8 * 1024 * 1024)
"""Largest scenario (TOML) file or snapshot's scenario text.

TOML parses at about 2 MB a second; big data sets belong in a CSV file.
"""

_CHUNK = 1 << 20
"""Bytes read at a time: a limit lifted to 10**18 must not be allocated up front."""


class NotRegularFile(OSError):
    """A path that names a directory, a FIFO, a device or a socket rather than a file."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"expected a regular file, got {kind}")
        self.kind = kind
        """What the path names instead: ``a directory``, ``a named pipe (FIFO)``, ..."""


def _kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "something other than a file"


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """`path` opened for reading, if it is a regular file; NotRegularFile if not.

    The check is made on the opened file (no race with a rename), and the
    open itself cannot block: `/dev/stdin`, a FIFO with no writer or a tty
    are refused at once instead of waiting forever for input.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(_kind(mode))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@contextlib.contextmanager
def open_capped(
    path: str | os.PathLike[str], shown: str, limit: Limit = FILE_BYTES
) -> Iterator[BinaryIO]:
    """`path` open for reading if it is a regular file of at most `limit` bytes.

    A bigger file is an InputError naming `shown`; OSError (and
    NotRegularFile) propagates for the caller to word.
    """
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit.value():
            raise _too_big(shown, limit, f"{size}")
        yield handle


def read_capped(path: str | os.PathLike[str], shown: str, limit: Limit = FILE_BYTES) -> bytes:
    """The bytes of the regular file at `path`, refused (InputError naming `shown`) past `limit`.

    The file's size is checked before reading, and it is read in chunks, so
    a huge file (or one that grows meanwhile) costs no more memory than the
    limit, and a huge limit allocates nothing up front.
    """
    most = limit.value()
    with open_capped(path, shown, limit) as handle:
        parts, total = [], 0
        while total <= most:
            part = handle.read(min(_CHUNK, most + 1 - total))
            if not part:
                break
            parts.append(part)
            total += len(part)
    if total > most:
        raise _too_big(shown, limit, "more")
    return b"".join(parts)


def _too_big(shown: str, limit: Limit, got: str) -> InputError:
    return InputError(
        shown, "", f"expected a file of at most {limit.value()} bytes ({limit.note()}), got {got}"
    )


def replay_limit_passed(updates: int, work: int) -> Limit | None:
    """The replay limit that `updates` updates of `work` multiply-adds in all would pass, if any.

    Reopening a snapshot and going to a step past the computed history both
    replay updates; both answer to REPLAY_STEPS and REPLAY_WORK.
    """
    if updates > REPLAY_STEPS.value():
        return REPLAY_STEPS
    if work > REPLAY_WORK.value():
        return REPLAY_WORK
    return None


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
