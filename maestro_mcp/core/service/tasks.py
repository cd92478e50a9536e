"""Tasks: create, update (fields, status, dependencies, nesting), delete with sub-tasks."""

from ..errors import InvalidInput, MaestroError, NotReady
from ..events import EventType
from ..ids import TASK_PREFIX, new_id
from ..models import Task, TaskBatch, TaskCreate, TaskPatch, TaskStatus
from ..storage import Rows
from ..vocabulary import ClaimEnd, ReservationEnd
from . import claims, reservations, updates
from .rules import (
    check_version,
    merged,
    require_project,
    require_task,
    task_times,
    touched_session,
    touched_task,
    unique,
)
from .transaction import Write

_NEEDS_DEPENDENCIES_MET = frozenset({TaskStatus.IN_PROGRESS, TaskStatus.COMPLETED})


def create(w: Write, data: TaskCreate) -> Task:
    require_project(w.rows, data.project_id)
    if data.parent_id is not None:
        _require_parent(w.rows, data.parent_id, data.project_id)
    depends_on = _valid_dependencies(w.rows, data.depends_on, data.project_id, None)
    started, completed = task_times(None, None, data.status, w.now)
    task = Task(
        id=new_id(TASK_PREFIX),
        project_id=data.project_id,
        parent_id=data.parent_id,
        title=data.title,
        description=data.description,
        prompt=data.prompt,
        status=data.status,
        priority=data.priority,
        labels=unique(data.labels),
        depends_on=depends_on,
        created_at=w.now,
        updated_at=w.now,
        started_at=started,
        completed_at=completed,
        version=1,
    )
    _require_dependencies_met(w.rows, task)
    w.rows.save_task(task)
    w.rows.set_dependencies(task.id, depends_on)
    w.emit(EventType.TASK_CREATED, task.project_id, task)
    return task


def create_batch(w: Write, batch: TaskBatch) -> list[Task]:
    """Create a batch's tasks in order (events ``task:created`` in that order), each able
    to name the earlier ones by their ``ref``; any task refused refuses the batch."""
    require_project(w.rows, batch.project_id)
    refs = [draft.ref for draft in batch.tasks if draft.ref is not None]
    for ref in refs:
        if refs.count(ref) > 1:
            raise InvalidInput(f"ref {ref!r} is used twice in the batch", {"field": "tasks"})
        if ref.startswith(TASK_PREFIX):
            raise InvalidInput(
                f"ref {ref!r} looks like a task id: a ref is the batch's own name for a task",
                {"field": "tasks"},
            )
    ids: dict[str, str] = {}  # ref -> the id its task got
    created: list[Task] = []
    for number, draft in enumerate(batch.tasks, start=1):
        where = f"task {number} of the batch"
        parent_id = draft.parent_id
        data = TaskCreate(
            project_id=batch.project_id,
            parent_id=None
            if parent_id is None
            else _in_batch(parent_id, ids, refs, f"{where}: parentId", draft.ref),
            title=draft.title,
            description=draft.description,
            prompt=draft.prompt,
            priority=draft.priority,
            labels=draft.labels,
            depends_on=[
                _in_batch(d, ids, refs, f"{where}: dependsOn", draft.ref) for d in draft.depends_on
            ],
        )
        try:
            task = create(w, data)
        except MaestroError as exc:
            exc.message = f"task {number} of the batch (“{draft.title}”): {exc.message}"
            exc.args = (exc.message,)
            raise
        if draft.ref is not None:
            ids[draft.ref] = task.id
        created.append(task)
    return created


def _in_batch(value: str, ids: dict[str, str], refs: list[str], where: str, own: str | None) -> str:
    """A task id as given, or the id of the earlier task of the batch that ``value`` names."""
    if value in ids:
        return ids[value]
    if value == own:
        raise InvalidInput(f"{where} names its own ref {value!r}", {"field": where})
    if value in refs:
        raise InvalidInput(
            f"{where} names {value!r}, a task later in the batch: list each task after the "
            "tasks it depends on or sits under",
            {"field": where},
        )
    if not value.startswith(TASK_PREFIX):
        known = ", ".join(repr(r) for r in ids) or "none yet"
        raise InvalidInput(
            f"{where} names {value!r}, which is neither the ref of an earlier task of the "
            f"batch (refs so far: {known}) nor a task id ({TASK_PREFIX}…)",
            {"field": where},
        )
    return value


def update(
    w: Write,
    task_id: str,
    patch: TaskPatch,
    *,
    expected_version: int | None,
    claim_token: str | None,
    override: bool,
) -> Task:
    """Merge the given fields into a task.

    A claim token that is passed is always checked (claims.check_token), and while a
    session holds a live claim only that token changes the task's status. A task
    whose dependencies are not all completed cannot become in progress or completed.
    A person who says so (``override``) passes both rules. A retry of a change its
    holder already made (the same status, after its claim ended with it) is answered
    with the task as it is.

    A status that ends the work (completed, cancelled, pending) releases the claim:
    events ``task:updated``, then ``task:released``.
    """
    current = require_task(w.rows, task_id)
    check_version(current, expected_version)
    changes = patch.given()
    status_changes = "status" in changes and changes["status"] != current.status
    if "depends_on" in changes:
        changes["depends_on"] = _valid_dependencies(
            w.rows, changes["depends_on"], current.project_id, task_id
        )
    if "labels" in changes:
        changes["labels"] = unique(changes["labels"])
    parent_id = changes.get("parent_id")
    if parent_id is not None and parent_id != current.parent_id:
        _require_parent(w.rows, parent_id, current.project_id)
        if parent_id == task_id or task_id in w.rows.ancestor_ids(parent_id):
            raise InvalidInput(
                f"task {parent_id} is {task_id} or one of its sub-tasks; "
                "a task cannot be nested under itself",
                details={"field": "parentId"},
            )
    if status_changes:
        changes["started_at"], changes["completed_at"] = task_times(
            current.started_at, current.completed_at, changes["status"], w.now
        )
    updated = merged(current, changes, w.now)
    if claim_token is not None and not override:
        status = changes.get("status")
        if updated is current and claims.ended_by_its_holder(
            w.rows, current, claim_token, to=None if status is None else status.value
        ):
            return current  # a retry of its holder's own last change: nothing is lost
        claims.check_token(w.rows, current, claim_token, w.now)
    if updated is current:
        return current
    if not override:
        if claim_token is None and status_changes:
            claims.check_token(w.rows, current, None, w.now)
        if status_changes:
            _require_dependencies_met(w.rows, updated)
    w.rows.save_task(updated)
    if "depends_on" in changes:
        w.rows.set_dependencies(task_id, updated.depends_on)
    releases = (
        current.claim is not None
        and status_changes
        and changes["status"] in claims.STATUSES_ENDING_A_CLAIM
    )
    if not releases:
        updates.emit_updated(w, updated, current)
        return updated
    assert current.claim is not None
    by_holder = claim_token is not None and claims.holds(w.rows, current, claim_token)
    reason = ClaimEnd(changes["status"].value)
    if override and not by_holder:
        reason = ClaimEnd.OVERRIDE
    reason = claims.end(w, current, reason)  # (expired, if its lease had run out)
    updated = require_task(w.rows, task_id)
    updates.emit_updated(w, updated, current)
    claims.emit_released(w, updated, current.claim.session_id, reason)
    return updated


def delete(w: Write, task_id: str, expected_version: int | None) -> Task:
    """Delete a task and its sub-tasks, unlinking them from their sessions.

    Events: ``reservation:released`` for each file reservation taken with one of
    them, ``session:updated`` for each session that listed one of them,
    ``task:updated`` for each other task that depended on one of them, then
    ``task:deleted`` for each deleted task, sub-tasks before their parent.
    """
    current = require_task(w.rows, task_id)
    check_version(current, expected_version)
    doomed = w.rows.subtree_ids(task_id)
    session_ids = w.rows.session_ids_of_tasks(doomed)
    gone = set(doomed)  # a subtree may hold thousands: a list's `in` would be quadratic
    dependents = [t for t in w.rows.dependents_of(doomed) if t not in gone]
    # As they are before: their updates say what the deletion changed (taskIds, dependsOn).
    sessions_before = {s.id: s for s in w.rows.get_sessions(session_ids)}
    dependents_before = {t.id: t for t in w.rows.get_tasks(dependents)}
    # Files reserved with a deleted task's claim are released with it (one read of the
    # project's reservations, however many tasks go).
    tied = [r for r in w.rows.list_reservations(project_id=current.project_id) if r.task_id in gone]
    reservations.end(w, tied, ReservationEnd.TASK_DELETED)
    w.rows.delete_tasks(doomed)
    for session in w.rows.get_sessions(session_ids):
        touched = touched_session(session, w.now)
        w.rows.save_session(touched)
        updates.emit_updated(w, touched, sessions_before[session.id])
    # Tasks that waited on a deleted one no longer do.
    for task in w.rows.get_tasks(dependents):
        touched_dependent = touched_task(task, w.now)
        w.rows.save_task(touched_dependent)
        updates.emit_updated(w, touched_dependent, dependents_before[task.id])
    for doomed_id in doomed:
        w.emit(
            EventType.TASK_DELETED,
            current.project_id,
            {"id": doomed_id, "projectId": current.project_id},
        )
    return current


def _require_dependencies_met(rows: Rows, task: Task) -> None:
    """A task starts and completes only once every task it depends on is completed."""
    if task.status not in _NEEDS_DEPENDENCIES_MET:
        return
    waiting = claims.unmet_dependencies(rows, task)
    if waiting:
        raise NotReady(
            f"task {task.id} cannot be {task.status.value}: it waits for "
            f"{', '.join(waiting)} to be completed; complete those first",
            {"waitingFor": waiting},
        )


def _require_parent(rows: Rows, parent_id: str, project_id: str) -> None:
    parent = rows.get_task(parent_id)
    if parent is None:
        raise InvalidInput(
            f"parent task {parent_id} not found", details={"field": "parentId", "id": parent_id}
        )
    if parent.project_id != project_id:
        raise InvalidInput(
            f"parent task {parent_id} belongs to project {parent.project_id}, not {project_id}",
            details={"field": "parentId"},
        )


def _valid_dependencies(
    rows: Rows, depends_on: list[str], project_id: str, task_id: str | None
) -> list[str]:
    # Sorted: the order the database gives them back in, so a response, its event and a
    # later GET agree, and sending the same set again is no change.
    wanted = sorted(set(depends_on))
    for dependency_id in wanted:
        dependency = rows.get_task(dependency_id)
        if dependency is None and not dependency_id.startswith(TASK_PREFIX):
            raise InvalidInput(
                f"dependsOn takes task ids ({TASK_PREFIX}…), not titles: {dependency_id!r} is "
                "not one; list the project's tasks to find their ids",
                {"field": "dependsOn", "id": dependency_id},
            )
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
    if task_id is not None and rows.depends_transitively(wanted, task_id):
        raise InvalidInput(
            f"task {task_id} cannot depend on {', '.join(wanted)}: that would make a cycle "
            "(one of them already depends on it, directly or through others)",
            {"field": "dependsOn"},
        )
    return wanted
