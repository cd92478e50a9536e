"""Messages over every transport: the ``message`` tool sends, marks read or acknowledged
in one transaction, and always answers with the session's unread inbox."""

from typing import Any

import pytest
from mcp import Client

from maestro_mcp.mcp_server.results import BODY_SHOWN, INBOX_SHOWN
from tests.support.mcp import call, read_json, refused, unique

pytestmark = pytest.mark.anyio


async def two_agents(client: Client) -> tuple[str, str, str]:
    """A new project and two working sessions in it: codex's and claude-code's."""
    project = (await call(client, "create_project", name=unique("Mail")))["project"]["id"]
    sessions = [
        (await call(client, "start_session", name=agent, agent=agent, project=project))["session"][
            "id"
        ]
        for agent in ("codex", "claude-code")
    ]
    return project, sessions[0], sessions[1]


async def inbox(client: Client, session_id: str) -> dict[str, Any]:
    return await call(client, "message", sessionId=session_id)


async def test_agents_write_to_each_other_and_read_their_inbox(mcp_client: Client) -> None:
    project, codex, claude = await two_agents(mcp_client)
    sent = await call(
        mcp_client,
        "message",
        sessionId=codex,
        to=["agent:claude-code"],
        subject="API",
        body="`/v2/login` now returns a token",
    )
    assert sent["project"]["id"] == project
    assert sent["sent"]["recipients"] == [claude]  # the agent's active sessions, not mine
    assert sent["inbox"] == []  # the sender's own inbox
    assert sent["unread"] == 0

    mail = await inbox(mcp_client, claude)
    [message] = mail["inbox"]
    assert message["id"] == sent["sent"]["id"]
    assert message["fromSessionId"] == codex
    assert message["to"] == ["agent:claude-code"]
    assert message["subject"] == "API"
    assert message["body"] == "`/v2/login` now returns a token"
    assert message["createdAt"].endswith("Z")
    assert "cut" not in message
    assert mail["unread"] == 1
    # Reading the inbox marked nothing read; the agent's reports say it has mail.
    assert (await inbox(mcp_client, claude))["inbox"] == mail["inbox"]
    assert (await call(mcp_client, "update_session", sessionId=claude))["unread"] == 1

    # A reply without ``to`` goes back to the sender, in the thread; reading is said.
    replied = await call(
        mcp_client,
        "message",
        sessionId=claude,
        replyTo=message["id"],
        body="Thanks, switching the form over",
        read=[message["id"]],
    )
    assert replied["sent"]["recipients"] == [codex]
    assert replied["sent"]["threadId"] == message["id"]
    assert replied["inbox"] == []
    assert replied["unread"] == 0
    assert "unread" not in await call(mcp_client, "update_session", sessionId=claude)
    [reply] = (await inbox(mcp_client, codex))["inbox"]
    assert reply["replyTo"] == message["id"]
    assert reply["subject"] == "API"  # the thread's subject

    acked = await call(mcp_client, "message", sessionId=codex, ack=[reply["id"]])
    assert acked["inbox"] == []
    assert "sent" not in acked
    whole = await call(mcp_client, "get", id=reply["id"])
    [state] = whole["message"]["recipients"]
    assert state["recipient"] == codex
    assert state["readAt"].endswith("Z")
    assert state["ackedAt"].endswith("Z")


async def test_the_inbox_is_a_page_of_the_oldest_with_long_bodies_cut(
    mcp_client: Client,
) -> None:
    _, codex, claude = await two_agents(mcp_client)
    bodies = [f"{n:02d} " + "x" * (BODY_SHOWN + 100) for n in range(INBOX_SHOWN + 2)]
    for body in bodies:
        await call(mcp_client, "message", sessionId=codex, to=[claude], body=body)
    mail = await inbox(mcp_client, claude)
    assert mail["unread"] == len(bodies)
    assert len(mail["inbox"]) == INBOX_SHOWN
    first = mail["inbox"][0]
    assert first["body"] == bodies[0][:BODY_SHOWN] + "…"
    assert first["cut"] is True
    # get reads one whole; marking the page read shows the rest.
    assert (await call(mcp_client, "get", id=first["id"]))["message"]["body"] == bodies[0]
    rest = await call(
        mcp_client, "message", sessionId=claude, read=[m["id"] for m in mail["inbox"]]
    )
    assert [m["body"][:2] for m in rest["inbox"]] == [
        f"{INBOX_SHOWN:02d}",
        f"{INBOX_SHOWN + 1:02d}",
    ]
    assert rest["unread"] == 2


async def test_to_the_humans_and_the_whole_project(mcp_client: Client) -> None:
    project, codex, claude = await two_agents(mcp_client)
    humans = await call(mcp_client, "message", sessionId=codex, to=["humans"], body="Ship?")
    assert humans["sent"]["recipients"] == ["humans"]
    everyone = await call(mcp_client, "message", sessionId=codex, to=["project"], body="v2 live")
    assert everyone["sent"]["recipients"] == [claude, "humans"]  # not the sender
    board = await read_json(mcp_client, f"maestro://projects/{project}/board")
    assert "messages" not in board  # the inboxes carry mail, not the board


async def test_a_call_marks_and_sends_all_or_nothing_and_once_by_request_id(
    mcp_client: Client,
) -> None:
    _, codex, claude = await two_agents(mcp_client)
    first = await call(mcp_client, "message", sessionId=codex, to=[claude], body="one")
    refusal = await refused(
        mcp_client,
        "message",
        sessionId=claude,
        read=[first["sent"]["id"]],
        to=["bob"],
        body="reply",
    )
    assert "'bob' is not an address: use a session id (sess_…), agent:NAME, humans or project" in (
        refusal
    )
    assert (await inbox(mcp_client, claude))["unread"] == 1  # the read was not kept either

    key = unique("m")
    once = await call(
        mcp_client, "message", sessionId=codex, to=[claude], body="two", requestId=key
    )
    again = await call(
        mcp_client, "message", sessionId=codex, to=[claude], body="two", requestId=key
    )
    assert again["sent"] == once["sent"]
    assert (await inbox(mcp_client, claude))["unread"] == 2


async def test_message_mistakes_say_what_to_do(mcp_client: Client) -> None:
    _, codex, claude = await two_agents(mcp_client)
    no_body = await refused(mcp_client, "message", sessionId=codex, to=[claude])
    assert "to, subject and replyTo go with a body: pass body to send a message" in no_body
    nobody = await refused(mcp_client, "message", sessionId=codex, body="hi")
    assert "say who the message is for (to): session ids, agent:NAME, humans or project" in nobody
    no_agent = await refused(mcp_client, "message", sessionId=codex, to=["agent:gemini"], body="x")
    assert "no active session of agent 'gemini'" in no_agent
    unknown = await refused(mcp_client, "message", sessionId="sess_nope")
    assert "session sess_nope not found" in unknown
    sent = await call(mcp_client, "message", sessionId=codex, to=[claude], body="for claude")
    not_mine = await refused(mcp_client, "message", sessionId=codex, read=[sent["sent"]["id"]])
    assert f"message {sent['sent']['id']} is not addressed to {codex}" in not_mine
