"""Named tokens for tests of who may read what."""

import httpx2 as httpx

from maestro_mcp.protocol import AUTHORIZATION_HEADER, TOKENS_PATH, bearer


def read_token_headers(http: httpx.Client) -> dict[str, str]:
    """Make the first token (an admin, ``lead``: from then on every request needs one) and
    with it a read token, ``dashboard``; return the headers that present the read one."""
    admin = http.post(TOKENS_PATH, json={"name": "lead", "scope": "admin"}).json()["secret"]
    reader = http.post(
        TOKENS_PATH,
        json={"name": "dashboard", "scope": "read"},
        headers={AUTHORIZATION_HEADER: bearer(admin)},
    )
    return {AUTHORIZATION_HEADER: bearer(reader.json()["secret"])}
