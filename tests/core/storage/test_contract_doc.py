"""docs/storage.md states the storage contract: every operation of it is named there,
and both backends implement every one, with the contract's parameters."""

import inspect
import re
from pathlib import Path

import pytest

from maestro_mcp.core.storage import contract
from maestro_mcp.core.storage.postgres import PgStore
from maestro_mcp.core.storage.postgres.log_rows import PgLogReader
from maestro_mcp.core.storage.postgres.rows import PgRows
from maestro_mcp.core.storage.sqlite import SqliteStore
from maestro_mcp.core.storage.sqlite.log_rows import SqliteLogReader
from maestro_mcp.core.storage.sqlite.rows import SqliteRows

DOC = Path(__file__).parents[3] / "docs" / "storage.md"


def operations(protocol: type) -> set[str]:
    names = set()
    for klass in protocol.__mro__:
        if klass.__module__ == contract.__name__:
            names |= {name for name in vars(klass) if not name.startswith("_")}
    return names


@pytest.mark.parametrize("protocol", [contract.Store, contract.Rows, contract.LogReader])
def test_every_operation_is_documented(protocol: type) -> None:
    documented = set(re.findall(r"`(\w+)", DOC.read_text()))
    assert operations(protocol) - documented == set()


@pytest.mark.parametrize(
    ("protocol", "implementation"),
    [
        (contract.Store, SqliteStore),
        (contract.Rows, SqliteRows),
        (contract.LogReader, SqliteLogReader),
        (contract.Store, PgStore),
        (contract.Rows, PgRows),
        (contract.LogReader, PgLogReader),
    ],
)
def test_each_backend_implements_every_operation(protocol: type, implementation: type) -> None:
    for name in operations(protocol):
        assert hasattr(implementation, name), f"{implementation.__name__} lacks {name}"
        wanted = getattr(protocol, name)
        if inspect.isfunction(wanted):
            got = inspect.signature(getattr(implementation, name))
            assert list(got.parameters) == list(inspect.signature(wanted).parameters), name
