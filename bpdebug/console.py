"""The command line's one way to the terminal: `Console`, and `run`'s progress bar.

Every line a headless command prints goes through `Console.out` (standard
output) or `Console.err` (standard error). They
- escape control characters with `bpdebug.text.printable`, so that text from
  a file (a scenario's name, a key, a file name, a CSV header) cannot talk to
  the terminal: an OSC 52 sequence is shown as ``\\x1b]52;...``, not obeyed;
- write what the stream's encoding cannot hold as backslash escapes
  (``\\xe9`` on an ASCII-only terminal) instead of failing;
- never raise. A stream that is closed, full or broken is written to no more.
  Standard error only carries diagnostics, so the command goes on without it.
  Standard output carries the result: when it cannot be written, `lost` says
  why and the command line says so on standard error (exit status 74). A
  reader that went away (``bpdebug scenarios | head -1``) is not an error.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from typing import TextIO

from bpdebug.text import printable


class _Stream:
    """One standard stream, flushed after each write, written to no more once a write fails."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        """The stream, or None if it was closed from the start or has failed."""
        self.failure = ""
        """Why text written to this stream was lost; "" if none was, or if its reader left."""
        self._closed_from_start = stream is None
        if isinstance(stream, io.TextIOWrapper):
            # A stream already closed cannot be reconfigured; it fails on its first write.
            with contextlib.suppress(OSError, ValueError):
                stream.reconfigure(errors="backslashreplace")

    def write(self, text: str) -> None:
        """Write `text` as it is and flush it."""
        stream = self.stream
        if stream is None:
            if self._closed_from_start:
                self.failure = "it is closed"
            return
        try:
            stream.write(text)
            stream.flush()
        except BrokenPipeError:
            self._end(stream, "")
        except (OSError, ValueError) as error:  # ValueError: closed, or not encodable
            self._end(stream, getattr(error, "strerror", None) or str(error))

    def isatty(self) -> bool:
        """Whether the stream is an open terminal."""
        try:
            return self.stream is not None and self.stream.isatty()
        except (OSError, ValueError):
            return False

    def _end(self, stream: TextIO, failure: str) -> None:
        self.stream, self.failure = None, failure
        # The bytes that failed stay in the stream's buffer, and the
        # interpreter's last flush would fail again and print "Exception
        # ignored ...". Pointing the descriptor at /dev/null lets it succeed.
        with contextlib.suppress(OSError, ValueError):  # no descriptor: nothing to do
            fd = stream.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)


class Console:
    """Standard output and standard error for one command, escaped and never raising."""

    def __init__(self, stdout: TextIO | None, stderr: TextIO | None) -> None:
        self._out = _Stream(stdout)
        self._err = _Stream(stderr)

    def out(self, text: str, *, newlines: bool = False) -> None:
        """Print `text` and a line feed on standard output, control characters escaped.

        `newlines` keeps the line feeds inside `text`: only for text we wrote
        (--help), never for text holding something read from a file.
        """
        self._out.write(printable(text, newlines=newlines) + "\n")

    def err(self, text: str, *, newlines: bool = False, start: str = "", end: str = "\n") -> None:
        """Print `text` on standard error, control characters escaped.

        `start` and `end` are written as they are: our own cursor moves (the
        progress bar's carriage return), never text from a file.
        """
        self._err.write(start + printable(text, newlines=newlines) + end)

    def err_is_tty(self) -> bool:
        """Whether standard error is a terminal (a progress bar, not log lines)."""
        return self._err.isatty()

    @property
    def lost(self) -> str:
        """Why text meant for standard output was not written, or "" if all of it was."""
        return self._out.failure


class Progress:
    """A progress bar on a terminal, or a plain line every tenth of the run elsewhere."""

    WIDTH = 30

    def __init__(self, total: int, console: Console) -> None:
        self.total = max(total, 1)
        self.console = console
        self.tty = console.err_is_tty()
        self._last = 0.0
        self._next_line = self.total // 10
        self._shown = -1

    def update(self, step: int, done: int, cost: float, force: bool = False) -> None:
        """Show `done` of `total` updates made, now at `step` with cost `cost`."""
        if self.tty:
            now = time.monotonic()
            if not force and now - self._last < 0.1:
                return
            self._last = now
            filled = self.WIDTH * done // self.total
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self.console.err(f"[{bar}] step {step}  cost {cost:.6g}  ", start="\r", end="")
        elif (force and done != self._shown) or done >= self._next_line:
            self._shown = done
            self._next_line = done + max(self.total // 10, 1)
            self.console.err(f"step {step}  cost {cost:.6g}")

    def close(self) -> None:
        """End the bar's line."""
        if self.tty:
            self.console.err("")
