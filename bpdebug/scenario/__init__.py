"""Scenario files: loading and validating them, generating their data, finding bundled ones."""

from bpdebug.errors import InputError
from bpdebug.scenario.bundled import (
    BundledScenario,
    bundled_dir,
    closest_bundled,
    find_scenario_arg,
    list_bundled,
    resolve_scenario_arg,
)
from bpdebug.scenario.datatable import MAX_DATA_VALUES, MAX_EXAMPLES
from bpdebug.scenario.loader import (
    MAX_PARAMETERS,
    MAX_UNITS,
    load_scenario,
    loads_scenario,
    with_settings,
)
from bpdebug.scenario.model import (
    Breakpoint,
    Dataset,
    LayerInit,
    NetworkSpec,
    Scenario,
    TrainingSpec,
)

__all__ = [
    "MAX_DATA_VALUES",
    "MAX_EXAMPLES",
    "MAX_PARAMETERS",
    "MAX_UNITS",
    "Breakpoint",
    "BundledScenario",
    "Dataset",
    "InputError",
    "LayerInit",
    "NetworkSpec",
    "Scenario",
    "TrainingSpec",
    "bundled_dir",
    "closest_bundled",
    "find_scenario_arg",
    "list_bundled",
    "load_scenario",
    "loads_scenario",
    "resolve_scenario_arg",
    "with_settings",
]
