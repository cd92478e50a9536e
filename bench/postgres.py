"""The PostgreSQL runs of the benchmark (``python -m bench --db postgresql``).

A throwaway cluster with PostgreSQL's durable defaults (``fsync``, ``synchronous_commit``
and ``full_page_writes`` on: every acknowledged write is on disk), then the same phases
as on SQLite with one instance, the same again with clients and writes split over two
instances of one database, the commit ceiling, and a bare PostgreSQL reference measured
in the same run (one INSERT per transaction, on one connection and on eight).
"""

import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from maestro_mcp.core.storage.postgres import PgStore
from tests.support.postgres import DURABLE, Cluster

from . import ceiling, load, proc


@contextmanager
def durable_cluster() -> Iterator[Cluster]:
    cluster = Cluster.start(Path(tempfile.mkdtemp(prefix="maestro-bench-")), DURABLE)
    try:
        yield cluster
    finally:
        cluster.destroy()


def new_database(cluster: Cluster, name: str) -> str:
    cluster.create_database(name)
    return cluster.url(name)


def bare_commits(url: str, commits: int, connections: int = 1) -> float:
    """Commits/s of the simplest durable write: one INSERT per transaction."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_ref (n BIGINT, body TEXT)")
    per_connection = commits // connections

    def run() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            for n in range(per_connection):
                conn.execute("INSERT INTO bench_ref VALUES (%s, %s)", (n, "x" * 200))

    threads = [threading.Thread(target=run) for _ in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return per_connection * connections / (time.perf_counter() - began)


def commit_ceiling(url: str, writes: int) -> dict[int, float]:
    store = PgStore(url)
    store.migrate()
    try:
        return ceiling.writes_per_second(store, writes)
    finally:
        store.close()


async def phases(cluster: Cluster, size: Any, clients_small: int, writes: int) -> dict[str, Any]:
    """Maestro on PostgreSQL: one instance, then two on one database."""
    found: dict[str, Any] = {}
    url = new_database(cluster, "maestro_one")
    one = proc.start_server_url(url)
    try:
        project, seeded = await load.make_project(one.url, tasks=50)
        cpu = one.cpu_seconds
        found["c1"] = await load.phase(
            one.url, name="c1", project_id=project, clients=clients_small, writes=writes,
            in_flight=1, cpu_seconds=cpu,
        )  # fmt: skip
        found["u8"] = await load.phase(
            one.url, name="u8", project_id=project, clients=clients_small, writes=writes,
            in_flight=8, update_ids=seeded, cpu_seconds=cpu,
        )  # fmt: skip
        found["s8"] = await load.phase(
            one.url, name="s8", project_id=project, clients=clients_small, writes=writes,
            in_flight=8, update_ids=seeded, cpu_seconds=cpu, transport="sse",
        )  # fmt: skip
    finally:
        one.stop()

    url = new_database(cluster, "maestro_two")
    first = proc.start_server_url(url)
    second = proc.start_server_url(url)
    try:
        project, seeded = await load.make_project(first.url, tasks=50)

        def both_cpu() -> float:
            return first.cpu_seconds() + second.cpu_seconds()

        found["two"] = await load.phase(
            [first.url, second.url], name="t8", project_id=project, clients=clients_small,
            writes=writes, in_flight=8, update_ids=seeded, cpu_seconds=both_cpu,
        )  # fmt: skip
    finally:
        first.stop()
        second.stop()
    return found
