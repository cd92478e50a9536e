"""Planning in one call: a batch of tasks, in order, all or none, naming each other by ref."""

import pytest

from maestro_mcp.core.errors import InvalidInput, NotFound
from maestro_mcp.core.models import TaskBatch, TaskDraft
from maestro_mcp.core.service import Service
from tests.support.core import log_after


def plan(project_id: str, *drafts: TaskDraft) -> TaskBatch:
    return TaskBatch(project_id=project_id, tasks=list(drafts))


def test_a_batch_creates_its_tasks_in_order_naming_earlier_ones_by_ref(
    service: Service, project_id: str
) -> None:
    head = service.head()
    created = service.create_tasks(
        plan(
            project_id,
            TaskDraft(ref="schema", title="Design the schema"),
            TaskDraft(ref="api", title="Build the API", depends_on=["schema"]),
            TaskDraft(title="Write the API tests", parent_id="api", depends_on=["schema"]),
        )
    ).value
    schema, api, tests = created
    assert api.depends_on == [schema.id]
    assert tests.parent_id == api.id
    assert tests.depends_on == [schema.id]
    log = log_after(service, head)
    assert [m["event"] for m in log] == ["task:created"] * 3
    assert [m["data"]["id"] for m in log] == [t.id for t in created]
    # One transaction: consecutive seqs, one result seq.
    assert [m["seq"] for m in log] == [head + 1, head + 2, head + 3]


def test_a_batch_is_all_or_nothing(service: Service, project_id: str) -> None:
    head = service.head()
    with pytest.raises(InvalidInput, match=r"task 2 of the batch \(“b”\): dependency task_x"):
        service.create_tasks(
            plan(project_id, TaskDraft(title="a"), TaskDraft(title="b", depends_on=["task_x"]))
        )
    assert service.head() == head
    assert service.list_tasks().value == []


def test_a_batch_says_what_is_wrong_with_its_refs(service: Service, project_id: str) -> None:
    later = plan(
        project_id,
        TaskDraft(title="api", depends_on=["schema"]),
        TaskDraft(ref="schema", title="s"),
    )
    with pytest.raises(InvalidInput, match="names 'schema', a task later in the batch"):
        service.create_tasks(later)
    twice = plan(project_id, TaskDraft(ref="a", title="1"), TaskDraft(ref="a", title="2"))
    with pytest.raises(InvalidInput, match="ref 'a' is used twice"):
        service.create_tasks(twice)
    with pytest.raises(NotFound):
        service.create_tasks(plan("proj_missing", TaskDraft(title="t")))


def test_a_batch_retried_with_its_key_is_created_once(service: Service, project_id: str) -> None:
    batch = plan(project_id, TaskDraft(title="a"), TaskDraft(title="b"))
    first = service.create_tasks(batch, idempotency_key="plan-1")
    again = service.create_tasks(batch, idempotency_key="plan-1")
    assert again.replayed
    assert [t.id for t in again.value] == [t.id for t in first.value]
    assert len(service.list_tasks().value) == 2


def test_a_mistyped_or_own_ref_is_named_as_such(service: Service, project_id: str) -> None:
    typo = plan(
        project_id,
        TaskDraft(ref="schema", title="s"),
        TaskDraft(title="api", depends_on=["shema"]),
    )
    with pytest.raises(
        InvalidInput,
        match=r"task 2 of the batch: dependsOn names 'shema', which is neither the ref of an "
        r"earlier task of the batch \(refs so far: 'schema'\) nor a task id",
    ):
        service.create_tasks(typo)
    own = plan(project_id, TaskDraft(ref="a", title="a", depends_on=["a"]))
    with pytest.raises(InvalidInput, match="task 1 of the batch: dependsOn names its own ref 'a'"):
        service.create_tasks(own)
