from typing import Any

import pytest

from maestro_mcp.core.errors import (
    IdempotencyKeyReused,
    InvalidInput,
    NameTaken,
    NoProjectYet,
    NotFound,
    VersionConflict,
)
from maestro_mcp.core.models import (
    ProjectCreate,
    ProjectPatch,
    SessionFilter,
    SessionPatch,
    SessionStatus,
    Task,
    TaskCreate,
    TaskFilter,
    TaskPatch,
    TaskPriority,
    TaskStatus,
)
from maestro_mcp.core.service import Service
from tests.support.core import log_after, new_session, new_task
from tests.support.feeds import events_of

# --- projects ----------------------------------------------------------------------------


def test_create_project_writes_entity_and_event(service: Service) -> None:
    result = service.create_project(ProjectCreate(name="  Demo  ", working_dir="/src/demo"))
    project = result.value
    assert project.name == "Demo"
    assert project.version == 1
    assert project.created_at == project.updated_at
    [event] = log_after(service, 0)
    assert event["seq"] == result.seq == 1
    assert event["event"] == "project:created"
    assert event["data"]["workingDir"] == "/src/demo"
    assert service.get_project(project.id).value == project


def test_update_project_merges_and_bumps_version(service: Service, project_id: str) -> None:
    service.update_project(project_id, ProjectPatch(description="first"))
    updated = service.update_project(project_id, ProjectPatch(name="Renamed")).value
    assert (updated.name, updated.description, updated.version) == ("Renamed", "first", 3)


def test_delete_project_removes_its_tasks_and_sessions(service: Service, project_id: str) -> None:
    task = new_task(service, project_id)
    new_session(service, project_id, task.id)
    head = service.head()
    service.delete_project(project_id)
    assert events_of(log_after(service, head)) == ["project:deleted"]
    assert log_after(service, head)[0]["data"] == {"id": project_id, "projectId": project_id}
    assert service.list_tasks().value == []
    assert service.list_sessions().value == []
    with pytest.raises(NotFound):
        service.get_project(project_id)


# --- tasks ---------------------------------------------------------------------------------


def test_create_task_defaults(service: Service, project_id: str) -> None:
    task = new_task(service, project_id, priority=TaskPriority.HIGH)
    assert task.status is TaskStatus.PENDING
    assert task.priority is TaskPriority.HIGH
    assert (task.session_ids, task.session_count, task.version) == ([], 0, 1)
    assert task.started_at is None
    assert task.completed_at is None


def test_create_task_in_unknown_project_is_not_found(service: Service) -> None:
    with pytest.raises(NotFound, match="proj_missing"):
        service.create_task(TaskCreate(project_id="proj_missing", title="x"))


def test_patch_merges_only_given_fields(service: Service, project_id: str) -> None:
    task = new_task(service, project_id, description="keep me")
    service.update_task(task.id, TaskPatch(title="New title"))
    updated = service.update_task(task.id, TaskPatch(priority=TaskPriority.URGENT)).value
    assert updated.title == "New title"
    assert updated.description == "keep me"
    assert updated.priority is TaskPriority.URGENT
    assert updated.version == 3


def test_patch_that_changes_nothing_emits_nothing(service: Service, project_id: str) -> None:
    task = new_task(service, project_id)
    head = service.head()
    result = service.update_task(task.id, TaskPatch(title=task.title))
    assert result.value == task
    assert result.seq == head
    assert log_after(service, head) == []


def test_stale_expected_version_raises_with_current_entity(
    service: Service, project_id: str
) -> None:
    task = new_task(service, project_id)
    service.update_task(task.id, TaskPatch(title="changed by a human"))
    with pytest.raises(VersionConflict) as caught:
        service.update_task(task.id, TaskPatch(status=TaskStatus.COMPLETED), expected_version=1)
    current = caught.value.current
    assert isinstance(current, Task)
    assert current.title == "changed by a human"
    assert caught.value.current.version == 2
    assert service.get_task(task.id).value.status is TaskStatus.PENDING


def test_status_changes_drive_started_and_completed(service: Service, project_id: str) -> None:
    clock = iter(range(1000, 2000, 10))
    service.clock = lambda: next(clock)
    task = new_task(service, project_id)
    started = service.update_task(task.id, TaskPatch(status=TaskStatus.IN_PROGRESS)).value
    assert started.started_at is not None
    assert started.completed_at is None
    review = service.update_task(task.id, TaskPatch(status=TaskStatus.IN_REVIEW)).value
    assert review.started_at == started.started_at
    done = service.update_task(task.id, TaskPatch(status=TaskStatus.COMPLETED)).value
    assert done.started_at == started.started_at
    assert done.completed_at is not None
    assert done.completed_at > started.started_at
    reopened = service.update_task(task.id, TaskPatch(status=TaskStatus.IN_PROGRESS)).value
    assert reopened.completed_at is None
    assert reopened.started_at == started.started_at
    reset = service.update_task(task.id, TaskPatch(status=TaskStatus.PENDING)).value
    assert reset.started_at is None
    assert reset.completed_at is None


def test_task_created_completed_has_completed_at(service: Service, project_id: str) -> None:
    task = new_task(service, project_id, status=TaskStatus.COMPLETED)
    assert task.completed_at == task.created_at


def test_subtasks_and_parent_rules(service: Service, project_id: str) -> None:
    parent = new_task(service, project_id, "parent")
    child = new_task(service, project_id, "child", parent_id=parent.id)
    grandchild = new_task(service, project_id, "grandchild", parent_id=child.id)
    assert service.list_tasks(TaskFilter(parent_id=parent.id)).value == [child]
    with pytest.raises(InvalidInput, match="nested under itself"):
        service.update_task(parent.id, TaskPatch(parent_id=grandchild.id))
    with pytest.raises(InvalidInput, match="nested under itself"):
        service.update_task(parent.id, TaskPatch(parent_id=parent.id))
    other = service.create_project(ProjectCreate(name="Other")).value
    foreign = new_task(service, other.id)
    with pytest.raises(InvalidInput, match="belongs to project"):
        service.update_task(child.id, TaskPatch(parent_id=foreign.id))
    moved = service.update_task(grandchild.id, TaskPatch(parent_id=None)).value
    assert moved.parent_id is None


def test_delete_task_unlinks_sessions_then_deletes(service: Service, project_id: str) -> None:
    task = new_task(service, project_id)
    keep = new_task(service, project_id, "keep")
    s1 = new_session(service, project_id, task.id, keep.id)
    s2 = new_session(service, project_id, task.id)
    head = service.head()
    service.delete_task(task.id)
    log = log_after(service, head)
    assert events_of(log) == ["session:updated", "session:updated", "task:deleted"]
    assert {m["data"]["id"] for m in log[:2]} == {s1.id, s2.id}
    by_id = {m["data"]["id"]: m["data"] for m in log[:2]}
    assert by_id[s1.id]["taskIds"] == [keep.id]
    assert by_id[s2.id]["taskIds"] == []
    assert log[2]["data"] == {"id": task.id, "projectId": project_id}
    assert service.get_session(s1.id).value.task_ids == [keep.id]


def test_delete_task_deletes_subtasks_deepest_first(service: Service, project_id: str) -> None:
    parent = new_task(service, project_id, "parent")
    child = new_task(service, project_id, "child", parent_id=parent.id)
    grandchild = new_task(service, project_id, "grandchild", parent_id=child.id)
    head = service.head()
    service.delete_task(parent.id)
    deleted = [m["data"]["id"] for m in log_after(service, head)]
    assert deleted == [grandchild.id, child.id, parent.id]
    assert service.list_tasks().value == []


def test_list_tasks_filters(service: Service, project_id: str) -> None:
    a = new_task(service, project_id, "a")
    b = new_task(service, project_id, "b", status=TaskStatus.BLOCKED)
    session = new_session(service, project_id, b.id)
    other = service.create_project(ProjectCreate(name="Other")).value
    new_task(service, other.id, "elsewhere")
    assert [t.id for t in service.list_tasks(TaskFilter(project_id=project_id)).value] == [
        a.id,
        b.id,
    ]
    assert [t.id for t in service.list_tasks(TaskFilter(status=TaskStatus.BLOCKED)).value] == [b.id]
    by_session = service.list_tasks(TaskFilter(session_id=session.id)).value
    assert [t.id for t in by_session] == [b.id]
    assert by_session[0].session_ids == [session.id]


# --- sessions -----------------------------------------------------------------------------


def test_create_session_links_tasks(service: Service, project_id: str) -> None:
    task = new_task(service, project_id)
    head = service.head()
    session = new_session(service, project_id, task.id, task.id)
    assert session.task_ids == [task.id]
    log = log_after(service, head)
    assert events_of(log) == ["session:created", "task:updated"]
    assert log[1]["data"]["sessionIds"] == [session.id]
    assert log[1]["data"]["sessionCount"] == 1
    assert log[1]["seq"] == log[0]["seq"] + 1


def test_add_task_to_session_events_in_order(service: Service, project_id: str) -> None:
    task = new_task(service, project_id)
    session = new_session(service, project_id)
    head = service.head()
    result = service.add_task_to_session(session.id, task.id)
    log = log_after(service, head)
    assert events_of(log) == ["session:updated", "task:updated", "session:task_added"]
    assert [m["seq"] for m in log] == [head + 1, head + 2, head + 3]
    assert result.seq == head + 3
    assert log[0]["data"]["taskIds"] == [task.id]
    assert log[1]["data"]["sessionIds"] == [session.id]
    assert log[1]["data"]["sessionCount"] == 1
    assert log[2]["data"] == {"sessionId": session.id, "taskId": task.id}
    assert result.value.changed
    assert result.value.session.version == 2
    assert result.value.task.version == 2


def test_adding_a_linked_task_again_changes_nothing(service: Service, project_id: str) -> None:
    task = new_task(service, project_id)
    session = new_session(service, project_id, task.id)
    head = service.head()
    result = service.add_task_to_session(session.id, task.id)
    assert not result.value.changed
    assert log_after(service, head) == []


def test_remove_task_from_session(service: Service, project_id: str) -> None:
    task = new_task(service, project_id)
    session = new_session(service, project_id, task.id)
    head = service.head()
    result = service.remove_task_from_session(session.id, task.id)
    log = log_after(service, head)
    assert events_of(log) == ["session:updated", "task:updated", "session:task_removed"]
    assert result.value.task.session_count == 0
    assert result.value.session.task_ids == []
    assert not service.remove_task_from_session(session.id, task.id).value.changed


def test_session_holds_only_tasks_of_its_project(service: Service, project_id: str) -> None:
    other = service.create_project(ProjectCreate(name="Other")).value
    foreign = new_task(service, other.id)
    session = new_session(service, project_id)
    with pytest.raises(InvalidInput, match="its own project"):
        service.add_task_to_session(session.id, foreign.id)
    with pytest.raises(InvalidInput, match="its own project"):
        new_session(service, project_id, foreign.id)


def test_delete_session_decrements_task_counts(service: Service, project_id: str) -> None:
    task = new_task(service, project_id)
    keep = new_session(service, project_id, task.id)
    doomed = new_session(service, project_id, task.id)
    assert service.get_task(task.id).value.session_count == 2
    head = service.head()
    service.delete_session(doomed.id)
    log = log_after(service, head)
    assert events_of(log) == ["session:deleted", "task:updated"]
    assert log[0]["data"] == {"id": doomed.id, "projectId": project_id}
    assert log[1]["data"]["sessionIds"] == [keep.id]
    assert log[1]["data"]["sessionCount"] == 1


def test_session_status_sets_ended_at(service: Service, project_id: str) -> None:
    session = new_session(service, project_id)
    working = service.update_session(session.id, SessionPatch(status=SessionStatus.WORKING)).value
    assert working.ended_at is None
    assert working.last_activity_at >= session.last_activity_at
    done = service.update_session(session.id, SessionPatch(status=SessionStatus.COMPLETED)).value
    assert done.ended_at is not None
    listed = service.list_sessions(SessionFilter(status=SessionStatus.COMPLETED)).value
    assert [s.id for s in listed] == [session.id]


def test_sessions_listed_by_whether_they_ended(service: Service, project_id: str) -> None:
    done = new_session(service, project_id)
    service.update_session(done.id, SessionPatch(status=SessionStatus.STOPPED))
    idle = new_session(service, project_id)
    waiting = new_session(service, project_id)
    service.update_session(waiting.id, SessionPatch(status=SessionStatus.NEEDS_INPUT))
    active = service.list_sessions(SessionFilter(project_id=project_id, active=True)).value
    ended = service.list_sessions(SessionFilter(project_id=project_id, active=False)).value
    assert [s.id for s in active] == [idle.id, waiting.id]
    assert [s.id for s in ended] == [done.id]


def test_unknown_ids_are_not_found(service: Service, project_id: str) -> None:
    session = new_session(service, project_id)
    with pytest.raises(NotFound):
        service.get_task("task_nope")
    with pytest.raises(NotFound):
        service.update_session("sess_nope", SessionPatch(name="x"))
    with pytest.raises(NotFound):
        service.add_task_to_session(session.id, "task_nope")
    with pytest.raises(NotFound):
        service.delete_task("task_nope")


# --- idempotency ----------------------------------------------------------------------------


def test_idempotency_key_returns_the_first_result(service: Service, project_id: str) -> None:
    data = TaskCreate(project_id=project_id, title="once")
    first = service.create_task(data, idempotency_key="k1")
    head = service.head()
    again = service.create_task(data, idempotency_key="k1")
    assert again.replayed
    assert not first.replayed
    assert again.value == first.value
    assert again.seq == first.seq
    assert service.head() == head
    assert len(service.list_tasks().value) == 1


def test_idempotency_key_with_another_body_is_refused(service: Service, project_id: str) -> None:
    service.create_task(TaskCreate(project_id=project_id, title="a"), idempotency_key="k")
    with pytest.raises(IdempotencyKeyReused):
        service.create_task(TaskCreate(project_id=project_id, title="b"), idempotency_key="k")
    with pytest.raises(IdempotencyKeyReused):
        service.create_project(ProjectCreate(name="a"), idempotency_key="k")


def test_a_failed_write_records_no_key(service: Service) -> None:
    with pytest.raises(NotFound):
        service.create_task(TaskCreate(project_id="proj_x", title="a"), idempotency_key="k")
    project = service.create_project(ProjectCreate(name="p")).value
    created = service.create_task(TaskCreate(project_id=project.id, title="a"), idempotency_key="k")
    assert not created.replayed


# --- retention -------------------------------------------------------------------------------


def test_prune_keeps_the_newest_events(service: Service, project_id: str) -> None:
    for i in range(10):
        new_task(service, project_id, f"t{i}")
    head = service.head()
    deleted, _ = service.prune(keep_events=3)
    assert deleted == head - 3
    assert [m["seq"] for m in log_after(service, 0)] == [head - 2, head - 1, head]
    assert service.head() == head


# --- session notes ---------------------------------------------------------------------------


def test_session_notes_append_and_list(service: Service, project_id: str) -> None:
    session = new_session(service, project_id)
    head = service.head()
    note = service.add_session_note(session.id, "  wrote the login form  ").value
    assert note.message == "wrote the login form"
    log = log_after(service, head)
    assert events_of(log) == ["session:updated", "session:note_added"]
    assert log[0]["data"]["lastActivityAt"] == note.created_at
    assert log[1]["data"] == {
        "sessionId": session.id,
        "projectId": project_id,
        "note": {
            "id": note.id,
            "sessionId": session.id,
            "message": "wrote the login form",
            "createdAt": note.created_at,
        },
    }
    service.add_session_note(session.id, "tests pass")
    notes = service.list_session_notes(session.id).value
    assert [n.message for n in notes] == ["wrote the login form", "tests pass"]
    assert [n.message for n in service.list_session_notes(session.id, limit=1).value] == [
        "tests pass"
    ]


def test_the_newest_note_of_each_session_of_a_project_in_one_read(
    service: Service, project_id: str
) -> None:
    first, quiet, third, gone = (new_session(service, project_id, name=n) for n in "abcd")
    other = service.create_project(ProjectCreate(name="Other")).value
    elsewhere = new_session(service, other.id)
    service.add_session_note(third.id, "third, once")  # older than first's notes
    for n in range(3):
        service.add_session_note(first.id, f"first, take {n}")
    service.add_session_note(gone.id, "about to go")
    service.add_session_note(elsewhere.id, "another project's")
    service.add_session_note(third.id, "third, newest")
    service.delete_session(gone.id)  # its notes go with it
    read = service.latest_session_notes(project_id)
    assert read.seq == service.head()
    # In the sessions' order, not the notes': the first session's comes first.
    assert [(n.session_id, n.message) for n in read.value] == [
        (first.id, "first, take 2"),
        (third.id, "third, newest"),
    ]
    assert read.value == [
        service.list_session_notes(s.id, limit=1).value[0] for s in (first, third)
    ]
    assert quiet.id not in {n.session_id for n in read.value}
    assert service.latest_session_notes(other.id).value[0].message == "another project's"
    with pytest.raises(NotFound, match="project proj_nope not found"):
        service.latest_session_notes("proj_nope")
    service.delete_project(project_id)
    with pytest.raises(NotFound):
        service.latest_session_notes(project_id)


class CountingConnection:
    """A store connection that counts the statements run through it."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.statements = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.statements += 1
        return self.conn.execute(*args, **kwargs)


def test_a_projects_newest_notes_are_one_query_however_many_sessions(
    service: Service, project_id: str
) -> None:
    sessions = [new_session(service, project_id, name=f"run {n}") for n in range(60)]
    for session in sessions[::2]:
        service.add_session_note(session.id, f"{session.name}: one")
        service.add_session_note(session.id, f"{session.name}: two")
    rows: Any
    with service.store.read() as rows:
        counting = CountingConnection(rows.conn)
        rows.conn = counting
        try:
            notes = rows.latest_notes(project_id)
        finally:
            rows.conn = counting.conn
    assert counting.statements == 1
    assert [n.message for n in notes] == [f"{s.name}: two" for s in sessions[::2]]


def test_empty_note_is_refused(service: Service, project_id: str) -> None:
    session = new_session(service, project_id)
    with pytest.raises(InvalidInput):
        service.add_session_note(session.id, "   ")
    with pytest.raises(NotFound):
        service.add_session_note("sess_nope", "x")


# --- lookups and queries -----------------------------------------------------------------------


def test_resolve_project_by_id_name_or_only_one(service: Service) -> None:
    with pytest.raises(NoProjectYet, match="there is no project yet: create one first"):
        service.resolve_project(None)
    demo = service.create_project(ProjectCreate(name="Demo")).value
    assert service.resolve_project(None).value == demo
    assert service.resolve_project(demo.id).value == demo
    assert service.resolve_project("demo").value == demo
    other = service.create_project(ProjectCreate(name="Other")).value
    with pytest.raises(InvalidInput, match="say which project"):
        service.resolve_project(None)
    with pytest.raises(NotFound, match=r"Demo \(proj_"):
        service.resolve_project("nothing")
    with pytest.raises(NameTaken, match=f"a project named 'Other' exists already: {other.id}"):
        service.create_project(ProjectCreate(name="other"))  # one name, one project...
    service.create_project(ProjectCreate(name="other", allow_duplicate=True))  # ... unless asked
    with pytest.raises(InvalidInput, match="several projects"):
        service.resolve_project("Other")
    assert service.resolve_project(other.id).value == other


def test_task_query_and_limit(service: Service, project_id: str) -> None:
    new_task(service, project_id, "Implement login", description="OAuth flow")
    new_task(service, project_id, "Write docs", description="100% coverage_of login")
    new_task(service, project_id, "Refactor")
    found = service.list_tasks(TaskFilter(query="LOGIN")).value
    assert [t.title for t in found] == ["Implement login", "Write docs"]
    assert [t.title for t in service.list_tasks(TaskFilter(query="100%")).value] == ["Write docs"]
    assert service.list_tasks(TaskFilter(query="_")).value[0].title == "Write docs"
    assert len(service.list_tasks(TaskFilter(limit=2)).value) == 2


def test_changes_since(service: Service, project_id: str) -> None:
    other = service.create_project(ProjectCreate(name="Other")).value
    start = service.head()
    task = new_task(service, project_id)
    new_task(service, other.id)
    service.update_task(task.id, TaskPatch(title="renamed"))
    changes = service.changes_since(start).value
    assert [e["event"] for e in changes.events] == ["task:created", "task:created", "task:updated"]
    assert changes.next_since == changes.head == start + 3
    assert not changes.expired
    mine = service.changes_since(start, project_id=project_id).value
    assert [e["data"]["id"] for e in mine.events] == [task.id, task.id]
    first = service.changes_since(start, limit=1).value
    assert first.next_since == start + 1
    service.prune(keep_events=1)
    assert service.changes_since(start).value.expired
    assert not service.changes_since(service.head()).value.expired
