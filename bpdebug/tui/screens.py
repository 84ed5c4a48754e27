"""Modal screens: help, a one-line prompt, breakpoints, the gradient check.

Everything here but the help is drawn with `literal`: a dialog's title, a
hint, an error that quotes what was typed and a report that names the
scenario are text, never markup.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from bpdebug.tui.literal import literal

MAX_INPUT = 100
"""Most characters a dialog's input takes: every answer fits, and a 20,000-character paste
is refused instead of freezing the app."""
ERROR_STYLE = "bold red"
"""How a dialog shows what is wrong with an answer."""

HELP = """\
[b]bpdebug[/b]: step through backpropagation like code in a debugger.
Uppercase goes backwards in time.

[b]Stepping[/b]
  s  step into: one phase (forward layer 1..L, cost, backward L..1, update)
  S  step one phase back
  n  next: one whole update        N  rewind one whole update
  c  continue until a breakpoint (c again pauses)
  C  reverse-continue to the previous breakpoint hit
  g  go to step N

[b]Looking[/b]
  ↑ ↓  select unit j       ← →  select input k (the weight w_jk)
  tab / shift+tab  next / previous layer
  x / X  example: all, 0, 1, … (one column of the batch)
  v  select the next matrix pane    h  numbers ↔ heatmap
  d  diff against the step before (or the marked step)   m  mark this step
  l  log scale for the cost plot
  1 2 3 4  the layer, chain rule, cost and boundary tabs (narrow terminals)

[b]Tools[/b]
  b  breakpoints     k  gradient check     w  edit the selected weight (branches)
  e  export JSON + NPZ + Markdown + SVG    y  copy the selected matrix (OSC 52)
  ctrl+p  command palette     ?  this help     q  quit

[b]Notation[/b] (3Blue1Brown, "Backpropagation calculus")
  z^(l) = W^(l) a^(l-1) + b^(l)      a^(l) = g(z^(l))
  delta^(l) = dC0/dz^(l), one column per example
  dC0/dw_jk^(l) = dz/dw · da/dz · dC0/da = a_k^(l-1) · g'(z_j^(l)) · dC0/da_j^(l)
  dC/dW^(l) = mean over the batch = delta^(l) a^(l-1)ᵀ / m
"""


class HelpScreen(ModalScreen[None]):
    """The keys and the notation."""

    BINDINGS = [
        Binding("escape,q,question_mark,f1", "dismiss", "close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Static(HELP, id="help-text")


class PromptScreen(ModalScreen[str | None]):
    """Asks for one line of text; dismisses with it, or None on escape."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(
        self,
        title: str,
        hint: str = "",
        value: str = "",
        check: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.hint = hint
        self.value = value
        self.check = check
        """Returns an error message for a bad answer, or None when it is fine."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog prompt"):
            yield Label(literal(self.title_text), classes="dialog-title")
            yield Input(value=self.value, max_length=MAX_INPUT, id="prompt-input")
            yield Label(literal(self.hint), id="prompt-hint", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Accept the answer if `check` finds nothing wrong with it."""
        error = self.check(event.value) if self.check else None
        if error:
            self.query_one("#prompt-hint", Label).update(literal(error, style=ERROR_STYLE))
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)


class BreakpointsScreen(ModalScreen[None]):
    """Lists the breakpoints; type one to add it, select one and press delete to remove it."""

    BINDINGS = [
        Binding("escape", "dismiss", "close"),
        Binding("delete,backspace", "remove", "remove", show=False),
    ]

    def __init__(
        self,
        describe: Callable[[], list[str]],
        add: Callable[[str], str | None],
        remove: Callable[[int], None],
        syntax: str,
    ) -> None:
        super().__init__()
        self.describe = describe
        self.add = add
        self.remove_at = remove
        self.syntax = syntax

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog breakpoints"):
            yield Label("breakpoints (NaN/inf always stops a run)", classes="dialog-title")
            yield OptionList(id="bp-list")
            yield Input(placeholder="add: " + self.syntax, max_length=MAX_INPUT, id="bp-input")
            yield Label(
                "enter adds · select + delete removes · escape closes", id="bp-hint", classes="hint"
            )

    def on_mount(self) -> None:
        self._reload()
        self.query_one("#bp-input", Input).focus()

    def _reload(self) -> None:
        options = self.query_one("#bp-list", OptionList)
        options.clear_options()
        items = self.describe()
        options.add_options(
            [Option(literal(text)) for text in items] or [Option("(none)", disabled=True)]
        )
        if items:
            options.highlighted = 0  # so that delete acts as soon as the list has focus

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Add the typed breakpoint, or say what is wrong with it."""
        error = self.add(event.value)
        hint = self.query_one("#bp-hint", Label)
        if error:
            hint.update(literal(error, style=ERROR_STYLE))
            return
        event.input.value = ""
        hint.update("added · enter adds · select + delete removes · escape closes")
        self._reload()

    def action_remove(self) -> None:
        """Remove the highlighted breakpoint."""
        options = self.query_one("#bp-list", OptionList)
        if options.has_focus and options.highlighted is not None and self.describe():
            self.remove_at(options.highlighted)
            self._reload()


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
