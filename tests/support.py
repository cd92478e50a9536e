"""Helpers shared by the tests: a real server on loopback and real feed clients."""

import asyncio
import functools
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
from websockets.sync.client import ClientConnection, connect

from http_api import Settings, create_app
from http_api.server import MaestroServer, server_config
from maestro_mcp.core.runtime import Core
from maestro_mcp.core.service import Service

WAIT = 10.0  # upper bound for anything that should happen promptly


def wait_for(predicate: Callable[[], bool], timeout: float = WAIT, what: str = "condition") -> None:
    """Wait until ``predicate()`` holds, checking often; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


@dataclass
class LiveServer:
    base_url: str
    ws_url: str
    settings: Settings
    app: Any

    @property
    def feed(self) -> Any:
        return self.app.state.core.feed

    def client(self) -> httpx.Client:
        """A new client; close it (``with``) when done."""
        return httpx.Client(base_url=self.base_url, timeout=WAIT)

    @functools.cached_property
    def http(self) -> httpx.Client:
        """A client shared by the test, closed with the server."""
        return self.client()


@contextmanager
def live_server(settings: Settings, **uvicorn_options: Any) -> Iterator[LiveServer]:
    """A real uvicorn on a free loopback port, in a thread of this process, configured
    as ``maestro serve`` configures it unless ``uvicorn_options`` say otherwise."""
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = server_config(app, log_level="warning", timeout_graceful_shutdown=2, **uvicorn_options)
    server = MaestroServer(config, app.state.core.feed)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started or not thread.is_alive(), what="server start")
        assert server.started, "server failed to start"
        running = LiveServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws", settings, app)
        yield running
        if "http" in running.__dict__:
            running.http.close()
    finally:
        server.should_exit = True
        thread.join(WAIT)
        sock.close()


class WsClient:
    """A WebSocket client of /ws that parses every message."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self._stack = ExitStack()
        self.conn: ClientConnection = self._stack.enter_context(
            connect(url, open_timeout=WAIT, legacy=False, **kwargs)
        )

    def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        message = json.loads(self.conn.recv(timeout=timeout))
        assert isinstance(message, dict)
        return message

    def until_ready(self) -> list[dict[str, Any]]:
        """Everything before ``sync:ready`` (the replay); returns it and consumes the marker."""
        replay = []
        while (message := self.recv())["event"] != "sync:ready":
            replay.append(message)
        return replay

    def take(self, count: int) -> list[dict[str, Any]]:
        return [self.recv() for _ in range(count)]

    def close(self) -> None:
        self._stack.close()


class SseClient:
    """A Server-Sent Events client of /api/events, reading in a thread into a queue."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.ids: dict[int, str] = {}
        self._client = httpx.Client(timeout=httpx.Timeout(WAIT, read=None))
        self._response = self._client.send(
            self._client.build_request("GET", url, headers=headers), stream=True
        )
        assert self._response.status_code == 200, self._response.status_code
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        data: list[str] = []
        event_id = None
        try:
            for line in self._response.iter_lines():
                if line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line == "" and data:
                    message = json.loads("\n".join(data))
                    if event_id is not None:
                        message["_id"] = event_id
                    self.events.put(message)
                    data, event_id = [], None
        except (httpx.HTTPError, RuntimeError):
            pass
        finally:
            self.events.put({"event": "_closed"})

    def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        return self.events.get(timeout=timeout)

    def until_ready(self) -> list[dict[str, Any]]:
        replay = []
        while (message := self.recv())["event"] != "sync:ready":
            replay.append(message)
        return replay

    def take(self, count: int) -> list[dict[str, Any]]:
        return [self.recv() for _ in range(count)]

    def close(self) -> None:
        self._response.close()
        self._client.close()


# --- the server as a separate OS process -----------------------------------------------

_LISTENING = re.compile(r"listening on (http://\S+)")


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    base_url: str
    log: list[str]
    reader: threading.Thread

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/ws"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=WAIT)

    def kill(self) -> None:
        self.process.kill()
        self._reap()

    def terminate(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self._reap()

    def _reap(self) -> int:
        code = self.process.wait(WAIT)
        self.reader.join(WAIT)
        return code


def maestro_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "maestro_mcp", *args]


def start_server_process(
    db_path: Path | None, *extra: str, env: dict[str, str] | None = None
) -> ServerProcess:
    """``maestro serve`` on a free port; returns once it logged where it listens."""
    db_args = ["--db", str(db_path)] if db_path is not None else []
    process = subprocess.Popen(
        maestro_command("serve", "--port", "0", *db_args, *extra),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    lines: list[str] = []
    found: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stderr is not None
        with process.stderr:
            for line in process.stderr:
                lines.append(line)
                if match := _LISTENING.search(line):
                    found.put(match.group(1))
        found.put("")

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        url = found.get(timeout=WAIT * 3)
    except queue.Empty:
        process.kill()
        raise AssertionError("server did not start:\n" + "".join(lines)) from None
    if not url:
        raise AssertionError("server exited:\n" + "".join(lines))
    return ServerProcess(process, url, lines, reader)


def events_of(messages: list[dict[str, Any]]) -> list[str]:
    return [m["event"] for m in messages]


# --- another process's writes -------------------------------------------------------


def write_elsewhere(db_path: Path, *writes: Callable[[Service], object]) -> None:
    """Run ``writes`` as another process writing the same database would: on a core
    runtime of its own (no server involved), each write its own transaction."""

    async def run() -> None:
        async with Core(Settings(db_path=db_path)) as core:
            for write in writes:
                await core.write(functools.partial(write, core.service))

    asyncio.run(run())
