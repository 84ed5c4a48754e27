"""`bpdebug export -o train.py / train.ipynb`: standalone PyTorch scripts that check themselves.

A script rebuilds step N, makes K updates with torch.optim on bpdebug's
batches and compares every parameter with bpdebug's at N+K. These tests run
the scripts (one in a fresh, isolated interpreter; the rest in-process,
which is the same code without paying for torch's import each time), check
that they import nothing but torch and the standard library, and that a
script whose embedded numbers were changed fails.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from extras import need
from test_torch_check import scenario

from bpdebug.cli import main

torch = need("torch")

ROOT = Path(__file__).resolve().parent.parent


def export(tmp_path: Path, scenario_arg: str, *args: str, name: str = "train.py") -> Path:
    out = tmp_path / name
    status = main(["export", scenario_arg, "-o", str(out), *args])
    assert status == 0
    return out


def run_code(source: str) -> tuple[int, str]:
    """Run a script's source in-process: (exit status, what it printed)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        try:
            exec(compile(source, "train.py", "exec"), {"__name__": "__main__"})
        except SystemExit as done:
            return int(done.code or 0), printed.getvalue()
    return 0, printed.getvalue()


def imports_of(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_script_runs_standalone_and_passes(tmp_path: Path) -> None:
    """In a fresh interpreter isolated from PYTHONPATH and the working folder, exit 0."""
    script = export(tmp_path, "spiral", "--step", "12", "--steps", "5")
    source = script.read_text(encoding="utf-8")
    assert imports_of(source) <= {"math", "torch"}
    assert source.count("\n# %%\n") == 5 and "# %% [markdown]" in source
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-I", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all 6 tensors allclose to bpdebug's at step 17" in done.stdout


@pytest.mark.parametrize("name", ["xor", "chain", "circle", "digits", "dying_relu", "vanishing"])
def test_bundled_scenarios_export_scripts_that_pass(name: str, tmp_path: Path) -> None:
    """Shuffled minibatches across an epoch's end (circle: 20 batches an epoch), momentum."""
    script = export(tmp_path, name, "--step", "15", "--steps", "10")
    status, printed = run_code(script.read_text(encoding="utf-8"))
    assert status == 0, printed
    assert "allclose to bpdebug's at step 25" in printed


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize(("l1", "l2"), [(0.0, 0.0), (0.01, 0.02)])
def test_every_optimizer_and_regularization(
    optimizer: str, l1: float, l2: float, tmp_path: Path
) -> None:
    """The state at step N (t > 0) is carried into torch.optim; 2 examples a batch, shuffled."""
    path = scenario(tmp_path, "softmax", "cross_entropy", "leaky_relu", optimizer, l1, l2, False, 2)
    script = export(tmp_path, str(path), "--step", "6")
    source = script.read_text(encoding="utf-8")
    assert "START_STEP, STEPS, UPDATES_SO_FAR = 6, 10, 6" in source  # the default K is 10
    if optimizer != "sgd":
        assert "momentum_buffer" in source or "exp_avg_sq" in source
    status, printed = run_code(source)
    assert status == 0, printed


def _tamper(source: str, table: str, key: str) -> str:
    """`source` with the first number of `table[key]` changed in its 4th significant digit."""
    start = source.index(f"{table} = {{")
    at = source.index(f'\'{key}\': numbers("""\n', start) + len(f'\'{key}\': numbers("""\n')
    match = re.compile(r"-?\d+\.\d+(e-?\d+)?").match(source, at)
    assert match is not None
    value = float(match.group())
    changed = repr(value * (1 + 1e-3) + 1e-3)
    return source[:at] + changed + source[match.end() :]


@pytest.mark.parametrize(
    ("table", "key"),
    [("PARAMETERS", "0.weight"), ("EXPECTED", "2.bias"), ("OPTIMIZER_STATE", "2.weight")],
)
def test_a_tampered_script_fails(table: str, key: str, tmp_path: Path) -> None:
    script = export(tmp_path, "digits", "--step", "3", "--steps", "3")
    source = script.read_text(encoding="utf-8")
    assert run_code(source)[0] == 0
    status, printed = run_code(_tamper(source, table, key))
    assert status == 1, printed
    assert "differ from bpdebug's" in printed


def test_the_batch_order_matters(tmp_path: Path) -> None:
    """Swapping two updates' batches fails the check: the script really replays bpdebug's order."""
    script = export(tmp_path, "circle", "--step", "0", "--steps", "4")
    source = script.read_text(encoding="utf-8")
    line = next(line for line in source.splitlines() if line.startswith("BATCHES = "))
    batches = json.loads(line.removeprefix("BATCHES = "))
    swapped = [batches[1], batches[0], *batches[2:]]
    status, printed = run_code(source.replace(line, f"BATCHES = {json.dumps(swapped)}"))
    assert status == 1, printed


def test_notebook_validates_and_its_cells_run_in_order(tmp_path: Path) -> None:
    nbformat = need("nbformat")
    notebook_path = export(tmp_path, "spiral", "--step", "4", "--steps", "3", name="train.ipynb")
    notebook = nbformat.read(str(notebook_path), as_version=4)
    nbformat.validate(notebook)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds == ["markdown", "code", "code", "code", "code", "code"]
    script = export(tmp_path, "spiral", "--step", "4", "--steps", "3", name="same.py")
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert all(source in script.read_text(encoding="utf-8") for source in code)
    status, printed = run_code("\n\n".join(code))
    assert status == 0, printed
    # A notebook is the same cells: change a number and its last cell fails.
    code[1] = _tamper(code[1], "PARAMETERS", "0.bias")
    assert run_code("\n\n".join(code))[0] == 1


def test_export_keeps_its_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Never overwrite without --force; --steps only for scripts; no temporary files left."""
    out = tmp_path / "train.py"
    out.write_text("mine", encoding="utf-8")
    assert main(["export", "xor", "-o", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "mine"
    assert main(["export", "xor", "-o", str(out), "--force", "--steps", "2"]) == 0
    assert "numbers(" in out.read_text(encoding="utf-8")
    assert main(["export", "xor", "-o", str(tmp_path / "x.json"), "--steps", "2"]) == 2
    assert "--steps" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]


def test_notebook_without_nbformat_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "nbformat", None)
    assert main(["export", "xor", "-o", str(tmp_path / "t.ipynb")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'bpdebug[notebook]'" in err
    assert not (tmp_path / "t.ipynb").exists()


def test_names_from_files_cannot_break_out_of_comments(tmp_path: Path) -> None:
    """A scenario's name and path (with a line break) stay text inside the script."""
    path = scenario(tmp_path, "sigmoid", "squared_error")
    text = path.read_text(encoding="utf-8")
    name = r'name = "x\"\"\" ; raise SystemExit(3) # \u2028raise SystemExit(4)"'
    text = re.sub(r'name = ".*"', lambda _: name, text)
    hostile = tmp_path / "a\nraise SystemExit(5)\n.toml"
    hostile.write_text(text, encoding="utf-8")
    script = export(tmp_path, str(hostile), "--steps", "1")
    source = script.read_text(encoding="utf-8")
    assert "\nraise" not in source
    status, printed = run_code(source)
    assert status == 0, printed


def test_the_readme_commands_work_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "Back to PyTorch"'s commands after the install line, run in an empty folder."""
    import shlex

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Back to PyTorch.*?```sh\n(.*?)\n```", readme, re.S)
    assert block is not None
    lines = block.group(1).splitlines()
    assert "pip install '.[torch,notebook]'" in lines[0]
    monkeypatch.chdir(tmp_path)
    for line in lines[1:]:
        for part in line.split("#")[0].split("&&"):
            argv = shlex.split(part)
            if argv[0] == "bpdebug":
                assert main(argv[1:]) == 0, part
            else:
                assert argv[0] == "python", part
                status, printed = run_code((tmp_path / argv[1]).read_text(encoding="utf-8"))
                assert status == 0, printed
    capsys.readouterr()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "spiral-110.safetensors",
        "train.ipynb",
        "train.py",
    ]
