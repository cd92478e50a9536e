"""The benchmark's lean feed readers (bench/wire.py), fed bytes directly: no server."""

import pytest

from bench.wire import WsFeed

pytestmark = pytest.mark.anyio


class Transport:
    """What a reader writes to its socket, and whether it closed it."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.closed = True


def frame(opcode: int, payload: bytes) -> bytes:
    """An unmasked, final server-to-client frame of under 126 bytes."""
    return bytes([0x80 | opcode, len(payload)]) + payload


def unmask(frame: bytes) -> tuple[int, bytes]:
    """A client frame's byte 0 and its payload, once the frame is checked to be masked."""
    assert frame[1] & 0x80, "a client's frames are masked"
    size = frame[1] & 0x7F
    mask, masked = frame[2:6], frame[6:]
    assert len(masked) == size
    return frame[0], bytes(byte ^ mask[n % 4] for n, byte in enumerate(masked))


async def an_open_feed() -> tuple[WsFeed, Transport, list[bytes]]:
    got: list[bytes] = []
    feed = WsFeed(b"GET /ws HTTP/1.1\r\n\r\n", got.append)
    transport = Transport()
    feed.connection_made(transport)  # type: ignore[arg-type]
    feed.data_received(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
    assert feed.opened.done()
    transport.written.clear()  # the request
    return feed, transport, got


async def test_a_ping_is_answered_with_a_masked_pong_carrying_its_payload() -> None:
    feed, transport, got = await an_open_feed()
    feed.data_received(frame(0x1, b'{"a":1}') + frame(0x9, b"\x00\x01ping") + frame(0x1, b"2"))
    assert got == [b'{"a":1}', b"2"]  # the ping is not a message, and nothing after it is lost
    (pong,) = transport.written
    assert unmask(pong) == (0x8A, b"\x00\x01ping")  # final pong, the ping's payload


async def test_a_ping_split_across_reads_is_answered_once_whole() -> None:
    feed, transport, _ = await an_open_feed()
    ping = frame(0x9, b"")
    feed.data_received(ping[:1])
    assert transport.written == []
    feed.data_received(ping[1:])
    (pong,) = transport.written
    assert unmask(pong) == (0x8A, b"")


async def test_a_close_frame_closes_the_feed() -> None:
    feed, transport, got = await an_open_feed()
    feed.data_received(frame(0x8, b"\x03\xe8") + frame(0x1, b"after"))
    assert transport.closed
    assert got == []
