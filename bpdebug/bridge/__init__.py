"""Doors to other tools (issue 10): PyTorch in and out, the browser.

Everything here is optional: a plain install has no torch, safetensors,
nbformat or textual-serve, and a command that needs one of them says which
extra to install (`need`). Nothing here is imported by the engine, the
headless commands that don't use it, or the app.
"""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRA_OF = {
    "torch": "torch",
    "safetensors": "torch",
    "nbformat": "notebook",
    "textual_serve": "web",
}
"""The pip extra that installs each optional module."""

TORCH_ACTIVATIONS = {
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "linear": "Identity",
    "softmax": "Softmax",
}
"""bpdebug's activation name -> the `torch.nn` module that computes it.

`leaky_relu` is `nn.LeakyReLU(0.01)` (slope 0.01, torch's default) and
`softmax` is `nn.Softmax(dim=1)` over a (batch, units) tensor, the last layer
only; `linear` is `nn.Identity()`, or no module after the `nn.Linear`.
"""


class MissingExtra(Exception):
    """An optional module is not installed: one line naming the extra to install."""

    def __init__(self, module: str, purpose: str) -> None:
        self.module = module
        self.extra = EXTRA_OF.get(module, module)
        super().__init__(
            f"{purpose} needs {module}, which is not installed: pip install 'bpdebug[{self.extra}]'"
        )


def need(module: str, purpose: str) -> ModuleType:
    """Import an optional module, or raise MissingExtra saying what `purpose` needs."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        if error.name is not None and error.name.split(".")[0] != module.split(".")[0]:
            raise  # the module is there but broken: not a missing extra
        raise MissingExtra(module, purpose) from None


def torch_parameter_name(layer: int, kind: str) -> str:
    """The state-dict name of W^(layer) (`kind` "W") or b^(layer) (`kind` "b").

    bpdebug's model in PyTorch is always ``nn.Sequential(Linear_1, g_1,
    Linear_2, g_2, ..., Linear_L, g_L)``, with ``nn.Identity()`` for a
    linear layer, so layer l's Linear is module ``2(l-1)``: W^(1) is
    ``0.weight``, b^(2) is ``2.bias``. The exported script builds that
    model, and a `.safetensors` snapshot uses these names, so the one loads
    the other with ``load_state_dict``. ``nn.Linear.weight`` has W's shape
    (n_l, n_{l-1}).
    """
    suffix = {"W": "weight", "b": "bias"}[kind]
    return f"{2 * (layer - 1)}.{suffix}"
