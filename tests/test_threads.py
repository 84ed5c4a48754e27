"""numpy's BLAS threads: one by default, --threads N or BPDEBUG_THREADS to change it.

Each command runs in a fresh interpreter: the limit is process-wide, and
setting it here would change the other tests' process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bpdebug.threads import DEFAULT, MAXIMUM, VARIABLE, parse, requested

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.cli

# Runs the command line's main() with the arguments given, then prints the
# BLAS thread count it left; the debugger itself is replaced by a stub that
# reports the count it was opened with.
PROBE = """
import sys
import bpdebug.tui
from bpdebug.cli import main
from bpdebug.threads import blas_threads

def fake_run_app(arg, export_dir):
    print("app", arg, export_dir, blas_threads())
    return 0

bpdebug.tui.run_app = fake_run_app
status = main(sys.argv[1:])
print("threads", blas_threads())
sys.exit(status)
"""


def probe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run PROBE with `args`; BLAS variables that would confuse the count are cleared."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in (VARIABLE, "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **(env or {})},
    )


def threads_left(out: subprocess.CompletedProcess[str]) -> int:
    return int(out.stdout.strip().splitlines()[-1].removeprefix("threads "))


def test_parse_takes_whole_numbers_in_range() -> None:
    assert parse("1") == 1 and parse(" 4 ") == 4 and parse(str(MAXIMUM)) == MAXIMUM
    for bad in ("0", "-1", "1.5", "two", "", str(MAXIMUM + 1)):
        with pytest.raises(ValueError, match="expected a whole number from 1 to"):
            parse(bad)


def test_the_option_wins_over_the_variable_and_the_default_is_one() -> None:
    assert requested(None, {}) == DEFAULT == 1
    assert requested(None, {VARIABLE: "3"}) == 3
    assert requested(2, {VARIABLE: "3"}) == 2
    assert requested(None, {VARIABLE: ""}) == 1
    with pytest.raises(ValueError, match=f"^{VARIABLE}: expected a whole number"):
        requested(None, {VARIABLE: "lots"})


def test_every_command_runs_with_one_blas_thread_by_default() -> None:
    out = probe("validate", "xor")
    assert out.returncode == 0, out.stderr
    assert threads_left(out) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--threads", "2", "run", "xor", "--steps", "2"],
        ["run", "xor", "--steps", "2", "--threads", "2"],
        ["--threads=2", "check", "xor"],
        ["--threads", "2", "scenarios"],
    ],
)
def test_threads_option_before_or_after_the_command(args: list[str]) -> None:
    out = probe(*args)
    assert out.returncode == 0, out.stderr
    assert threads_left(out) == 2


def test_the_variable_sets_it_and_the_option_overrides_it() -> None:
    assert threads_left(probe("validate", "xor", env={VARIABLE: "2"})) == 2
    assert threads_left(probe("--threads", "1", "validate", "xor", env={VARIABLE: "2"})) == 1


def test_opening_the_debugger_takes_threads_and_export_dir() -> None:
    out = probe("--threads", "2", "--export-dir", "out", "xor")
    assert out.returncode == 0, out.stderr
    assert "app xor out 2" in out.stdout
    after = probe("xor", "--threads", "2")
    assert "app xor exports 2" in after.stdout


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--threads", "0", "validate", "xor"], {}, "argument --threads: expected a whole"),
        (["--threads", "x", "xor"], {}, "argument --threads: expected a whole number"),
        (["validate", "xor", "--threads", "1e9"], {}, "got '1e9'"),
        (["validate", "xor"], {VARIABLE: "many"}, f"bpdebug: {VARIABLE}: expected a whole"),
        (["xor"], {VARIABLE: "0"}, f"bpdebug: {VARIABLE}: expected a whole number"),
    ],
)
def test_bad_values_are_one_error_line_and_status_2(
    args: list[str], env: dict[str, str], message: str
) -> None:
    out = probe(*args, env=env)
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if not line.startswith("usage:")]
    assert len(errors) == 1 and message in errors[0], out.stderr
    assert "Traceback" not in out.stderr
    assert "app " not in out.stdout  # the debugger never opened
