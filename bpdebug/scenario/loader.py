"""Scenario files (TOML, read with tomllib, never evaluated) -> validated Scenario objects.

This is the edge where bad input stops: every problem with a file becomes one
InputError naming the file, the key path and what was expected. Past this
module, code trusts the Scenario it gets.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import numpy as np

from bpdebug.errors import InputError
from bpdebug.scenario.datatable import read_data
from bpdebug.scenario.fields import Fields, Table, count, index, one_of, sub
from bpdebug.scenario.limits import (
    BATCH_VALUES,
    BREAKPOINTS,
    LAYERS,
    PARAMETERS,
    SCENARIO_BYTES,
    UNITS,
    NotRegularFile,
    decode_text,
    read_capped,
)
from bpdebug.scenario.model import (
    ACTIVATIONS,
    BREAKPOINT_KINDS,
    INIT_SCHEMES,
    LOSSES,
    OPTIMIZERS,
    Breakpoint,
    BreakpointKind,
    Dataset,
    LayerInit,
    NetworkSpec,
    Scenario,
    TrainingSpec,
    parameter_count,
)

MAX_UNITS = UNITS.default
"""Most units one layer may have by default (BPDEBUG_MAX_UNITS overrides it)."""

MAX_PARAMETERS = PARAMETERS.default
"""Most weights and biases by default (BPDEBUG_MAX_PARAMETERS overrides it)."""

MAX_INIT_RANGE = 1e6
"""Largest `network.init_range`: U(-r, r) must have a finite width, and 1e6 saturates anything."""

TOP_KEYS = ("name", "description", "seed", "network", "data", "training", "debug")
NETWORK_KEYS = ("layers", "activation", "output", "activations", "loss", "init", "init_range")
TRAINING_KEYS = (
    "learning_rate",
    "batch_size",
    "optimizer",
    "momentum",
    "beta1",
    "beta2",
    "eps",
    "l1",
    "l2",
    "shuffle",
)
DEBUG_KEYS = ("breakpoints",)
BREAKPOINT_KEYS = ("kind", "value", "layer")
HIDDEN_ACTIVATIONS = tuple(name for name in ACTIVATIONS if name != "softmax")
LOG_LOSSES = ("cross_entropy", "binary_cross_entropy")
_KINDS: dict[str, BreakpointKind] = {
    "nonfinite": "nonfinite",
    "cost_below": "cost_below",
    "grad_norm_above": "grad_norm_above",
    "grad_norm_below": "grad_norm_below",
    "dead_unit": "dead_unit",
    "step": "step",
}
"""BREAKPOINT_KINDS as the Literal type the Breakpoint holds."""


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate the scenario file at `path`.

    Raises InputError, and only InputError, for anything wrong with the file
    (missing, unreadable, not UTF-8, not TOML, or not a valid scenario).
    """
    shown = str(path)
    try:
        raw = read_capped(path, shown, SCENARIO_BYTES)
    except FileNotFoundError:
        raise InputError(shown, "", "no such file") from None
    except NotRegularFile as exc:
        raise InputError(shown, "", f"expected a scenario file, got {exc.kind}") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        detail = getattr(exc, "strerror", None) or exc
        raise InputError(shown, "", f"cannot read the file: {detail}") from None
    return loads_scenario(decode_text(raw, shown), path)


def loads_scenario(
    text: str, path: str | Path, data: Dataset | None = None, *, read_files: bool = True
) -> Scenario:
    """Validate scenario TOML `text` as if it had been read from `path`.

    `path` names the file in error messages and anchors relative CSV paths;
    it need not exist unless the data comes from a CSV file. With `data`
    (a snapshot's own copy of a CSV data set), a `csv` key is checked but the
    file is never opened: `data` is used instead. Without `read_files`, no
    file is ever opened: a CSV scenario without `data` is an InputError
    (reopening a snapshot reads nothing but the snapshot).
    """
    shown = str(path)
    most = SCENARIO_BYTES.value()
    if len(text) > most and len(text.encode("utf-8", "surrogatepass")) > most:
        raise InputError(
            shown, "", f"expected at most {most} bytes of TOML ({SCENARIO_BYTES.note()}), got more"
        )
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = " ".join(str(exc).split())
        raise InputError(shown, "", f"invalid TOML: {message}") from None
    except RecursionError:
        raise InputError(shown, "", "invalid TOML: nested too deeply") from None
    try:
        return _scenario(Fields(shown), document, Path(path), text, data, read_files)
    except InputError:
        raise
    except Exception as exc:
        # The loader's promise is one line, never a traceback: whatever slipped
        # past validation is still reported against the file that caused it.
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise InputError(shown, "", f"cannot load the scenario ({detail})") from exc


BRANCH_TRAINING_KEYS = (
    "learning_rate",
    "optimizer",
    "momentum",
    "beta1",
    "beta2",
    "eps",
    "batch_size",
    "l1",
    "l2",
)
"""`training.*` settings a branch may change at any step."""
BRANCH_NETWORK_KEYS = ("activation", "output", "activations", "loss")
"""`network.*` settings a branch may change: the architecture, so only from step 0."""


def with_settings(scenario: Scenario, changes: dict[str, object], source: str) -> Scenario:
    """`scenario` with some settings changed (``{"training.learning_rate": 0.1}``), each
    checked as the loader checks a file; errors name `source` (``branch b2``) and the key.

    The changes apply to `scenario`'s settings as they are (a branch's, which may
    differ from its file's text). Changing `network.activation` or `network.output`
    of a network whose hidden layers differ rewrites the layers' list
    (`network.activations`).
    """
    fields = Fields(source)
    document = tomllib.loads(scenario.text)
    net, training = scenario.network, scenario.training
    network_table = {
        key: value
        for key, value in document["network"].items()
        if key not in ("activation", "output", "activations", "loss")
    }
    network_table["loss"] = net.loss
    hidden = net.activations[:-1]
    if len(set(hidden)) > 1:
        network_table["activations"] = list(net.activations)
    else:
        network_table["output"] = net.output
        if hidden:
            network_table["activation"] = hidden[0]
    training_table = dict(document.get("training", {}))
    training_table.update(
        (name, getattr(training, name)) for name in (*BRANCH_TRAINING_KEYS, "shuffle")
    )
    for key, value in changes.items():
        section, _, name = key.partition(".")
        if section == "training" and name in BRANCH_TRAINING_KEYS:
            training_table[name] = value
        elif section == "network" and name in BRANCH_NETWORK_KEYS:
            if name in ("activation", "output") and "activations" in network_table:
                hidden = scenario.network.activations
                names = list(hidden)
                if name == "activation":
                    names[:-1] = [value] * (len(names) - 1)  # type: ignore[list-item]
                else:
                    names[-1] = value  # type: ignore[call-overload]
                network_table["activations"] = names
            elif name == "activations":
                network_table.pop("activation", None)
                network_table.pop("output", None)
                network_table["activations"] = value
            else:
                network_table[name] = value
        else:
            allowed = [f"training.{k}" for k in BRANCH_TRAINING_KEYS]
            allowed += [f"network.{k}" for k in BRANCH_NETWORK_KEYS]
            fields.fail(key, f"not a setting a branch can change; those are {', '.join(allowed)}")
    network = _network(fields, network_table)
    training = _training(fields, training_table, scenario.data.size, network.layers)
    return dataclasses.replace(scenario, network=network, training=training)


def _scenario(
    fields: Fields,
    document: Table,
    path: Path,
    text: str,
    given: Dataset | None,
    read_files: bool,
) -> Scenario:
    fields.check_keys(document, "", TOP_KEYS)
    name = fields.string(document.get("name", path.stem), "name", one_line=True)
    description = fields.string(document.get("description", ""), "description", one_line=True)
    seed = fields.integer(document.get("seed", 0), "seed", minimum=0)
    network_table = fields.require(document, "", "network", "a [network] table")
    network = _network(fields, fields.table(network_table, "network"))
    data_table = fields.table(fields.require(document, "", "data", "a [data] table"), "data")
    data = read_data(fields, data_table, network.layers, path.parent, seed, given, read_files)
    training_table = fields.table(document.get("training", {}), "training")
    training = _training(fields, training_table, data.size, network.layers)
    breakpoints = _debug(fields, fields.table(document.get("debug", {}), "debug"), network.depth)
    return Scenario(
        name=name,
        path=path,
        text=text,
        network=network,
        data=data,
        training=training,
        seed=seed,
        description=description,
        breakpoints=breakpoints,
    )


def _layers(fields: Fields, table: Table) -> tuple[int, ...]:
    what = "an array of at least 2 positive integers (units per layer, input layer first)"
    raw = fields.array(fields.require(table, "network", "layers", what), "network.layers", what)
    if len(raw) < 2:
        fields.expected("network.layers", what, raw)
    max_layers = LAYERS.value()
    if len(raw) > max_layers:
        fields.fail(
            "network.layers",
            f"expected at most {max_layers} layers ({LAYERS.note()}), got {len(raw)}",
        )
    layers = tuple(
        fields.integer(units, index("network.layers", i), minimum=1) for i, units in enumerate(raw)
    )
    max_units = UNITS.value()
    for i, units in enumerate(layers):
        if units > max_units:
            fields.fail(
                index("network.layers", i),
                f"expected at most {max_units} units in a layer ({UNITS.note()}), got {units}",
            )
    max_parameters = PARAMETERS.value()
    parameters = parameter_count(layers)
    if parameters > max_parameters:
        fields.fail(
            "network.layers",
            f"expected at most {max_parameters} weights and biases in total"
            f" ({PARAMETERS.note()}), got {parameters}",
        )
    return layers


def _network(fields: Fields, table: Table) -> NetworkSpec:
    fields.check_keys(table, "network", NETWORK_KEYS)
    layers = _layers(fields, table)
    depth = len(layers) - 1
    if "activations" in table:
        activations = _activations(fields, table, depth)
        activation, output = activations[0], activations[-1]
        output_key = index("network.activations", depth - 1)
    else:
        activation, output = _activation_output(fields, table)
        activations, output_key = (), "network.output"
    if output == "softmax" and layers[-1] < 2:
        fields.fail(
            output_key,
            f"softmax needs at least 2 output units, got network.layers[{depth}] = {layers[-1]}",
        )
    loss = fields.choice(table.get("loss", "squared_error"), "network.loss", LOSSES)
    if loss in LOG_LOSSES and output not in ("sigmoid", "softmax"):
        fields.fail(
            output_key,
            f"expected sigmoid or softmax for loss {loss} (it takes the log of the"
            f" output, which must be a probability), got {output!r}",
        )
    init = table.get("init", "xavier")
    explicit: tuple[LayerInit, ...] = ()
    if isinstance(init, list):
        explicit = _explicit_init(fields, init, layers)
        init = "xavier"
    elif not isinstance(init, str) or init not in INIT_SCHEMES:
        fields.expected("network.init", f"{one_of(INIT_SCHEMES)} or [[network.init]] tables", init)
    # Past 1e6 every unit saturates; the cap also keeps U(-r, r)'s width finite.
    init_range = fields.number(
        table.get("init_range", 0.5), "network.init_range", above=0.0, at_most=MAX_INIT_RANGE
    )
    return NetworkSpec(
        layers=layers,
        activation=activation,
        output=output,
        loss=loss,
        init=init,
        init_range=init_range,
        explicit_init=explicit,
        activations=activations,
    )


def _activation_output(fields: Fields, table: Table) -> tuple[str, str]:
    """`network.activation` (hidden layers) and `network.output` (layer L)."""
    activation = table.get("activation", "sigmoid")
    if activation == "softmax":
        fields.fail(
            "network.activation",
            f"expected {one_of(HIDDEN_ACTIVATIONS)}, got 'softmax'"
            " (softmax is only allowed as network.output)",
        )
    activation = fields.choice(activation, "network.activation", HIDDEN_ACTIVATIONS)
    output = fields.choice(table.get("output", "sigmoid"), "network.output", ACTIVATIONS)
    return activation, output


def _activations(fields: Fields, table: Table, depth: int) -> tuple[str, ...]:
    """`network.activations`: g_1..g_L, one name per weighted layer (softmax only last)."""
    for other in ("activation", "output"):
        if other in table:
            fields.fail(
                "network.activations",
                f"expected either activations (one per layer) or activation and output,"
                f" not both (network.{other} is set too)",
            )
    what = f"an array of {depth} activation names (layers 1..{depth})"
    names = fields.array(table["activations"], "network.activations", what)
    if len(names) != depth:
        fields.expected("network.activations", what, names)
    out = []
    for i, name in enumerate(names):
        key = index("network.activations", i)
        if i < depth - 1 and name == "softmax":
            fields.fail(
                key,
                f"expected {one_of(HIDDEN_ACTIVATIONS)}, got 'softmax'"
                " (softmax is only allowed on the last layer)",
            )
        out.append(fields.choice(name, key, ACTIVATIONS))
    return tuple(out)


def _explicit_init(
    fields: Fields, tables: list[object], layers: tuple[int, ...]
) -> tuple[LayerInit, ...]:
    depth = len(layers) - 1
    if len(tables) != depth:
        fields.fail(
            "network.init",
            f"expected {depth} [[network.init]] tables (one per weighted layer 1..{depth}),"
            f" got {len(tables)}",
        )
    inits = []
    for i, item in enumerate(tables):
        key, layer = index("network.init", i), i + 1
        table = fields.table(item, key)
        fields.check_keys(table, key, ("W", "b"))
        shape = (layers[layer], layers[layer - 1])
        note = f"n_{layer} x n_{layer - 1} for layer {layer}"
        W_rows = fields.number_matrix(
            fields.require(table, key, "W", f"a {shape[0]} x {shape[1]} array ({note})"),
            sub(key, "W"),
            shape,
            note,
        )
        b_note = f"n_{layer} for layer {layer}"
        b_row = fields.number_row(
            fields.require(table, key, "b", f"an array of {count(shape[0], 'number')} ({b_note})"),
            sub(key, "b"),
            shape[0],
            b_note,
        )
        W, b = np.array(W_rows, dtype=np.float64), np.array(b_row, dtype=np.float64)
        W.setflags(write=False)
        b.setflags(write=False)
        inits.append(LayerInit(W=W, b=b))
    return tuple(inits)


def _training(fields: Fields, table: Table, size: int, layers: tuple[int, ...]) -> TrainingSpec:
    fields.check_keys(table, "training", TRAINING_KEYS)
    defaults = TrainingSpec()

    def fraction(name: str, default: float) -> float:
        return fields.number(
            table.get(name, default), sub("training", name), at_least=0.0, below=1.0
        )

    batch_size = fields.integer(table.get("batch_size", size), "training.batch_size", minimum=1)
    if batch_size > size:
        fields.fail(
            "training.batch_size",
            f"expected at most {size} (the number of examples), got {batch_size}",
        )
    max_values, units = BATCH_VALUES.value(), sum(layers)
    if batch_size * units > max_values:
        fields.fail(
            "training.batch_size",
            f"expected at most {max_values // units} examples per batch, so that a batch"
            f" times the {units} units of the network is at most {max_values} activations"
            f" ({BATCH_VALUES.note()}), got {batch_size}",
        )
    return TrainingSpec(
        learning_rate=fields.number(
            table.get("learning_rate", defaults.learning_rate),
            "training.learning_rate",
            above=0.0,
        ),
        batch_size=batch_size,
        optimizer=fields.choice(
            table.get("optimizer", defaults.optimizer), "training.optimizer", OPTIMIZERS
        ),
        momentum=fraction("momentum", defaults.momentum),
        beta1=fraction("beta1", defaults.beta1),
        beta2=fraction("beta2", defaults.beta2),
        eps=fields.number(table.get("eps", defaults.eps), "training.eps", above=0.0),
        l1=fields.number(table.get("l1", defaults.l1), "training.l1", at_least=0.0),
        l2=fields.number(table.get("l2", defaults.l2), "training.l2", at_least=0.0),
        shuffle=fields.boolean(table.get("shuffle", defaults.shuffle), "training.shuffle"),
    )


def _debug(fields: Fields, table: Table, depth: int) -> tuple[Breakpoint, ...]:
    fields.check_keys(table, "debug", DEBUG_KEYS)
    items = fields.array(
        table.get("breakpoints", []), "debug.breakpoints", "[[debug.breakpoints]] tables"
    )
    max_breakpoints = BREAKPOINTS.value()
    if len(items) > max_breakpoints:
        fields.fail(
            "debug.breakpoints",
            f"expected at most {max_breakpoints} breakpoints ({BREAKPOINTS.note()}),"
            f" got {len(items)}",
        )
    breakpoints = []
    for i, item in enumerate(items):
        key = index("debug.breakpoints", i)
        bp = fields.table(item, key)
        fields.check_keys(bp, key, BREAKPOINT_KEYS)
        kind = fields.choice(
            fields.require(bp, key, "kind", one_of(BREAKPOINT_KINDS)),
            sub(key, "kind"),
            BREAKPOINT_KINDS,
        )
        value = 0.0
        if kind == "step":
            raw = fields.require(bp, key, "value", "a non-negative integer (the step)")
            value = float(fields.integer(raw, sub(key, "value"), minimum=0))
        elif kind in ("grad_norm_above", "grad_norm_below"):
            raw = fields.require(bp, key, "value", "a number >= 0 (the gradient norm)")
            value = fields.number(raw, sub(key, "value"), at_least=0.0)
        elif kind == "cost_below" or "value" in bp:
            raw = fields.require(bp, key, "value", "a number (the cost)")
            value = fields.number(raw, sub(key, "value"))
        layer = fields.integer(bp.get("layer", 0), sub(key, "layer"), minimum=0, maximum=depth)
        breakpoints.append(Breakpoint(kind=_KINDS[kind], value=value, layer=layer))
    return tuple(breakpoints)
