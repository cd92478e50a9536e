"""Named tokens with scopes, over a real server (both stores): who may do what, and who
did what (the actor of every event, never a secret)."""

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import click
import httpx2 as httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from http_api import Settings
from maestro_mcp.cli.serve import read_token
from maestro_mcp.core.access import CLIENT_NAME_MAX, new_secret, secret_hash
from maestro_mcp.core.storage import StoreUnavailable
from maestro_mcp.protocol import (
    AUTHORIZATION_HEADER,
    CLIENT_HEADER,
    CLOSE_GOING_AWAY,
    ME_PATH,
    TOKENS_PATH,
    bearer,
)
from tests.support.feeds import SseClient, WsClient
from tests.support.servers import LiveServer, live_server
from tests.support.waiting import wait_for


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with live_server(settings) as running:
        yield running


def as_(token: str) -> dict[str, str]:
    return {AUTHORIZATION_HEADER: bearer(token)}


def make(http: httpx.Client, name: str, scope: str, by: str | None = None) -> str:
    made = http.post(
        TOKENS_PATH, json={"name": name, "scope": scope}, headers=as_(by) if by else None
    )
    assert made.status_code == 201, made.text
    secret: str = made.json()["secret"]
    return secret


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def test_a_loopback_server_is_open_until_the_first_token_then_closed_to_all(
    server: LiveServer,
) -> None:
    http = server.http
    assert http.post("/api/projects", json={"name": "before"}).status_code == 201
    admin = make(http, "lead", "admin")
    # From now on every request needs a token, loopback included.
    refused = http.get("/api/projects")
    assert refused.status_code == 401
    assert error_code(refused) == "unauthorized"
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    wrong = http.get("/api/projects", headers=as_("mst_not-a-token"))
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert http.get("/api/projects", headers=as_(admin)).status_code == 200
    assert http.get("/health").status_code == 200  # public, as before


def test_scopes_read_write_admin(server: LiveServer) -> None:
    http = server.http
    admin = make(http, "lead", "admin")
    writer = make(http, "ci-bot", "write", by=admin)
    reader = make(http, "dashboard", "read", by=admin)
    project = http.post("/api/projects", json={"name": "p"}, headers=as_(writer)).json()

    # read: GETs, nothing else.
    assert http.get("/api/projects", headers=as_(reader)).status_code == 200
    assert http.get(f"/api/projects/{project['id']}", headers=as_(reader)).status_code == 200
    denied = http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "t"}, headers=as_(reader)
    )
    assert denied.status_code == 403
    assert error_code(denied) == "insufficient_scope"
    assert denied.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'
    assert "dashboard" in denied.json()["error"]["message"]

    # write: everything an agent does, but not tokens, nor deleting a project.
    task = http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "t"}, headers=as_(writer)
    )
    assert task.status_code == 201
    assert http.delete(f"/api/tasks/{task.json()['id']}", headers=as_(writer)).status_code == 200
    assert http.get(TOKENS_PATH, headers=as_(writer)).status_code == 403
    assert (
        http.post(
            TOKENS_PATH, json={"name": "x", "scope": "admin"}, headers=as_(writer)
        ).status_code
        == 403
    )
    gone = http.delete(f"/api/projects/{project['id']}", headers=as_(writer))
    assert gone.status_code == 403
    assert error_code(gone) == "insufficient_scope"
    assert http.get(f"/api/projects/{project['id']}", headers=as_(reader)).status_code == 200

    # admin: all of it.
    listed = http.get(TOKENS_PATH, headers=as_(admin))
    assert [(t["name"], t["scope"], t["createdBy"]) for t in listed.json()] == [
        ("ci-bot", "write", "lead"),
        ("dashboard", "read", "lead"),
        ("lead", "admin", "local"),
    ]
    assert all("secret" not in t and "secretHash" not in t for t in listed.json())
    assert http.delete(f"/api/projects/{project['id']}", headers=as_(admin)).status_code == 200


def test_the_feeds_take_a_read_token_in_the_url_and_rest_refuses_it(server: LiveServer) -> None:
    http = server.http
    admin = make(http, "lead", "admin")
    reader = make(http, "dashboard", "read", by=admin)
    # Browsers cannot send a header on WebSocket or EventSource: there, ?token= is taken.
    ws = WsClient(f"{server.ws_url}?token={reader}")
    ws.until_ready()
    ws.close()
    sse = SseClient(f"{server.base_url}/api/events?token={reader}")
    assert sse.recv()["event"] == "sync:ready"
    sse.close()
    # Anywhere else a header is possible: the token in the URL is refused, even a good one.
    in_url = http.get("/api/projects", params={"token": admin})
    assert in_url.status_code == 401
    assert "Authorization header" in in_url.json()["error"]["message"]
    # A feed refuses no token once tokens exist.
    refused = http.get("/api/events")
    assert refused.status_code == 401


def test_every_event_names_its_actor_and_never_a_secret(server: LiveServer) -> None:
    http = server.http
    project = http.post("/api/projects", json={"name": "p"}).json()
    admin = make(http, "lead", "admin")
    writer = make(http, "ci-bot", "write", by=admin)
    http.post("/api/tasks", json={"projectId": project["id"], "title": "t"}, headers=as_(writer))
    http.delete(f"{TOKENS_PATH}/ci-bot", headers=as_(admin))
    ws = WsClient(f"{server.ws_url}?since=0", additional_headers=as_(admin))
    seen = ws.until_ready()  # the whole log, replayed
    ws.close()
    assert [(m["event"], m["actor"]) for m in seen] == [
        ("project:created", "local"),
        ("token:created", "local"),
        ("token:created", "lead"),
        ("task:created", "ci-bot"),
        ("token:revoked", "lead"),
    ]
    assert seen[2]["data"] == {
        "name": "ci-bot",
        "scope": "write",
        "createdAt": seen[2]["data"]["createdAt"],
        "createdBy": "lead",
    }
    text = json.dumps(seen)
    for secret in (admin, writer):
        assert secret not in text
        assert secret_hash(secret) not in text


def actor_of_a_write(server: LiveServer, headers: dict[str, Any]) -> str:
    """The actor of the event a project created with ``headers`` made."""
    made = server.http.post(
        "/api/projects", json={"name": "p", "allowDuplicate": True}, headers=headers
    )
    assert made.status_code == 201, made.text
    [event] = server.http.get(
        f"/api/projects/{made.json()['id']}/activity", headers=headers
    ).json()["events"]
    actor: str = event["actor"]
    me = server.http.get(ME_PATH, headers=headers).json()["actor"]
    assert me == actor  # /api/me says what the request's writes carry
    return actor


def test_a_rest_client_names_itself_in_its_actor_as_an_mcp_client_does(
    server: LiveServer,
) -> None:
    """X-Maestro-Client is shown as MCP's clientInfo.name is (access.actor_name): a hostile
    value can neither pose as another principal nor break a line, nor grow the actor."""
    assert actor_of_a_write(server, {}) == "local"
    assert actor_of_a_write(server, {CLIENT_HEADER: "board"}) == "local/board"
    hostile: list[tuple[str | bytes, str]] = [
        ("x/../admin", "local/x_.._admin"),  # one / only: after the principal
        ("y" * 500, "local/" + "y" * CLIENT_NAME_MAX),  # cut
        ("a\tb", "local/a_b"),  # a control character HTTP carries
        (b"a\x85b", "local/a_b"),  # a C1 control (Latin-1, not UTF-8)
        ("a\u202eb".encode(), "local/a_b"),  # a bidi override, in UTF-8
        ("café".encode(), "local/café"),  # UTF-8 is read as UTF-8
        (b"caf\xe9", "local/café"),  # and a byte that is not, as Latin-1
        ("", "local"),  # nothing: no name
    ]
    for value, actor in hostile:
        assert actor_of_a_write(server, {CLIENT_HEADER: value}) == actor, value
    writer = make(server.http, "ci-bot", "admin")
    assert actor_of_a_write(server, {**as_(writer), CLIENT_HEADER: "cli"}) == "ci-bot/cli"


def test_a_revoked_token_is_refused_from_the_revoking_answer_on(server: LiveServer) -> None:
    http = server.http
    admin = make(http, "lead", "admin")
    writer = make(http, "ci-bot", "write", by=admin)
    assert http.get("/api/projects", headers=as_(writer)).status_code == 200  # now known
    revoked = http.delete(f"{TOKENS_PATH}/ci-bot", headers=as_(admin))
    assert revoked.status_code == 200
    assert revoked.json()["name"] == "ci-bot"
    refused = http.get("/api/projects", headers=as_(writer))
    assert refused.status_code == 401
    assert error_code(refused) == "unauthorized"
    again = http.delete(f"{TOKENS_PATH}/ci-bot", headers=as_(admin))
    assert again.status_code == 404
    # The name is free again, with a new secret.
    assert make(http, "ci-bot", "read", by=admin) != writer


def test_a_token_revoked_by_another_process_is_refused_once_its_event_is_read(
    server: LiveServer, settings: Settings
) -> None:
    """Another process on the same database (as another instance would): the server
    learns of the revocation from the log, not from its own answer."""
    http = server.http
    admin = make(http, "lead", "admin")
    writer = make(http, "ci-bot", "write", by=admin)
    assert http.get("/api/projects", headers=as_(writer)).status_code == 200
    with live_server(replace(settings), mcp_loaded=False) as other:
        assert other.http.delete(f"{TOKENS_PATH}/ci-bot", headers=as_(admin)).status_code == 200
    wait_for(
        lambda: http.get("/api/projects", headers=as_(writer)).status_code == 401,
        what="the revocation to reach the first server",
    )


def test_names_and_scopes_are_checked(server: LiveServer) -> None:
    http = server.http
    admin = make(http, "lead", "admin")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"name": "lead", "scope": "read"}, 409, "name_taken"),
        ({"name": "local", "scope": "read"}, 422, "validation_error"),
        ({"name": "Admin", "scope": "read"}, 422, "validation_error"),
        ({"name": "maestro", "scope": "read"}, 422, "validation_error"),
        ({"name": "has space", "scope": "read"}, 422, "validation_error"),
        ({"name": "a/b", "scope": "read"}, 422, "validation_error"),
        ({"name": "x" * 65, "scope": "read"}, 422, "validation_error"),
        ({"name": "ok", "scope": "root"}, 422, "validation_error"),
        ({"name": "ok"}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        answer = http.post(TOKENS_PATH, json=body, headers=as_(admin))
        assert (answer.status_code, error_code(answer)) == (status, code), body


def test_the_server_token_is_an_admin_named_admin(settings: Settings) -> None:
    with live_server(replace(settings, token="s3cret-server-token")) as server:
        http = server.http
        assert http.get("/api/projects").status_code == 401
        ws = WsClient(server.ws_url, additional_headers=as_("s3cret-server-token"))
        ws.until_ready()
        writer = make(http, "ci-bot", "write", by="s3cret-server-token")
        assert http.get("/api/projects", headers=as_(writer)).status_code == 200
        created = ws.recv()
        ws.close()
        assert (created["event"], created["actor"]) == ("token:created", "admin")


def test_reads_of_the_token_book_follow_the_database(server: LiveServer) -> None:
    """A token is looked up by its hash the first time it is presented (an index), and
    kept: the second request costs no query."""
    http = server.http
    admin = make(http, "lead", "admin")
    book = server.core.tokens
    assert book.any
    assert http.get("/api/projects", headers=as_(admin)).status_code == 200
    lookups: list[str] = []
    original = book._by_hash

    async def counted(digest: str) -> Any:
        lookups.append(digest)
        return await original(digest)

    book._by_hash = counted
    for _ in range(3):
        assert http.get("/api/projects", headers=as_(admin)).status_code == 200
    assert lookups == []
    unknown = new_secret()
    assert http.get("/api/projects", headers=as_(unknown)).status_code == 401
    assert http.get("/api/projects", headers=as_(unknown)).status_code == 401
    assert lookups == [secret_hash(unknown)] * 2  # an unknown secret is never kept
    # What new_secret could not have made is refused without a look.
    for malformed in ("mst_short", unknown + "x", "Basic x", "a" * 47):
        assert http.get("/api/projects", headers=as_(malformed)).status_code == 401
    assert len(lookups) == 2


def test_revoking_a_token_ends_the_live_streams_it_opened(server: LiveServer) -> None:
    """Its WebSocket is closed (1001: resume) and its SSE stream ends; coming back with
    it is refused. A stream of another token goes on."""
    http = server.http
    admin = make(http, "lead", "admin")
    reader = make(http, "dashboard", "read", by=admin)
    ws = WsClient(f"{server.ws_url}?token={reader}")
    ws.until_ready()
    sse = SseClient(f"{server.base_url}/api/events?token={reader}")
    assert sse.recv()["event"] == "sync:ready"
    other = WsClient(server.ws_url, additional_headers=as_(admin))
    other.until_ready()

    assert http.delete(f"{TOKENS_PATH}/dashboard", headers=as_(admin)).status_code == 200

    with pytest.raises(ConnectionClosed) as closed:
        ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == CLOSE_GOING_AWAY
    assert sse.recv()["event"] == "_closed"
    sse.close()
    with pytest.raises(InvalidStatus) as refused:
        WsClient(f"{server.ws_url}?token={reader}")
    assert refused.value.response.status_code == 401
    assert other.recv()["event"] == "token:revoked"  # the admin's stream goes on
    other.close()


def test_the_first_token_ends_the_streams_opened_without_one(server: LiveServer) -> None:
    """A client that connected while the server was open reads nothing once it closes:
    its stream ends, and coming back without a token is refused."""
    ws = WsClient(server.ws_url)
    ws.until_ready()
    sse = SseClient(f"{server.base_url}/api/events")
    assert sse.recv()["event"] == "sync:ready"
    admin = make(server.http, "lead", "admin")
    server.http.post("/api/projects", json={"name": "secret-project"}, headers=as_(admin))
    assert received_until_closed(ws) == []  # not even the token's own event
    assert sse.recv()["event"] == "_closed"
    sse.close()
    with pytest.raises(InvalidStatus) as refused:
        WsClient(server.ws_url)
    assert refused.value.response.status_code == 401


def test_a_database_out_of_reach_while_a_token_is_looked_up_is_a_503(
    server: LiveServer,
) -> None:
    admin = make(server.http, "lead", "admin")

    async def away(digest: str) -> Any:
        raise StoreUnavailable("the database is restarting")

    server.core.tokens._by_hash = away
    answer = server.http.get("/api/projects", headers=as_(admin))
    assert answer.status_code == 503
    assert error_code(answer) == "unavailable"
    assert answer.headers["Retry-After"]


def received_until_closed(ws: WsClient) -> list[str]:
    """The events a WebSocket receives until the server closes it."""
    seen: list[str] = []
    try:
        while True:
            seen.append(ws.recv()["event"])
    except ConnectionClosed:
        return seen


def test_the_feeds_take_the_token_parameter_only_spelled_plainly(server: LiveServer) -> None:
    """``to%6Ben=`` would reach the feed decoded, past the logs' masking: refused."""
    admin = make(server.http, "lead", "admin")
    answer = server.http.get(f"/api/events?to%6Ben={admin}")
    assert answer.status_code == 401
    assert "plainly" in answer.json()["error"]["message"]


@pytest.mark.parametrize("token", ["two words", 'a"quote', "back\\slash", "it's"])
def test_a_server_token_the_logs_could_not_mask_whole_is_refused(token: str) -> None:
    with pytest.raises(click.UsageError, match="spaces, quotes or backslashes"):
        read_token(token, None)
