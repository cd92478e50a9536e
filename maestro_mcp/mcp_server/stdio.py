"""``maestro mcp``: the MCP server over stdio, running the core in this process.

It opens the same database as ``maestro serve``; its writes are events in the
shared log, so a running server's browser tabs and feeds see them at once, and
its own feed (watching the log) tells this agent about everyone else's. The core
runs here exactly as in the server: group commit, the reaper and the pruner.
"""

from maestro_mcp.core.runtime import Core
from maestro_mcp.settings import Settings

from .server import build_mcp_server


async def serve_stdio(settings: Settings) -> None:
    async with Core(settings) as core:
        mcp = build_mcp_server(core)
        async with mcp.running(http=False):
            await mcp.server.run_stdio_async()
