"""Claims: a session's exclusive, expiring hold on a task, proven by a token.

The rules (docs/protocol.md "Coordination"):
- A claim is taken on one ready task, or on the next ready ones (most urgent, then
  oldest) in one transaction, so two sessions never get the same task.
- Claiming links the task to the session. A session that claims a task it already
  holds gets its claim back: the same token, the lease renewed.
- The token is a fencing token: a token that is presented is always checked. One that
  no longer holds the task (its lease expired, it was released or overridden, the task
  was claimed again) is refused with ``claim_lost``, saying what happened and when,
  even when nobody holds the task now. Without a token, only a person who says so
  (``override``) changes a claimed task's status.
- The session's heartbeat renews its leases; a lease that runs out hands the task back.
"""

import hmac
import secrets

from ..clock import iso
from ..errors import ClaimConflict, ClaimLost, InvalidInput, NotReady
from ..events import EventType
from ..ids import CLAIM_TOKEN_PREFIX
from ..models import (
    ENDED_SESSION_STATUSES,
    ClaimGrant,
    ClaimNextRequest,
    ClaimRequest,
    ClaimsGranted,
    Heartbeat,
    NothingReady,
    ReleaseRequest,
    Session,
    Task,
    TaskStatus,
)
from ..storage import ClaimOutlook, EndedClaim, Rows
from ..vocabulary import ClaimEnd, ReservationEnd
from . import reservations, updates
from .rules import (
    merged,
    require_active_session,
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
# How a claim ends by its holder's own act (the others happen to it).
HOLDER_ENDS = frozenset(
    {ClaimEnd.RELEASED, ClaimEnd.COMPLETED, ClaimEnd.CANCELLED, ClaimEnd.PENDING}
)
BLOCKERS_SHOWN = 3

_HOW_IT_ENDED = {
    ClaimEnd.RELEASED: "it was released",
    ClaimEnd.OVERRIDE: "a person overrode it",
    ClaimEnd.EXPIRED: "its lease expired",
    ClaimEnd.COMPLETED: "the task was completed",
    ClaimEnd.CANCELLED: "the task was cancelled",
    ClaimEnd.PENDING: "the task was set back to pending",
    ClaimEnd.SESSION_ENDED: "its session ended",
    ClaimEnd.SESSION_DELETED: "its session was deleted",
}


def claim(w: Write, task_id: str, request: ClaimRequest) -> ClaimGrant:
    """Events: ``session:updated`` and ``session:task_added`` when the claim links the
    task, ``task:updated`` (claim set, pending -> in_progress), ``task:claimed``."""
    task = require_task(w.rows, task_id)
    session = _claiming_session(w.rows, request.session_id, task.project_id)
    expire(w, w.rows.expired_claims(w.now, task.project_id))
    task = require_task(w.rows, task_id)
    lease_ms = request.lease_seconds * 1000
    if task.claim is not None and task.claim.session_id == session.id:
        grant = _renew(w, task, session, lease_ms)  # its own claim, given back
    else:
        _require_ready(w.rows, task, w.now)
        grant, session = _grant(w, task, session, lease_ms)
    _reserve_with(w, session, request.paths, request.shared, lease_ms, task.id)
    return grant


def claim_next(w: Write, session_id: str, request: ClaimNextRequest) -> ClaimsGranted:
    """Up to ``count`` ready tasks of the session's project, most urgent first, then
    oldest; none, with the counts that say why."""
    session = require_session(w.rows, session_id)
    session = _claiming_session(w.rows, session_id, session.project_id)
    expire(w, w.rows.expired_claims(w.now, session.project_id))
    labels = unique(request.labels)
    ready = w.rows.next_ready(session.project_id, w.now, request.count, labels, request.parent_id)
    lease_ms = request.lease_seconds * 1000
    grants = []
    for task in ready:
        grant, session = _grant(w, task, session, lease_ms)
        grants.append(grant)
    if grants:
        # Tied to the task when there is one: released with its claim.
        tied = grants[0].task.id if len(grants) == 1 else None
        _reserve_with(w, session, request.paths, request.shared, lease_ms, tied)
        return ClaimsGranted(claims=grants)
    outlook = w.rows.claim_outlook(
        session.project_id, session.id, w.now, labels, request.parent_id, BLOCKERS_SHOWN + 1
    )
    return ClaimsGranted(claims=[], nothing_ready=_nothing_ready(w.rows, outlook))


def release(w: Write, task_id: str, request: ReleaseRequest) -> Task:
    """Give a claim up: its holder (by token) or a person (``override``). Releasing a
    task nobody holds changes nothing. Events: ``task:updated``, ``task:released``."""
    task = require_task(w.rows, task_id)
    token = request.claim_token
    if token is not None and not request.override:
        if holds(w.rows, task, token):
            return _release(w, task, ClaimEnd.RELEASED)  # (as expired, if it had)
        if ended_by_its_holder(w.rows, task, token):
            return task  # given up already, by the same token: nothing more to do
        check_token(w.rows, task, token, w.now)  # refuses: lost, or someone else's
    if task.claim is None:
        return task
    if task.claim.expires_at <= w.now:
        return _release(w, task, ClaimEnd.EXPIRED)  # it was nobody's any more
    if not request.override:
        check_token(w.rows, task, token, w.now)
    return _release(w, task, ClaimEnd.OVERRIDE if request.override else ClaimEnd.RELEASED)


def heartbeat(w: Write, session_id: str, lease_seconds: int | None) -> Heartbeat:
    """A session is alive: renew every claim it holds (by its own lease, or the one given).

    Events: ``session:updated`` (lastActivityAt), one ``reservation:renewed`` for the
    session's file reservations (reservations.renew), ``task:updated`` per renewed claim.
    A claim that already expired is not renewed: the task may be someone else's now.
    """
    session = require_session(w.rows, session_id)
    touched = touched_session(session, w.now)
    w.rows.save_session(touched)
    updates.emit_updated(w, touched, session)
    renewed: list[Task] = []
    if session.status in ENDED_SESSION_STATUSES:
        return Heartbeat(session=touched, renewed=renewed)  # an ended session holds none
    reservations.renew(w, session_id)
    for task in w.rows.get_tasks(w.rows.claims_of_session(session_id)):
        assert task.claim is not None
        if task.claim.expires_at <= w.now:
            continue
        _, lease_ms = w.rows.claim_secret(task.id)
        lease_ms = lease_seconds * 1000 if lease_seconds is not None else (lease_ms or 0)
        renewed.append(_extend(w, task, lease_ms))
    return Heartbeat(session=touched, renewed=renewed)


def expire(w: Write, task_ids: list[str]) -> list[str]:
    """Release these claims, whose leases ran out; returns the tasks released. Per task:
    ``task:updated``, ``task:released {reason: "expired"}``. Each is checked again here,
    in the write: another process may have renewed or ended it since it was found."""
    released = []
    for task in w.rows.get_tasks(task_ids):
        if task.claim is not None and task.claim.expires_at <= w.now:
            _release(w, task, ClaimEnd.EXPIRED)
            released.append(task.id)
    return released


def release_all_of(w: Write, session_id: str, reason: ClaimEnd) -> None:
    """Release every claim a session holds (it ended)."""
    for task in w.rows.get_tasks(w.rows.claims_of_session(session_id)):
        _release(w, task, reason)


def end(w: Write, task: Task, reason: ClaimEnd) -> ClaimEnd:
    """The claim on ``task`` ends: remember how (for its token's holder), then clear it;
    returns how it ended. A lease that ran out ended the claim then, when its lease did,
    whatever ends it now. The task's own fields are the caller's business."""
    assert task.claim is not None
    if task.claim.expires_at <= w.now:
        reason = ClaimEnd.EXPIRED
    token, _ = w.rows.claim_secret(task.id)
    if token is not None:
        ended_at = task.claim.expires_at if reason is ClaimEnd.EXPIRED else w.now
        w.rows.record_ended_claim(
            EndedClaim(token, task.id, task.claim.session_id, ended_at, reason.value)
        )
    w.rows.clear_claim(task.id)
    # The files its holder reserved with the claim go with it.
    reservations.release_of_task(w, task.id, task.claim.session_id, ReservationEnd.CLAIM_ENDED)
    return reason


def drop(w: Write, task: Task, reason: ClaimEnd) -> ClaimEnd:
    """End a claim; work in progress goes back to pending, ready for someone else.
    Returns how it ended (see ``end``)."""
    reason = end(w, task, reason)
    current = require_task(w.rows, task.id)
    if current.status is TaskStatus.IN_PROGRESS:
        started, completed = task_times(
            current.started_at, current.completed_at, TaskStatus.PENDING, w.now
        )
        w.rows.save_task(
            current.model_copy(
                update={
                    "status": TaskStatus.PENDING,
                    "started_at": started,
                    "completed_at": completed,
                }
            )
        )
    return reason


def holds(rows: Rows, task: Task, token: str) -> bool:
    """Whether ``token`` is the one of the claim on ``task`` (live or run out)."""
    held, _ = rows.claim_secret(task.id)
    # Bytes: compare_digest refuses str with non-ASCII characters (a 500, not a refusal).
    return held is not None and hmac.compare_digest(token.encode(), held.encode())


def ended_by_its_holder(rows: Rows, task: Task, token: str, *, to: str | None = None) -> bool:
    """Whether ``token``'s claim on ``task`` ended by its holder's own act (released, or
    the status it set; that status, if ``to`` is given): a retry of it loses nothing."""
    ended = rows.ended_claim(token)
    if ended is None or ended.task_id != task.id or ended.reason not in HOLDER_ENDS:
        return False
    return to is None or ended.reason in (to, ClaimEnd.RELEASED)


def check_token(rows: Rows, task: Task, token: str | None, now: int) -> None:
    """Refuse unless ``token`` proves the live claim on ``task``. Without a token, refuse
    only while another session's claim is live (nobody's claim: anyone may act)."""
    live = task.claim is not None and task.claim.expires_at > now
    if token is None:
        if live:
            raise _held_by_another(task, "; pass its claim token to change its status")
        return
    if holds(rows, task, token):
        if live:
            return
        assert task.claim is not None
        raise ClaimLost(
            f"your claim on task {task.id} ended at {iso(task.claim.expires_at)}: its lease "
            "expired; claim the task again to go on",
            {"reason": ClaimEnd.EXPIRED.value, "endedAt": task.claim.expires_at},
        )
    ended = rows.ended_claim(token)
    if ended is not None and ended.task_id == task.id:
        now_held = (
            f"; session {task.claim.session_id} holds it now"
            if live and task.claim is not None
            else ""
        )
        reason = ClaimEnd(ended.reason)
        next_step = (
            "nothing is left to do on it"
            if reason in (ClaimEnd.COMPLETED, ClaimEnd.CANCELLED)
            else "claim the task again to go on"
        )
        raise ClaimLost(
            f"your claim on task {task.id} ended at {iso(ended.ended_at)}: "
            f"{_HOW_IT_ENDED[reason]}{now_held}; {next_step}",
            {"reason": ended.reason, "endedAt": ended.ended_at},
        )
    if live:
        raise _held_by_another(task, "; that claim token is not the current one")
    raise ClaimLost(
        f"that claim token does not hold task {task.id}, which nobody holds now; "
        "claim the task to work on it"
    )


def emit_released(w: Write, task: Task, session_id: str, reason: ClaimEnd) -> None:
    w.emit(
        EventType.TASK_RELEASED,
        task.project_id,
        {
            "taskId": task.id,
            "projectId": task.project_id,
            "sessionId": session_id,
            "reason": reason.value,
        },
    )


def unmet_dependencies(rows: Rows, task: Task) -> list[str]:
    """The tasks ``task`` depends on that are not completed yet."""
    return [d.id for d in rows.get_tasks(task.depends_on) if d.status != TaskStatus.COMPLETED]


def _claiming_session(rows: Rows, session_id: str, project_id: str) -> Session:
    session = require_active_session(rows, session_id, "claim")
    if session.project_id != project_id:
        raise InvalidInput(
            f"session {session_id} belongs to project {session.project_id}, not {project_id}",
            {"field": "sessionId"},
        )
    return session


def _held_by_another(task: Task, what_to_do: str = "") -> ClaimConflict:
    """The refusal of a task a live claim holds: who, until when, and what to do."""
    assert task.claim is not None
    return ClaimConflict(
        f"task {task.id} is claimed by session {task.claim.session_id} until "
        f"{iso(task.claim.expires_at)}{what_to_do}",
        {"claim": task.claim.model_dump(mode="json", by_alias=True)},
    )


def _require_ready(rows: Rows, task: Task, now: int) -> None:
    if task.claim is not None and task.claim.expires_at > now:
        raise _held_by_another(task)
    if task.status is not TaskStatus.PENDING:
        raise NotReady(
            f"task {task.id} is {task.status.value}, not pending", {"status": task.status.value}
        )
    waiting = unmet_dependencies(rows, task)
    if waiting:
        raise NotReady(
            f"task {task.id} waits for {', '.join(waiting)} to be completed",
            {"waitingFor": waiting},
        )


def _grant(w: Write, task: Task, session: Session, lease_ms: int) -> tuple[ClaimGrant, Session]:
    """Claim ``task`` for ``session`` (as it is now) and link them; returns the claim and
    the session as it is then."""
    token = CLAIM_TOKEN_PREFIX + secrets.token_hex(16)
    claimed_at = w.now
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
        claimed_at=claimed_at,
        expires_at=w.now + lease_ms,
        lease_ms=lease_ms,
    )
    linked = w.rows.link(task.id, session.id)
    holder = session
    if linked:
        holder = touched_session(require_session(w.rows, session.id), w.now)
        w.rows.save_session(holder)
        updates.emit_updated(w, holder, session)
    claimed = require_task(w.rows, task.id)
    updates.emit_updated(w, claimed, task)
    if linked:
        w.emit(
            EventType.SESSION_TASK_ADDED,
            claimed.project_id,
            {"sessionId": session.id, "taskId": claimed.id},
        )
    _emit_claimed(w, claimed, session.id, w.now + lease_ms)
    return ClaimGrant(task=claimed, claim_token=token, expires_at=w.now + lease_ms), holder


def _renew(w: Write, task: Task, session: Session, lease_ms: int) -> ClaimGrant:
    """A session claims a task it holds: the same claim back, its lease renewed (never
    shortened), its status left as its holder set it."""
    token, held_lease_ms = w.rows.claim_secret(task.id)
    assert token is not None
    lease_ms = max(lease_ms, held_lease_ms or 0)
    renewed = _extend(w, task, lease_ms)
    _emit_claimed(w, renewed, session.id, w.now + lease_ms)
    return ClaimGrant(task=renewed, claim_token=token, expires_at=w.now + lease_ms)


def _extend(w: Write, task: Task, lease_ms: int) -> Task:
    """The live claim on ``task`` runs ``lease_ms`` from now (same holder, same token).
    Events: ``task:updated``."""
    assert task.claim is not None
    token, _ = w.rows.claim_secret(task.id)
    assert token is not None
    w.rows.set_claim(
        task.id,
        session_id=task.claim.session_id,
        token=token,
        claimed_at=task.claim.claimed_at,
        expires_at=w.now + lease_ms,
        lease_ms=lease_ms,
    )
    extended = touched_task(require_task(w.rows, task.id), w.now)
    w.rows.save_task(extended)
    updates.emit_updated(w, extended, task)
    return extended


def _emit_claimed(w: Write, task: Task, session_id: str, expires_at: int) -> None:
    w.emit(
        EventType.TASK_CLAIMED,
        task.project_id,
        {
            "taskId": task.id,
            "projectId": task.project_id,
            "sessionId": session_id,
            "expiresAt": expires_at,
        },
    )


def _release(w: Write, task: Task, reason: ClaimEnd) -> Task:
    assert task.claim is not None
    reason = drop(w, task, reason)
    released = touched_task(require_task(w.rows, task.id), w.now)
    w.rows.save_task(released)
    updates.emit_updated(w, released, task)
    emit_released(w, released, task.claim.session_id, reason)
    return released


def _reserve_with(
    w: Write,
    session: Session,
    paths: list[str],
    shared: bool,
    lease_ms: int,
    task_id: str | None,
) -> None:
    """The files a claim reserves, in its transaction: a conflict refuses the claim too."""
    if paths:
        patterns = reservations.normalized(paths)
        reservations.take(
            w, session, patterns, exclusive=not shared, lease_ms=lease_ms, task_id=task_id
        )


def _nothing_ready(rows: Rows, outlook: ClaimOutlook) -> NothingReady:
    parts = []
    if outlook.waiting:
        shown = rows.get_tasks(outlook.blockers[:BLOCKERS_SHOWN])
        named = ", ".join(f"{t.id} (“{t.title}”)" for t in shown)
        more = " and others" if len(outlook.blockers) > BLOCKERS_SHOWN else ""
        waiting = _count(outlook.waiting, "pending task")
        parts.append(f"{waiting} wait{'s' if outlook.waiting == 1 else ''} on {named}{more}")
    if outlook.claimed:
        parts.append(f"{_count(outlook.claimed, 'task')} held by other sessions")
    if not outlook.pending and not outlook.claimed:
        parts.append("no task is pending")
    return NothingReady(
        pending=outlook.pending,
        waiting=outlook.waiting,
        blockers=outlook.blockers[:BLOCKERS_SHOWN],
        claimed=outlook.claimed,
        message="nothing ready to claim: " + "; ".join(parts),
    )


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
