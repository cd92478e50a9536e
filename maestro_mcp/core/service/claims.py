"""Claims: a session's exclusive, expiring hold on a task, proven by a token.

A claim is taken on one ready task, or on the next ready ones (most urgent, then
oldest) in one transaction, so two sessions never get the same task. Only the
holder (by token) or an explicit override changes a claimed task's status; the
session's heartbeat renews its leases; a lease that runs out hands the task back.
"""

import hmac
import secrets

from ..errors import ClaimConflict, InvalidInput, NotReady
from ..events import EventType
from ..ids import CLAIM_TOKEN_PREFIX
from ..models import (
    ENDED_SESSION_STATUSES,
    ClaimGrant,
    ClaimNextRequest,
    ClaimRequest,
    Heartbeat,
    ReleaseRequest,
    Session,
    Task,
    TaskStatus,
)
from ..storage import Rows
from .rules import (
    merged,
    require_session,
    require_task,
    task_times,
    touched_session,
    touched_task,
    unique,
)
from .transaction import Write

STATUSES_ENDING_A_CLAIM = frozenset(
    {TaskStatus.COMPLETED, TaskStatus.CANCELLED, TaskStatus.PENDING}
)


def claim(w: Write, task_id: str, request: ClaimRequest) -> ClaimGrant:
    """Events: ``task:updated`` (claim set, pending -> in_progress), ``task:claimed``."""
    task = require_task(w.rows, task_id)
    session = _claiming_session(w.rows, request.session_id, task.project_id)
    expire(w, w.rows.expired_claims(w.now, task.project_id))
    task = require_task(w.rows, task_id)
    _require_ready(w.rows, task, w.now)
    return _grant(w, task, session, request.lease_seconds * 1000)


def claim_next(w: Write, session_id: str, request: ClaimNextRequest) -> list[ClaimGrant]:
    """Up to ``count`` ready tasks of the session's project, most urgent first, then oldest."""
    session = require_session(w.rows, session_id)
    session = _claiming_session(w.rows, session_id, session.project_id)
    expire(w, w.rows.expired_claims(w.now, session.project_id))
    ready = w.rows.next_ready(
        session.project_id, w.now, request.count, unique(request.labels), request.parent_id
    )
    return [_grant(w, task, session, request.lease_seconds * 1000) for task in ready]


def release(w: Write, task_id: str, request: ReleaseRequest) -> Task:
    """Give a claim up: its holder (by token) or a human (``override``). Releasing a task
    nobody holds changes nothing. Events: ``task:updated``, ``task:released``."""
    task = require_task(w.rows, task_id)
    if task.claim is None:
        return task
    if task.claim.expires_at <= w.now:
        return _release(w, task, "expired")  # it was nobody's any more
    if not request.override:
        check_holder(w.rows, task, request.claim_token, w.now)
    return _release(w, task, "override" if request.override else "released")


def heartbeat(w: Write, session_id: str, lease_seconds: int | None) -> Heartbeat:
    """A session is alive: renew every claim it holds (by its own lease, or the one given).

    Events: ``session:updated`` (lastActivityAt), ``task:updated`` per renewed claim.
    A claim that already expired is not renewed: the task may be someone else's now.
    """
    session = require_session(w.rows, session_id)
    touched = touched_session(session, w.now)
    w.rows.save_session(touched)
    w.emit(EventType.SESSION_UPDATED, touched.project_id, touched)
    renewed: list[Task] = []
    if session.status in ENDED_SESSION_STATUSES:
        return Heartbeat(session=touched, renewed=renewed)  # an ended session holds none
    for task in w.rows.get_tasks(w.rows.claims_of_session(session_id)):
        assert task.claim is not None
        if task.claim.expires_at <= w.now:
            continue
        token, lease_ms = w.rows.claim_secret(task.id)
        lease_ms = lease_seconds * 1000 if lease_seconds is not None else (lease_ms or 0)
        assert token is not None
        w.rows.set_claim(
            task.id,
            session_id=session_id,
            token=token,
            claimed_at=task.claim.claimed_at,
            expires_at=w.now + lease_ms,
            lease_ms=lease_ms,
        )
        fresh = touched_task(require_task(w.rows, task.id), w.now)
        w.rows.save_task(fresh)
        w.emit(EventType.TASK_UPDATED, fresh.project_id, fresh)
        renewed.append(fresh)
    return Heartbeat(session=touched, renewed=renewed)


def expire(w: Write, task_ids: list[str]) -> None:
    """Release these claims, whose leases ran out. Per task: ``task:updated``,
    ``task:released {reason: "expired"}``."""
    for task in w.rows.get_tasks(task_ids):
        _release(w, task, "expired")


def release_all_of(w: Write, session_id: str, reason: str) -> None:
    """Release every claim a session holds (it ended)."""
    for task in w.rows.get_tasks(w.rows.claims_of_session(session_id)):
        _release(w, task, reason)


def drop(w: Write, task_id: str) -> None:
    """Clear a claim; work in progress goes back to pending, ready for someone else."""
    w.rows.clear_claim(task_id)
    task = require_task(w.rows, task_id)
    if task.status is TaskStatus.IN_PROGRESS:
        started, completed = task_times(
            task.started_at, task.completed_at, TaskStatus.PENDING, w.now
        )
        w.rows.save_task(
            task.model_copy(
                update={
                    "status": TaskStatus.PENDING,
                    "started_at": started,
                    "completed_at": completed,
                }
            )
        )


def check_holder(rows: Rows, task: Task, token: str | None, now: int) -> None:
    """Refuse unless ``token`` proves the live claim on ``task`` (no live claim: allowed)."""
    if task.claim is None or task.claim.expires_at <= now:
        return
    held, _ = rows.claim_secret(task.id)
    # Bytes: compare_digest refuses str with non-ASCII characters (a 500, not a refusal).
    if token is None or held is None or not hmac.compare_digest(token.encode(), held.encode()):
        raise ClaimConflict(
            f"task {task.id} is claimed by session {task.claim.session_id}; "
            + ("that claim token is not the current one" if token else "pass its claim token")
            + ", or override the claim explicitly",
            {"claim": task.claim.model_dump(mode="json", by_alias=True)},
        )


def emit_released(w: Write, task: Task, session_id: str, reason: str) -> None:
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


def _claiming_session(rows: Rows, session_id: str, project_id: str) -> Session:
    session = require_session(rows, session_id)
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


def _require_ready(rows: Rows, task: Task, now: int) -> None:
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
    waiting = [d.id for d in rows.get_tasks(task.depends_on) if d.status != TaskStatus.COMPLETED]
    if waiting:
        raise NotReady(
            f"task {task.id} waits for {', '.join(waiting)} to be completed",
            {"waitingFor": waiting},
        )


def _grant(w: Write, task: Task, session: Session, lease_ms: int) -> ClaimGrant:
    token = CLAIM_TOKEN_PREFIX + secrets.token_hex(16)
    started, completed = task_times(
        task.started_at, task.completed_at, TaskStatus.IN_PROGRESS, w.now
    )
    working = merged(
        task,
        {"status": TaskStatus.IN_PROGRESS, "started_at": started, "completed_at": completed},
        w.now,
    )
    if working is task:  # already in progress: the claim itself is the change
        working = touched_task(task, w.now)
    w.rows.save_task(working)
    w.rows.set_claim(
        task.id,
        session_id=session.id,
        token=token,
        claimed_at=w.now,
        expires_at=w.now + lease_ms,
        lease_ms=lease_ms,
    )
    claimed = require_task(w.rows, task.id)
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


def _release(w: Write, task: Task, reason: str) -> Task:
    assert task.claim is not None
    drop(w, task.id)
    released = touched_task(require_task(w.rows, task.id), w.now)
    w.rows.save_task(released)
    w.emit(EventType.TASK_UPDATED, released.project_id, released)
    emit_released(w, released, task.claim.session_id, reason)
    return released
