"""bpdebug: a terminal step-through debugger for backpropagation.

The Python API (`load`, `load_snapshot`, `debug`, `to_scenario`) is
imported on first use, so `import bpdebug` and the headless commands stay
cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from bpdebug.api import Session, debug, load, load_snapshot, to_scenario

__all__ = ["Session", "__version__", "debug", "load", "load_snapshot", "to_scenario"]

_LAZY = dict.fromkeys(("Session", "debug", "load", "load_snapshot", "to_scenario"), "bpdebug.api")


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'bpdebug' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
