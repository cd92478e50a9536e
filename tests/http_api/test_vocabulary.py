"""One vocabulary on the HTTP face: REST headers and OpenAPI from maestro_mcp/protocol.py
and the core, and a board that takes its statuses, priorities and limits from the server."""

import json
import re
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from http_api import Settings, create_app
from http_api.vocabulary import PATH, vocabulary
from maestro_mcp import protocol
from maestro_mcp.core.models import (
    IDEMPOTENCY_KEY_MAX,
    NOTES_LIMIT_DEFAULT,
    NOTES_LIMIT_MAX,
    ReservationEnd,
    SessionStatus,
    TaskPriority,
    TaskStatus,
)
from maestro_mcp.core.runtime import Core

STATIC = Path(__file__).parent.parent.parent / "http_api" / "static"
EXPORT = re.compile(r"^export const (\w+) = Object\.freeze\((.*)\);$")


# --- REST and OpenAPI -----------------------------------------------------------------------


def test_rest_answers_with_the_protocol_headers(client: TestClient) -> None:
    key = {protocol.IDEMPOTENCY_KEY_HEADER: "create-demo"}
    first = client.post("/api/projects", json={"name": "Demo"}, headers=key)
    assert first.headers[protocol.ETAG_HEADER] == protocol.etag(1)
    assert protocol.parse_seq(first.headers[protocol.SEQ_HEADER]) is not None
    assert protocol.IDEMPOTENT_REPLAYED_HEADER not in first.headers
    again = client.post("/api/projects", json={"name": "Demo"}, headers=key)
    assert again.headers[protocol.IDEMPOTENT_REPLAYED_HEADER] == protocol.TRUE

    url = f"/api/projects/{first.json()['id']}"
    unchanged = client.get(url, headers={protocol.IF_NONE_MATCH_HEADER: protocol.etag(1)})
    assert unchanged.status_code == 304
    assert unchanged.headers[protocol.ETAG_HEADER] == protocol.etag(1)
    client.patch(url, json={"description": "v2"}, headers={protocol.IF_MATCH_HEADER: "1"})
    stale = client.patch(
        url, json={"description": "v3"}, headers={protocol.IF_MATCH_HEADER: protocol.etag(1)}
    )
    assert stale.status_code == 412
    assert stale.headers[protocol.ETAG_HEADER] == protocol.etag(2)


def test_openapi_takes_enums_limits_and_header_names_from_their_definitions(
    client: TestClient,
) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for enum in (TaskStatus, TaskPriority, SessionStatus):
        assert schemas[enum.__name__]["enum"] == [m.value for m in enum]
    (limit,) = spec["paths"]["/api/sessions/{id}/notes"]["get"]["parameters"]
    assert (limit["schema"]["maximum"], limit["schema"]["default"]) == (
        NOTES_LIMIT_MAX,
        NOTES_LIMIT_DEFAULT,
    )
    headers = {
        p["name"]: p
        for item in spec["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for p in operation.get("parameters", [])
        if p["in"] == "header"
    }
    assert set(headers) == {
        protocol.IF_MATCH_HEADER,
        protocol.IF_NONE_MATCH_HEADER,
        protocol.IDEMPOTENCY_KEY_HEADER,
        protocol.CLAIM_TOKEN_HEADER,
        protocol.OVERRIDE_HEADER,
        protocol.LAST_EVENT_ID_HEADER,
        protocol.CLIENT_HEADER,
    }
    assert headers[protocol.IDEMPOTENCY_KEY_HEADER]["schema"]["maxLength"] == IDEMPOTENCY_KEY_MAX


# --- the board ------------------------------------------------------------------------------


def exports(module: str) -> dict[str, Any]:
    found = {}
    for line in module.splitlines():
        match = EXPORT.match(line)
        if match:
            found[match[1]] = json.loads(match[2])
    return found


def test_the_board_gets_the_vocabulary_from_the_server(settings: Settings) -> None:
    # Served without the token, like the other assets: it holds no data.
    app = create_app(Core(replace(settings, token="s3cret")))
    with TestClient(app, base_url="http://127.0.0.1:3000") as client:
        response = client.get(PATH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    served = exports(response.text)
    assert served == vocabulary()
    assert served["TASK_STATUSES"] == [s.value for s in TaskStatus]
    assert served["TASK_PRIORITIES"] == [p.value for p in TaskPriority]
    assert served["SESSION_STATUSES"] == [s.value for s in SessionStatus]


def js_object_keys(source: str, name: str) -> set[str]:
    """The keys of ``export const NAME = { key: "…", … };`` in a JS module."""
    match = re.search(rf"export const {name} = \{{(.*?)\}};", source, re.DOTALL)
    assert match, f"{name} not found"
    return set(re.findall(r"^\s*(\w+):", match[1], re.MULTILINE))


@pytest.mark.parametrize(
    ("label", "enum"),
    [
        ("TASK_STATUS_LABEL", TaskStatus),
        ("SESSION_STATUS_LABEL", SessionStatus),
        ("RESERVATION_END_LABEL", ReservationEnd),
    ],
)
def test_the_board_words_every_status_the_core_defines(label: str, enum: type[StrEnum]) -> None:
    labels = (STATIC / "labels.js").read_text(encoding="utf-8")
    assert js_object_keys(labels, label) == {m.value for m in enum}


@pytest.mark.parametrize("status", [*TaskStatus, *SessionStatus])
def test_the_board_styles_every_status(status: StrEnum) -> None:
    css = (STATIC / "board.css").read_text(encoding="utf-8")
    assert re.search(rf"\.status-{status.value}\b", css)


def test_the_board_page_and_scripts_define_no_vocabulary_of_their_own() -> None:
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    assert "<option" not in page
    assert "maxlength" not in page.lower()
    assert set(re.findall(r'data-limit="(\w+)"', page)) <= set(vocabulary()["LIMITS"])
    scripts = "".join(p.read_text(encoding="utf-8") for p in STATIC.glob("*.js"))
    for header in (
        protocol.SEQ_HEADER,
        protocol.IF_MATCH_HEADER,
        protocol.IDEMPOTENCY_KEY_HEADER,
        protocol.OVERRIDE_HEADER,
        protocol.CLIENT_HEADER,
    ):
        # As a string; comments may name it.
        assert not re.search(rf"[\"'`]{re.escape(header)}[\"'`]", scripts, re.IGNORECASE)
