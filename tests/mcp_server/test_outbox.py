"""Each 2025-era client's outbox of change notifications (maestro_mcp/mcp_server/outbox.py),
over connections whose channel to their client the test controls. End to end, over a
real server: tests/security/test_mcp_slow_client.py."""

import gc
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import pytest
from mcp.server.connection import Connection

from maestro_mcp.mcp_server.outbox import CutOffReason, Outboxes, OutboxLimits
from tests.support.waiting import WAIT

pytestmark = pytest.mark.anyio

LEGACY = "2025-11-25"


class Channel:
    """A connection's channel to its client: it takes each notification at once, or,
    ``stalled``, never (a client that stopped reading)."""

    def __init__(self, *, stalled: bool = False, broken: bool = False) -> None:
        self.stalled = stalled
        self.broken = broken
        self.waiting = anyio.Event()  # a send waits on the stalled client
        self.given_up = anyio.Event()  # a send that waited was cancelled
        self.sent, self._heard = anyio.create_memory_object_stream[str](100)

    async def notify(self, method: str, params: Mapping[str, Any] | None, opts: Any = None) -> None:
        assert method == "notifications/resources/updated"
        assert params is not None
        if self.stalled:
            self.waiting.set()
            try:
                await anyio.sleep_forever()
            finally:
                self.given_up.set()
        if self.broken:
            raise RuntimeError("a bug in the channel")
        self.sent.send_nowait(params["uri"])

    async def send_raw_request(self, method: str, params: Any, opts: Any = None) -> Any:
        raise NotImplementedError

    async def next_sent(self) -> str:
        with anyio.fail_after(WAIT):
            return await self._heard.receive()

    def close(self) -> None:
        self.sent.close()
        self._heard.close()


class Streams:
    """The HTTP face's notification streams: which sessions' were ended."""

    def __init__(self) -> None:
        self.dropped: list[str] = []

    def drop(self, session_id: str) -> bool:
        self.dropped.append(session_id)
        return True


def connection(channel: Channel, session_id: str) -> Connection:
    return Connection(channel, protocol_version=LEGACY, session_id=session_id)


@pytest.fixture
async def channels() -> AsyncIterator[list[Channel]]:
    made: list[Channel] = []
    yield made
    for channel in made:
        channel.close()


def limits(max_count: int = 100, send_timeout: float = WAIT) -> OutboxLimits:
    return OutboxLimits(max_count=max_count, send_timeout=send_timeout)


async def test_a_client_that_stopped_reading_holds_up_no_other(channels: list[Channel]) -> None:
    stalled, reading = Channel(stalled=True), Channel()
    channels += [stalled, reading]
    outboxes = Outboxes(limits())
    slow, fast = connection(stalled, "slow"), connection(reading, "fast")
    async with outboxes.running():
        for n in range(3):
            # put() takes no time whatever the clients do: the notifier never waits.
            outboxes.put(slow, [f"maestro://tasks/{n}"])
            outboxes.put(fast, [f"maestro://tasks/{n}"])
            assert await reading.next_sent() == f"maestro://tasks/{n}"
        assert stalled.waiting.is_set()


async def test_an_outbox_holds_each_uri_once_in_the_order_they_changed(
    channels: list[Channel],
) -> None:
    stalled = Channel(stalled=True)
    channels.append(stalled)
    outboxes = Outboxes(limits())
    client = connection(stalled, "s")
    async with outboxes.running():
        outboxes.put(client, ["a", "b", "a"])
        with anyio.fail_after(WAIT):
            await stalled.waiting.wait()  # "a" is being sent
        outboxes.put(client, ["b", "c", "a"])
        box = outboxes.outbox(client)
        assert box is not None
        assert list(box.pending) == ["b", "c", "a"]


async def test_a_client_whose_outbox_would_overflow_is_cut_off_and_its_stream_ended(
    channels: list[Channel],
) -> None:
    stalled = Channel(stalled=True)
    channels.append(stalled)
    outboxes = Outboxes(limits(max_count=3))
    streams = Streams()
    outboxes.streams = streams
    client = connection(stalled, "s1")
    async with outboxes.running():
        outboxes.put(client, ["a"])
        with anyio.fail_after(WAIT):
            await stalled.waiting.wait()
        outboxes.put(client, ["b", "c", "d"])  # "a" is out: three wait, at the bound
        outboxes.put(client, ["c", "b"])  # waiting already: nothing more
        box = outboxes.outbox(client)
        assert box is not None
        assert not box.cut_offs
        assert streams.dropped == []
        outboxes.put(client, ["e"])
        assert box.cut_offs == {CutOffReason.FULL: 1}
        assert not box.pending  # released at once
        assert streams.dropped == ["s1"]
        # A client that comes back hears of the next changes.
        outboxes.put(client, ["f"])
        assert list(box.pending) == ["f"]


async def test_a_send_that_waits_past_the_timeout_cuts_the_client_off(
    channels: list[Channel],
) -> None:
    stalled = Channel(stalled=True)
    channels.append(stalled)
    outboxes = Outboxes(limits(send_timeout=0.05))
    streams = Streams()
    outboxes.streams = streams
    client = connection(stalled, "s1")
    async with outboxes.running():
        outboxes.put(client, ["a", "b"])
        with anyio.fail_after(WAIT):
            await stalled.given_up.wait()
        box = outboxes.outbox(client)
        assert box is not None
        assert box.cut_offs == {CutOffReason.STALLED: 1}
        assert not box.pending
        assert streams.dropped == ["s1"]


async def test_without_streams_a_cut_off_drops_what_waited(channels: list[Channel]) -> None:
    """stdio: one client per process, and no stream of its own to end."""
    stalled = Channel(stalled=True)
    channels.append(stalled)
    outboxes = Outboxes(limits(max_count=1))
    client = connection(stalled, "stdio")
    async with outboxes.running():
        outboxes.put(client, ["a"])
        with anyio.fail_after(WAIT):
            await stalled.waiting.wait()
        outboxes.put(client, ["b", "c"])
        box = outboxes.outbox(client)
        assert box is not None
        assert box.cut_offs == {CutOffReason.FULL: 1}
        assert not box.pending


async def test_a_send_that_fails_is_logged_and_the_others_go_on(
    channels: list[Channel], caplog: pytest.LogCaptureFixture
) -> None:
    broken, reading = Channel(broken=True), Channel()
    channels += [broken, reading]
    outboxes = Outboxes(limits())
    failing, fine = connection(broken, "broken"), connection(reading, "fine")
    async with outboxes.running():
        outboxes.put(failing, ["a", "b"])
        outboxes.put(fine, ["a"])
        assert await reading.next_sent() == "a"
        outboxes.put(fine, ["b"])
        assert await reading.next_sent() == "b"
    [record] = [r for r in caplog.records if "failed" in r.getMessage()]
    assert record.exc_info is not None


async def test_a_connection_that_goes_is_forgotten_with_its_outbox(
    channels: list[Channel],
) -> None:
    reading = Channel()
    channels.append(reading)
    outboxes = Outboxes(limits())
    async with outboxes.running():
        client = connection(reading, "s")
        outboxes.put(client, ["a"])
        assert await reading.next_sent() == "a"
        assert len(outboxes.outboxes()) == 1
        del client
        gc.collect()
        assert outboxes.outboxes() == []
