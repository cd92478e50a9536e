"""Messages over REST on a real server (both stores): sending, listing, reading; the
events on the live feeds, live and on resume; who a message names; who may send."""

from typing import Any

import pytest

from maestro_mcp.core.models import HUMANS, MESSAGES_LIMIT_MAX
from maestro_mcp.protocol import (
    CLIENT_HEADER,
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    LAST_EVENT_ID_HEADER,
    TRUE,
    WWW_AUTHENTICATE_HEADER,
)
from tests.support.feeds import FeedClient, SseClient, WsClient, events_of
from tests.support.openapi import assert_documented
from tests.support.rest import new_session, seq_of
from tests.support.servers import LiveServer
from tests.support.tokens import named_token_headers

MESSAGES = "/api/messages"
READ = "/api/messages/read"
ONE = "/api/messages/{id}"


@pytest.fixture
def team(server: LiveServer, project: dict[str, Any]) -> dict[str, str]:
    """Two codex sessions and a claude one in the project."""
    return {
        "codex": new_session(server.http, project["id"], "api", agent="codex")["id"],
        "codex2": new_session(server.http, project["id"], "db", agent="codex")["id"],
        "claude": new_session(server.http, project["id"], "web", agent="claude-code")["id"],
    }


def send(server: LiveServer, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    sent = server.http.post(MESSAGES, json=body, headers=headers)
    assert sent.status_code == 201, sent.text
    assert_documented(sent, MESSAGES)
    message: dict[str, Any] = sent.json()
    return message


def test_a_message_is_sent_listed_and_read_by_its_recipient(
    server: LiveServer, project: dict[str, Any], team: dict[str, str]
) -> None:
    http = server.http
    sent = http.post(
        MESSAGES,
        json={"fromSessionId": team["codex"], "to": [team["claude"]], "subject": "API",
              "body": "`/v2` is live"},
    )  # fmt: skip
    assert sent.status_code == 201
    assert_documented(sent, MESSAGES)
    message = sent.json()
    assert message["projectId"] == project["id"]  # the sender's
    assert message["threadId"] == message["id"]
    assert (message["fromSessionId"], message["sender"]) == (team["codex"], "local")
    assert message["recipients"] == [
        {
            "recipient": team["claude"],
            "readAt": None,
            "readBy": None,
            "ackedAt": None,
            "ackedBy": None,
        }
    ]
    assert http.get(ONE.format(id=message["id"])).json() == message

    inbox = {"recipient": team["claude"], "unread": "true"}
    listed = http.get(MESSAGES, params=inbox)
    assert listed.status_code == 200
    assert_documented(listed, MESSAGES)
    assert listed.json() == [message]
    assert seq_of(listed) == seq_of(sent)  # consistent with the log's head
    # Listing changed nothing: it is still unread.
    assert http.get(MESSAGES, params=inbox).json() == [message]

    read = http.post(READ, json={"recipient": team["claude"], "messageIds": [message["id"]]})
    assert read.status_code == 200
    assert_documented(read, READ)
    [state] = read.json()[0]["recipients"]
    assert state["readAt"] is not None
    assert (state["readBy"], state["ackedAt"]) == ("local", None)
    assert seq_of(read) == seq_of(sent) + 1  # its message:read
    assert http.get(MESSAGES, params=inbox).json() == []
    acked = http.post(
        READ, json={"recipient": team["claude"], "messageIds": [message["id"]], "ack": True}
    )
    [state] = acked.json()[0]["recipients"]
    assert state["ackedAt"] is not None
    unacked = {"recipient": team["claude"], "unacked": "true"}
    assert http.get(MESSAGES, params=unacked).json() == []
    # Marking again changes nothing: no event, the same answer.
    again = http.post(
        READ, json={"recipient": team["claude"], "messageIds": [message["id"]], "ack": True}
    )
    assert again.json() == acked.json()
    assert seq_of(again) == seq_of(acked)


def test_addresses_expand_and_a_reply_goes_back_in_its_thread(
    server: LiveServer, project: dict[str, Any], team: dict[str, str]
) -> None:
    to_agent = send(server, {"fromSessionId": team["codex"], "to": ["agent:codex"], "body": "hi"})
    assert [r["recipient"] for r in to_agent["recipients"]] == [team["codex2"]]  # not itself
    everyone = send(server, {"fromSessionId": team["codex"], "to": ["project"], "body": "all"})
    assert [r["recipient"] for r in everyone["recipients"]] == [
        team["codex2"],
        team["claude"],
        HUMANS,
    ]
    # A person (no session) writes to the humans and an agent; the agent replies.
    question = send(
        server,
        {"projectId": project["id"], "to": [team["claude"]], "subject": "CSS", "body": "Dark?"},
    )
    assert question["fromSessionId"] is None
    reply = send(server, {"fromSessionId": team["claude"], "replyTo": question["id"], "body": "y"})
    assert reply["threadId"] == question["id"]
    assert reply["subject"] == "CSS"
    assert [r["recipient"] for r in reply["recipients"]] == [HUMANS]  # back to the person
    thread = server.http.get(MESSAGES, params={"threadId": question["id"]}).json()
    assert [m["id"] for m in thread] == [question["id"], reply["id"]]
    humans = server.http.get(
        MESSAGES, params={"projectId": project["id"], "recipient": HUMANS, "unread": "true"}
    ).json()
    assert [m["id"] for m in humans] == [everyone["id"], reply["id"]]
    mine = server.http.get(MESSAGES, params={"fromSessionId": team["claude"]}).json()
    assert [m["id"] for m in mine] == [reply["id"]]


def test_a_listing_pages_from_either_end(
    server: LiveServer, project: dict[str, Any], team: dict[str, str]
) -> None:
    ids = [
        send(server, {"fromSessionId": team["codex"], "to": [HUMANS], "body": str(i)})["id"]
        for i in range(5)
    ]
    where = {"projectId": project["id"], "limit": 2}
    assert [m["id"] for m in server.http.get(MESSAGES, params=where).json()] == ids[:2]
    newest = server.http.get(MESSAGES, params={**where, "newest": "true"}).json()
    assert [m["id"] for m in newest] == ids[3:]  # the newest two, still oldest first


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"to": ["bob"]}, 422, "is not an address"),
        ({"to": ["agent:gemini"]}, 422, "no active session of agent 'gemini'"),
        ({"to": []}, 422, "say who the message is for"),
        ({"to": [HUMANS], "replyTo": "msg_nope"}, 404, "message msg_nope not found"),
        ({"to": [HUMANS], "body": ""}, 422, "body"),
        ({"to": [HUMANS], "cc": ["x"]}, 422, "cc"),
    ],
)
def test_a_message_that_cannot_be_sent_is_refused_in_the_error_shape(
    server: LiveServer,
    team: dict[str, str],
    body: dict[str, Any],
    status: int,
    says: str,
) -> None:
    head = server.http.get("/health").json()["seq"]
    refused = server.http.post(
        MESSAGES, json={"fromSessionId": team["codex"], "body": "hi", **body}
    )
    assert refused.status_code == status, refused.text
    assert says in refused.text
    assert_documented(refused, MESSAGES)
    assert server.http.get("/health").json()["seq"] == head  # nothing was sent


def test_reading_and_listing_refuse_what_they_cannot_do(
    server: LiveServer, team: dict[str, str]
) -> None:
    http = server.http
    message = send(server, {"fromSessionId": team["codex"], "to": [team["claude"]], "body": "x"})
    for url, answer, status in [
        (ONE, http.get(ONE.format(id="msg_nope")), 404),
        (MESSAGES, http.get(MESSAGES, params={"unread": "true"}), 422),  # whose unread?
        (MESSAGES, http.get(MESSAGES, params={"limit": MESSAGES_LIMIT_MAX + 1}), 422),
        (MESSAGES, http.get(MESSAGES, params={"sender": "x"}), 422),
        (READ, http.post(READ, json={"recipient": team["codex"], "messageIds": []}), 422),
        # Not addressed to it: only a recipient marks its own state.
        (READ, http.post(READ, json={"recipient": team["codex"], "messageIds": [message["id"]]}),
         422),
        (READ, http.post(READ, json={"recipient": team["claude"], "messageIds": ["msg_nope"]}),
         404),
    ]:  # fmt: skip
        assert answer.status_code == status, (url, answer.text)
        assert set(answer.json()["error"]) == {"code", "message", "details"}
        assert_documented(answer, url)


def test_a_retry_with_its_key_sends_once(server: LiveServer, team: dict[str, str]) -> None:
    body = {"fromSessionId": team["codex"], "to": [HUMANS], "body": "once"}
    key = {IDEMPOTENCY_KEY_HEADER: "send-1"}
    first = server.http.post(MESSAGES, json=body, headers=key)
    retry = server.http.post(MESSAGES, json=body, headers=key)
    assert retry.status_code == 201
    assert retry.headers[IDEMPOTENT_REPLAYED_HEADER] == TRUE
    assert retry.json() == first.json()
    assert seq_of(retry) == seq_of(first)
    assert len(server.http.get(MESSAGES, params={"fromSessionId": team["codex"]}).json()) == 1
    other = server.http.post(MESSAGES, json={**body, "body": "twice"}, headers=key)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_marking_read_ignores_a_key_and_a_retry_answers_what_is_true_now(
    server: LiveServer, team: dict[str, str]
) -> None:
    """docs/protocol.md, "Idempotency": ``POST /api/messages/read`` takes no key (it is
    idempotent as it is): not replayed, and marking again emits nothing."""
    message = send(server, {"fromSessionId": team["codex"], "to": [team["claude"]], "body": "x"})
    body = {"recipient": team["claude"], "messageIds": [message["id"]]}
    key = {IDEMPOTENCY_KEY_HEADER: "read-1"}
    first = server.http.post(READ, json=body, headers=key)
    assert first.status_code == 200
    acked = server.http.post(READ, json={**body, "ack": True}, headers=key)  # not 422
    assert acked.status_code == 200, acked.text
    assert IDEMPOTENT_REPLAYED_HEADER not in acked.headers
    [state] = acked.json()[0]["recipients"]
    assert state["ackedAt"] is not None  # done, not the first answer replayed
    retry = server.http.post(READ, json={**body, "ack": True}, headers=key)
    assert (retry.json(), seq_of(retry)) == (acked.json(), seq_of(acked))


def test_a_message_sent_over_rest_reaches_both_feeds_live(
    server: LiveServer, project: dict[str, Any], team: dict[str, str]
) -> None:
    feeds: list[FeedClient] = [
        WsClient(f"{server.ws_url}?projectId={project['id']}"),
        SseClient(f"{server.base_url}/api/events?projectId={project['id']}"),
    ]
    try:
        for feed in feeds:
            assert feed.until_ready() == []
        sent = server.http.post(
            MESSAGES, json={"fromSessionId": team["codex"], "to": [HUMANS], "body": "live"}
        )
        for feed in feeds:
            [event] = feed.take(1)
            assert event["event"] == "message:sent"
            assert event["seq"] == seq_of(sent)
            assert event["data"] == sent.json()
            assert event["actor"] == "local"
    finally:
        for feed in feeds:
            feed.close()


def test_a_client_resuming_the_feed_gets_what_it_missed_once_in_order(
    server: LiveServer, project: dict[str, Any], team: dict[str, str]
) -> None:
    http = server.http
    first = WsClient(server.ws_url)
    first.until_ready()
    assert first.ready is not None
    seen = first.ready["data"]["seq"]  # where the client was when it went away
    first.close()

    # Missed: two messages, one read and acknowledged by the humans.
    a = send(server, {"fromSessionId": team["codex"], "to": [HUMANS], "body": "a"})
    b = send(server, {"fromSessionId": team["claude"], "to": [HUMANS, team["codex"]], "body": "b"})
    http.post(READ, json={"recipient": HUMANS, "messageIds": [b["id"]], "ack": True})
    missed = ["message:sent", "message:sent", "message:read"]

    resumed: list[FeedClient] = [
        WsClient(f"{server.ws_url}?since={seen}"),
        SseClient(f"{server.base_url}/api/events", headers={LAST_EVENT_ID_HEADER: str(seen)}),
        SseClient(f"{server.base_url}/api/events?since={seen}&projectId={project['id']}"),
    ]
    try:
        for feed in resumed:
            replay = feed.until_ready()
            assert events_of(replay) == missed
            assert [e["seq"] for e in replay] == list(range(seen + 1, seen + 4))
            assert [e["data"]["id"] for e in replay] == [a["id"], b["id"], b["id"]]
            read = replay[2]["data"]
            assert read["recipient"] == HUMANS
            assert "sessionId" not in read  # the humans read it: about no session
            assert read["readAt"] == read["ackedAt"] is not None
            assert read["threadId"] == b["id"]
        # ... and then the live ones, each once: none of the replay comes again.
        c = send(server, {"fromSessionId": team["codex"], "to": [team["claude"]], "body": "c"})
        for feed in resumed:
            [live] = feed.take(1)
            assert (live["event"], live["seq"], live["data"]["id"]) == (
                "message:sent",
                seen + 4,
                c["id"],
            )
    finally:
        for feed in resumed:
            feed.close()


def test_a_message_names_the_token_it_was_sent_with_and_a_read_token_cannot_send(
    server: LiveServer, project: dict[str, Any], team: dict[str, str]
) -> None:
    http = server.http
    tokens = named_token_headers(http, {"ci-bot": "write", "dashboard": "read"})
    bot, reader = tokens["ci-bot"], tokens["dashboard"]
    body = {"projectId": project["id"], "to": [team["claude"]], "body": "from the bot"}

    refused = http.post(MESSAGES, json=body, headers=reader)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    assert "insufficient_scope" in refused.headers[WWW_AUTHENTICATE_HEADER]
    assert_documented(refused, MESSAGES)
    assert http.post(MESSAGES, json=body).status_code == 401  # a token exists: one is needed

    sent = http.post(MESSAGES, json=body, headers={**bot, CLIENT_HEADER: "nightly"})
    assert sent.status_code == 201
    assert sent.json()["sender"] == "ci-bot/nightly"
    # A read token lists and reads, but marks nothing read: that is a change.
    listed = http.get(MESSAGES, params={"recipient": team["claude"]}, headers=reader)
    assert [m["id"] for m in listed.json()] == [sent.json()["id"]]
    one = http.get(ONE.format(id=sent.json()["id"]), headers=reader)
    assert one.json() == sent.json()
    mark = {"recipient": team["claude"], "messageIds": [sent.json()["id"]]}
    assert http.post(READ, json=mark, headers=reader).status_code == 403
    read = http.post(READ, json=mark, headers=bot)
    assert read.json()[0]["recipients"][0]["readBy"] == "ci-bot"

    activity = http.get(f"/api/projects/{project['id']}/activity", headers=reader).json()
    newest_first = [(e["event"], e["actor"]) for e in activity["events"][:2]]
    assert newest_first == [("message:read", "ci-bot"), ("message:sent", "ci-bot/nightly")]
