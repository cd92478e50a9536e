"""Assembles the MCP server over a service and a feed, for any transport."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from mcp.server import MCPServer
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import SubscribeRequestParams, UnsubscribeRequestParams
from starlette.routing import BaseRoute

from maestro_mcp import __version__
from maestro_mcp.core.feed import Feed
from maestro_mcp.core.service import Service

from .guide import INSTRUCTIONS
from .notifications import ChangeNotifier, LegacySubscriptions
from .resources import register_resources
from .tools import ToolEnv, build_tools

MCP_PATH = "/mcp"


@dataclass
class MaestroMCP:
    server: MCPServer[Any]
    notifier: ChangeNotifier

    def http_routes(self) -> list[BaseRoute]:
        """The streamable HTTP endpoint, as routes to put in the host app (no redirect)."""
        app = self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            # The host app's SecurityGuard checks Host, Origin and the token for every
            # path, /mcp included, with the operator's allow-lists; a second, different
            # list here would only disagree with it.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        return list(app.routes)

    @contextlib.asynccontextmanager
    async def running(self, *, http: bool) -> AsyncIterator[None]:
        """Notifications (and, for HTTP, the session manager) for the life of the host."""
        async with contextlib.AsyncExitStack() as stack:
            if http:
                await stack.enter_async_context(self.server.session_manager.run())
            await stack.enter_async_context(self.notifier.running())
            yield


def build_mcp_server(
    service: Service, feed: Feed, *, default_project: str | None = None
) -> MaestroMCP:
    bus = InMemorySubscriptionBus()
    server: MCPServer[Any] = MCPServer(
        "maestro",
        title="Maestro",
        description="Shared projects, tasks and agent sessions, live for every client.",
        instructions=INSTRUCTIONS,
        version=__version__,
        subscriptions=bus,
        tools=build_tools(ToolEnv(service, default_project)),
    )
    register_resources(server, service)
    legacy = LegacySubscriptions()
    # MCPServer has no public hook for the 2025-era resources/subscribe yet; the SDK's
    # own everything-server registers it on the low-level server the same way.
    lowlevel = server._lowlevel_server
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, legacy.subscribe)
    lowlevel.add_request_handler(
        "resources/unsubscribe",
        UnsubscribeRequestParams,
        legacy.unsubscribe,
    )
    return MaestroMCP(server, ChangeNotifier(feed, bus, legacy))
