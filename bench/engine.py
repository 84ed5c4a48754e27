"""Benchmark: one bpdebug update against a hand-written NumPy loop of the same formulas.

Run: `python bench/engine.py [--rounds R]`. Prints, for xor and wide, the
time of one update (forward, cost, backward, SGD update) both ways, measured
in alternating rounds in the same process, and their ratio. bpdebug's update
keeps the full trace (z, a, delta, dW, db of every layer, read-only) and goes
through the Timeline (cost history, checkpoints). Target: ratio <= 1.2.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bpdebug.scenario import load_scenario
from bpdebug.scenario.model import Scenario
from bpdebug.timeline import Timeline

ROOT = Path(__file__).resolve().parent.parent


def hand_loop(scenario: Scenario) -> Callable[[int], None]:
    """A plain NumPy training loop for the bench's two scenarios, written from the formulas."""
    from bpdebug.training import Trainer

    trainer = Trainer(scenario)
    state = trainer.initial_state()
    Ws = [w.copy() for w in state.params.W]
    bs = [b.copy() for b in state.params.b]
    L = len(Ws) - 1
    lr = scenario.training.learning_rate
    hidden, output = scenario.network.activation, scenario.network.output
    loss = scenario.network.loss
    schedule = trainer.schedule
    inputs, targets = scenario.data.inputs, scenario.data.targets

    def g(name: str, z: np.ndarray) -> np.ndarray:
        out: np.ndarray
        if name == "sigmoid":
            out = 1.0 / (1.0 + np.exp(-z))
        elif name == "relu":
            out = np.maximum(z, 0.0)
        else:
            e = np.exp(z - z.max(axis=0))
            out = e / e.sum(axis=0)
        return out

    def g_prime(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        out: np.ndarray = a * (1.0 - a) if name == "sigmoid" else (z > 0.0).astype(float)
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
                Ws[l] = Ws[l] - lr * dW
                bs[l] = bs[l] - lr * db
                if l > 1:
                    delta = next_delta

    return run


def bpdebug_loop(scenario: Scenario) -> Callable[[int], None]:
    """bpdebug's own updates through a Timeline, keeping every trace."""
    timeline = Timeline(scenario)

    def run(steps: int) -> None:
        for _ in range(steps):
            timeline.next()
            timeline.trace  # noqa: B018 - the pass of the new state, as the debugger shows it

    return run


def measure(name: str, steps: int, rounds: int) -> tuple[float, float]:
    """Best-of-`rounds` seconds per update for (hand loop, bpdebug)."""
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        # fresh loops each round so both start from step 0 on the same batches
        for i, make in enumerate((hand_loop, bpdebug_loop)):
            run = make(scenario)
            run(min(steps, 20))  # warm-up
            start = time.perf_counter()
            run(steps)
            best[i] = min(best[i], (time.perf_counter() - start) / steps)
    return best[0], best[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{'scenario':10} {'hand loop':>12} {'bpdebug':>12} {'ratio':>7}  (target <= 1.2)")
    for name, steps in (("xor", 5000), ("wide", 60)):
        hand, ours = measure(name, steps, args.rounds)
        print(f"{name:10} {hand * 1e6:10.1f}us {ours * 1e6:10.1f}us {ours / hand:7.2f}")


if __name__ == "__main__":
    main()
