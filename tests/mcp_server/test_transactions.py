"""One MCP tool call is one transaction, over every transport: all of it or nothing,
in one commit (consecutive seqs), and a requestId replays the whole call."""

from typing import Any

import pytest
from mcp import Client

from tests.support.mcp import call, refused, task_and_subtask, unique

pytestmark = pytest.mark.anyio


async def events_after(client: Client, project: str, seq: int) -> list[str]:
    changes = await call(client, "changes_since", since=seq, project=project, limit=500, full=True)
    return [e["event"] for e in changes["events"]]


async def head(client: Client) -> int:
    head: int = (await call(client, "changes_since", since=0, limit=1))["head"]
    return head


async def started(client: Client, project: str) -> dict[str, Any]:
    session: dict[str, Any] = (await call(client, "start_session", name="work", project=project))[
        "session"
    ]
    return session


async def test_update_session_that_fails_half_way_keeps_nothing(mcp_client: Client) -> None:
    project, task, sub = await task_and_subtask(mcp_client)
    session = await started(mcp_client, project)
    before = await head(mcp_client)
    message = await refused(
        mcp_client,
        "update_session",
        sessionId=session["id"],
        status="needs_input",
        note="halfway there",
        addTasks=[task["id"], sub["id"], "task_does_not_exist"],
    )
    assert "task_does_not_exist not found" in message
    # Nothing of the call was kept: no status, no note, no link, no event.
    assert await events_after(mcp_client, project, before) == []
    kept = await call(mcp_client, "get", id=session["id"])
    assert kept["session"]["status"] == "working"
    assert "taskIds" not in kept["session"]  # empty: left out
    assert kept["session"]["version"] == session["version"]
    assert "notes" not in kept  # none: left out


async def test_update_session_commits_once_and_its_request_id_replays_it(
    mcp_client: Client,
) -> None:
    project, task, _ = await task_and_subtask(mcp_client)
    session = await started(mcp_client, project)
    before = await head(mcp_client)
    arguments: dict[str, Any] = {
        "sessionId": session["id"],
        "status": "needs_input",
        "note": "which database?",
        "addTasks": [task["id"]],
        "requestId": unique("report"),
    }
    first = await call(mcp_client, "update_session", **arguments)
    events = await events_after(mcp_client, project, before)
    assert events == [
        "session:updated",  # the status
        "session:updated",  # the note moved lastActivityAt
        "session:note_added",
        "session:updated",  # the link
        "task:updated",
        "session:task_added",
        "session:updated",  # the heartbeat
    ]
    # One commit: the call's events have consecutive seqs, ending at its seq.
    assert first["seq"] == before + len(events)
    assert first["session"]["status"] == "needs_input"
    assert first["session"]["taskIds"] == [task["id"]]

    again = await call(mcp_client, "update_session", **arguments)
    assert again == first
    assert await head(mcp_client) == first["seq"]  # nothing new was written
    item = await call(mcp_client, "get", id=session["id"])
    assert [n["message"] for n in item["notes"]] == ["which database?"]

    message = await refused(mcp_client, "update_session", **{**arguments, "note": "other"})
    assert "already used for a different request" in message


async def test_update_task_with_release_is_one_transaction(mcp_client: Client) -> None:
    project, task, _ = await task_and_subtask(mcp_client)
    session = await started(mcp_client, project)
    claimed = await call(mcp_client, "claim_tasks", sessionId=session["id"], taskId=task["id"])
    [grant] = claimed["claims"]

    # A wrong token: neither the status change nor the release is kept.
    before = await head(mcp_client)
    await refused(
        mcp_client,
        "update_task",
        taskId=task["id"],
        status="in_review",
        claimToken="clm_forged",
        release=True,
    )
    assert await events_after(mcp_client, project, before) == []

    released = await call(
        mcp_client,
        "update_task",
        taskId=task["id"],
        title="handed back",
        claimToken=grant["claimToken"],
        release=True,
    )
    assert released["task"]["title"] == "handed back"
    assert "claimedBy" not in released["task"]  # empty fields are left out
    events = await events_after(mcp_client, project, before)
    assert events == ["task:updated", "task:updated", "task:released"]
    assert released["seq"] == before + len(events)


async def test_update_session_says_what_was_wrong(mcp_client: Client) -> None:
    project, _, _ = await task_and_subtask(mcp_client)
    session = await started(mcp_client, project)
    blank = await refused(mcp_client, "update_session", sessionId=session["id"], note="   ")
    assert "a note is 1 to 10000 characters" in blank
    empty = await refused(mcp_client, "update_session", sessionId=session["id"], addTasks=[""])
    assert "task  not found" in empty
    blank_name = await refused(mcp_client, "start_session", name=" ", project=project)
    assert "invalid input: name: String should have at least 1 character" in blank_name
