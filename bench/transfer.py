"""How long moving a database takes: ``maestro export`` and ``maestro import`` as users
run them (separate processes), SQLite -> PostgreSQL and PostgreSQL -> SQLite, on a
database of many tasks and events.

    python -m bench.transfer                             # 5,000 tasks, 100,000 events
    python -m bench.transfer --tasks 500 --events 10000  # smaller
    python -m bench.transfer --pg-url postgresql://me@host/postgres   # an existing server

The source is made through the service, in group-committed batches, so its rows are
what Maestro writes: tasks with labels, parents and dependencies, sessions with links
and notes, and task updates until the log holds the events asked for. Without
``--pg-url`` a throwaway cluster is started (tests/support/postgres.py: fsync off, which
matters little to a load that commits once); with it, a database is created on that
server and dropped at the end. Each time includes starting the ``maestro`` process.
"""

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from maestro_mcp.core.models import (
    ProjectCreate,
    SessionCreate,
    TaskCreate,
    TaskPatch,
)
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage.location import open_store
from tests.support import postgres
from tests.support.servers import maestro_command
from tests.support.stores import with_database

BATCH = 500  # writes per transaction while building the source


def build(path: Path, tasks: int, events: int) -> dict[str, int]:
    """A SQLite database with ``tasks`` tasks and about ``events`` events; its counts."""
    store = open_store(path)
    store.migrate()
    service = Service(store)
    try:
        project = service.create_project(ProjectCreate(name="Big")).value.id
        made: list[str] = []
        for start in range(0, tasks, BATCH):
            with store.batch():
                for n in range(start, min(start + BATCH, tasks)):
                    parent = made[n // 10] if n >= 10 and n % 3 == 0 else None
                    made.append(
                        service.create_task(
                            TaskCreate(
                                project_id=project,
                                title=f"Task {n}: implement the next part",
                                description="A realistic description of the work. " * 4,
                                labels=["backend"] if n % 2 else ["frontend", "ui"],
                                parent_id=parent,
                                depends_on=[made[n - 1]] if n % 7 == 0 and n else [],
                            )
                        ).value.id
                    )
        with store.batch():
            for s in range(max(tasks // 100, 1)):
                linked = made[s * 10 : s * 10 + 5]
                session = service.create_session(
                    SessionCreate(project_id=project, name=f"agent {s}", task_ids=linked)
                ).value.id
                service.add_session_note(session, f"working on {len(linked)} tasks")
        with store.read() as rows:
            remaining = events - rows.head()
        for start in range(0, max(remaining, 0), BATCH):
            with store.batch():
                for n in range(start, min(start + BATCH, remaining)):
                    # A new title every time: a patch that changes nothing logs nothing.
                    patch = TaskPatch(title=f"Task {n % len(made)}: revision {n}")
                    service.update_task(made[n % len(made)], patch)
        with store.read() as rows:
            return {"tasks": rows.table_size("tasks"), "events": rows.table_size("events")}
    finally:
        store.close()


def timed(*args: str) -> float:
    began = time.perf_counter()
    subprocess.run(maestro_command(*args), check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def run(tasks: int, events: int, server_url: str, workdir: Path) -> None:
    source = workdir / "source.db"
    began = time.perf_counter()
    counts = build(source, tasks, events)
    print(
        f"source: {counts['tasks']:,} tasks, {counts['events']:,} events "
        f"(built in {time.perf_counter() - began:.1f} s)"
    )
    name = f"bench_transfer_{int(time.time())}"
    target = with_database(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    first, second = workdir / "sqlite.jsonl", workdir / "postgresql.jsonl"
    back = str(workdir / "back.db")
    try:
        steps = [
            ("export SQLite", timed("export", "-q", "--db", str(source), str(first))),
            ("import into PostgreSQL", timed("import", "-q", "--db", target, str(first))),
            ("export PostgreSQL", timed("export", "-q", "--db", target, str(second))),
            ("import into SQLite", timed("import", "-q", "--db", back, str(second))),
        ]
    finally:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(drop)
    rows = sum(json.loads(first.open().readline())["counts"].values())
    print(f"file: {rows:,} rows, {first.stat().st_size / 1e6:.1f} MB")
    print(f"{'step':<24}{'seconds':>9}{'rows/s':>11}")
    for step, seconds in steps:
        print(f"{step:<24}{seconds:>9.2f}{rows / seconds:>11,.0f}")
    same = first.read_text().splitlines()[1:] == second.read_text().splitlines()[1:]
    print(f"both files hold the same rows: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--pg-url", help="a PostgreSQL server to create the target database on")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        if options.pg_url:
            run(options.tasks, options.events, options.pg_url, workdir)
            return
        cluster = postgres.Cluster.start(workdir)
        try:
            run(options.tasks, options.events, cluster.url(), workdir)
        finally:
            cluster.destroy()


if __name__ == "__main__":
    main()
