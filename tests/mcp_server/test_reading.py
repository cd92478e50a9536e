"""Reading over every transport: the change log page by page, the resources, the guide."""

import pytest
from mcp import Client

from tests.support.mcp import call, new_task, read_json, task_and_subtask, unique

pytestmark = pytest.mark.anyio


async def test_changes_since_pages_through_the_log(mcp_client: Client) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Demo")))["project"]["id"]
    for title in ("a", "b"):
        await new_task(mcp_client, project, title=title)
    changes = await call(mcp_client, "changes_since", since=0, limit=3)
    assert [e["seq"] for e in changes["events"]] == [1, 2, 3]
    assert changes["nextSince"] == 3


async def test_resources_show_the_board_the_items_and_the_guide(mcp_client: Client) -> None:
    project, task, sub = await task_and_subtask(mcp_client)
    session = (
        await call(
            mcp_client, "start_session", name="login work", taskIds=[task["id"]], project=project
        )
    )["session"]
    await call(mcp_client, "update_session", sessionId=session["id"], note="form done")

    board = await read_json(mcp_client, f"maestro://projects/{project}/board")
    assert {t["id"] for t in board["tasks"]} == {task["id"], sub["id"]}
    assert [s["id"] for s in board["sessions"]] == [session["id"]]
    assert (await read_json(mcp_client, f"maestro://tasks/{task['id']}"))["title"] == (
        "Implement login"
    )
    read_session = await read_json(mcp_client, f"maestro://sessions/{session['id']}")
    assert read_session["notes"][0]["message"] == "form done"
    assert "start_session" in await read_json(mcp_client, "maestro://guide")
