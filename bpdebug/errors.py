"""Errors the user can cause, each rendered as one line naming file and key."""

from __future__ import annotations

from pathlib import Path

from bpdebug.text import printable

MESSAGE_LIMIT = 1000
"""Most characters of an error's message (after the file and key) ever printed."""


class InputError(Exception):
    """Bad input in a file the user gave us: rendered as one line, exit status 2.

    `str(error)` reads ``scenarios/x.toml: network.layers[2]: expected a
    positive integer, got -3``. It is always one printable line: the path,
    key and message keep the file's text as it is, and `str` escapes any
    control character in them (`bpdebug.text.printable`).
    """

    def __init__(self, path: str | Path, key: str, message: str) -> None:
        self.path = str(path)
        """The file, as the user named it."""
        self.key = key
        """The key path inside the file (``network.layers[2]``), or "" for the whole file."""
        self.message = message
        """What was expected and what was found."""
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}: {self.key}" if self.key else self.path
        message = self.message
        if len(message) > MESSAGE_LIMIT:  # a safety net: messages quote values short already
            message = message[: MESSAGE_LIMIT - 3] + "..."
        return printable(f"{where}: {message}")


def describe(value: object, limit: int = 40) -> str:
    """A short, one-line rendering of a bad value for an error message."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, dict):
        text = "a table"
    elif isinstance(value, list):
        text = f"an array of {len(value)}"
    else:
        text = repr(value)
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."
