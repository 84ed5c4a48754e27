"""The command line: `bpdebug SCENARIO` opens the debugger; subcommands work headless.

Exit status: 0 success, 1 a gradient check found a wrong layer, 2 bad input
(the message names the file and key), 3 NaN/inf stopped a run, 130 Ctrl-C.
Headless commands never import textual (start-up time, and servers).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bpdebug import __version__
from bpdebug.errors import InputError

if TYPE_CHECKING:
    from bpdebug.scenario.model import Scenario
    from bpdebug.timeline import Timeline

COMMANDS = ("run", "export", "check", "validate", "scenarios")

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NONFINITE = 3
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """A one-line error for the user, with the exit status to leave with."""

    def __init__(self, message: str, status: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.status = status


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The parser of the subcommands (`bpdebug SCENARIO` is handled before it)."""
    parser = argparse.ArgumentParser(
        prog="bpdebug",
        description="A terminal step-through debugger for backpropagation.",
        usage="bpdebug [-h] [--version] SCENARIO | COMMAND ...",
        epilog=(
            "bpdebug SCENARIO opens the debugger on a scenario file (or a bundled "
            "scenario's name, e.g. `bpdebug xor`). Run `bpdebug COMMAND --help` for "
            "a command's options."
        ),
    )
    parser.add_argument("--version", action="version", version=f"bpdebug {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    run = sub.add_parser("run", prog="bpdebug run", help="train headless and print the final cost")
    run.add_argument("scenario", metavar="SCENARIO")
    run.add_argument("--steps", type=_positive_int, required=True, help="updates to make")
    run.add_argument(
        "--ignore-breakpoints",
        action="store_true",
        help="do not stop at the scenario's [debug] breakpoints (NaN/inf still stops)",
    )

    export = sub.add_parser(
        "export", prog="bpdebug export", help="write the snapshot at a step (.json, .npz or .md)"
    )
    export.add_argument("scenario", metavar="SCENARIO")
    export.add_argument("--step", type=_positive_int, default=0, help="step N (default 0)")
    export.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write")
    export.add_argument("--force", action="store_true", help="overwrite FILE if it exists")

    check = sub.add_parser(
        "check", prog="bpdebug check", help="gradient check against finite differences"
    )
    check.add_argument("scenario", metavar="SCENARIO")
    check.add_argument("--step", type=_positive_int, default=0, help="step N (default 0)")
    check.add_argument("--h", type=_positive_float, default=1e-5, help="finite-difference step")
    check.add_argument(
        "--sample",
        type=_positive_int,
        default=None,
        help="parameters per layer to check (default: all for small nets, 100 for big ones)",
    )

    validate = sub.add_parser(
        "validate", prog="bpdebug validate", help="check a scenario file and summarise it"
    )
    validate.add_argument("scenario", metavar="SCENARIO")

    sub.add_parser("scenarios", prog="bpdebug scenarios", help="list the bundled scenarios")
    return parser


def build_open_parser() -> argparse.ArgumentParser:
    """The parser of `bpdebug SCENARIO` (the debugger)."""
    parser = argparse.ArgumentParser(
        prog="bpdebug",
        description="Open the step-through debugger on a scenario or a snapshot.",
    )
    parser.add_argument("scenario", metavar="SCENARIO", help="a .toml scenario or .json snapshot")
    parser.add_argument(
        "--export-dir",
        default="exports",
        metavar="DIR",
        help="where `e` writes snapshots (default: exports/)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and not args[0].startswith("-") and args[0] not in COMMANDS:
            return _open(build_open_parser().parse_args(args))
        parsed = build_parser().parse_args(args)
        if parsed.command is None:
            build_parser().print_help()
            return EXIT_OK
        handler = {
            "run": _run,
            "export": _export,
            "check": _check,
            "validate": _validate,
            "scenarios": _scenarios,
        }[parsed.command]
        status = handler(parsed)
        sys.stdout.flush()  # inside the try: a closed pipe is handled below
        return status
    except InputError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    except CommandError as error:
        print(f"bpdebug: {error}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        print("bpdebug: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`bpdebug scenarios | head`): not an error of ours.
        # Point stdout at devnull so that the interpreter's final flush is quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _load(arg: str) -> Scenario:
    from bpdebug.scenario import load_scenario, resolve_scenario_arg

    return load_scenario(resolve_scenario_arg(arg))


def _timeline_at(arg: str, step: int) -> Timeline:
    from bpdebug.timeline import Timeline

    timeline = Timeline(_load(arg))
    stop = timeline.run_until(max_steps=step) if step else None
    if stop is not None and stop.reason == "breakpoint":
        raise CommandError(
            f"{stop.detail} at step {stop.step}, before step {step}; "
            "export or check an earlier step",
            EXIT_NONFINITE,
        )
    return timeline


def _open(args: argparse.Namespace) -> int:
    # Only now: headless commands never pay for importing textual. A bad file
    # raises InputError while the app is built, before anything is drawn.
    from bpdebug.tui import run_app

    return run_app(args.scenario, export_dir=Path(args.export_dir))


class Progress:
    """A progress bar on a terminal, or a plain line every tenth of the run elsewhere."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.tty = stream.isatty()
        self._last = 0.0
        self._next_line = self.total // 10
        self._shown = -1

    def update(self, step: int, done: int, cost: float, force: bool = False) -> None:
        """Show `done` of `total` updates made, now at `step` with cost `cost`."""
        if self.tty:
            now = time.monotonic()
            if not force and now - self._last < 0.1:
                return
            self._last = now
            filled = self.WIDTH * done // self.total
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self.stream.write(f"\r[{bar}] step {step}  cost {cost:.6g}  ")
            self.stream.flush()
        elif (force and done != self._shown) or done >= self._next_line:
            self._shown = done
            self._next_line = done + max(self.total // 10, 1)
            self.stream.write(f"step {step}  cost {cost:.6g}\n")
            self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _run(args: argparse.Namespace) -> int:
    from bpdebug.conditions import describe_nonfinite
    from bpdebug.timeline import Timeline

    scenario = _load(args.scenario)
    timeline = Timeline(scenario)
    breakpoints = () if args.ignore_breakpoints else scenario.breakpoints
    progress = Progress(args.steps, sys.stderr)

    def show_progress() -> bool:
        progress.update(timeline.step, timeline.step, timeline.trace.cost)
        return False

    try:
        stop = timeline.run_until(breakpoints, max_steps=args.steps, should_stop=show_progress)
        progress.update(timeline.step, timeline.step, timeline.trace.cost, force=True)
    finally:
        progress.close()
    trace = timeline.trace
    if stop.breakpoint is not None:
        if stop.breakpoint.kind == "nonfinite":
            raise CommandError(
                f"{describe_nonfinite(timeline.state, trace)} at step {stop.step} "
                f"(learning_rate {scenario.training.learning_rate:g}); the run stopped",
                EXIT_NONFINITE,
            )
        print(f"stopped at step {stop.step}: breakpoint {stop.detail}")
    print(f"step {timeline.step}  epoch {timeline.epoch}  cost {trace.cost:.10g}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from bpdebug.export import ExportError, export

    timeline = _timeline_at(args.scenario, args.step)
    try:
        written = export(timeline, Path(args.output), force=args.force)
    except ExportError as error:
        raise CommandError(str(error)) from None
    print(f"wrote {written} (step {timeline.step}, cost {timeline.trace.cost:.10g})")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from bpdebug.engine import check_gradients
    from bpdebug.report import gradcheck_lines

    timeline = _timeline_at(args.scenario, args.step)
    trace = timeline.trace
    result = check_gradients(
        timeline.trainer.network,
        timeline.state.params,
        trace.a[0],
        trace.Y,
        h=args.h,
        sample=args.sample,
    )
    lines = gradcheck_lines(result, timeline.state.params, timeline.scenario.name, timeline.step)
    print("\n".join(lines))
    return EXIT_OK if result.ok else EXIT_CHECK_FAILED


def _validate(args: argparse.Namespace) -> int:
    scenario = _load(args.scenario)
    net, training = scenario.network, scenario.training
    n_params = sum(a * b + a for a, b in zip(net.layers[1:], net.layers[:-1], strict=True))
    print(
        f"{scenario.path}: ok: {scenario.name!r}, layers {'-'.join(map(str, net.layers))} "
        f"({n_params} parameters), {net.activation}/{net.output}, {net.loss}, "
        f"{scenario.data.size} examples ({scenario.data.source}), batch {training.batch_size}, "
        f"{training.optimizer} lr {training.learning_rate:g}"
    )
    return EXIT_OK


def _scenarios(args: argparse.Namespace) -> int:
    from bpdebug.scenario import list_bundled

    bundled = list_bundled()
    width = max((len(b.name) for b in bundled), default=0)
    for b in bundled:
        print(f"{b.name.ljust(width)}  {b.description}")
    if bundled:
        print(f"\n({bundled[0].path.parent}; open one with `bpdebug NAME`)")
    return EXIT_OK
