"""Issue 7, the app's side: a scenario, a snapshot or a folder someone else made cannot touch
the user's files, terminal or machine, and nothing typed or pasted crashes or freezes the app.

- Text from a file or a path is drawn as written, never parsed as markup (Pilot).
- Control characters from a file never reach the terminal: the installed script on a
  pseudo-terminal of its own, every byte it writes read back.
- A crash inside the app exits 70 (run_app returns Textual's 1); SIGTERM, SIGHUP and
  SIGQUIT give the terminal back and exit 128 + the signal's number (the script on a
  pseudo-terminal).
- The dialogs refuse NaN, inf and huge numbers with a message; inputs have a maximum length.
- An export that fails part way keeps none of its files and names the one that failed.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.widgets import Input, Label, Static
from tui_helpers import REPO, WIDE, XOR, record_notifications, wait_until, xor_app

import bpdebug.snapshot.write
import bpdebug.tui.exporting
from bpdebug.breakpoints import MAX_STEP
from bpdebug.breakpoints import parse as parse_breakpoint
from bpdebug.scenario import load_scenario
from bpdebug.scenario.model import Breakpoint
from bpdebug.snapshot import export
from bpdebug.timeline import Timeline
from bpdebug.tui import build_app
from bpdebug.tui.app import BpdebugApp
from bpdebug.tui.dialogs import MAX_INPUT, BreakpointsScreen, PromptScreen, TextScreen
from bpdebug.tui.exporting import export_all
from bpdebug.tui.main import MainScreen

SCRIPT = Path(sys.executable).parent / "bpdebug"
"""The console script installed beside this interpreter."""
XOR_TEXT = XOR.read_text(encoding="utf-8")


def scenario(folder: Path, name: str, description: str = "", file: str = "xor.toml") -> Path:
    """The bundled XOR scenario saved as `folder/file` with another name and description.

    `name` and `description` are TOML basic-string bodies: ``\\u001b`` is ESC.
    """
    text = XOR_TEXT.replace('name = "XOR"', f'name = "{name}"')
    start = text.index("description = ")
    end = text.index("\n", start)
    text = f'{text[:start]}description = "{description}"{text[end:]}'
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file
    path.write_text(text, encoding="utf-8")
    return path


def endless_xor(folder: Path) -> Path:
    """XOR without its `cost < 0.05` breakpoint: `c` trains until stopped (with it, the run
    can end before a frame shows it running)."""
    text = XOR_TEXT[: XOR_TEXT.index("[[debug.breakpoints]]")]
    path = folder / "endless.toml"
    path.write_text(text, encoding="utf-8")
    return path


def shown(widget: Static) -> str:
    """What a Static draws, as plain text."""
    return str(widget.render())


def title_bar(app: BpdebugApp) -> str:
    """The title bar's text as drawn."""
    return shown(app.screen.query_one("#title-bar", Static))


def toasts(app: BpdebugApp) -> list[str]:
    """The notifications on screen, as drawn (run_test needs notifications=True)."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]


# --- text from files is text, never markup ---------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Spiral [v2]",  # a version in brackets: markup would drop it as an unknown style
        "XOR [/]",  # markup: "closing tag has nothing to close", before the first frame
        "[b]not bold[/b] [link='https://example.com']here[/]",
    ],
)
async def test_a_scenario_name_shows_as_written(tmp_path, name):
    """Brackets in a scenario's name are characters of the name, whatever they spell."""
    path = scenario(tmp_path, name.replace('"', '\\"'))
    app = build_app(str(path), export_dir=tmp_path / "exports")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        assert f" bpdebug  {name}  {path.name}  " in title_bar(app)


async def test_a_click_action_in_a_name_is_only_text(tmp_path, monkeypatch):
    """`[@click=app.screenshot(...)]` in a name would make the title bar a button that
    writes a file where the scenario says; it shows as written and a click does nothing."""
    monkeypatch.chdir(tmp_path)
    payload = "[@click=app.screenshot('victim.txt','.')]Click me[/]"
    path = scenario(tmp_path / "shared", payload)
    app = build_app(str(path), export_dir=tmp_path / "exports")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        assert f" bpdebug  {payload}  " in title_bar(app)
        # " bpdebug  " is 10 columns: click every column where the name or its link could be.
        for x in range(10, 10 + len(payload)):
            await pilot.click("#title-bar", offset=(x, 0))
        await pilot.pause()
    assert list(tmp_path.rglob("victim*")) == []


async def test_a_scenario_in_a_bracket_folder_opens_and_exports_there(tmp_path):
    """A folder named `a[/]b` holds the scenario and receives the export; the title bar
    shows the file's name and the notification the folder, as written."""
    folder = tmp_path / "runs" / "a[/]b"
    path = scenario(folder, "XOR")
    app = build_app(str(path), export_dir=folder)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await pilot.pause()
        assert f"  {path.name}  " in title_bar(app)
        await pilot.press("e")  # export into the same folder
        await pilot.pause()
        names = sorted(p.name for p in folder.glob("xor-step0.*"))
        assert names == ["xor-step0.json", "xor-step0.md", "xor-step0.npz", "xor-step0.svg"]
        assert [t for t in toasts(app) if t.startswith("exported")] == [
            f"exported to {folder}/: xor-step0.json, xor-step0.npz, xor-step0.md, xor-step0.svg"
        ]


async def test_a_snapshot_in_a_bracket_folder_reopens_with_a_literal_notification(tmp_path):
    """Reopening a snapshot notifies "reopened PATH at step N" with PATH as written."""
    timeline = Timeline(load_scenario(XOR))
    timeline.seek(3)
    folder = tmp_path / "[bold]x[/]"  # "/" makes it two folders; the path reads as markup
    folder.mkdir(parents=True)
    snap = export(timeline, folder / "xor-3.json")
    app = build_app(str(snap), export_dir=tmp_path / "exports")
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await pilot.pause()
        assert app.debugger.step == 3
        assert f"reopened {snap} at step 3" in toasts(app)


async def test_control_characters_in_a_name_show_as_escapes(tmp_path):
    """ESC, BEL and a C1 CSI in a name are drawn as visible escapes (the terminal side is
    tested on the bytes below)."""
    path = scenario(tmp_path, "a\\u001b[31mred\\u0007\\u009b2J")
    app = build_app(str(path), export_dir=tmp_path / "exports")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        assert " bpdebug  a\\x1b[31mred\\x07\\x9b2J  " in title_bar(app)


async def test_the_gradient_check_report_shows_the_name_as_written(tmp_path):
    """k's report names the scenario; brackets and escapes in the name stay text."""
    path = scenario(tmp_path, "Spiral [v2] [/] \\u001b]0;title\\u0007")
    app = build_app(str(path), export_dir=tmp_path / "exports")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("k")  # gradient check
        await wait_until(pilot, lambda: isinstance(app.screen, TextScreen))
        body = shown(app.screen.query_one("#report-body", Static))
        assert "Spiral [v2] [/] \\x1b]0;title\\x07" in body
        assert "\x1b" not in body and "\x07" not in body


async def test_notifications_are_literal_and_escaped(tmp_path):
    """Any notification (here one a future caller might build from a file name) is drawn as
    written, one line, control characters escaped."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        app.notify("wrote [b]x[/b] [/]\x1b]52;c;SGVsbG8=\x07\u2028next")
        await pilot.pause()
        assert toasts(app) == ["wrote [b]x[/b] [/]\\x1b]52;c;SGVsbG8=\\x07\\u2028next"]


# --- control characters never reach the terminal --------------------------------------

ALT_SCREEN_OFF = b"\x1b[?1049l"
MOUSE_OFF = (b"\x1b[?1000l", b"\x1b[?1003l", b"\x1b[?1006l")
"""Mouse reporting off: clicks, motion and SGR coordinates."""
CURSOR_MOVE = re.compile(rb"\x1b\[\d+;\d+H")
"""How Textual places every piece of a frame."""
POINTER_SHAPE = re.compile(rb"\x1b\]22;[a-z-]+\x07")
"""Textual's own OSC 22 (mouse pointer shape), the one sequence it ends with BEL."""
STARTUP = 60.0
"""Seconds the script may take to draw its first frame (a cold start on a busy machine)."""
EXIT = 15.0
"""Seconds the script may take to exit once asked."""


def _take_terminal() -> None:
    # In the child, before exec: make the pty our controlling terminal, so that closing
    # its other side is a hangup, as when an SSH connection drops.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A process on a pseudo-terminal of its own; every byte it writes is kept in `output`."""

    def __init__(self, args: list[str | bytes], cwd: Path, size: tuple[int, int] = (120, 40)):
        master, slave = pty.openpty()
        columns, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns)}
        env.pop("TEXTUAL", None)
        self.process = subprocess.Popen(
            args,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env,
            start_new_session=True,
            preexec_fn=_take_terminal,
        )
        os.close(slave)
        self.master: int | None = master
        self.output = bytearray()

    def read_until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Keep reading until `done()` or the terminal closes or `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        while not done() and self.master is not None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # EIO: the process and its children have let go of the pty
                    data = b""
                if not data:
                    self.hang_up()
                self.output.extend(data)
        return done()

    def wait_for(self, text: bytes, timeout: float = STARTUP) -> None:
        """Read until `text` has been written; fail with the tail of the output if not."""
        if not self.read_until(lambda: text in self.output, timeout):
            raise AssertionError(f"{text!r} not written; the output ends {self.output[-400:]!r}")

    def press(self, key: bytes) -> None:
        """Type `key`."""
        assert self.master is not None
        os.write(self.master, key)

    def wait(self, timeout: float = EXIT) -> int:
        """Read everything until the process exits (at most `timeout` s); its exit status."""
        self.read_until(lambda: self.process.poll() is not None, timeout)
        status = self.process.wait(timeout=1)  # raises if it still runs
        self.read_until(lambda: False, 0.5)  # whatever was still in the pty's buffer
        return status

    def hang_up(self) -> None:
        """Close our side of the terminal, as a dropped SSH connection does."""
        if self.master is not None:
            os.close(self.master)
            self.master = None

    def kill(self) -> None:
        """Kill the process if it still runs, and close the terminal."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.hang_up()


@pytest.fixture
def terminal() -> Iterator[Callable[..., Terminal]]:
    """Start processes on pseudo-terminals; each is killed at the end, whatever happens."""
    started: list[Terminal] = []

    def start(*args: Any, **kwargs: Any) -> Terminal:
        started.append(Terminal(*args, **kwargs))
        return started[-1]

    yield start
    for term in started:
        term.kill()


def assert_terminal_restored(output: bytes) -> None:
    """The last thing written: alternate screen off and mouse reporting off, after the
    last frame, and nothing drawn after them."""
    restore = output.rfind(ALT_SCREEN_OFF)
    assert restore != -1, f"the alternate screen was never left: {output[-300:]!r}"
    last_frame = max(m.end() for m in CURSOR_MOVE.finditer(output))
    assert last_frame < restore
    assert all(off in output[last_frame:] for off in MOUSE_OFF), output[last_frame:]
    assert CURSOR_MOVE.search(output, restore) is None


@pytest.mark.cli
def test_control_characters_from_a_file_never_reach_the_terminal(tmp_path, terminal):
    """A scenario whose name and description hold an OSC 52 clipboard write, BEL and a C1
    CSI, in a folder whose name is not UTF-8 (a lone surrogate in Python): the script's
    output holds none of those bytes, and their visible escapes are on the screen."""
    payload = "\\u001b]52;c;SGVsbG8=\\u0007 bell\\u0007 csi\\u009b2J"
    folder = os.fsencode(tmp_path) + b"/a\xffb"  # Python reads it as "a\udcffb"
    os.mkdir(folder)
    scenario(Path(os.fsdecode(folder)), payload, description=payload, file="evil.toml")
    term = terminal([str(SCRIPT), b"a\xffb/evil.toml"], cwd=tmp_path, size=(160, 40))
    term.wait_for(b"step 0")
    term.press(b"q")  # quit
    assert term.wait() == 0
    output = bytes(term.output)
    assert b"\x1b]52;" not in output  # the clipboard write itself
    assert b"\x07" not in POINTER_SHAPE.sub(b"", output)  # BEL
    assert b"\xc2\x9b" not in output  # U+009B, the 8-bit CSI, in UTF-8
    assert b"\\x1b]52;c;SGVsbG8=\\x07 bell\\x07 csi\\x9b2J" in output  # drawn as text
    assert b"evil.toml" in output  # the header names the file
    assert_terminal_restored(output)


# --- how the app ends: a crash, a signal ------------------------------------------------


async def test_a_crash_inside_the_app_sets_return_code_1(tmp_path, monkeypatch):
    """An exception in an action ends the app with return_code 1: the Textual behaviour that
    run_app passes on as the exit status (checked end to end in the next test)."""

    def crash(self: BpdebugApp) -> None:
        raise RuntimeError("a bug inside the app")

    monkeypatch.setattr(MainScreen, "action_mark", crash)
    app = xor_app(tmp_path)
    with pytest.raises(RuntimeError, match="a bug inside the app"):
        async with app.run_test(size=WIDE) as pilot:
            await pilot.press("m")  # mark: raises
    assert app.return_code == 1


CRASHING_CLI = """
import sys
from bpdebug.tui.main import MainScreen

def crash(self):
    raise RuntimeError("a bug inside the app")

MainScreen.action_mark = crash
from bpdebug.cli import main
sys.exit(main(sys.argv[1:]))
"""
"""`bpdebug ARGS` with a bug planted in the m key."""


@pytest.mark.cli
def test_a_crash_inside_the_app_exits_70_with_the_terminal_restored(tmp_path, terminal):
    """`bpdebug SCENARIO` whose app raises: Textual restores the terminal and prints the
    traceback, and the process exits 70, a bug, as the other commands do (it was 0)."""
    term = terminal([sys.executable, "-c", CRASHING_CLI, str(XOR)], cwd=REPO)
    term.wait_for(b"step 0")
    term.press(b"m")  # mark: raises
    assert term.wait() == 70
    output = bytes(term.output)
    assert b"a bug inside the app" in output[output.rfind(ALT_SCREEN_OFF) :]


@pytest.mark.cli
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT])
def test_a_signal_while_training_restores_the_terminal(tmp_path, terminal, signum):
    """SIGTERM, SIGHUP or SIGQUIT while `c` trains: the terminal is given back (alternate
    screen and mouse reporting off, after the last frame) and the exit status is 128 + N."""
    term = terminal([str(SCRIPT), str(endless_xor(tmp_path))], cwd=tmp_path)
    term.wait_for(b"step 0")
    term.press(b"c")  # continue: training runs in the worker thread
    term.wait_for(b"running")
    term.process.send_signal(signum)
    assert term.wait() == 128 + signum  # within EXIT seconds, or wait() raises
    assert_terminal_restored(bytes(term.output))


@pytest.mark.cli
def test_a_dropped_connection_while_training_ends_the_process(tmp_path, terminal):
    """Closing the terminal's other side (an SSH connection dropping) sends SIGHUP and then
    SIGCONT; the process must exit, 129, though it can no longer write anything (Textual's
    own SIGCONT handler, run as it was, restarted the output and could hang the exit)."""
    term = terminal([str(SCRIPT), str(endless_xor(tmp_path))], cwd=tmp_path)
    term.wait_for(b"step 0")
    term.press(b"c")  # continue
    term.wait_for(b"running")
    term.hang_up()
    assert term.process.wait(timeout=EXIT) == 128 + signal.SIGHUP


def process_state(pid: int) -> str:
    """The state letter Linux reports for process `pid` ("T" when stopped)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


@pytest.mark.cli
def test_stop_and_continue_still_give_the_screen_back(tmp_path, terminal):
    """SIGTSTP then SIGCONT (job control) still suspend and resume the app: the alternate
    screen is left, re-entered and drawn again, keys work, and q exits 0."""
    term = terminal([str(SCRIPT), str(XOR)], cwd=tmp_path)
    term.wait_for(b"step 0")
    term.process.send_signal(signal.SIGTSTP)
    term.wait_for(ALT_SCREEN_OFF)  # suspending: the terminal is the shell's again
    # Textual stops the process itself once the terminal is given back; continue it only
    # when it has (a SIGCONT before its SIGSTOP would be lost, as with any program).
    assert term.read_until(lambda: process_state(term.process.pid) == "T", EXIT)
    resumed = len(term.output)
    term.process.send_signal(signal.SIGCONT)
    term.read_until(lambda: b"step 0" in term.output[resumed:], STARTUP)
    assert b"\x1b[?1049h" in term.output[resumed:]  # back on the alternate screen
    term.press(b"n")  # next
    term.read_until(lambda: b"step 1" in term.output[resumed:], STARTUP)
    assert b"step 1" in term.output[resumed:]
    term.press(b"q")  # quit
    assert term.wait() == 0


# --- dialogs refuse bad numbers -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("step 1e999", "expected a step number"),
        ("step 1e13", f"a whole number from 0 to {MAX_STEP:,}"),
        ("step 99999999999999999999999", "expected a step number"),
        ("cost < nan", "expected a finite number, got 'nan'"),
        ("cost < 1e999", "expected a finite number, got '1e999'"),
        ("grad > inf", "expected a finite number, got 'inf'"),
        ("grad > -inf @1", "expected a finite number, got '-inf'"),
        ("grad > -1", "expected a gradient norm >= 0"),
        ("nan 5", "nan takes no number"),
        ("dead < 3", "dead takes no number"),
    ],
)
def test_parse_breakpoint_refuses_nonfinite_and_huge_values(text, message):
    """Only finite numbers, and whole step numbers up to MAX_STEP, make a breakpoint."""
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_breakpoint(text, depth=2)


def test_parse_breakpoint_still_takes_whole_steps_written_as_floats():
    """`step 1e3` is step 1000, as before; the largest step is MAX_STEP."""
    assert parse_breakpoint("step 1e3", depth=2) == Breakpoint("step", 1000.0)
    assert parse_breakpoint(f"step {MAX_STEP}", depth=2) == Breakpoint("step", float(MAX_STEP))


async def test_the_b_dialog_refuses_step_1e999_with_a_message(tmp_path):
    """`step 1e999` crashed the app (int(inf)); now the dialog says why and stays open."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("b")  # breakpoints
        for text in ("step 1e999", "cost < nan", "grad > inf"):
            app.screen.query_one("#bp-input", Input).value = text
            await pilot.press("enter")  # add
            assert isinstance(app.screen, BreakpointsScreen)
            hint = shown(app.screen.query_one("#bp-hint", Label))
            assert hint.startswith("expected a") and "\n" not in hint
        assert app.debugger.breakpoints == []


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1e999", "expected a step number"),
        ("99999999999999999999999", "expected a step number"),
        ("-3", "expected a step number"),
        ("nan", "expected a step number"),
        ("500", "BPDEBUG_MAX_REPLAY_STEPS"),  # 500 updates past step 0; the limit is 100
    ],
)
async def test_g_refuses_steps_it_cannot_reach(tmp_path, monkeypatch, typed, message):
    """g refuses a non-step and a step more than BPDEBUG_MAX_REPLAY_STEPS past the history
    computed so far, saying which; the dialog stays open and the step is unchanged."""
    monkeypatch.setenv("BPDEBUG_MAX_REPLAY_STEPS", "100")
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("g")  # go to
        app.screen.query_one(Input).value = typed
        await pilot.press("enter")
        assert isinstance(app.screen, PromptScreen)
        hint = shown(app.screen.query_one("#prompt-hint", Label))
        assert message in hint and "\n" not in hint
        assert app.debugger.step == 0


async def test_g_refuses_more_replay_work_than_reopening_a_snapshot_may_do(tmp_path, monkeypatch):
    """The work limit of reopening a snapshot holds for g too: XOR's update is 4 examples x
    9 parameters = 36, so with BPDEBUG_MAX_REPLAY_WORK=3600 step 100 is reachable, 101 not."""
    monkeypatch.setenv("BPDEBUG_MAX_REPLAY_WORK", "3600")
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("g")  # go to
        app.screen.query_one(Input).value = "101"
        await pilot.press("enter")
        assert isinstance(app.screen, PromptScreen)
        hint = shown(app.screen.query_one("#prompt-hint", Label))
        assert "BPDEBUG_MAX_REPLAY_WORK" in hint and app.debugger.step == 0
        app.screen.query_one(Input).value = "100"
        await pilot.press("enter")
        assert not isinstance(app.screen, PromptScreen)
        assert app.debugger.step == 100


async def test_g_reaches_as_far_as_the_replay_limit_from_the_computed_history(
    tmp_path, monkeypatch
):
    """The limit counts from the furthest step computed: 100 past step 0 is allowed, and
    from there 100 more."""
    monkeypatch.setenv("BPDEBUG_MAX_REPLAY_STEPS", "100")
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        for target in ("100", "200"):
            await pilot.press("g")  # go to
            app.screen.query_one(Input).value = target
            await pilot.press("enter")
            assert not isinstance(app.screen, PromptScreen)
            assert app.debugger.step == int(target)


@pytest.mark.parametrize("typed", ["1e999", "-1e999", "nan", "inf", "0x10"])
async def test_w_refuses_a_weight_that_is_not_a_finite_number(tmp_path, typed):
    """w takes finite numbers only; the weight and the history stay as they were."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        before = app.debugger.params.W[2].copy()
        await pilot.press("w")  # edit the selected weight
        app.screen.query_one(Input).value = typed
        await pilot.press("enter")
        assert isinstance(app.screen, PromptScreen)
        hint = shown(app.screen.query_one("#prompt-hint", Label))
        assert hint.startswith("expected a") and repr(typed) in hint
        assert (app.debugger.params.W[2] == before).all()
        assert app.debugger.timeline.branched_at is None


# --- inputs have a maximum length -------------------------------------------------------


@pytest.mark.parametrize("key", ["g", "b"])
async def test_a_20000_character_paste_is_refused_and_the_app_still_responds(tmp_path, key):
    """Pasting 20,000 characters leaves the input at most MAX_INPUT long; the dialog still
    takes keys, closes, and the debugger steps."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press(key)  # open the dialog
        field = app.screen.query_one(Input)
        assert field.has_focus
        field.post_message(events.Paste("9" * 20_000))
        await pilot.pause()
        assert len(field.value) <= MAX_INPUT
        await pilot.press("escape")  # close
        assert not isinstance(app.screen, PromptScreen | BreakpointsScreen)
        await pilot.press("n")  # next: one update
        assert app.debugger.step == 1


async def test_every_input_has_a_maximum_length(tmp_path):
    """Each dialog's Input is built with max_length = MAX_INPUT."""
    app = xor_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        lengths = []
        for key in ("g", "w", "b"):
            await pilot.press(key)  # open a dialog
            lengths += [field.max_length for field in app.screen.query(Input)]
            await pilot.press("escape")  # close it
        assert lengths == [MAX_INPUT] * 3


# --- exports: all four files or none ------------------------------------------------------


SECOND_NAMES = [f"xor-step0-2{suffix}" for suffix in (".json", ".npz", ".md", ".svg")]
"""The files of an export of XOR at step 0 when the first name is taken."""


def xor_timeline() -> Timeline:
    """XOR at step 0."""
    return Timeline(load_scenario(XOR))


def test_a_dangling_symlink_is_a_taken_name_never_written_through(tmp_path):
    """A symlink at xor-step0.md pointing outside the folder: the export takes
    xor-step0-2.*, and the symlink's target is never created."""
    folder = tmp_path / "exports"
    folder.mkdir()
    target = tmp_path / "outside" / "planted.md"
    target.parent.mkdir()
    (folder / "xor-step0.md").symlink_to(target)
    written = export_all(xor_timeline(), folder, "<svg/>")
    assert [p.name for p in written] == SECOND_NAMES
    assert not os.path.lexists(target)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["xor-step0.md", *(p.name for p in written)]
    )


def test_a_failed_md_write_removes_the_json_and_npz_and_names_the_md(tmp_path, monkeypatch):
    """The disk fills while the .md is written: the .json and .npz already written go, and
    the error names xor-step0.md and says why, in one line."""
    real = bpdebug.snapshot.write.write_atomic

    def full_disk(path: Any, data: bytes, **kwargs: Any) -> Path:
        if str(path).endswith(".md"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, data, **kwargs)

    # the writer export() uses
    monkeypatch.setattr(bpdebug.snapshot.write, "write_atomic", full_disk)
    folder = tmp_path / "exports"
    with pytest.raises(OSError) as caught:
        export_all(xor_timeline(), folder, "<svg/>")
    message = str(caught.value)
    assert "xor-step0.md" in message and os.strerror(errno.ENOSPC) in message
    assert "\n" not in message
    assert list(folder.iterdir()) == []


def test_a_failed_svg_write_removes_the_three_snapshots(tmp_path, monkeypatch):
    """The screenshot, written last, fails: the three snapshot files go too."""

    def full_disk(path: Any, data: bytes, **kwargs: Any) -> Path:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(bpdebug.tui.exporting, "write_atomic", full_disk)
    folder = tmp_path / "exports"
    with pytest.raises(OSError, match=r"xor-step0\.svg: No space left on device"):
        export_all(xor_timeline(), folder, "<svg/>")
    assert list(folder.iterdir()) == []


def test_a_name_taken_while_exporting_moves_the_export_to_the_next_name(tmp_path, monkeypatch):
    """Another process makes a folder named xor-step0.md after the names were chosen: the
    .json and .npz written under xor-step0 go, and the export lands whole at xor-step0-2."""
    real = bpdebug.tui.exporting.export

    def racing(timeline: Timeline, path: Path, **kwargs: Any) -> Path:
        if path.name == "xor-step0.md":
            path.mkdir()
        return real(timeline, path, **kwargs)

    monkeypatch.setattr(bpdebug.tui.exporting, "export", racing)
    folder = tmp_path / "exports"
    written = export_all(xor_timeline(), folder, "<svg/>")
    assert [p.name for p in written] == SECOND_NAMES
    assert sorted(p.name for p in folder.glob("xor-step0.*")) == ["xor-step0.md"]
    assert (folder / "xor-step0.md").is_dir()


async def test_e_notifies_the_file_that_failed_in_one_line(tmp_path, monkeypatch):
    """In the app, the failed export's notification names xor-step0.md and the reason, and
    no file of the export is left."""
    real = bpdebug.snapshot.write.write_atomic

    def full_disk(path: Any, data: bytes, **kwargs: Any) -> Path:
        if str(path).endswith(".md"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, data, **kwargs)

    monkeypatch.setattr(bpdebug.snapshot.write, "write_atomic", full_disk)
    app = xor_app(tmp_path)
    notes = record_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("e")  # export
        await pilot.pause()
    assert app.exported == []
    [(message, severity)] = notes
    assert severity == "error" and "\n" not in message
    assert message.startswith("export failed: ") and "xor-step0.md: No space left" in message
    assert list((tmp_path / "exports").iterdir()) == []
