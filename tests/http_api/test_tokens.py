"""The token routes' reading side anyone may use: ``GET /api/me`` says who a request acts
as, and the actor its changes carry (with the client's name, if the request gives one)."""

from starlette.testclient import TestClient

from maestro_mcp.protocol import (
    AUTHORIZATION_HEADER,
    BOARD_CLIENT,
    CLIENT_HEADER,
    ME_PATH,
    SEQ_HEADER,
    TOKENS_PATH,
    bearer,
)


def test_me_names_the_caller_as_the_events_it_makes_name_it(client: TestClient) -> None:
    answer = client.get(ME_PATH)
    assert answer.json() == {"name": "local", "scope": "admin", "actor": "local"}
    assert SEQ_HEADER in answer.headers
    board = {CLIENT_HEADER: BOARD_CLIENT}
    named = client.get(ME_PATH, headers=board).json()
    assert named == {"name": "local", "scope": "admin", "actor": "local/board"}
    made = client.post("/api/projects", json={"name": "p"}, headers=board)
    [event] = client.get(f"/api/projects/{made.json()['id']}/activity").json()["events"]
    assert event["actor"] == named["actor"]  # what /api/me said its changes would carry

    secret = client.post(TOKENS_PATH, json={"name": "ci-bot", "scope": "read"}).json()["secret"]
    assert client.get(ME_PATH).status_code == 401  # a token exists: everyone needs one
    reader = {AUTHORIZATION_HEADER: bearer(secret)}
    assert client.get(ME_PATH, headers=reader).json() == {
        "name": "ci-bot",
        "scope": "read",
        "actor": "ci-bot",
    }
    assert client.get(ME_PATH, headers={**reader, **board}).json()["actor"] == "ci-bot/board"

    admin = client.post(TOKENS_PATH, json={"name": "lead", "scope": "admin"}, headers=reader)
    assert admin.status_code == 403  # and what it may do is what the answer said
