"""Fixtures for the tests of several Maestro instances on one PostgreSQL database.

The rules of this package:

- Every test here is about PostgreSQL (``pytestmark = pytest.mark.only_store("postgresql")``
  in each module): SQLite has one machine and one writer, and nothing of this to prove.
- The instances are real ``maestro serve`` processes (``tests/support/instances.py``) on the
  test's own ``database``; the ``instances`` fixture stops every one it started when the
  test ends, and fails the test if one of them logged a traceback (an unhandled error is a
  bug, whatever the test asserted).
- Tests that stop, restart or cut the database's connections use the session's throwaway
  cluster (``cluster``); against ``MAESTRO_TEST_PG_URL`` they are skipped, with the reason
  (and fail under ``CI=true``, where nothing may be skipped).
- One concern per test; nothing sleeps for a fixed time: tests wait for events
  (``wait_for``, a feed's ``follow_until``), and every load is bounded
  (``tests/support/instances.py``).
"""

from collections.abc import Iterator

import pytest

from tests.support.ci import missing
from tests.support.instances import Instances, Pair
from tests.support.postgres import Cluster
from tests.support.stores import Databases, PostgresDatabases


@pytest.fixture
def postgres(databases: Databases) -> PostgresDatabases:
    """The session's PostgreSQL databases (every test here runs on PostgreSQL only)."""
    assert isinstance(databases, PostgresDatabases), "tests/instances is PostgreSQL only"
    return databases


@pytest.fixture
def cluster(postgres: PostgresDatabases) -> Cluster:
    """The throwaway cluster the databases live on, for tests that stop or restart it."""
    if postgres.cluster is None:
        missing(
            "the test restarts PostgreSQL or ends its connections, which it does only on the "
            "throwaway cluster the suite starts, not on MAESTRO_TEST_PG_URL's server"
        )
    return postgres.cluster


@pytest.fixture
def empty_database(postgres: PostgresDatabases) -> Iterator[str]:
    """A database with nothing in it, not even Maestro's schema. Ask for it before
    ``instances``, so that the instances stop before it is dropped."""
    location = postgres.create_empty()
    yield location
    postgres.drop(location)


@pytest.fixture
def instances(database: str) -> Iterator[Instances]:
    """Starts ``maestro serve`` processes (``instances.start(database, n)``) and stops
    them at the end of the test, before its database is dropped (hence ``database``
    here: a fixture is torn down before those it uses)."""
    started = Instances()
    try:
        yield started
    finally:
        started.stop_all()
    broken = started.tracebacks()
    assert not broken, "an instance logged a traceback:\n" + "\n".join(broken)


@pytest.fixture
def pair(database: str, instances: Instances) -> Pair:
    """Two instances, A and B, on the test's database, started together."""
    a, b = instances.start(database, 2)
    return a, b
