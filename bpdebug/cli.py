"""The command line: `bpdebug SCENARIO` opens the debugger; subcommands work headless.

Exit status: 0 success, 1 a gradient check found a wrong layer, 2 bad input
(the message names the file and key; argparse's usage errors too), 3 NaN/inf
stopped a run, 70 a bug in bpdebug (one line, no traceback), 74 the result
could not be written to standard output (closed, or a full disk: BSD
sysexits' EX_IOERR; a reader that left, as in `| head`, is not an error),
130 Ctrl-C. Headless commands never import textual (start-up time, and
servers).

Every line printed, argparse's included, goes through `bpdebug.console.Console`,
which escapes control characters: text from a file never reaches the terminal raw.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bpdebug.arguments import (
    COMMANDS,
    RUN_CAP,
    ParserExit,
    build_open_parser,
    build_parser,
    first_word,
)
from bpdebug.bridge import MissingExtra
from bpdebug.console import Console, Progress
from bpdebug.errors import InputError

if TYPE_CHECKING:
    from bpdebug.scenario.model import Scenario
    from bpdebug.timeline import Timeline

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NONFINITE = 3
EXIT_BUG = 70
EXIT_OUTPUT_LOST = 74
EXIT_INTERRUPTED = 130

REPLAY_PROGRESS_DELAY = 1.0
"""Seconds a replay (export, check) runs before it shows its progress."""


class CommandError(Exception):
    """A one-line error for the user, with the exit status to leave with."""

    def __init__(self, message: str, status: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.status = status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    console = Console(sys.stdout, sys.stderr)
    status = _main(list(sys.argv[1:] if argv is None else argv), console)
    if console.lost and status in (EXIT_OK, EXIT_CHECK_FAILED):
        # The result is gone: a script must not take the status for success.
        console.err(f"bpdebug: cannot write to standard output: {console.lost}")
        return EXIT_OUTPUT_LOST
    return status


def _main(args: list[str], console: Console) -> int:
    try:
        first = first_word(args)
        if first is not None and first not in COMMANDS:
            opened = build_open_parser(console).parse_args(args)
            _limit_threads(opened.threads)
            return _open(opened)
        parser = build_parser(console)
        parsed = parser.parse_args(args)
        if parsed.command is None:
            parser.print_help()
            return EXIT_OK
        if parsed.export_dir is not None:
            raise CommandError(
                "--export-dir is where the debugger's `e` writes; "
                f"it does not apply to `bpdebug {parsed.command}`"
            )
        _limit_threads(parsed.threads)
        handler = {
            "run": _run,
            "export": _export,
            "check": _check,
            "validate": _validate,
            "scenarios": _scenarios,
            "import": _import,
            "serve": _serve,
            "branches": _branches,
            "compare": _compare,
        }[parsed.command]
        return handler(parsed, console)
    except ParserExit as done:
        return done.status
    except InputError as error:
        console.err(str(error))
        return EXIT_BAD_INPUT
    except CommandError as error:
        console.err(f"bpdebug: {error}")
        return error.status
    except MissingExtra as error:
        console.err(f"bpdebug: {error}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        console.err("bpdebug: interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:
        # A bug of ours, not the user's input: still one line, never a traceback.
        console.err(f"bpdebug: internal error, please report it: {type(error).__name__}: {error}")
        return EXIT_BUG


def _limit_threads(option: int | None) -> None:
    """Set the BLAS thread count once, from --threads or BPDEBUG_THREADS (bpdebug.threads)."""
    from bpdebug.threads import limit_blas_threads, requested

    try:
        threads = requested(option)
    except ValueError as error:
        raise CommandError(str(error)) from None
    limit_blas_threads(threads)


def _load(arg: str) -> Scenario:
    from bpdebug.scenario import find_scenario_arg, load_scenario

    return load_scenario(find_scenario_arg(arg))


def _timeline_at(arg: str, step: int, console: Console) -> Timeline:
    """The timeline of scenario `arg` at `step`, replayed with progress after a second."""
    from bpdebug.timeline import Timeline

    timeline = Timeline(_load(arg))
    stop = None
    if step:
        progress = Progress(step, console, replay=True, delay=REPLAY_PROGRESS_DELAY)

        def show_progress() -> bool:
            progress.update(timeline.step, timeline.step)
            return False

        try:
            stop = timeline.run_until(max_steps=step, should_stop=show_progress)
            progress.update(timeline.step, timeline.step, force=True)
        finally:
            progress.close()
    if stop is not None and stop.reason == "breakpoint":
        where = f"step {stop.step}" + (f", before step {step}" if stop.step < step else "")
        raise CommandError(
            f"{stop.detail} at {where}; export or check an earlier step", EXIT_NONFINITE
        )
    return timeline


def _open(args: argparse.Namespace) -> int:
    # Only now: headless commands never pay for importing textual. A bad file
    # raises InputError while the app is built, before anything is drawn.
    from bpdebug.scenario import find_scenario_arg
    from bpdebug.snapshot.reopen import SNAPSHOT_SUFFIXES
    from bpdebug.tui import run_app

    if Path(args.scenario).suffix.lower() not in SNAPSHOT_SUFFIXES:
        find_scenario_arg(args.scenario)  # a name that is nothing: the closest bundled ones
    status = run_app(args.scenario, export_dir=Path(args.export_dir))
    # The app is done; the interpreter only waits for threads to end. Under
    # `bpdebug serve`, the terminal's Ctrl-C reaches every app too: now it
    # would print a traceback from the interpreter's exit, not stop anything.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Textual reports a crash of the app as 1 (after printing its traceback,
    # once the terminal is back); a bug is 70 here, as for the other commands.
    return EXIT_BUG if status == 1 else status


def _run(args: argparse.Namespace, console: Console) -> int:
    from bpdebug.breakpoints import describe_nonfinite
    from bpdebug.timeline import Timeline

    scenario = _load(args.scenario)
    timeline = Timeline(scenario)
    breakpoints = () if args.ignore_breakpoints else scenario.breakpoints
    progress = Progress(args.steps, console)
    last = timeline.step

    def show_progress() -> bool:
        progress.update(timeline.step, timeline.step - last, timeline.trace.cost)
        return ctrl_c.pressed

    with CtrlC() as ctrl_c:
        try:
            stop = timeline.run_until(
                breakpoints,
                max_steps=RUN_CAP if args.steps is None else args.steps,
                should_stop=show_progress,
            )
            progress.update(timeline.step, timeline.step - last, timeline.trace.cost, force=True)
        finally:
            progress.close()
    trace = timeline.trace
    result = f"step {timeline.step}  epoch {timeline.epoch}  cost {trace.cost:.10g}"
    if stop.breakpoint is not None:
        if stop.breakpoint.kind == "nonfinite":
            raise CommandError(
                f"{describe_nonfinite(timeline.state, trace)} at step {stop.step} "
                f"(learning_rate {scenario.training.learning_rate:g}); the run stopped",
                EXIT_NONFINITE,
            )
        console.out(f"stopped at step {stop.step}: breakpoint {stop.detail}")
    elif stop.reason == "interrupted":
        console.out(result)
        _report_health(args, timeline, console)
        console.err(f"bpdebug: interrupted (Ctrl-C) at step {stop.step}")
        return EXIT_INTERRUPTED
    elif args.steps is None:
        if breakpoints:
            what, note = "no breakpoint crossed and no NaN/inf", ""
        else:
            what = "no NaN/inf"
            note = " (breakpoints ignored)" if scenario.breakpoints else " (no breakpoints)"
        console.err(
            f"bpdebug: {what} in {RUN_CAP:,} updates, the most run makes without --steps{note}"
        )
    console.out(result)
    _report_health(args, timeline, console)
    return EXIT_OK


def _report_health(args: argparse.Namespace, timeline: Timeline, console: Console) -> None:
    """With --report, the layer-health report at the step the run ended."""
    if args.report:
        from bpdebug.report import health_lines

        for line in health_lines(timeline.health, timeline.scenario.name, timeline.step):
            console.out(line)


class CtrlC:
    """While it is entered, the first Ctrl-C (SIGINT) sets `pressed` instead of raising.

    The run then stops after the update in progress, with the timeline at a
    whole step. A second Ctrl-C raises KeyboardInterrupt as usual.
    """

    def __init__(self) -> None:
        self.pressed = False
        """Whether Ctrl-C was pressed."""
        self._previous: Any = None

    def __enter__(self) -> CtrlC:
        import signal

        def handle(signum: int, frame: object) -> None:
            if self.pressed:
                raise KeyboardInterrupt
            self.pressed = True

        try:
            self._previous = signal.signal(signal.SIGINT, handle)
        except ValueError:  # not the main thread (a caller's own thread): Ctrl-C as usual
            self._previous = None
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _export(args: argparse.Namespace, console: Console) -> int:
    from bpdebug.bridge.script import SCRIPT_SUFFIXES, export_script
    from bpdebug.snapshot import ExportError, export

    script = Path(args.output).suffix.lower() in SCRIPT_SUFFIXES
    if args.steps is not None and not script:
        raise CommandError("--steps is the updates a .py or .ipynb export makes; not for snapshots")
    timeline = _timeline_at(args.scenario, args.step, console)
    try:
        if script:
            written = export_script(timeline, args.output, steps=args.steps, force=args.force)
        else:
            written = export(timeline, Path(args.output), force=args.force)
    except ExportError as error:
        raise CommandError(str(error)) from None
    console.out(f"wrote {written} (step {timeline.step}, cost {timeline.trace.cost:.10g})")
    return EXIT_OK


def _check(args: argparse.Namespace, console: Console) -> int:
    from bpdebug.engine import check_gradients
    from bpdebug.report import gradcheck_lines, gradcheck_verdict

    if args.against == "torch":
        return _check_against_torch(args, console)
    timeline = _timeline_at(args.scenario, args.step, console)
    trace = timeline.trace
    result = check_gradients(
        timeline.trainer.network,
        timeline.state.params,
        trace.a[0],
        trace.Y,
        h=1e-5 if args.h is None else args.h,
        sample=args.sample,
    )
    for line in gradcheck_lines(
        result, timeline.state.params, timeline.scenario.name, timeline.step
    ):
        console.out(line)
    console.out(gradcheck_verdict(result))
    return EXIT_OK if result.ok else EXIT_CHECK_FAILED


def _check_against_torch(args: argparse.Namespace, console: Console) -> int:
    """`check --against torch`: step N and its update against PyTorch (bpdebug.bridge.parity)."""
    from bpdebug.bridge import need
    from bpdebug.bridge.parity import PURPOSE, compare_step, parity_lines

    if args.h is not None or args.sample is not None:
        raise CommandError("--h and --sample belong to the finite-difference check, not --against")
    need("torch", PURPOSE)  # before the replay: a missing extra is said at once
    timeline = _timeline_at(args.scenario, args.step, console)
    rows = compare_step(timeline)
    optimizer = timeline.scenario.training.optimizer
    for line in parity_lines(rows, timeline.scenario.name, timeline.step, optimizer):
        console.out(line)
    return EXIT_OK if all(row.close for row in rows) else EXIT_CHECK_FAILED


def _validate(args: argparse.Namespace, console: Console) -> int:
    scenario = _load(args.scenario)
    net, training = scenario.network, scenario.training
    n_params = sum(a * b + a for a, b in zip(net.layers[1:], net.layers[:-1], strict=True))
    console.out(
        f"{scenario.path}: ok: {scenario.name!r}, layers {'-'.join(map(str, net.layers))} "
        f"({n_params} parameters), {net.describe_activations()}, {net.loss}, "
        f"{scenario.data.size} examples ({scenario.data.source}), batch {training.batch_size}, "
        f"{training.optimizer} lr {training.learning_rate:g}"
    )
    return EXIT_OK


def _serve(args: argparse.Namespace, console: Console) -> int:
    from bpdebug.serve import serve

    try:
        return serve(args.scenario, args.host, args.port, args.threads, console)
    except OSError as error:  # the address: in use, not ours, not known
        reason = error.strerror or str(error)
        raise CommandError(f"cannot serve on {args.host}:{args.port}: {reason}") from None


def _branches(args: argparse.Namespace, console: Console) -> int:
    """`branches`: the snapshot's path from main, one line each, then where it is.

    A scenario (or a snapshot on main) prints only ``main: the scenario``.
    The recorded changes are checked as reopening checks them (bad ones exit 2).
    """
    from bpdebug.snapshot.reopen import SNAPSHOT_SUFFIXES, recorded_path

    if Path(args.scenario).suffix.lower() not in SNAPSHOT_SUFFIXES:
        _load(args.scenario)
        console.out("main: the scenario")
        return EXIT_OK
    from bpdebug.snapshot.branching import describe_path

    snap, records = recorded_path(Path(args.scenario))
    for line in describe_path(records):
        console.out(line)
    where = f"on {records[-1].name if records else 'main'} at step {snap.step}"
    if not records and snap.edits is not None and len(snap.edits):
        steps = sorted({int(s) for s in snap.edits[:, 0]})
        where += (
            f", with {len(snap.edits)} weights set by hand at steps {', '.join(map(str, steps))}"
            " (written before branches: reopening puts them on branches)"
        )
    console.out(where)
    return EXIT_OK


def _compare(args: argparse.Namespace, console: Console) -> int:
    from bpdebug.compare import run_compare

    return run_compare(args, console)


def _scenarios(args: argparse.Namespace, console: Console) -> int:
    from bpdebug.scenario import list_bundled

    bundled = list_bundled()
    width = max((len(b.name) for b in bundled), default=0)
    for b in bundled:
        console.out(f"{b.name.ljust(width)}  {b.description}")
    if bundled:
        console.out("")
        console.out(f"({bundled[0].path.parent}; open one with `bpdebug NAME`)")
    return EXIT_OK


def _import(args: argparse.Namespace, console: Console) -> int:
    from bpdebug.bridge.torch_in import (
        NotImportable,
        data_table,
        from_sequential,
        from_state_dict,
        model_from_file,
        read_weights,
        scenario_text,
    )
    from bpdebug.files import write_atomic
    from bpdebug.scenario import loads_scenario
    from bpdebug.scenario.model import LOSSES, OPTIMIZERS

    output = Path(args.output)
    source = args.source
    weights_only = Path(source).suffix.lower() in (".safetensors", ".pt", ".pth")
    for option, value, allowed in (
        ("--loss", args.loss, LOSSES),
        ("--optimizer", args.optimizer, OPTIMIZERS),
    ):
        if value not in allowed:
            raise CommandError(f"{option}: expected one of {', '.join(allowed)}, got {value!r}")
    try:
        data = data_table(args.data, output, args.target_columns)
    except NotImportable as error:
        raise CommandError(str(error)) from None
    try:
        if weights_only:
            if args.layers is None or args.activations is None:
                raise NotImportable("weights alone need --layers and --activations")
            net = from_state_dict(read_weights(source), args.layers, args.activations)
        else:
            if args.layers is not None or args.activations is not None:
                raise NotImportable("--layers and --activations are for weights alone")
            net = from_sequential(model_from_file(source))
        text = scenario_text(
            net,
            loss=args.loss,
            data=data,
            learning_rate=args.lr,
            optimizer=args.optimizer,
            batch_size=args.batch_size,
            seed=args.seed,
            name=args.name or output.stem,
            source=Path(source.rpartition(":")[0] if not weights_only else source).name,
        )
    except NotImportable as error:
        where = source.rpartition(":")[0] if ":" in source and not weights_only else source
        message = str(error)
        raise CommandError(
            message if message.startswith(where) else f"{where}: {message}"
        ) from None
    # The loader checks what will be written, limits and all, before the file exists.
    scenario = loads_scenario(text, output)
    try:
        write_atomic(output, text.encode("utf-8"), overwrite=args.force)
    except FileExistsError:
        raise CommandError(f"{output}: exists; pass --force to overwrite") from None
    net_spec = scenario.network
    console.out(
        f"wrote {output}: layers {'-'.join(map(str, net_spec.layers))}"
        f" {net_spec.describe_activations()}, {net_spec.loss}, {scenario.data.size} examples"
        f" ({scenario.data.source}); open it with: bpdebug {output}"
    )
    return EXIT_OK
