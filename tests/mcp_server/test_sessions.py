"""Sessions over every transport: the tasks they work on, their notes, unlinking."""

import pytest
from mcp import Client

from tests.support.mcp import call, task_and_subtask, unique

pytestmark = pytest.mark.anyio


async def test_a_session_links_tasks_and_keeps_notes(mcp_client: Client) -> None:
    project, task, sub = await task_and_subtask(mcp_client)
    session = (
        await call(
            mcp_client,
            "start_session",
            name="login work",
            agent="claude-code",
            taskIds=[task["id"]],
            project=project,
        )
    )["session"]
    assert session["taskIds"] == [task["id"]]
    assert session["status"] == "working"

    await call(mcp_client, "update_session", sessionId=session["id"], addTasks=[sub["id"]])
    key = unique("n-1")
    noted = await call(
        mcp_client, "update_session", sessionId=session["id"], note="form done", requestId=key
    )
    await call(
        mcp_client, "update_session", sessionId=session["id"], note="form done", requestId=key
    )
    assert noted["session"]["taskIds"] == [task["id"], sub["id"]]

    item = await call(mcp_client, "get", id=session["id"])
    assert [n["message"] for n in item["notes"]] == ["form done"]
    item = await call(mcp_client, "get", id=task["id"])
    assert item["task"]["sessionIds"] == [session["id"]]

    await call(mcp_client, "update_session", sessionId=session["id"], removeTasks=[sub["id"]])
    deleted = await call(mcp_client, "delete_task", taskId=sub["id"])
    assert deleted["deleted"] == sub["id"]
