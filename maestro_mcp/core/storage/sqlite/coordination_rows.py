"""SQLite queries for coordination beyond tasks: messages (each recipient's state apart),
questions, file reservations. Used by ``SqliteRows``."""

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from ...models import (
    Message,
    MessageFilter,
    MessageRecipient,
    Question,
    QuestionFilter,
    Reservation,
)
from ..coordination_sql import RESERVATION_COLUMNS, reservation_of
from .id_lists import EACH, id_list
from .task_rows import upsert

_MESSAGE_COLUMNS = (
    "id, project_id, thread_id, reply_to, from_session_id, sender, addressed, subject, body, "
    "created_at"
)
_QUESTION_COLUMNS = (
    "id, project_id, session_id, task_id, text, choices, allow_text, default_answer, "
    "deadline_at, status, answer, answered_by, answered_at, defaulted, created_at, "
    "updated_at, version"
)
_UPSERT_QUESTION = upsert("questions", _QUESTION_COLUMNS)
_UPSERT_RESERVATION = upsert("reservations", RESERVATION_COLUMNS)


def _question(row: Sequence[Any]) -> Question:
    return Question(
        id=row[0],
        project_id=row[1],
        session_id=row[2],
        task_id=row[3],
        text=row[4],
        choices=json.loads(row[5]),
        allow_text=bool(row[6]),
        default=row[7],
        deadline_at=row[8],
        status=row[9],
        answer=row[10],
        answered_by=row[11],
        answered_at=row[12],
        defaulted=bool(row[13]),
        created_at=row[14],
        updated_at=row[15],
        version=row[16],
    )


def _equal(conditions: Iterable[tuple[str, object]]) -> tuple[list[str], list[Any]]:
    """``column = ?`` for each condition whose value is given, and their values."""
    given = [(column, value) for column, value in conditions if value is not None]
    return [f"{column} = ?" for column, _ in given], [value for _, value in given]


def _where_clause(clauses: list[str]) -> str:
    return f"WHERE {' AND '.join(clauses)}" if clauses else ""


class CoordinationQueries:
    __slots__ = ()
    conn: sqlite3.Connection

    # --- messages -----------------------------------------------------------------------

    def add_message(self, message: Message) -> None:
        (ord_,) = self.conn.execute(
            f"INSERT INTO messages ({_MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING ord",
            (
                message.id,
                message.project_id,
                message.thread_id,
                message.reply_to,
                message.from_session_id,
                message.sender,
                json.dumps(message.to, separators=(",", ":")),
                message.subject,
                message.body,
                message.created_at,
            ),
        ).fetchone()
        self.conn.executemany(
            "INSERT INTO message_recipients "
            "(message_ord, recipient, read_at, read_by, acked_at, acked_by) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (ord_, r.recipient, r.read_at, r.read_by, r.acked_at, r.acked_by)
                for r in message.recipients
            ],
        )

    def get_message(self, message_id: str) -> Message | None:
        found = self._messages(
            f"SELECT ord, {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)
        )
        return found[0] if found else None

    def list_messages(self, where: MessageFilter) -> list[Message]:
        clauses: list[str] = []
        params: list[Any] = []
        source = "messages AS m"
        if where.recipient is not None:
            source += " JOIN message_recipients AS r ON r.message_ord = m.ord AND r.recipient = ?"
            params.append(where.recipient)
            if where.unread:
                clauses.append("r.read_at IS NULL")
            if where.unacked:
                clauses.append("r.acked_at IS NULL")
        equal, values = _equal(
            (
                ("m.project_id", where.project_id),
                ("m.thread_id", where.thread_id),
                ("m.from_session_id", where.from_session_id),
            )
        )
        clauses += equal
        params += values
        condition = _where_clause(clauses)
        direction = "DESC" if where.newest else "ASC"
        columns = ", ".join(f"m.{c.strip()}" for c in _MESSAGE_COLUMNS.split(","))
        found = self._messages(
            f"SELECT m.ord, {columns} FROM {source} {condition} ORDER BY m.ord {direction} LIMIT ?",
            (*params, where.limit),
        )
        return found[::-1] if where.newest else found

    def set_recipient(self, message_id: str, state: MessageRecipient) -> None:
        self.conn.execute(
            "UPDATE message_recipients SET read_at = ?, read_by = ?, acked_at = ?, acked_by = ? "
            "WHERE recipient = ? AND message_ord = (SELECT ord FROM messages WHERE id = ?)",
            (
                state.read_at,
                state.read_by,
                state.acked_at,
                state.acked_by,
                state.recipient,
                message_id,
            ),
        )

    def unread_count(self, recipient: str, project_id: str | None = None) -> int:
        if project_id is None:
            sql = "SELECT count(*) FROM message_recipients WHERE recipient = ? AND read_at IS NULL"
            params: tuple[str, ...] = (recipient,)
        else:
            sql = (
                "SELECT count(*) FROM message_recipients AS r JOIN messages AS m "
                "ON m.ord = r.message_ord WHERE r.recipient = ? AND r.read_at IS NULL "
                "AND m.project_id = ?"
            )
            params = (recipient, project_id)
        (count,) = self.conn.execute(sql, params).fetchone()
        return int(count)

    def _messages(self, sql: str, params: Sequence[Any]) -> list[Message]:
        """Messages from rows of (ord, *_MESSAGE_COLUMNS), with their recipients (one
        more query for all of them)."""
        rows = self.conn.execute(sql, params).fetchall()
        if not rows:
            return []
        recipients: dict[int, list[MessageRecipient]] = defaultdict(list)
        for ord_, recipient, read_at, read_by, acked_at, acked_by in self.conn.execute(
            "SELECT message_ord, recipient, read_at, read_by, acked_at, acked_by "
            "FROM message_recipients "
            f"WHERE message_ord IN ({EACH}) ORDER BY message_ord, rowid",
            (json.dumps([row[0] for row in rows]),),
        ):
            recipients[ord_].append(
                MessageRecipient(
                    recipient=recipient,
                    read_at=read_at,
                    read_by=read_by,
                    acked_at=acked_at,
                    acked_by=acked_by,
                )
            )
        return [
            Message(
                id=row[1],
                project_id=row[2],
                thread_id=row[3],
                reply_to=row[4],
                from_session_id=row[5],
                sender=row[6],
                to=json.loads(row[7]),
                subject=row[8],
                body=row[9],
                created_at=row[10],
                recipients=recipients[row[0]],
            )
            for row in rows
        ]

    # --- questions ----------------------------------------------------------------------

    def save_question(self, question: Question) -> None:
        self.conn.execute(
            _UPSERT_QUESTION,
            (
                question.id,
                question.project_id,
                question.session_id,
                question.task_id,
                question.text,
                json.dumps(question.choices, separators=(",", ":")),
                int(question.allow_text),
                question.default,
                question.deadline_at,
                question.status.value,
                question.answer,
                question.answered_by,
                question.answered_at,
                int(question.defaulted),
                question.created_at,
                question.updated_at,
                question.version,
            ),
        )

    def get_question(self, question_id: str) -> Question | None:
        row = self.conn.execute(
            f"SELECT {_QUESTION_COLUMNS} FROM questions WHERE id = ?", (question_id,)
        ).fetchone()
        return None if row is None else _question(row)

    def list_questions(self, where: QuestionFilter) -> list[Question]:
        clauses, params = _equal(
            (
                ("project_id", where.project_id),
                ("session_id", where.session_id),
                ("status", where.status.value if where.status is not None else None),
            )
        )
        direction = "DESC" if where.newest else "ASC"
        rows = self.conn.execute(
            f"SELECT {_QUESTION_COLUMNS} FROM questions {_where_clause(clauses)} "
            f"ORDER BY ord {direction} LIMIT ?",
            (*params, where.limit),
        )
        found = [_question(row) for row in rows]
        return found[::-1] if where.newest else found

    def due_questions(self, now: int) -> list[str]:
        rows = self.conn.execute(
            "SELECT id FROM questions WHERE status = 'open' AND deadline_at IS NOT NULL "
            "AND deadline_at <= ? ORDER BY deadline_at",
            (now,),
        )
        return [row[0] for row in rows]

    def undelivered_answers(self, session_id: str) -> list[Question]:
        rows = self.conn.execute(
            f"SELECT {_QUESTION_COLUMNS} FROM questions WHERE session_id = ? "
            "AND status = 'answered' AND delivered_at IS NULL ORDER BY ord",
            (session_id,),
        )
        return [_question(row) for row in rows]

    def mark_delivered(self, question_ids: list[str], now: int) -> None:
        self.conn.execute(
            f"UPDATE questions SET delivered_at = ? WHERE id IN ({EACH})",
            (now, id_list(question_ids)),
        )

    # --- file reservations --------------------------------------------------------------

    def save_reservation(self, reservation: Reservation) -> None:
        self.conn.execute(
            _UPSERT_RESERVATION,
            (
                reservation.id,
                reservation.project_id,
                reservation.session_id,
                reservation.task_id,
                reservation.pattern,
                int(reservation.exclusive),
                reservation.created_at,
                reservation.expires_at,
                reservation.lease_seconds * 1000,
            ),
        )

    def get_reservation(self, reservation_id: str) -> Reservation | None:
        row = self.conn.execute(
            f"SELECT {RESERVATION_COLUMNS} FROM reservations WHERE id = ?", (reservation_id,)
        ).fetchone()
        return None if row is None else reservation_of(row)

    def delete_reservations(self, reservation_ids: list[str]) -> None:
        self.conn.execute(
            f"DELETE FROM reservations WHERE id IN ({EACH})", (id_list(reservation_ids),)
        )

    def list_reservations(
        self,
        *,
        project_id: str | None = None,
        session_id: str | None = None,
        task_id: str | None = None,
    ) -> list[Reservation]:
        clauses, params = _equal(
            (("project_id", project_id), ("session_id", session_id), ("task_id", task_id))
        )
        rows = self.conn.execute(
            f"SELECT {RESERVATION_COLUMNS} FROM reservations {_where_clause(clauses)} ORDER BY ord",
            params,
        )
        return [reservation_of(row) for row in rows]

    def expired_reservations(self, now: int) -> list[Reservation]:
        rows = self.conn.execute(
            f"SELECT {RESERVATION_COLUMNS} FROM reservations WHERE expires_at <= ? "
            "ORDER BY expires_at",
            (now,),
        )
        return [reservation_of(row) for row in rows]
