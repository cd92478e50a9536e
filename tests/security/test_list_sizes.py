"""Lists never fail on size (issue #13, "Bounded resources").

The rule (docs/storage.md, "Sizes and depths"): no statement binds one parameter per
row. SQLite caps the parameters of one statement (32,766 on stock builds, 999 on older
ones; Maestro pins 999 on every build), so a project of more than 32,766 tasks must be
listed, filtered, paged, exported and changed through every path that loads its rows:
REST and its filters, the CLI, MCP's tools and its board resource, a session's links,
claim-next, and the deletions that load every row they touch. The rows are loaded in
bulk (``Store.load``: what ``maestro import`` does), then everything goes through a
real server on loopback, on both stores.
"""

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mcp import Client

from http_api import Settings
from maestro_mcp.cli.main import cli
from maestro_mcp.core.ids import TASK_PREFIX
from maestro_mcp.core.models import CLAIM_NEXT_MAX, LIST_LIMIT_MAX, ProjectCreate
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage import Store
from maestro_mcp.core.storage.sqlite import SqliteStore
from maestro_mcp.core.storage.sqlite.id_lists import PARAMETERS_MAX
from maestro_mcp.core.vocabulary import TaskStatus
from maestro_mcp.protocol import SEQ_HEADER
from tests.support.bulk import Bulk, serving
from tests.support.core import new_session, new_task
from tests.support.mcp import call, read_json
from tests.support.servers import LiveServer, live_server
from tests.support.stores import Databases

TASKS = 33_000  # in one project: more than SQLite's 32,766 parameters on stock builds
LABEL = "bulk"
# The tasks of the session a test deletes (each gets a task:updated): more than the
# ≈ 12,000 whose events a write bounded to 4 MiB could add; a deletion is not bounded.
SESSION_LINKS = 20_000


@dataclass(frozen=True)
class Big:
    """A project of ``TASKS`` tasks: ``root``, with every other task its sub-task (those
    labelled, and pending and completed in turn); one session linked to all of them."""

    project_id: str
    root: str
    task_ids: list[str]  # in creation order, root first
    pending: list[str]  # in creation order
    session_id: str


def big_project(bulk: Bulk, session_links: int = TASKS) -> Big:
    project_id = bulk.project("Big")
    root = bulk.task(project_id, "root")
    task_ids, pending = [root], [root]
    for n in range(1, TASKS):
        status = TaskStatus.PENDING if n % 2 == 0 else TaskStatus.COMPLETED
        task_id = bulk.task(
            project_id, f"{LABEL} task {n}", parent_id=root, status=status, labels=(LABEL,)
        )
        task_ids.append(task_id)
        if status == TaskStatus.PENDING:
            pending.append(task_id)
    session_id = bulk.session(project_id, "everything")
    for task_id in task_ids[:session_links]:
        bulk.link(task_id, session_id)
    return Big(project_id, root, task_ids, pending, session_id)


@pytest.fixture(scope="module")
def loaded(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Big]]:
    """A database holding the big project, shared by the module's tests that only read."""
    location = databases.create(tmp_path_factory.mktemp("big"))
    bulk = Bulk()
    big = big_project(bulk)
    bulk.load(location)
    yield location, big
    databases.drop(location)


@pytest.fixture(scope="module")
def big_server(loaded: tuple[str, Big]) -> Iterator[LiveServer]:
    with live_server(Settings(database=loaded[0], poll_interval=0.02)) as running:
        yield running


@pytest.fixture
def big(loaded: tuple[str, Big]) -> Big:
    return loaded[1]


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [task["id"] for task in response.json()]


# --- the storage contract ------------------------------------------------------------------------


def test_every_rows_operation_takes_more_ids_than_sqlite_binds(service: Service, db: Store) -> None:
    """Each operation of the storage contract that takes a list of ids takes ``TASKS`` of
    them: here one id of something, then ids of nothing."""
    project_id = service.create_project(ProjectCreate(name="Demo")).value.id
    task = new_task(service, project_id)
    dependent = new_task(service, project_id, "after it", depends_on=[task.id])
    session = new_session(service, project_id, task.id)
    nothing = [f"{TASK_PREFIX}{n:016x}" for n in range(TASKS)]
    with db.write() as rows:
        assert [t.id for t in rows.get_tasks([task.id, *nothing])] == [task.id]
        assert [s.id for s in rows.get_sessions([session.id, *nothing])] == [session.id]
        assert rows.session_ids_of_tasks([task.id, *nothing]) == [session.id]
        assert rows.dependents_of([task.id, *nothing]) == [dependent.id]
        assert rows.depends_transitively([*nothing, dependent.id], task.id)
        assert not rows.depends_transitively(nothing, task.id)
        rows.delete_tasks([dependent.id, *nothing])
        assert rows.get_task(dependent.id) is None
        assert rows.get_task(task.id) is not None


@pytest.mark.only_store("sqlite")
def test_every_sqlite_connection_binds_no_more_than_the_smallest_stock_build(db: Store) -> None:
    """The limit is pinned (core/storage/sqlite/id_lists.py): a statement that binds one
    parameter per row fails on every build, this one's too (it allows 250,000), and so
    in these tests; not only on a user's machine."""
    assert isinstance(db, SqliteStore)
    fresh = db.connect()  # also the feed's connection and every thread's are made so
    try:
        for conn in (db.conn, fresh):
            most = ", ".join("?" * PARAMETERS_MAX)
            conn.execute(f"SELECT {most}", [0] * PARAMETERS_MAX)
            with pytest.raises(sqlite3.OperationalError, match="too many SQL variables"):
                conn.execute(f"SELECT {most}, ?", [0] * (PARAMETERS_MAX + 1))
    finally:
        fresh.close()


# --- reading: REST ---------------------------------------------------------------------------


FILTERS = {
    "none": ({}, "all"),
    "projectId": ({"projectId": "project"}, "all"),
    "sessionId": ({"sessionId": "session"}, "all"),
    "parentId": ({"parentId": "root"}, "sub-tasks"),
    "label": ({"label": LABEL}, "sub-tasks"),
    "query": ({"query": LABEL}, "sub-tasks"),
    "status": ({"status": "pending"}, "pending"),
    "ready": ({"ready": "true"}, "pending"),
    "blocked": ({"blocked": "false"}, "all"),
}


@pytest.mark.parametrize("name", FILTERS)
def test_rest_lists_every_task_with_each_filter(
    big_server: LiveServer, big: Big, name: str
) -> None:
    query, expected = FILTERS[name]
    values = {"project": big.project_id, "session": big.session_id, "root": big.root}
    params = {key: values.get(value, value) for key, value in query.items()}
    listed = ids(big_server.http.get("/api/tasks", params=params))
    assert (
        listed
        == {
            "all": big.task_ids,
            "sub-tasks": big.task_ids[1:],
            "pending": big.pending,
        }[expected]
    )


def test_rest_pages_through_them(big_server: LiveServer, big: Big) -> None:
    listed: list[str] = []
    while True:
        query: dict[str, Any] = {"projectId": big.project_id, "limit": LIST_LIMIT_MAX}
        if listed:
            query["after"] = listed[-1]
        page = ids(big_server.http.get("/api/tasks", params=query))
        listed += page
        if len(page) < LIST_LIMIT_MAX:
            break
    assert listed == big.task_ids


def test_rest_reads_a_session_linked_to_every_task(big_server: LiveServer, big: Big) -> None:
    http = big_server.http
    session = http.get(f"/api/sessions/{big.session_id}").json()
    assert session["taskIds"] == big.task_ids
    [listed] = http.get("/api/sessions", params={"projectId": big.project_id}).json()
    assert listed["taskIds"] == big.task_ids
    [by_task] = http.get("/api/sessions", params={"taskId": big.task_ids[-1]}).json()
    assert by_task["id"] == big.session_id
    task = http.get(f"/api/tasks/{big.task_ids[-1]}").json()
    assert task["sessionIds"] == [big.session_id]


# --- reading: MCP, the CLI, export -------------------------------------------------------------


@pytest.mark.anyio
async def test_mcp_reads_them(big_server: LiveServer, big: Big) -> None:
    async with Client(big_server.base_url + "/mcp") as client:
        board = await read_json(client, f"maestro://projects/{big.project_id}/board")
        assert [t["id"] for t in board["tasks"]] == big.task_ids
        assert board["sessions"][0]["taskIds"] == big.task_ids
        far = big.task_ids[30_000]
        page = await call(client, "list_tasks", project=big.project_id, cursor=far, limit=100)
        assert [t["id"] for t in page["tasks"]] == big.task_ids[30_001:30_101]
        ready = await call(
            client, "list_tasks", project=big.project_id, sessionId=big.session_id, ready=True
        )
        assert [t["id"] for t in ready["tasks"]] == big.pending[:100]
        got = await call(client, "get", id=big.session_id)
        assert got["session"]["taskIds"] == big.task_ids


def test_the_cli_lists_them(big_server: LiveServer, big: Big) -> None:
    listed = CliRunner().invoke(
        cli, ["task", "list", "--json"], env={"MAESTRO_URL": big_server.base_url}
    )
    assert listed.exit_code == 0, listed.output
    assert [t["id"] for t in json.loads(listed.stdout)] == big.task_ids


def test_the_cli_counts_them(big_server: LiveServer) -> None:
    status = CliRunner().invoke(cli, ["status", "--json"], env={"MAESTRO_URL": big_server.base_url})
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["tasks"]["total"] == TASKS


def test_export_writes_every_one(loaded: tuple[str, Big], tmp_path: Path) -> None:
    location, big = loaded
    out = tmp_path / "export.jsonl"
    exported = CliRunner().invoke(cli, ["export", "--quiet", "--db", location, str(out)])
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in out.read_text().splitlines()[1:-1]]
    assert [r["row"]["id"] for r in rows if r["table"] == "tasks"] == big.task_ids
    assert sum(r["table"] == "task_sessions" for r in rows) == TASKS


# --- writing: each on a database of its own ----------------------------------------------------


@pytest.fixture
def fresh(databases: Databases, tmp_path: Path) -> Iterator[tuple[LiveServer, Big]]:
    """A server on a new database holding the big project, whose session has
    ``SESSION_LINKS`` tasks: a test may change it."""
    bulk = Bulk()
    big = big_project(bulk, session_links=SESSION_LINKS)
    with serving(bulk, databases, tmp_path) as server:
        yield server, big


def seq_of(response: Any) -> int:
    assert response.status_code == 200, response.text
    return int(response.headers[SEQ_HEADER])


def test_claim_next_finds_its_tasks_among_them(fresh: tuple[LiveServer, Big]) -> None:
    server, big = fresh
    claim_next = f"/api/sessions/{big.session_id}/claim-next"
    granted = server.http.post(claim_next, json={"count": CLAIM_NEXT_MAX, "labels": [LABEL]})
    assert granted.status_code == 200, granted.text
    claimed = [c["task"]["id"] for c in granted.json()["claims"]]
    assert claimed == big.pending[1 : CLAIM_NEXT_MAX + 1]  # oldest first; root has no label
    left = ids(server.http.get("/api/tasks", params={"ready": "true"}))
    assert left == [t for t in big.pending if t not in set(claimed)]


def test_a_task_with_every_other_under_it_is_deleted(fresh: tuple[LiveServer, Big]) -> None:
    server, big = fresh
    before = seq_of(server.http.get("/api/tasks", params={"limit": 1}))
    deleted = server.http.delete(f"/api/tasks/{big.root}")
    # session:updated for the session that listed some, then task:deleted for each
    assert seq_of(deleted) - before == 1 + TASKS
    assert ids(server.http.get("/api/tasks")) == []
    assert server.http.get(f"/api/sessions/{big.session_id}").json()["taskIds"] == []


def test_a_session_and_then_the_project_are_deleted(fresh: tuple[LiveServer, Big]) -> None:
    server, big = fresh
    before = seq_of(server.http.get("/api/tasks", params={"limit": 1}))
    deleted = server.http.delete(f"/api/sessions/{big.session_id}")
    # session:deleted, then task:updated for each of its tasks
    assert seq_of(deleted) - before == 1 + SESSION_LINKS
    assert ids(server.http.get("/api/tasks", params={"sessionId": big.session_id})) == []

    project = server.http.delete(f"/api/projects/{big.project_id}")
    assert seq_of(project) - seq_of(deleted) == 1  # project:deleted
    assert server.http.get(f"/api/projects/{big.project_id}").status_code == 404
    assert ids(server.http.get("/api/tasks")) == []
