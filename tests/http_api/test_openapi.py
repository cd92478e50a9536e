"""The OpenAPI document describes every answer a client gets: each defect the
schemathesis run (tests/security/test_openapi_fuzz.py) found, pinned down by the
request that showed it and held to the document as the run holds every answer."""

import re
from dataclasses import replace
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from http_api import Settings, live
from http_api.openapi import build_openapi
from maestro_mcp import protocol
from maestro_mcp.core.models import NOTE_MAX
from tests.support.openapi import assert_documented
from tests.support.servers import LiveServer, in_process
from tests.support.waiting import WAIT

JSON = {"Content-Type": "application/json"}
RESOURCES = ("projects", "tasks", "sessions")


@pytest.fixture
def ids(client: TestClient) -> dict[str, str]:
    project = client.post("/api/projects", json={"name": "p"}).json()["id"]
    task = client.post("/api/tasks", json={"projectId": project, "title": "t"}).json()["id"]
    session = client.post("/api/sessions", json={"projectId": project, "name": "s"}).json()["id"]
    return {"projects": project, "tasks": task, "sessions": session}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    ]


def offers_null(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or {"type": "null"} in schema.get("anyOf", [])


@pytest.mark.parametrize("plural", RESOURCES)
def test_a_delete_whose_if_match_is_no_etag_is_a_documented_400(
    client: TestClient, ids: dict[str, str], plural: str
) -> None:
    # Found: DELETE listed 200, 404 and 412; a malformed If-Match is 400, as on PATCH.
    answer = client.delete(f"/api/{plural}/{ids[plural]}", headers={"If-Match": "v1"})
    assert answer.status_code == 400
    assert_documented(answer, f"/api/{plural}/{{id}}")


def test_if_match_is_documented_with_the_syntax_the_server_takes(
    client: TestClient, ids: dict[str, str]
) -> None:
    # Found with the DELETE 400: the document took any string, so most generated
    # values were refused as malformed; its pattern now says what is an entity-tag.
    (pattern,) = {
        p["schema"]["pattern"]
        for _, _, operation in operations(build_openapi())
        for p in operation.get("parameters", [])
        if p["name"] == protocol.IF_MATCH_HEADER
    }
    url = f"/api/projects/{ids['projects']}"
    # (A list naming two of our versions is well-formed but refused: it asks for both.)
    for value in ['"1"', 'W/"1"', "1", "*", '"some-etag"', '"1", W/"x"', "v1", '"1', '"1" "2"']:
        answer = client.patch(url, json={}, headers={protocol.IF_MATCH_HEADER: value})
        assert (answer.status_code != 400) == bool(re.fullmatch(pattern, value)), value
        assert_documented(answer, "/api/projects/{id}")


def test_a_bad_notes_limit_is_a_documented_422(client: TestClient, ids: dict[str, str]) -> None:
    # Found: GET /api/sessions/{id}/notes listed 200 and 404 only.
    session = ids["sessions"]
    answer = client.get(f"/api/sessions/{session}/notes", params={"limit": "many"})
    assert answer.status_code == 422
    assert_documented(answer, "/api/sessions/{id}/notes")


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/api/tasks/{id}/claim", "tasks"),
        ("/api/tasks/{id}/release", "tasks"),
        ("/api/sessions/{id}/claim-next", "sessions"),
        ("/api/sessions/{id}/heartbeat", "sessions"),
    ],
)
def test_a_claim_route_documents_what_it_answers_a_bad_body(
    client: TestClient, settings: Settings, ids: dict[str, str], path: str, key: str
) -> None:
    # Found: these read a JSON body but did not list 400 (not JSON), 413 (too large) or
    # 415 (not sent as JSON); the claim route listed none of them.
    url = path.format(id=ids[key])
    too_large = b"[" * (settings.max_body + 1)
    for content, headers, status in [
        (b"\x00", JSON, 400),
        (b"{}", {"Content-Type": "text/plain"}, 415),
        (too_large, JSON, 413),
    ]:
        answer = client.post(url, content=content, headers=headers)
        assert answer.status_code == status
        assert_documented(answer, path)


def test_a_patch_schema_offers_null_exactly_for_the_fields_null_clears(
    client: TestClient, ids: dict[str, str]
) -> None:
    # Found: every PATCH field was documented as nullable; null is refused (422) for all
    # but the fields it clears (parentId, workingDir, agent).
    spec = build_openapi()
    for plural in RESOURCES:
        body = spec["paths"][f"/api/{plural}/{{id}}"]["patch"]["requestBody"]
        name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for field, schema in spec["components"]["schemas"][name]["properties"].items():
            answer = client.patch(f"/api/{plural}/{ids[plural]}", json={field: None})
            assert answer.status_code == (200 if offers_null(schema) else 422), (name, field)


def test_query_parameters_are_never_documented_as_null(client: TestClient) -> None:
    # Found with the PATCH bodies: filters were documented as nullable, which a query
    # string cannot say; ?ready=null is refused.
    for method, path, operation in operations(build_openapi()):
        for parameter in operation.get("parameters", []):
            assert not offers_null(parameter["schema"]), (method, path, parameter["name"])
    answer = client.get("/api/tasks", params={"ready": "null"})
    assert answer.status_code == 422
    assert_documented(answer, "/api/tasks")


def test_a_note_is_documented_with_the_length_the_service_takes(
    client: TestClient, ids: dict[str, str]
) -> None:
    # Found: the document allowed any message; the service takes 1 to NOTE_MAX characters.
    message = build_openapi()["components"]["schemas"]["NoteCreate"]["properties"]["message"]
    assert (message["minLength"], message["maxLength"]) == (1, NOTE_MAX)
    url = f"/api/sessions/{ids['sessions']}/notes"
    for text, status in [("", 422), ("n" * NOTE_MAX, 201), ("n" * (NOTE_MAX + 1), 422)]:
        answer = client.post(url, json={"message": text})
        assert answer.status_code == status
        assert_documented(answer, "/api/sessions/{id}/notes")


def test_unlinking_a_claimed_task_is_a_documented_422(
    client: TestClient, ids: dict[str, str]
) -> None:
    task, session = ids["tasks"], ids["sessions"]
    client.post(f"/api/tasks/{task}/claim", json={"sessionId": session}).raise_for_status()
    answer = client.delete(f"/api/sessions/{session}/tasks/{task}")
    assert answer.status_code == 422
    assert_documented(answer, "/api/sessions/{id}/tasks/{taskId}")


def test_an_unchanged_entity_is_a_documented_304(client: TestClient, ids: dict[str, str]) -> None:
    for plural in RESOURCES:
        url = f"/api/{plural}/{ids[plural]}"
        answer = client.get(url, headers={protocol.IF_NONE_MATCH_HEADER: protocol.etag(1)})
        assert answer.status_code == 304
        assert_documented(answer, f"/api/{plural}/{{id}}")


def test_health_is_documented(client: TestClient) -> None:
    assert_documented(client.get("/health"), "/health")


def test_every_operation_documents_its_401(settings: Settings) -> None:
    # A server with a token refuses a request without it on every route but /health,
    # and the document says so (the bearer scheme, and 401).
    spec = build_openapi()
    with in_process(replace(settings, token="s3cret")) as client:
        for method, path, operation in operations(spec):
            filled = dict.fromkeys(("id", "taskId", "name"), "x")
            answer = client.request(method, path.format(**filled))
            if operation.get("security", spec["security"]):
                assert answer.status_code == 401, (method, path)
                assert_documented(answer, path)
            else:
                assert answer.status_code == 200, (method, path)


def test_a_bad_seq_on_the_event_stream_is_a_documented_400(client: TestClient) -> None:
    # Found: GET /api/events listed only its 200.
    for params, headers in [({"since": "-1"}, {}), ({}, {protocol.LAST_EVENT_ID_HEADER: "x"})]:
        answer = client.get("/api/events", params=params, headers=headers)
        assert answer.status_code == 400
        assert_documented(answer, "/api/events")


def test_the_event_stream_is_documented(server: LiveServer, ids_live: str) -> None:
    # The stream never ends: its replay and sync:ready are read, then it is left; the
    # messages read are held to the document as one answer.
    read = b""
    with (
        httpx.Client(base_url=server.base_url, timeout=WAIT) as http,
        http.stream("GET", "/api/events", params={"since": "0"}) as stream,
    ):
        assert stream.status_code == 200
        for chunk in stream.iter_raw():
            read += chunk
            if b"sync:ready" in read:
                break
        answer = httpx.Response(200, headers=stream.headers, content=read, request=stream.request)
        answer.elapsed = stream.elapsed
    assert f"id: 1{live.SSE_SEPARATOR}".encode() in read  # the project's creation
    assert_documented(answer, "/api/events")


@pytest.fixture
def ids_live(server: LiveServer) -> str:
    """Something in the log of the live server: an event to replay."""
    created = server.http.post("/api/projects", json={"name": "p"})
    created.raise_for_status()
    project: str = created.json()["id"]
    return project
