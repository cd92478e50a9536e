"""The transfer format: a whole Maestro database as JSON Lines (``maestro export`` and
``maestro import``). It moves a database from one store to another (SQLite to
PostgreSQL when a team outgrows one machine, or back) and is a backup format.

The format, version 3 (version 1 had no ``tokens`` table, version 2 no ``messages``,
``message_recipients``, ``questions`` and ``reservations``; a file of an older version is
read as having none of the tables it did not know):

- UTF-8 text, one JSON object per line, each line ending in ``\\n``.
- Line 1 is the header: ``{"format": "maestro-export", "version": <this format's>,
  "exportedAt": <epoch ms>, "source": <where it came from, a URL's password masked>,
  "counts": {table: rows}}`` (``counts`` names exactly the tables of its version).
- Then one line per row, ``{"table": <name>, "row": {<column>: <value>, ...}}``, table by
  table in the order of ``TABLES`` (an order in which every row's references come first),
  each table's rows together. Within a table rows come in creation order: ``ord`` for
  projects, tasks, sessions, messages, message recipients (a message's in the order it
  named them), questions and reservations, ``id`` for links (link order) and notes,
  ``seq`` for events;
  except that a task comes after its parent (a task moved under a newer task). Tables that
  keep no creation order come by key: dependencies by (task, dependency), ended claims and
  idempotency records oldest first. A loader must not rely on the order within a table
  beyond parents first: the stores load in any order and check references at the end.
- The last line is ``{"end": true, "counts": {table: rows}}``: a file without it was cut
  short and is refused.

Rows are the same whichever store wrote them: the columns of ``TABLES``, with SQL's
names; times are integers (epoch ms); lists of strings (a task's ``labels``, a message's
``addressed``, a question's ``choices``) are JSON lists; flags (``allow_text``,
``defaulted``, ``exclusive``) are JSON booleans; ``ord`` is the creation order (SQLite's
rowid, PostgreSQL's identity column), kept so that lists come out in the same order (a
message recipient's ``message_ord`` is its message's ``ord``); an event's ``payload`` is
its envelope exactly as clients receive it. A question's ``delivered_at`` (when its
answer was given to its agent) is carried too, so that an answer is not given twice.
A task's claim is included, token and all: the token is a secret, but a backup that
dropped it would end every live claim. Keep export files as private as the database.

The rules a writer follows: every row is read in one snapshot (``Store.read()``), so the
file is consistent even while servers write; a reader (``ExportReader``) refuses a first
line that is not a header, a version newer than ``VERSION``, an unknown table or column,
a value of the wrong type, tables out of order, counts that disagree with the rows, a
missing end line and anything after it — with the line number. Loading
(``Store.load``) is all-or-nothing and only into a database that holds no data; the
copy gets a new epoch (docs/protocol.md, "Epochs"): clients of the original reset once
instead of trusting seqs of another history.
"""

import json
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from ..events import subjects_of_payload
from .contract import Store, Unloadable
from .location import shown

FORMAT = "maestro-export"
VERSION = 3


class Kind(Enum):
    """What a column holds."""

    INT = "an integer"
    TEXT = "a string"
    INT_OR_NULL = "an integer or null"
    TEXT_OR_NULL = "a string or null"
    STRINGS = "a list of strings"
    FLAG = "true or false"


INT, TEXT, INT_OR_NULL, TEXT_OR_NULL, STRINGS, FLAG = Kind

# Every table, in load order (what a row refers to comes first), with its columns.
TABLES: dict[str, tuple[tuple[str, Kind], ...]] = {
    "projects": (
        ("ord", INT),
        ("id", TEXT),
        ("name", TEXT),
        ("working_dir", TEXT_OR_NULL),
        ("description", TEXT),
        ("created_at", INT),
        ("updated_at", INT),
        ("version", INT),
    ),
    "tasks": (
        ("ord", INT),
        ("id", TEXT),
        ("project_id", TEXT),
        ("parent_id", TEXT_OR_NULL),
        ("title", TEXT),
        ("description", TEXT),
        ("prompt", TEXT),
        ("status", TEXT),
        ("priority", TEXT),
        ("labels", STRINGS),
        ("created_at", INT),
        ("updated_at", INT),
        ("started_at", INT_OR_NULL),
        ("completed_at", INT_OR_NULL),
        ("version", INT),
        ("claim_session_id", TEXT_OR_NULL),
        ("claim_token", TEXT_OR_NULL),
        ("claimed_at", INT_OR_NULL),
        ("claim_expires_at", INT_OR_NULL),
        ("claim_lease_ms", INT_OR_NULL),
    ),
    "task_deps": (("task_id", TEXT), ("depends_on_id", TEXT)),
    "sessions": (
        ("ord", INT),
        ("id", TEXT),
        ("project_id", TEXT),
        ("name", TEXT),
        ("agent", TEXT_OR_NULL),
        ("status", TEXT),
        ("created_at", INT),
        ("updated_at", INT),
        ("last_activity_at", INT),
        ("ended_at", INT_OR_NULL),
        ("version", INT),
    ),
    "task_sessions": (("id", INT), ("task_id", TEXT), ("session_id", TEXT)),
    "session_notes": (("id", INT), ("session_id", TEXT), ("message", TEXT), ("created_at", INT)),
    "ended_claims": (
        ("token", TEXT),
        ("task_id", TEXT),
        ("session_id", TEXT),
        ("ended_at", INT),
        ("reason", TEXT),
    ),
    # Messages between sessions and people (since version 3). A message outlives the
    # session that sent it: ``from_session_id`` refers to nothing.
    "messages": (
        ("ord", INT),
        ("id", TEXT),
        ("project_id", TEXT),
        ("thread_id", TEXT),
        ("reply_to", TEXT_OR_NULL),
        ("from_session_id", TEXT_OR_NULL),
        ("sender", TEXT),
        ("addressed", STRINGS),  # the addresses as given (``to``)
        ("subject", TEXT),
        ("body", TEXT),
        ("created_at", INT),
    ),
    # Each recipient of a message (a session id, or ``humans``) and its read state.
    "message_recipients": (
        ("ord", INT),
        ("message_ord", INT),
        ("recipient", TEXT),
        ("read_at", INT_OR_NULL),
        ("read_by", TEXT_OR_NULL),
        ("acked_at", INT_OR_NULL),
        ("acked_by", TEXT_OR_NULL),
    ),
    # Agents' questions for the people (since version 3).
    "questions": (
        ("ord", INT),
        ("id", TEXT),
        ("project_id", TEXT),
        ("session_id", TEXT),
        ("task_id", TEXT_OR_NULL),
        ("text", TEXT),
        ("choices", STRINGS),
        ("allow_text", FLAG),
        ("default_answer", TEXT_OR_NULL),
        ("deadline_at", INT_OR_NULL),
        ("status", TEXT),
        ("answer", TEXT_OR_NULL),
        ("answered_by", TEXT_OR_NULL),
        ("answered_at", INT_OR_NULL),
        ("defaulted", FLAG),
        ("delivered_at", INT_OR_NULL),
        ("created_at", INT),
        ("updated_at", INT),
        ("version", INT),
    ),
    # File reservations (since version 3): a session's hold on the files a pattern covers.
    "reservations": (
        ("ord", INT),
        ("id", TEXT),
        ("project_id", TEXT),
        ("session_id", TEXT),
        ("task_id", TEXT_OR_NULL),
        ("pattern", TEXT),
        ("exclusive", FLAG),
        ("created_at", INT),
        ("expires_at", INT),
        ("lease_ms", INT),
    ),
    "events": (
        ("seq", INT),
        ("ts", INT),
        ("type", TEXT),
        ("project_id", TEXT_OR_NULL),
        ("payload", TEXT),
    ),
    # An idempotency record: the request's fingerprint, its result (JSON) and the seq of
    # the log that result is consistent with.
    "idempotency": (
        ("key", TEXT),
        ("fingerprint", TEXT),
        ("result", TEXT),
        ("seq", INT),
        ("created_at", INT),
    ),
    # Named tokens: the secret only as its hash (core/access.py). Since version 2.
    "tokens": (
        ("name", TEXT),
        ("scope", TEXT),
        ("secret_hash", TEXT),
        ("created_at", INT),
        ("created_by", TEXT),
    ),
}
# The format version that added a table (the others have been there since version 1).
ADDED_IN = {
    "tokens": 2,
    "messages": 3,
    "message_recipients": 3,
    "questions": 3,
    "reservations": 3,
}
# What an event is about (its task and session: the log's index columns) is not in the
# format: it is its payload's (events.subjects). A store fills these columns on load.
EVENT_SUBJECTS = ("task_id", "session_id")
COLUMNS: dict[str, tuple[str, ...]] = {
    table: tuple(name for name, _ in columns) for table, columns in TABLES.items()
}
_COLUMN_SETS = {table: set(names) for table, names in COLUMNS.items()}
PROGRESS_EVERY = 1000  # rows between two progress reports

Row = dict[str, Any]


def event_subjects(row: Row) -> tuple[str | None, str | None]:
    """The task and session an event row of the format is about (``EVENT_SUBJECTS``),
    from its payload; ``Unloadable`` if that is no JSON object."""
    try:
        return subjects_of_payload(row["payload"])
    except (ValueError, AttributeError) as exc:
        raise Unloadable(f"the payload of event {row['seq']} is not a JSON envelope") from exc


class TransferError(ValueError):
    """The input is not a whole export this Maestro can read; the message says why."""


class Output(Protocol):
    """Where an export is written (a text stream will do)."""

    def write(self, text: str, /) -> object: ...


class Progress(Protocol):
    """Told how a copy advances (the CLI draws it on stderr)."""

    def table(self, name: str, total: int) -> None:
        """The rows of table ``name`` begin; ``total`` is how many the file has."""

    def advance(self, rows: int) -> None:
        """``rows`` more rows of the current table are done."""


@dataclass(frozen=True)
class Header:
    version: int
    exported_at: int
    source: str
    counts: dict[str, int]


def _line(value: Any) -> str:
    # Compact, and not ASCII-escaped: the file is UTF-8, and the text stays readable.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


# --- writing -----------------------------------------------------------------------------


def export(store: Store, out: Output, *, progress: Progress | None = None) -> dict[str, int]:
    """Write every row of ``store`` to ``out`` in the transfer format, from one snapshot;
    returns the rows per table."""
    with store.read() as rows:
        counts = {table: rows.table_size(table) for table in TABLES}
        header = {
            "format": FORMAT,
            "version": VERSION,
            "exportedAt": store.clock(),
            "source": shown(store.location),
            "counts": counts,
        }
        out.write(_line(header))
        for table in TABLES:
            if progress is not None:
                progress.table(table, counts[table])
            dumped = rows.dump(table)
            try:
                source = parents_first(dumped) if table == "tasks" else dumped
                written = _write_rows(out, table, source, progress)
            finally:
                # Inside the read, even when writing failed: the dump's cursor must not
                # outlive the transaction it reads in.
                if isinstance(dumped, Generator):
                    dumped.close()
            if written != counts[table]:
                # One snapshot cannot disagree with itself: a backend's dump is wrong.
                raise RuntimeError(f"{table}: counted {counts[table]} rows, dumped {written}")
    out.write(_line({"end": True, "counts": counts}))
    return counts


def _write_rows(out: Output, table: str, rows: Iterable[Row], progress: Progress | None) -> int:
    prefix = f'{{"table":"{table}","row":'
    written = 0
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for row in rows:
        out.write(prefix + encode(row) + "}\n")
        written += 1
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress.advance(PROGRESS_EVERY)
    if progress is not None and written % PROGRESS_EVERY:
        progress.advance(written % PROGRESS_EVERY)
    return written


def parents_first(tasks: Iterable[Row]) -> Iterator[Row]:
    """Tasks in the order given (creation order), except that one whose parent has not
    come yet waits for it: a task can be moved under a task made after it, and a loader
    inserting rows in file order must meet a parent before its children."""
    seen: set[str] = set()
    waiting: dict[str, list[Row]] = {}
    for task in tasks:
        parent = task["parent_id"]
        if parent is not None and parent not in seen:
            waiting.setdefault(parent, []).append(task)
            continue
        stack = [task]
        while stack:
            ready = stack.pop()
            yield ready
            seen.add(ready["id"])
            stack.extend(reversed(waiting.pop(ready["id"], [])))
    if waiting:
        raise RuntimeError(f"tasks whose parents do not exist: {sorted(waiting)}")


# --- reading -----------------------------------------------------------------------------


class ExportReader:
    """The rows of an export, checked as they are read.

    The header is read on construction (``TransferError`` if the input is not an export
    this Maestro reads); iterating yields ``(table, row)`` in file order and raises
    ``TransferError`` at the first line that breaks the format, or at the end of input
    if the end line never came. A loader that consumes every row before it commits
    therefore commits only a whole, well-formed file.
    """

    def __init__(self, lines: Iterable[str], *, progress: Progress | None = None) -> None:
        self._lines = iter(lines)
        self._number = 0
        self._progress = progress
        self.header = self._read_header()
        self.counts: dict[str, int] = dict.fromkeys(TABLES, 0)  # rows read so far

    def _next(self) -> str | None:
        for line in self._lines:
            self._number += 1
            if line.strip():
                return line
        return None

    def _fail(self, message: str) -> TransferError:
        return TransferError(f"line {self._number}: {message}")

    def _parse(self, line: str) -> Any:
        try:
            return json.loads(line)
        except ValueError:
            raise self._fail("not JSON: the file is damaged or was cut short") from None

    def _read_header(self) -> Header:
        line = self._next()
        if line is None:
            raise TransferError("the input is empty: not a Maestro export")
        try:
            header = json.loads(line)
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise TransferError(
                f"not a Maestro export: its first line is not a {FORMAT!r} header "
                "(make one with `maestro export`)"
            )
        version: Any = header.get("version")
        if not _is_int(version) or version < 1:
            raise self._fail(f"the header's version is {version!r}, not a format version")
        if version > VERSION:
            raise TransferError(
                f"the file is in format version {version}, written by a newer Maestro; this "
                f"one reads up to version {VERSION}: upgrade Maestro to import it"
            )
        counts = _counts(header.get("counts"), version)
        if counts is None:
            raise self._fail("the header's counts are not {table: rows} for every table")
        exported_at: Any = header.get("exportedAt")
        source: Any = header.get("source")
        if not _is_int(exported_at) or not isinstance(source, str):
            raise self._fail("the header lacks exportedAt (epoch ms) or source (a string)")
        return Header(version, exported_at, source, counts)

    def __iter__(self) -> Iterator[tuple[str, Row]]:
        tables = list(TABLES)
        current = -1  # index of the table being read
        unreported = 0  # rows read since the last progress report
        while (line := self._next()) is not None:
            record = self._parse(line)
            if not isinstance(record, dict):
                raise self._fail("not a row, nor the end line")
            if record.get("end") is True:
                self._report(unreported)
                self._finish(record)
                self._announce(range(current + 1, len(tables)))
                return
            table: Any = record.get("table")
            row: Any = record.get("row")
            if not isinstance(table, str) or table not in TABLES:
                raise self._fail(f"unknown table {table!r}")
            if ADDED_IN.get(table, 1) > self.header.version:
                raise self._fail(f"a {table} row in a file of format version {self.header.version}")
            index = tables.index(table)
            if index < current:
                raise self._fail(f"a row of {table} after the rows of {tables[current]}")
            if index > current:
                self._report(unreported)
                unreported = 0
                # Tables without rows are announced too: every table gets its line.
                self._announce(range(current + 1, index + 1))
                current = index
            self._check_row(table, row)
            self.counts[table] += 1
            unreported += 1
            if unreported == PROGRESS_EVERY:
                self._report(unreported)
                unreported = 0
            yield table, row
        raise TransferError(
            f"the input ends at line {self._number} without the end line: the file was cut "
            "short (an interrupted export or copy)"
        )

    def _announce(self, indexes: range) -> None:
        if self._progress is not None:
            names = list(TABLES)
            for index in indexes:
                self._progress.table(names[index], self.header.counts[names[index]])

    def _report(self, rows: int) -> None:
        if self._progress is not None and rows:
            self._progress.advance(rows)

    def _check_row(self, table: str, row: Any) -> None:
        if not isinstance(row, dict) or row.keys() != _COLUMN_SETS[table]:
            got = sorted(row) if isinstance(row, dict) else type(row).__name__
            raise self._fail(f"a {table} row must have the columns {list(COLUMNS[table])}: {got}")
        for name, fits, kind in _CHECKS[table]:
            if not fits(row[name]):
                raise self._fail(f"{table}.{name} must be {kind.value}: {row[name]!r}")

    def _finish(self, end: dict[str, Any]) -> None:
        counts = _counts(end.get("counts"), self.header.version)
        if counts is None:
            raise self._fail("the end line's counts are not {table: rows} for every table")
        if counts != self.counts or self.header.counts != self.counts:
            raise self._fail(
                f"the file has {self.counts} rows, its header says {self.header.counts} "
                f"and its end line {end['counts']}"
            )
        if self._next() is not None:
            raise self._fail("more lines after the end line")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _counts(counts: Any, version: int) -> dict[str, int] | None:
    """The rows per table that a file of ``version`` says it has (a table added after
    that version: none); None if they are not {table: rows} for each of its tables."""
    tables = {table for table in TABLES if ADDED_IN.get(table, 1) <= version}
    if (
        not isinstance(counts, dict)
        or counts.keys() != tables
        or not all(_is_int(n) and n >= 0 for n in counts.values())
    ):
        return None
    return {table: counts.get(table, 0) for table in TABLES}


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(label, str) for label in value)


_FITS: dict[Kind, Callable[[Any], bool]] = {
    INT: _is_int,
    TEXT: _is_text,
    INT_OR_NULL: lambda value: value is None or _is_int(value),
    TEXT_OR_NULL: lambda value: value is None or isinstance(value, str),
    STRINGS: _is_strings,
    FLAG: lambda value: isinstance(value, bool),
}
# Per table: (column, check, kind), looked up once rather than per value.
_CHECKS = {
    table: tuple((name, _FITS[kind], kind) for name, kind in columns)
    for table, columns in TABLES.items()
}
