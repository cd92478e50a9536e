"""What must happen once happens once across instances: a request retried with its
Idempotency-Key, a conditional update, a dependency that would close a cycle, a claim of
a task, the release of an expired lease, a pruning pass.

Each race is started for real: two (or more) threads wait on a barrier and send their
requests to different instances at the same moment, several rounds over.
"""

import uuid
from collections import Counter
from functools import partial
from typing import Any

import httpx2 as httpx
import pytest

from maestro_mcp.core.models import ProjectCreate, TaskCreate
from maestro_mcp.core.service import Service
from maestro_mcp.core.service.front import PRUNING
from maestro_mcp.core.storage.location import open_store
from maestro_mcp.protocol import IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, IF_MATCH_HEADER
from maestro_mcp.settings import DEFAULT_REAP_INTERVAL
from tests.support.instances import (
    REQUEST_TIMEOUT,
    FollowingFeed,
    Pair,
    head_of,
    new_project,
)
from tests.support.races import at_once
from tests.support.rest import seq_of

pytestmark = pytest.mark.only_store("postgresql")
ROUNDS = 8


def send(base_url: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT) as http:
        response = http.request(method, path, **kwargs)
        response.read()
        return response


def test_a_duplicate_on_another_instance_at_the_same_moment_replays_the_first(
    pair: Pair,
) -> None:
    """The same POST with the same Idempotency-Key sent to A and B at once: one task, one
    task:created event, and both answers equal (status, body, seq); one of them says it
    was replayed."""
    a, b = pair
    project_id, start = new_project(a.base_url)
    for n in range(ROUNDS):
        key = f"round-{n}-{uuid.uuid4()}"
        body = {"projectId": project_id, "title": f"once {n}"}
        headers = {IDEMPOTENCY_KEY_HEADER: key}
        first, second = at_once(
            *(
                partial(send, url, "POST", "/api/tasks", json=body, headers=headers)
                for url in (a.base_url, b.base_url)
            )
        )
        assert first.status_code == second.status_code == 201, (first.text, second.text)
        assert first.json() == second.json()
        assert seq_of(first) == seq_of(second)
        replayed = [r.headers.get(IDEMPOTENT_REPLAYED_HEADER) for r in (first, second)]
        assert sorted(replayed, key=str) == sorted([None, "true"], key=str)
    with a.client() as http:
        tasks = http.get("/api/tasks", params={"projectId": project_id}).json()
    assert sorted(t["title"] for t in tasks) == [f"once {n}" for n in range(ROUNDS)]
    feed = FollowingFeed("ws", [b.ws_url], since=start)
    feed.follow_until(head_of(b.base_url))
    feed.close()
    assert [e["event"] for e in feed.events] == ["task:created"] * ROUNDS


def test_concurrent_conditional_updates_on_two_instances_one_wins(pair: Pair) -> None:
    """PATCH with the same If-Match on A and B at once: exactly one 200 and one 412 (with
    the winner's version), every round."""
    a, b = pair
    project_id, _ = new_project(a.base_url)
    with a.client() as http:
        task = http.post("/api/tasks", json={"projectId": project_id, "title": "t"}).json()
    version = task["version"]
    for n in range(ROUNDS):
        headers = {IF_MATCH_HEADER: f'"{version}"'}
        path = f"/api/tasks/{task['id']}"
        answers = at_once(
            *(
                partial(send, url, "PATCH", path, json={"title": f"{who} {n}"}, headers=headers)
                for who, url in (("a", a.base_url), ("b", b.base_url))
            )
        )
        assert sorted(r.status_code for r in answers) == [200, 412], [r.text for r in answers]
        [won] = [r for r in answers if r.status_code == 200]
        [lost] = [r for r in answers if r.status_code == 412]
        assert won.json()["version"] == version + 1
        assert lost.json()["error"]["details"]["current"]["version"] == version + 1
        assert lost.headers["ETag"] == f'"{version + 1}"'
        version += 1
    with b.client() as http:
        assert http.get(f"/api/tasks/{task['id']}").json()["version"] == 1 + ROUNDS


def test_dependencies_that_would_close_a_cycle_from_two_instances(pair: Pair) -> None:
    """Task X made to depend on Y on A while Y is made to depend on X on B, at once: one is
    refused (422), never both accepted."""
    a, b = pair
    project_id, _ = new_project(a.base_url)
    for n in range(ROUNDS):
        with a.client() as http:
            x, y = (
                http.post("/api/tasks", json={"projectId": project_id, "title": f"{t}{n}"}).json()
                for t in ("x", "y")
            )
        answers = at_once(
            partial(
                send, a.base_url, "PATCH", f"/api/tasks/{x['id']}", json={"dependsOn": [y["id"]]}
            ),
            partial(
                send, b.base_url, "PATCH", f"/api/tasks/{y['id']}", json={"dependsOn": [x["id"]]}
            ),
        )
        assert sorted(r.status_code for r in answers) == [200, 422], [r.text for r in answers]
        assert "cycle" in next(r for r in answers if r.status_code == 422).text


def test_one_task_claimed_from_both_instances_at_once_is_granted_once(pair: Pair) -> None:
    """Two agents claim the same task at the same moment, one on each instance: one gets
    the claim (200, with its token), the other is refused (409), every round."""
    a, b = pair
    project_id, _ = new_project(a.base_url)
    with a.client() as http:
        sessions = [
            http.post("/api/sessions", json={"projectId": project_id, "name": name}).json()
            for name in ("agent a", "agent b")
        ]
    for n in range(ROUNDS):
        with a.client() as http:
            task = http.post("/api/tasks", json={"projectId": project_id, "title": f"t{n}"})
        path = f"/api/tasks/{task.json()['id']}/claim"
        answers = at_once(
            *(
                partial(send, url, "POST", path, json={"sessionId": session["id"]})
                for url, session in zip((a.base_url, b.base_url), sessions, strict=True)
            )
        )
        assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
        [won] = [r for r in answers if r.status_code == 200]
        assert won.json()["claimToken"]


def test_claim_next_from_agents_on_both_instances_gives_every_task_once(pair: Pair) -> None:
    """Eight agents, four on each instance, call claim-next until nothing is ready: every
    task is claimed exactly once."""
    a, b = pair
    project_id, _ = new_project(a.base_url)
    tasks = 48
    with a.client() as http:
        made = http.post(
            "/api/tasks/batch",
            json={"projectId": project_id, "tasks": [{"title": f"t{n}"} for n in range(tasks)]},
        )
        assert made.status_code == 201, made.text
        sessions = [
            http.post("/api/sessions", json={"projectId": project_id, "name": f"agent {n}"}).json()
            for n in range(8)
        ]
    claimed: list[str] = []
    problems: list[str] = []

    def agent(base_url: str, session_id: str) -> None:
        with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT) as http:
            for _ in range(tasks + 10):  # bounded: more than there are tasks
                response = http.post(f"/api/sessions/{session_id}/claim-next", json={"count": 1})
                if response.status_code == 503:  # busy elsewhere: retry, as told
                    continue
                if response.status_code != 200:
                    problems.append(response.text)
                    return
                granted = response.json()
                if not granted["claims"]:
                    return
                claimed.extend(c["task"]["id"] for c in granted["claims"])

    at_once(
        *(
            partial(agent, a.base_url if n % 2 else b.base_url, session["id"])
            for n, session in enumerate(sessions)
        )
    )
    assert not problems
    assert len(claimed) == tasks
    assert len(set(claimed)) == tasks


def test_an_expired_lease_is_released_once_with_every_reaper_running(pair: Pair) -> None:
    """Claims with a one-second lease, taken on A: both instances' reapers (each looking
    every second) find them expired, and each claim gets exactly one task:released
    {reason: expired}. After the last one, two more reaper passes' worth of time passes
    with nothing more released (an absence can only be watched for a while)."""
    a, b = pair
    project_id, _ = new_project(a.base_url)
    with a.client() as http:
        made = http.post(
            "/api/tasks/batch",
            json={"projectId": project_id, "tasks": [{"title": f"t{n}"} for n in range(10)]},
        )
        session = http.post("/api/sessions", json={"projectId": project_id, "name": "s"}).json()
        granted = http.post(
            f"/api/sessions/{session['id']}/claim-next", json={"count": 10, "leaseSeconds": 1}
        )
    assert made.status_code == 201
    assert granted.status_code == 200, granted.text
    claimed = {c["task"]["id"] for c in granted.json()["claims"]}
    assert len(claimed) == 10
    feed = FollowingFeed("ws", [b.ws_url], since=seq_of(granted))

    def releases() -> list[dict[str, Any]]:
        return [e["data"] for e in feed.events if e["event"] == "task:released"]

    while len(releases()) < len(claimed):  # each waits WAIT at most for the next event
        feed.follow_until(feed.seq + 1)
    feed.follow_for(2 * DEFAULT_REAP_INTERVAL + 0.5)
    feed.close()
    assert Counter(r["taskId"] for r in releases()) == dict.fromkeys(claimed, 1)
    assert {r["reason"] for r in releases()} == {"expired"}


def test_pruning_runs_on_one_instance_at_a_time(database: str) -> None:
    """Two stores on the database, as two instances have: while one leads pruning (its
    transaction holds the role), the other's pruning pass finds it led and deletes nothing;
    once that transaction ends, the other prunes."""
    first, second = open_store(database), open_store(database)
    try:
        writer = Service(first)
        project = writer.create_project(ProjectCreate(name="p")).value
        for n in range(5):
            writer.create_task(TaskCreate(project_id=project.id, title=f"t{n}"))
        with first.write() as rows:
            assert rows.lead(PRUNING)
            assert Service(second).prune(keep_events=1) == (0, 0)
        assert Service(second).prune(keep_events=1)[0] == 5
    finally:
        first.close()
        second.close()
