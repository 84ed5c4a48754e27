"""The debugger's one screen: three columns when wide, tabs when narrow.

The screen only lays the panes out; the app fills them (`BpdebugApp.refresh_view`).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from bpdebug.tui.widgets.boundary import DecisionBoundary
from bpdebug.tui.widgets.costplot import CostPlot
from bpdebug.tui.widgets.matrix import MatrixView

NARROW_WIDTH = 120
"""Below this many columns (or NARROW_HEIGHT rows) the panes become tabs."""
NARROW_HEIGHT = 34
MIN_SIZE = (40, 12)
"""Below this the screen says it is too small instead of drawing panes."""

PANES = ("W", "z", "a", "delta", "dW", "db")
"""The matrix panes of the selected layer, in screen order."""


class MainScreen(Screen[None]):
    """The debugger's one screen: three columns when wide, tabs when narrow."""

    # tab moves between layers here (not focus); on a dialog it moves focus as usual.
    BINDINGS = [
        Binding("tab", "app.layer(1)", "layer", show=False, priority=True),
        Binding("shift+tab", "app.layer(-1)", "layer", show=False, priority=True),
    ]

    narrow: reactive[bool] = reactive(False, recompose=True)
    too_small: reactive[bool] = reactive(False, recompose=True)

    def __init__(self, two_inputs: bool) -> None:
        super().__init__()
        self.two_inputs = two_inputs

    def compose(self) -> ComposeResult:
        if self.too_small:
            yield Static(
                f"terminal too small: bpdebug needs at least {MIN_SIZE[0]}x{MIN_SIZE[1]}",
                id="too-small",
            )
            return
        yield Static(id="title-bar")
        views = {name: MatrixView(id=f"m-{name}", classes="matrix") for name in PANES}
        # W beside its gradient, z beside a, delta beside db: pairs a learner compares.
        matrices = [
            Horizontal(views["W"], views["dW"], classes="matrix-row"),
            Horizontal(views["z"], views["a"], classes="matrix-row"),
            Horizontal(views["delta"], views["db"], classes="matrix-row"),
        ]
        if self.narrow:
            with TabbedContent(id="tabs"):
                with TabPane("1 layer", id="tab-layer"), Horizontal():
                    yield Static(id="network")
                    yield VerticalScroll(*matrices, id="matrices")
                with TabPane("2 chain rule", id="tab-chain"):
                    yield Static(id="chain")
                with TabPane("3 cost", id="tab-cost"):
                    yield CostPlot(id="cost")
                if self.two_inputs:
                    with TabPane("4 boundary", id="tab-boundary"):
                        yield DecisionBoundary(id="boundary")
        else:
            with Horizontal(id="main"):
                with Vertical(id="left"):
                    yield Static(id="network")
                with Vertical(id="center"):
                    yield VerticalScroll(*matrices, id="matrices")
                    yield Static(id="chain")
                with Vertical(id="right"):
                    yield CostPlot(id="cost")
                    if self.two_inputs:
                        yield DecisionBoundary(id="boundary")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.call_after_refresh(self.app.refresh_view)  # type: ignore[attr-defined]

    def on_resize(self) -> None:
        width, height = self.app.size
        self.too_small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.narrow = width < NARROW_WIDTH or height < NARROW_HEIGHT
        self.call_after_refresh(self.app.refresh_view)  # type: ignore[attr-defined]
