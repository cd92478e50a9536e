"""SQLite queries for tasks: readiness and dependencies. Used by ``SqliteRows``."""

import functools
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from ...models import Claim, Task, TaskFilter
from ..rules_sql import Dialect, TaskRules
from .id_lists import EACH, each, id_list
from .memo import TransactionMemo

# Written by save_task. Claims are written only by ClaimQueries (claim_rows.py).
_TASK_COLUMNS = (
    "id, project_id, parent_id, title, description, prompt, status, priority, "
    "created_at, updated_at, started_at, completed_at, version, labels"
)
_TASK_READ = _TASK_COLUMNS + ", claim_session_id, claimed_at, claim_expires_at"


def upsert(table: str, columns: str) -> str:
    # An upsert, not INSERT OR REPLACE: REPLACE deletes the old row first, which
    # would fire ON DELETE CASCADE and wipe the entity's children and links.
    names = [c.strip() for c in columns.split(",")]
    marks = ", ".join("?" * len(names))
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != "id")
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}"
    )


_UPSERT_TASK = upsert("tasks", _TASK_COLUMNS)
_SAVED_NAMES = tuple(name.strip() for name in _TASK_COLUMNS.split(","))
_SAVED = len(_SAVED_NAMES)  # a row as read starts with these columns, in this order


@functools.cache
def _update_of(columns: tuple[int, ...]) -> str:
    """An UPDATE of a task's columns at these positions of ``_TASK_COLUMNS``."""
    assignments = ", ".join(f"{_SAVED_NAMES[n]} = ?" for n in columns)
    return f"UPDATE tasks SET {assignments} WHERE id = ?"


RULES = TaskRules(
    Dialect(
        param=lambda name: f":{name}",
        order="rowid",
        has_label=lambda name: (
            f"EXISTS (SELECT 1 FROM json_each(tasks.labels) WHERE value = :{name})"
        ),
        # SQLite's LIKE ignores ASCII case already.
        like=lambda column, name: f"{column} LIKE :{name} ESCAPE '\\'",
    )
)
UNMET_DEPENDENCY = RULES.unmet_dependency
LIVE_CLAIM = RULES.live_claim
EFFECTIVELY_PENDING = RULES.effectively_pending
READY = RULES.ready
PRIORITY_ORDER = RULES.priority_order
claim_next_filter = RULES.claim_next_filter


def _task(row: Sequence[Any], session_ids: list[str], depends_on: list[str]) -> Task:
    claim = None
    if row[14] is not None:
        claim = Claim(session_id=row[14], claimed_at=row[15], expires_at=row[16])
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
        labels=json.loads(row[13]),
        depends_on=depends_on,
        claim=claim,
        created_at=row[8],
        updated_at=row[9],
        started_at=row[10],
        completed_at=row[11],
        version=row[12],
    )


_GET_TASK = f"SELECT {_TASK_READ} FROM tasks WHERE id = ?"
_TASK_SESSIONS = "SELECT session_id FROM task_sessions WHERE task_id = ? ORDER BY id"
_TASK_DEPENDENCIES = "SELECT depends_on_id FROM task_deps WHERE task_id = ? ORDER BY depends_on_id"


class TaskQueries:
    __slots__ = ()
    conn: sqlite3.Connection
    memo: TransactionMemo

    def _load_tasks(
        self,
        condition: str,
        params: dict[str, Any],
        *,
        order: str = "rowid",
        limit: int | None = None,
    ) -> list[Task]:
        """Tasks matching ``condition`` (named parameters) with their links and dependencies."""
        limited = f" LIMIT {int(limit)}" if limit is not None else ""
        selected = f"SELECT {_TASK_READ} FROM tasks WHERE {condition} ORDER BY {order}{limited}"
        rows = self.conn.execute(selected, params).fetchall()
        if not rows:
            return []
        ids = (id_list(row[0] for row in rows),)
        links = self._links(f"task_id IN ({EACH})", ids, key=0)
        deps: dict[str, list[str]] = defaultdict(list)
        for task_id, dependency in self.conn.execute(
            f"SELECT task_id, depends_on_id FROM task_deps WHERE task_id IN ({EACH}) "
            "ORDER BY task_id, depends_on_id",
            ids,
        ):
            deps[task_id].append(dependency)
        return [_task(row, links.get(row[0], []), deps.get(row[0], [])) for row in rows]

    def _links(self, condition: str, params: Sequence[Any], *, key: int) -> dict[str, list[str]]:
        """Links matching ``condition``, by task (key=0) or by session (key=1), in link order."""
        grouped: dict[str, list[str]] = defaultdict(list)
        rows = self.conn.execute(
            f"SELECT task_id, session_id FROM task_sessions WHERE {condition} ORDER BY id", params
        )
        for row in rows:
            grouped[row[key]].append(row[1 - key])
        return grouped

    def get_task(self, task_id: str) -> Task | None:
        # Every write to a task reads it first: one id needs no list (``_load_tasks``
        # binds its ids as a JSON array, built and read back by json_each), the same
        # three statements by equality, in the same orders.
        conn = self.conn
        row = conn.execute(_GET_TASK, (task_id,)).fetchone()
        if row is None:
            return None
        if conn.in_transaction:  # remembered for save_task (memo.py)
            self.memo.tasks_read[task_id] = (conn.total_changes, row[:_SAVED])
        sessions = [s for (s,) in conn.execute(_TASK_SESSIONS, (task_id,))]
        depends_on = [d for (d,) in conn.execute(_TASK_DEPENDENCIES, (task_id,))]
        return _task(row, sessions, depends_on)

    def get_tasks(self, task_ids: Iterable[str]) -> list[Task]:
        ids = list(dict.fromkeys(task_ids))
        if not ids:
            return []
        by_id = {t.id: t for t in self._load_tasks(f"id IN ({each('ids')})", {"ids": id_list(ids)})}
        return [by_id[i] for i in ids if i in by_id]

    def list_tasks(self, where: TaskFilter, now: int) -> list[Task]:
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
        matching, params = claim_next_filter(project_id, labels, parent_id)
        return self._load_tasks(
            f"{matching} AND {READY}",
            {**params, "now": now},
            order=f"{PRIORITY_ORDER}, rowid",
            limit=count,
        )

    def save_task(self, task: Task) -> None:
        values = (
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
            json.dumps(task.labels),
        )
        conn = self.conn
        read = self.memo.tasks_read.pop(task.id, None)
        if read is not None and read[0] == conn.total_changes and conn.in_transaction:
            # Nothing changed any row since get_task read this one: it is still as read,
            # and only the columns that differ from it are written (memo.py).
            changed = [n for n in range(1, _SAVED) if values[n] != read[1][n]]
            if changed:
                conn.execute(_update_of(tuple(changed)), (*(values[n] for n in changed), task.id))
            return
        conn.execute(_UPSERT_TASK, values)

    def subtree_ids(self, task_id: str) -> list[str]:
        """The task and all its descendants, deepest first."""
        rows = self.conn.execute(
            """
            WITH RECURSIVE sub(id, depth) AS (
                SELECT id, 0 FROM tasks WHERE id = ?
                UNION ALL
                SELECT tasks.id, sub.depth + 1 FROM tasks JOIN sub ON tasks.parent_id = sub.id
            )
            SELECT id FROM sub ORDER BY depth DESC, id
            """,
            (task_id,),
        )
        return [row[0] for row in rows]

    def ancestor_ids(self, task_id: str) -> list[str]:
        rows = self.conn.execute(
            """
            WITH RECURSIVE up(id) AS (
                SELECT parent_id FROM tasks WHERE id = ?
                UNION
                SELECT tasks.parent_id FROM tasks JOIN up ON tasks.id = up.id
            )
            SELECT id FROM up WHERE id IS NOT NULL
            """,
            (task_id,),
        )
        return [row[0] for row in rows]

    def delete_tasks(self, task_ids: list[str]) -> None:
        """Delete tasks given with all their descendants (``subtree_ids``)."""
        # Deleting a task cascades to its sub-tasks (parent_id ... ON DELETE CASCADE), and
        # SQLite runs each cascade as a trigger inside the one that caused it, at most
        # 1,000 deep (SQLITE_MAX_TRIGGER_DEPTH): a deeper chain of sub-tasks would fail.
        # Unhooked from their parents first, the tasks go in one statement, each cascade
        # one level deep (links, dependencies, ended claims).
        doomed = (id_list(task_ids),)
        self.conn.execute(
            f"UPDATE tasks SET parent_id = NULL WHERE parent_id IS NOT NULL AND id IN ({EACH})",
            doomed,
        )
        self.conn.execute(f"DELETE FROM tasks WHERE id IN ({EACH})", doomed)

    def set_dependencies(self, task_id: str, depends_on: list[str]) -> None:
        self.conn.execute("DELETE FROM task_deps WHERE task_id = ?", (task_id,))
        self.conn.executemany(
            "INSERT INTO task_deps (task_id, depends_on_id) VALUES (?, ?)",
            [(task_id, d) for d in depends_on],
        )

    def depends_transitively(self, start: list[str], target: str) -> bool:
        """Whether ``target`` is among ``start`` or what they depend on, directly or not."""
        if not start:
            return False
        row = self.conn.execute(
            f"""
            WITH RECURSIVE reach(id) AS (
                {EACH}
                UNION
                SELECT d.depends_on_id FROM task_deps d JOIN reach ON d.task_id = reach.id
            )
            SELECT 1 FROM reach WHERE id = ? LIMIT 1
            """,
            (id_list(start), target),
        ).fetchone()
        return row is not None

    def dependents_of(self, task_ids: list[str]) -> list[str]:
        rows = self.conn.execute(
            f"SELECT DISTINCT task_id FROM task_deps WHERE depends_on_id IN ({EACH}) "
            "ORDER BY task_id",
            (id_list(task_ids),),
        )
        return [row[0] for row in rows]
