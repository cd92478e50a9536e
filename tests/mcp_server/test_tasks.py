"""Tasks over every transport: create, update with a version, find, retry harmlessly."""

import pytest
from mcp import Client

from tests.support.mcp import call, unique

pytestmark = pytest.mark.anyio


async def test_create_update_and_find_tasks(mcp_client: Client) -> None:
    name = unique("Demo")
    project = (await call(mcp_client, "create_project", name=name))["project"]
    created = await call(
        mcp_client, "create_task", title="Implement login", priority="high", project=project["id"]
    )
    assert created["project"] == {"id": project["id"], "name": name}
    task = created["task"]
    sub = await call(
        mcp_client, "create_task", title="Write tests", project=name, parentId=task["id"]
    )
    assert sub["project"]["id"] == project["id"]
    updated = await call(
        mcp_client, "update_task", taskId=task["id"], status="in_progress", expectedVersion=1
    )
    assert updated["task"]["status"] == "in_progress"
    assert updated["task"]["version"] == 2

    found = await call(mcp_client, "list_tasks", query="login", project=project["id"])
    assert [t["id"] for t in found["tasks"]] == [task["id"]]
    assert found["project"]["name"] == name


async def test_request_id_makes_a_retry_harmless(mcp_client: Client) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Demo")))["project"]
    key = unique("r1")
    first = await call(
        mcp_client, "create_task", title="once", requestId=key, project=project["id"]
    )
    retry = await call(
        mcp_client, "create_task", title="once", requestId=key, project=project["id"]
    )
    assert retry == first
    assert len((await call(mcp_client, "list_tasks", project=project["id"]))["tasks"]) == 1
