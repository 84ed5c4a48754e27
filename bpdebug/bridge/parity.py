"""`bpdebug check --against torch`: one step of bpdebug against PyTorch, tensor by tensor.

bpdebug's side comes from its timeline (the state at step N, its pass and
the update N+1 it makes); PyTorch's from `bpdebug.bridge.torch_ref`, which
knows nothing of bpdebug's engine. What they share is only the input of
the step: the parameters and optimizer state at step N, the batch X, Y and
the scenario's names and numbers. Everything computed from those is
compared: z, a, delta, dW, db of each layer, C_0 and C, the gradient the
update is fed when l1/l2 add to it, the parameters after the update and
the optimizer's state after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bpdebug.bridge import need, torch_parameter_name
from bpdebug.text import printable

if TYPE_CHECKING:
    from bpdebug.engine import OptState
    from bpdebug.timeline import Timeline
    from bpdebug.training import TrainState

PURPOSE = "bpdebug check --against torch"

SLOTS = {
    "momentum": (("v", "momentum_buffer"),),
    "adam": (("m", "exp_avg"), ("v", "exp_avg_sq")),
}
"""bpdebug's optimizer slot prefix (vW, mb, ...) -> torch.optim's state name, per optimizer."""


@dataclass(frozen=True)
class Row:
    """One tensor compared: bpdebug's against torch's."""

    name: str
    shape: tuple[int, ...]
    exact: bool
    """The same bits everywhere (NaN matching NaN)."""
    close: bool
    """Within torch_ref.ATOL + RTOL |torch| everywhere."""
    max_diff: float
    """The largest |bpdebug - torch|."""


def optimizer_slots(opt: OptState, name: str, depth: int) -> dict[str, dict[str, np.ndarray]]:
    """bpdebug's optimizer state by torch's names: {"0.weight": {"exp_avg": m, ...}, ...}."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for ours, theirs in SLOTS.get(name, ()):
        for kind in ("W", "b"):
            arrays = opt.get(ours + kind)
            for l in range(1, depth + 1):
                out.setdefault(torch_parameter_name(l, kind), {})[theirs] = arrays[l]
    return out


def compare_step(timeline: Timeline) -> list[Row]:
    """Every tensor of the timeline's step and of the update it makes, against PyTorch.

    Raises MissingExtra without torch.
    """
    torch = need("torch", PURPOSE)
    from bpdebug.bridge import torch_ref

    scenario, state, trace = timeline.scenario, timeline.state, timeline.trace
    spec, training = scenario.network, scenario.training
    L = trace.depth
    nxt = timeline.trainer.advance(state, trace)

    def tensor(x: Any) -> Any:
        return torch.tensor(np.asarray(x, dtype=np.float64), dtype=torch_ref.DTYPE)

    activations = [spec.activation_of(l) for l in range(1, L + 1)]
    model = torch_ref.build_model(
        [(tensor(state.params.W[l]), tensor(state.params.b[l])) for l in range(1, L + 1)],
        activations,
    )
    l1, l2 = training.l1, training.l2
    ref = torch_ref.reference_pass(
        model, tensor(trace.a[0]).T, tensor(trace.Y).T, activations[-1], spec.loss, l1, l2
    )
    rows: list[Row] = []
    sizes = error_scales(timeline, nxt)

    def add(name: str, ours: Any, theirs: Any) -> None:
        _, exact, close, worst = torch_ref.compare(name, tensor(ours), theirs, tensor(sizes[name]))
        rows.append(Row(name, tuple(np.shape(ours)), exact, close, worst))

    for l in range(1, L + 1):
        add(f"z^({l})", trace.z[l], ref["z"][l - 1].T)
        add(f"a^({l})", trace.a[l], ref["a"][l - 1].T)
    add("C_0", trace.per_example_cost, ref["C_0"][0])
    add("C", trace.cost, ref["cost"][0])
    for l in range(L, 0, -1):
        add(f"delta^({l})", trace.delta[l], ref["delta"][l - 1].T)
        add(f"dW^({l})", trace.dW[l], ref["dW"][l - 1])
        add(f"db^({l})", trace.db[l], ref["db"][l - 1])
        if training.l1 or training.l2:
            add(f"dW^({l})+reg", trace.grad_W(l), ref["grad_W"][l - 1])

    optimizer = torch_ref.make_optimizer(
        model,
        training.optimizer,
        training.learning_rate,
        training.momentum,
        training.beta1,
        training.beta2,
        training.eps,
    )
    before = optimizer_slots(state.opt, training.optimizer, L)
    torch_ref.load_optimizer_state(
        optimizer,
        model,
        training.optimizer,
        state.opt.t,
        {key: {s: tensor(x) for s, x in slots.items()} for key, slots in before.items()},
    )
    with torch.no_grad():
        optimizer.step()
    parameters = dict(model.named_parameters())
    for l in range(1, L + 1):
        for kind, after in (("W", nxt.params.W), ("b", nxt.params.b)):
            theirs_p = parameters[torch_parameter_name(l, kind)].detach()
            add(f"{kind}^({l}) next", after[l], theirs_p)
    theirs = torch_ref.optimizer_state(optimizer, model, training.optimizer)
    ours = optimizer_slots(nxt.opt, training.optimizer, L)
    for prefix, slot in SLOTS.get(training.optimizer, ()):
        for l in range(1, L + 1):
            for kind in ("W", "b"):
                key = torch_parameter_name(l, kind)
                add(f"{prefix}{kind}^({l}) next", ours[key][slot], theirs[key][slot])
    return rows


def error_scales(timeline: Timeline, nxt: TrainState) -> dict[str, np.ndarray]:
    """For each compared tensor, by row name, how far rounding can move it: a bound per entry.

    Each is the first-order change of the entry when every input and
    intermediate value moves by 1 relative (|W| @ |a| + |b| for z, the same
    carried through the backward pass and the update), so rounding moves it
    by at most a small multiple of n u times this. `torch_ref.ATOL` scales
    it. Where terms cancel (delta^(L) = 2(a - y) once a = y; db of a trained
    net; Adam dividing noise by noise) the bound stays the size of the terms,
    not of the cancelled result. Magnitudes only, from bpdebug's arrays; the
    constant factors are generous and sit far inside ATOL's margin.
    """
    state, trace, training = timeline.state, timeline.trace, timeline.scenario.training
    L, m = trace.depth, trace.batch_size
    W, b, a, delta = state.params.W, state.params.b, trace.a, trace.delta
    spec = timeline.scenario.network
    out: dict[str, np.ndarray] = {}
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        Sa: list[np.ndarray] = [abs(a[0])]
        for l in range(1, L + 1):
            Sz = abs(W[l]) @ Sa[l - 1] + abs(b[l])[:, None]
            slope, _ = _slope(spec.activation_of(l), trace.z[l], a[l])
            moved = slope * Sz
            if l == L and spec.activation_of(L) == "softmax":
                moved = Sz.max(axis=0, keepdims=True)  # a unit moves with its column's z
            Sa.append(abs(a[l]) + moved)
            out[f"z^({l})"], out[f"a^({l})"] = Sz, Sa[l]
        dC_da = np.nan_to_num(abs(trace.dC_da), nan=0.0, posinf=0.0)
        S_C0 = (dC_da * Sa[L]).sum(axis=0) + abs(trace.per_example_cost)
        out["C_0"] = S_C0
        out["C"] = np.asarray(S_C0.mean() + abs(trace.reg_cost))
        # The fused pairs' delta^(L) is a - y; the others' dC_0/da * g'(z).
        fused = (spec.activation_of(L), spec.loss) in FUSED
        S_delta = Sa[L] + abs(trace.Y) + dC_da * Sa[L]
        if not fused:
            slope, bend = _slope(spec.activation_of(L), trace.z[L], a[L])
            S_delta = slope * S_delta + abs(trace.dC_da) * bend * Sa[L]
        S_delta = S_delta + abs(delta[L])
        for l in range(L, 0, -1):
            if l < L:
                # delta = (W^T delta') g'(z), g' read from a (a(1 - a), 1 - a^2):
                # delta' moves it through |W^T| |g'|, a through |dg'/da|, which
                # stays whole where g' itself cancels (a saturated tanh).
                slope, bend = _slope(spec.activation_of(l), trace.z[l], a[l])
                back = abs(W[l + 1]).T @ abs(delta[l + 1])
                S_delta = slope * (abs(W[l + 1]).T @ S_delta) + back * bend * Sa[l]
                S_delta = S_delta + abs(delta[l])
            out[f"delta^({l})"] = S_delta
            S_dW = S_delta @ Sa[l - 1].T / m
            S_db = S_delta.mean(axis=1)
            out[f"dW^({l})"], out[f"db^({l})"] = S_dW, S_db
            S_gW = S_dW + training.l1 + training.l2 * abs(W[l])
            out[f"dW^({l})+reg"] = S_gW
            _update_scales(out, timeline, nxt, l, "W", abs(W[l]), S_gW, abs(trace.grad_W(l)))
            _update_scales(out, timeline, nxt, l, "b", abs(b[l]), S_db, abs(trace.db[l]))
    return {name: np.nan_to_num(x, nan=0.0) for name, x in out.items()}


def _update_scales(
    out: dict[str, np.ndarray],
    timeline: Timeline,
    nxt: TrainState,
    l: int,
    kind: str,
    p: np.ndarray,
    S_g: np.ndarray,
    g: np.ndarray,
) -> None:
    """`error_scales` of the update of W^(l) or b^(l) (`kind`) and of the optimizer's state.

    `p` is |parameter|, `S_g` its gradient's scale and `g` |gradient|.
    """
    training, opt = timeline.scenario.training, timeline.state.opt
    lr = training.learning_rate
    if training.optimizer == "momentum":
        S_v = training.momentum * abs(opt.get("v" + kind)[l]) + S_g
        out[f"v{kind}^({l}) next"] = S_v
        out[f"{kind}^({l}) next"] = p + lr * S_v
    elif training.optimizer == "adam":
        b1, b2, eps, t = training.beta1, training.beta2, training.eps, nxt.opt.t
        S_m = b1 * abs(opt.get("m" + kind)[l]) + (1.0 - b1) * S_g
        S_v = b2 * abs(opt.get("v" + kind)[l]) + (1.0 - b2) * (2.0 * g * S_g + g * g)
        m_hat = abs(nxt.opt.get("m" + kind)[l]) / (1.0 - b1**t)
        root = np.sqrt(abs(nxt.opt.get("v" + kind)[l]) / (1.0 - b2**t))
        v_hat_scale = S_v / (1.0 - b2**t)
        step = S_m / (1.0 - b1**t) / (root + eps) + m_hat / (root + eps)
        step = step + m_hat * v_hat_scale / (2.0 * root * (root + eps) ** 2)
        out[f"m{kind}^({l}) next"], out[f"v{kind}^({l}) next"] = S_m, S_v
        out[f"{kind}^({l}) next"] = p + lr * step
    else:
        out[f"{kind}^({l}) next"] = p + lr * S_g


FUSED = {("sigmoid", "binary_cross_entropy"), ("softmax", "cross_entropy")}
"""Output pairs whose delta^(L) bpdebug computes as a - y (a sum(y) - y), without g'."""


def _slope(name: str, z: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(|g'|, |dg'/da|) entry by entry, from z and a, each (n, m); softmax: bounds 1 and 2.

    bpdebug reads g' from a (sigmoid a(1 - a), tanh 1 - a^2), so a's
    rounding reaches delta through dg'/da (1 - 2a, -2a) even where g' is ~0.
    """
    if name == "sigmoid":
        return abs(a * (1.0 - a)), abs(1.0 - 2.0 * a)
    if name == "tanh":
        return abs(1.0 - a * a), abs(2.0 * a)
    if name == "relu":
        return (z > 0.0).astype(np.float64), np.zeros_like(z)
    if name == "leaky_relu":
        return np.where(z > 0.0, 1.0, 0.01), np.zeros_like(z)
    if name == "softmax":
        return np.ones_like(z), np.full_like(z, 2.0)
    return np.ones_like(z), np.zeros_like(z)


def parity_lines(rows: list[Row], name: str, step: int, optimizer: str) -> list[str]:
    """The comparison table (lines of at most 76 columns), its legend and the verdict."""
    from bpdebug.bridge.torch_ref import ATOL, RTOL

    lines = [
        printable(f"torch check  {name}  step {step}  float64  optimizer {optimizer}"),
        f"{'tensor':<16} {'shape':<12} {'exact':<6} {'allclose':<9} max abs diff",
    ]
    for row in rows:
        shape = "x".join(map(str, row.shape)) or "scalar"
        lines.append(
            f"{row.name:<16} {shape:<12} {_yes(row.exact):<6} {_yes(row.close):<9} "
            f"{row.max_diff:.3g}"
        )
    lines.append(f"exact: same bits; allclose: |diff| <= {RTOL:g} |torch| + {ATOL:g} scale,")
    lines.append("scale: how far rounding can move the entry (see the README)")
    lines.append(parity_verdict(rows))
    return lines


def parity_verdict(rows: list[Row]) -> str:
    """``all 27 tensors allclose (12 exact)``, or ``2 of 27 tensors differ: dW^(1), W^(1) next``."""
    wrong = [row.name for row in rows if not row.close]
    if wrong:
        return f"{len(wrong)} of {len(rows)} tensors differ: {', '.join(wrong)}"
    exact = sum(row.exact for row in rows)
    return f"all {len(rows)} tensors allclose ({exact} exact)"


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"
