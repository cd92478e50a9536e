"""Tasks over every transport: create, update with a version, find, retry harmlessly."""

import pytest
from mcp import Client

from maestro_mcp.mcp_server import MaestroMCP
from tests.support.core import told_group_commit
from tests.support.mcp import call, new_task, refused, unique

pytestmark = pytest.mark.anyio


async def test_create_update_and_find_tasks(mcp_client: Client) -> None:
    name = unique("Demo")
    project = (await call(mcp_client, "create_project", name=name))["project"]
    created = await call(
        mcp_client,
        "create_tasks",
        tasks=[{"title": "Implement login", "priority": "high"}],
        project=project["id"],
    )
    assert created["project"] == {"id": project["id"], "name": name}
    [task] = created["tasks"]
    assert task["status"] == "pending"  # a task is created pending
    sub = await call(
        mcp_client,
        "create_tasks",
        tasks=[{"title": "Write tests", "parentId": task["id"]}],
        project=name,
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
    once = [{"title": "once"}]
    first = await call(mcp_client, "create_tasks", tasks=once, requestId=key, project=project["id"])
    retry = await call(mcp_client, "create_tasks", tasks=once, requestId=key, project=project["id"])
    assert retry == first
    assert len((await call(mcp_client, "list_tasks", project=project["id"]))["tasks"]) == 1


async def test_a_plan_in_one_call(mcp_client: Client) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Plan")))["project"]["id"]
    tasks = [
        {"ref": "schema", "title": "Design the schema", "priority": "high"},
        {"ref": "api", "title": "Build the API", "dependsOn": ["schema"]},
        {"title": "API tests", "parentId": "api", "dependsOn": ["schema"], "labels": ["qa"]},
    ]
    key = unique("plan")
    planned = await call(mcp_client, "create_tasks", tasks=tasks, project=project, requestId=key)
    schema, api, tests = planned["tasks"]
    assert api["dependsOn"] == [schema["id"]]
    assert tests["parentId"] == api["id"]
    again = await call(mcp_client, "create_tasks", tasks=tasks, project=project, requestId=key)
    assert again == planned  # the same plan, once
    bad = await refused(
        mcp_client,
        "create_tasks",
        tasks=[{"title": "x", "dependsOn": ["later"]}, {"ref": "later", "title": "y"}],
        project=project,
    )
    assert "names 'later', a task later in the batch" in bad


async def test_list_tasks_pages_with_a_cursor(mcp_client: Client) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Pages")))["project"]["id"]
    titles = [f"task {n}" for n in range(7)]
    await call(mcp_client, "create_tasks", tasks=[{"title": t} for t in titles], project=project)
    seen: list[str] = []
    page = await call(mcp_client, "list_tasks", project=project, limit=3)
    while True:
        seen += [t["title"] for t in page["tasks"]]
        if "nextCursor" not in page:
            assert page["truncated"] is False
            break
        assert page["truncated"] is True
        page = await call(
            mcp_client, "list_tasks", project=project, limit=3, cursor=page["nextCursor"]
        )
    assert seen == titles  # every task once, in creation order
    gone = await refused(mcp_client, "list_tasks", project=project, cursor="task_deleted")
    assert "no longer exists: list again from the start" in gone


async def test_a_change_to_a_task_names_it_to_group_commit(
    maestro: MaestroMCP, monkeypatch: pytest.MonkeyPatch
) -> None:
    """update_task and delete_task say which task they read first (core/group_commit.py)."""
    async with Client(maestro.server) as client:
        project = (await call(client, "create_project", name=unique("Demo")))["project"]
        task = await new_task(client, project["id"], title="t")
        told = told_group_commit(monkeypatch)
        await call(client, "update_task", taskId=task["id"], title="t2")
        await call(client, "delete_task", taskId=task["id"])
    assert told == [(task["id"],), (task["id"],)]
