"""The branches dialog (B): every history of the session, switch, compare, make a new one.

A branch changes one training setting at the current step and continues
from there (an architecture setting starts from step 0); see
`bpdebug.branches` for the rules. The dialog lists the branches, and
dismisses with what the user chose (`BranchChoice`). Making a branch is
checked by the core itself: the dialog is handed `make`, which makes the
branch or raises InputError/ValueError, whose one line the dialog shows.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Select
from textual.widgets.option_list import Option

from bpdebug.branches import ARCHITECTURE, Branch
from bpdebug.errors import InputError
from bpdebug.scenario.model import ACTIVATIONS, LOSSES, OPTIMIZERS, Scenario
from bpdebug.tui.dialogs import ERROR_STYLE, MAX_INPUT
from bpdebug.tui.literal import literal
from bpdebug.tui.render import fmt

SETTINGS: tuple[tuple[str, str], ...] = (
    ("training.learning_rate", "learning rate"),
    ("training.optimizer", "optimizer"),
    ("training.momentum", "momentum μ"),
    ("training.beta1", "adam β1"),
    ("training.beta2", "adam β2"),
    ("training.eps", "adam ε"),
    ("training.batch_size", "batch size"),
    ("training.l1", "l1"),
    ("training.l2", "l2"),
    ("network.activation", "hidden activation"),
    ("network.output", "output activation"),
    ("network.loss", "loss"),
)
"""The settings a branch changes, as (key, what the dialog calls it)."""

CHOICES = {
    "training.optimizer": OPTIMIZERS,
    "network.activation": tuple(a for a in ACTIVATIONS if a != "softmax"),
    "network.output": ACTIVATIONS,
    "network.loss": LOSSES,
}
"""The names a setting takes, where it takes names."""

LIST_HINT = (
    "enter: switch to it · c: d compares with it (c here: with the step before)"
    " · tab: a new branch · esc closes"
)


@dataclass(frozen=True)
class BranchChoice:
    """What the dialog was closed with: switch to a branch, compare with one, or one made."""

    action: Literal["switch", "compare", "made"]
    name: str
    """The branch; for "compare", empty means none (d compares with the step before)."""


def current_value(scenario: Scenario, key: str) -> str:
    """The value `key` has in `scenario`, as one would type it."""
    section, _, name = key.partition(".")
    if section == "training":
        value = getattr(scenario.training, name)
        return f"{value:g}" if isinstance(value, float) else str(value)
    network = scenario.network
    match name:
        case "activation":
            return network.activations[0] if len(network.activations) > 1 else network.activation
        case "output":
            return network.activations[-1]
        case _:
            return network.loss


def parse_value(text: str) -> object:
    """A typed value as the scenario file would hold it: ``0.1`` a number, ``32`` an integer,
    ``adam`` (or ``"adam"``) a name. The core checks the value itself."""
    text = text.strip()
    if not text:
        raise ValueError("type a value")
    try:
        return tomllib.loads(f"value = {text}\n")["value"]
    except tomllib.TOMLDecodeError:
        return text  # a bare name


def branch_row(branch: Branch, current: Branch, compared: str) -> Text:
    """One line of the list: ``▶ b1: from main at step 20, learning_rate 3 · step 25 · C 0.1``."""
    timeline = branch.timeline
    costs = timeline.costs()
    step = timeline.step
    cost = float(costs[step]) if step < costs.size else math.nan
    text = Text("▶ " if branch is current else "  ", style="bold")
    text.append(branch.describe(), style="bold" if branch is current else "")
    text.append(f" · step {step:,} · C {'…' if math.isnan(cost) else fmt(cost)}", style="dim")
    if branch is current:
        text.append(" · here", style="bold")
    if branch.name == compared:
        text.append(" · d compares with it", style="bold magenta")
    return text


class BranchesScreen(ModalScreen[BranchChoice | None]):
    """Lists the branches; enter switches, c picks the one d compares with; below, a new one."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "close"),
        Binding("c", "compare", "compare", show=False),
    ]

    def __init__(
        self,
        branches: Sequence[Branch],
        current: Branch,
        compared: str,
        make: Callable[[dict[str, object]], str],
    ) -> None:
        super().__init__()
        self.branches = list(branches)
        self.current = current
        self.compared = compared
        """The branch d compares with ("" for none)."""
        self.make = make
        """Makes a branch of the current one with these changes and returns its name, or
        raises InputError/ValueError saying why not."""

    def compose(self) -> ComposeResult:
        step = self.current.timeline.step
        with Vertical(classes="dialog branches"):
            yield Label(
                "branches: every history of this session (none is ever lost)",
                classes="dialog-title",
            )
            yield OptionList(
                *[
                    Option(branch_row(b, self.current, self.compared), id=b.name)
                    for b in self.branches
                ],
                id="branch-list",
            )
            yield Label(LIST_HINT, classes="hint")
            yield Label(
                literal(f"new branch of {self.current.name} at step {step:,}: a setting, a value"),
                id="branch-new-title",
            )
            with Horizontal(id="branch-new"):
                yield Select(
                    [(self._setting_label(key, words), key) for key, words in SETTINGS],
                    value=SETTINGS[0][0],
                    allow_blank=False,
                    id="branch-setting",
                )
                yield Input(max_length=MAX_INPUT, id="branch-value")
            yield Label(id="branch-hint", classes="hint")

    def _setting_label(self, key: str, words: str) -> str:
        now = current_value(self.current.timeline.scenario, key)
        start = ", from step 0" if key in ARCHITECTURE else ""
        return f"{words} (now {now}{start})"

    def on_mount(self) -> None:
        options = self.query_one("#branch-list", OptionList)
        options.highlighted = self.branches.index(self.current)
        options.focus()
        self._setting_chosen(SETTINGS[0][0])

    def on_select_changed(self, event: Select.Changed) -> None:
        """A setting picked: its value now goes in the input, and the hint says what happens."""
        if isinstance(event.value, str):
            self._setting_chosen(event.value)

    def _setting_chosen(self, key: str) -> None:
        value = self.query_one("#branch-value", Input)
        value.value = current_value(self.current.timeline.scenario, key)
        names = CHOICES.get(key)
        what = f"one of {', '.join(names)}" if names else "a number"
        if key in ARCHITECTURE:
            where = "an architecture change: the branch starts at step 0 from the same weights"
        else:
            step = self.current.timeline.step
            where = f"the branch starts at step {step:,} with the history before it"
        self._hint(f"{what}; {where}; enter makes it")

    def _hint(self, text: str, style: str = "") -> None:
        self.query_one("#branch-hint", Label).update(literal(text, style=style))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """enter on a branch: switch to it."""
        if event.option_id is not None:
            self.dismiss(BranchChoice("switch", event.option_id))

    def action_compare(self) -> None:
        """c on a branch: d (and the two-branch view) compare with it; on the branch you are
        on: with none (d compares with the step before again)."""
        options = self.query_one("#branch-list", OptionList)
        option = options.highlighted_option
        if not options.has_focus or option is None or option.id is None:
            return
        name = "" if option.id == self.current.name else option.id
        self.dismiss(BranchChoice("compare", name))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """enter in the value: make the branch, or say in one line why not."""
        key = self.query_one("#branch-setting", Select).value
        if not isinstance(key, str):
            return
        try:
            name = self.make({key: parse_value(event.value)})
        except (InputError, ValueError) as error:
            self._hint(str(error).splitlines()[0], ERROR_STYLE)
            return
        self.dismiss(BranchChoice("made", name))
