"""The HTTP face of Maestro: REST, the live feeds (WebSocket, SSE), MCP over streamable
HTTP, the board, and security, in one Starlette app.

``create_app(core)`` builds the app over a core runtime (maestro_mcp/core/runtime.py)
that it starts and stops with its lifespan; handlers reach the core through the
lifespan state (``state.core_of``). Wire names come from ``maestro_mcp.protocol``.
"""

from maestro_mcp.settings import Settings

from .app import create_app

__all__ = ["Settings", "create_app"]
