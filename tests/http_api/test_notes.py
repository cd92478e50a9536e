"""GET /api/projects/{id}/notes/latest over a real server (both stores): the newest note
of each session of a project, in the sessions' order, consistent with the seq it
reports (the feed from it brings the newer ones); the API's error shape for an unknown
project or parameter; a read token may read it."""

from typing import Any

from maestro_mcp.protocol import SEQ_HEADER
from tests.support.feeds import WsClient
from tests.support.openapi import assert_documented
from tests.support.servers import LiveServer
from tests.support.tokens import read_token_headers

PATH = "/api/projects/{id}/notes/latest"


def sessions_with_notes(server: LiveServer, project_id: str) -> list[dict[str, Any]]:
    """Three sessions of ``project_id``: the first with two notes, the second with none,
    the third with one written before the first's."""
    http = server.http
    made = [
        http.post("/api/sessions", json={"projectId": project_id, "name": name}).json()
        for name in ("planner", "idle", "coder")
    ]
    first, _, third = made
    for session, message in ((third, "coder: reading"), (first, "plan v1"), (first, "plan v2")):
        note = http.post(f"/api/sessions/{session['id']}/notes", json={"message": message})
        assert note.status_code == 201
    return made


def test_the_newest_note_of_each_session_in_their_order(
    server: LiveServer, project: dict[str, Any]
) -> None:
    first, _, third = sessions_with_notes(server, project["id"])
    other = server.http.post("/api/projects", json={"name": "Other"}).json()
    sessions_with_notes(server, other["id"])
    response = server.http.get(PATH.format(id=project["id"]))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert_documented(response, PATH)
    notes = response.json()
    assert [(n["sessionId"], n["message"]) for n in notes] == [
        (first["id"], "plan v2"),
        (third["id"], "coder: reading"),
    ]
    newest = server.http.get(f"/api/sessions/{first['id']}/notes", params={"limit": 1}).json()
    assert notes[0] == newest[0]  # the same note, in the same shape
    assert set(notes[0]) == {"id", "sessionId", "message", "createdAt"}

    # Consistent with its seq: the feed from it brings exactly the notes written after.
    seq = int(response.headers[SEQ_HEADER])
    assert seq == server.http.get("/health").json()["seq"]
    server.http.post(f"/api/sessions/{third['id']}/notes", json={"message": "coder: done"})
    feed = WsClient(f"{server.ws_url}?since={seq}&projectId={project['id']}")
    try:
        after = feed.until_ready()
    finally:
        feed.close()
    added = [e["data"]["note"]["message"] for e in after if e["event"] == "session:note_added"]
    assert added == ["coder: done"]
    again = server.http.get(PATH.format(id=project["id"])).json()
    assert [n["message"] for n in again] == ["plan v2", "coder: done"]


def test_a_project_without_notes_has_none_and_a_deleted_session_takes_its_own(
    server: LiveServer, project: dict[str, Any]
) -> None:
    url = PATH.format(id=project["id"])
    assert server.http.get(url).json() == []
    first, _, third = sessions_with_notes(server, project["id"])
    assert server.http.delete(f"/api/sessions/{first['id']}").is_success
    assert [n["sessionId"] for n in server.http.get(url).json()] == [third["id"]]


def test_unknown_projects_and_parameters_are_refused_in_the_apis_error_shape(
    server: LiveServer, project: dict[str, Any]
) -> None:
    for url, status, code in (
        (PATH.format(id="proj_nope"), 404, "not_found"),
        (PATH.format(id=project["id"]) + "?limit=5", 422, "validation_error"),
    ):
        response = server.http.get(url)
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
        assert_documented(response, PATH)
    assert server.http.delete(f"/api/projects/{project['id']}").is_success
    assert server.http.get(PATH.format(id=project["id"])).status_code == 404


def test_a_read_token_may_read_them_and_no_token_may_not(
    server: LiveServer, project: dict[str, Any]
) -> None:
    sessions_with_notes(server, project["id"])
    http = server.http
    reader = read_token_headers(http)
    url = PATH.format(id=project["id"])
    refused = http.get(url)
    assert refused.status_code == 401
    assert_documented(refused, PATH)
    allowed = http.get(url, headers=reader)
    assert allowed.status_code == 200
    assert [n["message"] for n in allowed.json()] == ["plan v2", "coder: reading"]
