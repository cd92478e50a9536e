"""Real clients of the live feed: WebSocket (/ws) and Server-Sent Events (/api/events)."""

import json
import queue
import threading
from abc import ABC, abstractmethod
from contextlib import ExitStack
from typing import Any

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


def events_of(messages: list[dict[str, Any]]) -> list[str]:
    """The event name of each message, in order."""
    return [m["event"] for m in messages]
