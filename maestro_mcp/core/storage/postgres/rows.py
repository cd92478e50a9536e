"""``PgRows``: one PostgreSQL transaction's queries, and the project locks they take.

In a write transaction every query that reads or writes a project's rows first locks
that project (an advisory lock held until the transaction ends; store.py says why),
then reads under READ COMMITTED: what it sees is the newest committed state, and no
other instance can change it before COMMIT. Reads outside a write take no lock (one
REPEATABLE READ snapshot). SQL for entity tables lives here, in task_rows.py,
claim_rows.py and coordination_rows.py (messages, questions, file reservations); the
event log's and idempotency records' in log_rows.py.
"""

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import psycopg

from ...models import ENDED_SESSION_STATUSES, Project, Session, SessionFilter, SessionNote
from . import transfer_rows
from .claim_rows import ClaimQueries
from .coordination_rows import CoordinationQueries
from .locks import CATALOG, lock_key
from .log_rows import LogQueries
from .task_rows import TaskQueries, upsert
from .token_rows import TokenQueries

if TYPE_CHECKING:
    from .store import PgStore, Transaction

Connection = psycopg.Connection[tuple[Any, ...]]

# Owners remembered per store; cleared when it grows past this (entities are many).
_OWNERS_KEPT = 100_000

_PROJECT_COLUMNS = "id, name, working_dir, description, created_at, updated_at, version"
_SESSION_COLUMNS = (
    "id, project_id, name, agent, status, created_at, updated_at, last_activity_at, "
    "ended_at, version"
)
_SESSION_READ = (
    _SESSION_COLUMNS
    + ", ARRAY(SELECT task_id FROM task_sessions l WHERE l.session_id = sessions.id"
    + " ORDER BY l.id)"
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


def _session(row: Sequence[Any]) -> Session:
    return Session(
        id=row[0],
        project_id=row[1],
        name=row[2],
        agent=row[3],
        status=row[4],
        task_ids=row[10],
        created_at=row[5],
        updated_at=row[6],
        last_activity_at=row[7],
        ended_at=row[8],
        version=row[9],
    )


class PgRows(TaskQueries, ClaimQueries, CoordinationQueries, LogQueries, TokenQueries):
    """The ``Rows`` of the storage contract over one PostgreSQL connection."""

    __slots__ = ("conn", "store", "tx")

    def __init__(self, conn: Connection, tx: "Transaction | None", store: "PgStore") -> None:
        self.conn = conn
        self.tx = tx  # None in a read transaction: nothing to lock
        self.store = store

    # --- locks ------------------------------------------------------------------------

    def lock_projects(self, project_ids: Iterable[str | None]) -> None:
        if self.tx is None:
            return
        for project_id in sorted({p for p in project_ids if p}):
            self.tx.lock(lock_key(project_id))

    def lock_tasks_projects(self, task_ids: Iterable[str]) -> None:
        self._lock_owners("tasks", task_ids)

    def lock_sessions_projects(self, session_ids: Iterable[str]) -> None:
        self._lock_owners("sessions", session_ids)

    def _lock_owners(self, table: str, ids: Iterable[str]) -> None:
        """Lock the projects the rows ``ids`` of ``table`` belong to (a row that does not
        exist belongs to none)."""
        if self.tx is None:
            return
        owners = self.store.project_of
        if len(owners) > _OWNERS_KEPT:
            owners.clear()  # before looking: every id asked for is then fetched again
        wanted = list(ids)
        missing = [i for i in wanted if i not in owners]
        if missing:
            for entity_id, project_id in self.conn.execute(
                f"SELECT id, project_id FROM {table} WHERE id = ANY(%s)", (missing,)
            ):
                owners[entity_id] = project_id
        self.lock_projects(owners.get(i) for i in wanted)

    # --- projects ---------------------------------------------------------------------

    def get_project(self, project_id: str) -> Project | None:
        self.lock_projects([project_id])
        row = self.conn.execute(
            f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE id = %s", (project_id,)
        ).fetchone()
        return None if row is None else _project(row)

    def list_projects(self) -> list[Project]:
        # In a write, the list decides whether a name is free: one writer of it at a time.
        if self.tx is not None:
            self.tx.lock(lock_key(CATALOG))
        rows = self.conn.execute(f"SELECT {_PROJECT_COLUMNS} FROM projects ORDER BY ord")
        return [_project(row) for row in rows]

    def save_project(self, project: Project) -> None:
        self.lock_projects([project.id])
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
        self.lock_projects([project_id])
        self.conn.execute("DELETE FROM projects WHERE id = %s", (project_id,))

    # --- sessions ---------------------------------------------------------------------

    def get_session(self, session_id: str) -> Session | None:
        self.lock_sessions_projects([session_id])
        row = self.conn.execute(
            f"SELECT {_SESSION_READ} FROM sessions WHERE id = %s", (session_id,)
        ).fetchone()
        return None if row is None else _session(row)

    def get_sessions(self, session_ids: Iterable[str]) -> list[Session]:
        ids = list(dict.fromkeys(session_ids))
        if not ids:
            return []
        self.lock_sessions_projects(ids)
        rows = self.conn.execute(f"SELECT {_SESSION_READ} FROM sessions WHERE id = ANY(%s)", (ids,))
        by_id = {row[0]: _session(row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def list_sessions(self, where: SessionFilter) -> list[Session]:
        clauses, params = [], []
        if where.project_id is not None:
            self.lock_projects([where.project_id])
            clauses.append("project_id = %s")
            params.append(where.project_id)
        if where.status is not None:
            clauses.append("status = %s")
            params.append(where.status.value)
        if where.active is not None:
            # The statuses are fixed identifiers: no parameter needed.
            ended = ", ".join(f"'{s.value}'" for s in sorted(ENDED_SESSION_STATUSES))
            clauses.append(f"status {'NOT IN' if where.active else 'IN'} ({ended})")
        if where.task_id is not None:
            clauses.append("id IN (SELECT session_id FROM task_sessions WHERE task_id = %s)")
            params.append(where.task_id)
        condition = " AND ".join(clauses) or "TRUE"
        rows = self.conn.execute(
            f"SELECT {_SESSION_READ} FROM sessions WHERE {condition} ORDER BY ord", params
        )
        return [_session(row) for row in rows]

    def save_session(self, session: Session) -> None:
        self.lock_projects([session.project_id])
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
        self.lock_sessions_projects([session_id])
        self.conn.execute("DELETE FROM sessions WHERE id = %s", (session_id,))

    def session_ids_of_tasks(self, task_ids: list[str]) -> list[str]:
        self.lock_tasks_projects(task_ids)
        rows = self.conn.execute(
            "SELECT session_id FROM task_sessions WHERE task_id = ANY(%s) ORDER BY id",
            (task_ids,),
        )
        return list(dict.fromkeys(row[0] for row in rows))

    def link(self, task_id: str, session_id: str) -> bool:
        """Link a task and a session; False if they already were."""
        self.lock_tasks_projects([task_id])
        self.lock_sessions_projects([session_id])
        made = self.conn.execute(
            "INSERT INTO task_sessions (task_id, session_id) VALUES (%s, %s) "
            "ON CONFLICT (task_id, session_id) DO NOTHING RETURNING 1",
            (task_id, session_id),
        ).fetchone()
        return made is not None

    def unlink(self, task_id: str, session_id: str) -> bool:
        self.lock_tasks_projects([task_id])
        self.lock_sessions_projects([session_id])
        gone = self.conn.execute(
            "DELETE FROM task_sessions WHERE task_id = %s AND session_id = %s RETURNING 1",
            (task_id, session_id),
        ).fetchone()
        return gone is not None

    def add_note(self, session_id: str, message: str, now: int) -> SessionNote:
        self.lock_sessions_projects([session_id])
        row = self.conn.execute(
            "INSERT INTO session_notes (session_id, message, created_at) VALUES (%s, %s, %s) "
            "RETURNING id",
            (session_id, message, now),
        ).fetchone()
        assert row is not None
        return SessionNote(id=int(row[0]), session_id=session_id, message=message, created_at=now)

    def list_notes(self, session_id: str, limit: int) -> list[SessionNote]:
        """The newest ``limit`` notes of a session, oldest first."""
        rows = self.conn.execute(
            "SELECT id, session_id, message, created_at FROM session_notes "
            "WHERE session_id = %s ORDER BY id DESC LIMIT %s",
            (session_id, limit),
        ).fetchall()
        return [_note(r) for r in reversed(rows)]

    def latest_notes(self, project_id: str) -> list[SessionNote]:
        # The project's sessions by sessions_by_project, each one's newest note by a step
        # down session_notes_by_session from its end.
        rows = self.conn.execute(
            "SELECT n.id, n.session_id, n.message, n.created_at FROM sessions AS s "
            "CROSS JOIN LATERAL (SELECT id, session_id, message, created_at FROM session_notes "
            "WHERE session_id = s.id ORDER BY id DESC LIMIT 1) AS n "
            "WHERE s.project_id = %s ORDER BY s.ord",
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
    return SessionNote(id=int(row[0]), session_id=row[1], message=row[2], created_at=int(row[3]))
