"""PostgreSQL queries for tasks: readiness and dependencies. Used by ``PgRows``.

A task is read with its links and dependencies in one query (array subqueries): one
round trip per read, where SQLite, in process, makes three.

**Read-ahead.** A group-commit batch knows the entities its writes will read first
(``Store.batch(reads=...)``; ids of other entities than tasks are ignored here). The
batch's first ``get_task`` fetches all those tasks in its one round trip; a row is
kept only if its project's lock was held when it was read (the batch holds it until
COMMIT: nobody else can change the row meanwhile), and serves the next ``get_task`` of
that task in the batch, once. A kept row is dropped as soon as the transaction sends
anything that may change rows (``ReadAhead.changed``: all of them, but for an upsert
of one task, which drops that task's) or rolls a write back; a task whose row is gone
is read again. So a read from the read-ahead returns what the query would have.

**Walks** over parent links (``subtree_ids``, ``ancestor_ids``) and dependencies
(``depends_transitively``) are recursive queries whose step looks up the rows of one
level through a subquery per row (``ARRAY(SELECT … WHERE parent_id = sub.id)``), which
the planner cannot turn into a join: each step is an index lookup, whatever the
table's statistics say. A join in the step is planned from statistics, and a table that
grew since its last ANALYZE (a fresh import, a burst of writes) gets a hash join that
scans the whole table at every level: time quadratic in the depth (39 s for a chain of
5,000 sub-tasks, where the lookups take milliseconds).
"""

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import psycopg

from ...ids import TASK_PREFIX
from ...models import Claim, Task, TaskFilter
from ..rules_sql import Dialect, TaskRules
from .locks import lock_key

if TYPE_CHECKING:
    from .store import PgStore, Transaction

Connection = psycopg.Connection[tuple[Any, ...]]

RULES = TaskRules(
    Dialect(
        param=lambda name: f"%({name})s",
        order="ord",
        has_label=lambda name: f"%({name})s = ANY(tasks.labels)",
        # A backslash is LIKE's escape character by default.
        like=lambda column, name: f"{column} ILIKE %({name})s",
    )
)

# Written by save_task. Claims are written only by ClaimQueries (claim_rows.py).
_TASK_COLUMNS = (
    "id, project_id, parent_id, title, description, prompt, status, priority, "
    "created_at, updated_at, started_at, completed_at, version, labels"
)
_TASK_READ = (
    _TASK_COLUMNS
    + ", claim_session_id, claimed_at, claim_expires_at"
    + ", ARRAY(SELECT session_id FROM task_sessions l WHERE l.task_id = tasks.id ORDER BY l.id)"
    + ", ARRAY(SELECT depends_on_id FROM task_deps d WHERE d.task_id = tasks.id"
    + " ORDER BY depends_on_id)"
)


def upsert(table: str, columns: str) -> str:
    names = [c.strip() for c in columns.split(",")]
    marks = ", ".join("%s" for _ in names)
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != "id")
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT (id) DO UPDATE SET {updates}"
    )


_UPSERT_TASK = upsert("tasks", _TASK_COLUMNS)


class ReadAhead:
    """The task rows a batch's writes will read, fetched together (see the module's
    docstring for when one may be used)."""

    __slots__ = ("rows", "unfetched")

    def __init__(self, reads: Iterable[str] = ()) -> None:
        # The tasks among ``reads``, until the batch's first task read fetches them.
        self.unfetched = {i for i in reads if i.startswith(TASK_PREFIX)}
        self.rows: dict[str, tuple[Any, ...]] = {}

    def __bool__(self) -> bool:
        return bool(self.unfetched or self.rows)

    def changed(self, query: Any, params: Any) -> None:
        """A statement that may change rows was sent."""
        if not self.rows:
            return
        if query is _UPSERT_TASK:
            self.rows.pop(params[0], None)  # it changes that task's row, and no other
        else:
            self.rows.clear()

    def forget(self) -> None:
        """A write was rolled back: the rows read since may be its changes, or rows of
        a project whose lock the rollback gave back."""
        self.rows.clear()


def _task(row: Sequence[Any]) -> Task:
    claim = None
    if row[14] is not None:
        claim = Claim(session_id=row[14], claimed_at=row[15], expires_at=row[16])
    session_ids: list[str] = row[17]
    return Task(
        id=row[0],
        project_id=row[1],
        parent_id=row[2],
        title=row[3],
        description=row[4],
        prompt=row[5],
        status=row[6],
        priority=row[7],
        session_ids=session_ids,
        session_count=len(session_ids),
        labels=row[13],
        depends_on=row[18],
        claim=claim,
        created_at=row[8],
        updated_at=row[9],
        started_at=row[10],
        completed_at=row[11],
        version=row[12],
    )


class TaskQueries:
    __slots__ = ()
    conn: Connection
    tx: "Transaction | None"
    store: "PgStore"

    def lock_tasks_projects(self, task_ids: Iterable[str]) -> None: ...  # rows.py
    def lock_projects(self, project_ids: Iterable[str | None]) -> None: ...  # rows.py

    def _load_tasks(
        self,
        condition: str,
        params: dict[str, Any],
        *,
        order: str = "ord",
        limit: int | None = None,
    ) -> list[Task]:
        limited = f" LIMIT {int(limit)}" if limit is not None else ""
        selected = f"SELECT {_TASK_READ} FROM tasks WHERE {condition} ORDER BY {order}{limited}"
        return [_task(row) for row in self.conn.execute(selected, params).fetchall()]

    def get_task(self, task_id: str) -> Task | None:
        self.lock_tasks_projects([task_id])
        if self.tx is not None and self.tx.read_ahead:
            return self._get_task_ahead(task_id, self.tx)
        found = self._load_tasks("id = %(id)s", {"id": task_id})
        return found[0] if found else None

    def _get_task_ahead(self, task_id: str, tx: "Transaction") -> Task | None:
        ahead = tx.read_ahead
        row = ahead.rows.pop(task_id, None)
        if row is not None:
            return _task(row)
        ids = [task_id, *(ahead.unfetched - {task_id})]
        ahead.unfetched.clear()  # fetched once: a row dropped since is read alone
        found = None
        for row in self.conn.execute(f"SELECT {_TASK_READ} FROM tasks WHERE id = ANY(%s)", (ids,)):
            self.store.project_of[row[0]] = row[1]
            if row[0] == task_id:
                found = row
            elif lock_key(row[1]) in tx.held:
                ahead.rows[row[0]] = row  # read under its project's lock, held until COMMIT
        return None if found is None else _task(found)

    def get_tasks(self, task_ids: Iterable[str]) -> list[Task]:
        ids = list(dict.fromkeys(task_ids))
        if not ids:
            return []
        self.lock_tasks_projects(ids)
        by_id = {t.id: t for t in self._load_tasks("id = ANY(%(ids)s)", {"ids": ids})}
        return [by_id[i] for i in ids if i in by_id]

    def list_tasks(self, where: TaskFilter, now: int) -> list[Task]:
        self.lock_projects([where.project_id])
        condition, params = RULES.list_filter(where, now)
        return self._load_tasks(condition, params, limit=where.limit)

    def next_ready(
        self,
        project_id: str,
        now: int,
        count: int,
        labels: list[str],
        parent_id: str | None,
    ) -> list[Task]:
        """Up to ``count`` ready tasks, most urgent first, then oldest."""
        self.lock_projects([project_id])
        matching, params = RULES.claim_next_filter(project_id, labels, parent_id)
        return self._load_tasks(
            f"{matching} AND {RULES.ready}",
            {**params, "now": now},
            order=f"{RULES.priority_order}, ord",
            limit=count,
        )

    def save_task(self, task: Task) -> None:
        self.lock_projects([task.project_id])
        self.conn.execute(
            _UPSERT_TASK,
            (
                task.id,
                task.project_id,
                task.parent_id,
                task.title,
                task.description,
                task.prompt,
                task.status.value,
                task.priority.value,
                task.created_at,
                task.updated_at,
                task.started_at,
                task.completed_at,
                task.version,
                list(task.labels),
            ),
        )

    def subtree_ids(self, task_id: str) -> list[str]:
        """The task and all its descendants, deepest first."""
        self.lock_tasks_projects([task_id])
        rows = self.conn.execute(
            """
            WITH RECURSIVE sub(id, depth) AS (
                SELECT id, 0 FROM tasks WHERE id = %s
                UNION ALL
                SELECT child.id, sub.depth + 1 FROM sub CROSS JOIN LATERAL unnest(ARRAY(
                    SELECT c.id FROM tasks c WHERE c.parent_id = sub.id
                )) AS child(id)
            )
            SELECT id FROM sub ORDER BY depth DESC, id
            """,
            (task_id,),
        )
        return [row[0] for row in rows]

    def ancestor_ids(self, task_id: str) -> list[str]:
        self.lock_tasks_projects([task_id])
        rows = self.conn.execute(
            """
            WITH RECURSIVE up(id) AS (
                SELECT parent_id FROM tasks WHERE id = %s
                UNION
                SELECT (SELECT t.parent_id FROM tasks t WHERE t.id = up.id)
                FROM up WHERE up.id IS NOT NULL
            )
            SELECT id FROM up WHERE id IS NOT NULL
            """,
            (task_id,),
        )
        return [row[0] for row in rows]

    def delete_tasks(self, task_ids: list[str]) -> None:
        self.lock_tasks_projects(task_ids)
        self.conn.execute("DELETE FROM tasks WHERE id = ANY(%s)", (task_ids,))

    def set_dependencies(self, task_id: str, depends_on: list[str]) -> None:
        self.lock_tasks_projects([task_id])
        self.conn.execute("DELETE FROM task_deps WHERE task_id = %s", (task_id,))
        if depends_on:
            self.conn.execute(
                "INSERT INTO task_deps (task_id, depends_on_id) SELECT %s, unnest(%s::text[])",
                (task_id, depends_on),
            )

    def depends_transitively(self, start: list[str], target: str) -> bool:
        """Whether ``target`` is among ``start`` or what they depend on, directly or not."""
        if not start:
            return False
        self.lock_tasks_projects([*start, target])
        row = self.conn.execute(
            """
            WITH RECURSIVE reach(id) AS (
                SELECT unnest(%s::text[])
                UNION
                SELECT dependency.id FROM reach CROSS JOIN LATERAL unnest(ARRAY(
                    SELECT d.depends_on_id FROM task_deps d WHERE d.task_id = reach.id
                )) AS dependency(id)
            )
            SELECT 1 FROM reach WHERE id = %s LIMIT 1
            """,
            (start, target),
        ).fetchone()
        return row is not None

    def dependents_of(self, task_ids: list[str]) -> list[str]:
        self.lock_tasks_projects(task_ids)
        rows = self.conn.execute(
            "SELECT DISTINCT task_id FROM task_deps WHERE depends_on_id = ANY(%s) ORDER BY task_id",
            (task_ids,),
        )
        return [row[0] for row in rows]
