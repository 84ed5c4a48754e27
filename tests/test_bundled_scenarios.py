"""The scenarios that ship with bpdebug: they load, they are listed, and they teach.

The training checks use the engine directly, so they also prove the lesson
each file promises (XOR is learned, the walk-through's numbers appear).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bpdebug.engine import (
    Network,
    OptimizerConfig,
    Params,
    apply_update,
    init_params,
    initial_state,
)
from bpdebug.scenario import (
    InputError,
    Scenario,
    bundled_dir,
    list_bundled,
    load_scenario,
    resolve_scenario_arg,
)

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((REPO / "scenarios").glob("*.toml"))
EXPECTED = {
    "chain",
    "circle",
    "digits",
    "dying_relu",
    "seed_example",
    "spiral",
    "vanishing",
    "wide",
    "xor",
}


def network_of(scenario: Scenario) -> Network:
    spec = scenario.network
    return Network(spec.layers, spec.activation, spec.output, spec.loss)


def start_of(scenario: Scenario) -> Params:
    spec = scenario.network
    explicit = [(layer.W, layer.b) for layer in spec.explicit_init]
    return init_params(spec.layers, spec.init, scenario.seed, spec.init_range, explicit)


def test_the_expected_scenarios_are_there() -> None:
    assert {path.stem for path in SCENARIOS} >= EXPECTED


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.stem for path in SCENARIOS])
def test_every_bundled_scenario_loads_and_describes_itself(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name
    assert scenario.description
    assert "\n" not in scenario.description
    assert scenario.data.inputs.shape == (scenario.network.layers[0], scenario.data.size)
    assert scenario.data.targets.shape == (scenario.network.layers[-1], scenario.data.size)
    assert 1 <= scenario.training.batch_size <= scenario.data.size
    # Lessons are commented: every file opens with a comment block.
    assert path.read_text(encoding="utf-8").startswith("#")


def test_list_bundled_finds_them_sorted_with_descriptions() -> None:
    listed = list_bundled()
    names = [entry.name for entry in listed]
    assert names == sorted(names)
    assert set(names) >= EXPECTED
    for entry in listed:
        assert entry.path.is_file()
        assert entry.path.stem == entry.name
        assert entry.description == load_scenario(entry.path).description


def test_bundled_dir_falls_back_to_the_checkout() -> None:
    folder = bundled_dir()
    assert folder is not None
    assert folder.resolve() in {
        (REPO / "scenarios").resolve(),
        (REPO / "bpdebug" / "_scenarios").resolve(),
    }


def test_resolve_prefers_an_existing_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "xor").write_text("mine", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert resolve_scenario_arg("xor") == Path("xor")


def test_resolve_finds_bundled_names_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = bundled_dir()
    assert folder is not None
    assert resolve_scenario_arg("xor") == folder / "xor.toml"
    assert resolve_scenario_arg("spiral.toml") == folder / "spiral.toml"
    assert load_scenario(resolve_scenario_arg("xor")).name == "XOR"


def test_resolve_leaves_unknown_names_for_the_loader_to_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_scenario_arg("nonesuch") == Path("nonesuch")
    assert resolve_scenario_arg("sub/xor") == Path("sub/xor")
    with pytest.raises(InputError) as info:
        load_scenario(resolve_scenario_arg("nonesuch"))
    assert str(info.value) == "nonesuch: no such file"


def test_xor_is_the_contract_example_and_learns_xor() -> None:
    scenario = load_scenario(REPO / "scenarios" / "xor.toml")
    assert scenario.name == "XOR" and scenario.seed == 0
    assert scenario.network.layers == (2, 2, 1)
    assert (scenario.network.activation, scenario.network.output) == ("sigmoid", "sigmoid")
    assert scenario.network.loss == "squared_error"
    training = scenario.training
    assert (training.learning_rate, training.batch_size, training.optimizer) == (1.0, 4, "sgd")
    np.testing.assert_array_equal(scenario.data.targets, [[0, 1, 1, 0]])

    network, params = network_of(scenario), start_of(scenario)
    config = OptimizerConfig("sgd", training.learning_rate)
    state = initial_state(config, params)
    X, Y = scenario.data.inputs, scenario.data.targets
    for _ in range(3000):
        trace = network.trace(params, X, Y)
        params, state = apply_update(config, params, trace.dW, trace.db, state)
    assert network.cost(params, X, Y) < 0.01
    _, a = network.forward(params, X)
    np.testing.assert_array_equal(a[-1] > 0.5, Y > 0.5)


def test_seed_example_shows_the_walk_through_numbers() -> None:
    scenario = load_scenario(REPO / "scenarios" / "seed_example.toml")
    W = np.array([[0.1, 0.3], [0.2, 0.4]])
    for layer in scenario.network.explicit_init:
        np.testing.assert_array_equal(layer.W, W)
        np.testing.assert_array_equal(layer.b, [0.1, 0.1])
    np.testing.assert_array_equal(scenario.data.inputs, [[0.5], [0.2]])
    trace = network_of(scenario).trace(
        start_of(scenario), scenario.data.inputs, scenario.data.targets
    )
    np.testing.assert_allclose(trace.z[1][:, 0], [0.21, 0.28])
    np.testing.assert_allclose(trace.delta[2][:, 0], [0.1, 0.2], atol=1e-6)
    np.testing.assert_allclose(trace.delta[1][:, 0], [0.01236, 0.02697], atol=1e-5)
    np.testing.assert_allclose(trace.dW[1], [[0.00618, 0.00247], [0.01348, 0.00539]], atol=1e-5)


def test_chain_is_one_neuron_per_layer_and_obeys_the_chain_rule() -> None:
    scenario = load_scenario(REPO / "scenarios" / "chain.toml")
    assert scenario.network.layers == (1, 1, 1, 1)
    X, Y = scenario.data.inputs, scenario.data.targets
    trace = network_of(scenario).trace(start_of(scenario), X, Y)
    a, z = trace.a, trace.z
    sigma_prime = a[3] * (1 - a[3])
    by_hand = (a[2] * sigma_prime * 2 * (a[3] - Y)).mean()  # dC/dw^(L), batch mean
    np.testing.assert_allclose(trace.dW[3][0, 0], by_hand)
    assert z[3].shape == (1, 2)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stem", "steps", "accuracy"),
    [("circle", 3000, 0.95), ("spiral", 5000, 0.85), ("digits", 1000, 0.95), ("wide", 500, 0.95)],
)
def test_generated_scenarios_learn(stem: str, steps: int, accuracy: float) -> None:
    """Each generated lesson reaches a decent accuracy with its own settings."""
    from bpdebug.training import Trainer

    scenario = load_scenario(REPO / "scenarios" / f"{stem}.toml")
    trainer = Trainer(scenario)
    state = trainer.initial_state()
    for _ in range(steps):
        state = trainer.advance(state, trainer.trace(state))
    _, a = trainer.network.forward(state.params, scenario.data.inputs)
    out, Y = a[-1], scenario.data.targets
    if Y.shape[0] == 1:
        correct = (out > 0.5) == (Y > 0.5)
    else:
        correct = out.argmax(axis=0) == Y.argmax(axis=0)
    assert correct.mean() >= accuracy
