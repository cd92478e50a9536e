"""Questions over every transport: an agent asks a person with ``update_session(ask=…)``,
waits (needs_input), and hears the answer once, in a later ``update_session`` result; the
session and inbox resources show its questions."""

import pytest
from mcp import Client

from maestro_mcp.core.models import OPEN_QUESTIONS_MAX, QUESTIONS_LIMIT_DEFAULT
from maestro_mcp.mcp_server import MaestroMCP
from maestro_mcp.mcp_server.results import QUESTION_SHOWN
from tests.support.mcp import Answer, call, new_task, read_json, refused, unique

pytestmark = pytest.mark.anyio


async def test_an_agent_asks_waits_and_hears_the_answer_once(
    mcp_client: Client, a_person_answers: Answer
) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Ask")))["project"]["id"]
    task = await new_task(mcp_client, project, title="drop v1")
    session = (await call(mcp_client, "start_session", name="s", project=project))["session"]
    sid = session["id"]
    asked = await call(
        mcp_client,
        "update_session",
        sessionId=sid,
        note="v1 has callers left",
        ask={"text": "Drop the v1 API?", "choices": ["yes", "no"], "taskId": task["id"]},
    )
    assert asked["session"]["status"] == "needs_input"
    assert "answers" not in asked

    shown = await read_json(mcp_client, f"maestro://sessions/{sid}")
    [question] = shown["questions"]
    assert asked["asked"] == question["id"]  # the id its answer will name
    assert question["text"] == "Drop the v1 API?"
    assert question["status"] == "open"
    assert question["choices"] == ["yes", "no"]
    assert question["taskId"] == task["id"]
    board = await read_json(mcp_client, f"maestro://projects/{project}/board")
    assert [q["id"] for q in board["questions"]] == [question["id"]]
    waiting = await read_json(mcp_client, f"maestro://sessions/{sid}/inbox")
    assert [q["id"] for q in waiting["questions"]] == [question["id"]]

    await a_person_answers(question["id"], "no")
    answered = await call(mcp_client, "update_session", sessionId=sid, note="waiting")
    assert answered["session"]["status"] == "working"  # its last open question answered
    assert answered["answers"] == [
        {
            "id": question["id"],
            "question": "Drop the v1 API?",
            "taskId": task["id"],
            "answer": "no",
            "answeredBy": "tester",
        }
    ]
    again = await call(mcp_client, "update_session", sessionId=sid)
    assert "answers" not in again  # delivered once
    inbox = await read_json(mcp_client, f"maestro://sessions/{sid}/inbox")
    [kept] = inbox["questions"]  # answered ones stay in the inbox, with their answer
    assert (kept["status"], kept["answer"]) == ("answered", "no")
    assert (await read_json(mcp_client, f"maestro://sessions/{sid}"))["questions"] == []
    whole = await call(mcp_client, "get", id=question["id"])
    assert whole["question"]["answer"] == "no"


async def test_a_long_question_is_recalled_cut_and_read_whole_with_get(
    mcp_client: Client, a_person_answers: Answer
) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Ask")))["project"]["id"]
    sid = (await call(mcp_client, "start_session", name="s", project=project))["session"]["id"]
    text = "Which of these? " + "x" * QUESTION_SHOWN
    await call(mcp_client, "update_session", sessionId=sid, ask={"text": text})
    [question] = (await read_json(mcp_client, f"maestro://sessions/{sid}"))["questions"]
    await a_person_answers(question["id"], "the second")
    [answer] = (await call(mcp_client, "update_session", sessionId=sid))["answers"]
    assert answer["question"] == text[:QUESTION_SHOWN] + "…"
    assert answer["cut"] is True
    assert (await call(mcp_client, "get", id=answer["id"]))["question"]["text"] == text


async def test_a_question_that_cannot_be_asked_is_refused(mcp_client: Client) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Ask")))["project"]["id"]
    sid = (await call(mcp_client, "start_session", name="s", project=project))["session"]["id"]
    bad_default = await refused(
        mcp_client,
        "update_session",
        sessionId=sid,
        ask={"text": "Ship?", "choices": ["yes", "no"], "default": "maybe", "timeoutSeconds": 60},
    )
    assert "ask: Value error, default must be one of the choices" in bad_default
    await call(mcp_client, "update_session", sessionId=sid, status="completed")
    ended = await refused(mcp_client, "update_session", sessionId=sid, ask={"text": "Ship?"})
    assert f"session {sid} has ended (completed); start a new one to ask" in ended


async def test_the_board_resource_holds_every_open_question(maestro: MaestroMCP) -> None:
    """More than a listing of questions returns by default (the board is what an agent
    reads to see who waits on the people): each open one, from every session."""
    count = QUESTIONS_LIMIT_DEFAULT + 1
    async with Client(maestro.server) as client:
        project = (await call(client, "create_project", name=unique("Ask")))["project"]["id"]
        asked = []
        for n in range(count):
            if n % OPEN_QUESTIONS_MAX == 0:  # a session may have that many open
                started = await call(client, "start_session", name=f"s{n}", project=project)
            result = await call(
                client, "update_session", sessionId=started["session"]["id"], ask={"text": f"q{n}"}
            )
            asked.append(result["asked"])
        board = await read_json(client, f"maestro://projects/{project}/board")
    assert [q["id"] for q in board["questions"]] == asked
