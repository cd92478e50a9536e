"""``SqliteRows``: one SQLite transaction's queries. SQL for entity tables lives here
and in task_rows.py only; the event log's and idempotency records' SQL in log_rows.py."""

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ...models import ENDED_SESSION_STATUSES, Project, Session, SessionFilter, SessionNote
from . import transfer_rows
from .claim_rows import ClaimQueries
from .coordination_rows import CoordinationQueries
from .id_lists import EACH, id_list
from .log_rows import LogQueries
from .memo import TransactionMemo
from .task_rows import TaskQueries, upsert
from .token_rows import TokenQueries

_PROJECT_COLUMNS = "id, name, working_dir, description, created_at, updated_at, version"
_SESSION_COLUMNS = (
    "id, project_id, name, agent, status, created_at, updated_at, last_activity_at, "
    "ended_at, version"
)
_UPSERT_PROJECT = upsert("projects", _PROJECT_COLUMNS)
_UPSERT_SESSION = upsert("sessions", _SESSION_COLUMNS)


def _project(row: Sequence[Any]) -> Project:
    return Project(
        id=row[0],
        name=row[1],
        working_dir=row[2],
        description=row[3],
        created_at=row[4],
        updated_at=row[5],
        version=row[6],
    )


def _session(row: Sequence[Any], task_ids: list[str]) -> Session:
    return Session(
        id=row[0],
        project_id=row[1],
        name=row[2],
        agent=row[3],
        status=row[4],
        task_ids=task_ids,
        created_at=row[5],
        updated_at=row[6],
        last_activity_at=row[7],
        ended_at=row[8],
        version=row[9],
    )


class SqliteRows(TaskQueries, ClaimQueries, CoordinationQueries, LogQueries, TokenQueries):
    """The ``Rows`` of the storage contract over one SQLite connection."""

    __slots__ = ("conn", "memo")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.memo = TransactionMemo()  # kept by the store (memo.py)

    def get_project(self, project_id: str) -> Project | None:
        row = self.conn.execute(
            f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE id = ?", (project_id,)
        ).fetchone()
        return None if row is None else _project(row)

    def list_projects(self) -> list[Project]:
        rows = self.conn.execute(f"SELECT {_PROJECT_COLUMNS} FROM projects ORDER BY rowid")
        return [_project(row) for row in rows]

    def save_project(self, project: Project) -> None:
        self.conn.execute(
            _UPSERT_PROJECT,
            (
                project.id,
                project.name,
                project.working_dir,
                project.description,
                project.created_at,
                project.updated_at,
                project.version,
            ),
        )

    def delete_project(self, project_id: str) -> None:
        # Unhooked from their parents first, the tasks go in one cascade from the project
        # (TaskQueries.delete_tasks says why).
        self.conn.execute(
            "UPDATE tasks SET parent_id = NULL WHERE project_id = ? AND parent_id IS NOT NULL",
            (project_id,),
        )
        self.conn.execute("DELETE FROM projects WHERE id = ?", (project_id,))

    def get_session(self, session_id: str) -> Session | None:
        row = self.conn.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is None:
            return None
        return _session(row, self.task_ids_of(session_id))

    def get_sessions(self, session_ids: Iterable[str]) -> list[Session]:
        ids = list(dict.fromkeys(session_ids))
        if not ids:
            return []
        wanted = (id_list(ids),)
        rows = self.conn.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id IN ({EACH})", wanted
        )
        by_id = {row[0]: row for row in rows}
        links = self._links(f"session_id IN ({EACH})", wanted, key=1)
        return [_session(by_id[i], links.get(i, [])) for i in ids if i in by_id]

    def list_sessions(self, where: SessionFilter) -> list[Session]:
        clauses, params = [], []
        if where.project_id is not None:
            clauses.append("project_id = ?")
            params.append(where.project_id)
        if where.status is not None:
            clauses.append("status = ?")
            params.append(where.status.value)
        if where.active is not None:
            # The statuses are fixed identifiers: no parameter needed.
            ended = ", ".join(f"'{s.value}'" for s in sorted(ENDED_SESSION_STATUSES))
            clauses.append(f"status {'NOT IN' if where.active else 'IN'} ({ended})")
        if where.task_id is not None:
            clauses.append("id IN (SELECT session_id FROM task_sessions WHERE task_id = ?)")
            params.append(where.task_id)
        condition = " AND ".join(clauses) or "1"
        rows = self.conn.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE {condition} ORDER BY rowid",
            params,
        ).fetchall()
        links = self._links(
            f"session_id IN (SELECT id FROM sessions WHERE {condition})", params, key=1
        )
        return [_session(row, links.get(row[0], [])) for row in rows]

    def save_session(self, session: Session) -> None:
        self.conn.execute(
            _UPSERT_SESSION,
            (
                session.id,
                session.project_id,
                session.name,
                session.agent,
                session.status.value,
                session.created_at,
                session.updated_at,
                session.last_activity_at,
                session.ended_at,
                session.version,
            ),
        )

    def delete_session(self, session_id: str) -> None:
        self.conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def task_ids_of(self, session_id: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT task_id FROM task_sessions WHERE session_id = ? ORDER BY id", (session_id,)
        )
        return [row[0] for row in rows]

    def session_ids_of_tasks(self, task_ids: list[str]) -> list[str]:
        rows = self.conn.execute(
            f"SELECT DISTINCT session_id FROM task_sessions WHERE task_id IN ({EACH}) ORDER BY id",
            (id_list(task_ids),),
        )
        return list(dict.fromkeys(row[0] for row in rows))

    def link(self, task_id: str, session_id: str) -> bool:
        """Link a task and a session; False if they already were."""
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO task_sessions (task_id, session_id) VALUES (?, ?)",
            (task_id, session_id),
        )
        return cursor.rowcount == 1

    def unlink(self, task_id: str, session_id: str) -> bool:
        cursor = self.conn.execute(
            "DELETE FROM task_sessions WHERE task_id = ? AND session_id = ?", (task_id, session_id)
        )
        return cursor.rowcount == 1

    def add_note(self, session_id: str, message: str, now: int) -> SessionNote:
        cursor = self.conn.execute(
            "INSERT INTO session_notes (session_id, message, created_at) VALUES (?, ?, ?)",
            (session_id, message, now),
        )
        assert cursor.lastrowid is not None
        return SessionNote(
            id=cursor.lastrowid, session_id=session_id, message=message, created_at=now
        )

    def list_notes(self, session_id: str, limit: int) -> list[SessionNote]:
        """The newest ``limit`` notes of a session, oldest first."""
        rows = self.conn.execute(
            "SELECT id, session_id, message, created_at FROM session_notes WHERE session_id = ? "
            "ORDER BY id DESC LIMIT ?",
            (session_id, limit),
        ).fetchall()
        return [_note(r) for r in reversed(rows)]

    def latest_notes(self, project_id: str) -> list[SessionNote]:
        # The project's sessions by their index, each one's newest note by a step down
        # session_notes(session_id, id) from its end.
        rows = self.conn.execute(
            "SELECT n.id, n.session_id, n.message, n.created_at FROM sessions AS s "
            "JOIN session_notes AS n ON n.id = (SELECT id FROM session_notes "
            "WHERE session_id = s.id ORDER BY id DESC LIMIT 1) "
            "WHERE s.project_id = ? ORDER BY s.rowid",
            (project_id,),
        )
        return [_note(r) for r in rows]

    # --- the transfer format (transfer_rows.py) ---------------------------------------

    def table_size(self, table: str) -> int:
        return transfer_rows.table_size(self.conn, table)

    def dump(self, table: str) -> Iterator[dict[str, Any]]:
        return transfer_rows.dump(self.conn, table)


def _note(row: Sequence[Any]) -> SessionNote:
    """A note from a row of (id, session_id, message, created_at)."""
    return SessionNote(id=row[0], session_id=row[1], message=row[2], created_at=row[3])
