"""``/mcp`` while the MCP server loads in the background (http_api/mcp_mount.py): the
rest of the app serves at once, an MCP request made meanwhile waits and then succeeds,
and a load that fails leaves ``/mcp`` answering 503 while the rest goes on.

The load is held with an event (``HeldLoad``) so that each test knows the order of
things instead of racing a load that takes under a second.
"""

import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp import Client
from starlette.types import Message

import http_api.mcp_mount
from http_api import Settings
from http_api.errors import ApiError
from http_api.mcp_mount import UNAVAILABLE, LazyMCP
from maestro_mcp.core.runtime import Core
from maestro_mcp.mcp_server import MaestroMCP
from tests.support.mcp import MCP_ACCEPT, call, initialize_request
from tests.support.servers import live_server
from tests.support.waiting import WAIT

pytestmark = pytest.mark.anyio

INITIALIZE = initialize_request()


class HeldLoad:
    """Replaces the MCP server's load: it starts, then waits for ``release`` (or raises
    ``error`` instead of loading). Requests reaching ``/mcp`` are counted."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, error: Exception | None = None) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.arrived = threading.Event()
        self.error = error
        build = http_api.mcp_mount._build
        call_endpoint = LazyMCP.__call__

        def held(core: Core) -> MaestroMCP:
            self.started.set()
            assert self.release.wait(WAIT), "the test never released the load"
            if self.error is not None:
                raise self.error
            return build(core)

        async def arriving(lazy: LazyMCP, *args: Any) -> None:
            self.arrived.set()
            await call_endpoint(lazy, *args)

        monkeypatch.setattr(http_api.mcp_mount, "_build", held)
        monkeypatch.setattr(LazyMCP, "__call__", arriving)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldLoad]:
    load = HeldLoad(monkeypatch)
    yield load
    load.release.set()  # a failed test must not leave the server's shutdown waiting


async def test_an_mcp_request_made_while_the_mcp_server_loads_waits_then_succeeds(
    settings: Settings, held: HeldLoad
) -> None:
    with live_server(settings, mcp_loaded=False) as server:
        await anyio.to_thread.run_sync(held.started.wait, WAIT)
        # Listening, with the MCP server not loaded yet: everything else serves already.
        assert server.http.get("/health").status_code == 200
        assert server.http.post("/api/projects", json={"name": "early"}).status_code == 201

        async def use_mcp() -> dict[str, Any]:
            async with Client(server.base_url + "/mcp") as client:
                return await call(client, "list_projects")

        result: dict[str, Any] = {}
        async with anyio.create_task_group() as tasks:

            async def run() -> None:
                result.update(await use_mcp())

            tasks.start_soon(run)
            await anyio.to_thread.run_sync(held.arrived.wait, WAIT)
            assert not result  # it waits for the MCP server...
            held.release.set()  # ...which is ready now
        assert "early" in [p["name"] for p in result["projects"]]


async def test_a_failed_load_is_logged_and_answers_503_while_the_rest_serves(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    load = HeldLoad(monkeypatch, error=RuntimeError("no MCP today"))
    load.release.set()
    with (
        caplog.at_level(logging.ERROR, logger="maestro"),
        live_server(settings, mcp_loaded=False) as server,
    ):
        response = server.http.post("/mcp", json=INITIALIZE, headers=MCP_ACCEPT)
        assert response.status_code == 503
        assert response.json()["error"] == {
            "code": "unavailable",
            "message": UNAVAILABLE,
            "details": None,
        }
        assert server.http.get("/health").status_code == 200
    [record] = [r for r in caplog.records if r.getMessage() == UNAVAILABLE]
    assert record.exc_info is not None
    assert "no MCP today" in str(record.exc_info[1])


async def test_a_shutdown_before_the_load_ends_leaves_nothing_running(
    settings: Settings, held: HeldLoad
) -> None:
    """The load ends after the shutdown began: the MCP server never starts, the lifespan
    ends cleanly (no warning, no error), and a late request is answered 503."""
    async with Core(settings) as core:
        lazy = LazyMCP(core)
        async with anyio.create_task_group() as tasks:

            async def stop_then_release(stopping: anyio.Event) -> None:
                await stopping.wait()
                held.release.set()

            stopping = anyio.Event()
            tasks.start_soon(stop_then_release, stopping)
            async with lazy.running():
                await anyio.to_thread.run_sync(held.started.wait, WAIT)
                stopping.set()  # the release comes once this block is left
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        with pytest.raises(ApiError) as refused:
            await lazy({"type": "http", "method": "POST", "path": "/mcp"}, receive, send)
        assert refused.value.status == 503
        assert not sent


async def test_an_mcp_server_that_fails_to_run_answers_503_while_the_rest_serves(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Built, it fails as it starts running (its session manager, its notifier): the
    error stays out of the app's lifespan, which goes on serving the rest."""

    @contextlib.asynccontextmanager
    async def failing(
        mcp: MaestroMCP, *, http: bool = False, streams: Any = None
    ) -> AsyncIterator[None]:
        raise RuntimeError("the session manager would not start")
        yield  # pragma: no cover - a generator that never yields

    monkeypatch.setattr(MaestroMCP, "running", failing)
    with (
        caplog.at_level(logging.ERROR, logger="maestro"),
        live_server(settings, mcp_loaded=False) as server,
    ):
        response = server.http.post("/mcp", json=INITIALIZE, headers=MCP_ACCEPT)
        assert response.status_code == 503
        assert server.http.post("/api/projects", json={"name": "served"}).status_code == 201
    [record] = [r for r in caplog.records if r.getMessage() == UNAVAILABLE]
    assert "would not start" in str(record.exc_info[1] if record.exc_info else "")
