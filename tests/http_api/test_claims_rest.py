"""Coordination over REST: claims, claim-next, release, heartbeat, and the reaper."""

import pytest
from starlette.testclient import TestClient


@pytest.fixture
def ids(client: TestClient) -> dict[str, str]:
    project = client.post("/api/projects", json={"name": "p"}).json()["id"]
    first = client.post("/api/tasks", json={"projectId": project, "title": "schema"}).json()
    second = client.post(
        "/api/tasks",
        json={"projectId": project, "title": "api", "dependsOn": [first["id"]], "labels": ["be"]},
    ).json()
    session = client.post("/api/sessions", json={"projectId": project, "name": "agent"}).json()
    return {
        "project": project,
        "first": first["id"],
        "second": second["id"],
        "session": session["id"],
    }


def test_claim_complete_with_token(client: TestClient, ids: dict[str, str]) -> None:
    ready = client.get("/api/tasks", params={"projectId": ids["project"], "ready": "true"}).json()
    assert [t["id"] for t in ready] == [ids["first"]]
    blocked = client.get("/api/tasks", params={"blocked": "true"}).json()
    assert [t["id"] for t in blocked] == [ids["second"]]
    assert [t["id"] for t in client.get("/api/tasks", params={"label": "be"}).json()] == [
        ids["second"]
    ]

    grant = client.post(f"/api/tasks/{ids['first']}/claim", json={"sessionId": ids["session"]})
    assert grant.status_code == 200
    token = grant.json()["claimToken"]
    assert grant.json()["task"]["claim"]["sessionId"] == ids["session"]

    # The same session claiming again gets its own claim back (same token, new lease)...
    again = client.post(f"/api/tasks/{ids['first']}/claim", json={"sessionId": ids["session"]})
    assert again.status_code == 200
    assert again.json()["claimToken"] == token
    # ... another session is refused.
    other = client.post("/api/sessions", json={"projectId": ids["project"], "name": "o"}).json()
    taken = client.post(f"/api/tasks/{ids['first']}/claim", json={"sessionId": other["id"]})
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "claim_conflict"
    not_ready = client.post(f"/api/tasks/{ids['second']}/claim", json={"sessionId": ids["session"]})
    assert not_ready.status_code == 409
    assert not_ready.json()["error"]["code"] == "not_ready"

    url = f"/api/tasks/{ids['first']}"
    refused = client.patch(url, json={"status": "completed"}, headers={"X-Claim-Token": "clm_x"})
    assert refused.status_code == 409
    done = client.patch(url, json={"status": "completed"}, headers={"X-Claim-Token": token})
    assert done.status_code == 200
    assert done.json()["claim"] is None
    # The claim ended with the completion: the token changes nothing any more.
    late = client.patch(url, json={"title": "x"}, headers={"X-Claim-Token": token})
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "claim_lost"
    assert "the task was completed" in late.json()["error"]["message"]
    assert late.json()["error"]["details"]["reason"] == "completed"
    ready = client.get("/api/tasks", params={"ready": "true"}).json()
    assert [t["id"] for t in ready] == [ids["second"]]


def test_claim_next_release_and_heartbeat(client: TestClient, ids: dict[str, str]) -> None:
    url = f"/api/sessions/{ids['session']}/claim-next"
    claims = client.post(url, json={"count": 5, "leaseSeconds": 60}).json()["claims"]
    assert [c["task"]["id"] for c in claims] == [ids["first"]]
    nothing = client.post(url).json()  # no body: the defaults
    assert nothing["claims"] == []
    assert nothing["nothingReady"]["waiting"] == 1
    assert nothing["nothingReady"]["claimed"] == 0  # its own claim is not someone else's
    assert "parentId" in claims[0]["task"]  # the tasks stay whole: null fields too

    beat = client.post(f"/api/sessions/{ids['session']}/heartbeat")
    assert [t["id"] for t in beat.json()["renewed"]] == [ids["first"]]

    release = f"/api/tasks/{ids['first']}/release"
    assert client.post(release, json={"claimToken": "clm_wrong"}).status_code == 409
    released = client.post(release, json={"claimToken": claims[0]["claimToken"]}).json()
    assert released["claim"] is None
    assert released["status"] == "pending"
    client.post(url)
    overridden = client.post(release, json={"override": True})
    assert overridden.json()["claim"] is None


def test_bad_claim_requests_are_4xx(client: TestClient, ids: dict[str, str]) -> None:
    claim = f"/api/tasks/{ids['first']}/claim"
    assert client.post(claim, json={}).status_code == 422
    assert (
        client.post(claim, json={"sessionId": ids["session"], "leaseSeconds": 0}).status_code == 422
    )
    assert client.post(claim, json={"sessionId": "sess_nope"}).status_code == 404
    assert (
        client.post(claim, content=b"[1]", headers={"Content-Type": "application/json"}).status_code
        == 422
    )
    assert client.post("/api/sessions/sess_nope/claim-next").status_code == 404
    assert (
        client.post(f"/api/sessions/{ids['session']}/claim-next", json={"count": 0}).status_code
        == 422
    )


def test_a_person_overrides_dependencies_with_the_override_header(
    client: TestClient, ids: dict[str, str]
) -> None:
    url = f"/api/tasks/{ids['second']}"
    refused = client.patch(url, json={"status": "in_progress"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "not_ready"
    assert refused.json()["error"]["details"] == {"waitingFor": [ids["first"]]}
    forced = client.patch(url, json={"status": "in_progress"}, headers={"X-Override": "true"})
    assert forced.status_code == 200
    assert forced.json()["status"] == "in_progress"
