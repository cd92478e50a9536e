"""The live feeds: WebSocket ``/ws`` and SSE ``/api/events``.

Both speak the same protocol (docs/protocol.md): replay every event after
``since`` (or SSE ``Last-Event-ID``), then ``sync:ready`` with the head seq,
then live events, each the envelope stored in the log, byte for byte.
A subscriber that falls behind, or asks for a seq the log no longer holds,
gets ``sync:reset`` with a reason and the stream ends.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from enum import StrEnum
from functools import partial
from typing import Any

import anyio
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
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
    CLOSE_POLICY_VIOLATION,
    CLOSE_RESET,
    CLOSE_TRY_AGAIN_LATER,
    EPOCH_QUERY,
    EVENTS_PATH,
    LAST_EVENT_ID_HEADER,
    SMALL_INT,
    WS_PATH,
)

from .chunks import RAW_CHUNKS, chunk
from .errors import RETRY_LATER, UNAVAILABLE_CODE, UNAVAILABLE_MESSAGE, ApiError
from .frames import RAW_FRAMES, text_frame, text_frames
from .raw import RawWriter
from .security import principal_of, refuse
from .state import core_of

GOODBYE_TIMEOUT = 1.0  # for the close frame at shutdown
SLOW_CONSUMER_GRACE = 5.0  # for a client cut off for falling behind to read up to its reset

# The errors that mean the client went away (or the connection is being torn down).
_CLIENT_GONE = (WebSocketDisconnect, OSError, RuntimeError)

SSE_RETRY_MS = 1000
SSE_PING_INTERVAL = 15.0


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
        self,
        feed: Feed,
        since: int | None,
        project_id: str | None,
        epoch: str | None = None,
        owner: str | None = None,
    ) -> None:
        self.feed = feed
        self.since = since
        self.epoch = epoch
        # Owned by its token: revoking the token ends the stream (core/token_book.py).
        self.subscriber: Subscriber = feed.subscribe(project_id, owner=owner)
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
            owner=principal_of(websocket).name,
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
        await _while_live(
            subscriber,
            partial(_ws_send, websocket, stream),
            partial(_ws_receive, websocket, stream),
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
    except _CLIENT_GONE:
        pass  # the client left while we said goodbye
    finally:
        stream.close()


async def _first_to_end(*steps: Callable[[], Awaitable[object]]) -> int:
    """Run ``steps`` together until one ends, cancel the others, and return the index
    of the one that ended. A client that goes away ends a step too: that is the
    normal end of a stream, not an error (raised in the task group it would surface
    wrapped in an ExceptionGroup)."""
    ended: list[int] = []
    async with anyio.create_task_group() as tasks:

        async def run(index: int, step: Callable[[], Awaitable[object]]) -> None:
            with contextlib.suppress(*_CLIENT_GONE):
                await step()
            ended.append(index)
            tasks.cancel_scope.cancel()

        for index, step in enumerate(steps):
            tasks.start_soon(run, index, step)
    return ended[0]


class LiveEnd(StrEnum):
    """How a live stream ended (``_while_live``)."""

    CLIENT_GONE = "client_gone"
    SAID_ALL = "said_all"  # the stream ended itself (a reset sent, the database gone)
    CUT_OFF = "cut_off"  # the feed cut the subscriber off (behind, closed)


async def _while_live(
    subscriber: Subscriber,
    send: Callable[[], Coroutine[Any, Any, bool]],
    receive: Callable[[], Awaitable[None]],
) -> LiveEnd:
    """A live stream, until the client goes (``receive`` returns), the stream has said
    all it will (``send`` returns False), or the subscriber is cut off; which of them.

    ``send`` runs in a task of its own, and returns True once it has handed the
    subscriber to the feed (attached: the feed writes its events from then on);
    ``receive`` runs in this task. So a client that is live costs this one waiting
    task and nothing else: at thousands of clients, what each holds is the server's
    memory (issue #16; docs/performance.md "Fan-out"). However this task ends (also
    cancelled from outside), the sending task ends with it.
    """
    loop = asyncio.get_running_loop()
    # The sending task, until it has attached the subscriber: then it is done, and
    # nothing of it is kept.
    sending: list[asyncio.Task[bool]] = [loop.create_task(send())]
    ending: asyncio.Timeout | None = None
    ended: list[LiveEnd] = []  # why, as first told

    def end(why: LiveEnd) -> None:
        ended.append(why)
        if ending is not None and not ending.expired():
            ending.reschedule(loop.time())  # ends the block at its next await

    def sent(task: "asyncio.Task[bool]") -> None:
        if task.cancelled() or task.exception() is not None or not task.result():
            end(LiveEnd.SAID_ALL)
        else:
            sending.clear()

    sending[0].add_done_callback(sent)
    subscriber.on_cut_off(partial(end, LiveEnd.CUT_OFF))
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(None) as ending:
                if not ended:  # not told to end before the block began
                    with contextlib.suppress(*_CLIENT_GONE):
                        await receive()
                    ended.insert(0, LiveEnd.CLIENT_GONE)
    except BaseException:
        await _end_sending(sending, sent)
        raise
    finally:
        ending = None  # a late call of end() changes nothing now
        subscriber.on_cut_off(None)
    outcome = await _end_sending(sending, sent)
    if isinstance(outcome, BaseException) and not isinstance(
        outcome, (asyncio.CancelledError, *_CLIENT_GONE)
    ):
        raise outcome
    return ended[0]


async def _end_sending(
    sending: list["asyncio.Task[bool]"], sent: Callable[["asyncio.Task[bool]"], None]
) -> bool | BaseException | None:
    """Cancel the sending task if it still runs, wait for it, and return its outcome."""
    if not sending:
        return None
    task = sending[0]
    task.remove_done_callback(sent)
    if not task.done():
        task.cancel()
    outcome: bool | BaseException
    [outcome] = await asyncio.gather(task, return_exceptions=True)
    return outcome


async def _ws_send(websocket: WebSocket, stream: Stream) -> bool:
    """The replay, ``sync:ready``, then live events: True once the feed writes them
    itself (attached), False once it has said all it will (a reset, the database gone,
    the subscriber cut off)."""
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
        return False
    if problem is not None:
        await websocket.send_text(stream.reset(problem))
        await websocket.close(code=CLOSE_RESET, reason=problem.value)
        return False
    await websocket.send_text(stream.ready())
    subscriber = stream.subscriber
    writer = _raw_frames(websocket)
    if writer is not None:
        # The feed writes each batch's frames to the socket itself, in its dispatch.
        try:
            subscriber.attach(text_frames, writer.offering(subscriber.max_bytes))
        except (SubscriberOverflow, FeedClosed):
            return False  # websocket_feed says goodbye
        return True
    while True:
        try:
            batch = await subscriber.next_batch()
        except (SubscriberOverflow, FeedClosed):
            return False  # websocket_feed says goodbye
        for event in batch:
            await websocket.send_text(event.payload)


def _raw_frames(websocket: WebSocket) -> RawWriter | None:
    writer: RawWriter | None = websocket.scope.get("extensions", {}).get(RAW_FRAMES)
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
        try:
            message = _client_message(text)
        except _TooDeep:
            # Parsing it overflowed the stack: said, then closed (this client sends
            # what no client of the protocol would), not dropped mid-handler.
            error = {"code": "bad_request", "message": "the message nests too deeply"}
            await _reply(websocket, stream, control("error", error))
            await websocket.close(code=CLOSE_POLICY_VIOLATION, reason="bad_request")
            return
        kind = message.get("event") or message.get("type")
        if kind == "ping":
            await _reply(websocket, stream, control("pong", {"seq": stream.feed.head}))
        elif kind == "subscribe":
            data = message.get("data")
            project_id = (data if isinstance(data, dict) else message).get("projectId")
            project_id = project_id if isinstance(project_id, str) and project_id else None
            stream.subscriber.refilter(project_id)
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
    if writer is not None and subscriber.attached and writer.buffered() <= subscriber.max_bytes:
        writer.write(text_frame(text))
    else:
        await websocket.send_text(text)


class _TooDeep(Exception):
    """A client message nests deeper than the JSON parser's recursion allows."""


def _client_message(text: str) -> dict[str, Any]:
    if text.strip() == "ping":
        return {"event": "ping"}
    try:
        message = json.loads(text)
    except json.JSONDecodeError:
        return {"event": None}
    except RecursionError:
        raise _TooDeep from None
    return message if isinstance(message, dict) else {"event": None}


# --- Server-Sent Events ----------------------------------------------------------------
#
# The response is written here, not by a library: once the client is live the feed
# writes each batch to it as one chunk, built once for every SSE client
# (http_api/chunks.py), and what goes around those chunks (the replay, the pings, the
# goodbye) has to keep its order with them.

SSE_SEPARATOR = "\r\n"
_SEP = SSE_SEPARATOR
# The first message: a comment, and the delay before the client reconnects.
SSE_PRELUDE = f": maestro{_SEP}retry: {SSE_RETRY_MS}{_SEP}{_SEP}".encode()
SSE_PING = f": ping{_SEP}{_SEP}".encode()
SSE_PING_CHUNK = chunk(SSE_PING)


class SsePings:
    """The keep-alive comment for every live SSE stream written raw, every
    ``SSE_PING_INTERVAL``, from one timer for all of them: a stream costs no task or
    timer of its own while it waits (streams sent through ASGI ping themselves)."""

    def __init__(self) -> None:
        self._writers: set[RawWriter] = set()
        self._timer: asyncio.TimerHandle | None = None

    def add(self, writer: RawWriter) -> None:
        self._writers.add(writer)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(SSE_PING_INTERVAL, self._ping)

    def discard(self, writer: RawWriter) -> None:
        self._writers.discard(writer)
        if not self._writers and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _ping(self) -> None:
        self._timer = None
        for writer in tuple(self._writers):
            writer.write(SSE_PING_CHUNK)  # nothing once its response is complete
        if self._writers:
            self._timer = asyncio.get_running_loop().call_later(SSE_PING_INTERVAL, self._ping)


def _sse_pings(request: Request) -> SsePings:
    """The app's pings (one per app: its streams share a loop)."""
    state = request.app.state
    pings: SsePings | None = getattr(state, "sse_pings", None)
    if pings is None:
        pings = state.sse_pings = SsePings()
    return pings


async def sse_feed(request: Request) -> Response:
    since = _parse_seq(request.headers.get(LAST_EVENT_ID_HEADER), LAST_EVENT_ID_HEADER)
    if since is None:
        since = _parse_seq(request.query_params.get("since"), "since")
    project_id = request.query_params.get("projectId") or None
    epoch = request.query_params.get(EPOCH_QUERY) or None
    # A feed that cannot read the log now (the database is away) cannot resume anyone:
    # StoreUnavailable answers 503 with Retry-After before the stream begins.
    _feed(request).pump()
    owner = principal_of(request).name
    send_timeout = core_of(request).settings.send_timeout
    stream = partial(Stream, _feed(request), since, project_id, epoch, owner)
    return EventStream(stream, send_timeout, _sse_pings(request))


def sse_messages(events: list[StoredEvent]) -> bytes:
    """A batch of events as SSE messages (``id:`` the seq, ``data:`` the stored envelope),
    in one piece: one send per batch, not one per event. The envelopes are compact JSON,
    which never holds a line break, so each is one ``data:`` line."""
    return "".join(f"id: {e.seq}{_SEP}data: {e.payload}{_SEP}{_SEP}" for e in events).encode()


def sse_data(text: str) -> bytes:
    """A message without an id (``sync:ready``, ``sync:reset``); ``text`` is one line."""
    return f"data: {text}{_SEP}{_SEP}".encode()


def sse_chunk(events: list[StoredEvent]) -> bytes:
    """A batch as SSE messages in one chunk: the feed's ``Encoding`` for raw SSE streams."""
    return chunk(sse_messages(events))


class ClientStalled(Exception):
    """A send through ASGI waited longer than the send timeout: the client stopped
    reading. Raw writes never wait; a client behind on those is cut off by the feed."""


class _SseBody:
    """One SSE response's body, after its headers: through ASGI, and through ``writer``
    (raw chunks) where the server offers one.

    Sends through ASGI take a lock, so that the stream's and the pings' are never
    outstanding together; the response ends (``end``) only once, after which nothing
    is sent. Raw pings take no lock: a comment may go between any two chunks.
    """

    def __init__(
        self, send: Send, writer: RawWriter | None, send_timeout: float, live_pings: SsePings
    ) -> None:
        self._send = send
        self.writer = writer
        self.live_pings = live_pings  # where a raw stream goes once live
        self.send_timeout = send_timeout
        self.stalled = False
        self._ended = False
        self._lock = anyio.Lock()

    async def send(self, body: bytes) -> None:
        """``body`` through ASGI, or ``ClientStalled`` if the client does not take it in time."""
        with anyio.move_on_after(self.send_timeout):
            await self._body(body, more_body=True)
            return
        self.stalled = True
        raise ClientStalled

    async def end(self) -> None:
        """The end of the body, through ASGI: uvicorn then completes the response."""
        await self._body(b"", more_body=False)

    async def _body(self, body: bytes, *, more_body: bool) -> None:
        async with self._lock:
            if self._ended:
                return
            self._ended = not more_body
            await self._send({"type": "http.response.body", "body": body, "more_body": more_body})

    async def goodbye(self, reset: bytes) -> None:
        """``reset`` behind everything the client has not read yet, then the end."""
        if self.writer is not None:
            self.writer.write(chunk(reset))
        else:
            await self._body(reset, more_body=True)
        await self.end()

    async def pings(self) -> None:
        """A comment every ``SSE_PING_INTERVAL``, so that a quiet stream stays open
        through proxies (nginx's proxy_read_timeout) and clients see it alive."""
        while True:
            await anyio.sleep(SSE_PING_INTERVAL)
            if self.writer is not None:
                self.writer.write(SSE_PING_CHUNK)  # nothing once the response is complete
                continue
            try:
                await self.send(SSE_PING)
            except ClientStalled:
                return  # ends the response unfinished: the server closes the connection

    async def drop(self, client_gone: Callable[[], Awaitable[None]] | None) -> None:
        """End a response whose client will not read to its end: drop the connection."""
        if self.writer is None:
            return  # the server closes the connection of a response left unfinished
        self.writer.abort()
        # The response ends once uvicorn has seen the connection go; returning before
        # that, it would look abandoned to it. Through ASGI, the client-gone step that
        # runs beside this one ends it.
        if client_gone is not None:
            await client_gone()
        else:
            await anyio.sleep_forever()


class EventStream(Response):
    """``text/event-stream`` of one subscriber's ``Stream`` (docs/protocol.md).

    It ends once the stream has said all it will (a reset, the database gone), when
    the subscriber is cut off (it is behind: a reset after what it was sent) or
    closed (the server shuts down), or when the client goes. A client that stops
    reading is cut off: raw chunks past ``max_bytes`` unread, an ASGI send after
    the send timeout (``Settings.send_timeout``, as for any connection whose client
    reads nothing: http_api/connections.py); one that does not read its goodbye is
    dropped.
    """

    media_type = "text/event-stream"

    def __init__(
        self, open_stream: Callable[[], Stream], send_timeout: float, pings: SsePings
    ) -> None:
        # Like Starlette's StreamingResponse: no body, so no Content-Length, and
        # uvicorn sends the body in chunks.
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        self._open_stream = open_stream
        self._send_timeout = send_timeout
        self._pings = pings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": self.status_code}
        await send({**start, "headers": self.raw_headers})
        if scope["method"] == "HEAD":
            # The headers a GET gets, and no stream: it would never end.
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        writer = scope.get("extensions", {}).get(RAW_CHUNKS)
        body = _SseBody(send, writer, self._send_timeout, self._pings)
        if writer is None:
            # Through ASGI: sends may wait for the client, and it pings itself.
            await _first_to_end(
                partial(self._stream, body, None), body.pings, partial(_client_gone, receive)
            )
        else:
            await self._stream(body, partial(_client_gone, receive))

    async def _stream(
        self, body: "_SseBody", client_gone: Callable[[], Awaitable[None]] | None
    ) -> None:
        """The stream and its end; ``client_gone`` (raw streams) is watched meanwhile."""
        try:
            stream = self._open_stream()
        except StoreUnavailable:
            # The database went away since sse_feed looked: the client resumes from its
            # last seq after the retry delay, as after any disconnection.
            ended = await _within(body.send_timeout, body.end)
        else:
            try:
                ended = await _sse_stream(body, stream, client_gone)
            finally:
                stream.close()
                if body.writer is not None:
                    self._pings.discard(body.writer)
        if not ended:
            await body.drop(client_gone)


async def _within(seconds: float, step: Callable[[], Awaitable[None]]) -> bool:
    """Whether ``step`` completed within ``seconds`` (it is cancelled if not)."""
    with anyio.move_on_after(seconds):
        await step()
        return True
    return False


async def _client_gone(receive: Receive) -> None:
    """Returns once the client has disconnected (or the response is complete)."""
    while (await receive())["type"] != "http.disconnect":
        pass  # the GET's empty body


async def _sse_stream(
    body: _SseBody, stream: Stream, client_gone: Callable[[], Awaitable[None]] | None
) -> bool:
    """The stream, then its end; whether the client got that end (or left first)."""
    subscriber = stream.subscriber
    send = partial(_sse_send, body, stream)
    # As on a WebSocket: the stream ends by itself, or the subscriber is cut off,
    # possibly while a send waits for a client that stopped reading.
    if client_gone is None:
        cut_off = await _first_to_end(send, subscriber.wait_cut_off) == 1
    else:
        how = await _while_live(subscriber, send, client_gone)
        if how is LiveEnd.CLIENT_GONE:
            return True
        cut_off = how is LiveEnd.CUT_OFF
    if body.stalled:
        return False
    if cut_off and subscriber.overflowed:  # not when the stream said its own reset
        reset = sse_data(stream.reset(ResetReason.SLOW_CONSUMER))
        # It gets everything it was sent, then the reset, then the end, and resumes
        # from the last seq it read; it has a while to read that far, unless the
        # server shuts down meanwhile.
        with anyio.move_on_after(SLOW_CONSUMER_GRACE):
            return await _first_to_end(partial(body.goodbye, reset), subscriber.wait_closed) == 0
        return False
    return await _within(GOODBYE_TIMEOUT if subscriber.closed else body.send_timeout, body.end)


async def _sse_send(body: _SseBody, stream: Stream) -> bool:
    """The replay, ``sync:ready``, then live events: True once the feed writes them
    itself (raw chunks; attached); else False when it has said all it will: a reset
    for a seq it cannot resume from, the database gone mid-replay, a client that
    stopped reading (through ASGI, it waits to be cancelled once cut off)."""
    try:
        try:
            problem = stream.problem()
            if problem is None:
                await body.send(SSE_PRELUDE)
                try:
                    async for batch in stream.replay():
                        await body.send(sse_messages(batch))
                except ReplayExpired:
                    problem = ResetReason.EXPIRED
        except StoreUnavailable:
            return False  # the client resumes from its last seq after the retry delay
        if problem is not None:
            await body.send(sse_data(stream.reset(problem)))
            return False
        await body.send(sse_data(stream.ready()))
        subscriber = stream.subscriber
        if body.writer is not None:
            # The feed writes each batch's chunk to the socket itself, in its dispatch.
            try:
                subscriber.attach(sse_chunk, body.writer.offering(subscriber.max_bytes))
            except (SubscriberOverflow, FeedClosed):
                return False  # cut off: _sse_stream says goodbye
            body.live_pings.add(body.writer)
            return True
        while True:
            await body.send(sse_messages(await subscriber.next_batch()))
    except (SubscriberOverflow, FeedClosed):
        await anyio.sleep_forever()  # it is cut off: wait_cut_off ends the stream
    except ClientStalled:
        pass
    return False


class WebSocketFeed:
    """``/ws`` as a plain ASGI app. Starlette wraps a function endpoint in a session and
    an exception handler whose frames each live stream would keep for its whole life;
    ``websocket_feed`` handles its own ends (issue #16: memory per client)."""

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        return websocket_feed(WebSocket(scope, receive=receive, send=send))


def routes() -> list[BaseRoute]:
    return [
        WebSocketRoute(WS_PATH, WebSocketFeed(), name="websocket_feed"),
        Route(EVENTS_PATH, sse_feed, methods=["GET"]),
    ]
