import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import patch

import anyio
import pytest

from maestro_mcp.core.events import StoredEvent
from maestro_mcp.core.feed import (
    Feed,
    FeedClosed,
    ReplayExpired,
    ResetReason,
    Signal,
    Subscriber,
    SubscriberOverflow,
    Writer,
)
from maestro_mcp.core.models import ProjectCreate, TaskCreate
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage import Store
from maestro_mcp.core.storage.location import open_store
from tests.support.stores import give_new_history, rewind_log
from tests.support.waiting import WAIT

pytestmark = pytest.mark.anyio


@pytest.fixture
async def feed(db: Store) -> AsyncIterator[Feed]:
    # A poll interval far beyond the test timeout: only notify() can wake it,
    # unless a test says otherwise.
    running = Feed(db, poll_interval=3600, max_queue=5)
    await running.start()
    yield running
    await running.stop()


def payloads(batch: list[StoredEvent]) -> list[dict[str, Any]]:
    return [json.loads(e.payload) for e in batch]


async def test_local_commit_wakes_subscribers(db: Store, feed: Feed) -> None:
    service = Service(db, on_commit=feed.notify)
    subscriber = feed.subscribe()
    project = service.create_project(ProjectCreate(name="p")).value
    with anyio.fail_after(5):
        batch = await subscriber.next_batch()
    [message] = payloads(batch)
    assert message["event"] == "project:created"
    assert message["data"]["id"] == project.id
    assert feed.head == 1


async def test_commit_by_another_connection_is_found_by_polling(database: str, db: Store) -> None:
    feed = Feed(db, poll_interval=0.01)
    await feed.start()
    try:
        subscriber = feed.subscribe()
        other = open_store(database)  # another connection, no notify: like another process
        Service(other).create_project(ProjectCreate(name="elsewhere"))
        other.close()
        with anyio.fail_after(5):
            batch = await subscriber.next_batch()
        assert payloads(batch)[0]["event"] == "project:created"
    finally:
        await feed.stop()


async def test_project_filter(db: Store, feed: Feed) -> None:
    service = Service(db, on_commit=feed.notify)
    a = service.create_project(ProjectCreate(name="a")).value
    b = service.create_project(ProjectCreate(name="b")).value
    only_b = feed.subscribe(project_id=b.id)
    service.create_task(TaskCreate(project_id=a.id, title="in a"))
    service.create_task(TaskCreate(project_id=b.id, title="in b"))
    with anyio.fail_after(5):
        batch = await only_b.next_batch()
    assert [m["data"]["projectId"] for m in payloads(batch)] == [b.id]


async def test_subscriber_that_falls_behind_overflows(db: Store, feed: Feed) -> None:
    service = Service(db, on_commit=feed.notify)
    slow = feed.subscribe()
    for i in range(6):  # max_queue is 5
        service.create_project(ProjectCreate(name=f"p{i}"))
    feed.pump()
    assert slow.overflowed
    assert slow.pending() == 0  # its references are released at once
    with pytest.raises(SubscriberOverflow):
        await slow.next_batch()


async def test_replay_and_resume_problems(db: Store, feed: Feed) -> None:
    service = Service(db, on_commit=feed.notify)
    for i in range(5):
        service.create_project(ProjectCreate(name=f"p{i}"))
    feed.pump()
    seqs = [e.seq async for batch in feed.replay(2, 4) for e in batch]
    assert seqs == [3, 4]
    assert feed.resume_problem(0, feed.head) is None
    assert feed.resume_problem(feed.head, feed.head) is None
    assert feed.resume_problem(feed.head + 1, feed.head) is ResetReason.UNKNOWN_SEQ
    service.prune(keep_events=2)
    assert feed.resume_problem(2, feed.head) is ResetReason.EXPIRED
    assert feed.resume_problem(3, feed.head) is None


async def test_subscribe_catches_up_before_taking_the_head(db: Store, feed: Feed) -> None:
    # A write acknowledged to a client but not yet dispatched: a subscriber created
    # right after must not see it as "future" (its head covers every committed seq).
    Service(db).create_project(ProjectCreate(name="silent"))  # no notify
    subscriber = feed.subscribe()
    assert subscriber.start_seq == 1


async def test_stop_closes_subscribers(db: Store) -> None:
    feed = Feed(db)
    await feed.start()
    subscriber = feed.subscribe()
    await feed.stop()
    with pytest.raises(FeedClosed):
        await subscriber.next_batch()


async def test_replay_raises_when_the_log_is_pruned_underneath(
    database: str, db: Store, feed: Feed
) -> None:
    # Written by another process: a backend keeps its own commits in memory for the
    # feed (PostgreSQL), and would replay those even once pruned from the table.
    other = open_store(database)
    service = Service(other)
    for i in range(30):
        service.create_project(ProjectCreate(name=f"p{i}"))
    feed.pump()
    with patch("maestro_mcp.core.feed.READ_BATCH", 10):
        replay = feed.replay(0, 30)
        first = await replay.__anext__()
        assert [e.seq for e in first] == list(range(1, 11))
        service.prune(keep_events=5)  # the pruner runs while a client is being replayed
        with pytest.raises(ReplayExpired):
            async for _ in replay:
                pass
    other.close()


async def test_replay_reads_in_bounded_batches(db: Store) -> None:
    feed = Feed(db, poll_interval=3600)
    await feed.start()
    try:
        service = Service(db)
        big = "x" * 40_000
        for i in range(5):
            service.create_project(ProjectCreate(name=f"p{i}", description=big))
        feed.pump()
        with patch("maestro_mcp.core.feed.READ_BYTES", 100_000):
            batches = [batch async for batch in feed.replay(0, 5)]
        assert [len(b) for b in batches] == [3, 2]
    finally:
        await feed.stop()


async def test_a_failed_read_is_retried_on_the_next_poll(db: Store, feed: Feed) -> None:
    subscriber = feed.subscribe()
    Service(db).create_project(ProjectCreate(name="p"))
    reader = feed._log  # the feed's own connection to the log
    with (
        patch.object(reader, "read_after", side_effect=OSError("busy")),
        pytest.raises(OSError, match="busy"),
    ):
        feed.pump()
    assert feed.pump() == 1  # the change token's move was not forgotten
    assert len(await subscriber.next_batch()) == 1


async def test_a_subscriber_over_its_byte_budget_is_cut_off(db: Store) -> None:
    feed = Feed(db, poll_interval=3600, max_queue=1000, max_queue_bytes=50_000)
    await feed.start()
    try:
        slow = feed.subscribe()
        service = Service(db)
        for i in range(2):
            service.create_project(ProjectCreate(name=f"p{i}", description="x" * 30_000))
        feed.pump()
        assert slow.overflowed
    finally:
        await feed.stop()


async def test_no_new_subscriber_while_shutting_down(feed: Feed) -> None:
    feed.close_subscribers()
    late = feed.subscribe()
    assert late.closed
    assert feed.subscriber_count == 0
    with pytest.raises(FeedClosed):
        await late.next_batch()


# --- attached: subscribers the feed writes batches to synchronously -------------------


class SeqsEncoding:
    """An encoding that writes a batch's seqs, and counts the batches it encoded."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    def __call__(self, events: list[StoredEvent]) -> bytes:
        self.calls.append([e.seq for e in events])
        return json.dumps([e.seq for e in events]).encode()


SEQS = SeqsEncoding()


class RecordingWriter:
    def __init__(self, keep_up: bool = True) -> None:
        self.written: list[bytes] = []
        self.keep_up = keep_up

    def __call__(self, data: bytes) -> bool:
        self.written.append(data)
        return self.keep_up

    def seqs(self) -> list[int]:
        return [seq for data in self.written for seq in json.loads(data)]


async def test_attach_delivers_the_queue_first_then_every_batch(db: Store, feed: Feed) -> None:
    service = Service(db)  # no notify: this test decides when the feed reads the log
    subscriber = feed.subscribe()
    service.create_project(ProjectCreate(name="queued before attach"))
    feed.pump()
    writer = RecordingWriter()
    subscriber.attach(SeqsEncoding(), writer)
    assert writer.seqs() == [1]
    assert subscriber.pending() == 0
    service.create_project(ProjectCreate(name="a"))
    service.create_project(ProjectCreate(name="b"))
    feed.pump()
    assert writer.seqs() == [1, 2, 3]
    assert len(writer.written) == 2  # the two new events came as one batch


async def test_a_batch_is_encoded_once_per_filter_and_encoding(db: Store, feed: Feed) -> None:
    service = Service(db)
    a = service.create_project(ProjectCreate(name="a")).value
    b = service.create_project(ProjectCreate(name="b")).value
    feed.pump()
    frames, chunks = SeqsEncoding(), SeqsEncoding()
    everything = [RecordingWriter() for _ in range(3)]
    only_a = [RecordingWriter() for _ in range(3)]
    only_b_chunks = RecordingWriter()
    for writer in everything:
        feed.subscribe().attach(frames, writer)
    for writer in only_a:
        feed.subscribe(project_id=a.id).attach(frames, writer)
    feed.subscribe(project_id=b.id).attach(chunks, only_b_chunks)
    queued = feed.subscribe(project_id=a.id)  # not attached: its queue gets a's events
    service.create_task(TaskCreate(project_id=a.id, title="in a"))
    service.create_task(TaskCreate(project_id=b.id, title="in b"))
    feed.pump()
    # One call of an encoding per filter, whatever the number of its clients.
    assert sorted(frames.calls) == [[3], [3, 4]]
    assert chunks.calls == [[4]]
    assert all(w.seqs() == [3, 4] for w in everything)
    assert all(w.seqs() == [3] for w in only_a)
    assert only_b_chunks.seqs() == [4]
    assert [e.seq for e in await queued.next_batch()] == [3]


async def test_refilter_moves_an_attached_subscriber_from_the_next_batch(
    db: Store, feed: Feed
) -> None:
    service = Service(db)
    a = service.create_project(ProjectCreate(name="a")).value
    b = service.create_project(ProjectCreate(name="b")).value
    feed.pump()
    writer = RecordingWriter()
    subscriber = feed.subscribe(project_id=a.id)
    subscriber.attach(SEQS, writer)
    service.create_task(TaskCreate(project_id=a.id, title="in a"))
    service.create_task(TaskCreate(project_id=b.id, title="in b"))
    feed.pump()
    subscriber.refilter(b.id)
    service.create_task(TaskCreate(project_id=a.id, title="in a again"))
    service.create_task(TaskCreate(project_id=b.id, title="in b again"))
    feed.pump()
    subscriber.refilter(None)
    service.create_project(ProjectCreate(name="c"))
    feed.pump()
    assert writer.seqs() == [3, 6, 7]
    feed.unsubscribe(subscriber)
    service.create_project(ProjectCreate(name="d"))
    feed.pump()
    assert writer.seqs() == [3, 6, 7]  # nothing once unsubscribed


async def test_a_writer_that_falls_behind_or_fails_is_cut_off_alone(db: Store, feed: Feed) -> None:
    service = Service(db)
    behind, healthy = RecordingWriter(keep_up=False), RecordingWriter()

    def broken(data: bytes) -> bool:
        raise RuntimeError("transport gone wrong")

    subscribers = [feed.subscribe() for _ in range(3)]
    writers: list[Writer] = [behind, broken, healthy]
    cut: list[int] = []
    for n, (subscriber, writer) in enumerate(zip(subscribers, writers, strict=True)):
        subscriber.attach(SEQS, writer)
        subscriber.on_cut_off(lambda n=n: cut.append(n))  # type: ignore[misc]
    service.create_project(ProjectCreate(name="p"))
    with patch("maestro_mcp.core.feed.log.exception") as logged:
        feed.pump()
    assert [s.overflowed for s in subscribers] == [True, True, False]
    assert cut == [0, 1]  # each told once, at once
    logged.assert_called_once()
    with anyio.fail_after(5):
        await subscribers[0].wait_cut_off()
    service.create_project(ProjectCreate(name="q"))
    feed.pump()
    assert len(behind.written) == 1  # nothing more after it was cut off
    assert healthy.seqs() == [1, 2]
    with pytest.raises(SubscriberOverflow):
        subscribers[0].attach(SEQS, RecordingWriter())
    told: list[str] = []
    subscribers[0].on_cut_off(lambda: told.append("late"))
    assert told == ["late"]  # already cut off: told at once
    feed.unsubscribe(subscribers[2])
    assert cut == [0, 1, 2]  # closing cuts it off too


async def test_a_signal_wakes_its_waiters_once_and_stays_raised() -> None:
    signal = Signal()
    waiters = [asyncio.create_task(signal.wait()) for _ in range(3)]
    cancelled = asyncio.create_task(signal.wait())
    await asyncio.sleep(0)  # every waiter waits
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert not any(w.done() for w in waiters)
    signal.set()
    signal.set()
    with anyio.fail_after(5):
        await asyncio.gather(*waiters)
    assert signal.is_set()
    with anyio.fail_after(5):
        await signal.wait()  # raised: returns at once


async def test_commits_in_other_threads_each_wake_the_feed(db: Store, feed: Feed) -> None:
    # The fixture's feed never polls: only notify() from the committing thread wakes it.
    service = Service(db, on_commit=feed.notify)
    subscriber = feed.subscribe()
    for name in ("first", "second", "third"):
        await anyio.to_thread.run_sync(service.create_project, ProjectCreate(name=name))
        with anyio.fail_after(5):
            batch = await subscriber.next_batch()
        assert [m["data"]["name"] for m in payloads(batch)] == [name]


async def test_commits_the_feed_has_read_already_do_not_wake_it_again(
    db: Store, feed: Feed
) -> None:
    """A batch's writes are told one by one after its COMMIT; once the first one's
    wake-up had the feed read them all, the others cost no cross-thread call (each
    would wake the loop and read, and dispatch, nothing)."""
    service = Service(db)  # told by hand below
    subscriber = feed.subscribe()
    seqs = [service.create_project(ProjectCreate(name=f"p{n}")).seq for n in range(3)]
    loop = asyncio.get_running_loop()
    calls: list[object] = []
    schedule = loop.call_soon_threadsafe

    def counted(callback: Any, *args: Any) -> Any:
        calls.append(callback)
        return schedule(callback, *args)

    with patch.object(loop, "call_soon_threadsafe", side_effect=counted):
        await anyio.to_thread.run_sync(feed.notify, seqs[0])
        with anyio.fail_after(WAIT):
            batch = await subscriber.next_batch()
        assert [e.seq for e in batch] == seqs  # the first wake-up read the three
        for seq in seqs[1:]:
            await anyio.to_thread.run_sync(feed.notify, seq)
    assert calls.count(feed._wake_from_thread) == 1


async def test_a_database_restored_under_a_running_feed_ends_every_stream(
    db: Store, database: str
) -> None:
    """Back from an outage, the feed checks the log's history before reading: a restored
    database (a new epoch) ends every stream, so that each client comes back with its
    old epoch and is reset instead of taking the new history's seqs for the next ones."""
    feed = Feed(db, poll_interval=0.01)
    await feed.start()
    try:
        service = Service(db, on_commit=feed.notify)
        service.create_project(ProjectCreate(name="before"))
        subscriber = feed.subscribe()
        old_epoch = feed.epoch
        reader = feed._log
        assert reader is not None
        read_after = reader.read_after
        outage = asyncio.Event()

        def away_then_back(after: int, limit: int, **kw: Any) -> list[StoredEvent]:
            if not outage.is_set():
                outage.set()
                give_new_history(database)  # restored while the database was away
                raise OSError("connection lost")
            return read_after(after, limit, **kw)

        with patch.object(reader, "read_after", side_effect=away_then_back):
            service.create_project(ProjectCreate(name="during"))
            with anyio.fail_after(WAIT):
                await subscriber.wait_closed()
        assert feed.epoch != old_epoch
        assert feed.subscriber_count == 0
        assert not feed.check_history()  # once
    finally:
        await feed.stop()


async def _kept_then_sent(feed: Feed, service: Service) -> tuple[Subscriber, int]:
    """A subscriber that has received two commits, and the first one's seq: a rewind to
    it keeps that commit and loses the second."""
    subscriber = feed.subscribe()
    kept = service.create_project(ProjectCreate(name="kept")).seq
    sent = service.create_project(ProjectCreate(name="sent, then lost")).seq
    received: list[int] = []
    with anyio.fail_after(WAIT):
        while sent not in received:
            received += [event.seq for event in await subscriber.next_batch()]
    return subscriber, kept


async def test_a_log_rewound_in_place_without_an_outage_is_found_by_the_poll(
    db: Store, database: str
) -> None:
    """A restore in place in one transaction raises nothing the feed would see as an
    outage: the log changes, with nothing after what was sent. The poll tells it was
    rewound, and the history is named anew."""
    feed = Feed(db, poll_interval=0.01)
    await feed.start()
    try:
        service = Service(db, on_commit=feed.notify)
        subscriber, kept = await _kept_then_sent(feed, service)
        old_epoch = feed.epoch
        rewind_log(database, kept)
        with anyio.fail_after(WAIT):
            await subscriber.wait_closed()
        assert feed.epoch != old_epoch
        assert db.epoch() == feed.epoch
        assert feed.head == kept
    finally:
        await feed.stop()


def test_processes_that_find_the_log_rewound_at_once_renew_its_epoch_once(
    db: Store, database: str
) -> None:
    other = open_store(database)
    try:
        found = db.epoch()
        renewed = db.renew_epoch(found)
        assert renewed != found
        assert other.renew_epoch(found) == renewed  # it came second: nothing more
        assert other.epoch() == renewed
    finally:
        other.close()


async def test_a_log_rewound_in_place_under_a_running_feed_gets_a_new_epoch(
    db: Store, database: str
) -> None:
    """A backup restored into the same database keeps its epoch, but its log is behind
    what the feed already sent: back from the outage, the feed names the log's history
    anew (for every instance and client) and ends every stream."""
    feed = Feed(db, poll_interval=0.01)
    await feed.start()
    try:
        service = Service(db, on_commit=feed.notify)
        subscriber, kept = await _kept_then_sent(feed, service)
        old_epoch = feed.epoch
        reader = feed._log
        assert reader is not None
        read_after = reader.read_after
        outage = asyncio.Event()

        def away_then_back(after: int, limit: int, **kw: Any) -> list[StoredEvent]:
            if not outage.is_set():
                outage.set()
                rewind_log(database, kept)  # restored in place while the database was away
                raise OSError("connection lost")
            return read_after(after, limit, **kw)

        with patch.object(reader, "read_after", side_effect=away_then_back):
            service.create_project(ProjectCreate(name="during"))
            with anyio.fail_after(WAIT):
                await subscriber.wait_closed()
        assert feed.epoch != old_epoch
        assert db.epoch() == feed.epoch  # stored: other instances and clients see it
        assert feed.head == kept
        assert feed.subscriber_count == 0
        assert not feed.check_history()  # once
    finally:
        await feed.stop()


async def test_events_pruned_before_the_feed_read_them_end_every_stream(
    database: str, feed: Feed
) -> None:
    """The feed could not read while another process wrote and pruned past its head: the
    next events it reads are not the next ones. No subscriber takes them as such: each
    stream ends (its client resumes from its last seq and is told to refetch), and the
    watchers hear that events were missed."""
    subscriber = feed.subscribe()
    missed: list[object] = []
    feed.watch(lambda batch: missed.append(batch) if batch is None else None)
    other = open_store(database)  # another process's store (no commit of it in ours)
    try:
        service = Service(other)
        for n in range(4):
            service.create_project(ProjectCreate(name=f"p{n}"))
        with other.write() as rows:  # its pruner, while this feed was away
            rows.prune_events(3)
    finally:
        other.close()
    assert feed.pump() == 1  # seq 4: seqs 1 to 3 are gone
    assert subscriber.closed
    assert not subscriber.pending()
    assert missed == [None]
    assert feed.resume_problem(0, feed.head) is ResetReason.EXPIRED
