"""Failures across real processes: an instance killed with SIGKILL under load; PostgreSQL
restarted under load, stopped for a while, or away when a feed client arrives; the LISTEN
connections cut.

What each proves: no acknowledged write is lost (it is in a GET afterwards, and its event
is in the log at the seq its answer carried); clients resume by seq, on another instance
if theirs died, and see every event once, in order; while the database is away writes are
answered 503 with Retry-After, never 500 and never left hanging, and afterwards they
succeed again without restarting Maestro.
"""

import threading
import time
from functools import partial
from typing import Any, Literal

import httpx2 as httpx
import pytest
from websockets.exceptions import InvalidStatus

from maestro_mcp.core.storage import StoreUnavailable
from maestro_mcp.core.storage.location import open_store
from maestro_mcp.core.storage.postgres.store import POOL_TIMEOUT_S
from maestro_mcp.protocol import RETRY_AFTER_HEADER
from maestro_mcp.settings import Settings
from tests.support.feeds import WsClient
from tests.support.instances import (
    Ack,
    FollowingFeed,
    Instances,
    LoadLoop,
    Pair,
    all_acks,
    head_of,
    new_project,
    running,
    task_ids,
)
from tests.support.postgres import Cluster
from tests.support.rest import seq_of
from tests.support.servers import ServerProcess, live_server
from tests.support.waiting import WAIT, wait_for

pytestmark = pytest.mark.only_store("postgresql")

LISTEN_APPLICATION = "maestro-listen"
DELIVERY_BOUND = 1.0
"""Seconds within which an event committed on one instance reaches a client of another:
the feed polls the head every 50 ms, and LISTEN wakes it at once."""


def assert_in_log(acks: list[Ack], events: list[dict[str, Any]]) -> None:
    """Every acknowledged write's event is in the log, at the seq its answer carried."""
    by_seq = {e["seq"]: e for e in events}
    for ack in acks:
        event = by_seq.get(ack.seq)
        assert event is not None, f"{ack} has no event in the log"
        assert event["event"] == "task:created"
        assert event["data"]["id"] == ack.task_id


def test_an_instance_killed_under_load_loses_no_acknowledged_write(pair: Pair) -> None:
    """Three loops write through A and B in turn; A is killed with SIGKILL mid-load.
    Every write either instance acknowledged is there afterwards, with its event at its
    seq; the WebSocket and SSE clients of A reconnect to B with their last seq and get
    exactly the rest; B's client never noticed."""
    a, b = pair
    project_id, start = new_project(a.base_url)
    ws_a = FollowingFeed("ws", [a.ws_url, b.ws_url], since=start)
    sse_a = FollowingFeed("sse", [a.base_url, b.base_url], since=start)
    ws_b = FollowingFeed("ws", [b.ws_url], since=start)
    loops = [
        LoadLoop([a.base_url, b.base_url], project_id, name=f"writer {n}", max_requests=400)
        for n in range(3)
    ]
    with running(loops):
        wait_for(
            lambda: sum(len(loop.acks_via(a.base_url)) for loop in loops) >= 30,
            what="writes acknowledged by A",
        )
        killing = time.monotonic()
        a.kill()
        killed = time.monotonic()
        wait_for(
            lambda: sum(len(loop.acks_via(b.base_url, after=killed)) for loop in loops) >= 30,
            what="writes acknowledged by B after A was killed",
        )
    acks = all_acks(loops)
    assert not [u for loop in loops for u in loop.unexpected]
    lost = [f for loop in loops for f in loop.failures]
    assert all(f.via == a.base_url and f.at >= killing for f in lost), lost
    assert task_ids(b.base_url, project_id) >= {ack.task_id for ack in acks}
    head = head_of(b.base_url)
    for feed in (ws_a, sse_a, ws_b):
        feed.follow_until(head)
        assert feed.seqs == list(range(start + 1, head + 1)), feed.connections
        feed.close()
    assert ws_a.connections == [a.ws_url, b.ws_url]
    assert sse_a.connections == [a.base_url, b.base_url]
    assert ws_b.connections == [b.ws_url]
    assert ws_a.events == sse_a.events == ws_b.events
    assert_in_log(acks, ws_b.events)


def test_postgres_restarted_under_load(pair: Pair, cluster: Cluster) -> None:
    """PostgreSQL restarts while two loops write through A and B in turn. Every write is
    answered: 201, or 503 with Retry-After while the database is away (never a 500, never
    a hang: each request has a 20 s client timeout). Afterwards both instances take writes
    again by themselves, and a WebSocket client of A and an SSE client of B have every
    event once, in order."""
    a, b = pair
    project_id, start = new_project(a.base_url)
    ws = FollowingFeed("ws", [a.ws_url], since=start)
    sse = FollowingFeed("sse", [b.base_url], since=start)
    loops = [
        LoadLoop(order, project_id, name=f"writer {n}", max_requests=3000, duration=60)
        for n, order in enumerate([[a.base_url, b.base_url], [b.base_url, a.base_url]])
    ]
    with running(loops):
        wait_for(lambda: len(all_acks(loops)) >= 20, what="writes before the restart")
        restarting = time.monotonic()
        cluster.restart()
        restarted = time.monotonic()
        wait_for(
            lambda: all(
                any(loop.acks_via(url, after=restarted) for loop in loops)
                for url in (a.base_url, b.base_url)
            ),
            timeout=3 * WAIT,
            what="both instances to take writes again",
        )
    refusals = [r for loop in loops for r in loop.refusals]
    assert not [u for loop in loops for u in loop.unexpected]
    assert not [f for loop in loops for f in loop.failures]
    assert refusals, "no write met the outage: the test proved nothing"
    assert all(r.code == "unavailable" and r.retry_after == "1" for r in refusals), refusals
    assert all(r.at >= restarting for r in refusals)
    # A write waits at most for a connection (5 s), or for one more batch's wait first.
    assert max(loop.slowest for loop in loops) <= 2 * POOL_TIMEOUT_S + 1
    acks = all_acks(loops)
    assert task_ids(b.base_url, project_id) >= {ack.task_id for ack in acks}
    head = head_of(a.base_url)
    for feed in (ws, sse):
        feed.follow_until(head)
        assert feed.seqs == list(range(start + 1, head + 1)), feed.connections
        feed.close()
    assert ws.events == sse.events
    assert_in_log(acks, ws.events)


def test_a_feed_client_arriving_while_the_database_is_away_is_told_to_retry(
    pair: Pair, cluster: Cluster
) -> None:
    """While PostgreSQL is stopped, a client that (re)connects to a feed cannot be
    resumed (the log cannot be read): the WebSocket handshake and the SSE request are
    answered 503 with Retry-After, and the server logs no traceback. Once the database is
    back the same client resumes by seq with no gap."""
    a, b = pair
    project_id, start = new_project(a.base_url)
    seq = write_on(b, project_id, "before the outage")
    cluster.stop()
    with pytest.raises(InvalidStatus) as refused:
        WsClient(f"{a.ws_url}?since={start}")
    assert refused.value.response.status_code == 503
    assert refused.value.response.headers[RETRY_AFTER_HEADER] == "1"
    with httpx.Client(base_url=a.base_url, timeout=WAIT) as http:
        answer = http.get("/api/events", params={"since": start})
    assert answer.status_code == 503
    assert answer.headers[RETRY_AFTER_HEADER] == "1"
    assert answer.json()["error"]["code"] == "unavailable"
    cluster.start_again()
    clients: list[tuple[Literal["ws", "sse"], str]] = [("ws", a.ws_url), ("sse", a.base_url)]
    for kind, url in clients:
        feed = FollowingFeed(kind, [url], since=start)
        feed.follow_until(seq)
        assert feed.seqs == [seq]
        feed.close()


OUTAGE_S = 8.0
"""How long the database stays away in the longer outage: past the fourth retry of a
connection pool whose retry delays double (1, 2, 4 s: the next one would come 8 s later)."""
BACK_WITHIN_S = 3.5
"""How soon after the database is back writes must succeed again."""


def test_writes_succeed_again_soon_after_a_longer_outage(database: str, cluster: Cluster) -> None:
    """The database away for 8 s while three threads keep writing through one store (as an
    instance's writer, reaper and reads do), then back: within 3.5 s writes succeed again.
    The store's pool gives up a connection attempt after 5 s and the next caller starts a
    new one; before, its retry delays doubled for as long as the outage lasted, and writes
    kept failing for 5-7 s after the database was back. (The store, not instances: how
    soon an instance's pool retries depends on when each of its connections broke, which
    load makes random; one store with steady callers shows the pool's own behaviour.)"""
    store = open_store(database)
    store.migrate()
    done = threading.Event()
    succeeded: list[float] = []
    unexpected: list[BaseException] = []

    def keep_writing() -> None:
        deadline = time.monotonic() + OUTAGE_S + 3 * WAIT  # bounded: stops by itself
        while not done.is_set() and time.monotonic() < deadline:
            try:
                with store.write() as rows:
                    rows.head()
                succeeded.append(time.monotonic())
            except StoreUnavailable:
                pass
            except BaseException as exc:
                unexpected.append(exc)
                return
            done.wait(0.02)

    writers = [threading.Thread(target=keep_writing) for _ in range(3)]
    try:
        for writer in writers:
            writer.start()
        wait_for(lambda: len(succeeded) >= 3, what="writes before the outage")
        cluster.stop()
        stopped = time.monotonic()
        wait_for(lambda: time.monotonic() - stopped >= OUTAGE_S, timeout=2 * OUTAGE_S)
        cluster.start_again()
        back = time.monotonic()
        wait_for(lambda: succeeded[-1] > back, timeout=3 * WAIT, what="a write to succeed")
    finally:
        done.set()
        for writer in writers:
            writer.join(POOL_TIMEOUT_S + WAIT)
        store.close()
    assert not unexpected
    again = min(t for t in succeeded if t > back)
    assert again - back <= BACK_WITHIN_S, f"writes came back {again - back:.1f} s late"


def listeners(cluster: Cluster, database: str) -> int:
    """How many LISTEN connections Maestro holds on ``database`` right now."""
    rows = cluster.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND datname = %s",
        params=(LISTEN_APPLICATION, database.rsplit("/", 1)[-1]),
    )
    return int(rows[0][0])


def said(instance: ServerProcess, words: str) -> bool:
    """Whether ``instance`` logged a line with ``words``."""
    return any(words in line for line in instance.log)


def write_on(instance: ServerProcess, project_id: str, title: str) -> int:
    with instance.client() as http:
        response = http.post("/api/tasks", json={"projectId": project_id, "title": title})
    assert response.status_code == 201, response.text
    return seq_of(response)


def test_delivery_goes_on_when_the_listen_connection_is_killed(
    pair: Pair, cluster: Cluster, database: str
) -> None:
    """Both instances' LISTEN connections are ended by the server (pg_terminate_backend):
    a write on A still reaches a client of B within the bound (the feed also polls the
    head), each instance says it lost and regained its listener, and once they are back a
    write is delivered as promptly as before."""
    a, b = pair
    project_id, start = new_project(a.base_url)
    wait_for(lambda: listeners(cluster, database) == 2, what="both instances to LISTEN")
    feed = FollowingFeed("ws", [b.ws_url], since=start)
    assert cluster.terminate(application_name=LISTEN_APPLICATION) >= 2  # ours, and leftovers
    feed.follow_until(write_on(a, project_id, "while nobody listens"), timeout=DELIVERY_BOUND)
    wait_for(lambda: listeners(cluster, database) == 2, what="both instances to LISTEN again")
    for instance in (a, b):
        wait_for(partial(said, instance, "listening for commits again"), what="it listens again")
        assert said(instance, "lost the LISTEN connection")
    feed.follow_until(write_on(a, project_id, "listened to again"), timeout=DELIVERY_BOUND)
    feed.close()
    assert feed.seqs == list(range(start + 1, feed.seq + 1))


def test_a_listener_cut_off_listens_again_and_misses_nothing(
    database: str, instances: Instances, cluster: Cluster
) -> None:
    """What LISTEN alone delivers, with the poll out of the way: instance B runs in this
    process with a one-minute poll interval (``maestro serve`` has no option for it), A is
    a process. A write on A reaches B's client at once; after B's LISTEN connection is
    ended, a write made before it listens again still arrives (it looks once more when it
    listens again), and so does one made after."""
    [a] = instances.start(database, 1)
    project_id, start = new_project(a.base_url)
    settings = Settings(database=database, poll_interval=60.0)
    with live_server(settings) as b:
        feed = FollowingFeed("ws", [b.ws_url], since=start)
        feed.follow_until(write_on(a, project_id, "heard"), timeout=DELIVERY_BOUND)
        wait_for(lambda: listeners(cluster, database) == 2, what="both instances to LISTEN")
        assert cluster.terminate(application_name=LISTEN_APPLICATION) >= 2
        feed.follow_until(write_on(a, project_id, "while cut off"), timeout=DELIVERY_BOUND)
        wait_for(lambda: listeners(cluster, database) == 2, what="both to LISTEN again")
        feed.follow_until(write_on(a, project_id, "heard again"), timeout=DELIVERY_BOUND)
        feed.close()
    assert feed.seqs == list(range(start + 1, start + 4))
