"""Auth on every route and feed, found from the app itself (a route added later is covered
without touching this file): once a token exists, nothing but the public paths answers
without one; a read token may use every GET and the POSTs that only read, and nothing
else; write may not reach the admin routes."""

from collections.abc import Iterator

import httpx2 as httpx
import pytest
from starlette.routing import Route, WebSocketRoute

from http_api import Settings, create_app
from http_api.security import READING_POSTS, UNAUTHENTICATED_PATHS, UNAUTHENTICATED_PREFIXES
from maestro_mcp.core.runtime import Core
from maestro_mcp.protocol import AUTHORIZATION_HEADER, MCP_PATH, TOKENS_PATH, WS_PATH, bearer
from tests.support.servers import LiveServer, live_server

# The routes only an admin reaches: (method, path pattern).
ADMIN_ONLY = {
    ("GET", TOKENS_PATH),
    ("HEAD", TOKENS_PATH),
    ("POST", TOKENS_PATH),
    ("DELETE", TOKENS_PATH + "/{name}"),
    ("DELETE", "/api/projects/{id}"),
}


def routes(settings: Settings) -> list[tuple[str, str]]:
    """Every (method, path) the app routes, with placeholders filled in."""
    app = create_app(Core(settings))
    found = []
    for route in app.routes:
        if isinstance(route, WebSocketRoute):
            found.append(("WS", route.path))
        elif isinstance(route, Route):
            methods = route.methods or {"GET", "POST", "DELETE"}  # /mcp takes any
            found += [(m, route.path) for m in sorted(methods)]
    return found


def concrete(path: str) -> str:
    return path.replace("{id}", "x_1").replace("{task_id}", "task_1").replace("{name}", "n")


def is_public(path: str) -> bool:
    return path in UNAUTHENTICATED_PATHS or path.startswith(UNAUTHENTICATED_PREFIXES)


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with live_server(settings) as running:
        yield running


@pytest.fixture
def tokens(server: LiveServer) -> dict[str, str]:
    """A secret per scope; made while the server is still open."""
    made: dict[str, str] = {}
    for scope in ("admin", "write", "read"):
        headers = {AUTHORIZATION_HEADER: bearer(made["admin"])} if made else None
        answer = server.http.post(
            TOKENS_PATH, json={"name": f"{scope}-token", "scope": scope}, headers=headers
        )
        assert answer.status_code == 201
        made[scope] = answer.json()["secret"]
    return made


def ask(http: httpx.Client, method: str, path: str, token: str | None) -> int:
    headers = {AUTHORIZATION_HEADER: bearer(token)} if token else {}
    if method == "WS":  # the handshake, as plain HTTP: refused before any upgrade
        headers |= {
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        }
        method = "GET"
    if path == MCP_PATH:
        headers["Accept"] = "application/json, text/event-stream"
    # HEAD too gets a body: a handler must not take it for a write.
    body: dict[str, object] | None = {} if method in ("POST", "PATCH", "HEAD") else None
    # Streamed: a feed that lets the request in answers for as long as it is read.
    with http.stream(method, concrete(path), json=body, headers=headers) as answer:
        status: int = answer.status_code
    return status


def test_the_app_has_the_routes_this_test_knows(settings: Settings) -> None:
    found = set(routes(settings))
    assert found >= ADMIN_ONLY
    assert ("WS", WS_PATH) in found
    assert len(found) > 20


def test_nothing_but_the_public_paths_answers_without_a_token(
    server: LiveServer, settings: Settings, tokens: dict[str, str]
) -> None:
    for method, path in routes(settings):
        status = ask(server.http, method, path, None)
        if is_public(path):
            assert status != 401, (method, path)
        else:
            assert status in (401, 403), (method, path, status)
            assert ask(server.http, method, path, "mst_not-a-token") == 401, (method, path)


def test_a_read_token_gets_every_read_and_nothing_else(
    server: LiveServer, settings: Settings, tokens: dict[str, str]
) -> None:
    for method, path in routes(settings):
        if is_public(path) or path == MCP_PATH:
            continue  # MCP: tools check their scope (tests/security/test_mcp_access.py)
        status = ask(server.http, method, path, tokens["read"])
        if (method, path) in ADMIN_ONLY:
            assert status == 403, (method, path, status)
        elif method in ("GET", "HEAD", "WS") or (method == "POST" and path in READING_POSTS):
            assert status not in (401, 403), (method, path, status)
        else:
            assert status == 403, (method, path, status)


def test_a_write_token_gets_all_but_the_admin_routes(
    server: LiveServer, settings: Settings, tokens: dict[str, str]
) -> None:
    for method, path in routes(settings):
        if is_public(path):
            continue
        status = ask(server.http, method, path, tokens["write"])
        if (method, path) in ADMIN_ONLY:
            assert status == 403, (method, path, status)
        else:
            assert status not in (401, 403), (method, path, status)
        assert ask(server.http, method, path, tokens["admin"]) not in (401, 403), (method, path)


def test_head_reads_and_never_writes(server: LiveServer, tokens: dict[str, str]) -> None:
    """Starlette answers HEAD on every GET route: with a body and any token, it creates
    nothing and deletes nothing (a handler once took it for "not GET": a write)."""
    http = server.http
    admin = {AUTHORIZATION_HEADER: bearer(tokens["admin"])}
    project = http.post("/api/projects", json={"name": "p"}, headers=admin).json()
    task = http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "t"}, headers=admin
    ).json()
    for token in tokens.values():
        headers = {AUTHORIZATION_HEADER: bearer(token)}
        for path in ("/api/projects", "/api/tasks", TOKENS_PATH, f"/api/tasks/{task['id']}"):
            answer = http.request(
                "HEAD", path, json={"name": "x", "scope": "admin"}, headers=headers
            )
            assert answer.status_code in (200, 403), (path, answer.status_code)
    assert [p["name"] for p in http.get("/api/projects", headers=admin).json()] == ["p"]
    assert http.get(f"/api/tasks/{task['id']}", headers=admin).status_code == 200
    names = [t["name"] for t in http.get(TOKENS_PATH, headers=admin).json()]
    assert names == ["admin-token", "read-token", "write-token"]
