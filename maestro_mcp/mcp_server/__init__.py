"""The MCP face of Maestro: tools and live resources for agents, over streamable HTTP
and stdio.

``build_mcp_server(core)`` assembles it over a core runtime: async tools, each call
one transaction on the core's group-commit path (tools.py), resources (resources.py),
change notifications driven by the feed (notifications.py); ``stdio.serve_stdio``
runs a core of its own in the ``maestro mcp`` process.
"""

from .server import MaestroMCP, build_mcp_server

__all__ = ["MaestroMCP", "build_mcp_server"]
