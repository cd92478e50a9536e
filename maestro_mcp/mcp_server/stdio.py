"""``maestro mcp``: the MCP server over stdio, running the core in this process.

It opens the same database file as ``maestro serve``; its writes are events in
the shared log, so a running server's browser tabs and feeds see them at once,
and its own feed (polling the file) tells this agent about everyone else's.
"""

from pathlib import Path

import anyio.to_thread

from maestro_mcp.core.feed import Feed
from maestro_mcp.core.service import Service
from maestro_mcp.core.store import Database, Durability

from .server import build_mcp_server


async def serve_stdio(
    db_path: Path, *, durability: Durability, default_project: str | None
) -> None:
    db = Database(db_path, durability=durability)
    await anyio.to_thread.run_sync(db.migrate)
    feed = Feed(db)
    await feed.start()
    try:
        service = Service(db, on_commit=feed.notify)
        mcp = build_mcp_server(service, feed, default_project=default_project)
        async with mcp.running(http=False):
            await mcp.server.run_stdio_async()
    finally:
        await feed.stop()
        db.close()
