"""A command that needs an optional extra says which one to install, in one line, exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bpdebug.cli import main


@pytest.fixture
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if torch and safetensors were not installed (None in sys.modules fails the import)."""
    for name in ("torch", "safetensors", "safetensors.numpy"):
        monkeypatch.setitem(sys.modules, name, None)


def test_import_from_a_model_file_without_torch(
    no_torch: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "model.py").write_text("net = None\n")
    status = main(
        ["import", f"{tmp_path}/model.py:net", "-o", str(tmp_path / "n.toml"), "--data", "xor"]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert err == (
        "bpdebug: importing a PyTorch model needs torch, which is not installed:"
        " pip install 'bpdebug[torch]'\n"
    )
    assert not (tmp_path / "n.toml").exists()


@pytest.mark.parametrize(
    ("weights", "module"), [("w.safetensors", "safetensors"), ("w.pt", "torch")]
)
def test_import_weights_without_the_extra(
    no_torch: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    weights: str,
    module: str,
) -> None:
    (tmp_path / weights).write_bytes(b"")
    args = ["import", str(tmp_path / weights), "-o", str(tmp_path / "n.toml"), "--data", "xor"]
    status = main([*args, "--layers", "2,1", "--activations", "sigmoid"])
    err = capsys.readouterr().err
    assert status == 2
    assert f"needs {module}, which is not installed: pip install 'bpdebug[torch]'\n" in err
    assert err.count("\n") == 1
