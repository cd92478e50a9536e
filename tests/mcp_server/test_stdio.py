"""``maestro mcp`` as agent hosts run it: a spawned process speaking MCP on stdio."""

import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.mcp_server.scenario import call, every_tool_and_resource
from tests.support.feeds import WsClient
from tests.support.servers import LiveServer

pytestmark = pytest.mark.anyio


def stdio(db_path: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-m", "maestro_mcp", "mcp", "--db", str(db_path)]
    )


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_every_tool_and_resource_over_stdio(db_path: Path, mode: str) -> None:
    async with Client(stdio(db_path), mode=mode) as client:
        assert client.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
        await every_tool_and_resource(client)


async def test_stdio_write_reaches_a_running_servers_websocket(
    server: LiveServer, db_path: Path
) -> None:
    ws = WsClient(server.ws_url)
    ws.until_ready()
    async with Client(stdio(db_path)) as client:
        await call(client, "create_project", name="From an agent")
        created = await call(client, "create_task", title="written over stdio")
    events = await anyio.to_thread.run_sync(ws.take, 2)
    assert [e["event"] for e in events] == ["project:created", "task:created"]
    assert events[1]["data"]["id"] == created["task"]["id"]
    ws.close()


async def test_stdio_agent_hears_about_a_change_made_through_the_server(
    server: LiveServer, db_path: Path
) -> None:
    project = server.http.post("/api/projects", json={"name": "Demo"}).json()
    task = server.http.post("/api/tasks", json={"projectId": project["id"], "title": "t"}).json()
    uri = f"maestro://tasks/{task['id']}"
    async with (
        Client(stdio(db_path)) as client,
        client.listen(resource_subscriptions=[uri]) as subscription,
    ):

        def human_edits() -> None:
            with server.client() as http:
                http.patch(f"/api/tasks/{task['id']}", json={"status": "blocked"})

        await anyio.to_thread.run_sync(human_edits)
        with anyio.fail_after(10):
            event = await subscription.__anext__()
        assert getattr(event, "uri", None) == uri
