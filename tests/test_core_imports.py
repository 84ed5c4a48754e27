"""The core/UI boundary, checked rather than trusted (harlequin's habit).

Each headless module is imported in a fresh interpreter, which must end with
no UI toolkit in sys.modules: the engine, training, timeline and scenario
code stay numpy-only, so scripts and servers start fast and need no terminal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

UI_MODULES = ("textual", "rich", "plotext", "textual_plotext")
"""Top-level packages only tui/ may import."""

CORE_MODULES = (
    "bpdebug",
    "bpdebug.engine",
    "bpdebug.engine.activations",
    "bpdebug.engine.losses",
    "bpdebug.engine.network",
    "bpdebug.engine.optimizers",
    "bpdebug.engine.init",
    "bpdebug.engine.gradcheck",
    "bpdebug.training",
    "bpdebug.breakpoints",
    "bpdebug.chainrule",
    "bpdebug.operands",
    "bpdebug.timeline",
    "bpdebug.health",
    "bpdebug.motion",
    "bpdebug.update_rule",
    "bpdebug.threads",
    "bpdebug.scenario",
    "bpdebug.scenario.loader",
    "bpdebug.scenario.model",
    "bpdebug.errors",
    "bpdebug.files",
    "bpdebug.snapshot",
    "bpdebug.snapshot.reopen",
    "bpdebug.debugger",  # the debugger's state; its docstring promises no Textual
    "bpdebug.api",  # notebooks and scripts
    "bpdebug.summary",
    "bpdebug.bridge",
)
"""Modules that must never pull in a UI toolkit, alone or together."""

HEADLESS_ENTRY = ("bpdebug.cli",)
"""The command line module: `bpdebug run/export/check` must start without Textual."""


def imported_after(modules: tuple[str, ...]) -> set[str]:
    """Top-level package names in sys.modules after importing `modules` in a fresh interpreter."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_all_core_modules_together_import_no_ui() -> None:
    loaded = imported_after(CORE_MODULES)
    assert "bpdebug" in loaded and "numpy" in loaded  # the check did import them
    assert not loaded & set(UI_MODULES), f"UI toolkit imported: {loaded & set(UI_MODULES)}"


@pytest.mark.parametrize(
    "module", ["bpdebug.engine", "bpdebug.timeline", "bpdebug.scenario", "bpdebug.snapshot"]
)
def test_each_layer_alone_imports_no_ui(module: str) -> None:
    loaded = imported_after((module,))
    assert not loaded & set(UI_MODULES)


def test_import_bpdebug_alone_loads_no_numpy_and_no_extra() -> None:
    """The API is imported on first use: `import bpdebug` stays cheap."""
    loaded = imported_after(("bpdebug",))
    assert not loaded & {"numpy", "torch", "safetensors", "nbformat", "textual_serve"}


def test_no_core_module_imports_an_optional_extra() -> None:
    loaded = imported_after(CORE_MODULES)
    assert not loaded & {"torch", "safetensors", "nbformat", "textual_serve"}


def test_engine_imports_numpy_only() -> None:
    """The engine depends on numpy and the standard library, not on scenario loading."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import bpdebug.engine\n"
        "import json\n"
        "print(json.dumps(sorted(m for m in set(sys.modules) - before"
        " if m.startswith('bpdebug.'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert all(m.startswith("bpdebug.engine") for m in loaded), loaded


def test_cli_module_imports_no_ui() -> None:
    loaded = imported_after(HEADLESS_ENTRY)
    assert not loaded & set(UI_MODULES)
