"""What an agent's work costs in calls and bytes over MCP: one scripted workflow.

An agent discovers the tools, plans five tasks with dependencies, starts a session,
then claims, reads, reports on and completes each task in turn, meets one version
conflict on the way (someone else edited a task) and recovers, and finally catches
up with what changed. Everything goes through ``maestro mcp`` over stdio, as a host
runs it; bytes are counted as JSON: each request's tool name and arguments, each
result's content (text and any structured copy), and ``tools/list`` once.

The script adapts to what the server offers, so it measures an older Maestro as an
agent would use it: without ``create_tasks`` it creates the tasks one by one, and when
a claim does not carry the task's description and prompt it calls ``get`` for them.

    python -m bench.agent_workflow              # this checkout
    python -m bench.agent_workflow --tree DIR   # another checkout's server, same script
"""

import argparse
import asyncio
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.types import TextContent

PLAN: list[dict[str, Any]] = [
    {"ref": "schema", "title": "Design the users schema", "description": "Tables and indexes."},
    {"ref": "api", "title": "Build the login API", "dependsOn": ["schema"]},
    {"ref": "form", "title": "Build the login form", "dependsOn": ["api"]},
    {"ref": "tests", "title": "Write the login tests", "dependsOn": ["api", "form"]},
    {"ref": "docs", "title": "Document the login flow", "dependsOn": ["tests"]},
]


@dataclass
class Tally:
    calls: int = 0
    request_bytes: int = 0
    result_bytes: int = 0
    tools_list_bytes: int = 0
    structured_bytes: int = 0  # a second, structured copy of results (older servers)
    by_tool: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.request_bytes + self.result_bytes + self.tools_list_bytes


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


class Agent:
    def __init__(self, client: Client, tally: Tally) -> None:
        self.client = client
        self.tally = tally

    async def call(self, tool: str, ok: bool = True, **arguments: Any) -> dict[str, Any]:
        result = await self.client.call_tool(tool, arguments)
        self.tally.calls += 1
        self.tally.request_bytes += _size({"name": tool, "arguments": arguments})
        # What the model reads: the text. A structured copy is counted apart (hosts differ
        # in whether they pass it on), so the comparison is text against text.
        size = sum(len(c.text.encode()) for c in result.content if isinstance(c, TextContent))
        if result.structured_content is not None:
            self.tally.structured_bytes += _size(result.structured_content)
        self.tally.result_bytes += size
        self.tally.by_tool[tool] = self.tally.by_tool.get(tool, 0) + size
        assert result.is_error != ok, (tool, result.content)
        if result.structured_content is not None:
            return dict(result.structured_content)
        text = result.content[0]
        assert isinstance(text, TextContent)
        return json.loads(text.text) if ok else {"error": text.text}


async def workflow(client: Client) -> Tally:
    tally = Tally()
    tools = (await client.list_tools()).tools
    tally.tools_list_bytes = _size(
        {"tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]}
    )
    names = {t.name for t in tools}
    older = "create_tasks" not in names  # a server from before planning in one call
    agent = Agent(client, tally)
    await agent.call("list_projects")
    await agent.call("create_project", name="Web app", requestId="project-1")
    if not older:
        await agent.call("create_tasks", tasks=PLAN, requestId="plan-1")
    else:
        ids: dict[str, str] = {}
        for n, draft in enumerate(PLAN):
            fields = {k: v for k, v in draft.items() if k not in ("ref", "dependsOn")}
            depends = [ids[d] for d in draft.get("dependsOn", [])]
            made = await agent.call("create_task", **fields, dependsOn=depends, requestId=f"t{n}")
            ids[str(draft["ref"])] = made["task"]["id"]
    session = (await agent.call("start_session", name="login", agent="bench"))["session"]
    seq = 0
    claims_carry_text: bool | None = None  # told by the first claim (its task has text)
    for n in range(len(PLAN)):
        claimed = await agent.call("claim_tasks", sessionId=session["id"])
        [grant] = claimed["claims"]
        task = grant["task"]
        if claims_carry_text is None:
            claims_carry_text = "description" in task
        if not claims_carry_text:
            await agent.call("get", id=task["id"])  # the claim named the task only
        await agent.call("update_session", sessionId=session["id"], note=f"working on {n}")
        if n == 2:  # someone else edits the task meanwhile: a version conflict
            stale = task["version"]
            await agent.call("update_task", taskId=task["id"], priority="high")
            await agent.call(
                "update_task", ok=False, taskId=task["id"], title="x", expectedVersion=stale
            )
            fresh = (await agent.call("get", id=task["id"]))["task"]
            await agent.call(
                "update_task", taskId=task["id"], title="x", expectedVersion=fresh["version"]
            )
        done = await agent.call(
            "update_task", taskId=task["id"], status="completed", claimToken=grant["claimToken"]
        )
        seq = done["seq"]
    since = 0
    while True:  # catch up to the head, page by page
        page = await agent.call("changes_since", since=since)
        since = page["nextSince"]
        if since >= page["head"]:
            break
    await agent.call("update_session", sessionId=session["id"], status="completed")
    assert seq > 0
    return tally


async def measure(tree: Path) -> Tally:
    with tempfile.TemporaryDirectory() as tmp:
        server = StdioServerParameters(
            command=sys.executable,
            args=["-m", "maestro_mcp", "mcp", "--db", str(Path(tmp) / "maestro.db")],
            cwd=str(tree),
        )
        async with Client(server) as client:
            return await workflow(client)


def report(tally: Tally) -> str:
    lines = [
        f"calls: {tally.calls}",
        f"tools/list: {tally.tools_list_bytes:,} B",
        f"requests: {tally.request_bytes:,} B",
        f"results: {tally.result_bytes:,} B (text)",
        f"total: {tally.total:,} B",
        f"structured copies (not in total): {tally.structured_bytes:,} B",
        "results by tool: " + ", ".join(f"{k} {v:,} B" for k, v in sorted(tally.by_tool.items())),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=Path.cwd(), help="the checkout to serve")
    args = parser.parse_args()
    print(report(asyncio.run(measure(args.tree.resolve()))))
