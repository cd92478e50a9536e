"""An MCP client of one instance hears of writes made on another: its resource
subscriptions are fed by the same event log (maestro_mcp/mcp_server/notifications.py);
two agents on two instances exchange a message live.

Notifications carry only a URI, so a test must know which write one is about: the client
subscribes to the watched task and to a marker task, renames the marker on its own
instance and reads notifications up to the marker's (they are told in log order, so any
notification still due for earlier writes comes before it); the next notification is
then the one for the write made on the other instance.
"""

from collections.abc import Awaitable, Callable

import anyio
import httpx2 as httpx
import pytest
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import ResourceUpdatedNotification

from tests.support.instances import Pair, new_project
from tests.support.mcp import Ear, call, hearing, new_task
from tests.support.servers import ServerProcess
from tests.support.waiting import WAIT

pytestmark = [pytest.mark.only_store("postgresql"), pytest.mark.anyio]
NextUri = Callable[[], Awaitable[str]]  # the URI of the next notification


def task_uri(task_id: str) -> str:
    return f"maestro://tasks/{task_id}"


def rename_on(instance: ServerProcess, task_id: str, title: str) -> None:
    with httpx.Client(base_url=instance.base_url, timeout=WAIT) as http:
        response = http.patch(f"/api/tasks/{task_id}", json={"title": title})
    assert response.status_code == 200, response.text


async def two_tasks(client: Client, a: ServerProcess) -> tuple[str, str]:
    """The watched task and the marker, made through ``client`` in a project made on A."""
    project_id, _ = await anyio.to_thread.run_sync(new_project, a.base_url)
    made = [(await new_task(client, project_id, title=t))["id"] for t in ("watched", "marker")]
    return made[0], made[1]


async def hears_the_write_on_a(pair: Pair, watched: str, marker: str, next_uri: NextUri) -> None:
    a, b = pair
    with anyio.fail_after(WAIT):
        await anyio.to_thread.run_sync(rename_on, b, marker, "marker, renamed on B")
        while await next_uri() != task_uri(marker):
            pass  # due for writes before the marker's
        await anyio.to_thread.run_sync(rename_on, a, watched, "renamed on A")
        assert await next_uri() == task_uri(watched)


async def test_a_2026_subscriber_on_b_hears_of_a_write_on_a(pair: Pair) -> None:
    a, b = pair
    async with Client(b.base_url + "/mcp") as client:
        watched, marker = await two_tasks(client, a)
        uris = [task_uri(watched), task_uri(marker)]
        async with client.listen(resource_subscriptions=uris) as subscription:

            async def next_uri() -> str:
                return str(getattr(await subscription.__anext__(), "uri", ""))

            await hears_the_write_on_a(pair, watched, marker, next_uri)
        read = await call(client, "get", id=watched)
        assert read["task"]["title"] == "renamed on A"


async def test_a_legacy_subscriber_on_b_hears_of_a_write_on_a(pair: Pair) -> None:
    a, b = pair
    send, receive = anyio.create_memory_object_stream[str](100)

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            await send.send(message.params.uri)

    async with (
        send,
        receive,
        Client(b.base_url + "/mcp", mode="legacy", message_handler=on_message) as client,
    ):
        watched, marker = await two_tasks(client, a)
        for uri in (task_uri(watched), task_uri(marker)):
            with pytest.warns(MCPDeprecationWarning):  # deprecated in the SDK; hosts use it
                await client.subscribe_resource(uri)
        await hears_the_write_on_a(pair, watched, marker, receive.receive)


@pytest.mark.parametrize(
    "mode", [pytest.param("auto", id="2026"), pytest.param("legacy", id="2025")]
)
async def test_two_agents_on_two_instances_exchange_a_message_live(pair: Pair, mode: str) -> None:
    """Agent A on instance A writes to agent B on instance B: B, subscribed to its inbox
    on B, hears of it (the message's commit reaches B through the log) and reads it."""
    a, b = pair
    project_id, _ = await anyio.to_thread.run_sync(new_project, a.base_url)
    async with (
        Ear() as ear,
        Client(a.base_url + "/mcp", mode=mode) as sender,
        Client(b.base_url + "/mcp", mode=mode, message_handler=ear.on_message) as reader,
    ):
        writer = await call(sender, "start_session", name="w", agent="codex", project=project_id)
        listener = await call(reader, "start_session", name="r", agent="claude", project=project_id)
        me = listener["session"]["id"]
        inbox = f"maestro://sessions/{me}/inbox"
        async with hearing(reader, ear, [inbox]) as next_uri:
            sent = await call(
                sender, "message", sessionId=writer["session"]["id"], to=["agent:claude"], body="hi"
            )
            with anyio.fail_after(WAIT):
                assert await next_uri() == inbox
        mail = await call(reader, "message", sessionId=me)
        assert [m["id"] for m in mail["inbox"]] == [sent["sent"]["id"]]
