"""What both backends' coordination rows share (sqlite/ and postgres/
coordination_rows.py): a reservation's columns, in the order the mapper reads them,
and the mapper. The tables are the same on both; each backend keeps its own schema
text and statements."""

from collections.abc import Sequence
from typing import Any

from ..models import Reservation

RESERVATION_COLUMNS = (
    "id, project_id, session_id, task_id, pattern, exclusive, created_at, expires_at, lease_ms"
)


def reservation_of(row: Sequence[Any]) -> Reservation:
    """A row of ``RESERVATION_COLUMNS`` as a ``Reservation`` (SQLite keeps booleans as 0/1)."""
    return Reservation(
        id=row[0],
        project_id=row[1],
        session_id=row[2],
        task_id=row[3],
        pattern=row[4],
        exclusive=bool(row[5]),
        created_at=row[6],
        expires_at=row[7],
        lease_seconds=row[8] // 1000,
    )
