"""Safe to open what others send: the command line's output, whatever the files and streams.

A scenario, a CSV or a file name may come from someone else. Whatever it
holds, the bytes bpdebug writes to the terminal carry no control character
(an OSC 52 sequence in a key must not write the user's clipboard), the
command line never prints a traceback, and a closed, full or ASCII-only
stream costs at most the text that could not be written. Most tests run the
installed console script and look at the raw bytes it writes.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from bpdebug import cli
from bpdebug.scenario import BundledScenario, InputError, loads_scenario

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "bpdebug"
XOR = (ROOT / "scenarios" / "xor.toml").read_text(encoding="utf-8")
XOR_UNNAMED = XOR.replace('name = "XOR"\n', "")

pytestmark = pytest.mark.cli

OSC52 = "\x1b]52;c;SGk=\x07"
"""Writes "Hi" to the clipboard of a terminal that obeys it."""
HOSTILE = f"{OSC52} \x9b31m \x7f \u202e"
"""OSC 52, a C1 CSI, DEL and a right-to-left override: what a file must not print."""
HOSTILE_TOML = HOSTILE.encode("unicode_escape").decode().replace("\\x", "\\u00")
"""The same text as a TOML basic string's escapes (\\u001b...)."""
HOSTILE_NAME = b"\x1b]52;c;SGk=\x07 \xc2\x9b31m \x7f"
"""A file name holding OSC 52, a C1 CSI (UTF-8) and DEL."""

ESCAPED_OSC52 = rb"\\(?:x1b|u001b)\]52;c;SGk=\\(?:x07|u0007)"
"""OSC52 as the messages show it: `printable`'s escapes, or the loader's quoting of a key."""

UNSAFE = re.compile(
    rb"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]"  # C0 (but \n and \r) and DEL
    rb"|\xc2[\x80-\x9f]"  # C1, UTF-8 encoded
    rb"|\xe2\x80[\x8e\x8f\xa8\xa9\xaa-\xae]|\xe2\x81[\xa6-\xa9]"  # bidi, U+2028/9
)
"""Bytes that move the cursor or talk to the terminal. (\\r is checked apart.)"""


def bpdebug(
    *args: str | bytes,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    redirect: str = "",
) -> subprocess.CompletedProcess[bytes]:
    """Run the console script; `redirect` is a shell redirection (`>&-`, `2>/dev/full`)."""
    assert SCRIPT.exists(), f"console script not installed at {SCRIPT} (pip install -e .)"
    command: list[str | bytes] = [str(SCRIPT), *args]
    if redirect:
        command = ["sh", "-c", f'exec "$@" {redirect}', "sh", *command]
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning", **(env or {})},
    )


def assert_terminal_safe(data: bytes, *, carriage_returns: bool = False) -> None:
    """No control character but \\n (and \\r if allowed), no traceback, no exit-time noise."""
    found = UNSAFE.findall(data)
    assert found == [], f"control bytes {found!r} in {data!r}"
    if not carriage_returns:
        assert b"\r" not in data, data
    assert b"Traceback" not in data and b"Exception ignored" not in data, data


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- 1. text from files ------------------------------------------------------
@pytest.mark.parametrize(
    ("what", "toml", "args", "status", "shown"),
    [
        (
            "an unknown key",
            f'"{HOSTILE_TOML}" = 1\n' + XOR,
            ["validate", "s.toml"],
            2,
            rb"^s\.toml: .?OSC.? \\x9b31m \\x7f \\u202e.?: unknown key",
        ),
        (
            "the scenario's name",
            XOR.replace('name = "XOR"', f'name = "{HOSTILE_TOML}"'),
            ["check", "s.toml"],
            0,
            rb"^gradient check  OSC \\x9b31m \\x7f \\u202e  step 0",
        ),
        (
            "the scenario's name",
            XOR.replace('name = "XOR"', f'name = "{HOSTILE_TOML}"'),
            ["validate", "s.toml"],
            0,
            rb"^s\.toml: ok: 'OSC \\x9b31m \\x7f \\u202e'",
        ),
        (
            "a CSV header cell",
            'name = "c"\n[network]\nlayers = [1, 1]\n[data]\ncsv = "d.csv"\n'
            'target_columns = ["y"]\n',
            ["validate", "s.toml"],
            2,
            rb"^s\.toml: data\.\w+: .*OSC",
        ),
    ],
    ids=["key-validate", "name-check", "name-validate", "csv-header"],
)
def test_text_in_a_file_is_escaped(
    tmp_path: Path, what: str, toml: str, args: list[str], status: int, shown: bytes
) -> None:
    """Control characters from a scenario or its CSV are shown as escapes, never sent raw."""
    write(tmp_path / "s.toml", toml)
    write(tmp_path / "d.csv", f"y,{OSC52},{OSC52}\n1,2,3\n")  # a column named twice
    out = bpdebug(*args, cwd=tmp_path)
    assert out.returncode == status, out.stderr
    assert_terminal_safe(out.stdout)
    assert_terminal_safe(out.stderr)
    pattern = shown.replace(b"OSC", ESCAPED_OSC52)
    assert re.search(pattern, out.stdout + out.stderr, re.MULTILINE), what


def test_the_check_report_is_printable_for_the_screen_too(tmp_path: Path) -> None:
    """`gradcheck_lines` escapes the name itself: the debugger shows the same lines."""
    from bpdebug.engine import check_gradients
    from bpdebug.report import gradcheck_lines
    from bpdebug.timeline import Timeline

    text = XOR.replace('name = "XOR"', f'name = "{HOSTILE_TOML}"')
    timeline = Timeline(loads_scenario(text, tmp_path / "s.toml"))
    trace, params = timeline.trace, timeline.state.params
    result = check_gradients(timeline.trainer.network, params, trace.a[0], trace.Y)
    lines = gradcheck_lines(result, params, timeline.scenario.name, 0)
    assert lines[0].startswith(
        "gradient check  \\x1b]52;c;SGk=\\x07 \\x9b31m \\x7f \\u202e  step 0"
    )
    assert_terminal_safe("\n".join(lines).encode())


def test_a_hostile_file_name_is_escaped_everywhere(tmp_path: Path) -> None:
    """A file name from a glob of a colleague's folder: in results, errors and usage errors."""
    folder = os.fsencode(tmp_path)
    with open(os.path.join(folder, HOSTILE_NAME + b".toml"), "wb") as f:
        f.write(XOR_UNNAMED.encode())  # no name: the name is the file's stem
    scenario = HOSTILE_NAME + b".toml"
    snapshot = HOSTILE_NAME + b".json"
    escaped = b"\\x1b]52;c;SGk=\\x07 \\x9b31m \\x7f"
    runs = {
        "validate": bpdebug("validate", scenario, cwd=tmp_path),
        "check": bpdebug("check", scenario, cwd=tmp_path),
        "export": bpdebug("export", scenario, "-o", snapshot, cwd=tmp_path),
        "export again": bpdebug("export", scenario, "-o", snapshot, cwd=tmp_path),
        "usage error": bpdebug("validate", scenario, scenario, cwd=tmp_path),
        "missing": bpdebug("run", b"missing-" + scenario, "--steps", "1", cwd=tmp_path),
        "debugger": bpdebug(b"missing-" + scenario, cwd=tmp_path),
    }
    for name, out in runs.items():
        assert_terminal_safe(out.stdout)
        assert_terminal_safe(out.stderr)
        assert escaped in out.stdout + out.stderr, name
    assert [out.returncode for out in runs.values()] == [0, 0, 0, 2, 2, 2, 2]
    assert runs["export"].stdout.startswith(b"wrote " + escaped + b".json (step 0")
    assert runs["export again"].stderr.endswith(b"exists; pass --force to overwrite\n")
    assert runs["usage error"].stderr.splitlines()[-1] == (
        b"bpdebug: error: unrecognized arguments: " + escaped + b".toml"
    )


def test_scenarios_listing_escapes_descriptions(
    monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    """`bpdebug scenarios` shows each file's own description: escaped.

    In-process, because the listing reads the installed package's folder,
    which a test must not write to.
    """
    hostile = BundledScenario(f"x{OSC52}", tmp_path / "x.toml", HOSTILE)
    monkeypatch.setattr("bpdebug.scenario.list_bundled", lambda: [hostile])
    assert cli.main(["scenarios"]) == 0
    out = capsysbinary.readouterr()
    assert_terminal_safe(out.out)
    assert out.out.startswith(b"x\\x1b]52;c;SGk=\\x07  \\x1b]52;c;SGk=\\x07 \\x9b31m")


def test_the_progress_bar_is_the_only_carriage_return() -> None:
    """On a terminal `run` draws its bar with \\r; nothing else moves the cursor."""
    controller, terminal = pty.openpty()
    try:
        try:
            out = subprocess.run(
                [str(SCRIPT), "run", "xor", "--steps", "50"],
                stdout=subprocess.PIPE,
                stderr=terminal,
                timeout=120,
            )
        finally:
            os.close(terminal)
        shown = b""
        while chunk := _read(controller):
            shown += chunk
    finally:
        os.close(controller)
    assert out.returncode == 0
    assert out.stdout.startswith(b"step 50 ")
    assert shown.startswith(b"\r[") and shown.endswith(b"\r\n")  # the terminal adds \r to \n
    assert b"] step 50  cost " in shown
    assert_terminal_safe(shown.replace(b"\r[", b"[").removesuffix(b"\r\n"))


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the terminal's other end is closed and drained
        return b""


# -- 2. file names that are not UTF-8 ------------------------------------------
def test_a_file_name_that_is_not_utf8_works(tmp_path: Path) -> None:
    """b"\\xff-x.toml" (Python holds it as a lone surrogate) is read, and shown escaped."""
    with open(os.path.join(os.fsencode(tmp_path), b"\xff-x.toml"), "wb") as f:
        f.write(XOR_UNNAMED.encode())
    validate = bpdebug("validate", b"\xff-x.toml", cwd=tmp_path)
    run = bpdebug("run", b"\xff-x.toml", "--steps", "2", cwd=tmp_path)
    check = bpdebug("check", b"\xff-x.toml", cwd=tmp_path)
    exports = [
        bpdebug("export", b"\xff-x.toml", "-o", f"s{suffix}", cwd=tmp_path)
        for suffix in (".json", ".npz", ".md")
    ]
    for out in (validate, run, check, *exports):
        assert out.returncode == 0, out.stderr
        assert_terminal_safe(out.stdout + out.stderr)
    assert validate.stdout.startswith(b"\\udcff-x.toml: ok: '\\udcff-x'")
    assert run.stdout.startswith(b"step 2 ")
    assert check.stdout.startswith(b"gradient check  \\udcff-x  step 0")


def test_an_output_name_that_is_not_utf8_is_written_and_shown_escaped(tmp_path: Path) -> None:
    out = bpdebug("export", "xor", "--step", "1", "-o", b"\xff.json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(b"wrote \\udcff.json (step 1, cost ")
    assert_terminal_safe(out.stdout + out.stderr)
    assert os.listdir(os.fsencode(tmp_path)) == [b"\xff.json"]


# -- 3. closed and full streams ------------------------------------------------
FULL = "No space left on device"


@pytest.mark.parametrize(
    ("args", "redirect", "status", "stdout", "stderr_end"),
    [
        (["validate", "xor"], ">&-", 74, b"", "cannot write to standard output: it is closed"),
        (["validate", "xor"], ">/dev/full", 74, b"", f"cannot write to standard output: {FULL}"),
        (["run", "xor", "--steps", "100"], ">/dev/full", 74, b"", f"standard output: {FULL}"),
        (["check", "xor"], ">/dev/full", 74, b"", f"cannot write to standard output: {FULL}"),
        (["--help"], ">/dev/full", 74, b"", f"cannot write to standard output: {FULL}"),
        (["run", "xor", "--steps", "100"], "2>/dev/full", 0, b"step 100 ", ""),
        (["run", "xor", "--steps", "100"], "2>&-", 0, b"step 100 ", ""),
        (["validate", "xor"], "2>&-", 0, b"/", ""),
        (
            ["validate", "nowhere.toml"],
            ">&-",
            2,
            b"",
            "nowhere.toml: not a file nor a bundled scenario",
        ),
        (["check", "xor", "--sample", "0"], "2>/dev/full", 2, b"", ""),
    ],
    ids=[
        "validate-closed",
        "validate-full",
        "run-full",
        "check-full",
        "help-full",
        "run-stderr-full",
        "run-stderr-closed",
        "validate-stderr-closed",
        "bad-input-stdout-closed",
        "usage-error-stderr-full",
    ],
)
def test_closed_or_full_streams(
    args: list[str], redirect: str, status: int, stdout: bytes, stderr_end: str
) -> None:
    """A stream that fails costs its own text only: one line on stderr, never a traceback.

    The result lost on stdout is status 74; stderr failing (progress lines,
    messages) changes nothing else.
    """
    out = bpdebug(*args, redirect=redirect)
    assert out.returncode == status, out.stderr
    assert out.stdout.startswith(stdout)
    assert_terminal_safe(out.stderr)
    if stderr_end:
        assert stderr_end in out.stderr.decode().rstrip("\n").splitlines()[-1]
    else:
        assert out.stderr == b""


@pytest.mark.parametrize("redirect", [">&- 2>&-", ">/dev/full 2>/dev/full", ">/dev/full 2>&-"])
def test_both_streams_gone_is_status_74(redirect: str) -> None:
    """Nothing can be said; the status still says the result was lost (a crash would be 1)."""
    assert bpdebug("run", "xor", "--steps", "20", redirect=redirect).returncode == 74


# -- 4. an ASCII-only terminal -----------------------------------------------
@pytest.mark.parametrize(
    "env",
    [
        {"PYTHONIOENCODING": "ascii"},
        {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"},
    ],
    ids=["PYTHONIOENCODING", "C-locale"],
)
def test_an_ascii_terminal_gets_backslash_escapes(tmp_path: Path, env: dict[str, str]) -> None:
    write(tmp_path / "s.toml", XOR.replace('name = "XOR"', 'name = "Spirale é 漢"'))
    env = {**env, "PYTHONIOENCODING": env.get("PYTHONIOENCODING", "")}
    for args in (["validate", "s.toml"], ["check", "s.toml"]):
        out = bpdebug(*args, cwd=tmp_path, env=env)
        assert out.returncode == 0, out.stderr
        assert out.stdout.isascii() and out.stderr.isascii()
        assert b"Spirale \\xe9 \\u6f22" in out.stdout
        assert_terminal_safe(out.stdout + out.stderr)
    refused = bpdebug("run", "é.toml", "--steps", "1", cwd=tmp_path, env=env)
    assert refused.returncode == 2
    assert refused.stderr.isascii() and b".toml: not a file nor a bundled" in refused.stderr


# -- 5. option values --------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["check", "xor", "--sample", "0"],
            "argument --sample: expected a whole number >= 1, got 0",
        ),
        (["check", "xor", "--sample", "-1"], "expected a whole number >= 1, got -1"),
        (["check", "xor", "--h", "inf"], "argument --h: expected a finite number > 0, got inf"),
        (["check", "xor", "--h", "nan"], "expected a finite number > 0, got nan"),
        (["check", "xor", "--h", "1e999"], "expected a finite number > 0, got 1e999"),
        (["check", "xor", "--h", "0"], "expected a finite number > 0, got 0"),
        (["check", "xor", "--h=-1e-5"], "expected a finite number > 0, got -1e-5"),
        (["check", "xor", "--step", "-1"], "argument --step: expected a whole number >= 0, got -1"),
        (["export", "xor", "-o", "x.json", "--step", "1.5"], "expected a whole number, got '1.5'"),
        (["run", "xor", "--steps", "-4"], "argument --steps: expected a whole number >= 0, got -4"),
        (["run", "xor", "--steps", "many"], "expected a whole number, got 'many'"),
    ],
)
def test_bad_option_values_are_refused(args: list[str], message: str) -> None:
    """argparse's usage (wrapped to the width), then one error line naming the option; status 2."""
    out = bpdebug(*args)
    assert out.returncode == 2
    *usage, error = out.stderr.decode().splitlines()
    assert usage[0].startswith("usage: bpdebug ")
    assert all(line.startswith(" ") for line in usage[1:])  # the usage's continuation
    assert error.startswith(f"bpdebug {args[0]}: error: argument --")
    assert error.endswith(message)
    assert out.stdout == b""


@pytest.mark.parametrize(
    "weights",
    [
        "0.5",
        "1e308",
    ],
)
def test_the_largest_finite_h_is_a_result(tmp_path: Path, weights: str) -> None:
    """--h 1e308 is allowed (finite): the check reports bands, whatever the weights."""
    write(tmp_path / "s.toml", _explicit(weights, "relu", "linear", "half_squared_error"))
    out = bpdebug("check", "s.toml", "--h", "1e308", cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr
    assert out.stderr == b""
    assert out.stdout.startswith(b"gradient check  ")


def test_zero_steps_is_no_update() -> None:
    out = bpdebug("run", "xor", "--steps", "0")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(b"step 0  epoch 0  cost ")


# -- a bug of ours -------------------------------------------------------------
def test_an_internal_error_is_one_line_and_status_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whatever slips through is still one line: the kind of error, then "please report it"."""

    def broken(*args: object) -> int:
        raise ZeroDivisionError(f"float division by zero {OSC52}")

    monkeypatch.setattr(cli, "_validate", broken)
    assert cli.main(["validate", "xor"]) == 70
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == (
        "bpdebug: internal error, please report it: "
        "ZeroDivisionError: float division by zero \\x1b]52;c;SGk=\\x07\n"
    )


# -- 6. extreme numbers in every field -----------------------------------------
BIG, TINY = "1e308", "5e-324"


def _inline(**keys: str) -> str:
    """A 2-2-1 scenario on XOR's data with `keys` (TOML key = value) set in their tables."""
    tables: dict[str, list[str]] = {"": [], "network": ["layers = [2, 2, 1]"], "training": []}
    tables["data"] = ["inputs = [[0, 0], [0, 1], [1, 0], [1, 1]]", "targets = [[0], [1], [1], [0]]"]
    for key, value in keys.items():
        table, _, name = key.rpartition(".")
        tables[table].append(f"{name} = {value}")
    return "\n".join(
        (f"[{table}]\n" if table else "") + "\n".join(lines) for table, lines in tables.items()
    )


def _explicit(value: str, activation: str, output: str, loss: str) -> str:
    """A 2-2-k scenario whose [[network.init]] weights and biases are all `value`."""
    k = 2 if output == "softmax" else 1
    rows = ", ".join([f"[{value}, {value}]"] * k)
    targets = "[[1, 0], [0, 1], [0, 1], [1, 0]]" if k == 2 else "[[0], [1], [1], [0]]"
    return f"""
[network]
layers = [2, 2, {k}]
activation = "{activation}"
output = "{output}"
loss = "{loss}"
[[network.init]]
W = [[{value}, {value}], [{value}, {value}]]
b = [{value}, {value}]
[[network.init]]
W = [{rows}]
b = [{", ".join([value] * k)}]
[data]
inputs = [[0, 0], [0, 1], [1, 0], [1, 1]]
targets = {targets}
[training]
optimizer = "adam"
l1 = 0.001
"""


def _generated(generator: str, **keys: str) -> str:
    layers, output, loss = "[2, 3, 1]", "sigmoid", "binary_cross_entropy"
    if generator == "digits":
        layers, output, loss = "[64, 4, 10]", "softmax", "cross_entropy"
        if keys.get("size") == "28":
            layers = "[784, 2, 10]"
    data = "\n".join(f"{k} = {v}" for k, v in {"n": "20", **keys}.items())
    return f"""
[network]
layers = {layers}
activation = "tanh"
output = "{output}"
loss = "{loss}"
[data]
generator = "{generator}"
{data}
[training]
batch_size = {min(int(keys.get("n", "20")), 10)}
"""


NEXT_TO_ONE = "0.9999999999999999"
SWEEP: dict[str, str] = {
    "seed=2^63-1": _inline(seed="9223372036854775807"),
    "seed=2^64": _inline(seed="18446744073709551616"),
    "init_range=1e308": _inline(**{"network.init": '"uniform"', "network.init_range": BIG}),
    "init_range=1e6": _inline(**{"network.init": '"uniform"', "network.init_range": "1e6"}),
    "init_range=tiny": _inline(**{"network.init": '"uniform"', "network.init_range": TINY}),
    "data.n=1": _generated("circle", n="1"),
    "data.noise=1e308": _generated("spiral", noise=BIG),
    "data.noise=10": _generated("gauss", noise="10"),
    "data.noise=tiny": _generated("xor", noise=TINY),
    "digits.noise=10": _generated("digits", noise="10"),
    "data.seed=2^64": _generated("circle", seed="18446744073709551616"),
    "data.size=28": _generated("digits", size="28"),
    "inputs=1e308": _inline().replace("[0, 1], [1, 0]", f"[{BIG}, -{BIG}], [{TINY}, 0]"),
    "targets=1e308": _inline().replace("[[0], [1], [1], [0]]", f"[[{BIG}], [1], [-{BIG}], [0]]"),
    "batch_size=1": _inline(**{"training.batch_size": "1"}),
    "momentum=next-to-1": _inline(
        **{"training.optimizer": '"momentum"', "training.momentum": NEXT_TO_ONE}
    ),
    "betas=next-to-1": _inline(
        **{
            "training.optimizer": '"adam"',
            "training.beta1": NEXT_TO_ONE,
            "training.beta2": NEXT_TO_ONE,
        }
    ),
    "betas=0": _inline(
        **{"training.optimizer": '"adam"', "training.beta1": "0.0", "training.beta2": "0.0"}
    ),
    "cost_below=-1e308": _inline()
    + f'\n[[debug.breakpoints]]\nkind = "cost_below"\nvalue = -{BIG}\n',
    "grad_norm_above=1e308": _inline()
    + f'\n[[debug.breakpoints]]\nkind = "grad_norm_above"\nvalue = {BIG}\n',
    "step=2^63-1": _inline()
    + '\n[[debug.breakpoints]]\nkind = "step"\nvalue = 9223372036854775807\n',
}
for _optimizer in ("sgd", "momentum", "adam"):
    for _value in (BIG, "1.7976931348623157e308", TINY):
        SWEEP[f"learning_rate={_value}-{_optimizer}"] = _inline(
            **{"training.optimizer": f'"{_optimizer}"', "training.learning_rate": _value}
        )
for _value in (BIG, TINY):
    SWEEP[f"eps={_value}"] = _inline(**{"training.optimizer": '"adam"', "training.eps": _value})
    for _key in ("l1", "l2"):
        for _loss, _output in (("squared_error", "sigmoid"), ("half_squared_error", "linear")):
            SWEEP[f"{_key}={_value}-{_loss}"] = _inline(
                **{
                    f"training.{_key}": _value,
                    "network.loss": f'"{_loss}"',
                    "network.output": f'"{_output}"',
                }
            )
for _value in (BIG, f"-{BIG}", TINY):
    for _activation in ("sigmoid", "tanh", "relu", "leaky_relu", "linear"):
        for _output, _loss in (
            ("sigmoid", "squared_error"),
            ("sigmoid", "binary_cross_entropy"),
            ("linear", "half_squared_error"),
            ("softmax", "cross_entropy"),
        ):
            SWEEP[f"init={_value}-{_activation}-{_output}-{_loss}"] = _explicit(
                _value, _activation, _output, _loss
            )

COMMANDS = {
    "validate": ["validate", "s.toml"],
    "run": ["run", "s.toml", "--steps", "3"],
    "json": ["export", "s.toml", "--step", "1", "-o", "out.json"],
    "npz": ["export", "s.toml", "--step", "1", "-o", "out.npz"],
    "md": ["export", "s.toml", "--step", "1", "-o", "out.md"],
    "check": ["check", "s.toml"],
    "check-step-1": ["check", "s.toml", "--step", "1"],
}
"""Each command on the sweep's `s.toml`, run in its own temporary folder."""

SWEEP_PARAMS = [
    pytest.param(
        case,
        command,
        id=f"{case}-{command}",
    )
    for case in SWEEP
    for command in COMMANDS
]


@pytest.mark.parametrize(("case", "command"), SWEEP_PARAMS)
def test_extreme_numbers_never_crash(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
    command: str,
) -> None:
    """Every command on each extreme value: a result or a one-line refusal, status 0-3.

    In-process (700 runs; a subprocess each takes ten minutes on two cores):
    `main` turns any exception into status 70, and floating-point warnings
    are errors here, as PYTHONWARNINGS=error::RuntimeWarning makes them in
    the subprocess tests, so a crash, an escaped exception or an unguarded
    numpy warning all fail the test.
    """
    write(tmp_path / "s.toml", SWEEP[case])
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        status = cli.main(COMMANDS[command])
    out = capsys.readouterr()
    assert status in (0, 1, 2, 3), out.err
    assert "Traceback" not in out.err and "cannot load the scenario (" not in out.err
    if status in (2, 3):  # one line says why, after run's progress lines if any
        assert out.err.splitlines()[-1].startswith(("s.toml: ", "bpdebug: ")), out.err


def test_the_sweep_reaches_past_the_loader() -> None:
    """Most extreme cases load: the sweep tests the commands, not only the refusals."""
    loaded = 0
    for name, text in SWEEP.items():
        try:
            loads_scenario(text, f"{name}.toml")
            loaded += 1
        except InputError:
            pass
    assert loaded >= 0.9 * len(SWEEP)
