"""The Python API for notebooks and scripts: `bpdebug.load("xor.toml")`.

A `Session` is a thin handle on the same `Timeline` the app and the
headless commands drive: the same replay, the same checkpoints, the same
numbers bit for bit, the same export. Arrays come back as the engine's own
read-only float64 arrays in the contract's shapes (columns are examples),
indexed by layer number like the notation: ``s.trace.z[1]`` is z^(1),
``s.W[2]`` is W^(2), ``s.trace.a[0]`` is the batch. The reprs summarise
each array on one line (shape, range, mean, std, norm, zeros, NaN/inf)
instead of printing it.

    >>> import bpdebug
    >>> s = bpdebug.load("xor")          # a file, a bundled name, or a snapshot
    >>> s.seek(100).cost                 # step 100's C
    >>> s.trace.delta[1]                 # delta^(1) of step 100's batch
    >>> s.back().step                    # 99
    >>> s.export("xor-99.json")
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bpdebug.engine import Trace
from bpdebug.scenario.model import Scenario
from bpdebug.snapshot.reopen import SNAPSHOT_SUFFIXES, reopen
from bpdebug.summary import describe
from bpdebug.timeline import Timeline

if TYPE_CHECKING:
    from bpdebug.tui.app import BpdebugApp


class ByLayer(Sequence[np.ndarray]):
    """Arrays by layer number, ``x[l]`` for l in `first`..L, as the notation numbers them.

    `first` is 0 for a (a^(0) is the batch) and 1 for everything else; an
    index outside raises IndexError naming the layers there are.
    """

    def __init__(self, symbol: str, arrays: Sequence[np.ndarray], first: int = 1) -> None:
        self.symbol = symbol
        self._arrays = arrays
        self.first = first

    @property
    def last(self) -> int:
        """L."""
        return len(self._arrays) - 1

    def __len__(self) -> int:
        return self.last - self.first + 1

    def __getitem__(self, layer: int) -> np.ndarray:  # type: ignore[override]
        if not isinstance(layer, int | np.integer) or not self.first <= layer <= self.last:
            raise IndexError(
                f"{self.symbol}^(l) has layers {self.first}..{self.last}, not {layer!r}"
            )
        return self._arrays[layer]

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self._arrays[l] for l in range(self.first, self.last + 1))

    def __repr__(self) -> str:
        return "\n".join(
            f"{self.symbol}^({l}) {describe(self._arrays[l])}"
            for l in range(self.first, self.last + 1)
        )


class TraceView:
    """One step's forward and backward pass: z, a, delta, dW, db by layer, C_0 and C."""

    def __init__(self, trace: Trace, step: int) -> None:
        self.step = step
        """The step whose batch this pass used (update step+1 applies its gradients)."""
        self.z = ByLayer("z", trace.z)
        self.a = ByLayer("a", trace.a, first=0)
        """a^(0) is the batch's inputs x, one column per example."""
        self.delta = ByLayer("delta", trace.delta)
        """Column i is dC_0/dz^(l) of example i alone (the contract's per-example delta)."""
        self.dW = ByLayer("dW", trace.dW)
        """dC/dW^(l) = delta^(l) a^(l-1)^T / m, without the l1/l2 part (`dW_reg`)."""
        self.db = ByLayer("db", trace.db)
        self.dW_reg = ByLayer("dW_reg", trace.dW_reg)
        """The l1/l2 part of the update's gradient (zero without regularization)."""
        self.y = trace.Y
        """The batch's targets, (n_L, m)."""
        self.per_example_cost = trace.per_example_cost
        """C_0 of each example, (m,)."""
        self.cost = float(trace.cost)
        """C: the mean of C_0, plus the regularization term."""
        self.batch_size = int(trace.batch_size)

    def __repr__(self) -> str:
        lines = [f"Trace of step {self.step}: batch of {self.batch_size}, C = {self.cost!r}"]
        lines.append(f"  a^(0) {describe(self.a[0])}")
        for l in range(1, self.z.last + 1):
            for by in (self.z, self.a, self.delta, self.dW, self.db):
                lines.append(f"  {by.symbol}^({l}) {describe(by[l])}")
        return "\n".join(lines)


class Session:
    """A scenario's training history, moved through like the debugger moves through it.

    `seek`, `next` and `back` return the session, so calls chain:
    ``s.seek(10).trace``. Every state is replayed by the timeline, so step N
    is bit for bit the same however it is reached (the contract).
    """

    def __init__(self, timeline: Timeline, opened: str = "") -> None:
        self.timeline = timeline
        """The timeline the app and the headless commands use (the same code)."""
        self.opened = opened
        """What reopening a snapshot said ("" for a scenario)."""

    # -- where we are -----------------------------------------------------
    @property
    def scenario(self) -> Scenario:
        return self.timeline.scenario

    @property
    def step(self) -> int:
        """Updates applied so far."""
        return self.timeline.step

    @property
    def epoch(self) -> int:
        return self.timeline.epoch

    @property
    def cost(self) -> float:
        """C of this step's batch, at this step's parameters."""
        return float(self.timeline.trace.cost)

    @property
    def trace(self) -> TraceView:
        """This step's pass: z, a, delta, dW, db by layer."""
        return TraceView(self.timeline.trace, self.step)

    @property
    def W(self) -> ByLayer:
        """W^(1)..W^(L) at this step, each (n_l, n_{l-1})."""
        return ByLayer("W", self.timeline.state.params.W)

    @property
    def b(self) -> ByLayer:
        """b^(1)..b^(L) at this step, each (n_l,)."""
        return ByLayer("b", self.timeline.state.params.b)

    @property
    def costs(self) -> np.ndarray:
        """C at steps 0..the furthest computed (NaN where a pass was never computed)."""
        return self.timeline.costs()

    # -- moving -----------------------------------------------------------
    def seek(self, step: int) -> Session:
        """Go to step `step` (>= 0): forward by training, backward by replay."""
        if not isinstance(step, int | np.integer) or step < 0:
            raise ValueError(f"expected a step >= 0, got {step!r}")
        self.timeline.seek(int(step))
        return self

    def next(self, updates: int = 1) -> Session:
        """Apply `updates` gradient updates."""
        return self.seek(self.step + updates)

    def back(self, updates: int = 1) -> Session:
        """Rewind `updates` updates (not past step 0)."""
        return self.seek(max(self.step - updates, 0))

    # -- out --------------------------------------------------------------
    def export(self, path: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Write this step as a snapshot, its format chosen by the suffix, as `bpdebug export`
        does: never over an existing file unless `force`, whole or not at all."""
        from bpdebug.snapshot import export

        return export(self.timeline, Path(path), force=force)

    @property
    def branch(self) -> str:
        """The name of the branch this history is (``main`` but for a snapshot taken on
        a branch; see bpdebug.branches)."""
        branch = self.timeline.branch
        return "main" if branch is None else str(branch.name)

    def __repr__(self) -> str:
        # The settings of this step: a branch's before its fork are its parent's.
        at = self.timeline.trainer.scenario
        net, training = at.network, at.training
        layers = "-".join(map(str, net.layers))
        on = "" if self.branch == "main" else f" on {self.branch}"
        return (
            f"<bpdebug session {self.scenario.name!r} at step {self.step}{on},"
            f" C = {self.cost!r}: {layers} {net.describe_activations()}, {net.loss},"
            f" {training.optimizer} lr {training.learning_rate:g}>"
        )


def load(path: str | os.PathLike[str]) -> Session:
    """Open a scenario file, a bundled scenario by name (``"xor"``) or a snapshot
    (.json, .npz, .safetensors) at its step, as ``bpdebug PATH`` does. Raises `InputError` (one
    line naming the file and key) for a bad file; loading never runs code."""
    timeline, said = reopen(os.fspath(path))
    return Session(timeline, said)


def load_snapshot(path: str | os.PathLike[str]) -> Session:
    """Reopen a snapshot (.json, .npz, .safetensors) at its step, with its edits: the session's
    numbers are the snapshot's (checked on reopening)."""
    if Path(path).suffix.lower() not in SNAPSHOT_SUFFIXES:
        raise ValueError(
            f"{os.fspath(path)}: expected a snapshot ({', '.join(SNAPSHOT_SUFFIXES)});"
            " bpdebug.load opens scenarios"
        )
    return load(path)


def to_scenario(
    model: Any,
    inputs: Any = None,
    targets: Any = None,
    path: str | os.PathLike[str] | None = None,
    *,
    loss: str = "squared_error",
    lr: float = 0.1,
    optimizer: str = "sgd",
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int = 0,
    name: str = "model",
    force: bool = False,
) -> str:
    """The scenario of a PyTorch `nn.Sequential` with its current weights, trained on
    `inputs` (N, n_0) and `targets` (N, n_L) (or N class indices for cross_entropy).

    Returns the TOML text, checked by the scenario loader; with `path`, also
    writes it there, whole, never over an existing file unless `force`. The
    rules (supported modules, logits, losses) are `bpdebug.bridge.torch_in`'s.
    Raises `NotImportable` for a model bpdebug cannot take, `InputError` for
    a scenario past the loader's limits, `FileExistsError` for an existing `path`.
    """
    from bpdebug.bridge.torch_in import from_sequential, scenario_text
    from bpdebug.files import write_atomic
    from bpdebug.scenario import loads_scenario

    text = scenario_text(
        from_sequential(model),
        loss=loss,
        inputs=inputs,
        targets=targets,
        learning_rate=lr,
        optimizer=optimizer,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        name=name,
        source=type(model).__name__,
    )
    loads_scenario(text, os.fspath(path) if path is not None else f"{name}.toml")
    if path is not None:
        write_atomic(path, text.encode("utf-8"), overwrite=force)
    return text


def debug_app(model: Any, inputs: Any, targets: Any, **options: Any) -> BpdebugApp:
    """The debugger's app on a PyTorch model, not yet running (`debug` runs it); `options`
    are `to_scenario`'s, plus `export_dir` (default ``exports``)."""
    from bpdebug.scenario import loads_scenario
    from bpdebug.tui import app_for

    export_dir = Path(options.pop("export_dir", "exports"))
    name = str(options.get("name", "model"))
    text = to_scenario(model, inputs, targets, **options)
    timeline = Timeline(loads_scenario(text, f"{name}.toml"))
    return app_for(timeline, f"{name} (PyTorch)", export_dir)


def debug(model: Any, inputs: Any, targets: Any, **options: Any) -> int:
    """Open the debugger on a PyTorch `nn.Sequential` with its current weights, like
    `breakpoint()`: ``bpdebug.debug(net, X, y, loss="cross_entropy", lr=0.1)``.

    `options` are `to_scenario`'s (loss, lr, optimizer, batch_size, shuffle,
    seed, name) and `export_dir`. Needs a terminal: in a notebook, use
    `to_scenario` and `load` instead. Returns the app's exit status.
    """
    import sys

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise RuntimeError(
            "bpdebug.debug needs a terminal; in a notebook, write the model with"
            " bpdebug.to_scenario(model, X, y, 'model.toml') and open it with bpdebug.load"
        )
    app = debug_app(model, inputs, targets, **options)
    app.run()
    return app.return_code or 0
