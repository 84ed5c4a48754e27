"""A real terminal: the installed `bpdebug` script inside tmux, driven by keys, read off the screen.

Pilot tests drive the app in-process; this one checks what they cannot: the
console script starts a Textual app on a real pseudo-terminal, draws it,
reacts to keys and exits on q. Each test uses its own tmux server (a
private socket) and kills it afterwards, whatever happens. The app's stderr
(where Textual writes the screen) is never redirected.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tui_helpers import REPO

SCRIPT = Path(sys.executable).parent / "bpdebug"
"""The console script installed beside this interpreter."""
TIMEOUT = 20.0
"""Seconds to wait for something to appear on the screen."""
POLL = 0.2
"""Seconds between two looks at the screen."""

pytestmark = [
    pytest.mark.cli,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class Tmux:
    """One private tmux server with one session running one command."""

    def __init__(self) -> None:
        self.socket = f"bpdebug-test-{uuid.uuid4().hex[:12]}"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A tmux command against this server (no user config)."""
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=10,
        )

    def start(self, command: str, width: int, height: int) -> None:
        """Start `command` in a detached session of width x height, from the repo root."""
        self.run("new-session", "-d", "-x", str(width), "-y", str(height), "-c", str(REPO), command)

    def screen(self) -> str:
        """What the pane shows now ("" once the session is gone)."""
        result = self.run("capture-pane", "-p", check=False)
        return result.stdout if result.returncode == 0 else ""

    def alive(self) -> bool:
        """Whether the session (and so the command) still runs."""
        return self.run("has-session", check=False).returncode == 0

    def keys(self, *keys: str) -> None:
        """Type `keys`, one tmux key name each."""
        self.run("send-keys", *keys)

    def wait_for(self, text: str) -> str:
        """Poll the screen until `text` shows; fail after TIMEOUT with the last screen."""
        deadline = time.monotonic() + TIMEOUT
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(POLL)
        raise AssertionError(f"{text!r} did not appear within {TIMEOUT} s; screen:\n{screen}")

    def wait_gone(self, timeout: float = TIMEOUT) -> None:
        """Poll until the session has ended; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return
            time.sleep(POLL)
        raise AssertionError(f"the session still runs after {timeout} s:\n{self.screen()}")

    def kill(self) -> None:
        """Kill this test's own server (and so its command)."""
        self.run("kill-server", check=False)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    """A private tmux server, always killed at the end."""
    server = Tmux()
    try:
        yield server
    finally:
        server.kill()


COMMAND = f"{shlex.quote(str(SCRIPT))} scenarios/xor.toml"
"""The script on the bundled XOR scenario, named as a user would from the repo root."""


@pytest.mark.parametrize(("width", "height"), [(120, 40), (80, 24)])
def test_the_script_draws_steps_and_quits_in_a_real_terminal(tmux, width, height):
    """bpdebug starts at step 0, three n keys reach step 3, and q ends the process."""
    assert SCRIPT.exists(), f"{SCRIPT} is not installed"
    tmux.start(COMMAND, width, height)
    tmux.wait_for("step 0")
    tmux.keys("n")  # next: step 1
    tmux.keys("n")  # next: step 2
    tmux.keys("n")  # next: step 3
    screen = tmux.wait_for("step 3")
    assert "Traceback" not in screen
    tmux.keys("q")  # quit
    tmux.wait_gone()


def test_quit_while_training_ends_the_process(tmux):
    """c starts training; q must still end the process (not leave a blank screen behind).

    The training thread has to learn that the app quit, or it keeps the
    process alive (the Pilot side is in test_tui_keys).
    """
    # wide.toml has no breakpoint: training runs until paused
    tmux.start(f"{shlex.quote(str(SCRIPT))} scenarios/wide.toml", 120, 40)
    tmux.wait_for("step 0")
    tmux.keys("c")  # continue: train until a breakpoint
    tmux.wait_for("running")
    tmux.keys("q")  # quit while it runs
    tmux.wait_gone(timeout=5)  # a clean quit takes well under a second


def test_a_long_go_to_shows_progress_and_esc_cancels_it(tmux):
    """g 900000 asks first, then replays with a progress line; esc stops it at once and
    the step is where it was; the keys answer meanwhile, and q still quits."""
    tmux.start(COMMAND, 120, 40)
    tmux.wait_for("step 0")
    tmux.keys("n", "n")  # step 2
    tmux.wait_for("step 2")
    tmux.keys("g")  # go to ...
    tmux.wait_for("go to step")
    tmux.keys("C-a", "C-k")  # clear the prefilled step
    time.sleep(0.5)  # keys sent in one burst with control keys can reach Textual merged
    tmux.keys("900000")  # ... a step far past the history
    tmux.wait_for("900000")
    tmux.keys("Enter")
    tmux.wait_for("updates past the furthest step computed")
    tmux.keys("y")  # replay
    screen = tmux.wait_for("left · esc cancels")  # progress with a rate and what is left
    assert "/ 899,998 updates" in screen
    tmux.keys("x")  # look at example 0 while it replays
    tmux.wait_for("example: 0 of 4")
    tmux.keys("Escape")  # cancel
    screen = tmux.wait_for("replaying cancelled: still at step 2")
    assert "esc cancels" not in screen
    tmux.keys("q")
    tmux.wait_gone(timeout=5)
