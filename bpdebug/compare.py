"""`bpdebug compare`: several training histories side by side, as a table and a plot.

The histories are two or more scenarios (a file, a bundled name, or a
snapshot: the history of its branch, made again from its record), or one
scenario's main and its branches (``--branch 200:learning_rate=0.1``).

Decisions:
- ``--branch [STEP:]KEY=VALUE,...``: each branch leaves main at STEP
  (default 0); KEY is a setting a branch may change, with or without its
  section (``learning_rate`` is ``training.learning_rate``, ``activation``
  ``network.activation``); VALUE is a TOML value, and a bare word that is
  not one is a string (``activation=relu``). Commas inside brackets or
  quotes belong to the value (``activations=["relu","relu","sigmoid"]``).
  An architecture change needs STEP 0 (it is a history from the start).
  Branches of branches are not offered here (the debugger makes them).
- Each history makes N updates from step 0 (a branch from its fork, its
  past being main's). Breakpoints are not stopped at: the histories are
  compared at the same steps. NaN/inf stops that history only: the table
  shows its cost up to there and ``-`` after, a line says where, the others
  go on, and the exit status is 3 once everything is printed and written.
- Costs are C of step s's batch at step s's parameters, the number the
  debugger and `bpdebug run` show, printed with run's digits (``.10g``).
  The table shows steps 0, N/4, N/2, 3N/4 and N, or ``--at``'s, N always
  last; ``--target C`` adds the first step whose cost is <= C.
- Ctrl-C stops after the update in progress, prints the table of what was
  computed and exits 130, writing no plot (it would not be the one asked for).
- The plot is plotext's, each history its own colour, a legend naming them
  and a ``◆`` where a branch leaves main, turned into SVG by Rich's
  recording console. Both are imported only when -o is given.
"""

from __future__ import annotations

import argparse
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bpdebug.console import Console, Progress

if TYPE_CHECKING:
    from bpdebug.branches import Branches
    from bpdebug.timeline import Timeline

COLOURS = ("blue", "red", "green", "magenta", "cyan", "orange", "gray", "yellow")
"""The plot's colour of each history, in order (plotext's names)."""
RICH_COLOURS = {"orange": "dark_orange", "gray": "grey50"}
"""Rich's name of the plotext colours whose names differ."""
FORK_MARKER = "◆"
"""Where a branch leaves main, on the plot."""


@dataclass
class History:
    """One history to compare: a name, what it is, its timeline and how its run ended."""

    name: str
    about: str
    """One line: what the history is (``b1: from main at step 200, learning_rate 0.1``)."""
    timeline: Timeline | None
    """None for a branch not made yet (`make_branch`)."""
    fork: int | None = None
    """The step it leaves main at (a branch), for the plot's mark."""
    last: int = 0
    """The furthest step computed."""
    problem: str = ""
    """NaN/inf: where it appeared (its history stops there)."""
    costs: list[float] = field(default_factory=list)
    """C at steps 0..last."""
    changes: dict[str, object] | None = None
    """A --branch's settings."""


# -- the histories ----------------------------------------------------------------
def parse_branch(text: str) -> tuple[int, dict[str, object]]:
    """``200:learning_rate=0.1,optimizer=adam`` -> (200, {"training.learning_rate": 0.1,
    "training.optimizer": "adam"}). ValueError says what was expected."""
    from bpdebug.scenario.loader import BRANCH_NETWORK_KEYS, BRANCH_TRAINING_KEYS

    step_text, colon, rest = text.partition(":")
    if colon and "=" not in step_text:
        if not step_text.strip().isdigit():
            raise ValueError(f"expected STEP:KEY=VALUE with STEP a whole number, got {text!r}")
        step = int(step_text)
    else:
        step, rest = 0, text
    changes: dict[str, object] = {}
    for part in _split(rest):
        key, equals, value = part.partition("=")
        key = key.strip()
        if not equals or not key:
            raise ValueError(f"expected KEY=VALUE, got {part.strip()!r} in {text!r}")
        if "." not in key:
            section = "network" if key in BRANCH_NETWORK_KEYS else "training"
            key = f"{section}.{key}"
        changes[key] = _value(value.strip())
    if not changes:
        raise ValueError(f"expected [STEP:]KEY=VALUE,..., got {text!r}")
    allowed = [*BRANCH_TRAINING_KEYS, *BRANCH_NETWORK_KEYS]
    for key in changes:
        if key.partition(".")[2] not in allowed:
            raise ValueError(
                f"{key} is not a setting a branch can change; those are {', '.join(allowed)}"
            )
    return step, changes


def _split(text: str) -> list[str]:
    """`text` split at commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [part for part in parts if part.strip()]


def _value(text: str) -> object:
    """A TOML value, or the text itself as a string (a bare word)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def build_histories(args: argparse.Namespace) -> tuple[list[History], Branches | None]:
    """The histories the arguments name, and for --branch the session whose main is the
    first. A branch's history has no timeline yet: it is made once main has run past its
    fork (`make_branch`). Raises InputError or ValueError, before anything is trained."""
    from bpdebug.branches import Branches
    from bpdebug.scenario import find_scenario_arg, load_scenario, with_settings
    from bpdebug.snapshot.branching import settings_of

    sources: list[str] = args.scenarios
    if args.branch:
        if len(sources) != 1:
            raise ValueError(f"--branch makes branches of one SCENARIO; got {len(sources)}")
        branches = Branches(load_scenario(find_scenario_arg(sources[0])))
        main = branches.main
        out = [History("main", main.describe(), main.timeline)]
        for i, text in enumerate(args.branch, start=1):
            step, changes = _checked_branch(text, args.steps)
            changed = with_settings(main.timeline.scenario, changes, f"--branch {text}")
            if settings_of(changed) == settings_of(main.timeline.scenario):
                raise ValueError(f"{text!r} changes nothing: those settings are main's")
            out.append(History(f"b{i}", "", None, step, changes=changes))
        return out, branches
    if len(sources) < 2:
        raise ValueError(
            "expected two or more SCENARIOs, or one with --branch"
            " (e.g. --branch 100:learning_rate=0.1)"
        )
    stems = [Path(source).stem for source in sources]
    out = []
    for source, stem in zip(sources, stems, strict=True):
        name = stem if stems.count(stem) == 1 else source
        out.append(_history_of(source, name))
    return out, None


def make_branch(history: History, branches: Branches) -> bool:
    """Make `history`'s branch of main at its fork, once main has run; False (and a
    problem said) if main stopped at NaN/inf before the fork."""
    assert history.fork is not None and history.changes is not None
    main = branches.main.timeline
    if history.fork > main.step:
        history.problem = f"main stopped at step {main.step}, before its fork at {history.fork}"
        history.about = f"{history.name}: from main at step {history.fork} (not made)"
        return False
    branches.switch("main")
    branch = branches.branch(history.changes, step=history.fork)
    history.name, history.about, history.timeline = branch.name, branch.describe(), branch.timeline
    return True


def _checked_branch(text: str, steps: int) -> tuple[int, dict[str, object]]:
    from bpdebug.branches import ARCHITECTURE

    step, changes = parse_branch(text)
    if step > steps:
        raise ValueError(f"{text!r} leaves main at step {step}, past --steps {steps}")
    architecture = [key for key in changes if key in ARCHITECTURE]
    if architecture and step != 0:
        raise ValueError(
            f"{architecture[0]} changes the architecture: a history from step 0; expected"
            f" 0:{architecture[0].partition('.')[2]}=..., got {text!r}"
        )
    return step, changes


def _history_of(source: str, name: str) -> History:
    """A scenario's main history, or a snapshot's branch made again (at its last fork)."""
    from bpdebug.scenario import find_scenario_arg, load_scenario
    from bpdebug.snapshot.reopen import SNAPSHOT_SUFFIXES, open_timeline, rebuilding
    from bpdebug.timeline import Timeline, finish

    if Path(source).suffix.lower() not in SNAPSHOT_SUFFIXES:
        scenario = load_scenario(find_scenario_arg(source))
        return History(name, f"{name}: {scenario.path}", Timeline(scenario))
    _, reopening = open_timeline(source)
    assert reopening is not None and reopening.session is not None
    session = reopening.session
    finish(rebuilding(session, reopening.records, reopening.edits))
    branch = session.current
    fork = None if branch.parent is None else branch.fork
    return History(name, f"{name}: {source}, {branch.describe()}", session.timeline, fork)


# -- running ----------------------------------------------------------------------
def run_compare(args: argparse.Namespace, console: Console) -> int:
    """`bpdebug compare`: run, print the table, write the plot; returns the exit status."""
    from bpdebug.cli import EXIT_INTERRUPTED, EXIT_NONFINITE, EXIT_OK, CommandError, CtrlC
    from bpdebug.errors import InputError

    steps: int = args.steps
    output = None if args.output is None else Path(args.output)
    if output is not None:
        if output.suffix.lower() != ".svg":
            raise CommandError(f"{output}: expected a .svg file to write the plot to")
        if output.exists() and not args.force:
            raise CommandError(f"{output}: exists; pass --force to overwrite")
    shown = _table_steps(args.at, steps)
    try:
        histories, branches = build_histories(args)
    except ValueError as error:
        if isinstance(error, InputError):
            raise
        raise CommandError(f"--branch: {error}" if args.branch else str(error)) from None
    total = sum(steps - (h.fork or 0) for h in histories)
    progress = Progress(total, console)
    interrupted = False
    done = 0
    with CtrlC() as ctrl_c:
        try:
            for history in histories:
                if history.timeline is None:
                    assert branches is not None
                    if not make_branch(history, branches):
                        continue
                done = _run(history, steps, progress, done, lambda: ctrl_c.pressed)
                if ctrl_c.pressed:
                    interrupted = True
                    break
        finally:
            progress.close()
    for history in histories:
        console.out(history.about)
    for line in table_lines(histories, shown, steps, args.target):
        console.out(line)
    for history in histories:
        if history.problem:
            console.out(f"{history.name}: {history.problem}; its history stops there")
    if interrupted:
        where = next(h for h in reversed(histories) if h.costs)
        console.err(f"bpdebug: interrupted (Ctrl-C) at step {where.last} of {where.name}")
        return EXIT_INTERRUPTED
    if output is not None:
        from bpdebug.files import write_atomic

        svg = plot_svg(histories, steps, args.size, _title(histories))
        try:
            write_atomic(output, svg.encode("utf-8"), overwrite=args.force)
        except FileExistsError:
            raise CommandError(f"{output}: exists; pass --force to overwrite") from None
        except OSError as error:
            raise CommandError(f"{output}: {error.strerror or error}") from None
        console.out(f"wrote {output}")
    return EXIT_NONFINITE if any(h.problem for h in histories) else EXIT_OK


def _run(history: History, steps: int, progress: Progress, done: int, stop_asked: object) -> int:
    """Train `history` to step `steps` (NaN/inf stops it); returns the updates done in all."""
    from bpdebug.breakpoints import describe_nonfinite

    timeline = history.timeline
    assert timeline is not None
    start = timeline.step
    if start > steps:  # a snapshot's branch made at a fork past N: its past is shared
        timeline.seek(steps)
        start = steps

    def show_progress() -> bool:
        progress.update(timeline.step, done + timeline.step - start, timeline.trace.cost)
        return bool(stop_asked())  # type: ignore[operator]

    stop = timeline.run_until((), max_steps=steps - start, should_stop=show_progress)
    progress.update(timeline.step, done + timeline.step - start, timeline.trace.cost, force=True)
    history.last = timeline.step
    costs = [float(c) for c in timeline.costs()[: timeline.step + 1]]
    costs[-1] = float(timeline.trace.cost)  # the number `run` prints, whatever was recorded
    history.costs = costs
    if stop.breakpoint is not None and stop.breakpoint.kind == "nonfinite":
        history.problem = (
            f"{describe_nonfinite(timeline.state, timeline.trace)} at step {stop.step}"
        )
    return done + timeline.step - start


def _table_steps(at: list[int] | None, steps: int) -> list[int]:
    if at is None:
        return sorted({0, steps // 4, steps // 2, 3 * steps // 4, steps})
    past = [s for s in at if s > steps]
    if past:
        from bpdebug.cli import CommandError

        raise CommandError(f"--at: expected steps up to --steps {steps}, got {past[0]}")
    return sorted({*at, steps})


def table_lines(
    histories: list[History], shown: list[int], steps: int, target: float | None
) -> list[str]:
    """The table: a row per step shown, a column per history; with `target`, a last row."""
    cells = [[_cost(h, s) for h in histories] for s in shown]
    rows = [[f"step {s}", *row] for s, row in zip(shown, cells, strict=True)]
    if target is not None:
        rows.append([f"cost <= {target:g}", *(_reaches(h, target, steps) for h in histories)])
    header = ["", *(h.name for h in histories)]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        first = row[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True))
        lines.append("  ".join([first, *rest]).rstrip())
    return lines


def _cost(history: History, step: int) -> str:
    if step >= len(history.costs):
        return "-"
    return f"{history.costs[step]:.10g}"


def _reaches(history: History, target: float, steps: int) -> str:
    for step, cost in enumerate(history.costs):
        if cost <= target:
            return f"step {step}"
    return f"not by {history.last if history.problem else steps}"


def _title(histories: list[History]) -> str:
    return "cost: " + ", ".join(h.name for h in histories)


# -- the plot ---------------------------------------------------------------------
def plot_svg(histories: list[History], steps: int, size: tuple[int, int], title: str) -> str:
    """The overlaid cost plot as SVG: plotext draws it in coloured text, Rich records that."""
    import io

    from plotext._figure import _figure_class as Figure  # as textual-plotext takes it
    from rich.console import Console as RichConsole
    from rich.text import Text

    figure = Figure()  # its own figure: nothing shared with plotext's global one
    figure._master._limit_size(False, False)  # the size asked, not the terminal's
    figure.plotsize(*size)
    figure.theme("clear")
    # (the title is the SVG window's own, not drawn twice)
    figure.xlabel("step")
    figure.ylabel("C")
    figure.xlim(0, steps)
    for i, history in enumerate(histories):
        colour = COLOURS[i % len(COLOURS)]
        # A branch is drawn from its fork on: before it, its history is main's.
        first = history.fork or 0
        xs = [s for s, c in enumerate(history.costs) if s >= first and math.isfinite(c)]
        ys = [history.costs[s] for s in xs]
        figure.plot(xs, ys, color=colour, marker="hd")  # quarter blocks, as on the screen
        if history.fork is not None and history.fork < len(history.costs):
            cost = history.costs[history.fork]
            if math.isfinite(cost):
                figure.scatter([history.fork], [cost], color=colour, marker=FORK_MARKER)
    text = figure.build()
    width, height = size
    recorder = RichConsole(
        record=True,
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="256",
        legacy_windows=False,
        _environ={},
    )
    recorder.print(Text.from_ansi(text), no_wrap=True, crop=True)
    # The legend on a line of its own: plotext's would cover the curves' start.
    legend = Text("  ")
    for i, history in enumerate(histories):
        colour = COLOURS[i % len(COLOURS)]
        legend.append("▄ ", style=RICH_COLOURS.get(colour, colour))
        legend.append(f"{history.name}   ")
    if any(h.fork is not None for h in histories):
        legend.append(f"{FORK_MARKER} where a branch leaves main")
    recorder.print(legend, no_wrap=True, crop=True)
    svg: str = recorder.export_svg(title=title, unique_id="bpdebug-compare")
    return svg
