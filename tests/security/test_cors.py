"""Rule: ``--allowed-origin`` answers CORS for exactly those origins (http_api/cors.py).

A page served from an allowed origin may call the REST API with a bearer token (its
preflight needs none) and read Maestro's headers; any other origin gets no CORS header
and today's 403; the Host check applies to a preflight too. Over a real server (httpx),
then in Chromium, from pages served by a second and a third loopback origin.

CORS lives at the HTTP edge and never reaches the store: these tests run on SQLite only.
"""

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from click.testing import CliRunner, Result
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from starlette.routing import Mount, Route

from http_api import Settings, create_app
from http_api.cors import (
    ALLOWED_HEADERS,
    ALLOWED_METHODS,
    EXPOSED_HEADERS,
    PREFLIGHT_MAX_AGE_S,
    parse_origin,
)
from maestro_mcp.cli.main import cli
from maestro_mcp.protocol import (
    AUTHORIZATION_HEADER,
    ETAG_HEADER,
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    IF_MATCH_HEADER,
    SEQ_HEADER,
    TOKEN_QUERY,
    bearer,
    etag,
    parse_seq,
)
from tests.support.browser import launch_chromium
from tests.support.servers import LiveServer, live_server
from tests.support.stores import SQLITE, Databases
from tests.support.waiting import WAIT

pytestmark = pytest.mark.only_store(SQLITE)

ROOT = Path(__file__).resolve().parents[2]

TOKEN = "s3cret-for-cors"
AUTH = {AUTHORIZATION_HEADER: bearer(TOKEN)}
FOREIGN = "http://evil.example"
# What a browser sends before a JSON write with a token.
WRITE_PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
}

# The app another origin serves: a page whose script calls Maestro with fetch().
APP_PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>app</title>
<script>
// One request to Maestro: what the page can see of the answer, or why it saw none.
async function callMaestro({url, method, headers, body, credentials}) {
  try {
    const response = await fetch(url, {
      method, headers, credentials, body: body === undefined ? undefined : JSON.stringify(body)
    });
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers.entries()),
      body: await response.json(),
    };
  } catch (error) {
    return {error: String(error)};
  }
}

// The first message of Maestro's SSE feed that carries `event`, or why none came.
function firstEvent(url, event) {
  return new Promise((resolve) => {
    const source = new EventSource(url);
    source.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.event === event) { source.close(); resolve(data); }
    };
    source.onerror = () => { source.close(); resolve({error: "EventSource failed"}); };
  });
}
</script></head><body>app</body></html>
"""


class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(APP_PAGE)))
        self.end_headers()
        self.wfile.write(APP_PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test's output stays the test's


@dataclass
class PageServer:
    """``APP_PAGE`` served by a plain http.server on a loopback port of its own."""

    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join()
        self.server.server_close()


def serve_page() -> PageServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return PageServer(server, thread)


@pytest.fixture(scope="module")
def app_page() -> Iterator[PageServer]:
    """The origin Maestro allows."""
    page = serve_page()
    yield page
    page.close()


@pytest.fixture(scope="module")
def foreign_page() -> Iterator[PageServer]:
    """Another loopback origin, which Maestro does not allow."""
    page = serve_page()
    yield page
    page.close()


@pytest.fixture(scope="module")
def cors_settings(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    database = databases.create(tmp_path_factory.mktemp("cors"))
    return Settings(database=database, poll_interval=0.02, token=TOKEN)


@pytest.fixture(scope="module")
def server(cors_settings: Settings, app_page: PageServer) -> Iterator[LiveServer]:
    """A server with a token that allows the app page's origin."""
    with live_server(replace(cors_settings, allowed_origins=(app_page.origin,))) as running:
        yield running


@pytest.fixture
def app(app_page: PageServer) -> str:
    return app_page.origin


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {
        name: value
        for name, value in response.headers.items()
        if name.lower().startswith("access-control-")
    }


def names(value: str | None) -> set[str]:
    """The names of a comma-separated header list, without case."""
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


def preflight(
    http: httpx.Client, path: str, origin: str, asks: dict[str, str] = WRITE_PREFLIGHT
) -> httpx.Response:
    return http.options(path, headers={"Origin": origin, **asks})


# --- over a real server ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "headers"),
    [
        ("/api/projects", "POST", "authorization,content-type,idempotency-key"),
        ("/api/tasks/task_0123456789abcdef", "PATCH", "authorization,content-type,if-match"),
        ("/api/sessions/sess_0123456789abcdef", "DELETE", "authorization,if-match"),
        ("/api/events", "GET", "authorization,last-event-id"),
    ],
)
def test_an_allowed_origins_preflight_is_answered_without_a_token(
    server: LiveServer, app: str, path: str, method: str, headers: str
) -> None:
    asks = {"Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}
    answer = preflight(server.http, path, app, asks)
    assert answer.status_code == 204, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == app
    assert method.lower() in names(answer.headers["Access-Control-Allow-Methods"])
    assert names(headers) <= names(answer.headers["Access-Control-Allow-Headers"])
    assert answer.headers["Access-Control-Max-Age"] == str(PREFLIGHT_MAX_AGE_S)
    assert "origin" in names(answer.headers["Vary"])
    # Bearer tokens need no credentials mode, and Maestro grants none (cors.py).
    assert "Access-Control-Allow-Credentials" not in answer.headers


def test_an_allowed_page_reads_etag_and_seq_of_its_writes(server: LiveServer, app: str) -> None:
    origin = {"Origin": app}
    created = server.http.post(
        "/api/projects",
        json={"name": "from the app"},
        headers={**origin, **AUTH, IDEMPOTENCY_KEY_HEADER: "cors-create-1"},
    )
    assert created.status_code == 201, created.text
    assert created.headers["Access-Control-Allow-Origin"] == app
    exposed = names(created.headers["Access-Control-Expose-Headers"])
    assert {ETAG_HEADER.lower(), SEQ_HEADER.lower(), IDEMPOTENT_REPLAYED_HEADER.lower()} <= exposed
    assert "origin" in names(created.headers["Vary"])
    assert "Access-Control-Allow-Credentials" not in created.headers

    patched = server.http.patch(
        f"/api/projects/{created.json()['id']}",
        json={"description": "patched across origins"},
        headers={**origin, **AUTH, IF_MATCH_HEADER: created.headers[ETAG_HEADER]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.headers[ETAG_HEADER] == etag(2)
    assert patched.headers["Access-Control-Allow-Origin"] == app


def test_an_allowed_page_can_read_the_guards_refusal(server: LiveServer, app: str) -> None:
    """A 401 tells the page to ask its user for a token: it must be readable."""
    refused = server.http.get("/api/projects", headers={"Origin": app})
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == app


def test_a_foreign_origin_gets_no_cors_headers_and_a_403(server: LiveServer) -> None:
    refused = preflight(server.http, "/api/projects", FOREIGN)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden_origin"
    assert cors_headers(refused) == {}

    actual = server.http.get("/api/projects", headers={"Origin": FOREIGN, **AUTH})
    assert actual.status_code == 403
    assert cors_headers(actual) == {}
    # What is not allowed varies by Origin as well: no cache serves it to another origin.
    assert "origin" in names(actual.headers["Vary"])


def test_the_host_check_applies_to_a_preflight(server: LiveServer, app: str) -> None:
    rebound = server.http.options(
        "/api/projects", headers={"Origin": app, "Host": "attacker.example", **WRITE_PREFLIGHT}
    )
    assert rebound.status_code == 421
    assert "Access-Control-Allow-Methods" not in rebound.headers


@pytest.mark.parametrize(
    ("with_origin", "with_method"),
    [(False, True), (True, False)],  # without either, an OPTIONS is no preflight
)
def test_only_a_preflight_goes_without_a_token(
    server: LiveServer, app: str, with_origin: bool, with_method: bool
) -> None:
    headers = {"Origin": app} if with_origin else {}
    if with_method:
        headers["Access-Control-Request-Method"] = "POST"
    assert server.http.options("/api/projects", headers=headers).status_code == 401


def test_the_servers_own_origin_needs_no_cors(server: LiveServer) -> None:
    own = server.base_url
    answered = server.http.get("/api/projects", headers={"Origin": own, **AUTH})
    assert answered.status_code == 200
    assert cors_headers(answered) == {}
    # Browsers never preflight their own origin; one is answered, and reaches no route.
    asked = preflight(server.http, "/mcp", own)
    assert asked.status_code == 204
    assert cors_headers(asked) == {}


def test_every_method_of_every_route_is_allowed(server: LiveServer) -> None:
    used: set[str] = set()
    for route in create_app(server.core).routes:
        if isinstance(route, Route) and route.methods:
            used |= route.methods
        elif isinstance(route, Mount):
            used |= {"GET", "HEAD"}  # the board's files
    assert used <= set(ALLOWED_METHODS), used - set(ALLOWED_METHODS)


def test_the_operations_guide_lists_what_is_allowed() -> None:
    guide = " ".join((ROOT / "docs" / "operations.md").read_text().split())
    assert f"`{', '.join(ALLOWED_METHODS)}`" in guide
    assert f"`{', '.join(ALLOWED_HEADERS)}`" in guide
    assert f"`Access-Control-Max-Age: {PREFLIGHT_MAX_AGE_S}`" in guide
    assert f"`Access-Control-Expose-Headers: {', '.join(EXPOSED_HEADERS)}`" in guide


def test_the_token_and_json_headers_are_allowed() -> None:
    allowed = {name.lower() for name in ALLOWED_HEADERS}
    assert {AUTHORIZATION_HEADER.lower(), "content-type", IF_MATCH_HEADER.lower()} <= allowed
    assert IDEMPOTENCY_KEY_HEADER.lower() in allowed


def test_every_origin_when_star_is_allowed(cors_settings: Settings) -> None:
    with live_server(replace(cors_settings, allowed_origins=("*",)), mcp_loaded=False) as star:
        answer = preflight(star.http, "/api/projects", FOREIGN)
        assert answer.status_code == 204
        # The origin is echoed, not "*": one rule for every configuration.
        assert answer.headers["Access-Control-Allow-Origin"] == FOREIGN


def test_no_allowed_origin_means_no_cors(cors_settings: Settings, app: str) -> None:
    with live_server(cors_settings, mcp_loaded=False) as plain:
        refused = preflight(plain.http, "/api/projects", app)
        assert refused.status_code == 403
        assert cors_headers(refused) == {}
        # Nothing varies by Origin, so nothing says it does: today's answers, unchanged.
        answered = plain.http.get("/api/projects", headers=AUTH)
        assert answered.status_code == 200
        assert "Vary" not in answered.headers


# --- the origins given, as the browser sends them -------------------------------------


def serve(*args: str) -> Result:
    """``maestro serve *args`` in this process, on a port already taken: if it is not
    refused at start as it should be, it fails to listen instead of serving forever."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        return CliRunner().invoke(cli, ["serve", "--port", port, *args])


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("http://localhost:5173", "http://localhost:5173"),
        ("HTTP://LocalHost:5173/", "http://localhost:5173"),
        ("https://app.example.com:443", "https://app.example.com"),
        ("http://[::1]:80", "http://[::1]"),
        ("*", "*"),
    ],
)
def test_an_origin_is_kept_as_browsers_send_it(given: str, canonical: str) -> None:
    assert parse_origin(given) == canonical


@pytest.mark.parametrize(
    "given",
    [
        "localhost:5173",
        "http://localhost:5173/app",
        "http://user@localhost:5173",
        "http://localhost:5173?x=1",
        "ftp://localhost",
        "null",
        "http://localhost:99999",
    ],
)
def test_what_is_not_an_origin_is_refused_at_start(given: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an origin"):
        parse_origin(given)
    result = serve("--allowed-origin", given, "--db", str(tmp_path / "m.db"))
    assert result.exit_code == 2
    assert "not an origin" in result.output


def test_an_origin_given_in_another_spelling_is_allowed(cors_settings: Settings, app: str) -> None:
    """The guard and CORS compare origins alike: case and a trailing slash do not count."""
    spelt = replace(cors_settings, allowed_origins=(app.upper() + "/",))
    with live_server(spelt, mcp_loaded=False) as running:
        answer = preflight(running.http, "/api/projects", app)
        assert answer.status_code == 204
        assert answer.headers["Access-Control-Allow-Origin"] == app
        actual = running.http.get("/api/projects", headers={"Origin": app, **AUTH})
        assert actual.status_code == 200
        assert actual.headers["Access-Control-Allow-Origin"] == app


def test_every_origin_needs_a_token(tmp_path: Path) -> None:
    result = serve("--allowed-origin", "*", "--db", str(tmp_path / "m.db"))
    assert result.exit_code == 2
    assert "token" in result.output


# --- in Chromium, from other origins -----------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        yield launched
        launched.close()


@dataclass
class OpenPage:
    page: Page
    console: list[str]

    def call(
        self,
        url: str,
        method: str,
        headers: dict[str, str],
        body: Any = None,
        credentials: str = "same-origin",  # fetch()'s default
    ) -> Any:
        request = {"url": url, "method": method, "headers": headers, "credentials": credentials}
        if body is not None:
            request["body"] = body
        return self.page.evaluate("(request) => callMaestro(request)", request)

    def blocked_by_cors(self) -> Any:
        """Waits, on exit, for Chromium to say that CORS blocked a request."""
        return self.page.expect_console_message(
            lambda m: "blocked by CORS policy" in m.text, timeout=WAIT * 1000
        )


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[[str], OpenPage]]:
    """Opens the page an origin serves, each in a browser context of its own."""
    contexts: list[BrowserContext] = []

    def opener(origin: str) -> OpenPage:
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.goto(origin + "/")
        return OpenPage(page, console)

    yield opener
    for context in contexts:
        context.close()


def test_a_page_from_an_allowed_origin_uses_the_api_in_chromium(
    server: LiveServer, app: str, open_page: Callable[[str], OpenPage]
) -> None:
    opened = open_page(app)
    json_write = {**AUTH, "Content-Type": "application/json"}  # so the browser preflights

    created = opened.call(
        server.base_url + "/api/projects",
        "POST",
        {**json_write, IDEMPOTENCY_KEY_HEADER: "chromium-1"},
        {"name": "made in Chromium"},
    )
    assert created.get("status") == 201, created
    project = created["body"]
    assert created["headers"][ETAG_HEADER.lower()] == etag(1)
    seq = parse_seq(created["headers"][SEQ_HEADER.lower()])
    assert seq is not None

    patched = opened.call(
        f"{server.base_url}/api/projects/{project['id']}",
        "PATCH",
        {**json_write, IF_MATCH_HEADER: etag(1)},
        {"description": "patched from another origin"},
    )
    assert patched.get("status") == 200, patched
    assert patched["headers"][ETAG_HEADER.lower()] == etag(2)
    assert parse_seq(patched["headers"][SEQ_HEADER.lower()]) == seq + 1

    # Refusals are readable too: a stale If-Match, and a missing token.
    stale = opened.call(
        f"{server.base_url}/api/projects/{project['id']}",
        "PATCH",
        {**json_write, IF_MATCH_HEADER: etag(1)},
        {"description": "too late"},
    )
    assert stale.get("status") == 412, stale
    anonymous = opened.call(server.base_url + "/api/projects", "GET", {})
    assert anonymous.get("status") == 401, anonymous
    # Maestro grants no credentials mode: a page asking for it gets nothing.
    with opened.blocked_by_cors():
        credentialed = opened.call(
            server.base_url + "/api/projects", "GET", AUTH, credentials="include"
        )
    assert "error" in credentialed, credentialed

    # The feed too: EventSource cannot set a header, so it sends the token as a query.
    feed = f"{server.base_url}/api/events?since={seq - 1}&{TOKEN_QUERY}={TOKEN}"
    event = opened.page.evaluate(
        "([url, event]) => firstEvent(url, event)", [feed, "project:created"]
    )
    assert event.get("data", {}).get("id") == project["id"], event

    in_store = server.http.get(f"/api/projects/{project['id']}", headers=AUTH)
    assert in_store.json()["description"] == "patched from another origin"
    blocked = [text for text in opened.console if "blocked by CORS policy" in text]
    assert len(blocked) == 1, blocked  # the credentialed request only


def test_a_page_from_another_origin_is_refused_in_chromium(
    server: LiveServer, foreign_page: PageServer, open_page: Callable[[str], OpenPage]
) -> None:
    opened = open_page(foreign_page.origin)
    head = server.feed.head
    with opened.blocked_by_cors():
        write = opened.call(
            server.base_url + "/api/projects",
            "POST",
            {**AUTH, "Content-Type": "application/json"},
            {"name": "from a foreign origin"},
        )
    assert "error" in write, write
    # A simple request (no preflight) gets Maestro's 403, which the page cannot read.
    with opened.blocked_by_cors():
        read = opened.call(server.base_url + "/health", "GET", {})
    assert "error" in read, read
    assert server.feed.head == head
    listed = server.http.get("/api/projects", headers=AUTH).json()
    assert "from a foreign origin" not in json.dumps(listed)
