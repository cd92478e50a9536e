"""Sessions: an agent's or a person's working session, its task links and progress notes.

The task<->session link is one fact stored once: linking or unlinking re-reads
both sides (their lists derive from the link) and emits both. A session that
ends gives up its claims.
"""

from ..errors import InvalidInput
from ..events import EventType
from ..ids import SESSION_PREFIX, new_id
from ..models import (
    ENDED_SESSION_STATUSES,
    NOTE_MAX,
    Link,
    ReservationRelease,
    ReservationRequest,
    Session,
    SessionCreate,
    SessionNote,
    SessionPatch,
    SessionReport,
    SessionReported,
    Task,
)
from ..vocabulary import ClaimEnd, ReservationEnd
from . import claims, questions, reservations, updates
from .rules import (
    check_version,
    merged,
    require_project,
    require_same_project,
    require_session,
    require_task,
    touched_session,
    touched_task,
    unique,
)
from .transaction import Write


def create(w: Write, data: SessionCreate) -> Session:
    """Events: ``session:created``, then ``task:updated`` for each linked task."""
    require_project(w.rows, data.project_id)
    task_ids = unique(data.task_ids)
    tasks = [require_task(w.rows, i) for i in task_ids]
    for task in tasks:
        require_same_project(task, data.project_id)
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
    w.rows.save_session(session)
    for task in tasks:
        w.rows.link(task.id, session.id)
    w.emit(EventType.SESSION_CREATED, session.project_id, session)
    before = {task.id: task for task in tasks}  # as they were before the links
    for task in w.rows.get_tasks(task_ids):
        touched = touched_task(task, w.now)
        w.rows.save_task(touched)
        updates.emit_updated(w, touched, before[task.id])
    return session


def update(w: Write, session_id: str, patch: SessionPatch, expected_version: int | None) -> Session:
    """Events: ``session:updated``; a session that ends (completed, failed, stopped)
    also gives up its claims (``task:updated`` then ``task:released`` for each, and
    ``reservation:released`` for the files reserved with them), its other file
    reservations (``reservation:released``) and its open questions
    (``question:cancelled``)."""
    current = require_session(w.rows, session_id)
    check_version(current, expected_version)
    changes = patch.given()
    status = changes.get("status")
    if status is not None and status != current.status:
        ended = status in ENDED_SESSION_STATUSES
        changes["ended_at"] = (current.ended_at or w.now) if ended else None
    updated = merged(current, changes, w.now)
    if updated is current:
        return current
    updated = updated.model_copy(update={"last_activity_at": w.now})
    w.rows.save_session(updated)
    updates.emit_updated(w, updated, current)
    if updated.status in ENDED_SESSION_STATUSES:
        claims.release_all_of(w, session_id, ClaimEnd.SESSION_ENDED)
        reservations.release_of_session(w, session_id, ReservationEnd.SESSION_ENDED)
        questions.cancel_open_of(w, session_id)
    return updated


def delete(w: Write, session_id: str, expected_version: int | None) -> Session:
    """Events: ``question:cancelled`` for each question it left open and
    ``reservation:released`` for each file reservation (they go with it), then
    ``session:deleted``, then ``task:updated`` for each task it had or held a claim on,
    then ``task:released`` for each claim it held."""
    current = require_session(w.rows, session_id)
    check_version(current, expected_version)
    claimed = w.rows.claims_of_session(session_id)
    # As they are before: their updates say what the deletion changed.
    before = {task.id: task for task in w.rows.get_tasks([*current.task_ids, *claimed])}
    questions.cancel_open_of(w, session_id)
    reservations.release_of_session(w, session_id, ReservationEnd.SESSION_DELETED)
    w.rows.delete_session(session_id)  # its questions (and their answers) with it
    w.emit(
        EventType.SESSION_DELETED,
        current.project_id,
        {"id": session_id, "projectId": current.project_id},
    )
    reasons = {
        task.id: claims.drop(w, task, ClaimEnd.SESSION_DELETED)
        for task in w.rows.get_tasks(claimed)
    }
    for task in w.rows.get_tasks([*current.task_ids, *claimed]):
        touched = touched_task(task, w.now)
        w.rows.save_task(touched)
        updates.emit_updated(w, touched, before[task.id])
    for task in w.rows.get_tasks(claimed):
        claims.emit_released(w, task, session_id, reasons[task.id])
    return current


def add_task(w: Write, session_id: str, task_id: str) -> Link:
    """Link a task to a session; an already linked pair changes nothing.

    Events: ``session:updated``, ``task:updated``, ``session:task_added``.
    """
    session = require_session(w.rows, session_id)
    task = require_task(w.rows, task_id)
    require_same_project(task, session.project_id)
    if not w.rows.link(task_id, session_id):
        return Link(session=session, task=task, changed=False)
    return _relinked(w, session, task, EventType.SESSION_TASK_ADDED)


def remove_task(w: Write, session_id: str, task_id: str) -> Link:
    """Unlink a task from a session; a pair that is not linked changes nothing.

    Events: ``session:updated``, ``task:updated``, ``session:task_removed``.
    """
    session = require_session(w.rows, session_id)
    task = require_task(w.rows, task_id)
    claim = task.claim
    if claim is not None and claim.session_id == session_id and claim.expires_at > w.now:
        raise InvalidInput(
            f"session {session_id} holds a claim on task {task_id}: release the claim "
            "first (a claimed task stays among its session's tasks)",
            {"taskId": task_id},
        )
    if not w.rows.unlink(task_id, session_id):
        return Link(session=session, task=task, changed=False)
    return _relinked(w, session, task, EventType.SESSION_TASK_REMOVED)


def add_note(w: Write, session_id: str, message: str) -> SessionNote:
    """Append a progress note to a session's log.

    Events: ``session:updated`` (its lastActivityAt moved), then
    ``session:note_added {sessionId, projectId, note}``.
    """
    session = require_session(w.rows, session_id)
    note = w.rows.add_note(session_id, note_text(message), w.now)
    touched = touched_session(session, w.now)
    w.rows.save_session(touched)
    updates.emit_updated(w, touched, session)
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


def report(
    w: Write, session_id: str, request: SessionReport, expected_version: int | None
) -> SessionReported:
    """An agent reports on its session: status and name, a note, tasks linked and
    unlinked, a question asked, files reserved and released, and a heartbeat that
    renews its claims and reservations, in this order, all or nothing. Returns the
    session, the answers to its questions it was not given yet (given now, once), and
    how many messages it has not read.

    Events: those of ``update``, ``add_note``, ``add_task``/``remove_task`` for each
    link that changed, ``questions.ask``, ``reservations.reserve``/``release``, and
    ``heartbeat``.
    """
    update(w, session_id, request.patch(), expected_version)
    if request.note is not None:
        add_note(w, session_id, request.note)
    for task_id in unique(request.add_tasks):
        add_task(w, session_id, task_id)
    for task_id in unique(request.remove_tasks):
        remove_task(w, session_id, task_id)
    asked = questions.ask(w, session_id, request.ask) if request.ask is not None else None
    if request.reserve:
        wanted = ReservationRequest(paths=request.reserve, shared=request.shared)
        reservations.reserve(w, session_id, wanted)
    if request.release:
        reservations.release(w, session_id, ReservationRelease(paths=request.release))
    claims.heartbeat(w, session_id, None)
    return SessionReported(
        session=require_session(w.rows, session_id),
        answers=questions.deliver(w, session_id),
        unread=w.rows.unread_count(session_id),
        asked=asked,
    )


def note_text(message: str) -> str:
    text = message.strip()
    if not text or len(text) > NOTE_MAX:
        raise InvalidInput(f"a note is 1 to {NOTE_MAX} characters", details={"field": "message"})
    return text


def _relinked(w: Write, session: Session, task: Task, event: EventType) -> Link:
    # Re-read both sides: their link lists derive from the row just written.
    new_session = touched_session(require_session(w.rows, session.id), w.now)
    new_task = touched_task(require_task(w.rows, task.id), w.now)
    w.rows.save_session(new_session)
    w.rows.save_task(new_task)
    updates.emit_updated(w, new_session, session)
    updates.emit_updated(w, new_task, task)
    w.emit(event, session.project_id, {"sessionId": session.id, "taskId": task.id})
    return Link(session=new_session, task=new_task, changed=True)
