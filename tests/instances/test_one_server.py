"""Two instances on one database are one server to every client: one global, gap-free seq
in commit order; a write on either reaches the feeds of both; a seq read on one resumes
on the other; both name the log's history with the same epoch."""

from typing import Literal

import pytest

from tests.support.instances import (
    FollowingFeed,
    LoadLoop,
    Pair,
    all_acks,
    head_of,
    new_project,
    running,
)
from tests.support.rest import seq_of

pytestmark = pytest.mark.only_store("postgresql")


def test_concurrent_writes_on_both_form_one_gap_free_sequence_on_every_feed(pair: Pair) -> None:
    """Writes on A and B at once (four loops, each taking A and B in turn): a WebSocket
    client of A and an SSE client of B, both tailing live, see the same events with the
    seqs 1..head, none missing, none twice. A seq committed out of order would be skipped
    by a feed that had already read past it, so this is also commit order."""
    a, b = pair
    project_id, start = new_project(a.base_url)
    ws = FollowingFeed("ws", [a.ws_url], since=start)
    sse = FollowingFeed("sse", [b.base_url], since=start)
    loops = [
        LoadLoop(order, project_id, name=f"writer {n}", max_requests=60)
        for n, order in enumerate([[a.base_url, b.base_url], [b.base_url, a.base_url]] * 2)
    ]
    with running(loops):
        for loop in loops:
            loop.join()
    acks = all_acks(loops)
    assert len(acks) == 240, [loop.unexpected + loop.failures for loop in loops]
    assert {ack.via for ack in acks} == {a.base_url, b.base_url}
    head = head_of(b.base_url)
    for feed in (ws, sse):
        feed.follow_until(head)
        assert feed.seqs == list(range(start + 1, head + 1))
        feed.close()
    assert ws.events == sse.events
    by_seq = {e["seq"]: e for e in ws.events}
    for ack in acks:
        assert by_seq[ack.seq]["event"] == "task:created"
        assert by_seq[ack.seq]["data"]["id"] == ack.task_id


def test_every_instance_names_the_same_epoch(pair: Pair) -> None:
    """sync:ready carries the log's epoch, and every instance on the database says the same,
    on both feeds, so a client moves between them by seq alone."""
    a, b = pair
    feeds = [FollowingFeed("ws", [url], since=0) for url in (a.ws_url, b.ws_url)]
    feeds += [FollowingFeed("sse", [url], since=0) for url in (a.base_url, b.base_url)]
    epochs = {feed.readies[0]["epoch"] for feed in feeds}
    for feed in feeds:
        feed.close()
    assert len(epochs) == 1
    assert all(epochs)


@pytest.mark.parametrize("kind", ["ws", "sse"])
def test_a_seq_read_on_one_instance_resumes_on_the_other(
    pair: Pair, kind: Literal["ws", "sse"]
) -> None:
    """Each round: a write answered by A, then at once a client connecting to B after the
    seq just before it, with A's epoch: B replays exactly that write's event (B's feed may
    not have seen it yet: a subscriber first catches up with the log), never
    ``unknown_seq``. Then the other way round."""
    a, b = pair
    project_id, _ = new_project(a.base_url)
    epoch = FollowingFeed("ws", [a.ws_url], since=0).readies[0]["epoch"]
    with a.client() as on_a, b.client() as on_b:
        for n in range(10):
            writer, reader = (on_a, b) if n % 2 == 0 else (on_b, a)
            response = writer.post("/api/tasks", json={"projectId": project_id, "title": f"{n}"})
            assert response.status_code == 201
            seq = seq_of(response)
            url = reader.ws_url if kind == "ws" else reader.base_url
            feed = FollowingFeed(kind, [url], since=seq - 1, epoch=epoch)
            assert feed.seqs == [seq], feed.events
            assert feed.events[0]["data"]["id"] == response.json()["id"]
            assert feed.readies[0] == {"seq": seq, "epoch": epoch}
            feed.close()


def test_a_snapshot_read_on_one_instance_resumes_on_the_other(pair: Pair) -> None:
    """A client loads a snapshot from A (GET, its X-Maestro-Seq), goes away while writes
    land on both instances, and resumes on B from that seq: it gets exactly what it missed,
    and its snapshot plus those events is B's state."""
    a, b = pair
    project_id, _ = new_project(a.base_url)
    with a.client() as on_a, b.client() as on_b:
        for n in range(3):
            on_a.post("/api/tasks", json={"projectId": project_id, "title": f"before {n}"})
        snapshot = on_a.get("/api/tasks", params={"projectId": project_id})
        since = seq_of(snapshot)
        made = []
        for n, http in enumerate([on_a, on_b, on_a, on_b]):
            response = http.post("/api/tasks", json={"projectId": project_id, "title": f"{n}"})
            made.append(response.json()["id"])
        feed = FollowingFeed("ws", [b.ws_url], since=since)
        assert feed.seqs == list(range(since + 1, since + 5))
        assert [e["data"]["id"] for e in feed.events] == made
        feed.close()
        mirrored = {t["id"] for t in snapshot.json()} | {e["data"]["id"] for e in feed.events}
        now = on_b.get("/api/tasks", params={"projectId": project_id}).json()
        assert mirrored == {t["id"] for t in now}
