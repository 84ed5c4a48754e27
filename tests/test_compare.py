"""`bpdebug compare`: each history's costs against fresh, independent runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tui_helpers import SCENARIOS

from bpdebug.branches import Branches
from bpdebug.cli import main
from bpdebug.compare import parse_branch
from bpdebug.scenario import load_scenario
from bpdebug.timeline import Timeline

N = 120


def cost_at(timeline: Timeline, step: int) -> str:
    timeline.seek(step)
    return f"{timeline.trace.cost:.10g}"


def test_branches_of_one_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["compare", "xor", "--branch", "40:learning_rate=3", "--branch", "0:activation=tanh"]
    assert main([*args, "--steps", str(N), "--at", "0,50", "--target", "0.2499"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == [
        "main: the scenario",
        "b1: from main at step 40, learning_rate 3",
        "b2: from main at step 0, activation tanh",
    ]
    table = {line.split()[1]: line.split()[2:] for line in out[4:7]}
    reference = Branches(load_scenario(SCENARIOS / "xor.toml"))
    main_line = reference.main.timeline
    main_line.seek(40)
    b1 = reference.branch({"training.learning_rate": 3.0}).timeline
    reference.switch("main")
    b2 = reference.branch({"network.activation": "tanh"}).timeline
    for step in (0, 50, N):
        assert table[str(step)] == [cost_at(t, step) for t in (main_line, b1, b2)]
    run = Timeline(load_scenario(SCENARIOS / "xor.toml"))
    run.run_until(max_steps=N)
    assert table[str(N)][0] == f"{run.trace.cost:.10g}"  # the digits `run` prints
    reached = out[7].split("  ")
    assert out[7].startswith("cost <= 0.2499")
    for timeline, cell in zip((main_line, b1, b2), [c for c in reached[1:] if c], strict=True):
        costs = [cost_at(timeline, s) for s in range(N + 1)]
        first = next((s for s, c in enumerate(costs) if float(c) <= 0.2499), None)
        assert cell.strip() == (f"not by {N}" if first is None else f"step {first}")


def test_two_scenarios_and_nonfinite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (SCENARIOS / "xor.toml").read_text()
    wild = tmp_path / "wild.toml"
    text = text.replace('"sigmoid"', '"linear"').replace(
        "learning_rate = 1.0", "learning_rate = 1e150"
    )
    wild.write_text(text)
    status = main(["compare", str(SCENARIOS / "circle.toml"), str(wild), "--steps", "20"])
    out = capsys.readouterr().out
    assert status == 3
    assert re.search(r"wild: (NaN|inf) in .* at step \d+; its history stops there", out)
    rows = [line.split() for line in out.splitlines() if line.startswith("step 20")]
    fresh = Timeline(load_scenario(SCENARIOS / "circle.toml"))
    assert rows[0][2:] == [cost_at(fresh, 20), "-"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("200:learning_rate=0.1", (200, {"training.learning_rate": 0.1})),
        (
            "activation=relu,loss=squared_error",
            (0, {"network.activation": "relu", "network.loss": "squared_error"}),
        ),
        (
            '0:activations=["relu","tanh"],l2=1e-3',
            (0, {"network.activations": ["relu", "tanh"], "training.l2": 0.001}),
        ),
    ],
)
def test_branch_syntax(text: str, expected: object) -> None:
    assert parse_branch(text) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["xor"], "expected two or more SCENARIOs"),
        (["xor", "--branch", "5:activation=relu"], "changes the architecture"),
        (["xor", "--branch", "500:l2=0.1"], "past --steps"),
        (
            ["xor", "--branch", "0:learning_rate=-1"],
            "training.learning_rate: expected a finite number > 0",
        ),
        (["xor", "--branch", "0:seed=1"], "not a setting a branch can change"),
        (["xor", "circle", "-o", "x.png"], "expected a .svg file"),
        (["xor", "circle", "--at", "999"], "--at: expected steps up to --steps"),
    ],
)
def test_bad_arguments_are_one_line(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", *args, "--steps", "10"]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and "\n" not in err and "Traceback" not in err


CHAR_WIDTH = 12.2
"""Rich's SVG cell width (font size 20 x aspect 0.61)."""


def normalised(svg: str) -> str:
    """The SVG's text as a person reads it, a line per row at its columns (not the ids)."""
    rows: dict[float, list[str]] = {}
    for x, y, text in re.findall(
        r'<text[^>]* x="([0-9.]+)" y="([0-9.]+)"[^>]*>([^<]*)</text>', svg
    ):
        row = rows.setdefault(float(y), [])
        column = round(float(x) / CHAR_WIDTH)
        row.extend(" " * (column - len(row)))
        row[column:] = list(text.replace("&#160;", " "))
    return "\n".join("".join(row).rstrip() for _, row in sorted(rows.items()))


def test_the_plot_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str], snapshot: object) -> None:
    out = tmp_path / "plot.svg"
    args = ["compare", "xor", "--branch", "30:learning_rate=3", "--steps", "100"]
    assert main([*args, "-o", str(out), "--size", "80x20"]) == 0
    svg = out.read_text()
    assert svg.startswith("<svg") and "main" in svg and "b1" in svg and "◆" in svg
    assert normalised(svg) == snapshot  # type: ignore[comparison-overlap]
    first = svg
    assert main([*args, "-o", str(out)]) == 2  # never over a file unasked
    assert out.read_text() == first
    assert main([*args, "-o", str(out), "--size", "80x20", "--force"]) == 0
    assert out.read_text() == first  # the same bytes every time


def test_the_readme_commands_run_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shlex

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Compare and branches", 1)[1].split("\n## ", 1)[0]
    commands = [
        line
        for block in re.findall(r"```sh\n(.*?)\n```", section, re.S)
        for line in block.splitlines()
    ]
    assert len(commands) == 4
    monkeypatch.chdir(tmp_path)
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "bpdebug"
        assert main(words[1:]) == 0, command
    out = capsys.readouterr().out
    assert "wrote xor-compare.svg" in out and out.rstrip().endswith("on main at step 20")


def test_a_history_stopped_by_nan_never_reached_the_target_by_where_it_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (SCENARIOS / "xor.toml").read_text()
    wild = tmp_path / "wild.toml"
    wild.write_text(
        text.replace('"sigmoid"', '"linear"').replace(
            "learning_rate = 1.0", "learning_rate = 1e150"
        )
    )
    status = main(["compare", "xor", str(wild), "--steps", "30", "--target", "1e-300"])
    out = capsys.readouterr().out
    assert status == 3
    stopped = re.search(r"wild: (?:NaN|inf) in .* at step (\d+); its history stops there", out)
    assert stopped is not None
    [row] = [line.split() for line in out.splitlines() if line.startswith("cost <=")]
    # xor never gets that low in 30 steps; wild stopped where its NaN/inf appeared
    assert " ".join(row[2:]) == f"1e-300 not by 30 not by {int(stopped.group(1))}"


def test_ctrl_c_prints_the_table_so_far_and_writes_no_plot(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    child = subprocess.Popen(
        [
            sys.executable, "-m", "bpdebug", "compare", "digits", "--branch", "0:learning_rate=0.5",
            "--steps", "1000000", "-o", str(tmp_path / "plot.svg"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert child.stderr is not None
    first = child.stderr.readline()  # the first progress line: the runs are under way
    assert first.startswith("step ")
    child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 130
    assert "Traceback" not in stderr
    said = stderr.splitlines()[-1]
    stopped = re.fullmatch(r"bpdebug: interrupted \(Ctrl-C\) at step (\d+) of main", said)
    assert stopped is not None, said
    step = int(stopped.group(1))
    assert stdout.splitlines()[0] == "main: the scenario"
    [row] = [line.split() for line in stdout.splitlines() if line.startswith("step 0 ")]
    fresh = Timeline(load_scenario(SCENARIOS / "digits.toml"))
    assert row[2] == cost_at(fresh, 0)
    assert step > 0
    assert not (tmp_path / "plot.svg").exists()
