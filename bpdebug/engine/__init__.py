"""The math of bpdebug: numpy only, never imports a UI toolkit.

Forward and backward passes (`Network.trace`), activations, losses,
optimizers, initialisation and the finite-difference gradient check.
"""

from bpdebug.engine.activations import ACTIVATION_TYPES, Activation, get_activation
from bpdebug.engine.gradcheck import CheckStopped, GradCheck, LayerCheck, check_gradients
from bpdebug.engine.init import init_params
from bpdebug.engine.losses import LOSS_TYPES, Loss, OutputLayer, get_loss, output_layer
from bpdebug.engine.network import Network, Params, Trace
from bpdebug.engine.optimizers import (
    Equation,
    Optimizer,
    OptimizerConfig,
    OptState,
    apply_update,
    initial_state,
    optimizer_for,
)

__all__ = [
    "ACTIVATION_TYPES",
    "LOSS_TYPES",
    "Activation",
    "CheckStopped",
    "Equation",
    "GradCheck",
    "LayerCheck",
    "Loss",
    "Network",
    "OptState",
    "Optimizer",
    "OptimizerConfig",
    "OutputLayer",
    "Params",
    "Trace",
    "apply_update",
    "check_gradients",
    "get_activation",
    "get_loss",
    "init_params",
    "initial_state",
    "optimizer_for",
    "output_layer",
]
