"""MCP under named tokens, over streamable HTTP and stdio (both stores): a tool runs only
if the token's scope allows it, and what it changes names the token and the client."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx2 as httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import Implementation

from http_api import Settings
from maestro_mcp.protocol import AUTHORIZATION_HEADER, TOKENS_PATH, bearer
from tests.support.feeds import SseClient
from tests.support.mcp import MCP_ACCEPT, call, initialize_request, refused
from tests.support.servers import LiveServer, live_server, stdio_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with live_server(settings) as running:
        yield running


@asynccontextmanager
async def agent(server: LiveServer, token: str | None, name: str) -> AsyncIterator[Client]:
    """An MCP client named ``name`` (clientInfo) over HTTP, sending ``token``."""
    headers = {AUTHORIZATION_HEADER: bearer(token)} if token else {}
    async with (
        httpx.AsyncClient(headers=headers, timeout=30) as http,
        Client(
            streamable_http_client(f"{server.base_url}/mcp", http_client=http),
            client_info=Implementation(name=name, version="1"),
        ) as client,
    ):
        yield client


def make(server: LiveServer, name: str, scope: str, by: str | None = None) -> str:
    headers = {AUTHORIZATION_HEADER: bearer(by)} if by else None
    made = server.http.post(TOKENS_PATH, json={"name": name, "scope": scope}, headers=headers)
    assert made.status_code == 201, made.text
    secret: str = made.json()["secret"]
    return secret


def actors(base_url: str, token: str | None = None) -> list[tuple[str, str]]:
    """Every event of the log so far, as (event, actor)."""
    query = f"?since=0&token={token}" if token else "?since=0"
    sse = SseClient(f"{base_url}/api/events{query}")
    seen = sse.until_ready()
    sse.close()
    return [(m["event"], m["actor"]) for m in seen]


async def test_a_read_token_reads_and_may_not_change_anything(server: LiveServer) -> None:
    admin = make(server, "lead", "admin")
    reader = make(server, "dashboard", "read", by=admin)
    async with agent(server, reader, "board-bot") as client:
        assert (await call(client, "list_projects"))["projects"] == []
        message = await refused(client, "create_project", name="p")
        assert "'dashboard' may only read" in message
        assert "scope write" in message
    # Nothing was written.
    assert (
        server.http.get("/api/projects", headers={AUTHORIZATION_HEADER: bearer(admin)}).json() == []
    )


async def test_what_an_agent_changes_names_its_token_and_its_client(server: LiveServer) -> None:
    admin = make(server, "lead", "admin")
    writer = make(server, "ci-bot", "write", by=admin)
    async with agent(server, writer, "claude-code") as client:
        created = await call(client, "create_project", name="p")
        await call(client, "create_tasks", tasks=[{"title": "t"}], project=created["project"]["id"])
    assert actors(server.base_url, admin)[-2:] == [
        ("project:created", "ci-bot/claude-code"),
        ("task:created", "ci-bot/claude-code"),
    ]
    async with agent(server, writer, "claude-code") as client:
        change = (await call(client, "changes_since", since=0))["events"][-1]
    assert change["by"] == "ci-bot/claude-code"


def test_without_a_token_an_agent_is_refused_once_tokens_exist(server: LiveServer) -> None:
    admin = make(server, "lead", "admin")
    initialize = initialize_request("claude-code")
    answer = server.http.post("/mcp", json=initialize, headers=MCP_ACCEPT)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    with_token = {**MCP_ACCEPT, AUTHORIZATION_HEADER: bearer(admin)}
    assert server.http.post("/mcp", json=initialize, headers=with_token).status_code == 200


async def test_a_token_less_server_names_its_agents_local(server: LiveServer) -> None:
    async with agent(server, None, "cursor") as client:
        await call(client, "create_project", name="p")
    assert actors(server.base_url) == [("project:created", "local/cursor")]


async def test_a_stdio_agent_acts_as_local_with_its_name(database: str, settings: Settings) -> None:
    """``maestro mcp`` opens the database itself: whoever can start it can read the
    files, so it needs no token; its changes name it ``local/<client>``."""
    async with Client(
        stdio_server(database), client_info=Implementation(name="codex", version="1")
    ) as client:
        await call(client, "create_project", name="p")
    with live_server(settings, mcp_loaded=False) as server:
        assert actors(server.base_url) == [("project:created", "local/codex")]


def test_a_client_name_cannot_forge_another_actor() -> None:
    from maestro_mcp.core.access import LOCAL, actor_name

    assert actor_name(LOCAL, "x/../admin") == "local/x_.._admin"
    assert actor_name(LOCAL, "  ") == "local"
    assert actor_name(LOCAL, "a\nb") == "local/a_b"
    assert actor_name(LOCAL, "y" * 500) == "local/" + "y" * 64
