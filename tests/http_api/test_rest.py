from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from http_api import Settings
from maestro_mcp.core.group_commit import GroupCommit
from maestro_mcp.core.storage import OutcomeUnknown, StoreUnavailable
from maestro_mcp.protocol import IDEMPOTENCY_KEY_HEADER
from tests.support.core import told_group_commit
from tests.support.servers import in_process


@pytest.fixture
def project(client: TestClient) -> dict[str, Any]:
    response = client.post("/api/projects", json={"name": "Demo"})
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def task(client: TestClient, project: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        "/api/tasks", json={"projectId": project["id"], "title": "Implement login"}
    )
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


def error_code(response: Any) -> str:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    code: str = body["error"]["code"]
    return code


# --- the happy paths ----------------------------------------------------------------------


def test_crud_round_trip(client: TestClient, project: dict[str, Any]) -> None:
    created = client.post(
        "/api/tasks",
        json={"projectId": project["id"], "title": "Write docs", "priority": "high"},
    )
    assert created.status_code == 201
    task = created.json()
    assert task["priority"] == "high"
    assert task["status"] == "pending"
    assert created.headers["etag"] == '"1"'
    seq = int(created.headers["x-maestro-seq"])

    fetched = client.get(f"/api/tasks/{task['id']}")
    assert fetched.json() == task
    assert int(fetched.headers["x-maestro-seq"]) == seq

    patched = client.patch(f"/api/tasks/{task['id']}", json={"status": "in_progress"})
    assert patched.status_code == 200
    assert patched.json()["status"] == "in_progress"
    assert patched.json()["startedAt"] is not None
    assert patched.headers["etag"] == '"2"'
    assert int(patched.headers["x-maestro-seq"]) == seq + 1

    listed = client.get("/api/tasks", params={"projectId": project["id"], "status": "in_progress"})
    assert [t["id"] for t in listed.json()] == [task["id"]]

    deleted = client.delete(f"/api/tasks/{task['id']}")
    assert deleted.status_code == 200
    assert client.get(f"/api/tasks/{task['id']}").status_code == 404


def test_sessions_and_links(
    client: TestClient, project: dict[str, Any], task: dict[str, Any]
) -> None:
    session = client.post(
        "/api/sessions", json={"projectId": project["id"], "name": "claude", "agent": "claude-code"}
    ).json()
    linked = client.post(f"/api/sessions/{session['id']}/tasks/{task['id']}")
    assert linked.status_code == 200
    body = linked.json()
    assert body["changed"] is True
    assert body["session"]["taskIds"] == [task["id"]]
    assert body["task"]["sessionCount"] == 1
    assert (
        client.get("/api/tasks", params={"sessionId": session["id"]}).json()[0]["id"] == task["id"]
    )
    assert (
        client.get("/api/sessions", params={"taskId": task["id"]}).json()[0]["id"] == session["id"]
    )
    unlinked = client.delete(f"/api/sessions/{session['id']}/tasks/{task['id']}")
    assert unlinked.json()["task"]["sessionCount"] == 0


def test_projects_crud(client: TestClient, project: dict[str, Any]) -> None:
    renamed = client.patch(f"/api/projects/{project['id']}", json={"workingDir": "/src/app"})
    assert renamed.json()["workingDir"] == "/src/app"
    assert [p["id"] for p in client.get("/api/projects").json()] == [project["id"]]
    assert client.delete(f"/api/projects/{project['id']}").status_code == 200
    assert client.get("/api/projects").json() == []


def test_health_and_openapi(client: TestClient) -> None:
    health = client.get("/health")
    assert health.json()["status"] == "ok"
    assert "x-maestro-seq" in health.headers
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/tasks", "/api/tasks/{id}", "/api/sessions/{id}/tasks/{taskId}"} <= set(
        spec["paths"]
    )
    schemas = spec["components"]["schemas"]
    assert "TaskCreate" in schemas
    assert "Task" in schemas
    assert set(schemas["TaskCreate"]["properties"]) >= {"projectId", "title", "priority"}


def test_if_none_match_gives_304(client: TestClient, task: dict[str, Any]) -> None:
    response = client.get(f"/api/tasks/{task['id']}", headers={"If-None-Match": '"1"'})
    assert response.status_code == 304


# --- concurrency control --------------------------------------------------------------------


def test_stale_if_match_is_412_with_current_entity(
    client: TestClient, task: dict[str, Any]
) -> None:
    url = f"/api/tasks/{task['id']}"
    assert (
        client.patch(url, json={"title": "human edit"}, headers={"If-Match": '"1"'}).status_code
        == 200
    )
    stale = client.patch(url, json={"status": "completed"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert error_code(stale) == "version_conflict"
    current = stale.json()["error"]["details"]["current"]
    assert current["title"] == "human edit"
    assert current["version"] == 2
    assert stale.headers["etag"] == '"2"'
    assert "x-maestro-seq" in stale.headers
    assert client.delete(url, headers={"If-Match": '"1"'}).status_code == 412
    assert client.get(url).json()["status"] == "pending"


def test_bad_if_match_is_400(client: TestClient, task: dict[str, Any]) -> None:
    response = client.patch(f"/api/tasks/{task['id']}", json={}, headers={"If-Match": "yesterday"})
    assert response.status_code == 400
    assert error_code(response) == "invalid_header"


def test_idempotency_key_creates_one_task(client: TestClient, project: dict[str, Any]) -> None:
    body = {"projectId": project["id"], "title": "exactly once"}
    headers = {"Idempotency-Key": "create-1"}
    first = client.post("/api/tasks", json=body, headers=headers)
    retry = client.post("/api/tasks", json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["x-maestro-seq"] == first.headers["x-maestro-seq"]
    assert len(client.get("/api/tasks").json()) == 1
    other = client.post("/api/tasks", json={**body, "title": "different"}, headers=headers)
    assert other.status_code == 422
    assert error_code(other) == "idempotency_key_reused"


# --- bad requests: the right 4xx, never a 5xx -------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "invalid_json"),
        (b"\xff\xfe", "application/json", 400, "invalid_json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "invalid_json"),
        (b"[1, 2]", "application/json", 422, "validation_error"),
        (b'{"title": 5}', "application/json", 422, "validation_error"),
        (b"title=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"title": "x"}', "", 415, "unsupported_media_type"),
    ],
)
def test_malformed_bodies(
    client: TestClient,
    project: dict[str, Any],
    body: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    response = client.post("/api/tasks", content=body, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert error_code(response) == code


def test_wrong_types_and_unknown_fields_are_422(
    client: TestClient, project: dict[str, Any]
) -> None:
    cases = [
        {"projectId": project["id"], "title": ["x"]},
        {"projectId": project["id"], "title": "x", "priority": "whenever"},
        {"projectId": project["id"], "title": "x", "stauts": "pending"},
        {"projectId": project["id"], "title": "   "},
        {"title": "no project"},
    ]
    for body in cases:
        response = client.post("/api/tasks", json=body)
        assert response.status_code == 422, body
        assert error_code(response) == "validation_error"
        assert response.json()["error"]["details"][0]["field"]


def test_null_for_a_required_field_is_422(client: TestClient, task: dict[str, Any]) -> None:
    response = client.patch(f"/api/tasks/{task['id']}", json={"title": None})
    assert response.status_code == 422
    assert "title cannot be null" in response.json()["error"]["message"]


def test_huge_field_is_422_and_huge_body_413(client: TestClient, project: dict[str, Any]) -> None:
    long_title = client.post("/api/tasks", json={"projectId": project["id"], "title": "x" * 501})
    assert long_title.status_code == 422
    assert long_title.json()["error"]["details"][0]["field"] == "title"
    huge = client.post(
        "/api/tasks", json={"projectId": project["id"], "title": "x", "prompt": "y" * 2_000_000}
    )
    assert huge.status_code == 413
    assert error_code(huge) == "payload_too_large"


def test_unknown_ids_and_routes_are_404(client: TestClient, task: dict[str, Any]) -> None:
    for response in [
        client.get("/api/tasks/task_nope"),
        client.patch("/api/sessions/sess_nope", json={"name": "x"}),
        client.delete("/api/projects/proj_nope"),
        client.post(f"/api/sessions/sess_nope/tasks/{task['id']}"),
        client.post("/api/tasks", json={"projectId": "proj_nope", "title": "x"}),
        client.get("/api/nothing"),
    ]:
        assert response.status_code == 404
        assert error_code(response) == "not_found"


def test_bad_filters_are_422(client: TestClient) -> None:
    assert client.get("/api/tasks", params={"status": "done-ish"}).status_code == 422
    assert client.get("/api/tasks", params={"colour": "red"}).status_code == 422


def test_wrong_method_is_405(client: TestClient) -> None:
    response = client.put("/api/tasks", json={})
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"


# --- Host, Origin and token -------------------------------------------------------------------


def test_foreign_host_is_refused(client: TestClient) -> None:
    response = client.get("/api/tasks", headers={"Host": "attacker.example:3000"})
    assert response.status_code == 421
    assert error_code(response) == "invalid_host"


def test_foreign_origin_is_refused_same_origin_allowed(client: TestClient) -> None:
    foreign = client.post(
        "/api/projects", json={"name": "x"}, headers={"Origin": "http://evil.example"}
    )
    assert foreign.status_code == 403
    assert error_code(foreign) == "forbidden_origin"
    same = client.get("/api/projects", headers={"Origin": "http://127.0.0.1:3000"})
    assert same.status_code == 200
    other_port = client.get("/api/projects", headers={"Origin": "http://127.0.0.1:9999"})
    assert other_port.status_code == 403


def test_configured_origin_is_allowed(database: str) -> None:
    settings = Settings(database=database, allowed_origins=("http://localhost:5173",))
    with in_process(settings) as client:
        response = client.get("/api/projects", headers={"Origin": "http://localhost:5173"})
        assert response.status_code == 200


def test_token_is_required_when_configured(database: str) -> None:
    settings = Settings(database=database, token="s3cret")
    with in_process(settings) as client:
        assert client.get("/health").status_code == 200
        refused = client.get("/api/projects")
        assert refused.status_code == 401
        assert error_code(refused) == "unauthorized"
        wrong = client.get("/api/projects", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = client.get("/api/projects", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        # A header is possible here: the token in the URL (logs, history) is refused.
        in_url = client.get("/api/projects", params={"token": "s3cret"})
        assert in_url.status_code == 401
        assert "Authorization header" in in_url.json()["error"]["message"]
        assert in_url.headers["WWW-Authenticate"] == "Bearer"
        # The board's page and assets hold no data; the board asks for the token itself.
        assert client.get("/").status_code == 200
        assert client.get("/assets/app.js").status_code == 200
        assert client.get("/openapi.json").status_code == 401


def test_session_notes(client: TestClient, project: dict[str, Any]) -> None:
    session = client.post("/api/sessions", json={"projectId": project["id"], "name": "s"}).json()
    url = f"/api/sessions/{session['id']}/notes"
    added = client.post(url, json={"message": "started on the form"})
    assert added.status_code == 201
    assert added.json()["message"] == "started on the form"
    client.post(url, json={"message": "tests green"})
    assert [n["message"] for n in client.get(url).json()] == ["started on the form", "tests green"]
    assert [n["message"] for n in client.get(url, params={"limit": 1}).json()] == ["tests green"]
    assert client.post(url, json={"message": ""}).status_code == 422
    assert client.post(url, json={"text": "x"}).status_code == 422
    assert client.get("/api/sessions/sess_nope/notes").status_code == 404
    assert client.get("/api/tasks", params={"query": "x", "limit": 0}).status_code == 422


@pytest.mark.parametrize(
    ("headers", "body", "code"),
    [
        ({}, b'{"name": ' + b"1" * 5000 + b"}", "invalid_json"),  # too long to convert
        # Entity-tags, but none of ours (a byte str.isdigit() takes for a digit; a number
        # too long to be a version): a failed precondition (RFC 9110).
        ({"If-Match": b'"\xb2"'}, b"{}", "version_conflict"),
        ({"If-Match": '"' + "9" * 5000 + '"'}, b"{}", "version_conflict"),
        ({"If-Match": "9" * 5000}, b"{}", "invalid_header"),  # no entity-tag at all
    ],
)
def test_odd_inputs_are_4xx_not_5xx(
    client: TestClient, project: dict[str, Any], headers: dict[str, Any], body: bytes, code: str
) -> None:
    response = client.patch(
        f"/api/projects/{project['id']}",
        content=body,
        headers={"Content-Type": "application/json", **headers},
    )
    assert 400 <= response.status_code < 500, response.text
    assert error_code(response) == code


def test_a_nul_character_is_refused_on_every_store(
    client: TestClient, project: dict[str, Any], task: dict[str, Any]
) -> None:
    """PostgreSQL cannot store U+0000 in text: refused alike everywhere, never a 5xx."""
    created = client.post("/api/tasks", json={"projectId": project["id"], "title": "a\u0000b"})
    assert created.status_code == 422, created.text
    assert "title" in created.text
    assert "NUL character" in created.text
    patched = client.patch(f"/api/tasks/{task['id']}", json={"labels": ["ok", "x\u0000"]})
    assert patched.status_code == 422, patched.text
    for path in ("/api/tasks/task_%00", "/api/sessions/%00", "/api/projects/p%00"):
        response = client.get(path)
        assert 400 <= response.status_code < 500, (path, response.text)
    listed = client.get("/api/tasks", params={"projectId": project["id"], "q": "\x00"})
    assert 400 <= listed.status_code < 500, listed.text


@pytest.mark.parametrize("since", ["%C2%B2", "9" * 5000, "-1", "1.5"])
def test_odd_seqs_are_400(client: TestClient, since: str) -> None:
    assert client.get(f"/api/events?since={since}").status_code == 400
    response = client.get("/api/events", headers={"Last-Event-ID": since.replace("%C2%B2", "x")})
    assert response.status_code == 400


def test_a_plan_in_one_request(client: TestClient) -> None:
    project = client.post("/api/projects", json={"name": "Plan"}).json()
    body = {
        "projectId": project["id"],
        "tasks": [
            {"ref": "schema", "title": "Design the schema"},
            {"title": "Build the API", "dependsOn": ["schema"]},
        ],
    }
    headers = {"Idempotency-Key": "plan-1"}
    created = client.post("/api/tasks/batch", json=body, headers=headers)
    assert created.status_code == 201
    schema, api = created.json()["tasks"]
    assert api["dependsOn"] == [schema["id"]]
    again = client.post("/api/tasks/batch", json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == created.json()
    empty = client.post("/api/tasks/batch", json={"projectId": project["id"], "tasks": []})
    assert empty.status_code == 422


def test_one_name_finds_one_project_unless_a_second_is_asked_for(client: TestClient) -> None:
    first = client.post("/api/projects", json={"name": "Web app"}).json()
    taken = client.post("/api/projects", json={"name": " web APP "})
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "name_taken"
    assert taken.json()["error"]["details"] == {"id": first["id"]}
    assert first["id"] in taken.json()["error"]["message"]
    second = client.post("/api/projects", json={"name": "Web app", "allowDuplicate": True})
    assert second.status_code == 201
    other = client.post("/api/projects", json={"name": "Other"}).json()
    renamed = client.patch(f"/api/projects/{other['id']}", json={"name": "web app"})
    assert renamed.status_code == 409
    assert renamed.json()["error"]["code"] == "name_taken"


def test_a_change_to_one_entity_names_it_to_group_commit(
    client: TestClient, task: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PATCH and DELETE of one entity say which one they read first: a batch of them
    reads all of theirs at once (core/group_commit.py)."""
    told = told_group_commit(monkeypatch)
    assert client.patch(f"/api/tasks/{task['id']}", json={"title": "t2"}).status_code == 200
    assert client.delete(f"/api/tasks/{task['id']}").status_code == 200
    assert told == [(task["id"],), (task["id"],)]


@pytest.mark.parametrize(
    ("lost", "key", "said"),
    [
        (StoreUnavailable("down"), None, "nothing was changed"),
        (OutcomeUnknown("lost at COMMIT"), "k1", "same Idempotency-Key to know"),
        (OutcomeUnknown("lost at COMMIT"), None, "read what it changes before you send it"),
        (OutcomeUnknown("lost at COMMIT"), "", "read what it changes before you send it"),
    ],
)
def test_a_database_away_is_a_503_saying_what_happened_to_the_write(
    client: TestClient,
    project: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    lost: Exception,
    key: str | None,
    said: str,
) -> None:
    """Lost as it committed, a write may have been made: sent again with its key, it is
    made once; without one, it may be made twice, so the client is told to look first."""

    async def away(self: GroupCommit, operation: Callable[[], Any], **_: Any) -> Any:
        raise lost

    monkeypatch.setattr(GroupCommit, "run", away)
    headers = {IDEMPOTENCY_KEY_HEADER: key} if key is not None else {}
    response = client.post(
        "/api/tasks", json={"projectId": project["id"], "title": "t"}, headers=headers
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert error_code(response) == "unavailable"
    assert said in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("sent", "status"),
    [('"1"', 304), ('W/"1"', 304), ('"0", W/"1"', 304), ("*", 304), ('"2"', 200)],
)
def test_if_none_match_takes_weak_tags_lists_and_a_star(
    client: TestClient, task: dict[str, Any], sent: str, status: int
) -> None:
    response = client.get(f"/api/tasks/{task['id']}", headers={"If-None-Match": sent})
    assert response.status_code == status
    assert response.headers["etag"] == '"1"'


def test_if_match_with_an_etag_not_ours_is_a_failed_precondition(
    client: TestClient, task: dict[str, Any]
) -> None:
    """RFC 9110: a well-formed entity-tag no current entity has fails (412, with the
    entity as it is); one that is no entity-tag at all is a bad request."""
    path = f"/api/tasks/{task['id']}"
    foreign = client.patch(path, json={"title": "x"}, headers={"If-Match": '"some-etag"'})
    assert foreign.status_code == 412
    assert error_code(foreign) == "version_conflict"
    assert foreign.json()["error"]["details"]["current"]["version"] == 1
    # If-Match compares strongly: a weak tag, even of the current version, never matches.
    weak = client.patch(path, json={"title": "x"}, headers={"If-Match": 'W/"1"'})
    assert weak.status_code == 412
    malformed = client.patch(path, json={"title": "x"}, headers={"If-Match": "some-etag"})
    assert malformed.status_code == 400
    assert client.get(path).json()["title"] == task["title"]
