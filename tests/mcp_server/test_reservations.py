"""File reservations over every transport: ``claim_tasks(paths=…)`` reserves with the
claim, atomically; ``update_session`` reserves and releases apart from claims; a conflict
is a tool error naming the holder and until when; the resources show who holds what."""

import re
from typing import Any

import pytest
from mcp import Client

from tests.support.mcp import call, new_task, read_json, refused, unique

pytestmark = pytest.mark.anyio

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


async def project_with_agents(client: Client, *agents: str) -> tuple[str, list[str]]:
    project = (await call(client, "create_project", name=unique("Files")))["project"]["id"]
    sessions = [
        (await call(client, "start_session", name=f"{a} run", agent=a, project=project))["session"][
            "id"
        ]
        for a in agents
    ]
    return project, sessions


async def held(client: Client, session_id: str) -> list[dict[str, Any]]:
    session = await read_json(client, f"maestro://sessions/{session_id}")
    reservations: list[dict[str, Any]] = session["reservations"]
    return reservations


async def test_a_claim_reserves_its_files_and_a_conflict_refuses_the_claim_too(
    mcp_client: Client,
) -> None:
    project, (codex, claude) = await project_with_agents(mcp_client, "codex", "claude-code")
    api = await new_task(mcp_client, project, title="api")
    form = await new_task(mcp_client, project, title="form")
    claimed = await call(
        mcp_client, "claim_tasks", sessionId=codex, taskId=api["id"], paths=["./src/api/"]
    )
    [grant] = claimed["claims"]
    [reserved] = claimed["reserved"]
    assert reserved["pattern"] == "src/api/**"  # as it is stored: the directory, written out
    assert reserved["taskId"] == api["id"]  # goes with the claim
    assert "shared" not in reserved  # exclusive
    assert re.fullmatch(ISO, reserved["expiresAt"])

    refusal = await refused(
        mcp_client, "claim_tasks", sessionId=claude, taskId=form["id"], paths=["src/**/*.py"]
    )
    assert re.search(
        rf"files reserved by another session: src/\*\*/\*\.py overlaps src/api/\*\*, held "
        rf"exclusively by session {codex} \(codex, 'codex run'\) until {ISO}",
        refusal,
    ), refusal
    ready = await call(mcp_client, "list_tasks", project=project, ready=True)
    assert form["id"] in [t["id"] for t in ready["tasks"]]  # the claim was not kept either

    # Completing the task ends its claim, and the files reserved with it go too.
    await call(
        mcp_client,
        "update_task",
        taskId=api["id"],
        status="completed",
        claimToken=grant["claimToken"],
    )
    assert await held(mcp_client, codex) == []
    taken = await call(
        mcp_client, "claim_tasks", sessionId=claude, taskId=form["id"], paths=["src/**/*.py"]
    )
    assert [r["pattern"] for r in taken["reserved"]] == ["src/**/*.py"]


async def test_update_session_reserves_shares_and_releases_files(mcp_client: Client) -> None:
    project, (codex, claude) = await project_with_agents(mcp_client, "codex", "claude-code")
    mine = await call(
        mcp_client, "update_session", sessionId=codex, reserve=["docs/", "README.md"], shared=True
    )
    assert [(r["pattern"], r["shared"]) for r in mine["reserved"]] == [
        ("docs/**", True),
        ("README.md", True),
    ]
    both = await call(
        mcp_client, "update_session", sessionId=claude, reserve=["docs/api.md"], shared=True
    )
    assert [r["pattern"] for r in both["reserved"]] == ["docs/api.md"]  # shared with shared
    exclusive = await refused(mcp_client, "update_session", sessionId=claude, reserve=["docs/x.md"])
    assert f"docs/x.md overlaps docs/**, held shared by session {codex}" in exclusive
    # A report that only renews does not say the files again.
    assert "reserved" not in await call(mcp_client, "update_session", sessionId=codex)

    board = await read_json(mcp_client, f"maestro://projects/{project}/board")
    assert sorted((r["sessionId"], r["pattern"]) for r in board["reservations"]) == sorted(
        [(codex, "docs/**"), (codex, "README.md"), (claude, "docs/api.md")]
    )
    freed = await call(mcp_client, "update_session", sessionId=codex, release=["./docs/"])
    assert [r["pattern"] for r in freed["reserved"]] == ["README.md"]
    # The session ends: the rest goes with it.
    await call(mcp_client, "update_session", sessionId=codex, status="completed")
    assert await held(mcp_client, codex) == []


async def test_a_bad_pattern_says_what_to_write(mcp_client: Client) -> None:
    _, (codex,) = await project_with_agents(mcp_client, "codex")
    absolute = await refused(mcp_client, "update_session", sessionId=codex, reserve=["/etc/x"])
    assert "'/etc/x'" in absolute
    assert await held(mcp_client, codex) == []


async def test_shared_without_paths_and_a_reservation_id_for_get_are_said_so(
    mcp_client: Client,
) -> None:
    _, (codex,) = await project_with_agents(mcp_client, "codex")
    alone = await refused(mcp_client, "update_session", sessionId=codex, shared=True)
    assert "shared goes with reserve" in alone
    assert await held(mcp_client, codex) == []
    said = await refused(mcp_client, "get", id="resv_0123456789abcdef")
    assert "is a file reservation" in said
