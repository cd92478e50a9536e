"""One walk through every tool and every resource, run against each transport and mode."""

import json
from typing import Any

from mcp import Client
from mcp.types import TextResourceContents

TOOL_NAMES = {
    "list_projects",
    "create_project",
    "create_task",
    "update_task",
    "delete_task",
    "list_tasks",
    "get",
    "start_session",
    "update_session",
    "claim_tasks",
    "changes_since",
}


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    content: dict[str, Any] | None = result.structured_content
    assert content is not None
    return content


async def read_json(client: Client, uri: str) -> Any:
    result = await client.read_resource(uri)
    [content] = result.contents
    assert isinstance(content, TextResourceContents)
    return json.loads(content.text) if content.mime_type == "application/json" else content.text


async def every_tool_and_resource(client: Client) -> dict[str, Any]:
    """Calls every tool and reads every resource; returns the ids it made."""
    tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == TOOL_NAMES

    project = (await call(client, "create_project", name="Demo", requestId="p-1"))["project"]
    again = (await call(client, "create_project", name="Demo", requestId="p-1"))["project"]
    assert again == project
    assert [p["id"] for p in (await call(client, "list_projects"))["projects"]] == [project["id"]]

    created = await call(client, "create_task", title="Implement login", priority="high")
    assert created["project"] == {"id": project["id"], "name": "Demo"}
    task = created["task"]
    sub = await call(
        client, "create_task", title="Write tests", project="Demo", parentId=task["id"]
    )
    updated = await call(
        client, "update_task", taskId=task["id"], status="in_progress", expectedVersion=1
    )
    assert updated["task"]["status"] == "in_progress"
    assert updated["task"]["version"] == 2

    found = await call(client, "list_tasks", query="login")
    assert [t["id"] for t in found["tasks"]] == [task["id"]]
    assert found["project"]["name"] == "Demo"

    session = (
        await call(
            client, "start_session", name="login work", agent="claude-code", taskIds=[task["id"]]
        )
    )["session"]
    assert session["taskIds"] == [task["id"]]
    assert session["status"] == "working"
    await call(client, "update_session", sessionId=session["id"], addTasks=[sub["task"]["id"]])
    noted = await call(
        client, "update_session", sessionId=session["id"], note="form done", requestId="n-1"
    )
    await call(client, "update_session", sessionId=session["id"], note="form done", requestId="n-1")
    assert noted["session"]["taskIds"] == [task["id"], sub["task"]["id"]]

    item = await call(client, "get", id=session["id"])
    assert [n["message"] for n in item["notes"]] == ["form done"]
    item = await call(client, "get", id=task["id"])
    assert item["task"]["sessionIds"] == [session["id"]]

    changes = await call(client, "changes_since", since=0, limit=3)
    assert [e["seq"] for e in changes["events"]] == [1, 2, 3]
    assert changes["nextSince"] == 3

    board = await read_json(client, f"maestro://projects/{project['id']}/board")
    assert {t["id"] for t in board["tasks"]} == {task["id"], sub["task"]["id"]}
    assert [s["id"] for s in board["sessions"]] == [session["id"]]
    assert (await read_json(client, f"maestro://tasks/{task['id']}"))["title"] == "Implement login"
    read_session = await read_json(client, f"maestro://sessions/{session['id']}")
    assert read_session["notes"][0]["message"] == "form done"
    assert "start_session" in await read_json(client, "maestro://guide")

    await call(client, "update_session", sessionId=session["id"], removeTasks=[sub["task"]["id"]])
    deleted = await call(client, "delete_task", taskId=sub["task"]["id"])
    assert deleted["deleted"] == sub["task"]["id"]

    # Coordination: dependencies, ready work, a claim and its token.
    first = (await call(client, "create_task", title="schema", labels=["db"]))["task"]
    second = (await call(client, "create_task", title="api", dependsOn=[first["id"]]))["task"]
    ready = await call(client, "list_tasks", ready=True)
    assert first["id"] in [t["id"] for t in ready["tasks"]]
    assert second["id"] not in [t["id"] for t in ready["tasks"]]
    claimed = await call(client, "claim_tasks", sessionId=session["id"], labels=["db"])
    [grant] = claimed["claims"]
    assert grant["task"]["id"] == first["id"]
    assert grant["task"]["claimedBy"] == session["id"]
    refused = await client.call_tool(
        "update_task", {"taskId": first["id"], "status": "completed", "claimToken": "clm_forged"}
    )
    assert refused.is_error
    done = await call(
        client,
        "update_task",
        taskId=first["id"],
        status="completed",
        claimToken=grant["claimToken"],
    )
    assert done["task"]["claimedBy"] is None
    taken = await call(client, "claim_tasks", sessionId=session["id"], taskId=second["id"])
    assert taken["claims"][0]["task"]["status"] == "in_progress"
    released = await call(
        client,
        "update_task",
        taskId=second["id"],
        release=True,
        claimToken=taken["claims"][0]["claimToken"],
    )
    assert released["task"]["status"] == "pending"
    return {"project": project["id"], "task": task["id"], "session": session["id"]}
