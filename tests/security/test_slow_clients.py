"""Slow clients cannot hold the server (http_api/connections.py, the feeds' cut-off in
http_api/raw.py): a client trickling its request head is cut off at the head timeout;
clients that never read — live streams with a zero receive window, a WebSocket client
sending pings, a client of a large response — are cut off, while the server's memory
stays bounded and every other client is served. Each test runs a real server on
127.0.0.1; those that measure memory run ``maestro serve`` as its own process."""

import base64
import os
import socket
import struct
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from http_api import Settings, live
from tests.support.feeds import SocketSseClient, WsClient, slow_websocket
from tests.support.servers import LiveServer, ServerProcess, live_server, start_server_process
from tests.support.sockets import (
    connect,
    exchange,
    head,
    is_closed,
    memory_kb,
    parse_answer,
    read_to_end,
)
from tests.support.waiting import WAIT, wait_for

LATE = WAIT  # how late past a timeout its effect is waited for (a deadline)
# The head timeout of these tests is 1 s: by this much a trickling client is cut off
# (the trickle itself would take 5 s).
LATE = 2.0
MIB = 1024 * 1024


class Trickler:
    """Sends ``data`` one byte every ``interval`` seconds, in a thread, until it is all
    sent or the server closes the connection; then reads what the server answered."""

    def __init__(self, sock: socket.socket, data: bytes, interval: float) -> None:
        self.sock = sock
        self.data = data
        self.interval = interval
        self.answer = b""
        self.ended_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.began_at = time.monotonic()
        self._thread.start()

    def _run(self) -> None:
        try:
            for byte in self.data:
                self.sock.sendall(bytes([byte]))
                if is_closed(self.sock) or self._stop.wait(self.interval):
                    break
        except OSError:
            pass  # the server closed the connection under a send
        self.answer = read_to_end(self.sock)
        self.ended_at = time.monotonic()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(WAIT)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Connections are the same whatever the store: a SQLite file of the test's own."""
    return Settings(database=tmp_path / "maestro.db", poll_interval=0.02)


def served_meanwhile(server: LiveServer, until: Trickler) -> int:
    """Requests answered until ``until`` is done."""
    answered = 0
    with server.client() as http:
        while not until.done:
            assert http.get("/health").status_code == 200
            answered += 1
    return answered


def test_a_client_trickling_its_head_gets_408_at_the_head_timeout(settings: Settings) -> None:
    # A byte every 50 ms would take the head ~5 s to arrive; it gets 1 s.
    quick = replace(settings, head_timeout=1.0)
    with live_server(quick) as server, connect(server.base_url) as sock:
        request = head("GET", "/health", server.base_url, X_Slow="s" * 100)
        trickler = Trickler(sock, request, interval=0.05)
        answered = served_meanwhile(server, until=trickler)
        answer = parse_answer(trickler.answer)
    assert answer.status == 408
    assert answer.json()["error"]["code"] == "request_timeout"
    assert answer.headers["connection"] == "close"
    assert quick.head_timeout * 0.9 <= trickler.ended_at - trickler.began_at < LATE
    assert answered > 0


def test_the_next_request_on_a_connection_is_timed_from_its_first_byte(
    settings: Settings,
) -> None:
    # A keep-alive connection's second request: its head has its own deadline, which
    # the connection's age does not shorten.
    quick = replace(settings, head_timeout=1.0, keep_alive_timeout=WAIT)
    with live_server(quick) as server, connect(server.base_url) as sock:
        assert exchange(sock, head("GET", "/health", server.base_url)).status == 200
        request = head("GET", "/health", server.base_url, X_Slow="s" * 100)
        trickler = Trickler(sock, request, interval=0.05)
        served_meanwhile(server, until=trickler)
        assert parse_answer(trickler.answer).status == 408
        assert quick.head_timeout * 0.9 <= trickler.ended_at - trickler.began_at < LATE
        # Sent in time, the same head is served.
        with connect(server.base_url) as prompt:
            assert exchange(prompt, request).status == 200


def test_a_head_waiting_behind_a_live_stream_is_not_late(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pipelined behind an SSE stream, the next request's head waits on the server, not
    # on the client: the stream outlives the head timeout several times over.
    monkeypatch.setattr(live, "SSE_PING_INTERVAL", 0.1)
    quick = replace(settings, head_timeout=0.3)
    with live_server(quick) as server, connect(server.base_url) as sock:
        sock.sendall(head("GET", "/api/events", server.base_url) + b"GET /health HTTP/1.1\r\nHo")
        stream = sock.makefile("rb")
        assert stream.readline().startswith(b"HTTP/1.1 200")
        began = time.monotonic()
        pings = 0
        while pings < 4 * quick.head_timeout / live.SSE_PING_INTERVAL:
            line = stream.readline()
            assert line, "the stream ended"
            pings += line.startswith(b": ping")
        assert time.monotonic() - began > 3 * quick.head_timeout
        server.http.post("/api/projects", json={"name": "still live"})
        while b"project:created" not in (line := stream.readline()):
            assert line, "the stream ended"


# --- clients that never read ------------------------------------------------------------

# Events written past the clients that never read: far more than their socket buffers
# and the feeds' 16 MiB bound (docs/operations.md, "Slow clients"), each event ~200 kB.
FLOOD_BYTES = 40 * MIB
PROMPT = "p" * 200_000
SLOW_CLIENTS = 8  # of each kind


def _flood(server: ServerProcess, healthy: WsClient) -> int:
    """Write ``FLOOD_BYTES`` of events, each read by ``healthy`` in order as it comes;
    returns the seq of the last."""
    with server.client() as http:
        project = http.post("/api/projects", json={"name": "flood"}).json()
        assert healthy.recv()["event"] == "project:created"
        seq = 0
        for i in range(FLOOD_BYTES // len(PROMPT)):
            task = {"projectId": project["id"], "title": f"t{i}", "prompt": PROMPT}
            response = http.post("/api/tasks", json=task)
            assert response.status_code == 201
            message = healthy.recv()
            assert message["data"]["title"] == f"t{i}"
            seq = message["seq"]
    return seq


def _sse_cut_off(client: SocketSseClient, last_seq: int) -> None:
    """It got a gap-free run of events, then its stream ended before the last one
    (with its reset, or dropped when it did not read that far in time)."""
    seqs = []
    while (message := client.recv())["event"] not in ("sync:reset", "_closed"):
        seqs.append(int(message["_id"]))
    assert seqs == list(range(1, len(seqs) + 1))
    assert seqs[-1] < last_seq
    client.close()


def _ws_cut_off(client: WsClient, last_seq: int) -> None:
    """The same on a WebSocket: events, then a reset and a close, or a dropped connection."""
    seqs = []
    while (message := _ws_next(client)) is not None:
        if message["event"] != "sync:reset":
            seqs.append(message["seq"])
    assert seqs == list(range(1, len(seqs) + 1))
    assert seqs[-1] < last_seq
    client.close()


def _ws_next(client: WsClient) -> dict[str, Any] | None:
    """The next message, None once the connection has ended (closed or dropped)."""
    try:
        return client.recv()
    except ConnectionClosed:
        return None


def _send_until_refused(sock: socket.socket, data: bytes, most: int) -> int:
    """Send ``data`` again and again until the server drops the connection; the bytes
    sent by then. Fails if ``most`` bytes go without that."""
    sent = 0
    try:
        while sent < most:
            sock.sendall(data)
            sent += len(data)
    except (BrokenPipeError, ConnectionResetError):
        return sent
    raise AssertionError(f"{sent} bytes sent and the connection is still open")


def test_live_clients_that_never_read_are_cut_off_and_memory_stays_bounded(
    database: str,
) -> None:
    server = start_server_process(database)
    try:
        healthy = WsClient(server.ws_url)
        healthy.until_ready()
        sse = [
            SocketSseClient(server.base_url + "/api/events", rcvbuf=4096)
            for _ in range(SLOW_CLIENTS)
        ]
        ws = [slow_websocket(server.ws_url) for _ in range(SLOW_CLIENTS)]
        for client in (*sse, *ws):
            client.until_ready()  # then they read nothing more
        before = memory_kb(server.pid)

        last_seq = _flood(server, healthy)

        grown = (memory_kb(server.pid, "VmHWM") - before) / 1024
        print(
            f"flood of {FLOOD_BYTES // MIB} MiB past {2 * SLOW_CLIENTS} clients: +{grown:.0f} MiB"
        )
        # The events' bytes are made once and shared by every client (http_api/raw.py);
        # each client holds at most 16 MiB of them unread before it is cut off, and a
        # few seconds more for its goodbye. Measured: +34 MiB for the flood alone, +66
        # with these 16 clients, +65 with 60. Copied per client and never cut off, the
        # events would hold 16 times 40 MiB.
        assert grown < 150
        for client in sse:
            _sse_cut_off(client, last_seq)
        for client in ws:
            _ws_cut_off(client, last_seq)
        healthy.close()
    finally:
        server.stop()


def test_a_websocket_client_pinging_but_never_reading_is_dropped(database: str) -> None:
    # Each ping wants a pong; a client that sends pings and reads nothing made the
    # server buffer pongs as fast as it sent pings (250 MB in seconds).
    server = start_server_process(database)
    try:
        before = memory_kb(server.pid)
        with connect(server.base_url, rcvbuf=4096) as sock:
            key = base64.b64encode(os.urandom(16)).decode()
            upgrade = head(
                "GET",
                "/ws",
                server.base_url,
                Upgrade="websocket",
                Connection="Upgrade",
                Sec_WebSocket_Key=key,
                Sec_WebSocket_Version="13",
            )
            sock.sendall(upgrade)
            received = b""
            while b"sync:ready" not in received:  # the handshake's answer, then the feed's
                data = sock.recv(4096)
                assert data, received
                received += data
            assert received.startswith(b"HTTP/1.1 101"), received
            pings = _masked_ping(b"p" * 125) * 1000  # 131 kB of pings, 127 kB of pongs
            sent = _send_until_refused(sock, pings, 200 * MIB)
        grown = (memory_kb(server.pid, "VmHWM") - before) / 1024
        print(f"pings until dropped: {sent / MIB:.0f} MiB; server +{grown:.0f} MiB")
        # Dropped once 16 MiB of pongs wait unread (a small write costs uvloop more than
        # its bytes): without that, the 200 MiB are all sent and answered.
        assert sent < 100 * MIB
        assert grown < 100
        with server.client() as http:
            assert http.get("/health").status_code == 200
    finally:
        server.stop()


def _masked_ping(payload: bytes) -> bytes:
    """A client's ping frame (clients mask every frame: here with a zero mask)."""
    assert len(payload) <= 125
    return struct.pack("!BB", 0x89, 0x80 | len(payload)) + b"\x00" * 4 + payload


def test_a_client_that_reads_none_of_a_large_response_is_dropped_at_the_send_timeout(
    settings: Settings,
) -> None:
    quick = replace(settings, send_timeout=0.5)
    with live_server(quick) as server:
        _many_prompts(server, 20)  # a list of ~4 MB
        baseline = len(server.connections)
        with connect(server.base_url, rcvbuf=4096) as sock:
            sock.sendall(head("GET", "/api/tasks", server.base_url))
            wait_for(lambda: len(server.connections) == baseline + 1, what="the connection")
            began = time.monotonic()
            wait_for(
                lambda: len(server.connections) == baseline,
                timeout=quick.send_timeout * 1.5 + LATE,
                what="the reader dropped",
            )
            assert time.monotonic() - began >= quick.send_timeout * 0.9
            received = read_to_end(sock)
        assert received.startswith(b"HTTP/1.1 200")
        assert len(received) < 4 * MIB  # it did not get it all


def test_a_client_reading_a_large_response_slowly_gets_all_of_it(settings: Settings) -> None:
    # The send timeout is for a client that takes nothing: one that keeps taking some,
    # however slowly, is never dropped.
    quick = replace(settings, send_timeout=0.5)
    with live_server(quick) as server:
        _many_prompts(server, 20)  # a list of ~4 MB
        with connect(server.base_url, rcvbuf=4096) as sock:
            sock.sendall(head("GET", "/api/tasks", server.base_url, Connection="close"))
            received = bytearray()
            began = time.monotonic()
            while data := sock.recv(16 * 1024):
                received += data
                time.sleep(0.002)  # a few MB/s at most: longer than a send timeout
            assert time.monotonic() - began > 2 * quick.send_timeout
        answer = parse_answer(bytes(received))
        assert answer.status == 200
        assert len(answer.body) > 20 * len(PROMPT)


def test_an_sse_stream_sent_through_asgi_ends_once_a_send_waits_the_send_timeout(
    settings: Settings,
) -> None:
    # Under any ASGI server (here uvicorn's own protocol: no raw chunks, no watch on
    # the connection) the stream itself gives up on a client that reads nothing.
    quick = replace(settings, send_timeout=0.5)
    with live_server(quick, http="httptools") as server:
        subscribers = server.feed.subscriber_count
        slow = SocketSseClient(server.base_url + "/api/events", rcvbuf=4096)
        slow.until_ready()
        wait_for(lambda: server.feed.subscriber_count == subscribers + 1, what="subscribed")
        _many_prompts(server, 20)  # 4 MB of events, far past the socket buffers
        wait_for(
            lambda: server.feed.subscriber_count == subscribers,
            timeout=quick.send_timeout + LATE,
            what="the stream ended",
        )
        slow.close()


def _many_prompts(server: LiveServer, count: int) -> None:
    project = server.http.post("/api/projects", json={"name": "large"}).json()
    for i in range(count):
        task = {"projectId": project["id"], "title": f"t{i}", "prompt": PROMPT}
        assert server.http.post("/api/tasks", json=task).status_code == 201
