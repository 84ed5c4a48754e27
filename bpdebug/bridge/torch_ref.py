"""bpdebug's math rebuilt in PyTorch from the contract alone: the reference of issue 10's "out".

This module imports torch and the standard library, never bpdebug: it is a
second, independent implementation of the contract (z, a, C_0, C, delta,
dW, db, the l1/l2 terms and the three optimizers), with the gradients from
torch's autograd instead of a hand-written backward pass. `bpdebug check
--against torch` compares bpdebug's numbers with it, and `bpdebug export
-o train.py` copies this module's source text into the script it writes
(so a script runs exactly the code the check runs; a test keeps the module
free of bpdebug imports). For that reason it has no ``from __future__
import annotations``: a script's cells would put it after other code.

Tensors here are PyTorch's way round, one row per example: X is (m, n_0),
Y is (m, n_L), z and a of layer l are (m, n_l) (the contract's columns,
transposed). Everything is float64.

Decisions:

- The model is ``nn.Sequential(Linear_1, g_1, ..., Linear_L, g_L)``, so
  W^(l) is ``{2(l-1)}.weight`` ((n_l, n_{l-1}), the contract's shape) and
  ``nn.Identity()`` stands for `linear`.
- The cost is torch's own functions where one computes the contract's C_0
  exactly as a formula: ``F.mse_loss`` summed over the units (squared
  error, no 1/2), ``F.binary_cross_entropy_with_logits`` for sigmoid +
  binary cross-entropy and ``F.cross_entropy`` with probability targets for
  softmax + cross-entropy (both from z, as bpdebug's fused pairs). The two
  other log pairs, sigmoid + cross-entropy and softmax + binary
  cross-entropy, are written out from log-sigmoid and log-softmax. A term
  whose target is 0 is left out rather than multiplied by log 0.
- C = mean of C_0 over the batch + l1 sum|W| + l2/2 sum W^2 (weights only).
  delta^(l) is the contract's per-example dC_0/dz^(l), which is m dC/dz^(l)
  of the mean; dW and db are autograd's gradients of the data term C; the
  optimizer is fed autograd's gradients of the whole C.
- The optimizers are torch.optim's: SGD, SGD(momentum, dampening 0) and
  Adam (eps outside the square root), whose rules are bpdebug's.
  Their arithmetic is arranged differently (Adam's m uses ``lerp`` and its
  step ``addcdiv``), so they agree with bpdebug to rounding, not bit for
  bit. State at step t > 0 is injected (`load_optimizer_state`); at t = 0
  torch starts its own (zero moments; momentum's first buffer is g, which
  equals mu 0 + g exactly).
- `compare` is the cmp() of Karpathy's makemore lectures in float64:
  exact means bit for bit (NaN matching NaN), close means
  |ours - torch| <= RTOL |torch| + ATOL scale everywhere (see ATOL).
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

DTYPE = torch.float64
"""Every tensor's type: the comparison is in float64."""

RTOL = 1e-9
"""Relative tolerance of `compare`, entry by entry."""
ATOL = 1e-11
"""Tolerance of `compare` relative to how far rounding can move an entry (its `scale`).

Two correct float64 implementations differ by rounding: each operation
rounds to u = 1.1e-16 relative, and a matrix product or a mean adds its
terms in another order, an error of at most about n u (sum of |terms|):
9e-14 of the terms for the 784 inputs of `wide`. Where terms cancel
(db^(L) of a trained net, delta^(L) = 2(a - y) once a = y, Adam dividing
noise by noise) that error is large relative to the result, so a tolerance
relative to the entry alone fails correct numbers, and a fixed absolute one
(1e-12, say) passes any mistake in a tensor that is small as a whole (the
first layers of `vanishing` have gradients near 1e-20). So `scale` is, per
entry, the first-order change of that entry when every input and
intermediate value moves by 1 relative (for z, |W| @ |a| + |b|; carried
through the backward pass and the update: bpdebug.bridge.parity), and an
entry may differ by RTOL of itself or ATOL of its scale. Rounding moves an
entry by at most a few n u of its scale; the worst measured over every
bundled scenario at steps 0 to 2,000 is 3e-15 of it (README, "Back to
PyTorch"), so ATOL leaves a margin of over 3,000, while a real
mistake (a wrong derivative, a missing 1/m, one weight off by 1e-6) is off
by far more than both.
"""

LEAKY_SLOPE = 0.01
"""leaky_relu's slope for z < 0 (the contract's; torch's default too)."""


def activation_module(name: str) -> nn.Module:
    """The torch module of an activation name of the contract (softmax over the units)."""
    if name == "leaky_relu":
        return nn.LeakyReLU(LEAKY_SLOPE)
    if name == "softmax":
        return nn.Softmax(dim=1)
    modules = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "linear": nn.Identity}
    return modules[name]()


def build_model(
    weights: list[tuple[torch.Tensor, torch.Tensor]], activations: list[str]
) -> nn.Module:
    """``nn.Sequential(Linear_1, g_1, ..., Linear_L, g_L)`` holding exactly these parameters.

    `weights` is [(W^(1), b^(1)), ...], W^(l) (n_l, n_{l-1}) and b^(l) (n_l,);
    `activations` names g_1..g_L.
    """
    modules: list[nn.Module] = []
    for (W, b), name in zip(weights, activations, strict=True):
        linear = nn.Linear(W.shape[1], W.shape[0], dtype=DTYPE)
        with torch.no_grad():
            linear.weight.copy_(W)
            linear.bias.copy_(b)
        modules += [linear, activation_module(name)]
    return nn.Sequential(*modules)


def layers_of(model: nn.Module) -> list[tuple[nn.Linear, nn.Module]]:
    """(Linear_l, g_l) for l = 1..L."""
    children = list(model.children())
    return [(children[i], children[i + 1]) for i in range(0, len(children), 2)]


def per_example_cost(
    z: torch.Tensor, a: torch.Tensor, Y: torch.Tensor, output: str, loss: str
) -> torch.Tensor:
    """C_0 of each example, (m,), from the output layer's z and a and the targets Y, (m, n_L)."""
    if loss == "squared_error":
        return F.mse_loss(a, Y, reduction="none").sum(dim=1)
    if loss == "half_squared_error":
        return 0.5 * F.mse_loss(a, Y, reduction="none").sum(dim=1)
    if loss == "binary_cross_entropy" and output == "sigmoid":
        return F.binary_cross_entropy_with_logits(z, Y, reduction="none").sum(dim=1)
    if loss == "cross_entropy" and output == "softmax":
        return F.cross_entropy(z, Y, reduction="none")
    if output == "sigmoid":
        log_a, log_not_a = F.logsigmoid(z), F.logsigmoid(-z)
    elif output == "softmax":
        log_a = F.log_softmax(z, dim=1)
        log_not_a = torch.log1p(-torch.where(Y != 1.0, a, 0.0))  # 1 - a, where it is used
    else:
        raise ValueError(f"{loss} needs a sigmoid or softmax output, not {output}")
    zero = torch.zeros((), dtype=z.dtype)
    terms = torch.where(Y != 0.0, Y * log_a, zero)
    if loss == "binary_cross_entropy":
        terms = terms + torch.where(Y != 1.0, (1.0 - Y) * log_not_a, zero)
    elif loss != "cross_entropy":
        raise ValueError(f"unknown loss {loss!r}")
    return -terms.sum(dim=1)


def regularization(model: nn.Module, l1: float, l2: float) -> torch.Tensor:
    """l1 sum|W| + l2/2 sum W^2 over every weight matrix (not the biases)."""
    total = torch.zeros((), dtype=DTYPE)
    for linear, _ in layers_of(model):
        if l1:
            total = total + l1 * linear.weight.abs().sum()
        if l2:
            total = total + 0.5 * l2 * (linear.weight * linear.weight).sum()
    return total


def reference_pass(
    model: nn.Module, X: torch.Tensor, Y: torch.Tensor, output: str, loss: str, l1: float, l2: float
) -> dict[str, list[torch.Tensor]]:
    """Forward pass, cost and autograd's gradients of one batch; sets every parameter's .grad.

    X is (m, n_0), Y is (m, n_L). Returns lists indexed by layer - 1:
    ``z``, ``a``, ``delta`` (m, n_l); ``dW`` (n_l, n_{l-1}) and ``db`` (n_l,)
    of the data term C; ``grad_W``, ``grad_b`` of the whole cost (what the
    optimizer is fed); and one-element lists ``C_0`` (m,), ``data_cost``,
    ``reg_cost``, ``cost`` (0-d). The parameters' .grad are set to the whole
    cost's gradients, ready for ``optimizer.step()``.
    """
    m = X.shape[0]
    zs: list[torch.Tensor] = []
    acts: list[torch.Tensor] = []
    a = X
    for linear, g in layers_of(model):
        z = linear(a)
        a = g(z)
        zs.append(z)
        acts.append(a)
    C_0 = per_example_cost(zs[-1], acts[-1], Y, output, loss)
    data_cost = C_0.mean()
    reg_cost = regularization(model, l1, l2)
    cost = data_cost + reg_cost
    weights = [linear.weight for linear, _ in layers_of(model)]
    biases = [linear.bias for linear, _ in layers_of(model)]
    L = len(zs)
    grads = torch.autograd.grad(data_cost, zs + weights + biases, retain_graph=True)
    model.zero_grad(set_to_none=True)
    cost.backward()
    detached = [x.detach() for x in acts]
    return {
        "z": [z.detach() for z in zs],
        "a": detached,
        "delta": [m * g for g in grads[:L]],  # dC_0/dz per example: m times dC/dz of the mean
        "dW": list(grads[L : 2 * L]),
        "db": list(grads[2 * L :]),
        "grad_W": [w.grad.detach().clone() for w in weights],
        "grad_b": [b.grad.detach().clone() for b in biases],
        "C_0": [C_0.detach()],
        "data_cost": [data_cost.detach()],
        "reg_cost": [reg_cost.detach()],
        "cost": [cost.detach()],
    }


def make_optimizer(
    model: nn.Module, name: str, lr: float, momentum: float, beta1: float, beta2: float, eps: float
) -> torch.optim.Optimizer:
    """torch.optim's optimizer with bpdebug's rule `name`: sgd, momentum or adam.

    ``foreach=False`` keeps to the plain per-tensor loop on every machine.
    """
    params = list(model.parameters())
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, foreach=False)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, dampening=0.0, foreach=False)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(beta1, beta2), eps=eps, foreach=False)
    raise ValueError(f"unknown optimizer {name!r}")


STATE_NAMES = {"momentum": ("momentum_buffer",), "adam": ("exp_avg", "exp_avg_sq")}
"""torch.optim's state names of each optimizer: velocity v; Adam's moments m and v."""


def load_optimizer_state(
    optimizer: torch.optim.Optimizer,
    model: nn.Module,
    name: str,
    t: int,
    state: dict[str, dict[str, torch.Tensor]],
) -> None:
    """Give `optimizer` the state after `t` updates: `state` maps a parameter's state-dict
    name (``0.weight``) to its tensors by torch's names (`STATE_NAMES`). At t = 0 nothing is
    set and torch starts its own state."""
    if t == 0 or name == "sgd":
        return
    for key, param in model.named_parameters():
        entry = {slot: state[key][slot].clone() for slot in STATE_NAMES[name]}
        if name == "adam":
            entry["step"] = torch.tensor(float(t), dtype=DTYPE)
        optimizer.state[param] = entry


def optimizer_state(
    optimizer: torch.optim.Optimizer, model: nn.Module, name: str
) -> dict[str, dict[str, torch.Tensor]]:
    """The optimizer's state by parameter name and torch's slot names (empty for sgd)."""
    if name == "sgd":
        return {}
    return {
        key: {slot: optimizer.state[param][slot].detach() for slot in STATE_NAMES[name]}
        for key, param in model.named_parameters()
    }


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    X: torch.Tensor,
    Y: torch.Tensor,
    batches: list[list[int]],
    output: str,
    loss: str,
    l1: float,
    l2: float,
) -> None:
    """One update per batch: the examples (rows of X and Y) each batch lists, in its order."""
    for rows in batches:
        index = torch.tensor(rows, dtype=torch.long)
        reference_pass(model, X[index], Y[index], output, loss, l1, l2)
        optimizer.step()


def compare(
    name: str, ours: torch.Tensor, theirs: torch.Tensor, scale: "torch.Tensor | float" = 0.0
) -> tuple[str, bool, bool, float]:
    """(name, exact, close, max |ours - theirs|) of two float64 tensors of the same shape.

    exact: the same bits (NaN matching NaN). close: everywhere
    |ours - theirs| <= RTOL |theirs| + ATOL scale, with NaN and infinities
    in the same places. `scale` (a number, or a tensor of the same shape)
    bounds how far rounding can move each entry (see ATOL); 0 leaves RTOL
    alone. A shape mismatch is neither, with an infinite difference.
    """
    if tuple(ours.shape) != tuple(theirs.shape):
        return name, False, False, math.inf
    ours = ours.to(DTYPE).contiguous()
    theirs = theirs.to(DTYPE).contiguous()
    both_nan = torch.isnan(ours) & torch.isnan(theirs)
    same_bits = ours.view(torch.int64) == theirs.view(torch.int64)
    exact = bool((same_bits | both_nan).all())
    allowed = RTOL * theirs.abs() + ATOL * torch.as_tensor(scale, dtype=DTYPE).abs()
    difference = (ours - theirs).abs()
    finite = torch.isfinite(ours) & torch.isfinite(theirs)
    same_place = torch.isfinite(ours) == torch.isfinite(theirs)
    infinities_agree = torch.where(finite | both_nan, True, ours == theirs)
    within = torch.where(finite, difference <= allowed, True)
    close = bool((same_place & infinities_agree & within).all())
    worst = float(difference[finite].max()) if bool(finite.any()) else 0.0
    if not bool(same_place.all()):
        worst = math.inf  # NaN or inf where the other has a number
    return name, exact, close, worst


def cmp_line(row: tuple[str, bool, bool, float], width: int = 16) -> str:
    """One row of the comparison: name, exact, close, max abs diff (makemore's cmp)."""
    name, exact, close, worst = row
    return f"{name:<{width}} exact: {exact!s:5} allclose: {close!s:5} max diff: {worst:.3g}"
