"""The fan-out floor (bench/floor_server.py) batches as Maestro does: the frames of one
loop turn go out together on the next, one write per client."""

import asyncio

import pytest

from bench.floor_server import Floor, text_frame

pytestmark = pytest.mark.anyio


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


def event(marker: str) -> bytes:
    return text_frame(f'{{"title":"m{marker}"}}'.ljust(40).encode())


async def test_the_writes_of_one_turn_reach_each_client_in_one_write() -> None:
    floor = Floor(payload_bytes=40)
    clients = [Transport(), Transport()]
    floor.clients.update(clients)  # type: ignore[arg-type]
    floor.broadcast(b'{"title": "ma"}')
    floor.broadcast(b'{"title": "mb"}')
    assert all(c.written == [] for c in clients)  # not during the turn that read them
    await asyncio.sleep(0)
    for client in clients:
        assert client.written == [event("a") + event("b")]
    floor.broadcast(b'{"title": "mc"}')  # a later turn: a pass of its own
    await asyncio.sleep(0)
    for client in clients:
        assert client.written == [event("a") + event("b"), event("c")]
