"""Loading never runs code, data paths are anchored at the scenario, and a scenario cannot make
bpdebug write anything.

The pickled-.npz refusal (a payload that would create a marker file) is in
tests/test_fuzz_snapshots.py.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpdebug.scenario import InputError, load_scenario, loads_scenario

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bpdebug"
SCRIPT = Path(sys.executable).parent / "bpdebug"
XOR = (ROOT / "scenarios" / "xor.toml").read_text(encoding="utf-8")
SOURCES = sorted(PACKAGE.rglob("*.py"))
FORBIDDEN = (
    r"(?<![.\w])(eval|exec|compile|__import__)\(",  # the builtins, not re.compile
    r"allow_pickle\s*=\s*True",
    r"\b(import|from) (pickle|cPickle|marshal|shelve|dill|joblib)\b",
    r"\bpickle\.",
    r"\byaml\.(load|unsafe_load)\(",
)
"""Code (comments stripped) that could run what a file holds."""


def test_the_package_has_no_pickle_eval_or_exec() -> None:
    """A plain grep of the source: only allow_pickle=False may mention pickling in code."""
    assert len(SOURCES) > 20
    found = []
    for path in SOURCES:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if any(re.search(pattern, code) for pattern in FORBIDDEN):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == []


def test_every_np_load_refuses_pickles() -> None:
    """Every np.load/np.savez* call in the package passes allow_pickle=False."""
    calls = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("load", "savez", "savez_compressed", "save")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("np", "numpy")
            ):
                keywords = {k.arg: k.value for k in node.keywords}
                flag = keywords.get("allow_pickle")
                safe = isinstance(flag, ast.Constant) and flag.value is False
                calls.append((f"{path.name}:{node.lineno}", safe))
    assert calls, "expected np.load in export.py"
    assert [where for where, safe in calls if not safe] == []


def test_code_in_a_scenario_is_only_ever_text(tmp_path: Path) -> None:
    """Strings that would run code if evaluated stay strings (or are refused): nothing runs."""
    marker = tmp_path / "ran"
    payload = f"__import__('os').system('touch {marker}')"
    for text in (
        XOR.replace('name = "XOR"', f'name = "{payload}"'),
        XOR.replace('activation = "sigmoid"', f'activation = "{payload}"'),
        XOR.replace("learning_rate = 1.0", f'learning_rate = "{payload}"'),
        XOR.replace("layers = [2, 2, 1]", f'layers = "{payload}"'),
    ):
        try:
            scenario = loads_scenario(text, "s.toml")
        except InputError as error:
            assert payload[:20] in str(error) or "expected" in str(error)
        else:
            assert scenario.name == payload
    assert not marker.exists()


# ---------------------------------------------------------------- CSV paths
def csv_scenario(folder: Path, rows: str) -> Path:
    """A scenario in `folder` whose data is data/points.csv beside it."""
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "points.csv").write_text("x,y,label\n" + rows, encoding="utf-8")
    text = re.sub(
        r"(?ms)^\[\[network\.init\]\].*?(?=^\[data\])", "", XOR.replace("batch_size = 4", "")
    )
    text = re.sub(
        r"(?ms)^\[data\].*?(?=^\[training\])",
        '[data]\ncsv = "data/points.csv"\ntarget_columns = ["label"]\n\n',
        text,
    )
    path = folder / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_paths_resolve_beside_the_scenario_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decoy data/points.csv in the working folder is never read."""
    scenario = csv_scenario(tmp_path / "project", "1,2,1\n3,4,0\n")
    csv_scenario(tmp_path / "cwd", "9,9,9\n")  # the decoy, at the same relative path
    monkeypatch.chdir(tmp_path / "cwd")
    data = load_scenario(scenario).data
    np.testing.assert_array_equal(data.inputs, [[1, 3], [2, 4]])
    relative = os.path.relpath(scenario)
    assert relative.startswith("..")
    np.testing.assert_array_equal(load_scenario(relative).data.targets, [[1, 0]])


@pytest.mark.cli
def test_the_cli_reads_the_csv_beside_the_scenario(tmp_path: Path) -> None:
    scenario = csv_scenario(tmp_path / "project", "1,2,1\n3,4,0\n5,6,1\n")
    (tmp_path / "cwd").mkdir()
    out = subprocess.run(
        [str(SCRIPT), "validate", str(scenario)],
        cwd=tmp_path / "cwd",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "3 examples (csv data/points.csv)" in out.stdout


# -------------------------------------------------------------- no writing
@pytest.mark.parametrize(
    ("table", "line", "key"),
    [
        ("[export]", 'path = "/etc/x"', "export"),
        ("", 'output = "/etc/x"', "output"),
        ("", 'export_dir = "/tmp"', "export_dir"),
        ("[training]", 'checkpoint = "/etc/x"', "training.checkpoint"),
        ("[debug]", 'log = "/etc/x"', "debug.log"),
        ("[network]", 'save = "/etc/x"', "network.save"),
        ("[data]", 'cache = "/etc/x"', "data.cache"),
    ],
)
def test_the_scenario_format_has_no_output_path(table: str, line: str, key: str) -> None:
    """Any key that might name a place to write is an unknown key."""
    if not table:
        text = f"{line}\n{XOR}"
    elif f"{table}\n" in XOR:
        text = XOR.replace(f"{table}\n", f"{table}\n{line}\n", 1)
    else:
        text = f"{XOR}\n{table}\n{line}\n"
    with pytest.raises(InputError) as info:
        loads_scenario(text, "s.toml")
    assert info.value.key == key
    assert "unknown key" in info.value.message


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder`: (size, mtime in ns)."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


@pytest.mark.cli
@pytest.mark.parametrize(
    "args",
    [
        ["run", "s.toml", "--steps", "200"],
        ["validate", "s.toml"],
        ["check", "s.toml"],
        ["run", "bad.toml", "--steps", "5"],
    ],
)
def test_headless_commands_write_no_files(tmp_path: Path, args: list[str]) -> None:
    """`bpdebug run` (and validate, check) leave the folder and HOME exactly as they were."""
    work, home = tmp_path / "work", tmp_path / "home"
    home.mkdir()
    csv_scenario(work, "1,2,1\n3,4,0\n5,6,1\n")
    shutil.copy(ROOT / "scenarios" / "xor.toml", work / "xor.toml")
    (work / "bad.toml").write_text(XOR.replace("[2, 2, 1]", "[2, -2, 1]"), encoding="utf-8")
    before, home_before = tree(work), tree(home)
    out = subprocess.run(
        [str(SCRIPT), *args],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")},
    )
    assert out.returncode in (0, 2), out.stderr
    assert tree(work) == before
    assert tree(home) == home_before == {}
