"""Open what the user named: a scenario, a bundled scenario's name, or a snapshot.

Reopening a snapshot makes its history again: the scenario is rebuilt from
the snapshot alone, then replayed to each recorded edit, the edit made, and
on to the snapshot's step. That replay can be long, so it is a motion (a
generator of progress) that the screen runs in a worker and Esc can cancel.

A snapshot taken on a branch (``branch`` and ``branches``,
bpdebug.snapshot.branching) reopens as a session of branches: main, then
for each branch of its path, the one before is replayed to the fork and
the branch made there again (`Branches.branch` with the recorded changes,
or `Branches.edit_weight` with its edits) under its recorded name; the
session ends on the snapshot's branch at its step. A snapshot with edits
but no branch record (written before branches) makes its edits the same
way, so they land on branches and main stays the scenario's own. A
cancelled reopening keeps the branches made so far and the step reached.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bpdebug.branches import Branches, name_branch
from bpdebug.engine import Params
from bpdebug.engine.network import EMPTY
from bpdebug.errors import InputError
from bpdebug.scenario import load_scenario, loads_scenario, resolve_scenario_arg
from bpdebug.scenario.limits import REPLAY_STEPS, REPLAY_WORK, replay_limit_passed
from bpdebug.scenario.model import Dataset, Scenario
from bpdebug.snapshot.branching import BranchRecord, path_scenarios
from bpdebug.snapshot.build import Snapshot
from bpdebug.snapshot.read import load_snapshot
from bpdebug.timeline import Edit, Progress, Timeline, finish

SNAPSHOT_SUFFIXES = (".json", ".npz", ".safetensors")


@dataclass(frozen=True)
class Reopening:
    """How to bring a fresh timeline to a snapshot's step, branch and history."""

    path: Path
    step: int
    edits: tuple[Edit, ...]
    """The snapshot's edits, oldest first, checked against its scenario."""
    params: Params
    """The snapshot's W and b: what the replay must arrive at."""
    records: tuple[BranchRecord, ...] = ()
    """The snapshot's branch path after main (empty: it is on main)."""
    session: Branches | None = field(default=None, compare=False)
    """The session the replay rebuilds, whose main is the timeline `open_timeline` gave
    (the debugger holds it, so that it opens on the snapshot's branch)."""

    def motion(self, timeline: Timeline) -> Generator[Progress, None, str]:
        """Replay to each fork (or edit), make the branch, go on to the step, on the
        session of `timeline` (`session` if it is its main); returns what to tell the user."""
        session = self.session
        if session is None or session.main.timeline is not timeline:
            session = Branches.of(timeline)
        total = sum(record.fork for record in self.records) + self.step
        done = yield from rebuilding(session, self.records, self.edits, total)
        yield from _towards(session.timeline, self.step, done, total)
        timeline = session.timeline
        params = timeline.state.params
        same = all(
            np.array_equal(x, y, equal_nan=True)
            for x, y in zip(
                (*self.params.W[1:], *self.params.b[1:]),
                (*params.W[1:], *params.b[1:]),
                strict=True,
            )
        )
        said = f"reopened {self.path} at step {self.step}"
        if self.records:
            said += f" on branch {session.current.name}"
        elif self.edits:
            steps = sorted({e.step for e in self.edits})
            count = "its edit" if len(self.edits) == 1 else f"its {len(self.edits)} edits"
            where = "step" if len(steps) == 1 else "steps"
            said += f" with {count} at {where} {', '.join(map(str, steps))}"
        if same:
            return said
        timeline.graft(self.params)
        return (
            f"{said}: its parameters differ from the replay (an edit it does not record),"
            f" so they start a branch at step {self.step}"
        )


def rebuilding(
    session: Branches,
    records: Sequence[BranchRecord],
    edits: Sequence[Edit] = (),
    total: int = 0,
) -> Generator[Progress, None, int]:
    """Make a snapshot's branch path again in `session` (on main): for each record,
    replay the branch before to the fork and make the branch there under its recorded
    name; without records, make `edits` (a snapshot from before branches) as edits on
    branches. Reports progress out of `total`; returns the updates it made so far."""
    done = 0
    for record in records:
        yield from _towards(session.timeline, record.fork, done, total)
        done += record.fork
        made = len(session.all)
        if record.edits:
            line, current = session.timeline, session.current
            if current.edited and current.fork == record.fork == line.frontier:
                # Edits at the fork of an edit branch that never moved on would
                # gather on it; this one was made after it had moved on.
                line.seek(record.fork + 1)
                line.seek(record.fork)
            for edit in record.edits:
                session.edit_weight(edit.layer, edit.j, edit.k, edit.value)
        else:
            with suppress(ValueError):  # changes nothing: refused before, by path_scenarios
                session.branch(dict(record.changes), record.fork)
        if len(session.all) == made + 1:
            name_branch(session, session.current, record.name)
    if not records:
        for edit in edits:
            yield from _towards(session.timeline, edit.step, session.timeline.step, total)
            session.edit_weight(edit.layer, edit.j, edit.k, edit.value)
        done = session.timeline.step
    return done


def _towards(
    timeline: Timeline, step: int, before: int, last: int
) -> Generator[Progress, None, None]:
    """Seek to `step`, reporting progress as `before` plus the steps of this seek, out of
    the whole way's `last`."""
    start = timeline.step
    for done, total in timeline.seeking(step):
        yield min(before + done * max(abs(step - start), 1) // max(total, 1), last), last


def open_timeline(arg: str) -> tuple[Timeline, Reopening | None]:
    """A timeline at step 0 and, for a snapshot, how to reopen it (`Reopening.motion`).

    A snapshot carries its scenario's TOML text, its step, its edits and,
    for a CSV scenario, its data set: the scenario is rebuilt from those
    alone (no other file is read, whatever paths the snapshot names) and
    checked against the snapshot's shapes, edits and replay limits before
    anything is replayed. If the replay does not arrive at the snapshot's W
    and b (a snapshot from before edits were recorded), they are grafted on
    as a branch, so the screen shows exactly the snapshot's parameters.
    Raises InputError for anything wrong with the file.
    """
    path = Path(arg)
    if path.suffix.lower() not in SNAPSHOT_SUFFIXES:
        return Timeline(load_scenario(resolve_scenario_arg(arg))), None
    snap = load_snapshot(path)
    scenario = _scenario_of(path, snap)
    step = snap.step
    records = snap.branches or ()
    scenarios = path_scenarios(str(path), "branches", scenario, records)
    _check_replay(path, [r.fork for r in records], step, scenarios)
    _check_fits(path, snap, scenario, max(s.training.batch_size for s in scenarios))
    edits = _edits_of(path, snap, scenario, step)
    W = (EMPTY, *(layer.W for layer in snap.layers))
    b = (EMPTY, *(layer.b for layer in snap.layers))
    timeline = Timeline(scenario)
    session = Branches.of(timeline)
    return timeline, Reopening(path, step, edits, Params(W, b), records, session)


def recorded_path(path: Path) -> tuple[Snapshot, tuple[BranchRecord, ...]]:
    """A snapshot and its branch path, checked against its scenario as reopening checks
    them (nothing replayed). Raises InputError."""
    snap = load_snapshot(path)
    records = snap.branches or ()
    path_scenarios(str(path), "branches", _scenario_of(path, snap), records)
    return snap, records


def reopen(arg: str) -> tuple[Timeline, str]:
    """`open_timeline`, then the whole replay at once: the timeline at the snapshot's step
    (its branch's, in the session `timeline.branch` belongs to) and what to tell the user
    ("" for a scenario)."""
    timeline, reopening = open_timeline(arg)
    if reopening is None or reopening.session is None:
        return timeline, ""
    said = finish(reopening.motion(timeline))
    return reopening.session.timeline, said


def _edits_of(path: Path, snap: Snapshot, scenario: Scenario, step: int) -> tuple[Edit, ...]:
    """The snapshot's edits, each naming a weight of its scenario at a step up to its own."""
    layers = scenario.network.layers
    edits = []
    rows = np.empty((0, 5)) if snap.edits is None else snap.edits
    for row, (s, l, j, k, value) in enumerate(rows.tolist()):
        edit = Edit(int(s), int(l), int(j), int(k), float(value))
        if (
            not (1 <= edit.layer < len(layers))
            or edit.j >= layers[edit.layer]
            or edit.k >= layers[edit.layer - 1]
        ):
            raise InputError(
                path,
                f"edits[{row}]",
                f"expected a weight of network.layers = {list(layers)}, got layer {edit.layer},"
                f" j {edit.j}, k {edit.k}",
            )
        if edit.step > step:
            raise InputError(
                path, f"edits[{row}]", f"expected a step up to {step}, got {edit.step}"
            )
        edits.append(edit)
    return tuple(edits)


def _scenario_of(path: Path, snap: Snapshot) -> Scenario:
    """The snapshot's scenario, rebuilt from its text and carried data without reading files."""
    text = snap.scenario.text
    if text is None:
        raise InputError(path, "scenario.text", "missing; expected the scenario's TOML text")
    carried = None if snap.data is None else Dataset(*snap.data, "snapshot")
    try:
        return loads_scenario(text, snap.scenario.path, carried, read_files=False)
    except InputError as error:
        raise InputError(path, "scenario.text", str(error)) from None


def _check_fits(path: Path, snap: Snapshot, scenario: Scenario, batch: int) -> None:
    """The snapshot's layer sizes and batch (at most `batch`, the largest of its path's
    scenarios) against its scenario's, before any replay."""
    layers = scenario.network.layers
    if len(snap.layers) != len(layers) - 1:
        raise InputError(
            path,
            "layers",
            f"expected {len(layers) - 1} layers, as its scenario's network.layers ="
            f" {list(layers)}, got {len(snap.layers)}",
        )
    for l, layer in enumerate(snap.layers, start=1):
        expected = (layers[l], layers[l - 1])
        if layer.W.shape != expected:
            raise InputError(
                path,
                f"layers[{l - 1}].W",
                f"expected shape {expected}, as its scenario's network.layers ="
                f" {list(layers)}, got {layer.W.shape}",
            )
    m = snap.inputs.shape[1]
    if snap.inputs.shape[0] != layers[0] or m > batch:
        raise InputError(
            path,
            "inputs",
            f"expected {layers[0]} rows of at most {batch} examples (the scenario's"
            f" batch), got shape {snap.inputs.shape}",
        )


def _check_replay(path: Path, forks: Sequence[int], step: int, scenarios: list[Scenario]) -> None:
    """Refuse a replay to `step` past the limits: in updates, and in updates x batch x size.

    On a branch the replay goes to each fork in turn, then to the step: at most
    their sum of updates, each at most the largest batch of the path.
    """
    parameters = scenarios[0].network.parameters
    batch = max(s.training.batch_size for s in scenarios)
    step = sum(forks) + step
    work = step * batch * parameters
    passed = replay_limit_passed(step, work)
    if passed is REPLAY_STEPS:
        raise InputError(
            path,
            "step",
            f"expected at most {passed.value()} updates to replay ({passed.note()}), got {step}",
        )
    if passed is REPLAY_WORK:
        raise InputError(
            path,
            "step",
            f"expected a replay of at most {passed.value():.3g} multiply-adds (updates x batch x"
            f" parameters; {passed.note()}), got {step} x {batch} x {parameters} = {work:.3g}",
        )
