"""Hostile strings in every text field of scenarios, CSV files and snapshots.

A shared file is data. Markup (`[@click=...]`), terminal escapes (OSC 52,
CSI, C1, BEL), bidirectional overrides, shell and format syntax, very long
text and huge numbers go into every place a file holds text: names,
descriptions, unknown keys, choices, CSV paths, header cells and cells, a
snapshot's scenario name, path and text, format tag and activations. The
loader either takes the text as it is or refuses the file with one
printable line; the command line's bytes hold no control character; the
Markdown export holds none either. The app's side (markup shown literally,
the bytes written to the terminal) is in tests/test_tui_safety.py and
`test_hostile_names_are_shown_literally_in_the_app` below.

Files fuzzed (derandomized, so the same files on every machine and in every
folder): 300 scenarios, 150 CSV files, 200 snapshots; a sample of 24 goes
through the installed command line.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpdebug.errors import MESSAGE_LIMIT, InputError
from bpdebug.scenario import load_scenario, loads_scenario
from bpdebug.snapshot import export, load_snapshot, snapshot
from bpdebug.snapshot.reopen import reopen
from bpdebug.text import is_printable, printable
from bpdebug.timeline import Timeline

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "bpdebug"
XOR = (ROOT / "scenarios" / "xor.toml").read_text(encoding="utf-8")

HOSTILE = (
    "[@click=app.screenshot('victim.txt','.')]Click me[/]",
    "XOR [/]",
    "Spiral [v2]",
    "[b]bold[/b] [link=https://example.com]x[/link] [red",
    "\x1b]52;c;SGVsbG8=\x07",
    "\x1b[2J\x1b[H\x1b[?1049l",
    "\x1b]0;owned\x1b\\",
    "\x9b31m\x9d0;x\x9c",
    "bell\x07\x07 del\x7f nul\x00 cr\r lf\n tab\t",
    "\u202eevil\u202c \u2066x\u2069 \u2028 \u200f",
    "\\x1b looks escaped",
    "$(touch pwned) `touch pwned` ; rm -rf ~",
    "{0} {name} %s %n %(x)s",
    "<script>alert(1)</script> *md* _md_ # h",
    "ÄÖ 漢字 😀 e\u0301",
    "x" * 5000,
    "",
    " ",
)
"""Strings no file may use to reach the terminal, the screen or the shell."""

HUGE_NUMBERS = ("1e308", "-1e308", "1e-320", "1" + "0" * 400, "inf", "nan", "-0.0")
"""TOML numbers at the edges of float64 (and past them)."""

# derandomize: the same files on every machine and in every folder.
SETTINGS = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

CONTROL_BYTES = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")
"""What must never reach a terminal from us: C0 but the line feed, DEL, and C1 in UTF-8."""


def toml_string(text: str) -> str:
    """`text` as a TOML basic string (TOML escapes control characters as \\uXXXX)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def check_error(error: InputError, *files: str | Path) -> str:
    """The promise for a refusal: one printable line naming one of `files`, the message bounded."""
    message = str(error)
    assert is_printable(message), repr(message)
    assert message.startswith(tuple(f"{printable(str(f))}: " for f in files)), message
    bound = len(printable(error.path)) + len(printable(error.key)) + 4 + 4 * MESSAGE_LIMIT
    assert len(message) <= bound, len(message)  # a 5000-character value is never quoted whole
    return message


def load_or_refuse(path: Path) -> Any:
    """Load the scenario at `path`; a refusal must keep the promise; what loads must run."""
    try:
        scenario = load_scenario(path)
    except InputError as error:
        return check_error(error, path, path.parent / "points.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # huge numbers may diverge
        Timeline(scenario).run_until(max_steps=1)
    return scenario


# ------------------------------------------------------------------ scenarios
PLACES = (
    "name",
    "description",
    "top-key",
    "network-key",
    "training-key",
    "activation",
    "output",
    "loss",
    "optimizer",
    "init",
    "generator",
    "breakpoint-kind",
    "csv-path",
    "target-column",
)
"""Where a hostile string goes in a scenario."""


def scenario_with(place: str, text: str) -> str:
    """xor's scenario with `text` at `place`."""
    value = toml_string(text)
    doc = XOR
    if place == "name":
        return re.sub(r"(?m)^name = .*$", lambda _: f"name = {value}", doc)
    if place == "description":
        return doc.replace("[network]", f"description = {value}\n[network]", 1)
    if place == "top-key":
        return doc.replace("[network]", f"{value} = 1\n[network]", 1)
    if place == "network-key":
        return doc.replace("[network]\n", f"[network]\n{value} = 1\n", 1)
    if place == "training-key":
        return doc.replace("[training]\n", f"[training]\n{value} = 1\n", 1)
    if place in ("activation", "output", "loss", "optimizer"):
        table = "[training]\n" if place == "optimizer" else "[network]\n"
        doc = re.sub(rf"(?m)^{place} = .*$", "", doc)
        return doc.replace(table, f"{table}{place} = {value}\n", 1)
    if place == "init":
        doc = re.sub(r"(?ms)^\[\[network\.init\]\].*?(?=^\[data\])", "", doc)
        return doc.replace("[network]\n", f"[network]\ninit = {value}\n", 1)
    if place == "generator":
        data = f"[data]\ngenerator = {value}\n"
        return re.sub(r"(?ms)^\[data\].*?(?=^\[training\])", lambda _: data, doc)
    if place == "breakpoint-kind":
        return doc + f"\n[[debug.breakpoints]]\nkind = {value}\n"
    data = f"[data]\ncsv = {value}\ntarget_columns = [{value}]\n"
    if place == "target-column":
        data = f'[data]\ncsv = "points.csv"\ntarget_columns = [{value}]\n'
    return re.sub(r"(?ms)^\[data\].*?(?=^\[training\])", lambda _: data, doc)


@settings(SETTINGS, max_examples=300)
@given(place=st.sampled_from(PLACES), text=st.sampled_from(HOSTILE))
def test_hostile_text_in_a_scenario_loads_as_text_or_is_one_printable_line(
    tmp_path: Path, place: str, text: str
) -> None:
    (tmp_path / "points.csv").write_text("x,y,label\n0,0,0\n1,1,1\n", encoding="utf-8")
    path = tmp_path / "s.toml"
    path.write_text(scenario_with(place, text), encoding="utf-8")
    outcome = load_or_refuse(path)
    if place in ("name", "description") and not isinstance(outcome, str):
        assert getattr(outcome, place) == text  # kept as it is: only printing escapes it


NUMBER_KEYS = (
    ("network", "init_range"),
    ("training", "learning_rate"),
    ("training", "momentum"),
    ("training", "eps"),
    ("training", "l1"),
    ("training", "l2"),
    ("data", "noise"),
    ("", "seed"),
)


@settings(SETTINGS, max_examples=120)
@given(place=st.sampled_from(NUMBER_KEYS), number=st.sampled_from(HUGE_NUMBERS))
def test_huge_numbers_load_and_run_or_give_one_line(
    tmp_path: Path, place: tuple[str, str], number: str
) -> None:
    table, key = place
    doc = re.sub(rf"(?m)^{key} = .*$", "", XOR)
    if key == "noise":
        doc = re.sub(r"(?ms)^\[data\].*?(?=^\[training\])", '[data]\ngenerator = "xor"\n', doc)
    if key == "init_range":
        doc = re.sub(r"(?ms)^\[\[network\.init\]\].*?(?=^\[data\])", "", doc)
        doc = doc.replace("[network]\n", '[network]\ninit = "uniform"\n', 1)
    line = f"{key} = {number}\n"
    doc = line + doc if not table else doc.replace(f"[{table}]\n", f"[{table}]\n{line}", 1)
    path = tmp_path / "s.toml"
    path.write_text(doc, encoding="utf-8")
    load_or_refuse(path)


# ------------------------------------------------------------------ CSV files
@settings(SETTINGS, max_examples=150)
@given(
    where=st.sampled_from(["header", "cell", "both", "target"]),
    text=st.sampled_from(HOSTILE),
)
def test_hostile_text_in_a_csv_file_is_one_printable_line(
    tmp_path: Path, where: str, text: str
) -> None:
    header = ["x", "y", "label"]
    cells = ["0", "1", "1"]
    if where in ("header", "both"):
        header[0] = text
    if where in ("cell", "both"):
        cells[1] = text
    target = text if where == "target" else "label"

    def quoted(row: list[str]) -> str:
        return ",".join('"' + cell.replace('"', '""') + '"' for cell in row)

    (tmp_path / "points.csv").write_text(
        quoted(header) + "\n" + quoted(cells) + "\n", encoding="utf-8", newline=""
    )
    data = f'[data]\ncsv = "points.csv"\ntarget_columns = [{toml_string(target)}]\n'
    path = tmp_path / "s.toml"
    text_ = re.sub(r"(?ms)^\[data\].*?(?=^\[training\])", lambda _: data, XOR)
    path.write_text(text_, encoding="utf-8")
    load_or_refuse(path)


# ------------------------------------------------------------------ snapshots
def _base_snapshot() -> dict[str, Any]:
    """xor at step 1 as the JSON object, its scenario path fixed (not the clone's)."""
    timeline = Timeline(loads_scenario(XOR, "scenarios/xor.toml"))
    timeline.seek(1)
    return snapshot(timeline)


BASE = _base_snapshot()
SNAPSHOT_PLACES = (
    "scenario.name",
    "scenario.path",
    "scenario.text-name",
    "scenario.text",
    "format",
    "loss",
    "optimizer",
    "activation",
    "extra-key",
    "bpdebug_version",
)
SURROGATES = ("\ud800", "a\udcffb", "\udbff\udfff")
"""Lone surrogates: JSON can spell them, and Python keeps them in a str."""


@settings(SETTINGS, max_examples=200)
@given(place=st.sampled_from(SNAPSHOT_PLACES), text=st.sampled_from(HOSTILE + SURROGATES))
def test_hostile_text_in_a_snapshot_is_text_or_one_printable_line(
    tmp_path: Path, place: str, text: str
) -> None:
    doc = copy.deepcopy(BASE)
    if place.startswith("scenario.text"):
        doc["scenario"]["text"] = (
            re.sub(r"(?m)^name = .*$", lambda _: f"name = {toml_string(text)}", XOR)
            if place == "scenario.text-name"
            else text
        )
    elif place.startswith("scenario."):
        doc["scenario"][place.split(".")[1]] = text
    elif place == "activation":
        doc["layers"][0]["activation"] = text
    elif place == "extra-key":
        doc[text] = 1
    else:
        doc[place] = text
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(doc), encoding="utf-8")  # ensure_ascii: surrogates as \ud800
    try:
        load_snapshot(path)
        timeline, message = reopen(str(path))
    except InputError as error:
        check_error(error, path)
        return
    assert message.startswith(f"reopened {path}")
    if place == "scenario.text-name" and text not in SURROGATES:  # TOML cannot hold those
        assert timeline.scenario.name == text


def test_a_snapshot_path_with_a_lone_surrogate_exports_and_names_it(tmp_path: Path) -> None:
    """A file name that is not UTF-8 (Python holds it as \\udcff): written, named printably."""
    timeline = Timeline(loads_scenario(XOR, "scenarios/xor.toml"))
    name = os.fsdecode(b"snap-\xff.json")
    written = export(timeline, tmp_path / name)
    assert os.fsencode(written.name) == b"snap-\xff.json"
    assert load_snapshot(written).step == 0
    assert printable(str(written)).endswith("snap-\\udcff.json")


def test_the_markdown_export_holds_no_control_character_or_markup(tmp_path: Path) -> None:
    """Names and paths are text in the .md: escaped controls, no Markdown or HTML markup."""
    written = 0
    for i, text in enumerate(HOSTILE):
        line = f"name = {toml_string(text)}"
        doc = re.sub(r"(?m)^name = .*$", lambda _, line=line: line, XOR)
        try:
            scenario = loads_scenario(doc, tmp_path / "a[/]b\x1b]52;c;SGk=\x07.toml")
        except InputError:
            continue  # a name with a line break is refused
        report = export(Timeline(scenario), tmp_path / f"{i}.md").read_text(encoding="utf-8")
        written += 1
        assert is_printable(report, newlines=True), repr(report[:200])
        title = report.splitlines()[0].removeprefix("# ").removesuffix(": step 0")
        # Every Markdown or HTML character is escaped; unescaped, the name reads as it is.
        assert not re.search(r"(?<!\\)(?:\\\\)*[`*_\[\]<>#|]", title), title
        assert re.sub(r"\\(.)", r"\1", title) == printable(text)
    assert written >= len(HOSTILE) - 2


# ------------------------------------------------------------------ the command line's bytes
def hostile_files(folder: Path) -> list[Path]:
    """One scenario per hostile string, placed where it is printed back: name or unknown key."""
    out = []
    (folder / "points.csv").write_text("x,y,label\n0,0,0\n1,1,1\n", encoding="utf-8")
    for i, text in enumerate(HOSTILE[:12]):
        for place in ("name", "top-key"):
            path = folder / f"h{i:02d}-{place}.toml"
            path.write_text(scenario_with(place, text), encoding="utf-8")
            out.append(path)
    return out


@pytest.mark.cli
@pytest.mark.slow
def test_the_command_line_writes_no_control_byte(tmp_path: Path) -> None:
    """validate, run and export .md on 24 hostile files: stdout, stderr and the .md are clean."""
    files = hostile_files(tmp_path)

    def run(path: Path) -> list[tuple[str, subprocess.CompletedProcess[bytes]]]:
        results = []
        for args in (
            ["validate", path.name],
            ["run", path.name, "--steps", "2"],
            ["export", path.name, "-o", f"{path.stem}.md"],
        ):
            out = subprocess.run(
                [str(SCRIPT), *args],
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=60,
            )
            results.append((" ".join(args), out))
        return results

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        outcomes = [r for rs in pool.map(run, files) for r in rs]
    for command, out in outcomes:
        assert out.returncode in (0, 2), (command, out.stderr[-300:])
        for stream in (out.stdout, out.stderr):
            assert not CONTROL_BYTES.search(stream), (command, stream[-300:])
            assert b"Traceback" not in stream
    for report in tmp_path.glob("*.md"):
        assert not CONTROL_BYTES.search(report.read_bytes().replace(b"\n", b"")), report
    one_line = [t for t in HOSTILE[:12] if "\n" not in t and "\r" not in t]
    assert len(list(tmp_path.glob("*.md"))) == len(one_line)  # unknown keys are refused
