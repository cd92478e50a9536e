"""The token routes' reading side anyone may use: ``GET /api/me`` says who a request acts
as, with the name its changes carry as their actor."""

from starlette.testclient import TestClient

from maestro_mcp.protocol import AUTHORIZATION_HEADER, ME_PATH, SEQ_HEADER, TOKENS_PATH, bearer


def test_me_names_the_caller_as_the_events_it_makes_name_it(client: TestClient) -> None:
    answer = client.get(ME_PATH)
    assert answer.json() == {"name": "local", "scope": "admin"}
    assert SEQ_HEADER in answer.headers

    secret = client.post(TOKENS_PATH, json={"name": "ci-bot", "scope": "read"}).json()["secret"]
    assert client.get(ME_PATH).status_code == 401  # a token exists: everyone needs one
    reader = {AUTHORIZATION_HEADER: bearer(secret)}
    assert client.get(ME_PATH, headers=reader).json() == {"name": "ci-bot", "scope": "read"}

    admin = client.post(TOKENS_PATH, json={"name": "lead", "scope": "admin"}, headers=reader)
    assert admin.status_code == 403  # and what it may do is what the answer said
