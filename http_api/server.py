"""The uvicorn server Maestro runs: it says where it listens, holds its connections to
their limits (http_api/connections.py) and ends live streams on shutdown."""

import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn

from maestro_mcp import compat, redaction
from maestro_mcp.core.feed import Feed
from maestro_mcp.settings import Settings

from .connections import (
    ConnectionLimits,
    Connections,
    MaestroConfig,
    MaestroHttpProtocol,
    MaestroWebSocketProtocol,
)

log = logging.getLogger("maestro")


def server_config(app: Any, settings: Settings, **options: Any) -> MaestroConfig:
    """uvicorn's configuration for Maestro's app, with the connection limits of
    ``settings``; ``options`` are passed on to uvicorn."""
    defaults: dict[str, Any] = {
        # The feed writes pre-built WebSocket frames (http_api/frames.py) and SSE chunks
        # (http_api/chunks.py) straight to each socket; the connection limits hold on
        # both (http_api/connections.py).
        "http": MaestroHttpProtocol,
        "ws": MaestroWebSocketProtocol,
        # Every event goes to every client as the same bytes: compressing it again for
        # each connection was a third of the server's CPU at 100 clients (see
        # docs/performance.md), for events of a few hundred bytes.
        "ws_per_message_deflate": False,
        "server_header": False,
        "timeout_keep_alive": settings.keep_alive_timeout,
        # A client's WebSocket message is a request body: the same limit (uvicorn's
        # default, 16 MiB, is held in memory whole before the app sees it).
        "ws_max_size": settings.max_body,
    }
    connections = Connections(ConnectionLimits.of(settings))
    return MaestroConfig(app, connections, **(defaults | options))


@compat.overrides(
    startup="to fit the connections to the file descriptors and log the URL it listens on",
    shutdown="to end live streams before the graceful shutdown waits for them",
    capture_signals="to exit with status 0 after a signal asked for a clean shutdown",
)
class MaestroServer(uvicorn.Server):
    def __init__(self, config: MaestroConfig, feed: Feed, banner: str = "") -> None:
        super().__init__(config)
        redaction.install()  # no token in any log line (the CLI installs it too)
        self.connections = config.connections
        self.feed = feed
        self.banner = banner
        self.url = ""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.connections.fit_to_descriptors()  # before the first connection
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
            compat.forget_captured_signals(self)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # WebSocket and SSE streams never end by themselves: end them first, so the
        # graceful shutdown does not wait for its timeout (clients resume by seq).
        self.feed.close_subscribers()
        await super().shutdown(sockets)
