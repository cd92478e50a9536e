"""Named tokens for tests of who may read what, and of who a change names."""

import httpx2 as httpx

from maestro_mcp.protocol import AUTHORIZATION_HEADER, TOKENS_PATH, bearer


def read_token_headers(http: httpx.Client) -> dict[str, str]:
    """Make the first token (an admin, ``lead``: from then on every request needs one) and
    with it a read token, ``dashboard``; return the headers that present the read one."""
    return named_token_headers(http, {"dashboard": "read"})["dashboard"]


def named_token_headers(http: httpx.Client, scopes: dict[str, str]) -> dict[str, dict[str, str]]:
    """Make the first token (an admin, ``lead``: from then on every request needs one) and
    with it a token per ``{name: scope}``; return the headers that present each, ``lead``'s
    included."""
    admin = http.post(TOKENS_PATH, json={"name": "lead", "scope": "admin"}).json()["secret"]
    made = {"lead": {AUTHORIZATION_HEADER: bearer(admin)}}
    for name, scope in scopes.items():
        answer = http.post(TOKENS_PATH, json={"name": name, "scope": scope}, headers=made["lead"])
        assert answer.status_code == 201, answer.text
        made[name] = {AUTHORIZATION_HEADER: bearer(answer.json()["secret"])}
    return made
