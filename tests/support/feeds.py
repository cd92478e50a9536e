"""Real clients of the live feed: WebSocket (/ws) and Server-Sent Events (/api/events)."""

import http.client
import json
import queue
import socket
import threading
from abc import ABC, abstractmethod
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
from websockets.sync.client import ClientConnection, connect

from .waiting import WAIT


class FeedClient(ABC):
    """A feed client that parses every message; subclasses say how one is received."""

    @abstractmethod
    def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        """The next message; raises if none arrives within ``timeout`` seconds."""

    @abstractmethod
    def close(self) -> None:
        """Disconnect; safe to call once the connection is gone."""

    ready: dict[str, Any] | None = None  # the last sync:ready received

    def until_ready(self) -> list[dict[str, Any]]:
        """Everything before ``sync:ready`` (the replay); returns it and consumes the marker
        (kept as ``ready``)."""
        replay = []
        while (message := self.recv())["event"] != "sync:ready":
            replay.append(message)
        self.ready = message
        return replay

    def take(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` messages, in order, each within ``WAIT`` of the one before."""
        return [self.recv() for _ in range(count)]


class WsClient(FeedClient):
    """A WebSocket client of /ws; ``kwargs`` go to ``websockets``' ``connect``."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self._stack = ExitStack()
        self.conn: ClientConnection = self._stack.enter_context(
            connect(url, open_timeout=WAIT, legacy=False, **kwargs)
        )

    def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        message = json.loads(self.conn.recv(timeout=timeout))
        assert isinstance(message, dict)
        return message

    def close(self) -> None:
        self._stack.close()


def slow_websocket(url: str, rcvbuf: int = 4096) -> WsClient:
    """A WebSocket client with a tiny receive buffer, that reads only when told to
    (``recv``): until then what the server sends piles up in the server's buffers."""
    host, port = url.removeprefix("ws://").split("/")[0].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect((host, int(port)))
    # max_queue: the client stops reading its socket once two messages wait unread.
    return WsClient(url, sock=sock, max_queue=2)


class SseClient(FeedClient):
    """An SSE client of /api/events, reading in a thread into a queue. Each message gets
    its SSE id as ``_id``; ``{"event": "_closed"}`` follows the last one."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._client = httpx.Client(timeout=httpx.Timeout(WAIT, read=None))
        try:
            self._response = self._client.send(
                self._client.build_request("GET", url, headers=headers), stream=True
            )
            if self._response.status_code != 200:
                self._response.close()
                raise AssertionError(f"GET {url}: {self._response.status_code}")
        except BaseException:
            self._client.close()  # a server that is gone or refuses leaves nothing open
            raise
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        data: list[str] = []
        event_id = None
        try:
            for line in self._response.iter_lines():
                if line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line == "" and data:
                    message = json.loads("\n".join(data))
                    if event_id is not None:
                        message["_id"] = event_id
                    self.events.put(message)
                    data, event_id = [], None
        except (httpx.HTTPError, RuntimeError):
            pass
        finally:
            self.events.put({"event": "_closed"})

    def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        self._response.close()
        self._client.close()


class SocketSseClient(FeedClient):
    """An SSE client of /api/events on a socket of its own, reading only inside
    ``recv``: until then what the server writes piles up in the socket buffers
    (``rcvbuf`` makes the client's small). It keeps the comments it reads in
    ``comments``; ``{"event": "_closed"}`` follows the last message, and ``ended``
    then says whether the body ended with its last chunk (not a dropped connection)."""

    def __init__(
        self, url: str, *, rcvbuf: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        parts = urlsplit(url)
        assert parts.hostname is not None
        assert parts.port is not None
        sock = socket.socket()
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(WAIT)
        sock.connect((parts.hostname, parts.port))
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=WAIT)
        self.conn.sock = sock
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.conn.request("GET", path, headers=headers or {})
        self.response = self.conn.getresponse()
        assert self.response.status == 200, self.response.status
        self.comments: list[str] = []
        self.ended = False

    def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        assert self.conn.sock is not None
        self.conn.sock.settimeout(timeout)
        data: list[str] = []
        event_id = None
        while True:
            try:
                line = self.response.readline()
            except TimeoutError:
                raise
            except (OSError, http.client.HTTPException):
                return {"event": "_closed"}  # dropped (``ended`` stays False)
            if not line:
                self.ended = True
                return {"event": "_closed"}
            text = line.decode().rstrip("\r\n")
            if text.startswith(":"):
                self.comments.append(text[1:].strip())
            elif text.startswith("data:"):
                data.append(text[5:].strip())
            elif text.startswith("id:"):
                event_id = text[3:].strip()
            elif text == "" and data:
                message: dict[str, Any] = json.loads("\n".join(data))
                if event_id is not None:
                    message["_id"] = event_id
                return message

    def comment(self, timeout: float = WAIT) -> str:
        """The next comment, skipping any messages before it."""
        seen = len(self.comments)
        assert self.conn.sock is not None
        self.conn.sock.settimeout(timeout)
        while len(self.comments) == seen:
            line = self.response.readline()
            assert line, "the stream ended"
            text = line.decode().rstrip("\r\n")
            if text.startswith(":"):
                self.comments.append(text[1:].strip())
        return self.comments[seen]

    def close(self) -> None:
        self.response.close()
        self.conn.close()


def events_of(messages: list[dict[str, Any]]) -> list[str]:
    """The event name of each message, in order."""
    return [m["event"] for m in messages]
