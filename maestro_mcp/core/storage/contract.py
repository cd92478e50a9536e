"""The storage boundary: what the service, the feed and group commit need of a database.

Everything SQL-specific lives behind these three interfaces; a backend implements
them without touching the service, the feed or any face. docs/storage.md states
the contract in prose; tests/core/storage check that every operation is documented
and implemented, and the core's tests run the rules on the SQLite backend.

- ``Store``: the database as a whole. It opens connections, runs migrations and
  hands out transactions: ``write()`` (all-or-nothing; inside ``batch()``, one
  savepoint of the batch's transaction), ``read()`` (one consistent snapshot;
  reentrant, and inside a batch it sees the batch's writes), ``batch()`` (group
  commit: one BEGIN and one COMMIT for every write made inside it on this thread;
  ``careful=False`` may undo the whole batch with ``BatchUndone`` instead of pinning
  an error on one write, and the caller runs it again with ``careful=True``).
- ``Rows``: one transaction's queries, entity by entity, plus the event log and
  the idempotency records. A ``Rows`` is only valid inside the ``write()`` or
  ``read()`` block that yielded it.
- ``LogReader``: a connection of the feed's own, to tail the log and notice
  commits made by anyone (this process, another process, another machine).
- Moving a whole database (``maestro export`` / ``import``, core/storage/transfer.py):
  ``Rows.table_size`` and ``Rows.dump`` read every table as rows of the transfer
  format inside one ``read()``; ``Store.load`` fills an empty database with such rows
  in one transaction.

What every backend must guarantee:
1. **Gap-free, commit-ordered seqs.** ``append_events`` gives a transaction's
   events consecutive seqs following the newest committed seq, and commits become
   visible in seq order: a reader that has seen seq N and later reads
   ``seq > N`` never skips one. (SQLite: one writer at a time. A backend with
   concurrent writers must take the seq at the end of the transaction under a lock
   held until COMMIT; a plain sequence is not enough.)
2. **All-or-nothing.** A ``write()`` block that raises leaves nothing behind; inside
   ``batch()`` it is undone alone and the rest of the batch still commits. If the
   backend loses the batch's whole transaction, ``batch()`` raises and nothing of it
   was kept. Callbacks given to ``after_commit`` run only after the COMMIT.
3. **Serialisable domain rules.** Two ``write()`` blocks never interleave in a way
   that a read-check-write inside one of them (claim-next, If-Match, cycle checks)
   could observe; across processes too.
4. **Visibility of others' commits.** ``LogReader.change_token`` changes after any
   commit to the log by any connection, and is cheap to call many times a second.
5. **One clock.** ``Store.clock`` is the time every process on the database agrees on
   (leases, timestamps): the host's for SQLite, the database server's for PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:  # the CLI imports Durability from here and must start fast
    from ..events import PendingEvent, StoredEvent
    from ..models import (
        Message,
        MessageFilter,
        MessageRecipient,
        Project,
        Question,
        QuestionFilter,
        Reservation,
        Session,
        SessionFilter,
        SessionNote,
        Task,
        TaskFilter,
    )


class Durability(StrEnum):
    """What an acknowledged write survives."""

    NORMAL = "normal"  # the process being killed
    FULL = "full"  # also a power loss (the backend syncs to disk on every commit)


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer Maestro than this one."""


class StoreUnavailable(RuntimeError):
    """The database cannot be reached (down, restarting, unreachable): nothing was
    written (but see ``OutcomeUnknown``); the caller may retry once it is back."""


class OutcomeUnknown(StoreUnavailable):
    """The connection was lost after COMMIT was sent and before it was answered: the
    writes may or may not have been made. A retry with the same idempotency key is made
    once; one without may be made twice."""


class UnstorableText(ValueError):
    """A value holds a character the database cannot store (PostgreSQL: NUL, U+0000).
    Nothing was written; the service answers it as invalid input."""


class Contended(Exception):
    """The write needs a lock another transaction holds, and waiting for it inside this
    batch could deadlock: nothing of the write was kept; run it again in a new
    transaction (group commit re-queues it at the head of the next batch)."""


class BatchUndone(Exception):
    """A batch run with ``careful=False`` met an error it could not pin on one write (a
    statement whose result it had not waited for failed): the whole batch was rolled
    back and nothing of it was kept. Run the same writes again in ``batch(careful=True)``,
    where each write's errors are its own."""


class NotEmpty(RuntimeError):
    """``Store.load`` was given a database that already holds data: nothing was written."""


class Unloadable(ValueError):
    """The rows given to ``Store.load`` break the schema's rules (a duplicate id, a row
    whose parent or project is missing): nothing was written."""


class LogPosition:
    """The seq the log reaches with a write's events (the head, if it emitted none).

    A backend that takes seqs at the very end of the batch's transaction (PostgreSQL)
    settles it just before COMMIT; SQLite knows it at once. Read ``seq`` only after the
    write's transaction committed.
    """

    __slots__ = ("_seq",)

    def __init__(self, seq: int | None = None) -> None:
        self._seq = seq

    @property
    def seq(self) -> int:
        if self._seq is None:
            raise RuntimeError("a write's seq is known once its transaction commits")
        return self._seq

    def settle(self, seq: int) -> None:
        self._seq = seq


class StoredResult(NamedTuple):
    """What an idempotency key recorded: the request's fingerprint, its result (JSON),
    and the seq of the log it is consistent with."""

    fingerprint: str
    result: str
    seq: int | LogPosition  # a position when recorded earlier in the same transaction


@dataclass(frozen=True, slots=True)
class EndedClaim:
    """A claim that ended: whose token it was, on which task, when and why."""

    token: str
    task_id: str
    session_id: str
    ended_at: int
    reason: str  # a ClaimEnd value


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A named token as stored: its secret only as a hash (core/access.py)."""

    name: str
    scope: str  # a Scope value
    secret_hash: str
    created_at: int
    created_by: str  # the actor who made it


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Which events a read of the log back in time keeps: those that every given field
    matches. What an event is about is ``events.subjects``."""

    project_id: str | None = None
    task_id: str | None = None
    session_id: str | None = None
    # About a session of ``project_id`` (which must be given) whose ``agent`` is this.
    agent: str | None = None


class EventPage(NamedTuple):
    """Events read back in time, newest first, and whether the filter keeps any older."""

    events: list[StoredEvent]
    older: bool


class ClaimOutlook(NamedTuple):
    """What claim-next would find among the tasks matching its filter."""

    pending: int  # pending and not held by a live claim
    waiting: int  # of those, waiting on unfinished dependencies
    claimed: int  # held by a live claim of another session
    blockers: list[str]  # the first unfinished dependencies the waiting ones wait on


class ProjectRows(Protocol):
    def get_project(self, project_id: str) -> Project | None: ...
    def list_projects(self) -> list[Project]: ...
    def save_project(self, project: Project) -> None: ...
    def delete_project(self, project_id: str) -> None:
        """Delete a project with its tasks, sessions, links and notes."""


class TaskRows(Protocol):
    def get_task(self, task_id: str) -> Task | None: ...
    def get_tasks(self, task_ids: Iterable[str]) -> list[Task]:
        """The tasks that exist, in the order asked for (duplicates once)."""

    def list_tasks(self, where: TaskFilter, now: int) -> list[Task]:
        """In creation order (after ``where.after``'s task, if given). ``now`` decides
        which claims are live (readiness)."""

    def next_ready(
        self, project_id: str, now: int, count: int, labels: list[str], parent_id: str | None
    ) -> list[Task]:
        """Up to ``count`` ready tasks, most urgent first, then oldest."""

    def save_task(self, task: Task) -> None:
        """Insert or update a task's own fields (not its links, dependencies or claim)."""

    def subtree_ids(self, task_id: str) -> list[str]:
        """The task and all its descendants, deepest first."""

    def ancestor_ids(self, task_id: str) -> list[str]: ...
    def delete_tasks(self, task_ids: list[str]) -> None:
        """Delete tasks given with all their descendants (``subtree_ids``), in any order."""

    def set_dependencies(self, task_id: str, depends_on: list[str]) -> None: ...
    def depends_transitively(self, start: list[str], target: str) -> bool:
        """Whether ``target`` is among ``start`` or what they depend on, directly or not."""

    def dependents_of(self, task_ids: list[str]) -> list[str]: ...


class SessionRows(Protocol):
    def get_session(self, session_id: str) -> Session | None: ...
    def get_sessions(self, session_ids: Iterable[str]) -> list[Session]: ...
    def list_sessions(self, where: SessionFilter) -> list[Session]: ...
    def save_session(self, session: Session) -> None: ...
    def delete_session(self, session_id: str) -> None: ...
    def session_ids_of_tasks(self, task_ids: list[str]) -> list[str]: ...
    def link(self, task_id: str, session_id: str) -> bool:
        """Link a task and a session; False if they already were. Links keep their order."""

    def unlink(self, task_id: str, session_id: str) -> bool: ...
    def add_note(self, session_id: str, message: str, now: int) -> SessionNote: ...
    def list_notes(self, session_id: str, limit: int) -> list[SessionNote]:
        """The newest ``limit`` notes of a session, oldest first."""

    def latest_notes(self, project_id: str) -> list[SessionNote]:
        """The newest note of each session of a project that has notes, in the order the
        sessions were made. One query, one index step per session of the project (no
        query per session): its size is bounded by the sessions that exist."""


class ClaimRows(Protocol):
    def set_claim(
        self,
        task_id: str,
        *,
        session_id: str,
        token: str,
        claimed_at: int,
        expires_at: int,
        lease_ms: int,
    ) -> None: ...
    def clear_claim(self, task_id: str) -> None: ...
    def claim_secret(self, task_id: str) -> tuple[str | None, int | None]:
        """The claim token of a task and its lease in ms (None, None when unclaimed)."""

    def expired_claims(self, now: int, project_id: str | None = None) -> list[str]: ...
    def claims_of_session(self, session_id: str) -> list[str]: ...
    def record_ended_claim(self, ended: EndedClaim) -> None: ...
    def ended_claim(self, token: str) -> EndedClaim | None:
        """How the claim proven by ``token`` ended, while it is remembered."""

    def prune_ended_claims(self, ended_before: int) -> int: ...
    def claim_outlook(
        self,
        project_id: str,
        session_id: str,
        now: int,
        labels: list[str],
        parent_id: str | None,
        blockers_shown: int,
    ) -> ClaimOutlook:
        """Counts that say why claim-next finds nothing for ``session_id`` (same filter,
        same clock; its own claims are not counted as held by others)."""


class MessageRows(Protocol):
    def add_message(self, message: Message) -> None:
        """Store a new message with its recipients (each unread)."""

    def get_message(self, message_id: str) -> Message | None: ...
    def list_messages(self, where: MessageFilter) -> list[Message]:
        """Oldest first: the oldest ``where.limit`` that match (the newest, with
        ``where.newest``). Through an index (by project, by thread, by recipient)."""

    def set_recipient(self, message_id: str, state: MessageRecipient) -> None:
        """Store one recipient's read and acknowledged state of a message."""

    def unread_count(self, recipient: str, project_id: str | None = None) -> int:
        """How many messages ``recipient`` has not read (of one project, if given: the
        humans' inbox is one per project)."""


class QuestionRows(Protocol):
    def save_question(self, question: Question) -> None:
        """Insert or update a question."""

    def get_question(self, question_id: str) -> Question | None: ...
    def list_questions(self, where: QuestionFilter) -> list[Question]:
        """In the order they were asked."""

    def due_questions(self, now: int) -> list[str]:
        """Open questions whose deadline is at or before ``now``, oldest deadline first."""

    def undelivered_answers(self, session_id: str) -> list[Question]:
        """The session's questions that were answered and whose answer was not delivered
        to it yet (``mark_delivered``), in the order they were asked."""

    def mark_delivered(self, question_ids: list[str], now: int) -> None: ...


class ReservationRows(Protocol):
    def save_reservation(self, reservation: Reservation) -> None:
        """Insert or update a reservation (a session holds a pattern once)."""

    def get_reservation(self, reservation_id: str) -> Reservation | None: ...
    def delete_reservations(self, reservation_ids: list[str]) -> None: ...
    def list_reservations(
        self,
        *,
        project_id: str | None = None,
        session_id: str | None = None,
        task_id: str | None = None,
    ) -> list[Reservation]:
        """Every reservation that matches, expired ones too (the caller compares
        ``expires_at`` with its clock), in the order they were made."""

    def expired_reservations(self, now: int) -> list[Reservation]:
        """Reservations whose lease ran out at or before ``now`` (not released yet)."""


class LogRows(Protocol):
    def head(self) -> int:
        """The seq of the newest event, 0 for an empty log."""

    def oldest(self) -> int | None: ...
    def append_events(self, events: list[PendingEvent], timestamp: int) -> LogPosition:
        """Append with consecutive seqs after the head; the position is the last one (the
        head if none)."""

    def read_events_after(
        self, after: int, limit: int, *, max_bytes: int | None = None
    ) -> list[StoredEvent]: ...
    def read_events_before(
        self, before: int | None, limit: int, where: LogFilter, *, max_bytes: int | None = None
    ) -> EventPage:
        """Up to ``limit`` of the events ``where`` keeps, newest first, with seqs below
        ``before`` (None: from the head), stopping once they hold ``max_bytes`` of payload
        (at least one is returned, however large); whether ``where`` keeps older ones.
        Through an index (events by project, by task, by session): a page costs what it
        returns, not the size of the log."""

    def prunable(self, keep: int, *, max_bytes: int | None, before: int | None) -> int:
        """The newest seq the retention policy lets go (0: none): every event but the
        newest ``keep``, but the newest ``max_bytes`` of payloads (UTF-8), and those
        older than ``before`` (epoch ms; by seq: the log keeps everything from its
        first event at or after ``before`` on). The newest event is always kept. A read:
        measuring the log's bytes reads it, so this runs outside the write lock."""

    def prune_events(self, through: int) -> int:
        """Delete the events up to seq ``through`` (the newest event is always kept)."""

    def reserve_idempotency(self, key: str, fingerprint: str, now: int) -> StoredResult | None:
        """What a key already used recorded; else None, and the key is this transaction's
        until it ends. A transaction using the key right now (another instance) is waited
        for: its result is returned if it commits."""

    def save_idempotency(
        self, key: str, fingerprint: str, result: str, now: int, position: LogPosition
    ) -> None:
        """Record a reserved key's result, consistent with the log at ``position``."""

    def prune_idempotency(self, created_before: int) -> int: ...
    def lead(self, role: str) -> bool:
        """Whether this transaction may do ``role`` (e.g. pruning) now: no other
        transaction, on any instance, is doing it. Held until the transaction ends."""


class TokenRows(Protocol):
    def add_token(self, token: TokenRecord) -> bool:
        """Store a new token; False (and nothing stored) if its name is taken."""

    def remove_token(self, name: str) -> TokenRecord | None:
        """Delete a token; what it was, None if there was none of that name."""

    def tokens(self) -> list[TokenRecord]:
        """Every token, by name."""

    def any_tokens(self) -> bool: ...

    def token_by_hash(self, secret_hash: str) -> TokenRecord | None: ...


class TransferRows(Protocol):
    """A whole database as rows of the transfer format (core/storage/transfer.py)."""

    def table_size(self, table: str) -> int:
        """How many rows ``table`` (a name of ``transfer.TABLES``) has."""

    def dump(self, table: str) -> Iterator[dict[str, Any]]:
        """Every row of ``table`` with the format's columns and values, in the format's
        order within a table (creation order: ``ord``, ``id`` or ``seq``; by key for the
        tables that keep none). Consume it inside the ``read()`` that yielded this."""


class Rows(
    ProjectRows,
    TaskRows,
    SessionRows,
    ClaimRows,
    MessageRows,
    QuestionRows,
    ReservationRows,
    LogRows,
    TokenRows,
    TransferRows,
    Protocol,
):
    """One transaction's view of the database."""


class LogReader(Protocol):
    """The feed's own connection to the event log."""

    def change_token(self) -> int:
        """A value that changes whenever anyone commits; cheap (the feed polls it)."""

    def head(self) -> int: ...
    def oldest(self) -> int | None: ...
    def read_after(
        self, after: int, limit: int, *, max_bytes: int | None = None
    ) -> list[StoredEvent]: ...
    def close(self) -> None: ...


class Store(Protocol):
    """A database Maestro keeps its state in."""

    @property
    def location(self) -> str:
        """Where the data is, for people (a path, a URL without its password)."""

    def migrate(self) -> int:
        """Bring the schema up to date; returns its version. Raises ``SchemaTooNew``."""

    def clock(self) -> int:
        """Now, in epoch milliseconds, by the clock every process on this database shares."""

    def epoch(self) -> str:
        """Identifies the log's history: it changes when the log could have been rewound
        (a restored backup, another database at the same address), so clients holding
        seqs of another history start over instead of resuming."""

    def renew_epoch(self, expected: str) -> str:
        """Name the log's history anew, unless its epoch is no longer ``expected`` (another
        process renewed it first), and return the epoch now: for a log found rewound
        where ``epoch()`` could not tell (a backup restored in place)."""

    def write(self) -> AbstractContextManager[Rows]: ...
    def read(self) -> AbstractContextManager[Rows]: ...
    def batch(
        self, *, careful: bool = True, reads: tuple[str, ...] = ()
    ) -> AbstractContextManager[None]:
        """Group commit. ``careful=False`` lets the backend wait for a write's statements
        only when it reads a result, not at the write's end: a failure it cannot pin on
        one write then undoes the whole batch with ``BatchUndone``. ``reads``: ids of
        entities the batch's writes will read, which a backend whose reads cost a round
        trip may fetch together (a hint: what is read is the same either way)."""

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this thread's changes are committed."""

    def log_reader(self, on_change: Callable[[int | None], None] | None = None) -> LogReader:
        """A connection of the feed's own. A backend that learns of commits by itself
        (PostgreSQL's LISTEN) calls ``on_change`` from any thread when one lands, with
        the head it reached when it knows it."""

    def reclaim(self) -> int:
        """Give the space of deleted rows back where the backend must be told to: SQLite
        returns free pages to the file system (incremental vacuum) once they are a
        large share of the file; PostgreSQL's autovacuum makes them reusable by itself.
        Returns the bytes given back. Called outside any transaction."""

    def load(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Fill this empty, migrated database with ``(table, row)`` pairs of the transfer
        format, in its order, in one transaction: all of them or, if anything raises
        (``NotEmpty``, ``Unloadable``, or the iterable itself), none. Keeps ``ord``, ids
        and seqs as given, so that new rows come after them; the log's head becomes the
        newest seq, and the log gets a new epoch."""

    def close(self) -> None: ...
