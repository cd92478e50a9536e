"""The live feeds: WebSocket ``/ws`` and SSE ``/api/events``.

Both speak the same protocol (docs/protocol.md): replay every event after
``since`` (or SSE ``Last-Event-ID``), then ``sync:ready`` with the head seq,
then live events, each the envelope stored in the log, byte for byte.
A subscriber that falls behind, or asks for a seq the log no longer holds,
gets ``sync:reset`` with a reason and the stream ends.
"""

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import anyio
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from maestro_mcp.core.clock import now_ms
from maestro_mcp.core.events import SYNC_READY, SYNC_RESET, StoredEvent
from maestro_mcp.core.feed import (
    Feed,
    FeedClosed,
    ReplayExpired,
    ResetReason,
    Subscriber,
    SubscriberOverflow,
)
from maestro_mcp.core.storage import StoreUnavailable
from maestro_mcp.protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_RESET,
    CLOSE_TRY_AGAIN_LATER,
    EPOCH_QUERY,
    LAST_EVENT_ID_HEADER,
    SMALL_INT,
)

from .errors import RETRY_LATER, UNAVAILABLE_CODE, UNAVAILABLE_MESSAGE, ApiError
from .frames import RAW_FRAMES, RawFrames, frame_sink, text_frame
from .security import refuse
from .state import core_of

GOODBYE_TIMEOUT = 1.0  # for the close frame at shutdown
SLOW_CONSUMER_GRACE = 5.0  # for a client cut off for falling behind to read up to its reset

SSE_RETRY_MS = 1000
SSE_SEND_TIMEOUT = 30.0


def control(event: str, data: dict[str, Any]) -> str:
    return json.dumps({"event": event, "data": data, "timestamp": now_ms()}, separators=(",", ":"))


def _feed(connection: HTTPConnection) -> Feed:
    return core_of(connection).feed


def _parse_seq(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    if not SMALL_INT.fullmatch(value):
        raise ApiError(400, "bad_request", f"{name} must be a non-negative integer seq")
    return int(value)


class Stream:
    """One subscriber's view: the replay, the ready marker, then live batches of payloads."""

    def __init__(
        self, feed: Feed, since: int | None, project_id: str | None, epoch: str | None = None
    ) -> None:
        self.feed = feed
        self.since = since
        self.epoch = epoch
        self.subscriber: Subscriber = feed.subscribe(project_id)
        self.head = self.subscriber.start_seq

    def problem(self) -> ResetReason | None:
        if self.since is None:
            return None
        return self.feed.resume_problem(self.since, self.head, self.epoch)

    async def replay(self) -> AsyncIterator[list[Any]]:
        if self.since is None:
            return
        async for batch in self.feed.replay(self.since, self.head, self.subscriber.project_id):
            yield batch

    def reset(self, reason: ResetReason) -> str:
        data = {"reason": reason.value, "seq": self.feed.head, "epoch": self.feed.epoch}
        return control(SYNC_RESET, data)

    def ready(self) -> str:
        return control(SYNC_READY, {"seq": self.head, "epoch": self.feed.epoch})

    def close(self) -> None:
        self.feed.unsubscribe(self.subscriber)


# --- WebSocket -----------------------------------------------------------------------


async def websocket_feed(websocket: WebSocket) -> None:
    params = websocket.query_params
    try:
        since = _parse_seq(params.get("since"), "since")
    except ApiError as exc:
        await refuse(websocket.scope, websocket.send, exc.status, exc.code, exc.message)
        return
    try:
        # Before the handshake is answered: a feed that cannot read the log now (the
        # database is away) refuses it with 503, and the client tries again later.
        stream = Stream(
            _feed(websocket),
            since,
            params.get("projectId") or None,
            params.get(EPOCH_QUERY) or None,
        )
    except StoreUnavailable:
        await refuse(
            websocket.scope, websocket.send, 503, UNAVAILABLE_CODE, UNAVAILABLE_MESSAGE, RETRY_LATER
        )
        return
    subscriber = stream.subscriber
    try:
        await websocket.accept()
        # Three ways to end: the client goes, the stream ends, or the subscriber is cut
        # off, possibly while a send is blocked on a client that stopped reading.
        await _first_to_end(
            partial(_ws_receive, websocket, stream),
            partial(_ws_send, websocket, stream),
            subscriber.wait_cut_off,
        )
        writer = _raw_frames(websocket)
        said_goodbye = False
        if subscriber.overflowed:

            async def slow_consumer_goodbye() -> None:
                reset = stream.reset(ResetReason.SLOW_CONSUMER)
                if writer is not None:
                    writer.write(text_frame(reset))  # queued behind the frames it has not read
                else:
                    await websocket.send_text(reset)
                await websocket.close(code=CLOSE_TRY_AGAIN_LATER, reason="slow_consumer")

            # It gets everything it was sent, then the reset, then the close, and resumes
            # from the last seq it read; it has a while to read that far, unless the
            # server shuts down meanwhile.
            with anyio.move_on_after(SLOW_CONSUMER_GRACE):
                said_goodbye = (
                    await _first_to_end(slow_consumer_goodbye, subscriber.wait_closed) == 0
                )
        elif subscriber.closed:
            with anyio.move_on_after(GOODBYE_TIMEOUT):
                await websocket.close(code=CLOSE_GOING_AWAY, reason="stream ended: resume")
                said_goodbye = True
        else:
            said_goodbye = True  # the client left
        if not said_goodbye and writer is not None:
            # A client that does not read its goodbye would hold its unread bytes, and a
            # graceful shutdown, until it reads; drop the connection instead.
            writer.abort()
    except (WebSocketDisconnect, OSError, RuntimeError):
        pass  # the client left while we said goodbye
    finally:
        stream.close()


async def _first_to_end(*steps: Callable[[], Awaitable[None]]) -> int:
    """Run ``steps`` together until one ends, cancel the others, and return the index
    of the one that ended. A client that goes away ends a step too: that is the
    normal end of a stream, not an error (raised in the task group it would surface
    wrapped in an ExceptionGroup)."""
    ended: list[int] = []
    async with anyio.create_task_group() as tasks:

        async def run(index: int, step: Callable[[], Awaitable[None]]) -> None:
            with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):
                await step()
            ended.append(index)
            tasks.cancel_scope.cancel()

        for index, step in enumerate(steps):
            tasks.start_soon(run, index, step)
    return ended[0]


async def _ws_send(websocket: WebSocket, stream: Stream) -> None:
    try:
        problem = stream.problem()
        if problem is None:
            try:
                async for batch in stream.replay():
                    for event in batch:
                        await websocket.send_text(event.payload)
            except ReplayExpired:
                problem = ResetReason.EXPIRED
    except StoreUnavailable:
        # The database went away after the handshake: the replay cannot go on. The client
        # resumes from the last seq it got, later (1013: try again later).
        await websocket.close(code=CLOSE_TRY_AGAIN_LATER, reason=UNAVAILABLE_CODE)
        return
    if problem is not None:
        await websocket.send_text(stream.reset(problem))
        await websocket.close(code=CLOSE_RESET, reason=problem.value)
        return
    await websocket.send_text(stream.ready())
    subscriber = stream.subscriber
    writer = _raw_frames(websocket)
    if writer is not None:
        # The feed writes each batch's frames to the socket itself, in its dispatch.
        try:
            subscriber.attach(frame_sink(writer, subscriber.max_bytes))
        except (SubscriberOverflow, FeedClosed):
            return
        await subscriber.wait_cut_off()
        return  # websocket_feed says goodbye
    while True:
        try:
            batch = await subscriber.next_batch()
        except (SubscriberOverflow, FeedClosed):
            return  # websocket_feed says goodbye
        for event in batch:
            await websocket.send_text(event.payload)


def _raw_frames(websocket: WebSocket) -> RawFrames | None:
    writer: RawFrames | None = websocket.scope.get("extensions", {}).get(RAW_FRAMES)
    return writer


async def _ws_receive(websocket: WebSocket, stream: Stream) -> None:
    """Client messages: ``ping`` and ``subscribe {projectId}``; a disconnect ends the stream."""
    while True:
        received = await websocket.receive()
        if received["type"] == "websocket.disconnect":
            return
        text = received.get("text")
        if text is None:  # a binary frame: not part of the protocol
            await _reply(
                websocket,
                stream,
                control("error", {"code": "bad_request", "message": "send JSON text frames"}),
            )
            continue
        message = _client_message(text)
        kind = message.get("event") or message.get("type")
        if kind == "ping":
            await _reply(websocket, stream, control("pong", {"seq": stream.feed.head}))
        elif kind == "subscribe":
            data = message.get("data")
            project_id = (data if isinstance(data, dict) else message).get("projectId")
            project_id = project_id if isinstance(project_id, str) and project_id else None
            stream.subscriber.project_id = project_id
            reply = {"projectId": project_id, "seq": stream.feed.head}
            await _reply(websocket, stream, control("subscribed", reply))
        else:
            error = {"code": "bad_request", "message": f"unknown message {kind!r}"}
            await _reply(websocket, stream, control("error", error))


async def _reply(websocket: WebSocket, stream: Stream, text: str) -> None:
    """Answer a client message in order with the events around it.

    Once the feed writes raw frames, an answer sent through ASGI could wait for the
    socket to drain while later events go straight out: it goes the same way instead,
    unless the client is already far behind, when waiting for it to read is right.
    """
    writer = _raw_frames(websocket)
    subscriber = stream.subscriber
    if (
        writer is not None
        and subscriber.sink is not None
        and writer.buffered() <= subscriber.max_bytes
    ):
        writer.write(text_frame(text))
    else:
        await websocket.send_text(text)


def _client_message(text: str) -> dict[str, Any]:
    if text.strip() == "ping":
        return {"event": "ping"}
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        return {"event": None}
    return message if isinstance(message, dict) else {"event": None}


# --- Server-Sent Events ----------------------------------------------------------------


async def sse_feed(request: Request) -> Response:
    since = _parse_seq(request.headers.get(LAST_EVENT_ID_HEADER), LAST_EVENT_ID_HEADER)
    if since is None:
        since = _parse_seq(request.query_params.get("since"), "since")
    project_id = request.query_params.get("projectId") or None
    epoch = request.query_params.get(EPOCH_QUERY) or None
    # A feed that cannot read the log now (the database is away) cannot resume anyone:
    # StoreUnavailable answers 503 with Retry-After before the stream begins.
    _feed(request).pump()
    return EventSourceResponse(
        _sse_events(_feed(request), since, project_id, epoch),
        ping=15,
        send_timeout=SSE_SEND_TIMEOUT,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


SSE_SEPARATOR = ServerSentEvent.DEFAULT_SEPARATOR


def sse_messages(events: list[StoredEvent]) -> bytes:
    """A batch of events as SSE messages (``id:`` the seq, ``data:`` the stored envelope),
    in one piece: one send per batch, not one per event. The envelopes are compact JSON,
    which never holds a line break, so each is one ``data:`` line."""
    sep = SSE_SEPARATOR
    return "".join(f"id: {e.seq}{sep}data: {e.payload}{sep}{sep}" for e in events).encode()


async def _sse_events(
    feed: Feed, since: int | None, project_id: str | None, epoch: str | None
) -> AsyncIterator[ServerSentEvent | bytes]:
    # Subscribe inside the generator: its `finally` then always unsubscribes. Should the
    # database go away before the replay is done, the stream ends and the client resumes
    # from its last seq after the retry delay, as after any disconnection.
    try:
        stream = Stream(feed, since, project_id, epoch)
    except StoreUnavailable:
        return
    try:
        try:
            problem = stream.problem()
            if problem is not None:
                yield ServerSentEvent(data=stream.reset(problem))
                return
            yield ServerSentEvent(retry=SSE_RETRY_MS, comment="maestro")
            async for batch in stream.replay():
                yield sse_messages(batch)
        except ReplayExpired:
            yield ServerSentEvent(data=stream.reset(ResetReason.EXPIRED))
            return
        except StoreUnavailable:
            return
        yield ServerSentEvent(data=stream.ready())
        while True:
            try:
                batch = await stream.subscriber.next_batch()
            except SubscriberOverflow:
                yield ServerSentEvent(data=stream.reset(ResetReason.SLOW_CONSUMER))
                return
            except FeedClosed:
                return
            yield sse_messages(batch)
    finally:
        stream.close()


def routes() -> list[BaseRoute]:
    return [
        WebSocketRoute("/ws", websocket_feed),
        Route("/api/events", sse_feed, methods=["GET"]),
    ]
