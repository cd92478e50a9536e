"""Property: whatever sequence of operations runs, (1) the two sides of every
task<->session link agree, and (2) a client that applies the event log to an
empty store ends up with exactly the database's state: the events are complete."""

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from maestro_mcp.core.events import merged_data
from maestro_mcp.core.models import ProjectCreate, SessionCreate, TaskCreate, TaskPatch, TaskStatus
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage.location import open_store
from tests.support.stores import Databases


def apply(store: dict[str, dict[str, Any]], message: dict[str, Any]) -> None:
    """The reducer every client runs: entities keyed by id; an update's omitted fields
    are kept from the copy held."""
    kind, data = message["event"], message["data"]
    if kind.endswith((":created", ":updated")):
        store[data["id"]] = merged_data(store.get(data["id"]), data)
    elif kind == "project:deleted":
        for key in [k for k, v in store.items() if v.get("projectId") == data["id"]]:
            del store[key]
        store.pop(data["id"], None)
    elif kind.endswith(":deleted"):
        store.pop(data["id"], None)


class Operations(RuleBasedStateMachine):
    databases: Databases  # the store the run is on (set by the test below)

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp()
        self.location = self.databases.create(Path(self.dir))
        self.db = open_store(self.location)
        self.db.migrate()
        self.service = Service(self.db)
        self.projects = [self.service.create_project(ProjectCreate(name=n)).value.id for n in "ab"]
        self.client: dict[str, dict[str, Any]] = {}
        self.seen = 0

    def teardown(self) -> None:
        self.db.close()
        self.databases.drop(self.location)
        shutil.rmtree(self.dir)

    def task_ids(self) -> list[str]:
        return [t.id for t in self.service.list_tasks().value]

    def session_ids(self) -> list[str]:
        return [s.id for s in self.service.list_sessions().value]

    @rule(project=st.integers(0, 1), nested=st.booleans(), data=st.data())
    def create_task(self, project: int, nested: bool, data: st.DataObject) -> None:
        project_id = self.projects[project]
        parents = [t.id for t in self.service.list_tasks().value if t.project_id == project_id]
        parent = data.draw(st.sampled_from(parents)) if nested and parents else None
        self.service.create_task(TaskCreate(project_id=project_id, title="t", parent_id=parent))

    @rule(project=st.integers(0, 1), data=st.data())
    def create_session(self, project: int, data: st.DataObject) -> None:
        project_id = self.projects[project]
        own = [t.id for t in self.service.list_tasks().value if t.project_id == project_id]
        linked = data.draw(st.lists(st.sampled_from(own), max_size=3)) if own else []
        self.service.create_session(SessionCreate(project_id=project_id, name="s", task_ids=linked))

    @precondition(lambda self: self.task_ids() and self.session_ids())
    @rule(data=st.data(), add=st.booleans())
    def link(self, data: st.DataObject, add: bool) -> None:
        session = data.draw(st.sampled_from(self.service.list_sessions().value))
        own = [t.id for t in self.service.list_tasks().value if t.project_id == session.project_id]
        if not own:
            return
        task_id = data.draw(st.sampled_from(own))
        if add:
            self.service.add_task_to_session(session.id, task_id)
        else:
            self.service.remove_task_from_session(session.id, task_id)

    @precondition(lambda self: self.task_ids())
    @rule(data=st.data())
    def update_task(self, data: st.DataObject) -> None:
        task_id = data.draw(st.sampled_from(self.task_ids()))
        status = data.draw(st.sampled_from(list(TaskStatus)))
        self.service.update_task(task_id, TaskPatch(status=status))

    @precondition(lambda self: self.task_ids())
    @rule(data=st.data())
    def delete_task(self, data: st.DataObject) -> None:
        self.service.delete_task(data.draw(st.sampled_from(self.task_ids())))

    @precondition(lambda self: self.session_ids())
    @rule(data=st.data())
    def delete_session(self, data: st.DataObject) -> None:
        self.service.delete_session(data.draw(st.sampled_from(self.session_ids())))

    @invariant()
    def links_agree(self) -> None:
        tasks = self.service.list_tasks().value
        sessions = self.service.list_sessions().value
        for task in tasks:
            holders = [s.id for s in sessions if task.id in s.task_ids]
            assert sorted(task.session_ids) == sorted(holders)
            assert task.session_count == len(task.session_ids)

    @invariant()
    def events_rebuild_the_state(self) -> None:
        with self.db.read() as rows:
            for event in rows.read_events_after(self.seen, 100_000):
                message = json.loads(event.payload)
                assert message["seq"] == self.seen + 1, "seqs are consecutive"
                self.seen = message["seq"]
                apply(self.client, message)
        state = self.service.list_tasks().value + self.service.list_sessions().value
        expected = {e.id: e.model_dump(mode="json", by_alias=True) for e in state}
        expected.update(
            {
                p.id: p.model_dump(mode="json", by_alias=True)
                for p in self.service.list_projects().value
            }
        )
        assert self.client == expected


def test_operations_keep_links_and_the_log_complete(databases: Databases) -> None:
    """On each store: the same rules, one definition of them in SQL for both."""
    Operations.databases = databases
    run_state_machine_as_test(
        Operations, settings=settings(max_examples=40, stateful_step_count=25, deadline=None)
    )
