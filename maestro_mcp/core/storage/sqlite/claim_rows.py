"""SQLite queries for claims: who holds a task, the secret that proves it, leases, and
the claims that ended (so a late token is told what happened). Used by ``SqliteRows``."""

import sqlite3

from ...vocabulary import TaskStatus
from ..contract import ClaimOutlook, EndedClaim
from .task_rows import EFFECTIVELY_PENDING, LIVE_CLAIM, UNMET_DEPENDENCY, claim_next_filter


class ClaimQueries:
    __slots__ = ()
    conn: sqlite3.Connection

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
        self.conn.execute(
            "UPDATE tasks SET claim_session_id = ?, claim_token = ?, claimed_at = ?, "
            "claim_expires_at = ?, claim_lease_ms = ? WHERE id = ?",
            (session_id, token, claimed_at, expires_at, lease_ms, task_id),
        )

    def clear_claim(self, task_id: str) -> None:
        self.conn.execute(
            "UPDATE tasks SET claim_session_id = NULL, claim_token = NULL, claimed_at = NULL, "
            "claim_expires_at = NULL, claim_lease_ms = NULL WHERE id = ?",
            (task_id,),
        )

    def claim_secret(self, task_id: str) -> tuple[str | None, int | None]:
        """The claim token of a task and its lease in ms (None, None when unclaimed)."""
        row = self.conn.execute(
            "SELECT claim_token, claim_lease_ms FROM tasks WHERE id = ?", (task_id,)
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def expired_claims(self, now: int, project_id: str | None = None) -> list[str]:
        rows = self.conn.execute(
            "SELECT id FROM tasks WHERE claim_expires_at IS NOT NULL AND claim_expires_at <= ? "
            "AND (? IS NULL OR project_id = ?) ORDER BY claim_expires_at, rowid",
            (now, project_id, project_id),
        )
        return [row[0] for row in rows]

    def claims_of_session(self, session_id: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT id FROM tasks WHERE claim_session_id = ? ORDER BY rowid", (session_id,)
        )
        return [row[0] for row in rows]

    def record_ended_claim(self, ended: EndedClaim) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO ended_claims (token, task_id, session_id, ended_at, reason) "
            "VALUES (?, ?, ?, ?, ?)",
            (ended.token, ended.task_id, ended.session_id, ended.ended_at, ended.reason),
        )

    def ended_claim(self, token: str) -> EndedClaim | None:
        row = self.conn.execute(
            "SELECT token, task_id, session_id, ended_at, reason FROM ended_claims WHERE token = ?",
            (token,),
        ).fetchone()
        return None if row is None else EndedClaim(*row)

    def prune_ended_claims(self, ended_before: int) -> int:
        cursor = self.conn.execute("DELETE FROM ended_claims WHERE ended_at < ?", (ended_before,))
        return cursor.rowcount

    def claim_outlook(
        self,
        project_id: str,
        session_id: str,
        now: int,
        labels: list[str],
        parent_id: str | None,
        blockers_shown: int,
    ) -> ClaimOutlook:
        matching, chosen = claim_next_filter(project_id, labels, parent_id)
        params = {**chosen, "now": now, "session": session_id}
        pending, waiting, claimed = self.conn.execute(
            f"""
            SELECT
                COALESCE(SUM({EFFECTIVELY_PENDING} AND NOT {LIVE_CLAIM}), 0),
                COALESCE(SUM({EFFECTIVELY_PENDING} AND NOT {LIVE_CLAIM}
                             AND {UNMET_DEPENDENCY}), 0),
                COALESCE(SUM({LIVE_CLAIM} AND claim_session_id != :session), 0)
            FROM tasks WHERE {matching}
            """,
            params,
        ).fetchone()
        blockers = [
            row[0]
            for row in self.conn.execute(
                f"""
                WITH waiting AS (
                    SELECT id FROM tasks
                    WHERE {matching} AND {EFFECTIVELY_PENDING} AND NOT {LIVE_CLAIM}
                )
                SELECT d.depends_on_id FROM waiting
                JOIN task_deps d ON d.task_id = waiting.id
                JOIN tasks dt ON dt.id = d.depends_on_id AND dt.status != :completed
                GROUP BY d.depends_on_id ORDER BY MIN(dt.rowid) LIMIT :shown
                """,
                {**params, "shown": blockers_shown, "completed": TaskStatus.COMPLETED.value},
            )
        ]
        return ClaimOutlook(int(pending), int(waiting), int(claimed), blockers)
