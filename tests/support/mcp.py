"""Calling Maestro's MCP tools and reading its resources through an ``mcp.Client``."""

import json
import secrets
from dataclasses import dataclass
from typing import Any

from mcp import Client
from mcp.types import CallToolResult, TextContent, TextResourceContents

TOOL_NAMES = {
    "list_projects",
    "create_project",
    "create_task",
    "create_tasks",
    "update_task",
    "delete_task",
    "list_tasks",
    "get",
    "start_session",
    "update_session",
    "claim_tasks",
    "changes_since",
}
"""Every tool the server lists, and nothing else."""


# A raw streamable-HTTP exchange, for tests and the bench that speak to /mcp without
# an SDK client: the Accept header the transport requires, and an initialize request.
MCP_ACCEPT = {"Accept": "application/json, text/event-stream"}


def initialize_request(
    client: str = "probe", protocol_version: str = "2025-11-25"
) -> dict[str, Any]:
    """A JSON-RPC ``initialize`` request from a client named ``client``."""
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": protocol_version,
            "capabilities": {},
            "clientInfo": {"name": client, "version": "0"},
        },
    }


@dataclass(frozen=True)
class Transport:
    """How ``mcp_client`` reaches the server: ``memory`` (the SDK's in-memory pair),
    ``http`` (streamable HTTP on a real uvicorn) or ``stdio`` (a ``maestro mcp``
    process); ``mode`` is the client's: "auto" speaks 2026-07-28, "legacy" 2025-11-25."""

    kind: str
    mode: str

    @property
    def protocol_version(self) -> str:
        return "2025-11-25" if self.mode == "legacy" else "2026-07-28"


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """The result of a tool call that must succeed: its one text, compact JSON, parsed
    (the server sends no structured copy: see maestro_mcp/mcp_server/render.py)."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is None
    [content] = result.content
    assert isinstance(content, TextContent)
    assert "\n" not in content.text  # compact
    parsed: dict[str, Any] = json.loads(content.text)
    return parsed


async def refused(client: Client, tool: str, **arguments: Any) -> str:
    """The message of a tool call that must fail as a tool error (which the model reads)."""
    result: CallToolResult = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    [content] = result.content
    assert isinstance(content, TextContent)
    return content.text


async def read_json(client: Client, uri: str) -> Any:
    """A resource's content: parsed if it is JSON, else its text."""
    result = await client.read_resource(uri)
    [content] = result.contents
    assert isinstance(content, TextResourceContents)
    return json.loads(content.text) if content.mime_type == "application/json" else content.text


async def task_and_subtask(client: Client) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A new project of its own (its id), its task "Implement login" and that task's
    subtask "Write tests"."""
    project: str = (await call(client, "create_project", name=unique("Demo")))["project"]["id"]
    task = (await call(client, "create_task", title="Implement login", project=project))["task"]
    sub = await call(
        client, "create_task", title="Write tests", project=project, parentId=task["id"]
    )
    return project, task, sub["task"]


def unique(name: str) -> str:
    """``name`` with a random suffix: a project name or request id no other test uses,
    for tests whose database other tests share."""
    return f"{name}-{secrets.token_hex(4)}"
