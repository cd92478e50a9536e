from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.server import MCPServer

from maestro_mcp.core.models import QuestionAnswer
from maestro_mcp.core.runtime import Core
from maestro_mcp.core.service import Service
from maestro_mcp.mcp_server import MaestroMCP, build_mcp_server
from maestro_mcp.settings import Settings
from tests.support.core import write_elsewhere
from tests.support.mcp import Answer, Transport
from tests.support.servers import LiveServer, live_server, stdio_server
from tests.support.stores import Databases


@pytest.fixture
async def maestro(core: Core) -> AsyncIterator[MaestroMCP]:
    """An MCP server over a running core, for the in-memory client."""
    built = build_mcp_server(core)
    async with built.running(http=False):
        yield built


@pytest.fixture
def rest_task(server: LiveServer) -> dict[str, Any]:
    """A task (in a new project) made over REST on the test's ``server``, as a human would."""
    project = server.http.post("/api/projects", json={"name": "Demo"}).json()
    task: dict[str, Any] = server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "t"}
    ).json()
    return task


# --- one client fixture, every transport --------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "empty_database: the test's mcp_client works on a database no other test has written",
    )


TRANSPORTS = [
    pytest.param(Transport(kind, mode), id=f"{kind}-{era}")
    for kind in ("memory", "http", "stdio")
    for mode, era in (("auto", "2026"), ("legacy", "2025"))
]


@dataclass(frozen=True)
class Target:
    """What ``mcp_client`` connects to, or the client already connected to it, and the
    database its server works on."""

    transport: Transport
    server: MCPServer | str | StdioServerParameters | Client
    database: str


@pytest.fixture(params=TRANSPORTS)
def mcp_target(request: pytest.FixtureRequest, store_kind: str) -> Target:
    """Resolves the transport (a sync fixture: it may ask for async fixtures by name).
    In memory the database is always the test's own; over HTTP and stdio it is shared
    with the package's other tests unless the test is marked ``empty_database``. Every
    scenario runs on each store (``store_kind``: named here, so the fixtures asked for by
    name below know which)."""
    transport: Transport = request.param
    own = request.node.get_closest_marker("empty_database") is not None
    if transport.kind == "memory":
        maestro: MaestroMCP = request.getfixturevalue("maestro")
        return Target(transport, maestro.server, request.getfixturevalue("database"))
    if transport.kind == "http":
        server: LiveServer = request.getfixturevalue("server" if own else "shared_server")
        return Target(transport, server.base_url + "/mcp", str(server.settings.database))
    if own:
        database: str = request.getfixturevalue("database")
        return Target(transport, stdio_server(database), database)
    shared: str = request.getfixturevalue("shared_database")
    return Target(transport, request.getfixturevalue(f"shared_stdio_{transport.mode}"), shared)


@pytest.fixture
async def mcp_client(mcp_target: Target) -> AsyncIterator[Client]:
    """A client connected over each transport in turn (see ``TRANSPORTS``): the same
    scenario must hold over all of them. On a shared database a test sees others' data:
    it names its own projects (``tests.support.mcp.unique``) and request ids."""
    if isinstance(mcp_target.server, Client):
        yield mcp_target.server
        return
    async with Client(mcp_target.server, mode=mcp_target.transport.mode) as client:
        yield client


@pytest.fixture
def transport(mcp_target: Target) -> Transport:
    """The transport ``mcp_client`` uses in this test."""
    return mcp_target.transport


@pytest.fixture
def a_person_answers(mcp_target: Target) -> Answer:
    """``await a_person_answers(question_id, text)``: a person answers a question, on the
    database ``mcp_client``'s server works on, from a core of its own (as the board's
    server or the CLI would: another process as far as the MCP server can tell)."""

    async def answer(question_id: str, text: str) -> None:
        def answering(service: Service) -> object:
            return service.answer(question_id, QuestionAnswer(answer=text))

        await anyio.to_thread.run_sync(partial(write_elsewhere, mcp_target.database, answering))

    return answer


# Servers shared by the package's tests: starting ``maestro mcp`` takes about a second.


@pytest.fixture(scope="package")
def shared_database(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    location = databases.create(tmp_path_factory.mktemp("mcp-shared"))
    yield location
    databases.drop(location)


@pytest.fixture(scope="package")
def shared_server(shared_database: str) -> Iterator[LiveServer]:
    with live_server(Settings(database=shared_database, poll_interval=0.02)) as running:
        yield running


def _shared_stdio(mode: str) -> Any:
    @pytest.fixture(scope="package", name=f"shared_stdio_{mode}")
    async def shared_stdio(shared_database: str) -> AsyncIterator[Client]:
        """A ``maestro mcp`` process on the shared database, its client in ``mode``."""
        async with Client(stdio_server(shared_database), mode=mode) as client:
            yield client

    return shared_stdio


shared_stdio_auto = _shared_stdio("auto")
shared_stdio_legacy = _shared_stdio("legacy")
