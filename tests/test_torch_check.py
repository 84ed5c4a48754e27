"""`bpdebug check --against torch`: bpdebug's step against an independent PyTorch rebuild.

Every bundled scenario, every optimizer, l1/l2, every output/loss pair the
loader accepts, and, as important, that a wrong number in bpdebug (one
activation's derivative, one update, one layer's db) makes it exit 1.
"""

from __future__ import annotations

import ast
import itertools
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from extras import need

from bpdebug.bridge import TORCH_ACTIVATIONS
from bpdebug.cli import main

torch = need("torch")

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))
OUTPUTS_FOR_LOSS = {
    "squared_error": ("sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"),
    "half_squared_error": ("sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"),
    "cross_entropy": ("softmax", "sigmoid"),
    "binary_cross_entropy": ("sigmoid", "softmax"),
}
PAIRS = [(out, loss) for loss, outs in OUTPUTS_FOR_LOSS.items() for out in outs]
HIDDEN = ("sigmoid", "tanh", "relu", "leaky_relu", "linear")


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    """Run `bpdebug check ... --against torch` in-process: (status, stdout lines, stderr)."""
    status = main(["check", *args, "--against", "torch"])
    out = capsys.readouterr()
    return status, out.out.splitlines(), out.err


def scenario(
    tmp_path: Path,
    output: str,
    loss: str,
    hidden: str = "tanh",
    optimizer: str = "sgd",
    l1: float = 0.0,
    l2: float = 0.0,
    soft_targets: bool = False,
    batch_size: int = 4,
) -> Path:
    """A 3-4-n scenario file with inline data fit for `output` and `loss`, 8 examples."""
    rng = np.random.default_rng(7)
    n_out = 2 if output == "softmax" else 1
    X = rng.normal(size=(8, 3))
    if loss in ("cross_entropy", "binary_cross_entropy") or output == "softmax":
        labels = rng.integers(0, 2, size=8)
        Y = np.eye(2)[labels] if n_out == 2 else labels[:, None].astype(float)
        if soft_targets:
            Y = rng.uniform(0.0, 1.0, size=(8, n_out))  # not one-hot: a sum(y) - y
    else:
        Y = rng.uniform(-0.5, 1.0, size=(8, n_out))
    text = f"""
name = "torch pairing {output} {loss}"
seed = 3
[network]
layers = [3, 4, {n_out}]
activation = "{hidden}"
output = "{output}"
loss = "{loss}"
[data]
inputs = {X.tolist()}
targets = {Y.tolist()}
[training]
learning_rate = 0.3
batch_size = {batch_size}
optimizer = "{optimizer}"
l1 = {l1}
l2 = {l2}
"""
    path = tmp_path / f"{output}-{loss}-{hidden}-{optimizer}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def verdict_ok(lines: list[str]) -> bool:
    return lines[-1].startswith("all ") and "tensors allclose" in lines[-1]


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_scenario_agrees_with_torch(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Step 0 and step 7 of each bundled scenario: every tensor allclose, status 0."""
    for step in ("0", "7"):
        status, lines, err = check(capsys, name, "--step", step)
        assert status == 0, "\n".join(lines) + err
        assert verdict_ok(lines), lines[-1]
        assert all(len(line) <= 76 for line in lines)
        assert lines[0].startswith("torch check") and f"step {step}" in lines[0]


@pytest.mark.parametrize(("output", "loss"), PAIRS)
def test_every_output_and_loss_pair(
    output: str, loss: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each pair the loader accepts, a hidden activation and an optimizer per pair, step 3."""
    i = PAIRS.index((output, loss))
    hidden = HIDDEN[i % len(HIDDEN)]
    optimizer = ("sgd", "momentum", "adam")[i % 3]
    path = scenario(tmp_path, output, loss, hidden, optimizer)
    status, lines, err = check(capsys, str(path), "--step", "3")
    assert status == 0, "\n".join(lines) + err
    assert verdict_ok(lines)


@pytest.mark.parametrize(
    ("optimizer", "l1", "l2"),
    list(itertools.product(("sgd", "momentum", "adam"), (0.0, 0.01), (0.0, 0.02))),
)
def test_every_optimizer_with_and_without_regularization(
    optimizer: str, l1: float, l2: float, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The update and the optimizer's state after it, at step 0 (torch's own fresh state)
    and at step 5 (bpdebug's state injected), with the l1/l2 gradient row when it is on."""
    path = scenario(tmp_path, "sigmoid", "binary_cross_entropy", "relu", optimizer, l1, l2)
    for step in ("0", "5"):
        status, lines, err = check(capsys, str(path), "--step", step)
        assert status == 0, "\n".join(lines) + err
        names = [line[:16].rstrip() for line in lines[2:-3]]
        assert ("dW^(1)+reg" in names) == bool(l1 or l2)
        assert "W^(1) next" in names and "b^(2) next" in names
        slots = {"sgd": [], "momentum": ["vW^(1) next"], "adam": ["mW^(1) next", "vb^(2) next"]}
        assert all(slot in names for slot in slots[optimizer])


def test_soft_targets_and_whole_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """softmax + cross-entropy on targets that are not one-hot (delta = a sum(y) - y)."""
    path = scenario(tmp_path, "softmax", "cross_entropy", soft_targets=True, batch_size=8)
    status, lines, _ = check(capsys, str(path), "--step", "2")
    assert status == 0 and verdict_ok(lines)


def _perturb_sigmoid_derivative(monkeypatch: pytest.MonkeyPatch) -> str:
    from bpdebug.engine import activations

    original = activations.Sigmoid.derivative

    def wrong(self: Any, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        out: np.ndarray = original(self, z, a) * (1.0 + 1e-7)
        return out

    monkeypatch.setattr(activations.Sigmoid, "derivative", wrong)
    return "delta^(1)"


def _perturb_one_update(monkeypatch: pytest.MonkeyPatch) -> str:
    from bpdebug.engine import network, optimizers

    original = optimizers.Sgd.update

    def wrong(self: Any, params: Any, grad_W: Any, grad_b: Any, state: Any) -> Any:
        new, opt = original(self, params, grad_W, grad_b, state)
        W1 = np.array(new.W[1])
        W1[0, 0] += 1e-8  # one weight, one part in about 10^8
        return network.Params((new.W[0], W1, *new.W[2:]), new.b), opt

    monkeypatch.setattr(optimizers.Sgd, "update", wrong)
    return "W^(1) next"


def _perturb_first_layer_db(monkeypatch: pytest.MonkeyPatch) -> str:
    from bpdebug.engine import network

    original = network.Network.trace_unguarded

    def wrong(self: Any, params: Any, X: Any, Y: Any, frozen: bool = True) -> Any:
        trace = original(self, params, X, Y, frozen)
        db = list(trace.db)
        db[1] = db[1] * (1.0 + 1e-6)  # vanishing's layer 1: gradients near 1e-8
        object.__setattr__(trace, "db", tuple(db))
        return trace

    monkeypatch.setattr(network.Network, "trace_unguarded", wrong)
    return "db^(1)"


@pytest.mark.parametrize(
    ("scenario_name", "perturb"),
    [
        ("xor", _perturb_sigmoid_derivative),
        ("circle", _perturb_one_update),
        ("vanishing", _perturb_first_layer_db),
    ],
)
def test_a_wrong_number_in_bpdebug_fails_the_check(
    scenario_name: str,
    perturb: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A perturbation far below what a user would notice is caught, named, and exits 1."""
    status, lines, _ = check(capsys, scenario_name, "--step", "2")
    assert status == 0, "\n".join(lines)
    expected = perturb(monkeypatch)
    status, lines, _ = check(capsys, scenario_name, "--step", "2")
    assert status == 1, "\n".join(lines)
    assert "differ" in lines[-1] and expected in lines[-1], lines[-1]
    row = next(line for line in lines if line.startswith(expected + " "))
    assert " NO " in row


def test_missing_torch_is_one_line_and_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    status = main(["check", "xor", "--against", "torch"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert "bpdebug check --against torch needs torch" in err
    assert "pip install 'bpdebug[torch]'" in err


def test_finite_difference_options_are_refused_with_against(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "xor", "--against", "torch", "--h", "1e-4"]) == 2
    assert "--h and --sample" in capsys.readouterr().err
    assert main(["check", "xor", "--against", "numpy"]) == 2


def test_the_reference_imports_nothing_of_bpdebug() -> None:
    """torch_ref is an independent implementation, and exported scripts embed its source."""
    source = (ROOT / "bpdebug" / "bridge" / "torch_ref.py").read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module is not None
            imported.add(node.module.split(".")[0])
    assert imported <= {"math", "torch"}, imported


def test_activation_modules_match_the_bridge_table() -> None:
    from bpdebug.bridge.torch_ref import activation_module

    for name, module in TORCH_ACTIVATIONS.items():
        assert type(activation_module(name)).__name__ == module
    assert activation_module("leaky_relu").negative_slope == 0.01
    assert activation_module("softmax").dim == 1


def test_compare_tells_exact_close_and_far() -> None:
    from bpdebug.bridge.torch_ref import compare

    x = torch.tensor([1.0, 2.0, float("nan")], dtype=torch.float64)
    assert compare("x", x, x.clone())[1:3] == (True, True)
    nudged = x.clone()
    nudged[0] = np.nextafter(1.0, 2.0)
    assert compare("x", nudged, x)[1:3] == (False, True)
    far = x.clone()
    far[1] = 2.0 + 1e-6
    assert compare("x", far, x)[1:3] == (False, False)
    inf = x.clone()
    inf[0] = float("inf")
    _, _, close, worst = compare("x", inf, x)
    assert not close and worst == float("inf")
    assert compare("x", x[:2], x)[1:] == (False, False, float("inf"))
