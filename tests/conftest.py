from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from http_api import Settings
from maestro_mcp.core.runtime import Core
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage import Store
from maestro_mcp.core.storage.location import open_store
from tests.support.ci import missing
from tests.support.servers import LiveServer, live_server
from tests.support.stores import (
    STORES,
    Databases,
    PostgresDatabases,
    SqliteDatabases,
    unavailable_reason,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "only_store(kind): the test is about one store (sqlite or postgresql); its runs on "
        "the other are deselected",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, deselected = [], []
    for item in items:
        marker = item.get_closest_marker("only_store")
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("store_kind") if callspec is not None else None
        if marker is not None and kind is not None and kind not in marker.args:
            deselected.append(item)
        else:
            kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests run on asyncio, the loop the server runs on. Session-scoped so that
    async fixtures of any scope may use it (tests/mcp_server shares its servers)."""
    return "asyncio"


@pytest.fixture(scope="session", params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """The store the test runs on (every test that touches a database runs on both)."""
    kind: str = request.param
    return kind


@pytest.fixture(scope="session")
def databases(store_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    """Makes the test databases of ``store_kind`` (tests/support/stores.py)."""
    if store_kind == "sqlite":
        yield SqliteDatabases()
        return
    reason = unavailable_reason()
    if reason is not None:
        missing(reason)
    made = PostgresDatabases.start(tmp_path_factory.mktemp("postgres"))
    yield made
    made.close()


@pytest.fixture
def database(databases: Databases, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the test's own: a SQLite file or a PostgreSQL URL."""
    location = databases.create(tmp_path)
    yield location
    databases.drop(location)


@pytest.fixture
def db(database: str) -> Iterator[Store]:
    store = open_store(database)
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def service(db: Store) -> Service:
    return Service(db)


@pytest.fixture
def settings(database: str) -> Settings:
    return Settings(database=database, poll_interval=0.02)


@pytest.fixture
async def core(settings: Settings) -> AsyncIterator[Core]:
    """The core runtime, running on the test's database (as ``maestro serve`` runs it)."""
    async with Core(settings) as running:
        yield running


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with live_server(settings) as running:
        yield running
