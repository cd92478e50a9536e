"""The live feeds end to end: a real uvicorn on loopback, real WebSocket and SSE clients."""

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from http_api import Settings, live
from http_api.chunks import ChunkWritingProtocol
from http_api.frames import FrameWritingProtocol
from maestro_mcp.core.events import StoredEvent, merged_data
from maestro_mcp.protocol import CLOSE_POLICY_VIOLATION
from tests.support.feeds import SocketSseClient, SseClient, WsClient, events_of, slow_websocket
from tests.support.rest import seq_of
from tests.support.servers import LiveServer, live_server
from tests.support.waiting import wait_for


@pytest.fixture
def clients(server: LiveServer) -> Iterator[list[Any]]:
    """Two WebSocket clients and one SSE client, each past its sync:ready."""
    opened: list[Any] = [
        WsClient(server.ws_url),
        WsClient(server.ws_url),
        SseClient(server.base_url + "/api/events"),
    ]
    for client in opened:
        assert client.until_ready() == []
    yield opened
    for client in opened:
        client.close()


def expect(clients: list[Any], *names: str) -> list[list[dict[str, Any]]]:
    """Every client receives exactly these events next, in this order, with the same seqs."""
    received = [client.take(len(names)) for client in clients]
    for messages in received:
        assert events_of(messages) == list(names)
        assert [m["seq"] for m in messages] == [m["seq"] for m in received[0]]
    return received


def test_the_four_real_time_examples(server: LiveServer, clients: list[Any]) -> None:
    http = server.http
    project = http.post("/api/projects", json={"name": "Demo"}).json()
    expect(clients, "project:created")

    # 1. A task created and updated through REST.
    created = http.post("/api/tasks", json={"projectId": project["id"], "title": "Implement login"})
    task = created.json()
    [[event], *_] = expect(clients, "task:created")
    assert event["seq"] == seq_of(created)
    assert event["data"] == task
    updated = http.patch(f"/api/tasks/{task['id']}", json={"status": "in_progress"})
    [[event], *_] = expect(clients, "task:updated")
    assert event["data"]["status"] == "in_progress"
    assert event["seq"] == seq_of(updated)

    # 2. A session created on a task.
    first = http.post(
        "/api/sessions",
        json={"projectId": project["id"], "name": "claude", "taskIds": [task["id"]]},
    ).json()
    [[session_created, task_updated], *_] = expect(clients, "session:created", "task:updated")
    assert session_created["data"]["taskIds"] == [task["id"]]
    assert task_updated["data"]["sessionIds"] == [first["id"]]
    assert task_updated["data"]["sessionCount"] == 1

    # 3. A task added to an existing session.
    second = http.post("/api/sessions", json={"projectId": project["id"], "name": "codex"}).json()
    expect(clients, "session:created")
    added = http.post(f"/api/sessions/{second['id']}/tasks/{task['id']}")
    received = expect(clients, "session:updated", "task:updated", "session:task_added")
    for session_updated, task_updated, task_added in received:
        assert session_updated["data"]["taskIds"] == [task["id"]]
        assert task_updated["data"]["sessionIds"] == [first["id"], second["id"]]
        assert task_updated["data"]["sessionCount"] == 2
        assert task_added["data"] == {"sessionId": second["id"], "taskId": task["id"]}
        assert task_added["seq"] == seq_of(added)

    # 4. A session deleted.
    http.delete(f"/api/sessions/{first['id']}")
    [[deleted, task_updated], *_] = expect(clients, "session:deleted", "task:updated")
    assert deleted["data"] == {"id": first["id"], "projectId": project["id"]}
    assert task_updated["data"]["sessionIds"] == [second["id"]]
    assert task_updated["data"]["sessionCount"] == 1


def test_concurrent_patches_of_different_fields_both_win(
    server: LiveServer, clients: list[Any]
) -> None:
    http = server.http
    project = http.post("/api/projects", json={"name": "Demo"}).json()
    task = http.post("/api/tasks", json={"projectId": project["id"], "title": "t"}).json()
    expect(clients, "project:created", "task:created")

    barrier = threading.Barrier(2)

    def patch(body: dict[str, str]) -> None:
        with server.client() as own:
            barrier.wait()
            assert own.patch(f"/api/tasks/{task['id']}", json=body).status_code == 200

    threads = [
        threading.Thread(target=patch, args=({"priority": "urgent"},)),
        threading.Thread(target=patch, args=({"description": "from the other client"},)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    final = http.get(f"/api/tasks/{task['id']}").json()
    assert final["priority"] == "urgent"
    assert final["description"] == "from the other client"
    assert final["version"] == 3
    for messages in expect(clients, "task:updated", "task:updated"):
        assert messages[0]["seq"] < messages[1]["seq"]
        held = task  # what the client had (task:created), merged as clients do
        for message in messages:
            held = merged_data(held, message["data"])
        assert held == final


def test_ten_rapid_updates_end_on_the_last_value(server: LiveServer, clients: list[Any]) -> None:
    http = server.http
    project = http.post("/api/projects", json={"name": "Demo"}).json()
    task = http.post("/api/tasks", json={"projectId": project["id"], "title": "t0"}).json()
    expect(clients, "project:created", "task:created")
    for i in range(1, 11):
        http.patch(f"/api/tasks/{task['id']}", json={"title": f"t{i}"})
    for messages in expect(clients, *["task:updated"] * 10):
        assert [m["data"]["title"] for m in messages] == [f"t{i}" for i in range(1, 11)]
        assert messages[-1]["data"]["title"] == "t10"


def _make_events(server: LiveServer, count: int) -> None:
    with server.client() as http:
        body = {"name": "resume", "allowDuplicate": True}  # called more than once a test
        project = http.post("/api/projects", json=body).json()
        task = http.post("/api/tasks", json={"projectId": project["id"], "title": "t"}).json()
        for i in range(count - 2):
            http.patch(f"/api/tasks/{task['id']}", json={"title": f"title {i}"})


def test_websocket_resumes_exactly_after_since(server: LiveServer) -> None:
    _make_events(server, 5)
    client = WsClient(server.ws_url)
    client.until_ready()
    last_seq = 5
    client.close()

    _make_events(server, 1000)
    resumed = WsClient(f"{server.ws_url}?since={last_seq}")
    replay = resumed.until_ready()
    assert [m["seq"] for m in replay] == list(range(last_seq + 1, last_seq + 1001))
    _make_events(server, 2)
    assert [m["seq"] for m in resumed.take(2)] == [last_seq + 1001, last_seq + 1002]
    resumed.close()


def test_sse_resumes_with_last_event_id(server: LiveServer) -> None:
    sse = SseClient(server.base_url + "/api/events")
    sse.until_ready()
    _make_events(server, 3)
    seen = sse.take(3)
    last_id = seen[-1]["_id"]
    assert last_id == str(seen[-1]["seq"]) == "3"
    sse.close()

    _make_events(server, 1000)
    resumed = SseClient(server.base_url + "/api/events", headers={"Last-Event-ID": last_id})
    replay = resumed.until_ready()
    assert [m["seq"] for m in replay] == list(range(4, 1004))
    assert [m["_id"] for m in replay] == [str(s) for s in range(4, 1004)]
    resumed.close()

    by_query = SseClient(server.base_url + "/api/events?since=1000")
    assert [m["seq"] for m in by_query.until_ready()] == [1001, 1002, 1003]
    by_query.close()


def test_snapshot_seq_then_feed_has_no_gap_and_no_duplicate(server: LiveServer) -> None:
    _make_events(server, 4)
    http = server.http
    snapshot = http.get("/api/tasks")
    _make_events(server, 3)  # happens between the snapshot and the subscription
    client = WsClient(f"{server.ws_url}?since={seq_of(snapshot)}")
    assert [m["seq"] for m in client.until_ready()] == [5, 6, 7]
    client.close()


def test_projectid_filter_on_both_feeds(server: LiveServer) -> None:
    http = server.http
    a = http.post("/api/projects", json={"name": "a"}).json()
    b = http.post("/api/projects", json={"name": "b"}).json()
    ws = WsClient(f"{server.ws_url}?projectId={b['id']}&since=0")
    sse = SseClient(f"{server.base_url}/api/events?projectId={b['id']}&since=0")
    for client in (ws, sse):
        assert [m["data"]["id"] for m in client.until_ready()] == [b["id"]]
    http.post("/api/tasks", json={"projectId": a["id"], "title": "not for b"})
    http.post("/api/tasks", json={"projectId": b["id"], "title": "for b"})
    for client in (ws, sse):
        [message] = client.take(1)
        assert message["data"]["title"] == "for b"
        client.close()


def test_seq_older_than_retention_gets_sync_reset(server: LiveServer) -> None:
    _make_events(server, 20)
    server.core.service.prune(keep_events=5)

    ws = WsClient(f"{server.ws_url}?since=3")
    reset = ws.recv()
    assert reset["event"] == "sync:reset"
    assert reset["data"] == {"reason": "expired", "seq": 20, "epoch": server.feed.epoch}
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4000

    sse = SseClient(f"{server.base_url}/api/events?since=3")
    assert sse.recv()["data"]["reason"] == "expired"
    assert sse.recv()["event"] == "_closed"
    sse.close()

    ahead = WsClient(f"{server.ws_url}?since=999")
    assert ahead.recv()["data"]["reason"] == "unknown_seq"

    still_retained = WsClient(f"{server.ws_url}?since=15")
    assert [m["seq"] for m in still_retained.until_ready()] == [16, 17, 18, 19, 20]
    for client in (ws, ahead, still_retained):
        client.close()


def test_seqs_of_another_history_of_the_log_get_sync_reset(server: LiveServer) -> None:
    """A client whose seqs came from another history of the log (a database restored
    from a backup has another epoch) is reset, not resumed by number."""
    _make_events(server, 3)
    first = WsClient(server.ws_url)
    first.until_ready()
    assert first.ready is not None
    epoch = first.ready["data"]["epoch"]
    assert epoch == server.feed.epoch
    assert len(epoch) >= 8
    first.close()

    same = WsClient(f"{server.ws_url}?since=1&epoch={epoch}")
    assert [m["seq"] for m in same.until_ready()] == [2, 3]
    same.close()
    other = WsClient(f"{server.ws_url}?since=1&epoch=0123456789abcdef")
    reset = other.recv()
    assert reset["data"] == {"reason": "new_history", "seq": 3, "epoch": epoch}
    other.close()
    sse = SseClient(f"{server.base_url}/api/events?since=1&epoch=0123456789abcdef")
    assert sse.recv()["data"]["reason"] == "new_history"
    sse.close()


def test_ping_and_subscribe_messages(server: LiveServer) -> None:
    http = server.http
    a = http.post("/api/projects", json={"name": "a"}).json()
    b = http.post("/api/projects", json={"name": "b"}).json()
    client = WsClient(server.ws_url)
    client.until_ready()
    client.conn.send('{"event": "ping"}')
    assert client.recv() == {
        "event": "pong",
        "data": {"seq": 2},
        "timestamp": pytest.approx(0, abs=10**14),
    }
    client.conn.send(f'{{"event": "subscribe", "data": {{"projectId": "{a["id"]}"}}}}')
    assert client.recv()["event"] == "subscribed"
    http.post("/api/tasks", json={"projectId": b["id"], "title": "hidden"})
    http.post("/api/tasks", json={"projectId": a["id"], "title": "shown"})
    assert client.recv()["data"]["title"] == "shown"
    client.close()


def test_foreign_origin_websocket_is_refused(server: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        WsClient(server.ws_url, origin="http://evil.example")
    assert refused.value.response.status_code == 403
    assert b"forbidden_origin" in refused.value.response.body
    same_origin = WsClient(server.ws_url, origin=server.base_url)
    same_origin.until_ready()
    same_origin.close()


def test_bad_since_is_refused(server: LiveServer) -> None:
    assert server.http.get("/api/events?since=abc").status_code == 400
    with pytest.raises(InvalidStatus) as refused:
        WsClient(f"{server.ws_url}?since=-1")
    assert refused.value.response.status_code == 400
    assert b'"code": "bad_request"' in refused.value.response.body


# --- a client that stops reading --------------------------------------------------------


def _flood_past_a_slow_client(
    server: LiveServer, healthy: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write ~12 MB of events, far beyond the socket buffers of a client that stopped
    reading, while ``healthy`` keeps up the whole time, whatever the slow one does;
    once the feed has cut a subscriber off, return the project written to and the last
    event ``healthy`` received."""
    project, last = _flood(server, healthy)
    wait_for(
        lambda: any(s.overflowed for s in server.feed.subscribers),
        what="the slow client cut off",
    )
    return project, last


def _flood(server: LiveServer, healthy: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``_flood_past_a_slow_client`` without waiting for the cut-off."""
    project = server.http.post("/api/projects", json={"name": "load"}).json()
    big = "x" * 40_000
    writes = 300
    for i in range(writes):
        server.http.post(
            "/api/tasks",
            json={"projectId": project["id"], "title": f"t{i}", "description": big},
        )
        assert healthy.recv()["event"] in ("project:created", "task:created")
    last = healthy.recv()
    assert last["data"]["title"] == f"t{writes - 1}"
    return project, last


@pytest.mark.parametrize(
    "ws_protocol",
    [FrameWritingProtocol, "websockets-sansio"],
    ids=["raw-frames", "asgi-send"],
)
def test_a_client_that_stops_reading_is_cut_off_then_resumes(
    settings: Settings, ws_protocol: Any
) -> None:
    # Raw frames pile up in the socket's write buffer, ASGI sends in the feed's queue:
    # either way the client is cut off once it is a megabyte behind, gets everything
    # it was sent, then sync:reset, and resumes from its last seq with nothing missed.
    limited = replace(settings, max_queue=20, max_queue_bytes=1024 * 1024)
    with live_server(limited, ws=ws_protocol) as server:
        healthy = WsClient(server.ws_url)
        healthy.until_ready()
        slow = slow_websocket(server.ws_url)
        slow.until_ready()

        _, last = _flood_past_a_slow_client(server, healthy)

        # Now it reads: a gap-free run of events, then the reset, then the close.
        seqs = []
        while (message := slow.recv())["event"] != "sync:reset":
            seqs.append(message["seq"])
        assert message["data"]["reason"] == "slow_consumer"
        assert seqs == list(range(1, len(seqs) + 1))
        assert seqs[-1] < last["seq"]
        with pytest.raises(ConnectionClosed) as closed:
            slow.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1013
        slow.close()
        wait_for(lambda: not any(s.overflowed for s in server.feed.subscribers), what="released")

        resumed = WsClient(f"{server.ws_url}?since={seqs[-1]}")
        replayed = [m["seq"] for m in resumed.until_ready()]
        assert replayed == list(range(seqs[-1] + 1, last["seq"] + 1))
        resumed.close()
        healthy.close()


def test_a_binary_frame_gets_an_error_and_the_stream_goes_on(server: LiveServer) -> None:
    client = WsClient(server.ws_url)
    client.until_ready()
    client.conn.send(b"\x00\x01")
    assert client.recv()["data"]["code"] == "bad_request"
    client.conn.send('{"event": "ping"}')
    assert client.recv()["event"] == "pong"
    client.close()


def test_a_message_nested_too_deeply_gets_an_error_then_a_close(server: LiveServer) -> None:
    """Parsing it overflows the stack: the client hears why, then a close (1008), where
    the connection was once dropped mid-handler; the server serves others on."""
    client = WsClient(server.ws_url)
    client.until_ready()
    depth = 200_000
    client.conn.send("[" * depth + "]" * depth)
    assert client.recv()["data"]["code"] == "bad_request"
    with pytest.raises(ConnectionClosed) as closed:
        client.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == CLOSE_POLICY_VIOLATION
    other = WsClient(server.ws_url)
    other.until_ready()
    other.conn.send('{"event": "ping"}')
    assert other.recv()["event"] == "pong"
    other.close()


def test_events_reach_websockets_as_raw_frames_of_any_size(server: LiveServer) -> None:
    client = WsClient(server.ws_url)
    client.until_ready()
    wait_for(
        lambda: any(s.attached for s in server.feed.subscribers),
        what="the stream writing frames below ASGI",
    )
    project = server.http.post("/api/projects", json={"name": "sizes"}).json()
    # Payload lengths across the three WebSocket length encodings (7, 16 and 64 bits).
    for size in (10, 1_000, 40_000):
        server.http.post(
            "/api/tasks",
            json={"projectId": project["id"], "title": "t", "description": "é" * size},
        )
    assert client.recv()["event"] == "project:created"
    for size in (10, 1_000, 40_000):
        message = client.recv()
        assert message["event"] == "task:created"
        assert message["data"]["description"] == "é" * size
    client.close()


# --- SSE: raw chunks, or through ASGI ----------------------------------------------------

# ChunkWritingProtocol is what server_config registers; plain uvicorn protocols (and any
# other server) offer no raw chunk writer, and the SSE feed sends through ASGI.
SSE_PROTOCOLS = pytest.mark.parametrize(
    "http_protocol",
    [ChunkWritingProtocol, "httptools", "h11"],
    ids=["raw-chunks", "asgi-httptools", "asgi-h11"],
)


def _writes_raw(server: LiveServer) -> bool:
    """Whether the feed writes to a client below ASGI (the MCP server's own subscriber,
    always there, is never attached)."""
    return any(s.attached for s in server.feed.subscribers)


@SSE_PROTOCOLS
def test_sse_events_of_any_size_raw_or_through_asgi(settings: Settings, http_protocol: Any) -> None:
    with live_server(settings, http=http_protocol) as server:
        client = SocketSseClient(server.base_url + "/api/events")
        assert client.response.getheader("content-type") == "text/event-stream; charset=utf-8"
        assert client.response.getheader("cache-control") == "no-store"
        assert client.response.getheader("x-accel-buffering") == "no"
        assert client.until_ready() == []
        assert client.comments == ["maestro"]
        project = server.http.post("/api/projects", json={"name": "sizes"}).json()
        for size in (10, 1_000, 40_000):
            server.http.post(
                "/api/tasks",
                json={"projectId": project["id"], "title": "t", "description": "é" * size},
            )
        assert client.recv()["event"] == "project:created"
        for seq, size in enumerate((10, 1_000, 40_000), start=2):
            message = client.recv()
            assert message["_id"] == str(seq)
            assert message["data"]["description"] == "é" * size
        assert _writes_raw(server) is (http_protocol is ChunkWritingProtocol)
        client.close()
        wait_for(lambda: not _writes_raw(server), what="the client unsubscribed")


def test_a_batch_is_encoded_once_for_every_sse_client(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[list[int]] = []

    def counted(events: list[StoredEvent]) -> bytes:
        encoded.append([e.seq for e in events])
        return sse_messages(events)

    sse_messages = live.sse_messages
    monkeypatch.setattr(live, "sse_messages", counted)
    clients = [SseClient(server.base_url + "/api/events") for _ in range(5)]
    for client in clients:
        client.until_ready()
    wait_for(
        lambda: sum(s.attached for s in server.feed.subscribers) == 5,
        what="every stream written below ASGI",
    )
    server.http.post("/api/projects", json={"name": "once"})
    for client in clients:
        assert client.recv()["seq"] == 1
        client.close()
    assert encoded == [[1]]


@SSE_PROTOCOLS
def test_a_slow_sse_client_is_cut_off_then_resumes_with_last_event_id(
    settings: Settings, http_protocol: Any
) -> None:
    # As on a WebSocket: cut off once a megabyte behind (raw chunks unread in the socket
    # buffer, or events in the feed's queue); it gets everything it was sent, then
    # sync:reset, then the end of the stream, and resumes with nothing missed.
    limited = replace(settings, max_queue=20, max_queue_bytes=1024 * 1024)
    with live_server(limited, http=http_protocol) as server:
        healthy = SseClient(server.base_url + "/api/events")
        healthy.until_ready()
        slow = SocketSseClient(server.base_url + "/api/events", rcvbuf=4096)
        slow.until_ready()
        subscribers = server.feed.subscriber_count

        project, last = _flood_past_a_slow_client(server, healthy)

        ids = []
        while (message := slow.recv())["event"] != "sync:reset":
            ids.append(int(message["_id"]))
        assert message["data"]["reason"] == "slow_consumer"
        assert "_id" not in message
        assert ids == list(range(1, len(ids) + 1))
        assert ids[-1] < last["seq"]
        assert slow.recv()["event"] == "_closed"
        assert slow.ended  # the end of the body, not a dropped connection
        slow.close()
        wait_for(
            lambda: server.feed.subscriber_count == subscribers - 1, what="the slow client released"
        )

        headers = {"Last-Event-ID": str(ids[-1])}
        resumed = SseClient(server.base_url + "/api/events", headers=headers)
        replayed = [int(m["_id"]) for m in resumed.until_ready()]
        assert replayed == list(range(ids[-1] + 1, last["seq"] + 1))
        server.http.post("/api/tasks", json={"projectId": project["id"], "title": "live"})
        for client in (resumed, healthy):
            assert client.recv()["data"]["title"] == "live"
            client.close()


def test_a_cut_off_sse_client_that_reads_nothing_more_is_dropped_and_its_request_ends(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Written raw, its goodbye waits behind everything it did not read; past the grace
    # the connection is dropped, and the request serving it ends with it (it was once
    # left waiting until the server shut down, which then waited its whole timeout).
    monkeypatch.setattr(live, "SLOW_CONSUMER_GRACE", 0.2)
    limited = replace(settings, max_queue=20, max_queue_bytes=256 * 1024)
    with live_server(limited, send_buffer=8192) as server:
        healthy = SseClient(server.base_url + "/api/events")
        healthy.until_ready()
        slow = SocketSseClient(server.base_url + "/api/events", rcvbuf=4096)
        slow.until_ready()
        streams = server.requests_running
        _flood(server, healthy)
        wait_for(
            lambda: server.requests_running == streams - 1,
            what="the dropped stream's request ended",
        )
        slow.close()
        healthy.close()


class _Subscriber:
    def on_cut_off(self, callback: Any) -> None:
        pass


@pytest.mark.anyio
async def test_a_live_stream_cancelled_from_outside_ends_its_replay_too() -> None:
    # As the task group it replaced did: a server cancelling the connection's task (at
    # shutdown, or when the client goes, under some servers) ends the replay with it.
    replaying = asyncio.Event()
    replay_ended: list[str] = []

    async def send() -> bool:
        replaying.set()
        try:
            await asyncio.Event().wait()
        finally:
            replay_ended.append("ended")
        return True

    async def receive() -> None:
        await asyncio.Event().wait()

    stream = asyncio.create_task(live._while_live(_Subscriber(), send, receive))  # type: ignore[arg-type]
    await replaying.wait()
    stream.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stream
    assert replay_ended == ["ended"]


@SSE_PROTOCOLS
def test_a_quiet_sse_stream_gets_pings(
    settings: Settings, http_protocol: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "SSE_PING_INTERVAL", 0.05)
    with live_server(settings, http=http_protocol) as server:
        client = SocketSseClient(server.base_url + "/api/events")
        client.until_ready()
        assert client.comment() == "ping"
        assert client.comment() == "ping"
        server.http.post("/api/projects", json={"name": "between pings"})
        assert client.recv()["event"] == "project:created"  # pings and events both whole
        assert client.comment() == "ping"
        client.close()


@SSE_PROTOCOLS
def test_shutdown_ends_sse_streams(settings: Settings, http_protocol: Any) -> None:
    with live_server(settings, http=http_protocol) as server:
        client = SocketSseClient(server.base_url + "/api/events")
        client.until_ready()
        raw = _writes_raw(server)
    # The server ended the stream itself, with the end of the body: uvicorn's graceful
    # shutdown would otherwise have dropped the connection at its timeout.
    assert raw is (http_protocol is ChunkWritingProtocol)
    assert client.recv()["event"] == "_closed"
    assert client.ended
    client.close()


def test_head_of_the_sse_feed_gets_its_headers_and_no_stream(server: LiveServer) -> None:
    subscribers = server.feed.subscriber_count
    response = server.http.head("/api/events")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.content == b""
    assert server.feed.subscriber_count == subscribers
