"""Rule: one write adds at most ``max_write_log_bytes`` to the event log (the UTF-8 JSON
of its events' data; ``--max-write-log``, 4 MiB by default). A write over it is refused
— 413 ``payload_too_large`` on REST, a tool error that says why on MCP — and nothing of
it is committed: no entity row, no event, no idempotency record. The server's own
chore (the lease reaper) is not bounded: no client could split it."""

import os
from dataclasses import replace
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from http_api import Settings
from maestro_mcp.core.errors import TooLarge
from maestro_mcp.core.models import ClaimRequest, ProjectCreate, SessionCreate
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage import Store
from maestro_mcp.settings import DEFAULT_MAX_WRITE_LOG_BYTES
from tests.support.core import new_task
from tests.support.mcp import call, refused
from tests.support.servers import LiveServer, live_server, stdio_server

pytestmark = pytest.mark.anyio

LIMIT = 8 * 1024  # a session linking 30 tasks adds ≈ 14 KB of events
TASKS = 30


@pytest.fixture
def bounded(settings: Settings) -> Any:
    with live_server(replace(settings, max_write_log_bytes=LIMIT)) as running:
        yield running


def _tasks(server: LiveServer, count: int) -> tuple[str, list[str]]:
    http = server.http
    project = http.post("/api/projects", json={"name": "bounded"}).json()["id"]
    ids = [
        http.post("/api/tasks", json={"projectId": project, "title": f"t{i}"}).json()["id"]
        for i in range(count)
    ]
    return project, ids


def test_the_default_bound_is_four_mib() -> None:
    assert DEFAULT_MAX_WRITE_LOG_BYTES == Settings(database="x").max_write_log_bytes == 4 << 20


def test_a_rest_write_over_the_bound_is_413_and_nothing_is_committed(bounded: LiveServer) -> None:
    http = bounded.http
    project, ids = _tasks(bounded, TASKS)
    head = bounded.core.service.head()
    body = {"projectId": project, "name": "too much", "taskIds": ids}

    refused = http.post("/api/sessions", json=body, headers={"Idempotency-Key": "k-1"})

    assert refused.status_code == 413
    error = refused.json()["error"]
    assert error["code"] == TooLarge.code == "payload_too_large"
    assert error["details"]["limit"] == LIMIT
    assert error["details"]["size"] > LIMIT
    assert "smaller steps" in error["message"]
    assert bounded.core.service.head() == head  # no event
    assert http.get("/api/sessions", params={"projectId": project}).json() == []
    assert {t["sessionCount"] for t in http.get("/api/tasks").json()} == {0}
    # The key was not used up: the same key now makes a write that fits.
    fits = http.post(
        "/api/sessions",
        json={**body, "taskIds": ids[:5]},
        headers={"Idempotency-Key": "k-1"},
    )
    assert fits.status_code == 201, fits.text
    assert fits.json()["taskIds"] == ids[:5]


async def test_an_mcp_write_over_the_bound_is_a_tool_error_over_http(
    bounded: LiveServer,
) -> None:
    project, ids = _tasks(bounded, TASKS)
    head = bounded.core.service.head()
    async with Client(bounded.base_url + "/mcp") as client:
        message = await refused(
            client, "start_session", name="too much", project=project, taskIds=ids
        )
        assert "bytes of events to the log" in message
        assert f"{LIMIT:,}" in message
        assert bounded.core.service.head() == head
        started = await call(client, "start_session", name="fits", project=project, taskIds=ids[:5])
    assert started["session"]["taskIds"] == ids[:5]


async def test_maestro_mcp_takes_the_bound_from_its_environment(
    server: LiveServer, database: str
) -> None:
    """``maestro mcp`` (stdio), as an agent host spawns it, with MAESTRO_MAX_WRITE_LOG."""
    project, ids = _tasks(server, TASKS)
    head = server.core.service.head()
    spawned = stdio_server(database)
    params = StdioServerParameters(
        command=spawned.command,
        args=spawned.args,
        env={**os.environ, "MAESTRO_MAX_WRITE_LOG": "8KiB"},
    )
    async with Client(params) as client:
        message = await refused(
            client, "start_session", name="too much", project=project, taskIds=ids
        )
    assert f"{LIMIT:,}" in message
    assert server.core.service.head() == head


def test_the_lease_reaper_is_not_bounded(db: Store) -> None:
    """Every claim whose lease ran out is released in one pass, however many events."""
    service = Service(db, max_write_log_bytes=3000)
    project = service.create_project(ProjectCreate(name="p")).value
    tasks = [new_task(service, project.id, f"t{i}") for i in range(10)]
    session = service.create_session(SessionCreate(project_id=project.id, name="s")).value
    for task in tasks:
        service.claim_task(task.id, ClaimRequest(session_id=session.id, lease_seconds=60))
    now = service.clock()
    service.clock = lambda: now + 61_000
    assert sorted(service.expire_claims().value) == sorted(t.id for t in tasks)
