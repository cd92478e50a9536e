"""A real Maestro server on loopback: in a thread of the test process, or as the
``maestro`` OS process users run. The benchmark starts its servers with these too."""

import functools
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
from mcp import StdioServerParameters
from starlette.testclient import TestClient

from http_api import Settings, create_app
from http_api.connections import Connections
from http_api.server import MaestroServer, server_config
from maestro_mcp.core.feed import Feed
from maestro_mcp.core.runtime import Core

from .waiting import WAIT, wait_for


def free_port() -> int:
    """A loopback port nothing listens on at the time of the call. Another process may
    take it before it is used: prefer binding to port 0 where the code under test can."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- in this process -----------------------------------------------------------------


def in_process(settings: Settings) -> TestClient:
    """The app without a socket, addressed as a loopback server is (its Host and Origin
    checks pass); enter it (``with``) to run its lifespan."""
    return TestClient(create_app(Core(settings)), base_url="http://127.0.0.1:3000")


# --- in a thread of this process --------------------------------------------------------


@dataclass
class LiveServer:
    """A server started by ``live_server``: its URLs, settings, core and connections."""

    base_url: str
    ws_url: str
    settings: Settings
    core: Core
    connections: Connections
    uvicorn: MaestroServer

    @property
    def feed(self) -> Feed:
        return self.core.feed

    @property
    def requests_running(self) -> int:
        """Requests and WebSockets whose app has not returned yet (uvicorn's tasks)."""
        return len(self.uvicorn.server_state.tasks)

    def client(self) -> httpx.Client:
        """A new client; close it (``with``) when done."""
        return httpx.Client(base_url=self.base_url, timeout=WAIT)

    @functools.cached_property
    def http(self) -> httpx.Client:
        """A client shared by the test, closed with the server."""
        return self.client()


@contextmanager
def live_server(
    settings: Settings,
    *,
    mcp_loaded: bool = True,
    send_buffer: int | None = None,
    **uvicorn_options: Any,
) -> Iterator[LiveServer]:
    """A real uvicorn on a free loopback port, in a thread of this process, configured
    as ``maestro serve`` configures it unless ``uvicorn_options`` say otherwise.
    Yields once the server accepts connections and (``mcp_loaded``) runs its MCP
    server; stops it (and its shared client) on exit.

    ``send_buffer``: the kernel's send buffer of each connection the server accepts
    (they inherit the listening socket's ``SO_SNDBUF``). By default Linux grows it up
    to ``tcp_wmem``'s max (4 MiB): a test of a client that stops reading caps it, so
    that the client falls behind after a few hundred KB rather than megabytes."""
    core = Core(settings)
    app = create_app(core)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = server_config(
        app, settings, log_level="warning", timeout_graceful_shutdown=2, **uvicorn_options
    )
    server = MaestroServer(config, core.feed)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started or not thread.is_alive(), what="server start")
        assert server.started, "server failed to start"
        # The MCP server loads after the server listens; once it runs, its change
        # notifier is a feed subscriber. Tests that count subscribers start after it.
        if mcp_loaded:
            wait_for(lambda: core.feed.subscriber_count >= 1, what="the MCP server runs")
        running = LiveServer(
            f"http://127.0.0.1:{port}",
            f"ws://127.0.0.1:{port}/ws",
            settings,
            core,
            config.connections,
            server,
        )
        try:
            yield running
        finally:  # also when the test failed: its unclosed client would be blamed on
            # a later test (an unraisable ResourceWarning)
            if "http" in running.__dict__:
                running.http.close()
    finally:
        server.should_exit = True
        thread.join(WAIT)
        sock.close()


# --- as a separate OS process -----------------------------------------------------------

_LISTENING = re.compile(r"listening on (http://\S+)")


def maestro_command(*args: str) -> list[str]:
    """The command line of ``maestro *args`` with this interpreter (and this checkout)."""
    return [sys.executable, "-m", "maestro_mcp", *args]


def stdio_server(database: str | Path) -> StdioServerParameters:
    """``maestro mcp`` on ``database``, as an agent host spawns it, for ``mcp.Client``."""
    command, *args = maestro_command("mcp", "--db", str(database))
    return StdioServerParameters(command=command, args=args)


@dataclass
class ServerProcess:
    """A process started by ``spawn_until_listening``; ``log`` collects its stderr lines
    (a thread keeps reading them, so the process never blocks on a full pipe)."""

    process: subprocess.Popen[str]
    base_url: str
    log: list[str]
    reader: threading.Thread
    started_in: float  # seconds from spawn to logging where it listens

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/ws"

    def client(self) -> httpx.Client:
        """A new client; close it (``with``) when done."""
        return httpx.Client(base_url=self.base_url, timeout=WAIT)

    def kill(self) -> None:
        self.process.kill()
        self._reap()

    def terminate(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` and return the exit code; fails if it takes longer than ``WAIT``."""
        self.process.send_signal(sig)
        return self._reap()

    def stop(self) -> None:
        """SIGTERM if still running, SIGKILL if that takes longer than ``WAIT``."""
        if self.process.poll() is None:
            try:
                self.terminate()
            except subprocess.TimeoutExpired:
                self.kill()

    def _reap(self) -> int:
        code = self.process.wait(WAIT)
        self.reader.join(WAIT)
        return code


def spawn_until_listening(
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = WAIT * 3,
    stdout: bool = False,
) -> ServerProcess:
    """Run ``command`` and return once it logs ``listening on http://…`` on stderr, with
    that URL. Raises ``AssertionError`` with its log if it exits or takes over ``timeout``.
    ``stdout``: its stdout goes to ``log`` too (uvicorn writes its access log there)."""
    began = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        # Both in one pipe when stdout is wanted: the lines keep the order they had.
        stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
        stderr=subprocess.STDOUT if stdout else subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    output = process.stdout if stdout else process.stderr
    lines: list[str] = []
    found: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert output is not None
        with output:
            for line in output:
                lines.append(line)
                if match := _LISTENING.search(line):
                    found.put(match.group(1))
        found.put("")

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        url = found.get(timeout=timeout)
    except queue.Empty:
        process.kill()
        raise AssertionError(f"{command} did not start:\n" + "".join(lines)) from None
    if not url:
        raise AssertionError(f"{command} exited:\n" + "".join(lines))
    return ServerProcess(process, url, lines, reader, time.perf_counter() - began)


def start_server_process(
    database: str | Path | None,
    *extra: str,
    env: dict[str, str] | None = None,
    prefix: Sequence[str] = (),
    timeout: float = WAIT * 3,
    stdout: bool = False,
) -> ServerProcess:
    """``maestro serve`` on a port of its choosing (unless ``extra`` names one), on
    ``database`` (or its default database); returns once it logged where it listens.
    ``prefix`` goes before the command (e.g. ``taskset -c 0``); ``stdout``: its stdout
    (the access log) is in ``log`` too."""
    db_args = ["--db", str(database)] if database is not None else []
    command = [*prefix, *maestro_command("serve", "--port", "0", *db_args, *extra)]
    return spawn_until_listening(command, env=env, timeout=timeout, stdout=stdout)
