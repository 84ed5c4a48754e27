"""`bpdebug export SCENARIO --step N -o train.py`: a standalone PyTorch script of steps N..N+K.

The script imports torch and the standard library only. It rebuilds the
network as ``nn.Sequential(Linear_1, g_1, ..., Linear_L, g_L)`` with the
parameters of step N, gives torch.optim the optimizer's state at step N,
makes the K updates N+1..N+K on the very batches bpdebug uses (the example
indices of each batch are written out, since the trainer shuffles each
epoch with the scenario's seed), and compares every parameter with
bpdebug's own at step N+K, which it carries. It prints one line per tensor
(exact / allclose / max difference) and exits with status 1 if any differs.

Decisions:

- The torch code is `bpdebug.bridge.torch_ref`'s source, copied in as one
  cell (read as text: writing a script needs no torch), so the script runs
  the same reference as `bpdebug check --against torch`.
- Numbers are written with `float.__repr__`, which reads back bit for bit,
  inside strings that `numbers()` splits: a matrix row per line, readable,
  and quick to parse (a list literal of a million floats is not).
- Only the examples the K batches use are written, with their indices in
  the data set: `wide`'s 784-number digits would otherwise make every
  script megabytes long.
- The comparison's tolerance is torch_ref's RTOL per entry plus ATOL of a
  scale per entry: |W at N| plus the sum of |each update| over the K steps,
  the size of the terms the final value is a sum of. K defaults to 10:
  enough updates for momentum and Adam's state to matter and for shuffled
  batches to change, few enough that rounding has not been amplified by
  training's own sensitivity (`dying_relu`'s learning rate of 5 included).
  Not modelled (unlike `check --against torch`): Adam on a gradient that
  is only rounding noise (a net fitted exactly), whose step divides noise
  by noise, so bpdebug's and torch's steps differ wholly and the script
  reports a difference; check such a step with `check --against torch`.
- The same cells become a notebook with nbformat (`.ipynb`); the `.py` is
  in jupytext's py:percent form (``# %%`` cells), which VS Code and Jupyter
  open as a notebook too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bpdebug import __version__
from bpdebug.bridge import need, torch_parameter_name
from bpdebug.files import write_atomic
from bpdebug.text import printable

if TYPE_CHECKING:
    from bpdebug.timeline import Timeline

DEFAULT_STEPS = 10
"""Updates a script makes and checks when `--steps` is not given (see the module doc)."""
SCRIPT_SUFFIXES = (".py", ".ipynb")

Cell = tuple[str, str]
"""(kind, source): kind "markdown" or "code"."""


def script_cells(timeline: Timeline, steps: int = DEFAULT_STEPS) -> list[Cell]:
    """The cells of the script of the timeline's step N and the `steps` updates after it."""
    from bpdebug.bridge.parity import optimizer_slots

    scenario, state, trainer = timeline.scenario, timeline.state, timeline.trainer
    spec, training = scenario.network, scenario.training
    L, N = spec.depth, timeline.step
    batches = [trainer.schedule.indices(s).tolist() for s in range(N, N + steps)]
    examples = sorted({i for batch in batches for i in batch})
    final, trace = state, timeline.trace
    moved = {
        (kind, l): np.zeros_like(p[l])
        for kind, p in (("W", state.params.W), ("b", state.params.b))
        for l in range(1, L + 1)
    }
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            after = trainer.advance(final, trace)
            for l in range(1, L + 1):
                moved["W", l] += abs(after.params.W[l] - final.params.W[l])
                moved["b", l] += abs(after.params.b[l] - final.params.b[l])
            final, trace = after, trainer.trace(after)

    def per_parameter(arrays: Iterable[tuple[str, np.ndarray]]) -> str:
        entries = [f"    {key!r}: {_numbers(x)}," for key, x in arrays]
        return "{\n" + "\n".join(entries) + "\n}"

    def parameters(W: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> str:
        return per_parameter(
            (torch_parameter_name(l, kind), p[l])
            for l in range(1, L + 1)
            for kind, p in (("W", W), ("b", b))
        )

    slots = optimizer_slots(state.opt, training.optimizer, L)
    state_text = (
        "{\n"
        + "".join(
            f"    {key!r}: {{\n"
            + "".join(f"        {slot!r}: {_numbers(x)},\n" for slot, x in entries.items())
            + "    },\n"
            for key, entries in slots.items()
        )
        + "}"
    )
    scale = per_parameter(
        (torch_parameter_name(l, kind), abs(p[l]) + moved[kind, l])
        for l in range(1, L + 1)
        for kind, p in (("W", state.params.W), ("b", state.params.b))
    )
    name, path = printable(scenario.name), printable(str(scenario.path))
    activations = [spec.activation_of(l) for l in range(1, L + 1)]
    intro = f"""# {name}: steps {N} to {N + steps} in PyTorch

Written by bpdebug {__version__} (`bpdebug export {path} --step {N} --steps {steps}`).
This script rebuilds the network of step {N} as `nn.Sequential(Linear_1, g_1, ...,
Linear_L, g_L)`, gives `torch.optim` the {training.optimizer} state of step {N}, makes
the {steps} updates {N + 1}..{N + steps} on the batches bpdebug uses, and compares every
parameter with bpdebug's at step {N + steps}. It needs only torch; exit status 0 when
everything agrees, 1 when a tensor differs."""
    data = f"""# The scenario {name!r} ({path!r}) at step {N}: its network, data and training.
LAYERS = {list(spec.layers)!r}
ACTIVATIONS = {activations!r}
LOSS = {spec.loss!r}
L1, L2 = {training.l1!r}, {training.l2!r}
OPTIMIZER = {training.optimizer!r}
LEARNING_RATE = {training.learning_rate!r}
MOMENTUM = {training.momentum!r}
BETA1, BETA2, EPS = {training.beta1!r}, {training.beta2!r}, {training.eps!r}
START_STEP, STEPS, UPDATES_SO_FAR = {N}, {steps}, {state.opt.t}


def numbers(text: str, shape: tuple[int, ...]) -> torch.Tensor:
    \"\"\"Floats written with repr (so exactly) as a float64 tensor of `shape`.\"\"\"
    return torch.tensor([float(word) for word in text.split()], dtype=DTYPE).reshape(shape)


# W and b at step {N}, by state-dict name (W^(l) is "{{2(l-1)}}.weight").
PARAMETERS = {parameters(state.params.W, state.params.b)}

# The optimizer's state at step {N}, by torch.optim's names (empty for sgd).
OPTIMIZER_STATE = {state_text}

# The examples the batches use (indices into the scenario's data set) and their rows.
EXAMPLES = {examples!r}
INPUTS = {_numbers(scenario.data.inputs[:, examples].T)}
TARGETS = {_numbers(scenario.data.targets[:, examples].T)}

# Update N+1 uses the batch of step N: one list of example indices per update.
BATCHES = {json.dumps(batches)}
"""
    expected = f"""# bpdebug's parameters at step {N + steps}, and how far rounding can move
# each entry:
# |W| at step {N} plus the sum of |every update| (torch_ref.ATOL scales it).
EXPECTED = {parameters(final.params.W, final.params.b)}
SCALE = {scale}
"""
    train = """# Rebuild step START_STEP and make the updates with torch.optim.
model = build_model(
    [(PARAMETERS[f"{2 * i}.weight"], PARAMETERS[f"{2 * i}.bias"]) for i in range(len(ACTIVATIONS))],
    ACTIVATIONS,
)
optimizer = make_optimizer(model, OPTIMIZER, LEARNING_RATE, MOMENTUM, BETA1, BETA2, EPS)
load_optimizer_state(optimizer, model, OPTIMIZER, UPDATES_SO_FAR, OPTIMIZER_STATE)
row_of = {index: row for row, index in enumerate(EXAMPLES)}
batches = [[row_of[index] for index in batch] for batch in BATCHES]
train(model, optimizer, INPUTS, TARGETS, batches, ACTIVATIONS[-1], LOSS, L1, L2)
"""
    check = """# Every parameter against bpdebug's at step START_STEP + STEPS.
rows = [
    compare(key, value.detach(), EXPECTED[key], SCALE[key])
    for key, value in model.state_dict().items()
]
for row in rows:
    print(cmp_line(row))
differ = [row[0] for row in rows if not row[2]]
if differ:
    print(f"{len(differ)} of {len(rows)} tensors differ from bpdebug's: {', '.join(differ)}")
    raise SystemExit(1)
print(f"all {len(rows)} tensors allclose to bpdebug's at step {START_STEP + STEPS}")
"""
    reference = (Path(__file__).parent / "torch_ref.py").read_text(encoding="utf-8")
    return [
        ("markdown", intro),
        ("code", reference.rstrip("\n")),
        ("code", data.rstrip("\n")),
        ("code", expected.rstrip("\n")),
        ("code", train.rstrip("\n")),
        ("code", check.rstrip("\n")),
    ]


def _numbers(x: np.ndarray) -> str:
    """The source `numbers(TEXT, shape)` of x: its floats by repr, one matrix row a line."""
    x = np.asarray(x, dtype=np.float64)
    shape = tuple(int(n) for n in x.shape)
    rows = x.reshape(1, -1) if x.ndim < 2 else x.reshape(-1, x.shape[-1])
    body = "\n".join(" ".join(repr(v) for v in row) for row in rows.tolist())
    return f'numbers("""\n{body}\n""", {shape!r})'


def to_percent(cells: list[Cell]) -> str:
    """The cells as a py:percent script (jupytext, VS Code, Spyder and PyCharm read them)."""
    header = """# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---
"""
    parts = [header]
    for kind, source in cells:
        if kind == "markdown":
            lines = [f"# {line}".rstrip() for line in source.splitlines()]
            parts.append("# %% [markdown]\n" + "\n".join(lines) + "\n")
        else:
            parts.append("# %%\n" + source + "\n")
    return "\n".join(parts)


def to_notebook(cells: list[Cell]) -> str:
    """The cells as a Jupyter notebook (nbformat 4, validated). Raises MissingExtra."""
    nbformat = need("nbformat", "bpdebug export -o FILE.ipynb")
    v4 = nbformat.v4
    notebook = v4.new_notebook(
        cells=[
            v4.new_markdown_cell(source) if kind == "markdown" else v4.new_code_cell(source)
            for kind, source in cells
        ],
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(notebook)
    text: str = nbformat.writes(notebook)
    return text + "\n"


def export_script(
    timeline: Timeline, path: str | os.PathLike[str], *, steps: int | None, force: bool
) -> Path:
    """Write the script (.py) or notebook (.ipynb) of the timeline's step; see the module doc.

    Never overwrites without `force`; written whole through a temporary file.
    Raises ExportError (and MissingExtra for a notebook without nbformat).
    """
    from bpdebug.snapshot import ExportError

    name = os.fspath(path)
    if not force and os.path.lexists(name):
        raise ExportError(f"{name}: exists; pass --force to overwrite")
    cells = script_cells(timeline, DEFAULT_STEPS if steps is None else steps)
    notebook = Path(name).suffix.lower() == ".ipynb"
    text = to_notebook(cells) if notebook else to_percent(cells)
    try:
        return write_atomic(name, text.encode("utf-8"), overwrite=force)
    except FileExistsError:
        raise ExportError(f"{name}: exists; pass --force to overwrite") from None
    except OSError as error:
        raise ExportError(f"{name}: {error.strerror or error}") from None
