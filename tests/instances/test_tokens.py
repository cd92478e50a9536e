"""Named tokens across instances: made on one, it works on the other at once; revoked on
one, the other refuses it (and ends its streams) as soon as its feed reads the event."""

import httpx2 as httpx
import pytest
from websockets.exceptions import ConnectionClosed

from maestro_mcp.protocol import AUTHORIZATION_HEADER, TOKENS_PATH, bearer
from tests.support.feeds import WsClient
from tests.support.instances import Pair
from tests.support.waiting import WAIT, wait_for

pytestmark = pytest.mark.only_store("postgresql")


def client(base_url: str, token: str | None = None) -> httpx.Client:
    headers = {AUTHORIZATION_HEADER: bearer(token)} if token else {}
    return httpx.Client(base_url=base_url, timeout=WAIT, headers=headers)


def drain(ws: WsClient) -> str:
    """Read until the server closes the stream."""
    try:
        while True:
            ws.recv()
    except ConnectionClosed:
        return "closed"
    finally:
        ws.close()


def test_a_token_made_on_one_instance_works_on_the_other_at_once(pair: Pair) -> None:
    a, b = pair
    with client(a.base_url) as on_a:
        made = on_a.post(TOKENS_PATH, json={"name": "lead", "scope": "admin"})
    assert made.status_code == 201
    admin = made.json()["secret"]
    # B hears of it from the log (no request has shown it the token yet) and closes to
    # requests without one.
    with client(b.base_url) as anonymous:
        wait_for(
            lambda: anonymous.get("/api/projects").status_code == 401,
            what="B to need a token",
        )
    # B looks a secret it has not seen up.
    with client(b.base_url, admin) as on_b:
        assert on_b.get("/api/projects").status_code == 200
        created = on_b.post("/api/projects", json={"name": "p"})
    assert created.status_code == 201


def test_a_token_revoked_on_one_instance_is_refused_by_the_other(pair: Pair) -> None:
    a, b = pair
    with client(a.base_url) as on_a:
        admin = on_a.post(TOKENS_PATH, json={"name": "lead", "scope": "admin"}).json()["secret"]
    with client(a.base_url, admin) as on_a:
        bot = on_a.post(TOKENS_PATH, json={"name": "bot", "scope": "write"}).json()["secret"]
    with client(b.base_url, bot) as on_b:
        assert on_b.get("/api/projects").status_code == 200  # B knows it now
        ws = WsClient(b.ws_url, additional_headers={AUTHORIZATION_HEADER: bearer(bot)})
        ws.until_ready()
        with client(a.base_url, admin) as on_a:
            assert on_a.delete(f"{TOKENS_PATH}/bot").status_code == 200
        wait_for(lambda: on_b.get("/api/projects").status_code == 401, what="B to refuse it")
    # And B ended the stream it opened: after what it was sent, the close.
    assert drain(ws) == "closed"
