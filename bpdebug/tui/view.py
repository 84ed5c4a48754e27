"""Where the session stands, as one value, and how each pane is drawn from it.

`View` is what the main screen holds as a reactive: the step, the phase,
the selection and the toggles. When it changes, `draw` redraws only the
panes that read a field that changed (each pane names its fields in
`READS`), so a key that moves the selection repaints two panes, not ten.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static

from bpdebug.branches import Branch
from bpdebug.console import clock
from bpdebug.debugger import Debugger
from bpdebug.text import printable
from bpdebug.tui.equations import chain_text
from bpdebug.tui.literal import literal
from bpdebug.tui.panes import boundary_data, centre
from bpdebug.tui.render import (
    example_text,
    network_line,
    network_text,
    status_text,
    title_text,
)
from bpdebug.tui.widgets.boundary import DecisionBoundary
from bpdebug.tui.widgets.costplot import LINE_COLOR, CostPlot, Curve, branch_style
from bpdebug.tui.widgets.equation import EquationView, Section
from bpdebug.tui.widgets.health import HealthView
from bpdebug.tui.widgets.textpane import TextPane


@dataclass(frozen=True)
class View:
    """Where the session stands and what the screen shows of it."""

    revision: int = -1
    """The timeline's revision: it changes whenever the current state does."""
    branch: str = "main"
    """The branch on screen (each has its own timeline, and revisions)."""
    step: int = 0
    frontier: int = 0
    """The furthest step computed (the cost plot's length)."""
    branched_at: int | None = None
    phase: int = 0
    costed: bool = False
    """The pass has computed this step's cost (the cost plot shows it from then on)."""
    graded: bool = False
    """The pass has computed every gradient of this step (the health pane shows them)."""
    layer: int = 1
    j: int = 0
    k: int = 0
    example: int | None = None
    mark: int | None = None
    pane: str = ""
    """The selected operand (what `y` copies); empty: the phase's result."""
    matrix_mode: str = "auto"
    """How matrices are drawn: "auto", "numbers" or "heatmap" (`h`)."""
    diff: bool = False
    log_scale: bool = False
    running: bool = False
    """Training runs (`c`)."""
    paused: str = ""
    busy: str = ""
    """A long motion or check in progress, as the status line says it (empty: none)."""
    size: tuple[int, int] = (0, 0)
    """The screen's size: a new layout draws everything."""
    branches: int = 1
    """How many branches the session has (the cost plot draws them all)."""
    compare: str = ""
    """The branch `d` and the two-branch view compare with ("" for none)."""
    compare_at: tuple[int, int] = (-1, -1)
    """The compared branch's (step, revision): it moves on its own to this step."""
    beside: bool = False
    """The two-branch view: the equations on both branches side by side."""

    @classmethod
    def of(cls, debugger: Debugger, compare: str = "", **toggles: object) -> View:
        """The view of `debugger` now, with the screen's own toggles."""
        timeline = debugger.timeline
        compare_at = (-1, -1)
        if compare:
            other = debugger.branches.get(compare).timeline
            compare_at = (other.step, other.revision)
        return cls(
            branches=len(debugger.branches.all),
            compare=compare,
            compare_at=compare_at,
            revision=timeline.revision,
            branch=debugger.branch.name,
            step=debugger.step,
            frontier=timeline.frontier,
            branched_at=timeline.branched_at,
            phase=debugger.phase_index,
            costed=debugger.known("cost", 0),
            graded=debugger.known("db", 1),
            layer=debugger.layer,
            j=debugger.j,
            k=debugger.k,
            example=debugger.example,
            mark=debugger.mark,
            paused=debugger.paused,
            **toggles,  # type: ignore[arg-type]
        )

    def panes_to_draw(self, drawn: View | None) -> set[str]:
        """The panes that read a field that differs from `drawn` (all if nothing was drawn)."""
        if drawn is None or drawn.size != self.size or drawn.branch != self.branch:
            return set(READS)  # another history: every pane shows another one
        changed = {f.name for f in fields(self) if getattr(self, f.name) != getattr(drawn, f.name)}
        return {pane for pane, reads in READS.items() if reads & changed}


_POSITION = {"revision", "phase", "layer", "example"}
READS: dict[str, frozenset[str]] = {
    "title": frozenset({"revision", "step", "phase", "size"}),
    "network": frozenset(_POSITION),
    "status": frozenset({"revision", "phase", "running", "paused", "busy", "branched_at", "size"}),
    "cost": frozenset(
        {"frontier", "step", "log_scale", "branched_at", "revision", "costed", "branches"}
        | {"compare_at"}
    ),
    "health": frozenset({"frontier", "step", "revision", "graded", "compare", "compare_at"}),
    "matrices": frozenset(
        _POSITION
        | {"j", "k", "mark", "pane", "matrix_mode", "diff", "compare", "compare_at"}
        | {"beside"}
    ),
    "chain": frozenset(_POSITION | {"j", "k"}),
    "boundary": frozenset({"revision", "size"}),
}
"""The View fields each pane reads."""
SLOW = frozenset({"matrices", "chain", "boundary"})
"""Panes redrawn only a few times a second while training runs."""


def draw(screen: Screen[Any], debugger: Debugger, view: View, due: set[str]) -> None:
    """Redraw the panes of `screen` named in `due` (keys of READS). Hold the debugger's lock."""
    if "title" in due:
        for bar in screen.query("#title-bar").results(Static):
            title = title_text(debugger, screen.app.sub_title, view.size[0])
            bar.update(literal(title.plain), layout=False)
    if "network" in due:
        for pane in screen.query("#network").results(Static):
            text = network_text(debugger)
            text.append(f"\n{example_text(debugger)}\n")
            known = debugger.known("cost", 0)
            text.append(f"C = {debugger.trace.cost:.6g}" if known else "C = …")
            pane.update(text, layout=False)  # the same lines, the same widths: no new layout
        for pane in screen.query("#network-line").results(Static):
            line = network_line(debugger, pane.content_size.width)
            pane.update(line, layout=line.cell_len > pane.content_size.width)  # wraps: 2 lines
    if "status" in due:
        for pane in screen.query("#status").results(Static):
            line = status_text(debugger, view.running, view.busy, view.size[0])
            pane.update(line, layout=False)
    if "cost" in due:
        timeline = debugger.timeline
        costs = timeline.costs()
        if not view.costed and debugger.step == timeline.frontier:
            costs = costs[: debugger.step]  # this step's cost: not computed yet, as the pass says
        edits = [e.step for e in timeline.edits]
        if timeline.grafted_at is not None:
            edits.append(timeline.grafted_at)
        color, others = _curves(debugger)
        branch = debugger.branch
        for plot in screen.query("#cost").results(CostPlot):
            plot.show(
                costs.copy(),
                debugger.step,
                log=view.log_scale,
                hits=debugger.hits,
                edits=edits,
                name=branch.name,
                color=color,
                fork=branch.fork if branch.parent is not None else None,
                others=others,
            )
    if "health" in due:
        other = None
        if view.compare:  # the compared branch's layer health under each layer's
            other = (view.compare, debugger.branches.get(view.compare).timeline.health)
        for health in screen.query("#health").results(HealthView):
            health.show(debugger.timeline.health, debugger.step, view.graded, other)
    if "matrices" in due:
        draw_matrices(screen, debugger, view)
    if "chain" in due:
        for chain in screen.query("#chain").results(TextPane):
            chain.show(chain_text(debugger))
    if "boundary" in due:
        for boundary in screen.query("#boundary").results(DecisionBoundary):
            if boundary.size.area:
                boundary.show(*boundary_data(debugger, *boundary.grid_shape()))


def _curves(debugger: Debugger) -> tuple[str, list[Curve]]:
    """The current branch's colour, and every other branch's costs as a curve from where it
    parts from the current branch (their shared past is drawn once, as the current one's)."""
    color = LINE_COLOR
    others = []
    current = debugger.branch
    for index, branch in enumerate(debugger.branches.all):
        style = branch_style(index)
        if branch is current:
            color = style[0]
            continue
        fork = branch.fork if branch.parent is not None else None
        costs = branch.timeline.costs().copy()
        start = parting(branch, current)
        revision = branch.timeline.revision
        others.append(Curve(branch.name, costs, start, *style, fork=fork, revision=revision))
    return color, others


def parting(one: Branch, other: Branch) -> int:
    """The first step where two branches' histories may differ: before it they are one.

    Their paths from main agree up to some branch; the first branch after it on
    either path forks off at the step where they part (the earlier of the two).
    """
    a, b = one.path(), other.path()
    common = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x is not y), None)
    if common is None:
        common = min(len(a), len(b))
    forks = [path[common].fork for path in (a, b) if len(path) > common]
    return min(forks, default=0)


def compared(debugger: Debugger, view: View) -> Debugger | None:
    """The session on the compared branch (`Debugger.on`), or None when none is chosen."""
    if not view.compare:
        return None
    return debugger.on(debugger.branches.get(view.compare))


def draw_matrices(screen: Screen[Any], debugger: Debugger, view: View) -> None:
    """The centre: the shown phase's equations with their operands (and, in the two-branch
    view, the same equations on the compared branch)."""
    against = compared(debugger, view)
    for widget in screen.query("#equation").results(EquationView):
        shown = centre(debugger, view.pane, view.matrix_mode, view.diff, against)
        widget.show(shown.sections)
        for head in screen.query("#equation-head").results(Static):
            lines = shown.header
            head.update(Text("\n").join(lines), layout=head.size.height != len(lines))
        if view.beside:
            what = (
                f"{debugger.branch.name} − {against.branch.name}" if view.diff and against else ""
            )
            widget.border_title = _pane_title(debugger, what)
            widget.border_subtitle = shown.selected
    for widget in screen.query("#equation-other").results(EquationView):
        if against is None:
            continue
        widget.border_title = _pane_title(against)
        if against.step != debugger.step:
            widget.show(
                [
                    Section(
                        f"{against.branch.name} is at step {against.step:,}: it is"
                        f" brought to step {debugger.step:,} (esc stops it)",
                        (),
                    )
                ]
            )
            widget.border_subtitle = Text("")
            continue
        shown = centre(against, view.pane, view.matrix_mode)
        widget.show(shown.sections)
        widget.border_subtitle = shown.selected


def _pane_title(debugger: Debugger, what: str = "") -> Text:
    """A two-branch pane's title: its branch and step (text from the user: never markup)."""
    branch = debugger.branch
    _, _, what_it_is = branch.describe().partition(": ")
    text = Text(printable(branch.name), style="bold")
    text.append(f" · step {debugger.step:,} · {printable(what_it_is)}")
    if what:
        text.append(f" · showing {what}", style="bold magenta")
    return text


def progress_text(label: str, done: int, total: int, seconds: float, unit: str = "updates") -> str:
    """A long motion's progress: ``replaying 1,234 / 3,000 updates · 5,100/s · 0:01 left``."""
    rate = done / seconds if seconds > 0 else 0.0
    text = f"{label} {done:,} / {total:,} {unit}"
    if rate > 0 and done:
        left = (total - done) / rate
        text += f" · {rate:,.0f}/s · {clock(left)} left"
    return text + " · esc cancels"
