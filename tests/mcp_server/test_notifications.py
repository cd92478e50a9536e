import asyncio
import json
from collections.abc import Iterable
from functools import partial
from typing import Any

import anyio
import pytest

from maestro_mcp.core.events import EventType, PendingEvent, StoredEvent, envelope
from maestro_mcp.core.feed import Subscriber
from maestro_mcp.core.models import ProjectCreate
from maestro_mcp.core.runtime import Core
from maestro_mcp.core.storage import StoreUnavailable
from maestro_mcp.core.token_book import TOKEN_EVENTS
from maestro_mcp.mcp_server.notifications import (
    ChangeNotifier,
    LegacySubscriptions,
    ListenedBus,
    uris_changed_by,
)
from maestro_mcp.mcp_server.outbox import OutboxLimits
from tests.support.waiting import WAIT

LIMITS = OutboxLimits(max_count=100, send_timeout=WAIT)

SAMPLES: dict[str, dict[str, object]] = {
    "project": {"id": "proj_1", "projectId": "proj_1", "name": "p"},
    "task": {"id": "task_1", "projectId": "proj_1"},
    "session": {"id": "sess_1", "projectId": "proj_1"},
    "link": {"sessionId": "sess_1", "taskId": "task_1"},
    "note": {"sessionId": "sess_1", "projectId": "proj_1", "note": {}},
    "claim": {"taskId": "task_1", "projectId": "proj_1", "sessionId": "sess_1"},
    "message": {
        "id": "msg_1",
        "projectId": "proj_1",
        "fromSessionId": "sess_9",
        "recipients": [{"recipient": "sess_1"}, {"recipient": "humans"}, {"recipient": "sess_2"}],
    },
    "read": {"id": "msg_1", "projectId": "proj_1", "recipient": "sess_1", "sessionId": "sess_1"},
    "question": {"id": "ques_1", "projectId": "proj_1", "sessionId": "sess_1"},
    "reservation": {"id": "resv_1", "projectId": "proj_1", "sessionId": "sess_1"},
}


def sample(kind: EventType) -> dict[str, object]:
    if kind in (EventType.SESSION_TASK_ADDED, EventType.SESSION_TASK_REMOVED):
        return SAMPLES["link"]
    if kind is EventType.SESSION_NOTE_ADDED:
        return SAMPLES["note"]
    if kind in (EventType.TASK_CLAIMED, EventType.TASK_RELEASED):
        return SAMPLES["claim"]
    if kind is EventType.MESSAGE_READ:
        return SAMPLES["read"]
    return SAMPLES[kind.value.split(":")[0]]


ENTITY_EVENTS = [kind for kind in EventType if kind not in TOKEN_EVENTS]


def stored(kind: EventType, data: dict[str, object], project_id: str | None) -> StoredEvent:
    pending = PendingEvent(kind, project_id, json.dumps(data), '"tester"')
    return StoredEvent(1, kind.value, project_id, envelope(1, pending, 0))


@pytest.mark.parametrize("kind", ENTITY_EVENTS)
def test_every_event_names_the_resources_it_changed(kind: EventType) -> None:
    uris = uris_changed_by(stored(kind, sample(kind), "proj_1"))
    assert uris
    assert all(uri.startswith("maestro://") for uri in uris)


INBOX_1 = "maestro://sessions/sess_1/inbox"
SESSION_1 = "maestro://sessions/sess_1"
BOARD_1 = "maestro://projects/proj_1/board"


@pytest.mark.parametrize(
    ("kind", "uris"),
    [
        # Mail: the inbox of each session it went to (the humans have none), no board.
        (EventType.MESSAGE_SENT, [INBOX_1, "maestro://sessions/sess_2/inbox"]),
        (EventType.MESSAGE_READ, [INBOX_1]),
        # A question: its session (status, open questions), its inbox, the board.
        (EventType.QUESTION_ASKED, [SESSION_1, INBOX_1, BOARD_1]),
        (EventType.QUESTION_ANSWERED, [SESSION_1, INBOX_1, BOARD_1]),
        (EventType.QUESTION_CANCELLED, [SESSION_1, INBOX_1, BOARD_1]),
        # A file reservation: its session's and the board's reserved files.
        (EventType.RESERVATION_CREATED, [SESSION_1, BOARD_1]),
        (EventType.RESERVATION_UPDATED, [SESSION_1, BOARD_1]),
        (EventType.RESERVATION_RELEASED, [SESSION_1, BOARD_1]),
        (EventType.RESERVATION_RENEWED, [SESSION_1, BOARD_1]),
        # A session's own change: its resource, its inbox (which shows its status), the board.
        (EventType.SESSION_UPDATED, [SESSION_1, INBOX_1, BOARD_1]),
        (EventType.SESSION_DELETED, [SESSION_1, INBOX_1, BOARD_1]),
    ],
)
def test_coordination_events_name_inboxes_sessions_and_the_board(
    kind: EventType, uris: list[str]
) -> None:
    assert uris_changed_by(stored(kind, sample(kind), "proj_1")) == uris


def test_the_humans_reading_changes_no_inbox_resource() -> None:
    data: dict[str, object] = {"id": "msg_1", "projectId": "proj_1", "recipient": "humans"}
    assert uris_changed_by(stored(EventType.MESSAGE_READ, data, "proj_1")) == []


@pytest.mark.parametrize("kind", sorted(TOKEN_EVENTS))
def test_token_events_change_no_resource(kind: str) -> None:
    data = {"name": "ci", "scope": "read", "createdAt": 0, "createdBy": "local"}
    assert uris_changed_by(stored(EventType(kind), data, None)) == []


@pytest.mark.anyio
async def test_notifications_wait_out_a_database_that_is_away(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subscribing reads the log; while the database is away the notifier retries
    instead of dying (which would silence MCP notifications on this instance)."""
    attempts = 0
    subscribe = core.feed.subscribe
    subscribed = asyncio.Event()

    def away_once(project_id: str | None = None) -> Subscriber:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise StoreUnavailable("the database is away")
        subscriber = subscribe(project_id)
        subscribed.set()
        return subscriber

    monkeypatch.setattr(core.feed, "subscribe", away_once)
    heard: asyncio.Queue[str] = asyncio.Queue()

    class Recording(ChangeNotifier):
        async def publish(self, uris: Iterable[str]) -> None:
            for uri in uris:
                heard.put_nowait(uri)

    bus = ListenedBus()
    bus.subscribe(lambda event: None)  # someone listens
    notifier = Recording(core.feed, bus, LegacySubscriptions(LIMITS))
    async with notifier.running():
        with anyio.fail_after(WAIT):
            await subscribed.wait()  # on its second attempt
        await core.write(
            partial(core.service.create_project, ProjectCreate(name="heard")), actor="tester"
        )
        with anyio.fail_after(WAIT):
            assert (await heard.get()).startswith("maestro://")
    assert attempts == 2


@pytest.mark.anyio
async def test_nothing_is_published_while_nobody_listens(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Publishing builds each notification and yields to the loop per URI: with no
    listen stream and no resources/subscribe, the notifier skips the batch. Once a
    listener comes, it hears the next change; once it goes, the count goes back."""
    heard: asyncio.Queue[str] = asyncio.Queue()
    handled: asyncio.Queue[int] = asyncio.Queue()
    bus = ListenedBus()

    class Recording(ChangeNotifier):
        async def handle(self, batch: list[StoredEvent]) -> None:
            await super().handle(batch)
            handled.put_nowait(batch[-1].seq)

        async def publish(self, uris: Iterable[str]) -> None:
            for uri in uris:
                heard.put_nowait(uri)

    # The notifier subscribes in a task of its own: a write before it has would be
    # before the feed it reads, and never reach it.
    subscribed = asyncio.Event()
    subscribe = core.feed.subscribe

    def subscribing(*args: Any, **kwargs: Any) -> Any:
        subscriber = subscribe(*args, **kwargs)
        subscribed.set()
        return subscriber

    monkeypatch.setattr(core.feed, "subscribe", subscribing)
    notifier = Recording(core.feed, bus, LegacySubscriptions(LIMITS))
    async with notifier.running():
        with anyio.fail_after(WAIT):
            await subscribed.wait()
        create = partial(core.service.create_project, ProjectCreate(name="unheard"))
        unheard = await core.write(create, actor="tester")
        with anyio.fail_after(WAIT):
            assert await handled.get() == unheard.seq
        assert heard.empty()  # nobody listened
        unsubscribe = bus.subscribe(lambda event: None)
        assert bus.listeners == 1
        create = partial(core.service.create_project, ProjectCreate(name="heard"))
        created = await core.write(create, actor="tester")
        with anyio.fail_after(WAIT):
            uri = await heard.get()
        assert created.value.id in uri
        unsubscribe()
        unsubscribe()  # idempotent, as the SDK's
        assert bus.listeners == 0
