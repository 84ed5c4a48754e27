"""A snapshot's branch: its name and its path from main, written and read back.

A snapshot taken on a branch (issue 11) records, besides its step, the
histories its past runs through, so that reopening it can make them again:
``branch`` (the branch's name) and ``branches`` (one record per branch after
main on the path main..it, in order; each leaves the one before it, main for
the first):

    {"name": "b2", "fork": 300, "changes": {"training.learning_rate": 0.1},
     "edits": [[300, 1, 0, 1, 0.5]]}

Decisions:
- Absent means main: a snapshot of main (or of a timeline outside any
  session, as `bpdebug export` makes) has neither key, so its bytes are
  what they were before branches.
- ``changes`` are the settings that differ from the parent's, as keys
  `with_settings` takes. They are the branch's own changes, plus any
  setting the branch's scenario has that its parent's does not although the
  change did not name it: an architecture branch made on another branch
  keeps that branch's training settings but leaves main at step 0, so its
  record names them too. Replaying the record gives the branch's scenario.
- ``edits`` are the weights set by hand on the branch, rows [step, layer, j,
  k, value], all at its fork (`Branches.edit_weight` makes a branch per
  moment). A record holds changes or edits, never both, never neither.
- In .npz and .safetensors, ``branches`` is the same list as JSON text (a
  0-d string array; a metadata string): no object arrays, nothing unpickled.
- What a file says is checked here for form (types, a name per branch,
  unique, at most MAX_PATH branches and MAX_EDITS edits); what it means
  (each change through the scenario loader's own checks, architecture only
  first and at step 0, edits naming weights, the replay's length) is
  checked against the scenario in `path_scenarios` and
  `bpdebug.snapshot.reopen`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bpdebug.errors import InputError, describe
from bpdebug.motion import Edit

if TYPE_CHECKING:
    from bpdebug.branches import Branch
    from bpdebug.scenario.model import Scenario

MAX_PATH = 256
"""Most branches a snapshot's path may hold (each is a history to rebuild)."""
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
"""A branch's name: short, printable, no spaces (``b1``)."""
RECORD_KEYS = ("name", "fork", "changes", "edits")


@dataclass(frozen=True)
class BranchRecord:
    """One branch of a snapshot's path: how to make it again from the one before."""

    name: str
    fork: int
    """The step it leaves the branch before it (0 for an architecture change)."""
    changes: tuple[tuple[str, object], ...] = ()
    """Settings as `with_settings` takes them: ``("training.learning_rate", 0.1)``."""
    edits: tuple[Edit, ...] = ()
    """Weights set by hand at `fork`, oldest first."""

    def to_plain(self) -> dict[str, Any]:
        """The record as JSON values."""
        return {
            "name": self.name,
            "fork": self.fork,
            "changes": dict(self.changes),
            "edits": [[e.step, e.layer, e.j, e.k, e.value] for e in self.edits],
        }

    def describe(self, parent: str) -> str:
        """``b1: from main at step 200, learning_rate 0.1``, as `Branch.describe` words it."""
        from bpdebug.branches import describe_fork

        return describe_fork(self.name, parent, self.fork, self.changes, len(self.edits))


def describe_path(records: Sequence[BranchRecord]) -> list[str]:
    """One line per history of the path: main, then each record."""
    lines = ["main: the scenario"]
    parent = "main"
    for record in records:
        lines.append(record.describe(parent))
        parent = record.name
    return lines


# -- writing ------------------------------------------------------------------
def record_path(branch: Branch) -> tuple[BranchRecord, ...]:
    """The records of `branch`'s path after main (empty for main)."""
    return tuple(_record(b) for b in branch.path()[1:])


def _record(branch: Branch) -> BranchRecord:
    assert branch.parent is not None  # path()[1:] holds no root
    changes = dict(branch.changes)
    ours, theirs = (
        settings_of(branch.timeline.scenario),
        settings_of(branch.parent.timeline.scenario),
    )
    named = {key.partition(".")[2] for key in changes}
    for key, value in ours.items():
        name = key.partition(".")[2]
        covered = name in named or (name == "activations" and named & {"activation", "output"})
        if value != theirs[key] and not covered:
            changes[key] = value
    return BranchRecord(branch.name, branch.fork, tuple(changes.items()), tuple(branch.own_edits))


def settings_of(scenario: Scenario) -> dict[str, object]:
    """The settings a branch may change, as `with_settings` keys and TOML-like values."""
    from bpdebug.scenario.loader import BRANCH_TRAINING_KEYS

    training = scenario.training
    out: dict[str, object] = {
        f"training.{key}": getattr(training, key) for key in BRANCH_TRAINING_KEYS
    }
    out["network.activations"] = list(scenario.network.activations)
    out["network.loss"] = scenario.network.loss
    return out


# -- reading ------------------------------------------------------------------
def parse_path(name: str, where: str, value: object) -> tuple[BranchRecord, ...]:
    """The records in `value` (a JSON list, or JSON text of one from .npz/.safetensors),
    checked for form; InputError naming file `name` and the key under `where`."""

    def fail(key: str, message: str) -> InputError:
        return InputError(name, key, message)

    if isinstance(value, str):
        try:
            value = json.loads(value)  # NaN, Infinity: json reads them
        except (ValueError, RecursionError) as error:
            raise fail(where, f"expected JSON ({' '.join(str(error).split())})") from None
    if not isinstance(value, list):
        raise fail(where, f"expected a list of branches, got {describe(value)}")
    if len(value) > MAX_PATH:
        raise fail(where, f"expected at most {MAX_PATH} branches, got {len(value)}")
    records: list[BranchRecord] = []
    seen = {"main"}
    edits = 0
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise fail(at, f"expected an object, got {describe(item)}")
        unknown = sorted(set(item) - set(RECORD_KEYS))
        if unknown:
            raise fail(f"{at}.{unknown[0]}", f"unknown key; expected {', '.join(RECORD_KEYS)}")
        for key in RECORD_KEYS:
            if key not in item:
                raise fail(f"{at}.{key}", "missing")
        branch = item["name"]
        if not isinstance(branch, str) or not NAME.fullmatch(branch):
            raise fail(
                f"{at}.name",
                f"expected a short name (letters, digits, _.-), got {describe(branch)}",
            )
        if branch in seen:
            raise fail(f"{at}.name", f"expected a name not already on the path, got {branch!r}")
        seen.add(branch)
        fork = _whole(item["fork"], name, f"{at}.fork")
        changes = item["changes"]
        if not isinstance(changes, dict):
            raise fail(f"{at}.changes", f"expected an object of settings, got {describe(changes)}")
        for key, setting in changes.items():
            _check_value(setting, name, f"{at}.changes.{key}")
        rows = item["edits"]
        if not isinstance(rows, list):
            raise fail(f"{at}.edits", f"expected a list of rows, got {describe(rows)}")
        edits += len(rows)
        from bpdebug.snapshot.build import MAX_EDITS

        if edits > MAX_EDITS:
            raise fail(f"{at}.edits", f"expected at most {MAX_EDITS:,} edits in all, got more")
        made = tuple(_edit(row, name, f"{at}.edits[{j}]") for j, row in enumerate(rows))
        if bool(changes) == bool(made):
            raise fail(at, "expected changes or edits (one of them)")
        for j, edit in enumerate(made):
            if edit.step != fork:
                raise fail(
                    f"{at}.edits[{j}]",
                    f"expected an edit at the fork, step {fork}, got {edit.step}",
                )
        records.append(BranchRecord(branch, fork, tuple(changes.items()), made))
    return tuple(records)


def _whole(value: object, name: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(name, key, f"expected a whole number >= 0, got {describe(value)}")
    return value


def _check_value(value: object, name: str, key: str) -> None:
    """A setting's value: a number, a string or a short list of them (the scenario
    loader then checks what it means)."""
    simple = (int, float, str)
    if isinstance(value, simple) and not isinstance(value, bool):
        return
    if isinstance(value, list) and len(value) <= 64 and all(isinstance(v, str) for v in value):
        return
    raise InputError(
        name, key, f"expected a number, a string or a list of names, got {describe(value)}"
    )


def _edit(row: object, name: str, key: str) -> Edit:
    if not isinstance(row, list) or len(row) != 5:
        raise InputError(name, key, f"expected [step, layer, j, k, value], got {describe(row)}")
    step, layer, j, k = (_whole(v, name, key) for v in row[:4])
    value = row[4]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(name, key, f"expected a finite value, got {describe(value)}")
    return Edit(step, layer, j, k, float(value))


def path_scenarios(
    name: str, where: str, root: Scenario, records: Sequence[BranchRecord]
) -> list[Scenario]:
    """Each record's scenario, made by the scenario loader's own checks from the one before
    (root first); also: an architecture change only first on the path and at step 0, and
    each edit naming a weight of the network. InputError names file `name` and the key."""
    from bpdebug.branches import ARCHITECTURE
    from bpdebug.scenario import with_settings

    scenarios = [root]
    layers = root.network.layers
    for i, record in enumerate(records):
        at = f"{where}[{i}]"
        architecture = [key for key, _ in record.changes if key in ARCHITECTURE]
        if architecture and (i > 0 or record.fork != 0):
            raise InputError(
                name,
                f"{at}.changes.{architecture[0]}",
                "an architecture change leaves main at step 0; expected it first on the path"
                f" with fork 0, got position {i}, fork {record.fork}",
            )
        scenario = scenarios[-1]  # an edit branch keeps its parent's settings
        if record.changes:
            try:
                scenario = with_settings(scenarios[-1], dict(record.changes), "?")
            except InputError as error:
                raise InputError(name, f"{at}.changes.{error.key}", error.message) from None
            except Exception as error:  # whatever slipped past the loader: still one line
                detail = " ".join(f"{type(error).__name__}: {error}".split())
                raise InputError(name, f"{at}.changes", f"cannot apply ({detail})") from None
            if settings_of(scenario) == settings_of(scenarios[-1]):
                raise InputError(
                    name, f"{at}.changes", "expected settings other than the branch before's"
                )
        scenarios.append(scenario)
        for j, edit in enumerate(record.edits):
            if (
                not (1 <= edit.layer < len(layers))
                or edit.j >= layers[edit.layer]
                or (edit.k >= layers[edit.layer - 1])
            ):
                raise InputError(
                    name,
                    f"{at}.edits[{j}]",
                    f"expected a weight of network.layers = {list(layers)}, got layer"
                    f" {edit.layer}, j {edit.j}, k {edit.k}",
                )
    return scenarios
