"""The debugger's keys, written once: the bindings, the command palette and the help come from here.

Each key says which group it belongs to. Keys that move time (`TIME`)
wait while training runs or a long motion replays; every other key works
at any time, so the user can look around while `c` trains.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    """One key of the debugger: its binding, palette entry and help line."""

    keys: str
    """Textual key names, comma-separated (``question_mark,f1``)."""
    action: str
    """The main screen's action, with arguments (``unit(-1)``)."""
    label: str
    """The footer's word."""
    help: str
    """What it does, one line: the palette's help and the help screen's text."""
    group: str
    """The help screen's section."""
    show: bool = True
    """Shown in the footer (the palette lists every key)."""
    shown_as: str = ""
    """How the help writes the key, when not as Textual names it."""

    @property
    def name(self) -> str:
        """The action's name without arguments."""
        return self.action.split("(")[0]

    def display(self) -> str:
        """The key as a person writes it: ``?``, ``↑``."""
        return self.shown_as or self.keys.split(",")[0]


STEPPING = "Moving through time (uppercase goes back)"
LOOKING = "Looking"
TOOLS = "Tools"

KEYS: tuple[Key, ...] = (
    Key("s", "step_into", "step", "step into one phase: forward 1..L, cost, backward L..1, update", STEPPING),
    Key("S", "step_back", "back", "step one phase back", STEPPING),
    Key("n", "next", "next", "next: one whole update, keeping the phase", STEPPING),
    Key("N", "rewind", "rewind", "rewind one whole update", STEPPING),
    Key("c", "continue", "continue", "continue: train until a breakpoint is crossed", STEPPING),
    Key("c", "pause", "pause", "pause the training that c started", STEPPING),
    Key("C", "reverse_continue", "rev-cont", "reverse-continue to the previous breakpoint crossing", STEPPING),
    Key("g", "goto", "go to", "go to step N", STEPPING),
    Key("escape", "cancel", "cancel", "cancel a long replay, search or check", STEPPING, show=False, shown_as="esc"),
    Key("up", "unit(-1)", "unit", "select the unit j above", LOOKING, show=False, shown_as="↑"),
    Key("down", "unit(1)", "unit", "select the unit j below", LOOKING, show=False, shown_as="↓"),
    Key("left", "input(-1)", "weight", "select the input k to the left (the weight w_{j,k})", LOOKING, show=False, shown_as="←"),
    Key("right", "input(1)", "weight", "select the input k to the right", LOOKING, show=False, shown_as="→"),
    Key("tab", "layer(1)", "layer", "select the next layer", LOOKING, show=False),
    Key("shift+tab", "layer(-1)", "layer", "select the previous layer", LOOKING, show=False),
    Key("x", "example(1)", "example", "example: all, 0, 1, … (one column of the batch)", LOOKING, show=False),
    Key("X", "example(-1)", "example", "example back", LOOKING, show=False),
    Key("v", "next_pane", "pane", "select the next matrix (▶ marks it; y copies it)", LOOKING, show=False),
    Key("h", "heatmap", "heatmap", "matrices: auto (big ones as heatmaps), all numbers, all heatmaps", LOOKING, show=False),
    Key("d", "diff", "diff", "show the change since the step before (or the marked step; or the compared branch at this step)", LOOKING),
    Key("D", "beside", "2 branches", "the two-branch view: this equation on this branch and the compared one", LOOKING, show=False),
    Key("m", "mark", "mark", "mark this step: d compares with it", LOOKING, show=False),
    Key("l", "log_scale", "log", "log scale for the cost plot", LOOKING, show=False),
    Key("1", "show_tab('tab-layer')", "pass tab", "the pass tab: equations, operands, chain rule (narrow terminals)", LOOKING, show=False),
    Key("2", "show_tab('tab-cost')", "cost tab", "the cost tab (narrow terminals)", LOOKING, show=False),
    Key("3", "show_tab('tab-health')", "health tab", "the layer-health tab (narrow terminals)", LOOKING, show=False),
    Key("4", "show_tab('tab-boundary')", "boundary tab", "the decision-boundary tab (narrow terminals)", LOOKING, show=False),
    Key("b", "breakpoints", "break", "add or remove breakpoints", TOOLS),
    Key("e", "export", "export", "export JSON, NPZ, Markdown and SVG into the export folder", TOOLS),
    Key("k", "gradcheck", "check", "gradient check: backprop against finite differences", TOOLS),
    Key("w", "edit", "edit w", "set the selected weight (the history branches)", TOOLS),
    Key("B", "branches", "branches", "branches: list, switch, compare with d, make one (a setting changed here)", TOOLS),
    Key("y", "copy", "copy", "copy the selected matrix as a NumPy literal (OSC 52)", TOOLS, show=False),
    Key("question_mark,f1", "help", "help", "keys and notation", TOOLS, shown_as="?"),
    Key("q", "quit", "quit", "quit (asks first if an edited branch is not exported)", TOOLS),
)  # fmt: skip
"""Every key of the main screen, in the order the help lists them."""

TIME = frozenset(
    {"step_into", "step_back", "next", "rewind", "reverse_continue", "goto", "edit", "branches"}
)
"""Actions that move time: they wait while training runs or a motion replays."""


FIRST = ("help", "quit")
"""Shown first in the footer, so that a narrow terminal never cuts them."""


def bindings() -> list[Binding]:
    """The main screen's bindings (tab with priority: on this screen it moves between layers)."""
    ordered = sorted(KEYS, key=lambda key: key.name not in FIRST)  # stable: the rest keep order
    return [
        Binding(key.keys, key.action, key.label, show=key.show, priority=key.keys.endswith("tab"))
        for key in ordered
    ]


HELP_WIDTH = 64
"""Columns of the help's lines: it fits an 80x24 terminal's dialog without wrapping."""


def help_text() -> str:
    """The help screen's key list, by group, each line at most HELP_WIDTH columns."""
    lines: list[str] = []
    entries = [(key.group, key.display(), key.help) for key in KEYS]
    entries.append((TOOLS, "ctrl+p", "command palette: every key by name"))
    for group in (STEPPING, LOOKING, TOOLS):
        lines.append(f"\n{group}")
        for in_group, shown, text in entries:
            if in_group == group:
                lines += textwrap.wrap(
                    text,
                    HELP_WIDTH,
                    initial_indent=f"  {shown:<10} ",
                    subsequent_indent=" " * 13,
                )
    return "\n".join(lines).lstrip("\n")
