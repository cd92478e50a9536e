"""Leases are timed by the database's clock, not by the host of the instance that grants
or checks them: instances on machines whose clocks disagree agree on when a claim ends."""

from email.utils import parsedate_to_datetime

import psycopg
import pytest

from maestro_mcp.settings import DEFAULT_REAP_INTERVAL
from tests.support.instances import FollowingFeed, Instances, new_project
from tests.support.rest import seq_of

pytestmark = pytest.mark.only_store("postgresql")

AHEAD_S = 600
LEASE_S = 60
SLACK_MS = 5_000  # the test's own requests, and a loaded machine


def database_now_ms(database: str) -> int:
    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_an_instance_whose_clock_is_ahead_grants_leases_by_the_database_clock(
    database: str, instances: Instances
) -> None:
    """B's host clock is ten minutes ahead (its HTTP Date header says so). A claim that B
    grants still ends LEASE_S after now by the database's clock, and B's reaper does not
    take a claim for expired: it reads the same database clock."""
    [a] = instances.start(database, 1)
    b = instances.start_with_clock_ahead(database, AHEAD_S)
    project_id, _ = new_project(a.base_url)
    with a.client() as on_a, b.client() as on_b:
        made = on_a.post(
            "/api/tasks/batch",
            json={"projectId": project_id, "tasks": [{"title": "on a"}, {"title": "on b"}]},
        )
        session = on_a.post("/api/sessions", json={"projectId": project_id, "name": "s"}).json()
        task_a, task_b = (t["id"] for t in made.json()["tasks"])
        claims = {
            task_id: http.post(
                f"/api/tasks/{task_id}/claim",
                json={"sessionId": session["id"], "leaseSeconds": LEASE_S},
            )
            for task_id, http in ((task_a, on_a), (task_b, on_b))
        }
        now = database_now_ms(database)
        date = parsedate_to_datetime(claims[task_b].headers["date"]).timestamp()
        assert date * 1000 - now > (AHEAD_S - 60) * 1000, "B's clock is not ahead"
        for response in claims.values():
            assert response.status_code == 200, response.text
            assert abs(response.json()["expiresAt"] - (now + LEASE_S * 1000)) < SLACK_MS
        watcher = FollowingFeed("ws", [b.ws_url], since=seq_of(claims[task_b]))
    # Nothing is released: B's reaper (a pass every second) times A's claim, too, by the
    # database's clock. Were it timing by its host clock, the claim would have run out
    # ten minutes ago. (An absence can only be watched for a while: two passes.)
    watcher.follow_for(2 * DEFAULT_REAP_INTERVAL + 0.5)
    watcher.close()
    assert not [e for e in watcher.events if e["event"] == "task:released"], watcher.events
