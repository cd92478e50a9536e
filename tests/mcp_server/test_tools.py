"""The MCP surface through the SDK's in-memory client: every tool, every resource, both eras."""

import json

import pytest
from mcp import Client

from maestro_mcp.mcp_server import MaestroMCP
from tests.mcp_server.scenario import call, every_tool_and_resource

pytestmark = pytest.mark.anyio

TOOLS_LIST_BUDGET = 16 * 1024
MAX_TOOLS = 12


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_every_tool_and_resource(maestro: MaestroMCP, mode: str) -> None:
    async with Client(maestro.server, mode=mode) as client:
        expected = "2025-11-25" if mode == "legacy" else "2026-07-28"
        assert client.protocol_version == expected
        await every_tool_and_resource(client)


async def test_tools_list_is_small(maestro: MaestroMCP) -> None:
    async with Client(maestro.server) as client:
        tools = (await client.list_tools()).tools
    payload = json.dumps(
        {"tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]},
        separators=(",", ":"),
    )
    assert len(tools) <= MAX_TOOLS
    assert len(payload.encode()) < TOOLS_LIST_BUDGET, len(payload)
    for tool in tools:
        assert tool.annotations is not None, tool.name
        assert tool.output_schema is not None, tool.name
        assert tool.description
        assert len(tool.description) <= 120, tool.name


async def test_annotations_tell_reads_from_writes(maestro: MaestroMCP) -> None:
    async with Client(maestro.server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("list_projects", "list_tasks", "get", "changes_since"):
        assert tools[name].annotations.read_only_hint is True  # type: ignore[union-attr]
    assert tools["delete_task"].annotations.destructive_hint is True  # type: ignore[union-attr]
    assert tools["create_task"].annotations.destructive_hint is False  # type: ignore[union-attr]


async def test_version_conflict_says_what_to_do(maestro: MaestroMCP) -> None:
    async with Client(maestro.server) as client:
        await call(client, "create_project", name="Demo")
        task = (await call(client, "create_task", title="t"))["task"]
        await call(client, "update_task", taskId=task["id"], title="a human's edit")
        stale = await client.call_tool(
            "update_task", {"taskId": task["id"], "status": "completed", "expectedVersion": 1}
        )
    assert stale.is_error
    text = stale.content[0].text  # type: ignore[union-attr]
    assert "version 2, not 1" in text
    assert "expectedVersion=2" in text


async def test_invalid_input_is_a_tool_error_the_model_can_read(maestro: MaestroMCP) -> None:
    async with Client(maestro.server) as client:
        await call(client, "create_project", name="Demo")
        bad_status = await client.call_tool("create_task", {"title": "t", "status": "done-ish"})
        assert bad_status.is_error
        assert "pending" in bad_status.content[0].text  # type: ignore[union-attr]
        unknown = await client.call_tool("get", {"id": "task_nope"})
        assert unknown.is_error
        assert "task_nope not found" in unknown.content[0].text  # type: ignore[union-attr]


async def test_project_must_be_named_when_ambiguous(maestro: MaestroMCP) -> None:
    async with Client(maestro.server) as client:
        await call(client, "create_project", name="One")
        await call(client, "create_project", name="Two")
        result = await client.call_tool("create_task", {"title": "t"})
        assert result.is_error
        assert "One (proj_" in result.content[0].text  # type: ignore[union-attr]
        created = await call(client, "create_task", title="t", project="two")
        assert created["project"]["name"] == "Two"


async def test_request_id_makes_a_retry_harmless(maestro: MaestroMCP) -> None:
    async with Client(maestro.server) as client:
        await call(client, "create_project", name="Demo")
        first = await call(client, "create_task", title="once", requestId="r1")
        retry = await call(client, "create_task", title="once", requestId="r1")
        assert retry == first
        assert len((await call(client, "list_tasks"))["tasks"]) == 1
