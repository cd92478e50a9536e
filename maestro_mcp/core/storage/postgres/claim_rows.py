"""PostgreSQL queries for claims: who holds a task, the secret that proves it, leases,
and the claims that ended. Used by ``PgRows``."""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import psycopg

from ...vocabulary import TaskStatus
from ..contract import ClaimOutlook, EndedClaim
from .log_rows import deleted
from .task_rows import RULES

if TYPE_CHECKING:
    from .store import Transaction

Connection = psycopg.Connection[tuple[Any, ...]]


class ClaimQueries:
    __slots__ = ()
    conn: Connection
    tx: "Transaction | None"

    def lock_tasks_projects(self, task_ids: Iterable[str]) -> None: ...  # rows.py
    def lock_sessions_projects(self, session_ids: Iterable[str]) -> None: ...  # rows.py
    def lock_projects(self, project_ids: Iterable[str | None]) -> None: ...  # rows.py

    def set_claim(
        self,
        task_id: str,
        *,
        session_id: str,
        token: str,
        claimed_at: int,
        expires_at: int,
        lease_ms: int,
    ) -> None:
        self.lock_tasks_projects([task_id])
        self.conn.execute(
            "UPDATE tasks SET claim_session_id = %s, claim_token = %s, claimed_at = %s, "
            "claim_expires_at = %s, claim_lease_ms = %s WHERE id = %s",
            (session_id, token, claimed_at, expires_at, lease_ms, task_id),
        )

    def clear_claim(self, task_id: str) -> None:
        self.lock_tasks_projects([task_id])
        self.conn.execute(
            "UPDATE tasks SET claim_session_id = NULL, claim_token = NULL, claimed_at = NULL, "
            "claim_expires_at = NULL, claim_lease_ms = NULL WHERE id = %s",
            (task_id,),
        )

    def claim_secret(self, task_id: str) -> tuple[str | None, int | None]:
        """The claim token of a task and its lease in ms (None, None when unclaimed)."""
        self.lock_tasks_projects([task_id])
        row = self.conn.execute(
            "SELECT claim_token, claim_lease_ms FROM tasks WHERE id = %s", (task_id,)
        ).fetchone()
        return (row[0], None if row[1] is None else int(row[1])) if row else (None, None)

    def expired_claims(self, now: int, project_id: str | None = None) -> list[str]:
        # Without a project: the reaper's look across all of them; the write that
        # releases them locks each task's project and checks again.
        if project_id is not None:
            self.lock_projects([project_id])
        rows = self.conn.execute(
            "SELECT id FROM tasks WHERE claim_expires_at IS NOT NULL AND claim_expires_at <= %s "
            "AND (%s::text IS NULL OR project_id = %s) ORDER BY claim_expires_at, ord",
            (now, project_id, project_id),
        )
        return [row[0] for row in rows]

    def claims_of_session(self, session_id: str) -> list[str]:
        self.lock_sessions_projects([session_id])
        rows = self.conn.execute(
            "SELECT id FROM tasks WHERE claim_session_id = %s ORDER BY ord", (session_id,)
        )
        return [row[0] for row in rows]

    def record_ended_claim(self, ended: EndedClaim) -> None:
        self.lock_tasks_projects([ended.task_id])
        self.conn.execute(
            "INSERT INTO ended_claims (token, task_id, session_id, ended_at, reason) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (token) DO UPDATE SET "
            "task_id = excluded.task_id, session_id = excluded.session_id, "
            "ended_at = excluded.ended_at, reason = excluded.reason",
            (ended.token, ended.task_id, ended.session_id, ended.ended_at, ended.reason),
        )

    def ended_claim(self, token: str) -> EndedClaim | None:
        row = self.conn.execute(
            "SELECT token, task_id, session_id, ended_at, reason FROM ended_claims "
            "WHERE token = %s",
            (token,),
        ).fetchone()
        if row is None:
            return None
        return EndedClaim(row[0], row[1], row[2], int(row[3]), row[4])

    def prune_ended_claims(self, ended_before: int) -> int:
        return deleted(self.conn, "DELETE FROM ended_claims WHERE ended_at < %s", (ended_before,))

    def claim_outlook(
        self,
        project_id: str,
        session_id: str,
        now: int,
        labels: list[str],
        parent_id: str | None,
        blockers_shown: int,
    ) -> ClaimOutlook:
        self.lock_projects([project_id])
        matching, chosen = RULES.claim_next_filter(project_id, labels, parent_id)
        params = {**chosen, "now": now, "session": session_id}
        pending_free = f"{RULES.effectively_pending} AND NOT {RULES.live_claim}"
        row = self.conn.execute(
            f"""
            SELECT
                count(*) FILTER (WHERE {pending_free}),
                count(*) FILTER (WHERE {pending_free} AND {RULES.unmet_dependency}),
                count(*) FILTER (WHERE {RULES.live_claim} AND claim_session_id != %(session)s)
            FROM tasks WHERE {matching}
            """,
            params,
        ).fetchone()
        assert row is not None
        blockers = [
            r[0]
            for r in self.conn.execute(
                f"""
                WITH waiting AS (
                    SELECT id FROM tasks WHERE {matching} AND {pending_free}
                )
                SELECT d.depends_on_id FROM waiting
                JOIN task_deps d ON d.task_id = waiting.id
                JOIN tasks dt ON dt.id = d.depends_on_id AND dt.status != %(completed)s
                GROUP BY d.depends_on_id ORDER BY MIN(dt.ord) LIMIT %(shown)s
                """,
                {**params, "shown": blockers_shown, "completed": TaskStatus.COMPLETED.value},
            )
        ]
        return ClaimOutlook(int(row[0]), int(row[1]), int(row[2]), blockers)
