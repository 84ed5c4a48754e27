"""Dialogs over the main screen: help, a one-line prompt, yes/no, breakpoints, a report.

A dialog validates what is typed (Textual validators, so the message under
the input says what was expected) and dismisses with its result; it never
reaches back into the screen below. Text from files (titles, hints, a report
naming the scenario) is drawn with `literal`: text, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from bpdebug.breakpoints import SYNTAX
from bpdebug.breakpoints import parse as parse_breakpoint
from bpdebug.scenario.limits import BREAKPOINTS
from bpdebug.scenario.model import Breakpoint
from bpdebug.tui.keys import help_text
from bpdebug.tui.literal import literal

MAX_INPUT = 100
"""Most characters a dialog's input takes: every answer fits, and a 20,000-character paste
is refused instead of freezing the app."""
ERROR_STYLE = "bold red"
"""How a dialog shows what is wrong with an answer."""

NOTATION = """
Notation (3Blue1Brown, "Backpropagation calculus")
  z^(l) = W^(l) a^(l-1) + b^(l)        a^(l) = g(z^(l)),  a^(0) = x
  C_0: one example's cost            C = mean of C_0 over the batch
  delta^(l) = dC_0/dz^(l), one column per example
  delta^(L) = dC_0/da^(L) ⊙ g'(z^(L))
  delta^(l) = (W^(l+1)^T delta^(l+1)) ⊙ g'(z^(l))
  dC/dW^(l) = delta^(l) a^(l-1)^T / m      dC/db^(l) = mean delta^(l)
  chain rule for one weight w_{j,k}^(l), example i:
    dC_0/dw = dz/dw · da/dz · dC_0/da
            = a_k^(l-1) · g'(z_j^(l)) · dC_0/da_j^(l)

Symbols
  ▶ ◀         the phase: forward / backward through that layer
  ▶ title     the selected matrix (v moves it, y copies it)
  [ ]  ◆      the selected cell, among numbers / in a heatmap
  colours     blue < 0, grey = 0, red > 0, brighter for larger
              |value| / the matrix's own max; NaN yellow, inf magenta
  μ σ ‖·‖     a matrix's mean, standard deviation, Frobenius norm
  … N more →  rows or columns outside the window: move the selection
  |grad|      the norm of every gradient together: dC/dW (with its
              l1/l2 terms) and dC/db of all layers
  x  o        the boundary's points of class 1 / class 0;
              the shade is the network's p(class 1)
  health      V vanishing, E exploding, D dead, S saturated,
              < barely learning, > updates too large (ratio to 1e-3)
"""


class Parsed(Validator):
    """Valid when `parse` accepts the text; its ValueError is the failure message."""

    def __init__(self, parse: Callable[[str], object]) -> None:
        super().__init__()
        self.parse = parse

    def validate(self, value: str) -> ValidationResult:
        """Run `parse`; a ValueError says what was expected."""
        try:
            self.parse(value)
        except ValueError as error:
            return self.failure(str(error))
        return self.success()


class HelpScreen(ModalScreen[None]):
    """The keys (from the one table in keys.py) and the notation."""

    BINDINGS = [
        Binding("escape", "dismiss", "close"),
        Binding("q", "close", "close"),  # its own action, so the footer shows both keys
        Binding("question_mark,f1", "dismiss", "close", show=False),
    ]

    def action_close(self) -> None:
        """q: close the help (here q does not quit)."""
        self.dismiss()

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Label(
                "bpdebug: step through backpropagation like code  (↑ ↓ PgUp PgDn scroll)",
                classes="dialog-title",
            )
            yield Static(literal(help_text() + "\n" + NOTATION, newlines=True), id="help-text")
        yield Footer()


class PromptScreen(ModalScreen[str | None]):
    """Asks for one line of text; dismisses with it once `parse` accepts it, or None on escape."""

    BINDINGS = [Binding("escape", "dismiss(None)", "cancel")]

    def __init__(self, title: str, hint: str, value: str, parse: Callable[[str], object]) -> None:
        super().__init__()
        self.title_text = title
        self.hint = hint
        self.value = value
        self.validator = Parsed(parse)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog prompt"):
            yield Label(literal(self.title_text), classes="dialog-title")
            yield Input(
                value=self.value,
                max_length=MAX_INPUT,
                validators=[self.validator],
                validate_on=["submitted"],
                id="prompt-input",
            )
            yield Label(literal(self.hint), id="prompt-hint", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Dismiss with the answer, or say what is wrong with it."""
        result = event.validation_result
        if result is not None and not result.is_valid:
            message = "; ".join(result.failure_descriptions)
            self.query_one("#prompt-hint", Label).update(literal(message, style=ERROR_STYLE))
            return
        self.dismiss(event.value)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: y or enter says yes, n or escape says no."""

    BINDINGS = [
        Binding("y", "dismiss(True)", "yes"),
        Binding("n,escape", "dismiss(False)", "no"),
    ]

    def __init__(self, question: str, yes: str = "yes", no: str = "no") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog confirm"):
            yield Label(literal(self.question, newlines=True), classes="dialog-title")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.yes} (y)", variant="primary", id="yes")
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Either button answers."""
        self.dismiss(event.button.id == "yes")


class BreakpointsScreen(ModalScreen[tuple[Breakpoint, ...]]):
    """Edits the breakpoints: type one to add it, select one and press delete to remove it.

    Each change is posted at once (`Changed`), so a run in progress follows
    it; escape dismisses with the final list.
    """

    @dataclass
    class Changed(Message):
        """The breakpoints as the dialog now lists them."""

        breakpoints: tuple[Breakpoint, ...]

    BINDINGS = [
        Binding("escape", "close", "close"),
        Binding("delete,backspace", "remove", "remove", show=False),
    ]
    HINT = "enter adds · select + delete removes · escape closes"

    def __init__(self, breakpoints: tuple[Breakpoint, ...], depth: int) -> None:
        super().__init__()
        self.breakpoints = list(breakpoints)
        self.depth = depth

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog breakpoints"):
            yield Label(
                "breakpoints: each stops a run when it becomes true (NaN/inf always stops)",
                classes="dialog-title",
            )
            yield OptionList(id="bp-list")
            yield Input(
                placeholder="add: " + SYNTAX,
                max_length=MAX_INPUT,
                validators=[Parsed(self._parse)],
                validate_on=["submitted"],
                id="bp-input",
            )
            yield Label(self.HINT, id="bp-hint", classes="hint")

    def _parse(self, text: str) -> Breakpoint:
        most = BREAKPOINTS.value()
        if len(self.breakpoints) >= most:
            raise ValueError(f"at most {most} breakpoints ({BREAKPOINTS.note()})")
        return parse_breakpoint(text, self.depth)

    def on_mount(self) -> None:
        self._reload()
        self.query_one("#bp-input", Input).focus()

    def _reload(self) -> None:
        options = self.query_one("#bp-list", OptionList)
        options.clear_options()
        items = [bp.describe() for bp in self.breakpoints]
        options.add_options(
            [Option(literal(text)) for text in items] or [Option("(none)", disabled=True)]
        )
        if items:
            options.highlighted = 0  # so that delete acts as soon as the list has focus

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Add the typed breakpoint, or say what is wrong with it."""
        hint = self.query_one("#bp-hint", Label)
        result = event.validation_result
        if result is not None and not result.is_valid:
            hint.update(literal("; ".join(result.failure_descriptions), style=ERROR_STYLE))
            return
        added = self._parse(event.value)
        self.breakpoints.append(added)
        self.post_message(self.Changed(tuple(self.breakpoints)))
        event.input.value = ""
        hint.update(literal(f"added {added.describe()} · {self.HINT}"))
        self._reload()

    def action_remove(self) -> None:
        """Remove the highlighted breakpoint."""
        options = self.query_one("#bp-list", OptionList)
        if options.has_focus and options.highlighted is not None and self.breakpoints:
            removed = self.breakpoints.pop(options.highlighted)
            self.post_message(self.Changed(tuple(self.breakpoints)))
            self.query_one("#bp-hint", Label).update(
                literal(f"removed {removed.describe()} · {self.HINT}")
            )
            self._reload()

    def action_close(self) -> None:
        """Close, handing back the breakpoints as edited."""
        self.dismiss(tuple(self.breakpoints))


class TextScreen(ModalScreen[None]):
    """A read-only report (the gradient check) in a dialog."""

    BINDINGS = [Binding("escape,q,k,enter", "dismiss", "close")]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog report"):
            yield Label(literal(self.title_text), classes="dialog-title")
            yield Static(literal(self.body, newlines=True), id="report-body")
