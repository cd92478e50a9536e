"""Two agents (two MCP clients) on one real server over streamable HTTP, in both protocol
eras: a message reaches the other agent live (its inbox resource is notified) and in its
``message`` result; a client that was away gets exactly what it missed by seq; a question
asked over MCP and answered by a person over REST (as the board and the CLI answer)
reaches the asking agent as a notification and in its next ``update_session``; two
agents racing for overlapping files: one wins."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import Implementation

from maestro_mcp.protocol import BOARD_CLIENT, CLIENT_HEADER
from tests.support.mcp import Ear, NextUri, call, hearing, new_task, read_json, refused
from tests.support.servers import LiveServer
from tests.support.waiting import WAIT

pytestmark = pytest.mark.anyio
MODES = [pytest.param("auto", id="2026"), pytest.param("legacy", id="2025")]


@asynccontextmanager
async def agent(
    server: LiveServer, name: str, mode: str, ear: Ear | None = None
) -> AsyncIterator[Client]:
    """An agent host named ``name`` connected to ``server``'s /mcp in ``mode``."""
    async with Client(
        server.base_url + "/mcp",
        mode=mode,
        client_info=Implementation(name=name, version="1"),
        message_handler=ear.on_message if ear is not None else None,
    ) as client:
        yield client


async def start(client: Client, project: str, agent_name: str) -> dict[str, Any]:
    result = await call(
        client, "start_session", name=f"{agent_name} run", agent=agent_name, project=project
    )
    return result


def inbox_uri(session_id: str) -> str:
    return f"maestro://sessions/{session_id}/inbox"


async def until(next_uri: NextUri, uri: str) -> None:
    """Read notifications up to ``uri``'s (those due for earlier changes come first)."""
    with anyio.fail_after(WAIT):
        while await next_uri() != uri:
            pass


@pytest.mark.parametrize("mode", MODES)
async def test_an_agent_hears_a_message_to_it_live_and_reads_it(
    server: LiveServer, mode: str
) -> None:
    async with (
        Ear() as ear,
        agent(server, "codex", mode) as a,
        agent(server, "claude-code", mode, ear) as b,
    ):
        project = (await call(a, "create_project", name="Two agents"))["project"]["id"]
        sender = (await start(a, project, "codex"))["session"]["id"]
        reader = (await start(b, project, "claude-code"))["session"]["id"]
        async with hearing(b, ear, [inbox_uri(reader)]) as next_uri:
            sent = await call(
                a, "message", sessionId=sender, to=["agent:claude-code"], body="API changed"
            )
            with anyio.fail_after(WAIT):
                assert await next_uri() == inbox_uri(reader)  # nothing touched it before
        mail = await call(b, "message", sessionId=reader)
        [message] = mail["inbox"]
        assert message["id"] == sent["sent"]["id"]
        assert message["body"] == "API changed"
        assert message["sender"] == "local/codex"  # the sending host, named as its actor
        # Marking it read is a change of the inbox too: it says so to whoever listens.
        async with hearing(b, ear, [inbox_uri(reader)]) as next_uri:
            read = await call(b, "message", sessionId=reader, read=[message["id"]])
            assert read["unread"] == 0
            await until(next_uri, inbox_uri(reader))


async def test_a_client_that_was_away_gets_exactly_the_messages_it_missed(
    server: LiveServer,
) -> None:
    async with agent(server, "claude-code", "auto") as b:
        project = (await call(b, "create_project", name="Away"))["project"]["id"]
        started = await start(b, project, "claude-code")
        reader, last_seq = started["session"]["id"], started["seq"]
    # b is gone; a writes to it meanwhile.
    async with agent(server, "codex", "auto") as a:
        sender = (await start(a, project, "codex"))["session"]["id"]
        since = (await call(a, "changes_since", since=0, limit=1))["head"]
        missed = [
            (await call(a, "message", sessionId=sender, to=[reader], body=body))["sent"]["id"]
            for body in ("first", "second")
        ]
    async with agent(server, "claude-code", "auto") as b:
        changes = await call(b, "changes_since", since=since, project=project, full=True)
        assert [(e["event"], e["data"]["id"]) for e in changes["events"]] == [
            ("message:sent", missed[0]),
            ("message:sent", missed[1]),
        ]
        assert [e["data"]["body"] for e in changes["events"]] == ["first", "second"]
        assert changes["nextSince"] == changes["head"]
        # From its own last seq it gets those too, after the other agent's arrival.
        caught_up = await call(b, "changes_since", since=last_seq, project=project)
        assert [c["event"] for c in caught_up["events"]] == [
            "session:created",
            "message:sent",
            "message:sent",
        ]
        inbox = await call(b, "message", sessionId=reader)
        assert [m["id"] for m in inbox["inbox"]] == missed


@pytest.mark.parametrize("mode", MODES)
async def test_a_question_asked_over_mcp_is_answered_and_heard(
    server: LiveServer, mode: str
) -> None:
    async with Ear() as ear, agent(server, "claude-code", mode, ear) as client:
        project = (await call(client, "create_project", name="Ask"))["project"]["id"]
        marker = await new_task(client, project, title="marker")
        sid = (await start(client, project, "claude-code"))["session"]["id"]
        asked = await call(
            client,
            "update_session",
            sessionId=sid,
            ask={"text": "Ship v2?", "choices": ["yes", "no"]},
        )
        assert asked["session"]["status"] == "needs_input"
        session_uri = f"maestro://sessions/{sid}"
        marker_uri = f"maestro://tasks/{marker['id']}"
        uris = [session_uri, inbox_uri(sid), marker_uri]
        async with hearing(client, ear, uris) as next_uri:
            # Any notification still due for the question's asking comes before the
            # marker's: after it, the next ones are the answer's.
            await call(client, "update_task", taskId=marker["id"], title="marker, renamed")
            await until(next_uri, marker_uri)
            [question] = (await read_json(client, session_uri))["questions"]
            await anyio.to_thread.run_sync(answer_over_rest, server, question["id"], "yes")
            with anyio.fail_after(WAIT):
                heard = {await next_uri(), await next_uri()}
            assert heard == {session_uri, inbox_uri(sid)}
        reported = await call(client, "update_session", sessionId=sid, note="shipping")
        assert reported["session"]["status"] == "working"
        [answer] = reported["answers"]
        assert (answer["id"], answer["answer"], answer["answeredBy"]) == (
            question["id"],
            "yes",
            f"local/{BOARD_CLIENT}",  # who answered: the board, on a server without tokens
        )


def answer_over_rest(server: LiveServer, question_id: str, text: str) -> None:
    """A person answers as the board does: ``POST /api/questions/{id}/answer``."""
    with server.client() as http:
        answered = http.post(
            f"/api/questions/{question_id}/answer",
            json={"answer": text},
            headers={CLIENT_HEADER: BOARD_CLIENT},
        )
    assert answered.status_code == 200, answered.text


async def test_two_agents_race_for_overlapping_files_and_one_wins(server: LiveServer) -> None:
    async with agent(server, "codex", "auto") as a, agent(server, "claude-code", "auto") as b:
        project = (await call(a, "create_project", name="Race"))["project"]["id"]
        tasks = [await new_task(a, project, title=t) for t in ("api", "docs")]
        sessions = [
            (await start(client, project, name))["session"]["id"]
            for client, name in ((a, "codex"), (b, "claude-code"))
        ]
        outcomes: dict[str, Any] = {}

        async def claim(client: Client, who: int, paths: list[str]) -> None:
            result = await client.call_tool(
                "claim_tasks",
                {"sessionId": sessions[who], "taskId": tasks[who]["id"], "paths": paths},
            )
            outcomes[sessions[who]] = result

        async with anyio.create_task_group() as racing:
            racing.start_soon(claim, a, 0, ["src/**/*.py"])
            racing.start_soon(claim, b, 1, ["src/api/"])
        won = [s for s, r in outcomes.items() if not r.is_error]
        lost = [s for s, r in outcomes.items() if r.is_error]
        assert len(won) == 1, outcomes
        assert len(lost) == 1, outcomes
        refusal = outcomes[lost[0]].content[0].text
        assert f"held exclusively by session {won[0]}" in refusal
        loser_task = tasks[sessions.index(lost[0])]
        ready = await call(a, "list_tasks", project=project, ready=True)
        assert [t["id"] for t in ready["tasks"]] == [loser_task["id"]]  # nothing kept
        assert "files reserved by another session" in await refused(
            b if lost[0] == sessions[1] else a,
            "update_session",
            sessionId=lost[0],
            reserve=["src/api/x.py"],
        )
