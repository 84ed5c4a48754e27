"""The command line's arguments: the parsers of `bpdebug`, its commands and `bpdebug SCENARIO`.

Options of bpdebug itself (`--threads`, and `--export-dir` for the
debugger) may come before SCENARIO or COMMAND; `--threads` after a command
too. argparse prints through the console (escaped, never raising) and
raises ParserExit instead of leaving the process.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from bpdebug import __version__
from bpdebug.console import Console
from bpdebug.text import printable

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

COMMANDS = (
    "run",
    "export",
    "check",
    "validate",
    "scenarios",
    "import",
    "serve",
    "branches",
    "compare",
)
USAGE_ERROR = 2
"""The exit status of a usage error: bad input (bpdebug.cli.EXIT_BAD_INPUT)."""
RUN_CAP = 100_000
"""Most updates `run` makes without --steps (it stops earlier at a breakpoint or NaN/inf)."""


class ParserExit(Exception):
    """argparse is done (help shown, or a usage error printed): leave with `status`."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Parser(argparse.ArgumentParser):
    """argparse printing through the console and raising instead of calling sys.exit.

    Its messages can hold what the user typed (a file name from a glob of a
    colleague's folder, say), so they are escaped like everything else.
    """

    def __init__(self, *args: Any, console: Console, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.console = console
        """Where the help, --version and usage errors are printed."""

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        # argparse calls this for --help and --version (standard output; None
        # when it is closed) and usage (which `error` prints itself). The text
        # is ours, so its line feeds are kept.
        if message:
            text = message.removesuffix("\n")
            if file is not None and file is sys.stderr:
                self.console.err(text, newlines=True)
            else:
                self.console.out(text, newlines=True)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self.console.err(message.removesuffix("\n"))
        raise ParserExit(status)

    def error(self, message: str) -> NoReturn:
        self.console.err(self.format_usage().rstrip("\n"), newlines=True)
        self.console.err(f"{self.prog}: error: {printable(message)}")
        raise ParserExit(USAGE_ERROR)


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {value}")
        return value

    return parse


def _positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def _port(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    value = _count(1)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {value}")
    return value


def _threads(text: str) -> int:
    """An argparse type: a BLAS thread count (bpdebug.threads)."""
    from bpdebug.threads import parse

    try:
        return parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


THREADS_HELP = (
    "threads numpy's BLAS may use (default 1, or $BPDEBUG_THREADS): the matrices "
    "here are small, and more threads fight for the cores"
)
EXPORT_DIR_HELP = "where the debugger's `e` writes snapshots (default: exports/)"
SCENARIO_HELP = (
    "a .toml scenario, a bundled scenario's name or a snapshot (.json, .npz, .safetensors)"
)
TOP_LEVEL_OPTIONS = ("--threads", "--export-dir")
"""Options of `bpdebug` itself that take a value (they may come before SCENARIO or COMMAND)."""

EPILOG = """bpdebug SCENARIO opens the debugger on a scenario file, a bundled scenario's
name (`bpdebug xor`; `bpdebug scenarios` lists them) or a snapshot (.json, .npz,
.safetensors).
Run `bpdebug COMMAND --help` for a command's options.

examples:
  bpdebug xor                                  open the debugger
  bpdebug --threads 2 --export-dir out wide    two BLAS threads; `e` writes to out/
  bpdebug run xor --steps 5000                 train headless, print the final cost
  bpdebug run vanishing --steps 500 --report   and each layer's health
  bpdebug check digits --step 10 --sample 20   gradient check, 20 parameters a layer
  bpdebug check spiral --against torch         every tensor against PyTorch (torch extra)
  bpdebug export xor --step 5 -o train.py      a PyTorch script that proves steps 6-15
  bpdebug import model.py:net -o net.toml --data xor   your nn.Sequential as a scenario
  bpdebug serve xor                            the debugger in a browser (web extra)
  bpdebug compare xor --branch 200:learning_rate=0.1 --steps 1000 -o xor.svg
                                               two histories' costs, table and plot
  bpdebug branches snap.json                   the branches a snapshot records

environment:
  BPDEBUG_THREADS=N          BLAS threads, as --threads (the option wins)
  BPDEBUG_MAX_REPLAY_STEPS   how far a snapshot or `g` may replay (default 1,000,000)
  BPDEBUG_MAX_*              the other limits on what a file may ask for (see the README)

exit status: 0 ok, 1 a gradient check found a wrong layer, 2 bad input,
3 NaN/inf stopped a run, 70 a bug in bpdebug, 74 standard output lost,
130 interrupted (Ctrl-C)."""


def _add_threads(parser: argparse.ArgumentParser, top: bool) -> None:
    # A command takes it too (`bpdebug run xor --threads 2`), unlisted: it is
    # an option of bpdebug's, and the commands' usage lines stay one line.
    # There the default is SUPPRESS, so a value given before the command stays.
    parser.add_argument(
        "--threads",
        type=_threads,
        metavar="N",
        default=None if top else argparse.SUPPRESS,
        help=THREADS_HELP if top else argparse.SUPPRESS,
    )


def build_parser(console: Console) -> argparse.ArgumentParser:
    """The parser of the subcommands (`bpdebug SCENARIO` is handled before it)."""
    parser = Parser(
        console=console,
        prog="bpdebug",
        description="A terminal step-through debugger for backpropagation.",
        usage="bpdebug [-h] [--version] [--threads N] [--export-dir DIR] SCENARIO | COMMAND ...",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"bpdebug {__version__}")
    _add_threads(parser, top=True)
    parser.add_argument("--export-dir", metavar="DIR", default=None, help=EXPORT_DIR_HELP)
    # Each subparser is a Parser too (argparse builds them with the parent's class).
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    run = sub.add_parser(
        "run",
        console=console,
        prog="bpdebug run",
        help="train headless and print the final cost",
        description=(
            "Train headless and print the final step and cost. Progress (rate, ETA) goes "
            "to standard error. Ctrl-C stops after the update in progress and prints "
            "where the run stopped (exit status 130); a second Ctrl-C stops at once."
        ),
    )
    run.add_argument("scenario", metavar="SCENARIO")
    run.add_argument(
        "--steps",
        type=_count(0),
        default=None,
        help=(
            "updates to make; without --steps, train until a breakpoint is crossed or "
            f"NaN/inf appears, at most {RUN_CAP:,} updates"
        ),
    )
    run.add_argument(
        "--ignore-breakpoints",
        action="store_true",
        help="do not stop at the scenario's [debug] breakpoints (NaN/inf still stops)",
    )
    run.add_argument(
        "--report",
        action="store_true",
        help=(
            "then print each layer's health: gradient and weight norms, update ratio, "
            "dead and saturated units, the gradients' trend and flags (see the README)"
        ),
    )

    export = sub.add_parser(
        "export",
        console=console,
        prog="bpdebug export",
        help="write the snapshot at a step (.json, .npz, .md, .safetensors), or a PyTorch script",
        description=(
            "Write step N's snapshot, chosen by FILE's suffix: .json, .npz, .md or "
            ".safetensors; or, with .py or .ipynb, a standalone PyTorch script (or "
            "notebook) that rebuilds step N, makes the next --steps updates with "
            "torch.optim and checks every parameter against bpdebug's."
        ),
    )
    export.add_argument("scenario", metavar="SCENARIO")
    export.add_argument("--step", type=_count(0), default=0, help="step N (default 0)")
    export.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write")
    export.add_argument(
        "--steps",
        type=_count(1),
        default=None,
        metavar="K",
        help="updates a .py/.ipynb export makes and checks (default 10)",
    )
    export.add_argument("--force", action="store_true", help="overwrite FILE if it exists")

    check = sub.add_parser(
        "check",
        console=console,
        prog="bpdebug check",
        help="gradient check against finite differences, or against PyTorch",
        description=(
            "Check step N's gradients against finite differences (the default), or "
            "with --against torch rebuild the step in PyTorch (float64, autograd, "
            "torch.optim) and compare z, a, delta, dW, db, the cost and the update "
            "tensor by tensor; exit status 1 if any differs."
        ),
    )
    check.add_argument("scenario", metavar="SCENARIO")
    check.add_argument("--step", type=_count(0), default=0, help="step N (default 0)")
    check.add_argument(
        "--against",
        choices=("torch",),
        default=None,
        help="compare with PyTorch instead of finite differences (the torch extra)",
    )
    check.add_argument(
        "--h", type=_positive_float, default=None, help="finite-difference step (default 1e-05)"
    )
    check.add_argument(
        "--sample",
        type=_count(1),
        default=None,
        help="parameters per layer to check (default: all for small nets, 100 for big ones)",
    )

    validate = sub.add_parser(
        "validate",
        console=console,
        prog="bpdebug validate",
        help="check a scenario file and summarise it",
    )
    validate.add_argument("scenario", metavar="SCENARIO")

    scenarios = sub.add_parser(
        "scenarios", console=console, prog="bpdebug scenarios", help="list the bundled scenarios"
    )
    imported = _add_import(sub, console)

    serve = sub.add_parser(
        "serve",
        console=console,
        prog="bpdebug serve",
        help="serve the debugger to a browser (needs the web extra)",
        description=(
            "Serve the debugger on SCENARIO to web browsers with textual-serve: each "
            "browser tab runs its own debugger, and `e` downloads the export (a .zip) "
            "instead of writing on this machine. Ctrl-C stops the server."
        ),
    )
    serve.add_argument(
        "scenario",
        metavar="SCENARIO",
        help=SCENARIO_HELP,
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    serve.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    branches = sub.add_parser(
        "branches",
        console=console,
        prog="bpdebug branches",
        help="list the branches a snapshot records, and the one it is on",
        description=(
            "List the histories a snapshot's branch runs through, main first, one line "
            "each (b1: from main at step 200, learning_rate 0.1), then the branch and step "
            "the snapshot is on. A scenario has only main."
        ),
    )
    branches.add_argument("scenario", metavar="SNAPSHOT", help=SCENARIO_HELP)
    compared = _add_compare(sub, console)
    for command in (run, export, check, validate, scenarios, imported, serve, branches, compared):
        _add_threads(command, top=False)
    return parser


def _add_compare(sub: Any, console: Console) -> argparse.ArgumentParser:
    compared: argparse.ArgumentParser = sub.add_parser(
        "compare",
        console=console,
        prog="bpdebug compare",
        help="train several histories and compare their costs (table, SVG plot)",
        description=(
            "Train each history N updates and print its cost at chosen steps, the last "
            "at N with the digits `bpdebug run` prints, and with --target the first step "
            "each reaches that cost. The histories are two or more scenarios (or "
            "snapshots: the history of their branch), or one scenario's main and its "
            "--branch variants. NaN/inf stops that history only (exit status 3 at the "
            "end). -o writes the overlaid cost plot as SVG."
        ),
        epilog=(
            "examples:\n"
            "  bpdebug compare xor circle --steps 500\n"
            "  bpdebug compare xor --branch 200:learning_rate=0.1 "
            "--branch 0:activation=relu --steps 1000 --target 0.05 -o xor.svg"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    compared.add_argument("scenarios", nargs="+", metavar="SCENARIO", help=SCENARIO_HELP)
    compared.add_argument("--steps", type=_count(1), required=True, help="updates N to make")
    compared.add_argument(
        "--branch",
        action="append",
        default=[],
        metavar="[STEP:]KEY=VALUE,...",
        help=(
            "a branch of the one SCENARIO's main at STEP (default 0) with settings changed: "
            "learning_rate=0.1, optimizer=adam, batch_size=8, l2=0.01, activation=relu, "
            "loss=squared_error, ... (a TOML value; a bare word is a string). Repeat for more"
        ),
    )
    compared.add_argument(
        "--at",
        type=_steps,
        default=None,
        metavar="S,S,...",
        help="steps the table shows (default 0, N/4, N/2, 3N/4, N); N is always last",
    )
    compared.add_argument(
        "--target",
        type=_finite_float,
        default=None,
        metavar="C",
        help="also print the first step each history's cost is <= C",
    )
    compared.add_argument(
        "-o", "--output", default=None, metavar="FILE.svg", help="write the cost plot as SVG"
    )
    compared.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    compared.add_argument(
        "--size",
        type=_plot_size,
        default=(100, 30),
        metavar="WxH",
        help="the plot's size in characters (default 100x30)",
    )
    return compared


def _counts(minimum: int, what: str) -> Callable[[str], list[int]]:
    """An argparse type: comma-separated whole numbers >= `minimum` (``0,100,250``)."""
    count = _count(minimum)

    def parse(text: str) -> list[int]:
        try:
            return [count(part.strip()) for part in text.split(",")]
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(
                f"expected {what} >= {minimum} separated by commas, got {text!r}"
            ) from None

    return parse


_steps = _counts(0, "steps")
_sizes = _counts(1, "sizes")


def _finite_float(text: str) -> float:
    """An argparse type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


def _plot_size(text: str) -> tuple[int, int]:
    """An argparse type: WIDTHxHEIGHT in characters, 40x12 to 400x200."""
    width, _, height = text.lower().partition("x")
    try:
        size = int(width), int(height)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if not (40 <= size[0] <= 400 and 12 <= size[1] <= 200):
        raise argparse.ArgumentTypeError(f"expected 40x12 to 400x200, got {text}")
    return size


def _names(text: str) -> list[str]:
    """An argparse type: comma-separated names (``tanh,relu,sigmoid``)."""
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected names separated by commas, got {text!r}")
    return names


def _add_import(sub: Any, console: Console) -> argparse.ArgumentParser:
    imported: argparse.ArgumentParser = sub.add_parser(
        "import",
        console=console,
        prog="bpdebug import",
        help="write a scenario from a PyTorch nn.Sequential or its weights (needs torch)",
        description=(
            "SOURCE is MODEL.py:NAME (runs MODEL.py as Python, as `python MODEL.py` would, and"
            " takes its nn.Sequential NAME: only import files you trust), or weights alone,"
            " FILE.safetensors or FILE.pt (a state dict read with weights_only=True: no code"
            " runs), with --layers and --activations."
        ),
    )
    imported.add_argument("source", metavar="SOURCE")
    imported.add_argument(
        "-o", "--output", required=True, metavar="FILE.toml", help="the scenario to write"
    )
    imported.add_argument(
        "--data",
        required=True,
        metavar="DATA",
        help="a bundled generator (xor, circle, gauss, spiral, digits) or a CSV file",
    )
    imported.add_argument(
        "--target-columns",
        type=_names,
        metavar="A,B",
        help="CSV data: the target columns, by header name or 0-based index",
    )
    imported.add_argument(
        "--layers", type=_sizes, metavar="N0,N1,...", help="weights alone: units per layer"
    )
    imported.add_argument(
        "--activations", type=_names, metavar="G1,...", help="weights alone: g_1..g_L"
    )
    imported.add_argument(
        "--loss",
        default="squared_error",
        help="squared_error (default), half_squared_error, cross_entropy, binary_cross_entropy",
    )
    imported.add_argument("--lr", type=_positive_float, default=0.1, help="default 0.1")
    imported.add_argument("--optimizer", default="sgd", help="sgd (default), momentum, adam")
    imported.add_argument(
        "--batch-size", type=_count(1), default=None, metavar="N", help="default: all the data"
    )
    imported.add_argument(
        "--seed", type=_count(0), default=0, help="orders the batches (default 0)"
    )
    imported.add_argument("--name", default=None, help="the scenario's name (default: FILE's)")
    imported.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    return imported


def build_open_parser(console: Console) -> argparse.ArgumentParser:
    """The parser of `bpdebug SCENARIO` (the debugger)."""
    parser = Parser(
        console=console,
        prog="bpdebug",
        description="Open the step-through debugger on a scenario or a snapshot.",
    )
    parser.add_argument(
        "scenario",
        metavar="SCENARIO",
        help=SCENARIO_HELP,
    )
    parser.add_argument("--export-dir", default="exports", metavar="DIR", help=EXPORT_DIR_HELP)
    _add_threads(parser, top=True)
    return parser


def first_word(args: Sequence[str]) -> str | None:
    """The first argument that is not an option of `bpdebug` itself: SCENARIO or COMMAND."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return args[i + 1] if i + 1 < len(args) else None
        if arg in TOP_LEVEL_OPTIONS:
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            return arg
    return None
