"""``maestro mcp`` as agent hosts run it, next to a running server on the same database
file (the tools and resources over stdio: the other modules here, through ``mcp_client``).
Both are the package's shared ones: starting ``maestro mcp`` takes about a second."""

import anyio
import pytest
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import ResourceUpdatedNotification

from tests.support.feeds import WsClient
from tests.support.mcp import call, new_task, unique
from tests.support.servers import LiveServer, stdio_server

pytestmark = pytest.mark.anyio


async def test_stdio_write_reaches_a_running_servers_websocket(
    shared_server: LiveServer, shared_stdio_auto: Client
) -> None:
    ws = WsClient(shared_server.ws_url)
    ws.until_ready()
    client = shared_stdio_auto
    project = await call(client, "create_project", name=unique("From an agent"))
    created = await new_task(client, project["project"]["id"], title="written over stdio")
    events = await anyio.to_thread.run_sync(ws.take, 2)
    assert [e["event"] for e in events] == ["project:created", "task:created"]
    assert events[1]["data"]["id"] == created["id"]
    ws.close()


async def test_stdio_agent_hears_about_a_change_made_through_the_server(
    shared_server: LiveServer, shared_stdio_auto: Client
) -> None:
    project = shared_server.http.post("/api/projects", json={"name": "Demo"}).json()
    task = shared_server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "t"}
    ).json()
    uri = f"maestro://tasks/{task['id']}"
    async with shared_stdio_auto.listen(resource_subscriptions=[uri]) as subscription:

        def human_edits() -> None:
            with shared_server.client() as http:
                http.patch(f"/api/tasks/{task['id']}", json={"status": "blocked"})

        await anyio.to_thread.run_sync(human_edits)
        with anyio.fail_after(10):
            event = await subscription.__anext__()
        assert getattr(event, "uri", None) == uri


async def test_a_2025_era_stdio_agent_hears_about_changes_through_its_outbox(
    shared_server: LiveServer, shared_database: str
) -> None:
    """``resources/subscribe`` over stdio: each change reaches the agent through its
    outbox (maestro_mcp/mcp_server/outbox.py), one after the other, as it reads them."""
    project = shared_server.http.post("/api/projects", json={"name": unique("Demo")}).json()
    task = shared_server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "t"}
    ).json()
    uri = f"maestro://tasks/{task['id']}"
    send, heard = anyio.create_memory_object_stream[str](10)

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            send.send_nowait(str(message.params.uri))

    server = stdio_server(shared_database)
    async with send, heard, Client(server, mode="legacy", message_handler=on_message) as client:
        with pytest.warns(MCPDeprecationWarning):  # the 2025-era call, deprecated in the SDK
            await client.subscribe_resource(uri)
        for status in ("blocked", "in_progress"):

            def human_edits(status: str = status) -> None:
                with shared_server.client() as http:
                    http.patch(f"/api/tasks/{task['id']}", json={"status": status})

            await anyio.to_thread.run_sync(human_edits)
            with anyio.fail_after(10):
                assert await heard.receive() == uri
