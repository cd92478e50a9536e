"""What a model sees of the tools, over every transport: names, size, hints, era, errors."""

import json

import pytest
from mcp import Client

from tests.support.mcp import TOOL_NAMES, Transport, call, new_task, refused, unique

pytestmark = pytest.mark.anyio

TOOLS_LIST_BUDGET = 10 * 1024  # ≈ 2.5k tokens, in the model's context on every turn
MAX_TOOLS = 12


async def test_tools_list_is_small_complete_and_annotated(
    mcp_client: Client, transport: Transport
) -> None:
    assert mcp_client.protocol_version == transport.protocol_version
    tools = (await mcp_client.list_tools()).tools
    assert {t.name for t in tools} == TOOL_NAMES
    payload = json.dumps(
        {"tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]},
        separators=(",", ":"),
        ensure_ascii=False,  # as on the wire: UTF-8
    )
    assert len(tools) <= MAX_TOOLS
    assert len(payload.encode()) < TOOLS_LIST_BUDGET, len(payload)
    for tool in tools:
        assert tool.annotations is not None, tool.name
        assert tool.title, tool.name
        # Results are one compact JSON text: no structured copy, no output schema.
        assert tool.output_schema is None, tool.name
        assert tool.description
        assert len(tool.description) <= 120, tool.name

    # The hints tell reads from writes.
    by_name = {t.name: t for t in tools}
    for name in ("list_projects", "list_tasks", "get", "changes_since"):
        assert by_name[name].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert by_name["delete_task"].annotations.destructive_hint is True  # type: ignore[union-attr]
    assert by_name["create_tasks"].annotations.destructive_hint is False  # type: ignore[union-attr]
    # Only true hints are said (readOnlyHint defaults to false): the reads are the writes'
    # complement.
    writes = {n for n, t in by_name.items() if not (t.annotations and t.annotations.read_only_hint)}
    assert writes == TOOL_NAMES - {"list_projects", "list_tasks", "get", "changes_since"}
    # Idempotent only where the same call again changes nothing more, requestId or not.
    idempotent = {n for n, t in by_name.items() if t.annotations and t.annotations.idempotent_hint}
    assert idempotent == {"update_task", "delete_task"}


async def test_errors_say_what_went_wrong_and_what_to_do(mcp_client: Client) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Demo")))["project"]
    task = await new_task(mcp_client, project["id"], title="t")
    await call(mcp_client, "update_task", taskId=task["id"], title="a human's edit")
    stale = await refused(
        mcp_client, "update_task", taskId=task["id"], status="completed", expectedVersion=1
    )
    assert "version 2, not 1" in stale
    assert "expectedVersion=2" in stale

    # Invalid input is a tool error the model can read, not a protocol error.
    bad_status = await refused(mcp_client, "update_task", taskId=task["id"], status="done-ish")
    assert "pending" in bad_status
    # A task is created pending: a draft's status is no field of it, and is said so.
    started = await refused(
        mcp_client,
        "create_tasks",
        tasks=[{"title": "t", "status": "in_progress"}],
        project=project["id"],
    )
    assert "invalid input: tasks.0.status: Extra inputs are not permitted" in started
    assert "task_nope not found" in await refused(mcp_client, "get", id="task_nope")
