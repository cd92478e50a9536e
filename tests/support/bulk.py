"""Databases of many rows, made in seconds: rows of the transfer format loaded in one
transaction by ``Store.load`` (what ``maestro import`` does), on either store.

Tests of sizes and depths need tens of thousands of tasks or chains thousands deep;
made through the service one by one they would take minutes. The rows follow the
format's rules (core/storage/transfer.py) and the schema's: a loaded database is one the
service could have made. On PostgreSQL the tables then have no planner statistics yet,
as after a real import: queries must be fast without them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maestro_mcp.core.ids import PROJECT_PREFIX, SESSION_PREFIX, TASK_PREFIX, new_id
from maestro_mcp.core.storage.location import open_store
from maestro_mcp.core.storage.transfer import TABLES
from maestro_mcp.core.vocabulary import SessionStatus, TaskPriority, TaskStatus
from maestro_mcp.settings import Settings

from .servers import LiveServer, live_server
from .stores import Databases

NOW = 1_700_000_000_000  # every row's times: rows made at once


@dataclass
class Bulk:
    """The rows of one database, table by table; ``load`` writes them."""

    tables: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {table: [] for table in TABLES}
    )
    _ords: dict[str, itertools.count[int]] = field(
        default_factory=lambda: {t: itertools.count(1) for t in TABLES}
    )

    def project(self, name: str) -> str:
        project_id = new_id(PROJECT_PREFIX)
        self.tables["projects"].append(
            {
                "ord": next(self._ords["projects"]),
                "id": project_id,
                "name": name,
                "working_dir": None,
                "description": "",
                "created_at": NOW,
                "updated_at": NOW,
                "version": 1,
            }
        )
        return project_id

    def task(
        self,
        project_id: str,
        title: str,
        *,
        parent_id: str | None = None,
        status: TaskStatus = TaskStatus.PENDING,
        labels: tuple[str, ...] = (),
    ) -> str:
        task_id = new_id(TASK_PREFIX)
        self.tables["tasks"].append(
            {
                "ord": next(self._ords["tasks"]),
                "id": task_id,
                "project_id": project_id,
                "parent_id": parent_id,
                "title": title,
                "description": "",
                "prompt": "",
                "status": status.value,
                "priority": TaskPriority.MEDIUM.value,
                "labels": list(labels),
                "created_at": NOW,
                "updated_at": NOW,
                "started_at": None,
                "completed_at": NOW if status == TaskStatus.COMPLETED else None,
                "version": 1,
                "claim_session_id": None,
                "claim_token": None,
                "claimed_at": None,
                "claim_expires_at": None,
                "claim_lease_ms": None,
            }
        )
        return task_id

    def chain(
        self, project_id: str, depth: int, title: str = "level", *, parent_id: str | None = None
    ) -> list[str]:
        """``depth`` tasks, each a sub-task of the one before (the first of ``parent_id``):
        ids from the top down."""
        ids: list[str] = []
        for level in range(depth):
            ids.append(
                self.task(project_id, f"{title} {level}", parent_id=ids[-1] if ids else parent_id)
            )
        return ids

    def steps(self, project_id: str, count: int, title: str = "step") -> list[str]:
        """``count`` tasks, each depending on the one before: ids from the first one."""
        ids = [self.task(project_id, f"{title} {n}") for n in range(count)]
        for earlier, later in itertools.pairwise(ids):
            self.depend(later, earlier)
        return ids

    def depend(self, task_id: str, depends_on: str) -> None:
        self.tables["task_deps"].append({"task_id": task_id, "depends_on_id": depends_on})

    def session(self, project_id: str, name: str) -> str:
        session_id = new_id(SESSION_PREFIX)
        self.tables["sessions"].append(
            {
                "ord": next(self._ords["sessions"]),
                "id": session_id,
                "project_id": project_id,
                "name": name,
                "agent": None,
                "status": SessionStatus.WORKING.value,
                "created_at": NOW,
                "updated_at": NOW,
                "last_activity_at": NOW,
                "ended_at": None,
                "version": 1,
            }
        )
        return session_id

    def link(self, task_id: str, session_id: str) -> None:
        self.tables["task_sessions"].append(
            {"id": next(self._ords["task_sessions"]), "task_id": task_id, "session_id": session_id}
        )

    def load(self, database: str) -> None:
        """Write every row into ``database`` (empty; migrated here), in one transaction."""
        store = open_store(database)
        try:
            store.migrate()
            store.load((table, row) for table, rows in self.tables.items() for row in rows)
        finally:
            store.close()


@contextmanager
def serving(bulk: Bulk, databases: Databases, directory: Path) -> Iterator[LiveServer]:
    """A real server on a new database of ``databases``' store holding ``bulk``'s rows;
    the database is dropped afterwards."""
    location = databases.create(directory)
    try:
        bulk.load(location)
        with live_server(Settings(database=location, poll_interval=0.02)) as server:
            yield server
    finally:
        databases.drop(location)
