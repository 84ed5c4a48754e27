"""Scenario loading: valid files become typed objects, bad ones one exact error line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpdebug.scenario import (
    MAX_PARAMETERS,
    MAX_UNITS,
    Breakpoint,
    InputError,
    load_scenario,
    loads_scenario,
)
from bpdebug.training import Trainer

REPO = Path(__file__).resolve().parent.parent
XOR_FILE = REPO / "scenarios" / "xor.toml"
SHOWN = "scenarios/x.toml"

# The contract's minimum scenario, with a [[network.init]] pair so that
# shape errors have something to break.
BASE = """\
name = "XOR"
seed = 0

[network]
layers = [2, 2, 1]
activation = "sigmoid"
output = "sigmoid"
loss = "squared_error"

[[network.init]]
W = [[0.1, 0.3], [0.2, 0.4]]
b = [0.1, 0.1]

[[network.init]]
W = [[0.5, -0.5]]
b = [0.1]

[data]
inputs  = [[0, 0], [0, 1], [1, 0], [1, 1]]
targets = [[0], [1], [1], [0]]

[training]
learning_rate = 1.0
batch_size = 4
optimizer = "sgd"
"""

MINIMAL = """\
[network]
layers = [2, 3, 1]

[data]
inputs = [[0, 0], [1, 1], [2, 2]]
targets = [[0], [1], [0]]
"""


PER = 'activation = "sigmoid"\noutput = "sigmoid"'
"""BASE's two activation keys, which `network.activations` replaces."""


MINIMAL_MIXED = """\
[network]
layers = [2, 2, 3, 1]
activations = ["tanh", "relu", "sigmoid"]
loss = "binary_cross_entropy"

[data]
inputs = [[0, 0], [1, 1], [2, 2]]
targets = [[0], [1], [0]]
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    """`text` with `old` (which must occur) replaced by `new`."""
    assert old in text, f"test setup: {old!r} not in the base scenario"
    return text.replace(old, new)


def error_of(text: str) -> str:
    """The one-line error that loading `text` as scenarios/x.toml gives."""
    with pytest.raises(InputError) as info:
        loads_scenario(text, SHOWN)
    message = str(info.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------- valid files


def test_contract_example_gives_the_right_shapes() -> None:
    scenario = loads_scenario(BASE, SHOWN)
    assert scenario.name == "XOR"
    assert scenario.path == Path(SHOWN)
    assert scenario.text == BASE
    assert scenario.network.layers == (2, 2, 1)
    assert scenario.network.depth == 2
    assert scenario.data.inputs.shape == (2, 4)
    assert scenario.data.targets.shape == (1, 4)
    assert scenario.data.inputs.dtype == np.float64
    np.testing.assert_array_equal(scenario.data.inputs, [[0, 0, 1, 1], [0, 1, 0, 1]])
    np.testing.assert_array_equal(scenario.data.targets, [[0, 1, 1, 0]])
    assert scenario.data.source == "inline"
    assert scenario.training.learning_rate == 1.0
    assert scenario.training.batch_size == 4
    assert scenario.training.optimizer == "sgd"


def test_explicit_init_is_read_only_float64_in_contract_shapes() -> None:
    init = loads_scenario(BASE, SHOWN).network.explicit_init
    assert len(init) == 2
    assert init[0].W.shape == (2, 2) and init[0].b.shape == (2,)
    assert init[1].W.shape == (1, 2) and init[1].b.shape == (1,)
    np.testing.assert_array_equal(init[0].W, [[0.1, 0.3], [0.2, 0.4]])
    for array in (init[0].W, init[0].b, init[1].W, init[1].b):
        assert array.dtype == np.float64
        assert not array.flags.writeable


def test_data_arrays_are_read_only() -> None:
    data = loads_scenario(BASE, SHOWN).data
    with pytest.raises(ValueError, match="read-only"):
        data.inputs[0, 0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        data.targets[0, 0] = 5.0


def test_defaults_fill_every_optional_key() -> None:
    scenario = loads_scenario(MINIMAL, "some/dir/tiny.toml")
    assert scenario.name == "tiny"  # the file stem
    assert scenario.description == ""
    assert scenario.seed == 0
    net = scenario.network
    assert (net.activation, net.output, net.loss) == ("sigmoid", "sigmoid", "squared_error")
    assert (net.init, net.init_range, net.explicit_init) == ("xavier", 0.5, ())
    training = scenario.training
    assert training.learning_rate == 0.1
    assert training.batch_size == 3  # the whole data set, stored as N
    assert training.optimizer == "sgd"
    assert (training.momentum, training.beta1, training.beta2) == (0.9, 0.9, 0.999)
    assert (training.eps, training.l1, training.l2, training.shuffle) == (1e-8, 0.0, 0.0, True)
    assert scenario.breakpoints == ()


def test_every_training_key_is_read_and_ints_count_as_floats() -> None:
    text = (
        MINIMAL
        + """
[training]
learning_rate = 1
batch_size = 2
optimizer = "adam"
momentum = 0
beta1 = 0.8
beta2 = 0.99
eps = 1e-6
l1 = 0.001
l2 = 1
shuffle = false
"""
    )
    training = loads_scenario(text, SHOWN).training
    assert training.learning_rate == 1.0 and isinstance(training.learning_rate, float)
    assert training.batch_size == 2
    assert training.optimizer == "adam"
    assert (training.momentum, training.beta1, training.beta2) == (0.0, 0.8, 0.99)
    assert (training.eps, training.l1, training.l2, training.shuffle) == (1e-6, 0.001, 1.0, False)
    assert isinstance(training.l2, float)


def test_network_options_and_description() -> None:
    text = edit(
        'activation = "sigmoid"',
        'activation = "tanh"\ninit_range = 2',
        edit('name = "XOR"', 'name = "XOR"\ndescription = "one line"'),
    )
    text = text.replace(text[text.index("[[network.init]]") : text.index("[data]")], "")
    text = edit('activation = "tanh"', 'activation = "tanh"\ninit = "uniform"', text)
    scenario = loads_scenario(text, SHOWN)
    assert scenario.description == "one line"
    assert scenario.network.activation == "tanh"
    assert scenario.network.init == "uniform"
    assert scenario.network.init_range == 2.0
    assert scenario.network.explicit_init == ()


def test_per_layer_activations_are_read_and_reach_the_engine() -> None:
    scenario = loads_scenario(MINIMAL_MIXED, SHOWN)
    net = scenario.network
    assert net.activations == ("tanh", "relu", "sigmoid")
    assert [net.activation_of(l) for l in (1, 2, 3)] == ["tanh", "relu", "sigmoid"]
    assert net.output == "sigmoid"
    assert net.describe_activations() == "tanh,relu/sigmoid"
    engine = Trainer(scenario).network
    assert [g.name for g in engine.activations[1:]] == ["tanh", "relu", "sigmoid"]


def test_without_activations_each_layer_gets_activation_then_output() -> None:
    text = edit("layers = [2, 3, 1]", 'layers = [2, 3, 3, 2]\nactivation = "tanh"', MINIMAL)
    text = text.replace("targets = [[0], [1], [0]]", "targets = [[0, 1], [1, 0], [0, 1]]")
    net = loads_scenario(text, SHOWN).network
    assert net.activations == ("tanh", "tanh", "sigmoid")
    assert net.describe_activations() == "tanh/sigmoid"


def test_breakpoints_are_read() -> None:
    text = (
        BASE
        + """
[[debug.breakpoints]]
kind = "cost_below"
value = 0.05

[[debug.breakpoints]]
kind = "grad_norm_above"
value = 10
layer = 1

[[debug.breakpoints]]
kind = "step"
value = 500

[[debug.breakpoints]]
kind = "nonfinite"

[[debug.breakpoints]]
kind = "dead_unit"
layer = 2
"""
    )
    assert loads_scenario(text, SHOWN).breakpoints == (
        Breakpoint("cost_below", 0.05, 0),
        Breakpoint("grad_norm_above", 10.0, 1),
        Breakpoint("step", 500.0, 0),
        Breakpoint("nonfinite", 0.0, 0),
        Breakpoint("dead_unit", 0.0, 2),
    )


def test_load_scenario_reads_the_file_and_keeps_the_path_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "mine.toml").write_text(BASE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    scenario = load_scenario("scenarios/mine.toml")
    assert scenario.path == Path("scenarios/mine.toml")
    assert scenario.text == BASE


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert load_scenario(path).name == "XOR"


# ---------------------------------------------------------------- bad files

ERRORS = [
    pytest.param(
        edit("layers = [2, 2, 1]", "layers = [2, 2, -3]"),
        "network.layers[2]: expected a positive integer, got -3",
        id="negative-layer",
    ),
    pytest.param(
        edit("layers = [2, 2, 1]", "layers = [2, 2.0, 1]"),
        "network.layers[1]: expected a positive integer, got 2.0",
        id="float-layer",
    ),
    pytest.param(
        edit("layers = [2, 2, 1]", "layers = [2]"),
        "network.layers: expected an array of at least 2 positive integers"
        " (units per layer, input layer first), got an array of 1",
        id="one-layer",
    ),
    pytest.param(
        edit("layers = [2, 2, 1]", 'layers = "2-2-1"'),
        "network.layers: expected an array of at least 2 positive integers"
        " (units per layer, input layer first), got '2-2-1'",
        id="layers-wrong-type",
    ),
    pytest.param(
        "colour = 1\n" + BASE,
        "colour: unknown key; the keys allowed at the top level are"
        " name, description, seed, network, data, training, debug",
        id="unknown-top-key",
    ),
    pytest.param(
        edit("layers = [2, 2, 1]", "layer = [2, 2, 1]"),
        "network.layer: unknown key (did you mean layers?); the keys allowed in [network] are"
        " layers, activation, output, activations, loss, init, init_range",
        id="unknown-network-key",
    ),
    pytest.param(
        edit("batch_size = 4", "batch_sise = 4"),
        "training.batch_sise: unknown key (did you mean batch_size?); the keys allowed in"
        " [training] are learning_rate,"
        " batch_size, optimizer, momentum, beta1, beta2, eps, l1, l2, shuffle",
        id="unknown-training-key",
    ),
    pytest.param(
        edit("b = [0.1]", "b = [0.1]\nbias = 1"),
        "network.init[1].bias: unknown key; the keys allowed in [network.init[1]] are W, b",
        id="unknown-init-key",
    ),
    pytest.param(
        edit("layers = [2, 2, 1]\n", ""),
        "network.layers: missing required key; expected an array of at least 2 positive"
        " integers (units per layer, input layer first)",
        id="missing-layers",
    ),
    pytest.param(
        edit("targets = [[0], [1], [1], [0]]\n", ""),
        "data.targets: missing required key; expected an array of rows, one per example",
        id="missing-targets",
    ),
    pytest.param(
        BASE[: BASE.index("[data]")],
        "data: missing required key; expected a [data] table",
        id="missing-data-table",
    ),
    pytest.param(
        edit('name = "XOR"', "name = 3"),
        "name: expected a string, got 3",
        id="name-wrong-type",
    ),
    pytest.param(
        edit("seed = 0", "seed = -1"),
        "seed: expected a non-negative integer, got -1",
        id="negative-seed",
    ),
    pytest.param(
        edit("W = [[0.5, -0.5]]", "W = [[0.5, -0.5], [1, 2]]"),
        "network.init[1].W: expected a 1 x 2 array (n_2 x n_1 for layer 2), got 2 x 2",
        id="init-W-wrong-shape",
    ),
    pytest.param(
        edit("W = [[0.1, 0.3], [0.2, 0.4]]", "W = [[0.1, 0.3], [0.2]]"),
        "network.init[0].W: expected a 2 x 2 array (n_1 x n_0 for layer 1),"
        " got ragged rows of lengths [2, 1]",
        id="init-W-ragged",
    ),
    pytest.param(
        edit("b = [0.1]", "b = [0.1, 0.2]"),
        "network.init[1].b: expected 1 number (n_2 for layer 2), got an array of 2",
        id="init-b-wrong-length",
    ),
    pytest.param(
        edit(
            "W = [[0.5, -0.5]]\nb = [0.1]\n", "", edit("[[network.init]]\nW = [[0.5", "W = [[0.5")
        ),
        "network.init: expected 2 [[network.init]] tables (one per weighted layer 1..2), got 1",
        id="init-wrong-count",
    ),
    pytest.param(
        edit("b = [0.1]\n", ""),
        "network.init[1].b: missing required key; expected an array of 1 number (n_2 for layer 2)",
        id="init-missing-b",
    ),
    pytest.param(
        edit("targets = [[0], [1], [1], [0]]", "targets = [[0], [1], [1], [0, 1]]"),
        "data.targets[3]: expected 1 number (network.layers[2] = 1), got an array of 2",
        id="target-wrong-width",
    ),
    pytest.param(
        edit("targets = [[0], [1], [1], [0]]", "targets = [[0], [1], [1]]"),
        "data.targets: expected 4 rows (one per row of data.inputs), got an array of 3",
        id="target-row-count",
    ),
    pytest.param(
        edit("[1, 0], [1, 1]]", "[1, 0], [1, 1, 1]]"),
        "data.inputs[3]: expected 2 numbers (network.layers[0] = 2), got an array of 3",
        id="ragged-inputs",
    ),
    pytest.param(
        edit("inputs  = [[0, 0], [0, 1], [1, 0], [1, 1]]", "inputs = []").replace(
            "targets = [[0], [1], [1], [0]]", "targets = []"
        ),
        "data.inputs: expected at least one row, got an array of 0",
        id="no-examples",
    ),
    pytest.param(
        edit('activation = "sigmoid"', 'activation = "sigmod"'),
        "network.activation: expected one of sigmoid, tanh, relu, leaky_relu, linear, got 'sigmod'",
        id="unknown-activation",
    ),
    pytest.param(
        edit('activation = "sigmoid"', 'activation = "softmax"'),
        "network.activation: expected one of sigmoid, tanh, relu, leaky_relu, linear,"
        " got 'softmax' (softmax is only allowed as network.output)",
        id="softmax-hidden",
    ),
    pytest.param(
        edit('output = "sigmoid"', 'output = "softmax"'),
        "network.output: softmax needs at least 2 output units, got network.layers[2] = 1",
        id="softmax-one-unit",
    ),
    pytest.param(
        edit(PER, 'activations = ["sigmoid"]'),
        "network.activations: expected an array of 2 activation names (layers 1..2),"
        " got an array of 1",
        id="activations-too-few",
    ),
    pytest.param(
        edit(PER, 'activations = "sigmoid"'),
        "network.activations: expected an array of 2 activation names (layers 1..2), got 'sigmoid'",
        id="activations-not-an-array",
    ),
    pytest.param(
        edit('output = "sigmoid"', 'activations = ["tanh", "sigmoid"]'),
        "network.activations: expected either activations (one per layer) or activation"
        " and output, not both (network.activation is set too)",
        id="activations-and-activation",
    ),
    pytest.param(
        edit(PER, 'activations = ["softmax", "sigmoid"]'),
        "network.activations[0]: expected one of sigmoid, tanh, relu, leaky_relu, linear,"
        " got 'softmax' (softmax is only allowed on the last layer)",
        id="activations-softmax-hidden",
    ),
    pytest.param(
        edit(PER, 'activations = ["tanh", "gelu"]'),
        "network.activations[1]: expected one of sigmoid, tanh, relu, leaky_relu, linear,"
        " softmax, got 'gelu'",
        id="activations-unknown",
    ),
    pytest.param(
        edit(PER, 'activations = ["tanh", 3]'),
        "network.activations[1]: expected one of sigmoid, tanh, relu, leaky_relu, linear,"
        " softmax, got 3",
        id="activations-not-a-name",
    ),
    pytest.param(
        edit(PER, 'activations = ["tanh", "softmax"]'),
        "network.activations[1]: softmax needs at least 2 output units, got network.layers[2] = 1",
        id="activations-softmax-one-unit",
    ),
    pytest.param(
        edit(PER, 'activations = ["tanh", "relu"]').replace(
            '"squared_error"', '"binary_cross_entropy"'
        ),
        "network.activations[1]: expected sigmoid or softmax for loss binary_cross_entropy"
        " (it takes the log of the output, which must be a probability), got 'relu'",
        id="activations-log-loss-needs-probability",
    ),
    pytest.param(
        edit('loss = "squared_error"', 'loss = "mse"'),
        "network.loss: expected one of squared_error, half_squared_error, cross_entropy,"
        " binary_cross_entropy, got 'mse'",
        id="unknown-loss",
    ),
    pytest.param(
        edit('output = "sigmoid"', 'output = "linear"').replace(
            '"squared_error"', '"binary_cross_entropy"'
        ),
        "network.output: expected sigmoid or softmax for loss binary_cross_entropy (it takes"
        " the log of the output, which must be a probability), got 'linear'",
        id="log-loss-needs-probability",
    ),
    pytest.param(
        edit('optimizer = "sgd"', 'optimizer = "rmsprop"'),
        "training.optimizer: expected one of sgd, momentum, adam, got 'rmsprop'",
        id="unknown-optimizer",
    ),
    pytest.param(
        edit("layers = [2, 3, 1]", 'layers = [2, 3, 1]\ninit = "glorot"', MINIMAL),
        "network.init: expected one of xavier, he, uniform, zeros or [[network.init]] tables,"
        " got 'glorot'",
        id="unknown-init",
    ),
    pytest.param(
        edit("[1, 0], [1, 1]]", "[1, 0], [1, nan]]"),
        "data.inputs[3][1]: expected a finite number, got nan",
        id="nan-input",
    ),
    pytest.param(
        edit("targets = [[0], [1], [1], [0]]", "targets = [[0], [1], [-inf], [0]]"),
        "data.targets[2][0]: expected a finite number, got -inf",
        id="inf-target",
    ),
    pytest.param(
        edit("[1, 0], [1, 1]]", "[1, 0], [1, true]]"),
        "data.inputs[3][1]: expected a finite number, got true",
        id="boolean-is-not-a-number",
    ),
    pytest.param(
        edit("W = [[0.5, -0.5]]", "W = [[0.5, nan]]"),
        "network.init[1].W[0][1]: expected a finite number, got nan",
        id="nan-weight",
    ),
    pytest.param(
        edit("batch_size = 4", "batch_size = 5"),
        "training.batch_size: expected at most 4 (the number of examples), got 5",
        id="batch-larger-than-data",
    ),
    pytest.param(
        edit("batch_size = 4", "batch_size = 0"),
        "training.batch_size: expected a positive integer, got 0",
        id="batch-zero",
    ),
    pytest.param(
        edit("learning_rate = 1.0", "learning_rate = 0"),
        "training.learning_rate: expected a finite number > 0, got 0",
        id="zero-learning-rate",
    ),
    pytest.param(
        edit("learning_rate = 1.0", "learning_rate = 1.0\nmomentum = 1"),
        "training.momentum: expected a finite number >= 0 and < 1, got 1",
        id="momentum-one",
    ),
    pytest.param(
        edit("learning_rate = 1.0", 'learning_rate = 1.0\nshuffle = "yes"'),
        "training.shuffle: expected true or false, got 'yes'",
        id="shuffle-not-bool",
    ),
    pytest.param(
        edit("layers = [2, 2, 1]", "layers = [2, 1000000000, 1]"),
        f"network.layers[1]: expected at most {MAX_UNITS} units in a layer"
        " (the limit; set BPDEBUG_MAX_UNITS to lift it), got 1000000000",
        id="too-many-units",
    ),
    pytest.param(
        edit("layers = [2, 2, 1]", "layers = [2, 90000, 90000, 1]"),
        f"network.layers: expected at most {MAX_PARAMETERS} weights and biases in total"
        " (the limit; set BPDEBUG_MAX_PARAMETERS to lift it), got 8100450001",
        id="too-many-parameters",
    ),
    pytest.param(
        BASE + '\n[[debug.breakpoints]]\nkind = "explode"\n',
        "debug.breakpoints[0].kind: expected one of nonfinite, cost_below, grad_norm_above,"
        " grad_norm_below, dead_unit, step, got 'explode'",
        id="unknown-breakpoint-kind",
    ),
    pytest.param(
        BASE + '\n[[debug.breakpoints]]\nkind = "cost_below"\n',
        "debug.breakpoints[0].value: missing required key; expected a number (the cost)",
        id="breakpoint-missing-value",
    ),
    pytest.param(
        BASE + '\n[[debug.breakpoints]]\nkind = "step"\nvalue = 2.5\n',
        "debug.breakpoints[0].value: expected a non-negative integer, got 2.5",
        id="step-breakpoint-fraction",
    ),
    pytest.param(
        BASE + '\n[[debug.breakpoints]]\nkind = "dead_unit"\nlayer = 3\n',
        "debug.breakpoints[0].layer: expected an integer from 0 to 2, got 3",
        id="breakpoint-layer-out-of-range",
    ),
    pytest.param(
        BASE + '\n[[debug.breakpoints]]\nkind = "nonfinite"\nwhen = 1\n',
        "debug.breakpoints[0].when: unknown key; the keys allowed in [debug.breakpoints[0]]"
        " are kind, value, layer",
        id="unknown-breakpoint-key",
    ),
    pytest.param(
        "training = 5\n" + MINIMAL,
        "training: expected a table, got 5",
        id="training-not-a-table",
    ),
    pytest.param(
        edit("[network]", "[network"),
        "invalid TOML: Expected ']' at the end of a table declaration (at line 4, column 9)",
        id="invalid-toml",
    ),
    pytest.param(
        edit('name = "XOR"', 'name = "XOR'),
        "invalid TOML: Illegal character '\\n' (at line 1, column 12)",
        id="unterminated-string",
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_bad_scenarios_give_one_exact_line(text: str, message: str) -> None:
    assert error_of(text) == f"{SHOWN}: {message}"


def test_error_carries_path_key_and_message_separately() -> None:
    with pytest.raises(InputError) as info:
        loads_scenario(edit("layers = [2, 2, 1]", "layers = [2, 2, -3]"), SHOWN)
    assert info.value.path == SHOWN
    assert info.value.key == "network.layers[2]"
    assert info.value.message == "expected a positive integer, got -3"


def test_missing_scenario_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_scenario(tmp_path / "nope.toml")
    assert str(info.value) == f"{tmp_path / 'nope.toml'}: no such file"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_scenario(tmp_path)
    assert str(info.value) == f"{tmp_path}: expected a scenario file, got a directory"


def test_file_that_is_not_utf8_text(tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b'name = "\xff\xfe"\n')
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: expected UTF-8 text, got byte 0xff at offset 8"


def test_unexpected_failures_still_become_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise ZeroDivisionError("division by zero\nsecond line")

    monkeypatch.setattr("bpdebug.scenario.loader.read_data", broken)
    assert error_of(BASE) == (
        f"{SHOWN}: cannot load the scenario (ZeroDivisionError: division by zero second line)"
    )


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["flip", "delete", "insert"]),
            st.integers(min_value=0, max_value=10_000),
            st.integers(min_value=0, max_value=255),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_mutation_of_xor_loads_or_raises_input_error(
    tmp_path: Path, edits: list[tuple[str, int, int]]
) -> None:
    """Byte flips, deletions and insertions never escape as anything but InputError."""
    data = bytearray(XOR_FILE.read_bytes())
    for action, position, byte in edits:
        at = position % (len(data) + 1)
        if action == "insert":
            data.insert(at, byte)
        elif data and action == "delete":
            del data[at % len(data)]
        elif data:
            data[at % len(data)] ^= byte or 1
    path = tmp_path / "mutant.toml"
    path.write_bytes(bytes(data))
    try:
        scenario = load_scenario(path)
    except InputError as error:
        assert "\n" not in str(error)
        assert str(error).startswith(str(path))
    else:
        assert scenario.data.inputs.shape[0] == scenario.network.layers[0]
        assert scenario.data.targets.shape[0] == scenario.network.layers[-1]
