"""Your own PyTorch model in bpdebug: its numbers equal PyTorch's, and what it can't take is
refused in one line (`bpdebug.to_scenario`, `bpdebug.debug`, `bpdebug import`)."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from extras import need

import bpdebug
from bpdebug.api import debug_app
from bpdebug.bridge.torch_in import NotImportable, from_state_dict, read_weights
from bpdebug.scenario import load_scenario, loads_scenario
from bpdebug.timeline import Timeline

torch = need("torch")
nn = torch.nn

REPO = Path(__file__).resolve().parent.parent


def model(*modules: object) -> object:
    return nn.Sequential(*modules)


MODELS = {
    # name: (modules, loss, optimizer, the targets' kind)
    "mixed-logits-ce": (
        lambda: model(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3)),
        "cross_entropy",
        "sgd",
        "classes",
    ),
    "softmax-ce-momentum": (
        lambda: model(nn.Linear(3, 4), nn.LeakyReLU(), nn.Linear(4, 3), nn.Softmax(dim=1)),
        "cross_entropy",
        "momentum",
        "classes",
    ),
    "sigmoid-bce-adam": (
        lambda: model(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1)),
        "binary_cross_entropy",
        "adam",
        "binary",
    ),
    "linear-squared": (
        lambda: model(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2), nn.Identity()),
        "squared_error",
        "sgd",
        "real",
    ),
}


def data(kind: str, units: int) -> tuple[object, object]:
    g = torch.Generator().manual_seed(3)
    X = torch.randn(6, 3, generator=g)
    if kind == "classes":
        return X, torch.tensor([0, 2, 1, 1, 0, 2])
    if kind == "binary":
        return X, torch.tensor([[0.0], [1.0], [1.0], [0.0], [1.0], [0.0]])
    return X, torch.randn(6, units, generator=g)


def torch_cost(out: object, y: object, loss: str, ends_in_logits: bool) -> object:
    """C as PyTorch users write it, for each of bpdebug's losses."""
    if loss == "cross_entropy":
        if ends_in_logits:
            return nn.functional.cross_entropy(out, y)
        return nn.functional.nll_loss(torch.log(out), y)
    if loss == "binary_cross_entropy":
        return nn.functional.binary_cross_entropy_with_logits(out, y)
    return ((out - y) ** 2).sum(dim=1).mean()


def torch_optimizer(name: str, params: object, lr: float) -> object:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8)


@pytest.mark.parametrize("case", sorted(MODELS))
def test_the_imported_network_computes_what_pytorch_computes(case: str) -> None:
    """z, a, delta, dW, db of step 0, then three updates, against torch in float64."""
    build, loss, optimizer, kind = MODELS[case]
    torch.manual_seed(7)
    net = build()
    X, y = data(kind, net[-2].out_features if isinstance(net[-1], nn.Identity) else 2)
    text = bpdebug.to_scenario(
        net, X, y, loss=loss, lr=0.05, optimizer=optimizer, batch_size=6, shuffle=False
    )
    timeline = Timeline(loads_scenario(text, "model.toml"))

    reference = copy.deepcopy(net).double()  # the same weights: every float32 is a float64
    linears = [m for m in reference if isinstance(m, nn.Linear)]
    ends_in_logits = isinstance(reference[-1], nn.Linear)
    opt = torch_optimizer(optimizer, reference.parameters(), 0.05)
    Xd = X.double()
    yd = y if kind == "classes" else y.double()
    for step in range(4):
        zs, activations = [], []
        a = Xd
        modules = list(reference)
        for i, module in enumerate(modules):
            a = module(a)
            if isinstance(module, nn.Linear):
                a.retain_grad()
                zs.append(a)
            if i + 1 == len(modules) or isinstance(modules[i + 1], nn.Linear):
                activations.append(a)  # a^(l): after layer l's activation, if any
        if ends_in_logits:  # bpdebug's a^(L) is the probabilities the loss takes
            logits = activations[-1]
            activations[-1] = logits.softmax(1) if loss == "cross_entropy" else logits.sigmoid()
        C = torch_cost(a, yd, loss, ends_in_logits)
        opt.zero_grad()
        C.backward()
        trace = timeline.trace
        assert trace.cost == pytest.approx(C.item(), rel=1e-12), step
        m = Xd.shape[0]
        for l, (z, linear) in enumerate(zip(zs, linears, strict=True), 1):
            np.testing.assert_allclose(trace.z[l], z.detach().numpy().T, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(
                trace.a[l], activations[l - 1].detach().numpy().T, rtol=1e-12, atol=1e-15
            )
            np.testing.assert_allclose(trace.delta[l], m * z.grad.numpy().T, rtol=1e-9, atol=1e-13)
            np.testing.assert_allclose(trace.dW[l], linear.weight.grad.numpy(), atol=1e-13)
            np.testing.assert_allclose(trace.db[l], linear.bias.grad.numpy(), atol=1e-13)
            np.testing.assert_allclose(
                timeline.state.params.W[l], linear.weight.detach().numpy(), rtol=1e-12, atol=1e-15
            )
        opt.step()
        timeline.next()


@pytest.mark.parametrize(
    ("modules", "message"),
    [
        (
            lambda: [nn.Linear(2, 3), nn.Dropout(), nn.Linear(3, 1)],
            "module 1 (Dropout): not supported; bpdebug takes Linear, ReLU, Tanh, Sigmoid,"
            " LeakyReLU(0.01), Identity and Softmax (last)",
        ),
        (
            lambda: [nn.Linear(2, 3, bias=False)],
            "module 0 (Linear): bias=False is not supported (every bpdebug layer has a bias b^(l))",
        ),
        (
            lambda: [nn.Linear(2, 3), nn.LeakyReLU(0.2), nn.Linear(3, 1)],
            "module 1 (LeakyReLU): slope 0.2; bpdebug's leaky_relu has slope 0.01",
        ),
        (
            lambda: [nn.Linear(2, 3), nn.Softmax(dim=0)],
            "module 1 (Softmax): dim=0; expected dim=1 (over the units of each example)",
        ),
        (
            lambda: [nn.Linear(2, 3), nn.Softmax(dim=1), nn.Linear(3, 2)],
            "module 1 (Softmax): only allowed as the last module",
        ),
        (
            lambda: [nn.Linear(2, 3), nn.ReLU(), nn.Tanh()],
            "module 2 (Tanh): an activation right after another activation",
        ),
        (
            lambda: [nn.ReLU(), nn.Linear(2, 3)],
            "module 0 (ReLU): an activation before the first Linear",
        ),
        (
            lambda: [nn.Linear(2, 3), nn.Linear(4, 1)],
            "module 1 (Linear): takes 4 inputs, but the layer before has 3 units",
        ),
        (lambda: [nn.ReLU()], "module 0 (ReLU): an activation before the first Linear"),
        (lambda: [nn.Flatten()], "module 0 (Flatten): not supported; bpdebug takes"),
    ],
)
def test_what_bpdebug_cannot_take_is_refused_by_index_and_type(
    modules: object, message: str
) -> None:
    X, y = torch.zeros(2, 2), torch.zeros(2, 1)
    with pytest.raises(NotImportable) as info:
        bpdebug.to_scenario(nn.Sequential(*modules()), X, y)
    assert str(info.value).startswith(message)


def test_only_a_sequential_is_taken() -> None:
    with pytest.raises(NotImportable, match=r"expected an nn\.Sequential, got Linear"):
        bpdebug.to_scenario(nn.Linear(2, 1), torch.zeros(2, 2), torch.zeros(2, 1))


def test_class_indices_become_one_hot_and_must_fit_the_outputs() -> None:
    net = nn.Sequential(nn.Linear(2, 3))
    X = torch.zeros(3, 2)
    text = bpdebug.to_scenario(net, X, torch.tensor([2, 0, 1]), loss="cross_entropy")
    targets = loads_scenario(text, "m.toml").data.targets
    np.testing.assert_array_equal(targets, np.eye(3)[[2, 0, 1]].T)
    with pytest.raises(NotImportable, match=r"class indices must be 0\.\.2, got 0\.\.3"):
        bpdebug.to_scenario(net, X, torch.tensor([3, 0, 1]), loss="cross_entropy")


def test_to_scenario_writes_a_file_that_loads_as_the_same_scenario(tmp_path: Path) -> None:
    net = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1), nn.Sigmoid())
    X, y = torch.rand(4, 2), torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    path = tmp_path / "net.toml"
    text = bpdebug.to_scenario(net, X, y, path, loss="binary_cross_entropy", name="mine")
    assert path.read_text(encoding="utf-8") == text
    scenario = load_scenario(path)
    assert scenario.name == "mine"
    assert scenario.network.activations == ("tanh", "sigmoid")
    np.testing.assert_array_equal(
        scenario.network.explicit_init[0].W, net[0].weight.detach().double().numpy()
    )
    with pytest.raises(FileExistsError):
        bpdebug.to_scenario(net, X, y, path)
    bpdebug.to_scenario(net, X, y, path, force=True)  # squared_error now
    assert load_scenario(path).network.loss == "squared_error"


async def test_debug_opens_the_app_on_the_models_weights() -> None:
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    X, y = torch.rand(5, 2), torch.tensor([0, 1, 1, 0, 1])
    app = debug_app(net, X, y, loss="cross_entropy", lr=0.5, name="mynet")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        d = app.debugger
        assert d.step == 0
        np.testing.assert_array_equal(d.params.W[2], net[2].weight.detach().double().numpy())
        assert d.timeline.scenario.network.activations == ("relu", "softmax")
        assert app.sub_title == "mynet (PyTorch)"
        await pilot.press("n")
        await pilot.pause()
        assert d.step == 1


def test_debug_without_a_terminal_says_what_to_do_instead() -> None:
    code = (
        "import torch, bpdebug\n"
        "net = torch.nn.Sequential(torch.nn.Linear(2, 1))\n"
        "bpdebug.debug(net, torch.zeros(2, 2), torch.zeros(2, 1))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode != 0
    assert "RuntimeError: bpdebug.debug needs a terminal; in a notebook" in result.stderr


# -- weights alone --------------------------------------------------------------------


def test_pt_and_safetensors_weights_give_the_same_network(tmp_path: Path) -> None:
    safetensors_torch = need("safetensors.torch")
    net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    torch.save(net.state_dict(), tmp_path / "w.pt")
    safetensors_torch.save_file(net.state_dict(), tmp_path / "w.safetensors")
    for name in ("w.pt", "w.safetensors"):
        got = from_state_dict(read_weights(tmp_path / name), (2, 4, 1), ("tanh", "linear"))
        assert got.layers == (2, 4, 1)
        for l, linear in ((0, net[0]), (1, net[2])):
            np.testing.assert_array_equal(got.W[l], linear.weight.detach().double().numpy())
            np.testing.assert_array_equal(got.b[l], linear.bias.detach().double().numpy())


class Boom:
    """Unpickling this would run code (it creates a file): weights_only must refuse it."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (Path(self.marker),))  # type: ignore[return-value]


def test_a_pt_file_that_would_run_code_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    torch.save({"0.weight": torch.zeros(1, 2), "evil": Boom(str(marker))}, tmp_path / "evil.pt")
    with pytest.raises(NotImportable, match="not a readable state dict"):
        read_weights(tmp_path / "evil.pt")
    assert not marker.exists()


def test_weights_that_do_not_fit_the_layers_name_the_tensor(tmp_path: Path) -> None:
    net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    torch.save(net.state_dict(), tmp_path / "w.pt")
    tensors = read_weights(tmp_path / "w.pt")
    with pytest.raises(NotImportable, match=r"0\.weight: expected shape \(3, 2\) for W\^\(1\)"):
        from_state_dict(tensors, (2, 3, 1), ("tanh", "linear"))
    with pytest.raises(NotImportable, match="expected 1 weight matrices and 1 bias vectors"):
        from_state_dict(tensors, (2, 1), ("linear",))
    with pytest.raises(NotImportable, match="--activations: expected 2 names"):
        from_state_dict(tensors, (2, 4, 1), ("tanh",))


# -- the command ----------------------------------------------------------------------


def bpdebug_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bpdebug", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


MODEL_PY = """\
import torch
torch.manual_seed(1)
net = torch.nn.Sequential(
    torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1), torch.nn.Sigmoid()
)
torch.save(net.state_dict(), "net.pt")
"""


@pytest.mark.cli
def test_bpdebug_import_from_a_model_file_and_from_its_weights(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(MODEL_PY)
    first = bpdebug_cli(
        "import", "model.py:net", "-o", "a.toml", "--data", "xor",
        "--loss", "binary_cross_entropy", cwd=tmp_path,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("wrote a.toml: layers 2-8-1 tanh/sigmoid, binary_cross_entropy")
    second = bpdebug_cli(
        "import", "net.pt", "-o", "b.toml", "--data", "xor", "--layers", "2,8,1",
        "--activations", "tanh,sigmoid", "--loss", "binary_cross_entropy", cwd=tmp_path,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    a, b = (load_scenario(tmp_path / f) for f in ("a.toml", "b.toml"))
    for x, y in zip(a.network.explicit_init, b.network.explicit_init, strict=True):
        np.testing.assert_array_equal(x.W, y.W)
        np.testing.assert_array_equal(x.b, y.b)
    run = bpdebug_cli("run", "a.toml", "--steps", "3", cwd=tmp_path)
    assert run.returncode == 0 and run.stdout.startswith("step 3")
    again = bpdebug_cli("import", "model.py:net", "-o", "a.toml", "--data", "xor", cwd=tmp_path)
    assert (again.returncode, again.stderr) == (
        2,
        "bpdebug: a.toml: exists; pass --force to overwrite\n",
    )


@pytest.mark.cli
@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["model.py:nope", "--data", "xor"], "bpdebug: model.py: defines no 'nope'"),
        (["missing.py:net", "--data", "xor"], "bpdebug: missing.py: no such file"),
        (["model.py:net", "--data", "moons"], "bpdebug: --data: expected a generator (xor,"),
        (["model.py:net", "--data", "xor", "--loss", "mse"], "bpdebug: --loss: expected one of"),
        (["net.pt", "--data", "xor"], "bpdebug: net.pt: weights alone need --layers and"),
        (
            ["broken.py:net", "--data", "xor"],
            "bpdebug: broken.py: running it raised ZeroDivisionError",
        ),
        (["data.csv", "--data", "xor"], "bpdebug: data.csv: expected FILE.py:NAME"),
    ],
)
def test_bpdebug_import_errors_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], error: str
) -> None:
    (tmp_path / "model.py").write_text(MODEL_PY)
    (tmp_path / "broken.py").write_text("1 / 0\n")
    result = bpdebug_cli("import", *args, "-o", "out.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(error), result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out.toml").exists()


@pytest.mark.cli
def test_bpdebug_import_with_csv_data_writes_its_path_relative_to_the_scenario(
    tmp_path: Path,
) -> None:
    (tmp_path / "model.py").write_text(MODEL_PY)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "points.csv").write_text("x,y,label\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    (tmp_path / "out").mkdir()
    result = bpdebug_cli(
        "import", "model.py:net", "-o", "out/net.toml", "--data", "data/points.csv",
        "--target-columns", "label", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "out" / "net.toml").read_text()
    assert 'csv = "../data/points.csv"' in text and 'target_columns = ["label"]' in text
    assert load_scenario(tmp_path / "out" / "net.toml").data.size == 4
