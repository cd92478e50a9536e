"""The server's connections are bounded (http_api/connections.py): how many it serves,
how long one may sit idle, how large a request's head may be, and how many the
process's file descriptors allow. Each test runs a real uvicorn on 127.0.0.1.

Connections are the same whatever the store: these tests use a SQLite file of their
own rather than running on both stores."""

import json
import re
import resource
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from functools import partial
from pathlib import Path

import httpx2 as httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import CloseCode

from http_api import Settings
from http_api.connections import RESERVED_DESCRIPTORS
from maestro_mcp.protocol import RETRY_AFTER_HEADER, RETRY_AFTER_OVER_CAPACITY_S
from tests.support.feeds import SseClient, WsClient
from tests.support.servers import LiveServer, live_server, start_server_process
from tests.support.sockets import (
    connect,
    exchange,
    head,
    is_closed,
    parse_answer,
    read_to_end,
)
from tests.support.waiting import WAIT, wait_for

# How late past a timeout a test waits for its effect (a deadline, not a measurement:
# how quickly clients are answered is the benchmark's to measure, never a test's).
LATE = WAIT


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database=tmp_path / "maestro.db", poll_interval=0.02)


@contextmanager
def sockets(base_url: str, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that say nothing; closed on exit."""
    with ExitStack() as stack:
        opened = []
        for _ in range(count):
            sock = stack.enter_context(connect(base_url))
            opened.append(sock)
        yield opened


def still_served(server: LiveServer) -> None:
    """A client gets answers to reads and writes, and a live feed."""
    with server.client() as http:
        for _ in range(10):
            assert http.get("/health").status_code == 200
        assert http.post("/api/projects", json={"name": "still served"}).status_code == 201
    ws = WsClient(server.ws_url)
    ws.until_ready()
    ws.close()


def test_a_thousand_idle_connections_leave_others_served(settings: Settings) -> None:
    # The default cap leaves room for thousands of live clients: a thousand connections
    # that say nothing (a thousand idle browsers, or an attacker's) change nothing for
    # the next client, and none of them is refused or dropped before its head is late
    # (given time here, on a machine that may be slow).
    patient = replace(settings, head_timeout=WAIT * 6)
    assert patient.max_connections == Settings(database="").max_connections  # the default
    with live_server(patient) as server, sockets(server.base_url, 1000) as idle:
        wait_for(lambda: server.connections.admitted >= 1000, what="1,000 connections")
        still_served(server)
        assert not any(is_closed(sock) for sock in idle)
        answer = exchange(idle[0], head("GET", "/health", server.base_url))
        assert answer.status == 200


def test_a_connection_that_sends_nothing_is_closed_at_the_head_timeout(
    settings: Settings,
) -> None:
    quick = replace(settings, head_timeout=0.5)
    with live_server(quick) as server, sockets(server.base_url, 50) as idle:
        began = time.monotonic()
        wait_for(
            lambda: all(is_closed(sock) for sock in idle),
            timeout=quick.head_timeout + LATE,
            what="idle connections closed",
        )
        assert time.monotonic() - began >= quick.head_timeout * 0.9
        # Without a word: it asked nothing (a browser's spare connection gets no 408).
        assert read_to_end(idle[0]) == b""
        assert server.connections.admitted == 0


def test_an_idle_connection_between_requests_is_closed_at_the_keep_alive_timeout(
    settings: Settings,
) -> None:
    # The head timeout is longer: what closes the connection is its idleness after an
    # answer, not a late head.
    quick = replace(settings, keep_alive_timeout=0.3, head_timeout=WAIT)
    with live_server(quick) as server, connect(server.base_url) as sock:
        assert exchange(sock, head("GET", "/health", server.base_url)).status == 200
        answered = time.monotonic()
        assert not is_closed(sock)
        wait_for(
            lambda: is_closed(sock),
            timeout=quick.keep_alive_timeout + LATE,
            what="the idle connection closed",
        )
        assert time.monotonic() - answered >= quick.keep_alive_timeout * 0.9
        assert read_to_end(sock) == b""


def test_past_the_cap_a_new_connection_gets_503_and_the_served_ones_go_on(
    settings: Settings,
) -> None:
    capped = replace(settings, max_connections=6, head_timeout=WAIT * 3)
    with live_server(capped) as server, sockets(server.base_url, 2) as idle:
        # Live streams hold their connection: two WebSockets, two SSE streams and two
        # connections that say nothing fill the server.
        ws = [WsClient(server.ws_url) for _ in range(2)]
        sse = [SseClient(server.base_url + "/api/events") for _ in range(2)]
        for client in (*ws, *sse):
            client.until_ready()
        wait_for(lambda: server.connections.admitted == 6, what="six connections served")

        # A request on a new connection: 503 in the error shape, with Retry-After, closed.
        with connect(server.base_url) as extra:
            extra.sendall(head("GET", "/health", server.base_url))
            answer = parse_answer(read_to_end(extra))
        assert answer.status == 503
        assert answer.json()["error"]["code"] == "over_capacity"
        assert answer.headers[RETRY_AFTER_HEADER.lower()] == str(RETRY_AFTER_OVER_CAPACITY_S)
        assert answer.headers["connection"] == "close"
        # A WebSocket handshake and an SSE request: the same answer.
        with pytest.raises(InvalidStatus) as refused:
            WsClient(server.ws_url)
        assert refused.value.response.status_code == 503
        with httpx.Client(base_url=server.base_url, timeout=WAIT) as http:
            assert http.get("/api/events").status_code == 503

        # Those served are served on: the streams get the next event, and a connection
        # that had said nothing gets its answer.
        project = {"name": "for the streams"}
        answer = exchange(idle[0], _post_json("/api/projects", project, server.base_url))
        assert answer.status == 201
        for client in (*ws, *sse):
            assert client.recv()["event"] == "project:created"

        # One leaves: there is room again.
        ws[0].close()
        wait_for(lambda: server.connections.admitted == 5, what="a connection released")
        with httpx.Client(base_url=server.base_url, timeout=WAIT) as http:
            assert http.get("/health").status_code == 200
        for client in (ws[1], *sse):
            client.close()


def _post_json(path: str, body: dict[str, str], base_url: str) -> bytes:
    data = json.dumps(body).encode()
    return (
        head(
            "POST",
            path,
            base_url,
            Content_Type="application/json",
            Content_Length=str(len(data)),
        )
        + data
    )


def test_a_head_over_the_limit_gets_431_and_is_not_kept(settings: Settings) -> None:
    # httptools keeps every header it is given: without a limit, a client sending
    # headers without end grew the server by as much and got no answer.
    with live_server(settings) as server, connect(server.base_url) as sock:
        sock.sendall(head("GET", "/health", server.base_url)[:-2])  # the head goes on
        junk = b"X-Junk: " + b"a" * 8000 + b"\r\n"
        with pytest.raises((BrokenPipeError, ConnectionResetError)):  # the server closed it
            sock.sendall(junk * 1000)  # 8 MB: more than any socket buffers hold
        answer = parse_answer(read_to_end(sock))
    assert answer.status == 431
    assert answer.json()["error"]["code"] == "head_too_large"


def test_a_head_as_large_as_the_limit_is_served(settings: Settings) -> None:
    with live_server(settings) as server, connect(server.base_url) as sock:
        request = head("GET", "/health", server.base_url)
        filler = settings.max_head_bytes - len(request) - len("X-Filler: \r\n")
        request = head("GET", "/health", server.base_url, X_Filler="a" * filler)
        assert len(request) == settings.max_head_bytes
        assert exchange(sock, request).status == 200
        # Then the next request on the connection is counted from its own first byte.
        assert exchange(sock, request).status == 200


def test_a_websocket_message_over_the_body_limit_closes_the_websocket(
    settings: Settings,
) -> None:
    # uvicorn's default would hold 16 MiB of one message in memory before the app sees it.
    with live_server(settings) as server:
        client = WsClient(server.ws_url)
        client.until_ready()
        client.conn.send("x" * (settings.max_body + 1))
        with pytest.raises(ConnectionClosed) as closed:
            client.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == CloseCode.MESSAGE_TOO_BIG
        client.close()
        with connect(server.base_url) as sock:
            assert exchange(sock, head("GET", "/health", server.base_url)).status == 200


# --- as ``maestro serve`` runs: the process's open-file limit ------------------------------


def test_the_serve_flags_and_variables_set_the_limits(tmp_path: Path) -> None:
    server = start_server_process(
        tmp_path / "maestro.db",
        "--max-connections",
        "3",
        "--keep-alive-timeout",
        "0.3",
        "--send-timeout",
        "0.5",
        env={"MAESTRO_HEAD_TIMEOUT": "0.5"},
    )
    try:
        with server.client() as http:
            project = http.post("/api/projects", json={"name": "large"}).json()
            for i in range(20):  # a list of ~4 MB
                task = {"projectId": project["id"], "title": f"t{i}", "prompt": "p" * 200_000}
                assert http.post("/api/tasks", json=task).status_code == 201
        with (
            sockets(server.base_url, 2) as (idle, answered),
            connect(server.base_url, rcvbuf=4096) as reader,
        ):
            # A fourth connection is past the cap.
            with connect(server.base_url) as past:
                past.sendall(head("GET", "/health", server.base_url))
                assert parse_answer(read_to_end(past)).status == 503
            assert exchange(answered, head("GET", "/health", server.base_url)).status == 200
            reader.sendall(head("GET", "/api/tasks", server.base_url))
            for sock in (idle, answered, reader):
                wait_for(partial(is_closed, sock), timeout=0.5 + LATE, what="closed")
            assert read_to_end(idle) == b""  # the head timeout
            assert read_to_end(answered) == b""  # the keep-alive timeout
            assert len(read_to_end(reader)) < 4 * 200_000  # the send timeout
    finally:
        server.stop()


_SERVING_AT_MOST = re.compile(r"serving at most (\d+), not 10000")


def test_the_cap_is_fitted_to_the_open_file_limit(tmp_path: Path) -> None:
    # With 400 descriptors, 10,000 connections cannot be served: the server says how
    # many can, serves that many, and drops any past them at once, rather than running
    # out of descriptors for its database and everyone else.
    limit = 400
    server = start_server_process(
        tmp_path / "maestro.db",
        "--max-connections",
        "10000",
        prefix=["prlimit", f"--nofile={limit}:{limit}"],
    )
    try:
        [match] = [m for line in server.log if (m := _SERVING_AT_MOST.search(line))]
        room = int(match.group(1))
        assert room == limit - RESERVED_DESCRIPTORS
        with sockets(server.base_url, room) as served:
            with connect(server.base_url) as past:
                past.sendall(head("GET", "/health", server.base_url))
                assert read_to_end(past) == b""  # dropped without an answer
            assert exchange(served[-1], head("GET", "/health", server.base_url)).status == 200
        with server.client() as http:
            assert http.get("/health").status_code == 200
    finally:
        server.stop()


def test_the_soft_open_file_limit_is_raised_to_the_hard_one(tmp_path: Path) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    shown = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
    server = start_server_process(
        tmp_path / "maestro.db", prefix=["prlimit", f"--nofile=400:{shown}"]
    )
    try:
        limits = Path(f"/proc/{server.pid}/limits").read_text()
        [line] = [line for line in limits.splitlines() if line.startswith("Max open files")]
        assert line.split()[3:5] == [shown, shown]
        assert not any(_SERVING_AT_MOST.search(line) for line in server.log)
    finally:
        server.stop()
