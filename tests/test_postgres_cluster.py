"""The throwaway PostgreSQL cluster the PostgreSQL tests run on (tests/support/postgres.py)."""

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support import postgres
from tests.support.ci import missing


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[postgres.Cluster]:
    """A cluster of the test's own; without PostgreSQL's programs the test is skipped,
    or fails on CI (``CI=true``)."""
    if postgres.find_pg_bin("initdb") is None:
        missing(
            "PostgreSQL's initdb is not on PATH or in /usr/lib/postgresql/*/bin: "
            "run scripts/ensure-postgres to install it"
        )
    started = postgres.Cluster.start(tmp_path)
    yield started
    started.destroy()


def select_one(url: str) -> int:
    with psycopg.connect(url, connect_timeout=10) as connection:
        row = connection.execute("SELECT 1").fetchone()
    assert row is not None
    return int(row[0])


def test_database_from_template_survives_restart(cluster: postgres.Cluster) -> None:
    cluster.create_database("template_maestro")
    cluster.execute("CREATE TABLE marker (name text)", dbname="template_maestro")
    cluster.execute("INSERT INTO marker VALUES ('from the template')", dbname="template_maestro")

    cluster.create_database("copy", template="template_maestro")

    assert select_one(cluster.url("copy")) == 1
    assert cluster.execute("SELECT name FROM marker", dbname="copy") == [("from the template",)]

    cluster.restart()

    assert select_one(cluster.url("copy")) == 1
    cluster.drop_database("copy")
    cluster.drop_database("copy")  # IF EXISTS
    assert cluster.execute("SELECT 1 FROM pg_database WHERE datname = 'copy'") == []

    root = cluster.root
    cluster.destroy()
    assert not root.exists()
    cluster.destroy()  # a second call does nothing


def test_terminate_and_start_again(cluster: postgres.Cluster) -> None:
    url = cluster.url()
    with (
        psycopg.connect(url, application_name="victim") as victim,
        psycopg.connect(url, application_name="bystander") as bystander,
    ):
        assert cluster.terminate("victim") == 1
        with pytest.raises(psycopg.OperationalError):
            victim.execute("SELECT 1")
        assert bystander.execute("SELECT 1").fetchone() == (1,)

    port = cluster.port
    cluster.stop()
    assert not cluster.running
    with pytest.raises(psycopg.OperationalError):
        select_one(url)
    cluster.start_again()
    assert cluster.port == port
    assert select_one(url) == 1
