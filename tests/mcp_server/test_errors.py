"""Every mistake an agent makes is answered with what was wrong and what to do, over
every transport: the field by its parameter name, the rule, no pydantic report."""

from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client

from maestro_mcp.core.group_commit import GroupCommit
from maestro_mcp.core.storage import OutcomeUnknown, StoreUnavailable
from maestro_mcp.mcp_server import MaestroMCP
from tests.support.mcp import call, refused, task_and_subtask, unique

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("tool", "arguments", "said"),
    [
        (
            "create_tasks",
            {"tasks": [{"title": "   "}]},
            "invalid input: tasks.0.title: String should have at least 1",
        ),
        (
            "create_tasks",
            {"tasks": [{"title": "t", "labels": [""]}]},
            "invalid input: tasks.0.labels.0: String should",
        ),
        (
            "create_tasks",
            {"tasks": [{"title": "t", "labels": ["x" * 300]}]},
            "tasks.0.labels.0: String should have at most",
        ),
        (
            "create_tasks",
            {"tasks": [{"title": "t", "priority": "super"}]},
            "tasks.0.priority: Input should be 'low', ",
        ),
        ("update_session", {"sessionId": ""}, "sessionId: String should have at least 1"),
        (
            "update_session",
            {"sessionId": "sess_x", "ask": {"text": "ok?", "timeoutSeconds": 60}},
            "ask: Value error, a question with timeoutSeconds needs a default",
        ),
        ("message", {"sessionId": "sess_x", "body": " "}, "body: String should have at least 1"),
        (
            "list_tasks",
            {"limit": 100_000},
            "invalid input: limit: Input should be less than or equal",
        ),
        ("create_project", {"name": "  "}, "invalid input: name: String should have at least 1"),
    ],
)
async def test_invalid_arguments_name_the_field_and_the_rule(
    mcp_client: Client, tool: str, arguments: dict[str, object], said: str
) -> None:
    project, _, _ = await task_and_subtask(mcp_client)
    if tool in ("create_tasks", "list_tasks"):
        arguments = {**arguments, "project": project}
    message = await refused(mcp_client, tool, **arguments)
    assert said in message
    assert "pydantic" not in message
    assert "validation error for" not in message


async def test_mistakes_are_answered_with_what_to_do(mcp_client: Client) -> None:
    project, task, _ = await task_and_subtask(mcp_client)
    as_task = await refused(mcp_client, "get", id=project)
    assert (
        "is a project id: get takes a task_…, sess_…, msg_… or ques_… id (list_projects" in as_task
    )
    by_title = await refused(
        mcp_client, "update_task", taskId=task["id"], dependsOn=["Write tests"]
    )
    assert "dependsOn takes task ids (task_…), not titles: 'Write tests' is not one" in by_title
    in_a_plan = await refused(
        mcp_client,
        "create_tasks",
        tasks=[{"title": "t", "dependsOn": ["Write tests"]}],
        project=project,
    )
    assert "names 'Write tests', which is neither the ref of an earlier task" in in_a_plan
    blank_name = await refused(mcp_client, "start_session", name=" ", project=project)
    assert "invalid input: name: String should have at least 1 character" in blank_name


async def test_a_nul_character_is_refused_with_the_field(mcp_client: Client) -> None:
    project, task, _ = await task_and_subtask(mcp_client)
    refusal = await refused(
        mcp_client, "create_tasks", tasks=[{"title": "a\x00b"}], project=project
    )
    assert "title: Value error, text may not contain the NUL character" in refusal
    by_id = await refused(mcp_client, "get", id=task["id"] + "\x00")
    assert "NUL character" in by_id or "not found" in by_id  # PostgreSQL, SQLite


async def test_an_empty_filter_means_no_filter(mcp_client: Client) -> None:
    project, task, sub = await task_and_subtask(mcp_client)
    everything = await call(mcp_client, "list_tasks", project=project, parentId="", label="")
    assert {t["id"] for t in everything["tasks"]} == {task["id"], sub["id"]}
    session = (await call(mcp_client, "start_session", name=unique("s"), project=project))[
        "session"
    ]
    claimed = await call(mcp_client, "claim_tasks", sessionId=session["id"], parentId="")
    assert [c["task"]["id"] for c in claimed["claims"]] == [task["id"]]


async def test_a_seq_past_the_head_is_said_to_be(mcp_client: Client) -> None:
    changes = await call(mcp_client, "changes_since", since=10**12)
    assert changes["events"] == []
    assert changes["nextSince"] == changes["head"]
    assert f"seq {10**12} is past the newest ({changes['head']})" in changes["note"]


async def test_a_taken_project_name_is_refused_naming_the_project(mcp_client: Client) -> None:
    name = unique("Taken")
    first = (await call(mcp_client, "create_project", name=name))["project"]
    taken = await refused(mcp_client, "create_project", name=name.upper())
    assert f"exists already: {first['id']}; use it" in taken
    second = await call(mcp_client, "create_project", name=name, allowDuplicate=True)
    assert second["project"]["id"] != first["id"]


@pytest.mark.parametrize(
    ("lost", "said"),
    [
        (StoreUnavailable("down"), "nothing was changed. Retry the same call"),
        (OutcomeUnknown("lost at COMMIT"), "may or may not have been made. In a moment, look"),
    ],
)
async def test_a_database_away_is_said_with_what_happened_to_the_change(
    maestro: MaestroMCP, monkeypatch: pytest.MonkeyPatch, lost: Exception, said: str
) -> None:
    async def away(self: GroupCommit, operation: Callable[[], Any], **_: Any) -> Any:
        raise lost

    monkeypatch.setattr(GroupCommit, "run", away)
    async with Client(maestro.server) as client:
        assert said in await refused(client, "create_project", name=unique("p"))
