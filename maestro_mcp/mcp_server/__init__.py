"""The MCP face of Maestro: tools and live resources for agents, over streamable HTTP and stdio."""

from .server import MaestroMCP, build_mcp_server

__all__ = ["MaestroMCP", "build_mcp_server"]
