"""Signals that end the process end the app instead, so the terminal is given back.

Textual puts the terminal in raw mode, on the alternate screen, with mouse
reporting on; it undoes all that when the app exits. SIGTERM (`kill`),
SIGHUP (the terminal window closed or the SSH connection dropped) and
SIGQUIT (`kill -QUIT`) would, by default, end the process on the spot and
leave the terminal unusable. Textual itself handles only SIGTSTP, SIGCONT
and SIGWINCH, so the app catches these three on its event loop and exits
the ordinary way, with the status a shell reports for a process the signal
killed (`exit_status`).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
"""The signals that end the app (in this order of likelihood)."""


def exit_status(signum: int) -> int:
    """The exit status after signal `signum`: 128 + its number, as a shell reports a
    process the signal killed (SIGHUP 129, SIGQUIT 131, SIGTERM 143).

    Scripts that wait for bpdebug see the same status whether it died of the
    signal or, as here, caught it, restored the terminal and exited.
    """
    return 128 + signum


def catch_ending_signals(on_signal: Callable[[int], None], leaving: Callable[[], bool]) -> None:
    """Call `on_signal(signum)` on the running event loop when an ENDING_SIGNALS arrives.

    Must be called from the loop's thread (the main thread), once the driver
    is up. The handlers last as long as the loop: closing it restores the
    default actions, so a signal after the app has exited ends the process
    as usual. `leaving()` says whether the app is already on its way out.
    """
    loop = asyncio.get_running_loop()
    for signum in ENDING_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    # Textual restarts its output on SIGCONT (the way back from Ctrl-Z) in a plain
    # signal handler, which runs between any two bytecodes of the main thread. A
    # hangup sends SIGHUP and then SIGCONT: that restart, in the middle of the exit,
    # starts a writer thread for a terminal that is gone and can deadlock the exit.
    # On the loop, in order, it runs after SIGHUP's handler and can be skipped.
    resume = signal.getsignal(signal.SIGCONT)
    if callable(resume):

        def on_continue() -> None:
            if not leaving():
                resume(signal.SIGCONT, None)

        loop.add_signal_handler(signal.SIGCONT, on_continue)
