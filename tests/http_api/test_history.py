"""GET /api/tasks/{id}/history and GET /api/projects/{id}/activity over a real server
(both stores): the stored envelopes byte for byte, newest first, paged to the end; the
seq a page is consistent with, from which the live feed goes on without a gap; the API's
one error shape for bad queries and unknown ids; a read token may read them."""

import json
from typing import Any

import pytest

from maestro_mcp.core.models import HISTORY_LIMIT_MAX
from maestro_mcp.protocol import (
    CLAIM_TOKEN_HEADER,
    SEQ_HEADER,
    SEQ_MAX,
)
from tests.support.feeds import WsClient
from tests.support.openapi import assert_documented
from tests.support.servers import LiveServer
from tests.support.tokens import read_token_headers
from tests.support.waiting import WAIT


def made(server: LiveServer) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A project, a task changed a few times, and a session of agent ``claude-code``
    that took it."""
    http = server.http
    project = http.post("/api/projects", json={"name": "Web"}).json()
    task = http.post("/api/tasks", json={"projectId": project["id"], "title": "Login"}).json()
    body = {"projectId": project["id"], "name": "run", "agent": "claude-code"}
    session = http.post("/api/sessions", json=body).json()
    for status in ("in_review", "blocked", "pending"):
        assert http.patch(f"/api/tasks/{task['id']}", json={"status": status}).is_success
    claim = {"sessionId": session["id"]}
    assert http.post(f"/api/tasks/{task['id']}/claim", json=claim).is_success
    note = {"message": "on it"}
    assert http.post(f"/api/sessions/{session['id']}/notes", json=note).is_success
    return project, task, session


def replayed(server: LiveServer) -> list[str]:
    """Every event of the log as the WebSocket feed sends it: the frames' exact text."""
    frames = []
    feed = WsClient(f"{server.ws_url}?since=0")
    try:
        while '"sync:ready"' not in (frame := str(feed.conn.recv(timeout=WAIT))):
            frames.append(frame)
    finally:
        feed.close()
    return frames


def test_a_tasks_history_is_the_feeds_bytes_newest_first(server: LiveServer) -> None:
    _, task, _ = made(server)
    response = server.http.get(f"/api/tasks/{task['id']}/history")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    about = [f for f in replayed(server) if task["id"] in f and '"session:updated"' not in f]
    assert (
        response.content == ('{"events":[' + ",".join(reversed(about)) + '],"next":null}').encode()
    )
    page = response.json()
    kinds = [e["event"] for e in page["events"]]
    assert kinds[:3] == ["task:claimed", "session:task_added", "task:updated"]
    assert page["events"][2]["changed"] == [
        "status",
        "sessionIds",
        "sessionCount",
        "claim",
        "startedAt",
    ]
    assert int(response.headers[SEQ_HEADER]) == server.http.get("/health").json()["seq"]
    assert_documented(response, "/api/tasks/{id}/history")


def test_a_page_then_the_feed_from_its_seq_miss_nothing(server: LiveServer) -> None:
    project, task, _ = made(server)
    page = server.http.get(f"/api/projects/{project['id']}/activity", params={"limit": 2})
    seq = int(page.headers[SEQ_HEADER])
    assert page.json()["events"][0]["seq"] == seq  # the newest of the project: the head
    server.http.patch(f"/api/tasks/{task['id']}", json={"title": "Login, again"})
    feed = WsClient(f"{server.ws_url}?since={seq}&projectId={project['id']}")
    try:
        after = feed.until_ready()
    finally:
        feed.close()
    assert [(e["seq"], e["event"], e["changed"]) for e in after] == [
        (seq + 1, "task:updated", ["title"])
    ]


def pages(server: LiveServer, path: str, **params: Any) -> list[list[int]]:
    """The seqs of each page of ``path``, following ``next`` to the end."""
    found: list[list[int]] = []
    before: int | None = None
    while True:
        query = {**params, **({"before": before} if before is not None else {})}
        response = server.http.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        found.append([e["seq"] for e in body["events"]])
        if body["next"] is None:
            return found
        before = body["next"]


def test_pages_reach_the_oldest_event_and_filters_keep_theirs(server: LiveServer) -> None:
    project, task, session = made(server)
    other = server.http.post("/api/sessions", json={"projectId": project["id"], "name": "x"})
    server.http.post(f"/api/sessions/{other.json()['id']}/notes", json={"message": "hi"})
    history = pages(server, f"/api/tasks/{task['id']}/history", limit=2)
    assert [len(p) for p in history] == [2, 2, 2, 1]
    seqs = [s for p in history for s in p]
    assert seqs == sorted(seqs, reverse=True)
    assert len(set(seqs)) == len(seqs)
    activity = f"/api/projects/{project['id']}/activity"
    everything = [s for p in pages(server, activity, limit=3) for s in p]
    assert everything == list(range(everything[0], 0, -1))  # the whole log is the project's
    mine = [s for p in pages(server, activity, limit=3, sessionId=session["id"]) for s in p]
    agents = [s for p in pages(server, activity, limit=3, agent="claude-code") for s in p]
    assert mine == agents
    assert len(mine) == 7  # created, linked by the claim (2), the task claimed (2), noted (2)
    assert set(mine) < set(everything)


def test_the_holders_changes_to_the_task_it_holds_are_its_activity(server: LiveServer) -> None:
    """A task's update is about the session whose claim it carries ("codex moved Login to
    review"), so the activity of that session, and of its agent, shows it."""
    http = server.http
    project = http.post("/api/projects", json={"name": "Web"}).json()
    task = http.post("/api/tasks", json={"projectId": project["id"], "title": "Login"}).json()
    body = {"projectId": project["id"], "name": "run", "agent": "codex"}
    session = http.post("/api/sessions", json=body).json()
    url = f"/api/tasks/{task['id']}"
    grant = http.post(f"{url}/claim", json={"sessionId": session["id"]}).json()
    held = {CLAIM_TOKEN_HEADER: grant["claimToken"]}
    assert http.patch(url, json={"status": "in_review"}, headers=held).is_success
    assert http.post(f"{url}/release", json={"claimToken": grant["claimToken"]}).is_success
    assert http.patch(url, json={"title": "Login, by hand"}).is_success  # nobody holds it
    activity = f"/api/projects/{project['id']}/activity"
    for query in ({"sessionId": session["id"]}, {"agent": "codex"}):
        response = http.get(activity, params=query)
        assert response.status_code == 200
        events = response.json()["events"]
        updates = [e["changed"] for e in events if e["event"] == "task:updated"]
        assert updates == [
            ["status"],  # the holder's own change
            ["status", "sessionIds", "sessionCount", "claim", "startedAt"],  # its claim
        ], query
        assert [e["event"] for e in events][:3] == ["task:released", "task:updated", "task:claimed"]
        assert_documented(response, "/api/projects/{id}/activity")
    everything = http.get(activity).json()["events"]
    assert everything[0]["changed"] == ["title"]  # in the project's activity, no session's


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": HISTORY_LIMIT_MAX + 1},
        {"limit": "ten"},
        {"before": 0},
        {"before": -3},
        {"before": SEQ_MAX + 1},
        {"before": "1e3"},
        {"sessionId": ""},
        {"agent": "   "},
        {"since": 1},  # not a parameter of these
    ],
)
def test_bad_queries_are_refused_in_the_apis_error_shape(
    server: LiveServer, query: dict[str, Any]
) -> None:
    project, task, _ = made(server)
    paths = [f"/api/projects/{project['id']}/activity"]
    if not {"sessionId", "agent"} & set(query):  # activity's own parameters
        paths.append(f"/api/tasks/{task['id']}/history")
    for path in paths:
        response = server.http.get(path, params=query)
        assert response.status_code == 422, (path, query, response.text)
        assert response.json()["error"]["code"] == "validation_error"
        template = path.replace(project["id"], "{id}").replace(task["id"], "{id}")
        assert_documented(response, template)


def test_unknown_ids_are_404_and_a_deleted_tasks_history_is_kept(server: LiveServer) -> None:
    _, task, _ = made(server)
    for path in ("/api/tasks/task_nope/history", "/api/projects/proj_nope/activity"):
        response = server.http.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert_documented(response, path.replace("task_nope", "{id}").replace("proj_nope", "{id}"))
    assert server.http.delete(f"/api/tasks/{task['id']}").is_success
    gone = server.http.get(f"/api/tasks/{task['id']}/history").json()
    assert gone["events"][0]["event"] == "task:deleted"
    assert (gone["events"][-1]["event"], gone["next"]) == ("task:created", None)


def test_a_read_token_may_read_history_and_no_token_may_not(server: LiveServer) -> None:
    project, task, _ = made(server)
    http = server.http
    reader = read_token_headers(http)
    for path in (f"/api/tasks/{task['id']}/history", f"/api/projects/{project['id']}/activity"):
        assert http.get(path).status_code == 401
        allowed = http.get(path, headers=reader)
        assert allowed.status_code == 200
        actors = {e["actor"] for e in allowed.json()["events"]}
        assert actors <= {"local", "lead"}
    activity = http.get(f"/api/projects/{project['id']}/activity", headers=reader).json()
    # Token events belong to no project: they are no project's activity.
    assert not [e for e in activity["events"] if e["event"].startswith("token:")]
    assert json.dumps(activity)


def test_the_document_shows_the_limits_from_their_one_definition() -> None:
    from http_api.openapi import build_openapi
    from maestro_mcp.core.models import HISTORY_LIMIT_DEFAULT

    paths = build_openapi()["paths"]
    for path, names in (
        ("/api/tasks/{id}/history", ["limit", "before"]),
        ("/api/projects/{id}/activity", ["limit", "before", "sessionId", "agent"]),
    ):
        parameters = {p["name"]: p["schema"] for p in paths[path]["get"]["parameters"]}
        assert list(parameters) == names
        limit, before = parameters["limit"], parameters["before"]
        assert (limit["minimum"], limit["maximum"], limit["default"]) == (
            1,
            HISTORY_LIMIT_MAX,
            HISTORY_LIMIT_DEFAULT,
        )
        assert (before["minimum"], before["maximum"]) == (1, SEQ_MAX)
    assert paths["/api/tasks"]["post"]["responses"]["201"]["links"]["history"] == {
        "operationId": "taskHistory",
        "parameters": {"id": "$response.body#/id"},
    }
