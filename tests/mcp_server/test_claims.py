"""Coordination over every transport: dependencies, ready work, claims and their tokens."""

import pytest
from mcp import Client

from tests.support.mcp import call, refused, unique

pytestmark = pytest.mark.anyio


async def test_claim_ready_work_and_finish_or_release_it_with_the_token(
    mcp_client: Client,
) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Demo")))["project"]["id"]
    session = (await call(mcp_client, "start_session", name="worker", project=project))["session"]
    first = (await call(mcp_client, "create_task", title="schema", labels=["db"], project=project))[
        "task"
    ]
    second = (
        await call(mcp_client, "create_task", title="api", dependsOn=[first["id"]], project=project)
    )["task"]
    ready = await call(mcp_client, "list_tasks", ready=True, project=project)
    assert first["id"] in [t["id"] for t in ready["tasks"]]
    assert second["id"] not in [t["id"] for t in ready["tasks"]]

    claimed = await call(mcp_client, "claim_tasks", sessionId=session["id"], labels=["db"])
    [grant] = claimed["claims"]
    assert grant["task"]["id"] == first["id"]
    assert grant["task"]["claimedBy"] == session["id"]
    await refused(
        mcp_client, "update_task", taskId=first["id"], status="completed", claimToken="clm_forged"
    )
    done = await call(
        mcp_client,
        "update_task",
        taskId=first["id"],
        status="completed",
        claimToken=grant["claimToken"],
    )
    assert done["task"]["claimedBy"] is None

    taken = await call(mcp_client, "claim_tasks", sessionId=session["id"], taskId=second["id"])
    assert taken["claims"][0]["task"]["status"] == "in_progress"
    released = await call(
        mcp_client,
        "update_task",
        taskId=second["id"],
        release=True,
        claimToken=taken["claims"][0]["claimToken"],
    )
    assert released["task"]["status"] == "pending"
