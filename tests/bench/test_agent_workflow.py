"""The agent workflow benchmark runs, and its counts hold what docs/mcp.md promises:
no get after a claim, a small tools/list."""

from pathlib import Path

import pytest

from bench.agent_workflow import measure

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


async def test_the_workflow_needs_no_get_after_a_claim() -> None:
    tally = await measure(ROOT)
    # 1 get: the version conflict's re-read; none after the five claims.
    assert tally.calls == 26  # two changes_since pages to reach the head
    assert tally.tools_list_bytes <= 10 * 1024
    assert "create_tasks" in tally.by_tool
