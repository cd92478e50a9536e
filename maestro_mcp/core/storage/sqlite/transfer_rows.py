"""SQLite's side of the transfer format (core/storage/transfer.py): every table dumped as
rows of the format, and an empty database filled with them.

Where SQLite's tables differ from the format:
- ``ord`` is the rowid (the creation order: an ``ord INTEGER PRIMARY KEY`` column is
  the rowid by another name); it is written back as the rowid, so new rows still come
  after the loaded ones. A message's recipients have no column for it: their rowid is
  the order the message named them in.
- Lists of strings (``labels``, ``addressed``, ``choices``) are stored as JSON text.
- Flags (``allow_text``, ``defaulted``, ``exclusive``) are stored as 0 or 1.
- An idempotency record keeps its result and seq in one JSON text,
  ``{"value":<result>,"seq":<seq>}`` (log_rows.py).
"""

import itertools
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from typing import Any

from ..contract import NotEmpty, Unloadable
from ..transfer import COLUMNS, EVENT_SUBJECTS, TABLES, Kind, event_subjects
from .schema import RENEW_EPOCH

Row = dict[str, Any]

# Creation order within each table (the format's order: ord, id or seq).
_ORDER = {
    "projects": "rowid",
    "tasks": "rowid",
    "task_deps": "task_id, depends_on_id",
    "sessions": "rowid",
    "task_sessions": "id",
    "session_notes": "id",
    "ended_claims": "ended_at, token",
    "events": "seq",
    "idempotency": "created_at, key",
    "tokens": "name",
    "messages": "rowid",
    "message_recipients": "rowid",
    "questions": "rowid",
    "reservations": "rowid",
}
# Per table, the columns stored otherwise than the format has them: lists of strings
# (JSON text) and flags (0 or 1).
_STRINGS = {t: {n for n, kind in columns if kind is Kind.STRINGS} for t, columns in TABLES.items()}
_FLAGS = {t: {n for n, kind in columns if kind is Kind.FLAG} for t, columns in TABLES.items()}


def _stored_columns(table: str) -> list[str]:
    """The table's columns as SQLite has them, in the format's order."""
    columns = ["rowid" if c == "ord" else c for c in COLUMNS[table]]
    if table == "idempotency":
        columns.remove("seq")  # inside the result's JSON text
    return columns


_SELECT = {
    table: f"SELECT {', '.join(_stored_columns(table))} FROM {table} ORDER BY {_ORDER[table]}"
    for table in TABLES
}
# What is loaded: an event's row also gets what it is about (transfer.EVENT_SUBJECTS).
_LOADED = {
    table: _stored_columns(table) + (list(EVENT_SUBJECTS) if table == "events" else [])
    for table in TABLES
}
_INSERT = {
    table: (
        f"INSERT INTO {table} ({', '.join(_LOADED[table])}) "
        f"VALUES ({', '.join('?' * len(_LOADED[table]))})"
    )
    for table in TABLES
}

# The end of what save_idempotency writes: the result is everything before it.
_SEQ_SUFFIX = re.compile(r',"seq":(\d+)\}\Z')
_VALUE_PREFIX = '{"value":'


def split_idempotency(stored: str) -> tuple[str, int]:
    """An idempotency record's result text and seq, from SQLite's ``{"value":…,"seq":…}``.
    Cut as text, so the result keeps its exact bytes; a record written by an older
    Maestro (other spacing) is parsed instead."""
    found = _SEQ_SUFFIX.search(stored)
    if stored.startswith(_VALUE_PREFIX) and found is not None:
        return stored[len(_VALUE_PREFIX) : found.start()], int(found.group(1))
    parsed = json.loads(stored)
    return json.dumps(parsed["value"]), int(parsed["seq"])


def table_size(conn: sqlite3.Connection, table: str) -> int:
    (count,) = conn.execute(f"SELECT COUNT(*) FROM {_known(table)}").fetchone()
    return int(count)


def dump(conn: sqlite3.Connection, table: str) -> Iterator[Row]:
    names = COLUMNS[_known(table)]
    cursor = conn.execute(_SELECT[table])
    strings, flags = _STRINGS[table], _FLAGS[table]
    try:
        if strings or flags:
            for values in cursor:
                row = dict(zip(names, values, strict=True))
                for name in strings:
                    row[name] = json.loads(row[name])
                for name in flags:
                    row[name] = bool(row[name])
                yield row
        elif table == "idempotency":
            for key, fingerprint, stored, created_at in cursor:
                result, seq = split_idempotency(stored)
                yield {
                    "key": key,
                    "fingerprint": fingerprint,
                    "result": result,
                    "seq": seq,
                    "created_at": created_at,
                }
        else:
            for values in cursor:
                yield dict(zip(names, values, strict=True))
    finally:
        cursor.close()


def _known(table: str) -> str:
    if table not in TABLES:
        raise ValueError(f"no table {table!r} in the transfer format")
    return table


def _values(table: str) -> Callable[[Row], tuple[Any, ...]]:
    """How a row of the format becomes the values of ``_INSERT[table]``."""
    names = COLUMNS[table]
    strings, flags = _STRINGS[table], _FLAGS[table]
    if strings or flags:

        def stored(name: str, value: Any) -> Any:
            if name in strings:
                return json.dumps(value)
            return int(value) if name in flags else value

        return lambda row: tuple(stored(n, row[n]) for n in names)
    if table == "idempotency":
        return lambda row: (
            row["key"],
            row["fingerprint"],
            f'{_VALUE_PREFIX}{row["result"]},"seq":{row["seq"]}}}',
            row["created_at"],
        )
    if table == "events":
        own = itemgetter(*names)
        return lambda row: (*own(row), *event_subjects(row))
    return itemgetter(*names)  # every table has two columns or more: it returns a tuple


def load(conn: sqlite3.Connection, rows: Iterable[tuple[str, Row]]) -> None:
    """Fill the database inside the caller's write transaction (see ``Store.load``)."""
    for table in TABLES:
        if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]:
            raise NotEmpty(f"the database already holds data (table {table} has rows)")
    # References are checked once, at the end: rows may come in any order within a table.
    conn.execute("PRAGMA defer_foreign_keys = ON")
    try:
        for table, group in itertools.groupby(rows, key=itemgetter(0)):
            values = _values(_known(table))
            conn.executemany(_INSERT[table], (values(row) for _, row in group))
    except sqlite3.IntegrityError as exc:
        raise Unloadable(f"the rows do not fit the schema: {exc}") from exc
    broken = conn.execute("PRAGMA foreign_key_check").fetchone()
    if broken is not None:
        table, rowid, parent, _ = broken
        raise Unloadable(f"a row of {table} (rowid {rowid}) refers to a missing row of {parent}")
    # A new history: seqs of the copy are not the original's to resume from.
    conn.execute(RENEW_EPOCH)
