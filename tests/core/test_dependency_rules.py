"""Property: after any sequence of operations, no dependency cycle exists (and a change that
would make one is refused, exactly then), and the ready set equals its definition."""

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from maestro_mcp.core.errors import ClaimConflict, InvalidInput, NotReady
from maestro_mcp.core.models import (
    ClaimRequest,
    ProjectCreate,
    ReleaseRequest,
    SessionCreate,
    Task,
    TaskCreate,
    TaskFilter,
    TaskPatch,
    TaskStatus,
)
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage.location import open_store
from tests.support.stores import Databases


def reaches(tasks: dict[str, Task], start: list[str], target: str) -> bool:
    seen, todo = set(), list(start)
    while todo:
        current = todo.pop()
        if current == target:
            return True
        if current not in seen:
            seen.add(current)
            todo.extend(tasks[current].depends_on)
    return False


def is_ready(task: Task, tasks: dict[str, Task], now: int) -> bool:
    live_claim = task.claim is not None and task.claim.expires_at > now
    expired_claim = task.claim is not None and task.claim.expires_at <= now
    pending = task.status is TaskStatus.PENDING or (
        task.status is TaskStatus.IN_PROGRESS and expired_claim
    )
    deps_done = all(tasks[d].status is TaskStatus.COMPLETED for d in task.depends_on)
    return pending and deps_done and not live_claim


class Coordination(RuleBasedStateMachine):
    databases: Databases  # the store the run is on (set by the test below)

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp()
        self.location = self.databases.create(Path(self.dir))
        self.db = open_store(self.location)
        self.db.migrate()
        self.now = 1_000_000
        self.service = Service(self.db, clock=lambda: self.now)
        self.project = self.service.create_project(ProjectCreate(name="p")).value.id
        self.sessions = [
            self.service.create_session(SessionCreate(project_id=self.project, name=n)).value.id
            for n in ("a", "b")
        ]

    def teardown(self) -> None:
        self.db.close()
        self.databases.drop(self.location)
        shutil.rmtree(self.dir)

    def tasks(self) -> dict[str, Task]:
        # In creation order, not by id: ids are random, and hypothesis replays a failing
        # run by drawing the same indexes, which must pick the same tasks.
        return {t.id: t for t in self.service.list_tasks().value}

    @rule(data=st.data(), status=st.sampled_from(list(TaskStatus)))
    def create(self, data: st.DataObject, status: TaskStatus) -> None:
        tasks = self.tasks()
        existing = list(tasks)
        deps = data.draw(st.lists(st.sampled_from(existing), max_size=3)) if existing else []
        # Work starts and completes only once every dependency is completed.
        refused = status in (TaskStatus.IN_PROGRESS, TaskStatus.COMPLETED) and any(
            tasks[d].status is not TaskStatus.COMPLETED for d in deps
        )
        try:
            self.service.create_task(
                TaskCreate(project_id=self.project, title="t", status=status, depends_on=deps)
            )
        except NotReady:
            assert refused, "refused a task whose dependencies are done"
        else:
            assert not refused, "started a task that waits on unfinished ones"

    @precondition(lambda self: len(self.tasks()) >= 2)
    @rule(data=st.data())
    def set_dependencies(self, data: st.DataObject) -> None:
        tasks = self.tasks()
        task_id = data.draw(st.sampled_from(list(tasks)))
        deps = data.draw(st.lists(st.sampled_from(list(tasks)), max_size=3))
        cycle = reaches(tasks, deps, task_id)
        try:
            self.service.update_task(task_id, TaskPatch(depends_on=deps))
        except InvalidInput:
            assert cycle, "refused a change that makes no cycle"
        else:
            assert not cycle, "accepted a cycle"

    @precondition(lambda self: self.tasks())
    @rule(data=st.data(), status=st.sampled_from(list(TaskStatus)))
    def set_status(self, data: st.DataObject, status: TaskStatus) -> None:
        task_id = data.draw(st.sampled_from(list(self.tasks())))
        self.service.update_task(task_id, TaskPatch(status=status), override=True)

    @precondition(lambda self: self.tasks())
    @rule(data=st.data(), lease=st.integers(5, 60))
    def claim(self, data: st.DataObject, lease: int) -> None:
        tasks = self.tasks()
        task_id = data.draw(st.sampled_from(list(tasks)))
        holder = data.draw(st.sampled_from(self.sessions))
        claim = tasks[task_id].claim
        own = claim is not None and claim.session_id == holder and claim.expires_at > self.now
        expected = is_ready(tasks[task_id], tasks, self.now) or own  # its own: renewed
        try:
            self.service.claim_task(task_id, ClaimRequest(session_id=holder, lease_seconds=lease))
        except (NotReady, ClaimConflict):
            assert not expected, "a ready task could not be claimed"
        else:
            assert expected, "a task that was not ready was claimed"

    @precondition(lambda self: self.tasks())
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        task_id = data.draw(st.sampled_from(list(self.tasks())))
        self.service.release_task(task_id, ReleaseRequest(override=True))

    @rule(seconds=st.integers(1, 90))
    def time_passes(self, seconds: int) -> None:
        self.now += seconds * 1000

    @rule()
    def reaper_runs(self) -> None:
        self.service.expire_claims()

    @invariant()
    def no_cycle(self) -> None:
        tasks = self.tasks()
        for task in tasks.values():
            assert not reaches(tasks, task.depends_on, task.id)

    @invariant()
    def ready_set_is_its_definition(self) -> None:
        tasks = self.tasks()
        listed = {t.id for t in self.service.list_tasks(TaskFilter(ready=True)).value}
        assert listed == {t.id for t in tasks.values() if is_ready(t, tasks, self.now)}


def test_readiness_and_claims_follow_the_rules(databases: Databases) -> None:
    """On each store: the same rules, one definition of them in SQL for both."""
    Coordination.databases = databases
    run_state_machine_as_test(
        Coordination, settings=settings(max_examples=60, stateful_step_count=30, deadline=None)
    )
