"""Rule: one request cannot multiply itself in the event log.

``task:updated`` leaves out a task's bulky text (description, prompt) where the change
did not touch it, listing it under ``omitted``, and every client keeps its copy
(``merged_data``; the board's store.js does the same, tests/http_api/test_board.py).
Before this rule a 2.6 KB ``POST /api/sessions`` linking 100 tasks with 200k-character
prompts added 25 MB of events. Tests run on both stores, against a real server."""

import json
from collections.abc import Callable
from typing import Any

import httpx2 as httpx

from maestro_mcp.core.events import BULKY_TASK_FIELDS, OMITTED, merged_data
from maestro_mcp.core.vocabulary import PROMPT_MAX, TEXT_MAX
from tests.support.feeds import FeedClient, SseClient, WsClient
from tests.support.servers import LiveServer

TASKS = 100
PROMPT = "p" * PROMPT_MAX
DESCRIPTION = "d" * TEXT_MAX
# What each linked task may add (a task without its text is a few hundred bytes).
PER_TASK_BYTES = 600


def big_tasks(http: httpx.Client, project_id: str, count: int) -> list[dict[str, Any]]:
    tasks = []
    for i in range(count):
        response = http.post(
            "/api/tasks",
            json={
                "projectId": project_id,
                "title": f"task {i}",
                "description": DESCRIPTION,
                "prompt": PROMPT,
            },
        )
        assert response.status_code == 201, response.text
        tasks.append(response.json())
    return tasks


def log_bytes_after(server: LiveServer, seq: int) -> tuple[int, list[dict[str, Any]]]:
    """The bytes the log holds after ``seq`` (as stored: whole envelopes) and its events."""
    store = server.core.store
    with store.read() as rows:
        events = rows.read_events_after(seq, 100_000)
    return sum(len(e.payload.encode()) for e in events), [json.loads(e.payload) for e in events]


def test_a_session_linking_100_big_tasks_adds_a_few_kb(server: LiveServer) -> None:
    http = server.http
    project = http.post("/api/projects", json={"name": "big"}).json()
    tasks = big_tasks(http, project["id"], TASKS)
    body = json.dumps(
        {"projectId": project["id"], "name": "run", "taskIds": [t["id"] for t in tasks]}
    )
    response = http.post(
        "/api/sessions", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    before = int(response.headers["X-Maestro-Seq"]) - (TASKS + 1)

    size, events = log_bytes_after(server, before)

    assert [e["event"] for e in events] == ["session:created"] + ["task:updated"] * TASKS
    assert size < TASKS * PER_TASK_BYTES, f"{size:,} bytes of events for a {len(body)}-byte body"
    for event in events[1:]:
        assert event["data"][OMITTED] == list(BULKY_TASK_FIELDS)
        assert not set(BULKY_TASK_FIELDS) & event["data"].keys()
    # The snapshot still carries everything.
    got = http.get(f"/api/tasks/{tasks[0]['id']}").json()
    assert got["prompt"] == PROMPT
    assert got["description"] == DESCRIPTION
    assert got["sessionCount"] == 1


def test_an_update_carries_only_the_text_it_changed(server: LiveServer) -> None:
    http = server.http
    project = http.post("/api/projects", json={"name": "p"}).json()
    task = big_tasks(http, project["id"], 1)[0]
    seq = int(http.get("/api/tasks").headers["X-Maestro-Seq"])

    http.patch(f"/api/tasks/{task['id']}", json={"status": "in_progress"})
    http.patch(f"/api/tasks/{task['id']}", json={"description": "short now"})
    http.patch(f"/api/tasks/{task['id']}", json={"prompt": "new prompt", "title": "t"})

    _, events = log_bytes_after(server, seq)
    status, description, prompt = (e["data"] for e in events)
    assert status[OMITTED] == ["description", "prompt"]
    assert "prompt" not in status
    assert description["description"] == "short now"
    assert description[OMITTED] == ["prompt"]
    assert prompt["prompt"] == "new prompt"
    assert prompt[OMITTED] == ["description"]
    # task:created carried everything; a client that merged each event holds the task.
    held: dict[str, Any] = dict(task)
    for event in events:
        held = merged_data(held, event["data"])
    assert held == http.get(f"/api/tasks/{task['id']}").json()


def _link_then_merge(server: LiveServer, connect: Callable[[int], FeedClient]) -> None:
    """A client loads a snapshot, follows the feed from its seq, and sees a link."""
    http = server.http
    project = http.post("/api/projects", json={"name": "p"}).json()
    task = big_tasks(http, project["id"], 1)[0]
    session = http.post("/api/sessions", json={"projectId": project["id"], "name": "s"}).json()
    snapshot = http.get(f"/api/tasks/{task['id']}")
    held = snapshot.json()
    feed = connect(int(snapshot.headers["X-Maestro-Seq"]))
    try:
        assert feed.until_ready() == []
        _linked_and_kept(server, feed, task, session, held)
    finally:
        feed.close()


def _linked_and_kept(
    server: LiveServer,
    feed: FeedClient,
    task: dict[str, Any],
    session: dict[str, Any],
    held: dict[str, Any],
) -> None:
    http = server.http
    linked = http.post(f"/api/sessions/{session['id']}/tasks/{task['id']}")
    assert linked.status_code in (200, 201), linked.text

    messages = [feed.recv() for _ in range(3)]
    assert [m["event"] for m in messages] == [
        "session:updated",
        "task:updated",
        "session:task_added",
    ]
    data = messages[1]["data"]
    assert "prompt" not in data
    assert "description" not in data
    assert data[OMITTED] == ["description", "prompt"]
    assert data["sessionIds"] == [session["id"]]
    kept = merged_data(held, data)
    assert kept["prompt"] == PROMPT
    assert kept["description"] == DESCRIPTION
    assert kept == http.get(f"/api/tasks/{task['id']}").json()


def test_a_link_over_websocket_lacks_the_prompt_and_the_client_keeps_it(
    server: LiveServer,
) -> None:
    _link_then_merge(server, lambda seq: WsClient(f"{server.ws_url}?since={seq}"))


def test_a_link_over_sse_lacks_the_prompt_and_the_client_keeps_it(server: LiveServer) -> None:
    _link_then_merge(server, lambda seq: SseClient(f"{server.base_url}/api/events?since={seq}"))


def test_a_client_without_a_copy_is_told_what_it_lacks() -> None:
    data = {"id": "task_1", "title": "t", OMITTED: ["description", "prompt"]}
    assert merged_data(None, data) == {
        "id": "task_1",
        "title": "t",
        OMITTED: ["description", "prompt"],
    }
    partial = {"id": "task_1", "title": "old", "description": "d", OMITTED: ["prompt"]}
    assert merged_data(partial, data) == {
        "id": "task_1",
        "title": "t",
        "description": "d",
        OMITTED: ["prompt"],
    }
    full = {"id": "task_1", "title": "t", "description": "d", "prompt": "p"}
    assert merged_data(None, full) is full
