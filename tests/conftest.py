from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from http_api import Settings
from maestro_mcp.core.runtime import Core
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage.sqlite import SqliteStore
from tests.support.servers import LiveServer, live_server


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests run on asyncio, the loop the server runs on. Session-scoped so that
    async fixtures of any scope may use it (tests/mcp_server shares its servers)."""
    return "asyncio"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "maestro.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[SqliteStore]:
    database = SqliteStore(db_path)
    database.migrate()
    yield database
    database.close()


@pytest.fixture
def service(db: SqliteStore) -> Service:
    return Service(db)


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return Settings(db_path=db_path, poll_interval=0.02)


@pytest.fixture
async def core(settings: Settings) -> AsyncIterator[Core]:
    """The core runtime, running on the test's database (as ``maestro serve`` runs it)."""
    async with Core(settings) as running:
        yield running


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with live_server(settings) as running:
        yield running
