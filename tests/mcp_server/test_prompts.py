"""The prompts a host shows as commands, over every transport: listed with titles, and
each a short text naming the tools in the order an agent uses them."""

import pytest
from mcp import Client
from mcp.types import TextContent

pytestmark = pytest.mark.anyio


async def text_of(client: Client, name: str, arguments: dict[str, str]) -> str:
    result = await client.get_prompt(name, arguments)
    [message] = result.messages
    assert message.role == "user"
    assert isinstance(message.content, TextContent)
    return message.content.text


async def test_prompts_are_listed_with_titles(mcp_client: Client) -> None:
    prompts = {p.name: p for p in (await mcp_client.list_prompts()).prompts}
    assert set(prompts) == {"work_on_next_task", "plan_goal"}
    for prompt in prompts.values():
        assert prompt.title
        assert prompt.description
    [goal] = [a for a in prompts["plan_goal"].arguments or [] if a.required]
    assert goal.name == "goal"


async def test_work_on_the_next_task_walks_the_claim_cycle(mcp_client: Client) -> None:
    text = await text_of(mcp_client, "work_on_next_task", {"project": "web app"})
    steps = ["start_session", "claim_tasks", "update_session", "update_task", "claim_lost"]
    positions = [text.index(step) for step in steps]
    assert positions == sorted(positions)
    assert 'project="web app"' in text
    assert len(text.encode()) < 1500  # it lands in the model's context


async def test_plan_a_goal_asks_for_dependency_ordered_tasks(mcp_client: Client) -> None:
    text = await text_of(mcp_client, "plan_goal", {"goal": "Add OAuth login"})
    assert text.startswith("Plan this goal into tasks on the Maestro board: Add OAuth login")
    assert "create_tasks" in text
    assert "dependsOn" in text
    assert "requestId" in text
    assert len(text.encode()) < 1500
