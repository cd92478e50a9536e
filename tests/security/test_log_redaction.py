"""No token in any log line, at any level (maestro_mcp/redaction.py).

Across a real process: ``maestro serve --log-level debug --access-log`` with a token,
its stderr and its stdout (uvicorn's access log) captured, is asked with the token in
the ``Authorization`` header and in ``?token=``, on REST, /ws, /api/events and /mcp, and
hands out claim tokens over MCP. Every request is answered, and neither the token, a
wrong one, nor a claim token shows anywhere in what it wrote, while the lines that
carried them are there, masked. Then the masking itself, on the shapes secrets take in
the libraries' log lines, and on records of loggers and handlers made after it was
installed.
"""

import contextlib
import io
import json
import logging
import re
import secrets
from collections.abc import Iterator

import anyio
import httpx2 as httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from uvicorn.logging import AccessFormatter
from websockets.exceptions import InvalidStatus

from maestro_mcp import redaction
from maestro_mcp.core.ids import CLAIM_TOKEN_PREFIX
from maestro_mcp.protocol import AUTHORIZATION_HEADER, MCP_PATH, TOKEN_QUERY, bearer
from tests.support.feeds import SseClient, WsClient
from tests.support.mcp import MCP_ACCEPT, call, initialize_request, new_task
from tests.support.servers import ServerProcess, start_server_process

SECRET = f"s3cret-{secrets.token_hex(8)}"
WRONG = f"wrong-{secrets.token_hex(8)}"
HEADER = {AUTHORIZATION_HEADER: bearer(SECRET)}
CLAIM_TOKEN = re.compile(rf"{CLAIM_TOKEN_PREFIX}[0-9a-f]{{8,}}")


async def claim_over_mcp(base_url: str, mode: str) -> list[str]:
    """An agent's session over MCP (the token in the header): it claims a task and
    completes it with its claim token. Returns the claim tokens it was given."""
    async with (
        httpx.AsyncClient(headers=HEADER) as http,
        Client(streamable_http_client(base_url + MCP_PATH, http_client=http), mode=mode) as mcp,
    ):
        project = (await call(mcp, "create_project", name=f"logs-{mode}"))["project"]["id"]
        task = (await new_task(mcp, project, title="t"))["id"]
        session = (await call(mcp, "start_session", project=project, name="s"))["session"]["id"]
        claimed = await call(mcp, "claim_tasks", sessionId=session, taskId=task)
        tokens = CLAIM_TOKEN.findall(json.dumps(claimed))
        assert tokens
        done = await call(mcp, "update_task", taskId=task, status="completed", claimToken=tokens[0])
        assert done["task"]["status"] == "completed"
        return tokens


def use_every_face(server: ServerProcess) -> list[str]:
    """The token in the header and in ``?token=`` on every face; returns the claim tokens
    handed out."""
    with server.client() as http:
        assert http.get("/api/projects", headers=HEADER).status_code == 200
        created = http.post("/api/projects", headers=HEADER, json={"name": "p"})
        assert created.status_code == 201
        wrong = http.get("/api/projects", headers={AUTHORIZATION_HEADER: bearer(WRONG)})
        assert wrong.status_code == 401
        # In the query, REST and /mcp answer whether or not they accept it there (issue
        # 13 keeps ?token= for browsers' feeds only); either way it is not logged.
        assert http.get("/api/projects", params={TOKEN_QUERY: SECRET}).status_code in (200, 401)
        initialize = http.post(
            MCP_PATH, params={TOKEN_QUERY: SECRET}, headers=MCP_ACCEPT, json=initialize_request()
        )
        assert initialize.status_code in (200, 401)
    for ws in (
        WsClient(f"{server.ws_url}?{TOKEN_QUERY}={SECRET}"),
        WsClient(server.ws_url, additional_headers=HEADER),
    ):
        ws.until_ready()
        ws.close()
    # The bare token as the header's whole value is no bearer token: refused, and the
    # handshake's header line, logged at debug, is masked all the same.
    with pytest.raises(InvalidStatus):
        WsClient(server.ws_url, additional_headers={AUTHORIZATION_HEADER: SECRET})
    for sse in (
        SseClient(f"{server.base_url}/api/events?{TOKEN_QUERY}={SECRET}"),
        SseClient(f"{server.base_url}/api/events", headers=HEADER),
    ):
        sse.until_ready()
        sse.close()
    return [
        token
        for mode in ("legacy", "auto")
        for token in anyio.run(claim_over_mcp, server.base_url, mode)
    ]


def test_no_token_in_any_log_line_at_debug_level(database: str) -> None:
    server = start_server_process(
        database, "--token", SECRET, "--log-level", "debug", "--access-log", stdout=True
    )
    try:
        claim_tokens = use_every_face(server)
    finally:
        code = server.terminate()
    log = "".join(server.log)
    assert code == 0
    for secret in (SECRET, WRONG, *claim_tokens):
        assert secret not in log
    assert CLAIM_TOKEN.search(log) is None
    # The lines that carried them were written, masked: the WebSocket handshake's headers
    # (debug), the request lines (debug and the access log, on stdout), and the MCP
    # messages with claim tokens (sse-starlette's debug dump of each).
    assert f"< {AUTHORIZATION_HEADER.lower()}: Bearer ***" in log
    assert f"< {AUTHORIZATION_HEADER.lower()}: ***" in log
    assert '"WebSocket /ws?token=***" [accepted]' in log
    assert '"GET /api/events?token=*** HTTP/1.1" 200' in log
    assert '"GET /api/projects?token=*** HTTP/1.1"' in log
    assert '"GET /api/projects HTTP/1.1" 401' in log
    assert 'claimToken\\\\":\\\\"***' in log
    # Masking kept the access log's formatter working (it once failed on every line).
    assert "Logging error" not in log
    assert "Traceback" not in log


# --- the masking, in this process ---------------------------------------------------


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        # websockets' debug lines of a handshake's headers, any scheme or none.
        ("< authorization: Bearer s3cret", "< authorization: Bearer ***"),
        ("< authorization: Basic dXNlcjpwYXNz", "< authorization: ***"),
        ("< authorization: s3cret", "< authorization: ***"),
        # Request lines: the token among other query parameters.
        (
            "GET /ws?since=3&token=s3cret&projectId=p HTTP/1.1",
            "GET /ws?since=3&token=***&projectId=p HTTP/1.1",
        ),
        ("GET /feed?access_token=s3cret", "GET /feed?access_token=***"),
        # Headers as a dict's repr and as ASGI's byte pairs.
        ("{'authorization': 'Bearer s3cret'}", "{'authorization': 'Bearer ***'}"),
        (
            "[(b'host', b'h'), (b'authorization', b's3cret')]",
            "[(b'host', b'h'), (b'authorization', b'***')]",
        ),
        # Keyword and JSON forms, plain and escaped inside a JSON string.
        ("Settings(token='s3cret', port=1)", "Settings(token='***', port=1)"),
        ('{"claimToken":"clm_0123456789abcdef"}', '{"claimToken":"***"}'),
        ('{\\"claimToken\\": \\"clm_0123456789abcdef\\"}', '{\\"claimToken\\": \\"***\\"}'),
        ("x-claim-token: clm_0123456789abcdef", "x-claim-token: clm_***"),
        # A URL's password.
        ("postgresql://maestro:s3cret@db/maestro", "postgresql://maestro:***@db/maestro"),
        # A named token's secret anywhere, whatever its case.
        ("made mst_AbC-d_9xYz for ci", "made mst_*** for ci"),
        ("not hamst_er", "not hamst_er"),
        # What holds no secret stays as it is.
        ("GET /api/tasks/bearer HTTP/1.1", "GET /api/tasks/bearer HTTP/1.1"),
        ("the claim token is no longer valid", "the claim token is no longer valid"),
    ],
)
def test_masks_every_shape_a_secret_takes(line: str, masked: str) -> None:
    assert redaction.mask(line) == masked
    assert redaction.mask(masked) == masked  # masking twice changes nothing


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger made after ``install``, a child of one, with a handler of its own."""
    redaction.install()
    redaction.install()  # a second install is the first one
    parent = logging.getLogger(f"test-redaction-{secrets.token_hex(4)}")
    logger = parent.getChild("child")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    parent.addHandler(handler)  # the child's records reach it by propagation
    parent.setLevel(logging.DEBUG)
    yield logger, stream
    parent.removeHandler(handler)


@pytest.mark.parametrize(
    "fmt", ["GET /ws?token=%s HTTP/1.1", "connecting with token=%s", "%s: Bearer %s"]
)
def test_a_secret_given_as_an_argument_is_masked_and_the_record_still_formats(
    captured: tuple[logging.Logger, io.StringIO], fmt: str
) -> None:
    logger, stream = captured
    args = ("SECRET123",) if fmt.count("%s") == 1 else ("authorization", "SECRET123")
    with contextlib.redirect_stderr(io.StringIO()) as errors:
        logger.warning(fmt, *args)
    assert "SECRET123" not in stream.getvalue()
    assert "***" in stream.getvalue()
    assert errors.getvalue() == ""  # no "--- Logging error ---" report with the arguments


def test_records_of_any_logger_are_masked(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.debug("< %s: %s", "authorization", "s3cret")  # name and value apart
    logger.info("headers %s", {"authorization": "Bearer s3cret"})  # inside an object
    logger.debug("chunk: %r", b'data: {"claimToken":"clm_0123456789abcdef"}')  # bytes
    try:
        raise ValueError("bad header Bearer s3cret")
    except ValueError:
        logger.exception("failed")
    written = stream.getvalue()
    assert "s3cret" not in written
    assert "clm_0123456789abcdef" not in written
    assert "< authorization: ***" in written
    assert "ValueError: bad header Bearer ***" in written


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/api/events?token=s3cret", "/api/events?token=***"),
        # Whole, the line looks like a bearer token ("Bearer HTTP/1.1"): it stays a line of
        # the access log, its arguments as they were.
        ("/api/tasks?q=Bearer", "/api/tasks?q=Bearer"),
    ],
)
def test_the_access_log_keeps_its_arguments(path: str, shown: str) -> None:
    """uvicorn's access formatter takes the arguments apart: masking keeps them."""
    redaction.install()
    record = logging.getLogger("uvicorn.access").makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )
    formatter = AccessFormatter(
        "%(client_addr)s %(request_line)s %(status_code)s", use_colors=False
    )
    assert formatter.format(record) == f"127.0.0.1:5000 GET {shown} HTTP/1.1 200 OK"
