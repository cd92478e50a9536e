"""PostgreSQL's side of the transfer format (core/storage/transfer.py): every table dumped
as rows of the format, and an empty database filled with them.

The tables have the format's columns, names and types (``ord`` is the identity column
that keeps creation order; lists of strings are text arrays, flags booleans), so rows
go out through a server-side cursor and come in through ``COPY``, table by table, in one
transaction:
- ``COPY`` writes the given ``ord`` and ``id`` values into identity columns (it needs no
  ``OVERRIDING SYSTEM VALUE``); the identity sequences are then set past the largest, so
  rows made after the import come after the imported ones.
- References are checked at the end of each ``COPY`` statement, so rows may come in any
  order within a table.
- ``event_head`` becomes the newest seq, and ``maestro_schema.epoch`` a new name.
- The tables are locked against writers for the transaction (``EXCLUSIVE``: reads go
  on), so nothing can be written between the check that the database is empty and the
  COMMIT.
"""

import itertools
from collections.abc import Iterable, Iterator
from operator import itemgetter
from typing import Any

import psycopg

from ..contract import NotEmpty, Unloadable
from ..transfer import COLUMNS, EVENT_SUBJECTS, TABLES, event_subjects
from .schema import RENEW_EPOCH

Connection = psycopg.Connection[tuple[Any, ...]]
Row = dict[str, Any]

# Creation order within each table (the format's order: ord, id or seq).
_ORDER = {
    "projects": "ord",
    "tasks": "ord",
    "task_deps": "task_id, depends_on_id",
    "sessions": "ord",
    "task_sessions": "id",
    "session_notes": "id",
    "ended_claims": "ended_at, token",
    "events": "seq",
    "idempotency": "created_at, key",
    "tokens": "name",
    "messages": "ord",
    "message_recipients": "ord",
    "questions": "ord",
    "reservations": "ord",
}
# Rows the format holds. An idempotency record is complete once its transaction
# commits (store.py fills its result last): a committed snapshot has no other kind.
_WHERE = dict.fromkeys(TABLES, "TRUE") | {"idempotency": "result IS NOT NULL"}
# Identity columns, set past the largest loaded value.
_IDENTITIES = (
    ("projects", "ord"),
    ("tasks", "ord"),
    ("sessions", "ord"),
    ("task_sessions", "id"),
    ("session_notes", "id"),
    ("messages", "ord"),
    ("message_recipients", "ord"),
    ("questions", "ord"),
    ("reservations", "ord"),
)
DUMP_BATCH = 5000  # rows a server-side cursor fetches at a time


def _known(table: str) -> str:
    if table not in TABLES:
        raise ValueError(f"no table {table!r} in the transfer format")
    return table


def table_size(conn: Connection, table: str) -> int:
    row = conn.execute(f"SELECT COUNT(*) FROM {_known(table)} WHERE {_WHERE[table]}").fetchone()
    assert row is not None
    return int(row[0])


def dump(conn: Connection, table: str) -> Iterator[Row]:
    """The rows, read through a server-side cursor of the caller's transaction (memory
    stays flat however large the table)."""
    names = COLUMNS[_known(table)]
    query = f"SELECT {', '.join(names)} FROM {table} WHERE {_WHERE[table]} ORDER BY {_ORDER[table]}"
    with conn.cursor(name=f"maestro_dump_{table}") as cursor:
        cursor.itersize = DUMP_BATCH
        cursor.execute(query)
        for values in cursor:
            yield dict(zip(names, values, strict=True))


def load(conn: Connection, rows: Iterable[tuple[str, Row]]) -> None:
    """Fill the database inside the caller's transaction (see ``Store.load``)."""
    conn.execute(f"LOCK TABLE {', '.join(TABLES)}, event_head, maestro_schema IN EXCLUSIVE MODE")
    for table in TABLES:
        found = conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()
        if found is not None and found[0]:
            raise NotEmpty(f"the database already holds data (table {table} has rows)")
    try:
        with conn.cursor() as cursor:
            for table, group in itertools.groupby(rows, key=itemgetter(0)):
                names = COLUMNS[_known(table)]
                values = itemgetter(*names)
                # An event's row also gets what it is about (transfer.EVENT_SUBJECTS).
                about = table == "events"
                loaded = (*names, *EVENT_SUBJECTS) if about else names
                with cursor.copy(f"COPY {table} ({', '.join(loaded)}) FROM STDIN") as copy:
                    for _, row in group:
                        if about:
                            copy.write_row((*values(row), *event_subjects(row)))
                        else:
                            copy.write_row(values(row))
    except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
        raise Unloadable(f"the rows do not fit the schema: {exc}") from exc
    for table, column in _IDENTITIES:
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"COALESCE(MAX({column}), 0) + 1, false) FROM {table}"
        )
    conn.execute("UPDATE event_head SET seq = COALESCE((SELECT MAX(seq) FROM events), 0)")
    # A new history: seqs of the copy are not the original's to resume from.
    conn.execute(RENEW_EPOCH)
