"""Questions over REST on a real server (both stores): a session asks, a person answers
(the first answer wins), a deadline applies the default, an ended session's questions
are cancelled; the events on the feed; who an answer names; who may answer."""

from dataclasses import replace
from functools import partial
from typing import Any

import pytest

from http_api import Settings
from maestro_mcp.protocol import (
    CLIENT_HEADER,
    ETAG_HEADER,
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    IF_MATCH_HEADER,
    IF_NONE_MATCH_HEADER,
    TRUE,
    etag,
)
from tests.support.feeds import WsClient, events_of
from tests.support.openapi import assert_documented
from tests.support.races import at_once
from tests.support.rest import seq_of
from tests.support.servers import LiveServer, live_server
from tests.support.tokens import named_token_headers

ASK = "/api/sessions/{id}/questions"
QUESTIONS = "/api/questions"
ONE = "/api/questions/{id}"
ANSWER = "/api/questions/{id}/answer"


@pytest.fixture
def agent(server: LiveServer, project: dict[str, Any]) -> dict[str, Any]:
    """A working session of the project, on one of its tasks."""
    http = server.http
    task = http.post("/api/tasks", json={"projectId": project["id"], "title": "Migrate"}).json()
    session: dict[str, Any] = http.post(
        "/api/sessions",
        json={"projectId": project["id"], "name": "api", "agent": "codex", "status": "working",
              "taskIds": [task["id"]]},
    ).json()  # fmt: skip
    return session


def ask(server: LiveServer, session_id: str, body: dict[str, Any]) -> dict[str, Any]:
    asked = server.http.post(ASK.format(id=session_id), json=body)
    assert asked.status_code == 201, asked.text
    assert_documented(asked, ASK)
    question: dict[str, Any] = asked.json()
    return question


def session_status(server: LiveServer, session_id: str) -> str:
    status: str = server.http.get(f"/api/sessions/{session_id}").json()["status"]
    return status


def test_a_session_asks_a_person_answers_and_the_session_works_again(
    server: LiveServer, project: dict[str, Any], agent: dict[str, Any]
) -> None:
    http = server.http
    feed = WsClient(f"{server.ws_url}?projectId={project['id']}")
    feed.until_ready()
    try:
        task_id = agent["taskIds"][0]
        asked = http.post(
            ASK.format(id=agent["id"]),
            json={"text": "Migrate now?", "choices": ["approve", "reject"], "taskId": task_id},
        )
        assert asked.status_code == 201
        assert_documented(asked, ASK)
        question = asked.json()
        assert asked.headers[ETAG_HEADER] == etag(1)
        assert (question["status"], question["allowText"], question["taskId"]) == (
            "open",
            False,
            task_id,
        )
        assert session_status(server, agent["id"]) == "needs_input"
        events = feed.take(2)
        assert events_of(events) == ["question:asked", "session:updated"]
        assert events[0]["data"] == question
        assert events[1]["seq"] == seq_of(asked)

        url = ANSWER.format(id=question["id"])
        wrong = http.post(url, json={"answer": "maybe"})
        assert wrong.status_code == 422
        assert wrong.json()["error"]["message"] == "answer one of: approve, reject"
        assert_documented(wrong, ANSWER)

        answered = http.post(url, json={"answer": "approve"})
        assert answered.status_code == 200
        assert_documented(answered, ANSWER)
        after = answered.json()
        assert (after["status"], after["answer"], after["answeredBy"]) == (
            "answered",
            "approve",
            "local",
        )
        assert after["defaulted"] is False
        assert answered.headers[ETAG_HEADER] == etag(2)
        assert session_status(server, agent["id"]) == "working"
        events = feed.take(2)
        assert events_of(events) == ["question:answered", "session:updated"]
        assert events[0]["data"] == after
        assert events[1]["data"]["status"] == "working"

        # The first answer wins: a second one is refused, with the question as it is.
        late = http.post(url, json={"answer": "reject"})
        assert late.status_code == 409
        assert_documented(late, ANSWER)
        error = late.json()["error"]
        assert error["code"] == "already_answered"
        assert "answered already by local: 'approve'" in error["message"]
        assert error["details"]["question"] == after
        assert http.get(ONE.format(id=question["id"])).json() == after
    finally:
        feed.close()


def test_questions_are_listed_and_read_with_their_version(
    server: LiveServer, project: dict[str, Any], agent: dict[str, Any]
) -> None:
    http = server.http
    first = ask(server, agent["id"], {"text": "One?"})
    second = ask(server, agent["id"], {"text": "Two?", "choices": ["a", "b"], "allowText": True})
    other = http.post("/api/projects", json={"name": "Other"}).json()
    stranger = http.post("/api/sessions", json={"projectId": other["id"], "name": "s"}).json()
    third = ask(server, stranger["id"], {"text": "Three?"})
    http.post(ANSWER.format(id=first["id"]), json={"answer": "any text"}).raise_for_status()

    def listed(**params: Any) -> list[str]:
        answer = http.get(QUESTIONS, params=params)
        assert answer.status_code == 200
        assert_documented(answer, QUESTIONS)
        return [q["id"] for q in answer.json()]

    assert listed() == [first["id"], second["id"], third["id"]]  # in the order asked
    assert listed(projectId=project["id"]) == [first["id"], second["id"]]
    assert listed(sessionId=stranger["id"]) == [third["id"]]
    assert listed(status="open") == [second["id"], third["id"]]
    assert listed(status="answered", projectId=project["id"]) == [first["id"]]
    assert listed(limit=1) == [first["id"]]
    # The session still waits: its second question is open.
    assert session_status(server, agent["id"]) == "needs_input"

    url = ONE.format(id=second["id"])
    one = http.get(url)
    assert_documented(one, ONE)
    assert one.json() == second
    assert one.headers[ETAG_HEADER] == etag(1)
    unchanged = http.get(url, headers={IF_NONE_MATCH_HEADER: etag(1)})
    assert unchanged.status_code == 304
    assert_documented(unchanged, ONE)
    for answer, status in [
        (http.get(ONE.format(id="ques_nope")), 404),
        (http.get(QUESTIONS, params={"status": "pending"}), 422),
        (http.get(QUESTIONS, params={"limit": 0}), 422),
    ]:
        assert answer.status_code == status
        assert set(answer.json()["error"]) == {"code", "message", "details"}


def test_if_match_answers_only_the_version_read(server: LiveServer, agent: dict[str, Any]) -> None:
    question = ask(server, agent["id"], {"text": "Ship?", "choices": ["yes", "no"]})
    url = ANSWER.format(id=question["id"])
    stale = server.http.post(url, json={"answer": "yes"}, headers={IF_MATCH_HEADER: etag(7)})
    assert stale.status_code == 412
    assert_documented(stale, ANSWER)
    assert stale.json()["error"]["details"]["current"] == question
    malformed = server.http.post(url, json={"answer": "yes"}, headers={IF_MATCH_HEADER: "v1"})
    assert malformed.status_code == 400
    assert_documented(malformed, ANSWER)
    answered = server.http.post(url, json={"answer": "no"}, headers={IF_MATCH_HEADER: etag(1)})
    assert answered.status_code == 200
    assert answered.json()["answer"] == "no"


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"text": "x", "timeoutSeconds": 60}, 422, "needs a default"),
        ({"text": "x", "choices": ["a", "b"], "default": "c"}, 422, "default must be one of"),
        ({"text": "x", "choices": ["a", "a"]}, 422, "choices must differ"),
        ({"text": "x", "allowText": False}, 422, "allowText cannot be false"),
        ({"text": ""}, 422, "text"),
        ({"text": "x", "taskId": "task_nope"}, 404, "task task_nope not found"),
    ],
)
def test_a_question_that_cannot_be_asked_is_refused(
    server: LiveServer, agent: dict[str, Any], body: dict[str, Any], status: int, says: str
) -> None:
    refused = server.http.post(ASK.format(id=agent["id"]), json=body)
    assert refused.status_code == status, refused.text
    assert says in refused.json()["error"]["message"]
    assert_documented(refused, ASK)
    assert server.http.get(QUESTIONS).json() == []
    assert session_status(server, agent["id"]) == "working"


def test_no_question_from_a_session_that_is_not_there_or_has_ended(
    server: LiveServer, agent: dict[str, Any]
) -> None:
    missing = server.http.post(ASK.format(id="sess_nope"), json={"text": "x"})
    assert missing.status_code == 404
    assert_documented(missing, ASK)
    # Ending the session cancels its open question: it cannot be answered any more.
    question = ask(server, agent["id"], {"text": "Still there?"})
    ended = server.http.patch(f"/api/sessions/{agent['id']}", json={"status": "stopped"})
    assert ended.status_code == 200
    cancelled = server.http.get(ONE.format(id=question["id"])).json()
    assert cancelled["status"] == "cancelled"
    late = server.http.post(ANSWER.format(id=question["id"]), json={"answer": "yes"})
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "already_answered"
    assert "cancelled" in late.json()["error"]["message"]
    again = server.http.post(ASK.format(id=agent["id"]), json={"text": "x"})
    assert again.status_code == 422
    assert "has ended" in again.json()["error"]["message"]


def test_a_retry_with_its_key_asks_once(server: LiveServer, agent: dict[str, Any]) -> None:
    url = ASK.format(id=agent["id"])
    key = {IDEMPOTENCY_KEY_HEADER: "ask-1"}
    first = server.http.post(url, json={"text": "Once?"}, headers=key)
    retry = server.http.post(url, json={"text": "Once?"}, headers=key)
    assert retry.status_code == 201
    assert retry.headers[IDEMPOTENT_REPLAYED_HEADER] == TRUE
    assert retry.json() == first.json()
    assert len(server.http.get(QUESTIONS).json()) == 1


def test_a_retried_answer_gets_its_own_first_result_not_already_answered(
    server: LiveServer, agent: dict[str, Any]
) -> None:
    """A person's CLI retries a POST whose answer was lost: the retry must not read as
    someone else's answer (the first answer wins, and it was this one)."""
    asked = server.http.post(ASK.format(id=agent["id"]), json={"text": "Go?"}).json()
    key = {IDEMPOTENCY_KEY_HEADER: "answer-1"}
    url = ANSWER.format(id=asked["id"])
    first = server.http.post(url, json={"answer": "yes"}, headers=key)
    retry = server.http.post(url, json={"answer": "yes"}, headers=key)
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.headers[IDEMPOTENT_REPLAYED_HEADER] == TRUE
    assert retry.json() == first.json()
    other = server.http.post(url, json={"answer": "yes"})  # a second person
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "already_answered"


def test_the_deadline_answers_with_the_default(settings: Settings) -> None:
    with live_server(replace(settings, reap_interval=0.05)) as server:
        http = server.http
        project = http.post("/api/projects", json={"name": "p"}).json()
        session = http.post("/api/sessions", json={"projectId": project["id"], "name": "a"}).json()
        feed = WsClient(server.ws_url)
        feed.until_ready()
        try:
            question = ask(
                server,
                session["id"],
                {"text": "Deploy?", "choices": ["yes", "no"], "timeoutSeconds": 1,
                 "default": "no"},
            )  # fmt: skip
            assert question["deadlineAt"] == question["createdAt"] + 1000
            assert events_of(feed.take(2)) == ["question:asked", "session:updated"]
            answered, back = feed.take(2)  # the reaper, a second later
        finally:
            feed.close()
        assert (answered["event"], answered["actor"]) == ("question:answered", "maestro")
        data = answered["data"]
        assert (data["answer"], data["answeredBy"], data["defaulted"]) == ("no", "deadline", True)
        assert data["answeredAt"] >= question["deadlineAt"]
        assert (back["event"], back["data"]["status"]) == ("session:updated", "working")
        late = http.post(ANSWER.format(id=question["id"]), json={"answer": "yes"})
        assert late.status_code == 409
        assert "its default (the deadline passed)" in late.json()["error"]["message"]


def test_an_answer_names_the_token_it_was_given_with_and_a_read_token_cannot_answer(
    server: LiveServer, project: dict[str, Any], agent: dict[str, Any]
) -> None:
    http = server.http
    question = ask(server, agent["id"], {"text": "Which DB?"})
    tokens = named_token_headers(http, {"alice": "write", "dashboard": "read"})
    alice, reader = tokens["alice"], tokens["dashboard"]
    url = ANSWER.format(id=question["id"])

    # A read token reads the questions, but neither asks nor answers.
    assert [q["id"] for q in http.get(QUESTIONS, headers=reader).json()] == [question["id"]]
    assert http.get(ONE.format(id=question["id"]), headers=reader).status_code == 200
    for refused, path in [
        (http.post(url, json={"answer": "sqlite"}, headers=reader), ANSWER),
        (http.post(ASK.format(id=agent["id"]), json={"text": "x"}, headers=reader), ASK),
    ]:
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "insufficient_scope"
        assert_documented(refused, path)
    assert http.post(url, json={"answer": "sqlite"}).status_code == 401

    named = {**alice, CLIENT_HEADER: "board"}
    answered = http.post(url, json={"answer": "postgres"}, headers=named)
    assert answered.status_code == 200
    assert answered.json()["answeredBy"] == "alice/board"
    activity = http.get(f"/api/projects/{project['id']}/activity", headers=reader).json()
    newest = activity["events"][1]  # the session:updated back to working is the newest
    assert (newest["event"], newest["actor"]) == ("question:answered", "alice/board")
    assert newest["data"]["answeredBy"] == "alice/board"


ROUNDS = 30


def test_two_people_answering_at_once_the_first_answer_wins_every_round(
    server: LiveServer, agent: dict[str, Any]
) -> None:
    """Both answers sent at the same moment from two threads, on two connections: exactly
    one 200 and one 409 ``already_answered`` (whose question carries the winner's
    answer), every round; the question keeps the winner's answer."""
    with server.client() as first, server.client() as second:
        for n in range(ROUNDS):
            question = ask(server, agent["id"], {"text": f"Round {n}?"})
            url = ANSWER.format(id=question["id"])
            answers = at_once(
                partial(first.post, url, json={"answer": f"first {n}"}),
                partial(second.post, url, json={"answer": f"second {n}"}),
            )
            assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
            [won] = [r for r in answers if r.status_code == 200]
            [lost] = [r for r in answers if r.status_code == 409]
            error = lost.json()["error"]
            assert error["code"] == "already_answered"
            assert error["details"]["question"] == won.json()
            assert server.http.get(ONE.format(id=question["id"])).json() == won.json()
            assert session_status(server, agent["id"]) == "working"
