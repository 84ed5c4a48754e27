"""`bpdebug serve`: the debugger in a browser, through textual-serve.

textual-serve runs one app process per browser connection, from a shell
command line: ours is ``exec PYTHON -m bpdebug [--threads N] FILE``, with
this interpreter and the scenario's absolute path, each quoted by `shlex`
(a folder named ``it's mine`` or ``$(rm -rf ~)`` is a name, not shell).
The file is checked here once, before the server starts, so a bad one is
one line and status 2 rather than a page that fails on every connection.

In the browser, `e` delivers the export as one download (`bpdebug.tui.
exporting.export_archive`) and nothing is written on the server's disk.
Nothing here imports Textual or textual-serve at module import.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import shlex
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from bpdebug.console import Console

LOCAL_HOSTS = ("localhost",)
"""Host names that are this machine only (besides loopback addresses)."""
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
"""Addresses that mean every address of this machine."""


def app_command(path: Path, threads: int | None = None, python: str | None = None) -> str:
    """The shell command textual-serve runs for each browser: this Python, `-m bpdebug`, `path`.

    ``exec`` makes the app the shell's own process, so no shell is left
    waiting and a signal for the app reaches it.
    """
    words = [python or sys.executable, "-m", "bpdebug"]
    if threads is not None:
        words += ["--threads", str(threads)]
    # "--" keeps a file named "-x.toml" a file, not an option.
    words += ["--", str(path)]
    return "exec " + shlex.join(words)


def is_local(host: str) -> bool:
    """Whether `host` is reachable from this machine only (loopback)."""
    if host.lower() in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_file(arg: str) -> Path:
    """The absolute path of the scenario or snapshot `arg` names, checked as the debugger would.

    Raises InputError (one line naming the file and key) for a bad file, so
    the server never starts on one.
    """
    from bpdebug.scenario import find_scenario_arg
    from bpdebug.snapshot.reopen import SNAPSHOT_SUFFIXES, open_timeline

    path = Path(arg)
    if path.suffix.lower() not in SNAPSHOT_SUFFIXES:
        path = find_scenario_arg(arg)  # a bundled scenario's name gives its file
    open_timeline(str(path))
    return path.resolve()


def serve(arg: str, host: str, port: int, threads: int | None, console: Console) -> int:
    """Serve the debugger on `arg` at http://host:port/ until Ctrl-C or SIGTERM; returns 0.

    Raises MissingExtra without textual-serve, InputError for a bad file and
    OSError when the address cannot be listened on.
    """
    from bpdebug.bridge import need

    path = check_file(arg)
    need("textual_serve", "bpdebug serve")
    from textual_serve.server import Server

    if not is_local(host):
        console.err(
            f"bpdebug: warning: serving on {host}: anyone who can reach this machine on "
            f"port {port} can use the debugger (--host 127.0.0.1 keeps it to this machine)"
        )
    server = _server_class(Server)(app_command(path, threads), host, port, path, console)
    # Server.serve handles SIGINT and SIGTERM itself: the server stops, each
    # connection's app is told to quit, and serve returns.
    server.serve()
    console.err("bpdebug: server stopped")
    return 0


def _server_class(base: type[Any]) -> type[Any]:
    """textual-serve's Server, ending every connection's app as soon as it is asked to stop.

    Left alone, aiohttp waits for open websockets on shutdown (about 20 s
    with a browser open on a page) before it cancels them. Here each app
    is told to quit at once (the same "quit" a closed tab sends), so Ctrl-C
    or SIGTERM stops the server, and every app it started, within a second.
    """

    class BpdebugServer(base):  # type: ignore[misc]
        def __init__(self, command: str, host: str, port: int, path: Path, console: Console):
            super().__init__(command, host=host, port=port, title="bpdebug")
            self.services: set[Any] = set()
            """The AppService of each open connection."""
            self.path = path
            """The file every connection opens."""
            self.out = console
            """Where the server says where it listens (escaped, unlike Rich's markup)."""

        def initialize_logging(self) -> None:
            super().initialize_logging()
            # One line per file a page loads is noise; warnings and errors still show.
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

        async def on_startup(self, app: Any) -> None:
            """Nothing: textual-serve's banner reads the command (a path) as Rich markup,
            and startup comes before the port is bound; `serve` says where instead."""

        def serve(self, debug: bool = False) -> None:
            """textual-serve's `serve`, saying where it listens once the port is bound."""
            from aiohttp import web

            self.debug = debug
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self.request_exit)
            web.run_app(
                self._make_app(),
                host=self.host,
                port=self.port,
                handle_signals=False,
                loop=loop,
                print=lambda *args: self.listening(),  # aiohttp's "Running on ..."
            )

        def listening(self) -> None:
            if self.host in WILDCARD_HOSTS:
                where = (
                    f"http://{socket.gethostname()}:{self.port}/ and this machine's other addresses"
                )
            else:
                where = f"{self.public_url}/"
            self.out.out(f"bpdebug: serving {self.path} on {where}; Ctrl-C stops it")

        async def handle_index(self, request: Any) -> Any:
            # The page tells the browser where the websocket is, from public_url:
            # textual-serve makes it http://HOST:PORT, which from another machine
            # is wrong for 0.0.0.0. The address this browser used is right. No
            # await runs between setting it and the page being rendered.
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

        async def _process_messages(self, websocket: Any, app_service: Any) -> None:
            self.services.add(app_service)
            try:
                await super()._process_messages(websocket, app_service)
            finally:
                self.services.discard(app_service)

        async def on_shutdown(self, app: Any) -> None:
            await asyncio.gather(*(service.stop() for service in list(self.services)))

    return BpdebugServer
