"""Coordination over every transport: dependencies, ready work, claims and their tokens."""

import pytest
from mcp import Client

from tests.support.mcp import call, new_task, refused, unique

pytestmark = pytest.mark.anyio


async def test_claim_ready_work_and_finish_or_release_it_with_the_token(
    mcp_client: Client,
) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Demo")))["project"]["id"]
    session = (await call(mcp_client, "start_session", name="worker", project=project))["session"]
    first = await new_task(mcp_client, project, title="schema", labels=["db"])
    second = await new_task(mcp_client, project, title="api", dependsOn=[first["id"]])
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
    assert "claimedBy" not in done["task"]  # empty fields are left out

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


async def test_an_agent_cannot_get_its_claim_wrong(mcp_client: Client) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Fence")))["project"]["id"]
    me = (await call(mcp_client, "start_session", name="me", project=project))["session"]["id"]
    schema = await new_task(mcp_client, project, title="schema")
    api = await new_task(mcp_client, project, title="api", dependsOn=[schema["id"]])

    # Nothing ready: the result says why, naming what the waiting task waits on.
    await call(mcp_client, "claim_tasks", sessionId=me, taskId=schema["id"])
    nothing = await call(mcp_client, "claim_tasks", sessionId=me)
    assert nothing["claims"] == []
    assert nothing["nothingReady"]["blockers"] == [schema["id"]]
    assert f"{schema['id']} (“schema”)" in nothing["nothingReady"]["message"]

    # A claim links: "my tasks" is one filter.
    mine = await call(mcp_client, "list_tasks", sessionId=me, project=project)
    assert [t["id"] for t in mine["tasks"]] == [schema["id"]]

    # Lost the token (a compacted context)? Claiming again gives the same claim back.
    first = (await call(mcp_client, "claim_tasks", sessionId=me, taskId=schema["id"]))["claims"]
    again = (await call(mcp_client, "claim_tasks", sessionId=me, taskId=schema["id"]))["claims"]
    assert again[0]["claimToken"] == first[0]["claimToken"]
    token = again[0]["claimToken"]

    # Dependencies hold: the waiting task cannot start, and the message says why.
    waiting = await refused(mcp_client, "update_task", taskId=api["id"], status="in_progress")
    assert f"waits for {schema['id']} to be completed; complete those first" in waiting
    assert "override" not in waiting  # an agent has no override: it is not offered one

    # Released (here by the agent itself), the token is fenced off, and says so.
    await call(mcp_client, "update_task", taskId=schema["id"], release=True, claimToken=token)
    lost = await refused(
        mcp_client, "update_task", taskId=schema["id"], status="completed", claimToken=token
    )
    assert f"your claim on task {schema['id']} ended at " in lost
    assert "it was released; claim the task again to go on" in lost
    assert "override" not in lost


async def test_a_claim_carries_what_the_agent_needs_to_start(mcp_client: Client) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Start")))["project"]["id"]
    me = (await call(mcp_client, "start_session", name="me", project=project))["session"]["id"]
    base = await new_task(mcp_client, project, title="base")
    await call(mcp_client, "update_task", taskId=base["id"], status="completed")
    task = await new_task(
        mcp_client,
        project,
        title="login form",
        description="the form only",
        prompt="use the design system",
        labels=["web"],
        dependsOn=[base["id"]],
    )
    assert task["labels"] == ["web"]  # summaries say what a task waits on and carries
    assert task["dependsOn"] == [base["id"]]
    [grant] = (await call(mcp_client, "claim_tasks", sessionId=me))["claims"]
    assert grant["task"]["description"] == "the form only"
    assert grant["task"]["prompt"] == "use the design system"
    assert grant["task"]["dependsOn"] == [base["id"]]
    assert grant["expiresAt"].endswith("Z")  # times read as ISO 8601 UTC
