from collections.abc import AsyncIterator

import pytest

from maestro_mcp.core.runtime import Core
from maestro_mcp.mcp_server import MaestroMCP, build_mcp_server


@pytest.fixture
async def maestro(core: Core) -> AsyncIterator[MaestroMCP]:
    """An MCP server over a running core, for the in-memory client."""
    built = build_mcp_server(core)
    async with built.running(http=False):
        yield built
