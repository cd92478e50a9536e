"""``Service``: the one public front of the domain, one method per operation.

Each write method is one unit of work (transaction.py): a face's one call is one
transaction, whatever it changes. The rules live in the domain modules
(projects, tasks, sessions, claims, changes); this class names the operations,
their idempotency and their result types.
"""

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

from ..errors import InvalidInput, NotFound
from ..models import (
    NOTES_LIMIT_DEFAULT,
    PAGE_LIMIT_DEFAULT,
    ActivityQuery,
    Changes,
    ClaimGrant,
    ClaimNextRequest,
    ClaimRequest,
    ClaimsGranted,
    Heartbeat,
    HeartbeatRequest,
    HistoryQuery,
    Link,
    Message,
    MessageExchange,
    MessageFilter,
    MessageSend,
    MessagesExchanged,
    MessagesRead,
    NewToken,
    PathCheck,
    PathCheckResult,
    Project,
    ProjectCreate,
    ProjectPatch,
    Question,
    QuestionAnswer,
    QuestionAsk,
    QuestionFilter,
    ReleaseRequest,
    Reservation,
    ReservationFilter,
    ReservationRelease,
    ReservationRequest,
    Session,
    SessionCreate,
    SessionFilter,
    SessionNote,
    SessionPatch,
    SessionReport,
    SessionReported,
    Task,
    TaskBatch,
    TaskCreate,
    TaskFilter,
    TaskPatch,
    TokenCreate,
    TokenInfo,
)
from ..storage import Rows, Store, TokenRecord
from ..vocabulary import ENDED_CLAIMS_KEPT_MS
from . import (
    changes,
    claims,
    history,
    messages,
    projects,
    questions,
    reservations,
    sessions,
    tasks,
    tokens,
)
from .history import HistoryPage
from .rules import require_project, require_session, require_task
from .transaction import IDEMPOTENCY_TTL_MS, Result, Transactions, Write

PRUNING = "maestro:pruning"  # the role Store rows lead while they prune


class Overdue(NamedTuple):
    """What the reaper ends: ids of claimed tasks, reservations and questions."""

    claims: list[str]
    reservations: list[str]
    questions: list[str]


class Service:
    def __init__(
        self,
        store: Store,
        *,
        on_commit: Callable[[int], None] | None = None,
        clock: Callable[[], int] | None = None,
        max_write_log_bytes: int | None = None,
    ) -> None:
        self.store = store
        # The store's clock by default: every process on one database agrees on leases.
        # ``max_write_log_bytes``: the most one write may add to the log (None: no bound).
        self._tx = Transactions(store, clock or store.clock, on_commit, max_write_log_bytes)

    @property
    def clock(self) -> Callable[[], int]:
        """Epoch milliseconds; tests replace it to move time."""
        return self._tx.clock

    @clock.setter
    def clock(self, clock: Callable[[], int]) -> None:
        self._tx.clock = clock

    # --- projects -------------------------------------------------------------

    def create_project(
        self, data: ProjectCreate, *, idempotency_key: str | None = None
    ) -> Result[Project]:
        return self._tx.write(
            "project.create",
            partial(projects.create, data=data),
            result_type=Project,
            idempotency_key=idempotency_key,
            request=data,
        )

    def update_project(
        self, project_id: str, patch: ProjectPatch, *, expected_version: int | None = None
    ) -> Result[Project]:
        body = partial(projects.update, project_id=project_id, patch=patch)
        return self._tx.write(
            "project.update", partial(body, expected_version=expected_version), result_type=Project
        )

    def delete_project(
        self, project_id: str, *, expected_version: int | None = None
    ) -> Result[Project]:
        """Delete a project with its tasks and sessions (one ``project:deleted`` event)."""
        body = partial(projects.delete, project_id=project_id, expected_version=expected_version)
        return self._tx.write("project.delete", body, result_type=Project, bounded=False)

    def get_project(self, project_id: str) -> Result[Project]:
        return self._tx.read(partial(require_project, project_id=project_id))

    def list_projects(self) -> Result[list[Project]]:
        return self._tx.read(lambda rows: rows.list_projects())

    def resolve_project(self, ref: str | None) -> Result[Project]:
        """A project by id or by name; with no ref, the only project there is."""
        return self._tx.read(partial(projects.resolve, ref=ref))

    # --- named tokens (core/access.py) ----------------------------------------------

    def create_token(self, data: TokenCreate) -> Result[NewToken]:
        """Never with an idempotency key: its record would keep the secret."""
        body = partial(tokens.create, data=data)
        return self._tx.write("token.create", body, result_type=NewToken)

    def revoke_token(self, name: str) -> Result[TokenInfo]:
        return self._tx.write(
            "token.revoke", partial(tokens.revoke, name=name), result_type=TokenInfo
        )

    def list_tokens(self) -> Result[list[TokenInfo]]:
        return self._tx.read(tokens.listed)

    def any_tokens(self) -> Result[bool]:
        return self._tx.read(lambda rows: rows.any_tokens())

    def token_by_hash(self, secret_hash: str) -> Result[TokenRecord | None]:
        return self._tx.read(lambda rows: rows.token_by_hash(secret_hash))

    # --- tasks ------------------------------------------------------------------

    def create_task(self, data: TaskCreate, *, idempotency_key: str | None = None) -> Result[Task]:
        return self._tx.write(
            "task.create",
            partial(tasks.create, data=data),
            result_type=Task,
            idempotency_key=idempotency_key,
            request=data,
        )

    def create_tasks(
        self, batch: TaskBatch, *, idempotency_key: str | None = None
    ) -> Result[list[Task]]:
        """Plan in one call: the batch's tasks, created in order, all or none."""
        return self._tx.write(
            "task.create_batch",
            partial(tasks.create_batch, batch=batch),
            result_type=list[Task],
            idempotency_key=idempotency_key,
            request=batch,
        )

    def update_task(
        self,
        task_id: str,
        patch: TaskPatch,
        *,
        expected_version: int | None = None,
        claim_token: str | None = None,
        override: bool = False,
        release: bool = False,
    ) -> Result[Task]:
        """Merge the given fields into a task (see tasks.update for the claim rules);
        with ``release``, also give the caller's claim up, in the same transaction."""

        def body(w: Write) -> Task:
            task = tasks.update(
                w,
                task_id,
                patch,
                expected_version=expected_version,
                claim_token=claim_token,
                override=override,
            )
            if release:
                task = claims.release(w, task_id, ReleaseRequest(claim_token=claim_token))
            return task

        return self._tx.write("task.update", body, result_type=Task)

    def delete_task(self, task_id: str, *, expected_version: int | None = None) -> Result[Task]:
        """Delete a task and its sub-tasks (see tasks.delete for the events)."""
        body = partial(tasks.delete, task_id=task_id, expected_version=expected_version)
        return self._tx.write("task.delete", body, result_type=Task, bounded=False)

    def get_task(self, task_id: str) -> Result[Task]:
        return self._tx.read(partial(require_task, task_id=task_id))

    def list_tasks(self, where: TaskFilter | None = None) -> Result[list[Task]]:
        """Tasks in creation order; with ``after``, those created after that task."""
        now = self.clock()
        wanted = where or TaskFilter()

        def body(rows: Rows) -> list[Task]:
            if wanted.after is not None and rows.get_task(wanted.after) is None:
                raise InvalidInput(
                    f"task {wanted.after} (where this page was to start) no longer exists: "
                    "list again from the start",
                    {"field": "after"},
                )
            return rows.list_tasks(wanted, now)

        return self._tx.read(body)

    # --- sessions ---------------------------------------------------------------

    def create_session(
        self, data: SessionCreate, *, idempotency_key: str | None = None
    ) -> Result[Session]:
        return self._tx.write(
            "session.create",
            partial(sessions.create, data=data),
            result_type=Session,
            idempotency_key=idempotency_key,
            request=data,
        )

    def update_session(
        self, session_id: str, patch: SessionPatch, *, expected_version: int | None = None
    ) -> Result[Session]:
        body = partial(
            sessions.update, session_id=session_id, patch=patch, expected_version=expected_version
        )
        return self._tx.write("session.update", body, result_type=Session)

    def report(
        self,
        session_id: str,
        request: SessionReport,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Result[SessionReported]:
        """An agent's report on its session (status, note, links, a question, files
        reserved and released, heartbeat) as one transaction: all of it or, if any part
        fails, nothing; with the answers to its questions not given to it before, and
        its unread messages' count. A retry with the same ``idempotency_key`` returns
        the first result."""
        body = partial(
            sessions.report,
            session_id=session_id,
            request=request,
            expected_version=expected_version,
        )
        return self._tx.write(
            "session.report",
            body,
            result_type=SessionReported,
            idempotency_key=idempotency_key,
            request={"sessionId": session_id, **request.model_dump(mode="json", by_alias=True)},
        )

    def delete_session(
        self, session_id: str, *, expected_version: int | None = None
    ) -> Result[Session]:
        body = partial(sessions.delete, session_id=session_id, expected_version=expected_version)
        return self._tx.write("session.delete", body, result_type=Session, bounded=False)

    def add_task_to_session(
        self, session_id: str, task_id: str, *, idempotency_key: str | None = None
    ) -> Result[Link]:
        return self._tx.write(
            "session.add_task",
            partial(sessions.add_task, session_id=session_id, task_id=task_id),
            result_type=Link,
            idempotency_key=idempotency_key,
            request={"sessionId": session_id, "taskId": task_id},
        )

    def remove_task_from_session(self, session_id: str, task_id: str) -> Result[Link]:
        body = partial(sessions.remove_task, session_id=session_id, task_id=task_id)
        return self._tx.write("session.remove_task", body, result_type=Link)

    def add_session_note(
        self, session_id: str, message: str, *, idempotency_key: str | None = None
    ) -> Result[SessionNote]:
        message = sessions.note_text(message)  # the key's fingerprint is of the stored text
        return self._tx.write(
            "session.add_note",
            partial(sessions.add_note, session_id=session_id, message=message),
            result_type=SessionNote,
            idempotency_key=idempotency_key,
            request={"sessionId": session_id, "message": message},
        )

    def list_session_notes(
        self, session_id: str, *, limit: int = NOTES_LIMIT_DEFAULT
    ) -> Result[list[SessionNote]]:
        def body(rows: Rows) -> list[SessionNote]:
            require_session(rows, session_id)
            return rows.list_notes(session_id, limit)

        return self._tx.read(body)

    def latest_session_notes(self, project_id: str) -> Result[list[SessionNote]]:
        """The newest note of each session of a project that has notes, in the sessions'
        order: what a board shows beside each session, in one read. At most one note per
        session that exists (a deleted session's notes go with it)."""

        def body(rows: Rows) -> list[SessionNote]:
            require_project(rows, project_id)
            return rows.latest_notes(project_id)

        return self._tx.read(body)

    def get_session(self, session_id: str) -> Result[Session]:
        return self._tx.read(partial(require_session, session_id=session_id))

    def list_sessions(self, where: SessionFilter | None = None) -> Result[list[Session]]:
        return self._tx.read(lambda rows: rows.list_sessions(where or SessionFilter()))

    # --- claims ---------------------------------------------------------------------

    def claim_task(
        self, task_id: str, request: ClaimRequest, *, idempotency_key: str | None = None
    ) -> Result[ClaimGrant]:
        """Give a session an exclusive, expiring claim on one ready task."""
        return self._tx.write(
            "task.claim",
            partial(claims.claim, task_id=task_id, request=request),
            result_type=ClaimGrant,
            idempotency_key=idempotency_key,
            request={"taskId": task_id, **request.model_dump(mode="json", by_alias=True)},
        )

    def claim_next(
        self, session_id: str, request: ClaimNextRequest, *, idempotency_key: str | None = None
    ) -> Result[ClaimsGranted]:
        """Atomically claim up to ``count`` ready tasks of the session's project: two
        sessions asking at once never get the same task. None: the counts say why."""
        return self._tx.write(
            "session.claim_next",
            partial(claims.claim_next, session_id=session_id, request=request),
            result_type=ClaimsGranted,
            idempotency_key=idempotency_key,
            request={"sessionId": session_id, **request.model_dump(mode="json", by_alias=True)},
        )

    def release_task(self, task_id: str, request: ReleaseRequest) -> Result[Task]:
        body = partial(claims.release, task_id=task_id, request=request)
        return self._tx.write("task.release", body, result_type=Task)

    def heartbeat(
        self, session_id: str, request: HeartbeatRequest | None = None
    ) -> Result[Heartbeat]:
        lease_s = request.lease_seconds if request is not None else None
        body = partial(claims.heartbeat, session_id=session_id, lease_seconds=lease_s)
        return self._tx.write("session.heartbeat", body, result_type=Heartbeat)

    def overdue(self) -> Result[Overdue]:
        """What ran out and was not ended yet, in one read: claims and file reservations
        whose lease ran out, questions whose deadline passed (the reaper's look)."""
        now = self.clock()

        def body(rows: Rows) -> Overdue:
            return Overdue(
                claims=rows.expired_claims(now),
                reservations=[r.id for r in rows.expired_reservations(now)],
                questions=rows.due_questions(now),
            )

        return self._tx.read(body)

    def expire_claims(self) -> Result[list[str]]:
        """Release every claim whose lease ran out; returns the tasks it released. The
        runtime's reaper looks with ``overdue`` first (most passes find nothing)
        and calls this only then.

        Events per task: ``task:updated``, ``task:released {reason: "expired"}``.
        """

        def body(w: Write) -> list[str]:
            # Another process may have released or renewed some since they were found.
            return claims.expire(w, w.rows.expired_claims(w.now))

        # The reaper's own chore: however many leases ran out, they are all released.
        return self._tx.write("task.expire_claims", body, result_type=list[str], bounded=False)

    # --- messages (messages.py) ----------------------------------------------------------

    def send_message(
        self, data: MessageSend, *, idempotency_key: str | None = None
    ) -> Result[Message]:
        return self._tx.write(
            "message.send",
            partial(messages.send, data=data),
            result_type=Message,
            idempotency_key=idempotency_key,
            request=data,
        )

    def mark_read(self, request: MessagesRead) -> Result[list[Message]]:
        """Mark messages read (acknowledged) by a recipient; again changes nothing."""
        body = partial(messages.mark_read, request=request)
        return self._tx.write("message.read", body, result_type=list[Message])

    def exchange_messages(
        self, session_id: str, request: MessageExchange, *, idempotency_key: str | None = None
    ) -> Result[MessagesExchanged]:
        """A session marks messages read and acknowledged and sends one, as one unit
        (MCP ``message``). A retry with the same ``idempotency_key`` sends nothing more."""
        return self._tx.write(
            "message.exchange",
            partial(messages.exchange, session_id=session_id, request=request),
            result_type=MessagesExchanged,
            idempotency_key=idempotency_key,
            request={"sessionId": session_id, **request.model_dump(mode="json", by_alias=True)},
        )

    def get_message(self, message_id: str) -> Result[Message]:
        def body(rows: Rows) -> Message:
            found = rows.get_message(message_id)
            if found is None:
                raise NotFound(f"message {message_id} not found", {"id": message_id})
            return found

        return self._tx.read(body)

    def list_messages(self, where: MessageFilter) -> Result[list[Message]]:
        return self._tx.read(lambda rows: rows.list_messages(where))

    def unread_count(self, recipient: str, project_id: str | None = None) -> Result[int]:
        """How many messages a recipient has not read (the humans': of one project)."""
        return self._tx.read(lambda rows: rows.unread_count(recipient, project_id))

    # --- questions (questions.py) ---------------------------------------------------------

    def ask(
        self, session_id: str, data: QuestionAsk, *, idempotency_key: str | None = None
    ) -> Result[Question]:
        """A session's question for the people; the session then needs input."""
        return self._tx.write(
            "question.ask",
            partial(questions.ask, session_id=session_id, data=data),
            result_type=Question,
            idempotency_key=idempotency_key,
            request={"sessionId": session_id, **data.model_dump(mode="json", by_alias=True)},
        )

    def answer(
        self,
        question_id: str,
        data: QuestionAnswer,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Result[Question]:
        """A person's answer; the first one wins (``already_answered`` after), but a
        retry with the same ``idempotency_key`` returns its own first result."""
        body = partial(
            questions.answer, question_id=question_id, data=data, expected_version=expected_version
        )
        return self._tx.write(
            "question.answer",
            body,
            result_type=Question,
            idempotency_key=idempotency_key,
            request={"questionId": question_id, **data.model_dump(mode="json", by_alias=True)},
        )

    def get_question(self, question_id: str) -> Result[Question]:
        return self._tx.read(partial(questions.require_question, question_id=question_id))

    def list_questions(self, where: QuestionFilter | None = None) -> Result[list[Question]]:
        return self._tx.read(lambda rows: rows.list_questions(where or QuestionFilter()))

    def expire_questions(self) -> Result[list[str]]:
        """Answer with its default every open question whose deadline passed.
        Events per question: ``question:answered`` (``defaulted``), and
        ``session:updated`` if its session goes back to working."""

        def body(w: Write) -> list[str]:
            return questions.expire(w, w.rows.due_questions(w.now))

        return self._tx.write("question.expire", body, result_type=list[str], bounded=False)

    # --- file reservations (reservations.py) ----------------------------------------------

    def reserve(
        self,
        session_id: str,
        request: ReservationRequest,
        *,
        idempotency_key: str | None = None,
    ) -> Result[list[Reservation]]:
        """Reserve files for a session, all or none (``reservation_conflict``)."""
        return self._tx.write(
            "reservation.reserve",
            partial(reservations.reserve, session_id=session_id, request=request),
            result_type=list[Reservation],
            idempotency_key=idempotency_key,
            request={"sessionId": session_id, **request.model_dump(mode="json", by_alias=True)},
        )

    def release_reservations(
        self, session_id: str, request: ReservationRelease
    ) -> Result[list[Reservation]]:
        body = partial(reservations.release, session_id=session_id, request=request)
        return self._tx.write("reservation.release", body, result_type=list[Reservation])

    def release_reservation(self, reservation_id: str) -> Result[Reservation]:
        """A person releases one reservation, whoever holds it."""
        body = partial(reservations.release_by_id, reservation_id=reservation_id)
        return self._tx.write("reservation.release_one", body, result_type=Reservation)

    def list_reservations(self, where: ReservationFilter) -> Result[list[Reservation]]:
        """Live reservations (lease not run out), in the order they were made."""
        now = self.clock()

        def body(rows: Rows) -> list[Reservation]:
            if where.project_id is None and where.session_id is None:
                raise InvalidInput("say which project or session", {"field": "projectId"})
            return reservations.live(rows, now, where.project_id, where.session_id)

        return self._tx.read(body)

    def check_paths(self, project_id: str, request: PathCheck) -> Result[PathCheckResult]:
        """Which of these files other sessions hold (what the pre-commit guard asks)."""
        now = self.clock()

        def body(rows: Rows) -> PathCheckResult:
            require_project(rows, project_id)
            return reservations.check(rows, now, project_id, request)

        return self._tx.read(body)

    def expire_reservations(self) -> Result[list[str]]:
        """Release every reservation whose lease ran out (``reservation:released``,
        reason ``expired``); returns their ids."""

        def body(w: Write) -> list[str]:
            return reservations.expire(w, w.rows.expired_reservations(w.now))

        return self._tx.write("reservation.expire", body, result_type=list[str], bounded=False)

    # --- the log ----------------------------------------------------------------

    def head(self) -> int:
        return self._tx.read(lambda rows: None).seq

    def changes_since(
        self, since: int, *, project_id: str | None = None, limit: int = PAGE_LIMIT_DEFAULT
    ) -> Result[Changes]:
        """Up to ``limit`` events after ``since`` (of one project, if given)."""
        return self._tx.read(
            partial(changes.since, after=since, project_id=project_id, limit=limit)
        )

    def task_history(self, task_id: str, query: HistoryQuery | None = None) -> Result[HistoryPage]:
        """The events about a task, newest first, a page at a time (history.py)."""
        return self._tx.read(
            partial(history.of_task, task_id=task_id, query=query or HistoryQuery())
        )

    def project_activity(
        self, project_id: str, query: ActivityQuery | None = None
    ) -> Result[HistoryPage]:
        """A project's events, newest first, a page at a time; only those about one
        session, or about the sessions of one agent, if the query says so (history.py)."""
        body = partial(history.of_project, project_id=project_id, query=query or ActivityQuery())
        return self._tx.read(body)

    def prunable(
        self, *, keep_events: int, keep_bytes: int | None = None, max_age_ms: int | None = None
    ) -> Result[int]:
        """The newest seq the log's retention lets go (0: none), a read: the log keeps
        its newest ``keep_events`` events, at most ``keep_bytes`` of them (their stored
        envelopes) and none older than ``max_age_ms``, and always its newest event."""
        before = self.clock() - max_age_ms if max_age_ms else None
        return self._tx.read(
            lambda rows: rows.prunable(keep_events, max_bytes=keep_bytes or None, before=before)
        )

    def prune(
        self,
        *,
        keep_events: int,
        keep_bytes: int | None = None,
        max_age_ms: int | None = None,
        through: int | None = None,
    ) -> tuple[int, int]:
        """Apply the retention policy: the log as ``prunable`` says (``through``: its
        answer, found in an earlier read; else found here), and one day of idempotency
        records. Returns (events deleted, records deleted). One instance prunes at a
        time: one that finds another pruning leaves it be."""
        if through is None:
            through = self.prunable(
                keep_events=keep_events, keep_bytes=keep_bytes, max_age_ms=max_age_ms
            ).value
        with self.store.write() as rows:
            if not rows.lead(PRUNING):
                return 0, 0
            deleted_events = rows.prune_events(through) if through else 0
            now = self.clock()
            deleted_records = rows.prune_idempotency(now - IDEMPOTENCY_TTL_MS)
            rows.prune_ended_claims(now - ENDED_CLAIMS_KEPT_MS)
        return deleted_events, deleted_records
