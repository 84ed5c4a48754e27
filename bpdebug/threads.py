"""How many threads numpy's BLAS may use: one by default.

The matrices of a scenario are small (the widest bundled layer is 784 x
128), so a second BLAS thread saves next to nothing, and on a busy machine
it costs a lot: BLAS's threads spin waiting for each other while the
debugger's own threads (and other processes) want the same cores. With
one other busy process on a 2-core machine, `bpdebug run wide --steps 300`
took 22.7 s with OpenBLAS's default of one thread per core and 3.8 s with
one thread.

`--threads N` (any command, and opening the debugger) or the variable
BPDEBUG_THREADS changes it. The limit is set once, at start, through
threadpoolctl, which knows every BLAS and OpenMP runtime numpy may load.
"""

from __future__ import annotations

import os

VARIABLE = "BPDEBUG_THREADS"
"""The environment variable that sets the number of BLAS threads."""
DEFAULT = 1
"""BLAS threads when neither --threads nor BPDEBUG_THREADS says otherwise."""
MAXIMUM = 256
"""The most threads accepted: past any machine this runs on, small enough to catch a typo."""
EXPECTED = f"a whole number from 1 to {MAXIMUM}"
"""What --threads and BPDEBUG_THREADS accept, as error messages say it."""


def parse(text: str) -> int:
    """A thread count typed by the user; ValueError saying what was expected."""
    raw = text.strip()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"expected {EXPECTED}, got {raw!r}") from None
    if not 1 <= value <= MAXIMUM:
        raise ValueError(f"expected {EXPECTED}, got {value}")
    return value


def requested(option: int | None, environ: os._Environ[str] | dict[str, str] = os.environ) -> int:
    """The thread count to use: `option` (--threads) if given, else BPDEBUG_THREADS, else 1.

    A bad BPDEBUG_THREADS raises ValueError naming the variable.
    """
    if option is not None:
        return option
    raw = environ.get(VARIABLE)
    if raw is None or raw == "":
        return DEFAULT
    try:
        return parse(raw)
    except ValueError as error:
        raise ValueError(f"{VARIABLE}: {error}") from None


def limit_blas_threads(threads: int) -> None:
    """Let numpy's BLAS (and any OpenMP runtime loaded with it) use `threads` threads.

    Called once, when a command starts; the limit holds for the whole process.
    """
    # threadpoolctl finds the runtimes among the libraries already loaded:
    # numpy's BLAS is loaded with numpy.
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


def blas_threads() -> int:
    """How many threads numpy's BLAS uses now (the largest over its runtimes; 1 if none)."""
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info

    return max((int(pool["num_threads"]) for pool in threadpool_info()), default=1)
