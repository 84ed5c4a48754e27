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
import math
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
    """Progress of a long command on standard error: a bar on a terminal, plain lines elsewhere.

    On a terminal one line is redrawn in place, ten times a second at most:
    ``[#####.......] step 1234  cost 0.0123  2,345 updates/s  ETA 0:02``.
    Elsewhere (a log, a pipe) a plain line is written at every tenth of the
    work, or every LOG_EVERY seconds when the end is not known. `total` None
    means it is not (`run` without --steps): no bar and no ETA. Nothing is
    shown before `delay` seconds have passed, so a short replay says
    nothing. `replay` words the line as ``replaying 1,234 / 3,000 updates``.
    """

    WIDTH = 24
    LOG_EVERY = 5.0
    """Seconds between plain lines when the end is not known."""

    def __init__(
        self, total: int | None, console: Console, *, replay: bool = False, delay: float = 0.0
    ) -> None:
        self.total = None if total is None else max(total, 1)
        self.console = console
        self.replay = replay
        self.tty = console.err_is_tty()
        self._start = time.monotonic()
        self._show_after = self._start + delay
        self._last = self._start
        self._tenth = max((self.total or 1) // 10, 1)
        self._next_line = self._tenth
        self._next_look = 1
        self._shown = -1
        self._drawn = False

    def update(self, step: int, done: int, cost: float | None = None, force: bool = False) -> None:
        """Show `done` updates made of `total`, now at `step` (with cost `cost`, if known)."""
        if not self.tty and self.total is not None:  # a line at each tenth, exactly
            if (force and done != self._shown) or done >= self._next_line:
                self._next_line = done + self._tenth
                now = time.monotonic()
                if now >= self._show_after:
                    self._shown = done
                    self.console.err(self.line(step, done, cost, now))
            return
        if not force and done < self._next_look:
            return
        now = time.monotonic()
        # Reading the clock costs as much as an update of a small network:
        # look again after about a tenth of a second's worth of updates.
        self._next_look = done + max(int(self.rate(done, now) * 0.1), 1)
        if now < self._show_after:
            return
        if self.tty:
            if force or now - self._last >= 0.1:
                self._last, self._drawn = now, True
                self.console.err(self.line(step, done, cost, now), start="\r", end="  ")
        elif (force and done != self._shown) or now - self._last >= self.LOG_EVERY:
            self._last, self._shown = now, done
            self.console.err(self.line(step, done, cost, now))

    def rate(self, done: int, now: float) -> float:
        """Updates per second so far."""
        return done / max(now - self._start, 1e-9)

    def line(self, step: int, done: int, cost: float | None, now: float) -> str:
        """Where the work is, its cost, its rate and (when the end is known) its ETA."""
        rate = self.rate(done, now)
        bar = ""
        if self.tty and self.total is not None:
            filled = self.WIDTH * min(done, self.total) // self.total
            bar = "[" + "#" * filled + "." * (self.WIDTH - filled) + "] "
        parts = []
        if self.replay:
            parts.append(f"replaying {done:,} / {self.total or done:,} updates")
        else:
            parts.append(f"step {step}")
        if cost is not None:
            parts.append(f"cost {cost:.6g}")
        parts.append(f"{rate:,.0f} updates/s")
        if self.total is not None and done < self.total and rate > 0:
            parts.append(f"ETA {clock((self.total - done) / rate)}")
        return bar + "  ".join(parts)

    def close(self) -> None:
        """End the bar's line (if one was drawn)."""
        if self._drawn:
            self.console.err("")


def clock(seconds: float) -> str:
    """``0:07``, ``12:30``, ``3:02:00``; ``?`` for a time that is not finite."""
    if not math.isfinite(seconds):
        return "?"
    whole = int(seconds + 0.5)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"
