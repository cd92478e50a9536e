"""An agent killed mid-work: its leases run out, the server frees its tasks, another takes them."""

import json
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from typing import Any

from http_api import Settings
from tests.support.feeds import WsClient
from tests.support.servers import live_server
from tests.support.waiting import WAIT

AGENT = textwrap.dedent(
    """
    import json, sys, time
    import httpx2

    url, project = sys.argv[1], sys.argv[2]
    with httpx2.Client(base_url=url) as http:
        session = http.post("/api/sessions", json={"projectId": project, "name": "doomed"}).json()
        claims = http.post(
            f"/api/sessions/{session['id']}/claim-next", json={"count": 2, "leaseSeconds": 1}
        ).json()["claims"]
        print(json.dumps({"session": session["id"], "tasks": [c["task"]["id"] for c in claims]}))
        sys.stdout.flush()
        time.sleep(600)  # "working"; it is killed long before
    """
)


def test_leases_of_a_killed_agent_expire_and_another_agent_takes_the_tasks(
    settings: Settings,
) -> None:
    with live_server(replace(settings, reap_interval=0.05)) as server:
        project = server.http.post("/api/projects", json={"name": "p"}).json()["id"]
        for title in ("a", "b", "c"):
            server.http.post("/api/tasks", json={"projectId": project, "title": title})
        ws = WsClient(server.ws_url)
        ws.until_ready()

        agent = subprocess.Popen(
            [sys.executable, "-c", AGENT, server.base_url, project],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert agent.stdout is not None
        held = json.loads(agent.stdout.readline())
        agent.send_signal(signal.SIGKILL)
        agent.wait(WAIT)
        agent.stdout.close()
        assert len(held["tasks"]) == 2

        released: list[dict[str, Any]] = []
        while len(released) < 2:
            message = ws.recv(timeout=WAIT)
            if message["event"] == "task:released":
                released.append(message["data"])
        assert {r["taskId"] for r in released} == set(held["tasks"])
        assert {r["reason"] for r in released} == {"expired"}
        assert {r["sessionId"] for r in released} == {held["session"]}

        rescuer = server.http.post(
            "/api/sessions", json={"projectId": project, "name": "rescuer"}
        ).json()
        claims = server.http.post(
            f"/api/sessions/{rescuer['id']}/claim-next", json={"count": 3}
        ).json()["claims"]
        assert set(held["tasks"]) <= {c["task"]["id"] for c in claims}
        ws.close()


def test_the_reaper_frees_a_silent_agents_files_and_answers_its_question_at_the_deadline(
    settings: Settings,
) -> None:
    """The server's own chores, seen on a live feed as any client sees them: a file
    reservation whose lease ran out is released (``expired``, by the server), and a
    question whose deadline passed is answered with its default."""
    with live_server(replace(settings, reap_interval=0.05)) as server:
        http = server.http
        project = http.post("/api/projects", json={"name": "p"}).json()["id"]
        session = http.post("/api/sessions", json={"projectId": project, "name": "quiet"}).json()
        ws = WsClient(server.ws_url)
        ws.until_ready()
        reserved = http.post(
            f"/api/sessions/{session['id']}/reservations",
            json={"paths": ["src/"], "leaseSeconds": 1},
        )
        assert reserved.status_code == 201, reserved.text
        asked = http.post(
            f"/api/sessions/{session['id']}/questions",
            json={"text": "Go?", "choices": ["yes", "no"], "timeoutSeconds": 1, "default": "no"},
        ).json()

        seen: dict[str, dict[str, Any]] = {}
        while len(seen) < 2:
            message = ws.recv(timeout=WAIT)
            if message["event"] in ("reservation:released", "question:answered"):
                seen[message["event"]] = message
        released = seen["reservation:released"]
        assert (released["data"]["reason"], released["actor"]) == ("expired", "maestro")
        answered = seen["question:answered"]["data"]
        assert answered["id"] == asked["id"]
        assert (answered["answer"], answered["defaulted"]) == ("no", True)
        assert http.get(f"/api/sessions/{session['id']}").json()["status"] == "working"
        ws.close()
