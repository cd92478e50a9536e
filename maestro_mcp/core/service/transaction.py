"""The transaction machinery: every operation of the service is one unit of work.

A write runs in ONE ``Store.write()`` block that changes entity rows, appends the
resulting events to the log and records the idempotency key if one was given;
the caller gets the new state and the seq of its last event only after COMMIT
(under group commit, a batch's COMMIT). A domain rule that fails raises a
``MaestroError`` carrying the seq its view is consistent with, and nothing of
the operation is kept. Reads run in one snapshot.

Domain modules (projects, tasks, sessions, claims) write through a ``Write``:
its ``rows`` (the transaction's queries), its ``now`` and ``emit``. Several of
their functions compose into one operation by running on the same ``Write``.
"""

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

from ...protocol import IDEMPOTENCY_KEY_HEADER
from ..access import current_actor
from ..errors import IdempotencyKeyReused, InvalidInput, MaestroError, TooLarge
from ..events import EventType, PendingEvent, json_fields, subjects
from ..models import IDEMPOTENCY_KEY_MAX, NUL_REFUSED
from ..storage import LogPosition, Rows, Store, UnstorableText

T = TypeVar("T")

IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000


class Result(Generic[T]):
    """A value and the seq of the log it is consistent with.

    For a write, ``seq`` is the seq of its last event (the head if it changed
    nothing); for a read, the head of the log in the same snapshot. A client that
    resumes the live feed from ``seq`` misses nothing and sees nothing twice. A write's
    seq is known once its transaction committed (the store settles its position).
    """

    __slots__ = ("_position", "replayed", "value")

    def __init__(self, value: T, seq: int | LogPosition, replayed: bool = False) -> None:
        self.value = value
        self._position = seq if isinstance(seq, LogPosition) else LogPosition(seq)
        self.replayed = replayed  # answered from an idempotency record

    @property
    def seq(self) -> int:
        return self._position.seq

    def __repr__(self) -> str:
        return f"Result({self.value!r}, seq={self._position._seq}, replayed={self.replayed})"


@dataclass(slots=True)
class Write:
    """One write operation in progress: its queries, its clock reading, its actor
    (core/access.py) and its events."""

    rows: Rows
    now: int
    actor: str = field(default_factory=current_actor)
    pending: list[PendingEvent] = field(default_factory=list)
    _actor_json: str = field(default="", init=False, repr=False)

    def emit(
        self,
        type: EventType,
        project_id: str | None,
        data: BaseModel | dict[str, Any],
        *,
        changed: list[str] | None = None,
    ) -> None:
        if isinstance(data, BaseModel):
            data_json = data.model_dump_json(by_alias=True)
            self.emit_json(type, project_id, data_json, fields_of(data), changed=changed)
        else:
            data_json = json.dumps(data, separators=(",", ":"))
            self.emit_json(type, project_id, data_json, json_fields(data), changed=changed)

    def emit_json(
        self,
        type: EventType,
        project_id: str | None,
        data_json: str,
        field: Callable[[str], Any],
        *,
        changed: list[str] | None = None,
    ) -> None:
        """Emit an event whose data is encoded already (a JSON object); ``field`` reads
        that data's fields by camelCase name or dotted path (what the event is about
        comes from them: ``events.subjects``). ``changed``: an update's changed fields
        (``events.CHANGED``)."""
        if not self._actor_json:  # encoded once per write, for all its events
            self._actor_json = json.dumps(self.actor)
        task_id, session_id = subjects(type, field)
        # Field names are ASCII identifiers: the list needs no escaping.
        changed_json = None if changed is None else "[" + ",".join(f'"{n}"' for n in changed) + "]"
        self.pending.append(
            PendingEvent(
                type, project_id, data_json, self._actor_json, task_id, session_id, changed_json
            )
        )


def fields_of(model: BaseModel) -> Callable[[str], Any]:
    """Reads ``model``'s fields by their JSON (camelCase) names, as an event's data has
    them, and a nested model's by a dotted path of them (``claim.sessionId``), as
    ``events.subjects`` asks for them; None where a step is absent or not a model."""

    def read(path: str) -> Any:
        value: Any = model
        for name in path.split("."):
            if not isinstance(value, BaseModel):
                return None
            value = getattr(value, _python_names(type(value)).get(name, ""), None)
        return value

    return read


@cache
def _python_names(kind: type[BaseModel]) -> dict[str, str]:
    """A model's field names by their JSON names."""
    return {field.alias or name: name for name, field in kind.model_fields.items()}


class Transactions:
    """Runs operation bodies as units of work on a store."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], int],
        on_commit: Callable[[int], None] | None,
        max_log_bytes: int | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.on_commit = on_commit
        # The most one write may add to the log (its events' data); None: no bound.
        self.max_log_bytes = max_log_bytes

    def write(
        self,
        operation: str,
        body: Callable[[Write], T],
        *,
        result_type: Any,
        idempotency_key: str | None = None,
        request: BaseModel | dict[str, Any] | None = None,
        bounded: bool = True,
    ) -> Result[T]:
        """Run ``body`` in one transaction. With ``idempotency_key``, a retry of the same
        ``operation`` and ``request`` returns the first result and changes nothing.
        A write whose events would add more than ``max_log_bytes`` to the log is refused
        (``TooLarge``) and nothing of it is kept, unless it is not ``bounded``: the
        server's own chores, which no client can split, and deletions, whose events
        are bounded by what exists (each row of it made by a bounded write), which a
        client could not split either."""
        fingerprint = _fingerprint(operation, request) if idempotency_key else ""
        if idempotency_key:
            _check_key(idempotency_key)
            adapter: TypeAdapter[T] = TypeAdapter(result_type)
        with _storable(), self.store.write() as rows:
            write = Write(rows, self.clock())
            if idempotency_key:
                # First: a duplicate running on another instance right now is waited for.
                found = rows.reserve_idempotency(idempotency_key, fingerprint, write.now)
                if found is not None:
                    if found.fingerprint != fingerprint:
                        raise IdempotencyKeyReused(
                            f"this {IDEMPOTENCY_KEY_HEADER} was already used for a different "
                            "request; use a new key for a new request"
                        )
                    value = adapter.validate_json(found.result)
                    return Result(value, found.seq, replayed=True)
            try:
                value = body(write)
                if bounded and self.max_log_bytes is not None:
                    _require_within(write.pending, self.max_log_bytes)
            except MaestroError as exc:
                # The seq the error's view (e.g. a conflict's current entity) is consistent with.
                exc.seq = rows.head()
                raise
            position = rows.append_events(write.pending, write.now)
            if idempotency_key:
                result = adapter.dump_json(value).decode()
                rows.save_idempotency(idempotency_key, fingerprint, result, write.now, position)
        on_commit = self.on_commit
        if write.pending and on_commit is not None:
            self.store.after_commit(lambda: on_commit(position.seq))
        return Result(value, position)

    def read(self, body: Callable[[Rows], T]) -> Result[T]:
        """Run ``body`` in one snapshot; the result carries that snapshot's head."""
        with _storable(), self.store.read() as rows:
            seq = rows.head()
            try:
                return Result(body(rows), seq)
            except MaestroError as exc:
                exc.seq = seq
                raise


@contextmanager
def _storable() -> Iterator[None]:
    """A value the database cannot store (a NUL in an id taken from a URL: inputs are
    refused earlier) is the caller's mistake, not the server's."""
    try:
        yield
    except UnstorableText as exc:
        raise InvalidInput(NUL_REFUSED) from exc


def _require_within(events: list[PendingEvent], limit: int) -> None:
    size = 0
    for event in events:
        data = event.data_json
        size += len(data) if data.isascii() else len(data.encode())
    if size > limit:
        raise TooLarge(
            f"this change would add {size:,} bytes of events to the log, more than the "
            f"{limit:,} one write may add; make it in smaller steps (e.g. fewer tasks per "
            "call)",
            details={"limit": limit, "size": size, "events": len(events)},
        )


def _fingerprint(operation: str, request: BaseModel | dict[str, Any] | None) -> str:
    if isinstance(request, BaseModel):
        payload = request.model_dump(mode="json", by_alias=True)
    else:
        payload = request or {}
    canonical = json.dumps([operation, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_key(key: str) -> None:
    if not key or len(key) > IDEMPOTENCY_KEY_MAX:
        raise InvalidInput(
            f"an idempotency key is 1 to {IDEMPOTENCY_KEY_MAX} characters",
            details={"field": IDEMPOTENCY_KEY_HEADER},
        )
