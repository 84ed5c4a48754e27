"""`bpdebug serve` in a real browser: Debian's headless Chromium, driven by Playwright.

The test runs `bpdebug serve scenarios/xor.toml` as a user does, opens the
page, reads the terminal, presses keys and receives the export as a
download. Chromium is never downloaded: the system's `/usr/bin/chromium`
runs with a fresh profile. Its pop-up blocker stays on (Playwright turns it
off by default), as in a person's browser: textual-serve opens each
download with `window.open`, and a blocker lets one through per key press.

Without Playwright, textual-serve or Chromium the test is skipped, except
under CI=true, where it fails (tests/extras.py).
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from extras import need

from bpdebug.snapshot import load_snapshot

need("textual_serve")
sync_api = need("playwright.sync_api")

ROOT = Path(__file__).resolve().parent.parent
XOR = ROOT / "scenarios" / "xor.toml"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT = 30.0
"""Seconds any one thing may take (the server starting, a key's effect, a download)."""

# xterm.js draws the terminal on a canvas, so the page's DOM holds no text.
# textual-serve's page keeps its xterm.js Terminal in `this.terminal` of its
# own object; this script, run before the page's, catches that assignment so
# the test can read the screen through xterm's public buffer API.
CATCH_TERMINAL = """
window.__terminals = [];
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {
      value, writable: true, configurable: true, enumerable: true,
    });
    if (value && value.buffer) window.__terminals.push(value);
  },
});
"""
SCREEN = """() => {
  const term = window.__terminals[0];
  if (!term) return null;
  const buffer = term.buffer.active, rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
}"""
SHOWS = (
    f"(text) => {{ const screen = ({SCREEN})(); return screen !== null && screen.includes(text); }}"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def poll(condition: Callable[[], object], what: str, wait: Callable[[], None]) -> None:
    """Call `wait` until `condition()` holds; fail naming `what` after TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {TIMEOUT:.0f} s")
        wait()


class Served:
    """A `bpdebug serve` process and everything it started (one process group)."""

    def __init__(self, folder: Path, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/"
        self.output = folder / "serve.log"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        with self.output.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bpdebug", "serve", str(XOR), "--port", str(port)],
                cwd=folder,  # where an export would land if it were written on the server
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its apps join its group: one signal reaches all
            )

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_listening(self) -> None:
        def listening() -> bool:
            assert self.process.poll() is None, f"bpdebug serve ended:\n{self.log()}"
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", self.port)) == 0

        poll(listening, "bpdebug serve listening", lambda: time.sleep(0.05))

    def stop(self) -> int | None:
        """Ctrl-C as a terminal sends it (to the whole group); returns the status.

        Whatever is left after TIMEOUT seconds is killed, and None returned.
        """
        group = self.process.pid
        if self.process.poll() is None:
            os.killpg(group, signal.SIGINT)
        try:
            status: int | None = self.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            status = None
        try:  # the apps too: none may outlive the server
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                os.killpg(group, 0)  # raises once the group is empty
                time.sleep(0.05)
            os.killpg(group, signal.SIGKILL)
            status = None
        except ProcessLookupError:
            pass
        return status


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`bpdebug serve scenarios/xor.toml` on a free port; stopped and checked after the test."""
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    server = Served(tmp_path, free_port())
    failed = True
    try:
        server.wait_listening()
        yield server
        failed = False
    finally:
        status = server.stop()
        if not failed:  # a failing test's own error is the one to see
            assert status == 0, f"bpdebug serve did not stop cleanly:\n{server.log()}"
            assert "Traceback" not in server.log(), server.log()


def test_the_debugger_in_a_browser_steps_and_downloads_its_export(served, tmp_path):
    """Step 0 shows; `n` shows step 1; `e` arrives as a download of a valid export."""
    timings: dict[str, float] = {}
    start = time.monotonic()
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh profile
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            ignore_default_args=["--disable-popup-blocking"],
            accept_downloads=True,
        )
        try:
            downloads: list[Any] = []
            # textual-serve opens each download in a new tab (window.open).
            context.on("page", lambda tab: tab.on("download", lambda d: downloads.append(d)))
            page = context.pages[0] if context.pages else context.new_page()
            page.on("download", lambda d: downloads.append(d))
            page.add_init_script(CATCH_TERMINAL)
            page.goto(served.url)

            def wait_shows(text: str) -> None:
                try:
                    page.wait_for_function(SHOWS, arg=text, timeout=TIMEOUT * 1000)
                except sync_api.TimeoutError:
                    screen = page.evaluate(SCREEN)
                    raise AssertionError(f"{text!r} not on the screen:\n{screen}") from None

            wait_shows("step 0 · epoch 0 · the batch")
            timings["step 0 shown"] = time.monotonic() - start
            page.locator(".xterm-helper-textarea").focus()  # where xterm.js takes keys
            page.keyboard.press("n")  # next: one update
            wait_shows("step 1 · epoch 1")
            timings["step 1 shown"] = time.monotonic() - start
            page.keyboard.press("e")  # export: a download in a browser
            poll(lambda: downloads, "the export's download", lambda: page.wait_for_timeout(50))
            [download] = downloads
            assert download.suggested_filename == "xor-step1.zip"
            data = Path(download.path()).read_bytes()  # waits for the download to finish
            timings["download received"] = time.monotonic() - start
            wait_shows("exported xor-step1.zip")
        finally:
            context.close()

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == [
            "xor-step1.json", "xor-step1.npz", "xor-step1.md", "xor-step1.svg"
        ]  # fmt: skip
        archive.extractall(tmp_path / "download")
    for suffix in (".json", ".npz"):
        snap = load_snapshot(tmp_path / "download" / f"xor-step1{suffix}")
        assert snap.step == 1
    assert not (tmp_path / "exports").exists()  # nothing written on the server
    print("timings (s):", {k: round(v, 2) for k, v in timings.items()})
