"""Benchmark: the memory of the worst files the default limits accept.

Run: `python bench/limits.py [--case NAME]`.

Each case is a scenario (or snapshot) at the edge of the default limits,
the largest network, batch or data set a file can ask for without lifting a
variable. Each runs as the user would run it, `bpdebug run FILE --steps 1`
(load, the first pass, one update, the next pass), `bpdebug validate` and
`bpdebug export FILE -o FILE.json` (the largest snapshot), and the
debugger itself (headless, one update, the diff view, the heatmap), each in
a fresh process, and the peak resident memory of that process is reported.
The baseline, measured in the same run, is the same command on xor. Target:
every case under about 2 GB (README "Limits").
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "bpdebug"
TARGET_MB = 2048

CASES: dict[str, str] = {
    # 8,000,000 weights and biases (the parameter limit), adam's two moments,
    # l2's gradient, and the largest batch the activation limit then allows.
    "parameters": """
[network]
layers = [2, 2825, 2825, 1]
init = "uniform"
init_range = 0.01
[data]
generator = "xor"
n = 1415
[training]
optimizer = "adam"
l2 = 0.001
""",
    # 8,000,000 activations in one batch (batch x units): one wide layer.
    "batch": """
[network]
layers = [784, 9600, 10]
output = "softmax"
loss = "cross_entropy"
[data]
generator = "digits"
size = 28
n = 769
[training]
optimizer = "adam"
""",
    # 20,000,000 input numbers (the data limit): 25,510 images of 28x28,
    # and the largest batch the activation limit then allows.
    "data": """
[network]
layers = [784, 10]
output = "softmax"
loss = "cross_entropy"
[data]
generator = "digits"
size = 28
n = 25510
[training]
batch_size = 10075
optimizer = "adam"
""",
    # A CSV at the file-size limit: 64 MB, a million rows of 32 short numbers.
    "csv": """
[network]
layers = [20, 12]
[data]
csv = "big.csv"
target_columns = ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10", "t11"]
[training]
batch_size = 1000
""",
}
"""Scenario text of each case; `csv` also gets a 64 MB CSV file beside it."""


def write_csv(path: Path, rows: int = 999_000) -> None:
    """20 input and 12 target columns of one-digit numbers: 64 MB, under every data limit."""
    header = ",".join([f"x{i}" for i in range(20)] + [f"t{i}" for i in range(12)]) + "\n"
    row = ",".join("1" if i % 3 else "0" for i in range(32)) + "\n"
    path.write_text(header + row * rows, encoding="utf-8")


APP = """
import asyncio, sys
from bpdebug.tui import build_app

async def main() -> None:
    app = build_app(sys.argv[1])
    async with app.run_test(size=(160, 50)) as pilot:
        for key in ("n", "s", "d", "v", "h"):  # an update, a phase, the diff, a pane, the heatmap
            await pilot.press(key)
            await pilot.pause()

asyncio.run(main())
"""
"""The debugger, headless: open the file at 160x50, step once, diff, and look around."""


def peak_mb(args: list[str], cwd: Path) -> tuple[float, float, int]:
    """(peak resident MB, seconds, exit status) of `bpdebug ARGS` run in a fresh process.

    `["app", FILE]` runs the debugger headless instead (APP).
    """
    start = time.perf_counter()
    command = [str(SCRIPT), *args]
    if args[0] == "app":
        command = [sys.executable, "-c", APP, *args[1:]]
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    assert process.stderr is not None
    error = process.stderr.read().decode(errors="replace").strip()
    process.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        print(f"    exit {code}: {error[-300:]}")
    return usage.ru_maxrss / 1024, elapsed, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    args = parser.parse_args()
    names = args.case or list(CASES)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        xor = str(ROOT / "scenarios" / "xor.toml")
        base, base_s, _ = peak_mb(["run", xor, "--steps", "1"], work)
        print(f"baseline: run xor --steps 1: {base:7.0f} MB  {base_s:5.1f} s")
        worst = 0.0
        for name in names:
            path = work / f"{name}.toml"
            path.write_text(CASES[name], encoding="utf-8")
            if name == "csv":
                write_csv(work / "big.csv")
            for command in (
                ["validate", path.name],
                ["run", path.name, "--steps", "1"],
                ["export", path.name, "-o", f"{name}.json", "--force"],
                ["app", path.name],
            ):
                mb, seconds, _ = peak_mb(command, work)
                worst = max(worst, mb)
                print(
                    f"{name:10} {command[0]:8} peak {mb:7.0f} MB ({mb / base:5.1f}x baseline)"
                    f"  {seconds:5.1f} s"
                )
        verdict = "met" if worst < TARGET_MB else "MISSED"
        print(f"worst peak {worst:.0f} MB; target < {TARGET_MB} MB: {verdict}")


if __name__ == "__main__":
    main()
