"""Calling Maestro's MCP tools and reading its resources through an ``mcp.Client``."""

import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import (
    CallToolResult,
    ResourceUpdatedNotification,
    TextContent,
    TextResourceContents,
)

TOOL_NAMES = {
    "list_projects",
    "create_project",
    "create_tasks",
    "update_task",
    "delete_task",
    "list_tasks",
    "get",
    "start_session",
    "update_session",
    "claim_tasks",
    "message",
    "changes_since",
}
"""Every tool the server lists, and nothing else."""


Answer = Callable[[str, str], Awaitable[None]]
"""A person answering a question: ``await answer(question_id, text)``."""


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


# The newest version of the handshake era (``initialize``, ``resources/subscribe``): what
# a client in "legacy" mode speaks.
HANDSHAKE_ERA = "2025-11-25"


@dataclass(frozen=True)
class Transport:
    """How ``mcp_client`` reaches the server: ``memory`` (the SDK's in-memory pair),
    ``http`` (streamable HTTP on a real uvicorn) or ``stdio`` (a ``maestro mcp``
    process); ``mode`` is the client's: "auto" speaks 2026-07-28, "legacy" 2025-11-25."""

    kind: str
    mode: str

    @property
    def protocol_version(self) -> str:
        return HANDSHAKE_ERA if self.mode == "legacy" else "2026-07-28"


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


async def new_task(client: Client, project: str | None = None, **draft: Any) -> dict[str, Any]:
    """One task made with ``create_tasks`` (``draft``: its fields, camelCase), its summary
    as the result gives it; ``project`` as the tool takes it (None: the default one)."""
    where = {"project": project} if project is not None else {}
    result = await call(client, "create_tasks", tasks=[draft], **where)
    [task] = result["tasks"]
    assert isinstance(task, dict)
    return task


async def task_and_subtask(client: Client) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A new project of its own (its id), its task "Implement login" and that task's
    subtask "Write tests"."""
    project: str = (await call(client, "create_project", name=unique("Demo")))["project"]["id"]
    task = await new_task(client, project, title="Implement login")
    sub = await new_task(client, project, title="Write tests", parentId=task["id"])
    return project, task, sub


NextUri = Callable[[], Awaitable[str]]
"""The URI of the next ``notifications/resources/updated`` a client hears (waits for it)."""


class Ear:
    """What a 2025-era client hears of resource changes: pass ``on_message`` as the
    client's ``message_handler``; ``next_uri`` gives each notified URI, in order. Use it
    as ``async with Ear() as ear`` around the client (it closes its stream)."""

    def __init__(self) -> None:
        self._send, self._receive = anyio.create_memory_object_stream[str](1000)

    async def __aenter__(self) -> "Ear":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._send.aclose()
        await self._receive.aclose()

    async def on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            await self._send.send(str(message.params.uri))

    async def next_uri(self) -> str:
        return await self._receive.receive()


@asynccontextmanager
async def hearing(client: Client, ear: Ear, uris: Sequence[str]) -> AsyncIterator[NextUri]:
    """``client`` subscribed to ``uris`` as its protocol era does it: a 2026 client opens
    a ``subscriptions/listen`` stream (for the block), a 2025-era one calls
    ``resources/subscribe`` (heard through ``ear``, its message handler)."""
    if client.protocol_version != HANDSHAKE_ERA:
        async with client.listen(resource_subscriptions=uris) as subscription:

            async def next_uri() -> str:
                return str(getattr(await subscription.__anext__(), "uri", ""))

            yield next_uri
        return
    for uri in uris:
        with pytest.warns(MCPDeprecationWarning):  # deprecated in the SDK; hosts use it
            await client.subscribe_resource(uri)
    yield ear.next_uri


def unique(name: str) -> str:
    """``name`` with a random suffix: a project name or request id no other test uses,
    for tests whose database other tests share."""
    return f"{name}-{secrets.token_hex(4)}"
