"""One MCP tool call is one transaction: all of it or nothing, and a requestId replays it."""

from typing import Any

import pytest
from mcp import Client

from maestro_mcp.core.models import ClaimRequest, ProjectCreate, TaskCreate
from maestro_mcp.core.runtime import Core
from maestro_mcp.mcp_server import MaestroMCP
from tests.mcp_server.scenario import call

pytestmark = pytest.mark.anyio


async def _log_after(core: Core, seq: int) -> list[str]:
    changes = await core.read(lambda: core.service.changes_since(seq, limit=10_000))
    return [e["event"] for e in changes.value.events]


async def _seed(core: Core) -> str:
    """The only project (so tools need not name it) with one task; returns the task's id."""
    service = core.service
    project = (await core.write(lambda: service.create_project(ProjectCreate(name="p")))).value
    task = await core.write(
        lambda: service.create_task(TaskCreate(project_id=project.id, title="t"))
    )
    return task.value.id


async def test_update_session_that_fails_half_way_keeps_nothing(
    core: Core, maestro: MaestroMCP
) -> None:
    task_id = await _seed(core)
    async with Client(maestro.server) as client:
        session = (await call(client, "start_session", name="work"))["session"]
        before = await core.read(core.service.head)
        failed = await client.call_tool(
            "update_session",
            {
                "sessionId": session["id"],
                "status": "needs_input",
                "note": "halfway there",
                "addTasks": [task_id, "task_does_not_exist"],
            },
        )
        assert failed.is_error
        assert "task_does_not_exist not found" in str(failed.content)
        # Nothing of the call was kept: no status, no note, no link, no event.
        assert await _log_after(core, before) == []
        kept = (await core.read(lambda: core.service.get_session(session["id"]))).value
        assert kept.status.value == "working"
        assert kept.task_ids == []
        assert kept.version == session["version"]
        notes = await core.read(lambda: core.service.list_session_notes(session["id"]))
        assert notes.value == []


async def test_update_session_is_one_transaction_and_its_request_id_replays_it(
    core: Core, maestro: MaestroMCP
) -> None:
    task_id = await _seed(core)
    async with Client(maestro.server) as client:
        session = (await call(client, "start_session", name="work"))["session"]
        before = await core.read(core.service.head)
        arguments: dict[str, Any] = {
            "sessionId": session["id"],
            "status": "needs_input",
            "note": "which database?",
            "addTasks": [task_id],
            "requestId": "report-1",
        }
        first = await call(client, "update_session", **arguments)
        events = await _log_after(core, before)
        assert events == [
            "session:updated",  # status
            "session:updated",  # the note moved lastActivityAt
            "session:note_added",
            "session:updated",  # the link
            "task:updated",
            "session:task_added",
            "session:updated",  # the heartbeat
        ]
        # All in one commit: consecutive seqs ending at the call's seq.
        assert first["seq"] == before + len(events)
        assert first["session"]["status"] == "needs_input"
        assert first["session"]["taskIds"] == [task_id]

        again = await call(client, "update_session", **arguments)
        assert again == first
        assert await core.read(core.service.head) == first["seq"]  # nothing new
        notes = await core.read(lambda: core.service.list_session_notes(session["id"]))
        assert [n.message for n in notes.value] == ["which database?"]

        reused = await client.call_tool("update_session", {**arguments, "note": "something else"})
        assert reused.is_error
        assert "already used for a different request" in str(reused.content)


async def test_update_task_with_release_is_one_transaction(core: Core, maestro: MaestroMCP) -> None:
    task_id = await _seed(core)
    async with Client(maestro.server) as client:
        session = (await call(client, "start_session", name="work"))["session"]
        request = ClaimRequest(session_id=session["id"])
        grant = (await core.write(lambda: core.service.claim_task(task_id, request))).value

        # A wrong token: neither the title change nor the release is kept.
        before = await core.read(core.service.head)
        refused = await client.call_tool(
            "update_task",
            {"taskId": task_id, "status": "in_review", "claimToken": "clm_x", "release": True},
        )
        assert refused.is_error
        assert await _log_after(core, before) == []

        released = await call(
            client,
            "update_task",
            taskId=task_id,
            title="handed back",
            claimToken=grant.claim_token,
            release=True,
        )
        assert released["task"]["title"] == "handed back"
        assert released["task"]["claimedBy"] is None
        events = await _log_after(core, before)
        assert events == ["task:updated", "task:updated", "task:released"]
        assert released["seq"] == before + len(events)
