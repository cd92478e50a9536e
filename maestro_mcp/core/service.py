"""The service layer: the one write path.

Every operation is one call here, whichever face it came from. A write runs in
ONE transaction that changes entity rows, appends the resulting events to the
log and records the idempotency key if one was given; the caller gets the new
state and the seq of its last event only after COMMIT. Nothing else writes
entity tables or emits events.

Under group commit (``GroupCommit``) an operation's transaction is a savepoint of
a batch; the committer hands its result out only after the batch's COMMIT.
"""

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

from . import events, rows
from .clock import now_ms
from .errors import (
    ClaimConflict,
    IdempotencyKeyReused,
    InvalidInput,
    MaestroError,
    NotFound,
    NotReady,
    VersionConflict,
)
from .events import EventType, PendingEvent
from .ids import PROJECT_PREFIX, SESSION_PREFIX, TASK_PREFIX, new_id
from .models import (
    ENDED_SESSION_STATUSES,
    NOTE_MAX,
    ClaimGrant,
    ClaimNextRequest,
    ClaimRequest,
    Entity,
    HeartbeatRequest,
    Project,
    ProjectCreate,
    ProjectPatch,
    ReleaseRequest,
    Session,
    SessionCreate,
    SessionFilter,
    SessionNote,
    SessionPatch,
    Task,
    TaskCreate,
    TaskFilter,
    TaskPatch,
    TaskStatus,
)
from .store import Database

T = TypeVar("T")
E = TypeVar("E", Project, Task, Session)

IDEMPOTENCY_KEY_MAX = 200
IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000
DEFAULT_EVENT_RETENTION = 100_000


@dataclass(frozen=True, slots=True)
class Result(Generic[T]):
    """A value and the seq of the log it is consistent with.

    For a write, ``seq`` is the seq of its last event (the head if it changed
    nothing); for a read, the head of the log in the same snapshot. A client that
    resumes the live feed from ``seq`` misses nothing and sees nothing twice.
    """

    value: T
    seq: int
    replayed: bool = False  # answered from an idempotency record


class Changes(BaseModel):
    """What happened after a seq: the events (oldest first) and where to continue from."""

    events: list[dict[str, Any]]
    head: int  # the newest seq in the log
    next_since: int  # pass this as `since` next time
    expired: bool  # `since` is older than the retained log: some events are gone; refetch


class Heartbeat(BaseModel):
    """A session after its heartbeat, and the tasks whose claims it renewed."""

    session: Session
    renewed: list[Task]


class Link(BaseModel):
    """The two sides of a task<->session link after it changed."""

    session: Session
    task: Task
    changed: bool


@dataclass(slots=True)
class _Write:
    conn: Any
    now: int
    pending: list[PendingEvent] = field(default_factory=list)

    def emit(self, type: EventType, project_id: str, data: BaseModel | dict[str, Any]) -> None:
        data_json = (
            data.model_dump_json(by_alias=True)
            if isinstance(data, BaseModel)
            else json.dumps(data, separators=(",", ":"))
        )
        self.pending.append(PendingEvent(type, project_id, data_json))


class Service:
    def __init__(
        self,
        db: Database,
        *,
        on_commit: Callable[[int], None] | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.db = db
        self.on_commit = on_commit
        self.clock = clock

    # --- the transaction ------------------------------------------------------

    def _transact(
        self,
        operation: str,
        body: Callable[[_Write], T],
        *,
        result_type: Any,
        idempotency_key: str | None = None,
        request: BaseModel | dict[str, Any] | None = None,
    ) -> Result[T]:
        fingerprint = _fingerprint(operation, request) if idempotency_key else ""
        with self.db.write() as conn:
            if idempotency_key:
                adapter: TypeAdapter[T] = TypeAdapter(result_type)
                _check_key(idempotency_key)
                row = conn.execute(
                    "SELECT fingerprint, result FROM idempotency WHERE key = ?", (idempotency_key,)
                ).fetchone()
                if row is not None:
                    if row[0] != fingerprint:
                        raise IdempotencyKeyReused(
                            "this Idempotency-Key was already used for a different request; "
                            "use a new key for a new request"
                        )
                    stored = json.loads(row[1])
                    value = adapter.validate_python(stored["value"])
                    return Result(value, stored["seq"], replayed=True)
            write = _Write(conn, self.clock())
            try:
                value = body(write)
            except MaestroError as exc:
                # The seq the error's view (e.g. a conflict's current entity) is consistent with.
                exc.seq = events.head(conn)
                raise
            seq = events.append(conn, write.pending, write.now)
            if idempotency_key:
                result = {"value": adapter.dump_python(value, mode="json"), "seq": seq}
                conn.execute(
                    "INSERT INTO idempotency (key, fingerprint, result, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (idempotency_key, fingerprint, json.dumps(result), write.now),
                )
        if write.pending and self.on_commit is not None:
            self.db.after_commit(partial(self.on_commit, seq))
        return Result(value, seq)

    def _read(self, body: Callable[[Any], T]) -> Result[T]:
        with self.db.read() as conn:
            seq = events.head(conn)
            try:
                return Result(body(conn), seq)
            except MaestroError as exc:
                exc.seq = seq
                raise

    # --- projects -------------------------------------------------------------

    def create_project(
        self, data: ProjectCreate, *, idempotency_key: str | None = None
    ) -> Result[Project]:
        def body(w: _Write) -> Project:
            project = Project(
                id=new_id(PROJECT_PREFIX),
                name=data.name,
                working_dir=data.working_dir,
                description=data.description,
                created_at=w.now,
                updated_at=w.now,
                version=1,
            )
            rows.save_project(w.conn, project)
            w.emit(EventType.PROJECT_CREATED, project.id, project)
            return project

        return self._transact(
            "project.create",
            body,
            result_type=Project,
            idempotency_key=idempotency_key,
            request=data,
        )

    def update_project(
        self, project_id: str, patch: ProjectPatch, *, expected_version: int | None = None
    ) -> Result[Project]:
        def body(w: _Write) -> Project:
            current = _require_project(w.conn, project_id)
            _check_version(current, expected_version)
            updated = _merged(current, patch.given(), w.now)
            if updated is current:
                return current
            rows.save_project(w.conn, updated)
            w.emit(EventType.PROJECT_UPDATED, updated.id, updated)
            return updated

        return self._transact("project.update", body, result_type=Project)

    def delete_project(
        self, project_id: str, *, expected_version: int | None = None
    ) -> Result[Project]:
        """Delete a project with its tasks and sessions.

        Only ``project:deleted`` is emitted: clients drop every entity of that project.
        """

        def body(w: _Write) -> Project:
            current = _require_project(w.conn, project_id)
            _check_version(current, expected_version)
            rows.delete_project(w.conn, project_id)
            w.emit(
                EventType.PROJECT_DELETED, project_id, {"id": project_id, "projectId": project_id}
            )
            return current

        return self._transact("project.delete", body, result_type=Project)

    def get_project(self, project_id: str) -> Result[Project]:
        return self._read(lambda conn: _require_project(conn, project_id))

    def list_projects(self) -> Result[list[Project]]:
        return self._read(rows.list_projects)

    def resolve_project(self, ref: str | None) -> Result[Project]:
        """A project by id or by name; with no ref, the only project there is."""

        def body(conn: Any) -> Project:
            if ref:
                by_id = rows.get_project(conn, ref)
                if by_id is not None:
                    return by_id
                named = rows.find_projects_by_name(conn, ref)
                if len(named) == 1:
                    return named[0]
                if len(named) > 1:
                    ids = ", ".join(p.id for p in named)
                    raise InvalidInput(f"several projects are named {ref!r} ({ids}); use an id")
            projects = rows.list_projects(conn)
            if not ref and len(projects) == 1:
                return projects[0]
            known = ", ".join(f"{p.name} ({p.id})" for p in projects[:20]) or "none yet"
            if ref:
                raise NotFound(f"project {ref!r} not found; projects: {known}", {"id": ref})
            raise InvalidInput(f"say which project: {known}", {"field": "project"})

        return self._read(body)

    # --- tasks ------------------------------------------------------------------

    def create_task(self, data: TaskCreate, *, idempotency_key: str | None = None) -> Result[Task]:
        def body(w: _Write) -> Task:
            _require_project(w.conn, data.project_id)
            if data.parent_id is not None:
                _require_parent(w.conn, data.parent_id, data.project_id)
            depends_on = _valid_dependencies(w.conn, data.depends_on, data.project_id, None)
            started, completed = _task_times(None, None, data.status, w.now)
            task = Task(
                id=new_id(TASK_PREFIX),
                project_id=data.project_id,
                parent_id=data.parent_id,
                title=data.title,
                description=data.description,
                prompt=data.prompt,
                status=data.status,
                priority=data.priority,
                labels=_unique(data.labels),
                depends_on=depends_on,
                created_at=w.now,
                updated_at=w.now,
                started_at=started,
                completed_at=completed,
                version=1,
            )
            rows.save_task(w.conn, task)
            rows.set_dependencies(w.conn, task.id, depends_on)
            w.emit(EventType.TASK_CREATED, task.project_id, task)
            return task

        return self._transact(
            "task.create", body, result_type=Task, idempotency_key=idempotency_key, request=data
        )

    def update_task(
        self,
        task_id: str,
        patch: TaskPatch,
        *,
        expected_version: int | None = None,
        claim_token: str | None = None,
        override: bool = False,
    ) -> Result[Task]:
        """Merge the given fields into a task.

        While a session holds a live claim on it, only that session (``claim_token``)
        or a human who says so (``override``) may change its status. A status that ends
        the work (completed, cancelled, pending) releases the claim:
        events ``task:updated``, then ``task:released``.
        """

        def body(w: _Write) -> Task:
            current = _require_task(w.conn, task_id)
            _check_version(current, expected_version)
            changes = patch.given()
            status_changes = "status" in changes and changes["status"] != current.status
            if status_changes and not override:
                _check_claim_holder(w.conn, current, claim_token, w.now)
            if "depends_on" in changes:
                changes["depends_on"] = _valid_dependencies(
                    w.conn, changes["depends_on"], current.project_id, task_id
                )
            if "labels" in changes:
                changes["labels"] = _unique(changes["labels"])
            if changes.get("parent_id") is not None and changes["parent_id"] != current.parent_id:
                _require_parent(w.conn, changes["parent_id"], current.project_id)
                if changes["parent_id"] == task_id or task_id in rows.ancestor_ids(
                    w.conn, changes["parent_id"]
                ):
                    raise InvalidInput(
                        f"task {changes['parent_id']} is {task_id} or one of its sub-tasks; "
                        "a task cannot be nested under itself",
                        details={"field": "parentId"},
                    )
            if "status" in changes and changes["status"] != current.status:
                changes["started_at"], changes["completed_at"] = _task_times(
                    current.started_at, current.completed_at, changes["status"], w.now
                )
            releases = (
                current.claim is not None
                and status_changes
                and changes["status"] in _STATUSES_ENDING_A_CLAIM
            )
            updated = _merged(current, changes, w.now)
            if updated is current:
                return current
            rows.save_task(w.conn, updated)
            if "depends_on" in changes:
                rows.set_dependencies(w.conn, task_id, updated.depends_on)
            if releases:
                assert current.claim is not None
                rows.clear_claim(w.conn, task_id)
                updated = _require_task(w.conn, task_id)
            w.emit(EventType.TASK_UPDATED, updated.project_id, updated)
            if releases:
                assert current.claim is not None
                if current.claim.expires_at <= w.now:
                    reason = "expired"
                elif override and claim_token is None:
                    reason = "override"
                else:
                    reason = str(changes["status"])
                _emit_released(w, updated, current.claim.session_id, reason)
            return updated

        return self._transact("task.update", body, result_type=Task)

    def delete_task(self, task_id: str, *, expected_version: int | None = None) -> Result[Task]:
        """Delete a task and its sub-tasks, unlinking them from their sessions.

        Events: ``session:updated`` for each session that listed one of them,
        ``task:updated`` for each other task that depended on one of them, then
        ``task:deleted`` for each deleted task, sub-tasks before their parent.
        """

        def body(w: _Write) -> Task:
            current = _require_task(w.conn, task_id)
            _check_version(current, expected_version)
            doomed = rows.subtree_ids(w.conn, task_id)
            session_ids = rows.session_ids_of_tasks(w.conn, doomed)
            dependents = [t for t in rows.dependents_of(w.conn, doomed) if t not in doomed]
            rows.delete_tasks(w.conn, doomed)
            for session in rows.get_sessions(w.conn, session_ids):
                touched = _touched_session(session, w.now)
                rows.save_session(w.conn, touched)
                w.emit(EventType.SESSION_UPDATED, touched.project_id, touched)
            # Tasks that waited on a deleted one no longer do.
            for task in rows.get_tasks(w.conn, dependents):
                touched_task = _touched_task(task, w.now)
                rows.save_task(w.conn, touched_task)
                w.emit(EventType.TASK_UPDATED, touched_task.project_id, touched_task)
            for doomed_id in doomed:
                w.emit(
                    EventType.TASK_DELETED,
                    current.project_id,
                    {"id": doomed_id, "projectId": current.project_id},
                )
            return current

        return self._transact("task.delete", body, result_type=Task)

    def get_task(self, task_id: str) -> Result[Task]:
        return self._read(lambda conn: _require_task(conn, task_id))

    def list_tasks(self, where: TaskFilter | None = None) -> Result[list[Task]]:
        now = self.clock()
        return self._read(lambda conn: rows.list_tasks(conn, where or TaskFilter(), now))

    # --- sessions ---------------------------------------------------------------

    def create_session(
        self, data: SessionCreate, *, idempotency_key: str | None = None
    ) -> Result[Session]:
        def body(w: _Write) -> Session:
            _require_project(w.conn, data.project_id)
            task_ids = list(dict.fromkeys(data.task_ids))
            tasks = [_require_task(w.conn, i) for i in task_ids]
            for task in tasks:
                _require_same_project(task, data.project_id)
            session = Session(
                id=new_id(SESSION_PREFIX),
                project_id=data.project_id,
                name=data.name,
                agent=data.agent,
                status=data.status,
                task_ids=task_ids,
                created_at=w.now,
                updated_at=w.now,
                last_activity_at=w.now,
                ended_at=w.now if data.status in ENDED_SESSION_STATUSES else None,
                version=1,
            )
            rows.save_session(w.conn, session)
            for task in tasks:
                rows.link(w.conn, task.id, session.id)
            w.emit(EventType.SESSION_CREATED, session.project_id, session)
            for task in rows.get_tasks(w.conn, task_ids):
                touched = _touched_task(task, w.now)
                rows.save_task(w.conn, touched)
                w.emit(EventType.TASK_UPDATED, touched.project_id, touched)
            return session

        return self._transact(
            "session.create",
            body,
            result_type=Session,
            idempotency_key=idempotency_key,
            request=data,
        )

    def update_session(
        self, session_id: str, patch: SessionPatch, *, expected_version: int | None = None
    ) -> Result[Session]:
        """Events: ``session:updated``; a session that ends (completed, failed, stopped)
        also gives up its claims: ``task:updated`` then ``task:released`` for each."""

        def body(w: _Write) -> Session:
            current = _require_session(w.conn, session_id)
            _check_version(current, expected_version)
            changes = patch.given()
            status = changes.get("status")
            if status is not None and status != current.status:
                ended = status in ENDED_SESSION_STATUSES
                changes["ended_at"] = (current.ended_at or w.now) if ended else None
            updated = _merged(current, changes, w.now)
            if updated is current:
                return current
            updated = updated.model_copy(update={"last_activity_at": w.now})
            rows.save_session(w.conn, updated)
            w.emit(EventType.SESSION_UPDATED, updated.project_id, updated)
            if updated.status in ENDED_SESSION_STATUSES:
                for task in rows.get_tasks(w.conn, rows.claims_of_session(w.conn, session_id)):
                    _release(w, task, "session_ended")
            return updated

        return self._transact("session.update", body, result_type=Session)

    def delete_session(
        self, session_id: str, *, expected_version: int | None = None
    ) -> Result[Session]:
        """Events: ``session:deleted``, then ``task:updated`` for each task it had or held
        a claim on, then ``task:released`` for each claim it held."""

        def body(w: _Write) -> Session:
            current = _require_session(w.conn, session_id)
            _check_version(current, expected_version)
            claimed = rows.claims_of_session(w.conn, session_id)
            rows.delete_session(w.conn, session_id)
            w.emit(
                EventType.SESSION_DELETED,
                current.project_id,
                {"id": session_id, "projectId": current.project_id},
            )
            for task_id in claimed:
                _drop_claim(w, task_id)
            for task in rows.get_tasks(w.conn, [*current.task_ids, *claimed]):
                touched = _touched_task(task, w.now)
                rows.save_task(w.conn, touched)
                w.emit(EventType.TASK_UPDATED, touched.project_id, touched)
            for task in rows.get_tasks(w.conn, claimed):
                _emit_released(w, task, session_id, "session_deleted")
            return current

        return self._transact("session.delete", body, result_type=Session)

    def add_task_to_session(
        self, session_id: str, task_id: str, *, idempotency_key: str | None = None
    ) -> Result[Link]:
        """Link a task to a session. Linking an already linked pair changes nothing.

        Events: ``session:updated``, ``task:updated``, ``session:task_added``.
        """

        def body(w: _Write) -> Link:
            session = _require_session(w.conn, session_id)
            task = _require_task(w.conn, task_id)
            _require_same_project(task, session.project_id)
            if not rows.link(w.conn, task_id, session_id):
                return Link(session=session, task=task, changed=False)
            return self._relinked(w, session, task, EventType.SESSION_TASK_ADDED)

        return self._transact(
            "session.add_task",
            body,
            result_type=Link,
            idempotency_key=idempotency_key,
            request={"sessionId": session_id, "taskId": task_id},
        )

    def remove_task_from_session(self, session_id: str, task_id: str) -> Result[Link]:
        """Unlink a task from a session. Unlinking a pair that is not linked changes nothing.

        Events: ``session:updated``, ``task:updated``, ``session:task_removed``.
        """

        def body(w: _Write) -> Link:
            session = _require_session(w.conn, session_id)
            task = _require_task(w.conn, task_id)
            if not rows.unlink(w.conn, task_id, session_id):
                return Link(session=session, task=task, changed=False)
            return self._relinked(w, session, task, EventType.SESSION_TASK_REMOVED)

        return self._transact("session.remove_task", body, result_type=Link)

    @staticmethod
    def _relinked(w: _Write, session: Session, task: Task, event: EventType) -> Link:
        # Re-read both sides: their link lists derive from the row just written.
        new_session = _touched_session(_require_session(w.conn, session.id), w.now)
        new_task = _touched_task(_require_task(w.conn, task.id), w.now)
        rows.save_session(w.conn, new_session)
        rows.save_task(w.conn, new_task)
        w.emit(EventType.SESSION_UPDATED, new_session.project_id, new_session)
        w.emit(EventType.TASK_UPDATED, new_task.project_id, new_task)
        w.emit(event, session.project_id, {"sessionId": session.id, "taskId": task.id})
        return Link(session=new_session, task=new_task, changed=True)

    def add_session_note(
        self, session_id: str, message: str, *, idempotency_key: str | None = None
    ) -> Result[SessionNote]:
        """Append a progress note to a session's log.

        Events: ``session:updated`` (its lastActivityAt moved), then
        ``session:note_added {sessionId, projectId, note}``.
        """
        message = _note_text(message)

        def body(w: _Write) -> SessionNote:
            session = _require_session(w.conn, session_id)
            note = rows.add_note(w.conn, session_id, message, w.now)
            touched = _touched_session(session, w.now)
            rows.save_session(w.conn, touched)
            w.emit(EventType.SESSION_UPDATED, touched.project_id, touched)
            w.emit(
                EventType.SESSION_NOTE_ADDED,
                touched.project_id,
                {
                    "sessionId": session_id,
                    "projectId": touched.project_id,
                    "note": note.model_dump(mode="json", by_alias=True),
                },
            )
            return note

        return self._transact(
            "session.add_note",
            body,
            result_type=SessionNote,
            idempotency_key=idempotency_key,
            request={"sessionId": session_id, "message": message},
        )

    def list_session_notes(self, session_id: str, *, limit: int = 50) -> Result[list[SessionNote]]:
        def body(conn: Any) -> list[SessionNote]:
            _require_session(conn, session_id)
            return rows.list_notes(conn, session_id, limit)

        return self._read(body)

    def get_session(self, session_id: str) -> Result[Session]:
        return self._read(lambda conn: _require_session(conn, session_id))

    def list_sessions(self, where: SessionFilter | None = None) -> Result[list[Session]]:
        return self._read(lambda conn: rows.list_sessions(conn, where or SessionFilter()))

    # --- claims ---------------------------------------------------------------------

    def claim_task(
        self, task_id: str, request: ClaimRequest, *, idempotency_key: str | None = None
    ) -> Result[ClaimGrant]:
        """Give a session an exclusive, expiring claim on one ready task.

        Events: ``task:updated`` (claim set, pending -> in_progress), ``task:claimed``.
        """

        def body(w: _Write) -> ClaimGrant:
            task = _require_task(w.conn, task_id)
            session = _claiming_session(w.conn, request.session_id, task.project_id)
            _expire(w, rows.expired_claims(w.conn, w.now, task.project_id))
            task = _require_task(w.conn, task_id)
            _require_ready(w.conn, task, w.now)
            return _claim(w, task, session, request.lease_seconds * 1000)

        return self._transact(
            "task.claim",
            body,
            result_type=ClaimGrant,
            idempotency_key=idempotency_key,
            request={"taskId": task_id, **request.model_dump(mode="json", by_alias=True)},
        )

    def claim_next(
        self, session_id: str, request: ClaimNextRequest, *, idempotency_key: str | None = None
    ) -> Result[list[ClaimGrant]]:
        """Atomically claim up to ``count`` ready tasks of the session's project, most
        urgent first, then oldest. Two sessions asking at once never get the same task:
        the choice and the claims happen in one write transaction."""

        def body(w: _Write) -> list[ClaimGrant]:
            session = _require_session(w.conn, session_id)
            session = _claiming_session(w.conn, session_id, session.project_id)
            _expire(w, rows.expired_claims(w.conn, w.now, session.project_id))
            ready = rows.next_ready(
                w.conn,
                session.project_id,
                w.now,
                request.count,
                _unique(request.labels),
                request.parent_id,
            )
            return [_claim(w, task, session, request.lease_seconds * 1000) for task in ready]

        return self._transact(
            "session.claim_next",
            body,
            result_type=list[ClaimGrant],
            idempotency_key=idempotency_key,
            request={"sessionId": session_id, **request.model_dump(mode="json", by_alias=True)},
        )

    def release_task(self, task_id: str, request: ReleaseRequest) -> Result[Task]:
        """Give a claim up: its holder (by token) or a human (``override``).

        Events: ``task:updated`` (claim cleared, in_progress -> pending), ``task:released``.
        Releasing a task nobody holds changes nothing.
        """

        def body(w: _Write) -> Task:
            task = _require_task(w.conn, task_id)
            if task.claim is None:
                return task
            if task.claim.expires_at <= w.now:
                return _release(w, task, "expired")  # it was nobody's any more
            if not request.override:
                _check_claim_holder(w.conn, task, request.claim_token, w.now)
            return _release(w, task, "override" if request.override else "released")

        return self._transact("task.release", body, result_type=Task)

    def heartbeat(
        self, session_id: str, request: HeartbeatRequest | None = None
    ) -> Result[Heartbeat]:
        """A session is alive: renew every claim it holds (by its own lease, or the one given).

        Events: ``session:updated`` (lastActivityAt), ``task:updated`` per renewed claim.
        A claim that already expired is not renewed: the task may be someone else's now.
        """
        lease_s = request.lease_seconds if request is not None else None

        def body(w: _Write) -> Heartbeat:
            session = _require_session(w.conn, session_id)
            touched = _touched_session(session, w.now)
            rows.save_session(w.conn, touched)
            w.emit(EventType.SESSION_UPDATED, touched.project_id, touched)
            renewed: list[Task] = []
            if session.status in ENDED_SESSION_STATUSES:
                return Heartbeat(session=touched, renewed=renewed)  # an ended session holds none
            for task in rows.get_tasks(w.conn, rows.claims_of_session(w.conn, session_id)):
                assert task.claim is not None
                if task.claim.expires_at <= w.now:
                    continue
                token, lease_ms = rows.claim_secret(w.conn, task.id)
                lease_ms = lease_s * 1000 if lease_s is not None else (lease_ms or 0)
                assert token is not None
                rows.set_claim(
                    w.conn,
                    task.id,
                    session_id=session_id,
                    token=token,
                    claimed_at=task.claim.claimed_at,
                    expires_at=w.now + lease_ms,
                    lease_ms=lease_ms,
                )
                fresh = _touched_task(_require_task(w.conn, task.id), w.now)
                rows.save_task(w.conn, fresh)
                w.emit(EventType.TASK_UPDATED, fresh.project_id, fresh)
                renewed.append(fresh)
            return Heartbeat(session=touched, renewed=renewed)

        return self._transact("session.heartbeat", body, result_type=Heartbeat)

    def expire_claims(self) -> Result[list[str]]:
        """Release every claim whose lease ran out (the server calls this periodically).

        Events per task: ``task:updated``, ``task:released {reason: "expired"}``.
        """

        now = self.clock()
        # Most calls find nothing: look with a read before taking the write lock.
        found = self._read(lambda conn: rows.expired_claims(conn, now))
        if not found.value:
            return found

        def body(w: _Write) -> list[str]:
            expired = rows.expired_claims(w.conn, w.now)
            _expire(w, expired)
            return expired

        return self._transact("task.expire_claims", body, result_type=list[str])

    # --- the log ----------------------------------------------------------------

    def head(self) -> int:
        return self._read(lambda conn: None).seq

    def changes_since(
        self, since: int, *, project_id: str | None = None, limit: int = 100
    ) -> Result[Changes]:
        """Up to ``limit`` events after ``since`` (of one project, if given)."""

        def body(conn: Any) -> Changes:
            head = events.head(conn)
            oldest = events.oldest(conn)
            expired = since < head and (oldest is None or since + 1 < oldest)
            found: list[dict[str, Any]] = []
            after = since
            while len(found) < limit and after < head:
                batch = events.read_after(conn, after, 1000)
                if not batch:
                    break
                for event in batch:
                    after = event.seq
                    if project_id is None or event.project_id == project_id:
                        found.append(json.loads(event.payload))
                        if len(found) == limit:
                            break
            return Changes(events=found, head=head, next_since=max(after, since), expired=expired)

        return self._read(body)

    def prune(self, *, keep_events: int = DEFAULT_EVENT_RETENTION) -> tuple[int, int]:
        """Apply the retention policy: the newest ``keep_events`` events and one day of
        idempotency records are kept. Returns (events deleted, records deleted)."""
        with self.db.write() as conn:
            deleted_events = events.prune(conn, keep_events)
            cursor = conn.execute(
                "DELETE FROM idempotency WHERE created_at < ?",
                (self.clock() - IDEMPOTENCY_TTL_MS,),
            )
        return deleted_events, cursor.rowcount


# --- rules ------------------------------------------------------------------------


def _require_project(conn: Any, project_id: str) -> Project:
    project = rows.get_project(conn, project_id)
    if project is None:
        raise NotFound(f"project {project_id} not found", details={"id": project_id})
    return project


def _require_task(conn: Any, task_id: str) -> Task:
    task = rows.get_task(conn, task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found", details={"id": task_id})
    return task


def _require_session(conn: Any, session_id: str) -> Session:
    session = rows.get_session(conn, session_id)
    if session is None:
        raise NotFound(f"session {session_id} not found", details={"id": session_id})
    return session


def _require_parent(conn: Any, parent_id: str, project_id: str) -> None:
    parent = rows.get_task(conn, parent_id)
    if parent is None:
        raise InvalidInput(
            f"parent task {parent_id} not found", details={"field": "parentId", "id": parent_id}
        )
    if parent.project_id != project_id:
        raise InvalidInput(
            f"parent task {parent_id} belongs to project {parent.project_id}, not {project_id}",
            details={"field": "parentId"},
        )


def _require_same_project(task: Task, project_id: str) -> None:
    if task.project_id != project_id:
        raise InvalidInput(
            f"task {task.id} belongs to project {task.project_id}, not {project_id}; "
            "a session only holds tasks of its own project",
            details={"taskId": task.id},
        )


def _check_version(current: Entity, expected: int | None) -> None:
    if expected is not None and expected != current.version:
        raise VersionConflict(current, expected)


def _merged(current: E, changes: dict[str, Any], now: int) -> E:
    """``current`` with ``changes`` applied and its version bumped; ``current`` itself
    when the changes change nothing, so a repeated PATCH emits no event."""
    effective = {k: v for k, v in changes.items() if getattr(current, k) != v}
    if not effective:
        return current
    return current.model_copy(
        update={**effective, "updated_at": now, "version": current.version + 1}
    )


def _touched_task(task: Task, now: int) -> Task:
    # For a task whose links changed; the caller passes it as re-read after the change.
    return task.model_copy(update={"updated_at": now, "version": task.version + 1})


def _touched_session(session: Session, now: int) -> Session:
    return session.model_copy(
        update={"updated_at": now, "last_activity_at": now, "version": session.version + 1}
    )


def _task_times(
    started_at: int | None, completed_at: int | None, status: TaskStatus, now: int
) -> tuple[int | None, int | None]:
    """startedAt is set when work first starts and cleared when a task is reset to pending;
    completedAt is set on completion and cleared when the task leaves ``completed``."""
    if status is TaskStatus.PENDING:
        return None, None
    if status is TaskStatus.IN_PROGRESS and started_at is None:
        started_at = now
    if status is TaskStatus.COMPLETED:
        return started_at, completed_at or now
    return started_at, None


_STATUSES_ENDING_A_CLAIM = frozenset(
    {TaskStatus.COMPLETED, TaskStatus.CANCELLED, TaskStatus.PENDING}
)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _valid_dependencies(
    conn: Any, depends_on: list[str], project_id: str, task_id: str | None
) -> list[str]:
    # Sorted: the order the database gives them back in, so a response, its event and a
    # later GET agree, and sending the same set again is no change.
    wanted = sorted(set(depends_on))
    for dependency_id in wanted:
        dependency = rows.get_task(conn, dependency_id)
        if dependency is None:
            raise InvalidInput(
                f"dependency {dependency_id} not found", {"field": "dependsOn", "id": dependency_id}
            )
        if dependency.project_id != project_id:
            raise InvalidInput(
                f"dependency {dependency_id} belongs to project {dependency.project_id}, "
                f"not {project_id}",
                {"field": "dependsOn", "id": dependency_id},
            )
    if task_id is not None and rows.depends_transitively(conn, wanted, task_id):
        raise InvalidInput(
            f"task {task_id} cannot depend on {', '.join(wanted)}: that would make a cycle "
            "(one of them already depends on it, directly or through others)",
            {"field": "dependsOn"},
        )
    return wanted


def _claiming_session(conn: Any, session_id: str, project_id: str) -> Session:
    session = _require_session(conn, session_id)
    if session.project_id != project_id:
        raise InvalidInput(
            f"session {session_id} belongs to project {session.project_id}, not {project_id}",
            {"field": "sessionId"},
        )
    if session.status in ENDED_SESSION_STATUSES:
        raise InvalidInput(
            f"session {session_id} has ended ({session.status.value}); start a new one to claim",
            {"field": "sessionId"},
        )
    return session


def _require_ready(conn: Any, task: Task, now: int) -> None:
    if task.claim is not None and task.claim.expires_at > now:
        raise ClaimConflict(
            f"task {task.id} is claimed by session {task.claim.session_id} until "
            f"{task.claim.expires_at}",
            {"claim": task.claim.model_dump(mode="json", by_alias=True)},
        )
    if task.status is not TaskStatus.PENDING:
        raise NotReady(
            f"task {task.id} is {task.status.value}, not pending", {"status": task.status.value}
        )
    waiting = [d.id for d in rows.get_tasks(conn, task.depends_on) if d.status != "completed"]
    if waiting:
        raise NotReady(
            f"task {task.id} waits for {', '.join(waiting)} to be completed",
            {"waitingFor": waiting},
        )


def _check_claim_holder(conn: Any, task: Task, token: str | None, now: int) -> None:
    """Refuse unless ``token`` proves the live claim on ``task`` (no live claim: allowed)."""
    if task.claim is None or task.claim.expires_at <= now:
        return
    held, _ = rows.claim_secret(conn, task.id)
    # Bytes: compare_digest refuses str with non-ASCII characters (a 500, not a refusal).
    if token is None or held is None or not hmac.compare_digest(token.encode(), held.encode()):
        raise ClaimConflict(
            f"task {task.id} is claimed by session {task.claim.session_id}; "
            + ("that claim token is not the current one" if token else "pass its claim token")
            + ", or override the claim explicitly",
            {"claim": task.claim.model_dump(mode="json", by_alias=True)},
        )


def _claim(w: _Write, task: Task, session: Session, lease_ms: int) -> ClaimGrant:
    token = "clm_" + secrets.token_hex(16)
    started, completed = _task_times(
        task.started_at, task.completed_at, TaskStatus.IN_PROGRESS, w.now
    )
    working = _merged(
        task,
        {"status": TaskStatus.IN_PROGRESS, "started_at": started, "completed_at": completed},
        w.now,
    )
    if working is task:  # already in progress: the claim itself is the change
        working = _touched_task(task, w.now)
    rows.save_task(w.conn, working)
    rows.set_claim(
        w.conn,
        task.id,
        session_id=session.id,
        token=token,
        claimed_at=w.now,
        expires_at=w.now + lease_ms,
        lease_ms=lease_ms,
    )
    claimed = _require_task(w.conn, task.id)
    w.emit(EventType.TASK_UPDATED, claimed.project_id, claimed)
    w.emit(
        EventType.TASK_CLAIMED,
        claimed.project_id,
        {
            "taskId": claimed.id,
            "projectId": claimed.project_id,
            "sessionId": session.id,
            "expiresAt": w.now + lease_ms,
        },
    )
    return ClaimGrant(task=claimed, claim_token=token, expires_at=w.now + lease_ms)


def _drop_claim(w: _Write, task_id: str) -> None:
    """Clear a claim; work in progress goes back to pending, ready for someone else."""
    rows.clear_claim(w.conn, task_id)
    task = _require_task(w.conn, task_id)
    if task.status is TaskStatus.IN_PROGRESS:
        started, completed = _task_times(
            task.started_at, task.completed_at, TaskStatus.PENDING, w.now
        )
        rows.save_task(
            w.conn,
            task.model_copy(
                update={
                    "status": TaskStatus.PENDING,
                    "started_at": started,
                    "completed_at": completed,
                }
            ),
        )


def _release(w: _Write, task: Task, reason: str) -> Task:
    assert task.claim is not None
    _drop_claim(w, task.id)
    released = _touched_task(_require_task(w.conn, task.id), w.now)
    rows.save_task(w.conn, released)
    w.emit(EventType.TASK_UPDATED, released.project_id, released)
    _emit_released(w, released, task.claim.session_id, reason)
    return released


def _expire(w: _Write, task_ids: list[str]) -> None:
    for task in rows.get_tasks(w.conn, task_ids):
        _release(w, task, "expired")


def _emit_released(w: _Write, task: Task, session_id: str, reason: str) -> None:
    w.emit(
        EventType.TASK_RELEASED,
        task.project_id,
        {
            "taskId": task.id,
            "projectId": task.project_id,
            "sessionId": session_id,
            "reason": reason,
        },
    )


def _fingerprint(operation: str, request: BaseModel | dict[str, Any] | None) -> str:
    if isinstance(request, BaseModel):
        payload = request.model_dump(mode="json", by_alias=True)
    else:
        payload = request or {}
    canonical = json.dumps([operation, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _note_text(message: str) -> str:
    text = message.strip()
    if not text or len(text) > NOTE_MAX:
        raise InvalidInput(f"a note is 1 to {NOTE_MAX} characters", details={"field": "message"})
    return text


def _check_key(key: str) -> None:
    if not key or len(key) > IDEMPOTENCY_KEY_MAX:
        raise InvalidInput(
            f"an idempotency key is 1 to {IDEMPOTENCY_KEY_MAX} characters",
            details={"field": "Idempotency-Key"},
        )
