"""The transfer benchmark runs (tiny numbers) and the two files it makes, one exported
from SQLite and one from the PostgreSQL copy, hold the same rows."""

import subprocess
import sys

import pytest

from tests.support.stores import Databases, PostgresDatabases
from tests.support.waiting import WAIT


@pytest.mark.only_store("postgresql")
def test_the_transfer_benchmark_runs(databases: Databases) -> None:
    assert isinstance(databases, PostgresDatabases)
    command = [sys.executable, "-m", "bench.transfer", "--tasks", "30", "--events", "300"]
    result = subprocess.run(
        [*command, "--pg-url", databases.server_url],
        capture_output=True,
        text=True,
        timeout=WAIT * 6,
        check=True,
    )
    assert "source: 30 tasks, 300 events" in result.stdout
    assert "import into PostgreSQL" in result.stdout
    assert "both files hold the same rows: True" in result.stdout
