"""Benchmark: `bpdebug run` per update against a hand-written NumPy loop of the same formulas.

Run: `python bench/engine.py [--rounds R] [--only NAME]`. For each scenario,
both sides run as a user runs them, in a fresh interpreter:

- command: the real command line, `python -m bpdebug run NAME --steps N
  --ignore-breakpoints` (the NaN/inf watch stays on, as it always is; the
  progress lines go to a pipe, as in a script);
- hand loop: this file, `python bench/engine.py --hand NAME --steps N`: the
  same data, initial parameters and batches, trained by a plain loop written
  from the formulas (forward, cost, backward, update), with the same one
  BLAS thread as the command.

Each is timed at N1 and N2 updates; (T(N2) - T(N1)) / (N2 - N1) is the cost
of one update with start-up (interpreter, imports, data) cancelled. Each
round runs both sides at N1 and N2; the median over R rounds is shown,
by the wall clock and by CPU time (the child's user + system time, which
the steal time of a busy virtual machine does not inflate). Scenarios: xor
(2-2-1 sigmoid, squared error, SGD, 4 examples), digits (64-32-10 tanh and
softmax, cross-entropy, momentum, batches of 32) and wide (784-128-64-10
relu and softmax, SGD, batches of 64). Target: ratio <= 1.2 on xor and
digits.

`--engine` adds the same comparison inside one process, without start-up
or progress: `Timeline.run_until` (the loop `run` drives, NaN/inf watch on)
against the hand loop in alternating chunks, each going on where it was;
the median of the chunks' ratios is steadier on a busy machine. A second
column shows run_until with the NaN/inf watch taken out, to show its share.

The hand loop does less than the contract asks of the tool, and the
figures include that difference: it keeps no pass (the tool keeps z, a,
delta, dW, db and C_0 of every layer, read-only where kept, and the cost
of every step), makes its new parameters over the old ones where the tool
keeps each state unchanged for rewinding, watches for no NaN/inf, and takes
the cross-entropy as log(a) (-inf where a rounds to 0; the tool uses
log-softmax of z).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PLAN = {"xor": (2_000, 12_000), "digits": (200, 2_200), "wide": (20, 220)}
"""Scenario -> (N1, N2) updates: N2 - N1 takes about a second of training."""
TARGET = 1.2


def hand_loop(name: str) -> Callable[[int], None]:
    """A plain NumPy training loop for a bundled scenario, written from the formulas.

    Handles what the benchmark's scenarios use: sigmoid, tanh and relu
    hidden layers; a sigmoid output with squared error, or softmax with
    cross-entropy; SGD or momentum (v <- mu v + g; p <- p - lr v).
    """
    from bpdebug.scenario import find_scenario_arg, load_scenario
    from bpdebug.training import Trainer

    scenario = load_scenario(find_scenario_arg(name))
    trainer = Trainer(scenario)  # only for the starting parameters and the batch order
    state = trainer.initial_state()
    Ws = [w.copy() for w in state.params.W]
    bs = [b.copy() for b in state.params.b]
    vWs = [np.zeros_like(w) for w in Ws]
    vbs = [np.zeros_like(b) for b in bs]
    L = len(Ws) - 1
    training = scenario.training
    lr, mu, momentum = training.learning_rate, training.momentum, training.optimizer == "momentum"
    hidden, output = scenario.network.activation, scenario.network.output
    loss = scenario.network.loss
    schedule = trainer.schedule
    inputs, targets = scenario.data.inputs, scenario.data.targets

    def g(name: str, z: np.ndarray) -> np.ndarray:
        out: np.ndarray
        if name == "sigmoid":
            out = 1.0 / (1.0 + np.exp(-z))
        elif name == "tanh":
            out = np.tanh(z)
        elif name == "relu":
            out = np.maximum(z, 0.0)
        else:
            e = np.exp(z - z.max(axis=0))
            out = e / e.sum(axis=0)
        return out

    def g_prime(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        out: np.ndarray
        if name == "sigmoid":
            out = a * (1.0 - a)
        elif name == "tanh":
            out = 1.0 - a * a
        else:
            out = (z > 0.0).astype(float)
        return out

    def run(steps: int) -> None:
        for step in range(steps):
            if schedule.batches_per_epoch == 1:
                X, Y = inputs, targets
            else:
                idx = schedule.indices(step)
                X, Y = inputs[:, idx], targets[:, idx]
            m = X.shape[1]
            zs: list[np.ndarray] = [np.empty(0)]
            acts: list[np.ndarray] = [X]
            for l in range(1, L + 1):
                z = Ws[l] @ acts[-1] + bs[l][:, None]
                zs.append(z)
                acts.append(g(output if l == L else hidden, z))
            a = acts[L]
            if loss == "squared_error":
                _cost = ((a - Y) ** 2).sum(axis=0).mean()
                delta = 2.0 * (a - Y) * g_prime(output, zs[L], a)
            else:  # softmax + cross-entropy
                _cost = -(Y * np.log(a)).sum(axis=0).mean()
                delta = a - Y
            for l in range(L, 0, -1):
                dW = delta @ acts[l - 1].T / m
                db = delta.mean(axis=1)
                if l > 1:
                    next_delta = (Ws[l].T @ delta) * g_prime(hidden, zs[l - 1], acts[l - 1])
                if momentum:
                    vWs[l] = mu * vWs[l] + dW
                    vbs[l] = mu * vbs[l] + db
                    dW, db = vWs[l], vbs[l]
                Ws[l] = Ws[l] - lr * dW
                bs[l] = bs[l] - lr * db
                if l > 1:
                    delta = next_delta

    return run


def engine_loop(name: str, watch: bool = True) -> Callable[[int], None]:
    """bpdebug's own loop, as `bpdebug run` drives it (Timeline.run_until, NaN/inf watch on).

    `watch` False takes the NaN/inf watch out (`surely_finite` always says
    yes), only to measure its share: the hand loop has no watch, and `run`
    always has one.
    """
    from unittest import mock

    from bpdebug.scenario import find_scenario_arg, load_scenario
    from bpdebug.timeline import Timeline

    timeline = Timeline(load_scenario(find_scenario_arg(name)))

    def run(steps: int) -> None:
        timeline.run_until(max_steps=steps)

    def unwatched(steps: int) -> None:
        with mock.patch("bpdebug.timeline.surely_finite", lambda trace, after: True):
            timeline.run_until(max_steps=steps)

    return run if watch else unwatched


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) the command takes to run to its end (it must succeed)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with status {child.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def hand_command(name: str, steps: int) -> list[str]:
    """The hand loop in its own interpreter."""
    return [sys.executable, __file__, "--hand", name, "--steps", str(steps)]


def run_command(name: str, steps: int) -> list[str]:
    """`bpdebug run`, as a user types it."""
    return [
        *(sys.executable, "-m", "bpdebug", "run", name),
        *("--steps", str(steps), "--ignore-breakpoints"),
    ]


def per_update(name: str, rounds: int) -> dict[str, tuple[float, float]]:
    """Seconds per update, start-up cancelled, for the hand loop and the command:
    side -> (by wall-clock time, by CPU time), each the median over `rounds`."""
    n1, n2 = PLAN[name]
    sides = {"hand": hand_command, "command": run_command}
    samples: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
    for _ in range(rounds):
        for side, command in sides.items():
            (wall1, cpu1), (wall2, cpu2) = timed(command(name, n1)), timed(command(name, n2))
            samples[side].append(((wall2 - wall1) / (n2 - n1), (cpu2 - cpu1) / (n2 - n1)))
    return {
        side: (statistics.median(w for w, _ in got), statistics.median(c for _, c in got))
        for side, got in samples.items()
    }


def in_process(name: str, chunks: int = 60, watch: bool = True) -> float:
    """Median over `chunks` alternating chunks of (run_until time / hand loop time), in this
    process: both loops go on from where they were, so drift on a busy machine cancels.

    `watch` False measures run_until without its NaN/inf watch (see `engine_loop`).
    """
    from bpdebug.threads import limit_blas_threads

    limit_blas_threads(1)
    size = max((PLAN[name][1] - PLAN[name][0]) // 40, 1)
    hand, ours = hand_loop(name), engine_loop(name, watch)
    ratios = []
    for _ in range(chunks):
        start = time.perf_counter()
        hand(size)
        middle = time.perf_counter()
        ours(size)
        ratios.append((time.perf_counter() - middle) / (middle - start))
    return statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", choices=sorted(PLAN), action="append")
    parser.add_argument(
        "--engine", action="store_true", help="also compare the loops in-process, paired"
    )
    parser.add_argument("--hand", metavar="NAME", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hand:  # one side of the measurement, in its own interpreter
        from bpdebug.threads import limit_blas_threads

        limit_blas_threads(1)  # as the command does by default
        hand_loop(args.hand)(args.steps)
        return
    names = args.only or list(PLAN)
    print(f"per update, median of {args.rounds} rounds; ratio target <= {TARGET} (xor, digits)")
    print(f"{'':8} {'hand loop':>10} {'bpdebug run':>12} {'ratio':>6}   {'by CPU time:':>12}")
    for name in names:
        got = per_update(name, args.rounds)
        (hand, hand_cpu), (ours, ours_cpu) = got["hand"], got["command"]
        print(
            f"{name:8} {hand * 1e6:8.1f}us {ours * 1e6:10.1f}us {ours / hand:6.2f}"
            f"   {hand_cpu * 1e6:8.1f}us {ours_cpu * 1e6:8.1f}us {ours_cpu / hand_cpu:5.2f}"
        )
    if args.engine:
        print("in-process, paired chunks (median ratio): Timeline.run_until / hand loop")
        print(f"{'':8} {'ratio':>6}   {'without the NaN/inf watch (not a way run can go)':>6}")
        for name in names:
            print(f"{name:8} {in_process(name):6.2f}   {in_process(name, watch=False):6.2f}")


if __name__ == "__main__":
    main()
