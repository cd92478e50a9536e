"""Projects over every transport: a retried create makes one, and which project a tool
uses when the agent names none (so each run starts from an empty database)."""

import pytest
from mcp import Client

from tests.support.mcp import call, new_task, refused

pytestmark = [pytest.mark.anyio, pytest.mark.empty_database]


async def test_the_only_project_is_used_unnamed_and_two_must_be_told_apart(
    mcp_client: Client,
) -> None:
    # No project yet: the agent is told what to do first.
    first = await refused(mcp_client, "create_tasks", tasks=[{"title": "t"}])
    assert "there is no project yet: create one with create_project" in first
    project = (await call(mcp_client, "create_project", name="Demo", requestId="p-1"))["project"]
    again = (await call(mcp_client, "create_project", name="Demo", requestId="p-1"))["project"]
    assert again == project
    assert [p["id"] for p in (await call(mcp_client, "list_projects"))["projects"]] == [
        project["id"]
    ]

    created = await call(
        mcp_client, "create_tasks", tasks=[{"title": "Implement login", "priority": "high"}]
    )
    assert created["project"] == {"id": project["id"], "name": "Demo"}
    found = await call(mcp_client, "list_tasks", query="login")
    assert [t["id"] for t in found["tasks"]] == [created["tasks"][0]["id"]]
    assert found["project"]["name"] == "Demo"
    session = await call(mcp_client, "start_session", name="login work")
    assert session["project"]["id"] == project["id"]

    changes = await call(mcp_client, "changes_since", since=0, limit=3)
    assert [e["seq"] for e in changes["events"]] == [1, 2, 3]
    assert changes["nextSince"] == 3

    await call(mcp_client, "create_project", name="Two")
    assert "Demo (proj_" in await refused(mcp_client, "create_tasks", tasks=[{"title": "t"}])
    named = await call(mcp_client, "create_tasks", tasks=[{"title": "t"}], project="two")
    assert named["project"]["name"] == "Two"
    assert await new_task(mcp_client, "two", title="u")
