"""File reservations across instances: two sessions reserving overlapping globs at the
same moment through two ``maestro serve`` processes on one PostgreSQL database; exactly
one wins, every round, and the other is told who holds the files and until when. What
one instance reserved is what the other's check and listing say at once, and its feed
carries each winner's ``reservation:created`` once."""

from functools import partial
from typing import Any

import httpx2 as httpx
import pytest

from maestro_mcp.core.clock import iso
from maestro_mcp.protocol import RESERVATIONS_CHECK_PATH
from tests.support.instances import REQUEST_TIMEOUT, FollowingFeed, Pair, new_project
from tests.support.races import at_once
from tests.support.rest import seq_of

pytestmark = pytest.mark.only_store("postgresql")
ROUNDS = 30
RESERVE = "/api/sessions/{id}/reservations"


def test_two_sessions_on_two_instances_racing_for_overlapping_globs_one_wins(
    pair: Pair,
) -> None:
    a, b = pair
    project_id, start = new_project(a.base_url)
    with (
        httpx.Client(base_url=a.base_url, timeout=REQUEST_TIMEOUT) as via_a,
        httpx.Client(base_url=b.base_url, timeout=REQUEST_TIMEOUT) as via_b,
    ):
        sessions: list[dict[str, Any]] = [
            via_a.post("/api/sessions", json={"projectId": project_id, "name": name}).json()
            for name in ("agent on a", "agent on b")
        ]
        names = {s["id"]: s["name"] for s in sessions}
        winners = []
        for n in range(ROUNDS):
            # Globs that meet in a file of their own each round (r{n}/src/api/x.py); every
            # other round the one on A asks shared, which the exclusive one still excludes.
            wanted = [
                (via_a, sessions[0], {"paths": [f"r{n}/src/**/*.py"], "shared": n % 2 == 1}),
                (via_b, sessions[1], {"paths": [f"r{n}/src/api/*"]}),
            ]
            answers = at_once(
                *(
                    partial(http.post, RESERVE.format(id=s["id"]), json=body)
                    for http, s, body in wanted
                ),
                timeout=REQUEST_TIMEOUT + 10,
            )
            assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
            [won] = [r for r in answers if r.status_code == 201]
            [lost] = [r for r in answers if r.status_code == 409]
            [held] = won.json()
            error = lost.json()["error"]
            assert error["code"] == "reservation_conflict"
            assert (
                f"by session {held['sessionId']} ({names[held['sessionId']]!r})"
                in (error["message"])
            )
            assert f"until {iso(held['expiresAt'])}" in error["message"]
            assert [c["heldBy"]["id"] for c in error["details"]["conflicts"]] == [held["id"]]
            winners.append(held)
        head = max(seq_of(r) for r in answers)

        # Either instance reads what the other reserved.
        for http in (via_a, via_b):
            listed = http.get("/api/reservations", params={"projectId": project_id}).json()
            assert [r["id"] for r in listed] == [w["id"] for w in winners]
        last = winners[-1]
        asked = via_a.post(
            RESERVATIONS_CHECK_PATH.format(id=project_id),
            json={"paths": [f"r{ROUNDS - 1}/src/api/x.py"]},
        ).json()
        held_by = asked["conflicts"] or asked["shared"]
        assert [r["id"] for r in held_by[0]["heldBy"]] == [last["id"]]

    feed = FollowingFeed("ws", [b.ws_url], since=start)
    feed.follow_until(head)
    feed.close()
    created = [e["data"]["id"] for e in feed.events if e["event"] == "reservation:created"]
    assert created == [w["id"] for w in winners]  # once each, in the order they were won
