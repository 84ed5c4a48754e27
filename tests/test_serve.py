"""`bpdebug serve` without a browser: the command line, the app's command string, downloads.

Where a test is about what bpdebug asks of the server, aiohttp's `run_app`
is replaced by a recorder (`started`), so nothing listens;
tests/test_serve_browser.py runs the real thing with a real browser. The
last test runs the app as it runs under textual-serve (`is_web`) and checks
what `e` delivers.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from extras import need
from tui_helpers import WIDE, record_notifications, wait_until, xor_app

import bpdebug.serve
from bpdebug.cli import main
from bpdebug.serve import app_command, is_local
from bpdebug.snapshot import load_snapshot
from bpdebug.tui.app import BpdebugApp

ROOT = Path(__file__).resolve().parent.parent
XOR = ROOT / "scenarios" / "xor.toml"


@pytest.fixture
def never_served(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a server is made."""

    def server_class(base: type[Any]) -> type[Any]:
        raise AssertionError("a server was made")

    monkeypatch.setattr(bpdebug.serve, "_server_class", server_class)


class Started:
    """What `bpdebug serve` started: its server (textual-serve's, bpdebug's subclass) and
    what it asked aiohttp for, which is recorded instead of listening."""

    server: Any = None
    run_app: dict[str, Any] = {}


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Started:
    """The real textual-serve Server, with aiohttp's run_app replaced: it says it is
    listening (as aiohttp does once the port is bound) and returns, as after Ctrl-C."""
    need("textual_serve")
    from aiohttp import web

    record = Started()
    server_class = bpdebug.serve._server_class

    def recording_class(base: type[Any]) -> type[Any]:
        cls = server_class(base)

        class Recorded(cls):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any) -> None:
                super().__init__(*args)
                record.server = self

        return Recorded

    def run_app(app: Any, **kwargs: Any) -> None:
        app.close()  # the coroutine making aiohttp's application: not needed
        kwargs.pop("loop").close()
        record.run_app = kwargs
        kwargs["print"]("======== Running on ... ========")

    monkeypatch.setattr(bpdebug.serve, "_server_class", recording_class)
    monkeypatch.setattr(web, "run_app", run_app)
    return record


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


# --- the file is checked before anything is served --------------------------------------


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """A bad file of each kind, and what its one-line error says."""
    toml = tmp_path / "bad.toml"
    toml.write_text(XOR.read_text().replace("layers = [2, 2, 1]", "layers = [2, -3, 1]"))
    snapshot = tmp_path / "bad.json"
    snapshot.write_text('{"format": "bpdebug.snapshot/1", "step": "x"}')
    return {
        "toml": (toml, f"{toml}: network.layers[1]:"),
        "snapshot": (snapshot, f"{snapshot}:"),
        "missing": (tmp_path / "nosuch.toml", "nosuch.toml: not a file nor a bundled scenario"),
    }


@pytest.mark.parametrize("kind", ["toml", "snapshot", "missing"])
def test_a_bad_file_is_one_line_and_status_2_and_nothing_is_served(
    tmp_path, capsys, never_served, kind
):
    path, says = bad_files(tmp_path)[kind]
    status, out, err = run(capsys, "serve", str(path))
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and says in err, err
    assert "Traceback" not in err


def test_without_textual_serve_it_names_the_web_extra(capsys, monkeypatch):
    # None in sys.modules makes `import textual_serve` fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "textual_serve", None)
    status, out, err = run(capsys, "serve", str(XOR))
    assert status == 2
    assert out == ""
    assert err == (
        "bpdebug: bpdebug serve needs textual_serve, which is not installed: "
        "pip install 'bpdebug[web]'\n"
    )


def test_export_dir_does_not_apply_to_serve(capsys, never_served):
    status, _, err = run(capsys, "--export-dir", "out", "serve", str(XOR))
    assert status == 2
    assert err == (
        "bpdebug: --export-dir is where the debugger's `e` writes; "
        "it does not apply to `bpdebug serve`\n"
    )


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_a_bad_port_is_a_usage_error(capsys, never_served, port):
    status, _, err = run(capsys, "serve", str(XOR), "--port", port)
    assert status == 2
    assert err.splitlines()[-1].startswith("bpdebug serve: error: argument --port: expected")


# --- what is served -----------------------------------------------------------------------


def test_it_serves_this_python_on_the_files_absolute_path_on_localhost(
    tmp_path, capsys, started, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # a bundled scenario's name works from any folder
    status, out, err = run(capsys, "serve", "xor")
    assert status == 0
    server = started.server
    assert (started.run_app["host"], started.run_app["port"]) == ("127.0.0.1", 8000)
    assert server.command == "exec " + shlex.join(
        [sys.executable, "-m", "bpdebug", "--", str(XOR.resolve())]
    )
    assert out == f"bpdebug: serving {XOR.resolve()} on http://127.0.0.1:8000/; Ctrl-C stops it\n"
    assert err == "bpdebug: server stopped\n"  # no warning on localhost


def test_threads_reach_every_app(capsys, started):
    assert run(capsys, "serve", str(XOR), "--threads", "2", "--port", "8123")[0] == 0
    server = started.server
    assert started.run_app["port"] == 8123
    assert shlex.split(server.command)[1:] == [
        sys.executable, "-m", "bpdebug", "--threads", "2", "--", str(XOR.resolve())
    ]  # fmt: skip


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.com"])
def test_a_host_others_can_reach_gets_a_one_line_warning(capsys, started, host):
    status, _, err = run(capsys, "serve", str(XOR), "--host", host, "--port", "8001")
    assert status == 0
    warning, stopped = err.splitlines()
    assert warning == (
        f"bpdebug: warning: serving on {host}: anyone who can reach this machine on port "
        "8001 can use the debugger (--host 127.0.0.1 keeps it to this machine)"
    )
    assert stopped == "bpdebug: server stopped"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2", "[::1]"])
def test_loopback_hosts_are_local(host):
    assert is_local(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "example.com", ""])
def test_other_hosts_are_not_local(host):
    assert not is_local(host)


def test_the_command_keeps_any_path_one_word_for_the_shell(tmp_path):
    """Spaces, both quotes, $(...), backticks, ; and a leading dash reach the app as one
    argument; nothing in the name runs. The shell runs a stand-in for Python that
    prints its arguments."""
    path = tmp_path / 'it\'s a "run" $(touch pwned) `touch pwned2`; x' / "-odd [v2].toml"
    printer = tmp_path / "print args"
    printer.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\0" "$a"; done\n')
    printer.chmod(0o755)
    command = app_command(path, threads=3, python=str(printer))
    done = subprocess.run(
        ["/bin/sh", "-c", command], cwd=tmp_path, capture_output=True, timeout=30, check=True
    )
    words = done.stdout.decode().split("\0")[:-1]
    assert words == ["-m", "bpdebug", "--threads", "3", "--", str(path)]
    assert not list(tmp_path.glob("pwned*"))


def test_an_address_in_use_is_one_line_and_status_2(tmp_path):
    """The real server on a port another socket holds: one line, no traceback, no wait."""
    need("textual_serve")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "bpdebug", "serve", str(XOR), "--port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"bpdebug: cannot serve on 127.0.0.1:{port}: ")
    assert done.stderr.count("\n") == 1 and "in use" in done.stderr, done.stderr


def test_serve_imports_neither_textual_nor_textual_serve():
    """`bpdebug serve` is a headless command until its handler runs."""
    code = (
        "import json, sys, bpdebug.cli, bpdebug.serve\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    loaded = set(json.loads(done.stdout))
    assert "bpdebug" in loaded
    assert not loaded & {"textual", "textual_serve", "aiohttp", "rich"}


# --- the app in a browser: e is a download -------------------------------------------------


async def test_in_a_browser_e_delivers_one_zip_and_writes_nothing_on_the_server(
    tmp_path, monkeypatch
):
    """Under textual-serve (`is_web`), `e` hands Textual one zip of the four files,
    the same as `export_all` writes, and leaves no file on the server's disk."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(BpdebugApp, "is_web", property(lambda self: True))
    delivered: list[tuple[bytes, dict[str, Any]]] = []

    def deliver_binary(file: io.BytesIO, **kwargs: Any) -> str:
        delivered.append((file.read(), kwargs))
        return "key"

    app = xor_app(tmp_path)
    monkeypatch.setattr(app, "deliver_binary", deliver_binary)
    seen = record_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")  # one update: step 1
        await pilot.press("e")  # export: in a browser, a download
        await wait_until(pilot, lambda: bool(delivered))
    [(data, kwargs)] = delivered
    assert kwargs == {
        "save_filename": "xor-step1.zip",
        "mime_type": "application/zip",
        "name": "export",
    }
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "unzipped")
    assert names == ["xor-step1.json", "xor-step1.npz", "xor-step1.md", "xor-step1.svg"]
    for suffix in (".json", ".npz"):  # both read back as snapshots of step 1
        assert load_snapshot(tmp_path / "unzipped" / f"xor-step1{suffix}").step == 1
    assert (tmp_path / "unzipped" / "xor-step1.svg").read_text().startswith("<svg")
    assert not (tmp_path / "exports").exists()
    assert list(scratch.iterdir()) == []
    assert ("exported xor-step1.zip (json, npz, md, svg): your browser downloads it",
            "information") in seen  # fmt: skip


def test_the_page_sends_the_browser_back_to_the_address_it_used(tmp_path):
    """Served on every address, textual-serve's page would name its websocket
    ws://0.0.0.0:PORT/ws, which another machine cannot reach. The page names
    the address the browser asked for (its Host header) instead."""
    import urllib.request

    need("textual_serve")
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "bpdebug", "serve", str(XOR), "--port", str(port)],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/", headers={"Host": "teacher.example:8000"}
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    page = response.read().decode()
                break
            except OSError:  # not listening yet
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "bpdebug serve not listening in 30 s"
                time.sleep(0.05)
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(30) == 0
    assert 'data-session-websocket-url="ws://teacher.example:8000/ws"' in page
    assert "http://127.0.0.1" not in page


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
