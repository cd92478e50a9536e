"""The HTTP face of Maestro: REST, the live feeds (WebSocket, SSE) and security."""

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
