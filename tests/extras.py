"""Optional extras in tests: skipped on a developer's machine without them, required in CI.

`.ci/run` installs every extra (the README's test command), so there a
missing one is a failure, never a skip that hides one.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def need(module: str) -> ModuleType:
    """Import `module` for a test module: skip without it, except under CI=true."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return importlib.import_module(module)
    return pytest.importorskip(module)
