"""Assembles the MCP server over the core runtime, for any transport."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import SubscribeRequestParams, UnsubscribeRequestParams
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maestro_mcp import __version__
from maestro_mcp.compat import lowlevel_server
from maestro_mcp.core.runtime import Core
from maestro_mcp.protocol import MCP_PATH

from .guide import INSTRUCTIONS
from .notifications import ChangeNotifier, LegacySubscriptions, ListenedBus
from .outbox import NotificationStreams, OutboxLimits
from .prompts import register_prompts
from .resources import register_resources
from .tools import ToolEnv, build_tools


class CompleteResponses:
    """Ends a streamed HTTP response that the MCP SDK leaves open.

    The SDK stops a 2025-era client's standalone GET stream only when its session
    manager stops, in the lifespan shutdown, and returns without ending the HTTP
    response: uvicorn logs an error and the client reads a truncated body. Ending
    the body here gives the client a clean end of stream to reconnect after.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = complete = False

        async def tracking(message: Message) -> None:
            nonlocal started, complete
            if message["type"] == "http.response.start":
                started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                complete = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        finally:
            if started and not complete:
                with contextlib.suppress(Exception):  # the client may be gone already
                    await send({"type": "http.response.body", "body": b"", "more_body": False})


@dataclass
class MaestroMCP:
    server: MCPServer[Any]
    notifier: ChangeNotifier

    def http_endpoint(self) -> ASGIApp:
        """The streamable HTTP endpoint, as the ASGI app the host app routes ``MCP_PATH``
        to (http_api/mcp_mount.py; no redirect)."""
        app = self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            # The host app's guard (http_api/edge.py) checks Host, Origin and the token for every
            # path, /mcp included, with the operator's allow-lists; a second, different
            # list here would only disagree with it.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        # Maestro configures no MCP auth, so the SDK's app has this one route (with auth
        # it would add OAuth routes, which the host app would have to mount too).
        routes = app.routes
        if len(routes) != 1 or not isinstance(routes[0], Route) or routes[0].path != MCP_PATH:
            raise RuntimeError(f"expected the MCP SDK's app to be one route, {MCP_PATH}: {routes}")
        return CompleteResponses(routes[0].app)

    @contextlib.asynccontextmanager
    async def running(
        self, *, http: bool, streams: NotificationStreams | None = None
    ) -> AsyncIterator[None]:
        """Notifications (and, for HTTP, the session manager) for the life of the host.

        ``streams``: the HTTP face's notification streams, through which a client that
        falls behind on its notifications is cut off (outbox.py)."""
        outboxes = self.notifier.legacy.outboxes
        outboxes.streams = streams
        try:
            async with contextlib.AsyncExitStack() as stack:
                if http:
                    await stack.enter_async_context(self.server.session_manager.run())
                await stack.enter_async_context(self.notifier.running())
                yield
        finally:
            outboxes.streams = None


def build_mcp_server(core: Core) -> MaestroMCP:
    """The MCP server over a core (running or not yet: it is used only once it runs)."""

    bus = ListenedBus()
    server: MCPServer[Any] = MCPServer(
        "maestro",
        title="Maestro",
        description="Shared projects, tasks and agent sessions, live for every client.",
        instructions=INSTRUCTIONS,
        version=__version__,
        subscriptions=bus,
        tools=build_tools(ToolEnv(core)),
    )
    register_resources(server, core)
    register_prompts(server)
    settings = core.settings
    # Each 2025-era client's notifications wait in a bounded queue of its own; one that
    # does not read them in time is cut off (outbox.py).
    legacy = LegacySubscriptions(OutboxLimits(settings.mcp_max_queue, settings.send_timeout))
    # MCPServer has no public hook for the 2025-era resources/subscribe yet; the SDK's
    # own everything-server registers it on the low-level server the same way.
    lowlevel = lowlevel_server(server)
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, legacy.subscribe)
    lowlevel.add_request_handler(
        "resources/unsubscribe",
        UnsubscribeRequestParams,
        legacy.unsubscribe,
    )
    return MaestroMCP(server, ChangeNotifier(core.feed, bus, legacy))
