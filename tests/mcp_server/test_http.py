"""MCP over streamable HTTP on a real uvicorn next to REST and the feeds (the tools and
resources in both protocol eras: the other modules here, through ``mcp_client``)."""

import threading
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.types import ResourceUpdatedNotification

from maestro_mcp.mcp_server import notifications
from tests.support.feeds import SseClient, WsClient
from tests.support.mcp import call
from tests.support.servers import LiveServer

pytestmark = pytest.mark.anyio


def mcp_url(server: LiveServer) -> str:
    return server.base_url + "/mcp"


async def test_mcp_write_reaches_websocket_and_sse_clients(
    server: LiveServer, rest_task: dict[str, Any]
) -> None:
    ws = WsClient(server.ws_url)
    sse = SseClient(server.base_url + "/api/events")
    for feed in (ws, sse):
        feed.until_ready()
    async with Client(mcp_url(server)) as client:
        result = await call(client, "update_task", taskId=rest_task["id"], status="completed")
    for feed in (ws, sse):
        [event] = await anyio.to_thread.run_sync(feed.take, 1)
        assert event["event"] == "task:updated"
        assert event["data"]["status"] == "completed"
        assert event["seq"] == result["seq"]
        feed.close()


def _rest_patch_in_thread(server: LiveServer, task_id: str, title: str) -> None:
    # The REST call comes from another client, like a human on the board.
    def patch() -> None:
        with server.client() as http:
            assert http.patch(f"/api/tasks/{task_id}", json={"title": title}).status_code == 200

    thread = threading.Thread(target=patch)
    thread.start()
    thread.join()


async def test_rest_update_notifies_a_2026_subscriber(
    server: LiveServer, rest_task: dict[str, Any]
) -> None:
    uri = f"maestro://tasks/{rest_task['id']}"
    async with Client(mcp_url(server)) as client:
        async with client.listen(resource_subscriptions=[uri]) as subscription:
            await anyio.to_thread.run_sync(
                _rest_patch_in_thread, server, rest_task["id"], "renamed"
            )
            with anyio.fail_after(10):
                event = await subscription.__anext__()
        assert getattr(event, "uri", None) == uri
        content = await client.read_resource(uri)
        assert "renamed" in content.contents[0].text  # type: ignore[union-attr]


async def test_rest_update_notifies_a_legacy_subscriber(
    server: LiveServer, rest_task: dict[str, Any]
) -> None:
    uri = f"maestro://tasks/{rest_task['id']}"
    send, receive = anyio.create_memory_object_stream[str](10)

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            await send.send(message.params.uri)

    async with (
        send,
        receive,
        Client(mcp_url(server), mode="legacy", message_handler=on_message) as client,
    ):
        # The 2025-era call is deprecated in the SDK, and still what most hosts speak.
        with pytest.warns(MCPDeprecationWarning):
            await client.subscribe_resource(uri)
        await anyio.to_thread.run_sync(_rest_patch_in_thread, server, rest_task["id"], "renamed")
        with anyio.fail_after(10):
            assert await receive.receive() == uri
        with pytest.warns(MCPDeprecationWarning):
            await client.unsubscribe_resource(uri)


async def test_mcp_endpoint_answers_without_redirect_and_checks_origin(
    server: LiveServer,
) -> None:
    headers: dict[str, Any] = {"Accept": "application/json, text/event-stream"}
    plain = server.http.post("/mcp", json={}, headers=headers)
    assert plain.status_code not in (301, 307, 308)
    foreign = server.http.post(
        "/mcp", json={}, headers={**headers, "Origin": "http://evil.example"}
    )
    assert foreign.status_code == 403
    assert foreign.json()["error"]["code"] == "forbidden_origin"
    rebound = server.http.post(
        "/mcp", json={}, headers={**headers, "Host": "attacker.example:3000"}
    )
    assert rebound.status_code == 421


async def test_what_a_legacy_client_may_subscribe_to_is_bounded(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only Maestro's URIs, and at most so many per connection: what a client subscribes
    to is kept for as long as it is connected."""
    monkeypatch.setattr(notifications, "SUBSCRIPTIONS_PER_CONNECTION", 3)
    async with Client(mcp_url(server), mode="legacy") as client:
        with pytest.warns(MCPDeprecationWarning), pytest.raises(MCPError, match="no resource"):
            await client.subscribe_resource("file:///etc/passwd")
        for n in range(3):
            with pytest.warns(MCPDeprecationWarning):
                await client.subscribe_resource(f"maestro://tasks/task_{n}")
        with pytest.warns(MCPDeprecationWarning), pytest.raises(MCPError, match="at most 3"):
            await client.subscribe_resource("maestro://tasks/task_3")
        with pytest.warns(MCPDeprecationWarning):
            await client.unsubscribe_resource("maestro://tasks/task_0")
        with pytest.warns(MCPDeprecationWarning):
            await client.subscribe_resource("maestro://tasks/task_3")  # room again
