"""Fixtures of the store tests."""

from collections.abc import Callable, Iterator

import pytest

from maestro_mcp.core.storage.postgres import PgStore


@pytest.fixture
def instances(database: str) -> Iterator[Callable[[], PgStore]]:
    """Opens stores on the test's database, as separate instances would; closes them."""
    opened: list[PgStore] = []

    def instance() -> PgStore:
        store = PgStore(database)
        store.migrate()
        opened.append(store)
        return store

    yield instance
    for store in opened:
        store.close()
