"""Two instances behind a real balancer: nginx, with the documented configuration
(docs/nginx.conf, rendered by tests/support/nginx.py). Clients know nginx's address only.

Which instance a client landed on is found out, not guessed: nginx holds one upstream
connection per live stream and none between requests, so the instance whose count of
established connections grew when a client connected is the one serving it.
"""

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import anyio
import httpx2 as httpx
import pytest
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import ResourceUpdatedNotification

from tests.support import nginx
from tests.support.ci import missing
from tests.support.instances import (
    FollowingFeed,
    LoadLoop,
    Pair,
    all_acks,
    head_of,
    new_project,
    running,
    task_ids,
)
from tests.support.mcp import call, new_task
from tests.support.servers import ServerProcess
from tests.support.waiting import WAIT, wait_for

pytestmark = pytest.mark.only_store("postgresql")


def port_of(instance: ServerProcess) -> int:
    return int(instance.base_url.rsplit(":", 1)[1])


@pytest.fixture
def nginx_installed() -> None:
    """Skips the test without nginx (before any instance is started), fails it on CI."""
    reason = nginx.unavailable_reason()
    if reason is not None:
        missing(reason)


@pytest.fixture
def proxy(nginx_installed: None, pair: Pair, tmp_path: Path) -> Iterator[nginx.Nginx]:
    """nginx in front of the pair, on a free loopback port."""
    upstreams = [i.base_url.removeprefix("http://") for i in pair]
    running_nginx = nginx.start_nginx(tmp_path / "nginx", upstreams)
    yield running_nginx
    running_nginx.stop()


def connect_through(
    proxy: nginx.Nginx, pair: Pair, kind: Literal["ws", "sse"], since: int
) -> tuple[FollowingFeed, ServerProcess]:
    """A feed client connected through nginx, and the instance it landed on."""
    ports = {port_of(i): i for i in pair}

    def streams() -> dict[int, int]:
        return {port: nginx.established_to(port) for port in ports}

    before = streams()
    url = proxy.ws_url if kind == "ws" else proxy.base_url
    feed = FollowingFeed(kind, [url], since=since)
    wait_for(
        lambda: sum(streams().values()) == sum(before.values()) + 1,
        what="the client's stream to be the one new upstream connection",
    )
    [grown] = [port for port, count in streams().items() if count > before[port]]
    return feed, ports[grown]


def test_clients_behind_nginx_resume_on_the_other_instance_when_theirs_is_killed(
    pair: Pair, proxy: nginx.Nginx
) -> None:
    """WebSocket and SSE clients connect through nginx until each kind has one on each
    instance; writes go through nginx; instance A is killed with SIGKILL under that load.
    Its clients reconnect through nginx, land on B and resume from their last seq: every
    client ends with the same events, seqs start+1..head, none missing, none twice. Every
    acknowledged write is there, its event at its seq; writes in flight at the kill are
    the only ones that failed (nginx answers 502 for them: they may or may not be made)."""
    a, b = pair
    project_id, start = new_project(proxy.base_url)
    wait_for(
        lambda: nginx.established_to(port_of(a)) + nginx.established_to(port_of(b)) == 0,
        what="no upstream connection left open by the last request",
    )
    clients: list[tuple[FollowingFeed, ServerProcess]] = []
    for kind in ("ws", "sse"):
        for _ in range(6):  # bounded; nginx takes the instances in turn, so two will do
            if {on.base_url for feed, on in clients if feed.kind == kind} == {
                a.base_url,
                b.base_url,
            }:
                break
            clients.append(connect_through(proxy, pair, kind, start))
    on_a = [feed for feed, on in clients if on is a]
    assert {feed.kind for feed in on_a} == {"ws", "sse"}, [(f.kind, o.base_url) for f, o in clients]
    loop = LoadLoop([proxy.base_url], project_id, name="through nginx", max_requests=2000)
    with running([loop]):
        wait_for(lambda: len(loop.acks) >= 30, what="writes through nginx")
        killing = loop.acks[-1].at
        a.kill()
        wait_for(
            lambda: len([ack for ack in loop.acks if ack.at > killing]) >= 30,
            what="writes through nginx after A was killed",
        )
    assert not loop.unexpected
    assert all(f.at >= killing for f in loop.failures), loop.failures
    acks = all_acks([loop])
    assert task_ids(proxy.base_url, project_id) >= {ack.task_id for ack in acks}
    head = head_of(proxy.base_url)
    for feed, on in clients:
        feed.follow_until(head)
        feed.close()
        assert feed.seqs == list(range(start + 1, head + 1)), (feed.kind, on.base_url)
        assert len(feed.connections) == (2 if on is a else 1), (feed.kind, feed.connections)
        assert feed.events == clients[0][0].events
    by_seq = {e["seq"]: e for e in clients[0][0].events}
    for ack in acks:
        assert by_seq[ack.seq]["data"]["id"] == ack.task_id


def rename_through(proxy: nginx.Nginx, task_id: str, title: str) -> None:
    with httpx.Client(base_url=proxy.base_url, timeout=WAIT) as http:
        assert http.patch(f"/api/tasks/{task_id}", json={"title": title}).status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_mcp_through_nginx(pair: Pair, proxy: nginx.Nginx, mode: str) -> None:
    """An MCP client that knows nginx's address only, of either era: its tool calls work
    (a 2025-era client keeps its session: nginx sends it to one instance), and its
    subscription (an SSE stream through nginx, unbuffered) tells it of a write at once.
    As in test_mcp.py, a marker task renamed first tells apart any notification due for
    earlier writes."""
    send, receive = anyio.create_memory_object_stream[str](100)

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            await send.send(message.params.uri)

    async with (
        send,
        receive,
        Client(proxy.base_url + "/mcp", mode=mode, message_handler=on_message) as client,
    ):
        project = (await call(client, "create_project", name="through nginx"))["project"]
        made = [
            (await new_task(client, project["id"], title=t))["id"] for t in ("watched", "marker")
        ]
        listed = await call(client, "list_tasks", project=project["id"])
        assert [t["id"] for t in listed["tasks"]] == made
        uris = [f"maestro://tasks/{task_id}" for task_id in made]
        async with contextlib.AsyncExitStack() as stack:
            if mode == "legacy":
                for uri in uris:
                    with pytest.warns(MCPDeprecationWarning):  # hosts still use it
                        await client.subscribe_resource(uri)
                next_uri = receive.receive
            else:
                subscription = await stack.enter_async_context(
                    client.listen(resource_subscriptions=uris)
                )

                async def next_uri() -> str:
                    return str(getattr(await subscription.__anext__(), "uri", ""))

            with anyio.fail_after(WAIT):
                await anyio.to_thread.run_sync(rename_through, proxy, made[1], "marker, renamed")
                while await next_uri() != uris[1]:
                    pass
                await anyio.to_thread.run_sync(rename_through, proxy, made[0], "renamed")
                assert await next_uri() == uris[0]
