from collections.abc import AsyncIterator

import pytest

from maestro_mcp.core.feed import Feed
from maestro_mcp.core.service import Service
from maestro_mcp.core.store import Database
from maestro_mcp.mcp_server import MaestroMCP, build_mcp_server


@pytest.fixture
async def maestro(db: Database) -> AsyncIterator[MaestroMCP]:
    """An MCP server over a real core and feed, for the in-memory client."""
    feed = Feed(db, poll_interval=0.02)
    await feed.start()
    built = build_mcp_server(Service(db, on_commit=feed.notify), feed)
    async with built.running(http=False):
        yield built
    await feed.stop()
