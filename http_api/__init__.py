"""The HTTP face of Maestro: REST, the live feeds (WebSocket, SSE) and security."""

from maestro_mcp.settings import Settings

from .app import create_app

__all__ = ["Settings", "create_app"]
