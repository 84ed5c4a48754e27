"""Snapshots: one step's parameters, pass and gradients as .json, .npz or .md.

The package: `build` makes a snapshot of a timeline's step, `write` writes
it in each format (whole or not at all), `read` reads one back checking
every key, and `reopen` brings a fresh timeline to its step and history.

The JSON object is the contract's (``bpdebug.snapshot/1``), plus extensions
the contract allows it to grow: top-level ``epoch``, ``data_cost``,
``reg_cost``, ``batch_size``, ``bpdebug_version``, ``branched_at`` (only
after an edit: the state is then not the scenario's own), ``edits`` (only
after an edit: one row ``[step, layer, j, k, value]`` per weight set by
hand, oldest first, so that reopening makes the same history), ``scenario.text``
(the TOML, so a snapshot can rebuild its scenario), ``data.inputs`` and
``data.targets`` (only for a CSV scenario: the whole data set, (n_0, N) and
(n_L, N), so that reopening reads no other file) and per layer ``dW_reg``
(only with l1/l2 regularization).

Numbers are written with `float.__repr__`, so they read back bit for bit.
NaN and infinities are what a debugger of diverging training must show, and
strict JSON has no way to write them. We write them as the ``NaN``,
``Infinity`` and ``-Infinity`` tokens of Python's json (its `allow_nan`
default) rather than as strings or nulls, which would change the arrays'
type. Python and JSON5 readers accept these tokens; strict parsers
(JavaScript's JSON.parse, jq) reject such a file: read it with Python or
export .npz instead. Finite snapshots are strict JSON.

`.npz` holds the same values under flat names (``W1``, ``b1``, ``z1``, ...,
strings as 0-d unicode arrays, never object arrays), so it loads with
``allow_pickle=False``. `.md` is a report for people, never read back.
"""

from bpdebug.snapshot.build import (
    FORMAT,
    LAYER_ARRAYS,
    MAX_EDITS,
    LayerSnapshot,
    ScenarioRef,
    Snapshot,
    snapshot,
    snapshot_arrays,
)
from bpdebug.snapshot.read import load_snapshot
from bpdebug.snapshot.write import ExportError, export, flatten, to_json, to_markdown

__all__ = [
    "FORMAT",
    "LAYER_ARRAYS",
    "MAX_EDITS",
    "ExportError",
    "LayerSnapshot",
    "ScenarioRef",
    "Snapshot",
    "export",
    "flatten",
    "load_snapshot",
    "snapshot",
    "snapshot_arrays",
    "to_json",
    "to_markdown",
]
