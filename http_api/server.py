"""The uvicorn server Maestro runs: it says where it listens and ends live streams on shutdown."""

import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn

from maestro_mcp.core.feed import Feed

log = logging.getLogger("maestro")


class MaestroServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, feed: Feed, banner: str = "") -> None:
        super().__init__(config)
        self.feed = feed
        self.banner = banner
        self.url = ""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.should_exit or not self.servers:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        log.info("Maestro listening on %s%s", self.url, self.banner)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            # SIGINT/SIGTERM asked for this shutdown and it completed: exit with 0
            # instead of uvicorn's re-raising the signal (which reports a kill).
            self._captured_signals.clear()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # WebSocket and SSE streams never end by themselves: end them first, so the
        # graceful shutdown does not wait for its timeout (clients resume by seq).
        self.feed.close_subscribers()
        await super().shutdown(sockets)
